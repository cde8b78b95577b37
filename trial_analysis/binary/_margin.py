"""Non-inferiority and equivalence of two proportions: score tests at a margin.

For the risk difference at ``H0: p1 - p2 = delta`` and the risk ratio at ``H0: p1 / p2 = phi``
the score statistics use the maximum-likelihood proportions under the null constraint
(``constrained_mle_rd`` / ``constrained_mle_rr`` in :mod:`._intervals`):

    Z_rd(delta) = (p1^ - p2^ - delta) / sqrt(p1~ q1~ / n1 + p2~ q2~ / n2)
    Z_rr(phi)   = (p1^ - phi p2^)     / sqrt(p1~ q1~ / n1 + phi^2 p2~ q2~ / n2)

Farrington & Manning (1990) use them as they are; Miettinen & Nurminen (1985) multiply the
variance by ``N / (N - 1)``. The interval reported beside a test inverts the same statistic
at level ``1 - 2 alpha`` (for ``method="mn"`` and the difference it is the Miettinen-Nurminen
interval of :func:`trial_analysis.binary.compare`), so the test rejects exactly when the
margin lies outside the interval. Neither scipy nor statsmodels has the ratio score test at
a margin or its inversion (statsmodels' ``test_proportions_2indep`` has the difference with
``compare="diff", value=...``, without the interval); the closed forms are short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._margins import MarginResult, check_margins, combine_margins, margin_result, one_sided_p
from .._validate import check_alpha, check_choice, check_events
from ..errors import ParameterError
from ._intervals import _bisect, constrained_mle_rr, mn_score, z_crit

__all__ = ["MARGIN_EFFECTS", "MARGIN_METHODS", "equivalence", "noninferiority", "score_z"]

MARGIN_EFFECTS = ("rd", "rr")
MARGIN_METHODS = ("mn", "fm")
_EFFECT = {"rd": "risk difference", "rr": "risk ratio"}
_METHOD = {
    "mn": "Miettinen-Nurminen score (variance x N/(N-1))",
    "fm": "Farrington-Manning score",
}


def score_z(x1, n1, x2, n2, value, effect: str = "rd", method: str = "mn"):
    """Score statistic at the null ``p1 - p2 = value`` (rd) or ``p1 / p2 = value`` (rr).

    Arrays broadcast. At the edge of the parameter space, where the null variance is 0, the
    statistic is ``+/-inf`` by the sign of the numerator (0 when it is 0).
    """
    x1, n1, x2, n2, value = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2, value))
    nn = n1 + n2
    if effect == "rd":
        z = mn_score(x1, n1, x2, n2, value)
        return z * np.sqrt(nn / (nn - 1)) if method == "fm" else z
    p1, p2 = constrained_mle_rr(x1, n1, x2, n2, value)
    var = p1 * (1 - p1) / n1 + value**2 * p2 * (1 - p2) / n2
    if method == "mn":
        var = var * nn / (nn - 1)
    num = x1 / n1 - value * x2 / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(var)
    edge = np.where(num == 0, 0.0, np.copysign(np.inf, num))
    return np.where(var > 0, z, edge)


def score_interval(x1, n1, x2, n2, conf_level: float, effect: str, method: str):
    """``{value: |Z(value)| <= z_{(1 + conf_level)/2}}`` by bisection (Z decreases in value)."""
    q = z_crit(conf_level)
    if effect == "rd":
        eps = 1e-12

        def z(t):
            return score_z(x1, n1, x2, n2, t, "rd", method)

        d = x1 / n1 - x2 / n2
        lo = float(_bisect(lambda t: z(t) <= q, -1 + eps, d))
        hi = float(_bisect(lambda t: z(t) < -q, d, 1 - eps))
        lo = -1.0 if z(-1 + eps) <= q else lo
        hi = 1.0 if z(1 - eps) >= -q else hi
        return lo, hi

    def zl(lt):
        return score_z(x1, n1, x2, n2, np.exp(lt), "rr", method)

    # finite stand-ins for 0 and inf on the log scale (as the Koopman interval)
    centre = -30.0 if x1 == 0 else 30.0 if x2 == 0 else math.log((x1 / n1) / (x2 / n2))
    lo = 0.0 if x1 == 0 else math.exp(float(_bisect(lambda t: zl(t) <= q, -30.0, centre)))
    hi = math.inf if x2 == 0 else math.exp(float(_bisect(lambda t: zl(t) < -q, centre, 30.0)))
    return lo, hi


def _score_margin(kind, x1, n1, x2, n2, margin, effect, method, alternative, alpha, synthetic):
    x1, n1 = check_events("x1", x1, "n1", n1)
    x2, n2 = check_events("x2", x2, "n2", n2)
    effect = check_choice("effect", effect, MARGIN_EFFECTS)
    method = check_choice("method", method, MARGIN_METHODS)
    alpha = check_alpha(alpha)
    log = effect == "rr"
    tests = check_margins(kind, margin, log, alternative)
    if effect == "rd":
        for _, m in tests:
            if not -1 < m < 1:
                raise ParameterError("margin", "a difference of proportions in (-1, 1)", m)
    p1, p2 = x1 / n1, x2 / n2
    est = p1 - p2
    if log:
        est = math.nan if p1 == p2 == 0 else (math.inf if p2 == 0 else p1 / p2)
    ci = score_interval(x1, n1, x2, n2, 1 - 2 * alpha, effect, method)
    return margin_result(
        kind,
        _EFFECT[effect],
        _METHOD[method],
        est,
        tests,
        lambda m: float(score_z(x1, n1, x2, n2, m, effect, method)),
        lambda t, side: one_sided_p(t, side),
        ci,
        alpha,
        synthetic=synthetic,
    )


def _by_arm(kind, x1, n1, x2, n2, margin, effect, method, alternative, alpha, synthetic, labels):
    """One score test per experimental arm (``x1``, ``n1`` sequences) against the control."""
    if np.ndim(x1) == 0 and np.ndim(n1) == 0:
        res = _score_margin(
            kind, x1, n1, x2, n2, margin, effect, method, alternative, alpha, synthetic
        )
        return res if labels is None else combine_margins([res], [str(labels[0])])
    xs, ns = list(np.atleast_1d(x1)), list(np.atleast_1d(n1))
    if len(xs) != len(ns) or not xs:
        raise ParameterError(
            "x1/n1", "sequences of equal length (one entry per experimental arm)", (x1, n1)
        )
    if labels is None:
        labels = [f"arm {i + 1} vs control" for i in range(len(xs))]
    labels = [str(v) for v in labels]
    if len(labels) != len(xs) or len(set(labels)) != len(labels):
        raise ParameterError(
            "comparisons", f"{len(xs)} distinct labels (one per experimental arm)", labels
        )
    results = [
        _score_margin(
            kind, _int(x), _int(n), x2, n2, margin, effect, method, alternative, alpha, synthetic
        )
        for x, n in zip(xs, ns, strict=True)
    ]
    return combine_margins(results, labels)


def _int(v):
    return v.item() if isinstance(v, np.generic) else v


def noninferiority(
    x1: int | Sequence[int],
    n1: int | Sequence[int],
    x2: int,
    n2: int,
    margin: float,
    *,
    effect: str = "rd",
    method: str = "mn",
    alternative: str = "greater",
    alpha: float = 0.025,
    synthetic: bool = False,
    comparisons: Sequence[str] | None = None,
) -> MarginResult:
    """Non-inferiority (or superiority by a margin) of two proportions by a score test.

    Parameters
    ----------
    x1, n1 : int or sequence of int
        Events and patients, experimental arm; sequences for several experimental arms, each
        tested against the one control (one block of rows per arm).
    x2, n2 : int
        Events and patients, control arm.
    margin : float
        The null boundary on the scale of ``effect``: ``H0: effect <= margin`` with
        ``alternative="greater"`` (the event is good: non-inferiority margin below 0 for the
        difference, below 1 for the ratio), ``H0: effect >= margin`` with ``"less"`` (the
        event is harmful: margin above 0 or 1).
    effect : {"rd", "rr"}
        Risk difference ``p1 - p2`` or risk ratio ``p1 / p2``.
    method : {"mn", "fm"}
        Miettinen-Nurminen (null variance times ``N/(N-1)``) or Farrington-Manning score.
    alternative : {"greater", "less"}
        Side of H1 (see ``margin``).
    alpha : float
        One-sided level (default 0.025: the two-sided 95% interval).
    synthetic : bool
        Mark the result as computed from synthetic data.
    comparisons : sequence of str, optional
        Labels of the comparisons (e.g. ``["High vs Placebo", "Low vs Placebo"]``), one per
        experimental arm; default ``"arm i vs control"``. Given (or with several arms), the
        table has a ``comparison`` column.

    Returns
    -------
    MarginResult
        ``p_value`` one-sided, ``conclusion`` (H0 rejected), the ``1 - 2 alpha`` score interval
        (``ci_low``, ``ci_high``) and ``to_frame()`` with the statistic. Several arms: the
        table has every arm's rows; ``p_value``/``conclusion`` are the intersection-union
        test that every arm is non-inferior (see :class:`~trial_analysis._margins.MarginResult`).

    Notes
    -----
    ``Z = (p1^ - p2^ - delta) / sqrt(p1~ q1~/n1 + p2~ q2~/n2)`` (difference) and
    ``Z = (p1^ - phi p2^) / sqrt(p1~ q1~/n1 + phi^2 p2~ q2~/n2)`` (ratio), ``(p1~, p2~)`` the
    MLE under the null; ``method="mn"`` multiplies the variance by ``N/(N-1)``. The p-value
    is ``1 - Phi(Z)`` (``"greater"``) or ``Phi(Z)``. Checked against the same statistics with
    the constrained MLE found by ``optimize`` in R (``tests/reference/adjusted.R``), 1e-8.

    References
    ----------
    .. [1] Farrington CP, Manning G. Test statistics and sample size formulae for comparative
       binomial trials with null hypothesis of non-zero risk difference or non-unity relative
       risk. Stat Med 1990;9:1447-1454.
    .. [2] Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med
       1985;4:213-226.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> r = ta.binary.noninferiority(150, 200, 155, 200, margin=-0.10)
    >>> round(r.p_value, 4), r.conclusion
    (0.0393, False)
    """
    return _by_arm(
        "non-inferiority",
        x1,
        n1,
        x2,
        n2,
        margin,
        effect,
        method,
        alternative,
        alpha,
        synthetic,
        comparisons,
    )


def equivalence(
    x1: int | Sequence[int],
    n1: int | Sequence[int],
    x2: int,
    n2: int,
    low: float,
    high: float,
    *,
    effect: str = "rd",
    method: str = "mn",
    alpha: float = 0.05,
    synthetic: bool = False,
    comparisons: Sequence[str] | None = None,
) -> MarginResult:
    """Equivalence of two proportions: two one-sided score tests (TOST) at ``low`` and ``high``.

    ``H0: effect <= low`` and ``H0: effect >= high``, each by the score test of
    :func:`noninferiority` at one-sided ``alpha``; the TOST p-value is the larger one and
    equivalence is shown when the ``1 - 2 alpha`` score interval lies inside ``(low, high)``.
    ``x1``, ``n1`` may be sequences (several experimental arms, as :func:`noninferiority`).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> r = ta.binary.equivalence(150, 200, 155, 200, -0.1, 0.1)
    >>> r.to_frame()["test"].tolist()
    ['lower', 'upper']
    """
    return _by_arm(
        "equivalence",
        x1,
        n1,
        x2,
        n2,
        (low, high),
        effect,
        method,
        None,
        alpha,
        synthetic,
        comparisons,
    )
