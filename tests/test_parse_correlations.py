"""cashflow/parse_correlations.py: ``[correlations]``, pairs or a full matrix. Each broken table
gives its one-line message; an input that failed to parse is not reported again; repair warns;
pairs become a matrix; empty pairs mean no correlation; the (repaired) correlation of
tests/good/every_feature.toml."""

from __future__ import annotations

import pytest
from scenario_text import MINIMAL, error_lines, every_feature, load

from distributions.errors import RunwayWarning


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("pairs = [['starting_cash', 'revenue.start']]", "correlations.pairs[0]: must be [name,"),
        ("pairs = [['starting_cash', 'revenue.start', '0.3']]", "must be a number, got '0.3'"),
        ("pairs = [['starting_cash', 3, 0.3]]", "must be an input name such as 'revenue.start'"),
        ("pairs = [['starting_cash', 'revenue.start', nan]]", "correlation nan must be in"),
        ("pairs = 3", "correlations.pairs: must be an array of [name, name, rho]"),
        ("pairsx = []", "correlations: unknown key 'pairsx'; did you mean 'pairs'?"),
        ("inputs = ['starting_cash']", "correlations: missing required key 'matrix'"),
        (
            "pairs = []\ninputs = []\nmatrix = []",
            "correlations: give either pairs, or inputs and matrix, not both",
        ),
        (
            "inputs = ['starting_cash', 'starting_cash']\nmatrix = [[1, 0], [0, 1]]",
            "correlations.inputs[1]: input 'starting_cash' is listed twice",
        ),
        (
            "inputs = ['starting_cash', 'revenue.start']\nmatrix = [[1, 0], [0, 'x']]",
            "correlations.matrix: must be an array of arrays of numbers",
        ),
        (
            "inputs = ['starting_cash', 'revenue.start']\nmatrix = [[1, 0.2], [0.2, 0.9]]",
            "correlations.matrix: diagonal entry of 'revenue.start' is 0.9; must be 1",
        ),
        (
            "inputs = ['starting_cash', 'revenue.start']\nmatrix = [[1, 1.5], [1.5, 1]]",
            "correlation between 'starting_cash' and 'revenue.start' is 1.5; must be in [-1, 1]",
        ),
        (
            "pairs = [['starting_cash', 'raise.month', 0.3]]",
            "unknown input 'raise.month'; valid: revenue.start, starting_cash",
        ),
    ],
)
def test_correlation_rules(tmp_path, table, message):
    text = MINIMAL.replace("starting_cash = 100", 'starting_cash = "80 to 120"')
    text = text.replace("start = 5", 'start = "4 to 6"') + "\n[correlations]\n" + table + "\n"
    lines = error_lines(text, tmp_path)
    assert len(lines) == 1 and message in lines[0], lines


def test_no_cascade_into_correlations(tmp_path):
    text = MINIMAL.replace("starting_cash = 100", 'starting_cash = "100 to 50"')
    text = text.replace("start = 5", 'start = "4 to 6"')
    text += '\n[correlations]\npairs = [["starting_cash", "revenue.start", 0.5]]\n'
    assert error_lines(text, tmp_path) == ["starting_cash: 'A to B' needs A < B (got '100 to 50')"]


def test_correlation_repair_warns(tmp_path):
    text = MINIMAL.replace("starting_cash = 100", 'starting_cash = "80 to 120"')
    text = text.replace("start = 5", 'start = "4 to 6"\ngrowth = "0.01 to 0.05"')
    text += """
[correlations]
repair = true
pairs = [
  ["starting_cash", "revenue.start", 0.9],
  ["starting_cash", "revenue.growth", 0.9],
  ["revenue.start", "revenue.growth", -0.9],
]
"""
    with pytest.warns(RunwayWarning, match="repaired"):
        scenario = load(text, tmp_path)
    corr = scenario.correlation
    assert corr.names == ("starting_cash", "revenue.start", "revenue.growth")
    assert corr.matrix[0][0] == 1.0 and corr.matrix[0][1] == corr.matrix[1][0] < 0.9


def test_pairs_matrix(tmp_path):
    text = MINIMAL.replace("starting_cash = 100", 'starting_cash = "80 to 120"')
    text = text.replace("start = 5", 'start = "4 to 6"\ngrowth = "0.01 to 0.05"')
    text += '\n[correlations]\npairs = [["revenue.growth", "starting_cash", -0.4]]\n'
    corr = load(text, tmp_path).correlation
    assert corr.names == ("revenue.growth", "starting_cash")
    assert corr.matrix == ((1.0, -0.4), (-0.4, 1.0))


def test_empty_pairs_means_no_correlation(tmp_path):
    assert load(MINIMAL + "\n[correlations]\npairs = []\n", tmp_path).correlation is None


def test_every_feature_correlation():
    corr = every_feature().correlation
    assert corr.names == ("api.start", "api.growth", "hosting.ratio", "licences.schedule.2025")
    assert len(corr.matrix) == 4 and all(len(row) == 4 for row in corr.matrix)
    assert all(corr.matrix[i][i] == 1.0 for i in range(4))
    assert abs(corr.matrix[0][1] - 0.5) < 0.05  # repaired, close to the target
