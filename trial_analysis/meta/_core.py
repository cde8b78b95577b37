"""Numerical core of :mod:`trial_analysis.meta`: tau² estimators, model fits, deletion fits.

Everything here works on plain numpy arrays and returns plain containers; the public
functions in :mod:`.rma` and :mod:`.diagnostics` validate inputs and wrap the numbers in
result objects. The formulas follow R's metafor (Viechtbauer 2010, *J Stat Softw* 36(3)):
``rma.uni`` for the estimators, ``confint.rma.uni`` for the Q-profile interval and
``leave1out`` / ``influence.rma.uni`` for the deletion diagnostics.

Why written by hand: statsmodels offers DL/PM/"iterated" random-effects combination
(``statsmodels.stats.meta_analysis``) but not REML, ML, HE, SJ, the Knapp-Hartung adjustment
as metafor defines it, the Q-profile interval, or deletion diagnostics; reproducing metafor's
numbers to 1e-6 needs the same estimating equations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ..errors import AnalysisError

__all__ = ["METHODS", "Fit", "fit", "loo_fits", "q_gen", "qprofile_tau2"]

#: tau² estimators (metafor names); "EE" and "CE" are accepted as aliases of "FE".
METHODS = ("FE", "DL", "HE", "SJ", "ML", "REML", "PM")

_TOL = 1e-13
_MAXITER = 1000


@dataclass(frozen=True)
class Fit:
    """Raw output of :func:`fit` (intercept-only or with moderators)."""

    beta: np.ndarray  # (p,)
    vb: np.ndarray  # (p, p), includes the Knapp-Hartung factor s2w when test="knha"
    tau2: float
    s2w: float
    df: float  # residual df for t-based tests (k - p); inf for z
    q: float
    q_p: float
    i2: float
    h2: float
    vt: float  # "typical" within-study variance used for I² and H²
    k: int
    p: int
    method: str
    test: str
    iterations: int


def _wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float):
    w = 1.0 / (v + tau2)
    XtW = X.T * w
    M = XtW @ X
    try:
        Minv = np.linalg.inv(M)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - guarded by callers
        raise AnalysisError("the model matrix is singular (collinear moderators)") from exc
    beta = Minv @ (XtW @ y)
    r = y - X @ beta
    return w, Minv, beta, r


def _traces(w: np.ndarray, X: np.ndarray, Minv: np.ndarray):
    """tr(P) and tr(PP) with P = W - W X (X'WX)^-1 X' W, without forming k x k matrices."""
    A2 = Minv @ ((X.T * w**2) @ X)
    A3 = Minv @ ((X.T * w**3) @ X)
    tr_p = w.sum() - np.trace(A2)
    tr_pp = (w**2).sum() - 2.0 * np.trace(A3) + np.trace(A2 @ A2)
    return tr_p, tr_pp


def q_gen(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q statistic sum w (y - X b)^2 with w = 1/(v + tau2)."""
    w, _, _, r = _wls(y, v, X, tau2)
    return float((w * r * r).sum())


def _score_info(method: str, y, v, X, t: float) -> tuple[float, float]:
    """Score (times 2) and Fisher information (times 2) of the (restricted) likelihood in tau²."""
    w, Minv, _, r = _wls(y, v, X, t)
    py = w * r
    yppy = float(py @ py)
    if method == "REML":
        tr_p, tr_pp = _traces(w, X, Minv)
        return yppy - tr_p, tr_pp
    return yppy - float(w.sum()), float((w**2).sum())


def _loglik(method: str, y, v, X, t: float) -> float:
    """(Restricted) log-likelihood in tau², up to a constant (metafor's ll.ML / ll.REML)."""
    w, Minv, _, r = _wls(y, v, X, t)
    ll = -0.5 * (float(np.sum(np.log(v + t))) + float((w * r * r).sum()))
    if method == "REML":
        ll += 0.5 * float(np.linalg.slogdet(Minv)[1])  # -1/2 log det(X' W X)
    return ll


def _tau2_iterative(method: str, y, v, X, init: float) -> tuple[float, int]:
    """Fisher scoring for ML / REML, as metafor (step halving to stay >= 0), damped.

    Where the observed information exceeds twice the expected one (large, nearly homogeneous
    data sets with very unequal variances), undamped Fisher scoring overshoots and swings
    around the optimum with growing amplitude. A step that reverses the previous one and is
    not smaller than it halves the step factor (as metafor's ``control=list(stepadj=)``,
    applied only when needed, so that converging fits take the same path as metafor's).
    If the iterations still fail, the score's root is found by a bounded one-dimensional
    search on the (restricted) likelihood (:func:`_tau2_bounded`).
    """
    t = max(0.0, init)
    step = 1.0
    prev = 0.0
    for it in range(1, _MAXITER + 1):
        score, info = _score_info(method, y, v, X, t)
        adj = score / info
        if t == 0.0 and adj < 0:
            return 0.0, it
        if prev != 0.0 and adj * prev < 0 and abs(step * adj) >= abs(prev):
            step /= 2.0  # a growing oscillation: damp
        adj *= step
        halved = False
        while t + adj < 0:
            adj /= 2.0
            halved = True
        t += adj
        prev = adj
        if abs(adj) <= _TOL * max(1.0, t):
            if halved and _score_info(method, y, v, X, 0.0)[0] <= 0.0:
                return 0.0, it  # steps halved against the boundary: the maximum is at 0
            return t, it
    return _tau2_bounded(method, y, v, X), _MAXITER


def _tau2_bounded(method: str, y, v, X) -> float:
    """tau² maximising the (restricted) likelihood on [0, upper]: bounded search, then the
    score's root bracketed around it (to the precision of Fisher scoring)."""

    def score(t: float) -> float:
        return _score_info(method, y, v, X, t)[0]

    hi = _bracket_upper(score, 10.0 * float(np.var(y)) + float(np.max(v)))
    res = optimize.minimize_scalar(
        lambda t: -_loglik(method, y, v, X, t),
        bounds=(0.0, hi),
        method="bounded",
        options={"xatol": 1e-10 * hi},
    )
    t = float(res.x)
    if score(0.0) <= 0.0 and _loglik(method, y, v, X, 0.0) >= -res.fun:
        return 0.0  # the maximum is at the boundary
    # the score's root next to the maximiser: lo moves towards 0, up away, until they bracket
    step = max(1e-10 * hi, 1e-6 * t, 1e-300)  # about the search's resolution
    lo = up = t
    d = step
    for _ in range(1100):
        if score(lo) >= 0.0 or lo == 0.0:
            break
        lo, d = max(0.0, t - d), 2.0 * d
    d = step
    for _ in range(1100):
        if score(up) <= 0.0:
            break
        up, d = t + d, 2.0 * d
    if not score(lo) >= 0.0 >= score(up):
        raise AnalysisError(
            f"the {method} estimator of tau^2 did not converge (no root of the score found); "
            "try method='PM' or 'DL'"
        )
    if lo == up:
        return lo
    xtol = max(1e-300, 1e-14 * t)
    return float(optimize.brentq(score, lo, up, xtol=xtol, rtol=4 * np.finfo(float).eps))


def _bracket_upper(f, start: float) -> float:
    hi = max(start, 1e-8)
    for _ in range(200):
        if f(hi) < 0:
            return hi
        hi *= 2.0
    raise AnalysisError("could not bracket tau^2 (Q does not fall below its target)")


def _tau2_pm(y, v, X) -> float:
    k, p = X.shape
    target = k - p
    if q_gen(0.0, y, v, X) < target:
        return 0.0

    def f(t):
        return q_gen(t, y, v, X) - target

    hi = _bracket_upper(f, 10.0 * float(np.var(y)) + float(np.max(v)))
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def tau2_estimate(method: str, y, v, X) -> tuple[float, int]:
    """tau² by ``method`` (metafor's formulas), truncated at 0; returns (tau2, iterations)."""
    k, p = X.shape
    if method == "FE":
        return 0.0, 0
    if method == "DL":
        w, Minv, _, r = _wls(y, v, X, 0.0)
        tr_p, _ = _traces(w, X, Minv)
        return max(0.0, float(((w * r * r).sum() - (k - p)) / tr_p)), 0
    if method in ("HE", "ML", "REML"):
        XtX_inv = np.linalg.inv(X.T @ X)
        r = y - X @ (XtX_inv @ (X.T @ y))
        h = np.einsum("ij,jk,ik->i", X, XtX_inv, X)  # diagonal of the hat matrix, O(k p^2)
        he = float((r @ r - np.sum(v * (1.0 - h))) / (k - p))
        if method == "HE":
            return max(0.0, he), 0
        return _tau2_iterative(method, y, v, X, he)
    if method == "SJ":
        t0 = float(np.mean((y - y.mean()) ** 2))
        w, _, _, r = _wls(y, v, X, t0)
        return max(0.0, t0 * float((w * r * r).sum()) / (k - p)), 0
    if method == "PM":
        return _tau2_pm(y, v, X), 0
    raise AnalysisError(f"unknown method {method!r}")  # pragma: no cover


def _i2_h2(method: str, q: float, tau2: float, vt: float, k: int, p: int):
    if k <= p:
        return 0.0, 1.0
    if method == "FE":
        return (max(0.0, 100.0 * (q - (k - p)) / q) if q > 0 else 0.0), q / (k - p)
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def fit(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray | None = None,
    method: str = "REML",
    test: str = "z",
    tau2: float | None = None,
) -> Fit:
    """Fit the (mixed-effects) meta-analytic model ``y = X b + u + e`` as metafor's rma.uni."""
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    k = y.size
    X = np.ones((k, 1)) if X is None else np.asarray(X, float)
    p = X.shape[1]
    iters = 0
    if tau2 is None:
        tau2, iters = tau2_estimate(method, y, v, X) if k > p else (0.0, 0)
    w, Minv, beta, r = _wls(y, v, X, tau2)
    vb = Minv
    s2w = 1.0
    df = np.inf
    if test == "knha" and k > p:
        rss = float((w * r * r).sum())
        s2w = rss / (k - p) if rss > np.finfo(float).eps else 0.0
        vb = s2w * Minv
        df = float(k - p)
    # heterogeneity (always with fixed-effect weights)
    if k > p:
        w0, Minv0, _, r0 = _wls(y, v, X, 0.0)
        q = max(0.0, float((w0 * r0 * r0).sum()))
        q_p = float(stats.chi2.sf(q, k - p))
        tr_p0, _ = _traces(w0, X, Minv0)
        vt = (k - p) / tr_p0
    else:
        q, q_p, vt = 0.0, 1.0, 0.0
    i2, h2 = _i2_h2(method, q, tau2, vt, k, p)
    return Fit(
        beta,
        vb,
        float(tau2),
        float(s2w),
        df,
        q,
        q_p,
        i2,
        h2,
        float(vt),
        k,
        p,
        method,
        test if k > p else "z",
        iters,
    )


def qprofile_tau2(y, v, X=None, level: float = 0.95) -> tuple[float, float]:
    """Q-profile confidence interval for tau² (Viechtbauer 2007), as confint.rma.uni."""
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    k = y.size
    X = np.ones((k, 1)) if X is None else X
    p = X.shape[1]
    alpha = 1.0 - level
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    q0 = q_gen(0.0, y, v, X)

    def root(target: float) -> float:
        def f(t):
            return q_gen(t, y, v, X) - target

        hi = _bracket_upper(f, 100.0)
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))

    if q0 < crit_l:
        return 0.0, 0.0
    ub = root(crit_l)
    lb = 0.0 if q0 < crit_u else root(crit_u)
    return lb, ub


