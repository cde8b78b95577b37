"""Diagnostics of a pooled model: leave-one-out, cumulative, influence, small-study tests.

Names and definitions follow metafor (``leave1out``, ``cumul``, ``influence``, ``regtest``,
``ranktest``); :func:`rho_sensitivity` repeats a pooling over assumed pre-post correlations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_choice
from ..errors import AnalysisError, ParameterError, StatisticalWarning
from ..results import Result
from . import _core
from .rma import RMAResult, _result

__all__ = [
    "Cumulative",
    "Influence",
    "LeaveOneOut",
    "RankTest",
    "RegTest",
    "RhoSensitivity",
    "cumul",
    "influence",
    "leave1out",
    "ranktest",
    "regtest",
    "rho_sensitivity",
]

_FEW = 10  # below this many studies, small-study tests have little power (Sterne 2011)


def _crit(level: float, df: np.ndarray | float) -> np.ndarray:
    q = 1 - (1 - level) / 2
    df = np.asarray(df, float)
    return np.where(np.isinf(df), stats.norm.ppf(q), stats.t.ppf(q, np.where(np.isinf(df), 1, df)))


def _pvals(stat: np.ndarray, df: np.ndarray) -> np.ndarray:
    df = np.asarray(df, float)
    return np.where(
        np.isinf(df),
        2 * stats.norm.sf(np.abs(stat)),
        2 * stats.t.sf(np.abs(stat), np.where(np.isinf(df), 1, df)),
    )


def _need(res: RMAResult, what: str, k_min: int = 3) -> None:
    if not isinstance(res, RMAResult):
        raise ParameterError("res", "an RMAResult from rma()", type(res).__name__)
    if res.method in ("MH", "Peto"):
        raise AnalysisError(f"{what} is available for rma() models, not method={res.method!r}")
    if res.k < k_min:
        raise AnalysisError(f"{what} needs at least {k_min} studies, the model has k = {res.k}")


@dataclass(frozen=True, eq=False)
class _TableResult(Result):
    """A diagnostic whose result is one table (``to_frame`` returns a copy of it)."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@dataclass(frozen=True, eq=False)
class LeaveOneOut(_TableResult):
    """The model refitted without each study in turn (metafor's ``leave1out``)."""

    title: ClassVar[str] = "Leave-one-out analysis"


@dataclass(frozen=True, eq=False)
class Cumulative(_TableResult):
    """Cumulative meta-analysis, adding one study at a time in ``order`` (metafor's ``cumul``)."""

    title: ClassVar[str] = "Cumulative meta-analysis"

    @property
    def notes(self) -> tuple[str, ...]:
        return ("Row j pools the first j studies in the order shown (by year when known).",)


@dataclass(frozen=True, eq=False)
class Influence(_TableResult):
    """Case-deletion influence diagnostics (metafor's ``influence.rma.uni``)."""

    title: ClassVar[str] = "Influence diagnostics"

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            "influential = '*' when |DFFITS| > 3 sqrt(1/(k-1)), pchisq(Cook's D, 1) > 0.5, "
            "hat > 3/k or |DFBETAS| > 1 (metafor's rule of thumb).",
        )


def _loo_table(res: RMAResult) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    f = _core.loo_fits(res.yi, res.vi, res.method, res.test, res.tau2)
    se = np.sqrt(f["vb"])
    crit = _crit(res.level, f["df"])
    stat = f["estimate"] / se
    km = res.k - 1
    tab = pd.DataFrame(
        {
            "study": list(res.slab),
            "estimate": f["estimate"],
            "se": se,
            "zval": stat,
            "pval": _pvals(stat, f["df"]),
            "ci_low": f["estimate"] - crit * se,
            "ci_high": f["estimate"] + crit * se,
            "q": f["q"],
            "q_p": stats.chi2.sf(f["q"], km - 1),
            "tau2": f["tau2"],
            "i2": f["i2"],
            "h2": f["h2"],
        }
    )
    return tab, f


def leave1out(res: RMAResult) -> LeaveOneOut:
    """Refit the model leaving out each study in turn.

    All k refits are computed together (vectorised over the deleted study; for large k the
    weight sums are updated by a convergent series rather than recomputed), so 10,000
    studies take well under a second.

    Returns
    -------
    LeaveOneOut
        Columns ``study, estimate, se, zval, pval, ci_low, ci_high, q, q_p, tau2, i2, h2``:
        row i is the model without study i (metafor's ``leave1out``).
    """
    _need(res, "leave1out()")
    return LeaveOneOut(_loo_table(res)[0])


