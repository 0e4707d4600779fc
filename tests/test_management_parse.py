"""Parsing management that reacts: ``[actions.NAME]``, bridge rounds (a funding event with
``when``) and ``[credit.NAME]`` (docs/scenario-format.md, "Management").

A full example parses into the expected dataclasses; every mistake is one line naming its key
path (also through ``simulate.py validate``: exit code 2, no traceback); variants, ``--set`` and
correlations reach the new inputs.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import warnings

import pytest

from cashflow.overrides import parse_set
from cashflow.parse import load_scenario
from cashflow.scenario import Action, Condition, Credit, Funding, Scenario
from distributions import Spec
from distributions.errors import RunwayWarning, ScenarioError

ROOT = pathlib.Path(__file__).resolve().parents[1]

BASE = """
name = "t"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = { dist = "uniform", low = 80, high = 120 }

[lines.revenue]
kind = "revenue"
start = 5

[lines.staff]
kind = "cost"
start = 3

[lines.rent]
kind = "cost"
start = 1

[lines.compute]
kind = "cost"
share_of = "revenue"
ratio = 0.5
"""

FULL = (
    BASE
    + """
[events.raise]
kind = "funding"
amount = 50
month = "2024-09"

[events.bridge]
kind = "funding"
when = "runway < 6"
after = "2024-06"
until = "2025-06"
probability = 0.6
amount = 20
delay_months = { dist = "discrete", values = [2, 3, 4], probs = [0.3, 0.4, 0.3] }
source = "assumption: insiders bridge"

[actions.cut]
when = "runway < 9"
after = "2024-04"
until = "2025-12"
lines = ["staff", "compute"]
factor = { dist = "uniform", low = 0.75, high = 0.9 }
stop = ["rent"]
cost = 0.3
lag_months = { dist = "discrete", values = [1, 2] }
once = false
cooldown_months = 6
source = "assumption: board policy"

[actions.sell]
when = "cash < -2.5"
cost = { dist = "uniform", low = 1, high = 2, source = "quotes" }

[credit.revolver]
limit = { dist = "uniform", low = 10, high = 20 }
interest = 0.07
available_from = "2024-10"
until = "2027-10"
repay = "maturity"
source = "term sheet"

