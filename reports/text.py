"""Words from numbers: dates, money, percentages and the report's plain-language sentences.

Nothing here draws; every function takes plain numbers (or small DataFrames) and returns text.
Percentages carry one decimal, formatted exactly as the command line prints them
(``f"{100 * p:.1f}%"``), so the report and ``summary.json`` can be compared by a test.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from engine.wording import (
    ci_text,
    date_short,
    date_words,
    month_short,
    month_words,
    pct,
    pct_ci,
    pct_in,
    pct_range,
    pct_with_range,
    runway_words,
)

__all__ = [
    "LIMITATIONS",
    "Money",
    "ci_text",
    "convergence_caption",
    "date_short",
    "date_words",
    "driver_sentences",
    "funding_sentence",
    "headline",
    "interval_words",
    "levers_words",
    "limitations",
    "management_method_words",
    "method_words",
    "month_short",
    "month_words",
    "pct",
    "pct_ci",
    "pct_in",
    "pct_range",
    "pct_with_range",
    "precision_words",
    "runway_words",
    "sampler_words",
    "summary_paragraph",
]

_CURRENCY = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "$": "$", "€": "€", "£": "£"}
_SCALE = {
    "thousand": "k",
    "k": "k",
    "million": "M",
    "m": "M",
    "mn": "M",
    "billion": "B",
    "bn": "B",
    "b": "B",
    "trillion": "T",
    "tn": "T",
}
MINUS = "\u2212"


#: Amounts (in the scenario's unit) from which digits give way to an exponent: 1e12 units is
#: already beyond any company's figures, and 1e300 written out would fill several lines.
HUGE = 1e12


def _exponent(a: float) -> str:
    """``1e300``, ``2.5e15``: three significant digits and the exponent without '+'."""
    return f"{a:.3g}".replace("e+", "e")


@dataclass(frozen=True)
class Money:
    """Formats amounts in a scenario's unit: ``"USD billion"`` gives ``$3.7B``.

    A unit made of a currency code and a scale word becomes symbol + number + letter; any other
    unit is written after the number (``3.7 tonnes``).
    """

    unit: str

    def _parts(self) -> tuple[str, str]:
        words = self.unit.strip().split()
        if len(words) in (1, 2):
            cur = words[0]
            scale = words[1].lower() if len(words) == 2 else ""
            if scale in _SCALE or scale == "":
                symbol = _CURRENCY.get(cur.upper(), _CURRENCY.get(cur))
                if symbol is None and re.fullmatch(r"[A-Z]{3}", cur):
                    symbol = cur + " "
                if symbol is not None:
                    return symbol, _SCALE.get(scale, "")
        return "", " " + self.unit.strip() if self.unit.strip() else ""

    def __call__(self, x: float, decimals: int | None = None) -> str:
        """One amount: 1 decimal from 0.1 to 100, 2 below 0.1, none from 100 on (unless given);
        from HUGE on, 3 significant digits with an exponent (``$1e300B``)."""
        if not math.isfinite(x):
            return "n/a"
        prefix, suffix = self._parts()
        a = abs(x)
        if a >= HUGE:
            return f"{MINUS if x < 0 else ''}{prefix}{_exponent(a)}{suffix}"
        if decimals is None:
            decimals = 0 if a >= 100 else 1 if a >= 0.095 else 2
        body = f"{a:,.{decimals}f}"
        if float(body.replace(",", "")) == 0:
            return f"{prefix}0" if prefix else "0" + suffix
        sign = MINUS if x < 0 else ""
        return f"{sign}{prefix}{body}{suffix}"

    def tick(self, x: float, _pos: object = None) -> str:
        """An axis tick: as few decimals as the value needs (``$2.5B``, ``$10B``, ``$0``)."""
        prefix, suffix = self._parts()
        if abs(x) < 1e-12:
            return f"{prefix}0" if prefix else "0" + suffix
        a = abs(x)
        text = _exponent(a) if a >= HUGE else f"{a:,.2f}".rstrip("0").rstrip(".")
        return f"{MINUS if x < 0 else ''}{prefix}{text}{suffix}"


def headline(before: dt.date, probability: float, ci95: tuple[float, float]) -> str:
    """``There is a 23.4% chance (95% CI 23.3–23.5%) that cash runs out before 1 January 2026.``"""
    lo, hi = ci95
    return (
        f"There is {_article(probability)} {pct_in(probability, lo, hi)} chance "
        f"({ci_text(lo, hi)}) "
        f"that cash runs out before {date_words(before)}."
    )


def _article(p: float) -> str:
    """ "an" before a percentage read with a vowel sound (8, 11, 18, 80-89 ...), else "a"."""
    digits = f"{100 * p:.1f}"
    return "an" if digits.startswith(("8", "11.", "18.")) else "a"


def driver_sentences(drivers: pd.DataFrame, before: dt.date, top: int = 3) -> str:
    """What moves the risk most, from the drivers table (input, p_low, p_high, swing)."""
    d = drivers.dropna(subset=["p_low", "p_high"])
    d = d[d["swing"] > 0].head(top)
    if d.empty:
        return "No single uncertain input moves the chance of running out noticeably."
    first = d.iloc[0]
    text = (
        f"The input that moves the risk most is {first['input']}: at its 10th percentile the "
        f"chance that cash runs out before {date_words(before)} is {pct(first['p_low'])}, at its "
        f"90th {pct(first['p_high'])}."
    )
    rest = [
        f"{r['input']} ({pct(r['p_low'])} vs {pct(r['p_high'])})" for _, r in d.iloc[1:].iterrows()
    ]
    if rest:
        text += (
            " Next come "
            + " and ".join([", ".join(rest[:-1]), rest[-1]] if len(rest) > 1 else rest)
            + "."
        )
    return text


def funding_sentence(effect: pd.DataFrame, before: dt.date) -> str:
    """What each funding round changes, from ``Results.funding_effect`` (event, share_closes,
    p_if_closes and p_if_not with their 95% intervals ci_if_closes_lo / _hi, ci_if_not_lo /
    _hi)."""
    parts = []
    for _, r in effect.iterrows():
        share = float(r["share_closes"])
        if share <= 0:
            parts.append(f"The {r['event']} round never closes in this scenario.")
        elif share >= 1:
            parts.append(f"The {r['event']} round closes in every path.")
        else:
            parts.append(
                f"The {r['event']} round closes in {pct(share)} of paths; when it does, the "
                f"chance that cash runs out before {date_words(before)} is "
                f"{_with_ci(r, 'closes')}, when it does not, {_with_ci(r, 'not')}."
            )
    return " ".join(parts)


def _with_ci(row: pd.Series, case: str) -> str:
    """``"20.1% (95% CI 19.8–20.4%)"``: ``p_if_{case}`` of a funding-effect row with its 95%
    confidence interval."""
    lo, hi = row[f"ci_if_{case}_lo"], row[f"ci_if_{case}_hi"]
    return pct_ci(row[f"p_if_{case}"], lo, hi)


def _net_loss_sentence(year: int, p5: float, p50: float, p95: float, money: Money) -> str:
    """The first year's median net loss (or profit) and its 90% range, in words."""

    def result(x: float) -> str:
        return f"a loss of {money(x)}" if x >= 0 else f"a profit of {money(-x)}"

    if p5 >= 0:
        return (
            f"The median net loss in {year} is {money(p50)} (90% of paths between "
            f"{money(p5)} and {money(p95)})."
        )
    if p95 < 0:
        return (
            f"The median net profit in {year} is {money(-p50)} (90% of paths between "
            f"{money(-p95)} and {money(-p5)})."
        )
    return (
        f"The median net result in {year} is {result(p50)}; 90% of paths lie between "
        f"{result(p5)} and {result(p95)}."
    )


