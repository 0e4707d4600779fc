"""Test helpers: the live processes of a session, read from /proc, and polling for a
condition (the tests that check no process outlives a run or a report)."""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def session_processes(sid: int) -> dict[int, dict]:
    """Live (not zombie) processes of session ``sid``: pid -> ppid, cpu seconds, command line."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(b")", 1)[1].split()  # fields[0] is field 3 of proc(5): the state
        state, ppid, session = fields[0], int(fields[1]), int(fields[3])
        if session != sid or state in (b"Z", b"X"):
            continue
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        found[int(entry.name)] = {"ppid": ppid, "cpu": cpu, "cmd": cmdline}
    return found


def poll(condition: Callable[[], object], timeout: float, every: float = 0.05) -> object:
    """Call ``condition`` until it returns something truthy (returned) or ``timeout`` passes
    (then the last value is returned)."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > end:
            return value
        time.sleep(every)
