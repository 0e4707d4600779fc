"""Every input of a scenario with its percentiles: a DataFrame, and the text table printed by
``python simulate.py validate FILE``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from distributions import Spec

from .calendar import month_label, month_label_at
from .scenario import Line, Scenario

__all__ = ["format_input_table", "input_table"]

COLUMNS = ("name", "family", "parameters", "vary", "p5", "p50", "p95", "mean", "source")
_QUANTILES = np.array([0.05, 0.5, 0.95])
_WIDTH = {"parameters": 56, "source": 40, "name": 40}  # longest text shown per column


def input_table(scenario: Scenario) -> pd.DataFrame:
    """One row per input (:meth:`Scenario.inputs`, in file order): name, family, parameters
    (``Spec.describe()``; months as written), vary, p5, p50, p95, mean, source. Month inputs
    (event timing) show their months as ``"YYYY-MM"`` strings; other numbers are floats."""
    rows = []
    for name, spec in scenario.inputs().items():
        with np.errstate(all="ignore"):
            p5, p50, p95 = (float(x) for x in np.asarray(spec.quantile(_QUANTILES)))
            mean = spec.mean()
        values: list[float | str] = [p5, p50, p95, mean]
        if spec.is_month:
            values = [_month(scenario, x) for x in (p5, p50, p95, mean)]
        rows.append(
            {
                "name": name,
                "family": spec.family,
                "parameters": _parameters(spec),
                "vary": spec.vary,
                **dict(zip(("p5", "p50", "p95", "mean"), values, strict=True)),
                "source": spec.source or "",
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _parameters(spec: Spec) -> str:
    """``Spec.describe()``; for months, as the user wrote them (``describe`` shows indices)."""
    return spec.given if spec.is_month else spec.describe()


def _month(scenario: Scenario, t: float) -> str:
    return month_label_at(scenario.start_year, scenario.start_month, t)


def _plan(scenario: Scenario, line: Line) -> str:
    """``"plan of cloud: csv file 'budget.csv' column 'cloud', 2024-01 to 2025-12"``: a line's
    plan, the months it gives (those the line needs), and ``then growth`` with ``after_plan``."""
    plan = line.plan
    assert plan is not None
    first = month_label(scenario.start_year, scenario.start_month, plan.first)
    last = month_label(
        scenario.start_year, scenario.start_month, plan.first + len(plan.amounts) - 1
    )
    then = ", then growth" if plan.growth_after else ""
    where = "written in the scenario" if plan.where == "the plan" else plan.where
    return f"plan of {line.name}: {where}, {first} to {last}{then}"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_input_table(scenario: Scenario) -> str:
    """A fixed-width text table of :func:`input_table` under a header naming the scenario."""
    s = scenario
    first = month_label(s.start_year, s.start_month, 0)
    last = month_label(s.start_year, s.start_month, s.horizon_months - 1)
    table = input_table(s)
    header = [
        f"{s.name} ({s.file})" if s.file else s.name,
        f"unit: {s.unit}; start {first}, horizon {s.horizon_months} months "
        f"({first} to {last}); floor {s.floor:.4g}; {len(table)} inputs",
    ]
    if s.questions:
        header.append("questions: runs out before " + ", ".join(d.isoformat() for d in s.questions))
    header += [_plan(s, line) for line in s.lines if line.plan is not None]
    if s.correlation is not None:
        header.append(f"correlated inputs: {', '.join(s.correlation.names)}")
    if s.variants:
        header.append(f"variants: {', '.join(s.variants)}")

    cells = [
        [_truncate(_cell(row[c]), _WIDTH.get(c, 12)) for c in COLUMNS]
        for _, row in table.iterrows()
    ]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(COLUMNS)]
    numeric = {"p5", "p50", "p95", "mean"}

    def line(parts: list[str]) -> str:
        out = [
            p.rjust(w) if c in numeric else p.ljust(w)
            for p, w, c in zip(parts, widths, COLUMNS, strict=True)
        ]
        return "  ".join(out).rstrip()

    body = [line(list(COLUMNS)), line(["-" * w for w in widths])]
    body += [line(r) for r in cells]
    return "\n".join([*header, "", *body])
