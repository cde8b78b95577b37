"""Numerical engine of group-sequential designs (private; used by :mod:`.sequential`).

The sequential z statistics ``Z_1, ..., Z_K`` at information fractions ``t_1 < ... < t_K``
have the canonical joint distribution: the score ``S_k = Z_k sqrt(t_k)`` has independent
increments ``N(eta (t_k - t_{k-1}), t_k - t_{k-1})`` (Jennison & Turnbull 2000, ch. 3). The
sub-density of ``Z_k`` on the continuation region is carried from stage to stage by the
recursive integration of Armitage, McPherson & Rowe (1969), here with composite
Gauss-Legendre quadrature on panels whose outer end points are the boundaries themselves (no
error from the kinks of the truncated densities).

A walk may start from an observed point ``(t_0, z_0)`` (conditional power) instead of
``(0, 0)``. Hand-written because neither scipy nor statsmodels integrates sequential
boundaries; scipy's multivariate normal CDF is a randomised quasi-Monte Carlo with ~1e-6
error, too loose and too slow for nested root finding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import optimize
from scipy.special import ndtr, ndtri

__all__ = ["Walk", "solve_drift", "solve_root", "spending_value"]

_PANEL = 0.5  # width of a Gauss-Legendre panel on the z scale
_NODES = 6  # nodes per panel
_TAIL = 9.0  # truncate the sub-densities 9 SD from their mean
_SQ2PI = math.sqrt(2 * math.pi)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)


@functools.lru_cache(maxsize=128)
def _unit_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre rule with ``n`` equal panels on [0, 1]."""
    mid = (np.arange(n) + 0.5) / n
    u = (mid[:, None] + (0.5 / n) * _GL_X[None, :]).ravel()
    v = np.tile((0.5 / n) * _GL_W, n)
    return u, v


def _nodes(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [lo, hi] (panels of width <= _PANEL)."""
    u, v = _unit_nodes(max(1, math.ceil((hi - lo) / _PANEL)))
    return lo + (hi - lo) * u, (hi - lo) * v


class Walk:
    """Sub-density of the current ``Z_k`` given no stop so far, for drift ``eta``.

    ``eta`` is the mean of ``Z`` at information fraction 1 (``E Z_k = eta sqrt(t_k)``).
    """

    def __init__(self, t: np.ndarray, eta: float, t0: float = 0.0, z0: float = 0.0):
        self.t = t
        self.eta = eta
        self.k = 0
        self._t0, self._s0 = t0, z0 * math.sqrt(t0)
        self._tp = t0
        self._sp = np.array([z0 * math.sqrt(t0)])  # scores at the previous look
        self._wh = np.array([1.0])  # quadrature weight x sub-density (point mass at start)

    def _scaled(self, x: float | np.ndarray) -> np.ndarray:
        d = self.t[self.k] - self._tp
        shifted = np.subtract.outer(np.asarray(x) * math.sqrt(self.t[self.k]), self._sp)
        return (shifted - self.eta * d) / math.sqrt(d)

    def mass(self) -> float:
        """P(no stop before the current look)."""
        return float(self._wh.sum())

    def upper(self, b: float) -> float:
        """P(no stop before the current look and Z_k >= b)."""
        if b == math.inf:
            return 0.0
        return float(self._wh @ ndtr(-self._scaled(b)))

    def lower(self, a: float) -> float:
        """P(no stop before the current look and Z_k <= a)."""
        if a == -math.inf:
            return 0.0
        return float(self._wh @ ndtr(self._scaled(a)))

    def density(self, x: float) -> float:
        """Sub-density of Z_k at ``x`` (no stop before the current look)."""
        d = self.t[self.k] - self._tp
        y = self._scaled(x)
        return float(self._wh @ np.exp(-0.5 * y * y)) * math.sqrt(self.t[self.k] / d) / _SQ2PI

    def solve(self, target: float, side: str, lo: float = -40.0, hi: float = 40.0) -> float:
        """Bound ``x`` with ``upper(x) = target`` (side "upper") or ``lower(x) = target``.

        Safeguarded Newton iteration (the derivative is the sub-density), started at the
        normal quantile of the current look's unconditional law.
        """
        sign = -1.0 if side == "upper" else 1.0
        prob = self.upper if side == "upper" else self.lower

        def f(x: float) -> float:
            return prob(x) - target

        flo, fhi = f(lo), f(hi)
        if (flo > 0) == (fhi > 0):
            return lo if abs(flo) < abs(fhi) else hi
        k = self.k
        mu = (self._s0 + self.eta * (self.t[k] - self._t0)) / math.sqrt(self.t[k])
        sd = math.sqrt((self.t[k] - self._t0) / self.t[k])
        p = min(max(target / max(self.mass(), 1e-300), 1e-300), 1 - 1e-16)
        x = mu + sd * (float(ndtri(1 - p)) if side == "upper" else float(ndtri(p)))
        x = min(max(x, lo), hi)
        for _ in range(60):
            fx = f(x)
            if fx == 0:
                return x
            if (fx > 0) == (flo > 0):
                lo, flo = x, fx
            else:
                hi = x
            slope = sign * self.density(x)
            new = x - fx / slope if abs(slope) > 1e-200 else math.nan
            if not lo < new < hi:
                new = 0.5 * (lo + hi)
            if abs(new - x) < 1e-12:
                return new
            x = new
        return x

    def advance(self, a: float, b: float) -> None:
        """Restrict to ``a < Z_k < b`` and move to the next look."""
        k, t = self.k, self.t
        d = t[k] - self._tp
        # unconditional law of Z_k given the start: N(mu, sd^2)
        mu = (self._s0 + self.eta * (t[k] - self._t0)) / math.sqrt(t[k])
        sd = math.sqrt((t[k] - self._t0) / t[k])
        lo = max(a, mu - _TAIL * sd)
        hi = min(b, mu + _TAIL * sd)
        if hi <= lo:  # nothing continues
            z, w, dens = np.array([0.0]), np.array([0.0]), np.array([0.0])
        else:
            z, w = _nodes(lo, hi)
            x = self._scaled(z)
            dens = (np.exp(-0.5 * x * x) @ self._wh) * (math.sqrt(t[k] / d) / _SQ2PI)
        self._tp = t[k]
        self._sp = z * math.sqrt(t[k])
        self._wh = w * dens
        self.k += 1


def solve_root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a monotone ``f`` on ``[lo, hi]`` (brentq, tight tolerance)."""
    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if (flo > 0) == (fhi > 0):
        return lo if abs(flo) < abs(fhi) else hi
    return float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-14, maxiter=200))


