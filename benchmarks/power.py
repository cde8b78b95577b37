"""Timings of trial_analysis.power (prints figures; asserts nothing).

Run:  .venv/bin/python benchmarks/power.py [--quick]

1. Exact power of Boschloo's test at n = 45 per arm (goal < 2 s) vs the naive loop over
   scipy.stats.boschloo_exact (a sample of tables timed and extrapolated to all 46 x 46).
2. Exact power curve of Fisher's test for n = 10..150 per arm (goal < 5 s) vs a loop over
   scipy.stats.fisher_exact (sampled and extrapolated).
3. 1,000,000 simulated 91-patient trials (45 vs 46) analysed by Fisher on 2 processes
   (goal < 10 s): parametric model (binomial arm totals) and the Zang 2022 generative model
   (patient-level draws); vs a loop of scipy.stats.fisher_exact per trial (sampled).
4. A grid of 100 scenarios x 10,000 replicates: local processes vs LocalCluster(2 workers).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np
from _common import machine
from scipy import stats

import trial_analysis as ta
from trial_analysis.power import Scenario, exact_power, power_curve, simulate, simulate_grid
from trial_analysis.power import exact as _exact


def clock(f, *a, **k):
    t = time.perf_counter()
    out = f(*a, **k)
    return time.perf_counter() - t, out


def sample_tables(n1: int, n2: int, k: int, rng) -> list[tuple[int, int]]:
    return [(int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))) for _ in range(k)]


def bench_boschloo(k: int) -> None:
    _exact._pgrid.cache_clear()
    t, r = clock(exact_power, 0.2, 0.0455, 45, 45, "boschloo")
    rng = np.random.default_rng(1)
    tabs = sample_tables(45, 45, k, rng)
    t0 = time.perf_counter()
    for x1, x2 in tabs:
        stats.boschloo_exact([[x1, x2], [45 - x1, 45 - x2]])
    per = (time.perf_counter() - t0) / k
    naive = per * 46 * 46
    print(f"1. Boschloo exact power, 45 vs 45 (power {r.power:.4f}, size {r.size:.4f}):")
    print(f"   trial_analysis: {t:.2f} s   (goal < 2 s)")
    print(
        f"   naive scipy.stats.boschloo_exact loop: {per * 1e3:.0f} ms/table x 2116 tables = "
        f"{naive:.0f} s (extrapolated from {k} tables)   ratio {naive / t:.0f}x"
    )


def bench_fisher_curve(k: int) -> None:
    _exact._pgrid.cache_clear()
    t, c = clock(power_curve, 0.2, 0.0455, range(10, 151), "fisher")
    rng = np.random.default_rng(2)
    tabs = sample_tables(150, 150, k, rng)
    t0 = time.perf_counter()
    for x1, x2 in tabs:
        stats.fisher_exact([[x1, 150 - x1], [x2, 150 - x2]])
    per = (time.perf_counter() - t0) / k
    n_tables = sum((n + 1) ** 2 for n in range(10, 151))
    naive = per * n_tables
    print(f"2. Fisher exact power curve, n = 10..150 per arm ({len(c.to_frame())} sizes):")
    print(f"   trial_analysis: {t:.2f} s   (goal < 5 s)")
    print(
        f"   naive scipy.stats.fisher_exact loop: {per * 1e6:.0f} us/table x {n_tables} tables = "
        f"{naive:.0f} s (extrapolated from {k} tables at n = 150)   ratio {naive / t:.0f}x"
    )


def _composite(kind: str, n=(45, 46)) -> Scenario:
    """The composite of a 45 vs 46 trial: rates per arm (parametric), or derived by the
    design's rule from the Zang 2022 generative model (synthetic)."""
    raw = {
        "scenario": {"name": f"composite, {kind}"},
        "arms": {"names": ["UC-MSC", "Placebo"], "n": list(n)},
        "endpoints": {"composite": {"type": "binary"}},
        "analyses": [{"name": "fisher", "endpoint": "composite", "method": "fisher"}],
    }
    if kind == "parametric":
        raw["endpoints"]["composite"]["rate"] = {"UC-MSC": 0.2, "Placebo": 0.0455}
    else:
        raw["scenario"]["trial"] = "zang2022"
        raw["model"] = {"kind": "synthetic"}
    return Scenario.from_dict(raw)


