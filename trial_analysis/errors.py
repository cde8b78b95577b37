"""Exceptions and warnings of trial_analysis.

Every error a user can trigger with bad input is a :class:`TrialAnalysisError`. Each subclass
names *where* the problem is (file, key, row, column or parameter) and *what was expected*,
in the spirit of scipy's ``_validate_int`` messages, so that a user never needs a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AnalysisError",
    "ApproximationWarning",
    "ConvergenceWarning",
    "DataValidationError",
    "DesignError",
    "MissingDependencyError",
    "ParameterError",
    "Problem",
    "PublishedDataError",
    "ReportError",
    "ResourceLimitError",
    "ScenarioError",
    "StatisticalWarning",
    "SyntheticDataWarning",
    "TrialAnalysisError",
    "TrialAnalysisWarning",
]


class TrialAnalysisError(Exception):
    """Base class of every error raised by trial_analysis for bad input or failed analyses."""


class DesignError(TrialAnalysisError, ValueError):
    """A trial design file is malformed.

    Parameters
    ----------
    file : str
        The design file (or the built-in trial name).
    key : str
        The dotted key that is wrong, e.g. ``"schedule.visit_weeks"``.
    expected : str
        What was expected there.
    got : Any, optional
        The offending value, echoed in the message.
    """

    def __init__(self, file: str, key: str, expected: str, got: Any = ...):
        self.file, self.key, self.expected, self.got = str(file), key, expected, got
        msg = f"{self.file}: key '{key}': expected {expected}"
        if got is not ...:
            msg += f", got {got!r}"
        super().__init__(msg)


class ScenarioError(DesignError):
    """A simulation scenario (file or mapping) is malformed; same fields as :class:`DesignError`."""


class PublishedDataError(TrialAnalysisError, ValueError):
    """A published-aggregates CSV is malformed (names the file, row and column)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem in a patient-level data set.

    ``row`` is the row number as a spreadsheet user sees it (the header is row 1), or
    ``None`` for a problem with the whole file or a column.
    """

    file: str
    row: int | None
    column: str | None
    value: Any
    rule: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        val = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.rule}{val}"


class DataValidationError(TrialAnalysisError, ValueError):
    """Patient-level data failed validation; ``.problems`` lists every :class:`Problem`.

    The message shows the first ``max_shown`` problems and counts the rest.
    """

    def __init__(self, problems: list[Problem], max_shown: int = 50, total: int | None = None):
        self.problems = list(problems)
        n = len(self.problems)
        #: problem rows counted, including rows summarised by a "... and k more rows" problem
        self.total = max(n, total or 0)
        shown = min(n, max_shown)
        head = (
            f"{self.total} problem{'s' if self.total != 1 else ''} found in the patient-level data"
        )
        if shown < self.total:
            head += f" ({shown} shown)"
        lines = [head + ":"]
        lines += [f"  - {p}" for p in self.problems[:max_shown]]
        if n > max_shown:
            lines.append(f"  ... and {n - max_shown} more (see .problems)")
        super().__init__("\n".join(lines))


class ParameterError(TrialAnalysisError, ValueError):
    """A function argument is out of range or of the wrong kind.

    The message names the parameter, what was expected and echoes the value.
    """

    def __init__(self, parameter: str, expected: str, got: Any = ...):
        self.parameter, self.expected, self.got = parameter, expected, got
        msg = f"`{parameter}` must be {expected}"
        if got is not ...:
            msg += f", got {got!r}"
        super().__init__(msg)


class ResourceLimitError(TrialAnalysisError, ValueError):
    """A computation would exceed a documented limit (memory, time, size); refused before work.

    ``parameter`` is the argument that drives the cost, ``limit`` the name of the limit in
    :mod:`trial_analysis.limits` (overridable, see ``docs/limits.md``). The message says what
    the computation needs, the limit, how to raise it and what to do instead.
    """

    def __init__(self, message: str, *, parameter: str = "", limit: str = ""):
        self.parameter, self.limit = parameter, limit
        super().__init__(message)


class AnalysisError(TrialAnalysisError, RuntimeError):
    """An analysis cannot be carried out on the given data (non-convergence, singular fit, ...)."""


class ReportError(TrialAnalysisError, ValueError):
    """A report's content is invalid: a cross-reference to a section, table or figure the report
    does not contain, a duplicate label, a figure without its data source, or a text over its
    bound. The message names the section and block."""


class MissingDependencyError(TrialAnalysisError, ImportError):
    """An optional dependency is not installed; the message says what to install."""


class TrialAnalysisWarning(UserWarning):
    """Base class of trial_analysis warnings."""


class ApproximationWarning(TrialAnalysisWarning):
    """A large-sample approximation is used where it may be poor (small counts, zero cells)."""


class StatisticalWarning(TrialAnalysisWarning):
    """A result needs a caveat (few studies for a test, a fallback estimator, ...)."""


class ConvergenceWarning(TrialAnalysisWarning):
    """An iterative fit stopped early or needed a fallback."""


class SyntheticDataWarning(TrialAnalysisWarning):
    """Results are computed from a synthetic cohort, not real patient data."""
