"""Scenario loading and validation: every broken file in tests/bad/ gives its one-line message,
good files parse into the right dataclasses, variants apply, and the input table describes them.

Each tests/bad/*.toml starts with ``# expect: <substring of the one-line error message>``.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import tomllib
import warnings

import pytest

from cashflow.describe import format_input_table, input_table
from cashflow.parse import apply_variant, load_scenario, parse_scenario
from cashflow.scenario import Funding, Line, Scenario, Shock
from distributions import Spec
from distributions.errors import RunwayWarning, ScenarioError

HERE = pathlib.Path(__file__).parent
BAD = sorted((HERE / "bad").glob("*.toml"))
GOOD = sorted((HERE / "good").glob("*.toml"))
PROJECT = sorted((HERE.parent / "scenarios").glob("*.toml"))
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


def expected(path: pathlib.Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' first line"
    return first.removeprefix("# expect: ")


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


# -- broken files ---------------------------------------------------------------------------------


def test_there_are_enough_bad_files():
    assert len(BAD) >= 30


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file(path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert expected(path) in message
    lines = message.splitlines()
    assert len(lines) == 1, message  # one problem per file: no cascading reports
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert info.value.file == str(path)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file_cli(path, capsys):
    simulate = pytest.importorskip("simulate")
    assert simulate.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected(path) in err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith(f"{path}: ") for line in lines)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: file not found"


def test_missing_file_cli(tmp_path, capsys):
    simulate = pytest.importorskip("simulate")
    path = tmp_path / "nope.toml"
    assert simulate.main(["validate", str(path)]) == 2
    assert f"{path}: file not found" in capsys.readouterr().err


def test_directory(tmp_path):
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_invalid_toml_names_line(tmp_path):
    text = 'name = "t"\nunit = "USD"\n\nhorizon_months = = 3\n'
    with pytest.raises(ScenarioError, match=r"s\.toml: invalid TOML at line 4, column \d+: "):
        load(text, tmp_path)


def test_all_problems_reported_together(tmp_path):
    text = MINIMAL.replace('unit = "USD million"\n', "").replace("= 24", "= 0")
    text += 'growth = "fast"\nvolatilty = 0.1\n\n[events.x]\nkind = "boom"\n'
    lines = error_lines(text, tmp_path)
    assert lines == [
        "missing required key 'unit'",
        "horizon_months: must be from 1 to 600, got 0",
        "lines.revenue: unknown key 'volatilty'; did you mean 'volatility'?",
        "lines.revenue.growth: expected a number, an 'A to B' range such as '3.3 to 4.1', "
        "or a distribution table (got 'fast')",
        "events.x.kind: unknown value 'boom'; must be 'funding' or 'shock'",
    ]


def test_no_cascade_from_calendar(tmp_path):
    # A bad start must not make every month and question fail too.
    text = MINIMAL.replace('"2024-01"', '"Jan 2024"')
    text = text.replace("starting_cash = 100", 'starting_cash = 100\nquestions = ["2030-01-01"]')
    text += """