def bench_million(n_sims: int, zang_sims: int, k: int) -> None:
    _exact._pgrid.cache_clear()
    s = _composite("parametric")
    t, r = clock(simulate, s, n_sims, 1, n_jobs=2, chunk_size=100_000, progress=False)
    print(f"3. {n_sims:,} simulated trials (45 vs 46), Fisher, 2 processes:")
    print(
        f"   parametric model (patient draws + p-value grid lookup): {t:.2f} s "
        f"(power {r.power['fisher']:.4f} +- {r.mc_se['fisher']:.4f})   (goal < 10 s)"
    )
    z = _composite("synthetic")
    z.model()  # calibrate the generative model once in this process (cached)
    tz, rz = clock(simulate, z, zang_sims, 1, n_jobs=2, chunk_size=20_000, progress=False)
    scaled = (
        ""
        if zang_sims == n_sims
        else f"; per {n_sims:,}: {tz * n_sims / zang_sims:.1f} s (extrapolated)"
    )
    print(
        f"   Zang 2022 generative model (patient-level draws): {zang_sims:,} trials in "
        f"{tz:.2f} s (power {rz.power['fisher']:.4f} +- {rz.mc_se['fisher']:.4f}){scaled}   (goal < 10 s)"
    )
    rng = np.random.default_rng(3)
    x1 = rng.binomial(45, 0.2, k)
    x2 = rng.binomial(46, 0.0455, k)
    t0 = time.perf_counter()
    for a, b in zip(x1, x2, strict=True):
        stats.fisher_exact([[a, 45 - a], [b, 46 - b]])
    per = (time.perf_counter() - t0) / k
    print(
        f"   naive loop of scipy.stats.fisher_exact per trial: {per * 1e6:.0f} us/trial -> "
        f"{per * n_sims:.0f} s per {n_sims:,} (extrapolated from {k:,} trials, 1 core)   "
        f"ratio {per * n_sims / t:.0f}x"
    )


def bench_grid(n_sims: int) -> None:
    from distributed import Client, LocalCluster

    s = _composite("parametric")
    grid = {
        "arms.n": [[n, n] for n in (40, 60, 80, 100, 120)],
        "endpoints.composite.rate.UC-MSC": [0.12, 0.15, 0.2, 0.25, 0.3],
        "dropout.rate": [0.0, 0.1],
        "analyses.0.method": ["fisher", "chisq"],
    }
    _exact._pgrid.cache_clear()
    tl, gl = clock(simulate_grid, s, grid, n_sims, 5, n_jobs=2, progress=False)
    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter() - t0
        td, gd = clock(simulate_grid, s, grid, n_sims, 5, dask=client, progress=False)
    n_scen = gl.to_frame()["scenario"].nunique()
    same = gl.to_frame().equals(gd.to_frame())
    print(f"4. grid of {n_scen} scenarios x {n_sims:,} replicates (n x effect x dropout x test):")
    print(f"   local processes (2): {tl:.2f} s")
    print(
        f"   Dask LocalCluster (2 workers): {td:.2f} s (+ {start:.2f} s cluster start-up); "
        f"identical results: {same}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller naive samples and runs")
    a = ap.parse_args()
    print(f"trial_analysis {ta.__version__} power benchmarks on: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    bench_boschloo(5 if a.quick else 20)
    bench_fisher_curve(200 if a.quick else 2000)
    bench_million(
        100_000 if a.quick else 1_000_000,
        20_000 if a.quick else 1_000_000,
        2_000 if a.quick else 20_000,
    )
    bench_grid(1_000 if a.quick else 10_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
