"""Group-sequential designs with Lan–DeMets alpha spending (efficacy stopping only).

:func:`group_sequential` computes the boundaries of a design with 2 or 3 analyses (one or
two interim looks) and O'Brien–Fleming-type or Pocock-type spending, the cumulative alpha
spent, the nominal significance levels, the inflation factor of the maximum sample size over
a fixed design of the same power, the exit (rejection) probabilities per stage and the
expected sample size under H0, H1 and half-way — the quantities of rpact's
``getDesignGroupSequential`` / ``getDesignCharacteristics``.

Probabilities are computed by numerical integration of the canonical joint distribution of
the sequential z statistics on a grid (Jennison & Turnbull 2000, ch. 19): no simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_choice, check_count, check_finite, check_positive
from ..errors import ParameterError
from ..results import Result
from ._common import check_alpha, check_probability
from .analytic import power_two_means, power_two_proportions

__all__ = ["SPENDING_FUNCTIONS", "GroupSequentialDesign", "group_sequential", "spend"]

SPENDING_FUNCTIONS = ("obrien-fleming", "pocock")
_GRID = 801  # grid points per stage (odd, for Simpson's rule)


def spend(t: np.ndarray | float, alpha: float, spending: str) -> np.ndarray:
    """Cumulative alpha spent at information fraction ``t`` (Lan & DeMets 1983).

    O'Brien–Fleming type: ``2 (1 - Phi(z_{1-alpha/2} / sqrt(t)))``; Pocock type:
    ``alpha log(1 + (e - 1) t)``. ``alpha`` is the total (one-sided level for one-sided
    designs, two-sided level for two-sided designs), as in rpact ``asOF`` / ``asP``.
    """
    t = np.asarray(t, dtype=float)
    if spending == "obrien-fleming":
        with np.errstate(divide="ignore"):
            return 2 * stats.norm.sf(stats.norm.isf(alpha / 2) / np.sqrt(t))
    return alpha * np.log1p((math.e - 1) * t)


def _simpson(lo: float, hi: float, m: int = _GRID) -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(lo, hi, m)
    h = (hi - lo) / (m - 1)
    w = np.ones(m)
    w[1:-1:2] = 4
    w[2:-1:2] = 2
    return z, w * h / 3


class _Recursion:
    """Sub-densities of Z_k on the continuation region, stage by stage, for drift ``eta``.

    ``E[Z_k] = eta * sqrt(t_k)``; the score ``S_k = Z_k sqrt(t_k)`` has independent
    increments ``N(eta * (t_k - t_{k-1}), t_k - t_{k-1})``.
    """

    def __init__(self, t: np.ndarray, sided: int, eta: float):
        self.t, self.sided, self.eta = t, sided, eta

    def exit(self, k: int, c: float, prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None):
        """P(continue to stage k and cross c at stage k) = (upper, lower)."""
        t, eta = self.t, self.eta
        if prev is None:
            mu = eta * math.sqrt(t[0])
            up = stats.norm.sf(c - mu)
            lo = stats.norm.cdf(-c - mu) if self.sided == 2 else 0.0
            return float(up), float(lo)
        z, w, h = prev
        d = t[k] - t[k - 1]
        m = z * math.sqrt(t[k - 1]) + eta * d
        up = np.sum(w * h * stats.norm.sf((c * math.sqrt(t[k]) - m) / math.sqrt(d)))
        lo = 0.0
        if self.sided == 2:
            lo = np.sum(w * h * stats.norm.cdf((-c * math.sqrt(t[k]) - m) / math.sqrt(d)))
        return float(up), float(lo)

    def density(self, k: int, c: float, prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None):
        """Grid, weights and sub-density of Z_k on the continuation region of stage k."""
        t, eta = self.t, self.eta
        mu = eta * math.sqrt(t[k])
        lo = -c if self.sided == 2 else min(-8.0, mu - 8.0)
        z, w = _simpson(lo, c)
        if prev is None:
            return z, w, stats.norm.pdf(z - mu)
        zp, wp, hp = prev
        d = t[k] - t[k - 1]
        arg = (z[:, None] * math.sqrt(t[k]) - zp[None, :] * math.sqrt(t[k - 1]) - eta * d) / (
            math.sqrt(d)
        )
        h = (stats.norm.pdf(arg) @ (wp * hp)) * math.sqrt(t[k] / d)
        return z, w, h

    def run(self, crit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities of crossing the upper and the lower boundary at each stage."""
        up = np.zeros(len(crit))
        lo = np.zeros(len(crit))
        prev = None
        for k, c in enumerate(crit):
            up[k], lo[k] = self.exit(k, c, prev)
            if k < len(crit) - 1:
                prev = self.density(k, c, prev)
        return up, lo


