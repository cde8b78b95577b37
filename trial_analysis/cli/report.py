"""``trial-analysis report TRIAL [--ipd PATH|synthetic|none] [-o PATH] [--format pdf|html] [--quiet]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import ParameterError
from ._common import check_writable

DEFAULT_SEED = 20220503  # = report.build.DEFAULT_SEED (checked by a test); the report
# package is imported only when a report is built, so that the command starts fast
_EXT = {".pdf": "pdf", ".html": "html", ".htm": "html"}


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
    p.add_argument(
        "--format",
        choices=["pdf", "html"],
        default=None,
        help="pdf or html (default: from the -o extension, else pdf)",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for every random step")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=run)


def _output(args: argparse.Namespace) -> tuple[Path, str]:
    """The output path and format, checked before the build (which takes minutes)."""
    fmt = args.format
    if args.output is None:
        fmt = fmt or "pdf"
        name = Path(args.trial).resolve().name if Path(args.trial).exists() else args.trial
        out = Path("reports") / f"{name}_reanalysis.{fmt}"
    else:
        out = Path(args.output)
        if out.is_dir():
            check_writable(out)  # "it is a folder", rather than a complaint about its suffix
        ext = out.suffix.lower()
        implied = _EXT.get(ext)
        if fmt is None:
            if implied is None:
                raise ParameterError(
                    "-o/--output",
                    "a file name ending in .pdf or .html (or give --format)",
                    str(out),
                )
            fmt = implied
        elif implied is not None and implied != fmt:
            raise ParameterError(
                "--format",
                f"the format of the -o extension {ext!r} ({implied}); a {fmt.upper()} report "
                f"would be written into a {ext} file",
                fmt,
            )
    return check_writable(out), fmt


def run(args: argparse.Namespace) -> int:
    from .._paths import trial_dir

    t0 = time.perf_counter()
    trial_dir(args.trial)  # an unknown trial or a folder without design.toml: before the build
    out, fmt = _output(args)
    if args.ipd not in (None, "synthetic") and not Path(args.ipd).exists():
        raise ParameterError("--ipd", "an existing folder or file, or 'synthetic'", args.ipd)
    from ..report.build import build_report, command_line

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:5.1f} s] {msg}", file=sys.stderr, flush=True)

    path = build_report(
        args.trial,
        ipd=False if args.ipd == "none" else args.ipd,
        out=out,
        fmt=fmt,
        seed=args.seed,
        command=command_line(),
        progress=None if args.quiet else progress,
    )
    if not args.quiet:
        progress(f"done: {path}")
    return 0