def cumul(res: RMAResult, order: Any = None) -> Cumulative:
    """Cumulative meta-analysis in the order of ``order`` (default: ``res.year``, then input).

    Parameters
    ----------
    res : RMAResult
    order : array_like, optional
        A sort key per study (e.g. publication year); ties keep the input order.

    Returns
    -------
    Cumulative
        Row j: the model fitted to the first j studies (``study`` is the one added).
    """
    _need(res, "cumul()", k_min=2)
    key = res.year if order is None else np.asarray(order)
    if key is not None and len(key) != res.k:
        raise ParameterError("order", f"{res.k} sort keys", len(key))
    idx = np.arange(res.k) if key is None else np.argsort(np.asarray(key), kind="stable")
    rows = []
    for j in range(1, res.k + 1):
        sel = idx[:j]
        r = _result(
            res.yi[sel],
            res.vi[sel],
            tuple(res.slab[i] for i in sel),
            res.measure,
            None,
            res.method,
            res.test,
            res.level,
        )
        rows.append(
            {
                "study": res.slab[sel[-1]],
                **({"order": key[sel[-1]]} if key is not None else {}),
                "k": j,
                "estimate": r.estimate,
                "se": r.se,
                "zval": r.zval,
                "pval": r.pval,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "q": r.q,
                "q_p": r.q_p,
                "tau2": r.tau2,
                "i2": r.i2,
                "h2": r.h2,
            }
        )
    return Cumulative(pd.DataFrame(rows))


def influence(res: RMAResult) -> Influence:
    """Externally studentised residuals, DFFITS, Cook's distances, COVRATIO, leave-one-out
    tau² and Q, hat values, weights and DFBETAS (Viechtbauer & Cheung 2010).

    Notes
    -----
    With :math:`\\hat\\mu_{(-i)}`, :math:`\\hat\\tau^2_{(-i)}` the fit without study i and
    :math:`s^2_{(-i)}` its Knapp-Hartung factor (1 for z):
    rstudent :math:`= (y_i - \\hat\\mu_{(-i)}) / \\sqrt{s^2_{(-i)}(v_i + \\hat\\tau^2_{(-i)})
    + Var(\\hat\\mu_{(-i)})}`; DFFITS :math:`= (\\hat\\mu - \\hat\\mu_{(-i)}) /
    \\sqrt{s^2_{(-i)} h_i (\\hat\\tau^2_{(-i)} + v_i)}`; Cook's D
    :math:`= (\\hat\\mu - \\hat\\mu_{(-i)})^2 / Var(\\hat\\mu)`; COVRATIO
    :math:`= Var(\\hat\\mu_{(-i)}) / Var(\\hat\\mu)`, as metafor.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis.
    *Res Synth Methods* 1:112-125.
    """
    _need(res, "influence()")
    _tab, f = _loo_table(res)
    w = 1 / (res.vi + res.tau2)
    hat = w / w.sum()
    vb_full = res.se**2
    d = res.estimate - f["estimate"]
    resid = res.yi - f["estimate"]
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    seresid = np.sqrt(res.vi * f["s2w"] + f["vb"] + f["tau2"] * f["s2w"])
    dffits = d / np.sqrt(f["s2w"] * hat * (f["tau2"] + res.vi))
    dfbetas = d / np.sqrt(f["s2w"] / f["s1_all"])
    cook = d**2 / vb_full
    covr = f["vb"] / vb_full
    k = res.k
    infl = (
        (np.abs(dffits) > 3 * np.sqrt(1 / (k - 1)))
        | (stats.chi2.cdf(cook, 1) > 0.5)
        | (hat > 3 / k)
        | (np.abs(dfbetas) > 1)
    )
    out = pd.DataFrame(
        {
            "study": list(res.slab),
            "rstudent": resid / seresid,
            "dffits": dffits,
            "cook_d": cook,
            "cov_r": covr,
            "tau2_del": f["tau2"],
            "q_del": f["q"],
            "hat": hat,
            "weight": 100 * hat,
            "dfbetas": dfbetas,
            "influential": np.where(infl, "*", ""),
        }
    )
    return Influence(out)


