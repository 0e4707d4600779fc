"""Discrete families: bernoulli, discrete (numbers or months) and empirical (resampled data).

``discrete`` and ``empirical`` are a :class:`Table`: sorted distinct values and their cumulative
probabilities, built once per Spec (an empirical input of 200k observations costs a few
milliseconds to sort and count, so never per batch) and pickled with it as two arrays. Its ppf
is ``rv_discrete(values=(xk, pk))``'s rule, the first value whose cumulative probability is >= u,
found with ``np.searchsorted`` (exact, and O(log k) per value where scipy's is O(k)); for an
empirical input that is the inverse of the observations' empirical cdf (numpy's
``quantile(..., method="inverted_cdf")``). The scipy ``rv_discrete`` itself is made only when
asked for (``Spec.dist``).
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import stats
from ._require import fail, fmt, number, show
from .errors import Problem, ScenarioError, did_you_mean

if TYPE_CHECKING:
    from .families import Context
    from .percentiles import Point

__all__ = [
    "Table",
    "bernoulli",
    "bernoulli_kernel",
    "bernoulli_mean",
    "describe_empirical",
    "discrete",
    "empirical_csv",
    "empirical_data",
    "make_table",
    "month_index",
    "table_kernel",
]

PROBS_TOLERANCE = 1e-9  # |sum(probs) - 1| allowed before renormalising
MAX_CSV_BYTES = 100 * 2**20  # an empirical csv file may hold at most 100 MB
MAX_OBSERVATIONS = 1_000_000  # and an empirical distribution at most a million observations
GUIDED_TABLE = 4096  # tables (and arrays of probabilities) from this size on: guided search
GUIDED_STEPS = 4  # steps of the guided search before a binary search for what is left


def month_index(value: Any, ctx: Context) -> int:
    """The month index of a ``"YYYY-MM"`` string through ``ctx.month_of``."""
    if not isinstance(value, str):
        fail(ctx.path, f"a month must be a 'YYYY-MM' string (got {show(value)})")
    assert ctx.month_of is not None
    try:
        index = ctx.month_of(value.strip())
    except ScenarioError as error:
        problems = [Problem(p.path or ctx.path, p.message) for p in error.problems]
        raise ScenarioError(problems, file=error.file) from None
    except KeyError:
        fail(ctx.path, f"bad month {show(value)}")
    except (ValueError, TypeError, OverflowError) as error:
        fail(ctx.path, f"bad month {show(value)}: {error}")
    return int(index)


def bernoulli(v: dict[str, Any], _: list[Point], ctx: Context) -> dict[str, Any]:
    if not 0.0 <= v["p"] <= 1.0:
        fail(ctx.path, f"bernoulli p must be between 0 and 1 (got {fmt(v['p'])})")
    return {"p": v["p"]}


def bernoulli_kernel(p: Mapping[str, Any], u: np.ndarray) -> np.ndarray:
    """1 where ``u > 1 - p`` (the smallest k with F(k) >= u), else 0."""
    return np.where(u > 1.0 - p["p"], 1.0, 0.0)


def bernoulli_mean(p: Mapping[str, Any]) -> float:
    return float(p["p"])


def _list(value: Any, what: str, ctx: Context) -> list[Any]:
    if not isinstance(value, list | tuple) or not value:
        fail(ctx.path, f"{what} must be a non-empty list (got {show(value)})")
    return list(value)


def discrete(v: dict[str, Any], _: list[Point], ctx: Context) -> dict[str, Any]:
    """Values (numbers, or months when ``ctx.month_of``) and probabilities (equal if omitted);
    repeated values are merged, probabilities renormalised after the 1e-9 sum check."""
    raw = _list(v["values"], "discrete values", ctx)
    if ctx.month_of is not None:
        values = [float(month_index(x, ctx)) for x in raw]
    else:
        values = [number(x, ctx.path, f"discrete values[{i}]") for i, x in enumerate(raw)]
    if v["probs"] is None:
        probs = [1.0 / len(values)] * len(values)
    else:
        given = _list(v["probs"], "discrete probs", ctx)
        if len(given) != len(values):
            got = f"{len(values)} values, {len(given)} probs"
            fail(ctx.path, f"discrete probs must have one entry per value (got {got})")
        probs = [number(p, ctx.path, f"discrete probs[{i}]") for i, p in enumerate(given)]
        for p in probs:
            if not 0.0 <= p <= 1.0:
                fail(ctx.path, f"discrete probs must be between 0 and 1 (got {fmt(p)})")
        total = math.fsum(probs)
        if abs(total - 1.0) > PROBS_TOLERANCE:
            fail(ctx.path, f"discrete probs must sum to 1 (got sum {fmt(round(total, 12))})")
    xk, inverse = np.unique(np.array(values), return_inverse=True)
    pk = np.bincount(inverse, weights=np.array(probs), minlength=len(xk))
    return {"values": tuple(map(float, xk)), "probs": tuple(map(float, pk / pk.sum()))}


def _values_probs(p: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their probabilities: ``discrete``'s own (stored sorted and
    distinct by :func:`discrete`), or equal weight on every ``empirical`` observation (repeats
    add up)."""
    if "data" in p:
        xk, counts = np.unique(np.asarray(p["data"], dtype=np.float64), return_counts=True)
        return xk, counts / counts.sum()
    return np.asarray(p["values"], dtype=np.float64), np.asarray(p["probs"], dtype=np.float64)


