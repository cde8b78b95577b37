"""Multiplicity adjustment of a family of p-values (reanalysis and multi-arm trial planning).

:func:`adjust` returns adjusted p-values in the input order: reject hypothesis ``i`` at
family-wise level ``alpha`` when ``adjusted[i] <= alpha``.

- ``"bonferroni"``, ``"holm"`` (Holm 1979), ``"hochberg"`` (Hochberg 1988), ``"hommel"``
  (Hommel 1988) — as R ``p.adjust``;
- ``"dunnett"`` (single step) and ``"dunnett-stepdown"`` for many-to-one comparisons of
  normal statistics with a known correlation (Dunnett 1955; the step-down closed test of
  Marcus, Peritz & Gabriel 1976) — as ``mvtnorm::pmvnorm`` on the joint normal law;
- ``"graphical"``: the sequentially rejective graphical procedure of Bretz et al. (2009) with
  initial ``weights`` and a ``transitions`` matrix (Bonferroni-based; includes weighted
  Holm, fixed-sequence, fallback and gatekeeping schemes as special graphs).

:func:`dunnett_critical_value` gives the single-step critical value used when planning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import ndtr, ndtri

from ._validate import check_alpha, check_choice, check_float_array
from .errors import ParameterError
from .results import Result

__all__ = [
    "METHODS",
    "MultiplicityResult",
    "adjust",
    "dunnett_critical_value",
    "max_normal_cdf",
]

METHODS = ("bonferroni", "holm", "hochberg", "hommel", "dunnett", "dunnett-stepdown", "graphical")
MAX_HYPOTHESES = 200

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_EDGES = np.linspace(-9.0, 9.0, 37)  # 36 panels of width 0.5, 16 nodes each
_HALF = 0.5 * np.diff(_EDGES)
_X = ((_EDGES[:-1] + _EDGES[1:])[:, None] / 2 + _HALF[:, None] * _GL_X[None, :]).ravel()
_W = (_HALF[:, None] * _GL_W[None, :]).ravel() * np.exp(-0.5 * _X**2) / math.sqrt(2 * math.pi)


def _p_values(p: Any) -> np.ndarray:
    try:
        a = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        a = np.array([math.nan])
    if a.ndim != 1 or a.size == 0 or not np.all((a >= 0) & (a <= 1)):
        raise ParameterError("p_values", "a sequence of p-values in [0, 1]", p)
    if a.size > MAX_HYPOTHESES:
        raise ParameterError("p_values", f"at most {MAX_HYPOTHESES} hypotheses", a.size)
    return a


# ------------------------------------------------------------------------------ step-wise
def _holm(p: np.ndarray) -> np.ndarray:
    n = len(p)
    o = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * p[o]))
    out = np.empty(n)
    out[o] = adj
    return out


def _hochberg(p: np.ndarray) -> np.ndarray:
    n = len(p)
    o = np.argsort(p, kind="stable")[::-1]  # largest first
    adj = np.minimum(1.0, np.minimum.accumulate((np.arange(n) + 1) * p[o]))
    out = np.empty(n)
    out[o] = adj
    return out


def _hommel(p: np.ndarray) -> np.ndarray:
    """Closed Simes test: ``adj_i = max over sets J containing i of Simes(J)``.

    The Simes p-value ``min_j |J| p_(j) / j`` is non-decreasing in every p-value, so among
    sets of size ``m`` containing ``i`` the largest is ``{i}`` with the ``m - 1`` largest
    other p-values; the maximum over ``m`` is the closed-test adjusted p-value (Hommel 1988).
    Written from the definition (O(n^3), n <= MAX_HYPOTHESES).
    """
    n = len(p)
    o = np.argsort(p, kind="stable")
    s = p[o]
    adj_sorted = np.empty(n)
    for r in range(n):  # hypothesis with the r-th smallest p
        others = np.delete(s, r)  # ascending
        best = s[r]
        for m in range(2, n + 1):
            members = np.sort(np.r_[s[r], others[len(others) - (m - 1) :]])
            best = max(best, float(np.min(m * members / np.arange(1, m + 1))))
        adj_sorted[r] = min(best, 1.0)
    out = np.empty(n)
    out[o] = adj_sorted
    return out


# ------------------------------------------------------------------------------ graphical
def _check_graph(weights: Any, transitions: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        w = np.asarray(weights, dtype=float)
        g = np.asarray(transitions, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("weights", f"{n} weights and a {n} x {n} transition matrix") from None
    if w.shape != (n,) or np.any(w < 0) or w.sum() > 1 + 1e-9:
        raise ParameterError("weights", f"{n} non-negative weights summing to at most 1", weights)
    if g.shape != (n, n) or np.any(g < 0) or np.any(np.abs(np.diag(g)) > 0):
        raise ParameterError(
            "transitions", f"a non-negative {n} x {n} matrix with a zero diagonal", transitions
        )
    if np.any(g.sum(axis=1) > 1 + 1e-9):
        raise ParameterError("transitions", "rows summing to at most 1", transitions)
    return w, g


def _remove(w: np.ndarray, g: np.ndarray, j: int, active: np.ndarray) -> None:
    """Bretz et al. (2009) Algorithm 1, update step: pass node j's weight and edges on."""
    idx = np.nonzero(active)[0]
    idx = idx[idx != j]
    w[idx] += w[j] * g[j, idx]
    new = g.copy()
    for a in idx:
        for b in idx:
            if a == b:
                new[a, b] = 0.0
                continue
            den = 1.0 - g[a, j] * g[j, a]
            new[a, b] = (g[a, b] + g[a, j] * g[j, b]) / den if den > 1e-12 else 0.0
    g[:] = new
    w[j] = 0.0
    g[j, :] = 0.0
    g[:, j] = 0.0
    active[j] = False