# ---------------------------------------------------------------------------------------------
# Leave-one-out fits of the intercept-only model, vectorised over the deleted study.
# ---------------------------------------------------------------------------------------------

_PAIRS = ((1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2), (3, 0))
_EXACT_MAX = 200  # k up to which the deletion sums are evaluated exactly (k x k in chunks)


def _exact_sums(y, v, t, rows=None, include_self=False):
    """For each i in rows: sum_{j != i} y_j^b / (v_j + t_i)^a for the pairs in _PAIRS."""
    k = y.size
    rows = np.arange(k) if rows is None else rows
    out = {pair: np.empty(rows.size) for pair in _PAIRS}
    chunk = max(1, 2_000_000 // max(k, 1))
    for s in range(0, rows.size, chunk):
        idx = rows[s : s + chunk]
        u = 1.0 / (v[None, :] + t[idx, None])
        if not include_self:
            u[np.arange(idx.size), idx] = 0.0
        u2 = u * u
        u3 = u2 * u
        for a, b in _PAIRS:
            ua = (u, u2, u3)[a - 1]
            out[(a, b)][s : s + chunk] = ua @ (y**b)
    return out


def _taylor_sums(y, v, t):
    """Deletion sums via a Taylor expansion of (v + t)^-a around a common t0.

    sum_j y_j^b (v_j + t0 + d)^-a = sum_n binom(-a, n) d^n sum_j y_j^b (v_j + t0)^-(a+n),
    exact up to a geometric remainder in |d| / min(v + t0); rows with a large |d| fall back
    to the exact sums. This turns the k x k work of leave-one-out into O(k * terms).
    """
    k = y.size
    t0 = float(np.median(t))
    radius = float(np.min(v)) + t0
    d = t - t0
    ratio = np.abs(d) / radius
    near = ratio <= 0.5
    out = {pair: np.empty(k) for pair in _PAIRS}
    if near.any():
        rmax = float(ratio[near].max())
        n_terms = 2 if rmax == 0 else int(min(90, np.ceil(np.log(1e-18) / np.log(rmax)) + 4))
        u = 1.0 / (v + t0)
        max_pow = 3 + n_terms
        with np.errstate(over="ignore", invalid="ignore"):
            upow = np.cumprod(np.tile(u, (max_pow, 1)), axis=0)  # row m-1 holds u^m
            A = {b: upow @ (y**b) for b in (0, 1, 2)}  # A[b][m-1] = sum y^b u^m
        dn = d[near]
        dpow = np.cumprod(np.vstack([np.ones_like(dn)] + [dn] * n_terms), axis=0)  # d^n
        with np.errstate(over="ignore", invalid="ignore"):
            for a, b in _PAIRS:
                n = np.arange(n_terms + 1)
                coef = (-1.0) ** n * np.exp(
                    np.array([_lbinom(a + nn - 1, nn) for nn in n])
                )  # binom(-a, n)
                terms = coef[:, None] * A[b][a - 1 + n][:, None] * dpow
                self_term = y[near] ** b / (v[near] + t[near]) ** a
                out[(a, b)][near] = terms.sum(axis=0) - self_term
        # a series that overflows (variances spread over many orders of magnitude) is not
        # used: those rows get the exact sums
        bad = ~np.all([np.isfinite(out[pair][near]) for pair in _PAIRS], axis=0)
        near[np.flatnonzero(near)[bad]] = False
    far = np.flatnonzero(~near)
    if far.size:
        ex = _exact_sums(y, v, t, rows=far)
        for pair in _PAIRS:
            out[pair][far] = ex[pair]
    return out


def _lbinom(n: int, r: int) -> float:
    from math import lgamma

    return lgamma(n + 1) - lgamma(r + 1) - lgamma(n - r + 1)


def _sums(y, v, t):
    if y.size <= _EXACT_MAX:
        return _exact_sums(y, v, t)
    return _taylor_sums(y, v, t)


def _score_parts(S):
    s1 = S[(1, 0)]
    mu = S[(1, 1)] / s1
    rss = S[(1, 2)] - mu * S[(1, 1)]  # sum w (y - mu)^2
    yppy = S[(2, 2)] - 2 * mu * S[(2, 1)] + mu * mu * S[(2, 0)]
    tr_p = s1 - S[(2, 0)] / s1
    tr_pp = S[(2, 0)] - 2 * S[(3, 0)] / s1 + (S[(2, 0)] / s1) ** 2
    return s1, mu, rss, yppy, tr_p, tr_pp


def loo_fits(y, v, method: str, test: str, start_tau2: float) -> dict[str, np.ndarray]:
    """All k leave-one-out fits of the intercept-only model at once.

    Returns arrays (length k): ``estimate, vb (with s2w), s2w, tau2, q, vt, i2, h2, df`` and
    ``s1_all`` (sum over all k studies of 1/(v + tau2_(-i)), for DFBETAS).
    """
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    k = y.size
    c = float(np.sum(y / v) / np.sum(1.0 / v))  # centre y: same fits, less cancellation
    yc = y - c
    km = k - 1  # studies left
    zero = np.zeros(k)
    S0 = _sums(yc, v, zero)
    _s10, _mu0, q, _, trp0, _ = _score_parts(S0)
    q = np.maximum(q, 0.0)
    vt = (km - 1) / trp0
    if method == "FE":
        t = zero.copy()
    elif method == "DL":
        t = np.maximum(0.0, (q - (km - 1)) / trp0)
    elif method in ("HE", "SJ", "ML", "REML"):
        tot, tot2 = yc.sum(), (yc * yc).sum()
        sy, sy2 = tot - yc, tot2 - yc * yc
        rss_u = sy2 - sy * sy / km  # unweighted RSS without study i
        if method == "SJ":
            t0 = rss_u / km
            S = _sums(yc, v, t0)
            t = t0 * _score_parts(S)[2] / (km - 1)
        else:
            he = (rss_u - (v.sum() - v) * (1 - 1 / km)) / (km - 1)
            t = np.maximum(0.0, he)
            if method in ("ML", "REML"):
                t = np.full(k, max(start_tau2, 0.0))
                active = np.ones(k, bool)
                step = np.ones(k)  # damping factor per deletion, as in _tau2_iterative
                prev = np.zeros(k)
                for _ in range(_MAXITER):
                    S = _sums(yc, v, t)
                    s1, _, _, yppy, tr_p, tr_pp = _score_parts(S)
                    adj = (yppy - tr_p) / tr_pp if method == "REML" else (yppy - s1) / S[2, 0]
                    adj = np.where(active & np.isfinite(adj), adj, 0.0)
                    grow = (prev != 0) & (adj * prev < 0) & (np.abs(step * adj) >= np.abs(prev))
                    step = np.where(grow, step / 2.0, step)
                    adj = adj * step
                    stuck = (t == 0) & (adj < 0)
                    adj[stuck] = 0.0
                    new = np.maximum(t + adj, 0.0)
                    change = np.abs(new - t)
                    prev = new - t
                    t = new
                    active = change > _TOL * np.maximum(1.0, t)
                    if not active.any():
                        break
                else:
                    # the deletions still swinging: each refitted alone (damped scoring,
                    # then the bounded search), O(k) each
                    for i in np.flatnonzero(active):
                        keep = np.arange(k) != i
                        t[i] = _tau2_iterative(
                            method, yc[keep], v[keep], np.ones((km, 1)), float(t[i])
                        )[0]
    elif method == "PM":
        t = _loo_pm(yc, v, km, q, start_tau2)
    else:  # pragma: no cover
        raise AnalysisError(f"unknown method {method!r}")
    t = np.maximum(t, 0.0)
    S = _sums(yc, v, t)
    s1, mu, rss, _, _, _ = _score_parts(S)
    vb = 1.0 / s1
    s2w = np.ones(k)
    df = np.full(k, np.inf)
    if test == "knha":
        s2w = np.where(rss > np.finfo(float).eps, rss / (km - 1), 0.0)
        vb = vb * s2w
        df = np.full(k, float(km - 1))
    if method == "FE":
        i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - (km - 1)) / np.where(q > 0, q, 1)), 0.0)
        h2 = q / (km - 1)
    else:
        i2 = 100 * t / (vt + t)
        h2 = t / vt + 1
    s1_all = s1 + 1.0 / (v + t)
    return {
        "estimate": mu + c,
        "vb": vb,
        "s2w": s2w,
        "tau2": t,
        "q": q,
        "vt": vt,
        "i2": i2,
        "h2": h2,
        "df": df,
        "s1_all": s1_all,
    }


def _loo_pm(yc, v, km, q0, start):
    """Paule-Mandel for every deletion: safeguarded Newton on Q_gen(t) = km - 1."""
    target = km - 1
    k = yc.size
    t = np.where(q0 < target, 0.0, max(start, 0.0))
    lo = np.zeros(k)
    hi = np.full(k, np.inf)
    done = q0 < target
    for _ in range(_MAXITER):
        S = _sums(yc, v, t)
        _, _, rss, yppy, _, _ = _score_parts(S)
        f = rss - target
        lo = np.where(f > 0, np.maximum(lo, t), lo)
        hi = np.where(f <= 0, np.minimum(hi, t), hi)
        step = f / yppy  # dQ/dt = -sum w^2 (y - mu)^2
        new = t + step
        bad = (new <= lo) | (new >= hi)
        mid = np.where(np.isfinite(hi), (lo + hi) / 2, 2 * t + 1e-8)
        new = np.where(bad, mid, new)
        new = np.where(done, t, new)
        change = np.abs(new - t)
        t = new
        done = done | (change <= _TOL * np.maximum(1.0, t))
        if done.all():
            return t
    raise AnalysisError(
        "leave-one-out Paule-Mandel iterations did not converge"
    )  # pragma: no cover
