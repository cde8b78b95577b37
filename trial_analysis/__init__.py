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

# Nothing is imported here at import time, not even ``typing`` or the exception classes (they
# load on first use, below): the console command ``trial_analysis.cli:main`` starts with
# this module, and Ctrl-C during its start-up must reach ``main``'s handler, which maps it to
# exit code 130 and one line (docs/limits.md). tests/test_cli_interrupt.py keeps it so.
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from .errors import (
        AnalysisError,
        DataValidationError,
        DesignError,
        MissingDependencyError,
        ParameterError,
        ScenarioError,
        TrialAnalysisError,
    )
del TYPE_CHECKING

__version__ = "0.1.0"

# Submodules importable as attributes: ta.binary, ta.power, ...
_SUBMODULES = {
    "baseline",
    "bayes",
    "binary",
    "claims",
    "consistency",
    "continuous",
    "design",
    "errors",
    "evidence",
    "ipd",
    "limits",
    "meta",
    "missing",
    "mmrm",
    "multiplicity",
    "power",
    "published",
    "reanalysis",
    "report",
    "results",
    "survival",
    "synthetic",
    "trial",
}
# The exception classes of ``errors``, importable as ``ta.DesignError`` etc.
_ERRORS = {
    "AnalysisError",
    "DataValidationError",
    "DesignError",
    "MissingDependencyError",
    "ParameterError",
    "ScenarioError",
    "TrialAnalysisError",
}
# Top-level functions defined in submodules: name -> module
# (loaded on first use too: ``import trial_analysis.cli`` stays light, so the command can
# answer Ctrl-C during its start-up with a message instead of a traceback)
_FUNCTIONS = {
    "TrialDesign": "design",
    "load_design": "design",
    "load_published": "published",
    "published_value": "published",
    "load_ipd": "ipd",
    "load_trial": "trial",
    "reanalyze": "reanalysis",
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
    "load_trial",
    "published_value",
    "reanalyze",
    "synthetic_ipd",
]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f".{_FUNCTIONS[name]}", __name__), name)
    if name in _ERRORS:
        return getattr(importlib.import_module(".errors", __name__), name)
    raise AttributeError(f"module 'trial_analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_FUNCTIONS) | _ERRORS)
