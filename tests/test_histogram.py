"""Tests of engine.histogram: accuracy against the Monte Carlo error, merge order, grid edges.

Histograms are combined as the engine combines them: ``Histograms.merge_all`` over a chunk's
batches (engine/batch.py), then ``pack()`` and ``add`` into the run's accumulator
(engine/state.py), always in batch order.

The accuracy yardstick is the Monte Carlo standard error of the sample statistic itself: the
histogram answer must differ from the exact answer on the same draws (``np.quantile``, the exact
mean of the worst 5 %) by less than a tenth of it, so binning adds under 0.5 % to a confidence
interval's width. Run this file as a script for the error study behind ``DEFAULT_BINS`` (error /
SE over bins and seeds, at 2M and 10M paths) and the timing of ``Histograms.of``.
"""

from __future__ import annotations

import pickle
import sys
import warnings

import numpy as np
import pytest
from scipy import stats

from distributions.errors import RunwayWarning, SimulationError
from engine.histogram import DEFAULT_BINS, Grid, Histograms, Packed, make_grid

BATCH = 65_536
N_BATCHES = 30  # 1,966,080 paths; 5 % of them is a whole number (98,304)
SEED = 20_240_917
Q = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
NAMES = ("normal", "lognormal", "bimodal")
TAIL = 0.95


