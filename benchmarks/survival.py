"""Timings of trial_analysis.survival and power.simulate_survival (prints figures; asserts nothing).

Run:  .venv/bin/python benchmarks/survival.py [--cox-n 100000] [--logrank-n 1000000]
      [--sims 10000] [--r-sims 1000] [--repeat 3] [--no-r]

Each line prints trial_analysis's time beside R's ``survival`` package timed in the same run on
the same data (R's time measured inside R, excluding reading the CSV), and their ratio:

1. Cox model (Efron ties, 2 covariates) on ``--cox-n`` patients: ``cox(lr_ci=False)`` vs
   ``coxph``; the coefficients are compared as a check.
2. Log-rank test on ``--logrank-n`` patients, 2 arms: ``logrank`` vs ``survdiff``.
3. Kaplan–Meier with log-log CIs on the same patients: ``kaplan_meier`` vs ``survfit``.
4. Reconstruction of a 500-patient arm from 200 digitised points (Guyot 2012): no peer is
   installed (IPDfromKM / reconstructKM are not on Debian; CRAN is unreachable) — time only.
5. ``--sims`` simulated trials (2 × 185 patients, event-driven at 247 events) analysed by
   log-rank: ``simulate_survival`` vs an R loop (``rexp`` + ``survdiff`` per trial) on
   ``--r-sims`` trials, extrapolated.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
from _common import best_of, machine, run_rscript

import trial_analysis as ta


def patients(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    age = rng.normal(60, 10, n)
    t = rng.exponential(12 * np.exp(0.3 * arm - 0.01 * (age - 60)))
    c = rng.uniform(6, 36, n)
    # times rounded to days, as trial data are (ties exercise Efron's correction)
    return pd.DataFrame(
        {
            "time": np.round(np.minimum(t, c) * 30.44),
            "event": (t <= c).astype(int),
            "arm": arm,
            "age": age,
        }
    )


R_SCRIPT = r"""
suppressMessages(library(survival))
a <- commandArgs(TRUE)
cox <- read.csv("{cox}"); lr <- read.csv("{lr}"); r_sims <- as.integer(a[1]); reps <- as.integer(a[2])
best <- function(f) { b <- Inf; for (i in seq_len(reps)) { t0 <- proc.time()[["elapsed"]]; f(); b <- min(b, proc.time()[["elapsed"]] - t0) }; b }
fit <- NULL
t_cox <- best(function() fit <<- coxph(Surv(time, event) ~ arm + age, data = cox, ties = "efron"))
t_lr <- best(function() survdiff(Surv(time, event) ~ arm, data = lr))
t_km <- best(function() survfit(Surv(time, event) ~ arm, data = lr, conf.type = "log-log"))
h <- log(2) / 12
set.seed(1)
t0 <- proc.time()[["elapsed"]]
rej <- 0
for (i in seq_len(r_sims)) {
  n <- 185; arm <- rep(0:1, each = n)
  entry <- runif(2 * n, 0, 24); tt <- rexp(2 * n, ifelse(arm == 0, 0.7 * h, h))
  cal <- sort(entry + tt)[247]
  obs <- entry < cal; fu <- pmin(entry + tt, cal) - entry; ev <- as.integer(entry + tt <= cal)
  s <- survdiff(Surv(fu[obs], ev[obs]) ~ arm[obs])
  rej <- rej + (pchisq(s$chisq, 1, lower.tail = FALSE) < 0.05)
}
t_sim <- proc.time()[["elapsed"]] - t0
cat(sprintf("%.17g %.17g %.6f %.6f %.6f %.6f %.6f %s\n", coef(fit)[1], coef(fit)[2], t_cox, t_lr,
            t_km, t_sim, rej / r_sims, as.character(packageVersion("survival"))))
