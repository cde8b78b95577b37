"""Simulated power of a continuous endpoint analysed as the trial will be (issue 19).

Scenario: 91 patients (46 vs 45) x 6 post-baseline visits, 15 % MCAR dropout, each trial
analysed by an unstructured MMRM with Satterthwaite df (``power.simulate``: every replicate by
``mmrm.fit_batch``), beside the peer measured in the same run: the loop of ``mmrm.fit`` over
the same replicates (timed on a sample, extrapolated); and the same trials analysed by ANCOVA
after J2R imputation (m = 20).

    python benchmarks/simpower.py [--n-sims 10000] [--mi-sims 200] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import machine

import trial_analysis as ta
from trial_analysis.power import Scenario, simulate
from trial_analysis.power.simulate import _draw, _long_frame

VISITS = [0, 2, 4, 8, 12, 16, 24]


def scenario(method: str = "mmrm") -> Scenario:
    analysis = {"endpoint": "y", "method": method}
    if method == "mi":
        analysis |= {"imputation": "j2r", "m": 20}
    return Scenario.from_dict(
        {
            "arms": {"names": ["Drug", "Placebo"], "n": [46, 45]},
            "endpoints": {
                "y": {
                    "type": "continuous",
                    "visits": VISITS,
                    "mean": {"Drug": [8 - 0.5 * t / 24 for t in VISITS], "Placebo": [8.0] * 7},
                    "sd": 1.0,
                    "correlation": {"structure": "ar1", "rho": 0.7},
                }
            },
            "dropout": {"rate": 0.15},
            "analyses": [analysis],
        }
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=10_000)
    ap.add_argument("--mi-sims", type=int, default=200)
    ap.add_argument("--loop-sample", type=int, default=20)
    ap.add_argument("--n-jobs", type=int, default=2)
    a = ap.parse_args()
    print(f"trial_analysis {ta.__version__} simulated MMRM power on: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    s = scenario()
    simulate(s, n_sims=10, seed=0)  # imports, first grids
    t0 = time.perf_counter()
    r = simulate(s, n_sims=a.n_sims, seed=1, n_jobs=a.n_jobs, chunk_size=1_000, progress=False)
    t = time.perf_counter() - t0
    row = r.to_frame().iloc[0]
    print(f"1. {a.n_sims:,} trials of 91 x 6 visits, 15 % dropout, UN MMRM (Satterthwaite):")
    print(
        f"   power.simulate ({a.n_jobs} processes): {t:.1f} s   power {row['power']:.4f} "
        f"(mc_se {row['mcse']:.4f}), coverage {row['coverage']:.4f}, bias {row['bias']:+.4f}, "
        f"failed {row['n_failed']}   (goal < 30 s)"
    )
    tr = _draw(s, s.n_by_arm, a.loop_sample, np.random.default_rng(2))
    df = _long_frame(s, s.endpoints["y"], tr, 0, a.loop_sample)
    t0 = time.perf_counter()
    for _rep, sub in df.groupby("REP"):
        ta.mmrm.fit(sub, "AVAL", "USUBJID", "AVISITN", "ARM", "BASE", reference="Placebo")
    per = (time.perf_counter() - t0) / a.loop_sample
    print(
        f"   loop of mmrm.fit: {per * 1e3:.0f} ms per trial -> {per * a.n_sims:.0f} s per "
        f"{a.n_sims:,} (1 core, from {a.loop_sample} trials)   ratio "
        f"{per * a.n_sims / t:.1f}x (goal >= 20x)"
    )
    m = scenario("mi")
    t0 = time.perf_counter()
    r = simulate(m, n_sims=a.mi_sims, seed=1, n_jobs=a.n_jobs, chunk_size=50, progress=False)
    t = time.perf_counter() - t0
    row = r.to_frame().iloc[0]
    print(f"2. {a.mi_sims:,} trials analysed by ANCOVA after J2R imputation (m = 20):")
    print(
        f"   power.simulate ({a.n_jobs} processes): {t:.1f} s -> {t * 10_000 / a.mi_sims:.0f} s "
        f"per 10,000 (extrapolated; goal < 30 s)   power {row['power']:.3f}, bias "
        f"{row['bias']:+.4f} against the complete-data truth"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
