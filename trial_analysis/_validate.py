"""Argument checks shared by every analysis: one place, one wording.

Each check raises :class:`~trial_analysis.errors.ParameterError` naming the argument and
echoing the bad value; none clamps silently.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

from .errors import ParameterError

__all__ = [
    "check_alpha",
    "check_choice",
    "check_conf_level",
    "check_count",
    "check_events",
    "check_finite",
    "check_float_array",
    "check_positive",
    "check_probability",
]


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as float; it must be a finite real number."""
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ParameterError(name, "a finite number", value)
    return float(value)


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float; it must be finite and > 0 (>= 0 with ``allow_zero``)."""
    v = check_finite(name, value)
    if v < 0 or (v == 0 and not allow_zero):
        raise ParameterError(name, "a number >= 0" if allow_zero else "a number > 0", value)
    return v


def check_probability(name: str, value: Any, *, closed: bool = False) -> float:
    """Return ``value`` as float; it must lie in (0, 1), or [0, 1] when ``closed``."""
    v = check_finite(name, value) if _is_real(value) else None
    ok = v is not None and ((0 <= v <= 1) if closed else (0 < v < 1))
    if not ok:
        raise ParameterError(
            name, "a probability in [0, 1]" if closed else "a probability in (0, 1)", value
        )
    return v  # type: ignore[return-value]


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` as int; it must be a whole number >= ``minimum``."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int and _is_real(value) and float(value).is_integer():
        is_int = True
    if not is_int or int(value) < minimum:
        raise ParameterError(name, f"a whole number >= {minimum}", value)
    return int(value)


def check_events(x_name: str, x: Any, n_name: str, n: Any) -> tuple[int, int]:
    """Check an events/size pair: ``n >= 1`` and ``0 <= x <= n``."""
    n_ = check_count(n_name, n, minimum=1)
    x_ = check_count(x_name, x, minimum=0)
    if x_ > n_:
        raise ParameterError(x_name, f"a count between 0 and {n_name}={n_}", x)
    return x_, n_


def check_alpha(value: Any, name: str = "alpha") -> float:
    """Significance level: must lie in (0, 0.5]."""
    v = check_finite(name, value) if _is_real(value) else None
    if v is None or not (0 < v <= 0.5):
        raise ParameterError(name, "a significance level in (0, 0.5]", value)
    return v


def check_conf_level(value: Any, name: str = "conf_level") -> float:
    """Confidence level: must lie in (0, 1)."""
    v = check_finite(name, value) if _is_real(value) else None
    if v is None or not (0 < v < 1):
        raise ParameterError(name, "a confidence level in (0, 1), e.g. 0.95", value)
    return v


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` must be one of ``choices`` (case-sensitive)."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_float_array(name: str, value: Any, expected: str) -> Any:
    """``value`` as a float numpy array of finite numbers (any shape), else ParameterError
    with ``expected`` as the wording."""
    import numpy as np

    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, expected, value) from None
    if arr.size and not np.all(np.isfinite(arr)):
        raise ParameterError(name, expected, value)
    return arr


#: Arm labels that name a control arm (the default reference of comparisons, so that estimates
#: are experimental - control when a caller does not say which arm is the control).
CONTROL_ARM_RE = re.compile(r"placebo|control|vehicle|sham|standard of care|usual care", re.I)
