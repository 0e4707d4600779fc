"""Draws shared between the scenarios of one batch (cashflow.draws.Shared, used by compare):
each scenario's draws are exactly what it draws alone, and a variant does take what it shares
with the base instead of drawing it again."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from cashflow.draws import Draws, Shared, draw_batch
from cashflow.parse import load_scenario
from distributions.seeding import batch_seed
from engine.compare import lever_switches

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = {
    "openai_2024": ["no_raise", "unmanaged", "compute_plus_30"],
    "saas_startup": ["no_extension", "late_launch"],
}


def _same(a: Draws, b: Draws) -> None:
    assert a.n == b.n
    for got, expected in ((a.inputs, b.inputs), (a.noise, b.noise)):
        assert got.keys() == expected.keys()
        for key in expected:
            assert got[key].dtype == expected[key].dtype, key
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key, strict=True)


def _scenarios(name: str):
    path = ROOT / "scenarios" / f"{name}.toml"
    base = load_scenario(path)
    variants = [load_scenario(path, variant=v) for v in FILES[name]]
    levers = [load_scenario(path, sets=[sets]) for _, _, sets in lever_switches(base)]
    return base, [*variants, *levers]


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_shared_draws_are_the_draws_of_each_scenario_alone(name, sampler):
    base, others = _scenarios(name)
    seed = batch_seed(2024, 3)
    shared = Shared()
    first = draw_batch(base, 400, seed, sampler, shared)
    _same(first, draw_batch(base, 400, seed, sampler))
    reused = 0
    for scenario in others:
        got = draw_batch(scenario, 400, seed, sampler, shared)
        _same(got, draw_batch(scenario, 400, seed, sampler))
        reused += sum(got.noise[k] is first.noise.get(k) for k in got.noise)
        reused += sum(got.inputs[k] is first.inputs.get(k) for k in got.inputs)
    assert reused > 0  # the variants took the base's arrays, not copies drawn again


def test_a_changed_input_is_drawn_again():
    path = ROOT / "scenarios" / "openai_2024.toml"
    base = load_scenario(path)
    uniform = {"dist": "uniform", "low": 1.0, "high": 2.0}
    changed = load_scenario(path, sets=[("starting_cash", uniform)])
    seed = batch_seed(7, 0)
    shared = Shared()
    a = draw_batch(base, 300, seed, "mc", shared)
    b = draw_batch(changed, 300, seed, "mc", shared)
    assert b.inputs["starting_cash"].max() <= 2.0 < a.inputs["starting_cash"].max()
    assert b.inputs["staff.start"] is a.inputs["staff.start"]  # unchanged: shared
