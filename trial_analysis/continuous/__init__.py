"""Two-arm comparisons of a continuous endpoint, from published summaries or patient data.

From summaries (no patient data needed):

- :func:`ttest_from_summary` — Student or Welch t-test from means, SDs and ns, with the
  difference, its confidence interval and Hedges' g.
- :func:`hedges_g` — Hedges' g with a noncentral-t (exact) or large-sample interval.
- :func:`sd_sensitivity` — when a paper omits the SD: the p-value as a function of the
  assumed SD, and the largest SD at which "p < alpha" still holds.

From patient-level data (arm 1 = experimental, arm 2 = control, as everywhere in the package):

- :func:`ancova` — outcome on arm + baseline (statsmodels OLS), model-based and HC3 SEs.
- :func:`welch` — Welch t-test on two samples.
- :func:`mann_whitney` — Mann–Whitney U with the Hodges–Lehmann shift and its interval,
  matching R's ``wilcox.test(conf.int = TRUE)``.
- :func:`bootstrap_bca` — stratified BCa bootstrap interval of a difference, with a seed.

Every function returns a frozen :class:`~trial_analysis.results.Result`.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .._validate import (
    check_alpha,
    check_choice,
    check_conf_level,
    check_count,
    check_finite,
    check_positive,
)
from ..errors import AnalysisError, ParameterError, StatisticalWarning
from ..results import Result

__all__ = [
    "AncovaResult",
    "BootstrapResult",
    "HedgesGResult",
    "LSMeansResult",
    "MannWhitneyResult",
    "SDSensitivityResult",
    "TTestResult",
    "ancova",
    "bootstrap_bca",
    "contrast_margin",
    "hedges_g",
    "lsmeans",
    "mann_whitney",
    "sd_sensitivity",
    "tost",
    "tost_from_summary",
    "ttest_from_summary",
    "welch",
]

ALTERNATIVES = ("two-sided", "less", "greater")


# --------------------------------------------------------------------------- helpers
def _check_sd(name: str, value: Any) -> float:
    return check_positive(name, value)


def _check_n(name: str, value: Any) -> int:
    return check_count(name, value, minimum=2)


def _pooled_sd(sd1: float, n1: int, sd2: float, n2: int) -> float:
    return math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))


def _welch_df(v1: float, n1: int, v2: float, n2: int) -> float:
    """Welch–Satterthwaite df from the two variances of the means ``v = sd**2 / n``."""
    return (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))


def _t_ci(est: float, se: float, df: float, conf_level: float, alternative: str):
    if alternative == "two-sided":
        q = stats.t.ppf(0.5 + conf_level / 2, df)
        return est - q * se, est + q * se
    q = stats.t.ppf(conf_level, df)
    if alternative == "less":
        return -math.inf, est + q * se
    return est - q * se, math.inf


def _t_p(t: float, df: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(2 * stats.t.sf(abs(t), df))
    if alternative == "less":
        return float(stats.t.cdf(t, df))
    return float(stats.t.sf(t, df))


def _as_sample(name: str, values: Any) -> np.ndarray:
    """1-D float array of finite values (NaN are an error: drop missing values first)."""
    try:
        a = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError(name, "a sequence of numbers", values) from None
    if a.size < 2:
        raise AnalysisError(
            f"`{name}` has {a.size} value(s); at least 2 are needed in each arm for this analysis"
        )
    if not np.all(np.isfinite(a)):
        raise ParameterError(name, "finite numbers (drop missing values first)", values)
    return a


# --------------------------------------------------------------------------- Hedges g
@dataclass(frozen=True)
class HedgesGResult(Result):
    """Hedges' g (bias-corrected standardised mean difference) with its interval."""

    estimate: float
    ci_low: float
    ci_high: float
    cohen_d: float
    correction: float
    df: int
    conf_level: float
    method: str
    title: ClassVar[str] = "Hedges' g (arm 1 - arm 2) / pooled SD"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "measure": "Hedges g",
                    "estimate": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "conf_level": self.conf_level,
                    "cohen_d": self.cohen_d,
                    "J": self.correction,
                    "df": self.df,
                    "method": self.method,
                }
            ]
        )


def _hedges_j(df: int) -> float:
    # Exact small-sample correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)),
    # Hedges (1981) eq. 6e; computed on the log scale to avoid overflow.
    return math.exp(
        special.gammaln(df / 2) - 0.5 * math.log(df / 2) - special.gammaln((df - 1) / 2)
    )