def _graphical(p: np.ndarray, weights: Any, transitions: Any) -> np.ndarray:
    """Adjusted p-values of the graphical procedure (Bretz et al. 2009, section 4)."""
    n = len(p)
    w, g = _check_graph(weights, transitions, n)
    w, g = w.copy(), g.copy()
    active = np.ones(n, bool)
    adj = np.ones(n)
    floor = 0.0
    while active.any():
        idx = np.nonzero(active & (w > 0))[0]
        if len(idx) == 0:
            break  # the remaining hypotheses have no weight: never rejected
        ratio = p[idx] / w[idx]
        j = int(idx[np.argmin(ratio)])
        floor = max(floor, min(1.0, float(ratio.min())))
        adj[j] = floor
        _remove(w, g, j, active)
    return adj


# ------------------------------------------------------------------------------ Dunnett
def _factor_loadings(corr: np.ndarray) -> np.ndarray | None:
    """``lam`` with ``corr_ij = lam_i lam_j`` (i != j), or None (one-factor structure, as in
    many-to-one comparisons: ``lam_i = sqrt(n_i / (n_i + n_0))``)."""
    m = len(corr)
    if m == 1:
        return np.zeros(1)
    off = corr[~np.eye(m, dtype=bool)]
    if np.any(off < 0):
        return None
    if m == 2:
        lam = np.full(2, math.sqrt(corr[0, 1]))
    else:
        lam = np.empty(m)
        for i in range(m):
            j, k = [x for x in range(m) if x != i][:2]
            if corr[j, k] <= 0:
                return None
            lam[i] = math.sqrt(corr[i, j] * corr[i, k] / corr[j, k])
    prod = np.outer(lam, lam)
    mask = ~np.eye(m, dtype=bool)
    if np.any(lam >= 1) or not np.allclose(prod[mask], corr[mask], atol=1e-10):
        return None
    return lam


