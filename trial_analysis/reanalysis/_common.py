"""Helpers shared by the engine's endpoint families (private to :mod:`trial_analysis.reanalysis`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..errors import AnalysisError, StatisticalWarning

#: ``data_source`` values of the engine's tidy table; ``reconstructed``: patients rebuilt from
#: a digitised published Kaplan-Meier curve (Guyot 2012), never the trial's own patients
SOURCES = ("published", "patient-level", "synthetic", "reconstructed")
RECONSTRUCTED = "reconstructed"


def data_source(synthetic: bool) -> str:
    """``"synthetic"`` for a synthetic cohort, else ``"patient-level"``."""
    return "synthetic" if synthetic else "patient-level"


def ipd_population(ep: Any, population: str | None) -> str:
    """The population of an endpoint's patient-level analyses: the caller's, the endpoint's, ITT."""
    return population or getattr(ep, "population", "") or "ITT"


def tidy_row(
    analysis: str, method: str, r: Any, data_source: str, estimate: str = "estimate"
) -> dict[str, Any]:
    """One row of the engine's tidy table from a result row ``r`` (``ci_low, ci_high,
    p_value`` and the ``estimate`` column named)."""
    return dict(
        analysis=analysis,
        method=method,
        estimate=r[estimate],
        ci_low=r["ci_low"],
        ci_high=r["ci_high"],
        p_value=r["p_value"],
        data_source=data_source,
    )


def with_subject_columns(ipd: Any, data: Any, columns: Any) -> Any:
    """``data`` (one or more rows per ``USUBJID``) with the subject-level ``columns`` it lacks:
    ``BASE_<PARAMCD>`` baselines from the IPD's analysis baselines, other names from its
    subject table (ADSL). Names found in neither are left out (the caller notes them)."""
    need = [c for c in columns if c not in data.columns]
    if not need:
        return data
    subj = ipd.subjects
    from_subj = [c for c in need if c in subj.columns and not c.startswith("BASE_")]
    out = data
    if from_subj:
        add = subj[["USUBJID", *from_subj]].drop_duplicates("USUBJID")
        out = out.merge(add, on="USUBJID", how="left", validate="many_to_one")
    base = [c for c in need if c.startswith("BASE_") and c not in out.columns]
    if base:
        b = ipd.baseline()
        base = [c for c in base if c in b.columns]
        if base:
            out = out.merge(
                b[["USUBJID", *base]].drop_duplicates("USUBJID"),
                on="USUBJID",
                how="left",
                validate="many_to_one",
            )
    out.attrs.update(data.attrs)
    return out


def endpoint_notes(extra: tuple[str, ...], synthetic: bool) -> tuple[str, ...]:
    """An endpoint result's notes: its own, then the synthetic-data note when it applies."""
    from ..results import SYNTHETIC_NOTE

    return (*extra, SYNTHETIC_NOTE) if synthetic else tuple(extra)


def pair_label(experimental: str, control: str) -> str:
    return f"{experimental} vs {control}"


def attempt(notes: list[str], label: str, fn: Callable[[], Any]) -> Any:
    """Run one analysis; an AnalysisError omits it with a note and a warning (never a NaN row)."""
    try:
        return fn()
    except AnalysisError as exc:
        msg = f"{label} omitted: {exc}"
        warnings.warn(msg, StatisticalWarning, stacklevel=3)
        notes.append(msg)
        return None
