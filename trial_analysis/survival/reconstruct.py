"""Patient-level data rebuilt from a published Kaplan–Meier figure (Guyot et al. 2012).

Input: the digitised curve of each arm (``arm, time, survival`` as WebPlotDigitizer exports
it: unordered, noisy, possibly a little above 1 or below 0), the numbers-at-risk table printed
under the figure (``arm, time, n_risk``) and, when published, the total number of events per
arm. Output: one row per patient (``arm, time, event, source``) whose Kaplan–Meier curve
follows the digitised one and whose numbers at risk match the table.

Why by hand: no maintained Python package implements the algorithm (in R it lives in the
IPDfromKM and reconstructKM packages); lifelines and statsmodels only estimate. The algorithm
below follows the steps of the paper's Appendix: within each interval of the at-risk table,
guess the censorings from the drop in survival, spread them evenly over the interval, derive
the events at each digitised point from the curve, and correct the number censored until the
number at risk at the start of the next interval is the published one; in the last interval
assume the average censoring rate of the earlier ones, or use the published total of events.

Reference: Guyot P, Ades AE, Ouwens MJNM, Welton NJ (2012). Enhanced secondary analysis of
survival data: reconstructing the data from published Kaplan-Meier survival curves. BMC
Medical Research Methodology 12:9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import DataValidationError, ParameterError, Problem
from ..results import Result
from ._common import levels_of
from .kaplan_meier import KaplanMeier, kaplan_meier

__all__ = [
    "RECONSTRUCTED_SOURCE",
    "ReconstructionFit",
    "clean_curve",
    "reconstruct",
    "reconstruction_fit",
]

RECONSTRUCTED_SOURCE = (
    "reconstructed from the digitised published Kaplan–Meier curve (Guyot et al. 2012); "
    "not the trial's patient-level data"
)
MAX_POINTS = 20_000  # digitised points per arm (work is bounded before it starts)
MAX_PATIENTS = 1_000_000  # patients per arm
_MAX_ITER = 500  # correction rounds per interval (each changes the censor count; ~5 suffice)
_SLACK = 0.05  # survival values up to 1.05 / down to -0.05 are digitising noise and clipped


def _problems_frame(df: Any, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(
            name, f"a DataFrame with columns {', '.join(columns)}", type(df).__name__
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ParameterError(
            name,
            f"a DataFrame with columns {', '.join(columns)} (missing: {missing})",
            list(df.columns),
        )
    if len(df) == 0:
        raise ParameterError(name, "a non-empty table")
    return df


def _numeric(df: pd.DataFrame, name: str, col: str, problems: list[Problem]) -> np.ndarray:
    vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(~np.isfinite(vals))[:20]:
        problems.append(Problem(name, int(i) + 2, col, df[col].iloc[i], "not a finite number"))
    return vals


def clean_curve(curve: pd.DataFrame, percent: bool = False) -> pd.DataFrame:
    """Digitised points made usable: numeric, within [0, 1], sorted, non-increasing, from (0, 1).

    Parameters
    ----------
    curve : DataFrame
        ``arm, time, survival`` (any row order). Rows are counted as a spreadsheet user sees
        them (header = row 1) in error messages.
    percent : bool
        Survival is in percent (0–100) rather than a proportion.

    Returns
    -------
    DataFrame
        ``arm, time, survival, adjusted``: per arm, the point (0, 1) first, times strictly
        increasing (repeated times keep their lowest survival, the foot of a vertical drop),
        survival non-increasing; ``adjusted`` flags points whose survival was clipped to
        [0, 1] or lowered to keep the curve monotone (digitising noise).

    Raises
    ------
    DataValidationError
        Non-numeric values, negative times, survival far outside [0, 1] (or in percent when
        ``percent`` is False), naming each row and column.
    """
    curve = _problems_frame(curve, "curve", ("arm", "time", "survival"))
    if len(curve) > MAX_POINTS * 50:
        raise ParameterError("curve", f"at most {MAX_POINTS * 50} rows", len(curve))
    problems: list[Problem] = []
    t = _numeric(curve, "curve", "time", problems)
    s = _numeric(curve, "curve", "survival", problems)
    arm = curve["arm"].to_numpy(dtype=object)
    for i in np.flatnonzero(pd.isna(curve["arm"]).to_numpy())[:20]:
        problems.append(Problem("curve", int(i) + 2, "arm", None, "missing arm label"))
    if percent:
        s = s / 100.0
    top = 100.0 if percent else 1.0
    ok = np.isfinite(s) & np.isfinite(t)
    tmax = float(np.nanmax(np.where(ok, t, np.nan))) if ok.any() else 0.0
    for i in np.flatnonzero(ok & (t < -0.01 * max(tmax, 1e-12)))[:20]:
        problems.append(
            Problem("curve", int(i) + 2, "time", curve["time"].iloc[i], "negative time")
        )
    far = ok & ((s > 1 + _SLACK) | (s < -_SLACK))
    for i in np.flatnonzero(far)[:20]:
        hint = (
            " (values look like percent: pass percent=True)" if not percent and s[i] <= 100 else ""
        )
        problems.append(
            Problem(
                "curve",
                int(i) + 2,
                "survival",
                curve["survival"].iloc[i],
                f"survival must be within [0, {top:g}]{hint}",
            )
        )
    if problems:
        raise DataValidationError(problems)
    out = []
    for lev in levels_of(arm):
        m = arm == lev
        tt = np.maximum(t[m], 0.0)
        ss = s[m]
        clipped = (ss > 1) | (ss < 0)
        ss = np.clip(ss, 0.0, 1.0)
        order = np.lexsort((-ss, tt))  # by time; within a time, the top of a drop first
        tt, ss, clipped = tt[order], ss[order], clipped[order]
        mono = np.minimum.accumulate(ss)
        adjusted = clipped | (mono < ss)
        # one point per distinct time: the lowest (last after the cumulative minimum)
        last = np.r_[tt[1:] != tt[:-1], True]
        tt, mono = tt[last], mono[last]
        adj = np.logical_or.reduceat(adjusted, np.r_[0, np.flatnonzero(last)[:-1] + 1])
        if tt[0] > 0:
            tt, mono, adj = np.r_[0.0, tt], np.r_[1.0, mono], np.r_[False, adj]
        else:
            adj[0] = adj[0] or mono[0] != 1.0
            mono[0] = 1.0
            mono = np.minimum.accumulate(mono)
        if tt.size > MAX_POINTS:
            raise ParameterError("curve", f"at most {MAX_POINTS} distinct points per arm", tt.size)
        out.append(pd.DataFrame({"arm": lev, "time": tt, "survival": mono, "adjusted": adj}))
    return pd.concat(out, ignore_index=True)


def _clean_at_risk(at_risk: pd.DataFrame, arms: list) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    at_risk = _problems_frame(at_risk, "at_risk", ("arm", "time", "n_risk"))
    problems: list[Problem] = []
    t = _numeric(at_risk, "at_risk", "time", problems)
    n = _numeric(at_risk, "at_risk", "n_risk", problems)
    for i in np.flatnonzero(np.isfinite(n) & ((n < 0) | (n != np.round(n))))[:20]:
        problems.append(
            Problem(
                "at_risk",
                int(i) + 2,
                "n_risk",
                at_risk["n_risk"].iloc[i],
                "not a whole number >= 0",
            )
        )
    for i in np.flatnonzero(np.isfinite(t) & (t < 0))[:20]:
        problems.append(
            Problem("at_risk", int(i) + 2, "time", at_risk["time"].iloc[i], "negative time")
        )
    arm = at_risk["arm"].to_numpy(dtype=object)
    have = set(pd.unique(pd.Series(arm)).tolist())
    for a in arms:
        if a not in have:
            problems.append(
                Problem("at_risk", None, "arm", a, "arm of the curve without a numbers-at-risk row")
            )
    for a in sorted(have - set(arms), key=str):
        problems.append(Problem("at_risk", None, "arm", a, "arm not in the digitised curve"))
    if problems:
        raise DataValidationError(problems)
    out = {}
    for a in arms:
        idx = np.flatnonzero(arm == a)
        order = idx[np.argsort(t[idx], kind="stable")]
        tt, nn = t[order], n[order].astype(np.int64)
        dup = np.flatnonzero(tt[1:] == tt[:-1])
        if dup.size:
            i = order[dup[0] + 1]
            raise DataValidationError(
                [
                    Problem(
                        "at_risk",
                        int(i) + 2,
                        "time",
                        at_risk["time"].iloc[i],
                        f"time repeated in arm {a!r}",
                    )
                ]
            )
        up = np.flatnonzero(nn[1:] > nn[:-1])
        if up.size:
            i = order[up[0] + 1]
            raise DataValidationError(
                [
                    Problem(
                        "at_risk",
                        int(i) + 2,
                        "n_risk",
                        int(nn[up[0] + 1]),
                        f"numbers at risk must not increase over time (arm {a!r})",
                    )
                ]
            )
        if tt[0] != 0:
            raise DataValidationError(
                [
                    Problem(
                        "at_risk",
                        int(order[0]) + 2,
                        "time",
                        tt[0],
                        f"the table must start at time 0 (the number randomised) in arm {a!r}",
                    )
                ]
            )
        if nn[0] < 1 or nn[0] > MAX_PATIENTS:
            raise ParameterError(
                "at_risk", f"1 to {MAX_PATIENTS} patients at time 0 in arm {a!r}", int(nn[0])
            )
        out[a] = (tt, nn)
    return out


def _spread(n_cens: int, t: np.ndarray, lo: int, end: int) -> np.ndarray:
    """Censorings spread evenly over [t[lo], t[end]], counted per digitised step lo..end-1.

    Counts as R ``hist(breaks = t[lo:end])``: right-closed bins, the first one also closed
    on the left (the paper places censorings at equal spacing within the interval).
    """
    counts = np.zeros(max(end - lo, 0), dtype=np.int64)
    if n_cens <= 0 or end <= lo:
        return counts
    ct = t[lo] + np.arange(1, n_cens + 1) * (t[end] - t[lo]) / (n_cens + 1)
    bins = np.searchsorted(t[lo : end + 1], ct, side="left") - 1
    np.add.at(counts, np.clip(bins, 0, end - lo - 1), 1)
    return counts


def _events(t, s, nhat, d, cen, km_hat, lo, hi, last, first_point):
    """Events at points lo..hi from the curve, given the censorings; at-risk counts after each."""
    for k in range(lo, hi + 1):
        if k == 0 and first_point:
            d[k], km_hat[k] = 0, 1.0
        else:
            base = km_hat[last]
            if nhat[k] > 0 and base > 0:
                d[k] = min(max(round(nhat[k] * (1.0 - s[k] / base)), 0), nhat[k])
                km_hat[k] = base * (1.0 - d[k] / nhat[k])
            else:
                d[k], km_hat[k] = 0, base
        nhat[k + 1] = nhat[k] - d[k] - cen[k]
        if nhat[k + 1] < 0:  # no more censorings than patients left
            cen[k] = nhat[k] - d[k]
            nhat[k + 1] = 0
        if d[k] != 0:
            last = k
    return last


def _reconstruct_arm(
    t: np.ndarray, s: np.ndarray, rt: np.ndarray, rn: np.ndarray, total: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events ``d`` and censorings ``cen`` at each digitised point, and the censoring times."""
    npts = t.size
    keep = rt <= t[-1]  # table times after the end of the curve carry no points
    rt, rn = rt[keep], rn[keep].copy()
    lower = np.searchsorted(t, rt, side="left")
    # intervals that contain no digitised point cannot be fitted: merge them into the previous
    ok = np.r_[True, lower[1:] > lower[:-1]] & (lower < npts)
    rt, rn, lower = rt[ok], rn[ok], lower[ok]
    m = rt.size
    upper = np.r_[lower[1:] - 1, npts - 1]
    d = np.zeros(npts, dtype=np.int64)
    cen = np.zeros(npts, dtype=np.int64)
    nhat = np.full(npts + 1, rn[0] + 1, dtype=np.int64)
    km_hat = np.ones(npts)
    ncens = np.zeros(m, dtype=np.int64)
    last = 0
    for i in range(m - 1):
        lo, hi, nxt = lower[i], upper[i], lower[i + 1]
        guess = rn[i] * s[nxt] / s[lo] - rn[i + 1] if s[lo] > 0 else 0.0
        ncens[i] = max(round(guess), 0)  # a negative first guess means none (as the paper)
        start_last = last
        for _ in range(_MAX_ITER):
            cen[lo:nxt] = _spread(int(ncens[i]), t, lo, nxt)
            nhat[lo] = rn[i]
            last = _events(t, s, nhat, d, cen, km_hat, lo, hi, start_last, True)
            gap = nhat[nxt] - rn[i + 1]
            if not (gap > 0 or (gap < 0 and ncens[i] > 0)):
                break
            new = min(max(ncens[i] + gap, 0), rn[i])
            if new == ncens[i]:  # cannot move further
                break
            ncens[i] = new
        if nhat[nxt] < rn[i + 1]:  # the curve drops more than the table allows: trust the curve
            rn[i + 1] = nhat[nxt]
    # last interval: the average censoring rate of the earlier ones, or the published events
    i = m - 1
    lo, hi = lower[i], upper[i]
    if m > 1 and t[upper[i - 1]] > t[lower[0]]:
        rate = ncens[:i].sum() / (t[upper[i - 1]] - t[lower[0]])
        ncens[i] = min(round(rate * (t[hi] - t[lo])), rn[i])
    else:
        ncens[i] = 0
    start_last = last

    def fit_last() -> None:
        cen[lo:hi] = _spread(int(max(ncens[i], 0)), t, lo, hi)
        nhat[lo] = rn[i]
        _events(t, s, nhat, d, cen, km_hat, lo, hi, start_last, m == 1)

    fit_last()
    if total is not None:
        before = int(d[:lo].sum())
        if before >= total:
            d[lo : hi + 1] = 0
            cen[lo : hi + 1] = 0
            nhat[lo + 1 : hi + 2] = rn[i]
        else:
            for _ in range(_MAX_ITER):
                gap = int(d[: hi + 1].sum()) - total
                new = min(max(ncens[i] + gap, 0), rn[i])
                if gap == 0 or new == ncens[i]:
                    break
                ncens[i] = new
                fit_last()
    # where each step's censorings are placed: midway to the next digitised point, but before
    # the next time of the table (else a sparse digitisation moves them past it and the
    # numbers at risk there disagree with the published ones; a deviation from the paper,
    # which always uses the midpoint)
    nxt_t = np.r_[t[1:], t[-1]]
    cap = np.full(npts, np.inf)
    for j in range(m - 1):
        cap[lower[j] : upper[j] + 1] = rt[j + 1]
    where = (t + np.minimum(nxt_t, cap)) / 2
    return d, cen, where


