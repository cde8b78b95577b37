"""Timings of trial_analysis.meta (prints figures; asserts nothing).

Run:  .venv/bin/python benchmarks/meta.py [--k 10000] [--repeat 5] [--no-r]

REML with the Hartung-Knapp-Sidik-Jonkman adjustment and leave-one-out on k simulated studies
(goal: < 2 s for k = 10,000):

1. trial_analysis: ``rma(yi, vi, method="REML", test="knha")`` then ``leave1out`` (all k
   refits at once), best of ``--repeat`` runs.
2. Naive baseline timed in the same run: leave-one-out as k separate ``rma`` refits (a sample
   of refits is timed and extrapolated to k).
3. R metafor (when ``Rscript`` with metafor is installed) on the first ``--r-k`` studies of the
   same data (default 1,000): ``rma.uni`` fit and ``leave1out`` extrapolated from
   ``--r-deletions`` refits, next to trial_analysis on the same subset. metafor's REML works
   with k x k matrices (P %*% P is O(k^3) per iteration), so a fit on all 10,000 studies does
   not finish in reasonable time; increase ``--r-k`` to try.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _common import best_of, machine, run_rscript

import trial_analysis.meta as M


def simulate(k: int, seed: int = 20240101) -> tuple[np.ndarray, np.ndarray]:
    """k studies: vi ~ U(0.01, 0.5), true effects N(0.3, tau^2 = 0.05)."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    return yi, vi


R_SCRIPT = r"""
suppressMessages(library(metafor))
d <- read.csv("{csv}"); n_del <- as.integer(commandArgs(TRUE)[1])
t0 <- proc.time()[["elapsed"]]
r <- rma(yi, vi, data = d, method = "REML", test = "knha")
t_fit <- proc.time()[["elapsed"]] - t0
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(n_del)) rma(yi, vi, data = d[-i, ], method = "REML", test = "knha")
t_del <- (proc.time()[["elapsed"]] - t0) / n_del
cat(sprintf("%.17g %.17g %.6f %.6f %s\n", r$beta[1], r$tau2, t_fit, t_del,
            as.character(packageVersion("metafor"))))
"""


def run_r(yi, vi, n_del: int) -> tuple[float, float, float, float, str] | None:
    out = run_rscript(R_SCRIPT, 1800, {"csv": pd.DataFrame({"yi": yi, "vi": vi})}, [str(n_del)])
    if isinstance(out, str):
        if out != "Rscript not found":  # said by the caller
            print(f"R metafor: not run ({out})")
        return None
    b, t2, tf, td, ver = out
    return float(b), float(t2), float(tf), float(td), ver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--naive-sample", type=int, default=50)
    ap.add_argument("--r-k", type=int, default=1000)
    ap.add_argument("--r-deletions", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    a = ap.parse_args()
    print(machine())
    yi, vi = simulate(a.k)
    print(f"k = {a.k} simulated studies (seed 20240101)")

    def ours():
        res = M.rma(yi, vi, method="REML", test="knha")
        return res, M.leave1out(res)

    t_ours, (res, loo) = best_of(ours, a.repeat)
    t_fit, _ = best_of(lambda: M.rma(yi, vi, method="REML", test="knha"), a.repeat)
    print(
        f"trial_analysis  REML+HKSJ fit + leave1out: {t_ours:.3f} s (best of {a.repeat}; "
        f"fit alone {t_fit:.3f} s); goal < 2 s"
    )
    print(f"  estimate {res.estimate:.6f}, tau2 {res.tau2:.6f}")

    # naive: k separate refits (sampled)
    n = min(a.naive_sample, a.k)
    t0 = time.perf_counter()
    naive = [
        M.rma(np.delete(yi, i), np.delete(vi, i), method="REML", test="knha") for i in range(n)
    ]
    t_naive = (time.perf_counter() - t0) / n * a.k
    diff = max(abs(naive[i].estimate - loo.table.estimate[i]) for i in range(n))
    print(
        f"naive loop of {a.k} refits (extrapolated from {n}): {t_naive:.1f} s; "
        f"ratio naive / ours = {t_naive / t_ours:.0f}x; max |estimate difference| on the "
        f"sample = {diff:.2e}"
    )

    if not a.no_r:
        kr = min(a.r_k, a.k)
        yr, vr = yi[:kr], vi[:kr]

        def ours_r():
            res = M.rma(yr, vr, method="REML", test="knha")
            return res, M.leave1out(res)

        t_small, (res_small, _) = best_of(ours_r, a.repeat)
        r = run_r(yr, vr, a.r_deletions)
        if r is not None:
            b, t2, tf, td, ver = r
            t_r = tf + td * kr
            print(
                f"R metafor {ver} on the first {kr} studies: fit {tf:.2f} s; fit + leave1out "
                f"(extrapolated from {a.r_deletions} refits) {t_r:.1f} s; trial_analysis on "
                f"the same {kr}: {t_small:.3f} s; ratio R / ours = {t_r / t_small:.0f}x"
            )
            print(
                f"  R estimate {b:.6f}, tau2 {t2:.6f}; |diff| {abs(b - res_small.estimate):.1e}"
                f", {abs(t2 - res_small.tau2):.1e} (metafor's default threshold 1e-5)"
            )
        else:
            print("R metafor: Rscript not found")


if __name__ == "__main__":
    main()
