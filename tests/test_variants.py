"""Variants (``[variants.NAME]``, applied by cashflow/parse.py): each broken variant gives its
one-line message under ``variants.NAME.``; a problem of the base is reported once; an unknown
variant; the variants of tests/good/every_feature.toml; apply_variant is a deep merge."""

from __future__ import annotations

import tomllib

import pytest
from scenario_text import EVERY, MINIMAL, error_lines, every_feature, load

from cashflow.parse import apply_variant, load_scenario
from distributions.errors import ScenarioError


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