def _cumulative_spend(t: np.ndarray, alpha: float, sided: int, spending: str) -> np.ndarray:
    # Two-sided symmetric designs spend alpha/2 on each side (rpact's convention, so that
    # the O'Brien-Fleming-type function is 4 (1 - Phi(z_{1-alpha/4} / sqrt(t))) in total).
    return sided * spend(t, alpha / sided, spending)


def _boundaries(t: np.ndarray, alpha: float, sided: int, spending: str) -> np.ndarray:
    cum = _cumulative_spend(t, alpha, sided, spending)
    cum[-1] = alpha
    inc = np.diff(np.concatenate([[0.0], cum]))
    rec = _Recursion(t, sided, 0.0)
    crit = np.zeros(len(t))
    prev = None
    for k in range(len(t)):
        if k == 0:
            crit[0] = stats.norm.isf(inc[0] / sided)
        else:
            crit[k] = optimize.brentq(
                lambda c, k=k, prev=prev: sum(rec.exit(k, c, prev)) - inc[k],
                0.0,
                15.0,
                xtol=1e-12,
            )
        if k < len(t) - 1:
            prev = rec.density(k, crit[k], prev)
    return crit


@dataclass(frozen=True)
class GroupSequentialDesign(Result):
    """A group-sequential design (see :func:`group_sequential`).

    Attributes
    ----------
    critical_values : tuple of float
        Efficacy boundaries on the z scale per stage (two-sided designs: ``|Z| >= c``).
    alpha_spent : tuple of float
        Cumulative type-I error spent up to each stage.
    stage_levels : tuple of float
        Nominal one-sided significance level of each boundary, ``1 - Phi(c)``.
    inflation_factor : float
        Maximum sample size relative to a fixed design with the same alpha and power.
    rejection_probabilities : tuple of float
        Probability of stopping for efficacy at each stage under H1.
    asn_h0, asn_h01, asn_h1 : float
        Expected sample size relative to the fixed design under H0, under half the effect and
        under H1.
    """

    k: int
    alpha: float
    beta: float
    sided: int
    spending: str
    information_rates: tuple[float, ...]
    critical_values: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    stage_levels: tuple[float, ...]
    inflation_factor: float
    rejection_probabilities: tuple[float, ...]
    asn_h0: float
    asn_h01: float
    asn_h1: float
    title: ClassVar[str] = "Group-sequential design"

    @property
    def power(self) -> float:
        return float(sum(self.rejection_probabilities))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "stage": np.arange(1, self.k + 1),
                "information_rate": self.information_rates,
                "critical_value": self.critical_values,
                "nominal_alpha": self.stage_levels,
                "cumulative_alpha_spent": self.alpha_spent,
                "rejection_probability_h1": self.rejection_probabilities,
                "cumulative_power": np.cumsum(self.rejection_probabilities),
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        sp = "O'Brien-Fleming" if self.spending == "obrien-fleming" else "Pocock"
        side = "one-sided" if self.sided == 1 else "two-sided (symmetric)"
        return (
            f"Lan-DeMets {sp}-type alpha spending, {side} alpha = {self.alpha:g}, power "
            f"{1 - self.beta:g}; efficacy stopping only.",
            f"Maximum sample size = {self.inflation_factor:.4f} x fixed design; expected "
            f"sample size {self.asn_h1:.4f} (H1), {self.asn_h01:.4f} (half effect), "
            f"{self.asn_h0:.4f} (H0) x fixed design.",
        )

    def sample_size(self, n_fixed: float) -> pd.DataFrame:
        """Cumulative sample size per stage and expected sizes for a fixed-design size."""
        n_fixed = check_positive("n_fixed", n_fixed)
        n_max = self.inflation_factor * n_fixed
        return pd.DataFrame(
            {
                "stage": np.arange(1, self.k + 1),
                "n_cumulative": n_max * np.asarray(self.information_rates),
                "n_max": n_max,
                "n_expected_h1": self.asn_h1 * n_fixed,
                "n_expected_h0": self.asn_h0 * n_fixed,
            }
        )

    def _fixed_alpha(self) -> tuple[float, str]:
        return (self.alpha, "greater") if self.sided == 1 else (self.alpha, "two-sided")

    def for_means(self, delta: float, sd: float, ratio: float = 1.0) -> pd.DataFrame:
        """Sample sizes (total) for a difference of means under the normal approximation.

        The fixed design is ``N = (z_{1-a} + z_{1-b})**2 sd**2 (1 + k)(1 + 1/k) / delta**2``
        (``k = n2/n1``), as rpact ``getSampleSizeMeans(normalApproximation = TRUE)``.
        """
        delta = check_finite("delta", delta)
        sd = check_positive("sd", sd)
        za = stats.norm.isf(self.alpha / self.sided)
        zb = stats.norm.isf(self.beta)
        n_fixed = (za + zb) ** 2 * sd**2 * (1 + ratio) * (1 + 1 / ratio) / delta**2
        return self.sample_size(n_fixed)

    def for_rates(self, p1: float, p2: float, ratio: float = 1.0) -> pd.DataFrame:
        """Sample sizes (total) for two proportions (pooled z fixed design)."""
        a, alt = self._fixed_alpha()
        if alt == "greater" and p1 < p2:
            alt = "less"
        fixed = power_two_proportions(
            p1, p2, power=1 - self.beta, alpha=a, ratio=ratio, alternative=alt
        )
        return self.sample_size(fixed.n1_exact + fixed.n2_exact)

    def for_means_t(self, delta: float, sd: float, ratio: float = 1.0) -> pd.DataFrame:
        """As :meth:`for_means` with the fixed design from the noncentral t."""
        a, alt = self._fixed_alpha()
        fixed = power_two_means(
            delta,
            sd,
            power=1 - self.beta,
            alpha=a,
            ratio=ratio,
            alternative=alt if delta > 0 or alt == "two-sided" else "less",
        )
        return self.sample_size(fixed.n1_exact + fixed.n2_exact)


