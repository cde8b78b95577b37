"""P-values of the two-arm binary tests for every 2x2 table with given arm sizes, vectorised.

``pvalue_grid(n1, n2, test, alternative)`` returns an ``(n1 + 1, n2 + 1)`` array whose entry
``[x1, x2]`` is the p-value of the table ``x1/n1`` vs ``x2/n2`` (arm 1 = experimental). Exact
power (``trial_analysis.power``), the fragility index and the exact intervals build on it.

Unconditional exact tests (Barnard, Boschloo) are computed for all tables at once: the tables
are ordered by the test statistic, binomial-product probabilities are cumulated along that
order on a grid of the nuisance parameter, the maximum over the grid is taken for every table
and then refined by a vectorised golden-section search in the two grid cells around it (the
usual construction, e.g. Mehta & Hilton 1993; Fagerland et al. 2017, sec. 4.4). scipy's
``barnard_exact``/``boschloo_exact`` compute one table per call with a global optimiser, which
is far too slow for a fragility search or exact power; they are the peer reference in the
tests and the baseline in ``benchmarks/binary.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ndtr, xlogy
from scipy.stats import chi2

from .. import limits
from .._validate import check_choice, check_count

__all__ = [
    "ALTERNATIVES",
    "DEFAULT_NUISANCE_POINTS",
    "TESTS",
    "pvalue_grid",
    "pvalues",
    "statistic_grid",
]

TESTS = ("fisher", "fisher_midp", "chisq", "chisq_yates", "z_pooled", "lr", "barnard", "boschloo")
ALTERNATIVES = ("two-sided", "greater", "less")
#: Points of the nuisance-parameter grid on [0, 1] before the local refinement.
DEFAULT_NUISANCE_POINTS = 1001
_GOLDEN_ITERS = 30  # bracket 2/1000 shrinks by 0.618**30: below 1e-9
_REL_FISHER = 1e-7  # R's fisher.test: tables with d <= d_obs * (1 + 1e-7) count as "as extreme"
_REL_TIE = 1e-9  # statistic ties in the unconditional tests
_DIRECT_MAX = 64  # up to this many tables, their tail coefficients are built one by one


def _lchoose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _tables(n1: int, n2: int):
    x1 = np.arange(n1 + 1)[:, None] * np.ones((1, n2 + 1), dtype=int)
    x2 = np.ones((n1 + 1, 1), dtype=int) * np.arange(n2 + 1)[None, :]
    return x1, x2


# --------------------------------------------------------------------------------------
# conditional (Fisher) p-values
# --------------------------------------------------------------------------------------
def _fisher_grid(n1: int, n2: int, alternative: str, midp: bool) -> np.ndarray:
    """Fisher p-values of all tables, one margin ``m = x1 + x2`` at a time."""
    out = np.empty((n1 + 1, n2 + 1))
    nn = n1 + n2
    for m in range(nn + 1):
        lo, hi = max(0, m - n2), min(n1, m)
        x = np.arange(lo, hi + 1)
        logd = _lchoose(n1, x) + _lchoose(n2, m - x) - _lchoose(nn, m)
        d = np.exp(logd - logd.max())
        d /= d.sum()
        if alternative == "greater":
            tail = np.cumsum(d[::-1])[::-1]  # P(X >= x)
            p = tail - 0.5 * d if midp else tail
        elif alternative == "less":
            tail = np.cumsum(d)
            p = tail - 0.5 * d if midp else tail
        else:
            order = np.sort(d)
            cum = np.cumsum(order)
            idx = np.searchsorted(order, d * (1 + _REL_FISHER), side="right")
            p = cum[idx - 1]
            if midp:
                p = p - 0.5 * d
        out[x, m - x] = np.minimum(p, 1.0)
    return out


# --------------------------------------------------------------------------------------
# asymptotic tests
# --------------------------------------------------------------------------------------
def _pearson(x1, x2, n1, n2, yates: bool):
    nn = n1 + n2
    m = x1 + x2
    diff = x1 * n2 - x2 * n1  # N * (O - E) in cell (1, 1)
    den = n1 * n2 * m * (nn - m)
    num = np.abs(diff).astype(float)
    if yates:
        num = num - np.minimum(nn / 2, num)  # R: YATES = min(0.5, |O - E|)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(den > 0, nn * num**2 / den, 0.0)
    return stat, np.sign(diff)


def _lr(x1, x2, n1, n2):
    nn = n1 + n2
    m = x1 + x2
    obs = [x1, n1 - x1, x2, n2 - x2]
    exp = [n1 * m / nn, n1 * (nn - m) / nn, n2 * m / nn, n2 * (nn - m) / nn]
    g = np.zeros(np.shape(x1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for o, e in zip(obs, exp, strict=True):
            g = g + np.where(o > 0, 2 * xlogy(o, o) - 2 * xlogy(o, e), 0.0)
    g = np.maximum(g, 0.0)
    return g, np.sign(x1 * n2 - x2 * n1)


def _asymptotic_p(stat, sign, alternative):
    if alternative == "two-sided":
        return chi2.sf(stat, 1)
    z = sign * np.sqrt(stat)
    return ndtr(-z) if alternative == "greater" else ndtr(z)


def statistic_grid(n1: int, n2: int, test: str) -> np.ndarray:
    """Test statistic of every table: chi-square / G / z (signed, p1 - p2 > 0 positive)."""
    x1, x2 = _tables(n1, n2)
    if test in ("chisq", "chisq_yates"):
        return _pearson(x1, x2, n1, n2, test == "chisq_yates")[0]
    if test == "lr":
        return _lr(x1, x2, n1, n2)[0]
    if test in ("z_pooled", "barnard"):
        stat, sign = _pearson(x1, x2, n1, n2, False)
        return sign * np.sqrt(stat)
    raise ValueError(test)


# --------------------------------------------------------------------------------------
# unconditional exact tests
# --------------------------------------------------------------------------------------
def _binom_pmf(n: int, pi: np.ndarray) -> np.ndarray:
    """b(s; n, pi) for s = 0..n (columns) and each pi (rows)."""
    s = np.arange(n + 1)
    # pi in {0, 1} is clipped by 1e-300 / 2**-53: the pmf is then exact to ~1e-16 absolute.
    pi = np.clip(np.asarray(pi, dtype=float), 1e-300, 1 - 2.0**-53)[:, None]
    return np.exp(_lchoose(n, s)[None, :] + s * np.log(pi) + (n - s) * np.log1p(-pi))


def _tail_coefficients(n1: int, n2: int, extremeness: np.ndarray) -> np.ndarray:
    """``A[t, s]``: hypergeometric mass of the tables with margin ``s`` as extreme as ``t``.

    ``P(T >= T(t); pi) = sum_s A[t, s] b(s; N, pi)`` because the probability of a table is
    its hypergeometric probability given the margin ``s = x1 + x2`` times ``b(s; N, pi)``.
    This writes the whole family of tail probabilities with ``N + 1`` coefficients per
    table, so the supremum over ``pi`` costs O(N) per table and evaluation point instead of
    O(number of tables), and stays well scaled for any ``n`` (no huge binomial coefficients).
    """
    x1, x2 = _tables(n1, n2)
    nn = n1 + n2
    s = (x1 + x2).ravel()
    h = np.exp(_lchoose(n1, x1) + _lchoose(n2, x2) - _lchoose(nn, x1 + x2)).ravel()
    e = extremeness.ravel()
    order = np.argsort(-e, kind="stable")  # most extreme first
    sorted_neg = -e[order]
    tol = _REL_TIE * np.maximum(np.abs(e), 1e-300) + 1e-14
    # last sorted index j with e[j] >= e_t - tol: the tables "at least as extreme" as t
    last = np.searchsorted(sorted_neg, -e + tol, side="right") - 1
    m = np.zeros((e.size, nn + 1))
    m[np.arange(e.size), s[order]] = h[order]
    np.cumsum(m, axis=0, out=m)  # in place: this array is (n1+1)(n2+1) x (N+1)
    return m[last]


def _tail_coefficients_direct(
    n1: int, n2: int, extremeness: np.ndarray, tables: np.ndarray
) -> np.ndarray:
    """Rows of :func:`_tail_coefficients` for a few tables, in O(tables x (n1+1)(n2+1)) time
    and memory (the full matrix has (n1+1)(n2+1) x (N+1) entries: 16 GB at n = 1000 per arm)."""
    x1, x2 = _tables(n1, n2)
    nn = n1 + n2
    s = (x1 + x2).ravel()
    h = np.exp(_lchoose(n1, x1) + _lchoose(n2, x2) - _lchoose(nn, x1 + x2)).ravel()
    e = extremeness.ravel()
    out = np.empty((len(tables), nn + 1))
    for i, t in enumerate(tables):
        tol = _REL_TIE * max(abs(e[t]), 1e-300) + 1e-14
        mask = e >= e[t] - tol
        out[i] = np.bincount(s[mask], weights=h[mask], minlength=nn + 1)
    return out


def _unconditional(
    n1: int,
    n2: int,
    extremeness: np.ndarray,
    tables: np.ndarray | None,
    points: int,
) -> np.ndarray:
    """sup over pi of P(T >= T_obs; pi), for the flat table indices ``tables`` (or all)."""
    if tables is not None and len(np.atleast_1d(tables)) <= _DIRECT_MAX:
        coef = _tail_coefficients_direct(n1, n2, extremeness, np.atleast_1d(tables))
    else:
        coef = _tail_coefficients(n1, n2, extremeness)
        if tables is not None:
            coef = coef[np.asarray(tables)]
    nn = n1 + n2
    grid = np.linspace(0.0, 1.0, points)
    pmf_t = _binom_pmf(nn, grid).T
    arg = np.empty(len(coef), dtype=int)
    best = np.empty(len(coef))
    block = max(1, int(4e6 // points))  # bounds the tables x grid block to ~32 MB
    for b0 in range(0, len(coef), block):
        vals = coef[b0 : b0 + block] @ pmf_t
        a = np.argmax(vals, axis=1)
        arg[b0 : b0 + block] = a
        best[b0 : b0 + block] = vals[np.arange(len(a)), a]

    # Golden-section refinement on [grid[i-1], grid[i+1]] for every table at once (one new
    # evaluation per iteration; the bracket of width 2/(points-1) shrinks by 0.618 each time).
    def f(pi):
        return np.einsum("ts,ts->t", coef, _binom_pmf(nn, pi))

    a = grid[np.maximum(arg - 1, 0)]
    b = grid[np.minimum(arg + 1, points - 1)]
    r = (np.sqrt(5) - 1) / 2
    c1, c2 = b - r * (b - a), a + r * (b - a)
    f1, f2 = f(c1), f(c2)
    for _ in range(_GOLDEN_ITERS):
        best = np.maximum(best, np.maximum(f1, f2))
        left = f1 >= f2
        # keep [a, c2] (new interior point left of c1) or [c1, b] (new point right of c2)
        a, b = np.where(left, a, c1), np.where(left, c2, b)
        new = np.where(left, b - r * (b - a), a + r * (b - a))
        fn = f(new)
        c1, c2, f1, f2 = (
            np.where(left, new, c2),
            np.where(left, c1, new),
            np.where(left, fn, f2),
            np.where(left, f1, fn),
        )
    best = np.maximum(best, np.maximum(f1, f2))
    return np.minimum(best, 1.0)


def _extremeness(n1: int, n2: int, test: str, alternative: str) -> np.ndarray:
    """Larger = more extreme, for the unconditional tests."""
    if test == "barnard":
        z = statistic_grid(n1, n2, "z_pooled")
        return {"two-sided": np.abs(z), "greater": z, "less": -z}[alternative]
    # Boschloo: the statistic is Fisher's one-sided p-value (smaller = more extreme).
    p = _fisher_grid(n1, n2, alternative, midp=False)
    return -p


# Rough costs for the bounds checked before any grid is built (measured on the 2-core
# reference machine, see docs/limits.md): the conditional and asymptotic grids hold a few
# arrays of one number per table; the unconditional tests hold (N + 1) tail coefficients per
# table (three such arrays at the peak) and evaluate them at every nuisance point.
_BYTES_PER_TABLE = 64
_BYTES_PER_COEF = 24
_SECONDS_PER_COEF_POINT = 7e-10
_SECONDS_PER_TABLE = 5e-7


def grid_cost(
    n1: int, n2: int, test: str, points: int = DEFAULT_NUISANCE_POINTS
) -> tuple[float, float]:
    """Estimated (bytes, seconds) of :func:`pvalue_grid` for arm sizes ``n1``, ``n2``."""
    tables = (n1 + 1.0) * (n2 + 1.0)
    if test not in ("barnard", "boschloo"):
        return _BYTES_PER_TABLE * tables, _SECONDS_PER_TABLE * tables
    coef = tables * (n1 + n2 + 1.0)
    sides = 2 if test == "boschloo" else 1  # two-sided Boschloo: both one-sided grids
    return (
        _BYTES_PER_TABLE * tables + _BYTES_PER_COEF * coef,
        sides * _SECONDS_PER_COEF_POINT * coef * (points + 2 * _GOLDEN_ITERS),
    )


def check_grid_cost(n1: int, n2: int, test: str, points: int = DEFAULT_NUISANCE_POINTS) -> None:
    """Refuse (before any work) a p-value grid beyond ``limits`` ``max_memory``/``max_seconds``."""
    mem, sec = grid_cost(n1, n2, test, points)
    tables = (n1 + 1.0) * (n2 + 1.0)
    if test in ("barnard", "boschloo"):
        advice = (
            "use a smaller n1/n2, the Fisher test (test='fisher') or an asymptotic test "
            "(chisq, z_pooled)"
        )
    else:
        advice = "use an asymptotic test (chisq, z_pooled; normal_* for power) or simulation"
    limits.check_cost(
        f"the {test} p-value grid for n1 = {n1}, n2 = {n2} ({tables:.2g} tables)",
        parameter="n1/n2",
        memory=mem,
        seconds=sec,
        advice=advice,
    )


def _check(n1, n2, test, alternative, points):
    n1 = check_count("n1", n1, minimum=1)
    n2 = check_count("n2", n2, minimum=1)
    check_choice("test", test, TESTS)
    check_choice("alternative", alternative, ALTERNATIVES)
    points = check_count("nuisance_points", points, minimum=3)
    return n1, n2, points


def _compute(n1, n2, test, alternative, points, tables=None) -> np.ndarray:
    """p-values for all tables (grid) or for flat table indices ``tables``."""
    if test in ("barnard", "boschloo"):
        if test == "boschloo" and alternative == "two-sided":
            # Two-sided Boschloo = twice the smaller one-sided p-value (as scipy.stats).
            pg = _unconditional(n1, n2, _extremeness(n1, n2, test, "greater"), tables, points)
            pl = _unconditional(n1, n2, _extremeness(n1, n2, test, "less"), tables, points)
            p = np.minimum(2 * np.minimum(pg, pl), 1.0)
        else:
            p = _unconditional(n1, n2, _extremeness(n1, n2, test, alternative), tables, points)
        return p.reshape(n1 + 1, n2 + 1) if tables is None else p
    x1, x2 = _tables(n1, n2)
    if test in ("fisher", "fisher_midp"):
        grid = _fisher_grid(n1, n2, alternative, midp=test == "fisher_midp")
    elif test == "lr":
        grid = _asymptotic_p(*_lr(x1, x2, n1, n2), alternative)
    else:
        grid = _asymptotic_p(*_pearson(x1, x2, n1, n2, test == "chisq_yates"), alternative)
    return grid if tables is None else grid.ravel()[np.asarray(tables)]


def pvalue_grid(
    n1: int,
    n2: int,
    test: str = "fisher",
    alternative: str = "two-sided",
    *,
    nuisance_points: int = DEFAULT_NUISANCE_POINTS,
) -> np.ndarray:
    """P-values of a two-arm binary test for every table with arm sizes ``n1``, ``n2``.

    Parameters
    ----------
    n1, n2 : int
        Arm sizes (arm 1 = experimental).
    test : str, default "fisher"
        ``"fisher"`` (two-sided as R's ``fisher.test``), ``"fisher_midp"``, ``"chisq"``
        (Pearson), ``"chisq_yates"``, ``"z_pooled"``, ``"lr"`` (likelihood ratio G),
        ``"barnard"`` (unconditional, pooled z statistic), ``"boschloo"`` (unconditional,
        Fisher's one-sided p as statistic).
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: p1 > p2.
    nuisance_points : int, default 1001
        Equally spaced points on [0, 1] for the nuisance parameter of the unconditional
        tests before the golden-section refinement around the best point.

    Returns
    -------
    numpy.ndarray
        Shape ``(n1 + 1, n2 + 1)``; entry ``[x1, x2]`` is the p-value of ``x1/n1 vs x2/n2``.

    Notes
    -----
    - Fisher two-sided: sum of the hypergeometric probabilities ``<= d_obs (1 + 1e-7)``
      (R's ``fisher.test``). Mid-p: Fisher p minus half the observed table's probability
      (Fagerland, Lydersen & Laake 2017, sec. 4.4.5); one-sided: ``P(X > x) + P(X = x) / 2``.
    - Pearson with Yates: ``(|ad - bc| - min(N/2, |ad - bc|))^2 N / (n1 n2 m (N - m))`` as
      R's ``chisq.test``/``prop.test``. Tables with ``x1 + x2`` equal to 0 or ``N`` have no
      information: their statistic is set to 0 and the p-value to 1 (R returns NaN).
    - One-sided asymptotic tests use the signed square root of the statistic (as
      ``prop.test``). ``z_pooled`` and ``chisq`` therefore agree (z^2 = X^2).
    - Barnard: ``sup_pi sum_{T(y) >= T(x)} b(y1; n1, pi) b(y2; n2, pi)`` with ``T`` the
      pooled z (``|z|`` two-sided), as ``scipy.stats.barnard_exact(pooled=True)``.
      Boschloo: the same with Fisher's one-sided p as ``T``; two-sided = twice the smaller
      one-sided p-value, as ``scipy.stats.boschloo_exact``.

    References
    ----------
    Barnard GA (1947). Biometrika 34:123-138. Boschloo RD (1970). Stat Neerl 24:1-35.
    Fagerland MW, Lydersen S, Laake P (2017). Statistical Analysis of Contingency Tables.
    CRC Press, ch. 4.

    Examples
    --------
    >>> from trial_analysis.binary import pvalue_grid
    >>> round(float(pvalue_grid(45, 44, "fisher")[9, 2]), 4)  # Zang 2022: 9/45 vs 2/44
    0.0496
    """
    n1, n2, points = _check(n1, n2, test, alternative, nuisance_points)
    check_grid_cost(n1, n2, test, points)
    return _compute(n1, n2, test, alternative, points)


def pvalues(
    x1,
    n1: int,
    x2,
    n2: int,
    test: str = "fisher",
    alternative: str = "two-sided",
    *,
    nuisance_points: int = DEFAULT_NUISANCE_POINTS,
) -> np.ndarray:
    """P-values for selected tables ``x1[i]/n1 vs x2[i]/n2`` (same arm sizes).

    Cheaper than :func:`pvalue_grid` for the unconditional tests when few tables are needed
    (the refinement runs only for those tables).
    """
    n1, n2, points = _check(n1, n2, test, alternative, nuisance_points)
    x1 = np.atleast_1d(np.asarray(x1, dtype=int))
    x2 = np.atleast_1d(np.asarray(x2, dtype=int))
    if np.any((x1 < 0) | (x1 > n1)) or np.any((x2 < 0) | (x2 > n2)):
        raise ValueError("table counts out of range")
    # a few tables of an unconditional test are computed directly, without the full matrix
    direct = test in ("barnard", "boschloo") and len(x1) <= _DIRECT_MAX
    check_grid_cost(n1, n2, "fisher" if direct else test, points)
    flat = x1 * (n2 + 1) + x2
    return _compute(n1, n2, test, alternative, points, tables=flat)