def _draw(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3): N(0, 1); lognormal with sigma = 1 (skewed); 0.6 N(0, 1) + 0.4 N(4, 0.5^2)."""
    z = rng.standard_normal((n, 3))
    first = rng.random(n) < 0.6
    return np.column_stack([z[:, 0], np.exp(z[:, 1]), np.where(first, z[:, 2], 4 + 0.5 * z[:, 2])])


def _pdf(x: np.ndarray) -> np.ndarray:
    """(3, m) true densities of the three columns of :func:`_draw` at x (3, m)."""
    bimodal = 0.6 * stats.norm.pdf(x[2]) + 0.4 * stats.norm.pdf(x[2], 4, 0.5)
    return np.stack([stats.norm.pdf(x[0]), stats.lognorm.pdf(x[1], 1.0), bimodal])


def _batches(seed: int, n_batches: int) -> list[np.ndarray]:
    children = np.random.SeedSequence(seed).spawn(n_batches)
    return [_draw(np.random.default_rng(c), BATCH) for c in children]


def _histogram(batches: list[np.ndarray], bins: int) -> Histograms:
    """The engine's flow: grid from batch 0, then every batch (0 included) in batch order,
    packed and added into the accumulator."""
    grid = make_grid(batches[0], bins)
    total = Histograms.empty(grid)
    for values in batches:
        total.add(Histograms.of(grid, values).pack())
    return total


def _edges(grid: Grid, j: int) -> np.ndarray:
    """(bins + 1,) bin edges of quantity j, ``lo`` to ``hi``."""
    return grid.lo[j] + np.arange(grid.bins + 1) * grid.width[j]


def error_ratios(hist: Histograms, values: np.ndarray) -> np.ndarray:
    """(3, len(Q) + 1) |histogram - exact| / MC standard error: quantiles Q, then CVaR 95 %.

    SE of the q-quantile: sqrt(q (1 - q) / n) / pdf(x_q); SE of the tail mean: sd of the tail
    / sqrt(tail size).
    """
    n = len(values)
    exact = np.quantile(values, Q, axis=0).T  # (3, len(Q))
    se = np.sqrt(Q * (1 - Q) / n) / _pdf(exact)
    m = round(n * (1 - TAIL))
    tail = np.partition(values, n - m, axis=0)[n - m :]
    tail_se = tail.std(axis=0, ddof=1) / np.sqrt(m)
    q_ratio = np.abs(hist.quantile(Q) - exact) / se
    tail_ratio = np.abs(hist.tail_mean(TAIL) - tail.mean(axis=0)) / tail_se
    return np.column_stack([q_ratio, tail_ratio])


@pytest.fixture(scope="module")
def study() -> tuple[Histograms, np.ndarray, list[np.ndarray]]:
    batches = _batches(SEED, N_BATCHES)
    return _histogram(batches, DEFAULT_BINS), np.concatenate(batches), batches


# ---- accuracy ------------------------------------------------------------------------------


def test_quantiles_and_tail_mean_well_below_monte_carlo_error(study):
    hist, values, _ = study
    ratios = error_ratios(hist, values)
    table = "\n".join(
        f"{name:9s} " + " ".join(f"{r:.3f}" for r in row)
        for name, row in zip(NAMES, ratios, strict=True)
    )
    assert (ratios < 0.1).all(), f"error / SE (q = {Q.tolist()}, CVaR {TAIL}):\n{table}"


def test_mean_is_exact(study):
    hist, values, _ = study
    scale = np.abs(values).mean(axis=0)
    np.testing.assert_array_less(np.abs(hist.mean() - values.mean(axis=0)), 1e-12 * scale)


def test_extremes_are_exact(study):
    hist, values, _ = study
    np.testing.assert_array_equal(hist.quantile(0.0), values.min(axis=0))
    np.testing.assert_array_equal(hist.quantile(1.0), values.max(axis=0))
    np.testing.assert_array_equal(hist.tail_mean(1.0), values.max(axis=0))
    np.testing.assert_allclose(hist.tail_mean(0.0), values.mean(axis=0), rtol=1e-12, atol=1e-12)


def test_quantiles_are_monotone_and_hold_their_share_of_the_paths(study):
    """On the probability scale: the share of the paths at or below the histogram's q-quantile
    is q to within a tenth of its binomial standard error sqrt(q (1 - q) / n)."""
    hist, values, _ = study
    levels = np.linspace(0.0, 1.0, 1001)
    assert (np.diff(hist.quantile(levels), axis=1) >= 0).all()
    x = hist.quantile(Q)  # (3, len(Q))
    share = np.array([(v[:, None] <= xj).mean(axis=0) for v, xj in zip(values.T, x, strict=True)])
    se = np.sqrt(Q * (1 - Q) / hist.n)
    np.testing.assert_array_less(np.abs(share - Q), np.broadcast_to(0.1 * se, share.shape))


def test_counts_and_sums_match_a_slow_reference():
    rng = np.random.default_rng(3)
    grid = make_grid(rng.standard_normal((1000, 3)), 64)
    values = rng.standard_normal((5000, 3)) * [1.0, 3.0, 10.0]  # columns 1 and 2 spill over
    hist = Histograms.of(grid, values)
    for j in range(3):
        index = np.searchsorted(_edges(grid, j), values[:, j], side="right")
        counts = np.bincount(index, minlength=grid.bins + 2)
        sums = np.zeros(grid.bins + 2)
        np.add.at(sums, index, values[:, j])  # unbuffered, in path order
        np.testing.assert_array_equal(hist.counts[j], counts)
        assert hist.sums[j].tobytes() == sums.tobytes()
    fortran = Histograms.of(grid, np.asfortranarray(values))  # the by-quantity fast path
    assert fortran.counts.tobytes() == hist.counts.tobytes()
    assert fortran.sums.tobytes() == hist.sums.tobytes()


# ---- merge order ---------------------------------------------------------------------------


def _same_bits(a: Histograms, b: Histograms) -> bool:
    arrays = ("counts", "sums", "minimum", "maximum")
    same = all(getattr(a, x).tobytes() == getattr(b, x).tobytes() for x in arrays)
    return same and a.n == b.n and a.grid == b.grid


@pytest.mark.parametrize("workers", [2, 3, 7])
def test_merging_in_batch_order_is_bit_identical_whatever_the_workers(study, workers):
    _, _, batches = study
    batches = batches[:12]
    grid = make_grid(batches[0], DEFAULT_BINS)
    serial = Histograms.merge_all(grid, (Histograms.of(grid, b) for b in batches))
    # Worker w builds batches w, w + workers, ... (last first) and ships each one, packed, or
    # whole; results arrive in any order, and the reducer adds them in batch order.
    done: dict[int, Histograms] = {}
    shipped: dict[int, Packed] = {}
    for w in reversed(range(workers)):
        for i in reversed(range(w, len(batches), workers)):
            hist = Histograms.of(grid, batches[i])
            done[i] = pickle.loads(pickle.dumps(hist))
            shipped[i] = pickle.loads(pickle.dumps(hist.pack()))
    accumulator = Histograms.empty(grid)
    for i in range(len(batches)):
        accumulator.add(shipped[i])
    assert _same_bits(accumulator, serial)
    assert _same_bits(Histograms.merge_all(grid, (done[i] for i in range(len(batches)))), serial)


def test_merge_in_another_order_changes_only_float_rounding(study):
    _, _, batches = study
    grid = make_grid(batches[0], 2**10)
    parts = [Histograms.of(grid, b) for b in batches[:8]]
    forward = Histograms.merge_all(grid, parts)
    backward = Histograms.merge_all(grid, parts[::-1])
    whole = Histograms.of(grid, np.concatenate(batches[:8]))
    for other in (backward, whole):
        np.testing.assert_array_equal(other.counts, forward.counts)
        np.testing.assert_allclose(other.sums, forward.sums, rtol=1e-12, atol=1e-12)


def test_merge_rejects_another_grid():
    grid = Grid(np.zeros(2), np.ones(2), 16)
    other = Histograms.empty(Grid(np.zeros(2), np.full(2, 2.0), 16))
    same = Histograms.empty(Grid(np.zeros(2), np.ones(2), 16))  # equal, not the same object
    assert Histograms.merge_all(grid, [same]).n == 0
    with pytest.raises(ValueError, match="different grid"):
        Histograms.merge_all(grid, [same, other])


def test_packed_batches_add_up_bit_identically_to_merge_all():
    rng = np.random.default_rng(42)
    batches = [np.column_stack([rng.normal(size=5000), rng.lognormal(size=5000)]) for _ in range(4)]
    grid = make_grid(batches[0][:500], 2**12)
    merged = Histograms.merge_all(grid, (Histograms.of(grid, b) for b in batches))
    added = Histograms.empty(grid)
    for b in batches:
        packed = pickle.loads(pickle.dumps(Histograms.of(grid, b).pack()))
        added.add(packed)
    assert added.n == merged.n
    np.testing.assert_array_equal(added.counts, merged.counts)
    assert added.sums.tobytes() == merged.sums.tobytes()
    np.testing.assert_array_equal(added.minimum, merged.minimum)
    np.testing.assert_array_equal(added.maximum, merged.maximum)
    # packing ships far less than the dense arrays
    assert Histograms.of(grid, batches[0]).pack().counts.nbytes < merged.counts.nbytes


# ---- grid edges ----------------------------------------------------------------------------


def test_values_beyond_the_grid_go_to_the_outer_bins():
    rng = np.random.default_rng(11)
    grid = make_grid(rng.standard_normal((BATCH, 1)), 2**12)  # about [-13, 13]
    x = rng.standard_normal(100_000)
    x[:3000] = 50 + rng.exponential(10, 3000)  # 3 % above hi
    x[3000:5000] = -40 - rng.exponential(10, 2000)  # 2 % below lo
    hist = Histograms.of(grid, x[:, None])
    assert hist.counts[0, -1] == 3000 and hist.counts[0, 0] == 2000
    np.testing.assert_allclose(hist.sums[0, [0, -1]], [x[3000:5000].sum(), x[:3000].sum()])
    inside = np.sort(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for quantiles on the grid, nor for 0 and 1
        median = hist.quantile(0.5)[0]
        extremes = hist.quantile([0.0, 1.0])[0]
    se = np.sqrt(0.25 / len(x)) / (stats.norm.pdf(0) * 0.95)  # 95 % of the paths are N(0, 1)
    assert abs(median - np.quantile(inside, 0.5)) < 0.1 * se
    np.testing.assert_array_equal(extremes, [x.min(), x.max()])
    with pytest.warns(RunwayWarning, match="outside the histogram grid"):
        high = hist.quantile(0.99)[0]
    assert grid.hi[0] <= high <= x.max()
    with pytest.warns(RunwayWarning, match="outside the histogram grid"):
        low = hist.quantile(0.01)[0]
    assert x.min() <= low <= grid.lo[0]
    # The worst 3 % is exactly the overflow bin, whose sum is exact.
    np.testing.assert_allclose(hist.tail_mean(0.97)[0], x[:3000].mean(), rtol=1e-12)


def test_constant_quantity_is_exact():
    values = np.column_stack([np.full(1000, 2.5e9), np.linspace(-1, 1, 1000)])
    grid = make_grid(values, 2**10)
    assert grid.lo[0] == pytest.approx(2.5e9 - 2.5e6) and grid.hi[0] == pytest.approx(2.5e9 + 2.5e6)
    hist = Histograms.of(grid, values)
    np.testing.assert_array_equal(hist.quantile(Q)[0], 2.5e9)
    assert hist.mean()[0] == 2.5e9 and hist.tail_mean(0.9)[0] == pytest.approx(2.5e9, rel=1e-15)


def test_make_grid_ignores_non_finite_pilot_values():
    pilot = np.array([[1.0, np.nan], [3.0, np.inf], [np.nan, -np.inf], [-np.inf, np.nan]])
    grid = make_grid(pilot, 8)
    np.testing.assert_array_equal(grid.lo, [-1.0, -1e-3])
    np.testing.assert_array_equal(grid.hi, [5.0, 1e-3])


def test_non_finite_values_raise():
    grid = make_grid(np.zeros((4, 2)), 8)
    with pytest.raises(SimulationError, match="NaN or infinite"):
        Histograms.of(grid, np.array([[0.0, 0.0], [np.nan, 0.0]]))


@pytest.mark.parametrize("q", [-0.1, 1.5, np.nan])
def test_quantile_level_outside_0_1_raises(study, q):
    hist = study[0]
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        hist.quantile(q)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        hist.tail_mean(q)


# ---- memory --------------------------------------------------------------------------------


def _nbytes(h: Histograms) -> int:
    """Memory held by the arrays of ``h`` and of its grid."""
    arrays = (h.counts, h.sums, h.minimum, h.maximum, h.grid.lo, h.grid.hi)
    return sum(a.nbytes for a in arrays)


def test_size_is_independent_of_the_number_of_paths():
    rng = np.random.default_rng(5)
    grid = make_grid(rng.standard_normal((BATCH, 4)), 2**12)
    small = Histograms.of(grid, rng.standard_normal((100, 4)))
    large = Histograms.empty(grid)  # the run's accumulator, as engine/state.py keeps it
    for _ in range(8):
        large.add(Histograms.of(grid, rng.standard_normal((BATCH, 4))).pack())
    assert large.n == 8 * BATCH  # 524,288 paths
    expected = 4 * (2**12 + 2) * 16 + 4 * 4 * 8  # counts + sums, then min, max, lo, hi
    assert _nbytes(small) == _nbytes(large) == expected
    assert abs(len(pickle.dumps(small)) - len(pickle.dumps(large))) < 64


# ---- the study behind DEFAULT_BINS and the timing (python tests/test_histogram.py) ---------


def _study(seeds: list[int], n_batches: int, bins_list: list[int]) -> None:
    """Print RMS and max over seeds of error / SE per distribution, quantile and CVaR."""
    ratios: dict[int, list[np.ndarray]] = {b: [] for b in bins_list}
    for seed in seeds:
        batches = _batches(seed, n_batches)
        values = np.concatenate(batches)
        for bins in bins_list:
            ratios[bins].append(error_ratios(_histogram(batches, bins), values))
        del values
    print(f"n = {n_batches * BATCH:,}, seeds {seeds}; columns q = {Q.tolist()}, CVaR {TAIL}")
    for bins, rs in ratios.items():
        arr = np.array(rs)
        rms, worst = np.sqrt((arr**2).mean(axis=0)), arr.max(axis=0)
        print(f"bins = 2**{int(np.log2(bins))}")
        for name, r, w in zip(NAMES, rms, worst, strict=True):
            print(f"  {name:9s} rms " + " ".join(f"{v:.3f}" for v in r), end="")
            print("  | max " + " ".join(f"{v:.3f}" for v in w))


def _timing() -> None:
    """CPU time (process_time: robust to other processes on the machine) of Histograms.of."""
    import time
    import timeit

    rng = np.random.default_rng(0)
    values = rng.standard_normal((BATCH, 40)) * rng.uniform(1, 1e9, 40)
    for bins in (2**14, 2**16):
        grid = make_grid(values, bins)
        for name, v in (("C", values), ("F", np.asfortranarray(values))):
            timer = timeit.Timer(lambda v=v, g=grid: Histograms.of(g, v), timer=time.process_time)
            t = min(timer.repeat(number=5, repeat=15)) / 5
            print(
                f"Histograms.of n={BATCH} k=40 bins=2**{int(np.log2(bins))} {name}-order: "
                f"{t * 1e3:.1f} ms CPU"
            )


if __name__ == "__main__":
    if "--timing" in sys.argv:
        _timing()
    else:
        _study(list(range(1, 9)), N_BATCHES, [2**b for b in range(12, 18)])
        _study([11, 12], 153, [2**b for b in range(13, 18)])  # n = 10,027,008
