"""``trial-analysis meta`` (pool studies) and ``trial-analysis claims`` (the claims audit).

``trial-analysis meta data/evidence --outcome hba1c [--method REML --hksj] [--plot forest.pdf]
[--json]`` pools the evidence base's between-arm HbA1c differences (with the derivation of each
number and a sensitivity table over the assumed pre-post correlation);
``trial-analysis meta studies.csv`` pools any CSV with columns ``yi`` and ``vi`` (or ``sei``),
optionally ``study`` and ``year``.

``trial-analysis claims [--json]`` prints the audit of the clinic's claims C1-C10.

Both sub-commands are registered here (one module, one job: the meta-analysis front end).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError, StatisticalWarning
from ..results import frame_to_text
from ._common import atomic_write, print_json

_OUTCOMES = ("hba1c",)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("meta", help="meta-analysis of the evidence base or of a CSV of studies")
    p.add_argument(
        "data",
        help="the evidence folder (data/evidence or a file in it) or a CSV "
        "with columns yi and vi (or sei), optional study, year",
    )
    p.add_argument("--outcome", choices=_OUTCOMES, help="outcome to pool (evidence folder)")
    p.add_argument(
        "--method",
        default="REML",
        choices=["REML", "DL", "PM", "SJ", "ML", "HE", "FE"],
        help="tau^2 estimator",
    )
    p.add_argument(
        "--hksj",
        action="store_true",
        help="Hartung-Knapp-Sidik-Jonkman adjustment (metafor test='knha')",
    )
    p.add_argument("--level", type=float, default=0.95, help="confidence level")
    p.add_argument(
        "--rho",
        type=float,
        default=0.5,
        help="assumed baseline/follow-up correlation for imputed change SDs",
    )
    p.add_argument(
        "--overlap",
        default="default",
        help="overlap groups: 'default' (one study per group), a trial id, or 'all'",
    )
    p.add_argument(
        "--all-weeks",
        action="store_true",
        help="use every trial's last time point (default: 24-52 weeks)",
    )
    p.add_argument(
        "--diagnostics",
        action="store_true",
        help="also leave-one-out, influence, Egger and Begg tests",
    )
    p.add_argument("--plot", metavar="FILE", help="write a forest plot (.pdf, .png, .svg)")
    p.add_argument("--funnel", metavar="FILE", help="write a contour-enhanced funnel plot")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)

    c = sub.add_parser("claims", help="audit a clinic's claims against the controlled evidence")
    c.add_argument("--evidence", help="evidence folder (default: the shipped data/evidence)")
    c.add_argument(
        "--claims",
        help="claims.csv (with claims.toml beside it) or their folder (default: the evidence folder)",
    )
    c.add_argument("--method", default="REML", choices=["REML", "DL", "PM", "SJ", "ML", "HE", "FE"])
    c.add_argument(
        "--hksj", action="store_true", help="Hartung-Knapp-Sidik-Jonkman for pooled_range claims"
    )
    c.add_argument("--rho", type=float, default=0.5)
    c.add_argument("--overlap", default="default")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=run_claims)


def _evidence_folder(path: Path) -> Path | None:
    folder = path if path.is_dir() else path.parent
    return folder if (folder / "trials.csv").is_file() else None


def _save(fig, path: str) -> None:
    fmt = Path(path).suffix.lstrip(".").lower() or "pdf"
    if fmt not in ("pdf", "png", "svg"):
        raise ParameterError("--plot/--funnel", "a file ending in .pdf, .png or .svg", path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight"))


def _read_studies(path: Path) -> pd.DataFrame:
    """A CSV of studies (yi, vi or sei; optional study, year), checked cell by cell."""
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParameterError("data", "a readable CSV file", f"{file}: {exc.strerror}") from None
    if b"\x00" in data[:65536]:
        raise ParameterError("data", "a CSV text file (this file is binary)", file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParameterError(
            "data", "a UTF-8 CSV file", f"{file}: undecodable byte at offset {exc.start}"
        ) from None
    if not text.strip():
        raise ParameterError(
            "data", "a CSV with a header and one row per study", f"{file} is empty"
        )
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        msg = " ".join(str(exc).split())
        raise ParameterError("data", "a well-formed CSV", f"{file}: {msg}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if "yi" not in df or ("vi" not in df and "sei" not in df):
        raise ParameterError(
            "data", "a CSV with columns yi and vi (or sei)", f"{file} has {', '.join(df.columns)}"
        )
    if df.empty:
        raise ParameterError("data", "at least one study row", f"{file} has a header only")
    for col in ("yi", "vi", "sei", "year"):
        if col not in df:
            continue
        raw = df[col].str.strip()
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() | ~np.isfinite(num.to_numpy(float))
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise ParameterError(
                "data",
                f"a finite number in every row of column {col}",
                f"{file}, row {i + 2}: {raw.iloc[i]!r}",
            )
        df[col] = num.astype(float)
    return df


def run(args: argparse.Namespace) -> int:
    from .. import meta
    from ..evidence import load_evidence
    from ..meta.evidence import hba1c_effects, hba1c_table

    path = Path(args.data)
    if not path.exists():
        raise ParameterError("data", "an existing folder or CSV file", args.data)
    test = "knha" if args.hksj else "z"
    folder = _evidence_folder(path)
    extra: dict[str, pd.DataFrame] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if folder is not None:
            if args.outcome is None:
                raise ParameterError(
                    "--outcome", "given for the evidence folder: one of " + ", ".join(_OUTCOMES)
                )
            ev = load_evidence(folder)
            weeks = None if args.all_weeks else (24, 52)
            kw = {"rho": args.rho, "weeks": weeks, "overlap": args.overlap}
            tab = hba1c_table(ev, **kw)
            es = meta.EffectSizes(
                "MD",
                tab.yi.to_numpy(float),
                tab.sei.to_numpy(float) ** 2,
                tuple(tab.study),
                tuple(tab.derivation),
            )
            res = meta.rma(
                es, method=args.method, test=test, level=args.level, year=tab.year.to_numpy(float)
            )
            extra["derivations"] = tab
            sens = meta.rho_sensitivity(
                lambda r: hba1c_effects(ev, **{**kw, "rho": r}),
                method=args.method,
                test=test,
                level=args.level,
            )
            extra["rho_sensitivity"] = sens.to_frame()
        else:
            df = _read_studies(path)
            res = meta.rma(
                df.yi.to_numpy(float),
                df.vi.to_numpy(float) if "vi" in df else None,
                sei=df.sei.to_numpy(float) if "vi" not in df else None,
                slab=list(df.study.astype(str)) if "study" in df else None,
                year=df.year.to_numpy(float) if "year" in df else None,
                method=args.method,
                test=test,
                level=args.level,
            )
        if args.diagnostics and res.k >= 3:
            extra["leave1out"] = res.leave1out().to_frame()
            extra["influence"] = res.influence().to_frame()
            extra["egger"] = res.regtest().to_frame()
            extra["begg"] = res.ranktest().to_frame()
        if args.diagnostics and res.k >= 2 and res.method != "FE":
            extra["heterogeneity_ci"] = res.confint().to_frame()
        if args.plot:
            _save(res.forest_plot(), args.plot)
        if args.funnel:
            _save(res.funnel_plot(), args.funnel)
    warns = list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    )
    if args.json:
        out = res.to_dict()
        out.update(extra)
        out["warnings"] = warns
        print_json(out)
        return 0
    print(res)
    for name, df in extra.items():
        print()
        print(frame_to_text(df, name.replace("_", " ").capitalize()))
    for w in warns:
        print(f"Warning: {w}")
    return 0


def run_claims(args: argparse.Namespace) -> int:
    from ..claims import audit
    from ..evidence import load_claims, load_evidence

    ev = load_evidence(args.evidence)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = audit(
            load_claims(args.claims if args.claims else args.evidence),
            ev,
            method=args.method,
            test="knha" if args.hksj else "z",
            rho=args.rho,
            overlap=args.overlap,
        )
    if args.json:
        print_json(res.to_dict())
        return 0
    tab = res.to_frame()
    for r in tab.itertuples():
        est = ""
        if r.rule == "pooled_range" and math.isfinite(r.estimate):
            est = (
                f" Estimate {r.estimate:.2f} (CI {r.ci_low:.2f} to {r.ci_high:.2f}; "
                f"PI {r.pi_low:.2f} to {r.pi_high:.2f})"
            )
        print(
            f"{r.id}: {r.claim}\n  Verdict: {r.verdict.upper()}.{est}\n  Evidence: "
            f"{r.evidence_used}\n  Reason: {r.reason}\n"
        )
    for n in res.notes:
        print(f"Note: {n}")
    return 0
