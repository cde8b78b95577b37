"""Timing of trial_analysis.continuous / consistency.summaries against naive baselines.

Run: ``.venv/bin/python benchmarks/continuous.py``. Prints figures; asserts nothing.

1. BCa bootstrap of a mean difference (n = 45/44, 9999 resamples): ``bootstrap_bca``
   (scipy.stats.bootstrap, vectorised) vs a naive Python loop resampling each arm.
2. p(ρ) curve over 801 correlations: the vectorised ``rho_sensitivity`` vs calling
   ``ttest_from_summary`` once per ρ.
3. Exact Hodges–Lehmann CI (n = 45/44): ``mann_whitney`` vs scipy's ``mannwhitneyu`` alone
   (p-value only), to show the cost of the interval.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats

from trial_analysis import continuous as cont
from trial_analysis.consistency.summaries import ArmSummary, rho_sensitivity


def best(fn, repeat=3):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def naive_bca(x, y, b, rng):
    reps = np.empty(b)
    for i in range(b):
        reps[i] = rng.choice(x, x.size).mean() - rng.choice(y, y.size).mean()
    t0 = x.mean() - y.mean()
    jx = np.array([np.delete(x, i).mean() - y.mean() for i in range(x.size)])
    jy = np.array([x.mean() - np.delete(y, i).mean() for i in range(y.size)])
    ux, uy = (x.size - 1) * (jx.mean() - jx), (y.size - 1) * (jy.mean() - jy)
    a = ((ux**3).sum() / x.size**3 + (uy**3).sum() / y.size**3) / (
        6 * ((ux**2).sum() / x.size**2 + (uy**2).sum() / y.size**2) ** 1.5
    )
    z0 = stats.norm.ppf((reps < t0).mean())
    z = stats.norm.ppf([0.025, 0.975])
    return np.quantile(reps, stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))))


def main() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(-28, 20, 45), rng.normal(-16, 20, 44)

    t_fast = best(lambda: cont.bootstrap_bca(x, y, n_resamples=9999, seed=1))
    t_slow = best(lambda: naive_bca(x, y, 9999, np.random.default_rng(1)), repeat=1)
    print(
        f"BCa, 9999 resamples, n=45/44: bootstrap_bca {t_fast * 1e3:.1f} ms, "
        f"naive loop {t_slow * 1e3:.1f} ms, ratio {t_slow / t_fast:.1f}x"
    )

    a1 = ArmSummary("UC-MSC", 9.02, 1.27, 7.52, 1.07, 45, -1.31)
    a2 = ArmSummary("Placebo", 8.89, 1.11, 8.19, 1.02, 44, -0.63)
    grid = np.linspace(-0.999, 0.999, 801)

    def loop():
        for r in grid:
            s1 = np.sqrt(a1.sd_base**2 + a1.sd_follow**2 - 2 * r * a1.sd_base * a1.sd_follow)
            s2 = np.sqrt(a2.sd_base**2 + a2.sd_follow**2 - 2 * r * a2.sd_base * a2.sd_follow)
            cont.ttest_from_summary(-1.5, s1, 45, -0.7, s2, 44)

    t_fast = best(lambda: rho_sensitivity(a1, a2, 0.0081, readings=["means"], rho=grid))
    t_slow = best(loop, repeat=1)
    print(
        f"p(rho) curve, 801 points (+ interval search): rho_sensitivity {t_fast * 1e3:.1f} ms, "
        f"per-point ttest_from_summary loop {t_slow * 1e3:.1f} ms, ratio {t_slow / t_fast:.1f}x"
    )

    t_ci = best(lambda: cont.mann_whitney(x, y))
    t_p = best(lambda: stats.mannwhitneyu(x, y, method="exact"))
    print(
        f"Mann-Whitney n=45/44 exact: with HL shift + exact CI {t_ci * 1e3:.1f} ms, "
        f"scipy p-value only {t_p * 1e3:.1f} ms, ratio {t_ci / t_p:.1f}x"
    )


if __name__ == "__main__":
    main()
