"""Kaplan–Meier estimator with Greenwood variance, R's confidence intervals and medians.

Why by hand: statsmodels' ``SurvfuncRight`` gives the same product-limit estimate and Greenwood
standard error at the event times (checked in tests/test_survival_km.py), but it has no rows at
censoring-only times, only the log-log interval, and a median CI defined by test inversion,
not R's "median of the confidence curves"; lifelines' median CI is also the inverted-curve kind
but with a different tie rule. R's ``survfit`` numbers need the full time grid, so the ten
lines of the estimator are written here and the quantile rule follows ``quantile.survfit``.

References: Kaplan & Meier (1958); Greenwood (1926); Kalbfleisch & Prentice (2002), sec. 1.4;
Brookmeyer & Crowley (1982) for the median interval as R computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_choice, check_conf_level
from ..errors import ParameterError
from ..results import Result
from ._common import as_event, as_labels, as_time, levels_of

__all__ = ["CONF_TYPES", "KaplanMeier", "kaplan_meier"]

CONF_TYPES = ("log-log", "plain", "log")
_TOL = float(np.sqrt(np.finfo(float).eps))  # quantile.survfit's tolerance


def _km_table(time: np.ndarray, event: np.ndarray) -> dict[str, np.ndarray]:
    """Product-limit estimate on every distinct time (events and censorings), as survfit."""
    ut, inv = np.unique(time, return_inverse=True)
    n_event = np.bincount(inv, weights=event, minlength=ut.size)
    n_all = np.bincount(inv, minlength=ut.size).astype(float)
    n_risk = n_all[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        # Greenwood: var(log S) = sum d / (n (n - d)); infinite once everyone has died
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    std_err = np.sqrt(np.cumsum(term))
    return {
        "time": ut,
        "n_risk": n_risk,
        "n_event": n_event,
        "n_censor": n_all - n_event,
        "survival": surv,
        "std_err": std_err,
    }


def _ci(
    surv: np.ndarray, se: np.ndarray, z: float, conf_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval of S from the standard error of log S (R's ``std.err``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            lo = np.clip(surv - z * se * surv, 0, 1)
            hi = np.clip(surv + z * se * surv, 0, 1)
        elif conf_type == "log":
            lo = np.exp(np.log(surv) - z * se)
            hi = np.minimum(np.exp(np.log(surv) + z * se), 1.0)
        else:  # log-log
            ll = np.log(-np.log(surv))
            a = np.exp(-np.exp(ll + z * se / np.log(surv)))
            b = np.exp(-np.exp(ll - z * se / np.log(surv)))
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            one = surv == 1.0
            lo, hi = np.where(one, 1.0, lo), np.where(one, 1.0, hi)
    bad = (surv == 0) | ~np.isfinite(se)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """One quantile of a step curve as ``survival:::findq`` (x times, y = 1 - S increasing).

    The smallest time where 1 - S reaches p; when the curve sits on p (within the tolerance)
    over an interval, the midpoint of that interval's ends.
    """
    ok = ~np.isnan(y)
    if not ok.any() or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    keep = np.ones(y.size, dtype=bool)
    # duplicated() keeps the first of each value (NaN counts as one value)
    _, first = np.unique(np.where(ok, y, np.inf), return_index=True)
    keep[:] = False
    keep[first] = True
    x, y, ok = x[keep], y[keep], ok[keep]
    idx = np.flatnonzero(ok)
    yy = y[idx]

    def first_reaching(shift: float) -> int | None:
        hit = np.flatnonzero(yy + shift >= p)
        return int(idx[hit[0]]) if hit.size else None

    i1, i2 = first_reaching(_TOL), first_reaching(-_TOL)
    if i1 is None:
        return float("nan")
    if ok[-1] and abs(p - y[-1]) < _TOL:
        return float((x[i1] + xmax) / 2)
    if i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2)


@dataclass(frozen=True)
class KaplanMeier(Result):
    """Kaplan–Meier estimates per group.

    Attributes
    ----------
    table : DataFrame
        One row per group and distinct time: ``group, time, n_risk, n_event, n_censor,
        survival, std_err`` (the standard error of log S, as R's ``std.err``), ``ci_low,
        ci_high``.
    summary : DataFrame
        Per group: ``group, n, events, median, ci_low, ci_high`` (R's ``print(survfit)``).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    conf_level: float
    conf_type: str
    levels: tuple = field(default=())
    source: str | None = None
    title: ClassVar[str] = "Kaplan–Meier estimate"

    def to_frame(self) -> pd.DataFrame:
        return self.summary.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        src = (f"Data: {self.source}",) if self.source else ()
        return (
            f"{self.conf_level:.0%} {self.conf_type} confidence intervals, Greenwood variance; "
            "median CI from the confidence curves (as R survfit).",
            *src,
        )

    def _rows(self, g: Any) -> pd.DataFrame:
        return self.table[self.table["group"] == g]

    def survival_at(self, times: Any) -> pd.DataFrame:
        """S(t) with its interval and the number at risk at each time (``summary(fit, times=)``).

        Beyond the last observation the last estimate is carried on and ``n_risk`` is 0.
        """
        t = as_time("times", np.atleast_1d(times))
        out = []
        for g in self.levels:
            r = self._rows(g)
            tt = r["time"].to_numpy()
            j = np.searchsorted(tt, t, side="right") - 1  # last row <= t
            k = np.searchsorted(tt, t, side="left")  # first row >= t (at risk at t)
            nr = np.append(r["n_risk"].to_numpy(), 0.0)[k]
            before = j < 0
            jj = np.maximum(j, 0)
            s = np.where(before, 1.0, r["survival"].to_numpy()[jj])
            lo = np.where(before, 1.0, r["ci_low"].to_numpy()[jj])
            hi = np.where(before, 1.0, r["ci_high"].to_numpy()[jj])
            out.append(
                pd.DataFrame(
                    {
                        "group": g,
                        "time": t,
                        "n_risk": nr,
                        "survival": s,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
            )
        return pd.concat(out, ignore_index=True)

    def at_risk(self, times: Any) -> pd.DataFrame:
        """Numbers at risk (time >= t) per group at each time: the table printed under a figure."""
        return self.survival_at(times)[["group", "time", "n_risk"]]

    def quantile(self, p: float = 0.5) -> pd.DataFrame:
        """Survival-time quantile (time by which a fraction ``p`` had the event) with its CI."""
        if not (0 < float(p) < 1):
            raise ParameterError("p", "a fraction in (0, 1)", p)
        rows = []
        for g in self.levels:
            r = self._rows(g)
            x = np.concatenate([[0.0], r["time"].to_numpy()])
            q = [
                _findq(x, np.concatenate([[0.0], 1 - r[c].to_numpy()]), p)
                for c in ("survival", "ci_low", "ci_high")
            ]
            rows.append({"group": g, "quantile": p, "time": q[0], "ci_low": q[1], "ci_high": q[2]})
        return pd.DataFrame(rows)

    def plot(self, **kwargs: Any):
        """The KM figure with a numbers-at-risk table under it (see :func:`.plot.km_plot`)."""
        from .plot import km_plot

        return km_plot(self, **kwargs)


def kaplan_meier(
    time: Any,
    event: Any,
    group: Any = None,
    conf_level: float = 0.95,
    conf_type: str = "log-log",
    source: str | None = None,
) -> KaplanMeier:
    """Kaplan–Meier estimate with Greenwood variance, per group.

    Parameters
    ----------
    time : array-like
        Follow-up times (>= 0).
    event : array-like
        1 = event, 0 = censored.
    group : array-like, optional
        Arm (or any grouping) labels; one curve per distinct label, sorted.
    conf_level : float
        Level of the pointwise intervals and of the median's interval.
    conf_type : {"log-log", "plain", "log"}
        Interval for S(t): ``log-log`` (R's default in ``survfit`` is "log"; the
        log-log interval is the one SAS and most trial reports use), ``plain``
        (S ± z·se(S), clipped to [0, 1]) or ``log``. As ``survfit(conf.type=)``.
    source : str, optional
        Where the data come from (e.g. "reconstructed from the published Figure 2"); printed
        in the notes and on the figure.

    Returns
    -------
    KaplanMeier
        ``table`` (every distinct time), ``summary`` (medians), ``survival_at``,
        ``at_risk``, ``quantile``, ``plot``.

    Notes
    -----
    S(t) = ∏_{t_i <= t} (1 - d_i / n_i); var(log S) = Σ d_i / (n_i (n_i - d_i)) (Greenwood);
    log-log interval exp(-exp(log(-log S) ± z se / log S)). The median is the first time S
    reaches 0.5 (the midpoint of a plateau at exactly 0.5) and its limits are the same read-out
    of the lower and upper confidence curves (R ``quantile.survfit``).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> km = ta.survival.kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    >>> float(km.summary["median"][0])
    2.5
    """
    t = as_time("time", time)
    e = as_event("event", event, t.size)
    level = check_conf_level(conf_level)
    check_choice("conf_type", conf_type, CONF_TYPES)
    g = np.full(t.size, "all", dtype=object) if group is None else as_labels("group", group, t.size)
    z = float(stats.norm.ppf(0.5 + level / 2))
    levels = levels_of(g)
    parts, summ = [], []
    for lev in levels:
        m = g == lev
        tab = _km_table(t[m], e[m])
        lo, hi = _ci(tab["survival"], tab["std_err"], z, conf_type)
        df = pd.DataFrame({"group": [lev] * tab["time"].size, **tab, "ci_low": lo, "ci_high": hi})
        parts.append(df)
        x = np.concatenate([[0.0], tab["time"]])
        med = [_findq(x, np.concatenate([[0.0], 1 - v]), 0.5) for v in (tab["survival"], lo, hi)]
        summ.append(
            {
                "group": lev,
                "n": int(m.sum()),
                "events": int(e[m].sum()),
                "median": med[0],
                "ci_low": med[1],
                "ci_high": med[2],
            }
        )
    return KaplanMeier(
        table=pd.concat(parts, ignore_index=True),
        summary=pd.DataFrame(summ),
        conf_level=level,
        conf_type=conf_type,
        levels=tuple(levels),
        source=None if source is None else str(source),
    )
