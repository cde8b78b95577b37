"""``trial-analysis validate PATH [--design TRIAL] [--json]``: check patient-level data.

Prints every problem (file, spreadsheet row, column, value, rule) and exits 1 when the data
fail validation, 0 when they are clean (2 is reserved for other errors, e.g. a bad design).
"""

from __future__ import annotations

import argparse

from ..errors import DataValidationError
from ..ipd import load_ipd
from ._common import print_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="validate patient-level data (folder of CSV/Parquet/XPT files or an .xlsx)",
        description=(
            "Validate patient-level data against a trial design (format: docs/data-format.md). "
            "Exit code 0 when clean, 1 when the data have problems."
        ),
    )
    p.add_argument(
        "path",
        help="folder with subjects.* and measurements.*, a folder of ADaM data sets (ADSL + "
        "BDS under any names), an .xlsx workbook, a trial folder (its adam/ data, as the "
        "engine reads them) or a shipped trial name",
    )
    p.add_argument(
        "--design",
        help="trial name or design.toml path (default: design.toml in the folder, else the "
        "STUDYID column's shipped trial; ADaM data without a design are read as they are)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument(
        "--max", type=int, default=50, help="problems to print (all are counted; default 50)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        ipd = load_ipd(args.path, design=args.design)
    except DataValidationError as exc:
        probs = exc.problems
        if args.json:
            print_json(
                {
                    "valid": False,
                    "n_problems": len(probs),
                    "problems": [
                        {
                            "file": p.file,
                            "row": p.row,
                            "column": p.column,
                            "value": p.value if p.value is None else str(p.value),
                            "rule": p.rule,
                        }
                        for p in probs
                    ],
                }
            )
        else:
            print(f"INVALID: {len(probs)} problem{'s' if len(probs) != 1 else ''} in {args.path}")
            for p in probs[: args.max]:
                print(f"  - {p}")
            if len(probs) > args.max:
                print(f"  ... and {len(probs) - args.max} more (use --max or --json to see all)")
        return 1
    s = ipd.subjects
    # arms are the values of the data's treatment variable (TRT01P, TRT01A, ARM...)
    counts = s.groupby(ipd.treatment, sort=False).size()
    arms = ", ".join(f"{a}: {int(counts.get(a, 0))}" for a in ipd.arm_names)
    design_id = ipd.design.id if ipd.design is not None else None
    if args.json:
        print_json(
            {
                "valid": True,
                "n_problems": 0,
                "design": design_id,
                "data": ipd.source,
                "synthetic": ipd.synthetic,
                "subjects": len(s),
                "measurements": len(ipd.measurements),
                "subjects_by_arm": {a: int(counts.get(a, 0)) for a in ipd.arm_names},
            }
        )
    else:
        against = (
            f"against design '{design_id}'" if design_id else "(no design: arms from the data)"
        )
        checked = "" if str(args.path) == ipd.source else f" ({ipd.source})"
        print(
            f"OK: {args.path}{checked} is valid {against}: {len(s)} subjects "
            f"({arms}), {len(ipd.measurements)} measurements."
        )
        if ipd.synthetic:
            print("Note: these are SYNTHETIC data (SYNTHFL = Y), not real patients.")
    return 0
