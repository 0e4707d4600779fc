"""Shared scenario text and helpers of the scenario-loading tests: test_parse*.py (all but
test_management_parse.py), test_variants.py and test_describe.py."""

from __future__ import annotations

import pathlib

import pytest

from cashflow.parse import load_scenario
from cashflow.scenario import Scenario
from distributions.errors import RunwayWarning, ScenarioError

HERE = pathlib.Path(__file__).parent
EVERY = HERE / "good" / "every_feature.toml"

MINIMAL = """
name = "t"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = 100

[lines.revenue]
kind = "revenue"
start = 5
"""


def load(text: str, tmp_path: pathlib.Path, name: str = "s.toml", **kwargs) -> Scenario:
    path = tmp_path / name
    path.write_text(text)
    return load_scenario(path, **kwargs)


def error_lines(text: str, tmp_path: pathlib.Path) -> list[str]:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    return [line.removeprefix(f"{path}: ") for line in lines]


def every_feature(**kwargs) -> Scenario:
    with pytest.warns(RunwayWarning, match="correlations.matrix: matrix repaired"):
        return load_scenario(EVERY, **kwargs)
