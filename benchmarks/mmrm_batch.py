"""Timing of trial_analysis.mmrm.fit_batch (batched REML over replicate trials) against a loop
of mmrm.fit and a loop of R's nlme::gls.

Run: ``.venv/bin/python benchmarks/mmrm_batch.py [--replicates 256] [--loop 16] [--r 4]
[--no-r]``. Prints figures; asserts nothing.

Data: ``--replicates`` simulated trials of 91 patients x 7 visits (the Zang 2022 size) with
about 15 % monotone dropout and 3 % intermittent missing visits (``benchmarks/mmrm.py``'s
``simulate``), unstructured covariance, REML, Satterthwaite df, baseline covariate.

Peers, timed in the same run: the loop of ``mmrm.fit`` over the first ``--loop`` replicates
(the agreement of the batch with it is printed), and ``nlme::gls(y ~ visit * arm + visit *
base, correlation = corSymm, weights = varIdent, method = "REML")`` over the first ``--r``
replicates inside one R process (``system.time`` of the fits only), when Rscript exists.
Per-replicate times are compared; the issue's goal is 10,000 replicates in under 30 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _common import machine, r_gls_loop
from mmrm import simulate

from trial_analysis import mmrm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=256)
    ap.add_argument("--loop", type=int, default=16, help="replicates fitted one by one")
    ap.add_argument("--r", type=int, default=4, help="replicates fitted by R nlme::gls")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--r-timeout", type=float, default=600.0)
    args = ap.parse_args()
    print(machine())
    n_rep = args.replicates
    d = pd.concat(
        [simulate(91, seed=1000 + r).assign(rep=r) for r in range(n_rep)], ignore_index=True
    )
    cols = ("y", "subject", "visit", "arm")
    t0 = time.perf_counter()
    out = mmrm.fit_batch(d, *cols, replicate="rep", baseline="base")
    tb = time.perf_counter() - t0
    per = tb / n_rep
    print(
        f"fit_batch: {n_rep} replicates of 91 x 7 in {tb:.2f} s = {1e3 * per:.1f} ms/replicate "
        f"(refitted singly {out.attrs['n_refit']}, failed {out.attrs['n_failed']}); "
        f"10,000 replicates extrapolated: {1e4 * per:.0f} s (goal < 30 s)"
    )
    k = min(args.loop, n_rep)
    worst = {"estimate": 0.0, "se": 0.0, "df": 0.0}
    t0 = time.perf_counter()
    fits = [mmrm.fit(d[d["rep"] == r], *cols, "base").contrasts for r in range(k)]
    tl = (time.perf_counter() - t0) / k
    for r, c in enumerate(fits):
        m = out[out["replicate"] == r].merge(c, on=["visit", "contrast"], suffixes=("_b", ""))
        if len(m) != len(c):
            raise SystemExit(f"replicate {r}: the batch and the single fit report other rows")
        for col in worst:
            rel = np.abs(m[col + "_b"] - m[col]) / np.maximum(1.0, np.abs(m[col]))
            worst[col] = max(worst[col], float(rel.max()))
    print(
        f"loop of mmrm.fit over {k} replicates: {1e3 * tl:.1f} ms/replicate, ratio "
        f"{tl / per:.1f}x (largest relative difference: estimate {worst['estimate']:.1e}, "
        f"se {worst['se']:.1e}, df {worst['df']:.1e})"
    )
    if not args.no_r:
        kr = min(args.r, n_rep)
        res = r_gls_loop(d[d["rep"] < kr], args.r_timeout)
        if isinstance(res, str):
            print(f"R nlme::gls loop: {res}")
        else:
            print(
                f"R nlme::gls loop over {kr} replicates (fits only): {res / kr:.2f} s/replicate, "
                f"ratio {res / kr / per:.0f}x"
            )


if __name__ == "__main__":
    main()