@dataclass(frozen=True, eq=False)
class RegTest(Result):
    """Egger-type regression test for funnel-plot asymmetry (metafor's ``regtest``)."""

    statistic: float
    pval: float
    df: float
    est: float
    ci_low: float
    ci_high: float
    k: int
    model: str
    method: str
    caveats: tuple[str, ...] = ()
    title: ClassVar[str] = "Regression test for funnel plot asymmetry (Egger)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "model": self.model,
                    "method": self.method,
                    "k": self.k,
                    "statistic": self.statistic,
                    "df": self.df,
                    "pval": self.pval,
                    "limit_estimate": self.est,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                }
            ]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            *self.caveats,
            "Predictor: the standard error; limit_estimate is the "
            "intercept (the effect as SE -> 0).",
        )


@dataclass(frozen=True, eq=False)
class RankTest(Result):
    """Begg & Mazumdar's rank correlation test (metafor's ``ranktest``)."""

    tau: float
    pval: float
    k: int
    exact: bool
    caveats: tuple[str, ...] = ()
    title: ClassVar[str] = "Rank correlation test for funnel plot asymmetry (Begg)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"k": self.k, "kendall_tau": self.tau, "pval": self.pval, "exact": self.exact}]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return self.caveats


def _few_warning(k: int, what: str) -> tuple[str, ...]:
    if k < _FEW:
        msg = (
            f"{what} with only {k} studies (< {_FEW}): too little power to detect "
            "small-study effects; a non-significant result is not evidence of no bias "
            "(Sterne et al. 2011)"
        )
        warnings.warn(msg, StatisticalWarning, stacklevel=3)
        return (msg,)
    return ()


def regtest(res: RMAResult, model: str = "rma") -> RegTest:
    """Egger's regression test: does the effect depend on its standard error?

    Parameters
    ----------
    res : RMAResult
    model : {"rma", "lm"}
        ``"rma"`` (metafor's default): the same model as ``res`` (estimator and test) with the
        SE as a moderator; ``"lm"``: the classical Egger test, a weighted regression with a
        multiplicative dispersion (t on k-2 df).

    Warns
    -----
    StatisticalWarning
        Fewer than 10 studies.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). *BMJ* 315:629-634.
    Sterne JAC et al. (2011). *BMJ* 343:d4002.
    """
    check_choice("model", model, ("rma", "lm"))
    _need(res, "regtest()")
    caveats = _few_warning(res.k, "Egger's test")
    X = np.column_stack([np.ones(res.k), np.sqrt(res.vi)])
    if model == "rma":
        f = _core.fit(res.yi, res.vi, X, res.method, res.test)
    else:
        f = _core.fit(res.yi, res.vi, X, "FE", "knha")
    se = np.sqrt(np.diag(f.vb))
    df = f.df
    stat = float(f.beta[1] / se[1])
    p = float(_pvals(np.array(stat), np.array(df)))
    crit = float(_crit(res.level, df))
    return RegTest(
        stat,
        p,
        df,
        float(f.beta[0]),
        float(f.beta[0] - crit * se[0]),
        float(f.beta[0] + crit * se[0]),
        res.k,
        model,
        f.method,
        caveats,
    )


# Cost of Kendall's exact null distribution (the recursion behind scipy's exact p-value):
# about n * min(c, n(n-1)/2 - c) cumulative-sum steps; measured on the 2-core reference
# machine (k = 1000 near tau = 0: ~3 s; k = 2000: ~45 s), see docs/limits.md.
_SECONDS_PER_KENDALL_STEP = 2e-8


def _kendall_exact_seconds(k: int, tau: float) -> float:
    pairs = k * (k - 1) / 2.0
    c = (tau + 1.0) * pairs / 2.0  # concordant pairs (no ties)
    return _SECONDS_PER_KENDALL_STEP * k * min(c, pairs - c)


