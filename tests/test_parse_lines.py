"""cashflow/parse_lines.py: the ``[lines.NAME]`` tables. Each broken line gives its one-line
message; schedules cover the horizon; share_of references and cycles are reported once; the
lines of tests/good/every_feature.toml parse in dependency order."""

from __future__ import annotations

import pytest
from scenario_text import MINIMAL, error_lines, every_feature

from cashflow.scenario import Line


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'kind = "cost"',
            "lines.c: needs exactly one of start, schedule, share_of or plan (got none)",
        ),
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
