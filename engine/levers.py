"""What a run keeps of management's reactions: when each action fired, each bridge round was
triggered and paid out, and each credit line was first drawn, as counts by month.

A *lever row* is one such event; a batch reduces each to an (H + 1,) count of paths by the month
it first happened (index H: never within the horizon), merged like the ruin counts. The credit
lines' drawn balances are kept as extra columns of the fan-chart histograms (see
:func:`fan_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cashflow.management import Management
from cashflow.scenario import Scenario

__all__ = ["LEVER_WORDS", "Lever", "lever_counts", "levers_of"]

#: What each kind of lever row counts, in words (for tables and the report).
LEVER_WORDS = {
    "fired": "fired",
    "triggered": "condition met",
    "arrived": "money arrived",
    "drew": "drawn",
}


@dataclass(frozen=True)
class Lever:
    """One lever row: ``kind`` ("action", "bridge" or "credit"), the scenario's ``name`` for
    it, and ``what`` is counted ("fired"; "triggered" / "arrived"; "drew")."""

    kind: str
    name: str
    what: str

    def as_list(self) -> list[str]:
        return [self.kind, self.name, self.what]


def levers_of(scenario: Scenario) -> list[Lever]:
    """The scenario's lever rows, in a fixed order: actions, bridge rounds, credit lines."""
    out = [Lever("action", a.name, "fired") for a in scenario.actions]
    for bridge in scenario.bridges:
        out += [Lever("bridge", bridge.name, "triggered"), Lever("bridge", bridge.name, "arrived")]
    out += [Lever("credit", c.name, "drew") for c in scenario.credit]
    return out


def _first_month(done: Management, lever: Lever, horizon: int) -> np.ndarray:
    """(n,) the month each path's lever event first happened (``horizon``: never)."""
    if lever.what == "fired":
        return done.fired[lever.name]
    if lever.what == "triggered":
        return done.triggered[lever.name]
    if lever.what == "arrived":
        return done.arrived[lever.name]
    drawn = done.balance[lever.name] > 0  # (n, H)
    return np.where(drawn.any(axis=1), drawn.argmax(axis=1), horizon)


def lever_counts(scenario: Scenario, done: Management | None, n: int) -> np.ndarray:
    """(levers, H + 1) int64 paths by the month each lever event first happened."""
    h = scenario.horizon_months
    levers = levers_of(scenario)
    counts = np.zeros((len(levers), h + 1), dtype=np.int64)
    if done is None:
        counts[:, h] = n
        return counts
    for i, lever in enumerate(levers):
        counts[i] = np.bincount(_first_month(done, lever, h), minlength=h + 1)
    return counts
