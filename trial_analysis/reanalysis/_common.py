"""Helpers shared by the engine's endpoint families (private to :mod:`trial_analysis.reanalysis`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..errors import AnalysisError, StatisticalWarning

#: ``data_source`` values of the engine's tidy table
SOURCES = ("published", "patient-level", "synthetic")


def data_source(synthetic: bool) -> str:
    """``"synthetic"`` for a synthetic cohort, else ``"patient-level"``."""
    return "synthetic" if synthetic else "patient-level"


def ipd_population(ep: Any, population: str | None) -> str:
    """The population of an endpoint's patient-level analyses: the caller's, the endpoint's, ITT."""
    return population or getattr(ep, "population", "") or "ITT"


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