[credit.overdraft]
limit = 5
interest = 0.12
"""
)


def write(text: str, tmp_path: pathlib.Path, name: str = "s.toml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load(text: str, tmp_path: pathlib.Path, **kwargs) -> Scenario:
    return load_scenario(write(text, tmp_path), **kwargs)


def errors(text: str, tmp_path: pathlib.Path, **kwargs) -> list[str]:
    """The problems of a scenario, each without its ``file: `` prefix."""
    path = write(text, tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    return [line.removeprefix(f"{path}: ") for line in lines]


def const(spec: Spec | None) -> float:
    assert spec is not None and spec.is_constant
    return float(spec.mean())


# -- a full example -----------------------------------------------------------------------------


def test_full_example_parses_into_the_dataclasses(tmp_path):
    s = load(FULL, tmp_path)
    assert s.managed
    cut, sell = s.actions
    assert isinstance(cut, Action)
    assert cut.when == Condition(
        measure="runway", threshold=9.0, text="runway < 9", after=3, until=23
    )
    assert cut.lines == ("staff", "compute") and cut.stop == ("rent",)
    assert cut.factor is not None and cut.factor.family == "uniform"
    assert cut.factor.params["low"] == 0.75 and cut.factor.params["high"] == 0.9
    assert const(cut.cost) == 0.3
    assert cut.lag_months.family == "discrete"
    assert (cut.once, cut.cooldown_months, cut.source) == (False, 6, "assumption: board policy")
    assert cut.factor.source == "assumption: board policy"  # inherited from the action

    assert sell.when == Condition(measure="cash", threshold=-2.5, text="cash < -2.5")
    assert sell.when.after == 0 and sell.when.until is None
    assert sell.lines == () and sell.stop == () and sell.factor is None
    assert const(sell.lag_months) == 1  # the default
    assert (sell.once, sell.cooldown_months) == (True, 0)
    assert sell.cost is not None and sell.cost.source == "quotes"

    raise_, bridge = s.events
    assert isinstance(raise_, Funding) and raise_.when is None and raise_.delay_months is None
    assert raise_.month is not None
    assert isinstance(bridge, Funding) and bridge.month is None
    assert bridge.when == Condition(
        measure="runway", threshold=6.0, text="runway < 6", after=5, until=17
    )
    assert bridge.delay_months is not None and bridge.delay_months.family == "discrete"
    assert const(bridge.probability) == 0.6 and const(bridge.amount) == 20
    assert s.bridges == (bridge,)

    revolver, overdraft = s.credit
    assert isinstance(revolver, Credit)
    assert (revolver.available_from, revolver.until, revolver.repay) == (9, 45, "maturity")
    assert revolver.limit.family == "uniform" and const(revolver.interest) == 0.07
    assert revolver.limit.source == "term sheet"
    assert (overdraft.available_from, overdraft.until, overdraft.repay) == (0, None, "cash_flow")
    assert (const(overdraft.limit), const(overdraft.interest)) == (5, 0.12)


def test_the_inputs_are_named_and_listed(tmp_path):
    names = list(load(FULL, tmp_path).inputs())
    for name in (
        "bridge.delay_months",
        "cut.factor",
        "cut.cost",
        "cut.lag_months",
        "sell.cost",
        "sell.lag_months",
        "revolver.limit",
        "revolver.interest",
        "overdraft.limit",
        "overdraft.interest",
    ):
        assert name in names
    assert "raise.delay_months" not in names and "sell.factor" not in names


def test_an_unmanaged_scenario_is_unchanged(tmp_path):
    s = load(BASE, tmp_path)
    assert s.actions == () and s.credit == () and s.bridges == () and not s.managed


def test_the_doc_example_has_an_action_and_a_credit_line():
    s = load_scenario(ROOT / "tests" / "good" / "doc_example.toml")
    (freeze,) = s.actions
    assert freeze.name == "hiring_freeze" and freeze.lines == ("staff",)
    assert freeze.when.measure == "runway" and freeze.when.after == 3
    (revolver,) = s.credit
    assert revolver.until == 26 and revolver.until > s.horizon_months  # after the horizon
    no_credit = load_scenario(ROOT / "tests" / "good" / "doc_example.toml", variant="no_credit")
    assert no_credit.credit == () and len(no_credit.actions) == 1


@pytest.mark.parametrize(
    ("when", "measure", "threshold"),
    [
        ("runway<9", "runway", 9.0),
        ("  cash <   -1e3 ", "cash", -1000.0),
        ("cash < 0", "cash", 0.0),
        ("runway < 0.5", "runway", 0.5),
    ],
)
def test_condition_forms(tmp_path, when, measure, threshold):
    s = load(BASE + f'[actions.a]\nwhen = "{when}"\ncost = 1\n', tmp_path)
    assert (s.actions[0].when.measure, s.actions[0].when.threshold) == (measure, threshold)


# -- one clear line per mistake ---------------------------------------------------------------

ACTION = '[actions.a]\nwhen = "runway < 9"\n'
FUNDING = '[events.b]\nkind = "funding"\namount = 10\n'
CREDIT = "[credit.c]\nlimit = 10\ninterest = 0.05\n"
FORMS = 'write "cash < NUMBER" or "runway < NUMBER"'

BAD = [
    # actions: references
    (
        ACTION + 'lines = ["staf"]\nfactor = 0.8\n',
        "actions.a.lines[0]: unknown line 'staf'; did you mean 'staff'?",
    ),
    (ACTION + 'stop = ["rnt"]\n', "actions.a.stop[0]: unknown line 'rnt'; did you mean 'rent'?"),
    (
        ACTION + 'lines = "staff"\nfactor = 0.8\n',
        'actions.a.lines: must be an array of line names such as ["staff"], '
        "got a string ('staff')",
    ),
    (
        ACTION + "lines = []\nfactor = 0.8\n",
        'actions.a.lines: must name at least one line, e.g. ["staff"]',
    ),
    (
        ACTION + 'lines = ["staff", "staff"]\nfactor = 0.8\n',
        "actions.a.lines[1]: line 'staff' is listed twice",
    ),
    (
        ACTION + 'lines = ["rent", "staff"]\nfactor = 0.8\nstop = ["staff"]\n',
        "actions.a.stop[0]: line 'staff' is also in lines; a line is either multiplied or stopped",
    ),
    # actions: conditions
    (
        '[actions.a]\nwhen = "runway <= 9"\ncost = 1\n',
        f"actions.a.when: cannot read the condition 'runway <= 9'; {FORMS}",
    ),
    (
        '[actions.a]\nwhen = "cash > 2"\ncost = 1\n',
        f"actions.a.when: cannot read the condition 'cash > 2'; {FORMS}",
    ),
    (
        '[actions.a]\nwhen = "runway < 9 months"\ncost = 1\n',
        f"actions.a.when: cannot read the condition 'runway < 9 months'; {FORMS}",
    ),
    (
        '[actions.a]\nwhen = "runwy < 9"\ncost = 1\n',
        f"actions.a.when: unknown measure 'runwy'; did you mean 'runway'?; {FORMS}",
    ),
    ('[actions.a]\nwhen = "cash < x"\ncost = 1\n', f"actions.a.when: 'x' is not a number; {FORMS}"),
    (
        "[actions.a]\nwhen = 9\ncost = 1\n",
        f'actions.a.when: must be a condition such as "runway < 9", got an integer (9); {FORMS}',
    ),
    (
        '[actions.a]\nwhen = "runway < -1"\ncost = 1\n',
        'actions.a.when: a runway threshold must be > 0 months (got -1), e.g. "runway < 6"',
    ),
    (
        '[actions.a]\nwhen = "runway < 0"\ncost = 1\n',
        'actions.a.when: a runway threshold must be > 0 months (got 0), e.g. "runway < 6"',
    ),
    (
        '[actions.a]\nwhen = "runway < nan"\ncost = 1\n',
        f"actions.a.when: the threshold must be a finite number (got nan); {FORMS}",
    ),
    (
        '[actions.a]\nwhen = "cash < inf"\ncost = 1\n',
        f"actions.a.when: the threshold must be a finite number (got inf); {FORMS}",
    ),
    (
        "[actions.a]\ncost = 1\n",
        "actions.a: missing required key 'when' (a condition: \"cash < NUMBER\" or "
        '"runway < NUMBER", e.g. "runway < 9")',
    ),
    # actions: the window
    (
        ACTION + 'after = "2023-12"\ncost = 1\n',
        "actions.a.after: 2023-12 is outside the horizon; valid months are 2024-01 to 2025-12",
    ),
    (
        ACTION + 'until = "2026-01"\ncost = 1\n',
        "actions.a.until: 2026-01 is outside the horizon; valid months are 2024-01 to 2025-12",
    ),
    (
        ACTION + 'after = "2024-06"\nuntil = "2024-05"\ncost = 1\n',
        "actions.a.until: 2024-05 is before after (2024-06); until must be the same month as "
        "after or later",
    ),
    (
        ACTION + 'after = "June"\ncost = 1\n',
        'actions.a.after: \'June\' is not a month "YYYY-MM" (e.g. "2024-01")',
    ),
    # actions: effects
    (ACTION, "actions.a: has no effect; give lines and factor, stop, or cost (or several)"),
    (
        ACTION + "factor = 0.8\n",
        "actions.a: missing required key 'lines' (the lines that factor multiplies)",
    ),
    (
        ACTION + 'lines = ["staff"]\n',
        "actions.a: missing required key 'factor' (the multiplier applied to its lines)",
    ),
    (ACTION + 'lines = ["staff"]\nfactor = -0.5\n', "actions.a.factor: must be >= 0 (got -0.5)"),
    (ACTION + "cost = -1\n", "actions.a.cost: must be >= 0 (got -1)"),
    (
        ACTION
        + 'lines = ["staff"]\n'
        + 'factor = { dist = "uniform", low = 0.8, high = 0.9, vary = "month" }\n',
        "actions.a.factor: must vary per path (got vary = 'month')",
    ),
    (
        ACTION + 'cost = { dist = "uniform", low = 1, high = 2, vary = "year" }\n',
        "actions.a.cost: must vary per path (got vary = 'year')",
    ),
    # actions: lag
    (
        ACTION + "cost = 1\nlag_months = 0\n",
        "actions.a.lag_months: must be at least 1 month (got 0)",
    ),
    (
        ACTION + "cost = 1\nlag_months = 24\n",
        "actions.a.lag_months: 24 months leaves the horizon (24 months); must be less than 24",
    ),
    (
        ACTION + 'cost = 1\nlag_months = { dist = "uniform", low = 1, high = 30 }\n',
        "actions.a.lag_months: uniform(low=1, high=30): its largest value 30 leaves the horizon "
        "(24 months); every value must be >= 1 and < 24 (use discrete, uniform, pert or truncate)",
    ),
    (
        ACTION + 'cost = 1\nlag_months = { dist = "discrete", values = [0, 1] }\n',
        "actions.a.lag_months: discrete(values=[0, 1], probs=[0.5, 0.5]): "
        "its smallest value 0 is below 1 month; "
        "every value must be >= 1 and < 24 (use discrete, uniform, pert or truncate)",
    ),
    (
        ACTION + 'cost = 1\nlag_months = { dist = "discrete", values = [1, 2], vary = "month" }\n',
        "actions.a.lag_months: must vary per path (got vary = 'month')",
    ),
    # actions: once and cooldown
    (
        ACTION + "cost = 1\nonce = false\n",
        "actions.a: missing required key 'cooldown_months' (once = false needs the months to "
        "wait after an effect before firing again, a whole number >= 1)",
    ),
    (
        ACTION + "cost = 1\nonce = false\ncooldown_months = 0\n",
        "actions.a.cooldown_months: must be a whole number of months >= 1, got an integer (0)",
    ),
    (
        ACTION + "cost = 1\nonce = false\ncooldown_months = 1.5\n",
        "actions.a.cooldown_months: must be a whole number of months >= 1, got a number (1.5)",
    ),
    (
        ACTION + "cost = 1\nonce = false\ncooldown_months = 100000000000000000000\n",
        "actions.a.cooldown_months: must be at most 600 months, got 100000000000000000000",
    ),
    (
        ACTION + "cost = 1\ncooldown_months = 3\n",
        "actions.a.cooldown_months: only goes with once = false (this action fires at most once)",
    ),
    (
        ACTION + 'cost = 1\nonce = "no"\n',
        "actions.a.once: must be true or false, got a string ('no')",
    ),
    (
        ACTION + 'cost = 1\nenabled = "yes"\n',
        "actions.a.enabled: must be true or false, got a string ('yes')",
    ),
    # actions: keys and names
    (
        ACTION + "cost = 1\nlag_month = 2\n",
        "actions.a: unknown key 'lag_month'; did you mean 'lag_months'?",
    ),
    (
        '[actions.staff]\nwhen = "cash < 1"\ncost = 1\n',
        "actions.staff: name 'staff' is already used by a line",
    ),
    (
        FUNDING + 'month = "2024-05"\n[actions.b]\nwhen = "cash < 1"\ncost = 1\n',
        "actions.b: name 'b' is already used by an event",
    ),
    # bridge rounds
    (
        FUNDING + 'month = "2024-05"\nwhen = "runway < 6"\n',
        "events.b: give either month or when (a bridge round), not both",
    ),
    (
        FUNDING,
        "events.b: missing required key 'month' (the month the money arrives), or 'when' for a "
        'bridge round (e.g. when = "runway < 6")',
    ),
    (
        FUNDING + 'month = "2024-05"\nafter = "2024-02"\n',
        "events.b.after: only goes with when (a bridge round)",
    ),
    (
        FUNDING + 'month = "2024-05"\ndelay_months = 2\n',
        "events.b.delay_months: only goes with when (a bridge round)",
    ),
    (
        FUNDING + 'when = "runway <= 6"\n',
        f"events.b.when: cannot read the condition 'runway <= 6'; {FORMS}",
    ),
    (
        FUNDING + 'when = "runway < 6"\nafter = "2030-01"\n',
        "events.b.after: 2030-01 is outside the horizon; valid months are 2024-01 to 2025-12",
    ),
    (
        FUNDING + 'when = "runway < 6"\nafter = "2024-06"\nuntil = "2024-03"\n',
        "events.b.until: 2024-03 is before after (2024-06); until must be the same month as "
        "after or later",
    ),
    (
        FUNDING + 'when = "runway < 6"\ndelay_months = 0\n',
        "events.b.delay_months: must be at least 1 month (got 0)",
    ),
    (
        FUNDING + 'when = "runway < 6"\ndelay_months = 30\n',
        "events.b.delay_months: 30 months leaves the horizon (24 months); must be less than 24",
    ),
    (
        FUNDING
        + 'when = "runway < 6"\n'
        + 'delay_months = { dist = "discrete", values = [2, 3], vary = "month" }\n',
        "events.b.delay_months: must vary per path (got vary = 'month')",
    ),
    (
        FUNDING + 'when = "runway < 6"\ndelay_month = 2\n',
        "events.b: unknown key 'delay_month'; did you mean 'delay_months'?",
    ),
    # credit lines
    (CREDIT.replace("limit = 10", "limit = -1"), "credit.c.limit: must be >= 0 (got -1)"),
    (CREDIT.replace("0.05", "-0.01"), "credit.c.interest: must be >= 0 (got -0.01)"),
    (
        CREDIT.replace(
            "limit = 10", 'limit = { dist = "uniform", low = 1, high = 2, vary = "month" }'
        ),
        "credit.c.limit: must vary per path (got vary = 'month')",
    ),
    (
        "[credit.c]\ninterest = 0.05\n",
        "credit.c: missing required key 'limit' (the most that can be drawn, >= 0)",
    ),
    (
        "[credit.c]\nlimit = 10\n",
        "credit.c: missing required key 'interest' (the annual rate on the drawn balance, e.g. "
        "0.07; 0 for none)",
    ),
    (
        CREDIT + 'available_from = "2024-06"\nuntil = "2024-06"\n',
        "credit.c.until: 2024-06 must be after available_from (2024-06)",
    ),
    (
        CREDIT + 'available_from = "2024-06"\nuntil = "2024-02"\n',
        "credit.c.until: 2024-02 must be after available_from (2024-06)",
    ),
    (
        CREDIT + 'until = "2024-01"\n',
        "credit.c.until: 2024-01 must be after the start month (2024-01), "
        "where it becomes available",
    ),
    (
        CREDIT + 'available_from = "2026-01"\n',
        "credit.c.available_from: 2026-01 is outside the horizon; "
        "valid months are 2024-01 to 2025-12",
    ),
    (
        CREDIT + 'until = "2027-13"\n',
        "credit.c.until: '2027-13' is not a month: month 13 not in 1..12",
    ),
    (
        CREDIT + 'repay = "cashflow"\n',
        "credit.c.repay: unknown value 'cashflow'; did you mean 'cash_flow'?",
    ),
    (
        CREDIT + 'repay = "never"\n',
        "credit.c.repay: unknown value 'never'; must be 'cash_flow' or 'maturity'",
    ),
    (CREDIT + "enabled = 1\n", "credit.c.enabled: must be true or false, got an integer (1)"),
    (CREDIT + "limt = 3\n", "credit.c: unknown key 'limt'; did you mean 'limit'?"),
    (
        CREDIT.replace("credit.c", "credit.rent"),
        "credit.rent: name 'rent' is already used by a line",
    ),
    (
        ACTION.replace("actions.a", "actions.c") + "cost = 1\n" + CREDIT,
        "credit.c: name 'c' is already used by an action",
    ),
    # a disabled action or credit line is still checked
    (
        ACTION + 'lines = ["staf"]\nfactor = 0.8\nenabled = false\n',
        "actions.a.lines[0]: unknown line 'staf'; did you mean 'staff'?",
    ),
    (
        CREDIT.replace("limit = 10", "limit = -1") + "enabled = false\n",
        "credit.c.limit: must be >= 0 (got -1)",
    ),
]


@pytest.mark.parametrize(("snippet", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_each_mistake_is_one_line(tmp_path, snippet, message):
    assert errors(BASE + snippet, tmp_path) == [message]


def test_sections_must_be_tables_of_tables(tmp_path):
    top = BASE.replace('name = "t"', 'name = "t"\nactions = 5\ncredit = { c = 1 }')
    assert errors(top, tmp_path) == [
        "actions: must be a table of actions ([actions.NAME]), got an integer (5)",
        "credit.c: must be a table ([credit.c]), got an integer (1)",
    ]


def test_at_most_100_actions_and_credit_lines(tmp_path):
    many = "".join(f'[actions.a{i}]\nwhen = "cash < 1"\ncost = 1\n' for i in range(101))
    many += "".join(f"[credit.c{i}]\nlimit = 1\ninterest = 0\n" for i in range(101))
    assert errors(BASE + many, tmp_path) == [
        "actions: 101 actions; at most 100 are supported",
        "credit: 101 credit lines; at most 100 are supported",
    ]


def test_all_problems_are_collected(tmp_path):
    found = errors(
        BASE + ACTION + 'lines = ["staf"]\nfactor = -1\n' + CREDIT.replace("0.05", "-1"),
        tmp_path,
    )
    assert found == [
        "actions.a.lines[0]: unknown line 'staf'; did you mean 'staff'?",
        "actions.a.factor: must be >= 0 (got -1)",
        "credit.c.interest: must be >= 0 (got -1)",
    ]


def test_valid_edge_cases(tmp_path):
    s = load(
        BASE
        + ACTION
        + 'after = "2025-12"\nuntil = "2025-12"\nlag_months = 23\nstop = ["staff"]\n'
        + CREDIT
        + 'available_from = "2025-12"\nuntil = "2099-01"\n'
        + FUNDING
        + 'when = "cash < -5"\ndelay_months = { dist = "uniform", low = 1, high = 23.9 }\n',
        tmp_path,
    )
    (a,) = s.actions
    assert (a.when.after, a.when.until, const(a.lag_months)) == (23, 23, 23)
    assert (s.credit[0].available_from, s.credit[0].until) == (23, (2099 - 2024) * 12)
    assert s.bridges[0].when.threshold == -5 and const(s.bridges[0].probability) == 1


def test_disabled_items_are_left_out_with_their_inputs(tmp_path):
    s = load(
        BASE + ACTION + 'stop = ["rent"]\nenabled = false\n' + CREDIT + "enabled = false\n",
        tmp_path,
    )
    assert s.actions == () and s.credit == () and not s.managed
    assert not any(name.startswith(("a.", "c.")) for name in s.inputs())


# -- through the command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (ACTION + 'lines = ["staf"]\nfactor = 0.8\n', "actions.a.lines[0]: unknown line 'staf'"),
        (
            '[actions.a]\nwhen = "runway <= 9"\ncost = 1\n',
            "actions.a.when: cannot read the condition",
        ),
        (CREDIT.replace("limit = 10", "limit = -1"), "credit.c.limit: must be >= 0 (got -1)"),
        (
            FUNDING + 'month = "2024-05"\nwhen = "runway < 6"\n',
            "events.b: give either month or when",
        ),
    ],
)
def test_validate_gives_one_line_and_exit_2(tmp_path, snippet, message):
    path = write(BASE + snippet, tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "simulate.py"), "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{path}: {message}" in lines[0]


def test_validate_lists_the_new_inputs(tmp_path):
    path = write(FULL, tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "simulate.py"), "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in ("cut.factor", "cut.lag_months", "bridge.delay_months", "revolver.limit"):
        assert name in done.stdout


# -- variants, --set and correlations ---------------------------------------------------------

VARIANTS = (
    FULL
    + """
