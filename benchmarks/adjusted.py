"""Timing of ta.binary.adjusted (g-computation, Ye et al. 2023 robust variance) against R.

Run: ``.venv/bin/python benchmarks/adjusted.py [--n 100000] [--no-r] [--r-timeout SECONDS]``.
Prints figures; asserts nothing.

Data: simulated trial, ``n`` patients (default 100,000, the issue's size), 1:1 arms, 10
covariates (7 numeric, 2 binary, one 4-level factor), a logistic outcome; 4 randomisation
strata. Timed: ``ta.binary.adjusted(..., effect="all", variance="ye2023")`` without strata
and with the stratified-permuted-block correction.

Peer baseline, timed in the same run when ``Rscript`` exists: the same computation in R
(``glm(binomial)``, predictions under both arms with ``model.matrix``, the Ye variance with
``var``/``cov``, the delta method for RD/RR/OR), timed inside R with ``system.time`` (reading
the CSV excluded), as a user would write it without beeca/RobinCar (not in Debian). The
printed difference of the risk differences and SEs shows both computed the same thing.

On a shared, overloaded machine run with ``OPENBLAS_NUM_THREADS=1``: multi-threaded OpenBLAS
then spin-waits in the ``X' W X`` products of 100,000 x 17 designs (measured: 11 s for one
product instead of 0.01 s at a load average of 7 on 2 cores); R's reference BLAS is
single-threaded. The BLAS thread setting is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, machine, run_rscript

import trial_analysis as ta

NUMERIC = [f"x{i}" for i in range(1, 8)]
COVARIATES = [*NUMERIC, "b1", "b2", "site"]


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(rng.normal(size=(n, len(NUMERIC))), columns=NUMERIC)
    d["b1"] = rng.integers(0, 2, n)
    d["b2"] = rng.integers(0, 2, n)
    d["site"] = rng.choice(["A", "B", "C", "D"], n)
    d["stratum"] = rng.choice(["s1", "s2", "s3", "s4"], n)
    d["arm"] = rng.permutation(np.arange(n) % 2)
    lp = -0.3 + 0.5 * d["arm"] + d[NUMERIC].to_numpy() @ np.linspace(0.4, -0.2, 7)
    lp += 0.3 * d["b1"] - 0.2 * d["b2"] + d["site"].map({"A": 0, "B": 0.2, "C": -0.3, "D": 0.1})
    d["y"] = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    return d


R_SCRIPT = r"""
d <- read.csv("{csv}")
tm <- system.time({
  f <- y ~ arm + x1 + x2 + x3 + x4 + x5 + x6 + x7 + b1 + b2 + site
  fit <- glm(f, family = binomial, data = d)
  d1 <- d; d1$arm <- 1; d0 <- d; d0$arm <- 0
  b <- coef(fit)
  p1 <- plogis(drop(model.matrix(f, d1) %*% b)); p0 <- plogis(drop(model.matrix(f, d0) %*% b))
  th <- c(mean(p0), mean(p1)); a <- d$arm; yv <- d$y; N <- nrow(d)
  pi <- c(mean(a == 0), mean(a == 1)); P <- cbind(p0, p1); V <- matrix(0, 2, 2)
  for (i in 1:2) {
    m <- a == i - 1
    V[i, i] <- var(yv[m] - P[m, i]) / pi[i] + 2 * cov(yv[m], P[m, i]) - var(P[, i])
  }
  V[1, 2] <- V[2, 1] <- cov(yv[a == 0], P[a == 0, 2]) + cov(yv[a == 1], P[a == 1, 1]) -
    cov(P[, 1], P[, 2])
  V <- V / N
  g <- list(c(-1, 1), c(-1 / th[1], 1 / th[2]),
            c(-1 / (th[1] * (1 - th[1])), 1 / (th[2] * (1 - th[2]))))
  se <- sapply(g, function(gg) sqrt(drop(t(gg) %*% V %*% gg)))
})
cat(sprintf("%.6f %.12f %.12f\n", tm[["elapsed"]], th[2] - th[1], se[1]))
"""


def r_time(d: pd.DataFrame, timeout: float) -> tuple[float, float, float] | str:
    out = run_rscript(R_SCRIPT, timeout, {"csv": d})
    if isinstance(out, str):
        return out
    el, rd, se = out
    return float(el), float(rd), float(se)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true", help="skip the R timing")
    ap.add_argument("--r-timeout", type=float, default=600.0)
    args = ap.parse_args()
    print(machine() + f"; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    d = simulate(args.n, seed=2023)
    t, res = best_of(
        lambda: ta.binary.adjusted(d, "y", "arm", COVARIATES, effect="all", variance="ye2023"),
        args.repeat,
    )
    rd = res.row("rd")
    print(
        f"n = {args.n:,} patients, {len(COVARIATES)} covariates: g-computation RD/RR/OR with the "
        f"Ye 2023 variance: trial_analysis {t:.3f} s (best of {args.repeat}); "
        f"RD {rd.estimate:.6f} (SE {rd.se:.6f})"
    )
    ts, _ = best_of(
        lambda: ta.binary.adjusted(
            d, "y", "arm", COVARIATES, effect="all", variance="ye2023", strata="stratum"
        ),
        args.repeat,
    )
    print(f"    with 4 strata (permuted-block correction, strata in the model): {ts:.3f} s")
    if not args.no_r:
        r = r_time(d, args.r_timeout)
        if isinstance(r, str):
            print(f"    R glm + formulas: {r}")
        else:
            print(
                f"    R glm + g-computation + Ye variance (same run, CSV read excluded): "
                f"{r[0]:.3f} s, ratio R / trial_analysis {r[0] / t:.2f}x; RD difference "
                f"{rd.estimate - r[1]:+.1e}, SE difference {rd.se - r[2]:+.1e}"
            )


if __name__ == "__main__":
    main()
