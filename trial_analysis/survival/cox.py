"""Cox proportional-hazards model: hazard ratios with Wald and likelihood-ratio (profile) CIs,
and the Schoenfeld-residual test of proportional hazards (R ``cox.zph``).

Which library and why: statsmodels' ``PHReg`` gives R ``coxph``'s numbers (Efron or Breslow
ties, strata) but its likelihood and Hessian loop in Python over the distinct times: ~10 s
for 100,000 patients where R takes 0.2 s (benchmarks/survival.py). lifelines' ``CoxPHFitter``
would add a dependency. So the fit is Newton–Raphson on vectorised risk-set sums written here
(the same sums give the profile-likelihood interval and the proportional-hazards score test,
which neither library has in survival >= 3.0's form); tests/test_survival_estimators.py checks
it against R ``coxph`` (lung, veteran, ovarian; ~1e-13) and against ``PHReg``.

References: Cox (1972); Efron (1977), JASA 72:557; Grambsch & Therneau (1994), Biometrika
81:515 (test of PH); Therneau & Grambsch (2000), *Modeling Survival Data*, sec. 6.2; R survival
3.x ``cox.zph`` (score test for time-by-covariate interaction terms at the fitted β).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_choice, check_conf_level
from ..errors import AnalysisError, ParameterError
from ..results import Result, format_number, format_p
from ._common import as_event, as_time
from .kaplan_meier import _km_table

__all__ = ["Cox", "CoxZph", "cox"]

TIES = ("efron", "breslow")
ZPH_TRANSFORMS = ("km", "identity", "rank", "log")


@dataclass(frozen=True)
class CoxZph(Result):
    """Test of proportional hazards per term and globally (R ``cox.zph``)."""

    terms: tuple
    chisq: np.ndarray  # per term, then GLOBAL
    df: np.ndarray
    p_value: np.ndarray
    transform: str
    title: ClassVar[str] = "Test of proportional hazards (scaled Schoenfeld residuals)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "term": [*self.terms, "GLOBAL"],
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return (f"Time transform: {self.transform} (as R cox.zph(transform='{self.transform}')).",)


@dataclass(frozen=True)
class Cox(Result):
    """A fitted Cox model; ``to_frame()`` has ``hazard_ratio, ci_low, ci_high, p_value`` per term."""

    terms: tuple
    coef: np.ndarray
    se: np.ndarray
    conf_level: float
    ci_low: np.ndarray  # Wald, on the HR scale
    ci_high: np.ndarray
    p_value: np.ndarray  # Wald
    lr_ci_low: np.ndarray  # profile likelihood, HR scale (NaN when not computed)
    lr_ci_high: np.ndarray
    loglik: float
    loglik_null: float
    n: int
    n_event: int
    ties: str
    stratified: bool
    _data: Any = field(default=None, repr=False, compare=False)
    title: ClassVar[str] = "Cox proportional-hazards model"

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    @property
    def lr_test(self) -> float:
        """Likelihood-ratio statistic against the model without covariates."""
        return 2.0 * (self.loglik - self.loglik_null)

    @property
    def lr_p_value(self) -> float:
        return float(stats.chi2.sf(self.lr_test, len(self.terms)))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "coef": self.coef,
                "se": self.se,
                "hazard_ratio": self.hazard_ratio,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
                "lr_ci_low": self.lr_ci_low,
                "lr_ci_high": self.lr_ci_high,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        s = ", stratified baseline" if self.stratified else ""
        return (
            f"{self.n} patients, {self.n_event} events; {self.ties} ties{s}. ci_low/ci_high: "
            f"{self.conf_level:.0%} Wald; lr_ci_*: profile likelihood.",
            f"Likelihood-ratio test {format_number(self.lr_test)} on {len(self.terms)} df, "
            f"p = {format_p(self.lr_p_value)}.",
        )

    def ph_test(self, transform: str = "km") -> CoxZph:
        """Schoenfeld-residual test of proportional hazards, as R ``cox.zph(fit, transform)``.

        A score test, at the fitted β, of adding X·g(t) terms, g the transformed time
        ("km": 1 − KM(t−) of all patients; "identity", "rank", "log"). Per term with 1 df and
        globally with p df.
        """
        check_choice("transform", transform, ZPH_TRANSFORMS)
        time, event, X, strata = self._data
        eta = X @ self.coef
        return _zph(time, event, X, eta, strata, self.ties, transform, self.terms)


def _risk_terms(time, event, X, eta, strata, efron):
    """Per distinct event time (within stratum): time, Σ_D x, Σ_l x̄_l, Σ_l Cov_l; and log L.

    Efron: the l-th of d tied deaths sees the risk-set sums minus l/d of the deaths' sums.
    """
    n = X.shape[0]
    out_t, out_xs, out_ms, out_info = [], [], [], []
    loglik = 0.0
    groups = (
        [np.arange(n)]
        if strata is None
        else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    )
    for idx in groups:
        t, e, x = time[idx], event[idx], X[idx]
        shift = eta[idx].max()
        w = np.exp(eta[idx] - shift)
        loglik += float((eta[idx] * e).sum())
        ut, inv = np.unique(t, return_inverse=True)
        m = ut.size
        wx = w[:, None] * x
        wxx = wx[:, :, None] * x[:, None, :]

        def agg(v, mask=None, m=m, inv=inv):
            # sums per distinct time; bincount per column (much faster than np.add.at)
            vv = v if mask is None else v * mask.reshape((-1,) + (1,) * (v.ndim - 1))
            flat = vv.reshape(vv.shape[0], -1)
            cols = [np.bincount(inv, weights=flat[:, c], minlength=m) for c in range(flat.shape[1])]
            return np.column_stack(cols).reshape((m, *v.shape[1:]))

        r0 = agg(w)[::-1].cumsum(axis=0)[::-1]
        r1 = agg(wx)[::-1].cumsum(axis=0)[::-1]
        r2 = agg(wxx)[::-1].cumsum(axis=0)[::-1]
        dmask = e.astype(float)
        d = agg(dmask)
        d0, d1, d2 = agg(w, dmask), agg(wx, dmask), agg(wxx, dmask)
        xs = agg(x, dmask)
        k = d > 0
        r0, r1, r2, d, d0, d1, d2, xs = (a[k] for a in (r0, r1, r2, d, d0, d1, d2, xs))
        ms = np.zeros_like(r1)
        info = np.zeros_like(r2)
        if efron:
            for ll in range(int(d.max())):
                a = d > ll
                frac = ll / d[a]
                s0 = r0[a] - frac * d0[a]
                s1 = r1[a] - frac[:, None] * d1[a]
                s2 = r2[a] - frac[:, None, None] * d2[a]
                mean = s1 / s0[:, None]
                loglik -= float(np.log(s0).sum() + shift * s0.size)
                ms[a] += mean
                info[a] += s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]
        else:
            mean = r1 / r0[:, None]
            loglik -= float((d * (np.log(r0) + shift)).sum())
            ms = d[:, None] * mean
            info = d[:, None, None] * (r2 / r0[:, None, None] - mean[:, :, None] * mean[:, None, :])
        out_t.append(ut[k])
        out_xs.append(xs)
        out_ms.append(ms)
        out_info.append(info)
    return (
        np.concatenate(out_t),
        np.concatenate(out_xs),
        np.concatenate(out_ms),
        np.concatenate(out_info),
        loglik,
    )


def _zph(time, event, X, eta, strata, ties, transform, terms) -> CoxZph:
    p = X.shape[1]
    if transform == "km":
        tab = _km_table(time, event.astype(np.int64))
        j = np.searchsorted(tab["time"], time, side="left")  # number of KM times < t
        g_all = 1.0 - np.concatenate([[1.0], tab["survival"]])[j]
    elif transform == "identity":
        g_all = time.copy()
    elif transform == "rank":
        g_all = stats.rankdata(time)
    else:
        g_all = np.log(time)
    center = g_all[event == 1].mean()
    tk, xs, ms, info, _ = _risk_terms(time, event, X, eta, strata, ties == "efron")
    # g at each distinct event time (g depends on time only)
    gk = np.interp(tk, np.sort(time), g_all[np.argsort(time, kind="stable")]) - center
    u = (gk[:, None] * (xs - ms)).sum(axis=0)
    i11 = info.sum(axis=0)
    i12 = (gk[:, None, None] * info).sum(axis=0)
    i22 = (gk[:, None, None] ** 2 * info).sum(axis=0)
    imat = np.block([[i11, i12], [i12, i22]])
    full_u = np.concatenate([np.zeros(p), u])
    chisq, df = [], []
    for jj in range(p):
        kk = np.r_[np.arange(p), p + jj]
        uu = full_u[kk]
        chisq.append(float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu)))
        df.append(1)
    chisq.append(float(full_u @ np.linalg.solve(imat, full_u)))
    df.append(p)
    chisq_a, df_a = np.array(chisq), np.array(df)
    return CoxZph(
        terms=tuple(terms),
        chisq=chisq_a,
        df=df_a,
        p_value=stats.chi2.sf(chisq_a, df_a),
        transform=transform,
    )


def _design(data: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are; text/categorical columns as 0/1 dummies (first level = reference)."""
    cols, names = [], []
    for c in covariates:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols.append(s.to_numpy(dtype=float))
            names.append(str(c))
        else:
            levels = sorted(pd.unique(s).tolist(), key=str)
            for lev in levels[1:]:
                cols.append((s == lev).to_numpy(dtype=float))
                names.append(f"{c}[T.{lev}]")
    return np.column_stack(cols), names


