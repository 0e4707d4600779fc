"""Per-path readings of one batch's draws, for the slow reference models written in tests
(tests/test_model.py, tests/test_management_model.py), and the whole unmanaged model with a
company's own plan (windows, plans, steps, seasonality, late cash; tests/test_plan_model.py):
plain Python, one path at a time."""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys
import types

import numpy as np

from cashflow.calendar import year_of_month
from cashflow.draws import Draws
from cashflow.model import Flows, line_amounts, simulate_flows
from cashflow.scenario import Funding, Line, Scenario, Shock, Window


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


# --- a company's own plan: the whole model, one path at a time ------------------------------


def _floor(draws: Draws, name: str, i: int) -> int:
    return math.floor(value(draws.inputs[name], i, 0))


def _growth(scenario: Scenario, draws: Draws, line: Line, i: int, t: int) -> float:
    """``1 + g_t`` of a line on path i."""
    inp, noise = draws.inputs, draws.noise
    g = value(inp[f"{line.name}.growth"], i, t) if line.growth is not None else 0.0
    if line.growth_per == "year":
        g = (1.0 + g) ** (1.0 / 12.0) - 1.0
    sd = value(inp[f"{line.name}.growth_noise"], i, t) if line.growth_noise is not None else 0.0
    if sd != 0.0:  # from the scenario, not from what the model drew: a missing draw must fail
        g += sd * noise[f"{line.name}:growth_z"][i, t]
    return 1.0 + g


def line_row(
    scenario: Scenario, draws: Draws, line: Line, i: int, done: dict[str, list[float]]
) -> list[float]:
    """Line ``line``'s monthly amounts on path i (``done``: the lines computed before it), in
    plain Python floats: base (start with growth from its first month, schedule, share, or
    plan slipped by its delay, scaled, growing after its end), plus steps, times seasonality,
    volatility, scale and factor shocks, zero outside its window."""
    H, name = scenario.horizon_months, line.name
    inp, noise = draws.inputs, draws.noise
    years = year_of_month(scenario.start_year, scenario.start_month, H)
    window = line.window or Window()
    begin = _floor(draws, f"{name}.from", i) if window.first is not None else 0
    delay = _floor(draws, f"{name}.plan_delay", i) if line.plan_delay is not None else 0
    end = window.last if window.last is not None else H - 1
    row: list[float] = []
    level = 0.0
    for t in range(H):
        if line.start is not None:
            if t == begin:
                level = 1.0
            elif t > begin:
                level *= _growth(scenario, draws, line, i, t)
            a = value(inp[f"{name}.start"], i, t) * level
        elif line.schedule is not None:
            a = value(inp[f"{name}.schedule.{years[t]}"], i, t) / 12.0
        elif line.plan is not None:
            k = t - delay - line.plan.first
            if k < 0:
                level = 0.0
            elif k < len(line.plan.amounts):
                level = line.plan.amounts[k]
                if line.plan_scale is not None:
                    level *= value(inp[f"{name}.plan_scale"], i, 0)
            else:
                level *= _growth(scenario, draws, line, i, t)
            a = level
        else:
            assert line.share_of is not None
            a = value(inp[f"{name}.ratio"], i, t) * done[line.share_of][t]
        for j in range(len(line.steps or ())):
            step = f"{name}.steps[{j}]"
            happens = value(noise[f"{step}:u"], i, 0) < value(inp[f"{step}.probability"], i, 0)
            if happens and t >= _floor(draws, f"{step}.month", i):
                a += value(inp[f"{step}.add"], i, 0)
        if line.seasonality is not None:
            a *= line.seasonality[(scenario.start_month - 1 + t) % 12]
        if f"{name}:volatility_z" in noise:
            v = value(inp[f"{name}.volatility"], i, t)
            a *= math.exp(v * noise[f"{name}:volatility_z"][i, t] - v * v / 2.0)
        if line.scale is not None:
            a *= value(inp[f"{name}.scale"], i, t)
        row.append(a)
    for shock in scenario.events:
        if isinstance(shock, Shock) and shock.line == name:
            mult = 1.0
            hit = hit_month(scenario, draws, shock, i) if shock.per == "horizon" else None
            for t in range(H):
                if shock.per == "month" and noise[f"{shock.name}:hits"][i, t]:
                    mult *= value(inp[f"{shock.name}.factor"], i, t)
                if shock.per == "horizon" and t == hit:
                    mult = value(inp[f"{shock.name}.factor"], i, t)
                row[t] *= mult
    return [x if begin + delay <= t <= end else 0.0 for t, x in enumerate(row)]