def _chi_nodes(df: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``s = sqrt(V / df)``, ``V ~ chi2(df)``: composite Gauss–Legendre
    over the central 1 - 2e-13 of its law (the multivariate t as a normal scale mixture)."""
    law = stats.chi(df, scale=1 / math.sqrt(df))
    lo, hi = law.ppf(1e-13), law.isf(1e-13)
    edges = np.linspace(lo, hi, 13)
    half = 0.5 * np.diff(edges)
    x = ((edges[:-1] + edges[1:])[:, None] / 2 + half[:, None] * _GL_X[None, :]).ravel()
    w = (half[:, None] * _GL_W[None, :]).ravel() * law.pdf(x)
    return x, w / w.sum()


def max_normal_cdf(
    x: float | Sequence[float], corr: np.ndarray, *, sided: int = 1, df: float | None = None
) -> float:
    """``P(Z_i < x_i for all i)`` (``sided=1``) or ``P(|Z_i| < x_i)`` (``sided=2``) for a
    standard multivariate normal ``Z`` with correlation ``corr`` — or, with ``df``, the
    multivariate t with ``df`` degrees of freedom (``Z / s``, ``s**2 ~ chi2(df) / df``).

    One-factor correlations (every many-to-one comparison) by the one-dimensional integral
    ``int phi(u) prod_i Phi((x_i - lam_i u) / sqrt(1 - lam_i^2)) du`` (Dunnett 1955), composite
    Gauss–Legendre, accurate to about 1e-12 (the t: that integral averaged over ``s``, about
    1e-10); other correlations by scipy's multivariate normal / t CDF (Genz's algorithms,
    ~1e-7 and ~1e-5).
    """
    corr = np.asarray(corr, dtype=float)
    m = len(corr)
    xv = np.broadcast_to(np.asarray(x, dtype=float), (m,))
    lam = _factor_loadings(corr)
    if lam is not None:
        sq = np.sqrt(1 - lam**2)

        def normal(xx: np.ndarray) -> float:
            up = (xx[:, None] - lam[:, None] * _X[None, :]) / sq[:, None]
            terms = ndtr(up)
            if sided == 2:
                terms = terms - ndtr((-xx[:, None] - lam[:, None] * _X[None, :]) / sq[:, None])
            return float(_W @ np.prod(terms, axis=0))

        if df is None:
            return normal(xv)
        sn, sw = _chi_nodes(df)
        return float(sum(wi * normal(xv * si) for si, wi in zip(sn, sw, strict=True)))
    if df is None:
        mvn = stats.multivariate_normal(
            mean=np.zeros(m), cov=corr, maxpts=1_000_000, abseps=1e-7, releps=1e-7
        )
        return float(mvn.cdf(xv) if sided == 1 else mvn.cdf(xv, lower_limit=-xv))
    mvt = stats.multivariate_t(loc=np.zeros(m), shape=corr, df=df)
    kw = {"maxpts": 1_000_000, "abseps": 1e-6, "releps": 1e-6}
    return float(mvt.cdf(xv, **kw) if sided == 1 else mvt.cdf(xv, lower_limit=-xv, **kw))


def _check_corr(correlation: Any, n: int) -> np.ndarray:
    if correlation is None:
        raise ParameterError("correlation", "the correlation matrix of the test statistics")
    c = check_float_array("correlation", correlation, f"a correlation matrix ({n} x {n})")
    if c.ndim == 0:
        c = np.full((n, n), float(c))
        np.fill_diagonal(c, 1.0)
    ok = (
        c.shape == (n, n)
        and np.all(np.isfinite(c))
        and np.allclose(c, c.T)
        and np.allclose(np.diag(c), 1.0)
        and np.all(np.linalg.eigvalsh(c) > -1e-12)
    )
    if not ok:
        raise ParameterError("correlation", f"a correlation matrix ({n} x {n})", correlation)
    return c


def _dunnett(
    p: np.ndarray, corr: np.ndarray, sided: int, stepdown: bool, df: float | None
) -> np.ndarray:
    z = ndtri(1 - p / sided) if df is None else stats.t.isf(p / sided, df)
    z = np.where(np.isfinite(z), z, np.sign(z) * 40.0)
    n = len(p)
    if not stepdown:
        return np.array(
            [
                min(1.0, max(0.0, 1 - max_normal_cdf(z[i], corr, sided=sided, df=df)))
                for i in range(n)
            ]
        )
    o = np.argsort(-z, kind="stable")  # largest statistic first
    adj = np.empty(n)
    floor = 0.0
    for r, i in enumerate(o):
        rest = o[r:]
        val = 1 - max_normal_cdf(z[i], corr[np.ix_(rest, rest)], sided=sided, df=df)
        floor = max(floor, min(1.0, max(0.0, val)))
        adj[i] = floor
    return adj


def dunnett_critical_value(
    alpha: float, correlation: Any, *, sided: int = 1, df: float | None = None
) -> float:
    """Single-step Dunnett critical value ``c``: ``P(max Z_i >= c) = alpha`` under H0
    (``|Z_i|`` when ``sided=2``), for the given correlation (matrix, or one common value)
    — as ``mvtnorm::qmvnorm(1 - alpha, corr = ..., tail = "lower.tail")``; with ``df`` the
    multivariate t (``qmvt``), for t tests with a pooled variance on ``df`` degrees of freedom.

    Examples
    --------
    Three arms against a shared control with equal sizes (correlation 0.5):

    >>> from trial_analysis.multiplicity import dunnett_critical_value
    >>> round(dunnett_critical_value(0.025, [[1, .5, .5], [.5, 1, .5], [.5, .5, 1]]), 4)
    2.349
    """
    alpha = check_alpha(alpha)
    corr = check_float_array("correlation", correlation, "a correlation matrix or one value")
    n = len(corr) if corr.ndim == 2 else 2
    corr = _check_corr(correlation, n)
    if sided not in (1, 2):
        raise ParameterError("sided", "1 or 2", sided)
    return float(
        optimize.brentq(
            lambda c: 1 - max_normal_cdf(c, corr, sided=sided, df=df) - alpha,
            0.0,
            60.0,
            xtol=1e-13,
        )
    )


# ------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class MultiplicityResult(Result):
    """Adjusted p-values of a family of hypotheses (input order)."""

    method: str
    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    labels: tuple[str, ...]
    alpha: float
    title: ClassVar[str] = "Multiplicity adjustment"

    @property
    def rejected(self) -> tuple[bool, ...]:
        return tuple(a <= self.alpha for a in self.adjusted)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "hypothesis": self.labels,
                "p_value": self.p_values,
                "p_adjusted": self.adjusted,
                "rejected": self.rejected,
            }
        )

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.adjusted, dtype=dtype)

    def __len__(self) -> int:
        return len(self.adjusted)

    def __getitem__(self, i: int) -> float:
        return self.adjusted[i]

    @property
    def notes(self) -> tuple[str, ...]:
        k = sum(self.rejected)
        return (
            f"{self.method}: {k} of {len(self.adjusted)} hypotheses rejected at family-wise "
            f"level {self.alpha:g}.",
        )


def adjust(
    p_values: Sequence[float],
    method: str = "holm",
    *,
    alpha: float = 0.05,
    weights: Sequence[float] | None = None,
    transitions: Any = None,
    correlation: Any = None,
    sided: int = 1,
    df: float | None = None,
    labels: Sequence[str] | None = None,
) -> MultiplicityResult:
    """Adjusted p-values of a family of hypotheses, in the input order.

    Parameters
    ----------
    p_values : sequence of float
        Unadjusted p-values (one-sided when ``sided=1`` for the Dunnett methods).
    method : str
        One of :data:`METHODS` (see the module documentation).
    alpha : float
        Family-wise level, used only for the ``rejected`` column.
    weights, transitions
        The graph of ``method="graphical"``: initial weights (summing to at most 1) and the
        transition matrix ``G`` (zero diagonal, rows summing to at most 1).
    correlation : array or float
        Correlation of the z statistics (Dunnett methods): a matrix, or one common value;
        for arms ``1..k`` against a shared control, ``corr_ij = sqrt(n_i n_j / ((n_i + n_0)(n_j +
        n_0)))``.
    sided : {1, 2}
        Dunnett methods: the p-values are one-sided (``P(Z >= z)``) or two-sided.
    df : float, optional
        Dunnett methods for means: the p-values come from t tests with a pooled variance on
        ``df`` degrees of freedom (multivariate t, Dunnett 1955); default normal (z tests).
    labels : sequence of str, optional
        Names of the hypotheses for the table.

    Returns
    -------
    MultiplicityResult
        Behaves as the sequence of adjusted p-values (``np.asarray(result)``), with
        ``to_frame()`` and ``rejected``.

    References
    ----------
    .. [1] Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat
       1979;6:65-70.
    .. [2] Hochberg Y. A sharper Bonferroni procedure for multiple tests of significance.
       Biometrika 1988;75:800-2.
    .. [3] Hommel G. A stagewise rejective multiple test procedure based on a modified
       Bonferroni test. Biometrika 1988;75:383-6.
    .. [4] Dunnett CW. A multiple comparison procedure for comparing several treatments with a
       control. JASA 1955;50:1096-121.
    .. [5] Bretz F, Maurer W, Brannath W, Posch M. A graphical approach to sequentially
       rejective multiple test procedures. Stat Med 2009;28:586-604.

    Examples
    --------
    >>> from trial_analysis.multiplicity import adjust
    >>> [round(x, 4) for x in adjust([0.01, 0.04, 0.03, 0.005], "holm")]
    [0.03, 0.06, 0.06, 0.02]
    """
    p = _p_values(p_values)
    method = check_choice("method", method, METHODS)
    alpha = check_alpha(alpha)
    n = len(p)
    if labels is None:
        labs = tuple(f"H{i + 1}" for i in range(n))
    else:
        labs = tuple(str(x) for x in labels)
        if len(labs) != n:
            raise ParameterError("labels", f"{n} names (one per p-value)", labels)
    if method != "graphical" and (weights is not None or transitions is not None):
        raise ParameterError("weights", "given only with method='graphical'", weights)
    if method == "bonferroni":
        adj = np.minimum(1.0, n * p)
    elif method == "holm":
        adj = _holm(p)
    elif method == "hochberg":
        adj = _hochberg(p)
    elif method == "hommel":
        adj = _hommel(p)
    elif method == "graphical":
        if weights is None or transitions is None:
            raise ParameterError("weights", "initial weights and a transitions matrix (graphical)")
        adj = _graphical(p, weights, transitions)
    else:
        if sided not in (1, 2):
            raise ParameterError("sided", "1 or 2", sided)
        if df is not None and not (isinstance(df, (int, float)) and df > 0 and math.isfinite(df)):
            raise ParameterError("df", "positive degrees of freedom", df)
        adj = _dunnett(p, _check_corr(correlation, n), sided, method == "dunnett-stepdown", df)
    return MultiplicityResult(
        method=method,
        p_values=tuple(float(x) for x in p),
        adjusted=tuple(float(x) for x in adj),
        labels=labs,
        alpha=alpha,
    )
