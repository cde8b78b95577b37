"""Pooling: fixed- and random-effects models (``rma``), Mantel-Haenszel and Peto.

The entry point :func:`rma` mirrors metafor's ``rma.uni`` (names of the estimators, of the
test and of the output), :func:`rma_mh` ``rma.mh`` and :func:`rma_peto` ``rma.peto``. All
return an :class:`RMAResult`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_choice, check_conf_level
from ..errors import AnalysisError, ParameterError, StatisticalWarning
from ..results import Result, to_jsonable
from . import _core
from .escalc import EffectSizes, escalc

__all__ = ["HeterogeneityCI", "RMAResult", "rma", "rma_mh", "rma_peto"]

_ALIASES = {"EE": "FE", "CE": "FE"}
_TESTS = ("z", "knha", "hksj")


@dataclass(frozen=True, eq=False)
class HeterogeneityCI(Result):
    """Q-profile confidence intervals for tau², tau, I² (%) and H² (metafor's ``confint``)."""

    tau2: tuple[float, float, float]
    i2: tuple[float, float, float]
    h2: tuple[float, float, float]
    level: float
    title: ClassVar[str] = "Heterogeneity: estimates with Q-profile confidence intervals"

    @property
    def tau(self) -> tuple[float, float, float]:
        return tuple(float(np.sqrt(x)) for x in self.tau2)  # type: ignore[return-value]

    def to_frame(self) -> pd.DataFrame:
        rows = [("tau^2", *self.tau2), ("tau", *self.tau), ("I^2 (%)", *self.i2), ("H^2", *self.h2)]
        return pd.DataFrame(rows, columns=["parameter", "estimate", "ci_low", "ci_high"])

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            f"{self.level:.0%} Q-profile interval (Viechtbauer 2007); I^2 and H^2 bounds "
            "follow from the tau^2 bounds as in metafor's confint().",
        )


