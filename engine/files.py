"""Writing files safely: atomic replacement, exclusive creation, checksums, leftovers.

Every file Runway writes goes through :func:`atomic_write`: the content is written to a
temporary file beside the target (``.NAME.PID.RANDOM.tmp``), flushed to disk, given the user's
umask permissions (normally 0644, not mkstemp's 0600), then renamed over the target, so a reader
sees the old file or the new one, never half of one. A write interrupted by a kill leaves its
temporary file behind; :func:`remove_stale_temporaries` removes those whose writer (the PID in
the name) is gone, and is called before every write into a directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import re
import secrets
from collections.abc import Callable

__all__ = [
    "atomic_write",
    "create_exclusive",
    "file_mode",
    "fsync_directory",
    "pid_alive",
    "remove_stale_temporaries",
    "sha256_of",
]

_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")


def file_mode() -> int:
    """Permissions for a new file under the process's umask (0o666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def pid_alive(pid: int) -> bool:
    """True if a process with this PID exists (or might: no permission to signal it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: pathlib.Path) -> list[pathlib.Path]:
    """Delete the temporary files of interrupted writes in ``directory`` (those whose writing
    process no longer exists); returns what was removed. Other processes' live writes stay."""
    removed: list[pathlib.Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and int(match[1]) != os.getpid() and not pid_alive(int(match[1])):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def fsync_directory(directory: pathlib.Path) -> None:
    """Make a rename or creation in ``directory`` durable (best effort where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def atomic_write(path: pathlib.Path, write: Callable[[pathlib.Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it into place.

    The parent directory must exist or is created. On any failure (a full disk included) the
    temporary file is removed and ``path`` is left as it was.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = _temporary_path(path)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def create_exclusive(path: pathlib.Path, data: bytes) -> None:
    """Create ``path`` with ``data``; FileExistsError if it exists (the claim of a directory)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def sha256_of(path: pathlib.Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