def ranktest(res: RMAResult, exact: bool = True) -> RankTest:
    """Begg & Mazumdar's test: Kendall's tau between standardised effects and variances.

    :math:`y_i^* = (y_i - \\hat\\mu_{FE}) / \\sqrt{v_i - Var(\\hat\\mu_{FE})}` against
    :math:`v_i`. As metafor's ``ranktest`` (which calls ``cor.test(..., method="kendall",
    exact=TRUE)``): the p-value comes from Kendall's exact null distribution whenever there
    are no ties, whatever the number of studies; with ties (or ``exact=False``) from the
    normal approximation with the tie-corrected variance.

    Parameters
    ----------
    res : RMAResult
        A fitted model (its ``yi`` and ``vi`` are used).
    exact : bool, default True
        Exact p-value when there are no ties (metafor's default). The exact distribution
        costs about ``k³/8`` steps; beyond the limit ``max_seconds``
        (:mod:`trial_analysis.limits`) the normal approximation is used and a note says so
        (at such ``k`` the two agree to about 1e-4).

    Warns
    -----
    StatisticalWarning
        Fewer than 10 studies.

    References
    ----------
    Begg CB, Mazumdar M (1994). *Biometrics* 50:1088-1101. Kendall MG (1970), *Rank
    Correlation Methods*, 4th ed., for the exact distribution.

    Examples
    --------
    >>> import numpy as np
    >>> from trial_analysis import meta
    >>> rng = np.random.default_rng(1)
    >>> vi = rng.uniform(0.01, 0.2, 60)
    >>> rk = meta.ranktest(meta.rma(rng.normal(0, np.sqrt(vi)), vi))
    >>> rk.exact  # k = 60 >= 50, no ties: still exact, as metafor
    True
    """
    from .. import limits

    _need(res, "ranktest()")
    caveats = _few_warning(res.k, "Begg's test")
    w = 1 / res.vi
    theta = np.sum(w * res.yi) / w.sum()
    ystar = (res.yi - theta) / np.sqrt(res.vi - 1 / w.sum())
    ties = len(np.unique(ystar)) < res.k or len(np.unique(res.vi)) < res.k
    use_exact = bool(exact) and not ties
    if use_exact:
        tau = float(stats.kendalltau(ystar, res.vi, method="asymptotic").statistic)
        cost = _kendall_exact_seconds(res.k, tau)
        if cost > limits.get("max_seconds"):
            use_exact = False
            caveats = (
                *caveats,
                f"normal approximation used: the exact distribution for k = {res.k} would "
                f"take about {limits.format_seconds(cost)} (limit max_seconds, "
                "docs/limits.md)",
            )
    r = stats.kendalltau(ystar, res.vi, method="exact" if use_exact else "asymptotic")
    return RankTest(float(r.statistic), float(r.pvalue), res.k, use_exact, caveats)


@dataclass(frozen=True, eq=False)
class RhoSensitivity(_TableResult):
    """A pooled estimate recomputed over assumed pre-post correlations."""

    caveats: tuple[str, ...] = field(default=())
    title: ClassVar[str] = "Sensitivity to the assumed baseline/follow-up correlation"

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            *self.caveats,
            "Change-score SDs imputed from baseline and follow-up SDs with "
            "the correlation rho (Cochrane Handbook 6.5.2.8).",
        )


def rho_sensitivity(
    effects: Callable[[float], Any],
    rhos: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 0.9),
    **rma_kwargs: Any,
) -> RhoSensitivity:
    """Pool the effect sizes built by ``effects(rho)`` for each assumed correlation ``rho``.

    Parameters
    ----------
    effects : callable
        ``rho -> EffectSizes`` (e.g. :func:`trial_analysis.meta.evidence.hba1c_effects` with
        ``rho`` bound).
    rhos : sequence of float
        Correlations in [-1, 1].
    **rma_kwargs
        Passed to :func:`rma` (``method``, ``test``, ``level``).

    Returns
    -------
    RhoSensitivity
        One row per rho: ``rho, k, estimate, se, ci_low, ci_high, pi_low, pi_high, tau2, i2``.
    """
    from .rma import rma

    rows = []
    caveats: list[str] = []
    for rho in rhos:
        if not -1 <= float(rho) <= 1:
            raise ParameterError("rhos", "correlations in [-1, 1]", rhos)
        es = effects(float(rho))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = rma(es, **rma_kwargs)
        for w in caught:
            if issubclass(w.category, StatisticalWarning) and str(w.message) not in caveats:
                caveats.append(str(w.message))
        rows.append(
            {
                "rho": float(rho),
                "k": r.k,
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "pi_low": r.pi_low,
                "pi_high": r.pi_high,
                "tau2": r.tau2,
                "i2": r.i2,
            }
        )
    for c in caveats:
        warnings.warn(c, StatisticalWarning, stacklevel=2)
    return RhoSensitivity(pd.DataFrame(rows), tuple(caveats))
