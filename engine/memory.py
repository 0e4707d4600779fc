"""Memory of a run: the working set of one batch, the batch size that fits a budget, and
``parse_memory`` for ``--memory``.

The rule. A worker process holds, at its peak,

    BASELINE_BYTES                          Python + numpy + scipy + the engine (measured ~130 MiB)
  + fixed_bytes(scenario)                   histograms, whatever the batch size: MAX_CHUNK batch
                                            results of a chunk, the chunk's merge and the run's
                                            accumulator, each k * (HIST_BINS + 2) + H * (FAN_BINS
                                            + 2) int64 counts and float64 sums (k = 4 * years + 1)
  + n * path_bytes(scenario)                the arrays of a batch of n paths at their peak

and the batch size is the largest power of two n <= 65536 with that total <= the budget (default
512 MiB), at least 1. ``path_bytes`` counts what ``cashflow.draws`` and ``cashflow.model``
allocate per path, in float64 cells (8 bytes) unless said otherwise:

- draws, alive for the whole batch: one cell per per-path input and per (n, 1) noise column
  (an event's ``u``, a horizon shock's ``month_u``); H per per-month or per-year input (the
  ``amount`` of a ``per = "month"`` shock included) and per ``growth_z`` / ``volatility_z``
  noise; H bytes per ``per = "month"`` shock's ``hits`` (bool);
- then the largest of three phases:
  drawing: 3 H while a per-month input goes through its ``ppf`` (uniforms, temporaries), H for
  a per-month shock's uniforms, 8 c for Iman-Conover on c correlated inputs, 2 P for a Sobol
  matrix of P per-path inputs, 3 for a per-path ``ppf``;
  the cash model: H each for revenue, costs, the cash / scratch buffer, the volatility and
  factor-shock scratch buffer (if any line has one), each line kept whole because another
  line is a share of it, each group of lines the actions change alike, H per credit line
  (its balance), and H for the cash-month flows when a line collects or pays late; plus 2 H
  of temporaries when an input varies by month (converting a per-year growth, a per-month
  volatility), else H bytes (a horizon factor shock's mask);
  then the (k, n) per-path quantities (k = 4 * years + 1);
  the reduction: cash, the quantities and the histogram's positions and bin indices (H + 3 k),
  or the fan chart's copy, positions and indices of an eighth of the paths (H + k + 3 F / 8,
  F = H (1 + credit lines): the fan keeps each credit line's balance too).

The batch size depends only on the scenario and the budget (never on jobs or paths: it is part
of the reproducibility key). When the fixed histograms leave less than a quarter of (budget -
baseline) for the batch (horizons of many years: k grows with years), the batch gets that
quarter: no batch size can then meet the budget, and smaller batches would only slow the run.

Threads. With the threads backend one process runs ``workers`` batches at once: its peak is

    BASELINE_BYTES + one run accumulator + workers * (a chunk's batch results and merge
                                                      + n * path_bytes)

(:func:`threads_bytes`), and a local run uses threads only when that fits the budget too (else
one process per worker, each within the budget as above). The batch size is the same either
way.

``benchmarks/bench_memory.py`` measures the peak RSS this gives; ``tests/test_memory.py`` checks
it for a 200-line scenario.
"""

from __future__ import annotations

import re

from cashflow.draws import _is_zero, effective_vary
from cashflow.management import touched_groups
from cashflow.scenario import Scenario, Shock
from engine.batch import layout_of
from engine.outcomes import FAN_SHARE

__all__ = [
    "BASELINE_BYTES",
    "DEFAULT_BUDGET_BYTES",
    "MIN_BUDGET_BYTES",
    "batch_size",
    "fixed_bytes",
    "histogram_bytes",
    "parse_memory",
    "path_bytes",
    "threads_bytes",
    "working_set_bytes",
]

MiB = 2**20
DEFAULT_BUDGET_BYTES = 512 * MiB  # peak RSS of one process, default
#: Smallest budget accepted by parse_memory: the baseline plus room for batches of thousands of
#: paths (below the baseline every batch was 1 path and a run crawled without a word).
MIN_BUDGET_BYTES = 256 * MiB
BASELINE_BYTES = 160 * MiB  # interpreter, numpy, scipy, engine imports (~130 MiB measured)
CELL = 8  # float64