@dataclass(frozen=True, eq=False)
class RMAResult(Result):
    """A pooled estimate with heterogeneity statistics (metafor names).

    Attributes
    ----------
    estimate, se, zval, pval, ci_low, ci_high : float
        Pooled estimate (on the analysis scale: log for RR/OR), its SE, test statistic
        (z, or t with ``test="knha"``), p-value and confidence interval.
    tau2, i2, h2 : float
        Between-study variance, I² (%) and H².
    q, q_p : float
        Cochran's Q (fixed-effect weights) and its p-value on ``k - 1`` df.
    pi_low, pi_high : float
        Prediction interval for the effect in a new study (equal to the CI for
        fixed-effect models; NaN when ``k = 1``).
    k : int
        Number of studies pooled.
    method, test : str
        Estimator (``FE, DL, HE, SJ, ML, REML, PM, MH, Peto``) and test (``z``, ``knha``).
    df : float
        Degrees of freedom of the t-based test and intervals (inf for z).
    yi, vi, slab : study-level inputs (for diagnostics and plots).
    """

    estimate: float
    se: float
    zval: float
    pval: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_p: float
    pi_low: float
    pi_high: float
    k: int
    method: str
    test: str
    df: float
    level: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    slab: tuple[str, ...] = field(repr=False)
    measure: str = "GEN"
    year: np.ndarray | None = field(default=None, repr=False)
    s2w: float = 1.0
    vt: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        kind = {
            "FE": "Fixed-effect (inverse-variance)",
            "MH": "Mantel-Haenszel",
            "Peto": "Peto",
        }.get(self.method, f"Random-effects ({self.method})")
        hk = ", Hartung-Knapp-Sidik-Jonkman" if self.test == "knha" else ""
        return f"{kind} meta-analysis{hk}: k = {self.k}"

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def weights(self) -> np.ndarray:
        """Percentage weight of each study (metafor's ``weights()``)."""
        w = 1 / (self.vi + self.tau2)  # tau2 = 0 for FE, MH and Peto
        return 100 * w / np.nansum(w)

    def to_frame(self) -> pd.DataFrame:
        row = {
            "method": self.method,
            "test": self.test,
            "k": self.k,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.zval,
            "pval": self.pval,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pi_low": self.pi_low,
            "pi_high": self.pi_high,
            "tau2": self.tau2,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "q_df": max(self.k - 1, 0),
            "q_p": self.q_p,
        }
        if self.measure in ("RR", "OR"):
            for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
                row[f"exp_{c}"] = float(np.exp(row[c]))
        return pd.DataFrame([row])

    def studies(self) -> pd.DataFrame:
        """One row per study: ``study, yi, vi, ci_low, ci_high, weight`` (%)."""
        z = stats.norm.ppf(1 - (1 - self.level) / 2)
        se = np.sqrt(self.vi)
        return pd.DataFrame(
            {
                "study": list(self.slab),
                "yi": self.yi,
                "vi": self.vi,
                "ci_low": self.yi - z * se,
                "ci_high": self.yi + z * se,
                "weight": self.weights,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["studies"] = to_jsonable(self.studies())
        d["measure"] = self.measure
        return d

    @property
    def notes(self) -> tuple[str, ...]:
        out = list(self.caveats)
        if self.test == "knha":
            out.append(
                f"Hartung-Knapp-Sidik-Jonkman: t-based test and intervals on {self.df:g} "
                "df with the Knapp-Hartung variance factor (metafor test='knha')."
            )
        if self.method not in ("FE", "MH", "Peto"):
            out.append(
                "Prediction interval: estimate +/- crit * sqrt(se^2 + tau^2), crit from "
                "the normal (z) or t(k-1) (knha) distribution, as metafor's predict()."
            )
        if self.measure in ("RR", "OR"):
            out.append("Estimates are log ratios; exp_* columns give the ratio scale.")
        return tuple(out)

    # -- metafor-style methods -----------------------------------------------------------------
    def confint(self, level: float | None = None) -> HeterogeneityCI:
        """Q-profile confidence intervals for tau², I² and H² (metafor's ``confint``)."""
        if self.method in ("FE", "MH", "Peto"):
            raise AnalysisError(
                f"confint() of tau^2 needs a random-effects model, not method={self.method!r}"
            )
        if self.k < 2:
            raise AnalysisError("confint() of tau^2 needs at least 2 studies")
        lev = self.level if level is None else check_conf_level(level, "level")
        lb, ub = _core.qprofile_tau2(self.yi, self.vi, level=lev)
        vt = self.vt

        def i2(t):
            return 100 * t / (vt + t)

        def h2(t):
            return t / vt + 1

        return HeterogeneityCI(
            (self.tau2, lb, ub), (self.i2, i2(lb), i2(ub)), (self.h2, h2(lb), h2(ub)), lev
        )

    def leave1out(self):
        from .diagnostics import leave1out

        return leave1out(self)

    def cumul(self, order: Any = None):
        from .diagnostics import cumul

        return cumul(self, order=order)

    def influence(self):
        from .diagnostics import influence

        return influence(self)

    def regtest(self, model: str = "rma"):
        from .diagnostics import regtest

        return regtest(self, model=model)

    def ranktest(self):
        from .diagnostics import ranktest

        return ranktest(self)

    def forest_plot(self, **kwargs: Any):
        from .plots import forest_plot

        return forest_plot(self, **kwargs)

    def funnel_plot(self, **kwargs: Any):
        from .plots import funnel_plot

        return funnel_plot(self, **kwargs)


def _as_inputs(yi, vi, sei, slab):
    measure, year = "GEN", None
    if isinstance(yi, EffectSizes):
        es = yi
        return es.yi.copy(), es.vi.copy(), es.slab, es.measure, year
    if vi is None and sei is None:
        raise ParameterError("vi", "given (or sei)")
    y = np.atleast_1d(np.asarray(yi, float)).copy()
    v = (
        np.atleast_1d(np.asarray(vi, float)).copy()
        if vi is not None
        else np.atleast_1d(np.asarray(sei, float)) ** 2
    )
    if y.ndim != 1 or v.shape != y.shape:
        raise ParameterError("yi/vi", "1-d arrays of the same length", (y.shape, v.shape))
    labels = (
        tuple(f"Study {i + 1}" for i in range(y.size))
        if slab is None
        else tuple(str(s) for s in slab)
    )
    if len(labels) != y.size:
        raise ParameterError("slab", f"{y.size} study labels", len(labels))
    return y, v, labels, measure, year


def _check_studies(y, v, labels, year):
    bad_v = np.flatnonzero(np.isfinite(v) & (v <= 0))
    if bad_v.size:
        i = int(bad_v[0])
        raise ParameterError(
            "vi",
            f"positive sampling variances; study row {i + 1} ({labels[i]!r}) has vi = "
            f"{float(v[i])!r} (a zero variance would get infinite weight: check its SD/SE)",
        )
    miss = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(v))
    if miss.size:
        warnings.warn(
            "studies with missing or non-finite yi/vi omitted: "
            + ", ".join(f"row {i + 1} ({labels[i]!r})" for i in miss),
            StatisticalWarning,
            stacklevel=3,
        )
        keep = np.setdiff1d(np.arange(y.size), miss)
        y, v = y[keep], v[keep]
        labels = tuple(labels[i] for i in keep)
        year = None if year is None else year[keep]
    if y.size == 0:
        raise AnalysisError("no study with a usable estimate and variance to pool")
    return y, v, labels, year


def rma(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    slab: Sequence[str] | None = None,
    year: Any = None,
    measure: str | None = None,
) -> RMAResult:
    """Fixed- or random-effects meta-analysis (metafor's ``rma.uni``, intercept-only).

    Parameters
    ----------
    yi : array_like or EffectSizes
        Study estimates (or the output of :func:`escalc`, which carries ``vi`` and labels).
    vi : array_like, optional
        Sampling variances (or give ``sei``).
    sei : array_like, optional
        Standard errors.
    method : {"REML", "DL", "PM", "SJ", "ML", "HE", "FE"}
        tau² estimator: restricted maximum likelihood (default, as metafor),
        DerSimonian-Laird, Paule-Mandel, Sidik-Jonkman, maximum likelihood, Hedges, or the
        fixed-effect (inverse-variance) model (``"EE"``/``"CE"`` are aliases).
    test : {"z", "knha"}
        ``"knha"`` (alias ``"hksj"``): Hartung-Knapp-Sidik-Jonkman adjustment (t on k-1 df).
    level : float, default 0.95
        Confidence level of CIs and of the prediction interval.
    slab : sequence of str, optional
        Study labels.
    year : array_like, optional
        Publication years (used by :meth:`RMAResult.cumul`).
    measure : str, optional
        Effect measure (for labels; taken from an :class:`EffectSizes` input).

    Returns
    -------
    RMAResult

    Raises
    ------
    ParameterError
        A zero or negative sampling variance (names the study row), bad method/test.
    AnalysisError
        Nothing left to pool.

    Warns
    -----
    StatisticalWarning
        Studies with missing yi/vi are omitted (named); ``k = 1`` (the "pooled" estimate is
        the study itself, no heterogeneity, no prediction interval, and ``knha`` falls back
        to ``z``); ``k = 2`` (tau² and the prediction interval are very imprecise).

    Notes
    -----
    Weights :math:`w_i = 1/(v_i + \\hat\\tau^2)`, :math:`\\hat\\mu = \\sum w_i y_i/\\sum w_i`,
    :math:`SE = (\\sum w_i)^{-1/2}`. Knapp-Hartung: :math:`SE^2 \\cdot q`,
    :math:`q = \\sum w_i (y_i - \\hat\\mu)^2/(k-1)`, t on k-1 df.
    :math:`I^2 = 100\\,\\hat\\tau^2/(\\hat\\tau^2 + \\tilde v)` and
    :math:`H^2 = \\hat\\tau^2/\\tilde v + 1`, with the typical within-study variance
    :math:`\\tilde v = (k-1)\\sum w_i / ((\\sum w_i)^2 - \\sum w_i^2)`, :math:`w_i = 1/v_i`
    (Higgins & Thompson 2002), as metafor. Prediction interval:
    :math:`\\hat\\mu \\pm c\\sqrt{SE^2 + \\hat\\tau^2}`.
    Checked against metafor 3.8 to 1e-6 (``tests/reference/meta.R``).

    References
    ----------
    Viechtbauer W (2005). *J Educ Behav Stat* 30:261-293 (estimators).
    Knapp G, Hartung J (2003). *Stat Med* 22:2693-2710. IntHout J et al. (2014).
    *BMC Med Res Methodol* 14:25. Higgins JPT, Thompson SG (2002). *Stat Med* 21:1539-1558.

    Examples
    --------
    BCG vaccine trials (metafor's ``dat.bcg``), log risk ratios, REML:

    >>> import trial_analysis as ta
    >>> es = ta.meta.escalc("RR", ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11],
    ...                     di=[128, 274, 209])
    >>> res = ta.meta.rma(es, method="REML", test="knha")
    >>> res.k, res.method, res.test
    (3, 'REML', 'knha')
    """
    method = _ALIASES.get(method, method)
    check_choice("method", method, _core.METHODS)
    check_choice("test", test, _TESTS)
    test = "knha" if test == "hksj" else test
    level = check_conf_level(level, "level")
    y, v, labels, meas, _ = _as_inputs(yi, vi, sei, slab)
    if measure is not None:
        meas = measure
    yr = None if year is None else np.asarray(year, float).copy()
    if yr is not None and yr.shape != y.shape:
        raise ParameterError("year", f"{y.size} values", yr.size)
    y, v, labels, yr = _check_studies(y, v, labels, yr)
    caveats: list[str] = []
    k = y.size
    if method == "FE" and test == "knha":
        msg = (
            "test='knha' with a fixed-effect model: the Knapp-Hartung adjustment is meant "
            "for random-effects models (as metafor warns)"
        )
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
        caveats.append(msg)
    if k == 1:
        msg = (
            f"single study ({labels[0]!r}): the 'pooled' estimate is that study's own; "
            "tau^2 is set to 0 and no prediction interval is given"
        )
        if test == "knha":
            msg += "; test='knha' needs k >= 2, the z-test is used"
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
        caveats.append(msg)
    elif k == 2:
        msg = (
            "only 2 studies: tau^2, I^2 and the prediction interval are very imprecise; "
            "read the pooled estimate with caution"
        )
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
        caveats.append(msg)
    return _result(y, v, labels, meas, yr, method, test, level, tuple(caveats))


def _result(y, v, labels, measure, year, method, test, level, caveats=()) -> RMAResult:
    f = _core.fit(y, v, None, method, test)
    k = y.size
    est = float(f.beta[0])
    se = float(np.sqrt(f.vb[0, 0]))
    alpha = 1 - level
    if f.test == "knha":
        crit = float(stats.t.ppf(1 - alpha / 2, f.df))
        stat = est / se if se > 0 else np.nan
        pval = float(2 * stats.t.sf(abs(stat), f.df))
    else:
        crit = float(stats.norm.ppf(1 - alpha / 2))
        stat = est / se
        pval = float(2 * stats.norm.sf(abs(stat)))
    if k > 1:
        half = crit * np.sqrt(se**2 + f.tau2)
        pi = (est - half, est + half)
    else:
        pi = (np.nan, np.nan)
    return RMAResult(
        estimate=est,
        se=se,
        zval=float(stat),
        pval=pval,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        tau2=f.tau2,
        i2=float(f.i2),
        h2=float(f.h2),
        q=f.q,
        q_p=f.q_p,
        pi_low=float(pi[0]),
        pi_high=float(pi[1]),
        k=k,
        method=method,
        test=f.test,
        df=f.df,
        level=level,
        yi=y,
        vi=v,
        slab=tuple(labels),
        measure=measure,
        year=year,
        s2w=f.s2w,
        vt=f.vt,
        caveats=tuple(caveats),
    )


def _counts(ai, bi, ci, di, n1i, n2i):
    a, c = (np.atleast_1d(np.asarray(x, float)) for x in (ai, ci))
    if bi is not None and di is not None:
        b, d = (np.atleast_1d(np.asarray(x, float)) for x in (bi, di))
    elif n1i is not None and n2i is not None:
        b = np.atleast_1d(np.asarray(n1i, float)) - a
        d = np.atleast_1d(np.asarray(n2i, float)) - c
    else:
        raise ParameterError("bi/di or n1i/n2i", "given")
    return a, b, c, d


def _het(yi, vi, beta):
    ok = np.isfinite(yi) & np.isfinite(vi)
    kk = int(ok.sum())
    if kk > 1:
        q = max(0.0, float(np.sum((yi[ok] - beta) ** 2 / vi[ok])))
        return (
            q,
            float(stats.chi2.sf(q, kk - 1)),
            max(0.0, 100 * (q - (kk - 1)) / q) if q > 0 else 0.0,
            q / (kk - 1),
        )
    return 0.0, 1.0, 0.0, 1.0


def _fixed_result(beta, se, es, method, measure, level, yi, vi, labels, extra):
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    zval = beta / se
    q, q_p, i2, h2 = extra.pop("_het")
    return RMAResult(
        estimate=float(beta),
        se=float(se),
        zval=float(zval),
        pval=float(2 * stats.norm.sf(abs(zval))),
        ci_low=float(beta - z * se),
        ci_high=float(beta + z * se),
        tau2=0.0,
        i2=float(i2),
        h2=float(h2),
        q=float(q),
        q_p=float(q_p),
        pi_low=float(beta - z * se),
        pi_high=float(beta + z * se),
        k=len(labels),
        method=method,
        test="z",
        df=np.inf,
        level=level,
        yi=yi,
        vi=vi,
        slab=labels,
        measure=measure,
        extra=extra,
    )


def rma_mh(
    ai: Any,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    measure: str = "OR",
    level: float = 0.95,
    slab: Sequence[str] | None = None,
    correct: bool = True,
) -> RMAResult:
    """Mantel-Haenszel fixed-effect pooling of 2x2 tables (metafor's ``rma.mh``).

    Parameters
    ----------
    ai, bi, ci, di, n1i, n2i : array_like
        Counts as in :func:`escalc`.
    measure : {"OR", "RR", "RD"}
    level : float
    slab : sequence of str
    correct : bool, default True
        Continuity correction of the Cochran-Mantel-Haenszel test.

    Returns
    -------
    RMAResult
        ``method="MH"``; ``extra`` holds ``cmh, cmh_p`` (OR) and ``tarone, tarone_p``
        (Breslow-Day test with Tarone's correction, OR).

    Notes
    -----
    Zero cells: the MH estimate uses the raw counts (no correction, as metafor's default
    ``add=c(1/2, 0)``); the per-study estimates used for Q and the forest plot get 1/2 added
    to the tables with a zero cell, and tables with no event (or only events) in both arms
    are dropped from them (``drop00=TRUE``). Variances: Robins-Breslow-Greenland (OR),
    Greenland-Robins (RR), Sato/Greenland-Robins (RD).

    References
    ----------
    Mantel N, Haenszel W (1959). *J Natl Cancer Inst* 22:719-748. Robins J, Breslow N,
    Greenland S (1986). *Biometrics* 42:311-323.
    """
    check_choice("measure", measure, ("OR", "RR", "RD"))
    level = check_conf_level(level, "level")
    a, b, c, d = _counts(ai, bi, ci, di, n1i, n2i)
    labels = (
        tuple(f"Study {i + 1}" for i in range(a.size))
        if slab is None
        else tuple(str(s) for s in slab)
    )
    _ = escalc(measure, ai=a, bi=b, ci=c, di=d, slab=labels)  # validates the counts
    both00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    es = escalc(
        measure,
        ai=a[~both00],
        bi=b[~both00],
        ci=c[~both00],
        di=d[~both00],
        slab=[lab for lab, z in zip(labels, both00, strict=True) if not z],
    )
    n1, n2 = a + b, c + d
    N = n1 + n2
    extra: dict[str, Any] = {}
    if measure == "OR":
        P, Qm = (a + d) / N, (b + c) / N
        Ri, Si = a * d / N, b * c / N
        R, S = Ri.sum(), Si.sum()
        if R == 0 or S == 0:
            raise AnalysisError(
                "the Mantel-Haenszel odds ratio is 0 or infinite (no events "
                "in one arm across all tables)"
            )
        beta = np.log(R / S)
        se = np.sqrt(
            0.5
            * (np.sum(P * Ri) / R**2 + np.sum(P * Si + Qm * Ri) / (R * S) + np.sum(Qm * Si) / S**2)
        )
        xt, yt = a + c, b + d
        num = (abs(np.sum(a - n1 / N * xt)) - (0.5 if correct else 0.0)) ** 2
        cmh = max(0.0, num / np.sum(n1 / N * n2 / N * xt * yt / (N - 1))) if num >= 0 else 0.0
        extra["cmh"] = float(cmh)
        extra["cmh_p"] = float(stats.chi2.sf(cmh, 1))
        extra.update(_tarone(a, n1, n2, N, xt, yt, float(np.exp(beta))))
    elif measure == "RR":
        R, S = np.sum(a * n2 / N), np.sum(c * n1 / N)
        if a.sum() == 0 or c.sum() == 0:
            raise AnalysisError(
                "the Mantel-Haenszel risk ratio is 0 or infinite (no events "
                "in one arm across all tables)"
            )
        beta = np.log(R / S)
        se = np.sqrt(np.sum(n1 / N * n2 / N * (a + c) - a / N * c) / (R * S))
    else:
        beta = np.sum(a * n2 / N - c * n1 / N) / np.sum(n1 * n2 / N)
        se = np.sqrt(
            (
                beta
                * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + n1 / N * n2 / N * (n2 - n1) / 2)
                + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2
            )
            / np.sum(n1 * n2 / N) ** 2
        )
    extra["_het"] = _het(es.yi, es.vi, beta)
    return _fixed_result(beta, se, es, "MH", measure, level, es.yi, es.vi, es.slab, extra)


