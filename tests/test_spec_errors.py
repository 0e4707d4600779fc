"""Every user mistake in a spec: one ScenarioError, one line, naming the rule and the values.

Numbers, ranges and the continuous families here; the rest in test_spec_errors_finite.py.
"""

from __future__ import annotations

import pytest
from spec_error_checks import check_one_problem, normal

INF = float("inf")
NAN = float("nan")
PATH = "lines.compute.ratio"


def check(value, match, **kwargs):
    check_one_problem(value, match, PATH, **kwargs)


RULES = [
    # plain values
    pytest.param(NAN, r"^.*: must be a finite number \(got nan\)$", id="nan"),
    pytest.param(-INF, r"must be a finite number \(got -inf\)", id="inf"),
    pytest.param(10**400, r"must be a finite number \(got 1000000", id="huge int"),
    pytest.param(True, r"expected a number, an 'A to B' range .* \(got true\)", id="bool"),
    pytest.param(None, r"expected a number.*\(got None\)", id="none"),
    pytest.param([1, 2], r"expected a number.*\(got a list of 2 items\)", id="list"),
    pytest.param("lots", r"expected a number.*\(got 'lots'\)", id="garbage string"),
    pytest.param(
        "0.05",
        r"expected a number, not the string '0.05'; write it without quotes",
        id="quoted number",
    ),
    pytest.param(
        "3.3 to abc",
        r"'A to B' needs two numbers, as in '3.3 to 4.1' \(got ",
        id="range not numbers",
    ),
    pytest.param(
        "1 to inf", r"'A to B' needs two finite numbers \(got '1 to inf'\)", id="range not finite"
    ),
    pytest.param("4.1 to 3.3", r"'A to B' needs A < B \(got '4.1 to 3.3'\)", id="range reversed"),
    pytest.param("2 to 2", r"'A to B' needs A < B \(got '2 to 2'\)", id="range equal"),
    # the table itself
    pytest.param(
        {"mean": 1, "sd": 2},
        r"needs a 'dist' key naming its family \(got keys mean, sd\)",
        id="no dist",
    ),
    pytest.param(
        {"dist": 3}, r"dist must be the name of a distribution \(got 3\)", id="dist not text"
    ),
    pytest.param(
        {"dist": "lognromal"},
        r"unknown distribution 'lognromal'; did you mean 'lognormal'\?",
        id="unknown family",
    ),
    pytest.param(
        {"dist": "zzz"},
        r"unknown distribution 'zzz'; valid: bernoulli, beta, ",
        id="unknown family far",
    ),
    pytest.param(
        normal(meen=1, sd=1),
        r"unknown key 'meen' for normal; did you mean 'mean'\?",
        id="unknown key",
    ),
    pytest.param({"dist": "normal", 3: 1}, r"unknown key 3 for normal", id="non-text key"),
    pytest.param(
        {"dist": "triangular", "p5": 1, "p95": 2},
        r"triangular takes no percentiles such as 'p5'; it needs min, mode and max",
        id="no percentiles here",
    ),
    pytest.param(
        normal(p5=1, p100=2),
        r"percentile key 'p100' must lie strictly between p0 and p100",
        id="percentile p100",
    ),
    pytest.param(
        normal(p0=1, p50=2), r"percentile key 'p0' must lie strictly between", id="percentile p0"
    ),
    pytest.param(
        normal(mean=0, sd="x"), r"normal sd must be a number \(got 'x'\)", id="parameter text"
    ),
    pytest.param(
        normal(mean=False, sd=1), r"normal mean must be a number \(got false\)", id="parameter bool"
    ),
    pytest.param(
        normal(mean=NAN, sd=1),
        r"normal mean must be a finite number \(got nan\)",
        id="parameter nan",
    ),
    pytest.param(
        normal(mean={"dist": "normal"}, sd=1),
        r"normal mean must be a number \(got a table\)",
        id="parameter table",
    ),
    pytest.param(
        normal(p5=NAN, p95=1), r"normal p5 must be a finite number \(got nan\)", id="percentile nan"
    ),
    # which parameters
    pytest.param(
        normal(mean=1),
        r"normal needs mean and sd, or two percentiles such as p10 and p90 \(got mean\)",
        id="normal needs",
    ),
    pytest.param(
        normal(mean=1, p90=2), r"normal needs mean and sd, .* \(got mean, p90\)", id="normal mixed"
    ),
    pytest.param(
        normal(p5=1, p50=2, p95=3),
        r"normal needs .* \(got p5, p50, p95\)",
        id="normal three percentiles",
    ),
    pytest.param(normal(), r"normal needs .* \(got no parameters\)", id="normal nothing"),
    pytest.param(
        {"dist": "lognormal", "median": 1, "sd": 1},
        r"lognormal needs median and sigma, or mean and sd, or two percentiles .*"
        r" \(got median, sd\)",
        id="lognormal needs",
    ),
    pytest.param(
        {"dist": "uniform", "low": 1},
        r"uniform needs low and high, or two percentiles",
        id="uniform needs",
    ),
    pytest.param(
        {"dist": "triangular", "min": 1, "max": 2},
        r"triangular needs min, mode and max \(got min, max\)",
        id="triangular needs",
    ),
    pytest.param(
        {"dist": "pert", "mode": 1},
        r"pert needs min, mode and max, with optional lambda \(got mode\)",
        id="pert needs",
    ),
    pytest.param(
        {"dist": "beta", "a": 1, "low": 0},
        r"beta needs a and b, with optional low and high \(got a, low\)",
        id="beta needs",
    ),
    pytest.param(
        {"dist": "gamma", "shape": 1, "sd": 2},
        r"gamma needs shape and scale, or mean and sd, or two",
        id="gamma needs",
    ),
    pytest.param(
        {"dist": "weibull", "shape": 1},
        r"weibull needs shape and scale, or two percentiles",
        id="weibull needs",
    ),
    pytest.param(
        {"dist": "student_t", "p5": 1, "p95": 2},
        r"student_t needs df with optional loc and scale, or df and two percentiles .*"
        r" \(got p5, p95\)",
        id="student_t needs",
    ),
    pytest.param(
        {"dist": "student_t", "df": 3, "loc": 0, "p5": 1, "p95": 2},
        r"student_t needs df",
        id="student_t loc and percentiles",
    ),
    pytest.param(
        {"dist": "exponential", "mean": 1, "rate": 1},
        r"exponential needs mean, or rate, or one percentile such as p90 \(got mean, rate\)",
        id="exponential needs",
    ),
    pytest.param(
        {"dist": "bernoulli"}, r"bernoulli needs p \(got no parameters\)", id="bernoulli needs"
    ),
    pytest.param(
        {"dist": "constant", "val": 1},
        r"unknown key 'val' for constant; did you mean 'value'\?",
        id="constant needs",
    ),
    pytest.param(
        {"dist": "discrete", "probs": [1]},
        r"discrete needs values, with optional probs \(got probs\)",
        id="discrete needs",
    ),
    pytest.param(
        {"dist": "empirical", "csv": "a.csv"},
        r"empirical needs data, or csv and column \(got csv\)",
        id="empirical needs",
    ),
    # parameter values
    pytest.param(normal(mean=0, sd=0), r"normal sd must be > 0 \(got 0\)", id="sd zero"),
    pytest.param(normal(mean=0, sd=-1.5), r"normal sd must be > 0 \(got -1.5\)", id="sd negative"),
    pytest.param(
        {"dist": "lognormal", "median": 1, "sigma": 0},
        r"lognormal sigma must be > 0 \(got 0\)",
        id="sigma",
    ),
    pytest.param(
        {"dist": "lognormal", "median": -2, "sigma": 1},
        r"lognormal median must be > 0 \(got -2\)",
        id="median",
    ),
    pytest.param(
        {"dist": "lognormal", "mean": -1, "sd": 1},
        r"lognormal mean must be > 0 \(got -1\)",
        id="lognormal mean",
    ),
    pytest.param(
        {"dist": "lognormal", "mean": 1, "sd": 0},
        r"lognormal sd must be > 0 \(got 0\)",
        id="lognormal sd",
    ),
    pytest.param(
        {"dist": "gamma", "shape": 0, "scale": 1},
        r"gamma shape must be > 0 \(got 0\)",
        id="gamma shape",
    ),
    pytest.param(
        {"dist": "gamma", "shape": 1, "scale": -1},
        r"gamma scale must be > 0 \(got -1\)",
        id="gamma scale",
    ),
    pytest.param(
        {"dist": "gamma", "mean": 0, "sd": 1}, r"gamma mean must be > 0 \(got 0\)", id="gamma mean"
    ),
    pytest.param(
        {"dist": "weibull", "shape": -1, "scale": 1},
        r"weibull shape must be > 0 \(got -1\)",
        id="weibull shape",
    ),
    pytest.param(
        {"dist": "weibull", "shape": 1, "scale": 0},
        r"weibull scale must be > 0 \(got 0\)",
        id="weibull scale",
    ),
    pytest.param({"dist": "student_t", "df": 0}, r"student_t df must be > 0 \(got 0\)", id="df"),
    pytest.param(
        {"dist": "student_t", "df": -1, "p5": 1, "p95": 2},
        r"student_t df must be > 0 \(got -1\)",
        id="df with percentiles",
    ),
    pytest.param(
        {"dist": "student_t", "df": 3, "scale": 0},
        r"student_t scale must be > 0 \(got 0\)",
        id="t scale",
    ),
    pytest.param({"dist": "beta", "a": 0, "b": 1}, r"beta a must be > 0 \(got 0\)", id="beta a"),
    pytest.param({"dist": "beta", "a": 1, "b": -2}, r"beta b must be > 0 \(got -2\)", id="beta b"),
    pytest.param(
        {"dist": "beta", "a": 1, "b": 1, "low": 1, "high": 0},
        r"beta needs low < high \(got low=1, high=0\)",
        id="beta bounds",
    ),
    pytest.param(
        {"dist": "exponential", "mean": -2},
        r"exponential mean must be > 0 \(got -2\)",
        id="exponential mean",
    ),
    pytest.param(
        {"dist": "exponential", "rate": 0},
        r"exponential rate must be > 0 \(got 0\)",
        id="exponential rate",
    ),
    pytest.param(
        {"dist": "uniform", "low": 3, "high": 1},
        r"uniform needs low < high \(got low=3, high=1\)",
        id="uniform order",
    ),
    pytest.param(
        {"dist": "uniform", "low": 1, "high": 1},
        r"uniform needs low < high \(got low=1, high=1\)",
        id="uniform equal",
    ),
    pytest.param(
        {"dist": "uniform", "low": -1e308, "high": 1e308},
        r"uniform range low=-1e\+308 to high=1e\+308 is too wide",
        id="uniform too wide",
    ),
    pytest.param(
        {"dist": "pert", "min": 0.5, "mode": 0.4, "max": 0.7},
        r"pert needs min <= mode <= max \(got min=0.5, mode=0.4, max=0.7\)",
        id="pert order",
    ),
    pytest.param(
        {"dist": "pert", "min": 2, "mode": 1.5, "max": 1},
        r"pert needs min <= mode <= max \(got min=2, mode=1.5, max=1\)",
        id="pert min > max",
    ),
    pytest.param(
        {"dist": "pert", "min": 1, "mode": 1, "max": 1},
        r"pert needs min < max \(got min=1, max=1\)",
        id="pert min == max",
    ),
    pytest.param(
        {"dist": "pert", "min": 0, "mode": 1, "max": 2, "lambda": 0},
        r"pert lambda must be > 0 \(got 0\)",
        id="pert lambda",
    ),
    pytest.param(
        {"dist": "triangular", "min": 0, "mode": 3, "max": 2},
        r"triangular needs min <= mode <= max \(got min=0, mode=3, max=2\)",
        id="triangular order",
    ),
    pytest.param(
        {"dist": "triangular", "min": 1, "mode": 1, "max": 1},
        r"triangular needs min < max \(got min=1, max=1\)",
        id="triangular min == max",
    ),
    pytest.param(
        {"dist": "bernoulli", "p": 1.5},
        r"bernoulli p must be between 0 and 1 \(got 1.5\)",
        id="bernoulli p high",
    ),
    pytest.param(
        {"dist": "bernoulli", "p": -0.1},
        r"bernoulli p must be between 0 and 1 \(got -0.1\)",
        id="bernoulli p low",
    ),
    pytest.param(
        {"dist": "constant", "value": "x"},
        r"constant value must be a number \(got 'x'\)",
        id="constant value",
    ),
    # percentiles
    pytest.param(
        {"dist": "lognormal", "p5": 4.1, "p95": 3.3},
        r"lognormal needs p5 < p95 \(got p5=4.1, p95=3.3\)",
        id="percentiles reversed",
    ),
    pytest.param(
        normal(p10=2, p90=2), r"normal needs p10 < p90 \(got p10=2, p90=2\)", id="percentiles equal"
    ),
    pytest.param(
        normal(p5=1, **{"p5.0": 2}),
        r"normal gives the same percentile twice \(p5 and p5.0\)",
        id="percentile twice",
    ),
    pytest.param(
        {"dist": "lognormal", "p5": -1, "p95": 4},
        r"lognormal percentiles must be > 0 \(got p5=-1\)",
        id="lognormal percentile <= 0",
    ),
    pytest.param(
        {"dist": "gamma", "p5": 0, "p95": 4},
        r"gamma percentiles must be > 0 \(got p5=0\)",
        id="gamma percentile <= 0",
    ),
    pytest.param(
        {"dist": "weibull", "p5": -2, "p95": -1},
        r"weibull percentiles must be > 0 \(got p5=-2, p95=-1\)",
        id="weibull percentile <= 0",
    ),
    pytest.param(
        {"dist": "exponential", "p90": 0},
        r"exponential percentiles must be > 0 \(got p90=0\)",
        id="exponential percentile <= 0",
    ),
    pytest.param(
        {"dist": "gamma", "p5": 1, "p95": 1.000000001},
        r"gamma cannot match p5=1, p95=1.000000001: they are too close together",
        id="gamma percentiles too close",
    ),
    pytest.param(
        {"dist": "gamma", "p5": 1e-300, "p95": 1e300},
        r"gamma cannot match p5=1e-300, p95=1e\+300: they are too far apart",
        id="gamma percentiles too far",
    ),
    pytest.param(
        normal(p1=-1e308, p99=1e308),
        r"gives mean=inf: the numbers are too extreme",
        id="percentiles overflow",
    ),
]


@pytest.mark.parametrize(("value", "match"), RULES)
def test_error_message(value, match):
    check(value, match)
