"""Multi-arm trials: k experimental arms against one shared control, with multiplicity control.

The z statistics ``Z_i = (mean_i - mean_0) / (sd sqrt(1/n_i + 1/n_0))`` are jointly normal
with correlation ``sqrt(n_i n_j / ((n_i + n_0)(n_j + n_0)))`` (the shared control).
:func:`multiarm_power` gives the exact per-arm, disjunctive (at least one effective arm
rejected) and conjunctive (all effective arms rejected) power of single-step Dunnett and
Bonferroni tests by integration of that law; :func:`simulate_multiarm` simulates the trial
(seeded) and applies any procedure of :func:`trial_analysis.multiplicity.adjust`, including
step-wise and graphical ones, and also reports the family-wise error over the true nulls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .._validate import (
    check_alpha,
    check_choice,
    check_count,
    check_float_array,
    check_positive,
)
from ..errors import ParameterError
from ..multiplicity import METHODS, adjust, dunnett_critical_value, max_normal_cdf
from ..results import Result

__all__ = ["MultiArmPower", "multiarm_power", "simulate_multiarm"]

MAX_LOOPED = 200_000  # trials for the graphical procedure (applied trial by trial)
MAX_DRAWS = 20_000_000  # simulated arm statistics held in memory (n_sims x arms)


def _setup(
    delta: Any, sd: Any, n: Any, n_control: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    d = np.atleast_1d(check_float_array("delta", delta, "finite effects, one per arm"))
    if d.ndim != 1 or not 1 <= d.size <= 20 or not np.all(np.isfinite(d)):
        raise ParameterError("delta", "1 to 20 finite effects (one per experimental arm)", delta)
    sd = check_positive("sd", sd)
    nn = check_float_array("n", n, "patients per experimental arm")
    if nn.ndim > 1 or nn.size not in (1, d.size):
        raise ParameterError("n", f"one size or {d.size} sizes (one per arm)", n)
    nn = np.broadcast_to(nn, d.shape).copy()
    if not np.all(nn >= 2):
        raise ParameterError("n", "a size of at least 2 per experimental arm", n)
    n0 = check_positive("n_control", n_control)
    se = sd * np.sqrt(1 / nn + 1 / n0)
    lam = np.sqrt(nn / (nn + n0))
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1.0)
    return d / se, corr, nn, n0


@dataclass(frozen=True)
class MultiArmPower(Result):
    """Power of a many-to-one comparison (see :func:`multiarm_power`, :func:`simulate_multiarm`)."""

    method: str
    alpha: float
    delta: tuple[float, ...]
    per_arm: tuple[float, ...]
    disjunctive: float
    conjunctive: float
    fwer: float | None
    critical_value: float | None
    n_sims: int | None = None
    seed: int | None = None
    title: ClassVar[str] = "Multi-arm power"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"arm": np.arange(1, len(self.delta) + 1), "delta": self.delta, "power": self.per_arm}
        )

    @property
    def notes(self) -> tuple[str, ...]:
        how = (
            "exact" if self.n_sims is None else f"{self.n_sims} simulated trials, seed {self.seed}"
        )
        out = [
            f"{self.method}, one-sided family-wise alpha {self.alpha:g} ({how}): disjunctive power "
            f"{self.disjunctive:.4f}, conjunctive power {self.conjunctive:.4f}.",
        ]
        if self.fwer is not None:
            out.append(f"Family-wise error over the arms with no effect: {self.fwer:.4f}.")
        return tuple(out)


def multiarm_power(
    delta: Sequence[float],
    sd: float,
    n: float | Sequence[float],
    n_control: float,
    *,
    alpha: float = 0.025,
    method: str = "dunnett",
) -> MultiArmPower:
    """Exact power of single-step many-to-one z tests (Dunnett or Bonferroni).

    Parameters
    ----------
    delta : sequence of float
        True differences of means, experimental arm ``i`` minus control (``<= 0``: no effect).
    sd : float
        Common standard deviation.
    n : float or sequence of float
        Patients per experimental arm; ``n_control`` in the control arm.
    alpha : float
        One-sided family-wise level.
    method : {"dunnett", "bonferroni"}

    Returns
    -------
    MultiArmPower
        ``per_arm[i] = P(Z_i >= c)``; ``disjunctive = P(some effective arm rejected)``,
        ``conjunctive = P(every effective arm rejected)`` by the one-factor integral of the
        joint normal law (:func:`trial_analysis.multiplicity.max_normal_cdf`); as
        ``mvtnorm::pmvnorm``.

    Examples
    --------
    >>> from trial_analysis.power import multiarm_power
    >>> round(multiarm_power([0.5, 0.5, 0.5], 1, 60, 60).disjunctive, 4)
    0.8691
    """
    mu, corr, _, _ = _setup(delta, sd, n, n_control)
    alpha = check_alpha(alpha)
    method = check_choice("method", method, ("dunnett", "bonferroni"))
    k = len(mu)
    c = dunnett_critical_value(alpha, corr) if method == "dunnett" else float(-ndtri(alpha / k))
    eff = np.nonzero(np.asarray(delta, dtype=float) > 0)[0]
    per_arm = ndtr(mu - c)
    if len(eff):
        disj = 1 - max_normal_cdf(c - mu[eff], corr[np.ix_(eff, eff)])
        conj = max_normal_cdf(mu[eff] - c, corr[np.ix_(eff, eff)])
    else:
        disj = conj = math.nan
    null = np.nonzero(np.asarray(delta, dtype=float) <= 0)[0]
    fwer = 1 - max_normal_cdf(c - mu[null], corr[np.ix_(null, null)]) if len(null) else None
    return MultiArmPower(
        method=method,
        alpha=alpha,
        delta=tuple(float(x) for x in np.atleast_1d(delta)),
        per_arm=tuple(float(x) for x in per_arm),
        disjunctive=float(disj),
        conjunctive=float(conj),
        fwer=None if fwer is None else float(fwer),
        critical_value=float(c),
    )


def _holm_hochberg_reject(p: np.ndarray, alpha: float, method: str) -> np.ndarray:
    """Holm (step-down) or Hochberg (step-up) rejections of each row at level ``alpha``."""
    k = p.shape[1]
    o = np.argsort(p, axis=1)
    s = np.take_along_axis(p, o, axis=1)
    ok = s * (k - np.arange(k)) <= alpha
    if method == "holm":  # reject the first r sorted while all pass
        ok_sorted = np.logical_and.accumulate(ok, axis=1)
    else:  # reject sorted 1..r for the largest r with p_(r) <= alpha / (k - r + 1)
        ok_sorted = np.flip(np.logical_or.accumulate(np.flip(ok, axis=1), axis=1), axis=1)
    rej = np.empty_like(ok_sorted)
    np.put_along_axis(rej, o, ok_sorted, axis=1)
    return rej


def _hommel_reject(p: np.ndarray, alpha: float) -> np.ndarray:
    """Hommel's (1988) rejections for each row: with ``j*`` the largest ``j`` such that
    ``p_(k-j+l) > l alpha / j`` for all ``l = 1..j``, reject ``p_i <= alpha / j*`` (all when
    there is no such ``j``)."""
    k = p.shape[1]
    s = np.sort(p, axis=1)
    jstar = np.zeros(len(p), dtype=int)
    for j in range(1, k + 1):
        ok = np.all(s[:, k - j :] > np.arange(1, j + 1) * alpha / j, axis=1)
        jstar = np.where(ok, j, jstar)
    thr = np.where(jstar > 0, alpha / np.maximum(jstar, 1), np.inf)
    return np.where(jstar[:, None] > 0, p <= thr[:, None], True)


def _stepdown_reject(z: np.ndarray, corr: np.ndarray, alpha: float) -> np.ndarray:
    """Step-down Dunnett: reject the largest statistic while it exceeds the single-step
    critical value of the hypotheses still in play (computed once per set, cached)."""
    n, k = z.shape
    o = np.argsort(-z, axis=1)
    zs = np.take_along_axis(z, o, axis=1)
    cache: dict[int, float] = {}
    alive = np.ones(n, bool)
    rej_sorted = np.zeros((n, k), bool)
    mask = np.full(n, (1 << k) - 1, dtype=np.int64)
    for r in range(k):
        crit = np.full(n, np.inf)
        for m in np.unique(mask[alive]):
            if m not in cache:
                idx = [i for i in range(k) if m >> i & 1]
                cache[m] = (
                    dunnett_critical_value(alpha, corr[np.ix_(idx, idx)])
                    if len(idx) > 1
                    else float(-ndtri(alpha))
                )
            crit[alive & (mask == m)] = cache[m]
        ok = alive & (zs[:, r] >= crit)
        rej_sorted[:, r] = ok
        alive = ok
        mask = np.where(ok, mask & ~(np.int64(1) << o[:, r].astype(np.int64)), mask)
    rej = np.empty_like(rej_sorted)
    np.put_along_axis(rej, o, rej_sorted, axis=1)
    return rej


def simulate_multiarm(
    delta: Sequence[float],
    sd: float,
    n: float | Sequence[float],
    n_control: float,
    *,
    alpha: float = 0.025,
    method: str = "dunnett",
    weights: Sequence[float] | None = None,
    transitions: Any = None,
    n_sims: int = 100_000,
    seed: int = 0,
) -> MultiArmPower:
    """Simulate a many-to-one trial and apply a multiplicity procedure to each replicate.

    Arm means are drawn with their sampling law (normal, known ``sd``); the one-sided p-values
    ``1 - Phi(Z_i)`` are adjusted by ``method`` (any of
    :data:`trial_analysis.multiplicity.METHODS`; ``weights`` and ``transitions`` for the
    graphical one) and arm ``i`` is rejected when its adjusted p-value is ``<= alpha``. The
    replicates draw from ``numpy.random.default_rng(SeedSequence(seed))``.

    Returns
    -------
    MultiArmPower
        Per-arm, disjunctive and conjunctive power over the arms with ``delta > 0`` and the
        family-wise error over the arms with ``delta <= 0``.

    Examples
    --------
    >>> from trial_analysis.power import simulate_multiarm
    >>> r = simulate_multiarm([0, 0.3, 0.6], 1.2, 60, 90, method="holm", n_sims=20_000, seed=1)
    >>> round(r.disjunctive, 2)
    0.74
    """
    mu, corr, nn, n0 = _setup(delta, sd, n, n_control)
    alpha = check_alpha(alpha)
    method = check_choice("method", method, METHODS)
    n_sims = check_count("n_sims", n_sims, minimum=1)
    seed = check_count("seed", seed)
    looped = method == "graphical"
    if looped and n_sims > MAX_LOOPED:
        raise ParameterError("n_sims", f"at most {MAX_LOOPED} with method={method!r}", n_sims)
    k = len(mu)
    if n_sims * k > MAX_DRAWS:
        raise ParameterError("n_sims", f"at most {MAX_DRAWS // k} with {k} arms", n_sims)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # Z_i = (mu_i + sqrt(n0/(n_i+n0)) e_i - sqrt(n_i/(n_i+n0)) e_0): the shared control
    e = rng.standard_normal((n_sims, k))
    e0 = rng.standard_normal((n_sims, 1))
    lam = np.sqrt(nn / (nn + n0))
    z = mu + np.sqrt(1 - lam**2) * e - lam * e0
    p = ndtr(-z)
    if method == "bonferroni":
        rej = p * k <= alpha
    elif method == "dunnett":
        rej = z >= dunnett_critical_value(alpha, corr)
    elif method in ("holm", "hochberg"):
        rej = _holm_hochberg_reject(p, alpha, method)
    elif method == "hommel":
        rej = _hommel_reject(p, alpha)
    elif method == "dunnett-stepdown":
        rej = _stepdown_reject(z, corr, alpha)
    else:  # graphical: trial by trial
        kw = {"weights": weights, "transitions": transitions}
        rej = np.array([np.asarray(adjust(row, method, **kw)) <= alpha for row in p])
    d = np.asarray(delta, dtype=float)
    eff, null = d > 0, d <= 0
    return MultiArmPower(
        method=method,
        alpha=alpha,
        delta=tuple(float(x) for x in d),
        per_arm=tuple(float(x) for x in rej.mean(axis=0)),
        disjunctive=float(rej[:, eff].any(axis=1).mean()) if eff.any() else math.nan,
        conjunctive=float(rej[:, eff].all(axis=1).mean()) if eff.any() else math.nan,
        fwer=float(rej[:, null].any(axis=1).mean()) if null.any() else None,
        critical_value=None,
        n_sims=n_sims,
        seed=seed,
    )
