"""``trial-analysis reanalyze TRIAL [--endpoint ID] [--ipd PATH|synthetic] [--json]``.

Runs :func:`trial_analysis.reanalyze`: every endpoint the trial's design declares (or the one
named), from the published numbers and the patient-level data: the trial's own (ADaM files in
``data/<trial>/adam/``) by default, a folder given with ``--ipd``, ``synthetic`` (the trial's
synthetic cohort) or ``none``.
"""

from __future__ import annotations

import argparse

from ._common import print_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reanalyze", help="reanalyse a trial's endpoints every way a reviewer would")
    p.add_argument("trial", help="shipped trial name (e.g. zang2022) or a trial folder")
    p.add_argument("--endpoint", help="one endpoint id of the design (default: every endpoint)")
    p.add_argument(
        "--ipd",
        help="patient-level data (folder, .xlsx, .xpt, .parquet), 'synthetic', or 'none'; "
        "default: the trial's own patient data if it ships any, else published numbers only",
    )
    p.add_argument("--seed", type=int, default=20220503, help="seed for every random step")
    p.add_argument(
        "--json", action="store_true", help="machine-readable output with the same numbers"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..reanalysis import reanalyze

    ipd = False if args.ipd == "none" else args.ipd
    result = reanalyze(args.trial, args.endpoint, ipd=ipd, seed=args.seed)
    # one endpoint of a two-arm trial: its own full result; otherwise the whole reanalysis
    one = result.results[0] if args.endpoint and len(result.results) == 1 else None
    if args.json:
        print_json((one or result).to_dict())
    elif one is not None:
        print(one)
    else:
        print(result)
        for r in result.results:
            print()
            print(r)
    return 0
