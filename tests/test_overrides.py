"""``--set KEY=VALUE`` stress overrides (cashflow.overrides): reading, applying, validating.

Their errors name the parameter ``sets`` (``sets KEY: ...``); the command line says ``--set``."""

from __future__ import annotations

import datetime as dt
import pathlib
import tomllib
import types
import warnings

import pytest

from cashflow.overrides import apply_sets, describe_sets, parse_set
from cashflow.parse import load_scenario
from distributions.errors import ScenarioError, UsageError
from reports.data import ReportData
from simulate import error_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]
OPENAI = ROOT / "scenarios" / "openai_2024.toml"


def _error(argv: list[str], path: pathlib.Path = OPENAI, variant: str | None = None) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, variant=variant, sets=[parse_set(a) for a in argv])
    text = str(caught.value)
    assert "\n" not in text  # one line
    return text


def _inputs(scenario: object) -> tuple[object, ...]:
    s = scenario
    return (s.starting_cash, s.floor, s.lines, s.events, s.correlation, s.horizon_months)  # type: ignore[attr-defined]


# ----- parse_set --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lines.training_compute.growth=0.05", ("lines.training_compute.growth", 0.05)),
        ("events.raise.probability=0", ("events.raise.probability", 0)),
        ("starting_cash=6 to 9", ("starting_cash", "6 to 9")),
        (" starting_cash = 6 to 9 ", ("starting_cash", "6 to 9")),
        ('starting_cash="6 to 9"', ("starting_cash", "6 to 9")),
        (
            'lines.staff.start={dist="normal", mean=0.12, sd=0.01}',
            ("lines.staff.start", {"dist": "normal", "mean": 0.12, "sd": 0.01}),
        ),
        ("correlations.repair=true", ("correlations.repair", True)),
        ("events.raise.month=2024-11", ("events.raise.month", "2024-11")),
        ("questions=[2025-01-01]", ("questions", [dt.date(2025, 1, 1)])),
        ("events.squeeze.per=month", ("events.squeeze.per", "month")),
        ("lines.revenue.schedule.2024=3.5", ("lines.revenue.schedule.2024", 3.5)),
        ("floor=-inf", ("floor", float("-inf"))),
        ("a=b=c", ("a", "b=c")),
    ],
)
def test_parse_set_reads_the_values_of_the_file(text: str, expected: tuple[str, object]) -> None:
    assert parse_set(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x", "sets x: expected KEY=VALUE"),
        ("=1", "sets =1: no key before '='"),
        ("lines.a.b={unclosed", "sets lines.a.b={unclosed: the value is not a valid TOML value"),
        ("lines.a=[1,", "not a valid TOML value"),
        ('lines.a="open', "not a valid TOML value"),
        ("lines.a=", "no value after '='"),
        ("lines..a=1", "an empty part between dots"),
        ("lines.st aff.a=1", "'st aff' is not a key"),
        ("a=1\nb = 2", "must be one TOML value"),
        ("a=" + "[" * 2000 + "]" * 2000, "sets a="),
    ],
)
def test_a_malformed_set_is_one_line_with_an_example(text: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_set(text)
    line = str(caught.value)
    assert caught.value.param == "sets"
    assert "\n" not in line and line.startswith("sets ")
    assert words in line
    assert line.endswith("e.g. sets lines.staff.growth=0.02")
    cli = error_lines(caught.value)  # as the command line prints it
    assert cli == ["--set " + line.removeprefix("sets ").replace("e.g. sets", "e.g. --set")]


def test_a_set_that_is_not_text_is_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse_set(5)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "sets: expected KEY=VALUE text, got an integer; e.g. sets lines.staff.growth=0.02"
    )


def test_control_characters_in_a_malformed_set_are_escaped() -> None:
    with pytest.raises(UsageError) as caught:
        parse_set("a=\x1b[31m{")
    assert "\x1b" not in str(caught.value) and "\\x1b" in str(caught.value)


