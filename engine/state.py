"""The merged state of a run in progress: what chunks 0..k-1 add up to, in chunk order.

It is all a :class:`engine.results.Results` needs, and all a checkpoint saves: merging chunk
results into it is the only place a run's float sums are added, always in chunk order, so a
run resumed from a checkpoint adds the same numbers in the same order as one never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.batch import ChunkResult, Grids
from engine.histogram import Histograms
from engine.results import BatchMoments, square_sums

__all__ = ["RunState"]


@dataclass
class RunState:
    """Chunks ``0..chunks - 1`` merged. Shapes as in :class:`engine.results.Results`:
    ``batch_ruin_counts`` (batches, H + 1); ``driver_counts`` (d, 2, H + 1);
    ``funding_counts`` (f, 2, H + 1); ``lever_counts`` (levers, H + 1); ``sample_cash`` (m, H)
    or None."""

    grids: Grids
    horizon_months: int
    drivers: int
    rounds: int
    levers: int = 0
    chunks: int = 0
    batch_ruin_counts: list[np.ndarray] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    driver_counts: np.ndarray = field(init=False)
    funding_counts: np.ndarray = field(init=False)
    lever_counts: np.ndarray = field(init=False)
    hist: Histograms = field(init=False)
    fan: Histograms = field(init=False)
    sample_cash: np.ndarray | None = None
    seconds: float = 0.0  # time spent simulating, over every part of a resumed run
    # Running totals of batch_sizes and batch_ruin_counts, kept by add() and from_arrays():
    # read after every chunk, they would cost O(batches) each time if summed again.
    paths: int = field(default=0, init=False)
    _ruin_total: np.ndarray = field(init=False, repr=False)
    # Exact integer sums of the squared per-batch counts by batch size
    # (engine.results.square_sums), for the intervals of lhs / sobol runs.
    _square_sums: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        h = self.horizon_months
        self.driver_counts = np.zeros((self.drivers, 2, h + 1), dtype=np.int64)
        self.funding_counts = np.zeros((self.rounds, 2, h + 1), dtype=np.int64)
        self.lever_counts = np.zeros((self.levers, h + 1), dtype=np.int64)
        self.hist = Histograms.empty(self.grids.quantities)
        self.fan = Histograms.empty(self.grids.fan)
        self._ruin_total = np.zeros(h + 1, dtype=np.int64)

    def add(self, result: ChunkResult) -> None:
        """Merge the next chunk (call in chunk order)."""
        if result.sample_cash is not None:
            self.sample_cash = result.sample_cash
        self.batch_ruin_counts.extend(result.batch_ruin_counts)
        self.batch_sizes.extend(result.sizes)
        self._ruin_total += np.sum(result.batch_ruin_counts, axis=0, dtype=np.int64)
        self._add_squares(square_sums(result.batch_ruin_counts, result.sizes))
        self.paths += int(sum(result.sizes))
        self.driver_counts += result.driver_counts
        self.funding_counts += result.funding_counts
        self.lever_counts += result.lever_counts
        self.hist.add(result.hist)
        self.fan.add(result.fan)
        self.chunks += 1

    def ruin_counts(self) -> np.ndarray:
        """(H + 1,) paths by ruin month so far."""
        return self._ruin_total.copy()

    def moments(self) -> BatchMoments:
        """The :class:`engine.results.BatchMoments` of the batches so far: equal, to the bit,
        to those of the :class:`engine.results.Results` of the same batches."""
        total = self._ruin_total
        return BatchMoments(
            paths=self.paths,
            batches=len(self.batch_sizes),
            ruined=np.concatenate([[0], np.cumsum(total[:-1])]).astype(np.int64),
            square_sums={n: a.copy() for n, a in self._square_sums.items()},
        )

    def _add_squares(self, sums: dict[int, np.ndarray]) -> None:
        for n, a in sums.items():
            if n in self._square_sums:
                self._square_sums[n] += a
            else:
                self._square_sums[n] = a.astype(np.int64)

    # ----- checkpoints ----------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Everything as named arrays (a checkpoint's content)."""
        h = self.horizon_months
        return {
            "chunks": np.array(self.chunks),
            "seconds": np.array(self.seconds),
            "batch_ruin_counts": np.array(self.batch_ruin_counts, dtype=np.int64).reshape(
                -1, h + 1
            ),
            "batch_sizes": np.array(self.batch_sizes, dtype=np.int64),
            "driver_counts": self.driver_counts,
            "funding_counts": self.funding_counts,
            "lever_counts": self.lever_counts,
            "sample_cash": (self.sample_cash if self.sample_cash is not None else np.zeros((0, h))),
            **{f"hist_{k}": v for k, v in _histogram_arrays(self.hist).items()},
            **{f"fan_{k}": v for k, v in _histogram_arrays(self.fan).items()},
            "grid_lo": self.grids.quantities.lo,
            "grid_hi": self.grids.quantities.hi,
            "fan_lo": self.grids.fan.lo,
            "fan_hi": self.grids.fan.hi,
        }

    @classmethod
    def from_arrays(
        cls,
        a: dict[str, np.ndarray],
        grids: Grids,
        horizon_months: int,
        drivers: int,
        rounds: int,
        levers: int = 0,
    ) -> RunState:
        """The state saved by :meth:`arrays`, on ``grids`` (which must be the saved ones).
        Raises ValueError when the arrays do not fit the run."""
        for key, grid in (("grid", grids.quantities), ("fan", grids.fan)):
            if not (
                np.array_equal(a[f"{key}_lo"], grid.lo) and np.array_equal(a[f"{key}_hi"], grid.hi)
            ):
                raise ValueError("the checkpoint's histogram grid is not this run's")
        state = cls(grids, horizon_months, drivers, rounds, levers)
        h = horizon_months
        a = {"lever_counts": np.zeros((0, h + 1), dtype=np.int64), **a}  # before levers existed
        ruin = a["batch_ruin_counts"]
        sizes = a["batch_sizes"]
        if ruin.ndim != 2 or ruin.shape[1] != h + 1 or len(sizes) != len(ruin):
            raise ValueError("the checkpoint's ruin counts have the wrong shape")
        if not (ruin.sum(axis=1) == sizes).all():
            raise ValueError("the checkpoint's ruin counts do not add up")
        for name, target in (
            ("driver_counts", state.driver_counts),
            ("funding_counts", state.funding_counts),
            ("lever_counts", state.lever_counts),
        ):
            if a[name].shape != target.shape:
                raise ValueError(f"the checkpoint's {name} have the wrong shape")
            target[...] = a[name]
        state.chunks = int(a["chunks"])
        state.seconds = float(a["seconds"])
        state.batch_ruin_counts = list(ruin.astype(np.int64))
        state.batch_sizes = [int(n) for n in sizes]
        state._ruin_total = ruin.sum(axis=0, dtype=np.int64)
        if len(ruin):
            state._add_squares(square_sums(ruin, sizes))
        state.paths = sum(state.batch_sizes)
        state.sample_cash = a["sample_cash"] if len(a["sample_cash"]) else None
        for prefix, hist in (("hist", state.hist), ("fan", state.fan)):
            for k in ("counts", "sums", "minimum", "maximum"):
                value = a[f"{prefix}_{k}"]
                if value.shape != getattr(hist, k).shape:
                    raise ValueError(f"the checkpoint's {prefix} {k} have the wrong shape")
                getattr(hist, k)[...] = value
            hist.n = int(a[f"{prefix}_n"])
        if state.hist.n != state.paths or (state.hist.counts.sum(axis=1) != state.paths).any():
            raise ValueError("the checkpoint's histograms do not add up")
        return state


def _histogram_arrays(h: Histograms) -> dict[str, np.ndarray]:
    return {
        "counts": h.counts,
        "sums": h.sums,
        "minimum": h.minimum,
        "maximum": h.maximum,
        "n": np.array(h.n),
    }
