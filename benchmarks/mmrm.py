"""Timing of trial_analysis.mmrm (unstructured MMRM, REML, Satterthwaite df) against R's nlme.

Run: ``.venv/bin/python benchmarks/mmrm.py [--no-r] [--r-timeout SECONDS]``.
Prints figures; asserts nothing.

Data: simulated HbA1c-like outcome, 2 arms, 7 visits, baseline covariate, monotone dropout
plus 3 % intermittent missing visits; 91 patients (the Zang 2022 size) and 10,000 patients.
Goals from the issue: < 0.5 s and < 10 s.

Peer baseline: ``nlme::gls(y ~ visit * arm + visit * base, correlation = corSymm(form = ~ vi |
subject), weights = varIdent(form = ~ 1 | visit), method = "REML")`` timed inside R
(``system.time``; the model fit only, not emmeans) on the same CSV, when ``Rscript`` exists.
A naive Python baseline is also timed for the small data set: the same likelihood evaluated
subject by subject (no grouping by missingness pattern), optimised with scipy's BFGS and
finite-difference gradients, as a straightforward implementation would.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import best_of, run_rscript
from scipy import optimize

import trial_analysis as ta
from trial_analysis import mmrm

WEEKS = (4, 8, 12, 16, 24, 36, 48)


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = len(WEEKS)
    sd = np.linspace(0.6, 1.0, T)
    R = 0.7 ** (np.abs(np.subtract.outer(range(T), range(T))) ** 0.7)
    L = np.linalg.cholesky(R * np.outer(sd, sd))
    arm = np.where(np.arange(n) < n // 2, "UC-MSC", "Placebo")
    base = rng.normal(9.0, 1.2, n)
    eff = -0.7 * np.arange(1, T + 1) / T
    y = 8.9 + 0.6 * (base[:, None] - 9) + (arm == "UC-MSC")[:, None] * eff
    y = y + rng.standard_normal((n, T)) @ L.T
    last = rng.choice(np.arange(2, T + 1), n, p=[0.03, 0.03, 0.04, 0.05, 0.05, 0.8])
    keep = (np.arange(T)[None, :] < last[:, None]) & (rng.random((n, T)) > 0.03)
    keep[:, 0] = True
    i, t = np.nonzero(keep)
    return pd.DataFrame(
        {
            "subject": [f"S{k:05d}" for k in i],
            "arm": arm[i],
            "visit": np.array(WEEKS)[t],
            "base": base[i].round(2),
            "y": y[i, t].round(3),
        }
    )


def naive_fit(d: pd.DataFrame) -> float:
    """Subject-by-subject REML with numerical gradients (the naive baseline)."""
    prep = mmrm._prepare(d, "y", "subject", "visit", "arm", "base", None)
    T = len(prep.visits)
    tri = np.tril_indices(T)
    diag = tri[0] == tri[1]
    subjects = [
        (prep.Xfull[i][prep.mask[i]], prep.yfull[i][prep.mask[i]], prep.mask[i])
        for i in range(prep.n_subjects)
    ]
    p = prep.Xfull.shape[2]
    n_obs = prep.n_obs

    def negll(th):
        Lc = np.zeros((T, T))
        v = th.copy()
        v[diag] = np.exp(th[diag])
        Lc[tri] = v
        S = Lc @ Lc.T
        XtVX, XtVy, logdet, parts = np.zeros((p, p)), np.zeros(p), 0.0, []
        for X, y, m in subjects:
            Vi = np.linalg.inv(S[np.ix_(m, m)])
            XtVX += X.T @ Vi @ X
            XtVy += X.T @ Vi @ y
            logdet += np.linalg.slogdet(S[np.ix_(m, m)])[1]
            parts.append((X, y, Vi))
        beta = np.linalg.solve(XtVX, XtVy)
        q = sum((y - X @ beta) @ Vi @ (y - X @ beta) for X, y, Vi in parts)
        return 0.5 * ((n_obs - p) * np.log(2 * np.pi) + logdet + np.linalg.slogdet(XtVX)[1] + q)

    th0 = np.where(diag, np.log(0.8), 0.0).astype(float)
    res = optimize.minimize(negll, th0, method="BFGS")
    return -res.fun


R_SCRIPT = r"""
suppressPackageStartupMessages(library(nlme))
d <- read.csv("{csv}")
d$visit <- factor(d$visit); d$arm <- factor(d$arm, levels = c("UC-MSC", "Placebo"))
d$vi <- as.integer(d$visit); d$subject <- factor(d$subject)
d <- d[order(d$subject, d$vi), ]
tm <- system.time(fit <- gls(y ~ visit * arm + visit * base, data = d,
  correlation = corSymm(form = ~ vi | subject), weights = varIdent(form = ~ 1 | visit),
  method = "REML"))
cat(sprintf("%.6f %.8f\n", tm[["elapsed"]], as.numeric(logLik(fit))))
"""


def r_time(d: pd.DataFrame, timeout: float) -> tuple[float, float] | str:
    out = run_rscript(R_SCRIPT, timeout, {"csv": d})
    if isinstance(out, str):
        return out
    el, ll = out
    return float(el), float(ll)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-r", action="store_true", help="skip the R nlme timing")
    ap.add_argument("--r-timeout", type=float, default=900.0)
    args = ap.parse_args()
    for n, goal, repeat in ((91, 0.5, 5), (10_000, 10.0, 2)):
        d = simulate(n, seed=20220503 + n)
        t, res = best_of(lambda d=d: ta.mmrm.fit(d, "y", "subject", "visit", "arm", "base"), repeat)
        print(
            f"n = {n} patients x {len(WEEKS)} visits ({len(d)} observed rows), unstructured, "
            f"REML + Satterthwaite: trial_analysis {t:.3f} s (goal < {goal:g} s; best of "
            f"{repeat}); REML loglik {res.loglik:.6f}"
        )
        if n == 91:
            tn, ll = best_of(lambda d=d: naive_fit(d), 1)
            print(
                f"    naive subject-by-subject REML (numerical gradients): {tn:.3f} s, "
                f"ratio {tn / t:.1f}x; loglik {ll:.6f}"
            )
        if not args.no_r:
            r = r_time(d, args.r_timeout)
            if isinstance(r, str):
                print(f"    R nlme::gls: {r}")
            else:
                print(
                    f"    R nlme::gls (fit only): {r[0]:.3f} s, ratio {r[0] / t:.1f}x; "
                    f"loglik {r[1]:.6f} (difference {res.loglik - r[1]:+.2e})"
                )


if __name__ == "__main__":
    main()
