"""Exact unconditional confidence interval for a risk difference (Chan & Zhang 1999).

The interval inverts two one-sided exact unconditional tests of ``H0: p1 - p2 = delta``, each
at level ``(1 - conf_level) / 2``, ordering the tables by the Miettinen-Nurminen score
statistic. The p-value of each test is the supremum over the nuisance parameter ``p2`` of the
binomial-product probability of the tables at least as extreme as the observed one:

``L = inf{delta : P_delta(T >= t_obs) > alpha / 2}``, ``U = sup{delta : P_delta(T <= t_obs) > alpha / 2}``.

The supremum is taken on an equally spaced grid of ``p2`` (``points``, default 201) over its
admissible range, then refined on three nested finer grids around the best point; each limit
is found by bisection on ``delta`` (tolerance 1e-9). No Python package has this interval
(R: exact2x2 ``uncondExact2x2(method="score")``, which is not installable here); the R script
``tests/reference/binary.R`` recomputes it independently by brute force.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ._intervals import mn_score

_TIE = 1e-9


class _Binom:
    """log binomial pmf of x = 0..n at many p (cached log binomial coefficients)."""

    def __init__(self, n: int):
        self.n = n
        self.x = np.arange(n + 1)
        self.lc = gammaln(n + 1) - gammaln(self.x + 1) - gammaln(n - self.x + 1)

    def pmf(self, p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-300, 1 - 2.0**-53)[..., None]
        return np.exp(self.lc + self.x * np.log(p) + (self.n - self.x) * np.log1p(-p))


def _regions(x1: int, n1: int, x2: int, n2: int, deltas: np.ndarray, tail: str) -> np.ndarray:
    """Indicator of the tables at least as extreme as the observed one, for each delta."""
    t1 = np.arange(n1 + 1)[None, :, None]
    t2 = np.arange(n2 + 1)[None, None, :]
    stat = mn_score(t1, n1, t2, n2, deltas[:, None, None])
    t_obs = stat[:, x1, x2][:, None, None]
    fin = np.isfinite(t_obs)
    tol = np.where(fin, _TIE * np.maximum(np.abs(np.where(fin, t_obs, 0.0)), 1.0), 0.0)
    with np.errstate(invalid="ignore"):
        if tail == "greater":
            return (stat >= t_obs - tol).astype(float)
        return (stat <= t_obs + tol).astype(float)


def exact_pvalues_rd(
    x1: int, n1: int, x2: int, n2: int, deltas, tail: str, points: int = 201
) -> np.ndarray:
    """One-sided exact unconditional p-values of ``H0: p1 - p2 = delta`` for many deltas.

    ``tail="greater"``: evidence for ``p1 - p2 > delta`` (tables with ``T >= t_obs``, ``T``
    the Miettinen-Nurminen score). The supremum over ``p2`` uses ``points`` equally spaced
    values on its admissible range and three nested grids of 41 points on the two cells
    around the best value (cell width shrinks 20-fold each time: 5e-3 -> 2.5e-4 -> 1.25e-5
    -> 6e-7 for 201 points), keeping the largest value seen.
    """
    deltas = np.atleast_1d(np.asarray(deltas, dtype=float))
    region = _regions(x1, n1, x2, n2, deltas, tail)  # D x (n1+1) x (n2+1)
    b1, b2 = _Binom(n1), _Binom(n2)
    lo = np.maximum(0.0, -deltas)
    hi = np.minimum(1.0, 1.0 - deltas)

    def f(p2: np.ndarray) -> np.ndarray:  # p2: D x G
        q1 = b1.pmf(np.clip(p2 + deltas[:, None], 0.0, 1.0))  # D x G x (n1+1)
        q2 = b2.pmf(p2)  # D x G x (n2+1)
        return (np.matmul(q1, region) * q2).sum(axis=2)

    u = np.linspace(0.0, 1.0, points)[None, :]
    grid = lo[:, None] + (hi - lo)[:, None] * u
    best = np.full(deltas.shape, -np.inf)
    rows = np.arange(len(deltas))
    for _ in range(4):
        vals = f(grid)
        i = np.argmax(vals, axis=1)
        best = np.maximum(best, vals[rows, i])
        g = grid.shape[1]
        a = grid[rows, np.maximum(i - 1, 0)]
        b = grid[rows, np.minimum(i + 1, g - 1)]
        grid = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, 41)[None, :]
    return np.minimum(best, 1.0)


def exact_pvalue_rd(
    x1: int, n1: int, x2: int, n2: int, delta: float, tail: str, points: int = 201
) -> float:
    """Scalar version of :func:`exact_pvalues_rd`."""
    return float(exact_pvalues_rd(x1, n1, x2, n2, [delta], tail, points)[0])


def rd_exact_unconditional(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    conf_level: float = 0.95,
    points: int = 201,
    scan_points: int = 25,
) -> tuple[float, float, float]:
    """Chan-Zhang exact unconditional interval for ``p1 - p2``: ``(estimate, low, high)``.

    Each limit: a scan of ``scan_points`` values of ``delta`` from the outer end (-1 or 1)
    towards the estimate finds the first value inside the confidence set; 28 bisections of
    the cell before it follow (width < 1e-9). A spike of the saw-toothed p-value function
    narrower than a scan cell could be missed; the scan cell is at most 2/24.
    """
    a2 = (1 - conf_level) / 2
    d = x1 / n1 - x2 / n2
    eps = 1e-9

    def inside(delta: float, tail: str) -> bool:
        return exact_pvalue_rd(x1, n1, x2, n2, delta, tail, points) > a2

    def search(outer: float, inner: float, tail: str) -> float:
        # p(delta) is saw-toothed, so scan from the outer end towards the estimate for the
        # first delta inside the confidence set (one batched evaluation), then bisect the
        # cell before it.
        scan = np.linspace(outer, inner, scan_points)
        ins = exact_pvalues_rd(x1, n1, x2, n2, scan, tail, points) > a2
        j = int(np.argmax(ins)) if ins.any() else len(scan) - 1
        out, inn = scan[max(j - 1, 0)], scan[j]
        for _ in range(28):
            mid = (out + inn) / 2
            if inside(mid, tail):
                inn = mid
            else:
                out = mid
        return float((out + inn) / 2)

    low = -1.0 if d <= -1 + eps or inside(-1 + eps, "greater") else search(-1 + eps, d, "greater")
    high = 1.0 if d >= 1 - eps or inside(1 - eps, "less") else search(1 - eps, d, "less")
    return d, low, high
