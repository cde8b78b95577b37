"""The ``trial-analysis`` console command.

Each sub-command lives in its own module in this package and defines
``add_parser(subparsers)``, which registers the sub-command and sets ``func`` (taking the
parsed ``argparse.Namespace`` and returning an exit code). Add a new command by adding its
module name to :data:`COMMANDS`. Errors of the package (:class:`TrialAnalysisError`) are
printed as one clear message with exit code 2 (1 is reserved for "data failed validation").
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import TrialAnalysisError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = [
    "design",
    "published",
    "validate",
    "reanalyze",
    "power",
    "sequential",
    "meta",
    "report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trial-analysis",
        description="Statistical reanalysis of published clinical trials.",
        epilog="Run 'trial-analysis COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"trial-analysis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        mod.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except TrialAnalysisError as exc:
        print(f"trial-analysis: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("trial-analysis: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
