"""Private helpers of :mod:`trial_analysis.survival`: input checks and risk-set counts.

Every public function turns its ``time``/``event``/``group``/``strata`` arguments into numpy
arrays here, so that the messages for bad input are worded once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

MAX_ROWS = 50_000_000  # work is bounded before it starts


def as_time(name: str, value: Any) -> np.ndarray:
    """Follow-up times: a 1-d array of finite numbers >= 0."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(
            name, "a 1-d array of numbers (follow-up times)", _short(value)
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(name, "a non-empty 1-d array of follow-up times", f"shape {arr.shape}")
    if arr.size > MAX_ROWS:
        raise ParameterError(name, f"at most {MAX_ROWS} observations", arr.size)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(name, f"finite times >= 0 (position {i} is not)", float(arr[i]))
    return arr


def as_event(name: str, value: Any, n: int) -> np.ndarray:
    """Event indicators: 1 = event, 0 = censored (booleans accepted); same length as time."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, "a 1-d array of 0/1 event indicators", _short(value)) from None
    if arr.shape != (n,):
        raise ParameterError(name, f"{n} event indicators (one per time)", f"shape {arr.shape}")
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(name, f"0 (censored) or 1 (event) (position {i} is not)", arr[i])
    return arr.astype(np.int64)


def as_labels(name: str, value: Any, n: int) -> np.ndarray:
    """Group or stratum labels: any hashable values, no missing ones; same length as time."""
    arr = np.asarray(value, dtype=object)
    if arr.shape != (n,):
        raise ParameterError(name, f"{n} labels (one per time)", f"shape {arr.shape}")
    miss = pd.isna(pd.Series(arr)).to_numpy()
    if miss.any():
        raise ParameterError(
            name, f"labels without missing values (position {int(np.flatnonzero(miss)[0])})"
        )
    return arr


def levels_of(labels: np.ndarray) -> list:
    """Sorted distinct labels (numbers sorted as numbers, else as text)."""
    uniq = pd.unique(pd.Series(labels))
    try:
        return sorted(uniq.tolist())
    except TypeError:
        return sorted(uniq.tolist(), key=str)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