def reconstruct(
    curve: pd.DataFrame,
    at_risk: pd.DataFrame,
    total_events: dict | float | None = None,
    percent: bool = False,
) -> pd.DataFrame:
    """Rebuild patient-level time-to-event data from a digitised Kaplan–Meier curve (Guyot 2012).

    Parameters
    ----------
    curve : DataFrame
        Digitised points ``arm, time, survival`` (any order; noise and small excursions
        outside [0, 1] are cleaned by :func:`clean_curve`). Digitise both corners of every
        step; the more steps, the closer the reconstruction.
    at_risk : DataFrame
        The numbers-at-risk table: ``arm, time, n_risk``, starting at time 0 in every arm.
    total_events : dict or int, optional
        Published total events per arm (``{arm: events}``; an int for a single arm). Used in
        the last interval of the table instead of the average-censoring assumption.
    percent : bool
        Survival is given in percent.

    Returns
    -------
    DataFrame
        One row per patient: ``arm, time, event`` (1 = event, 0 = censored) and ``source``
        (:data:`RECONSTRUCTED_SOURCE` on every row, so that the flag survives filtering and
        concatenation). Censorings sit midway between digitised points as in the paper;
        patients still at risk at the end of the curve are censored at its last time.
        ``attrs["fit"]`` holds the :class:`ReconstructionFit` diagnostics.

    Notes
    -----
    Within interval i of the table (times t_i, numbers n_i), the censored count starts as
    round(n_i S(t_{i+1})/S(t_i) − n_{i+1}), spread evenly; events at each digitised point k
    are d_k = round(n̂_k (1 − S_k / Ŝ_last)), Ŝ the reconstructed KM at the last event; the
    censored count is then corrected by n̂(t_{i+1}) − n_{i+1} until the numbers at risk
    agree. One deviation from the paper: a censoring is placed midway between its digitised
    point and the next one *or the next time of the table, whichever is earlier*, so that
    the reconstruction's numbers at risk at the table times are the published ones. Guyot et al. report reconstructed survival probabilities, medians and HRs close
    to the original data (their Table 3); tests/test_survival_reconstruct.py measures the
    round trip on four data sets.

    Examples
    --------
    >>> import pandas as pd, trial_analysis as ta
    >>> curve = pd.DataFrame({"arm": "A", "time": [0, 1, 1, 2, 2, 3],
    ...                       "survival": [1, 1, 0.8, 0.8, 0.6, 0.6]})
    >>> risk = pd.DataFrame({"arm": "A", "time": [0, 2], "n_risk": [10, 7]})
    >>> ipd = ta.survival.reconstruct(curve, risk, total_events={"A": 4})
    >>> int(ipd["event"].sum()), len(ipd)
    (4, 10)
    """
    pts = clean_curve(curve, percent=percent)
    arms = levels_of(pts["arm"].to_numpy(dtype=object))
    risk = _clean_at_risk(at_risk, arms)
    totals: dict = {}
    if total_events is not None:
        if isinstance(total_events, dict):
            totals = dict(total_events)
            unknown = [a for a in totals if a not in arms]
            if unknown:
                raise ParameterError("total_events", f"a dict keyed by the arms {arms}", unknown)
        elif len(arms) == 1:
            totals = {arms[0]: total_events}
        else:
            raise ParameterError(
                "total_events", f"a dict {{arm: events}} for the arms {arms}", total_events
            )
        for a, v in totals.items():
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if not float(v).is_integer() or not 0 <= v <= risk[a][1][0]:
                raise ParameterError(
                    f"total_events[{a!r}]",
                    f"a whole number from 0 to {risk[a][1][0]} (patients at time 0)",
                    v,
                )
    parts = []
    for a in arms:
        p = pts[pts["arm"] == a]
        t, s = p["time"].to_numpy(), p["survival"].to_numpy()
        rt, rn = risk[a]
        tot = totals.get(a)
        tot = None if tot is None or (isinstance(tot, float) and math.isnan(tot)) else int(tot)
        d, cen, mid = _reconstruct_arm(t, s, rt, rn, tot)
        n0 = int(rn[0])
        rest = n0 - int(d.sum()) - int(cen.sum())
        times = np.r_[np.repeat(t, d), np.repeat(mid, cen), np.full(max(rest, 0), t[-1])]
        events = np.r_[
            np.ones(int(d.sum()), np.int64), np.zeros(int(cen.sum()) + max(rest, 0), np.int64)
        ]
        parts.append(pd.DataFrame({"arm": a, "time": times, "event": events}))
    out = pd.concat(parts, ignore_index=True)
    out["source"] = RECONSTRUCTED_SOURCE
    out.attrs["fit"] = reconstruction_fit(out, pts, at_risk, totals)
    return out