def _newton(time, event, X, offset, strata, efron, start, max_iter=50):
    """Maximise the partial likelihood by Newton–Raphson with step halving.

    Returns ``(beta, information matrix, log L, converged)``. Uses the vectorised risk-set
    sums of :func:`_risk_terms` (also used by the PH test and the profile likelihood).
    """
    beta = np.asarray(start, dtype=float).copy()
    prev = beta
    ll_old = -np.inf
    converged = False
    info_sum = np.zeros((X.shape[1], X.shape[1]))
    for _ in range(max_iter):
        _, xs, ms, info, ll = _risk_terms(time, event, X, X @ beta + offset, strata, efron)
        if ll < ll_old - 1e-10:  # step halving (rarely needed)
            beta = (beta + prev) / 2
            continue
        u = (xs - ms).sum(axis=0)
        info_sum = info.sum(axis=0)
        try:
            step = np.linalg.solve(info_sum, u)
        except np.linalg.LinAlgError:
            break
        prev = beta
        ll_old = ll
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * max(1.0, float(np.max(np.abs(beta)))):
            converged = True
            break
    _, _, _, info, ll = _risk_terms(time, event, X, X @ beta + offset, strata, efron)
    return beta, info.sum(axis=0), ll, converged


def _refit_loglik(time, event, X, offset, strata, efron, start):
    """Maximised log-likelihood with a fixed offset (Newton from ``start``), for the profile."""
    if X.shape[1] == 0:
        return _risk_terms(time, event, np.zeros((time.size, 1)), offset, strata, efron)[4], start
    beta, _, ll, _ = _newton(time, event, X, offset, strata, efron, start)
    return ll, beta


