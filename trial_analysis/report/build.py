"""Assemble and write a report: context, sections, renderer, atomic write, progress."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from .._validate import check_choice
from ..cli._common import atomic_write
from ..design import TrialDesign, load_design
from ..published import load_published
from ..results import SYNTHETIC_NOTE
from .content import Callout

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
    warnings: list[str] = field(
        default_factory=list
    )  # raised while building; listed in the appendix

    @property
    def synthetic(self) -> bool:
        return bool(getattr(self.ipd, "synthetic", False))

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a result once per report (several sections may show it)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def add_input(self, path: str | Path) -> None:
        p = Path(path)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            self.inputs[str(f)] = sha256_file(f)


def _resolve_ipd(ctx: ReportContext, ipd: Any) -> Any:
    if ipd is None and not (Path(ctx.design.source_file).parent / "synthetic_model.toml").is_file():
        # a user's trial folder with design.toml and published.csv only: no synthetic cohort;
        # the sections that need patient data say so
        ctx.warnings.append(
            "No patient-level data: the trial folder has no synthetic_model.toml and --ipd was "
            "not given; sections that need patient data are left out or say so."
        )
        return None
    if ipd is None or ipd == "synthetic":
        try:
            synth = importlib.import_module("trial_analysis.synthetic")
        except ModuleNotFoundError:
            return None
        try:
            data = synth.synthetic_ipd(ctx.trial, seed=ctx.seed)
        except AttributeError:  # the synthetic module is not complete yet
            return None
        shipped = Path(ctx.design.source_file).parent / "synthetic"
        if shipped.is_dir():
            ctx.add_input(shipped)
        return data
    if isinstance(ipd, (str, Path)):
        from ..ipd import load_ipd

        ctx.add_input(ipd)
        return load_ipd(ipd, design=ctx.design)
    return ipd


def build_report(
    trial: str = "zang2022",
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
    trial : str
        Shipped trial name or a trial folder (with ``design.toml`` and ``published.csv``).
    ipd : None, "synthetic", path or IPD
        Patient-level data. ``None`` uses the trial's synthetic cohort when one exists (the
        report then says so on every page).
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
    design = load_design(trial)
    published = load_published(Path(design.source_file).parent)
    ctx = ReportContext(
        trial=trial,
        design=design,
        published=published,
        seed=seed,
        command=command or "python: build_report(" + repr(trial) + ")",
    )
    ctx.add_input(design.source_file)
    ctx.add_input(published.attrs["source_file"])
    ctx.ipd = _resolve_ipd(ctx, ipd)

    built = []
    for _key, title, func in _sections.SECTIONS:
        if progress:
            progress(title)
        # warnings of the analyses go into the report (appendix), not onto the terminal
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sec = func(ctx)
        for w in caught:
            msg = f"{title}: {w.category.__name__}: {w.message}"
            if msg not in ctx.warnings and not issubclass(w.category, DeprecationWarning):
                ctx.warnings.append(msg)
        if sec is not None:
            built.append(sec)

    d = design
    subtitle = [
        f"Reanalysis of {d.citation}",
        f"Registration: {d.registration}" if d.registration else "",
        f"Report generated {_dt.date.today().isoformat()} by trial_analysis {_version()} (seed {seed})",
    ]
    callouts = [
        Callout(
            "This report reanalyses the trial from its <b>published aggregates</b> (the abstract only is public). "
            "Values not published are marked <i>assumed</i> with the reason.",
            "info",
        )
    ]
    if ctx.synthetic:
        callouts.insert(
            0,
            Callout(
                "<b>"
                + SYNTHETIC_NOTE.replace("SYNTHETIC DATA:", "SYNTHETIC DATA.")
                + "</b> Patient-level tables and figures illustrate the methods; they are "
                "not evidence about the trial's patients.",
                "synthetic",
            ),
        )
    footer = f"{d.short_title} — trial_analysis {_version()} reanalysis report"
    if out is None:
        out = Path("reports") / f"{Path(str(trial)).name}_reanalysis.{fmt}"
    from .html import render_html
    from .pdf import render_pdf

    render = render_pdf if fmt == "pdf" else render_html
    if progress:
        progress(f"writing {out}")
    return atomic_write(
        out,
        lambda tmp: render(
            tmp,
            title=f"Reanalysis: {d.short_title}",
            subtitle_lines=[s for s in subtitle if s],
            title_callouts=callouts,
            sections=built,
            footer=footer,
            synthetic=ctx.synthetic,
        ),
    )


def _version() -> str:
    from .. import __version__

    return __version__


def command_line() -> str:
    return " ".join(["trial-analysis", *sys.argv[1:]])
