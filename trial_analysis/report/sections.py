"""The report's sections, in order. Each is ``f(ctx) -> Section | None``.

A section returns ``None`` while the analysis it shows does not exist in the package (so the
report grows as analyses land); once the analysis exists, errors propagate (a reviewer-ready
report never silently drops a section). Sections only call analysis functions and turn their
result objects into blocks — no statistics are computed here.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..plots import design_timeline
from ..results import format_sci
from .build import ReportContext
from .content import Callout, FigureBlock, Para, Section, TableBlock, table_from

__all__ = ["SECTIONS"]


def available(module: str, *attrs: str) -> bool:
    """True when ``trial_analysis.<module>`` imports and has every attribute in ``attrs``."""
    try:
        mod = importlib.import_module(f"trial_analysis.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("trial_analysis"):
            return False
        raise
    return all(hasattr(mod, a) for a in attrs)


# ------------------------------------------------------------------------------------ design
def design_section(ctx: ReportContext) -> Section:
    d = ctx.design
    s = Section("design", "Design")
    s.add(
        Para(
            f"{d.info.get('design', '').capitalize()} trial, phase {d.info.get('phase', '?')}, "
            f"{d.info.get('period', '')}. {d.n_randomised} patients randomised: "
            + ", ".join(f"{a.name} n = {a.n_randomised}" for a in d.arms)
            + ". "
            f"Dose {format_sci(d.dose.amount_per_kg)} {d.dose.unit} per {d.dose.per} ({d.dose.route}) at weeks "
            + ", ".join(map(str, d.infusion_weeks))
            + f"; follow-up {d.follow_up_weeks} weeks."
        )
    )
    dp = d.provenance_of("dose")
    if dp and dp.reason:
        s.add(Callout(f"<b>Dose ({dp.label}).</b> {dp.reason}", "warning"))
    s.add(
        FigureBlock(
            design_timeline(d),
            "Schedule of infusions and visits. Visit weeks are "
            + (
                d.provenance_of("schedule.visit_weeks").label
                if d.provenance_of("schedule.visit_weeks")
                else ""
            )
            + "; see Table 1 for provenance.",
            width=0.95,
        )
    )
    items = d.to_frame()
    s.add(
        TableBlock(
            items.astype(str),
            "Design items and their provenance (published = the paper's abstract; "
            "registry = NCT record; secondary = write-ups; derived = inferred from published text; "
            "assumed = our choice, with the reason below).",
            col_widths=(3, 7, 1.4),
        )
    )
    prov = pd.DataFrame(
        [(k, p.label, p.reason or p.source) for k, p in d.provenance.items()],
        columns=["item", "provenance", "source or reason"],
    )
    s.add(TableBlock(prov, "Sources and reasons for each design item.", col_widths=(2.2, 1.3, 8)))
    return s


# ------------------------------------------------------------------------ published numbers
def published_section(ctx: ReportContext) -> Section:
    pub = ctx.published
    s = Section("published", "Published results")
    s.add(
        Para(
            "Every number the trial published, one row each, as stored in <i>published.csv</i> with the "
            "sentence it is quoted from. 'relation' marks bounds such as p &lt; 0.05."
        )
    )
    cols = ["quantity", "arm", "week", "statistic", "relation", "value", "unit", "label"]
    s.add(
        table_from(
            pub[cols].astype({"week": "object"}).fillna(""),
            "Published aggregates of the trial.",
            digits=6,
        )
    )
    notes = pub.loc[pub["note"] != "", ["quantity", "arm", "statistic", "note"]].drop_duplicates(
        "note"
    )
    if len(notes):
        s.add(
            TableBlock(
                notes.reset_index(drop=True),
                "Notes on how published numbers are read.",
                col_widths=(2, 2, 1.5, 8),
            )
        )
    return s


# ------------------------------------------------------------------------- reproducibility
_PACKAGES = (
    "trial_analysis",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "matplotlib",
    "reportlab",
    "svglib",
    "dask",
    "papermill",
)


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "not run from a git checkout"
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "git unavailable"
    return rev + (" (with uncommitted changes)" if dirty else "")


def reproducibility_section(ctx: ReportContext) -> Section:
    s = Section("reproducibility", "Reproducibility")
    versions = [("python", platform.python_version())]
    for p in _PACKAGES:
        try:
            versions.append((p, md.version(p)))
        except md.PackageNotFoundError:
            versions.append((p, "not installed"))
    s.add(
        TableBlock(
            pd.DataFrame(versions, columns=["package", "version"]),
            "Software versions.",
            col_widths=(1, 1),
        )
    )
    s.add(
        Para(
            f"<b>Seed</b> for every random step: {ctx.seed}. <b>Git commit</b>: {_git_commit()}. "
            f"<b>Platform</b>: {platform.platform()}."
        )
    )
    s.add(Para(f"<b>Command</b>: <font face='Courier'>{ctx.command}</font>"))
    root = Path.cwd()
    rows = []
    for path, sha in ctx.inputs.items():
        p = Path(path)
        rows.append((str(p.relative_to(root)) if p.is_relative_to(root) else str(p), sha))
    s.add(
        TableBlock(
            pd.DataFrame(rows, columns=["input file", "SHA-256"]),
            "Input files and their checksums.",
            col_widths=(5, 6),
        )
    )
    return s


SECTIONS: list[tuple[str, str, Callable[[ReportContext], Section | None]]] = [
    ("design", "Design", design_section),
    ("published", "Published results", published_section),
    ("reproducibility", "Reproducibility", reproducibility_section),
]
