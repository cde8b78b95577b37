"""Log-rank test for k groups, stratified, with Fleming–Harrington G(ρ, γ) weights.

Why by hand: statsmodels' ``survdiff`` has strata and FH(ρ) weights but no γ (and loops in
Python over strata); lifelines' ``multivariate_logrank_test`` has neither strata nor γ. The
statistic below is a handful of vectorised array operations (one ``np.unique`` and a few
bincounts per stratum), which also makes it fast on 10^6 patients. It reproduces R
``survival::survdiff`` (γ = 0) and the hand-coded G(ρ, γ) in tests/reference/survival.R.

References: Mantel (1966); Peto & Peto (1972); Harrington & Fleming (1982), Biometrika 69:553;
Fleming & Harrington (1991), *Counting Processes and Survival Analysis*, ch. 7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_positive
from ..errors import AnalysisError, ParameterError
from ..results import Result, format_number, format_p
from ._common import as_event, as_labels, as_time, levels_of

__all__ = ["Logrank", "logrank", "logrank_parts"]


@dataclass(frozen=True)
class Logrank(Result):
    """Log-rank (or G(ρ, γ)) test: per-group observed and expected events and the chi-square."""

    levels: tuple
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    o_minus_e: np.ndarray  # weighted, as survdiff's (obs - exp) when rho = gamma = 0
    variance: np.ndarray  # k x k
    chisq: float
    df: int
    p_value: float
    rho: float
    gamma: float
    stratified: bool
    title: ClassVar[str] = "Log-rank test"

    def to_frame(self) -> pd.DataFrame:
        v = np.diag(self.variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "group": list(self.levels),
                    "n": self.n,
                    "observed": self.observed,
                    "expected": self.expected,
                    "(O-E)^2/E": (self.observed - self.expected) ** 2 / self.expected,
                    "(O-E)^2/V": self.o_minus_e**2 / v,
                }
            )

    @property
    def notes(self) -> tuple[str, ...]:
        w = (
            ""
            if self.rho == 0 and self.gamma == 0
            else f", G(rho={self.rho:g}, gamma={self.gamma:g}) weights"
        )
        s = ", stratified" if self.stratified else ""
        return (
            f"Chi-square {format_number(self.chisq)} on {self.df} df, p = {format_p(self.p_value)}{w}{s}.",
        )


def logrank_parts(
    time: np.ndarray,
    event: np.ndarray,
    gcode: np.ndarray,
    k: int,
    scode: np.ndarray | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected, weighted O − E (length k) and its k × k variance, summed over strata.

    ``gcode`` holds group codes 0..k-1, ``scode`` stratum codes (or None). Arrays are checked
    by the caller.
    """
    obs, exp_, oe, var = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros((k, k))
    strata = [slice(None)] if scode is None else [scode == s for s in np.unique(scode)]
    for m in strata:
        t, e, g = time[m], event[m], gcode[m]
        ut, inv = np.unique(t, return_inverse=True)
        nt = ut.size
        cnt = np.zeros((nt, k))
        dth = np.zeros((nt, k))
        np.add.at(cnt, (inv, g), 1.0)
        np.add.at(dth, (inv, g), e)
        nj = cnt[::-1].cumsum(axis=0)[::-1]  # at risk per group at each distinct time
        n = nj.sum(axis=1)
        d = dth.sum(axis=1)
        keep = d > 0
        nj, n, d, dth = nj[keep], n[keep], d[keep], dth[keep]
        if rho == 0 and gamma == 0:
            w = np.ones_like(d)
        else:  # pooled KM of the stratum just before each event time
            s_after = np.cumprod(1.0 - d / n)
            s_before = np.concatenate([[1.0], s_after[:-1]])
            w = s_before**rho * (1.0 - s_before) ** gamma
        frac = nj / n[:, None]
        e_j = d[:, None] * frac
        obs += dth.sum(axis=0)
        exp_ += e_j.sum(axis=0)
        oe += (w[:, None] * (dth - e_j)).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(n > 1, w**2 * d * (n - d) / (n - 1), 0.0)
        var += np.diag((c[:, None] * frac).sum(axis=0)) - (c[:, None] * frac).T @ frac
    return obs, exp_, oe, var


def logrank(
    time: Any,
    event: Any,
    group: Any,
    strata: Any = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> Logrank:
    """Log-rank test of k survival curves, optionally stratified and weighted.

    Parameters
    ----------
    time, event : array-like
        Follow-up times and event indicators (1 = event, 0 = censored).
    group : array-like
        Group labels (2 or more distinct values).
    strata : array-like, optional
        Stratum labels: O − E and its variance are summed over strata (as ``strata()`` in
        ``survdiff``).
    rho, gamma : float
        Fleming–Harrington weights w(t) = S(t−)^ρ (1 − S(t−))^γ with S the pooled
        Kaplan–Meier estimate (within stratum) just before t. ρ = γ = 0 is the log-rank test,
        ρ = 1, γ = 0 the Peto–Peto/Prentice (Wilcoxon-like) test; γ > 0 weights late
        differences (delayed effects).

    Returns
    -------
    Logrank
        ``chisq`` on k − 1 df and ``p_value``; ``to_frame()`` per group as ``survdiff``.

    Notes
    -----
    U = Σ_t w(t) (d_jt − d_t n_jt / n_t); V = Σ_t w(t)² d_t (n_t − d_t)/(n_t − 1) ·
    (diag(n_jt/n_t) − (n_t/n_t)(n_t/n_t)ᵀ); χ² = U' V⁻ U with one group dropped.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> r = ta.survival.logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> r.df
    1
    """
    t = as_time("time", time)
    e = as_event("event", event, t.size)
    g = as_labels("group", group, t.size)
    rho = check_positive("rho", rho, allow_zero=True)
    gamma = check_positive("gamma", gamma, allow_zero=True)
    levels = levels_of(g)
    if len(levels) < 2:
        raise ParameterError("group", "at least 2 distinct groups", levels)
    code = {v: i for i, v in enumerate(levels)}
    gcode = np.fromiter((code[v] for v in g), dtype=np.int64, count=t.size)
    scode = None
    if strata is not None:
        s = as_labels("strata", strata, t.size)
        scode = pd.factorize(pd.Series(s))[0]
    k = len(levels)
    obs, exp_, oe, var = logrank_parts(t, e, gcode, k, scode, rho, gamma)
    if obs.sum() == 0:
        raise AnalysisError("logrank: there are no events, so the groups cannot be compared")
    sub = var[:-1, :-1]
    # generalized inverse as survdiff (a group with nobody at risk at any event time gives
    # a singular V); the rank gives the df
    pinv = np.linalg.pinv(sub)
    chisq = float(oe[:-1] @ pinv @ oe[:-1])
    df = int(np.linalg.matrix_rank(sub))
    n = np.bincount(gcode, minlength=k)
    return Logrank(
        levels=tuple(levels),
        n=n,
        observed=obs,
        expected=exp_,
        o_minus_e=oe,
        variance=var,
        chisq=chisq,
        df=df,
        p_value=float(stats.chi2.sf(chisq, df)),
        rho=rho,
        gamma=gamma,
        stratified=strata is not None,
    )
