"""Equivalence (TOST) and non-inferiority of means: from summaries, from data, and for a
model contrast (ANCOVA, MMRM).

Not yet exported by :mod:`trial_analysis.continuous` (``tost``, ``tost_from_summary``,
``contrast_margin`` are to be re-exported there, as the binary family re-exports its private
modules).

Two one-sided t tests (Schuirmann 1987) of ``H0: mu1 - mu2 <= low`` and
``H0: mu1 - mu2 >= high``, each at level ``alpha``: ``t_low = (d - low) / se`` and
``t_high = (d - high) / se`` with the Student (pooled) or Welch standard error and df, as
R's ``t.test(x, y, mu = low, alternative = "greater")`` and
``t.test(x, y, mu = high, alternative = "less")``. Equivalence is shown when both reject,
i.e. when the ``1 - 2 alpha`` t interval lies inside ``(low, high)``. scipy and statsmodels:
statsmodels' ``ttost_ind`` exists but returns bare tuples and has no summary-statistics or
contrast form; the arithmetic is two t tests, written here so that every margin test shares
:class:`~trial_analysis._margins.MarginResult`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._margins import MarginResult, wald_margin
from .._validate import check_count, check_finite, check_positive
from ..errors import ParameterError

__all__ = ["contrast_margin", "tost", "tost_from_summary"]


def _summary_se_df(sd1, n1, sd2, n2, equal_var: bool) -> tuple[float, float, str]:
    from . import _pooled_sd, _welch_df  # the family's one pooled-SD / Welch-df helpers

    if equal_var:
        se = _pooled_sd(sd1, n1, sd2, n2) * math.sqrt(1 / n1 + 1 / n2)
        return se, float(n1 + n2 - 2), "Student t (pooled SD)"
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    return math.sqrt(v1 + v2), _welch_df(v1, n1, v2, n2), "Welch t"


def tost_from_summary(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    low: float,
    high: float,
    *,
    equal_var: bool = False,
    alpha: float = 0.05,
) -> MarginResult:
    """Equivalence of two means (TOST) from means, SDs and sizes.

    Parameters
    ----------
    mean1, sd1, n1 : float, float, int
        Experimental arm.
    mean2, sd2, n2 : float, float, int
        Control arm.
    low, high : float
        Equivalence margins of ``mean1 - mean2`` (``low < high``).
    equal_var : bool
        Pooled-SD Student t (True) or Welch t (False, default).
    alpha : float
        Level of each one-sided test; the interval is ``1 - 2 alpha``.

    Returns
    -------
    MarginResult
        Rows ``lower`` and ``upper`` (t statistics, df, one-sided p); ``p_value`` the larger.

    Examples
    --------
    >>> from trial_analysis.continuous._tost import tost_from_summary
    >>> r = tost_from_summary(5.0, 1.2, 60, 4.9, 1.1, 60, -0.5, 0.5)
    >>> r.conclusion, round(r.p_value, 4)
    (True, 0.0297)
    """
    m1, m2 = check_finite("mean1", mean1), check_finite("mean2", mean2)
    s1, s2 = check_positive("sd1", sd1), check_positive("sd2", sd2)
    k1, k2 = check_count("n1", n1, minimum=2), check_count("n2", n2, minimum=2)
    if not isinstance(equal_var, (bool, np.bool_)):
        raise ParameterError("equal_var", "True or False", equal_var)
    se, df, method = _summary_se_df(s1, k1, s2, k2, bool(equal_var))
    return wald_margin(
        m1 - m2,
        se,
        (low, high),
        kind="equivalence",
        df=df,
        alpha=alpha,
        effect="mean difference",
        method=method,
    )


def tost(
    x: Sequence[float],
    y: Sequence[float],
    low: float,
    high: float,
    *,
    equal_var: bool = False,
    alpha: float = 0.05,
) -> MarginResult:
    """Equivalence of two means (TOST) from the two samples ``x`` (experimental), ``y``.

    As :func:`tost_from_summary` with the sample means and SDs (``n - 1``); matches R's two
    one-sided ``t.test`` calls at ``mu = low`` and ``mu = high``.

    Examples
    --------
    >>> from trial_analysis.continuous._tost import tost
    >>> tost([5.1, 4.8, 5.6, 5.0, 4.7], [4.9, 5.2, 5.0, 4.6, 5.3], -1, 1).conclusion
    True
    """
    xs, ys = _sample("x", x), _sample("y", y)
    return tost_from_summary(
        float(xs.mean()),
        float(xs.std(ddof=1)),
        xs.size,
        float(ys.mean()),
        float(ys.std(ddof=1)),
        ys.size,
        low,
        high,
        equal_var=equal_var,
        alpha=alpha,
    )


def _sample(name: str, values) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError(name, "a sequence of numbers", values) from None
    if a.size < 2 or not np.all(np.isfinite(a)) or a.std() == 0:
        raise ParameterError(
            name, "at least 2 finite, not all equal numbers (drop missing values first)", values
        )
    return a


def contrast_margin(
    estimate: float,
    se: float,
    margin: float | tuple[float, float],
    *,
    df: float | None = None,
    alternative: str = "greater",
    alpha: float = 0.025,
    effect: str = "LS-mean difference",
) -> MarginResult:
    """Non-inferiority (``margin`` a number) or equivalence (``margin=(low, high)``) of a model
    contrast: an ANCOVA or MMRM treatment difference with its SE and (Satterthwaite,
    Kenward-Roger or residual) df; ``df=None`` gives the z test.

    ``t = (estimate - margin) / se``; ``alternative="greater"``: ``H0: effect <= margin``
    (higher is better), ``"less"``: ``H0: effect >= margin``. For equivalence ``alpha``
    applies to each one-sided test.

    Examples
    --------
    >>> from trial_analysis.continuous._tost import contrast_margin
    >>> r = contrast_margin(-0.42, 0.15, 0.3, df=180, alternative="less")  # HbA1c: lower is better
    >>> r.conclusion
    True
    """
    kind = "equivalence" if isinstance(margin, (tuple, list)) else "non-inferiority"
    return wald_margin(
        estimate,
        se,
        margin,
        kind=kind,
        alternative=alternative if kind == "non-inferiority" else None,
        df=df,
        alpha=alpha,
        effect=effect,
        method="t test" if df is not None else "Wald z test",
    )
