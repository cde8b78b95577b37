"""``trial-analysis design NAME|PATH``: a readable design summary."""

from __future__ import annotations

import argparse

from ..design import load_design
from ._common import print_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("design", help="show a trial's design: arms, dosing, schedule, endpoints")
    p.add_argument("trial", help="shipped trial name (e.g. zang2022) or path to a design.toml")
    p.add_argument(
        "--table", action="store_true", help="print every design item with its provenance"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    d = load_design(args.trial)
    if args.json:
        print_json({"summary": d.summary(), "items": d.to_frame(), "sha256": d.sha256})
    elif args.table:
        print(d.to_frame().to_string(index=False))
    else:
        print(d.summary())
    return 0