@dataclass(frozen=True)
class ReconstructionFit(Result):
    """How closely reconstructed patient data reproduce the published figure, per arm.

    ``to_frame()``: ``arm, n, events, events_published, max_abs_diff, mean_abs_diff,
    n_points, n_adjusted, at_risk_max_diff`` — the curve differences are between the KM
    curve of the reconstruction and the (cleaned) digitised points at the digitised times.
    """

    table: pd.DataFrame
    points: pd.DataFrame  # arm, time, digitised, reconstructed
    km: KaplanMeier
    title: ClassVar[str] = "Reconstruction from the published Kaplan–Meier curve (Guyot 2012)"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            "max_abs_diff / mean_abs_diff: reconstructed vs digitised survival at the "
            "digitised times; at_risk_max_diff: reconstructed vs published numbers at risk.",
            f"Data: {RECONSTRUCTED_SOURCE}.",
        )

    def plot(self, **kwargs: Any):
        """The reconstructed KM figure with the digitised points overlaid (grey dots)."""
        fig = self.km.plot(**kwargs)
        ax = fig.axes[0]
        ax.plot(
            self.points["time"],
            self.points["digitised"],
            ".",
            color="0.45",
            ms=2.5,
            label="digitised points",
            zorder=1,
        )
        ax.legend(loc="lower left", fontsize=8, frameon=False)
        return fig


