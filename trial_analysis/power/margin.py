"""Power and sample size of equivalence (TOST) and non-inferiority tests.

- :func:`power_tost_means` — exact power of the two one-sided pooled t tests (Owen 1965's
  integral over the distribution of the SD), solving for n or power.
- :func:`power_equivalence_proportions` — large-sample power of the two one-sided score tests
  of two proportions (null variances from the restricted MLE at each margin, as
  :func:`~trial_analysis.power.power_margin` for one margin).
- :func:`power_margin_rr` — large-sample power or sample size of the Farrington-Manning score
  test of the risk ratio at a non-inferiority margin (as rpact
  ``getSampleSizeRates(riskRatio = TRUE, thetaH0 = ...)``).
- :func:`exact_power_margin` — exact power and size of the score test of
  :func:`trial_analysis.binary.noninferiority` / :func:`~trial_analysis.binary.equivalence`
  by enumeration of all ``(n1 + 1)(n2 + 1)`` tables (the rejection region is computed once
  and weighted by the binomial probabilities, as :func:`~trial_analysis.power.exact_power`).

scipy has the noncentral t but not the bivariate TOST probability (Owen's Q); statsmodels'
``tt_ind_solve_power`` is for one test. The one-dimensional integral is evaluated with
``scipy.integrate.quad``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats

from .._validate import check_choice, check_finite, check_positive
from ..errors import ParameterError
from ._common import check_alpha, check_n, check_power_target, check_probability
from .analytic import (
    MARGIN_LABELS,
    PowerResult,
    _check_design,
    _exactly_one_none,
    _finish,
    _margin_side,
    _normal_power,
    _score_variance,
    restricted_mle,
)
from .exact import _reject_prob

__all__ = [
    "exact_power_margin",
    "exact_sample_size_margin",
    "power_equivalence_proportions",
    "power_margin_rr",
    "power_tost_means",
]

_MAX_TABLES = 4_000_000


def _check_margins(low: float, high: float) -> tuple[float, float]:
    low, high = check_finite("low", low), check_finite("high", high)
    if not low < high:
        raise ParameterError("high", f"greater than low = {low:g}", high)
    return low, high


def _tost_t_power(delta, sd, low, high, n1, k, alpha) -> float:
    n2 = k * n1
    se = sd * math.sqrt(1 / n1 + 1 / n2)
    nu = n1 + n2 - 2
    tq = stats.t.isf(alpha, nu)
    # Reject both H0 iff low + tq s c < d^ < high - tq s c (c = se / sd, s the pooled SD):
    # given s the probability is a difference of normal cdfs, positive while
    # s < (high - low) / (2 tq c); integrate over nu s^2 / sd^2 ~ chi^2_nu.
    u_max = nu * ((high - low) / (2 * tq * se)) ** 2

    def f(u: float) -> float:
        r = tq * math.sqrt(u / nu)
        p = stats.norm.cdf((high - delta) / se - r) - stats.norm.cdf((low - delta) / se + r)
        return max(p, 0.0) * stats.chi2.pdf(u, nu)

    lo_q, hi_q = stats.chi2.ppf([1e-15, 1 - 1e-15], nu)
    upper = min(u_max, hi_q)
    if upper <= 0:
        return 0.0
    val, _ = integrate.quad(
        f, max(0.0, min(lo_q, upper)), upper, epsabs=1e-13, epsrel=1e-11, limit=200
    )
    return float(min(max(val, 0.0), 1.0))


def power_tost_means(
    delta: float,
    sd: float,
    low: float,
    high: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    *,
    n2: float | None = None,
    ratio: float = 1.0,
    dropout: float = 0.0,
) -> PowerResult:
    """Exact power or sample size of the TOST equivalence test of two means (pooled t).

    Exactly one of ``n1``, ``power`` is ``None``.

    Parameters
    ----------
    delta : float
        Assumed true difference ``mu1 - mu2``.
    sd : float
        Common standard deviation.
    low, high : float
        Equivalence margins (``low < high``).
    n1, power, n2, ratio, dropout
        As in :func:`~trial_analysis.power.power_two_means`.
    alpha : float
        Level of each one-sided test (default 0.05: the 90% interval inside the margins).

    Returns
    -------
    PowerResult

    Notes
    -----
    With ``c = sqrt(1/n1 + 1/n2)``, ``se = sd c``, ``nu = n1 + n2 - 2`` and ``t = t_{1-alpha,nu}``,

    .. math::

        \\text{power} = \\int_0^{u^*} \\left[\\Phi\\left(\\frac{h - \\delta}{se} - t\\sqrt{u/\\nu}
        \\right) - \\Phi\\left(\\frac{l - \\delta}{se} + t\\sqrt{u/\\nu}\\right)\\right]
        f_{\\chi^2_\\nu}(u)\\,du, \\quad u^* = \\nu \\left(\\frac{h - l}{2 t\\, se}\\right)^2

    (Owen 1965; Phillips 1990). Checked against the same integral by R's ``integrate`` and a
    simulation of t.test-based TOST (``tests/reference/adjusted.R``).

    References
    ----------
    .. [1] Owen DB. A special case of a bivariate non-central t-distribution. Biometrika
       1965;52:437-446.
    .. [2] Phillips KF. Power of the two one-sided tests procedure in bioequivalence.
       J Pharmacokinet Biopharm 1990;18:137-144.
    .. [3] Schuirmann DJ. A comparison of the two one-sided tests procedure and the power
       approach for assessing the equivalence of average bioavailability. J Pharmacokinet
       Biopharm 1987;15:657-680.

    Examples
    --------
    >>> from trial_analysis.power import power_tost_means
    >>> power_tost_means(0.0, 1.0, -0.5, 0.5, power=0.8).n1
    70
    """
    solved = _exactly_one_none(n1=n1, power=power)
    delta = check_finite("delta", delta)
    sd = check_positive("sd", sd)
    low, high = _check_margins(low, high)
    if not low < delta < high:
        raise ParameterError("delta", f"inside the margins ({low:g}, {high:g})", delta)
    alpha, _, dropout, power, n1v, k = _check_design(alpha, dropout, power, n1, n2, ratio)

    def pw(n: float, kk: float) -> float:
        return _tost_t_power(delta, sd, low, high, n, kk, alpha)

    effect = {"delta": delta, "sd": sd, "low": low, "high": high}
    label = "two means, equivalence (TOST, pooled t, exact)"
    return _finish(label, solved, pw, n1v, k, alpha, "equivalence", effect, power, dropout)  # type: ignore[arg-type]


def _score_se0(p1, p2, margin, n1, k, variance):
    q1, q2 = restricted_mle(p1, p2, margin, k)
    return math.sqrt(_score_variance(q1, q2, n1, k * n1, variance))


def _power_equiv_props(p1, p2, low, high, n1, k, alpha, variance) -> float:
    n2 = k * n1
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = stats.norm.isf(alpha)
    d = p1 - p2
    a = stats.norm.cdf((d - low - z * _score_se0(p1, p2, low, n1, k, variance)) / se1)
    b = stats.norm.cdf((high - d - z * _score_se0(p1, p2, high, n1, k, variance)) / se1)
    return float(max(a + b - 1, 0.0))


def power_equivalence_proportions(
    p1: float,
    p2: float,
    low: float,
    high: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    *,
    n2: float | None = None,
    ratio: float = 1.0,
    variance: str = "fm",
    dropout: float = 0.0,
) -> PowerResult:
    """Large-sample power or sample size of the equivalence (TOST) score test of ``p1 - p2``.

    ``power = max(0, Phi((d - l - z s_l) / s) + Phi((h - d - z s_h) / s) - 1)`` with
    ``d = p1 - p2``, ``s`` its SE under the assumed proportions and ``s_l``, ``s_h`` the
    null SEs from the restricted MLE at ``low`` and ``high`` (Farrington & Manning 1990;
    ``variance="mn"`` multiplies by ``N/(N-1)``). Exact power of the same test:
    :func:`exact_power_margin`.

    Examples
    --------
    >>> from trial_analysis.power import power_equivalence_proportions
    >>> power_equivalence_proportions(0.7, 0.7, -0.1, 0.1, power=0.8).n1
    360
    """
    solved = _exactly_one_none(n1=n1, power=power)
    p1, p2 = check_probability("p1", p1), check_probability("p2", p2)
    low, high = _check_margins(low, high)
    if not -1 < low < p1 - p2 < high < 1:
        raise ParameterError(
            "low/high", f"margins in (-1, 1) around p1 - p2 = {p1 - p2:g}", (low, high)
        )
    alpha, variance, dropout, power, n1v, k = _check_design(
        alpha, dropout, power, n1, n2, ratio, variance
    )

    def pw(n: float, kk: float) -> float:
        return _power_equiv_props(p1, p2, low, high, n, kk, alpha, variance)

    effect = {"p1": p1, "p2": p2, "low": low, "high": high}
    label = f"two proportions, equivalence (TOST), {MARGIN_LABELS[variance]}"
    return _finish(label, solved, pw, n1v, k, alpha, "equivalence", effect, power, dropout)  # type: ignore[arg-type]


def _power_margin_rr(p1, p2, rr0, n1, k, alpha, variance) -> float:
    """Power of the one-sided FM (or MN) score test of ``H0: p1 / p2 = rr0`` at (p1, p2)."""
    from ..binary._intervals import constrained_mle_rr

    # the restricted MLE of the test (binary._intervals) at the expected counts: x1 = p1 of
    # n1 = 1 and x2 = p2 k of n2 = k give the same quadratic in p1, p2 and k = n2 / n1
    q1, q2 = (float(v) for v in constrained_mle_rr(p1, 1.0, p2 * k, k, rr0))
    n2 = k * n1
    v0 = _score_variance(q1, q2, n1, n2, variance, rr0)
    v1 = p1 * (1 - p1) / n1 + rr0**2 * p2 * (1 - p2) / n2
    d = p1 - rr0 * p2
    alt = "greater" if d > 0 else "less"
    return _normal_power(d, math.sqrt(v0), math.sqrt(v1), float(stats.norm.isf(alpha)), alt)


def power_margin_rr(
    p1: float,
    p2: float,
    rr0: float,
    n1: float | None = None,
    power: float | None = None,
    alpha: float = 0.025,
    *,
    n2: float | None = None,
    ratio: float = 1.0,
    variance: str = "fm",
    dropout: float = 0.0,
) -> PowerResult:
    """Power or sample size of the score test of the risk ratio at a margin (one-sided).

    Tests ``H0: p1 / p2 = rr0`` against the side on which the assumed ``p1 / p2`` lies:
    non-inferiority when the event is good (``rr0 < 1 <= p1 / p2``, e.g. ``rr0=0.8``) or
    harmful (``rr0 > 1``, ``H1: p1 / p2 < rr0``), superiority by a margin otherwise. Exactly
    one of ``n1``, ``power`` is ``None`` (the one solved for).

    Parameters
    ----------
    p1, p2 : float
        Assumed event probabilities, experimental and control (alternative).
    rr0 : float
        Null risk ratio ``p1 / p2`` (the margin), positive and different from ``p1 / p2``.
    n1, power, n2, ratio, dropout
        As in :func:`~trial_analysis.power.power_two_proportions` (``ratio = n2 / n1``).
    alpha : float
        One-sided significance level (default 0.025).
    variance : {"fm", "mn"}
        Null variance from the restricted MLE under ``p1 = rr0 p2``: Farrington-Manning, or
        Miettinen-Nurminen (the same times ``N/(N-1)``), as the test of
        :func:`trial_analysis.binary.noninferiority` with ``effect="rr"``.

    Returns
    -------
    PowerResult

    Notes
    -----
    With ``d = p1 - rr0 p2``, the null variance
    ``s0^2 = p1~ q1~ / n1 + rr0^2 p2~ q2~ / n2`` ((p1~, p2~) the MLE under ``p1 = rr0 p2`` at
    the expected counts) and ``s1^2 = p1 q1 / n1 + rr0^2 p2 q2 / n2``,
    ``power = Phi((|d| - z_{1-alpha} s0) / s1)`` (Farrington & Manning 1990, eq. for the
    ratio; Blackwelder 1982 with the unrestricted variance); n1 solves it for the target.
    Checked against rpact ``getSampleSizeRates(riskRatio = TRUE, thetaH0 = rr0)`` and
    ``getPowerRates`` (``tests/reference/adjusted2.R``), which use the same restricted MLE.

    References
    ----------
    .. [1] Farrington CP, Manning G. Test statistics and sample size formulae for comparative
       binomial trials with null hypothesis of non-zero risk difference or non-unity relative
       risk. Stat Med 1990;9:1447-1454.
    .. [2] Blackwelder WC. "Proving the null hypothesis" in clinical trials. Control Clin
       Trials 1982;3:345-353.

    Examples
    --------
    >>> from trial_analysis.power import power_margin_rr
    >>> power_margin_rr(0.6, 0.65, rr0=0.8, power=0.8).n1
    473
    """
    solved = _exactly_one_none(n1=n1, power=power)
    p1 = check_probability("p1", p1)
    p2 = check_probability("p2", p2)
    rr0 = check_positive("rr0", rr0)
    if math.isclose(p1 / p2, rr0, rel_tol=1e-12):
        raise ParameterError("rr0", f"different from p1 / p2 = {p1 / p2:g}", rr0)
    alpha, variance, dropout, power, n1v, k = _check_design(
        alpha, dropout, power, n1, n2, ratio, variance
    )

    def pw(n: float, kk: float) -> float:
        return _power_margin_rr(p1, p2, rr0, n, kk, alpha, variance)

    alt, kind = _margin_side(p1 / p2, rr0, 1.0)
    effect = {"p1": p1, "p2": p2, "rr0": rr0}
    label = f"risk ratio of two proportions, {kind}, {MARGIN_LABELS[variance]}"
    return _finish(label, solved, pw, n1v, k, alpha, alt, effect, power, dropout)  # type: ignore[arg-type]


def margin_region(
    n1: int,
    n2: int,
    margin: float | tuple[float, float],
    *,
    effect: str = "rd",
    method: str = "mn",
    alternative: str = "greater",
    alpha: float = 0.025,
) -> np.ndarray:
    """Boolean ``(n1 + 1, n2 + 1)`` rejection region of the score test against ``margin``
    (a number: non-inferiority on side ``alternative``; a pair: equivalence, both one-sided
    tests at ``alpha``)."""
    from ..binary._margin import score_z

    x1 = np.arange(n1 + 1)[:, None]
    x2 = np.arange(n2 + 1)[None, :]
    z = stats.norm.isf(alpha)
    if isinstance(margin, (tuple, list)):
        low, high = margin
        return (score_z(x1, n1, x2, n2, low, effect, method) > z) & (
            score_z(x1, n1, x2, n2, high, effect, method) < -z
        )
    t = score_z(x1, n1, x2, n2, margin, effect, method)
    return t > z if alternative == "greater" else t < -z


def exact_power_margin(
    p1: float,
    p2: float,
    n1: int,
    n2: int,
    margin: float | tuple[float, float],
    *,
    effect: str = "rd",
    method: str = "mn",
    alternative: str = "greater",
    alpha: float = 0.025,
) -> PowerResult:
    """Exact power of the non-inferiority (``margin`` a number) or equivalence (``margin`` a
    pair) score test of two proportions, by enumeration of every table.

    ``power = sum_{(x1, x2) in R} b(x1; n1, p1) b(x2; n2, p2)`` with ``R`` the tables whose
    one-sided p-value(s) are below ``alpha`` (``p < alpha``, as
    :func:`trial_analysis.binary.noninferiority`). ``effect["size"]`` is the largest
    rejection probability on the null boundary (``p1 - p2 = margin`` or ``p1 / p2 = margin``;
    for equivalence the larger over both margins), maximised over 201 values of ``p2``.

    Examples
    --------
    >>> from trial_analysis.power import exact_power_margin
    >>> round(exact_power_margin(0.7, 0.7, 100, 100, -0.15).power, 4)
    0.6458
    """
    p1, p2 = check_probability("p1", p1), check_probability("p2", p2)
    n1, n2 = check_n("n1", n1), check_n("n2", n2)
    if (n1 + 1) * (n2 + 1) > _MAX_TABLES:
        raise ParameterError("n1/n2", f"at most {_MAX_TABLES} tables to enumerate", (n1, n2))
    effect = check_choice("effect", effect, ("rd", "rr"))
    method = check_choice("method", method, ("mn", "fm"))
    alpha = check_alpha(alpha)
    pair = isinstance(margin, (tuple, list))
    margins = [float(m) for m in margin] if pair else [check_finite("margin", margin)]
    if pair and not margins[0] < margins[1]:
        raise ParameterError("margin", "a pair (low, high) with low < high", margin)
    if not pair:
        alternative = check_choice("alternative", alternative, ("greater", "less"))
    for m in margins:
        ok = (-1 < m < 1) if effect == "rd" else (m > 0)
        if not ok:
            raise ParameterError("margin", "in (-1, 1) (rd) or > 0 (rr)", m)
    region = margin_region(
        n1, n2, tuple(margins) if pair else margins[0], effect=effect, method=method,
        alternative=alternative, alpha=alpha,
    )  # fmt: skip
    pw = float(_reject_prob(region, np.array(p1), np.array(p2)))
    size = 0.0
    for m in margins:
        q2 = np.linspace(0.0, 1.0, 201)
        q1 = q2 + m if effect == "rd" else q2 * m
        ok = (q1 >= 0) & (q1 <= 1)
        size = max(size, float(np.max(_reject_prob(region, q1[ok], q2[ok]))))
    kind = "equivalence (TOST)" if pair else "non-inferiority"
    label = MARGIN_LABELS[method]
    eff = {"p1": p1, "p2": p2}
    if pair:
        eff.update(low=margins[0], high=margins[1])
    else:
        eff["margin"] = margins[0]
    eff["size"] = size
    return PowerResult(
        method=f"two proportions ({effect}), {kind}, {label} score, exact enumeration",
        solved_for="power",
        power=pw,
        n1=n1,
        n2=n2,
        n1_exact=float(n1),
        n2_exact=float(n2),
        alpha=alpha,
        alternative="equivalence" if pair else alternative,
        effect=eff,
    )


def exact_sample_size_margin(
    p1: float,
    p2: float,
    margin: float | tuple[float, float],
    power: float = 0.8,
    *,
    effect: str = "rd",
    method: str = "mn",
    alternative: str = "greater",
    alpha: float = 0.025,
    ratio: float = 1.0,
    window: int = 10,
    n_max: int = 2000,
) -> PowerResult:
    """Smallest ``n1`` at which the exact power of the score test against ``margin`` reaches
    ``power`` and stays there for the next ``window`` sizes (``n2 = ceil(ratio n1)``).

    Exact power is not monotone in n (the saw-tooth of discrete tests), so the first size
    reaching the target may be followed by smaller powers; the "stable" size asked for here
    is the one protocols can defend. The search brackets the size by doubling, bisects to a
    crossing and scans up from 0.8 of it, each power by :func:`exact_power_margin`;
    ``effect["first_n1_reaching"]`` is the smallest evaluated size whose power reaches the
    target (possibly unstable).

    Examples
    --------
    >>> from trial_analysis.power.margin import exact_sample_size_margin
    >>> exact_sample_size_margin(0.8, 0.8, -0.2, 0.8).n1  # analytic (power_margin, MN): 66
    65
    """
    power = check_power_target(power)
    if not isinstance(window, (int, np.integer)) or window < 0:
        raise ParameterError("window", "an integer >= 0", window)
    n_max = check_n("n_max", n_max)

    def size2(n: int) -> int:
        return max(2, math.ceil(n * ratio - 1e-9))

    def pw(n: int) -> float:
        return exact_power_margin(
            p1, p2, n, size2(n), margin, effect=effect, method=method,
            alternative=alternative, alpha=alpha,
        ).power  # fmt: skip

    cache: dict[int, float] = {}

    def P(n: int) -> float:
        if n not in cache:
            cache[n] = pw(n)
        return cache[n]

    hi = 8
    while P(hi) < power:
        hi *= 2
        if hi > n_max:
            raise ParameterError("n_max", f"a larger bound: power {power} not reached", n_max)
    lo = max(2, hi // 2)
    while hi - lo > 1:  # a crossing between lo (below) and hi (at or above)
        mid = (lo + hi) // 2
        if P(mid) >= power:
            hi = mid
        else:
            lo = mid
    start = max(2, int(0.8 * hi))
    n = start
    while n <= n_max:
        if all(P(k) >= power for k in range(n, n + window + 1)):
            res = exact_power_margin(
                p1, p2, n, size2(n), margin, effect=effect, method=method,
                alternative=alternative, alpha=alpha,
            )  # fmt: skip
            eff = dict(res.effect)
            eff["first_n1_reaching"] = float(min(k for k in cache if cache[k] >= power))
            return PowerResult(
                method=res.method + f", smallest n1 with power >= target for {window} more",
                solved_for="n",
                power=res.power,
                n1=n,
                n2=size2(n),
                n1_exact=float(n),
                n2_exact=float(size2(n)),
                alpha=res.alpha,
                alternative=res.alternative,
                effect=eff,
                target_power=power,
            )
        n += 1
    raise ParameterError("n_max", f"a larger bound: no stable size up to {n_max}", n_max)