def hedges_g(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    conf_level: float = 0.95,
    method: str = "noncentral",
) -> HedgesGResult:
    """Hedges' g from summary statistics, with a confidence interval.

    Parameters
    ----------
    mean1, sd1, n1 : float, float, int
        Mean, SD and size of arm 1 (experimental).
    mean2, sd2, n2 : float, float, int
        The same for arm 2 (control).
    conf_level : float, default 0.95
    method : {"noncentral", "normal"}
        ``"noncentral"``: exact interval by inverting the noncentral t distribution of
        ``t = d / sqrt(1/n1 + 1/n2)`` (Steiger & Fouladi 1997), then multiplied by ``J``
        (the convention of R's ``effectsize::hedges_g``). ``"normal"``: the large-sample
        interval ``g ± z * se`` with ``se**2 = (n1+n2)/(n1 n2) + g**2 / (2 (n1+n2))``
        (Hedges & Olkin 1985, eq. 5.15).

    Returns
    -------
    HedgesGResult
        ``estimate`` (g), ``ci_low``, ``ci_high``, ``cohen_d``, ``correction`` (J).

    Notes
    -----
    ``d = (mean1 - mean2) / s_p`` with the pooled SD ``s_p`` on ``df = n1 + n2 - 2``;
    ``g = J(df) d`` with the exact ``J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2))``
    (≈ ``1 - 3 / (4 df - 1)``).

    References
    ----------
    Hedges LV, Olkin I. *Statistical Methods for Meta-Analysis*. Academic Press, 1985, ch. 5.
    Steiger JH, Fouladi RT. Noncentrality interval estimation. In: *What if there were no
    significance tests?* Erlbaum, 1997: 221-257.

    Examples
    --------
    Week-48 HbA1c in Zang 2022 (7.52 ± 1.07 vs 8.19 ± 1.02), with the primary-endpoint
    denominators 45 and 44:

    >>> from trial_analysis.continuous import hedges_g
    >>> r = hedges_g(7.52, 1.07, 45, 8.19, 1.02, 44)
    >>> round(r.estimate, 3)
    -0.635
    """
    m1, m2 = check_finite("mean1", mean1), check_finite("mean2", mean2)
    s1, s2 = _check_sd("sd1", sd1), _check_sd("sd2", sd2)
    k1, k2 = _check_n("n1", n1), _check_n("n2", n2)
    cl = check_conf_level(conf_level)
    check_choice("method", method, ("noncentral", "normal"))
    df = k1 + k2 - 2
    sp = _pooled_sd(s1, k1, s2, k2)
    d = (m1 - m2) / sp
    j = _hedges_j(df)
    g = j * d
    if method == "normal":
        se = math.sqrt((k1 + k2) / (k1 * k2) + g**2 / (2 * (k1 + k2)))
        z = stats.norm.ppf(0.5 + cl / 2)
        lo, hi = g - z * se, g + z * se
    else:
        scale = math.sqrt(1 / k1 + 1 / k2)
        t_obs = d / scale
        a = (1 - cl) / 2

        def f(ncp: float, target: float) -> float:
            return float(stats.nct.cdf(t_obs, df, ncp)) - target

        # cdf(t_obs; ncp) decreases in ncp. Bracket around t_obs with the large-sample SD of
        # the ncp estimate, widened until the sign changes (far tails of nct give NaN).
        step = math.sqrt(1 + t_obs**2 / (2 * df))
        ncps = []
        for target in (1 - a, a):
            w = 2.0
            while True:
                left, right = t_obs - w * step, t_obs + w * step
                fl, fr = f(left, target), f(right, target)
                if fl > 0 > fr:
                    break
                if w > 64 or not (math.isfinite(fl) and math.isfinite(fr)):
                    raise AnalysisError(
                        "noncentral-t interval for Hedges' g did not bracket; use method='normal'"
                    )
                w *= 2
            ncps.append(optimize.brentq(f, left, right, args=(target,), xtol=1e-12))
        lo, hi = j * ncps[0] * scale, j * ncps[1] * scale
    return HedgesGResult(
        estimate=g,
        ci_low=lo,
        ci_high=hi,
        cohen_d=d,
        correction=j,
        df=df,
        conf_level=cl,
        method=method,
    )