"""


def run_r(cox: pd.DataFrame, lr: pd.DataFrame, r_sims: int, repeat: int):
    out = run_rscript(R_SCRIPT, 3600, {"cox": cox, "lr": lr}, [str(r_sims), str(repeat)])
    if isinstance(out, str):
        print(f"R failed: {out}")
        return None
    return [float(x) for x in out[:7]] + [out[7]]


def digitised_arm(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 500-patient arm digitised at 200 points (100 steps, both corners), with noise."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(12, 500)
    c = rng.uniform(6, 36, 500)
    km = ta.survival.kaplan_meier(np.minimum(t, c), (t <= c).astype(int))
    tab = km.table[km.table["n_event"] > 0]
    pick = np.sort(rng.choice(len(tab), 99, replace=False))
    tt = tab["time"].to_numpy()[pick]
    s_after = tab["survival"].to_numpy()[pick]
    s_before = np.r_[1.0, s_after[:-1]]
    x = np.r_[0, np.repeat(tt, 2), km.table["time"].max()]
    y = np.r_[1, np.ravel(np.c_[s_before, s_after]), s_after[-1]]
    curve = pd.DataFrame(
        {
            "arm": "A",
            "time": x + rng.normal(0, 0.05, x.size),
            "survival": np.round(y + rng.normal(0, 0.002, y.size), 3),
        }
    )
    times = np.arange(0, km.table["time"].max(), 6.0)
    risk = km.at_risk(times).rename(columns={"group": "arm"})
    risk["arm"] = "A"
    return curve, risk


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cox-n", type=int, default=100_000)
    ap.add_argument("--logrank-n", type=int, default=1_000_000)
    ap.add_argument("--sims", type=int, default=10_000)
    ap.add_argument("--r-sims", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    a = ap.parse_args()
    print(machine())
    cox_d = patients(a.cox_n, 1)
    lr_d = patients(a.logrank_n, 2)[["time", "event", "arm"]]
    r = None if a.no_r else run_r(cox_d, lr_d, a.r_sims, a.repeat)
    if r is not None:
        print(f"R survival {r[7]}")

    def line(what: str, ours: float, peer: float | None, peer_name: str = "R") -> None:
        if peer is None:
            print(f"{what}: trial_analysis {ours:.3f} s; {peer_name}: not available")
        else:
            print(
                f"{what}: trial_analysis {ours:.3f} s, {peer_name} {peer:.3f} s "
                f"(ratio R/ours = {peer / ours:.2f})"
            )

    t_cox, fit = best_of(
        lambda: ta.survival.cox(cox_d, "time", "event", ["arm", "age"], lr_ci=False), a.repeat
    )
    line(f"Cox (Efron, 2 covariates), n = {a.cox_n:,}", t_cox, None if r is None else r[2])
    if r is not None:
        print(f"  max |coef - coxph coef| = {np.max(np.abs(fit.coef - np.array(r[:2]))):.2e}")
    t_lr, _ = best_of(
        lambda: ta.survival.logrank(lr_d["time"], lr_d["event"], lr_d["arm"]), a.repeat
    )
    line(f"log-rank, n = {a.logrank_n:,}", t_lr, None if r is None else r[3])
    t_km, _ = best_of(
        lambda: ta.survival.kaplan_meier(lr_d["time"], lr_d["event"], lr_d["arm"]), a.repeat
    )
    line(f"Kaplan-Meier (log-log CIs), n = {a.logrank_n:,}", t_km, None if r is None else r[4])
    curve, risk = digitised_arm()
    t_rec, ipd = best_of(lambda: ta.survival.reconstruct(curve, risk), a.repeat)
    fit_r = ipd.attrs["fit"].table.iloc[0]
    print(
        f"reconstruction, 500 patients from {len(curve)} digitised points: trial_analysis "
        f"{t_rec:.3f} s (max |S_rec - S_digitised| = {fit_r['max_abs_diff']:.4f}); "
        "peer: none installed (IPDfromKM/reconstructKM not available)"
    )
    h = math.log(2) / 12
    t_sim, sim = best_of(
        lambda: ta.power.simulate_survival(
            0.7 * h, h, 185, 185, accrual_time=24, events=247, n_sims=a.sims, seed=1
        ),
        1,
    )
    peer = None if r is None else r[5] * a.sims / a.r_sims
    line(
        f"{a.sims:,} simulated trials (370 patients, 247 events) by log-rank",
        t_sim,
        peer,
        f"R loop ({a.r_sims:,} trials x {a.sims / a.r_sims:g})",
    )
    print(
        f"  power: trial_analysis {sim.power['logrank']:.4f}"
        + ("" if r is None else f", R {r[6]:.4f} ({a.r_sims:,} trials)")
        + "; Schoenfeld 0.8005"
    )


if __name__ == "__main__":
    main()