def cash_row(draws: Draws, line: Line, i: int, row: list[float]) -> list[float]:
    """The money of a line on path i by the month it moves: ``row`` moved later by its
    collection (less bad debt) or payment delay; nothing from before the start."""
    delay = line.collection or line.payment
    if delay is None:
        return list(row)
    key = f"{line.name}.{'collection' if line.collection is not None else 'payment'}"
    d = _floor(draws, f"{key}.delay_months", i)
    keep = 1.0 - value(draws.inputs[f"{key}.bad_debt"], i, 0) if delay.bad_debt is not None else 1.0
    return [keep * row[t - d] if t >= d else 0.0 for t in range(len(row))]


def reference_flows(scenario: Scenario, draws: Draws) -> tuple[dict, dict]:
    """Revenue and costs (accrual months), funding and cash (cash months) of every path of an
    unmanaged scenario, and each line's amounts: month by month, path by path."""
    H, n = scenario.horizon_months, draws.n
    inp, noise = draws.inputs, draws.noise
    out = {k: np.zeros((n, H)) for k in ("revenue", "costs", "funding", "cash")}
    lines = {line.name: np.zeros((n, H)) for line in scenario.lines}
    for i in range(n):
        done: dict[str, list[float]] = {}
        flow = [0.0] * H
        for line in scenario.lines:
            row = done[line.name] = line_row(scenario, draws, line, i, done)
            lines[line.name][i] = row
            sign = 1.0 if line.kind == "revenue" else -1.0
            out["revenue" if sign > 0 else "costs"][i] += row
            for t, x in enumerate(cash_row(draws, line, i, row)):
                flow[t] += sign * x
        for event in scenario.events:
            if isinstance(event, Shock) and event.amount is not None:
                for t in range(H):
                    if event.per == "month":
                        hit = bool(noise[f"{event.name}:hits"][i, t])
                    else:
                        hit = t == hit_month(scenario, draws, event, i)
                    if hit:
                        x = value(inp[f"{event.name}.amount"], i, t)
                        out["costs"][i, t] += x
                        flow[t] -= x
            if isinstance(event, Funding) and event.when is None:
                m = hit_month(scenario, draws, event, i)
                if m is not None:
                    x = value(inp[f"{event.name}.amount"], i, m)
                    out["funding"][i, m] += x
                    flow[m] += x
        balance = value(inp["starting_cash"], i, 0)
        for t in range(H):
            balance += flow[t]
            out["cash"][i, t] = balance
    return out, lines


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal to 1e-12, relative to the largest magnitude of ``expected``."""
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


def assert_matches_reference(scenario: Scenario, draws: Draws) -> tuple[Flows, dict, dict]:
    """The vectorized model's flows and line amounts of one batch equal this module's per-path
    reference (:func:`assert_close`), and C-ordered draws give the same cash (the model works
    month-major whatever the layout it is given). Returns the flows and the reference's
    :func:`reference_flows`, for more checks."""
    flows = simulate_flows(scenario, draws, keep_funding=True)
    expected, expected_lines = reference_flows(scenario, draws)
    for key, value in expected.items():
        assert_close(getattr(flows, key), value)
    amounts = line_amounts(scenario, draws)
    assert list(amounts) == [line.name for line in scenario.lines]
    for name, value in expected_lines.items():
        assert_close(amounts[name], value)
    c_order = Draws(
        n=draws.n,
        inputs={k: np.ascontiguousarray(v) for k, v in draws.inputs.items()},
        noise={k: np.ascontiguousarray(v) for k, v in draws.noise.items()},
    )
    np.testing.assert_array_equal(simulate_flows(scenario, c_order).cash, flows.cash)
    return flows, expected, expected_lines


def module_from_git(
    blob: str, name: str, renames: dict[str, str] | None = None
) -> types.ModuleType | None:
    """The Python module in git blob ``blob`` of this repository (``cashflow/model.py`` as it
    was before a change), to compare the model with; ``renames``: module names changed since,
    replaced in its source. None without git or the blob."""
    root = pathlib.Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(
            ["git", "cat-file", "-p", blob],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for old, new in (renames or {}).items():
        source = source.replace(old, new)
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module
