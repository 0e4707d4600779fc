"""How chances and their intervals are printed (engine/wording.py): an interval keeps the
decimals that tell its ends apart, and the estimate beside it has as many."""

from __future__ import annotations

import numpy as np
import pytest

from engine.wording import ci_text, pct, pct_in, pct_range


@pytest.mark.parametrize(
    ("p", "lo", "hi", "expected"),
    [
        (0.234, 0.233, 0.235, "23.4% (95% CI 23.3–23.5%)"),
        (0.0453, 0.0446, 0.0454, "4.53% (95% CI 4.46–4.54%)"),
        # resumed 20M-path run: "1.4% (95% CI 1.35–1.36%)" put the estimate outside its interval
        (0.013554, 0.013504, 0.013604, "1.36% (95% CI 1.35–1.36%)"),
        (0.45251, 0.452503, 0.452517, "45.251% (95% CI 45.250–45.252%)"),
        (0.0, 0.0, 0.0, "0.0% (95% CI 0.0–0.0%)"),
    ],
)
def test_an_estimate_has_the_decimals_of_its_interval(p, lo, hi, expected):
    assert f"{pct_in(p, lo, hi)} ({ci_text(lo, hi)})" == expected


def test_the_printed_estimate_never_lies_outside_its_printed_interval():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        p = rng.uniform(0, 1)
        half = 10 ** rng.uniform(-6, -1)
        lo, hi = max(p - half, 0.0), min(p + half, 1.0)
        shown = float(pct_in(p, lo, hi)[:-1])
        low, high = (float(x.rstrip("%")) for x in pct_range(lo, hi).split("–"))
        assert low <= shown <= high, (p, lo, hi, pct_in(p, lo, hi), pct_range(lo, hi))
        assert len(pct_in(p, lo, hi)) >= len(pct(p))  # never fewer decimals than plain pct


def test_a_chance_with_its_interval_in_a_sentence_and_in_a_cell():
    from engine.wording import pct_ci, pct_with_range

    assert pct_ci(0.013554, 0.013504, 0.013604) == "1.36% (95% CI 1.35–1.36%)"
    assert pct_with_range(0.013554, 0.013504, 0.013604) == "1.36% (1.35–1.36%)"
    assert pct_with_range(0.234, 0.233, 0.235) == "23.4% (23.3–23.5%)"
