"""Per-path readings of one batch's draws, for the slow reference models written in tests
(tests/test_model.py, tests/test_management_model.py): plain Python, one path at a time."""

from __future__ import annotations

import math

import numpy as np

from cashflow.draws import Draws
from cashflow.scenario import Funding, Scenario, Shock


def value(a: np.ndarray, i: int, t: int) -> float:
    """Input value of path i in month t, whatever the array's shape."""
    return float(a[i if a.shape[0] > 1 else 0, t if a.shape[1] > 1 else 0])


def hit_month(scenario: Scenario, draws: Draws, event: Funding | Shock, i: int) -> int | None:
    """Month a fixed-month funding round or a per-horizon shock happens on path i, or None."""
    if value(draws.noise[f"{event.name}:u"], i, 0) >= value(
        draws.inputs[f"{event.name}.probability"], i, 0
    ):
        return None
    if event.month is not None:
        m = math.floor(value(draws.inputs[f"{event.name}.month"], i, 0))
    else:
        m = math.floor(value(draws.noise[f"{event.name}:month_u"], i, 0) * scenario.horizon_months)
    return m if 0 <= m < scenario.horizon_months else None