def test_describe_sets_is_canonical_toml() -> None:
    sets = [
        parse_set("lines.staff.growth=0.05"),
        parse_set("events.raise.probability=0"),
        parse_set("starting_cash=6 to 9"),
        parse_set('lines.staff.start={dist="normal", mean=0.12, sd=0.01}'),
        parse_set("correlations.repair=true"),
    ]
    text = describe_sets(sets)
    assert text == (
        'lines.staff.growth=0.05; events.raise.probability=0; starting_cash="6 to 9"; '
        'lines.staff.start={dist = "normal", mean = 0.12, sd = 0.01}; correlations.repair=true'
    )
    assert [parse_set(part) for part in text.split("; ")] == sets  # reads back the same
    assert describe_sets([]) == "" and describe_sets(None) == ""
    assert describe_sets([["a", [1, "x"]]]) == 'a=[1, "x"]'  # as read back from manifest.json


# ----- applying and validating --------------------------------------------------------------
def test_unknown_line_event_or_table_is_one_line_with_a_suggestion() -> None:
    assert _error(["lines.trainng_compute.growth=0.05"]) == (
        "sets lines.trainng_compute.growth: unknown line 'trainng_compute'; "
        "did you mean 'training_compute'?"
    )
    assert _error(["events.rase.probability=0"]) == (
        "sets events.rase.probability: unknown event 'rase'; did you mean 'raise'?"
    )
    assert "did you mean 'lines'?" in _error(["lien.staff.growth=1"])


def test_a_set_problem_names_the_flag_on_the_command_line() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(OPENAI, sets=[("events.rase.probability", 0)])
    assert error_lines(caught.value) == [
        "--set events.rase.probability: unknown event 'rase'; did you mean 'raise'?"
    ]


