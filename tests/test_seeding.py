"""Seed handling: batch seeds are spawn children, named streams are stable and independent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from distributions.seeding import batch_seed, fresh_entropy, stable_key, stream

ENTROPY = 20240901


def test_fresh_entropy_is_a_large_int_and_new_each_time():
    a, b = fresh_entropy(), fresh_entropy()
    assert isinstance(a, int)
    assert a.bit_length() > 64
    assert a != b


@pytest.mark.parametrize("batch", [0, 1, 7, 31])
def test_batch_seed_is_the_spawned_child(batch):
    child = np.random.SeedSequence(ENTROPY).spawn(batch + 1)[batch]
    seed = batch_seed(ENTROPY, batch)
    assert seed.spawn_key == child.spawn_key == (batch,)
    np.testing.assert_array_equal(seed.generate_state(8), child.generate_state(8))
    a = np.random.default_rng(seed).random(5)
    b = np.random.default_rng(child).random(5)
    np.testing.assert_array_equal(a, b)


def test_batch_seed_rejects_negative_index():
    with pytest.raises(ValueError, match="batch index must be >= 0"):
        batch_seed(ENTROPY, -1)


def test_stream_is_reproducible_and_leaves_the_seed_untouched():
    seed = batch_seed(ENTROPY, 3)
    a = stream(seed, "revenue.start").random(100)
    b = stream(seed, "revenue.start").random(100)
    c = stream(batch_seed(ENTROPY, 3), "revenue.start").random(100)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert seed.n_children_spawned == 0


def test_streams_differ_by_name_batch_and_entropy():
    names = ["revenue.start", "revenue.growth", "compute.ratio", "starting_cash"]
    draws = [stream(batch_seed(ENTROPY, 0), name).random(50) for name in names]
    draws.append(stream(batch_seed(ENTROPY, 1), names[0]).random(50))
    draws.append(stream(batch_seed(ENTROPY + 1, 0), names[0]).random(50))
    for i in range(len(draws)):
        for j in range(i + 1, len(draws)):
            assert not np.any(draws[i] == draws[j])


def test_stream_is_an_independent_sfc64():
    g = stream(batch_seed(ENTROPY, 0), "x")
    assert isinstance(g.bit_generator, np.random.SFC64)
    # Adding an input does not change another input's draws (common random numbers): the
    # stream of "x" depends only on (entropy, batch, "x"), shown by building it in isolation.
    seed = np.random.SeedSequence(ENTROPY, spawn_key=(0, stable_key("x")))
    expected = np.random.Generator(np.random.SFC64(seed)).random(10)
    np.testing.assert_array_equal(g.random(10), expected)


def test_stable_key_literal():
    # Computed once with: int(hashlib.sha256(b"revenue.start").hexdigest()[:8], 16)
    assert stable_key("revenue.start") == 2154330052
    # int(hashlib.sha256(b"").hexdigest()[:8], 16)
    assert stable_key("") == 3820012610
    assert 0 <= stable_key("compute.ratio") < 2**32


def test_stream_is_stable_across_python_processes():
    # Salted str hashing differs per process; the stream must not.
    code = (
        "from distributions.seeding import batch_seed, stream;"
        "print(stream(batch_seed(12345, 0), 'revenue.start').bit_generator.random_raw())"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": "random", "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=root
    )
    here = stream(batch_seed(12345, 0), "revenue.start").bit_generator.random_raw()
    assert int(out.stdout) == here
    # Literal from numpy alone: SFC64(SeedSequence(12345, spawn_key=(0, stable_key))) first
    # raw output (numpy's bit generators and SeedSequence are stable by policy). Runway 0.1
    # used PCG64: 5200726006331200254.
    assert here == 13304253661519893874