class Table:
    """A discrete distribution as sorted distinct ``values`` and their ``cumulative``
    probabilities (float64 arrays, pickled as such), and its ``mean``.

    :meth:`ppf` is ``rv_discrete``'s rule, the first value whose cumulative probability is
    >= u: a binary search, or for a long table (an empirical input) a guided search that gives
    the same index several times faster (see :meth:`_guided`).
    """

    __slots__ = ("_guide", "_steps", "mean", "values")

    def __init__(self, values: np.ndarray, probs: np.ndarray) -> None:
        self.values = values
        self.mean = float(np.sum(values * probs))
        # The cumulative probabilities, and +inf after them: the guided search stops there.
        self._steps = np.append(np.cumsum(probs), np.inf)
        self._guide: np.ndarray | None = None
        if len(values) >= GUIDED_TABLE:
            # guide[b] = how many cumulative probabilities are < b / size (size a power of 2)
            size = 1 << (len(values) - 1).bit_length()
            edges = np.arange(size + 1) / size
            self._guide = np.searchsorted(self.cumulative, edges, side="left").astype(np.int32)

    @classmethod
    def of(cls, p: Mapping[str, Any]) -> Table:
        """The table of ``discrete`` or ``empirical`` parameters."""
        return cls(*_values_probs(p))

    @property
    def cumulative(self) -> np.ndarray:
        return self._steps[:-1]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The first value whose cumulative probability is >= ``u`` (``rv_discrete``'s rule),
        the last value where rounding leaves every cumulative probability below ``u``."""
        u = np.asarray(u, dtype=np.float64)
        if self._guide is not None and u.size >= GUIDED_TABLE and 0.0 <= u.min() <= u.max() <= 1:
            index = self._guided(u, self._guide)
        else:
            index = np.searchsorted(self.cumulative, u, side="left")
        x: np.ndarray = self.values[np.minimum(index, len(self.values) - 1)]
        return x

    def _guided(self, u: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """``np.searchsorted(self.cumulative, u, side="left")`` for ``u`` in [0, 1], exactly.

        With ``size`` a power of 2, ``b = floor(u * size)`` is exact and ``b / size <= u``, so
        ``guide[b]`` (the count of cumulative probabilities below ``b / size``) never passes the
        answer; each step moves forward the indices still behind ``u``. A bucket holds about one
        cumulative probability, so one or two steps do; indices still behind after a few steps
        (a table with many tiny probabilities) get a binary search. One random memory access
        per value and step instead of one per halving of a table too large for the cache.
        """
        size = len(guide) - 1
        index = guide[(u * size).astype(np.intp)]
        for _ in range(GUIDED_STEPS):
            behind = self._steps[index] < u
            if not behind.any():
                return index
            index += behind
        behind = self._steps[index] < u
        index[behind] = np.searchsorted(self.cumulative, u[behind], side="left")
        return index

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
        return self.values, self._steps, self.mean, self._guide

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray, float, np.ndarray | None]) -> None:
        self.values, self._steps, self.mean, self._guide = state


def make_table(p: Mapping[str, Any]) -> Any:
    """A discrete or empirical table as a frozen ``scipy.stats.rv_discrete``."""
    return stats.rv_discrete(values=_values_probs(p)).freeze()


def table_kernel(p: Mapping[str, Any], u: np.ndarray) -> np.ndarray:
    """ppf of a discrete table, built from the parameters alone (no scipy.stats); a Spec keeps
    its :class:`Table` instead of rebuilding it on every call."""
    return Table.of(p).ppf(u)


def _observations(values: list[float], ctx: Context) -> dict[str, Any]:
    if len(values) < 2:
        fail(ctx.path, f"empirical needs at least 2 observations (got {len(values)})")
    return {"data": tuple(sorted(values))}


def empirical_data(v: dict[str, Any], _: list[Point], ctx: Context) -> dict[str, Any]:
    raw = _list(v["data"], "empirical data", ctx)
    values = [number(x, ctx.path, f"empirical data[{i}]") for i, x in enumerate(raw)]
    return _observations(values, ctx)


def empirical_csv(v: dict[str, Any], _: list[Point], ctx: Context) -> dict[str, Any]:
    """Observations from one column of a CSV file (path relative to ``ctx.base_dir``); blank
    cells are skipped, anything else must be a finite number."""
    name, column = v["csv"], v["column"]
    if not isinstance(name, str) or not name.strip():
        fail(ctx.path, f"empirical csv must be a file name (got {show(name)})")
    if not isinstance(column, str):
        fail(ctx.path, f"empirical column must be a column name (got {show(column)})")
    file = Path(name)
    if not file.is_absolute() and ctx.base_dir is not None:
        file = Path(ctx.base_dir) / file
    where = f"csv file '{name}'"
    rows = csv.reader(io.StringIO(_csv_text(file, where, ctx), newline=""))
    try:
        first = next(rows, None)
        if first is None:
            fail(ctx.path, f"{where} is empty")
        header = [cell.strip() for cell in first]
        if column not in header:
            fail(ctx.path, f"{where} has no column '{column}'{did_you_mean(column, header)}")
        col = header.index(column)
        values: list[float] = []
        for line, row in enumerate(rows, start=2):
            cell = row[col].strip() if col < len(row) else ""
            if not cell:
                continue
            try:
                x = float(cell)
            except ValueError:
                x = math.nan
            if not math.isfinite(x):
                bad = f"column '{column}' line {line}"
                fail(ctx.path, f"{where} {bad} is not a finite number (got {show(cell)})")
            if len(values) == MAX_OBSERVATIONS:
                fail(
                    ctx.path,
                    f"{where} column '{column}' has more than {MAX_OBSERVATIONS:,} "
                    f"observations; at most {MAX_OBSERVATIONS:,} are supported",
                )
            values.append(x)
    except csv.Error as error:
        fail(ctx.path, f"cannot read {where}: {error}")
    return _observations(values, ctx)


def _size(n: int) -> str:
    """A file size for people: ``512 bytes``, ``3.4 MB``, ``2.0 GB`` (powers of 1024)."""
    if n < 1024:
        return f"{n} bytes"
    size: float = n
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            break
    return f"{size:.1f} {unit}"


def data_file_bytes(file: Path, where: str, path: str) -> bytes:
    """The bytes of a data file the scenario reads (a CSV column, a plan's CSV or workbook): a
    regular file (never a device, FIFO or directory, which could block or never end) of at most
    MAX_CSV_BYTES; else a one-line ScenarioError at ``path``."""
    looked = f"(looked for {file})"
    try:
        info = os.stat(file)  # follows symlinks; never blocks, unlike opening a FIFO
    except OSError as error:
        fail(path, f"cannot read {where} {looked}: {error.strerror or error}")
    except ValueError as error:  # e.g. a NUL character in the file name
        fail(path, f"cannot read {where}: {error}")
    if stat.S_ISDIR(info.st_mode):
        fail(path, f"{where} is a directory, not a regular file {looked}")
    if not stat.S_ISREG(info.st_mode):
        fail(path, f"{where} is not a regular file {looked}")
    limit = f"{MAX_CSV_BYTES // 2**20} MB"
    if info.st_size > MAX_CSV_BYTES:
        fail(path, f"{where} is {_size(info.st_size)}; at most {limit} is supported")
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_CSV_BYTES + 1)  # bounded, should the file grow meanwhile
    except OSError as error:
        fail(path, f"cannot read {where} {looked}: {error.strerror or error}")
    if len(data) > MAX_CSV_BYTES:
        fail(path, f"{where} is larger than {limit}; at most {limit} is supported")
    return data


def _csv_text(file: Path, where: str, ctx: Context) -> str:
    """The text of a CSV file (:func:`data_file_bytes`): UTF-8 text without NUL bytes."""
    data = data_file_bytes(file, where, ctx.path)
    nul = data.find(b"\0")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        fail(ctx.path, f"{where} is not a text file (a NUL byte at line {line}); save it as CSV")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        fail(ctx.path, f"{where} is not UTF-8 text (bad byte at line {line}); save it as UTF-8")


def describe_empirical(p: Mapping[str, Any]) -> str:
    data = p["data"]
    return f"empirical(n={len(data)}, min={data[0]:.4g}, max={data[-1]:.4g})"
