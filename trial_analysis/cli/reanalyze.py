"""``trial-analysis reanalyze TRIAL --endpoint E [--ipd PATH|synthetic] [--json]``.

Each endpoint maps to a function ``f(trial: str, ipd=None, seed: int = ...) -> Result``
(the result has ``__str__`` and ``to_dict()``). ``--ipd synthetic`` uses the synthetic cohort
shipped for the trial; without ``--ipd`` only the published summaries are reanalysed.
"""

from __future__ import annotations

import argparse
import importlib

from ._common import print_json

# endpoint -> "module:function"
ENDPOINTS = {
    "composite": "trial_analysis.composite:reanalyze",
    "insulin": "trial_analysis.glycaemic:reanalyze_insulin",
    "hba1c": "trial_analysis.glycaemic:reanalyze_hba1c",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reanalyze", help="reanalyse a trial endpoint every way a reviewer would")
    p.add_argument("trial", help="shipped trial name (e.g. zang2022) or a trial folder")
    p.add_argument("--endpoint", required=True, choices=sorted(ENDPOINTS))
    p.add_argument(
        "--ipd", help="patient-level data (folder, .xlsx, .xpt, .parquet) or 'synthetic'"
    )
    p.add_argument("--seed", type=int, default=20220503, help="seed for every random step")
    p.add_argument(
        "--json", action="store_true", help="machine-readable output with the same numbers"
    )
    p.set_defaults(func=run)


def load_ipd_arg(trial: str, ipd: str | None, seed: int):
    """Resolve ``--ipd``: None, the word 'synthetic', or a path."""
    if ipd is None:
        return None
    if ipd == "synthetic":
        from ..synthetic import synthetic_ipd

        return synthetic_ipd(trial, seed=seed)
    from ..ipd import load_ipd

    return load_ipd(ipd, design=trial)


def run(args: argparse.Namespace) -> int:
    module, func = ENDPOINTS[args.endpoint].split(":")
    fn = getattr(importlib.import_module(module), func)
    result = fn(args.trial, ipd=load_ipd_arg(args.trial, args.ipd, args.seed), seed=args.seed)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result)
    return 0
