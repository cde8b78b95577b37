"""``trial-analysis reconstruct``: patient data rebuilt from a digitised Kaplan–Meier curve.

``trial-analysis reconstruct curve.csv at_risk.csv [--events ARM=N ...] [--percent]
[--out ipd.csv] [--plot km.pdf] [--time-label Months] [--json]`` reads the digitised curve
(``arm, time, survival``) and the numbers-at-risk table (``arm, time, n_risk``), prints the
fit diagnostics (reconstructed vs digitised curve, numbers at risk, events) and the
Kaplan–Meier medians of the reconstruction, and writes the reconstructed patients
(``arm, time, event, source``) and the figure atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..errors import ParameterError
from ..results import frame_to_text
from ._common import atomic_write, print_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="rebuild patient data from a digitised Kaplan-Meier curve (Guyot 2012)",
    )
    p.add_argument("curve", help="CSV of the digitised curve: arm, time, survival")
    p.add_argument("at_risk", help="CSV of the numbers-at-risk table: arm, time, n_risk")
    p.add_argument(
        "--events",
        action="append",
        default=[],
        metavar="ARM=N",
        help="published total events of an arm (repeat per arm)",
    )
    p.add_argument("--percent", action="store_true", help="survival is in percent (0-100)")
    p.add_argument("--out", help="write the reconstructed patients to this CSV")
    p.add_argument("--plot", help="write the KM figure with the digitised points (.pdf/.png/.svg)")
    p.add_argument("--time-label", default="Time", help="time-axis label of the figure")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _read(path: str, name: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise ParameterError(name, "an existing CSV file", path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ParameterError(
            name, f"a readable CSV file ({exc.__class__.__name__})", path
        ) from None


def _events(items: list[str], curve: pd.DataFrame) -> dict | None:
    if not items:
        return None
    labels = {str(a): a for a in pd.unique(curve["arm"]) if pd.notna(a)} if "arm" in curve else {}
    out = {}
    for item in items:
        arm, sep, n = item.rpartition("=")
        if not sep or not arm:
            raise ParameterError("--events", "ARM=N (e.g. --events placebo=112)", item)
        if arm not in labels:
            raise ParameterError("--events", f"an arm of the curve ({sorted(labels)})", arm)
        try:
            out[labels[arm]] = int(n)
        except ValueError:
            raise ParameterError("--events", "a whole number of events after '='", item) from None
    return out


def run(args: argparse.Namespace) -> int:
    from ..survival import RECONSTRUCTED_SOURCE, kaplan_meier, reconstruct

    curve = _read(args.curve, "curve")
    at_risk = _read(args.at_risk, "at_risk")
    ipd = reconstruct(curve, at_risk, _events(args.events, curve), percent=args.percent)
    fit = ipd.attrs["fit"]
    km = kaplan_meier(ipd["time"], ipd["event"], ipd["arm"], source=RECONSTRUCTED_SOURCE)
    if args.out:
        from .._io import csv_safe  # arm labels come from the user's file: never a formula

        safe = csv_safe(ipd)
        atomic_write(args.out, lambda t: safe.to_csv(t, index=False, lineterminator="\n"))
    if args.plot:
        fig = fit.plot(time_label=args.time_label)
        fmt = Path(args.plot).suffix.lstrip(".") or "pdf"
        atomic_write(args.plot, lambda t: fig.savefig(t, format=fmt, bbox_inches="tight"))
    if args.json:
        print_json({"fit": fit.to_dict(), "kaplan_meier": km.to_dict(), "out": args.out})
    else:
        print(fit)
        print()
        print(frame_to_text(km.to_frame(), km.title, km.notes))
        if args.out:
            print(f"\nwrote {len(ipd)} reconstructed patients to {args.out}")
    return 0
