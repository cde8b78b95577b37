"""Power by simulation for continuous endpoints: batched MMRM, batched MI-ANCOVA, a Dask grid.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/simpower.py [--quick]
[--trials 10000] [--mi-trials 10000] [--grid-trials 1000000] [--no-r] [--skip a|s|b|c]
[--dask-defaults]``.
Prints figures; asserts only that the batched results equal their peers (and the Dask grid
the local one).

Data: ``--trials`` simulated trials of 91 patients (46 UC-MSC, 45 placebo) x 7 visits
(weeks 4 ... 48), HbA1c-like outcome with a baseline covariate, 15 % monotone dropout (a
uniform last visit) and 3 % intermittent missing visits, generated in blocks of 500 trials
(``trials``; seeded per block, so any split of the blocks gives the same trials).

(a) unstructured MMRM, REML, Satterthwaite df (the issue's goal: 10,000 trials under 30 s on
    2 cores, >= 20x the loop over ``mmrm.fit``): ``mmrm.fit_batch`` on all trials in one
    process and on 2 processes (each fits half of the blocks); the loop over ``mmrm.fit`` on
    the first ``--loop`` trials (per-trial time extrapolated to all, printed as such); R's
    ``nlme::gls`` loop (corSymm + varIdent, REML; ``system.time`` of the fits inside one R
    process) on the first ``--r`` trials when Rscript exists. The batch's largest relative
    difference from the loop is printed (the issue's tolerance: 1e-6, df 1e-4).
(a') the user path: ``power.simulate(scenario, n_sims=--trials, n_jobs=2)`` with a scenario
    of the same design (continuous endpoint at baseline and 7 visits, 15 % MCAR dropout,
    unstructured MMRM with Satterthwaite df; ``mmrm_scenario``) end to end, chunks of the
    scenario's default size; wall time, CPU of all processes, and the loop over ``mmrm.fit``
    on the first ``--loop`` of its trials (extrapolated) with the ratio.
(b) ANCOVA at week 48 after jump-to-reference imputation (m = 20), Rubin's rules with the
    Barnard-Rubin df, on the same trials without their intermittent missing visits (dropout
    only, as the issue's 15 % dropout): ``missing.mi_ancova_batch(draws="monotone")`` (exact
    posterior draws) on ``--mi-trials`` trials in one process and on 2 processes; peers: the
    bootstrap-draw batch on ``--mi-boot`` trials, and the loops over ``missing.mi_analysis``
    (same per-trial seed stream) with either draws on the first ``--mi-loop`` trials,
    extrapolated.
(c) a sensitivity grid (n per arm x effect x SD x dropout) of ``--grid-trials`` simulated
    trials through ``power.simulate_grid`` with the vectorised ANCOVA analysis of HbA1c at
    week 48: 2 local processes (``n_jobs=2``) vs ``dask="local"`` (a ``LocalCluster`` of 2
    workers as ``power._dask`` configures it; ``--dask-defaults``: also one on Dask's default
    worker settings): throughput per worker, and CPU per trial of the pool's processes or
    the workers (less sensitive to the machine's load than wall time); the tables must be
    identical.

CPU time of this process is printed beside wall-clock time: on a shared machine the wall
time of a single-process step is its CPU time stretched by the load (``uptime`` printed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from _common import machine, r_gls_loop

import trial_analysis as ta
from trial_analysis import missing, mmrm

WEEKS = (4, 8, 12, 16, 24, 36, 48)
BLOCK = 500  # trials generated per seeded block
COLS = ("y", "subject", "visit", "arm")


def trials(
    first_block: int, n_blocks: int, seed: int = 19, intermittent: float = 0.03
) -> pd.DataFrame:
    """Blocks ``first_block ..`` of simulated trials (long format, NaN for missing visits);
    block b draws from ``SeedSequence(seed, spawn_key=(b,))``. ``intermittent``: probability
    of an intermittent missing visit (0: dropout only; the same trials otherwise)."""
    frames = []
    T = len(WEEKS)
    sd = np.linspace(0.6, 1.0, T)
    C = 0.7 ** (np.abs(np.subtract.outer(range(T), range(T))) ** 0.7)
    L = np.linalg.cholesky(C * np.outer(sd, sd))
    n = 91
    arm = np.where(np.arange(n) < 46, "UC-MSC", "Placebo")
    for b in range(first_block, first_block + n_blocks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
        base = rng.normal(9.0, 1.2, (BLOCK, n))
        eff = -0.7 * np.arange(1, T + 1) / T
        y = 8.9 + 0.6 * (base[..., None] - 9) + (arm == "UC-MSC")[None, :, None] * eff
        y = y + rng.standard_normal((BLOCK, n, T)) @ L.T
        last = np.where(rng.random((BLOCK, n)) < 0.15, rng.integers(1, T, (BLOCK, n)), T)
        keep = (np.arange(T) < last[..., None]) & (rng.random((BLOCK, n, T)) >= intermittent)
        keep[..., 0] = True
        r, i, t = np.indices((BLOCK, n, T)).reshape(3, -1)
        frames.append(
            pd.DataFrame(
                {
                    "rep": r + b * BLOCK,
                    "subject": i,
                    "arm": arm[i],
                    "visit": np.array(WEEKS)[t],
                    "base": base[r, i].round(2),
                    "y": np.where(keep[r, i, t], y[r, i, t], np.nan).round(3),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def clock(f, *a, **k):
    w, c = time.perf_counter(), time.process_time()
    out = f(*a, **k)
    return time.perf_counter() - w, time.process_time() - c, out


def worst(batch: pd.DataFrame, single: pd.DataFrame, on: list[str]) -> dict[str, float]:
    m = batch.merge(single, on=on, suffixes=("_b", ""))
    if len(m) != len(single):
        raise SystemExit("the batch and the loop report different rows")
    out = {}
    for col in ("estimate", "se", "df"):
        rel = np.abs(m[col + "_b"] - m[col]) / np.maximum(1.0, np.abs(m[col]))
        out[col] = float(rel.max())
    return out


def _fit_blocks(args: tuple[int, int]) -> tuple[pd.DataFrame, float]:
    first, count = args
    d = trials(first, count)
    t0 = time.perf_counter()
    out = mmrm.fit_batch(d, *COLS, replicate="rep", baseline="base", reference="Placebo")
    return out, time.perf_counter() - t0


def bench_mmrm(n_trials: int, k_loop: int, k_r: int, use_r: bool) -> None:
    n_blocks = max(1, n_trials // BLOCK)
    n_trials = n_blocks * BLOCK
    d = trials(0, n_blocks)
    w, c, out = clock(
        mmrm.fit_batch, d, *COLS, replicate="rep", baseline="base", reference="Placebo"
    )
    print(f"(a) {n_trials:,} trials of 91 x 7, unstructured MMRM, REML, Satterthwaite df")
    print(
        f"    fit_batch, 1 process: {w:.1f} s wall, {c:.1f} s CPU ({1e3 * c / n_trials:.2f} ms "
        f"CPU per trial; refitted singly {out.attrs['n_refit']}, failed {out.attrs['n_failed']})"
    )
    halves = [(0, (n_blocks + 1) // 2), ((n_blocks + 1) // 2, n_blocks // 2)]
    halves = [h for h in halves if h[1] > 0]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(halves)) as ex:
        parts = list(ex.map(_fit_blocks, halves))
    w2 = time.perf_counter() - t0
    fit_w = max(p[1] for p in parts)
    both = pd.concat([p[0] for p in parts], ignore_index=True)
    same = np.allclose(
        both[["estimate", "se", "df"]].to_numpy(),
        out[["estimate", "se", "df"]].to_numpy(),
        rtol=1e-10,
        atol=0,
    )
    print(
        f"    fit_batch, 2 processes (half of the trials each): {fit_w:.1f} s wall for the "
        f"fits ({w2:.1f} s with each process simulating its trials and start-up); same "
        f"results as 1 process: {same}   (goal < 30 s)"
    )
    k = min(k_loop, n_trials)
    sub = d[d["rep"] < k]
    _, cl, fits = clock(
        lambda: [
            mmrm.fit(g, *COLS, "base", reference="Placebo").contrasts.assign(replicate=r)
            for r, g in sub.groupby("rep")
        ]
    )
    single = pd.concat(fits, ignore_index=True)
    dif = worst(out[out["replicate"] < k], single, ["replicate", "visit", "contrast"])
    per = cl / k
    print(
        f"    loop of mmrm.fit over {k} trials: {1e3 * per:.0f} ms CPU per trial -> "
        f"{per * n_trials:.0f} s CPU for {n_trials:,} (extrapolated); ratio to fit_batch "
        f"(CPU) {per * n_trials / c:.0f}x; largest relative difference estimate "
        f"{dif['estimate']:.1e}, se {dif['se']:.1e}, df {dif['df']:.1e}"
    )
    if use_r:
        kr = min(k_r, n_trials)
        res = r_gls_loop(d[d["rep"] < kr], 900.0)
        if isinstance(res, str):
            print(f"    R nlme::gls loop: {res}")
        else:
            print(
                f"    R nlme::gls loop over {kr} trials (fits only, wall): {res / kr:.2f} s per "
                f"trial -> {res / kr * n_trials / 3600:.1f} h for {n_trials:,} (extrapolated); "
                f"ratio to fit_batch (wall, 1 process) {res / kr * n_trials / w:.0f}x"
            )


def mmrm_scenario() -> dict:
    """The trials of (a) as a scenario: 46 vs 45 patients, baseline and 7 visits, the same
    means, SDs and correlation, 15 % MCAR dropout by week 48; analysed by an unstructured
    MMRM with Satterthwaite df (``docs/scenarios.md``)."""
    T = len(WEEKS) + 1
    corr = 0.7 ** (np.abs(np.subtract.outer(range(T), range(T))) ** 0.7)
    eff = -0.7 * np.arange(1, T) / (T - 1)
    return {
        "scenario": {"name": "HbA1c, 91 x 7, unstructured MMRM"},
        "arms": {"names": ["UC-MSC", "Placebo"], "n": [46, 45]},
        "endpoints": {
            "hba1c": {
                "type": "continuous",
                "visits": [0, *WEEKS],
                "mean": {
                    "UC-MSC": [9.0, *np.round(8.9 + eff, 4)],
                    "Placebo": [9.0] + [8.9] * (T - 1),
                },
                "sd": [1.2, *np.round(np.linspace(0.6, 1.0, T - 1), 4)],
                "correlation": {"structure": "un", "matrix": np.round(corr, 6).tolist()},
                "outcome": "value",
            }
        },
        "dropout": {"mechanism": "MCAR", "rate": 0.15},
        "analyses": [
            {
                "name": "hba1c_mmrm",
                "endpoint": "hba1c",
                "method": "mmrm",
                "covariance": "unstructured",
                "df": "satterthwaite",
            }
        ],
    }


def bench_simulate_mmrm(n_trials: int, k_loop: int, n_jobs: int = 2) -> None:
    """(a') the user path: ``power.simulate(scenario, n_sims, n_jobs=2)`` end to end
    (drawing, long frames, ``fit_batch`` per chunk, counting; processes started inside)."""
    from trial_analysis.power import Scenario, simulate
    from trial_analysis.power.simulate import _default_chunk, _draw, _long_frame

    scen = Scenario.from_dict(mmrm_scenario())
    chunk = _default_chunk(scen)
    c0 = os.times()
    w, _, res = clock(simulate, scen, n_sims=n_trials, seed=19, n_jobs=n_jobs, progress=False)
    c1 = os.times()
    cpu = (c1.user + c1.system - c0.user - c0.system) + (
        c1.children_user + c1.children_system - c0.children_user - c0.children_system
    )
    row = res.to_frame().iloc[0]
    print(
        f"(a') the same design through power.simulate(scenario, n_sims={n_trials:,}, "
        f"n_jobs={n_jobs}): unstructured MMRM, Satterthwaite df, 15 % MCAR dropout"
    )
    print(
        f"    {w:.1f} s wall ({-(-n_trials // chunk)} chunks of {chunk:,}; process start-up, "
        f"drawing and counting included), {cpu:.1f} s CPU of all processes "
        f"({1e3 * cpu / n_trials:.2f} ms per trial); power {row['power']:.4f} (mc_se "
        f"{row['mc_se']:.4f}), bias {row['bias']:+.4f}, coverage {row['coverage']:.4f}, "
        f"n_failed {row['n_failed']}   (goal < 30 s)"
    )
    rng = np.random.default_rng(np.random.SeedSequence(19, spawn_key=(0, 0)))
    k = min(k_loop, n_trials)
    tr = _draw(scen, scen.n_by_arm, min(chunk, n_trials), rng)  # the first chunk's trials
    ep = scen.endpoints["hba1c"]
    sample = _long_frame(scen, ep, tr, 0, k)
    cols = ("AVAL", "USUBJID", "AVISITN", "ARM")
    _, cl, fits = clock(
        lambda: [
            mmrm.fit(g, *cols, "BASE", reference="Placebo").contrasts.assign(replicate=r)
            for r, g in sample.groupby("REP")
        ]
    )
    batch = mmrm.fit_batch(sample, *cols, replicate="REP", baseline="BASE", reference="Placebo")
    dif = worst(batch, pd.concat(fits, ignore_index=True), ["replicate", "visit", "contrast"])
    per = cl / k
    print(
        f"    loop of mmrm.fit over the first {k} of these trials: {1e3 * per:.0f} ms CPU per "
        f"trial -> {per * n_trials:.0f} s for {n_trials:,} on 1 process (extrapolated); ratio "
        f"to simulate: {per * n_trials / w:.0f}x its wall time, {per * n_trials / cpu:.0f}x "
        f"its CPU; fit_batch vs the loop on them: largest relative difference estimate "
        f"{dif['estimate']:.1e}, se {dif['se']:.1e}, df {dif['df']:.1e}"
    )


def _mi_blocks(args: tuple[int, int, int]) -> float:
    """CPU seconds of the monotone J2R batch on ``count`` blocks from ``first`` (a worker)."""
    first, count, n_trials = args
    d = trials(first, count, intermittent=0.0)
    d = d[d["rep"] < n_trials]
    c = time.process_time()
    missing.mi_ancova_batch(d, *COLS, replicate="rep", baseline="base", **MI_KW)
    return time.process_time() - c


MI_KW = dict(method="j2r", m=20, reference="Placebo", seed=2022, draws="monotone")


def bench_mi(n_trials: int, k_loop: int, k_boot: int) -> None:
    """(b) J2R MI: dropout only (the monotone draws need it; the trials of (a) without their
    intermittent missing visits)."""
    n_blocks = max(1, -(-n_trials // BLOCK))
    d = trials(0, n_blocks, intermittent=0.0)
    d = d[d["rep"] < n_trials]
    w, c, out = clock(missing.mi_ancova_batch, d, *COLS, replicate="rep", baseline="base", **MI_KW)
    print(
        f"(b) {n_trials:,} trials (dropout only), J2R multiple imputation (m = 20), ANCOVA at week 48"
    )
    print(
        f"    mi_ancova_batch(draws='monotone'), 1 process: {w:.1f} s wall, {c:.1f} s CPU "
        f"({1e3 * c / n_trials:.2f} ms CPU per trial; to the loop {out.attrs['n_single']}, "
        f"failed {out.attrs['n_failed']})"
    )
    if n_blocks >= 2:
        half = n_blocks // 2
        w0 = time.perf_counter()
        with ProcessPoolExecutor(2) as ex:
            cpu = list(ex.map(_mi_blocks, [(0, half, n_trials), (half, n_blocks - half, n_trials)]))
        w2 = time.perf_counter() - w0
        print(
            f"    2 processes (each half of the blocks, generation included): {w2:.1f} s wall "
            f"(CPU {cpu[0]:.1f} + {cpu[1]:.1f} s)   (goal: 10,000 trials < 30 s on 2 cores)"
        )
    kb = min(k_boot, n_trials)
    sub = d[d["rep"] < kb]
    boot_kw = dict(MI_KW, draws="bootstrap")
    _, cb, _ = clock(
        missing.mi_ancova_batch, sub, *COLS, replicate="rep", baseline="base", **boot_kw
    )
    print(
        f"    peer: mi_ancova_batch(draws='bootstrap') on {kb} trials: {1e3 * cb / kb:.1f} ms CPU "
        f"per trial -> ratio (CPU per trial) {cb / kb / (c / n_trials):.0f}x"
    )
    k = min(k_loop, n_trials)
    kids = np.random.SeedSequence(2022).spawn(n_trials)[:k]

    def loop(draws: str):
        rows = []
        for r in range(k):
            p = missing.mi_analysis(
                d[d["rep"] == r], *COLS, "base", method="J2R", reference="Placebo", m=20,
                seed=np.random.default_rng(kids[r]), draws=draws,
            ).pooled  # fmt: skip
            rows.append({"replicate": r, "estimate": p.estimate, "se": p.se, "df": p.df})
        return pd.DataFrame(rows)

    _, cm, single = clock(loop, "monotone")
    dif = worst(out[out["replicate"] < k], single, ["replicate"])
    _, cl, _ = clock(loop, "bootstrap")
    print(
        f"    peers: loop of mi_analysis over {k} trials, {1e3 * cm / k:.1f} ms CPU per trial "
        f"with draws='monotone' (ratio {cm / k / (c / n_trials):.0f}x; largest relative "
        f"difference from the batch: estimate {dif['estimate']:.1e}, se {dif['se']:.1e}, df "
        f"{dif['df']:.1e}), {cl / k:.2f} s with the bootstrap draws (ratio "
        f"{cl / k / (c / n_trials):.0f}x; {cl / k * n_trials / 60:.0f} min CPU for "
        f"{n_trials:,}, extrapolated)"
    )


def _grid_scenario():
    from trial_analysis.power import Scenario

    raw = {
        "scenario": {"name": "HbA1c ANCOVA grid"},
        "arms": {"names": ["UC-MSC", "Placebo"], "n": [46, 45]},
        "endpoints": {
            "hba1c": {  # baseline 9.0, SD 1.05, baseline-week 48 correlation 0.5
                "type": "continuous",
                "visits": [0, 48],
                "mean": {"UC-MSC": [9.0, 7.5], "Placebo": [9.0, 8.2]},
                "sd": {"UC-MSC": [1.05, 1.05], "Placebo": [1.05, 1.05]},
                "correlation": {"structure": "cs", "rho": 0.5},
            }
        },
        "dropout": {"mechanism": "MCAR", "rate": 0.15},
        "analyses": [{"name": "hba1c_ancova", "endpoint": "hba1c", "method": "ancova"}],
    }
    grid = {
        "arms.n": [[n, n] for n in (30, 45, 60, 90, 120)],
        "endpoints.hba1c.mean.UC-MSC": [[9.0, m] for m in (7.3, 7.5, 7.7, 7.9, 8.1)],
        "endpoints.hba1c.sd.UC-MSC": [[1.05, 0.9], [1.05, 1.2]],
        "dropout.rate": [0.1, 0.2],
    }
    return Scenario.from_dict(raw), grid


def _worker_cpu(client) -> float:
    """CPU seconds (user + system) the Dask workers have used so far."""
    return sum(sum(t[:2]) for t in client.run(os.times).values())


def bench_grid(n_total: int, dask_defaults: bool) -> None:
    from trial_analysis.power import simulate_grid
    from trial_analysis.power._dask import dask_client

    s, grid = _grid_scenario()
    n_scen = int(np.prod([len(v) for v in grid.values()]))
    n_sims = max(1, n_total // n_scen)
    chunk = min(n_sims, 5_000)  # 200 tasks for 10^6 trials
    tot = n_sims * n_scen
    kw = dict(chunk_size=chunk, progress=False)
    c0 = os.times()
    wl, _, gl = clock(simulate_grid, s, grid, n_sims, 5, n_jobs=2, **kw)
    c1 = os.times()  # the pool's processes have exited: their CPU is in the children's times
    cpu_l = c1.children_user + c1.children_system - c0.children_user - c0.children_system
    print(
        f"(c) sensitivity grid: {n_scen} scenarios (n per arm x effect x SD x dropout) x "
        f"{n_sims:,} trials = {tot:,} trials in {tot // chunk} chunks of {chunk:,}, ANCOVA "
        "of HbA1c at week 48"
    )
    print(
        f"    2 local processes (n_jobs=2): {wl:.1f} s wall, {tot / wl / 2:,.0f} trials/s per "
        f"process; {1e6 * cpu_l / tot:.1f} us CPU per trial"
    )
    runs = [("dask='local' (power._dask.WORKER_CONFIG)", True)]
    if dask_defaults:
        runs.append(("LocalCluster with Dask's default worker settings", False))
    for label, configured in runs:
        t0 = time.perf_counter()
        if configured:
            session = dask_client("local", 2)
        else:
            from distributed import Client, LocalCluster

            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            session = Client(cluster)
        with session as client:
            start = time.perf_counter() - t0
            before = _worker_cpu(client)
            wd, _, gd = clock(simulate_grid, s, grid, n_sims, 5, dask=client, **kw)
            cpu_d = _worker_cpu(client) - before
        if not configured:
            cluster.close()
        same = gl.to_frame().equals(gd.to_frame())
        print(
            f"    {label}, 2 workers: {wd:.1f} s wall (+ {start:.1f} s start-up), "
            f"{tot / wd / 2:,.0f} trials/s per worker ({wd / wl:.2f}x the local wall time); "
            f"{1e6 * cpu_d / tot:.1f} us CPU per trial ({cpu_d / cpu_l:.2f}x local); "
            f"identical to the local run: {same}"
        )
        if not same:
            raise SystemExit("the Dask grid differs from the local run")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 / 100 / 100,000 trials")
    ap.add_argument("--trials", type=int, default=None, help="MMRM trials (default 10,000)")
    ap.add_argument("--loop", type=int, default=16, help="trials fitted by mmrm.fit")
    ap.add_argument("--r", type=int, default=4, help="trials fitted by R nlme::gls")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--mi-trials", type=int, default=None, help="MI trials (default 10,000)")
    ap.add_argument("--mi-loop", type=int, default=4, help="trials analysed by mi_analysis")
    ap.add_argument("--mi-boot", type=int, default=100, help="trials of the bootstrap batch")
    ap.add_argument("--grid-trials", type=int, default=None, help="default 1,000,000")
    ap.add_argument("--skip", default="", help="parts to skip (a, s = a', b, c), e.g. 'bc'")
    ap.add_argument(
        "--dask-defaults",
        action="store_true",
        help="(c) also on a LocalCluster with Dask's default worker settings",
    )
    a = ap.parse_args()
    print(f"trial_analysis {ta.__version__}, simulation benchmarks on: {machine()}")
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n"
    )
    if "a" not in a.skip:
        bench_mmrm(a.trials or (1_000 if a.quick else 10_000), a.loop, a.r, not a.no_r)
    if "s" not in a.skip:
        bench_simulate_mmrm(a.trials or (1_000 if a.quick else 10_000), a.loop)
    if "b" not in a.skip:
        bench_mi(a.mi_trials or (100 if a.quick else 10_000), a.mi_loop, a.mi_boot)
    if "c" not in a.skip:
        bench_grid(a.grid_trials or (100_000 if a.quick else 1_000_000), a.dask_defaults)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2 logical CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
