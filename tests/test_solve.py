"""Goal seek (engine/solve.py): exact answers on deterministic scenarios, the target met within
its CI on a stochastic one, a target out of reach, and one-line errors for bad arguments."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from distributions.errors import UsageError
from engine.solve import Target, parse_target, solve

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "scenarios" / "bench_runway.toml"

# A deterministic company: start 2025-01, fixed revenue, a cost line growing 1% a month, one
# sure raise. "Runs out before 2026-01-01" means cash[t] < floor for some t < 12.
START_CASH = 12.283
FLOOR = 0.25
REVENUE = 1.0
COST = 2.5
GROWTH = 0.01
STAFF = 0.4
RAISE_MONTH = 5  # 2025-06
QUESTION_MONTHS = 12


def deterministic_toml(amount: float = 9.0, month: str = "2025-06") -> str:
    return f"""
name = "det"
unit = "USD million"
start = "2025-01"
horizon_months = 24
starting_cash = {START_CASH}
floor = {FLOOR}
questions = ["2026-01-01"]

[lines.revenue]
kind = "revenue"
start = {REVENUE}

[lines.compute]
kind = "cost"
start = {COST}
growth = {GROWTH}

[lines.staff]
kind = "cost"
start = {STAFF}

[events.raise]
kind = "funding"
probability = 1
amount = {amount}
month = "{month}"
"""


def net(t: int, staff_scale: float = 1.0) -> float:
    """Revenue minus costs in month t (no raise)."""
    return REVENUE - COST * (1 + GROWTH) ** t - STAFF * staff_scale


def cash_without_raise(t: int, staff_scale: float = 1.0) -> float:
    return START_CASH + sum(net(u, staff_scale) for u in range(t + 1))


@pytest.fixture
def det_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "det.toml"
    path.write_text(deterministic_toml())
    return path


def test_deterministic_amount_exact_to_the_cent(det_file: pathlib.Path) -> None:
    # Cash stays above the floor before the raise; after it, the lowest balance before
    # 2026-01-01 is at month 11 (the burn grows every month): amount + cash[11] >= floor.
    assert all(cash_without_raise(t) >= FLOOR for t in range(RAISE_MONTH))
    exact = FLOOR - cash_without_raise(QUESTION_MONTHS - 1)
    assert abs(exact * 100 - round(exact * 100)) > 0.1  # not a round number of cents
    sol = solve(det_file, "before 2026-01-01 <= 0%", "events.raise.amount", paths=1000, seed=3)
    assert sol.met and sol.deterministic
    assert sol.direction == "smallest"
    assert abs(sol.answer - exact) <= 0.005
    assert sol.answer >= exact - 1e-9  # the answer meets the target
    assert sol.probability == 0.0 and sol.ci95 == (0.0, 0.0)
    assert sol.interval == (sol.answer, sol.answer)
    assert sol.message.startswith("Raise at least ")
    assert "(USD million) in events.raise.amount" in sol.message
    assert "\n" not in sol.message
    assert sol.as_dict()["answer"] == sol.answer


def test_deterministic_latest_month_exact(tmp_path: pathlib.Path) -> None:
    # With a large enough raise, it must arrive by the month cash would first fall below the
    # floor without it; any later month leaves that month's balance under the floor.
    path = tmp_path / "det.toml"
    path.write_text(deterministic_toml(amount=40.0, month="2025-02"))
    first_short = next(t for t in range(QUESTION_MONTHS) if cash_without_raise(t) < FLOOR)
    latest = f"2025-{first_short + 1:02d}"
    sol = solve(path, "before 2026-01-01 <= 0%", "events.raise.month", paths=1000, seed=3)
    assert sol.met and sol.direction == "latest"
    assert sol.answer == latest
    assert sol.interval == (latest, latest)
    assert sol.message.startswith(f"events.raise.month can be as late as {latest}")
    # The answer is the last one that meets: one month later does not.
    later = f"2025-{first_short + 2:02d}"
    path.write_text(deterministic_toml(amount=40.0, month=later))
    one_later = solve(
        path, "before 2026-01-01 <= 0%", "events.raise.amount", range_=(40, 41), paths=10
    )
    assert not one_later.met


def test_deterministic_largest_staff_scale_exact(det_file: pathlib.Path) -> None:
    # cash[t] = S + sum_{u<=t} (R - C_u - s * STAFF) + raise (from its month) >= floor for
    # every t < 12: s <= (S + raise_t + sum(R - C_u) - floor) / ((t + 1) * STAFF).
    amount = 9.0

    def bound(t: int) -> float:
        funds = START_CASH + (amount if t >= RAISE_MONTH else 0.0)
        flows = sum(REVENUE - COST * (1 + GROWTH) ** u for u in range(t + 1))
        return (funds + flows - FLOOR) / ((t + 1) * STAFF)

    exact = min(bound(t) for t in range(QUESTION_MONTHS))
    assert exact > 0
    sol = solve(det_file, "before 2026-01-01 <= 0%", "lines.staff.scale", paths=1000, seed=1)
    assert sol.met and sol.direction == "largest"
    assert abs(sol.answer - exact) <= 0.005
    assert sol.answer <= exact + 1e-9
    assert sol.message.startswith("Set lines.staff.scale to at most ")


def test_stochastic_target_met_within_ci() -> None:
    target = "before 2026-01-01 <= 50%"
    kw = {"paths": 50_000, "seed": 11}
    sol = solve(BENCH, target, "events.raise.amount", **kw)
    assert sol.met and not sol.deterministic and sol.direction == "smallest"
    level = 0.5
    assert sol.probability <= level  # the answer meets the target
    assert sol.ci95[0] <= level <= sol.ci95[1] + 1e-12  # ... within its CI
    low, high = sol.interval
    assert low <= sol.answer <= high and high > low
    assert sol.seed == 11 and sol.paths == 50_000 and sol.evaluations >= 3
    assert "Monte Carlo uncertainty of the amount" in sol.message
    assert "seed 11" in sol.message
    # Below the answer by the interval's width the target is not met (common random numbers).
    below = sol.answer - (high - low)
    check = solve(BENCH, target, "events.raise.amount", range_=(below, below + 1e-3), **kw)
    assert check.probability > level


def test_answer_identical_whatever_the_jobs() -> None:
    """Evaluations of a few chunks run on threads too (nothing to start): same answer, same
    evaluations, bit for bit."""
    kw = {"paths": 140_000, "seed": 5, "range_": (8.0, 11.0)}  # 2 chunks per evaluation
    one = solve(BENCH, "before 2026-01-01 <= 50%", "events.raise.amount", jobs=1, **kw)
    two = solve(BENCH, "before 2026-01-01 <= 50%", "events.raise.amount", jobs=2, **kw)
    assert (one.answer, one.probability, one.interval, one.evaluations) == (
        two.answer,
        two.probability,
        two.interval,
        two.evaluations,
    )


def test_out_of_reach() -> None:
    sol = solve(
        BENCH,
        "before 2025-01-01 <= 0%",
        "events.raise.amount",
        range_=(0, 1),
        paths=20_000,
        seed=2,
    )
    assert not sol.met and sol.answer is None and sol.interval is None
    assert "cannot be met inside the range [0, 1]" in sol.message
    assert "at best P = " in sol.message
    assert sol.probability > 0 and sol.evaluations == 2


def test_whole_range_meets(det_file: pathlib.Path) -> None:
    sol = solve(
        det_file, "before 2026-01-01 <= 0%", "events.raise.amount", range_=(20, 30), paths=10
    )
    assert sol.met and sol.answer == 20.0 and sol.direction == "smallest"
    assert "Every value of events.raise.amount in the range [20, 30] meets" in sol.message


def test_fresh_seed_reported(det_file: pathlib.Path) -> None:
    sol = solve(det_file, "before 2026-01-01 <= 0%", "events.raise.amount", paths=10)
    assert isinstance(sol.seed, int) and sol.seed > 0


@pytest.mark.parametrize(
    ("text", "op", "level"),
    [
        ("before 2026-01-01 <= 5%", "<=", 0.05),
        ("before 2026-01-01 < 5%", "<", 0.05),
        ("before 2026-01-01 <= 0.05", "<=", 0.05),
        ("  before 2026-01-01<=5 % ", "<=", 0.05),
        ("before 2026-01-01 >= 90%", ">=", 0.9),
        ("Before 2026-01-01 > 0.9", ">", 0.9),
        ("before 2026-01-01 ≤ 0%", "<=", 0.0),
    ],
)
def test_parse_target(text: str, op: str, level: float) -> None:
    target = parse_target(text)
    assert target == Target(dt.date(2026, 1, 1), op, pytest.approx(level))
    assert parse_target(target) is target


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-01-01 <= 5%",
        "before 2026-13-01 <= 5%",
        "before 2026-01-01 == 5%",
        "before 2026-01-01 <= five%",
        "before 2026-01-01 <= 5",
        "before 2026-01-01 <= 150%",
        "before 2026-01-01 <= nan",
    ],
)
def test_parse_target_bad(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_target(text)
    assert len(str(info.value).splitlines()) == 1
    assert info.value.param == "target" and str(info.value).startswith("target")
    assert "--" not in str(info.value)  # the library's words: no command-line flag


def test_target_outside_horizon(det_file: pathlib.Path) -> None:
    outside = r"^target: 2030-01-01 is outside the simulated horizon"
    with pytest.raises(UsageError, match=outside) as info:
        solve(det_file, "before 2030-01-01 <= 5%", "events.raise.amount", paths=10)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize(
    ("vary", "expect"),
    [
        ("events.raise.amuont", "did you mean 'events.raise.amount'?"),
        ("events.rase.amount", "did you mean 'events.raise.amount'?"),
        ("starting_cash", "is a distribution (normal)"),
        ("events.raise.month", "is a distribution (discrete)"),
        ("lines.revenue", "is a table"),
        ("horizon_months", "cannot be varied"),
        ("name", "not a number"),
    ],
)
def test_vary_bad_key(vary: str, expect: str) -> None:
    with pytest.raises(UsageError) as info:
        solve(BENCH, "before 2026-01-01 <= 50%", vary, paths=100, seed=1)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and info.value.param == "vary"
    assert text.startswith(f"{BENCH}: vary {vary}: ") and expect in text


def test_bad_range(det_file: pathlib.Path) -> None:
    for vary, bad in (("events.raise.amount", (5, 1)), ("events.raise.month", (0, 3))):
        with pytest.raises(UsageError, match=r"^range_ for ") as info:
            solve(det_file, "before 2026-01-01 <= 0%", vary, range_=bad, paths=10)
        assert len(str(info.value).splitlines()) == 1


def test_invalid_value_inside_range(det_file: pathlib.Path) -> None:
    with pytest.raises(UsageError, match="not valid there") as info:
        solve(det_file, "before 2026-01-01 <= 0%", "lines.staff.scale", range_=(-1, 2), paths=10)
    assert len(str(info.value).splitlines()) == 1


def test_a_step_on_some_paths_only_is_not_deterministic(tmp_path: pathlib.Path) -> None:
    """Every input fixed, but a hiring step that happens with probability 0.5: the paths
    differ, so the goal seek must not treat the chance as exactly 0 or 1."""
    import engine.solve as solve_module
    from cashflow.parse import load_scenario

    text = """
name = "steps"
unit = "USD million"
start = "2025-01"
horizon_months = 12
starting_cash = 10

[lines.staff]
kind = "cost"
start = 1.0
steps = [ { month = "2025-04", add = 0.5, probability = {p} } ]
"""
    for p, fixed in (("0.5", False), ("1.0", True), ("0.0", True)):
        path = tmp_path / f"steps{p}.toml"
        path.write_text(text.replace("{p}", p), encoding="utf-8")
        assert solve_module._deterministic(load_scenario(path)) is fixed, p
