"""Published-number checks for time-to-event results: is a reported hazard ratio consistent
with its confidence interval, its p-value and its number of events; do reported medians match
a Kaplan–Meier read-out?

Every reported number is taken with its rounding: a value printed with d decimals lies within
± 0.5·10^-d. Pass numbers as strings ("0.70") to keep trailing zeros; for floats the decimals
are read from the shortest representation (0.70 → 1 decimal), which can only widen the
intervals, never raise a false alarm.

References: Altman DG, Bland JM (2011) How to obtain the P value from a confidence interval,
BMJ 343:d2304; Schoenfeld DA (1983) Biometrics 39:499 (var log HR ≈ (1 + k)² / (k D)); Tierney
JF et al. (2007) Trials 8:16 (extracting HR, events and variance from publications).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_conf_level
from ..errors import ParameterError
from ..results import Result
from .kaplan_meier import KaplanMeier

__all__ = ["HazardRatioCheck", "MedianCheck", "check_hazard_ratio", "check_medians"]

EVENTS_TOLERANCE = 0.2  # Schoenfeld's variance is an approximation: ±20 % is "consistent"


def _reported(name: str, value: Any, positive: bool = True) -> tuple[float, float, float]:
    """(value, low, high) of a reported number with its rounding interval."""
    text = value.strip() if isinstance(value, str) else repr(float(value))
    try:
        v = float(text)
    except ValueError:
        raise ParameterError(name, "a number (or its printed text, e.g. '0.70')", value) from None
    if not math.isfinite(v) or (positive and v <= 0):
        raise ParameterError(name, "a finite number > 0" if positive else "a finite number", value)
    if "e" in text.lower():
        mant = text.lower().split("e")[0]
        dec = len(mant.split(".")[1]) if "." in mant else 0
        half = 0.5 * 10 ** (-dec) * 10 ** int(text.lower().split("e")[1])
    else:
        dec = len(text.split(".")[1]) if "." in text else 0
        half = 0.5 * 10 ** (-dec)
    lo = v - half
    if positive:
        lo = max(lo, v * 1e-9)
    return v, lo, v + half


def _p_reported(value: Any) -> tuple[float, float]:
    """Bounds of a reported p-value: '0.003' → [0.0025, 0.0035]; '<0.001' → (0, 0.001]."""
    if isinstance(value, str) and value.strip().startswith("<"):
        bound, _, _ = _reported("p_value", value.strip()[1:].strip())
        return 0.0, bound
    v, lo, hi = _reported("p_value", value)
    if not 0 < v < 1:
        raise ParameterError("p_value", "a p-value in (0, 1) or text such as '<0.001'", value)
    return max(lo, 0.0), min(hi, 1.0)


@dataclass(frozen=True)
class HazardRatioCheck(Result):
    """Checks of one reported hazard ratio; ``to_frame()`` has one row per check."""

    table: pd.DataFrame
    title: ClassVar[str] = "Consistency of a reported hazard ratio"

    @property
    def consistent(self) -> bool:
        return bool((self.table["verdict"] != "inconsistent").all())

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            "implied_low/high: the range the other reported numbers allow, given their "
            "rounding. Events from Schoenfeld's var(log HR) = (1 + k)^2 / (k D), k = n1/n2; "
            f"'consistent' within ±{EVENTS_TOLERANCE:.0%} (an approximation).",
        )


def check_hazard_ratio(
    hr: float | str,
    ci_low: float | str,
    ci_high: float | str,
    *,
    p_value: float | str | None = None,
    events: int | None = None,
    conf_level: float = 0.95,
    ratio: float = 1.0,
) -> HazardRatioCheck:
    """Is a published HR consistent with its CI (on the log scale), p-value and events?

    Parameters
    ----------
    hr, ci_low, ci_high : float or str
        As printed (strings keep trailing zeros: "0.70").
    p_value : float or str, optional
        Two-sided p as printed ("0.003", "<0.001").
    events : int, optional
        Total events reported.
    conf_level : float
    ratio : float
        Allocation n2/n1 (control over experimental).

    Returns
    -------
    HazardRatioCheck
        Rows: ``HR inside CI``, ``HR = geometric mean of CI limits``, ``p-value from CI``,
        ``events from CI width`` with ``reported, implied_low, implied_high, verdict``.

    Examples
    --------
    survival::lung by sex (R coxph: HR 0.588, 95% CI 0.424 to 0.816, Wald p 0.00149, 165
    events; 138 men, 90 women):

    >>> r = check_hazard_ratio("0.588", "0.424", "0.816", p_value="0.0015", events=165,
    ...                        ratio=138 / 90)
    >>> r.consistent
    True
    """
    level = check_conf_level(conf_level)
    h, h_lo, h_hi = _reported("hr", hr)
    lo, lo_lo, lo_hi = _reported("ci_low", ci_low)
    hi, hi_lo, hi_hi = _reported("ci_high", ci_high)
    if not lo < hi:
        raise ParameterError("ci_low/ci_high", "ci_low < ci_high", (ci_low, ci_high))
    if ratio <= 0 or not math.isfinite(ratio):
        raise ParameterError("ratio", "an allocation ratio n2/n1 > 0", ratio)
    z = float(stats.norm.isf((1 - level) / 2))
    rows = []

    def row(check, reported, ilo, ihi, ok, detail=""):
        rows.append(
            {
                "check": check,
                "reported": reported,
                "implied_low": ilo,
                "implied_high": ihi,
                "verdict": "consistent" if ok else "inconsistent",
                "detail": detail,
            }
        )

    row("HR inside CI", h, lo, hi, lo_lo <= h_hi and h_lo <= hi_hi)
    g_lo, g_hi = math.sqrt(lo_lo * hi_lo), math.sqrt(lo_hi * hi_hi)
    row(
        "HR = geometric mean of CI limits",
        h,
        g_lo,
        g_hi,
        g_lo <= h_hi and h_lo <= g_hi,
        "a CI symmetric on the log scale (Wald/Cox) has the HR at sqrt(low x high)",
    )
    corners = list(itertools.product((h_lo, h_hi), (lo_lo, lo_hi), (hi_lo, hi_hi)))
    ses = [(math.log(c) - math.log(b)) / (2 * z) for _, b, c in corners]
    if p_value is not None:
        p_lo, p_hi = _p_reported(p_value)
        ps = [
            2 * stats.norm.sf(abs(math.log(a)) / s)
            for (a, _, _), s in zip(corners, ses, strict=True)
        ]
        # |log HR| can cross 0 inside the rounding box: then p reaches 1
        if h_lo <= 1 <= h_hi:
            ps.append(1.0)
        i_lo, i_hi = float(min(ps)), float(max(ps))
        row(
            "p-value from CI",
            float(p_value.strip().lstrip("<")) if isinstance(p_value, str) else float(p_value),
            i_lo,
            i_hi,
            i_lo <= p_hi and p_lo <= i_hi,
            "Wald: p = 2 Phi(-|log HR| / SE), SE = (log high - log low) / (2 z)",
        )
    if events is not None:
        ev = int(events)
        if ev <= 0:
            raise ParameterError("events", "a number of events > 0", events)
        k = 1.0 / ratio
        ds = [(1 + k) ** 2 / (k * s**2) for s in ses]
        d_lo, d_hi = min(ds), max(ds)
        row(
            "events from CI width",
            float(ev),
            d_lo,
            d_hi,
            d_lo * (1 - EVENTS_TOLERANCE) <= ev <= d_hi * (1 + EVENTS_TOLERANCE),
            "Schoenfeld: D = (1 + k)^2 / (k SE^2)",
        )
    return HazardRatioCheck(table=pd.DataFrame(rows))


@dataclass(frozen=True)
class MedianCheck(Result):
    """Published medians against a Kaplan–Meier read-out (e.g. of a reconstruction)."""

    table: pd.DataFrame
    title: ClassVar[str] = "Published medians vs Kaplan–Meier"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def check_medians(km: KaplanMeier, published: dict, tolerance: float = 0.0) -> MedianCheck:
    """Compare published medians (``{arm: median}``, numbers or printed text) with ``km``.

    A published median printed with d decimals matches when the KM median lies within its
    rounding interval widened by ``tolerance`` (same unit; e.g. the reading error of a
    reconstruction). "not reached" (``None``/NaN) matches a KM curve that stays above 0.5.
    """
    if not isinstance(km, KaplanMeier):
        raise ParameterError("km", "a KaplanMeier result", type(km).__name__)
    rows = []
    summ = km.summary.set_index("group")
    for arm, value in published.items():
        if arm not in summ.index:
            raise ParameterError("published", f"arms of the KM estimate {list(summ.index)}", arm)
        m = float(summ.loc[arm, "median"])
        if value is None or (isinstance(value, float) and math.isnan(value)):
            ok, rep = bool(np.isnan(m)), float("nan")
        else:
            rep, r_lo, r_hi = _reported(f"published[{arm!r}]", value)
            ok = (not np.isnan(m)) and r_lo - tolerance <= m <= r_hi + tolerance
        rows.append(
            {
                "arm": arm,
                "published": rep,
                "km_median": m,
                "difference": m - rep,
                "verdict": "consistent" if ok else "inconsistent",
            }
        )
    return MedianCheck(table=pd.DataFrame(rows))
