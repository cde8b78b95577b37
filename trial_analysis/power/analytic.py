"""Analytic (large-sample) power and sample size for two-arm trials.

Each function solves for whichever one of *power*, *n1* or the *effect* is left as ``None``
(the ``pwr`` convention): two proportions (pooled or unpooled normal approximation, Fleiss
continuity correction, arcsine), two means (noncentral t), ANCOVA (residual variance
``sd**2 * (1 - rho**2)``), and a non-zero null difference of proportions (non-inferiority and
superiority by a margin, Farrington–Manning / Miettinen–Nurminen variance). Unequal
allocation is ``ratio = n2 / n1``; ``dropout`` inflates the evaluable sizes to the numbers to
enrol.

Arm 1 is the experimental arm (Zang 2022: UC-MSC), arm 2 the control.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_choice, check_finite, check_positive
from ..errors import AnalysisError, ParameterError
from ..results import Result
from ._common import (
    check_alpha,
    check_alternative,
    check_dropout,
    check_power_target,
    check_probability,
    check_ratio,
    inflate_for_dropout,
)

__all__ = [
    "PROPORTION_METHODS",
    "PowerResult",
    "SampleSizeTable",
    "power_ancova",
    "power_margin",
    "power_two_means",
    "power_two_proportions",
    "restricted_mle",
    "sample_size_table",
]

PROPORTION_METHODS = ("pooled", "unpooled", "arcsine")
MARGIN_VARIANCES = ("fm", "mn")
# the name of each null variance of the score tests at a margin, in method labels
MARGIN_LABELS = {"fm": "Farrington-Manning", "mn": "Miettinen-Nurminen"}
_N_MAX = 1e8
# the method label of a two-sided power that counts the opposite rejection tail (strict=True)
_BOTH_TAILS = ", both rejection tails"


@dataclass(frozen=True)
class PowerResult(Result):
    """Power or sample size of a two-arm comparison (one design point).

    Attributes
    ----------
    method : str
        The test and approximation, e.g. ``"two proportions, pooled z"``.
    solved_for : str
        ``"power"``, ``"n"`` or ``"effect"``.
    power : float
        Power at (``n1``, ``n2``) (when solving for n: the power reached at the rounded sizes).
    n1, n2 : int
        Evaluable patients per arm (rounded up when solved for).
    n1_exact, n2_exact : float
        The unrounded solution (equal to ``n1``, ``n2`` when they were given).
    alpha, alternative : float, str
        Significance level and direction.
    effect : mapping
        The effect parameters (``p1``, ``p2``; ``delta``, ``sd``, ``rho``; ``delta0``) with the
        solved one filled in.
    target_power : float
        The requested power (NaN when power was solved for).
    dropout : float
        Expected dropout proportion; ``n1_enrolled`` etc. are inflated by ``1/(1 - dropout)``.
    """

    method: str
    solved_for: str
    power: float
    n1: int
    n2: int
    n1_exact: float
    n2_exact: float
    alpha: float
    alternative: str
    effect: Mapping[str, float] = field(default_factory=dict)
    target_power: float = math.nan
    dropout: float = 0.0
    title: ClassVar[str] = "Power and sample size"

    @property
    def n_total(self) -> int:
        return self.n1 + self.n2

    @property
    def n1_enrolled(self) -> int:
        return inflate_for_dropout(self.n1, self.dropout)

    @property
    def n2_enrolled(self) -> int:
        return inflate_for_dropout(self.n2, self.dropout)

    @property
    def n_total_enrolled(self) -> int:
        return self.n1_enrolled + self.n2_enrolled

    def to_frame(self) -> pd.DataFrame:
        row: dict[str, Any] = {"method": self.method, "solved_for": self.solved_for}
        row.update(self.effect)
        row.update(
            alpha=self.alpha,
            alternative=self.alternative,
            target_power=self.target_power,
            power=self.power,
            n1=self.n1,
            n2=self.n2,
            n1_exact=self.n1_exact,
            n2_exact=self.n2_exact,
            dropout=self.dropout,
            n1_enrolled=self.n1_enrolled,
            n2_enrolled=self.n2_enrolled,
        )
        return pd.DataFrame([row])

    @property
    def notes(self) -> tuple[str, ...]:
        out = []
        if self.dropout > 0:
            out.append(
                f"Enrolment inflated for {self.dropout:.0%} dropout: ceil(n / (1 - dropout))."
            )
        if self.solved_for == "n":
            out.append("Sizes rounded up; `power` is the power at the rounded sizes.")
        return tuple(out)


@dataclass(frozen=True)
class SampleSizeTable(Result):
    """Several :class:`PowerResult` design points as one table (for protocols and reports)."""

    rows: tuple[PowerResult, ...]
    title: ClassVar[str] = "Sample size table"

    def to_frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame()
        return pd.concat([r.to_frame() for r in self.rows], ignore_index=True)

    @property
    def notes(self) -> tuple[str, ...]:
        return self.rows[0].notes if self.rows else ()


# ---------------------------------------------------------------------------------------
# core power formulas (scalars)
# ---------------------------------------------------------------------------------------


def _z(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def _normal_power(
    d: float, se0: float, se1: float, z: float, alternative: str, strict: bool = False
) -> float:
    """P(reject) for a z statistic D/se0 when D ~ N(d, se1**2).

    Two-sided: the rejection on the side of ``d`` only, unless ``strict`` (both tails).
    """
    up = stats.norm.cdf((d - z * se0) / se1)
    lo = stats.norm.cdf((-d - z * se0) / se1)
    if alternative == "two-sided":
        if strict:
            return float(up + lo)
        return float(up if d >= 0 else lo)
    return float(up if alternative == "greater" else lo)


def _fleiss_effective_n1(n1: float, p1: float, p2: float, k: float) -> float:
    # Inverse of Fleiss' correction n1' = n1/4 (1 + sqrt(1 + 2c/n1))^2, c = (k+1)/(k|d|):
    # n1 = (n1' - c/2)^2 / n1' (Fleiss, Levin & Paik 2003, eq. 4.14 solved for n1).
    c = (k + 1) / (k * abs(p1 - p2))
    return (n1 - c / 2) ** 2 / n1 if n1 > c / 2 else 1e-9


def _power_props(
    p1: float,
    p2: float,
    n1: float,
    k: float,
    alpha: float,
    alternative: str,
    method: str,
    continuity: bool,
    strict: bool = False,
) -> float:
    if p1 == p2:
        return _normal_power(0.0, 1.0, 1.0, _z(alpha, alternative), alternative, strict)
    if continuity:
        n1 = _fleiss_effective_n1(n1, p1, p2, k)
    n2 = k * n1
    z = _z(alpha, alternative)
    if method == "arcsine":
        h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
        se = math.sqrt(1 / n1 + 1 / n2)
        return _normal_power(h, se, se, z, alternative, strict)
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if method == "pooled":
        pbar = (p1 * n1 + p2 * n2) / (n1 + n2)
        se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    else:
        se0 = se1
    return _normal_power(p1 - p2, se0, se1, z, alternative, strict)


def _power_t(
    delta: float,
    sd: float,
    n1: float,
    n2: float,
    alpha: float,
    alternative: str,
    n_cov: int = 0,
    strict: bool = False,
) -> float:
    df = n1 + n2 - 2 - n_cov
    if df <= 0:
        return math.nan
    ncp = delta / (sd * math.sqrt(1 / n1 + 1 / n2))

    def upper(q: float) -> float:
        return _far_tail(stats.nct.sf(q, df, ncp), q - ncp)

    def lower(q: float) -> float:
        return _far_tail(stats.nct.cdf(q, df, ncp), ncp - q)

    if alternative == "two-sided":
        q = stats.t.isf(alpha / 2, df)
        if strict:
            return upper(q) + lower(-q)
        return upper(q) if ncp >= 0 else lower(-q)
    q = stats.t.isf(alpha, df)
    return upper(q) if alternative == "greater" else lower(-q)


def _far_tail(p: float, distance: float) -> float:
    # scipy's nct returns NaN for tail probabilities far below 1e-300 (e.g. the opposite tail
    # at ncp = 10); there the probability is 0 to double precision.
    if math.isnan(p) and distance > 8:
        return 0.0
    return float(p)


def restricted_mle(p1: float, p2: float, delta0: float, ratio: float = 1.0) -> tuple[float, float]:
    """Maximum-likelihood (p1, p2) under the constraint ``p1 - p2 = delta0``.

    Closed form of Farrington & Manning (1990) / Miettinen & Nurminen (1985), with
    ``theta = n2/n1 = ratio``: the root of a cubic, ``p1~ = 2u cos(w) - b/(3a)``,
    ``p2~ = p1~ - delta0``.

    Parameters
    ----------
    p1, p2 : float
        Proportions (observed, or assumed under the alternative).
    delta0 : float
        The null difference ``p1 - p2``, in (-1, 1).
    ratio : float
        ``n2 / n1``.

    Returns
    -------
    (float, float)
        The restricted estimates ``(p1~, p2~)``.
    """
    # the one closed form (binary._intervals.constrained_mle_rd), fed x1 = p1 of n1 = 1 and
    # x2 = p2 * ratio of n2 = ratio: the same cubic in p1, p2 and theta = n2 / n1 = ratio
    from ..binary._intervals import constrained_mle_rd

    q1, q2 = constrained_mle_rd(p1, 1.0, p2 * ratio, ratio, delta0)
    return float(q1), float(q2)


def _score_variance(
    q1: float, q2: float, n1: float, n2: float, variance: str, rr0: float | None = None
) -> float:
    """Null variance of the score statistic at a margin from the restricted MLE ``(q1, q2)``:
    ``q1 (1 - q1) / n1 + q2 (1 - q2) / n2`` (difference) or with ``rr0**2`` on the second term
    (risk ratio ``p1 / p2 = rr0``); ``variance="mn"`` times ``N / (N - 1)`` (Miettinen-Nurminen).
    """
    second = q2 * (1 - q2) / n2 if rr0 is None else rr0**2 * q2 * (1 - q2) / n2
    v0 = q1 * (1 - q1) / n1 + second
    if variance == "mn":
        v0 *= (n1 + n2) / (n1 + n2 - 1)
    return v0


def _power_margin(
    p1: float,
    p2: float,
    delta0: float,
    n1: float,
    k: float,
    alpha: float,
    variance: str,
) -> float:
    q1, q2 = restricted_mle(p1, p2, delta0, k)
    n2 = k * n1
    v0 = _score_variance(q1, q2, n1, n2, variance)
    v1 = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    d = p1 - p2 - delta0
    alt = "greater" if d > 0 else "less"
    return _normal_power(d, math.sqrt(v0), math.sqrt(v1), _z(alpha, "greater"), alt)


# ---------------------------------------------------------------------------------------
# solving
# ---------------------------------------------------------------------------------------


def _exactly_one_none(**kw: Any) -> str:
    missing = [k for k, v in kw.items() if v is None]
    if len(missing) != 1:
        raise ParameterError(
            "/".join(kw), "given except exactly one left as None (the one to solve for)", kw
        )
    return {"n1": "n", "p1": "effect", "delta": "effect"}.get(missing[0], missing[0])


def _solve_n(f: Callable[[float], float], target: float, lo: float = 2.0) -> float:
    """Smallest continuous n1 >= lo with f(n1) = target (f increasing in n1)."""
    if f(lo) >= target:
        return lo
    hi = max(lo * 2, 16.0)
    while f(hi) < target:
        hi *= 4
        if hi > _N_MAX:
            raise AnalysisError(
                f"the target power {target} is not reached with n1 <= {_N_MAX:.0e} "
                "(the power of this design has a ceiling below the target; check the effect "
                "and the allocation ratio)"
            )
    return float(optimize.brentq(lambda n: f(n) - target, lo, hi, xtol=1e-10, rtol=1e-12))


def _solve_effect(f: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    flo, fhi = f(lo) - target, f(hi) - target
    if flo * fhi > 0:
        raise AnalysisError(
            f"no effect in ({lo:g}, {hi:g}) gives power {target}; increase n or lower the target"
        )
    return float(optimize.brentq(lambda x: f(x) - target, lo, hi, xtol=1e-12, rtol=1e-12))


def _finish(
    method: str,
    solved: str,
    f_power: Callable[[float, float], float],
    n1: float,
    ratio: float,
    alpha: float,
    alternative: str,
    effect: dict[str, float],
    target: float | None,
    dropout: float,
    lo: float = 2.0,
) -> PowerResult:
    """The result at ``n1`` (``None`` when solved for: the smallest ``n1 >= lo`` whose power
    ``f_power(n1, ratio)`` reaches ``target``, then rounded up with ``n2``)."""
    if solved == "n":
        assert target is not None
        n1 = _solve_n(lambda n: f_power(n, ratio), target, lo=lo)
        n1i = math.ceil(n1 - 1e-9)
        n2i = max(2, math.ceil(n1 * ratio - 1e-9))
        n1x, n2x = n1, n1 * ratio
        pw = f_power(n1i, n2i / n1i)
    else:
        n1i = round(n1)
        n2i = round(n1 * ratio)
        n1x, n2x = float(n1), float(n1 * ratio)
        pw = f_power(n1, ratio)
    return PowerResult(
        method=method,
        solved_for=solved,
        power=pw,
        n1=n1i,
        n2=n2i,
        n1_exact=n1x,
        n2_exact=n2x,
        alpha=alpha,
        alternative=alternative,
        effect=effect,
        target_power=math.nan if target is None else target,
        dropout=dropout,
    )


def _check_design(
    alpha: Any,
    dropout: Any,
    power: Any,
    n1: Any,
    n2: Any,
    ratio: Any,
    variance: Any = None,
) -> tuple[float, Any, float, float | None, float | None, float]:
    """The argument checks of a function solving for power or n: ``(alpha, variance, dropout,
    power, n1, k = n2 / n1)``, checked in that order (``variance`` only when given, one of
    :data:`MARGIN_VARIANCES`; ``power`` and ``n1`` stay ``None`` when solved for)."""
    alpha = check_alpha(alpha)
    if variance is not None:
        variance = check_choice("variance", variance, MARGIN_VARIANCES)
    dropout = check_dropout(dropout)
    if power is not None:
        power = check_power_target(power)
    n1v, k = _sizes(n1, n2, ratio)
    return alpha, variance, dropout, power, n1v, k


def _margin_side(effect: float, margin: float, null: float) -> tuple[str, str]:
    """``(alternative, kind)`` of a one-sided test of ``H0: effect = margin``: the side on
    which the assumed ``effect`` lies, and non-inferiority when the margin lies beyond the
    no-difference value ``null`` on the other side, superiority by a margin otherwise."""
    alt = "greater" if effect > margin else "less"
    kind = "non-inferiority" if (margin < null) == (alt == "greater") else "superiority by a margin"
    return alt, kind


def _sizes(n1: Any, n2: Any, ratio: Any) -> tuple[float | None, float]:
    """Normalise (n1, n2, ratio) to (n1, k = n2/n1); n may be non-integer (continuous sizes)."""
    k = check_ratio(ratio)
    if n1 is None:
        if n2 is not None:
            raise ParameterError("n2", "None when n1 is solved for (use `ratio`)", n2)
        return None, k
    v = check_finite("n1", n1)
    if v < 2:
        raise ParameterError("n1", "a sample size >= 2 per arm", n1)
    if n2 is not None:
        w = check_finite("n2", n2)
        if w < 2:
            raise ParameterError("n2", "a sample size >= 2 per arm", n2)
        k = w / v
    return v, k


def power_two_proportions(
    p1: float | None,
    p2: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    *,
    n2: float | None = None,
    ratio: float = 1.0,
    method: str = "pooled",
    continuity: bool = False,
    alternative: str = "two-sided",
    dropout: float = 0.0,
    strict: bool = False,
) -> PowerResult:
    """Power, sample size or detectable effect for comparing two proportions.

    Exactly one of ``p1``, ``n1`` and ``power`` is ``None``; it is solved for.

    Parameters
    ----------
    p1, p2 : float or None
        Response probabilities of the experimental and control arms, in (0, 1). ``p1=None``
        solves for the smallest detectable ``p1`` above ``p2`` (below it when
        ``alternative="less"``).
    n1 : float or None
        Evaluable patients in arm 1; ``n2 = ratio * n1`` unless ``n2`` is given.
    power : float or None
        Target power in (0, 1).
    alpha : float
        Significance level in (0, 0.5] (two-sided when ``alternative="two-sided"``).
    n2, ratio : float
        Arm-2 size or the allocation ratio ``n2/n1`` (default 1).
    method : {"pooled", "unpooled", "arcsine"}
        Null variance pooled over arms (the usual chi-square/z test, R ``power.prop.test``),
        unpooled (Wald test), or the arcsine transform (Cohen's h, R ``pwr.2p2n.test``).
    continuity : bool
        Fleiss continuity correction (for the Yates-corrected chi-square test); not with
        ``method="arcsine"``.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: H1 p1 > p2.
    dropout : float
        Expected dropout proportion in [0, 1); the result's ``n1_enrolled``/``n2_enrolled``
        are ``ceil(n / (1 - dropout))``.
    strict : bool
        Two-sided only: also count the rejections in the tail opposite to the assumed
        effect (R ``power.prop.test(..., strict = TRUE)``, ``pwr``). The default counts only
        the tail of the assumed effect, as rpact's fixed-design sample sizes
        (``getSampleSizeRates``) and R's ``power.prop.test`` default; the two differ by the
        opposite tail's probability (about 1e-5 in power at usual sizes). With no effect
        (``p1 == p2``) the default gives ``alpha / 2``.

    Returns
    -------
    PowerResult

    Notes
    -----
    With ``k = n2/n1``, ``d = p1 - p2``, ``pbar = (n1 p1 + n2 p2)/(n1 + n2)``:

    .. math::

        \\text{power} = \\Phi\\left(\\frac{|d| - z_{1-\\alpha/2}\\,\\mathrm{se}_0}
        {\\mathrm{se}_1}\\right) \\; \\left[+ \\Phi\\left(\\frac{-|d| - z_{1-\\alpha/2}\\,
        \\mathrm{se}_0}{\\mathrm{se}_1}\\right) \\text{ with strict}\\right]

    with ``se1**2 = p1 q1/n1 + p2 q2/n2`` and ``se0**2 = pbar qbar (1/n1 + 1/n2)`` (pooled)
    or ``se0 = se1`` (unpooled). The second term, the opposite rejection tail, is counted only
    with ``strict=True`` (R ``power.prop.test(..., strict = TRUE)``). The continuity-corrected
    size is Fleiss's ``n1' = n1/4 (1 + sqrt(1 + 2 (k+1)/(n1 k |d|)))**2``; its power is that of the
    uncorrected test at the inverse ``n1``. Arcsine: ``h = 2 asin sqrt(p1) - 2 asin sqrt(p2)``,
    ``se = sqrt(1/n1 + 1/n2)``.

    References
    ----------
    .. [1] Fleiss JL, Levin B, Paik MC. Statistical Methods for Rates and Proportions, 3rd ed.
       Wiley 2003, ch. 4.
    .. [2] Cohen J. Statistical Power Analysis for the Behavioral Sciences, 2nd ed. 1988, ch. 6.

    Examples
    --------
    Zang 2022 observed 20 % vs 4.55 % (9/45 vs 2/44). Patients per arm for 80 % power:

    >>> from trial_analysis.power import power_two_proportions
    >>> r = power_two_proportions(0.20, 0.0455, power=0.8)
    >>> r.n1, r.n2
    (70, 70)
    >>> round(power_two_proportions(0.20, 0.0455, n1=45, n2=44).power, 3)
    0.604
    """
    solved = _exactly_one_none(p1=p1, n1=n1, power=power)
    p2 = check_probability("p2", p2)
    if p1 is not None:
        p1 = check_probability("p1", p1)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    method = check_choice("method", method, PROPORTION_METHODS)
    dropout = check_dropout(dropout)
    if continuity and method == "arcsine":
        raise ParameterError("continuity", "False with method='arcsine'", continuity)
    if power is not None:
        power = check_power_target(power)
    n1v, k = _sizes(n1, n2, ratio)
    if p1 is not None and p1 == p2 and solved != "power":
        raise ParameterError("p1", "different from p2 to solve for n (no effect to detect)", p1)
    label = f"two proportions, {method} z" if method != "arcsine" else "two proportions, arcsine"
    if continuity:
        label += ", Fleiss continuity correction"
    strict = bool(strict) and alternative == "two-sided"
    if strict:
        label += _BOTH_TAILS

    def pw(n: float, kk: float, p1_: float | None = None) -> float:
        q = p1 if p1_ is None else p1_
        return _power_props(q, p2, n, kk, alpha, alternative, method, continuity, strict)  # type: ignore[arg-type]

    if solved == "effect":
        assert n1v is not None and power is not None
        if alternative == "less":
            p1 = _solve_effect(lambda x: pw(n1v, k, x), power, 1e-9, p2 - 1e-9)
        else:
            p1 = _solve_effect(lambda x: pw(n1v, k, x), power, p2 + 1e-9, 1 - 1e-9)
    effect = {"p1": float(p1), "p2": p2}  # type: ignore[arg-type]
    return _finish(label, solved, pw, n1v, k, alpha, alternative, effect, power, dropout)  # type: ignore[arg-type]


def power_two_means(
    delta: float | None,
    sd: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    *,
    n2: float | None = None,
    ratio: float = 1.0,
    rho: float = 0.0,
    alternative: str = "two-sided",
    dropout: float = 0.0,
    strict: bool = False,
) -> PowerResult:
    """Power, sample size or detectable difference of two means (t test or ANCOVA).

    Exactly one of ``delta``, ``n1`` and ``power`` is ``None``.

    Parameters
    ----------
    delta : float or None
        Difference of means, arm 1 minus arm 2.
    sd : float
        Common standard deviation of the outcome (> 0).
    n1, power, alpha, n2, ratio, alternative, dropout
        As in :func:`power_two_proportions`.
    strict : bool
        Two-sided only: also count the rejections in the tail opposite to ``delta`` (R
        ``power.t.test(..., strict = TRUE)``, ``pwr.t2n.test``). The default counts only the
        tail of ``delta``, as rpact's ``getSampleSizeMeans`` and R's ``power.t.test`` default.
    rho : float
        Correlation between the outcome and a baseline covariate adjusted for by ANCOVA, in
        [0, 1). ``rho=0`` is the two-sample t test.

    Returns
    -------
    PowerResult

    Notes
    -----
    The t statistic has a noncentral t distribution with ``df = n1 + n2 - 2`` (``- 1`` more
    with a covariate) and noncentrality ``delta / (s sqrt(1/n1 + 1/n2))`` where
    ``s = sd sqrt(1 - rho**2)`` for ANCOVA (Borm et al. 2007). Two-sided, only the rejection
    tail of ``delta`` is counted unless ``strict=True``.

    References
    ----------
    .. [1] Borm GF, Fransen J, Lemmens WA. A simple sample size formula for analysis of
       covariance in randomized clinical trials. J Clin Epidemiol 2007;60:1234-8.

    Examples
    --------
    Zang 2022, HbA1c at week 48: 7.52 ± 1.07 % vs 8.19 ± 1.02 % (difference 0.67, SD ~1.05):

    >>> from trial_analysis.power import power_two_means
    >>> power_two_means(0.67, 1.05, power=0.9).n1
    53
    """
    solved = _exactly_one_none(delta=delta, n1=n1, power=power)
    sd = check_positive("sd", sd)
    rho = check_finite("rho", rho)
    if not 0 <= abs(rho) < 1:
        raise ParameterError("rho", "a correlation in (-1, 1)", rho)
    if delta is not None:
        delta = check_finite("delta", delta)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    dropout = check_dropout(dropout)
    if power is not None:
        power = check_power_target(power)
    n1v, k = _sizes(n1, n2, ratio)
    n_cov = 1 if rho != 0 else 0
    s = sd * math.sqrt(1 - rho**2)
    strict = bool(strict) and alternative == "two-sided"
    if delta == 0 and solved != "power":
        raise ParameterError("delta", "non-zero to solve for n (no effect to detect)", delta)

    def pw(n: float, kk: float, d_: float | None = None) -> float:
        d = delta if d_ is None else d_
        return _power_t(d, s, n, kk * n, alpha, alternative, n_cov, strict)  # type: ignore[arg-type]

    if solved == "effect":
        assert n1v is not None and power is not None
        sign = -1.0 if alternative == "less" else 1.0
        # beyond a noncentrality of 40 the power is 1 to double precision (and nct may overflow)
        hi = 40 * s * math.sqrt(1 / n1v + 1 / (k * n1v))
        mag = _solve_effect(lambda x: pw(n1v, k, sign * x), power, 1e-12 * sd, hi)
        delta = sign * mag
    # when solving for n: both arms >= 2 patients and at least one residual degree of freedom
    lo = max(2.0, 2.0 / k, (3.0 + n_cov) / (1 + k))
    label = "two means, ANCOVA (noncentral t)" if n_cov else "two means, t test (noncentral t)"
    if strict:
        label += _BOTH_TAILS
    effect = {"delta": float(delta), "sd": sd}  # type: ignore[arg-type]
    if n_cov:
        effect["rho"] = rho
    return _finish(label, solved, pw, n1v, k, alpha, alternative, effect, power, dropout, lo)  # type: ignore[arg-type]


def power_ancova(
    delta: float | None,
    sd: float,
    rho: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    **kwargs: Any,
) -> PowerResult:
    """ANCOVA power: :func:`power_two_means` with a baseline covariate of correlation ``rho``.

    Examples
    --------
    >>> from trial_analysis.power import power_ancova
    >>> power_ancova(0.67, 1.05, rho=0.5, power=0.9).n1
    40
    """
    rho = check_finite("rho", rho)
    if rho == 0:
        raise ParameterError("rho", "a non-zero correlation (rho = 0 is the t test)", rho)
    return power_two_means(delta, sd, n1, power, alpha, rho=rho, **kwargs)


def power_margin(
    p1: float,
    p2: float,
    delta0: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.025,
    *,
    n2: float | None = None,
    ratio: float = 1.0,
    variance: str = "fm",
    dropout: float = 0.0,
) -> PowerResult:
    """Non-inferiority or superiority by a margin for two proportions (one-sided test).

    Tests H0: ``p1 - p2 = delta0`` against the side on which the assumed ``p1 - p2`` lies
    (as gsDesign ``nBinomial`` and rpact ``getSampleSizeRates(thetaH0 = delta0)``).
    Non-inferiority of arm 1 with margin 0.1 (higher is better): ``delta0=-0.1``;
    superiority by 0.05: ``delta0=0.05``. Exactly one of ``n1``, ``power`` is ``None``.

    Parameters
    ----------
    p1, p2 : float
        Assumed response probabilities (alternative).
    delta0 : float
        Null difference ``p1 - p2``, in (-1, 1), different from the assumed difference.
    n1, power, n2, ratio, dropout
        As in :func:`power_two_proportions`.
    alpha : float
        One-sided significance level (default 0.025).
    variance : {"fm", "mn"}
        Null variance from the restricted MLE (:func:`restricted_mle`): Farrington–Manning,
        or Miettinen–Nurminen (the same times ``N/(N-1)``).

    Returns
    -------
    PowerResult

    Notes
    -----
    .. math::

        n_1 = \\frac{\\left(z_{1-\\alpha}\\sqrt{\\tilde p_1\\tilde q_1 + \\tilde p_2\\tilde q_2/k}
        + z_{1-\\beta}\\sqrt{p_1q_1 + p_2q_2/k}\\right)^2}{(p_1 - p_2 - \\delta_0)^2}

    where (p~1, p~2) maximise the likelihood under ``p1 - p2 = delta0``.

    References
    ----------
    .. [1] Farrington CP, Manning G. Test statistics and sample size formulae for comparative
       binomial trials with null hypothesis of non-zero risk difference or non-unity relative
       risk. Stat Med 1990;9:1447-54.
    .. [2] Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med 1985;4:213-26.

    Examples
    --------
    >>> from trial_analysis.power import power_margin
    >>> power_margin(0.6, 0.65, delta0=-0.1, power=0.8).n1
    1461
    """
    solved = _exactly_one_none(n1=n1, power=power)
    p1 = check_probability("p1", p1)
    p2 = check_probability("p2", p2)
    delta0 = check_finite("delta0", delta0)
    if not -1 < delta0 < 1:
        raise ParameterError("delta0", "a difference of proportions in (-1, 1)", delta0)
    if math.isclose(p1 - p2, delta0, abs_tol=1e-12):
        raise ParameterError("delta0", f"different from p1 - p2 = {p1 - p2:g}", delta0)
    alpha, variance, dropout, power, n1v, k = _check_design(
        alpha, dropout, power, n1, n2, ratio, variance
    )

    def pw(n: float, kk: float) -> float:
        return _power_margin(p1, p2, delta0, n, kk, alpha, variance)

    alt, kind = _margin_side(p1 - p2, delta0, 0.0)
    label = f"two proportions, {kind}, {MARGIN_LABELS[variance]}"
    effect = {"p1": p1, "p2": p2, "delta0": delta0}
    return _finish(label, solved, pw, n1v, k, alpha, alt, effect, power, dropout)  # type: ignore[arg-type]


def sample_size_table(
    p1: float | Sequence[float],
    p2: float | Sequence[float],
    power: float | Sequence[float] = (0.8, 0.9),
    alpha: float = 0.05,
    **kwargs: Any,
) -> SampleSizeTable:
    """Sample sizes of :func:`power_two_proportions` over every combination of the inputs.

    Examples
    --------
    >>> from trial_analysis.power import sample_size_table
    >>> t = sample_size_table([0.2, 0.3], 0.0455, power=[0.8, 0.9])
    >>> t.to_frame()[["p1", "target_power", "n1"]].shape
    (4, 3)
    """
    rows = [
        power_two_proportions(float(a), float(b), power=float(w), alpha=alpha, **kwargs)
        for a in np.atleast_1d(p1)
        for b in np.atleast_1d(p2)
        for w in np.atleast_1d(power)
    ]
    return SampleSizeTable(tuple(rows))