[correlations]
pairs = [["cut.factor", "starting_cash", 0.4], ["revolver.limit", "starting_cash", -0.2]]

[variants.no_cut]
actions.cut.enabled = false

[variants.small_credit]
credit.revolver.limit = { dist = "uniform", low = 1, high = 2 }
credit.overdraft.repay = "maturity"

[variants.slow]
actions.cut.lag_months = 3
events.bridge.when = "cash < 10"

[variants.new_action]
actions.freeze = { when = "runway < 12", lines = ["staff"], factor = 0.9 }
"""
)


def test_correlations_may_name_the_new_inputs(tmp_path):
    s = load(VARIANTS, tmp_path)
    assert s.correlation is not None
    assert set(s.correlation.names) == {"cut.factor", "starting_cash", "revolver.limit"}
    found = errors(FULL + '[correlations]\npairs = [["cut.factor", "cut.facto", 0.4]]\n', tmp_path)
    assert found == ["correlations.pairs[0]: unknown input 'cut.facto'; did you mean 'cut.factor'?"]


def test_variants_change_action_and_credit_keys(tmp_path):
    path = write(VARIANTS, tmp_path)
    no_cut = load_scenario(path, variant="no_cut")
    assert [a.name for a in no_cut.actions] == ["sell"]
    assert no_cut.correlation is not None
    assert set(no_cut.correlation.names) == {"starting_cash", "revolver.limit"}
    small = load_scenario(path, variant="small_credit")
    assert small.credit[0].limit.params["high"] == 2 and small.credit[1].repay == "maturity"
    slow = load_scenario(path, variant="slow")
    assert const(slow.actions[0].lag_months) == 3
    assert slow.bridges[0].when == Condition(
        measure="cash", threshold=10.0, text="cash < 10", after=5, until=17
    )
    new = load_scenario(path, variant="new_action")
    assert [a.name for a in new.actions] == ["cut", "sell", "freeze"]


def test_disabling_the_only_correlated_partner_drops_the_correlation(tmp_path):
    text = FULL + '[correlations]\npairs = [["cut.factor", "starting_cash", 0.4]]\n'
    text += "[variants.no_cut]\nactions.cut.enabled = false\n"
    assert load(text, tmp_path, variant="no_cut").correlation is None


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (
            "actions.cutt.factor = 0.5",
            "variants.v.actions: unknown action 'cutt'; did you mean 'cut'?",
        ),
        (
            "credit.revolvr.limit = 5",
            "variants.v.credit: unknown credit line 'revolvr'; did you mean 'revolver'?",
        ),
        ("actions.cut.factor = -1", "variants.v.actions.cut.factor: must be >= 0 (got -1)"),
        (
            'actions.cut.when = "runway > 3"',
            f"variants.v.actions.cut.when: cannot read the condition 'runway > 3'; {FORMS}",
        ),
        (
            'credit.revolver.repay = "monthly"',
            "variants.v.credit.revolver.repay: unknown value 'monthly'",
        ),
    ],
)
def test_variant_mistakes(tmp_path, variant, message):
    found = errors(FULL + f"[variants.v]\n{variant}\n", tmp_path)
    assert len(found) == 1 and found[0].startswith(message), found


def sets(*args: str) -> list[tuple[str, object]]:
    return [parse_set(a) for a in args]


def test_set_changes_action_and_credit_keys(tmp_path):
    path = write(FULL, tmp_path)
    s = load_scenario(path, sets=sets("actions.cut.enabled=false", "credit.revolver.limit=40"))
    assert [a.name for a in s.actions] == ["sell"]
    assert const(s.credit[0].limit) == 40
    s = load_scenario(path, sets=sets("actions.cut.factor=0.5", "events.bridge.when=cash < 3"))
    assert const(s.actions[0].factor) == 0.5
    assert s.bridges[0].when.text == "cash < 3"
    s = load_scenario(path, sets=sets("credit.overdraft.until=2025-06"))
    assert s.credit[1].until == 17


def test_set_fixing_a_correlated_action_input_drops_its_correlation(tmp_path):
    path = write(VARIANTS, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load_scenario(path, sets=sets("actions.cut.factor=0.8"))
    assert const(s.actions[0].factor) == 0.8
    assert s.correlation is not None and "cut.factor" not in s.correlation.names
    assert any(
        issubclass(w.category, RunwayWarning) and "actions.cut.factor" in str(w.message)
        for w in caught
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["actions.cutt.factor=0.5"],
            "sets actions.cutt.factor: unknown action 'cutt'; did you mean 'cut'?",
        ),
        (
            ["credit.revolvr.limit=5"],
            "sets credit.revolvr.limit: unknown credit line 'revolvr'; did you mean 'revolver'?",
        ),
        (["credit.revolver.limit=-5"], "sets credit.revolver.limit: must be >= 0 (got -5)"),
        (
            ["actions.cut.enabled=maybe"],
            "sets actions.cut.enabled: must be true or false, got a string ('maybe')",
        ),
        (
            ["actions.new.cost=1"],
            "sets actions.new.cost: unknown action 'new'; valid: cut, sell (a new action needs a "
            "whole table with its when and at least one of lines, stop or cost)",
        ),
    ],
)
def test_set_mistakes_are_one_line(tmp_path, argv, message):
    path = write(FULL, tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, sets=sets(*argv))
    assert str(info.value) == message


def test_set_may_add_a_whole_action_or_credit_line(tmp_path):
    path = write(FULL, tmp_path)
    s = load_scenario(path, sets=sets('actions.new={when="cash < 5", cost=1}'))
    assert [a.name for a in s.actions] == ["cut", "sell", "new"]
    s = load_scenario(path, sets=sets("credit.bank={limit=3, interest=0.1}"))
    assert [c.name for c in s.credit] == ["revolver", "overdraft", "bank"]
    with pytest.raises(ScenarioError, match="unknown credit line 'bank'"):
        load_scenario(path, sets=sets("credit.bank={limit=3}"))
