"""Asymptotic confidence intervals for two independent binomial proportions (vectorised).

Every function takes ``x1, n1, x2, n2`` (arm 1 = experimental) as scalars or broadcastable
integer arrays and returns ``(estimate, low, high)`` arrays. They are vectorised because
:func:`trial_analysis.consistency.infer_counts` evaluates them over many candidate tables.
Zero-cell conventions are stated in each docstring and in :data:`ZERO_CELL_NOTES`.

statsmodels has ``confint_proportions_2indep`` (Wald, Agresti-Caffo, Newcombe, score), but it
works one table at a time, does not match R's ``prop.test`` continuity-corrected interval and
has no Koopman interval for the risk ratio, so the formulas are written here (short, closed
form) and checked against R in ``tests/reference/binary_asymptotic.R``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = [
    "ZERO_CELL_NOTES",
    "or_woolf",
    "rd_agresti_caffo",
    "rd_miettinen_nurminen",
    "rd_newcombe",
    "rd_wald",
    "rd_wald_cc",
    "rr_katz",
    "rr_koopman",
    "wilson",
    "z_crit",
]

ZERO_CELL_NOTES = {
    "rr_katz": (
        "Katz log: an arm has 0 events, so 0.5 is added to every cell and the estimate and its "
        "interval are both those of the corrected table (Haldane-Anscombe, as metafor escalc; "
        "the uncorrected ratio is 0 or inf, with no Wald interval, as in Epi twoby2)."
    ),
    "or_woolf": (
        "Woolf logit: a cell is 0, so 0.5 is added to every cell and the estimate and its "
        "interval are both those of the corrected table (Haldane-Anscombe; Gart adjusted logit; "
        "as metafor escalc)."
    ),
    "unbounded": (
        "A zero cell makes the {what} unbounded: the maximum-likelihood {which} 0 or inf, and "
        "the interval is open on that side (a limit of 0 or inf), as R fisher.test and Epi "
        "twoby2."
    ),
    "rd_wald": "Wald: zero-width interval when both arms are 0/n or n/n (as R's prop.test).",
}


def z_crit(conf_level: float) -> float:
    """Two-sided standard-normal critical value ``z_{1-(1-conf_level)/2}``."""
    return float(ndtri(0.5 + conf_level / 2))


def _arr(*args):
    return [np.asarray(a, dtype=float) for a in args]


def rd_wald(x1, n1, x2, n2, conf_level: float = 0.95):
    """Wald interval for ``p1 - p2``, clipped to [-1, 1] as R's ``prop.test(correct=FALSE)``."""
    x1, n1, x2, n2 = _arr(x1, n1, x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    w = z_crit(conf_level) * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return d, np.maximum(d - w, -1.0), np.minimum(d + w, 1.0)


def rd_wald_cc(x1, n1, x2, n2, conf_level: float = 0.95):
    """Wald interval with Yates's continuity correction, exactly as R's ``prop.test``.

    The correction ``0.5 (1/n1 + 1/n2)`` is capped at ``|p1 - p2|`` (R caps ``YATES`` at
    ``|DELTA| / sum(1/n)``) and the limits are clipped to [-1, 1].
    """
    x1, n1, x2, n2 = _arr(x1, n1, x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    s = 1 / n1 + 1 / n2
    yates = np.minimum(0.5, np.abs(d) / s)
    w = z_crit(conf_level) * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) + yates * s
    return d, np.maximum(d - w, -1.0), np.minimum(d + w, 1.0)


def wilson(x, n, conf_level: float = 0.95):
    """Wilson score interval for one proportion (no continuity correction)."""
    x, n = _arr(x, n)
    z = z_crit(conf_level)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.maximum(centre - half, 0.0), np.minimum(centre + half, 1.0)


def rd_newcombe(x1, n1, x2, n2, conf_level: float = 0.95):
    """Newcombe's hybrid score interval (Newcombe 1998, method 10) from two Wilson intervals."""
    x1, n1, x2, n2 = _arr(x1, n1, x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, conf_level)
    l2, u2 = wilson(x2, n2, conf_level)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def rd_agresti_caffo(x1, n1, x2, n2, conf_level: float = 0.95):
    """Agresti-Caffo interval: Wald on one added success and failure per arm (clipped)."""
    x1, n1, x2, n2 = _arr(x1, n1, x2, n2)
    d = x1 / n1 - x2 / n2
    q1, q2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    dt = q1 - q2
    w = z_crit(conf_level) * np.sqrt(q1 * (1 - q1) / (n1 + 2) + q2 * (1 - q2) / (n2 + 2))
    return d, np.maximum(dt - w, -1.0), np.minimum(dt + w, 1.0)


def constrained_mle_rd(x1, n1, x2, n2, delta):
    """Maximum-likelihood ``(p1, p2)`` under ``p1 - p2 = delta`` (Miettinen & Nurminen 1985).

    Closed-form root of the likelihood cubic (Farrington & Manning 1990, eq. 4); arrays
    broadcast. Used by the Miettinen-Nurminen interval and the exact unconditional interval.
    """
    x1, n1, x2, n2, delta = _arr(x1, n1, x2, n2, delta)
    p1, p2 = x1 / n1, x2 / n2
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p2 + delta * (theta + 2))
    c = delta * delta + delta * (2 * p1 + theta + 1) + p1 + theta * p2
    dd = -p1 * delta * (1 + delta)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a * a) + dd / (2 * a)
    u2 = np.maximum(b * b / (3 * a) ** 2 - c / (3 * a), 0.0)
    u = np.where(v < 0, -1.0, 1.0) * np.sqrt(u2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(u2 > 0, v / u**3, 0.0)
    w = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3
    pt1 = np.clip(2 * u * np.cos(w) - b / (3 * a), 0.0, 1.0)
    pt2 = np.clip(pt1 - delta, 0.0, 1.0)
    return pt1, pt2


def mn_score(x1, n1, x2, n2, delta):
    """Miettinen-Nurminen score statistic for ``H0: p1 - p2 = delta`` (with N/(N-1))."""
    x1, n1, x2, n2, delta = _arr(x1, n1, x2, n2, delta)
    pt1, pt2 = constrained_mle_rd(x1, n1, x2, n2, delta)
    nn = n1 + n2
    var = (pt1 * (1 - pt1) / n1 + pt2 * (1 - pt2) / n2) * nn / (nn - 1)
    num = x1 / n1 - x2 / n2 - delta
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(var)
    # var = 0 only at the boundary of the parameter space: the sign of num decides.
    edge = np.where(num == 0, 0.0, np.copysign(np.inf, num))
    return np.where(var > 0, z, edge)


def _bisect(f, lo, hi, n_iter: int = 60):
    """Vectorised bisection for ``f`` increasing from False to True on [lo, hi]."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        t = f(mid)
        hi = np.where(t, mid, hi)
        lo = np.where(t, lo, mid)
    return (lo + hi) / 2


def rd_miettinen_nurminen(x1, n1, x2, n2, conf_level: float = 0.95):
    """Miettinen-Nurminen (1985) asymptotic score interval for ``p1 - p2``.

    The interval is ``{delta : |T(delta)| <= z}`` with ``T`` the score statistic whose
    variance uses the constrained MLE and the factor ``N / (N - 1)``. ``T`` decreases in
    ``delta``, so each limit is found by bisection (60 halvings: width < 1e-17).
    """
    x1, n1, x2, n2 = np.broadcast_arrays(*_arr(x1, n1, x2, n2))
    z = z_crit(conf_level)
    d = x1 / n1 - x2 / n2
    eps = 1e-12
    low = _bisect(lambda t: mn_score(x1, n1, x2, n2, t) <= z, np.full(d.shape, -1 + eps), d)
    high = _bisect(lambda t: mn_score(x1, n1, x2, n2, t) < -z, d, np.full(d.shape, 1 - eps))
    low = np.where(mn_score(x1, n1, x2, n2, -1 + eps) <= z, -1.0, low)
    high = np.where(mn_score(x1, n1, x2, n2, 1 - eps) >= -z, 1.0, high)
    return d, low, high


def rr_katz(x1, n1, x2, n2, conf_level: float = 0.95):
    """Katz log interval for ``p1 / p2``; 0.5 added to all cells if an arm has no events.

    With the correction the estimate is the corrected table's ratio, so that it lies in its
    interval (Haldane-Anscombe, as metafor ``escalc``); both arms without events: estimate NaN
    and interval (0, inf).
    """
    x1, n1, x2, n2 = np.broadcast_arrays(*_arr(x1, n1, x2, n2))
    adj = (x1 == 0) | (x2 == 0)
    a1, m1 = np.where(adj, x1 + 0.5, x1), np.where(adj, n1 + 1, n1)
    a2, m2 = np.where(adj, x2 + 0.5, x2), np.where(adj, n2 + 1, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log((a1 / m1) / (a2 / m2))
        se = np.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    z = z_crit(conf_level)
    low, high = np.exp(lr - z * se), np.exp(lr + z * se)
    both0 = (x1 == 0) & (x2 == 0)
    return (
        np.where(both0, np.nan, np.exp(lr)),
        np.where(both0, 0.0, low),
        np.where(both0, np.inf, high),
    )


def constrained_mle_rr(x1, n1, x2, n2, phi):
    """Maximum-likelihood ``(p1, p2)`` under ``p1 / p2 = phi`` (Koopman 1984; Farrington &
    Manning 1990, ratio case): the smaller root of a quadratic; arrays broadcast."""
    nn = n1 + n2
    bq = phi * (n1 + x2) + x1 + n2
    disc = np.maximum(bq * bq - 4 * phi * nn * (x1 + x2), 0.0)
    # Root of the constrained likelihood equation; it is the MLE of p1 (check: phi = 1 gives
    # the pooled proportion, phi = p1/p2 gives the observed p1).
    # the smaller root written as 2c / (b + sqrt(b^2 - 4ac)) to avoid cancellation
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.minimum(2 * phi * (x1 + x2) / (bq + np.sqrt(disc)), 1.0)
    p2 = np.minimum(p1 / phi, 1.0)
    return p1, p2


def _koopman_stat(x1, n1, x2, n2, phi):
    """Koopman (1984) score statistic for ``H0: p1 / p2 = phi`` (Pearson form)."""
    p1, p2 = constrained_mle_rr(x1, n1, x2, n2, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(p1 * (1 - p1) > 0, (x1 - n1 * p1) ** 2 / (n1 * p1 * (1 - p1)), np.inf)
        t2 = np.where(p2 * (1 - p2) > 0, (x2 - n2 * p2) ** 2 / (n2 * p2 * (1 - p2)), np.inf)
    # an arm whose constrained MLE equals its observed proportion contributes 0 (also at the
    # boundary 0 or 1, where the variance vanishes); 1e-12 absorbs rounding of p * n
    t1 = np.where(np.abs(x1 - n1 * p1) <= 1e-12 * n1, 0.0, t1)
    t2 = np.where(np.abs(x2 - n2 * p2) <= 1e-12 * n2, 0.0, t2)
    return t1 + t2


def rr_koopman(x1, n1, x2, n2, conf_level: float = 0.95):
    """Koopman (1984) asymptotic score interval for the risk ratio.

    ``{phi : U(phi) <= z^2}``; each limit by bisection on ``log phi``. An arm with 0 events
    gives the limit 0 (x1 = 0) or inf (x2 = 0): the score set is unbounded on that side.
    """
    x1, n1, x2, n2 = np.broadcast_arrays(*_arr(x1, n1, x2, n2))
    z2 = z_crit(conf_level) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (x1 / n1) / (x2 / n2)
    both0 = (x1 == 0) & (x2 == 0)
    # Bracket in log space around the estimate (finite stand-ins for 0 and inf).
    centre = np.log(np.where(np.isfinite(est) & (est > 0), est, 1.0))
    lo_b, hi_b = np.full(est.shape, -30.0), np.full(est.shape, 30.0)

    def stat(lphi):
        return _koopman_stat(x1, n1, x2, n2, np.exp(lphi))

    centre = np.where(x1 == 0, -30.0, np.where(x2 == 0, 30.0, centre))
    low = _bisect(lambda t: stat(t) <= z2, lo_b, centre)
    high = _bisect(lambda t: stat(t) > z2, centre, hi_b)
    low = np.where(x1 == 0, 0.0, np.exp(low))
    high = np.where(x2 == 0, np.inf, np.exp(high))
    return np.where(both0, np.nan, est), np.where(both0, 0.0, low), np.where(both0, np.inf, high)


def or_woolf(x1, n1, x2, n2, conf_level: float = 0.95):
    """Woolf logit interval for the odds ratio; 0.5 added to every cell if any cell is 0.

    With the correction the estimate is the corrected table's odds ratio, inside its interval
    (Haldane-Anscombe, as metafor ``escalc``); no events or no non-events in both arms: NaN,
    interval (0, inf).
    """
    x1, n1, x2, n2 = np.broadcast_arrays(*_arr(x1, n1, x2, n2))
    a, b, c, d = x1, n1 - x1, x2, n2 - x2
    adj = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    h = np.where(adj, 0.5, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.log(((a + h) * (d + h)) / ((b + h) * (c + h)))
        se = np.sqrt(1 / (a + h) + 1 / (b + h) + 1 / (c + h) + 1 / (d + h))
    z = z_crit(conf_level)
    undefined = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    return (
        np.where(undefined, np.nan, np.exp(lo)),
        np.where(undefined, 0.0, np.exp(lo - z * se)),
        np.where(undefined, np.inf, np.exp(lo + z * se)),
    )


RD_METHODS = {
    "wald": ("Wald", rd_wald, "Wald; R prop.test(correct=FALSE)"),
    "wald_cc": ("Wald, continuity-corrected", rd_wald_cc, "R prop.test(correct=TRUE)"),
    "newcombe": ("Newcombe hybrid score", rd_newcombe, "Newcombe (1998) method 10"),
    "agresti_caffo": ("Agresti-Caffo", rd_agresti_caffo, "Agresti & Caffo (2000)"),
    "miettinen_nurminen": (
        "Miettinen-Nurminen score",
        rd_miettinen_nurminen,
        "Miettinen & Nurminen (1985)",
    ),
}