def _profile_ci(time, event, X, strata, ties, coef, se, llf, level, j) -> tuple[float, float]:
    """Roots of 2 (l_max − l_profile(b_j)) = χ²_1(level) for coefficient j (others refitted)."""
    crit = float(stats.chi2.ppf(level, 1))
    others = [i for i in range(X.shape[1]) if i != j]
    xo = X[:, others]
    efron = ties == "efron"
    start = {"b": coef[others]}

    def f(b):
        ll, beta = _refit_loglik(time, event, xo, b * X[:, j], strata, efron, start["b"])
        start["b"] = beta
        return 2.0 * (llf - ll) - crit

    def root(direction):
        step = 2.0 * se[j]
        for _ in range(10):
            b = coef[j] + direction * step
            start["b"] = coef[others]
            if f(b) > 0:
                lo, hi = sorted((coef[j], b))
                start["b"] = coef[others]
                return optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12)
            step *= 2
        return float("nan")  # the likelihood stays flat: no finite limit

    return root(-1), root(+1)


def cox(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariates: list[str] | str,
    strata: str | list[str] | None = None,
    ties: str = "efron",
    conf_level: float = 0.95,
    lr_ci: bool = True,
) -> Cox:
    """Fit a Cox proportional-hazards model.

    Parameters
    ----------
    data : DataFrame
        One row per patient. Rows with a missing value in any used column are dropped (as R).
    duration, event : str
        Columns of follow-up time and event indicator (1 = event, 0 = censored).
    covariates : list of str
        Columns entering the linear predictor; text or categorical columns become 0/1
        indicators with the first sorted level as reference (term ``col[T.level]``).
    strata : str or list of str, optional
        Columns defining strata with their own baseline hazard (``strata()`` in coxph).
    ties : {"efron", "breslow"}
    conf_level : float
    lr_ci : bool
        Also compute the profile-likelihood interval of every coefficient (one refit per
        root-finding step; switch off for very large data).

    Returns
    -------
    Cox
        ``to_frame()``: ``term, coef, se, hazard_ratio, ci_low, ci_high, p_value`` (Wald) and
        ``lr_ci_low, lr_ci_high``; ``ph_test(transform)`` for proportional hazards.

    Examples
    --------
    >>> import pandas as pd, trial_analysis as ta
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 0, 1, 1, 1, 0, 1],
    ...                   "arm": [0, 1, 0, 1, 0, 1, 0, 1]})
    >>> fit = ta.survival.cox(d, "t", "e", ["arm"])
    >>> list(fit.to_frame().columns[:4])
    ['term', 'coef', 'se', 'hazard_ratio']
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data", "a pandas DataFrame with one row per patient", type(data).__name__
        )
    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covs:
        raise ParameterError("covariates", "at least one column name")
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    for name, cols in (
        ("duration", [duration]),
        ("event", [event]),
        ("covariates", covs),
        ("strata", strata_cols),
    ):
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ParameterError(name, f"column(s) of data (have {list(data.columns)})", missing)
    check_choice("ties", ties, TIES)
    level = check_conf_level(conf_level)
    used = data[[duration, event, *covs, *strata_cols]].dropna()
    if len(used) == 0:
        raise ParameterError("data", "rows without missing values in the used columns")
    t = as_time(duration, used[duration])
    e = as_event(event, used[event], t.size)
    X, names = _design(used, covs)
    s = None
    if strata_cols:
        s = pd.factorize(pd.MultiIndex.from_frame(used[strata_cols].astype(str)))[0]
    if e.sum() == 0:
        raise AnalysisError("cox: there are no events")
    if np.linalg.matrix_rank(X - X.mean(axis=0)) < X.shape[1]:
        raise AnalysisError(f"cox: the covariates {names} are collinear (or one is constant)")
    efron = ties == "efron"
    ef = e.astype(float)
    zero = np.zeros(t.size)
    coef, info, llf, converged = _newton(t, ef, X, zero, s, efron, np.zeros(X.shape[1]))
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(np.linalg.pinv(info)))
    if not converged or not np.all(np.isfinite(coef)) or not np.all(np.isfinite(se)):
        raise AnalysisError(
            "cox: the fit did not converge (monotone likelihood? an arm with no events?)"
        )
    z = float(stats.norm.ppf(0.5 + level / 2))
    ll0 = _risk_terms(t, ef, np.zeros((t.size, 1)), zero, s, efron)[4]
    lr_lo = np.full(coef.size, np.nan)
    lr_hi = np.full(coef.size, np.nan)
    if lr_ci:
        for j in range(coef.size):
            lo, hi = _profile_ci(t, e, X, s, ties, coef, se, llf, level, j)
            lr_lo[j], lr_hi[j] = np.exp(lo), np.exp(hi)
    return Cox(
        terms=tuple(names),
        coef=coef,
        se=se,
        conf_level=level,
        ci_low=np.exp(coef - z * se),
        ci_high=np.exp(coef + z * se),
        p_value=2 * stats.norm.sf(np.abs(coef / se)),
        lr_ci_low=lr_lo,
        lr_ci_high=lr_hi,
        loglik=llf,
        loglik_null=float(ll0),
        n=int(t.size),
        n_event=int(e.sum()),
        ties=ties,
        stratified=s is not None,
        _data=(t, e.astype(float), X, s),
    )
