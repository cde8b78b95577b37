"""Timings of the design tools of trial_analysis.power (prints figures; asserts nothing).

Run:  .venv/bin/python benchmarks/designs.py [--quick]

1. A 5-look O'Brien-Fleming design with beta-spending futility (bsOF, non-binding) and its
   sample size for means (goal < 50 ms) vs rpact getDesignGroupSequential +
   getSampleSizeMeans, timed inside R in the same run (R start-up excluded).
2. 100,000 simulated two-stage adaptive trials with sample-size re-estimation by conditional
   power (goal < 10 s on 2 cores) vs rpact getSimulationMeans for the same work; and the
   exact integration of the same operating characteristics.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

from _common import best_of, machine

from trial_analysis.power import (
    adaptive_characteristics,
    group_sequential,
    simulate_adaptive,
    simulate_adaptive_rates,
)


def r_seconds(code: str) -> float | None:
    """Seconds printed by an R snippet (None without R/rpact)."""
    if shutil.which("Rscript") is None:
        return None
    try:
        out = subprocess.run(
            ["Rscript", "-e", f"suppressMessages(library(rpact)); {code}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    return float(out.strip().splitlines()[-1])


def bench_design(repeat: int) -> None:
    def ours():
        d = group_sequential(5, 0.025, 0.2, futility="obrien-fleming")
        return d.sample_size_means(0.5, 1.2)

    ours()  # import and cache warm-up
    t = best_of(ours, repeat)[0]
    r = r_seconds(
        "f <- function() { d <- getDesignGroupSequential(kMax = 5, alpha = 0.025, beta = 0.2, "
        "typeOfDesign = 'asOF', typeBetaSpending = 'bsOF'); "
        "getSampleSizeMeans(d, alternative = 0.5, stDev = 1.2, normalApproximation = TRUE) }; "
        f"f(); best <- Inf; for (i in 1:{repeat}) best <- min(best, system.time(f())[['elapsed']]); "
        "cat(best, '\\n')"
    )
    print("1. 5-look OF design, bsOF futility, sample size for means (best of", repeat, "):")
    print(f"   trial_analysis: {1e3 * t:.1f} ms   (goal < 50 ms)")
    if r is None:
        print("   rpact: not available")
    else:
        print(
            f"   rpact getDesignGroupSequential + getSampleSizeMeans: {1e3 * r:.1f} ms   "
            f"ratio rpact/ours {r / t:.2f}"
        )


def bench_adaptive(n_sims: int) -> None:
    d = group_sequential(2, 0.025, 0.2)
    kw = dict(conditional_power=0.9, n_min=100, n_max=400)
    t0 = time.perf_counter()
    sim = simulate_adaptive(
        d, 0.3, 1.0, [100, 200], n_sims=n_sims, seed=1, n_jobs=2, chunk_size=n_sims // 2, **kw
    )
    t_sim = time.perf_counter() - t0
    t1 = time.perf_counter()
    sim1 = simulate_adaptive(
        d, 0.3, 1.0, [100, 200], n_sims=n_sims, seed=1, n_jobs=1, chunk_size=n_sims // 2, **kw
    )
    t_sim1 = time.perf_counter() - t1
    t2 = time.perf_counter()
    ex = adaptive_characteristics(d, 0.3, 1.0, [100, 200], **kw)
    t_ex = time.perf_counter() - t2
    r = r_seconds(
        "d <- getDesignInverseNormal(kMax = 2, alpha = 0.025, beta = 0.2, typeOfDesign = 'asOF'); "
        "cat(system.time(getSimulationMeans(d, alternative = 0.3, stDev = 1, plannedSubjects = "
        "c(100, 200), minNumberOfSubjectsPerStage = c(NA, 100), maxNumberOfSubjectsPerStage = "
        f"c(NA, 400), conditionalPower = 0.9, maxNumberOfIterations = {n_sims}, seed = 1, "
        "normalApproximation = TRUE))[['elapsed']], '\\n')"
    )
    s = sim.summary.iloc[0]
    print(
        f"2. {n_sims:,} adaptive trials, re-estimation for CP 0.9 (power {s['power']:.4f} "
        f"+- {s['power_mcse']:.4f}; exact {ex.power[0]:.4f}):"
    )
    print(
        f"   trial_analysis, 2 processes: {t_sim:.2f} s; 1 process: {t_sim1:.2f} s   (goal < 10 s)"
    )
    print(f"   exact two-stage integration of the same: {1e3 * t_ex:.0f} ms")
    assert sim.summary.equals(sim1.summary)  # same numbers however the chunks are spread
    if r is None:
        print("   rpact: not available")
    else:
        print(
            f"   rpact getSimulationMeans: {r:.2f} s   ratio rpact/ours {r / min(t_sim, t_sim1):.0f}x"
        )


def bench_adaptive_rates(n_sims: int) -> None:
    d = group_sequential(2, 0.025, 0.2)
    kw = dict(conditional_power=0.8, n_min=100, n_max=400)
    t0 = time.perf_counter()
    sim = simulate_adaptive_rates(d, 0.35, 0.2, [100, 200], n_sims=n_sims, seed=1, **kw)
    t_sim = time.perf_counter() - t0
    # rpact loops over trials in R: time a tenth of the trials and scale (said in the output)
    n_r = max(n_sims // 10, 1000)
    r = r_seconds(
        "d <- getDesignInverseNormal(kMax = 2, alpha = 0.025, beta = 0.2, typeOfDesign = 'asOF'); "
        "cat(system.time(getSimulationRates(d, groups = 2, pi1 = 0.35, pi2 = 0.2, plannedSubjects = "
        "c(100, 200), minNumberOfSubjectsPerStage = c(NA, 100), maxNumberOfSubjectsPerStage = "
        f"c(NA, 400), conditionalPower = 0.8, maxNumberOfIterations = {n_r}, seed = 1))"
        "[['elapsed']], '\\n')"
    )
    s = sim.summary.iloc[0]
    print(
        f"3. {n_sims:,} adaptive trials of rates, re-estimation for CP 0.8 (power "
        f"{s['power']:.4f} +- {s['power_mcse']:.4f}): trial_analysis, 1 process: {t_sim:.2f} s"
    )
    if r is None:
        print("   rpact: not available")
    else:
        scaled = r * n_sims / n_r
        print(
            f"   rpact getSimulationRates: {r:.2f} s for {n_r:,} trials, {scaled:.1f} s scaled to "
            f"{n_sims:,}   ratio rpact/ours {scaled / t_sim:.0f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats and trials")
    a = ap.parse_args()
    print(machine())
    bench_design(3 if a.quick else 10)
    bench_adaptive(20_000 if a.quick else 100_000)
    bench_adaptive_rates(20_000 if a.quick else 100_000)


if __name__ == "__main__":
    main()
