"""trial_analysis: statistical reanalysis of published clinical trials.

Load a trial's design and published numbers, patient-level data (a user's own, validated, or a
synthetic cohort matched to the published aggregates), test its endpoints every way a careful
reviewer would, simulate power for the next trial, and report through notebooks and PDF.

>>> import trial_analysis as ta
>>> ta.load_design("zang2022").arms[0].n_randomised
45

Analysis modules are imported on first use (``ta.binary``, ``ta.power``, ...), so
``import trial_analysis`` stays fast and optional dependencies load only when needed.
"""

from __future__ import annotations

import importlib
from typing import Any

from .design import TrialDesign, load_design
from .errors import (
    AnalysisError,
    DataValidationError,
    DesignError,
    MissingDependencyError,
    ParameterError,
    ScenarioError,
    TrialAnalysisError,
)
from .published import load_published, published_value

__version__ = "0.1.0"

# Submodules importable as attributes: ta.binary, ta.power, ...
_SUBMODULES = {
    "baseline",
    "bayes",
    "binary",
    "claims",
    "composite",
    "consistency",
    "continuous",
    "design",
    "errors",
    "evidence",
    "glycaemic",
    "ipd",
    "meta",
    "missing",
    "mmrm",
    "multiplicity",
    "power",
    "published",
    "report",
    "results",
    "synthetic",
}
# Top-level functions defined in submodules: name -> module
_FUNCTIONS = {
    "load_ipd": "ipd",
    "synthetic_ipd": "synthetic",
}

__all__ = [
    "AnalysisError",
    "DataValidationError",
    "DesignError",
    "MissingDependencyError",
    "ParameterError",
    "ScenarioError",
    "TrialAnalysisError",
    "TrialDesign",
    "__version__",
    "load_design",
    "load_ipd",
    "load_published",
    "published_value",
    "synthetic_ipd",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f".{_FUNCTIONS[name]}", __name__), name)
    raise AttributeError(f"module 'trial_analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_FUNCTIONS))