@pytest.mark.parametrize(
    ("key", "line"),
    [
        (
            "variants.no_raise.description",
            "sets variants.no_raise.description: a variant cannot be changed with sets; "
            "choose it with variant",
        ),
        (
            "lines..a",
            "sets lines..a: 'lines..a' is not a key path (e.g. sets lines.staff.growth=0.02)",
        ),
        ("", "sets : '' is not a key path (e.g. sets lines.staff.growth=0.02)"),
    ],
)
def test_a_set_key_that_can_never_be_set_is_a_usage_error(key: str, line: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_scenario(OPENAI, sets=[("floor", 1), (key, "x")])
    assert caught.value.param == "sets" and str(caught.value) == line
    assert error_lines(caught.value)[0].startswith("--set ")


def test_unknown_key_comes_from_validation_named_by_its_set() -> None:
    assert _error(["lines.staff.growht=0.1"]) == (
        "sets lines.staff.growht: unknown key 'growht'; did you mean 'growth'?"
    )
    assert _error(["statring_cash=5"]) == (
        "sets statring_cash: unknown key 'statring_cash'; did you mean 'starting_cash'?"
    )


def test_a_month_key_given_a_number_gives_the_validators_line() -> None:
    line = _error(["events.raise.month=5"])
    assert line.startswith("sets events.raise.month: ") and "YYYY-MM" in line
    assert "outside the horizon" in _error(["events.raise.month=2030-01"])


def test_wrong_type_and_bad_values_are_attributed_to_their_set() -> None:
    line = _error(["lines.staff.growth=abc"])
    assert line.startswith("sets lines.staff.growth: ") and "'abc'" in line
    assert _error(["lines.staff.start.sd=-1"]).startswith("sets lines.staff.start.sd: ")
    line = _error(["lines.other.start.mean=0.2"])  # other.start is a number: no table to enter
    assert line.startswith("sets lines.other.start.mean: 'lines.other.start' is a number")
    line = _error(["horizon_months=48"])  # a problem elsewhere, caused by the set
    assert line.startswith("sets horizon_months: lines.revenue.schedule: ")


def test_only_the_set_problems_are_reported_once_each() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(
            OPENAI, sets=[parse_set("lines.staff.growht=1"), parse_set("events.raise.month=5")]
        )
    assert len(caught.value.lines()) == 2
    assert all(line.startswith("sets ") for line in caught.value.lines())
    assert all(line.startswith("--set ") for line in error_lines(caught.value))


def test_a_set_equals_the_same_change_as_a_variant(tmp_path: pathlib.Path) -> None:
    text = OPENAI.read_text()
    text += (
        "\n[variants.stress]\n"
        'lines.training_compute.growth = {dist = "normal", mean = 0.05, sd = 0.01}\n'
        "lines.inference_compute.scale = 1.2\n"
        'starting_cash = "6 to 9"\n'
        'lines.staff.start = {dist = "normal", mean = 0.12, sd = 0.01}\n'
        "lines.other = {start = 0.02}\n"
        "events.raise.probability = 0\n"
    )
    path = tmp_path / "s.toml"
    path.write_text(text)
    sets = [
        parse_set('lines.training_compute.growth={dist="normal", mean=0.05, sd=0.01}'),
        parse_set("lines.inference_compute.scale=1.2"),
        parse_set("starting_cash=6 to 9"),
        parse_set('lines.staff.start={dist="normal", mean=0.12, sd=0.01}'),
        parse_set("lines.other={start=0.02}"),  # a table without dist is merged key by key
        parse_set("events.raise.probability=0"),
    ]
    by_variant = load_scenario(path, variant="stress")
    by_set = load_scenario(path, sets=sets)
    assert _inputs(by_set) == _inputs(by_variant)
    assert _inputs(by_set) != _inputs(load_scenario(path))
    assert by_set.raw == tomllib.loads(text)  # the file as written: the sets are kept apart


def test_variant_and_sets_stack_sets_last() -> None:
    no_raise = load_scenario(OPENAI, variant="no_raise")
    stacked = load_scenario(
        OPENAI, variant="no_raise", sets=[parse_set("lines.training_compute.scale=1.3")]
    )
    both = load_scenario(OPENAI, variant="compute_plus_30")
    assert stacked.events == no_raise.events  # the variant's raise probability 0 stays
    stacked_line = {line.name: line for line in stacked.lines}["training_compute"]
    assert stacked_line == {line.name: line for line in both.lines}["training_compute"]
    undone = load_scenario(
        OPENAI, variant="no_raise", sets=[parse_set("events.raise.probability=0.85")]
    )
    assert undone.events == load_scenario(OPENAI).events  # the set wins over the variant
    assert _error(["lines.staff.growht=1"], variant="no_raise").startswith("sets ")


def test_a_new_line_needs_a_whole_table_with_its_kind() -> None:
    added = load_scenario(OPENAI, sets=[parse_set("lines.legal={kind='cost', start=0.01}")])
    assert "legal" in [line.name for line in added.lines]
    assert "a new line needs a whole table" in _error(["lines.legal.start=0.01"])


def test_apply_sets_copies_the_document() -> None:
    doc = tomllib.loads(OPENAI.read_text())
    before = tomllib.loads(OPENAI.read_text())
    out = apply_sets(doc, [("lines.staff.start.mean", 0.2), ("floor", 1)])
    assert doc == before
    assert out["lines"]["staff"]["start"]["mean"] == 0.2 and out["floor"] == 1
    assert out["lines"]["staff"]["start"]["dist"] == "normal"  # merged into the dist table


def test_good_scenarios_take_sets_and_warn_once() -> None:
    for path in sorted((ROOT / "tests" / "good").glob("*.toml")):
        with warnings.catch_warnings(record=True) as plain:
            warnings.simplefilter("always")
            load_scenario(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scenario = load_scenario(path, sets=[parse_set("floor=1")])
        assert scenario.floor == 1
        assert [str(w.message) for w in caught] == [str(w.message) for w in plain]


# ----- the report ---------------------------------------------------------------------------
def test_report_shows_the_sets_of_the_run() -> None:
    def stress(sets: tuple) -> str:
        return ReportData.stress.fget(types.SimpleNamespace(sets=sets))  # type: ignore[attr-defined]

    assert stress(()) == ""
    sets = (("lines.staff.growth", 0.05), ("events.raise.probability", 0))
    assert stress(sets) == "lines.staff.growth=0.05; events.raise.probability=0"


def test_fixing_a_correlated_input_drops_its_correlations_with_a_warning():
    """The issue's own example: training_compute.growth is correlated in openai_2024.toml."""
    import warnings

    from distributions.errors import RunwayWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load_scenario(OPENAI, sets=[parse_set("lines.training_compute.growth=0.05")])
    assert s.inputs()["training_compute.growth"].is_constant
    messages = [str(w.message) for w in caught if issubclass(w.category, RunwayWarning)]
    assert any("correlations with other inputs are dropped" in m for m in messages)
