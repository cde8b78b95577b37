"""Assemble and write a report: context, sections, renderer, atomic write, progress."""

from __future__ import annotations

import datetime as _dt
import hashlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from .._io import atomic_write
from .._paths import display_path
from .._validate import check_choice
from ..design import TrialDesign
from ..results import SYNTHETIC_NOTE
from ..trial import _name_or_folder, load_trial
from .content import Bold, Callout, Italic, resolve

__all__ = ["ReportContext", "build_report", "sha256_file"]

DEFAULT_SEED = 20220503


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class ReportContext:
    """Everything a section needs; sections only read it (and cache computed results in it)."""

    trial: str
    design: TrialDesign
    published: pd.DataFrame
    ipd: Any = None
    seed: int = DEFAULT_SEED
    inputs: dict[str, str] = field(default_factory=dict)  # path -> sha256
    command: str = ""
    cache: dict[str, Any] = field(default_factory=dict)
    # raised while building, as (section title, warning class name, message); in the appendix
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    trial_obj: Any = None  # the loaded Trial (design, published numbers, folder)

    @property
    def synthetic(self) -> bool:
        return bool(getattr(self.ipd, "synthetic", False))

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a result once per report (several sections may show it)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def add_input(self, path: str | Path) -> None:
        """Record the SHA-256 of a file (or of every file in a folder) under its display path."""
        p = Path(path)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            self.inputs[display_path(f)] = sha256_file(f)


def _resolve_ipd(ctx: ReportContext, ipd: Any) -> Any:
    """The report's patient-level data: ``ipd`` as given, else what the trial ships (real data
    first, else its synthetic cohort: :func:`~trial_analysis.trial.default_ipd` with
    ``synthetic=True``); ``False``: published numbers only. Inputs are checksummed."""
    from ..trial import default_ipd, resolve_ipd

    t = ctx.trial_obj
    if ipd is None:
        ipd = default_ipd(t, synthetic=True)
    if ipd is None or ipd is False:
        return None
    if ipd == "synthetic" and t.folder is not None and (t.folder / "synthetic").is_dir():
        ctx.add_input(t.folder / "synthetic")
    elif isinstance(ipd, (str, Path)) and ipd != "synthetic":
        ctx.add_input(ipd)
    return resolve_ipd(t, ipd, seed=ctx.seed)


def build_report(
    trial: Any,
    *,
    ipd: Any = None,
    out: str | Path | None = None,
    fmt: str = "pdf",
    seed: int = DEFAULT_SEED,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build the reanalysis report of ``trial`` and write it atomically.

    Parameters
    ----------
    trial : str, Path, TrialDesign or Trial
        Shipped trial name or a trial folder (``design.toml``, optionally ``published.csv``,
        ``adam/`` patient data, ``synthetic_model.toml``).
    ipd : None, False, "synthetic", path or IPD
        Patient-level data. ``None``: what the trial ships — its real patient data
        (``data/<trial>/adam/``), else its synthetic cohort when it has a generative model (the
        report then says so on every page), else none; ``False``: published numbers only.
    out : path, optional
        Output file; default ``reports/<trial>_reanalysis.<fmt>``.
    fmt : {"pdf", "html"}
    seed : int
        Seed for every random step (bootstrap, Monte Carlo, synthetic cohort, imputation).
    command : str, optional
        The command line to record in the reproducibility appendix.
    progress : callable, optional
        Called with a short message before each section.
    """
    from . import sections as _sections

    check_choice("fmt", fmt, ["pdf", "html"])
    matplotlib.use("Agg")
    t = load_trial(trial)
    design = t.design
    published = t.published
    ctx = ReportContext(
        trial=_name_or_folder(t),
        design=design,
        published=published,
        seed=seed,
        command=command or "python: build_report(" + repr(trial) + ")",
        trial_obj=t,
    )
    for f in t.input_files:
        ctx.add_input(f)
    ctx.ipd = _resolve_ipd(ctx, ipd)

    built = []
    for _key, title, func in _sections.sections_for(ctx):
        if progress:
            progress(title)
        # warnings of the analyses go into the report (appendix), not onto the terminal
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sec = func(ctx)
        for w in caught:
            msg = (title, w.category.__name__, str(w.message))
            if msg not in ctx.warnings and not issubclass(w.category, DeprecationWarning):
                ctx.warnings.append(msg)
        if sec is not None:
            built.append(sec)
    from .references import references_section

    has_evidence = any(sec.key == "evidence" for sec in built)
    if has_evidence:
        from .._paths import data_dir

        ctx.add_input(data_dir() / "evidence")
    refs = references_section(ctx, evidence=has_evidence)
    if refs is not None:
        # the reproducibility appendix stays last; its checksum table was built before the
        # evidence inputs were added, so it is rebuilt
        repro = [i for i, sec in enumerate(built) if sec.key == "reproducibility"]
        if repro:
            built[repro[0]] = _sections.reproducibility_section(ctx)
            built.insert(repro[0], refs)
        else:
            built.append(refs)

    d = design
    subtitle = [
        f"Reanalysis of {d.citation}",
        f"Registration: {d.registration}" if d.registration else "",
        f"Report generated {_dt.date.today().isoformat()} by trial_analysis {_version()} (seed {seed})",
    ]
    if ctx.ipd is not None and not ctx.synthetic:
        basis: tuple[Any, ...] = (
            "This report reanalyses the trial from its ",
            Bold("patient-level data"),
            f" ({display_path(ctx.ipd.source)})"
            + (" and its published numbers" if len(published) else "")
            + ". ",
        )
    elif len(published):
        basis = ("This report reanalyses the trial from its ", Bold("published aggregates"), ". ")
    else:
        basis = ("This report has neither published numbers nor patient-level data to analyse. ",)
    callouts = [
        Callout(
            (
                *basis,
                "Every table and figure names its data source; values not published are marked ",
                Italic("assumed"),
                " with the reason.",
            ),
            "info",
        )
    ]
    if ctx.synthetic:
        callouts.insert(
            0,
            Callout(
                (
                    Bold(SYNTHETIC_NOTE.replace("SYNTHETIC DATA:", "SYNTHETIC DATA.")),
                    " Patient-level tables and figures illustrate the methods; they are "
                    "not evidence about the trial's patients.",
                ),
                "synthetic",
            ),
        )
    footer = f"{d.short_title} — trial_analysis {_version()} reanalysis report"
    if out is None:
        out = Path("reports") / f"{Path(str(trial)).name}_reanalysis.{fmt}"
    from .html import render_html
    from .pdf import render_pdf

    render = render_pdf if fmt == "pdf" else render_html
    # numbering, cross-references and text bounds are checked before anything is written
    doc = resolve(
        title=f"Reanalysis: {d.short_title}",
        subtitle_lines=[s for s in subtitle if s],
        title_callouts=callouts,
        sections=built,
        footer=footer,
        synthetic=ctx.synthetic,
    )
    if progress:
        progress(f"writing {out}")
    return atomic_write(out, lambda tmp: render(tmp, doc=doc))


def _version() -> str:
    from .. import __version__

    return __version__


def command_line() -> str:
    return " ".join(["trial-analysis", *sys.argv[1:]])