def summary_paragraph(
    *,
    paths: int,
    horizon_end: str,
    never_runs_out: float,
    median_runway: int | str,
    median_ruin_label: str | None,
    drivers: str,
    funding: str,
    net_loss: list[tuple[int, float, float, float]],
    money: Money,
) -> str:
    """The plain-language paragraph of the summary page.

    ``net_loss``: (year, p5, p50, p95) per calendar year; ``horizon_end``: "YYYY-MM" of the
    last simulated month.
    """
    runs_out = 1.0 - never_runs_out
    if runs_out == 0:
        text = (
            f"None of the {paths:,} simulated futures runs out of cash before the end of "
            f"{month_words(horizon_end)}. "
        )
    else:
        text = (
            f"Across {paths:,} simulated futures, cash runs out before the end of "
            f"{month_words(horizon_end)} in {pct(runs_out)} of them and lasts throughout in "
            f"{pct(never_runs_out)}. "
        )
    if isinstance(median_runway, str):
        text += "The median runway is beyond the simulated horizon. "
    else:
        text += f"The median runway is {runway_words(median_runway, median_ruin_label)}. "
    if net_loss:
        text += _net_loss_sentence(*net_loss[0], money) + " "
    text += drivers
    if funding:
        text += " " + funding
    return text


def sampler_words(name: str) -> str:
    """``"lhs"`` -> ``"Latin hypercube"``."""
    names = {"mc": "plain Monte Carlo", "lhs": "Latin hypercube", "sobol": "scrambled Sobol"}
    return names.get(name, name)