# --------------------------------------------------------------------------- t from summaries
@dataclass(frozen=True)
class TTestResult(Result):
    """Two-sample t-test: difference (arm 1 - arm 2), its CI, and Hedges' g."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    statistic: float
    df: float
    se: float
    method: str
    alternative: str
    conf_level: float
    mean1: float
    sd1: float
    n1: int
    mean2: float
    sd2: float
    n2: int
    hedges: HedgesGResult
    title: ClassVar[str] = "Two-sample t-test (arm 1 - arm 2)"

    @property
    def hedges_g(self) -> float:
        return self.hedges.estimate

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "estimate": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "se": self.se,
                    "t": self.statistic,
                    "df": self.df,
                    "p_value": self.p_value,
                    "hedges_g": self.hedges.estimate,
                    "g_ci_low": self.hedges.ci_low,
                    "g_ci_high": self.hedges.ci_high,
                }
            ]
        )


def ttest_from_summary(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    equal_var: bool = True,
    conf_level: float = 0.95,
    alternative: str = "two-sided",
) -> TTestResult:
    """Student or Welch two-sample t-test from means, SDs and sizes.

    Parameters
    ----------
    mean1, sd1, n1 : float, float, int
        Arm 1 (experimental): mean, SD (> 0), size (>= 2).
    mean2, sd2, n2 : float, float, int
        Arm 2 (control).
    equal_var : bool, default True
        ``True``: Student's t with the pooled SD; ``False``: Welch's t with
        Welch–Satterthwaite df.
    conf_level : float, default 0.95
    alternative : {"two-sided", "less", "greater"}
        For ``mean1 - mean2`` (one-sided intervals are open on one side, as in R).

    Returns
    -------
    TTestResult
        ``estimate`` (mean1 - mean2), ``ci_low``, ``ci_high``, ``p_value``,
        ``statistic`` (t), ``df``, ``se``, ``hedges`` (:class:`HedgesGResult`, noncentral-t
        interval; Hedges' g always uses the pooled SD).

    Notes
    -----
    Student: ``se = s_p sqrt(1/n1 + 1/n2)``, ``df = n1 + n2 - 2``. Welch:
    ``se = sqrt(s1²/n1 + s2²/n2)``,
    ``df = se⁴ / [(s1²/n1)²/(n1-1) + (s2²/n2)²/(n2-1)]``. ``t = (mean1 - mean2) / se``;
    the CI is ``estimate ± t_{df} se``. Equals R's ``t.test(x, y, var.equal = equal_var)`` on
    any data with these summaries (checked in ``tests/reference/continuous.R``).

    References
    ----------
    Welch BL. The generalization of 'Student's' problem when several different population
    variances are involved. *Biometrika* 1947;34:28-35.

    Examples
    --------
    Zang 2022, HbA1c at week 48, 7.52 ± 1.07 (UC-MSC) vs 8.19 ± 1.02 (placebo), with the
    denominators 45 and 44 inferred for the primary endpoint:

    >>> import trial_analysis as ta
    >>> r = ta.continuous.ttest_from_summary(7.52, 1.07, 45, 8.19, 1.02, 44)
    >>> round(r.estimate, 2), round(r.p_value, 4)
    (-0.67, 0.0033)
    """
    m1, m2 = check_finite("mean1", mean1), check_finite("mean2", mean2)
    s1, s2 = _check_sd("sd1", sd1), _check_sd("sd2", sd2)
    k1, k2 = _check_n("n1", n1), _check_n("n2", n2)
    if not isinstance(equal_var, (bool, np.bool_)):
        raise ParameterError("equal_var", "True or False", equal_var)
    cl = check_conf_level(conf_level)
    check_choice("alternative", alternative, ALTERNATIVES)
    res = stats.ttest_ind_from_stats(
        m1, s1, k1, m2, s2, k2, equal_var=bool(equal_var), alternative=alternative
    )
    if equal_var:
        se = _pooled_sd(s1, k1, s2, k2) * math.sqrt(1 / k1 + 1 / k2)
        df: float = k1 + k2 - 2
        method = "Student t (pooled SD)"
    else:
        v1, v2 = s1**2 / k1, s2**2 / k2
        se = math.sqrt(v1 + v2)
        df = _welch_df(v1, k1, v2, k2)
        method = "Welch t"
    est = m1 - m2
    lo, hi = _t_ci(est, se, df, cl, alternative)
    return TTestResult(
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        p_value=float(res.pvalue),
        statistic=float(res.statistic),
        df=float(df),
        se=se,
        method=method,
        alternative=alternative,
        conf_level=cl,
        mean1=m1,
        sd1=s1,
        n1=k1,
        mean2=m2,
        sd2=s2,
        n2=k2,
        hedges=hedges_g(m1, s1, k1, m2, s2, k2, conf_level=cl),
    )


def welch(x: Sequence[float], y: Sequence[float], conf_level: float = 0.95) -> TTestResult:
    """Welch two-sample t-test on patient-level values ``x`` (arm 1) and ``y`` (arm 2).

    Same as R's ``t.test(x, y)``; computed from the sample summaries by
    :func:`ttest_from_summary` (``equal_var=False``).
    """
    a, b = _as_sample("x", x), _as_sample("y", y)
    sa, sb = a.std(ddof=1), b.std(ddof=1)
    if sa == 0 and sb == 0:
        raise AnalysisError("both arms have zero variance; the t-test is undefined")
    return ttest_from_summary(
        a.mean(),
        max(sa, np.finfo(float).tiny),
        a.size,
        b.mean(),
        max(sb, np.finfo(float).tiny),
        b.size,
        equal_var=False,
        conf_level=conf_level,
    )


# --------------------------------------------------------------------------- SD sensitivity
@dataclass(frozen=True)
class SDSensitivityResult(Result):
    """p-value of a two-sample t-test as a function of an assumed (unpublished) SD."""

    mean1: float
    mean2: float
    n1: int
    n2: int
    alpha: float
    equal_var: bool
    sd_ratio: float
    sd_max: float
    sd: np.ndarray = field(repr=False)
    p_value: np.ndarray = field(repr=False)
    quantity: str = ""
    title: ClassVar[str] = "p-value as a function of the assumed SD"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "sd_arm1": self.sd,
                "sd_arm2": self.sd * self.sd_ratio,
                "p_value": self.p_value,
                "significant": self.p_value < self.alpha,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        what = f" for {self.quantity}" if self.quantity else ""
        test = "Student" if self.equal_var else "Welch"
        return (
            f"'p < {self.alpha:g}'{what} holds ({test} t, n = {self.n1}/{self.n2}) only if the "
            f"SD in arm 1 is below {self.sd_max:.4g} (arm 2 SD = {self.sd_ratio:g} x arm 1 SD).",
        )

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["sd_max"] = self.sd_max
        return d

    def plot(self, ax: Any = None) -> Any:
        """Figure: p against the assumed SD, with the alpha line and the largest SD marked."""
        from .._figures import TrialFigure

        fig = None
        if ax is None:
            fig = TrialFigure(figsize=(6, 4))
            ax = fig.subplots()
        ax.plot(self.sd, self.p_value, color="C0", label="p-value")
        ax.axhline(self.alpha, color="C3", ls="--", lw=1, label=f"p = {self.alpha:g}")
        ax.axvline(self.sd_max, color="C2", ls=":", lw=1.5, label=f"largest SD = {self.sd_max:.3g}")
        ax.set_xlabel("assumed SD (arm 1)")
        ax.set_ylabel("two-sided p-value")
        ax.set_title(self.quantity or self.title)
        ax.legend(frameon=False)
        return fig if fig is not None else ax.figure


def sd_sensitivity(
    mean1: float,
    mean2: float,
    n1: int,
    n2: int,
    sd: Sequence[float] | None = None,
    alpha: float = 0.05,
    equal_var: bool = True,
    sd_ratio: float = 1.0,
    quantity: str = "",
) -> SDSensitivityResult:
    """How small must an unpublished SD be for a reported difference to reach ``p < alpha``?

    Parameters
    ----------
    mean1, mean2 : float
        Reported means (arm 1 = experimental).
    n1, n2 : int
        Group sizes (a parameter: use the analysed denominators when known).
    sd : sequence of float, optional
        Grid of assumed SDs for arm 1; default 200 points from ``sd_max / 5`` to
        ``3 sd_max``.
    alpha : float, default 0.05
    equal_var : bool, default True
        Student (pooled) or Welch t.
    sd_ratio : float, default 1
        SD of arm 2 = ``sd_ratio`` x SD of arm 1.
    quantity : str
        Label for plots and notes.

    Returns
    -------
    SDSensitivityResult
        ``sd_max`` (supremum of the SDs giving a two-sided ``p < alpha``), the curve
        (``sd``, ``p_value``), ``to_frame()``, ``plot()``.

    Notes
    -----
    With ``s2 = r s1`` the t statistic is ``|Δ| / (s1 c)``, where
    ``c = sqrt(((n1-1) + (n2-1) r²) / (n1+n2-2)) sqrt(1/n1 + 1/n2)`` (Student) or
    ``c = sqrt(1/n1 + r²/n2)`` (Welch, whose df does not depend on the scale). So
    ``p < alpha`` iff ``s1 < |Δ| / (c t_{1-alpha/2, df})`` — a closed form.

    Examples
    --------
    Zang 2022 insulin reduction 27.78 % vs 15.62 %, n = 45/44:

    >>> from trial_analysis.continuous import sd_sensitivity
    >>> round(sd_sensitivity(27.78, 15.62, 45, 44).sd_max, 1)
    28.9
    """
    m1, m2 = check_finite("mean1", mean1), check_finite("mean2", mean2)
    k1, k2 = _check_n("n1", n1), _check_n("n2", n2)
    a = check_alpha(alpha)
    r = check_positive("sd_ratio", sd_ratio)
    if m1 == m2:
        raise AnalysisError(
            "mean1 equals mean2: no SD gives p < alpha; the sensitivity curve is flat at p = 1"
        )
    if equal_var:
        df = k1 + k2 - 2
        c = math.sqrt(((k1 - 1) + (k2 - 1) * r**2) / df) * math.sqrt(1 / k1 + 1 / k2)
    else:
        df = _welch_df(1 / k1, k1, r**2 / k2, k2)
        c = math.sqrt(1 / k1 + r**2 / k2)
    delta = abs(m1 - m2)
    sd_max = delta / (c * stats.t.ppf(1 - a / 2, df))
    if sd is None:
        grid = np.linspace(sd_max / 5, 3 * sd_max, 200)
    else:
        grid = np.asarray(sd, dtype=float).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            raise ParameterError("sd", "a non-empty sequence of positive finite SDs", sd)
    p = 2 * stats.t.sf(delta / (grid * c), df)
    return SDSensitivityResult(
        mean1=m1,
        mean2=m2,
        n1=k1,
        n2=k2,
        alpha=a,
        equal_var=bool(equal_var),
        sd_ratio=r,
        sd_max=float(sd_max),
        sd=grid,
        p_value=p,
        quantity=quantity,
    )


# --------------------------------------------------------------------------- ANCOVA
@dataclass(frozen=True)
class AncovaResult(Result):
    """ANCOVA treatment effects (each experimental arm minus control, adjusted for baseline and
    any covariates) with two SE types.

    ``arms`` lists the experimental arms then the control arm (for two arms
    ``(experimental, control)``); ``n`` the complete patients per arm; ``n1``/``n2`` the first
    experimental arm and the control arm.
    """

    table: pd.DataFrame = field(repr=False)
    n1: int
    n2: int
    n_dropped: int
    outcome: str
    arms: tuple[str, ...]
    params: pd.Series = field(repr=False)
    n: Mapping[str, int] = field(default_factory=dict)
    covariates: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()
    sigma: float = math.nan
    analysis_set: Any = None
    title: ClassVar[str] = "ANCOVA: outcome ~ arm + baseline"

    @property
    def estimate(self) -> float:
        """The first comparison's estimate (the only one with two arms)."""
        return float(self.table["estimate"].iloc[0])

    @property
    def control(self) -> str:
        return self.arms[-1]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        exp = self.arms[:-1]
        adj = ["baseline", *self.covariates, *(f"{s} (stratum)" for s in self.strata)]
        ns = (
            "/".join(str(self.n.get(a, "")) for a in self.arms)
            if self.n
            else f"{self.n1}/{self.n2}"
        )
        out = [
            f"Effect = {', '.join(exp)} - {self.control} adjusted for {', '.join(adj)}; n = "
            f"{ns}. "
            + (
                f"Residual variance pooled over all {len(self.arms)} arms (one linear model, as "
                "R lm). "
                if len(self.arms) > 2
                else ""
            )
            + "HC3: MacKinnon-White heteroskedasticity-consistent SE, "
            "t reference with the residual df (as R lmtest::coeftest with sandwich::vcovHC)."
        ]
        if self.n_dropped:
            out.append(f"{self.n_dropped} patient(s) with a missing outcome or baseline dropped.")
        if self.analysis_set is not None:
            out.append(f"Analysis set: {self.analysis_set}")
        return tuple(out)


def _arm_frame(
    data: pd.DataFrame,
    columns: Sequence[str],
    arm: str,
    arms: Sequence[str] | None,
    control: str | None = None,
    text_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, tuple[str, ...], int]:
    """Complete cases of ``columns`` (numeric) and ``text_columns`` (kept as read) for the
    ``arms``, ordered (experimental..., control)."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("data", "a pandas DataFrame", type(data).__name__)
    used = list(dict.fromkeys([*columns, *text_columns, arm]))
    missing = [c for c in used if c not in data.columns]
    if missing:
        raise ParameterError(
            "data", f"a DataFrame with column(s) {', '.join(missing)}", list(data.columns)
        )
    df = data.loc[:, used].copy()
    present = list(pd.unique(df[arm].dropna()))
    if arms is None:
        if control is None and len(present) != 2:
            raise AnalysisError(
                f"expected exactly 2 arms in column {arm!r}, found {present}; with more arms "
                "pass control=... (or arms=[experimental..., control])"
            )
        if control is not None:
            if control not in present:
                raise ParameterError("control", f"an arm of column {arm!r} {present}", control)
            present = [a for a in present if a != control] + [control]
        arms = present
    arms = tuple(arms)
    if control is not None and arms[-1] != control:
        if control not in arms:
            raise ParameterError("control", f"one of the arms {list(arms)}", control)
        arms = (*(a for a in arms if a != control), control)
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise ParameterError(
            "arms", "two or more different arm names (experimental first, control last)", arms
        )
    df = df[df[arm].isin(arms)]
    for c in columns:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    complete = df.dropna()
    for a in arms:
        k = int((complete[arm] == a).sum())
        if k == 0:
            raise AnalysisError(f"arm {a!r} has no patients with complete data")
        if k < 2:
            raise AnalysisError(f"arm {a!r} has only {k} patient with complete data; need >= 2")
    return complete, arms, len(df) - len(complete)


def _is_categorical(col: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
    )


def ancova(
    data: pd.DataFrame,
    outcome: str = "value",
    baseline: str = "BASE",
    arm: str = "ARM",
    arms: Sequence[str] | None = None,
    conf_level: float = 0.95,
    *,
    control: str | None = None,
    covariates: Sequence[str] = (),
    strata: Sequence[str] = (),
) -> AncovaResult:
    """Baseline-adjusted treatment effects: OLS of ``outcome ~ arm + baseline [+ covariates]``.

    Parameters
    ----------
    data : DataFrame
        One row per patient (e.g. ``IPD.endpoint_values(...)`` or one visit of
        ``IPD.analysis_set(...)``); not modified.
    outcome, baseline, arm : str
        Column names.
    arms : sequence of str, optional
        The arms to compare, experimental first and control last (for two arms
        ``(experimental, control)``); default the two arms in order of appearance, or with
        ``control`` given every arm present.
    conf_level : float, default 0.95
    control : str, optional
        The control arm (needed when the data hold more than two arms and ``arms`` is not
        given); every other arm is compared with it.
    covariates : sequence of str
        More adjustment columns: numeric columns enter linearly, text/categorical columns as
        factors (treatment coding, first level in sorted order as reference, as R ``factor``).
    strata : sequence of str
        Stratification factors of the randomisation, always entered as factors.

    Returns
    -------
    AncovaResult
        ``to_frame()``: one row per comparison (``"<arm> - <control>"``) and SE type
        (``model``, ``HC3``) with ``comparison, se_type, estimate, se, df, t, p_value, ci_low,
        ci_high``. Patients with a missing outcome, baseline or covariate are dropped (counted
        in ``n_dropped``, with a :class:`StatisticalWarning`).

    Raises
    ------
    AnalysisError
        An arm with fewer than 2 complete patients, a singular design (constant baseline,
        collinear covariates), or a patient with leverage 1 (HC3 undefined).

    Notes
    -----
    ``y_i = b0 + sum_j b_j T_ij + g baseline_i + covariates + e_i`` with ``T_ij = 1`` for
    experimental arm ``j``: one model over all arms, so the residual variance is pooled over
    every arm as in R ``lm`` or SAS PROC GLM (a separate two-arm fit per comparison would not
    pool it). HC3 covariance: ``(X'X)⁻¹ X' diag(e_i² / (1 - h_ii)²) X (X'X)⁻¹`` (MacKinnon &
    White 1985), with t(n - p) inference. Fitted by
    :class:`statsmodels.regression.linear_model.OLS`.

    References
    ----------
    MacKinnon JG, White H. Some heteroskedasticity-consistent covariance matrix estimators
    with improved finite sample properties. *J Econometrics* 1985;29:305-325.
    EMA. Guideline on adjustment for baseline covariates in clinical trials, 2015.

    Examples
    --------
    >>> import pandas as pd, trial_analysis as ta
    >>> d = pd.DataFrame({"ARM": ["P", "L", "H"] * 4, "BASE": [5, 6, 7, 5, 6, 8, 4, 6, 7, 5, 5, 6],
    ...                   "value": [0, 1, 2, 0.5, 1.2, 2.5, -0.2, 1.1, 1.8, 0.1, 0.9, 2.1]})
    >>> r = ta.continuous.ancova(d, control="P")
    >>> r.to_frame()["comparison"].unique().tolist()
    ['L - P', 'H - P']
    """
    import statsmodels.api as sm

    cl = check_conf_level(conf_level)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    strata = (strata,) if isinstance(strata, str) else tuple(strata)
    for name, cols in (("covariates", covariates), ("strata", strata)):
        bad = [c for c in cols if not isinstance(c, str)]
        if bad:
            raise ParameterError(name, "a list of column names", bad[0])
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("data", "a pandas DataFrame", type(data).__name__)
    num_cov = [c for c in covariates if c in data and not _is_categorical(data[c])]
    cat_cov = [c for c in covariates if c not in num_cov] + [s for s in strata]
    df, arms_t, dropped = _arm_frame(
        data, [outcome, baseline, *num_cov], arm, arms, control, text_columns=cat_cov
    )
    if dropped:
        warnings.warn(
            f"ANCOVA: {dropped} patient(s) with a missing {outcome!r}, {baseline!r}"
            + (" or covariate" if covariates or strata else "")
            + " dropped (complete-case analysis)",
            StatisticalWarning,
            stacklevel=2,
        )
    exp = arms_t[:-1]
    cols = [np.ones(len(df))]
    names = ["intercept"]
    two = len(arms_t) == 2 and not covariates and not strata
    for a in exp:
        cols.append((df[arm] == a).astype(float).to_numpy())
        names.append("arm" if two else f"arm[{a}]")
    cols.append(df[baseline].to_numpy(float))
    names.append("baseline")
    for c in num_cov:
        cols.append(df[c].to_numpy(float))
        names.append(c)
    for c in cat_cov:
        levels = sorted(pd.unique(df[c].astype(str)))
        for lev in levels[1:]:
            cols.append((df[c].astype(str) == lev).astype(float).to_numpy())
            names.append(f"{c}[{lev}]")
    X = np.column_stack(cols)
    y = df[outcome].to_numpy(float)
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        raise AnalysisError(
            f"ANCOVA design is singular: the baseline column {baseline!r} is constant or "
            "collinear with the arm"
            + (" or a covariate (a constant or collinear covariate or stratum)" if p > 3 else "")
        )
    if len(y) <= p:
        raise AnalysisError(f"ANCOVA needs more than {p} patients, got {len(y)}")
    fit = sm.OLS(y, X).fit()
    h = fit.get_influence().hat_matrix_diag
    if np.any(h > 1 - 1e-10):
        raise AnalysisError(
            "a patient has leverage 1 in the ANCOVA (e.g. alone in an arm or stratum with data); "
            "HC3 standard errors are undefined"
        )
    rows = []
    robust = fit.get_robustcov_results("HC3", use_t=True)
    for j, a in enumerate(exp, start=1):
        for label, f in (("model", fit), ("HC3", robust)):
            se = float(np.asarray(f.bse)[j])
            est = float(np.asarray(f.params)[j])
            lo, hi = np.asarray(f.conf_int(alpha=1 - cl))[j]
            rows.append(
                {
                    "comparison": f"{a} - {arms_t[-1]}",
                    "se_type": label,
                    "estimate": est,
                    "se": se,
                    "df": float(fit.df_resid),
                    "t": est / se,
                    "p_value": float(np.asarray(f.pvalues)[j]),
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                }
            )
    table = pd.DataFrame(rows)
    n = {a: int((df[arm] == a).sum()) for a in arms_t}
    return AncovaResult(
        table=table,
        n1=n[arms_t[0]],
        n2=n[arms_t[-1]],
        n_dropped=int(dropped),
        outcome=outcome,
        arms=arms_t,
        params=pd.Series(np.asarray(fit.params), index=names),
        n=n,
        covariates=tuple(covariates),
        strata=tuple(strata),
        sigma=float(np.sqrt(fit.scale)),
        analysis_set=data.attrs.get("analysis_set"),
    )


# --------------------------------------------------------------------------- Mann-Whitney / HL
@dataclass(frozen=True)
class MannWhitneyResult(Result):
    """Mann–Whitney U test with the Hodges–Lehmann shift (arm 1 - arm 2) and its CI."""

    statistic: float
    p_value: float
    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float
    exact: bool
    n1: int
    n2: int
    title: ClassVar[str] = "Mann-Whitney U test and Hodges-Lehmann shift (arm 1 - arm 2)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "method": "exact" if self.exact else "normal approx. (continuity corr.)",
                    "W": self.statistic,
                    "p_value": self.p_value,
                    "hl_shift": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "n1": self.n1,
                    "n2": self.n2,
                }
            ]
        )


def _wilcox_cdf(m: int, n: int) -> np.ndarray:
    """CDF of the Mann–Whitney U null distribution for sizes (m, n) (R's ``pwilcox``).

    By the recurrence f(m, n, u) = m/(m+n) f(m-1, n, u-n) + n/(m+n) f(m, n-1, u)
    (Mann & Whitney 1947). scipy has no public quantile function for it.
    """
    size = m * n + 1
    # prev[j] = pmf for sizes (i-1, j); start i = 0: U = 0 with probability 1.
    prev = [np.ones(1) for _ in range(n + 1)]
    for i in range(1, m + 1):
        cur = [np.ones(1)]  # (i, 0): U = 0
        for j in range(1, n + 1):
            p = np.zeros(i * j + 1)
            a = prev[j]  # (i-1, j), shifted by j
            p[j : j + a.size] += i / (i + j) * a
            b = cur[j - 1]  # (i, j-1)
            p[: b.size] += j / (i + j) * b
            cur.append(p)
        prev = cur
    pmf = prev[n]
    assert pmf.size == size
    return np.cumsum(pmf)


def _qwilcox(p: float, m: int, n: int) -> int:
    cdf = _wilcox_cdf(m, n)
    # R's qwilcox: smallest q with P(U <= q) >= p - 10 eps.
    return int(np.searchsorted(cdf, p - 10 * np.finfo(float).eps, side="left"))


def mann_whitney(
    x: Sequence[float], y: Sequence[float], conf_level: float = 0.95
) -> MannWhitneyResult:
    """Mann–Whitney U (Wilcoxon rank-sum) test with the Hodges–Lehmann shift and its CI.

    Parameters
    ----------
    x, y : sequence of float
        Values of arm 1 (experimental) and arm 2 (control); no missing values.
    conf_level : float, default 0.95

    Returns
    -------
    MannWhitneyResult
        ``statistic`` (R's W = U of ``x``), two-sided ``p_value``, ``estimate`` (HL shift:
        median of all ``x_i - y_j``), ``ci_low``, ``ci_high``, ``exact``.

    Notes
    -----
    Follows R's ``wilcox.test(x, y, conf.int = TRUE)``: when both arms have fewer than 50
    values and there are no ties, the p-value is exact and the CI is
    ``(D_(k), D_(mn+1-k))`` of the sorted pairwise differences with
    ``k = qwilcox(alpha/2, m, n)`` (Bauer 1972); otherwise the normal approximation with
    continuity and tie corrections, and the CI endpoints are the shifts at which the
    standardised statistic equals ``±z_{1-alpha/2}`` (found by root finding as R does).
    The point estimate is always the median of the pairwise differences (Hodges & Lehmann
    1963); R's normal-approximation branch reports instead the root of the standardised
    statistic, which may differ slightly.

    References
    ----------
    Hodges JL, Lehmann EL. Estimates of location based on rank tests. *Ann Math Stat*
    1963;34:598-611. Bauer DF. Constructing confidence sets using rank statistics. *JASA*
    1972;67:687-690.
    """
    a, b = _as_sample("x", x), _as_sample("y", y)
    cl = check_conf_level(conf_level)
    m, n = a.size, b.size
    pooled = np.concatenate([a, b])
    ties = np.unique(pooled).size < pooled.size
    exact = m < 50 and n < 50 and not ties
    res = stats.mannwhitneyu(
        a,
        b,
        alternative="two-sided",
        method="exact" if exact else "asymptotic",
        use_continuity=True,
    )
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    est = float(np.median(diffs))
    alpha = 1 - cl
    if exact:
        qu = _qwilcox(alpha / 2, m, n)
        if qu == 0:
            qu = 1
        ql = m * n - qu
        lo, hi = float(diffs[qu - 1]), float(diffs[ql])
    else:
        n_all = m + n

        def wdiff(d: float, zq: float) -> float:
            r = stats.rankdata(np.concatenate([a - d, b]))
            _, counts = np.unique(r, return_counts=True)
            dz = r[:m].sum() - m * (m + 1) / 2 - m * n / 2
            sigma = math.sqrt(
                (m * n / 12) * ((n_all + 1) - (counts**3 - counts).sum() / (n_all * (n_all - 1)))
            )
            if sigma == 0:
                raise AnalysisError("all values are tied; the Hodges-Lehmann CI is undefined")
            return (dz - np.sign(dz) * 0.5) / sigma - zq

        mumin, mumax = float(diffs[0]), float(diffs[-1])

        def root(zq: float) -> float:
            if wdiff(mumin, zq) <= 0:
                return mumin
            if wdiff(mumax, zq) >= 0:
                return mumax
            return float(optimize.brentq(wdiff, mumin, mumax, args=(zq,), xtol=1e-10))

        z = stats.norm.ppf(1 - alpha / 2)
        lo, hi = root(z), root(-z)
    return MannWhitneyResult(
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        conf_level=cl,
        exact=exact,
        n1=m,
        n2=n,
    )


# --------------------------------------------------------------------------- bootstrap
@dataclass(frozen=True)
class BootstrapResult(Result):
    """BCa bootstrap CI of a two-sample statistic (arms resampled separately)."""

    statistic_name: str
    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float
    n_resamples: int
    seed: Any
    standard_error: float
    title: ClassVar[str] = "Bootstrap (BCa) confidence interval"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "statistic": self.statistic_name,
                    "estimate": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "conf_level": self.conf_level,
                    "bootstrap_se": self.standard_error,
                    "n_resamples": self.n_resamples,
                }
            ]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            f"BCa interval (Efron 1987), {self.n_resamples} resamples drawn within each arm, "
            f"seed {self.seed!r}; acceleration from the jackknife.",
        )


def _mean_diff(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _median_diff(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(a, axis=axis) - np.median(b, axis=axis)


_STATISTICS: dict[str, Callable[..., np.ndarray]] = {
    "mean_diff": _mean_diff,
    "median_diff": _median_diff,
}


def bootstrap_bca(
    x: Sequence[float],
    y: Sequence[float],
    statistic: str | Callable[..., Any] = "mean_diff",
    n_resamples: int = 9999,
    conf_level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    replicates: np.ndarray | None = None,
) -> BootstrapResult:
    """BCa bootstrap confidence interval of a two-sample statistic, reproducible by seed.

    Parameters
    ----------
    x, y : sequence of float
        Arm 1 and arm 2 values (resampled separately: a stratified bootstrap).
    statistic : {"mean_diff", "median_diff"} or callable
        A callable takes ``(x, y, axis)`` and is vectorised over ``axis``.
    n_resamples : int, default 9999
    conf_level : float, default 0.95
    seed : int or numpy.random.Generator
        Seeds :func:`numpy.random.default_rng`; the same seed gives the same interval.
    replicates : ndarray, optional
        Precomputed bootstrap replicates of the statistic (e.g. from R's ``boot``); then no
        resampling is done and only the BCa interval is computed from them.

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Uses :func:`scipy.stats.bootstrap` (``method="BCa"``): bias correction
    ``z0 = Φ⁻¹(#{θ* < θ̂}/B + #{θ* = θ̂}/(2B))``, acceleration
    ``a = Σ U³ / (6 (Σ U²)^{3/2})`` from jackknife influence values computed within each
    arm, and the percentiles ``Φ(z0 + (z0 + z_α)/(1 - a (z0 + z_α)))`` of the replicates
    (linear interpolation, R's ``quantile`` type 7).

    References
    ----------
    Efron B. Better bootstrap confidence intervals. *JASA* 1987;82:171-185. Efron B,
    Tibshirani RJ. *An Introduction to the Bootstrap*. Chapman & Hall, 1993, ch. 14.
    """
    a, b = _as_sample("x", x), _as_sample("y", y)
    cl = check_conf_level(conf_level)
    if isinstance(statistic, str):
        fn = _STATISTICS.get(statistic)
        if fn is None:
            raise ParameterError(
                "statistic", "one of " + ", ".join(map(repr, _STATISTICS)), statistic
            )
        name = statistic
    elif callable(statistic):
        fn, name = statistic, getattr(statistic, "__name__", "statistic")
    else:
        raise ParameterError("statistic", "a statistic name or a callable", statistic)
    est = float(fn(a, b, axis=-1))
    if replicates is not None:
        reps = np.asarray(replicates, dtype=float).ravel()
        if reps.size < 2 or not np.all(np.isfinite(reps)):
            raise ParameterError("replicates", "at least 2 finite bootstrap replicates", replicates)
        prior = types.SimpleNamespace(bootstrap_distribution=reps)
        k, rng = 0, None
    else:
        k = check_count("n_resamples", n_resamples, minimum=100)
        if isinstance(seed, np.random.Generator):
            rng = seed
        elif seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
            rng = np.random.default_rng(seed)
        else:
            raise ParameterError("seed", "an int or a numpy.random.Generator", seed)
        prior = None
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            res = stats.bootstrap(
                (a, b),
                fn,
                n_resamples=k,
                vectorized=True,
                confidence_level=cl,
                method="BCa",
                rng=rng,
                bootstrap_result=prior,
            )
        except (RuntimeWarning, stats.DegenerateDataWarning) as exc:
            raise AnalysisError(
                f"BCa interval not computable ({exc}); e.g. all bootstrap replicates are equal"
            ) from None
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise AnalysisError("BCa interval not computable (degenerate bootstrap distribution)")
    dist = res.bootstrap_distribution
    return BootstrapResult(
        statistic_name=name,
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        conf_level=cl,
        n_resamples=int(dist.size),
        seed=seed if replicates is None else "given replicates",
        standard_error=float(np.std(dist, ddof=1)),
    )


# re-exports (defined in their own files; they use the helpers above)
from ._lsmeans import LSMeansResult, lsmeans  # noqa: E402
from ._tost import contrast_margin, tost, tost_from_summary  # noqa: E402
