"""Timings of count inference and of the refusals before work (prints figures; asserts nothing).

Run:  .venv/bin/python benchmarks/counts.py [--n 5000] [--repeat 3]

1. The candidate counts ``(x, n)`` whose percentage rounds to a published one, for every
   denominator up to ``--n``: trial_analysis's bounded search (only the ``x`` next to
   ``n p / 100``) against the naive enumeration of every ``x = 0..n`` for every ``n``
   (O(n^2); what ``infer_counts`` did before), timed in the same run, same result checked.
2. ``infer_counts`` with the interval methods up to ``--n-ci`` (default 300).
3. How long a refusal takes (exact Fisher power at n = 100000; a sample-size search for
   p1 = 0.5, p2 = 0.52; count inference at n = 10^9): the estimate, not the work.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import best_of, machine

from trial_analysis import power
from trial_analysis.consistency import counts
from trial_analysis.errors import ResourceLimitError


def naive(p: float, n_max: int, decimals: int) -> list[tuple[int, int]]:
    out = []
    for nn in range(1, n_max + 1):
        x = np.arange(nn + 1)
        ok = counts._matches(100.0 * x / nn, p, decimals)
        out += [(int(xx), nn) for xx in x[ok]]
    return out


def refusal(fn, *args) -> float:
    t = time.perf_counter()
    try:
        fn(*args)
    except ResourceLimitError:
        return time.perf_counter() - t
    raise SystemExit(f"{fn.__name__}{args} was not refused")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--n-ci", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(machine())
    t_fast, fast = best_of(lambda: counts._candidates(20.0, 1, a.n, 2), a.repeat)
    t_naive, slow = best_of(lambda: naive(20.0, a.n, 2), 1)
    print(
        f"candidates of 20.00 % for n = 1..{a.n}: bounded {1000 * t_fast:.1f} ms, naive "
        f"{1000 * t_naive:.0f} ms; ratio naive / ours = {t_naive / t_fast:.0f}x; "
        f"same {len(fast)} candidates: {fast == slow}"
    )
    t_ci, df = best_of(
        lambda: counts.infer_counts(20.0, 4.55, a.n_ci, a.n_ci, ci=(2.25, 28.66)), a.repeat
    )
    print(f"infer_counts(20, 4.55, CI 2.25-28.66) up to n = {a.n_ci}: {t_ci:.2f} s, {len(df)} rows")
    for label, fn, args in (
        ("exact Fisher power at n1 = n2 = 100000", power.exact_power, (0.3, 0.2, 100000, 100000)),
        ("sample size by enumeration, p1 = 0.5, p2 = 0.52", power.sample_size, (0.5, 0.52)),
        ("count inference at n = 10^9", counts.infer_counts, (20.0, 4.55, 10**9, 10**9)),
    ):
        print(f"refusal of {label}: {1000 * refusal(fn, *args):.1f} ms")


if __name__ == "__main__":
    main()
