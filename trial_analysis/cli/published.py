"""``trial-analysis published NAME|PATH``: the table of published aggregates."""

from __future__ import annotations

import argparse

from ..published import load_published
from ._common import print_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("published", help="list a trial's published aggregates with sources")
    p.add_argument("trial", help="shipped trial name or path to a published.csv")
    p.add_argument("--json", action="store_true", help="machine-readable output, with sources")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    df = load_published(args.trial)
    if args.json:
        print_json(df)
    else:
        cols = ["quantity", "arm", "week", "statistic", "relation", "value", "unit", "label"]
        print(df[cols].to_string(index=False))
    return 0