def _tarone(a, n1, n2, N, xt, yt, psi):
    if psi == 1:
        n11 = n1 / N * xt
    else:
        A = psi * (n1 + xt) + (n2 - xt)
        B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
        n11 = (A - B) / (2 * (psi - 1))
    pos = (n11 > 0) & (xt > 0) & (yt > 0)
    n11 = n11[pos]
    n12 = n1[pos] - n11
    n21 = xt[pos] - n11
    n22 = n11 - n1[pos] - xt[pos] + N[pos]
    inv = 1 / (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22)
    bd = max(0.0, float(np.sum((a[pos] - n11) ** 2 / inv)))
    ta = max(0.0, bd - float(np.sum(a[pos] - n11)) ** 2 / float(np.sum(inv)))
    kpos = int(pos.sum())
    p = float(stats.chi2.sf(ta, kpos - 1)) if kpos > 1 else np.nan
    return {"tarone": ta, "tarone_p": p}


def rma_peto(
    ai: Any,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    level: float = 0.95,
    slab: Sequence[str] | None = None,
) -> RMAResult:
    """Peto's one-step log odds ratio (metafor's ``rma.peto``).

    :math:`\\log\\widehat{OR} = \\sum (O_i - E_i) / \\sum V_i`, :math:`SE = (\\sum V_i)^{-1/2}`,
    :math:`E_i = n_{1i} m_{1i} / N_i`, :math:`V_i = n_{1i} n_{2i} m_{1i} m_{2i} / (N_i^2 (N_i-1))`.
    No zero-cell correction is needed (tables with no events contribute nothing).

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). *Prog Cardiovasc Dis* 27:335-371.
    """
    level = check_conf_level(level, "level")
    a, b, c, d = _counts(ai, bi, ci, di, n1i, n2i)
    labels = (
        tuple(f"Study {i + 1}" for i in range(a.size))
        if slab is None
        else tuple(str(s) for s in slab)
    )
    escalc("OR", ai=a, bi=b, ci=c, di=d, slab=labels)  # validates the counts
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    if V.sum() == 0:
        raise AnalysisError("Peto's method needs at least one table with events")
    beta = np.sum(a - E) / V.sum()
    se = np.sqrt(1 / V.sum())
    ok = V > 0
    kk = int(ok.sum())
    q = max(0.0, float(np.sum((a[ok] - E[ok]) ** 2 / V[ok]) - np.sum(a - E) ** 2 / V.sum()))
    het = (
        q,
        float(stats.chi2.sf(q, kk - 1)) if kk > 1 else 1.0,
        max(0.0, 100 * (q - (kk - 1)) / q) if q > 0 and kk > 1 else 0.0,
        q / (kk - 1) if kk > 1 else 1.0,
    )
    yi, vi = (a[ok] - E[ok]) / V[ok], 1 / V[ok]
    labs = tuple(lab for lab, o in zip(labels, ok, strict=True) if o)
    return _fixed_result(beta, se, None, "Peto", "OR", level, yi, vi, labs, {"_het": het})
