"""Timing of the main job: the Zang 2022 PDF report, the HTML report, and the notebooks.

Run: ``.venv/bin/python benchmarks/report.py [--no-notebooks]`` from a warm venv. Prints
figures; asserts nothing. Goals (issue "Notebooks and PDF report"): report under 30 s, all
notebooks under 2 minutes, on 2 cores.

Each command runs in a fresh process, as a user runs it (so import time counts). The baseline
printed beside the report is the bare import of the package plus the synthetic cohort, i.e.
what every run pays before any analysis; the rest is analyses and rendering.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--no-notebooks", action="store_true", help="time only the reports")
    args = ap.parse_args()
    print(machine())
    cli = str(BIN / "trial-analysis")
    with tempfile.TemporaryDirectory() as tmp:
        base = run(
            [sys.executable, "-c", "import trial_analysis as ta; ta.synthetic_ipd('zang2022')"]
        )
        pdf = run([cli, "report", "zang2022", "-o", f"{tmp}/r.pdf", "--quiet"])
        html = run(
            [cli, "report", "zang2022", "--format", "html", "-o", f"{tmp}/r.html", "--quiet"]
        )
        print(f"import + synthetic cohort (baseline): {base:6.1f} s")
        print(
            f"trial-analysis report zang2022 (PDF): {pdf:6.1f} s   (goal < 30 s; {pdf / base:.1f} x the baseline)"
        )
        print(f"  same, --format html:                {html:6.1f} s")
        if not args.no_notebooks:
            t = run([sys.executable, "scripts/run_notebooks.py", "--out", f"{tmp}/nb"])
            print(f"all notebooks (papermill + HTML):     {t:6.1f} s   (goal < 120 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
