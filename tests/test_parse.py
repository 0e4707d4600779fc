"""cashflow/parse.py: loading a scenario file. Every broken file in tests/bad/ gives its one-line
message (also from ``simulate.py validate``); unreadable files (missing, a directory, invalid TOML,
not UTF-8); every problem reported together without cascades; the top-level keys, horizon and
questions; good files and the project's scenarios load, with their defaults; the docs example.

Lines, events, correlations, variants and the input table: test_parse_lines.py,
test_parse_events.py, test_parse_correlations.py, test_variants.py, test_describe.py.

Each tests/bad/*.toml starts with ``# expect: <substring of the one-line error message>``.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import tomllib
import warnings

import pytest
from scenario_text import HERE, MINIMAL, error_lines, every_feature, load

from cashflow.parse import load_scenario, parse_scenario
from cashflow.scenario import Line
from distributions import Spec
from distributions.errors import RunwayWarning, ScenarioError

BAD = sorted((HERE / "bad").glob("*.toml"))
GOOD = sorted((HERE / "good").glob("*.toml"))
PROJECT = sorted((HERE.parent / "scenarios").glob("*.toml"))


def expected(path: pathlib.Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' first line"
    return first.removeprefix("# expect: ")


# -- broken files ----------------------------------------------------------------------------------


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


def test_not_utf8(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b'name = "t"\n\nunit = "\xff"\n')
    with pytest.raises(ScenarioError, match=r"s\.toml: not UTF-8 text \(bad byte at line 3\)"):
        load_scenario(path)


def test_an_endless_file_is_refused_after_a_bounded_read(tmp_path, monkeypatch):
    # /dev/zero (or a pipe that never ends) was read until memory ran out.
    monkeypatch.setattr("cashflow.parse.MAX_SCENARIO_BYTES", 1000)
    with pytest.raises(ScenarioError, match=r"^/dev/zero: larger than 0 MB: not a scenario"):
        load_scenario("/dev/zero")
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + "#" * 1000)
    with pytest.raises(ScenarioError, match=r"s\.toml: larger than"):
        load_scenario(path)


def test_parse_scenario_wants_a_table(tmp_path):
    with pytest.raises(ScenarioError, match=r"x\.toml: a scenario must be a table of keys"):
        parse_scenario([1, 2], file="x.toml", base_dir=tmp_path)  # type: ignore[arg-type]


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


# -- good files ------------------------------------------------------------------------------------


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


def test_the_format_docs_example_is_valid_and_matches_tests_good(tmp_path):
    doc = (HERE.parent / "docs" / "scenario-format.md").read_text()
    example = doc.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    assert example == (HERE / "good" / "doc_example.toml").read_text()
    s = load(example, tmp_path)
    assert [line.name for line in s.lines] == ["api", "enterprise", "compute", "staff", "office"]
    assert load(example, tmp_path, variant="no_raise").events[0].probability.mean() == 0
