"""Benchmark: load and validate 100,000 subjects x 10 visits (1 million measurement rows).

Run: ``.venv/bin/python benchmarks/load_ipd.py [--subjects N]``. Prints wall and CPU time and peak
memory (peak resident set size of a fresh process doing only that, Python included) of
``ta.load_ipd`` on a CSV folder, next to a naive baseline timed in the same run: plain
``pandas.read_csv`` of the two files with no validation at all. Goal: < 5 s and < 2 GB.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import trial_analysis as ta
from trial_analysis.ipd import load_ipd


def make_files(folder: Path, n_subjects: int, seed: int = 1) -> ta.TrialDesign:
    """Write a valid CSV pair: n_subjects x 10 visits of HbA1c (1 parameter, 10 visits)."""
    weeks = [0, 4, 8, 12, 16, 20, 24, 32, 40, 48]
    n1 = n_subjects // 2
    design = ta.load_design(
        "zang2022",
        overrides={
            "schedule.visit_weeks": weeks,
            "arms.UC-MSC.n_randomised": n1,
            "arms.Placebo.n_randomised": n_subjects - n1,
        },
    )
    rng = np.random.default_rng(seed)
    ids = np.array([f"S{i:07d}" for i in range(n_subjects)])
    arm = np.where(np.arange(n_subjects) < n1, "UC-MSC", "Placebo")
    w = np.round(rng.uniform(55, 110, n_subjects), 1)
    subj = pd.DataFrame(
        {
            "USUBJID": ids,
            "ARM": arm,
            "AGE": rng.integers(20, 66, n_subjects),
            "SEX": rng.choice(["M", "F"], n_subjects),
            "WEIGHT": w,
            "BMI": np.round(rng.uniform(24, 40, n_subjects), 1),
            "DURDIAB": np.round(rng.uniform(1, 20, n_subjects), 1),
            "RANDFL": "Y",
            "SAFFL": "Y",
            "ITTFL": "Y",
            "PPROTFL": "Y",
            "DCSREAS": "",
            "INF1WK": 0,
            "INF2WK": 4,
            "INF3WK": 8,
            "INF1DOSE": np.where(arm == "UC-MSC", w * 1e6, 0.0),
            "INF2DOSE": np.where(arm == "UC-MSC", w * 1e6, 0.0),
            "INF3DOSE": np.where(arm == "UC-MSC", w * 1e6, 0.0),
        }
    )
    base = np.round(rng.uniform(7, 12, n_subjects), 1)
    k = len(weeks)
    aval = np.round(base[:, None] + rng.normal(0, 0.5, (n_subjects, k)), 1)
    aval[:, 0] = base
    b = np.repeat(base, k)
    a = aval.ravel()
    meas = pd.DataFrame(
        {
            "USUBJID": np.repeat(ids, k),
            "PARAMCD": "HBA1C",
            "AVISITN": np.tile(weeks, n_subjects),
            "AVAL": a,
            "BASE": b,
            "CHG": np.round(a - b, 1),
            "PCHG": np.round(100 * (a - b) / b, 2),
        }
    )
    subj.to_csv(folder / "subjects.csv", index=False)
    meas.to_csv(folder / "measurements.csv", index=False)
    return design


def _child(fn_name: str, folder: str, design, conn) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    if fn_name == "naive":
        s = pd.read_csv(Path(folder) / "subjects.csv")
        m = pd.read_csv(Path(folder) / "measurements.csv")
        n = len(m) + 0 * len(s)
    else:
        n = len(load_ipd(folder, design=design).measurements)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    conn.send((n, dt, cpu, rss))
    conn.close()


def timed(fn_name: str, folder: Path, design) -> tuple[int, float, float, float]:
    """Run in a fresh forked process so its peak RSS is this call's alone (plus Python)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(fn_name, str(folder), design, child))
    p.start()
    out = parent.recv()
    p.join()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        design = make_files(folder, args.subjects)
        n_rows = (folder / "measurements.csv").read_bytes().count(b"\n") - 1
        size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        print(f"data: {args.subjects:,} subjects, {n_rows:,} measurement rows, {size:.0f} MB CSV")

        n_naive, t_naive, c_naive, m_naive = timed("naive", folder, design)
        n_load, t_load, c_load, m_load = timed("load_ipd", folder, design)
        assert n_naive == n_load == n_rows
    for label, t, c, m in (
        ("baseline pandas.read_csv (no validation)", t_naive, c_naive, m_naive),
        ("ta.load_ipd (read + validate)", t_load, c_load, m_load),
    ):
        print(f"{label:42s} wall {t:6.2f} s, CPU {c:6.2f} s, peak RSS {m / 2**20:6.0f} MiB")
    print(f"ratio load_ipd / read_csv: {t_load / t_naive:.1f}x wall, {c_load / c_naive:.1f}x CPU")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"note: machine busy (load average {os.getloadavg()[0]:.1f}); wall times inflated")
    ok = t_load < 5 and m_load < 2 * 2**30
    print("goal (< 5 s wall, < 2 GB):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
