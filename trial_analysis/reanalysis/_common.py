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