def solve_drift(f: Callable[[float], float], z_fixed: float) -> float:
    """Root of an increasing ``f`` of the drift, bracketed from the fixed-design drift up.

    Group-sequential drifts lie between 0.9 and about 1.6 times the fixed-design drift; the
    bracket is widened step by step (a wide bracket from 0 would step into drifts where every
    trial stops at the first look and the bounds degenerate).
    """
    lo, hi = 0.9 * z_fixed, 1.15 * z_fixed
    flo = f(lo)
    while flo > 0 and lo > 1e-3:
        hi, lo = lo, lo * 0.7
        flo = f(lo)
    fhi = f(hi)
    while fhi < 0 and hi < 10 * z_fixed + 20:
        lo, flo = hi, fhi
        hi *= 1.25
        fhi = f(hi)
    return solve_root(f, lo, hi)


def spending_value(t: np.ndarray, total: float, family: str, param: float) -> np.ndarray:
    """Cumulative error spent at fractions ``t`` by a spending family (one side).

    - ``obrien-fleming`` (Lan–DeMets): ``2 (1 - Phi(z_{1-a/2} / sqrt(t)))``
    - ``pocock`` (Lan–DeMets): ``a log(1 + (e - 1) t)``
    - ``hsd`` (Hwang, Shih & DeCani 1990): ``a (1 - exp(-g t)) / (1 - exp(-g))``, ``a t`` at 0
    - ``kim-demets`` (power family): ``a t**rho``
    """
    t = np.asarray(t, dtype=float)
    if family == "obrien-fleming":
        with np.errstate(divide="ignore"):
            return 2 * ndtr(ndtri(total / 2) / np.sqrt(t))
    if family == "pocock":
        return total * np.log1p((math.e - 1) * t)
    if family == "hsd":
        if param == 0:
            return total * t
        return total * (-np.expm1(-param * t)) / (-math.expm1(-param))
    if family == "kim-demets":
        return total * t**param
    raise AssertionError(family)