def interval_words(
    sampler: str,
    batches: int,
    *,
    replicates: bool,
    notes: Sequence[str] = (),
    bounded: bool = False,
) -> str:
    """How the run's standard errors and 95% confidence intervals are computed, for the method
    page: ``replicates``: from the ``batches`` as independent replicates (lhs / sobol, see
    :mod:`engine.results`), else binomial (Wilson); ``notes``: the answers' notes on why an lhs
    / sobol run fell back to the binomial interval; ``bounded``: some answer has no standard
    error (no path or every path runs out)."""
    if replicates:
        text = (
            f"With {sampler_words(sampler)} sampling the paths of a batch are not independent "
            "draws (the binomial formula would overstate the error), but each of the "
            f"{batches:,} batches is an independent randomization with its own seed: a chance's "
            "standard error is that of the size-weighted mean of the batch estimates p_b, "
            "sqrt(sum n_b (p_b - p)² / ((B - 1) N)) with B batches of n_b paths and N paths in "
            "all, and its 95% confidence interval the estimate plus or minus the Student t "
            f"quantile with {batches - 1:,} degrees of freedom times it (the shares of paths on "
            "the Drivers and funding pages keep the Wilson interval)."
        )
    else:
        text = (
            "A chance p estimated from N paths has the binomial standard error "
            "sqrt(p (1 - p) / N) and the 95% Wilson score confidence interval"
            + (", as the paths are independent draws." if sampler == "mc" else ".")
        )
    for note in dict.fromkeys(n for n in notes if n):
        text += f" {note[0].upper()}{note[1:]}."
    if bounded:
        text += (
            " When no path (or every path) runs out there is no standard error to give: the "
            "Wilson interval's far end bounds the chance."
        )
    return text


def convergence_caption(replicates: bool) -> str:
    """The caption of the method page's convergence charts (``replicates``: the band comes from
    the batches as replicates, as in :func:`interval_words`)."""
    band = (
        "from the batches as replicates with Student t once there are 30 of them, the Wilson "
        "score interval before"
        if replicates
        else "Wilson score interval"
    )
    return (
        "Each dot is the estimate after another batch of paths, the shaded band its 95% "
        f"confidence interval ({band}); the dotted funnel is the ±1.96 standard-error range "
        "expected around the final estimate for an estimate from part of the run's paths. The "
        "part shares its paths with the whole run, so the funnel narrows by the finite-sample "
        "correction, sqrt(1 - n / N), and closes on the final estimate at the last batch. When "
        "the dots settle inside the funnel, more paths would change the answer by less than the "
        "band."
    )


def precision_words(
    probability: float, std_error: float | None, paths: int, replicates: int = 0
) -> str:
    """``"standard error 0.12 points; 10,000 paths"`` (``", from 64 batches"`` after the
    points when the error comes from batches as replicates); without a standard error (no path
    or every path runs out) which end of the interval bounds the chance."""
    if std_error is None:
        end = "upper" if probability <= 0 else "lower"
        who = "no path" if probability <= 0 else "every path"
        return (
            f"{who} runs out: no standard error, the interval's {end} end bounds it; "
            f"{paths:,} paths"
        )
    source = f", from {replicates:,} batches" if replicates else ""
    return f"standard error {100 * std_error:.2f} points{source}; {paths:,} paths"


