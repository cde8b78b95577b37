"""Shared argument checks and small helpers of :mod:`trial_analysis.power`."""

from __future__ import annotations

import math
from typing import Any

from .._validate import check_alpha, check_choice, check_count, check_finite, check_probability
from ..errors import ParameterError

__all__ = [
    "ALTERNATIVES",
    "check_alternative",
    "check_dropout",
    "check_n",
    "check_power_target",
    "check_ratio",
    "inflate_for_dropout",
    "n2_from_ratio",
]

ALTERNATIVES = ("two-sided", "greater", "less")


def check_alternative(value: Any) -> str:
    return check_choice("alternative", value, ALTERNATIVES)


def check_n(name: str, value: Any) -> int:
    """Sample size per arm: a whole number >= 2."""
    return check_count(name, value, minimum=2)


def check_power_target(value: Any, name: str = "power") -> float:
    return check_probability(name, value)


def check_ratio(value: Any, name: str = "ratio") -> float:
    v = check_finite(name, value)
    if v <= 0:
        raise ParameterError(name, "an allocation ratio n2/n1 > 0", value)
    return v


def check_dropout(value: Any, name: str = "dropout") -> float:
    v = check_finite(name, value)
    if not 0 <= v < 1:
        raise ParameterError(name, "a dropout proportion in [0, 1)", value)
    return v


def n2_from_ratio(n1: int, ratio: float) -> int:
    """Control-arm size for ``n1`` and ``ratio = n2/n1``, rounded up (never fewer than 2)."""
    return max(2, math.ceil(n1 * ratio - 1e-9))


def inflate_for_dropout(n: float, dropout: float) -> int:
    """Patients to enrol so that ``n`` remain after a dropout proportion: ``ceil(n/(1-d))``."""
    return math.ceil(n / (1.0 - dropout) - 1e-9)


# re-exported for the sibling modules
__all__ += ["check_alpha", "check_probability"]
