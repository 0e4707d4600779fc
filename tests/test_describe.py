"""cashflow/describe.py: the input table of tests/good/every_feature.toml, as a DataFrame
(input_table) and as the text printed by ``simulate.py validate`` (format_input_table)."""

from __future__ import annotations

import pytest
from scenario_text import EVERY, every_feature

from cashflow.describe import format_input_table, input_table


def test_input_table():
    s = every_feature()
    table = input_table(s)
    assert list(table.columns) == [
        "name",
        "family",
        "parameters",
        "vary",
        "p5",
        "p50",
        "p95",
        "mean",
        "source",
    ]
    assert list(table["name"]) == list(s.inputs())
    row = table.set_index("name").loc["seed.month"]
    assert (row["p5"], row["p50"], row["p95"]) == ("2024-12", "2025-01", "2025-02")
    assert row["parameters"].startswith("discrete(values=[2024-12, 2025-01, 2025-02]")
    cash = table.set_index("name").loc["starting_cash"]
    assert cash["p5"] == pytest.approx(40) and cash["p95"] == pytest.approx(90)
    assert cash["source"] == "assumption: bank statement"
    assert table.set_index("name").loc["api.volatility", "vary"] == "month"


def test_format_input_table():
    s = every_feature()
    text = format_input_table(s)
    lines = text.splitlines()
    assert lines[0] == f"Every feature ({EVERY})"
    assert "unit: USD million; start 2024-07, horizon 30 months (2024-07 to 2026-12)" in lines[1]
    assert f"{len(s.inputs())} inputs" in lines[1]
    assert any(line.startswith("name ") and "p50" in line for line in lines)
    assert any(line.startswith("bridge.month ") and "2025-06" in line for line in lines)
    row = next(line for line in lines if line.startswith("starting_cash "))
    assert "61.85" in row  # the mean, 4 significant figures
    assert max(len(line) for line in lines[lines.index("") + 1 :]) < 200
