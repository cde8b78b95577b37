"""Write the shipped synthetic cohort of a trial to ``data/<trial>/synthetic/`` (CSV).

Usage: ``.venv/bin/python scripts/make_synthetic.py [TRIAL] [--seed N] [--out DIR]``.

The cohort is ``ta.synthetic_ipd(TRIAL, seed=SEED, exact=True)``; the default seed is the
trial's ``shipped_seed`` in ``data/<trial>/synthetic_model.toml`` (20220503 for Zang 2022).
``tests/test_synthetic.py`` regenerates it and asserts the shipped files are identical, so
they never drift from the generator: rerun this script after changing the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trial_analysis as ta
from trial_analysis._paths import trial_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a trial's shipped synthetic cohort (CSV).")
    ap.add_argument("trial", nargs="?", default="zang2022")
    ap.add_argument("--seed", type=int, default=None, help="default: the model's shipped_seed")
    ap.add_argument("--out", type=Path, default=None, help="default: data/<trial>/synthetic")
    args = ap.parse_args(argv)
    ipd = ta.synthetic_ipd(args.trial, seed=args.seed, exact=True)
    out = args.out or trial_dir(args.trial) / "synthetic"
    ipd.save(out, format="csv")
    print(
        f"wrote {out}: {len(ipd.subjects)} subjects, {len(ipd.measurements)} measurements "
        f"(seed {ipd.info['seed']}, SYNTHETIC)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