schedule_free = 1
[lines.other]
kind = "revenue"
schedule = { 2024 = 1 }
[events.raise]
kind = "funding"
amount = 1
month = "2099-01"
"""
    lines = error_lines(text, tmp_path)
    assert lines == [
        'start: \'Jan 2024\' is not a month "YYYY-MM" (e.g. "2024-01")',
        "lines.revenue: unknown key 'schedule_free'; did you mean 'schedule'?",
    ]


def test_no_cascade_into_correlations(tmp_path):
    text = MINIMAL.replace("starting_cash = 100", 'starting_cash = "100 to 50"')
    text = text.replace("start = 5", 'start = "4 to 6"')
    text += '\n[correlations]\npairs = [["starting_cash", "revenue.start", 0.5]]\n'
    assert error_lines(text, tmp_path) == ["starting_cash: 'A to B' needs A < B (got '100 to 50')"]


def test_no_cascade_from_broken_line_reference(tmp_path):
    # 'a' is broken but exists: b's share_of is fine, and b's problems are its own.
    text = MINIMAL + '\n[lines.a]\nkind = "cost"\nstart = -1\n'
    text += '\n[lines.b]\nkind = "cost"\nshare_of = "a"\nratio = 0.5\n'
    assert error_lines(text, tmp_path) == ["lines.a.start: must be >= 0 (got -1)"]


def test_share_of_cycle_reported_once(tmp_path):
    text = MINIMAL + "".join(
        f'\n[lines.{a}]\nkind = "cost"\nshare_of = "{b}"\nratio = 1\n'
        for a, b in [("x", "y"), ("y", "z"), ("z", "y"), ("s", "s")]
    )
    assert error_lines(text, tmp_path) == [
        "lines.y.share_of: share_of cycle y -> z -> y",
        "lines.s.share_of: share_of cycle s -> s",
    ]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("name = 3", "name: must be a string, got an integer (3)"),
        ("name = ''", "name: must not be empty"),
        ("floor = nan", "floor: must be a finite number, got nan"),
        ("questions = '2025-01-01'", "questions: must be an array of dates"),
        ("questions = [12:00:00]", 'questions[0]: must be a date "YYYY-MM-DD", got a time'),
        ("questions = ['2024-01-20']", "valid dates are 2024-02-01 to 2026-01-31"),
        ("horizon_months = 24.0", "horizon_months: must be a whole number of months, got a num"),
        ("horizon_months = true", "horizon_months: must be a whole number of months, got a bool"),
        ("start = 202401", 'start: must be a month "YYYY-MM" (got 202401)'),
        ("events = 3", "events: must be a table of events ([events.NAME]), got an integer"),
        ("correlations = []", "correlations: must be a table, got an array"),
        ("variants = { v = 1 }", "variants.v: must be a table ([variants.v]), got an integer"),
        ("description = ['a']", "description: must be a string, got an array"),
        ("source = {}", "source: must be a string, got a table"),
    ],
)
def test_top_level_types(tmp_path, snippet, message):
    key = snippet.split(" =")[0]
    top, rest = MINIMAL.split("[lines.revenue]")
    top = "\n".join(line for line in top.splitlines() if not line.startswith(f"{key} ="))
    text = top + "\n[lines.revenue]" + rest
    lines = error_lines(snippet + "\n" + text, tmp_path)
    assert len(lines) == 1 and message in lines[0]


def test_horizon_past_year_9999(tmp_path):
    text = MINIMAL.replace('"2024-01"', '"9990-01"').replace("= 24", "= 600")
    assert error_lines(text, tmp_path) == ["horizon_months: the horizon runs past the year 9999"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "shock"\namount = 1', "events.e: missing required key 'probability'"),
        ('kind = "shock"\nprobability = 0.1', "events.e: needs amount, or line and factor"),
        (
            'kind = "shock"\nprobability = 0.1\nline = "revenue"',
            "events.e: missing required key 'factor'",
        ),
        ('kind = "shock"\nprobability = 0.1\nfactor = 2', "events.e: missing required key 'line'"),
        ('kind = "shock"\nprobability = 0.1\namount = -2', "events.e.amount: must be >= 0"),
        ("probability = 0.1\namount = 2", "events.e: missing required key 'kind'"),
        (
            'kind = "funding"\namount = 1\nmonth = "2024-05"\nline = "revenue"',
            "events.e: unknown key 'line'",
        ),
        (
            'kind = "funding"\namount = 1\nmonth = { dist = "uniform", low = 1, high = 3 }',
            "events.e.month: a month must be a 'YYYY-MM' string or a discrete table of months",
        ),
        (
            'kind = "funding"\namount = { dist = "uniform", low = 1, high = 3, vary = "year" }\n'
            'month = "2024-05"',
            "events.e.amount: must vary per path (got vary = 'year')",
        ),
        (
            'kind = "shock"\nprobability = { dist = "beta", a = 1, b = 9, vary = "month" }\n'
            "amount = 1",
            "events.e.probability: must vary per path (got vary = 'month')",
        ),
        (
            'kind = "funding"\namount = 1\nmonth = "2023-12"',
            "events.e.month: 2023-12 is outside the horizon; valid months are 2024-01 to 2025-12",
        ),
    ],
)
def test_event_rules(tmp_path, table, message):
    lines = error_lines(MINIMAL + "\n[events.e]\n" + table + "\n", tmp_path)
    assert len(lines) == 1 and message in lines[0], lines


def test_shock_per_month_probability_may_vary(tmp_path):
    text = MINIMAL + (
        '\n[events.e]\nkind = "shock"\nper = "month"\namount = 1\n'
        'probability = { dist = "beta", a = 1, b = 99, vary = "year" }\n'
    )
    (shock,) = load(text, tmp_path).events
    assert isinstance(shock, Shock) and shock.probability.vary == "year" and shock.month is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "cost"', "lines.c: needs exactly one of start, schedule or share_of (got none)"),
        ('kind = "cost"\nshare_of = "revenue"', "lines.c: missing required key 'ratio'"),
        ('kind = "cost"\nstart = 1\nratio = 2', "lines.c.ratio: only goes with share_of"),
        ('kind = "cost"\nstart = 1\ngrowth = -1', "lines.c.growth: must be > -1 (got -1)"),
        ('kind = "cost"\nstart = 1\ngrowth_per = "yearly"', "did you mean 'year'?"),
        ('kind = "cost"\nstart = 1\nvolatility = -0.1', "lines.c.volatility: must be >= 0"),
        ('kind = "cost"\nstart = 1\nscale = -1', "lines.c.scale: must be >= 0"),
        ('kind = "cost"\nshare_of = 3\nratio = 1', "lines.c.share_of: must be the name of a line"),
        ("start = 1", "lines.c: missing required key 'kind'"),
        ('kind = "cost"\nschedule = [1, 2]', "lines.c.schedule: must be a table of calendar-year"),
        (
            'kind = "cost"\nschedule = { 2024 = 1, 2025 = -2 }',
            "lines.c.schedule.2025: must be >= 0 (got -2)",
        ),
        (
            'kind = "cost"\nschedule = { 2024 = 1, 2025 = "x" }',
            "lines.c.schedule.2025: expected a number",
        ),
        (
            'kind = "cost"\nstart = { dist = "normal", mean = 1, sd = 1, vary = "decade" }',
            "lines.c.start: vary must be 'path', 'month' or 'year'",
        ),
        (
            'kind = "cost"\nstart = "2024-05"',
            "lines.c.start: expected a number, an 'A to B' range",
        ),
    ],
)
def test_line_rules(tmp_path, table, message):
    lines = error_lines(MINIMAL + "\n[lines.c]\n" + table + "\n", tmp_path)
    assert len(lines) == 1 and message in lines[0], lines


def test_schedule_several_missing_years(tmp_path):
    text = MINIMAL.replace("= 24", "= 40") + '\n[lines.c]\nkind = "cost"\nschedule = {2025 = 1}\n'
    assert error_lines(text, tmp_path) == [
        "lines.c.schedule: missing years 2024, 2026, 2027 (the horizon covers 2024-2027)"
    ]


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


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("description = 3", "variants.v.description: must be a string, got an integer"),
        ("horizon_months = 700", "variants.v.horizon_months: must be from 1 to 600, got 700"),
        ("events.raise.probability = 0.5", "variants.v.events: unknown event 'raise'"),
        ("variants.w.name = 'x'", "variants.v: a variant cannot define variants"),
        ("lines.revenue.start = { dist = 'normal', mean = 1 }", "variants.v.lines.revenue.start:"),
        (
            "horizon_months = 48",
            "variants.v.lines.c.schedule: missing years 2026, 2027 (the horizon covers 2024-2027)",
        ),
        ("lines.revenue = 3", "variants.v.lines.revenue: must be a table ([lines.revenue])"),
    ],
)
def test_variant_rules(tmp_path, table, message):
    text = MINIMAL + '\n[lines.c]\nkind = "cost"\nschedule = { 2024 = 1, 2025 = 2 }\n'
    lines = error_lines(text + "\n[variants.v]\n" + table + "\n", tmp_path)
    assert len(lines) == 1 and message in lines[0], lines


def test_variant_problem_in_base_reported_once(tmp_path):
    text = MINIMAL + "volatility = -1\n\n[variants.v]\nlines.revenue.scale = 2\n"
    assert error_lines(text, tmp_path) == ["lines.revenue.volatility: must be >= 0 (got -1)"]


def test_unknown_variant(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + "\n[variants.no_raise]\nlines.revenue.scale = 2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, variant="no_rise")
    assert (
        str(info.value) == f"{path}: variants: unknown variant 'no_rise'; did you mean 'no_raise'?"
    )
    with pytest.raises(ScenarioError, match="the file defines no variants"):
        load(MINIMAL, tmp_path, variant="x")


def test_parse_scenario_wants_a_table(tmp_path):
    with pytest.raises(ScenarioError, match=r"x\.toml: a scenario must be a table of keys"):
        parse_scenario([1, 2], file="x.toml", base_dir=tmp_path)  # type: ignore[arg-type]


def test_not_utf8(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b'name = "t"\n\nunit = "\xff"\n')
    with pytest.raises(ScenarioError, match=r"s\.toml: not UTF-8 text \(bad byte at line 3\)"):
        load_scenario(path)


# -- good files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOOD + PROJECT, ids=lambda p: p.name)
def test_good_file_and_its_variants_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunwayWarning)  # every_feature repairs its matrix
        scenario = load_scenario(path)
        assert scenario.file == str(path)
        assert scenario.raw == tomllib.loads(path.read_text())
        for name in scenario.variants:
            variant = load_scenario(path, variant=name)
            assert variant.variants == scenario.variants
            assert variant.raw == scenario.raw  # the base document, for the manifest
    for name, spec in scenario.inputs().items():
        assert isinstance(spec, Spec), name


def every_feature(**kwargs) -> Scenario:
    with pytest.warns(RunwayWarning, match="correlations.matrix: matrix repaired"):
        return load_scenario(EVERY, **kwargs)


def test_every_feature_top_level():
    s = every_feature()
    assert (s.name, s.unit, s.start_year, s.start_month, s.horizon_months) == (
        "Every feature",
        "USD million",
        2024,
        7,
        30,
    )
    assert s.floor == -5.0 and isinstance(s.floor, float)
    assert s.questions == (dt.date(2025, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 12, 15))
    assert s.source == "tests"
    assert s.starting_cash.family == "lognormal"
    assert s.starting_cash.source == "assumption: bank statement"
    assert list(s.variants) == ["no_seed", "expensive", "more_staff"]
    assert s.variants["no_seed"]["description"] == "The seed round does not close"


def test_every_feature_lines():
    s = every_feature()
    # hosting is written first but is a share of api: it comes after api.
    assert [line.name for line in s.lines] == ["api", "hosting", "licences", "staff", "misc"]
    api, hosting, licences, staff, misc = s.lines
    assert all(isinstance(line, Line) for line in s.lines)
    assert api.kind == "revenue" and hosting.kind == "cost"
    assert api.growth_per == "year" and staff.growth_per == "month"
    assert api.growth.truncate == (-0.5, float("inf"))
    assert api.volatility.vary == "month"
    assert api.start.source == "dashboard" and api.growth.source == "dashboard"  # inherited
    assert hosting.share_of == "api" and hosting.ratio.family == "beta"
    assert hosting.start is None and hosting.source is None and hosting.ratio.source is None
    assert [year for year, _ in licences.schedule] == [2024, 2025, 2026]
    assert licences.schedule[0][1].is_constant and licences.schedule[0][1].mean() == 6
    assert licences.schedule[1][1].family == "lognormal"
    assert licences.schedule[2][1].source == "sales pipeline"
    assert licences.scale.vary == "year"
    assert licences.start is None and licences.growth is None
    assert staff.start.family == "student_t"
    assert misc.start.family == "empirical"


def test_every_feature_events():
    s = every_feature()
    assert [e.name for e in s.events] == ["seed", "bridge", "outage", "price_war", "lawsuit"]
    seed, bridge, outage, price_war, lawsuit = s.events
    assert isinstance(seed, Funding) and isinstance(bridge, Funding)
    assert seed.month.is_month and seed.month.params["values"] == (5.0, 6.0, 7.0)
    assert seed.source == "term sheet" and seed.amount.source == "term sheet"
    assert bridge.probability.is_constant and bridge.probability.mean() == 1.0
    assert bridge.month.is_constant and bridge.month.mean() == 11  # 2025-06
    assert isinstance(outage, Shock) and outage.per == "month" and outage.month is None
    assert outage.amount.family == "exponential" and outage.line is None
    assert price_war.per == "horizon" and price_war.line == "api" and price_war.amount is None
    assert price_war.month.params["values"] == (8.0, 14.0)
    assert lawsuit.per == "horizon" and lawsuit.month is None


def test_every_feature_correlation():
    corr = every_feature().correlation
    assert corr.names == ("api.start", "api.growth", "hosting.ratio", "licences.schedule.2025")
    assert len(corr.matrix) == 4 and all(len(row) == 4 for row in corr.matrix)
    assert all(corr.matrix[i][i] == 1.0 for i in range(4))
    assert abs(corr.matrix[0][1] - 0.5) < 0.05  # repaired, close to the target


def test_variant_no_seed_sets_probability_to_zero():
    base, s = every_feature(), every_feature(variant="no_seed")
    assert s.events[0].probability.is_constant and s.events[0].probability.mean() == 0.0
    assert s.events[0].amount == base.events[0].amount  # everything else unchanged
    assert s.lines == base.lines and s.questions == base.questions


def test_variant_replaces_a_distribution_and_merges_a_table():
    s = every_feature(variant="expensive")
    hosting = s.lines[1]
    # a table with dist replaces the base distribution whole (no beta a, b left over)
    assert hosting.ratio.family == "uniform" and dict(hosting.ratio.params) == {
        "low": 0.5,
        "high": 0.7,
    }
    # a table without dist merges key by key: p10 stays, p90 changes
    assert s.lines[3].start.given == "student_t(df=5, p10=3.8, p90=4.5)"
    assert s.events[4].probability.mean() == 0.2


def test_variant_may_add_a_line():
    s = every_feature(variant="more_staff")
    assert s.lines[-1].name == "team" and s.lines[-1].start.mean() == 1.5


def test_apply_variant_is_a_deep_merge_that_leaves_the_doc_alone():
    doc = tomllib.loads(EVERY.read_text())
    before = tomllib.loads(EVERY.read_text())
    merged = apply_variant(doc, "expensive")
    assert doc == before
    assert merged["lines"]["hosting"]["ratio"] == {"dist": "uniform", "low": 0.5, "high": 0.7}
    assert merged["lines"]["staff"]["start"]["p10"] == 3.8
    assert merged["lines"]["staff"]["start"]["p90"] == 4.5
    assert merged["lines"]["hosting"]["volatility"] == 0.02
    assert merged["events"]["lawsuit"]["probability"] == 0.2
    no_seed = apply_variant(doc, "no_seed")
    assert no_seed["events"]["seed"]["probability"] == 0
    assert "description" not in no_seed["events"]["seed"]
    with pytest.raises(ScenarioError, match="unknown variant 'no_sed'; did you mean 'no_seed'"):
        apply_variant(doc, "no_sed")


def test_questions_accept_toml_dates_and_datetimes(tmp_path):
    text = MINIMAL.replace(
        "starting_cash = 100",
        "starting_cash = 100\nquestions = [2025-03-01, 2025-06-01T12:00:00Z, '2026-01-01']",
    )
    assert load(text, tmp_path).questions == (
        dt.date(2025, 3, 1),
        dt.date(2025, 6, 1),
        dt.date(2026, 1, 1),
    )


def test_empirical_csv_relative_to_the_scenario(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cash.csv").write_text("month,cash\n1,90\n2,110\n3,100\n")
    text = MINIMAL.replace(
        "starting_cash = 100",
        'starting_cash = { dist = "empirical", csv = "data/cash.csv", column = "cash" }',
    )
    spec = load(text, tmp_path).starting_cash
    assert spec.family == "empirical" and spec.params["data"] == (90.0, 100.0, 110.0)


def test_minimal_defaults(tmp_path):
    s = load(MINIMAL, tmp_path)
    assert s.description == "" and s.floor == 0.0 and s.questions == () and s.events == ()
    assert s.correlation is None and s.variants == {} and s.source is None
    (line,) = s.lines
    assert line == Line(name="revenue", kind="revenue", start=line.start)
    assert line.start.mean() == 5


# -- the input table ------------------------------------------------------------------------------


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


def test_the_format_docs_example_is_valid_and_matches_tests_good(tmp_path):
    doc = (HERE.parent / "docs" / "scenario-format.md").read_text()
    example = doc.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    assert example == (HERE / "good" / "doc_example.toml").read_text()
    s = load(example, tmp_path)
    assert [line.name for line in s.lines] == ["api", "enterprise", "compute", "staff"]
    assert load(example, tmp_path, variant="no_raise").events[0].probability.mean() == 0