def path_bytes(scenario: Scenario) -> int:
    """Peak bytes per path of one batch's arrays (draws, cash model, reduction); see the module
    docstring for what is counted."""
    h = scenario.horizon_months
    specs = scenario.inputs()
    vary = effective_vary(scenario)
    uncertain = [name for name, spec in specs.items() if not spec.is_constant]
    per_path = sum(vary[name] == "path" for name in uncertain)
    by_month = sum(vary[name] != "path" for name in uncertain)  # "month" or "year": (n, H)
    noise_z = sum(
        (line.grows and not _is_zero(line.growth_noise)) + (not _is_zero(line.volatility))
        for line in scenario.lines
    )
    hits = sum(isinstance(e, Shock) and e.per == "month" for e in scenario.events)
    columns = sum(
        1 + (isinstance(e, Shock) and e.month is None)
        for e in scenario.events
        if not (isinstance(e, Shock) and e.per == "month")
    )
    draws = CELL * (per_path + columns + h * (by_month + noise_z)) + h * hits

    correlated = len(scenario.correlation.names) if scenario.correlation else 0
    drawing = CELL * max(3 * h * (by_month > 0), h * (hits > 0), 8 * correlated, 2 * per_path, 3)
    k = len(layout_of(scenario).quantity_names())
    kept = len({line.share_of for line in scenario.lines if line.share_of})
    scratch = any(not _is_zero(line.volatility) for line in scenario.lines) or any(
        isinstance(e, Shock) and e.line is not None for e in scenario.events
    )
    temporaries = 2 * CELL * h if by_month else h
    managed = len(touched_groups(scenario)) + len(scenario.credit)
    late = any(line.cash_delay is not None for line in scenario.lines)  # the cash-month flows
    model = CELL * h * (3 + scratch + kept + managed + late) + temporaries + CELL * k
    fan = h * (1 + len(scenario.credit))
    reduction = CELL * max(h + 3 * k, h + k + -(-3 * fan // FAN_SHARE))
    small = 4  # ruin month (int16) and masks per path
    return draws + max(drawing, model, reduction) + small


def fixed_bytes(scenario: Scenario, *, hist_bins: int, fan_bins: int, max_chunk: int) -> int:
    """Bytes of the histograms alive whatever the batch size: ``max_chunk`` batch results held
    by a chunk, the chunk's merge and the run's accumulator, counts (int64) and sums (float64)
    of k quantities on ``hist_bins`` bins and H months on ``fan_bins`` bins."""
    return (max_chunk + 2) * histogram_bytes(scenario, hist_bins=hist_bins, fan_bins=fan_bins)


def histogram_bytes(scenario: Scenario, *, hist_bins: int, fan_bins: int) -> int:
    """Bytes of one batch's (or chunk's, or run's) histograms: counts (int64) and sums
    (float64) of k quantities on ``hist_bins`` bins and H months on ``fan_bins`` bins."""
    k = len(layout_of(scenario).quantity_names())
    fan = scenario.horizon_months * (1 + len(scenario.credit))
    return 16 * (k * (hist_bins + 2) + fan * (fan_bins + 2))


def threads_bytes(
    scenario: Scenario, n: int, *, workers: int, per_chunk: int, hist_bins: int, fan_bins: int
) -> int:
    """Estimated peak RSS of one process running batches of ``n`` paths on ``workers`` threads
    at once, chunks of ``per_chunk`` batches (see the module docstring)."""
    one = histogram_bytes(scenario, hist_bins=hist_bins, fan_bins=fan_bins)
    worker = (per_chunk + 1) * one + n * path_bytes(scenario)
    return BASELINE_BYTES + one + workers * worker


def working_set_bytes(scenario: Scenario, n: int, *, fixed: int) -> int:
    """Estimated peak RSS of a process running batches of ``n`` paths (``fixed`` from
    :func:`fixed_bytes`)."""
    return BASELINE_BYTES + fixed + n * path_bytes(scenario)


def batch_size(scenario: Scenario, budget_bytes: int, *, max_batch: int, fixed: int) -> int:
    """The largest power of two n <= ``max_batch`` whose working set fits ``budget_bytes``
    (at least 1); see the module docstring for the rule."""
    room = max(budget_bytes - BASELINE_BYTES, 0)
    share = max(room - fixed, room // 4)
    fit = share // path_bytes(scenario)
    size = 1
    while size * 2 <= min(fit, max_batch):
        size *= 2
    return size


_UNITS = {"": 1, "b": 1, "k": 2**10, "kib": 2**10, "m": MiB, "mib": MiB, "g": 2**30, "gib": 2**30}
_UNITS |= {"kb": 2**10, "mb": MiB, "gb": 2**30}


MAX_BUDGET_BYTES = 2**40


def parse_memory(text: str) -> int:
    """A memory budget in bytes: "512M", "512MiB", "1G", "1.5GiB", "800000000" (bytes).

    K, M, G (with or without "iB" / "B") are powers of 1024. Raises ValueError (one line) for
    anything else or anything under MIN_BUDGET_BYTES (256 MiB).
    """
    s = str(text).strip().replace("_", "")
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)", s)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise ValueError(
            f"'{text}' is not a memory size; e.g. 512M, 512MiB, 1G, 1.5GiB or 800000000 (bytes)"
        )
    amount = float(m.group(1)) * _UNITS[unit]
    if not amount <= MAX_BUDGET_BYTES:  # inf from a huge number of digits included
        raise ValueError(f"memory budget '{text}' is over the maximum of 1 TiB")
    value = int(amount)
    if value < MIN_BUDGET_BYTES:
        raise ValueError(
            f"memory budget '{text}' is under the minimum of {MIN_BUDGET_BYTES // MiB} MiB "
            f"(Python, numpy and the engine take about {BASELINE_BYTES // MiB} MiB before any "
            "path)"
        )
    return value
