"""Correlation: target validation and repair, Higham's nearest correlation, Iman-Conover."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from distributions.correlation import (
    check_matrix,
    iman_conover,
    nearest_correlation,
    spearman_to_normal,
)
from distributions.errors import RunwayWarning, ScenarioError

NAMES4 = ["revenue.start", "revenue.growth", "compute.ratio", "staff.start"]
# Mixed signs, positive definite (smallest eigenvalue 0.254).
TARGET4 = np.array(
    [
        [1.0, 0.7, -0.4, 0.3],
        [0.7, 1.0, -0.2, 0.1],
        [-0.4, -0.2, 1.0, -0.3],
        [0.3, 0.1, -0.3, 1.0],
    ]
)
# a~b and b~c strongly positive but a~c strongly negative: impossible (eigenvalue -0.8).
CONTRADICTORY = [
    [1.0, 0.9, -0.9, 0.0],
    [0.9, 1.0, 0.9, 0.0],
    [-0.9, 0.9, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
]


# --- spearman_to_normal -------------------------------------------------------------------


def test_spearman_to_normal_inverts_the_bivariate_normal_closed_form():
    # For a bivariate normal with Pearson r, Spearman's rho = (6 / pi) asin(r / 2).
    r = np.linspace(-1.0, 1.0, 41)
    rho_s = 6.0 / np.pi * np.arcsin(r / 2.0)
    np.testing.assert_allclose(spearman_to_normal(rho_s), r, atol=1e-15)
    np.testing.assert_array_equal(spearman_to_normal(np.eye(3)), np.eye(3))


def test_spearman_to_normal_by_simulation():
    # Independent check: normals with Pearson spearman_to_normal(0.5) have Spearman 0.5.
    # SE of Spearman at n = 200_000 is about (1 - rho**2) / sqrt(n) < 0.002; allow 5 SE.
    r = spearman_to_normal(0.5)
    z = np.random.default_rng(3).multivariate_normal([0, 0], [[1, r], [r, 1]], size=200_000)
    assert abs(stats.spearmanr(z).statistic - 0.5) < 0.01


# --- check_matrix -------------------------------------------------------------------------


def test_valid_matrix_is_returned_symmetric_with_unit_diagonal():
    m = TARGET4.copy()
    m[0, 1] += 1e-12  # within the symmetry tolerance
    out = check_matrix(NAMES4, m.tolist())
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, out.T)
    np.testing.assert_array_equal(np.diag(out), 1.0)
    np.testing.assert_allclose(out, TARGET4, atol=1e-11)


def test_singular_psd_matrix_is_accepted():
    out = check_matrix(["a", "b"], [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(out, np.ones((2, 2)))


def test_empty_matrix():
    assert check_matrix([], []).shape == (0, 0)


@pytest.mark.parametrize(
    ("names", "matrix", "message"),
    [
        (
            ["revenue.start", "compute.ratio"],
            [[1, 1.3], [1.3, 1]],
            r"^correlations: correlation between 'revenue.start' and 'compute.ratio' is 1.3; "
            r"must be in \[-1, 1\]$",
        ),
        (
            ["a", "b"],
            [[1, -1.5], [-1.5, 1]],
            r"correlation between 'a' and 'b' is -1.5; must be in \[-1, 1\]",
        ),
        (
            ["a", "b"],
            [[1, 0.3], [0.2, 1]],
            r"^correlations: matrix is not symmetric: \('a', 'b'\) = 0.3 but \('b', 'a'\) = 0.2$",
        ),
        (
            ["a", "b"],
            [[0.9, 0.3], [0.3, 1]],
            r"^correlations: diagonal entry of 'a' is 0.9; must be 1$",
        ),
        (
            ["a", "b"],
            [[1, float("nan")], [float("nan"), 1]],
            r"^correlations: correlation between 'a' and 'b' is nan; must be a finite number$",
        ),
        (
            ["a", "b"],
            [[1, 0.3]],
            r"^correlations: matrix must be 2 x 2 for 2 inputs, got 1 x 2$",
        ),
        (
            ["a", "b", "c"],
            np.eye(2),
            r"^correlations: matrix must be 3 x 3 for 3 inputs, got 2 x 2$",
        ),
        (
            ["a", "b"],
            [[1, 0.3], [0.3]],
            r"^correlations: matrix must be a 2 x 2 table of numbers \(one row per input\)$",
        ),
        (
            ["a", "b"],
            [[1, "x"], [0.3, 1]],
            r"^correlations: matrix must be a 2 x 2 table of numbers",
        ),
        (
            ["a", "a"],
            np.eye(2),
            r"^correlations: input 'a' is listed twice$",
        ),
        (
            ["a", "b", "c", "d"],
            CONTRADICTORY,
            r"^correlations: matrix is not positive semi-definite \(smallest eigenvalue -0.8\); "
            r"the correlations among 'a', 'b', 'c' contradict each other; "
            r"set repair = true to use the nearest valid matrix$",
        ),
    ],
)
def test_check_matrix_errors(names, matrix, message):
    with pytest.raises(ScenarioError, match=message):
        check_matrix(names, matrix)


def test_check_matrix_reports_every_entry_problem_at_its_path():
    with pytest.raises(ScenarioError) as info:
        check_matrix(["a", "b", "c"], [[1, 2, 0], [2, 1, 0.1], [0, 0.2, 1]], path="corr.matrix")
    assert info.value.lines() == [
        "corr.matrix: correlation between 'a' and 'b' is 2.0; must be in [-1, 1]",
        "corr.matrix: matrix is not symmetric: ('b', 'c') = 0.1 but ('c', 'b') = 0.2",
    ]


def test_not_psd_names_only_the_contradicting_inputs():
    # 'd' is uncorrelated with the others and must not be blamed.
    m = np.eye(6)
    m[np.ix_([1, 3, 4], [1, 3, 4])] = np.array(CONTRADICTORY)[:3, :3]
    names = list("abcdef")
    with pytest.raises(ScenarioError, match=r"among 'b', 'd', 'e' contradict"):
        check_matrix(names, m)


def test_repair_warns_with_largest_change_and_returns_a_correlation_matrix():
    with pytest.warns(RunwayWarning) as record:
        out = check_matrix(list("abcd"), CONTRADICTORY, repair=True)
    assert len(record) == 1
    fixed = nearest_correlation(np.array(CONTRADICTORY))
    change = np.abs(fixed - np.array(CONTRADICTORY))
    largest = change.max()
    assert str(record[0].message).startswith(
        "correlations: matrix repaired to the nearest positive semi-definite one; "
        f"largest change {largest:.3f} ("
    )
    np.testing.assert_array_equal(out, fixed)
    np.testing.assert_array_equal(np.diag(out), 1.0)
    np.testing.assert_array_equal(out, out.T)
    assert np.linalg.eigvalsh(out)[0] >= -1e-12
    assert out[3, 3] == 1.0
    np.testing.assert_allclose(out[3, :3], 0.0, atol=1e-9)  # the innocent input is untouched
    # the repaired matrix then validates without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_matrix(list("abcd"), out)


def test_repair_names_the_pair_with_the_largest_change():
    # Changes (from nearest_correlation): a~b 0.146, a~c 0.110, b~c 0.098.
    m = [[1.0, 0.9, 0.6], [0.9, 1.0, -0.3], [0.6, -0.3, 1.0]]
    with pytest.warns(RunwayWarning, match=r"largest change 0\.146 \('a', 'b'\)$"):
        check_matrix(["a", "b", "c"], m, repair=True)


def test_repair_does_not_hide_other_errors():
    with pytest.raises(ScenarioError, match="must be in"):
        check_matrix(["a", "b"], [[1, 1.3], [1.3, 1]], repair=True)


def test_repair_leaves_a_valid_matrix_alone():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = check_matrix(NAMES4, TARGET4, repair=True)
    np.testing.assert_array_equal(out, TARGET4)


# --- nearest_correlation ------------------------------------------------------------------

HIGHAM_A = np.array(
    [[2.0, -1.0, 0.0, 0.0], [-1.0, 2.0, -1.0, 0.0], [0.0, -1.0, 2.0, -1.0], [0.0, 0.0, -1.0, 2.0]]
)
# Higham (2002), section 4, the nearest correlation matrix to HIGHAM_A (4 decimals).
HIGHAM_X = np.array(
    [
        [1.0000, -0.8084, 0.1916, 0.1068],
        [-0.8084, 1.0000, -0.6562, 0.1916],
        [0.1916, -0.6562, 1.0000, -0.8084],
        [0.1068, 0.1916, -0.8084, 1.0000],
    ]
)


def _clip_and_rescale(a: np.ndarray) -> np.ndarray:
    """The naive repair: negative eigenvalues -> 0, then rescale to a unit diagonal."""
    w, v = np.linalg.eigh(a)
    x = (v * np.maximum(w, 0.0)) @ v.T
    d = np.sqrt(np.diag(x))
    return x / np.outer(d, d)


def _is_correlation(x: np.ndarray) -> bool:
    return (
        np.array_equal(x, x.T)
        and np.array_equal(np.diag(x), np.ones(len(x)))
        and np.linalg.eigvalsh(x)[0] >= -1e-12
    )


def test_higham_example():
    x = nearest_correlation(HIGHAM_A)
    np.testing.assert_allclose(x, HIGHAM_X, atol=5e-5)
    assert _is_correlation(x)


def test_higham_example_is_a_fixed_point_and_closer_than_clipping():
    x = nearest_correlation(HIGHAM_A)
    np.testing.assert_allclose(nearest_correlation(x), x, atol=1e-9)
    naive = _clip_and_rescale(HIGHAM_A)
    assert np.linalg.norm(HIGHAM_A - x) < np.linalg.norm(HIGHAM_A - naive) - 1e-3


def _variational_gap(a: np.ndarray, x: np.ndarray, ys: list[np.ndarray]) -> float:
    """max <a - x, y - x> over correlation matrices y; <= 0 iff x is the projection of a."""
    return max(float(np.sum((a - x) * (y - x))) for y in ys)


@pytest.mark.parametrize("k", [3, 5, 8])
def test_optimality_against_random_correlation_matrices(k):
    # x is the Frobenius projection of a onto the (convex) set of correlation matrices iff
    # <a - x, y - x> <= 0 for every correlation matrix y: test many y, including the naive fix.
    rng = np.random.default_rng(k)
    b = rng.uniform(-1, 1, (k, k))
    a = (b + b.T) / 2
    np.fill_diagonal(a, 1.0)
    a[:3, :3] = np.array(CONTRADICTORY)[:3, :3]  # guarantees a is not PSD
    assert np.linalg.eigvalsh(a)[0] < -0.5
    x = nearest_correlation(a)
    assert _is_correlation(x)
    ys = [
        stats.random_correlation.rvs(e / e.sum() * k, random_state=rng)
        for e in rng.uniform(0.01, 1.0, (200, k))
    ]
    ys += [np.eye(k), np.ones((k, k)), _clip_and_rescale(a)]
    assert _variational_gap(a, x, ys) < 1e-8
    assert np.linalg.norm(a - x) <= min(np.linalg.norm(a - y) for y in ys) + 1e-12


def test_nearest_correlation_keeps_a_valid_matrix():
    np.testing.assert_allclose(nearest_correlation(TARGET4), TARGET4, atol=1e-12)


# --- iman_conover -------------------------------------------------------------------------

MARGINALS = [
    stats.lognorm(0.5),
    stats.uniform(2.0, 3.0),
    stats.expon(scale=2.0),
    stats.triang(0.3),
]


@pytest.fixture(scope="module")
def independent_draws() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.column_stack([d.ppf(rng.random(100_000)) for d in MARGINALS])


def test_iman_conover_hits_the_target(independent_draws):
    x = independent_draws
    before = x.copy()
    y = iman_conover(x, TARGET4, np.random.default_rng(2))
    np.testing.assert_array_equal(x, before)  # input untouched
    assert y.shape == x.shape
    # Sampling SE of a Spearman coefficient at n = 1e5 is < 0.0032; 0.02 is > 6 SE.
    # (measured: largest deviation 0.001)
    rho = stats.spearmanr(y).statistic
    np.testing.assert_allclose(rho, TARGET4, atol=0.02)


def test_iman_conover_keeps_marginals_exactly(independent_draws):
    x = independent_draws
    y = iman_conover(x, TARGET4, np.random.default_rng(2))
    np.testing.assert_array_equal(np.sort(y, axis=0), np.sort(x, axis=0))
    # Fixed seed; alpha 1e-4 per column. (measured p-values 0.86, 0.73, 0.007, 0.42)
    for j, dist in enumerate(MARGINALS):
        assert stats.kstest(y[:, j], dist.cdf).pvalue > 1e-4


def test_iman_conover_identity_target_gives_no_correlation(independent_draws):
    y = iman_conover(independent_draws, np.eye(4), np.random.default_rng(5))
    rho = stats.spearmanr(y).statistic
    # SE of a null Spearman at n = 1e5 is 0.0032; decorrelation makes it smaller still.
    np.testing.assert_allclose(rho, np.eye(4), atol=0.02)


def test_iman_conover_with_uniform_sampler_output():
    # The pipeline's own use: LHS uniforms in, uniforms out, still exactly stratified.
    from distributions.samplers import uniforms

    n = 20_000
    u = uniforms("lhs", n, 4, np.random.default_rng(9))
    y = iman_conover(u, TARGET4, np.random.default_rng(10))
    strata = np.floor(y * n).astype(int)
    for j in range(4):
        np.testing.assert_array_equal(np.sort(strata[:, j]), np.arange(n))
    # SE < 0.0071 at n = 2e4; 0.03 is > 4 SE.
    np.testing.assert_allclose(stats.spearmanr(y).statistic, TARGET4, atol=0.03)


def test_iman_conover_singular_target_is_comonotone():
    rng = np.random.default_rng(4)
    x = rng.random((1000, 2))
    y = iman_conover(x, np.ones((2, 2)), rng)
    assert stats.spearmanr(y).statistic == pytest.approx(1.0)


def test_iman_conover_repaired_target():
    # A repaired (singular) matrix works through the eigen factor.
    with pytest.warns(RunwayWarning):
        target = check_matrix(list("abcd"), CONTRADICTORY, repair=True)
    rng = np.random.default_rng(6)
    x = rng.random((50_000, 4))
    y = iman_conover(x, target, rng)
    np.testing.assert_allclose(stats.spearmanr(y).statistic, target, atol=0.03)


def test_iman_conover_reproducible():
    x = np.random.default_rng(0).random((500, 3))
    t = TARGET4[:3, :3]
    a = iman_conover(x, t, np.random.default_rng(8))
    b = iman_conover(x, t, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(0, 3), (1, 3), (3, 3), (4, 3), (10, 1)])
def test_iman_conover_degenerate_sizes(shape):
    x = np.random.default_rng(0).random(shape)
    k = shape[1]
    y = iman_conover(x, np.eye(k), np.random.default_rng(1))
    assert y.shape == shape
    np.testing.assert_array_equal(np.sort(y, axis=0), np.sort(x, axis=0))


def test_iman_conover_shape_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="samples must be 2-d"):
        iman_conover(np.zeros(5), np.eye(1), rng)
    with pytest.raises(ValueError, match=r"target_spearman must be \(3, 3\)"):
        iman_conover(np.zeros((5, 3)), np.eye(2), rng)