def group_sequential(
    k: int = 2,
    alpha: float = 0.025,
    beta: float = 0.2,
    *,
    sided: int = 1,
    spending: str = "obrien-fleming",
    information_rates: Sequence[float] | None = None,
) -> GroupSequentialDesign:
    """Lan–DeMets group-sequential design with ``k`` analyses (``k - 1`` interim looks).

    Parameters
    ----------
    k : int
        Number of analyses, 2 or 3 (one or two interim analyses).
    alpha : float
        Type-I error: one-sided level when ``sided=1`` (default 0.025), two-sided when
        ``sided=2``.
    beta : float
        Type-II error (power ``1 - beta``) for the inflation factor and exit probabilities.
    sided : {1, 2}
        One-sided, or two-sided with symmetric boundaries.
    spending : {"obrien-fleming", "pocock"}
        Lan–DeMets spending function (rpact ``typeOfDesign = "asOF"`` / ``"asP"``).
    information_rates : sequence of float, optional
        Information fractions of the analyses, increasing, ending at 1 (default equally
        spaced).

    Returns
    -------
    GroupSequentialDesign

    Notes
    -----
    The boundary ``c_k`` solves ``P_0(no crossing before k, crossing at k) =
    alpha(t_k) - alpha(t_{k-1})``, computed with the recursive numerical integration of
    Armitage, McPherson & Rowe (1969) on a Simpson grid of 2001 points per stage. The
    drift ``eta`` giving power ``1 - beta`` yields the inflation factor
    ``(eta / (z_{1-alpha/sided} + z_{1-beta}))**2``.

    References
    ----------
    .. [1] Lan KKG, DeMets DL. Discrete sequential boundaries for clinical trials.
       Biometrika 1983;70:659-63.
    .. [2] Jennison C, Turnbull BW. Group Sequential Methods with Applications to Clinical
       Trials. Chapman & Hall/CRC 2000, ch. 7 and 19.

    Examples
    --------
    rpact ``getDesignGroupSequential(kMax = 2, alpha = 0.025, typeOfDesign = "asOF")``
    gives critical values 2.963 and 1.969:

    >>> from trial_analysis.power import group_sequential
    >>> d = group_sequential(2, alpha=0.025, spending="obrien-fleming")
    >>> [round(c, 3) for c in d.critical_values]
    [2.963, 1.969]
    """
    k = check_count("k", k, minimum=2)
    if k > 3:
        raise ParameterError("k", "2 or 3 analyses (one or two interim looks)", k)
    alpha = check_alpha(alpha)
    beta = check_probability("beta", beta)
    if sided not in (1, 2):
        raise ParameterError("sided", "1 or 2", sided)
    spending = check_choice("spending", spending, SPENDING_FUNCTIONS)
    if information_rates is None:
        t = np.arange(1, k + 1) / k
    else:
        t = np.asarray(information_rates, dtype=float)
        ok = (
            t.ndim == 1
            and len(t) == k
            and np.all(np.isfinite(t))
            and np.all(np.diff(t) > 0)
            and t[0] > 0
            and math.isclose(t[-1], 1.0)
        )
        if not ok:
            raise ParameterError(
                "information_rates",
                f"{k} increasing fractions in (0, 1] ending at 1",
                information_rates,
            )
        t[-1] = 1.0
    crit = _boundaries(t, alpha, sided, spending)
    cum = np.cumsum(np.add(*_Recursion(t, sided, 0.0).run(crit)))
    za = stats.norm.isf(alpha / sided)
    zb = stats.norm.isf(beta)
    # Power counts rejections in the direction of the effect only (as rpact); the expected
    # sample size counts stops at either boundary.
    eta = optimize.brentq(
        lambda e: _Recursion(t, sided, e).run(crit)[0].sum() - (1 - beta),
        0.5 * (za + zb),
        2.0 * (za + zb),
        xtol=1e-12,
    )
    inflation = (eta / (za + zb)) ** 2

    def asn(e: float) -> float:
        rej = np.add(*_Recursion(t, sided, e).run(crit))
        stop = np.concatenate([rej[:-1], [1 - rej[:-1].sum()]])
        return float(inflation * np.sum(stop * t))

    rej1 = _Recursion(t, sided, eta).run(crit)[0]
    return GroupSequentialDesign(
        k=k,
        alpha=alpha,
        beta=beta,
        sided=sided,
        spending=spending,
        information_rates=tuple(float(x) for x in t),
        critical_values=tuple(float(c) for c in crit),
        alpha_spent=tuple(float(a) for a in cum),
        stage_levels=tuple(float(stats.norm.sf(c)) for c in crit),
        inflation_factor=float(inflation),
        rejection_probabilities=tuple(float(r) for r in rej1),
        asn_h0=asn(0.0),
        asn_h01=asn(eta / 2),
        asn_h1=asn(eta),
    )