def reconstruction_fit(
    ipd: pd.DataFrame,
    curve: pd.DataFrame,
    at_risk: pd.DataFrame,
    total_events: dict | None = None,
) -> ReconstructionFit:
    """Compare reconstructed patient data (``arm, time, event``) with the published figure.

    ``curve`` is the digitised curve (raw or from :func:`clean_curve`), ``at_risk`` the
    published table, ``total_events`` the published events per arm (optional).
    """
    _problems_frame(ipd, "ipd", ("arm", "time", "event"))
    pts = curve if "adjusted" in curve.columns else clean_curve(curve)
    km = kaplan_meier(ipd["time"], ipd["event"], ipd["arm"], source=RECONSTRUCTED_SOURCE)
    arms = list(km.levels)
    risk = _clean_at_risk(at_risk, arms)
    totals = total_events or {}
    rows, pieces = [], []
    for a in arms:
        p = pts[pts["arm"] == a]
        rec = km.survival_at(p["time"].to_numpy())
        rec = rec[rec["group"] == a]["survival"].to_numpy()
        diff = np.abs(rec - p["survival"].to_numpy())
        rt, rn = risk[a]
        within = rt <= p["time"].max()  # table times after the end of the curve are not fitted
        rt, rn = rt[within], rn[within]
        ar = km.at_risk(rt)
        ar = ar[ar["group"] == a]["n_risk"].to_numpy()
        m = ipd["arm"] == a
        tot = totals.get(a)
        rows.append(
            {
                "arm": a,
                "n": int(m.sum()),
                "events": int(ipd.loc[m, "event"].sum()),
                "events_published": np.nan if tot is None else float(tot),
                "max_abs_diff": float(diff.max()),
                "mean_abs_diff": float(diff.mean()),
                "n_points": len(p),
                "n_adjusted": int(p["adjusted"].sum()),
                "at_risk_max_diff": float(np.max(np.abs(ar - rn))),
            }
        )
        pieces.append(
            pd.DataFrame(
                {
                    "arm": a,
                    "time": p["time"].to_numpy(),
                    "digitised": p["survival"].to_numpy(),
                    "reconstructed": rec,
                }
            )
        )
    return ReconstructionFit(
        table=pd.DataFrame(rows), points=pd.concat(pieces, ignore_index=True), km=km
    )
