"""Rank correlation between inputs: validate the target, repair it, impose it (Iman-Conover).

Pipeline for k correlated inputs and n paths::

    check_matrix(names, spearman)         (k, k) target Spearman matrix, validated / repaired
    samples                               (n, k) independent draws, each column one input
    iman_conover(samples, target, rng)    (n, k) same columns reordered; Spearman ~ target

Iman-Conover only permutes each column, so every input keeps its marginal distribution exactly.
References: Iman & Conover (1982), Commun. Stat. B 11(3); Higham (2002), IMA J. Numer. Anal.
22(3) for the nearest correlation matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from distributions.errors import Problem, RunwayWarning, ScenarioError

from ._lazy import linalg, special
from ._require import fail

__all__ = [
    "check_matrix",
    "iman_conover",
    "listed_twice",
    "nearest_correlation",
    "size_rule",
    "spearman_to_normal",
]

_SYMMETRY_TOL = 1e-9
_PSD_TOL = 1e-10
_MAX_NAMED = 6  # inputs named in a "not positive semi-definite" message


def listed_twice(name: object) -> str:
    """The sentence for an input named twice in the inputs of a correlation matrix.

    The one wording of this fault, for :func:`check_matrix` and for ``[correlations]`` in a file
    (:mod:`cashflow.parse_correlations`).
    """
    return f"input '{name}' is listed twice"


def size_rule(k: int) -> str:
    """The rule a correlation matrix for ``k`` inputs breaks when it is the wrong size.

    ``"must be k x k for k inputs"``: :func:`check_matrix` and ``[correlations]`` in a file
    (:mod:`cashflow.parse_correlations`) each add what they got to it.
    """
    return f"must be {k} x {k} for {k} inputs"


def spearman_to_normal(rho_s: np.ndarray) -> np.ndarray:
    """Pearson correlation of normal scores that gives Spearman ``rho_s``: 2 sin(pi rho_s / 6).

    Elementwise, any shape; the inverse of rho_s = (6 / pi) asin(r / 2) for a bivariate normal.
    """
    rho_s = np.asarray(rho_s, dtype=np.float64)
    # +-1 maps to +-1 exactly (2 sin(pi / 6) is 1 - 1.1e-16 in floating point).
    return np.where(np.abs(rho_s) == 1.0, rho_s, 2.0 * np.sin(np.pi * rho_s / 6.0))


def check_matrix(
    names: Sequence[str],
    matrix: ArrayLike,
    *,
    path: str = "correlations",
    repair: bool = False,
) -> np.ndarray:
    """Validate a target Spearman matrix for the inputs ``names``; return it as (k, k) float64.

    Checks: k x k with k = len(names), distinct names, finite, symmetric (tol 1e-9), unit
    diagonal, entries in [-1, 1], positive semi-definite (smallest eigenvalue >= -1e-10). Every
    failure is a ScenarioError with one Problem(path, sentence) per fault. A matrix that is only
    not PSD is, with ``repair=True``, replaced by :func:`nearest_correlation` with a
    RunwayWarning stating the largest change. The result is exactly symmetric, unit diagonal.
    """
    names = list(names)
    k = len(names)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            fail(path, listed_twice(name))
        seen.add(name)
    try:
        m = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        fail(path, f"matrix must be a {k} x {k} table of numbers (one row per input)")
    if k == 0 and m.size == 0:
        return np.zeros((0, 0))
    if m.shape != (k, k):
        got = " x ".join(map(str, m.shape)) if m.ndim else "a single number"
        fail(path, f"matrix {size_rule(k)}, got {got}")

    problems = _entry_problems(names, m, path)
    if problems:
        raise ScenarioError(problems)

    m = np.clip((m + m.T) / 2.0, -1.0, 1.0)
    np.fill_diagonal(m, 1.0)
    eigenvalues, eigenvectors = np.linalg.eigh(m)
    if eigenvalues[0] >= -_PSD_TOL:
        return m
    if not repair:
        involved = _most_involved(names, eigenvectors[:, 0])
        fail(
            path,
            f"matrix is not positive semi-definite (smallest eigenvalue {eigenvalues[0]:.2g}); "
            f"the correlations among {involved} contradict each other; "
            "set repair = true to use the nearest valid matrix",
        )
    fixed = nearest_correlation(m)
    change = np.abs(fixed - m)
    row, col = np.unravel_index(np.argmax(change), change.shape)
    i, j = sorted((int(row), int(col)))
    warnings.warn(
        RunwayWarning(
            f"{path}: matrix repaired to the nearest positive semi-definite one; "
            f"largest change {change[i, j]:.3f} ('{names[i]}', '{names[j]}')"
        ),
        stacklevel=2,
    )
    return fixed


def _entry_problems(names: list[str], m: np.ndarray, path: str) -> list[Problem]:
    """Non-finite entries; else a diagonal other than 1, asymmetry, entries outside [-1, 1]."""
    k = len(names)
    bad = ~np.isfinite(m)
    problems: list[Problem] = []
    for i, j in zip(*np.nonzero(np.triu(bad | bad.T)), strict=True):
        x = m[i, j] if bad[i, j] else m[j, i]
        what = f"'{names[i]}'" if i == j else f"'{names[i]}' and '{names[j]}'"
        kind = "diagonal entry of" if i == j else "correlation between"
        problems.append(Problem(path, f"{kind} {what} is {x}; must be a finite number"))
    if problems:
        return problems
    for i in range(k):
        if abs(m[i, i] - 1.0) > _SYMMETRY_TOL:
            problems.append(
                Problem(path, f"diagonal entry of '{names[i]}' is {m[i, i]}; must be 1")
            )
    for i in range(k):
        for j in range(i + 1, k):
            a, b = m[i, j], m[j, i]
            if abs(a - b) > _SYMMETRY_TOL:
                problems.append(
                    Problem(
                        path,
                        f"matrix is not symmetric: ('{names[i]}', '{names[j]}') = {a} "
                        f"but ('{names[j]}', '{names[i]}') = {b}",
                    )
                )
            for x in (a,) if a == b else (a, b):
                if abs(x) > 1.0 + _SYMMETRY_TOL:
                    problems.append(
                        Problem(
                            path,
                            f"correlation between '{names[i]}' and '{names[j]}' is {x}; "
                            "must be in [-1, 1]",
                        )
                    )
    return problems


def _most_involved(names: list[str], v: np.ndarray) -> str:
    """The inputs carrying >= 90% of the squared weight of eigenvector ``v``, in input order."""
    weight = v**2
    order = np.argsort(-weight, kind="stable")
    count = int(np.searchsorted(np.cumsum(weight[order]), 0.9 * weight.sum())) + 1
    count = max(2, count)
    chosen = sorted(order[: min(count, _MAX_NAMED)].tolist())
    text = ", ".join(f"'{names[i]}'" for i in chosen)
    if count > _MAX_NAMED:
        text += f" and {count - _MAX_NAMED} more"
    return text


def _project_psd(x: np.ndarray) -> np.ndarray:
    """Nearest (Frobenius) symmetric PSD matrix: negative eigenvalues set to zero."""
    w, v = np.linalg.eigh(x)
    out = (v * np.maximum(w, 0.0)) @ v.T
    symmetric: np.ndarray = (out + out.T) / 2.0
    return symmetric


def nearest_correlation(
    matrix: np.ndarray, *, tol: float = 1e-10, max_iter: int = 10_000
) -> np.ndarray:
    """Nearest correlation matrix (unit diagonal, PSD) to symmetric ``matrix`` in Frobenius norm.

    Higham (2002), Algorithm 3.3: alternating projections onto the PSD cone and the unit-diagonal
    matrices with Dykstra's correction, until successive iterates change by < ``tol``
    (relative); after ``max_iter`` the last iterate is returned (still a valid correlation
    matrix). Input and output shape (k, k).
    """
    a = np.asarray(matrix, dtype=np.float64)
    a = (a + a.T) / 2.0
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(max_iter):
        r = y - ds
        x = _project_psd(r)
        ds = x - r
        y_old = y
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        scale = max(float(np.linalg.norm(y)), 1.0)
        if np.linalg.norm(y - y_old) / scale < tol and np.linalg.norm(x - y) / scale < tol:
            break
    # Final clean-up (changes entries by ~tol): exactly PSD to rounding, exactly unit diagonal.
    x = _project_psd(y)
    d = np.sqrt(np.diag(x))
    x = x / np.outer(d, d)
    out: np.ndarray = (x + x.T) / 2.0
    np.fill_diagonal(out, 1.0)
    return out


def _factor(c: np.ndarray) -> np.ndarray:
    """A (k, k) matrix L with L @ L.T == c: Cholesky, or an eigen factor if c is only PSD."""
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        factor: np.ndarray = v * np.sqrt(np.maximum(w, 0.0))
        return factor


def iman_conover(
    samples: np.ndarray, target_spearman: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Reorder each column of ``samples`` (n, k) so their Spearman correlation ~ the target (k, k).

    Each output column is a permutation of the same input column (marginals kept exactly).
    Van der Waerden scores ppf(i / (n + 1)) are shuffled per column with ``rng``, decorrelated
    with the Cholesky factor of their sample correlation, given the normal-score correlation
    ``spearman_to_normal(target)``; each column of samples then takes the ranks of its score
    column. The target is assumed valid (see :func:`check_matrix`).
    """
    x = np.asarray(samples)
    target = np.asarray(target_spearman, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"samples must be 2-d (n, k), got shape {x.shape}")
    n, k = x.shape
    if target.shape != (k, k):
        raise ValueError(f"target_spearman must be ({k}, {k}), got {target.shape}")
    if k < 2 or n < 2:
        return x.copy()

    scores = special.ndtri(np.arange(1, n + 1) / (n + 1))  # = scipy.stats.norm.ppf
    s = rng.permuted(np.broadcast_to(scores[:, None], (n, k)), axis=0)
    if n > k + 1:
        # Remove the chance correlation of the shuffled scores: s @ inv(q).T has identity corr.
        try:
            q = np.linalg.cholesky(np.corrcoef(s, rowvar=False))
        except np.linalg.LinAlgError:  # numerically singular (n barely above k): keep s
            pass
        else:
            s = linalg.solve_triangular(q, s.T, lower=True).T
    t = s @ _factor(spearman_to_normal(target)).T

    order = np.argsort(t, axis=0)  # ties have probability 0
    out = np.empty_like(x)
    np.put_along_axis(out, order, np.sort(x, axis=0), axis=0)
    return out