def method_words(
    *,
    start: str,
    horizon_months: int,
    unit: str,
    floor: str,
    paths: int,
    seed: int,
    sampler: str,
    bins: int,
    fan_paths: int | None = None,
    management: str = "",
    intervals: str = "",
) -> str:
    """How the model works, in one paragraph, with the run's own numbers; ``management``: the
    sentence on the scenario's levers (:func:`management_method_words`), if any;
    ``intervals``: how the confidence intervals are computed (:func:`interval_words`)."""
    return (
        f"The scenario describes the company month by month from {month_words(start)} for "
        f"{horizon_months} months, in {unit}. Every uncertain input (revenue, its growth, compute "
        "and staff costs, funding rounds that may or may not close, shocks) is a probability "
        "distribution, listed on the Assumptions page. Each simulated path draws one value of "
        "every input (rank-correlated where the scenario says so), computes revenue and costs "
        "for every month, adds funding when a round closes and applies shocks, and carries the "
        "cash balance forward: cash at the end of a month is the previous balance plus that "
        "month's revenue and funding minus its costs. "
        + (f"{management} " if management else "")
        + "Cash has run out in the first month it "
        f"ends below the floor ({floor}). The chance of running out before a date is the share "
        "of paths that run out in an earlier month"
        + (
            f". {intervals} "
            if intervals
            else "; its confidence interval comes from the number of paths. "
        )
        + f"{paths:,} paths were drawn with seed {seed} "
        f"({sampler_words(sampler)}); the same seed, paths and sampler give the same numbers on "
        "any machine. Percentiles of money amounts come from fine histograms "
        f"({bins:,} bins per figure) merged across batches"
        + (
            f"; the monthly cash fan chart uses a systematic sample of {fan_paths:,} of the paths."
            if fan_paths and fan_paths < paths
            else "."
        )
    )


def _listing(kind: str, names: Sequence[str]) -> str:
    """``("action", ["cut"])`` -> ``"the action cut"``; several: ``"2 actions (cut, freeze)"``."""
    if len(names) == 1:
        return f"the {kind} {names[0]}"
    return f"{len(names)} {kind}s ({', '.join(names)})"


def levers_words(
    actions: Sequence[str] = (), bridges: Sequence[str] = (), credit: Sequence[str] = ()
) -> str:
    """The scenario's levers in words: ``"the action cut, the bridge round bridge and the
    credit line rcf"`` (``""`` when there is none)."""
    parts = [
        _listing(kind, names)
        for kind, names in (("action", actions), ("bridge round", bridges), ("credit line", credit))
        if names
    ]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def management_method_words(
    actions: Sequence[str] = (), bridges: Sequence[str] = (), credit: Sequence[str] = ()
) -> str:
    """How the model lets management react (one sentence; ``""`` without levers)."""
    if not (actions or bridges or credit):
        return ""
    does = []
    if actions:
        does.append("an action changes its lines from a later month")
    if bridges:
        does.append(
            "a bridge round is raised the first time its condition holds and pays after its "
            "delay if it closes"
        )
    if credit:
        does.append("a credit line is drawn automatically to keep cash at the floor")
    if len(does) > 1:
        does[-1] = "and " + does[-1]
    return (
        f"Management reacts on each path through {levers_words(actions, bridges, credit)}: "
        "at the end of every month the model reads that path's own cash and runway (cash "
        "plus undrawn credit above the floor, over the average burn of the last three "
        f"months); {', '.join(does) if len(does) > 2 else ' '.join(does)}."
    )


def limitations(
    actions: Sequence[str] = (), bridges: Sequence[str] = (), credit: Sequence[str] = ()
) -> str:
    """The Limitations paragraph: what is modelled of management's reactions (the scenario's
    actions, bridge rounds and credit lines, by name) and what is not."""
    levers = levers_words(actions, bridges, credit)
    if levers:
        management = (
            f"Management reacts only as the scenario describes ({levers}), on each path's own "
            "cash and runway at the end of every month and from a later month (costs are never "
            "cut part-way through a month); reacting to anything else (a missed plan, market "
            "news), negotiating (a larger credit line, better terms), new products and price "
            "changes are not modelled."
            + (
                ' With a credit line, "runs out" means cash below the floor with the line '
                "fully drawn or not available."
                if credit
                else ""
            )
            + " A path keeps spending after its cash runs out."
        )
    else:
        management = (
            "This scenario models no management reaction (no actions, bridge rounds or "
            "credit lines), so spending continues as planned however low cash gets; the "
            "scenario format supports all three. Anything else outside the scenario (new "
            "products, price changes) is not modelled either; a path keeps spending after its "
            "cash runs out."
        )
    return (
        "The results are only as good as the inputs: where the Assumptions page says "
        '"assumption", the number is a judgement, not a fact, and the risk moves with it (see '
        f"Drivers). {management} Correlations are limited to those listed. The confidence "
        "intervals measure Monte Carlo noise only, not the uncertainty in the assumptions "
        "themselves. Tail figures (VaR, CVaR, p1 / p99) rest on few paths and are less precise "
        "than the medians."
    )


#: The Limitations paragraph of a scenario without actions, bridge rounds or credit lines.
LIMITATIONS = limitations()
