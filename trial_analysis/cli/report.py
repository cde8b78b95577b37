"""``trial-analysis report TRIAL [--ipd PATH|synthetic|none] [-o PATH] [--format pdf|html] [--quiet]``."""

from __future__ import annotations

import argparse
import sys
import time

from ..report.build import DEFAULT_SEED, build_report, command_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the reanalysis report (PDF or HTML)")
    p.add_argument("trial", help="shipped trial name (e.g. zang2022) or a trial folder")
    p.add_argument(
        "--ipd",
        help="patient-level data (folder, .xlsx, .xpt, .parquet), 'synthetic', or 'none' "
        "(published numbers only); default: the trial's own patient data, else its synthetic "
        "cohort",
    )
    p.add_argument(
        "-o", "--output", help="output file (default reports/<trial>_reanalysis.<format>)"
    )
    p.add_argument("--format", choices=["pdf", "html"], default="pdf")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for every random step")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:5.1f} s] {msg}", file=sys.stderr, flush=True)

    path = build_report(
        args.trial,
        ipd=False if args.ipd == "none" else args.ipd,
        out=args.output,
        fmt=args.format,
        seed=args.seed,
        command=command_line(),
        progress=None if args.quiet else progress,
    )
    if not args.quiet:
        progress(f"done: {path}")
    return 0
