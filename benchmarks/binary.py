"""Timing of trial_analysis.binary against scipy's per-table exact tests.

Run: ``.venv/bin/python benchmarks/binary.py``. Prints figures (wall and CPU seconds, best of
3 after a warm-up); asserts nothing. Goal of the issue: under 1 s each on 2 cores.

1. ``compare(9, 45, 2, 44)``: the whole table (8 tests incl. Barnard and Boschloo, 6 RD
   intervals incl. the Chan-Zhang exact one, RR, OR with the Fisher-matching intervals, NNT).
2. ``fragility_index(..., test="boschloo")`` for 9/45 vs 2/44 and 30/100 vs 10/100, and
   ``fragility_table`` (all 8 tests); baseline: the same Walsh search with one
   ``scipy.stats.boschloo_exact`` call per table.
3. ``pvalue_grid(45, 44, "boschloo")`` (all 2070 tables; what exact power and a fragility search
   over every direction need); baseline: ``scipy.stats.boschloo_exact`` per table, timed on 20
   tables and scaled to 2070 (the full loop takes minutes).
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy import stats

from trial_analysis import binary


def best(fn, repeat=3):
    fn()  # warm-up (imports, caches)
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def scipy_walsh_boschloo(x1, n1, x2, n2, alpha=0.05):
    """Naive Walsh search: one scipy call per modified table."""
    k = 0
    while True:
        t = [[x1, x2 + k], [n1 - x1, n2 - x2 - k]]
        if stats.boschloo_exact(t).pvalue >= alpha:
            return k
        k += 1


def main() -> None:
    print(f"cores: {os.cpu_count()}; numpy {np.__version__}")
    rows = []
    w, c = best(lambda: binary.compare(9, 45, 2, 44))
    rows.append(("compare(9, 45, 2, 44), full table", w, c, None))
    for tab in ((9, 45, 2, 44), (30, 100, 10, 100)):
        w, c = best(lambda tab=tab: binary.fragility_index(*tab, test="boschloo"))
        wb, _ = best(lambda tab=tab: scipy_walsh_boschloo(*tab), repeat=1)
        fi = binary.fragility_index(*tab, test="boschloo").index
        rows.append((f"fragility_index boschloo {tab} (FI={fi})", w, c, wb))
    w, c = best(lambda: binary.fragility_table(9, 45, 2, 44))
    rows.append(("fragility_table (8 tests)", w, c, None))
    w, c = best(lambda: binary.pvalue_grid(45, 44, "boschloo"), repeat=2)
    rng = np.random.default_rng(1)
    sample = [
        (int(a), int(b))
        for a, b in zip(rng.integers(0, 46, 20), rng.integers(0, 45, 20), strict=True)
    ]
    w0 = time.perf_counter()
    for a, b in sample:
        stats.boschloo_exact([[a, b], [45 - a, 44 - b]])
    per_table = (time.perf_counter() - w0) / len(sample)
    rows.append(("pvalue_grid(45, 44, boschloo), 2070 tables", w, c, per_table * 46 * 45))
    print(f"{'task':52s} {'wall s':>8s} {'cpu s':>8s} {'scipy s':>10s} {'ratio':>7s}")
    for name, w, c, base in rows:
        b = "" if base is None else f"{base:10.2f}"
        r = "" if base is None else f"{base / w:7.0f}"
        print(f"{name:52s} {w:8.3f} {c:8.3f} {b:>10s} {r:>7s}")
    print("scipy column: fragility = Walsh loop of scipy.stats.boschloo_exact (measured);")
    print("grid = mean of 20 scipy.stats.boschloo_exact calls x 2070 tables (extrapolated).")


if __name__ == "__main__":
    main()
