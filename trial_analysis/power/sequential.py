"""Group-sequential designs: efficacy and futility boundaries, sample size, interim analyses.

:func:`group_sequential` computes a design with 1 to 10 analyses (one- or two-sided) from
Lan–DeMets alpha-spending (O'Brien–Fleming and Pocock type, Hwang–Shih–DeCani, Kim–DeMets
power family, a user table) or classical Wang–Tsiatis boundaries, optionally with futility
bounds (beta-spending in the same vocabulary, or given on the z or conditional-power scale;
binding or non-binding). The design carries the quantities of rpact's
``getDesignGroupSequential`` / ``getDesignCharacteristics`` / ``getPowerMeans``: boundaries,
cumulative alpha and beta spent, nominal levels, inflation factor, stopping and rejection
probabilities per look under H0 and H1, expected sample size. Its methods give the sample
size for means, rates (difference, ratio, non-inferiority margin) and the number of events
(log-rank, Schoenfeld); :func:`conditional_power` and :func:`analysis_results` handle the
interim and final analyses.

All probabilities come from numerical integration of the canonical joint distribution of the
sequential z statistics (:mod:`._gs`): no simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_choice, check_count, check_finite, check_positive
from ..errors import ParameterError
from ..results import Result
from ._common import check_alpha, check_probability, check_ratio
from ._gs import Walk, solve_drift, solve_root, spending_value
from .analytic import power_two_means, restricted_mle

__all__ = [
    "BOUNDARIES",
    "FUTILITY_SCALES",
    "SPENDING_FUNCTIONS",
    "AnalysisResults",
    "ConditionalPower",
    "GroupSequentialDesign",
    "GroupSequentialSampleSize",
    "analysis_results",
    "conditional_power",
    "group_sequential",
    "spend",
]

SPENDING_FUNCTIONS = ("obrien-fleming", "pocock", "hsd", "kim-demets")
BOUNDARIES = ("spending", "wang-tsiatis")
FUTILITY_SCALES = ("z", "conditional-power", "beta-spending")
MAX_LOOKS = 10
_NO_BOUND = math.inf


# ------------------------------------------------------------------------------- spending
@dataclass(frozen=True)
class _Spending:
    family: str  # obrien-fleming | pocock | hsd | kim-demets | table
    param: float = math.nan
    table: tuple[float, ...] = ()

    @property
    def label(self) -> str:
        if self.family == "table":
            return "user-given cumulative spending"
        names = {
            "obrien-fleming": "Lan-DeMets O'Brien-Fleming type",
            "pocock": "Lan-DeMets Pocock type",
            "hsd": f"Hwang-Shih-DeCani (gamma = {self.param:g})",
            "kim-demets": f"Kim-DeMets power (rho = {self.param:g})",
        }
        return names[self.family]

    def cumulative(self, t: np.ndarray, total: float, sided: int) -> np.ndarray:
        if self.family == "table":
            cum = np.asarray(self.table, dtype=float)
        else:
            # two-sided designs spend total/2 on each side (rpact's convention)
            cum = sided * spending_value(t, total / sided, self.family, self.param)
        cum = np.minimum(cum, total)
        cum[-1] = total
        return cum


def _parse_spending(name: str, spec: Any, k: int, total: float) -> _Spending:
    if isinstance(spec, str):
        if spec not in ("obrien-fleming", "pocock"):
            raise ParameterError(
                name,
                "'obrien-fleming', 'pocock', ('hsd', gamma), ('kim-demets', rho) or a "
                f"cumulative table of {k} values",
                spec,
            )
        return _Spending(spec)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        fam, par = spec
        if fam not in ("hsd", "kim-demets"):
            raise ParameterError(name, "('hsd', gamma) or ('kim-demets', rho)", spec)
        par = check_finite(f"{name} parameter", par)
        if fam == "kim-demets" and par <= 0:
            raise ParameterError(f"{name} parameter", "rho > 0", par)
        return _Spending(fam, par)
    try:
        table = np.asarray(spec, dtype=float)
    except (TypeError, ValueError):
        table = np.array([])
    ok = (
        table.ndim == 1
        and len(table) == k
        and np.all(np.isfinite(table))
        and np.all(table > 0)
        and np.all(np.diff(table) >= 0)
        and math.isclose(table[-1], total, rel_tol=1e-9)
    )
    if not ok:
        raise ParameterError(
            name,
            f"a spending family or a non-decreasing cumulative table of {k} values ending at "
            f"{total:g}",
            spec,
        )
    return _Spending("table", table=tuple(float(x) for x in table))


def spend(t: np.ndarray | float, alpha: float, spending: Any = "obrien-fleming") -> np.ndarray:
    """Cumulative error spent at information fraction ``t`` (one-sided level ``alpha``).

    ``spending`` is ``"obrien-fleming"`` (``2 (1 - Phi(z_{1-alpha/2} / sqrt(t)))``),
    ``"pocock"`` (``alpha log(1 + (e - 1) t)``), ``("hsd", gamma)``
    (``alpha (1 - exp(-gamma t)) / (1 - exp(-gamma))``) or ``("kim-demets", rho)``
    (``alpha t**rho``), as rpact ``asOF``, ``asP``, ``asHSD``, ``asKD``.
    """
    sp = _parse_spending("spending", spending, 1, alpha)
    return spending_value(np.asarray(t, dtype=float), alpha, sp.family, sp.param)


# ------------------------------------------------------------------------------ engine
def _run(
    t: np.ndarray,
    eta: float,
    upper: np.ndarray,
    lower: np.ndarray,
    sided: int,
    t0: float = 0.0,
    z0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Exit probabilities per look: (crossing ``upper``, crossing ``lower``).

    ``lower`` is the futility bound (one-sided; -inf for none) or ``-upper`` (two-sided). At
    the last look of a one-sided design the lower exit is not counted (acceptance).
    """
    w = Walk(t, eta, t0, z0)
    n = len(t)
    up, lo = np.zeros(n), np.zeros(n)
    for k in range(n):
        up[k] = w.upper(upper[k])
        if k < n - 1 or sided == 2:
            lo[k] = w.lower(lower[k])
        if k < n - 1:
            w.advance(lower[k], upper[k])
    return up, lo


def _efficacy_from_spending(
    t: np.ndarray, inc: np.ndarray, sided: int, fut: np.ndarray
) -> np.ndarray:
    w = Walk(t, 0.0)
    c = np.zeros(len(t))
    for k in range(len(t)):
        if inc[k] <= 1e-15:
            c[k] = _NO_BOUND
        elif sided == 1:
            c[k] = w.solve(inc[k], "upper")
        else:
            target = inc[k]
            c[k] = solve_root(lambda x, target=target: w.upper(x) + w.lower(-x) - target, 0.0, 40.0)
        if k < len(t) - 1:
            w.advance(fut[k] if sided == 1 else -c[k], c[k])
    return c


def _wang_tsiatis(
    t: np.ndarray, delta: float, alpha: float, sided: int, fut: np.ndarray
) -> np.ndarray:
    shape = t ** (delta - 0.5)

    def err(const: float) -> float:
        c = const * shape
        lower = fut if sided == 1 else -c
        up, lo = _run(t, 0.0, c, lower, sided)
        return up.sum() + (lo.sum() if sided == 2 else 0.0) - alpha

    return solve_root(err, 0.5, 20.0) * shape


def _power_drift(
    t: np.ndarray, c: np.ndarray, fut: np.ndarray, sided: int, power: float, z_fixed: float
) -> float:
    lower = fut if sided == 1 else -c
    return solve_drift(lambda e: _run(t, e, c, lower, sided)[0].sum() - power, z_fixed)


def _beta_spending(
    t: np.ndarray,
    alpha_inc: np.ndarray | None,
    c_fixed: np.ndarray | None,
    beta_inc: np.ndarray,
    z_fixed: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Efficacy and futility bounds and drift of a one-sided beta-spending design.

    Non-binding (``c_fixed`` given): the efficacy bounds ignore futility; binding
    (``alpha_inc`` given): each efficacy bound is computed under H0 with the earlier futility
    bounds in force. The drift is the one for which the last futility bound meets the last
    efficacy bound (so that the power is exactly ``1 - beta``).
    """
    n = len(t)

    def bounds(eta: float) -> tuple[np.ndarray, np.ndarray]:
        w1 = Walk(t, eta)
        w0 = Walk(t, 0.0) if c_fixed is None else None
        c = np.zeros(n) if c_fixed is None else c_fixed.copy()
        b = np.zeros(n)
        for k in range(n):
            if w0 is not None:
                assert alpha_inc is not None
                c[k] = w0.solve(alpha_inc[k], "upper")
            ck = c[k]
            if k < n - 1 and w1.lower(ck) <= beta_inc[k]:
                b[k] = ck  # the futility region would overlap the efficacy region
            else:
                b[k] = w1.solve(beta_inc[k], "lower")
            if k < n - 1:
                w1.advance(b[k], ck)
                if w0 is not None:
                    w0.advance(b[k], ck)
        return c, b

    def gap(eta: float) -> float:
        c, b = bounds(eta)
        if np.any(b[:-1] >= c[:-1]):  # drift so large that futility swallows an interim look
            return 1.0 + float(np.sum(b[:-1] >= c[:-1]))
        return b[-1] - c[-1]

    eta = solve_drift(gap, z_fixed)
    c, b = bounds(eta)
    return c, b, eta


def _cp_given(t: np.ndarray, c: np.ndarray, look: int, z: float, eta: float, sided: int) -> float:
    """P(crossing an efficacy bound after ``look`` (0-based) | Z_look = z), futility ignored."""
    rest = slice(look + 1, None)
    lower = np.full(len(t) - look - 1, -math.inf) if sided == 1 else -c[rest]
    up, _ = _run(t[rest], eta, c[rest], lower, 1, t0=t[look], z0=z)
    return float(up.sum())


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class GroupSequentialDesign(Result):
    """A group-sequential design (see :func:`group_sequential`).

    Attributes
    ----------
    critical_values : tuple of float
        Efficacy boundaries on the z scale per look (two-sided designs: ``|Z| >= c``).
    futility_bounds : tuple of float
        Futility bounds on the z scale per look (``nan`` where there is none; the last equals
        the last critical value in beta-spending designs).
    alpha_spent, beta_spent : tuple of float
        Cumulative type-I error spent under H0 (with the futility bounds when binding), and
        cumulative type-II error spent under H1 (futility designs).
    stage_levels : tuple of float
        Nominal one-sided significance level of each boundary, ``1 - Phi(c)``.
    drift : float
        Mean of the final z statistic under H1 (rpact ``shift`` = ``drift**2``).
    inflation_factor : float
        Maximum information relative to a fixed design with the same alpha and power.
    rejection_h1, futility_h1, rejection_h0, futility_h0 : tuple of float
        Probability of stopping for efficacy / futility at each look under H1 and H0 (the
        futility probability of the last look is ``nan``: the trial ends there anyway).
    asn_h0, asn_h01, asn_h1 : float
        Expected sample size relative to the fixed design under H0, half the effect and H1.
    """

    k: int
    alpha: float
    beta: float
    sided: int
    spending: str
    boundary: str
    information_rates: tuple[float, ...]
    critical_values: tuple[float, ...]
    futility_bounds: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    beta_spent: tuple[float, ...]
    stage_levels: tuple[float, ...]
    drift: float
    inflation_factor: float
    rejection_h1: tuple[float, ...]
    futility_h1: tuple[float, ...]
    rejection_h0: tuple[float, ...]
    futility_h0: tuple[float, ...]
    asn_h0: float
    asn_h01: float
    asn_h1: float
    binding: bool = False
    futility: str = "none"
    _spec: Any = field(default=None, repr=False, compare=False)
    title: ClassVar[str] = "Group-sequential design"

    def _efficacy_at(self, alpha: float, upto: int) -> np.ndarray:
        """The efficacy bounds of looks ``1..upto`` when the design's alpha is ``alpha``."""
        boundary, alpha_sp, delta, fut = self._spec
        t = np.asarray(self.information_rates)
        low = fut if self.binding else np.full(self.k, -math.inf)
        if boundary == "wang-tsiatis":
            return _wang_tsiatis(t, delta, alpha, self.sided, low)[:upto]
        sp = alpha_sp
        if sp.family == "table":  # a user table scales with the level
            sp = _Spending("table", table=tuple(np.asarray(sp.table) * alpha / self.alpha))
        cum = sp.cumulative(t, alpha, self.sided)
        return _efficacy_from_spending(t[:upto], np.diff(np.r_[0.0, cum])[:upto], self.sided, low)

    def _later_lower(self, look: int) -> np.ndarray:
        c = np.asarray(self.critical_values)[look:]
        if self.sided == 2:
            return -c
        if self.binding:
            return np.nan_to_num(np.asarray(self.futility_bounds)[look:], nan=-math.inf)
        return np.full(len(c), -math.inf)

    # -- summaries
    @property
    def rejection_probabilities(self) -> tuple[float, ...]:
        """Probability of rejecting H0 at each look under H1 (alias of ``rejection_h1``)."""
        return self.rejection_h1

    @property
    def power(self) -> float:
        return float(sum(self.rejection_h1))

    @property
    def shift(self) -> float:
        """rpact's ``shift``: the squared drift."""
        return self.drift**2

    @property
    def type1_error(self) -> float:
        """Probability of rejecting under H0 with the futility bounds obeyed."""
        return float(sum(self.rejection_h0))

    def _z(self) -> float:
        return float(stats.norm.isf(self.alpha / self.sided) + stats.norm.isf(self.beta))

    def to_frame(self) -> pd.DataFrame:
        t = np.asarray(self.information_rates)
        early = np.r_[np.add(self.rejection_h1, np.nan_to_num(self.futility_h1))[:-1]]
        stop_h1 = np.r_[early, 1 - early.sum()]
        early0 = np.r_[np.add(self.rejection_h0, np.nan_to_num(self.futility_h0))[:-1]]
        stop_h0 = np.r_[early0, 1 - early0.sum()]
        return pd.DataFrame(
            {
                "look": np.arange(1, self.k + 1),
                "information": t,
                "z_efficacy": self.critical_values,
                "z_futility": self.futility_bounds,
                "nominal_p": self.stage_levels,
                "cum_alpha": self.alpha_spent,
                "cum_beta": self.beta_spent,
                "reject_h0": self.rejection_h0,
                "futility_h0": self.futility_h0,
                "stop_h0": stop_h0,
                "reject_h1": self.rejection_h1,
                "futility_h1": self.futility_h1,
                "stop_h1": stop_h1,
                "cum_power": np.cumsum(self.rejection_h1),
                "n_relative": t * self.inflation_factor,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        side = "one-sided" if self.sided == 1 else "two-sided (symmetric)"
        fut = {
            "none": "efficacy stopping only",
        }.get(
            self.futility,
            f"futility: {self.futility}, {'binding' if self.binding else 'non-binding'}",
        )
        return (
            f"{self.spending} boundaries, {side} alpha = {self.alpha:g}, power {1 - self.beta:g}; "
            f"{fut}.",
            f"Maximum sample size = {self.inflation_factor:.4f} x fixed design; expected "
            f"sample size {self.asn_h1:.4f} (H1), {self.asn_h01:.4f} (half effect), "
            f"{self.asn_h0:.4f} (H0) x fixed design.",
            f"Type I error with the futility bounds obeyed: {self.type1_error:.6g}; power "
            f"{self.power:.6g}; drift {self.drift:.6g}.",
        )

    # -- sample sizes
    def _sized(
        self,
        n_fixed: float,
        endpoint: str,
        effect_scale: tuple[np.ndarray, np.ndarray] | None = None,
        unit: str = "subjects",
    ) -> GroupSequentialSampleSize:
        n_max = self.inflation_factor * n_fixed
        eff = (None, None) if effect_scale is None else effect_scale
        return GroupSequentialSampleSize(
            design=self,
            endpoint=endpoint,
            unit=unit,
            n_fixed=float(n_fixed),
            n_max=float(n_max),
            n_expected_h0=float(self.asn_h0 * n_fixed),
            n_expected_h01=float(self.asn_h01 * n_fixed),
            n_expected_h1=float(self.asn_h1 * n_fixed),
            n_per_look=tuple(float(x) for x in n_max * np.asarray(self.information_rates)),
            efficacy_effect=None if eff[0] is None else tuple(float(x) for x in eff[0]),
            futility_effect=None if eff[1] is None else tuple(float(x) for x in eff[1]),
        )

    def sample_size_means(
        self, delta: float, sd: float, *, ratio: float = 1.0, theta0: float = 0.0
    ) -> GroupSequentialSampleSize:
        """Total sample size for a difference of means (normal approximation).

        Fixed design ``N = (z_{1-a/s} + z_{1-b})**2 sd**2 (1 + k)(1 + 1/k) / (delta -
        theta0)**2`` with ``k = n2/n1`` and ``theta0`` the null difference (non-inferiority
        margin < 0), times the inflation factor; boundaries on the effect scale are
        ``theta0 + z sd sqrt(1/n1 + 1/n2)`` at each look (rpact ``getSampleSizeMeans(...,
        normalApproximation = TRUE)``).
        """
        delta = check_finite("delta", delta)
        sd = check_positive("sd", sd)
        ratio = check_ratio(ratio)
        theta0 = check_finite("theta0", theta0)
        if delta == theta0:
            raise ParameterError("delta", f"different from theta0 = {theta0:g}", delta)
        var_unit = sd**2 * (1 + ratio) * (1 + 1 / ratio)  # N x Var(mean difference)
        n_fixed = self._z() ** 2 * var_unit / (delta - theta0) ** 2
        n_look = self.inflation_factor * n_fixed * np.asarray(self.information_rates)
        se = np.sqrt(var_unit / n_look)
        sign = 1.0 if delta > theta0 or self.sided == 2 else -1.0
        eff = theta0 + sign * np.asarray(self.critical_values) * se
        fut = theta0 + sign * np.asarray(self.futility_bounds) * se
        return self._sized(n_fixed, f"means (delta {delta:g}, sd {sd:g})", (eff, fut))

    def sample_size_rates(
        self,
        p1: float,
        p2: float,
        *,
        ratio: float = 1.0,
        theta0: float | None = None,
        scale: str = "difference",
    ) -> GroupSequentialSampleSize:
        """Total sample size for two proportions (normal approximation, as rpact).

        ``scale="difference"`` tests H0: ``p1 - p2 = theta0`` (default 0: pooled variance;
        otherwise the Farrington–Manning restricted MLE, :func:`restricted_mle`);
        ``scale="ratio"`` tests H0: ``p1 / p2 = theta0`` (default 1) with the
        Farrington–Manning ratio statistic. Fixed design ``n1 = (z_{1-a/s} sqrt(V0) +
        z_{1-b} sqrt(V1))**2 / (p1 - p2 - theta0)**2`` (difference) — the formula of rpact
        ``getSampleSizeRates`` — then ``N = n1 (1 + k)`` times the inflation factor. For
        two-sided designs the opposite rejection tail is not counted (rpact's choice).
        Boundaries on the effect scale (difference ``p1 - p2`` or ratio ``p1 / p2``) are the
        observed effects, with ``p2`` at its assumed value, whose test statistic (variance
        under H0 by the restricted MLE) equals the z bound at each look's size, as rpact
        ``criticalValuesEffectScale``.
        """
        p1 = check_probability("p1", p1)
        p2 = check_probability("p2", p2)
        ratio = check_ratio(ratio)
        scale = check_choice("scale", scale, ("difference", "ratio"))
        k = ratio
        za = float(stats.norm.isf(self.alpha / self.sided))
        zb = float(stats.norm.isf(self.beta))
        if scale == "difference":
            th = 0.0 if theta0 is None else check_finite("theta0", theta0)
            if not -1 < th < 1:
                raise ParameterError("theta0", "a difference of proportions in (-1, 1)", th)
            q1, q2 = restricted_mle(p1, p2, th, k)
            v0 = q1 * (1 - q1) + q2 * (1 - q2) / k
            v1 = p1 * (1 - p1) + p2 * (1 - p2) / k
            num = p1 - p2 - th
        else:
            th = 1.0 if theta0 is None else check_positive("theta0", theta0)
            q1, q2 = _restricted_mle_ratio(p1, p2, th, k)
            v0 = q1 * (1 - q1) + th**2 * q2 * (1 - q2) / k
            v1 = p1 * (1 - p1) + th**2 * p2 * (1 - p2) / k
            num = p1 - th * p2
        if abs(num) < 1e-12:
            raise ParameterError("p1, p2", f"an assumed effect different from theta0 = {th:g}")
        n1 = (za * math.sqrt(v0) + zb * math.sqrt(v1)) ** 2 / num**2
        label = f"rates ({scale}, p1 {p1:g}, p2 {p2:g}, theta0 {th:g})"
        n_look = self.inflation_factor * n1 * (1 + k) * np.asarray(self.information_rates)
        sign = 1.0 if num > 0 or self.sided == 2 else -1.0

        def to_effect(z: float, n_tot: float) -> float:
            """The observed effect (p2 held at its assumed value) whose test statistic on
            ``n_tot`` patients equals ``z`` (rpact's effect scale for rates)."""
            if not math.isfinite(z):
                return math.nan
            a1, a2 = n_tot / (1 + k), n_tot * k / (1 + k)

            def stat(x: float) -> float:
                if scale == "difference":
                    q1, q2 = restricted_mle(p2 + x, p2, th, k)
                    return (x - th) / math.sqrt(q1 * (1 - q1) / a1 + q2 * (1 - q2) / a2)
                r1, r2 = _restricted_mle_ratio(p2 * x, p2, th, k)
                v = r1 * (1 - r1) / a1 + th**2 * r2 * (1 - r2) / a2
                return (p2 * x - th * p2) / math.sqrt(v)

            lo, hi = (-p2, 1 - p2) if scale == "difference" else (0.0, 1 / p2)
            eps = 1e-9
            try:
                return float(
                    optimize.brentq(
                        lambda x: stat(x) - sign * z, lo + eps, hi - eps, xtol=1e-13, rtol=1e-14
                    )
                )
            except ValueError:  # no observable effect gives this statistic
                return math.nan

        eff = np.array([to_effect(z, n) for z, n in zip(self.critical_values, n_look, strict=True)])
        fut = np.array([to_effect(z, n) for z, n in zip(self.futility_bounds, n_look, strict=True)])
        return self._sized(n1 * (1 + k), label, (eff, fut))

    def sample_size_events(
        self, hazard_ratio: float, *, ratio: float = 1.0, theta0: float = 1.0
    ) -> GroupSequentialSampleSize:
        """Number of events for a log-rank comparison (Schoenfeld 1981).

        Fixed design ``D = (z_{1-a/s} + z_{1-b})**2 (1 + k)**2 / (k log(HR / theta0)**2)``
        times the inflation factor (rpact ``getSampleSizeSurvival``'s ``maxNumberOfEvents``).
        This is the hook for time-to-event designs: accrual, follow-up and dropout, which
        turn events into patients and calendar time, belong to :mod:`.survival`.
        """
        hr = check_positive("hazard_ratio", hazard_ratio)
        ratio = check_ratio(ratio)
        theta0 = check_positive("theta0", theta0)
        if math.isclose(hr, theta0):
            raise ParameterError("hazard_ratio", f"different from theta0 = {theta0:g}", hr)
        k = ratio
        d = self._z() ** 2 * (1 + k) ** 2 / (k * math.log(hr / theta0) ** 2)
        return self._sized(d, f"events (hazard ratio {hr:g})", unit="events")

    # -- the earlier API (kept): DataFrames of sizes
    def sample_size(self, n_fixed: float) -> pd.DataFrame:
        """Cumulative sample size per look and expected sizes for a fixed-design size."""
        n_fixed = check_positive("n_fixed", n_fixed)
        return self._sized(n_fixed, "given fixed design")._legacy()

    def for_means(self, delta: float, sd: float, ratio: float = 1.0) -> pd.DataFrame:
        """:meth:`sample_size_means` as the earlier per-stage DataFrame."""
        return self.sample_size_means(delta, sd, ratio=ratio)._legacy()

    def for_rates(self, p1: float, p2: float, ratio: float = 1.0) -> pd.DataFrame:
        """:meth:`sample_size_rates` as the earlier per-stage DataFrame."""
        return self.sample_size_rates(p1, p2, ratio=ratio)._legacy()

    def for_means_t(self, delta: float, sd: float, ratio: float = 1.0) -> pd.DataFrame:
        """As :meth:`for_means` with the fixed design from the noncentral t."""
        alt = "two-sided" if self.sided == 2 else ("greater" if delta > 0 else "less")
        fixed = power_two_means(
            delta, sd, power=1 - self.beta, alpha=self.alpha, ratio=ratio, alternative=alt
        )
        return self.sample_size(fixed.n1_exact + fixed.n2_exact)


def _restricted_mle_ratio(p1: float, p2: float, theta0: float, k: float) -> tuple[float, float]:
    """Restricted MLE under ``p1 = theta0 p2`` (Farrington & Manning 1990, ratio case).

    Root of ``A p^2 + B p + C = 0`` with ``A = theta0 (1 + k)``, ``B = -(theta0 (1 + k p2) +
    p1 + k)``, ``C = p1 + k p2`` (per unit of n1, k = n2/n1; expected counts at p1, p2).
    """
    a = theta0 * (1 + k)
    b = -(theta0 * (1 + k * p2) + p1 + k)
    c = p1 + k * p2
    q2 = (-b - math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    return theta0 * q2, q2


@dataclass(frozen=True)
class GroupSequentialSampleSize(Result):
    """Sample size (or events) of a group-sequential design for one endpoint."""

    design: GroupSequentialDesign = field(repr=False)
    endpoint: str
    unit: str
    n_fixed: float
    n_max: float
    n_expected_h0: float
    n_expected_h01: float
    n_expected_h1: float
    n_per_look: tuple[float, ...]
    efficacy_effect: tuple[float, ...] | None = None
    futility_effect: tuple[float, ...] | None = None
    title: ClassVar[str] = "Group-sequential sample size"

    def to_frame(self) -> pd.DataFrame:
        f = self.design.to_frame()[["look", "information", "z_efficacy", "z_futility"]].copy()
        f[f"{self.unit}_cumulative"] = self.n_per_look
        if self.efficacy_effect is not None:
            f["effect_efficacy"] = self.efficacy_effect
            f["effect_futility"] = self.futility_effect
        return f

    @property
    def notes(self) -> tuple[str, ...]:
        u = self.unit
        return (
            f"{self.endpoint}: fixed design {self.n_fixed:.2f} {u}; maximum {self.n_max:.2f}; "
            f"expected {self.n_expected_h1:.2f} under H1, {self.n_expected_h0:.2f} under H0 "
            "(not rounded up).",
        )

    def _legacy(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "stage": np.arange(1, self.design.k + 1),
                "n_cumulative": self.n_per_look,
                "n_max": self.n_max,
                "n_expected_h1": self.n_expected_h1,
                "n_expected_h0": self.n_expected_h0,
            }
        )


def _information_rates(k: int, information_rates: Any) -> np.ndarray:
    if information_rates is None:
        return np.arange(1, k + 1) / k
    try:
        t = np.asarray(information_rates, dtype=float)
    except (TypeError, ValueError):
        t = np.array([])
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
    t = t.copy()
    t[-1] = 1.0
    return t


def group_sequential(
    k: int = 2,
    alpha: float = 0.025,
    beta: float = 0.2,
    *,
    sided: int = 1,
    spending: Any = "obrien-fleming",
    information_rates: Sequence[float] | None = None,
    boundary: str = "spending",
    delta: float | None = None,
    futility: Any = None,
    binding: bool = False,
    futility_scale: str = "z",
) -> GroupSequentialDesign:
    """Group-sequential design with ``k`` analyses (``k - 1`` interim looks).

    Parameters
    ----------
    k : int
        Number of analyses, 1 to 10 (1 = the fixed design).
    alpha : float
        Type-I error: one-sided level when ``sided=1`` (default 0.025), two-sided when
        ``sided=2`` (half on each side).
    beta : float
        Type-II error (power ``1 - beta``) for the drift, inflation factor and futility.
    sided : {1, 2}
        One-sided, or two-sided with symmetric efficacy boundaries.
    spending : str, tuple or sequence
        Alpha-spending (``boundary="spending"``): ``"obrien-fleming"``, ``"pocock"`` (Lan–DeMets
        types), ``("hsd", gamma)`` (Hwang–Shih–DeCani), ``("kim-demets", rho)`` (power
        family ``alpha t**rho``) or a cumulative table of ``k`` values ending at ``alpha`` —
        rpact ``asOF``, ``asP``, ``asHSD``, ``asKD``, ``asUser``.
    information_rates : sequence of float, optional
        Information fractions of the analyses, increasing, ending at 1 (default equal).
    boundary : {"spending", "wang-tsiatis"}
        ``"wang-tsiatis"``: classical boundaries ``c_k = C t_k**(delta - 0.5)`` with the
        constant ``C`` giving level ``alpha`` (rpact ``WT``; ``delta=0`` O'Brien–Fleming,
        ``0.5`` Pocock).
    delta : float, optional
        Wang–Tsiatis shape parameter in [0, 0.5] (required with ``boundary="wang-tsiatis"``).
    futility : str, tuple or sequence, optional
        Futility stopping (one-sided designs): a beta-spending family in the vocabulary of
        ``spending`` (``"obrien-fleming"`` = rpact ``bsOF``, ``"pocock"`` = ``bsP``,
        ``("hsd", gamma)`` = ``bsHSD``, ``("kim-demets", rho)`` = ``bsKD``), or a sequence
        read on ``futility_scale``.
    binding : bool
        Binding futility: the efficacy bounds are computed with the futility bounds in force
        (smaller critical values). Non-binding (default): the efficacy bounds ignore them, so
        the type-I error is controlled whether or not the trial stops for futility.
    futility_scale : {"z", "conditional-power", "beta-spending"}
        How a sequence ``futility`` is read: ``k - 1`` bounds on the z scale (rpact
        ``futilityBounds``), ``k - 1`` conditional-power thresholds (stop when the conditional
        power under the design's effect falls below; converted to z bounds), or ``k``
        cumulative beta-spending values ending at ``beta``.

    Returns
    -------
    GroupSequentialDesign

    Notes
    -----
    The efficacy bound ``c_k`` solves ``P_0(no stop before k, Z_k >= c_k) = alpha(t_k) -
    alpha(t_{k-1})``. With beta-spending the futility bound ``b_k`` solves ``P_1(no stop before
    k, Z_k <= b_k) = beta(t_k) - beta(t_{k-1})`` under the drift ``eta``, which is found so
    that ``b_K = c_K`` (Pampallona, Tsiatis & Kim 2001; rpact's algorithm). Otherwise ``eta``
    gives power ``1 - beta`` with the bounds; the inflation factor is ``(eta / (z_{1-alpha/s} +
    z_{1-beta}))**2``. Power counts rejections in the direction of the effect only (as rpact);
    expected sample sizes count every stop. Probabilities by the recursive integration of
    Armitage, McPherson & Rowe (1969) on Simpson grids (:mod:`._gs`), accurate to about 1e-9.

    References
    ----------
    .. [1] Lan KKG, DeMets DL. Discrete sequential boundaries for clinical trials.
       Biometrika 1983;70:659-63.
    .. [2] Wang SK, Tsiatis AA. Approximately optimal one-parameter boundaries for group
       sequential trials. Biometrics 1987;43:193-9.
    .. [3] Hwang IK, Shih WJ, DeCani JS. Group sequential designs using a family of type I
       error probability spending functions. Stat Med 1990;9:1439-45.
    .. [4] Kim K, DeMets DL. Design and analysis of group sequential tests based on the type I
       error spending rate function. Biometrika 1987;74:149-54.
    .. [5] Pampallona S, Tsiatis AA, Kim K. Interim monitoring of group sequential trials using
       spending functions for the type I and type II error probabilities. Drug Inf J
       2001;35:1113-21.
    .. [6] Jennison C, Turnbull BW. Group Sequential Methods with Applications to Clinical
       Trials. Chapman & Hall/CRC 2000, ch. 2-7 and 19.

    Examples
    --------
    rpact ``getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", typeBetaSpending =
    "bsOF")`` gives efficacy bounds 3.710, 2.511, 1.993 and futility bounds -0.236, 1.170:

    >>> from trial_analysis.power import group_sequential
    >>> d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    >>> [round(c, 3) for c in d.critical_values], [round(b, 3) for b in d.futility_bounds[:2]]
    ([3.71, 2.511, 1.993], [-0.236, 1.17])
    """
    k = check_count("k", k, minimum=1)
    if k > MAX_LOOKS:
        raise ParameterError("k", f"at most {MAX_LOOKS} analyses", k)
    alpha = check_alpha(alpha)
    beta = check_probability("beta", beta)
    if sided not in (1, 2):
        raise ParameterError("sided", "1 or 2", sided)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    futility_scale = check_choice("futility_scale", futility_scale, FUTILITY_SCALES)
    if not isinstance(binding, bool):
        raise ParameterError("binding", "True or False", binding)
    t = _information_rates(k, information_rates)
    z_fixed = float(stats.norm.isf(alpha / sided) + stats.norm.isf(beta))

    if boundary == "wang-tsiatis":
        if delta is None:
            raise ParameterError(
                "delta", "a Wang-Tsiatis shape in [0, 0.5] with boundary='wang-tsiatis'"
            )
        delta = check_finite("delta", delta)
        if not 0 <= delta <= 0.5:
            raise ParameterError("delta", "a Wang-Tsiatis shape in [0, 0.5]", delta)
        label = f"Wang-Tsiatis (delta = {delta:g})"
        alpha_sp = None
    else:
        if delta is not None:
            raise ParameterError("delta", "given only with boundary='wang-tsiatis'", delta)
        alpha_sp = _parse_spending("spending", spending, k, alpha)
        label = alpha_sp.label

    # ---- futility specification
    fut_kind = "none"
    beta_sp: _Spending | None = None
    fut_values: np.ndarray | None = None
    if futility is not None and k > 1:
        if sided == 2:
            raise ParameterError(
                "futility", "None for two-sided designs (one-sided only)", futility
            )
        if isinstance(futility, (str, tuple)) or futility_scale == "beta-spending":
            beta_sp = _parse_spending("futility", futility, k, beta)
            fut_kind = f"beta-spending, {beta_sp.label}"
            if boundary == "wang-tsiatis":
                raise ParameterError(
                    "futility",
                    "z or conditional-power bounds with Wang-Tsiatis boundaries",
                    futility,
                )
        else:
            try:
                fut_values = np.asarray(futility, dtype=float)
            except (TypeError, ValueError):
                fut_values = np.array([])
            if (
                fut_values.ndim != 1
                or len(fut_values) != k - 1
                or not np.all(np.isfinite(fut_values))
            ):
                raise ParameterError(
                    "futility",
                    f"{k - 1} bounds (one per interim look) on the {futility_scale} scale",
                    futility,
                )
            if futility_scale == "conditional-power" and not np.all(
                (fut_values >= 0) & (fut_values < 1)
            ):
                raise ParameterError("futility", "conditional-power thresholds in [0, 1)", futility)
            fut_kind = "z-scale bounds" if futility_scale == "z" else "conditional-power thresholds"

    no_fut = np.full(k, -math.inf)

    def efficacy(fut: np.ndarray) -> np.ndarray:
        if boundary == "wang-tsiatis":
            return _wang_tsiatis(t, delta, alpha, sided, fut)  # type: ignore[arg-type]
        assert alpha_sp is not None
        cum = alpha_sp.cumulative(t, alpha, sided)
        return _efficacy_from_spending(t, np.diff(np.r_[0.0, cum]), sided, fut)

    beta_cum = np.full(k, math.nan)
    if beta_sp is not None:
        assert alpha_sp is not None
        beta_cum = beta_sp.cumulative(t, beta, 1)
        binc = np.diff(np.r_[0.0, beta_cum])
        if binding:
            ainc = np.diff(np.r_[0.0, alpha_sp.cumulative(t, alpha, 1)])
            c, b, eta = _beta_spending(t, ainc, None, binc, z_fixed)
        else:
            c, b, eta = _beta_spending(t, None, efficacy(no_fut), binc, z_fixed)
        fut = np.r_[b[:-1], -math.inf]
        fut_bounds = b.copy()
        fut_bounds[-1] = c[-1]
    elif fut_values is not None and futility_scale == "z":
        fut = np.r_[fut_values, -math.inf]
        c = efficacy(fut if binding else no_fut)
        fut = np.minimum(fut, c)
        eta = _power_drift(t, c, fut, sided, 1 - beta, z_fixed)
        fut_bounds = np.r_[fut[:-1], math.nan]
    elif fut_values is not None:  # conditional power: fixed point in the drift
        c0 = efficacy(no_fut)
        c = c0
        eta = _power_drift(t, c, no_fut, sided, 1 - beta, z_fixed)
        fut = no_fut
        for _ in range(60):
            zb = [
                solve_root(
                    lambda z, j=j, c=c, eta=eta: _cp_given(t, c, j, z, eta, 1) - fut_values[j],
                    -20.0,
                    c[j],
                )
                if fut_values[j] > 0
                else -math.inf
                for j in range(k - 1)
            ]
            fut = np.minimum(np.r_[zb, -math.inf], c)
            c = efficacy(fut) if binding else c0
            new = _power_drift(t, c, fut, sided, 1 - beta, z_fixed)
            if abs(new - eta) < 1e-11:
                eta = new
                break
            eta = new
        fut_bounds = np.r_[fut[:-1], math.nan]
    else:
        c = efficacy(no_fut)
        fut = no_fut
        eta = _power_drift(t, c, fut, sided, 1 - beta, z_fixed)
        fut_bounds = np.full(k, math.nan)

    lower = fut if sided == 1 else -c

    def probs(e: float) -> tuple[np.ndarray, np.ndarray]:
        return _run(t, e, c, lower, sided)

    def asn(e: float) -> float:
        up, lo = probs(e)
        early = (up + lo)[:-1]
        stop = np.r_[early, 1 - early.sum()]
        return float((eta / z_fixed) ** 2 * np.sum(stop * t))

    up0, lo0 = probs(0.0)
    up1, lo1 = probs(eta)
    if sided == 2 or fut_kind == "none":
        f0 = f1 = np.full(k, math.nan)
        # a two-sided design's lower crossings are rejections too (in the other direction)
        rej0 = up0 + (lo0 if sided == 2 else 0.0)
    else:
        f0, f1 = lo0.copy(), lo1.copy()
        f0[-1] = f1[-1] = math.nan
        rej0 = up0
    alpha_spent = (
        np.cumsum(up0 + lo0)
        if sided == 2
        else np.cumsum(up0 if binding or fut_kind == "none" else _run(t, 0.0, c, no_fut, 1)[0])
    )
    return GroupSequentialDesign(
        k=k,
        alpha=alpha,
        beta=beta,
        sided=sided,
        spending=label,
        boundary=boundary,
        information_rates=tuple(float(x) for x in t),
        critical_values=tuple(float(x) for x in c),
        futility_bounds=tuple(float(x) for x in fut_bounds),
        alpha_spent=tuple(float(x) for x in alpha_spent),
        beta_spent=tuple(float(x) for x in beta_cum),
        stage_levels=tuple(float(stats.norm.sf(x)) for x in c),
        drift=float(eta),
        inflation_factor=float((eta / z_fixed) ** 2),
        rejection_h1=tuple(float(x) for x in up1),
        futility_h1=tuple(float(x) for x in f1),
        rejection_h0=tuple(float(x) for x in rej0),
        futility_h0=tuple(float(x) for x in f0),
        asn_h0=asn(0.0),
        asn_h01=asn(eta / 2),
        asn_h1=asn(eta),
        binding=binding,
        futility=fut_kind,
        _spec=(boundary, alpha_sp, delta, fut),
    )


# ------------------------------------------------------------------ interim and final analyses
def _check_look(design: GroupSequentialDesign, look: Any, last_ok: bool) -> int:
    top = design.k if last_ok else design.k - 1
    look = check_count("look", look, minimum=1)
    if look > top:
        raise ParameterError("look", f"an analysis number in 1..{top}", look)
    return look


def _check_information(design: GroupSequentialDesign, information: Any) -> np.ndarray:
    if information is None:
        return np.asarray(design.information_rates)
    try:
        i = np.asarray(information, dtype=float)
    except (TypeError, ValueError):
        i = np.array([])
    if (
        i.ndim != 1
        or len(i) != design.k
        or not np.all(np.isfinite(i))
        or i[0] <= 0
        or np.any(np.diff(i) <= 0)
    ):
        raise ParameterError(
            "information",
            f"{design.k} increasing positive cumulative informations (observed, then planned)",
            information,
        )
    return i


@dataclass(frozen=True)
class ConditionalPower(Result):
    """Conditional and predictive power at an interim look (see :func:`conditional_power`)."""

    look: int
    z: float
    theta: float
    theta_trend: float
    later_looks: tuple[int, ...]
    conditional_power: tuple[float, ...]
    conditional_power_trend: tuple[float, ...]
    predictive_power: float
    title: ClassVar[str] = "Conditional power"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "look": self.later_looks,
                "conditional_power": self.conditional_power,
                "conditional_power_trend": self.conditional_power_trend,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            f"At look {self.look} (z = {self.z:.4g}): cumulative probability of rejecting H0 by each "
            f"later look under the assumed effect {self.theta:.4g} and under the observed trend "
            f"{self.theta_trend:.4g}; predictive power (flat prior) {self.predictive_power:.4g}.",
        )


def conditional_power(
    design: GroupSequentialDesign,
    look: int,
    z: float,
    *,
    theta: float | None = None,
    information: Sequence[float] | None = None,
) -> ConditionalPower:
    """Conditional power of a group-sequential trial at an interim analysis.

    Parameters
    ----------
    design : GroupSequentialDesign
    look : int
        The interim analysis just done (1 .. k-1).
    z : float
        Its overall (cumulative) z statistic, positive in the direction of the effect.
    theta : float, optional
        The assumed standardized effect, such that ``E Z_j = theta sqrt(I_j)``; default the
        design's effect (``drift / sqrt(I_k)``). For means with equal allocation, ``theta =
        effect / sd`` and ``I_j = n_j / 2`` (``n_j`` per arm).
    information : sequence of float, optional
        Cumulative information at every look: observed up to ``look``, planned after (any
        unit, e.g. ``n_per_arm / 2``); default the design's information rates.

    Returns
    -------
    ConditionalPower
        Cumulative probability of crossing an efficacy bound by each later look given ``z``:
        under ``theta``, under the observed trend ``theta_hat = z / sqrt(I_look)``, and the
        predictive power (the conditional power averaged over the flat-prior posterior
        ``N(theta_hat, 1 / I_look)``, Spiegelhalter, Freedman & Blackburn 1986).

    Notes
    -----
    ``P(cross c_j for some later j | Z_look = z)`` by the recursive integration started from the
    observed score (:mod:`._gs`), with the design's critical values; futility bounds are
    ignored unless binding (rpact ``getConditionalPower``).

    Examples
    --------
    >>> from trial_analysis.power import group_sequential, conditional_power
    >>> d = group_sequential(3, 0.025, 0.2)
    >>> round(conditional_power(d, 1, 1.49, theta=0.4, information=[25, 50, 75])
    ...       .conditional_power[-1], 3)
    0.928
    """
    look = _check_look(design, look, last_ok=False)
    z = check_finite("z", z)
    info = _check_information(design, information)
    t = info / info[-1]
    th = design.drift / math.sqrt(info[-1]) if theta is None else check_finite("theta", theta)
    th_hat = z / math.sqrt(info[look - 1])
    c = np.asarray(design.critical_values)

    def cp(theta_: float) -> np.ndarray:
        up, _ = _run(
            t[look:],
            theta_ * math.sqrt(info[-1]),
            c[look:],
            design._later_lower(look),
            1,
            t0=t[look - 1],
            z0=z,
        )
        return np.cumsum(up)

    x, w = np.polynomial.hermite_e.hermegauss(48)
    sd_post = 1 / math.sqrt(info[look - 1])
    pp = float(
        sum(wi * cp(th_hat + sd_post * xi)[-1] for xi, wi in zip(x, w, strict=True))
        / math.sqrt(2 * math.pi)
    )
    return ConditionalPower(
        look=look,
        z=z,
        theta=float(th),
        theta_trend=float(th_hat),
        later_looks=tuple(range(look + 1, design.k + 1)),
        conditional_power=tuple(float(v) for v in cp(th)),
        conditional_power_trend=tuple(float(v) for v in cp(th_hat)),
        predictive_power=pp,
    )


@dataclass(frozen=True)
class AnalysisResults(Result):
    """Repeated confidence intervals and final inference of a group-sequential trial."""

    z: tuple[float, ...]
    estimate: tuple[float, ...]
    se: tuple[float, ...]
    critical_values: tuple[float, ...]
    rci_lower: tuple[float, ...]
    rci_upper: tuple[float, ...]
    repeated_p: tuple[float, ...]
    final_look: int | None
    p_value: float
    conf_low: float
    conf_high: float
    median_unbiased: float
    conf_level: float
    title: ClassVar[str] = "Group-sequential analysis"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "look": np.arange(1, len(self.z) + 1),
                "z": self.z,
                "z_efficacy": self.critical_values,
                "estimate": self.estimate,
                "rci_lower": self.rci_lower,
                "rci_upper": self.rci_upper,
                "repeated_p": self.repeated_p,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        if self.final_look is None:
            return ("No efficacy bound crossed yet: the trial continues (no final inference).",)
        return (
            f"Stopped at look {self.final_look}: stage-wise ordering p-value {self.p_value:.4g}, "
            f"median-unbiased estimate {self.median_unbiased:.4g}, {100 * self.conf_level:g}% "
            f"confidence interval {self.conf_low:.4g} to {self.conf_high:.4g}.",
        )


def analysis_results(
    design: GroupSequentialDesign,
    z: Sequence[float],
    *,
    se: Sequence[float] | None = None,
    final: bool = False,
) -> AnalysisResults:
    """Repeated CIs, repeated p-values and the final inference of a group-sequential trial.

    Parameters
    ----------
    design : GroupSequentialDesign
    z : sequence of float
        Overall z statistics at the looks done so far (positive = effect direction).
    se : sequence of float, optional
        Standard error of the effect estimate at each look (effect scale); the estimate is
        ``z * se``. Default 1 (everything on the z / standardized scale).
    final : bool
        Treat the last given look as the final analysis even when no bound was crossed.

    Returns
    -------
    AnalysisResults
        Per look: the repeated confidence interval ``estimate +- c_k se_k`` (Jennison &
        Turnbull 1989) and the repeated p-value (the level at which ``c_k`` equals ``z_k``). At
        the stopping look ``s`` (first crossing, or the last look): the p-value of the stage-wise
        ordering ``P_0(stop earlier for efficacy, or at s with Z_s >= z_s)``, the median-unbiased
        estimate and the confidence interval (level ``1 - 2 alpha / sided``) by inverting it
        (Tsiatis, Rosner & Mehta 1984), as rpact ``getAnalysisResults``.
    """
    zz = np.asarray(z, dtype=float)
    if zz.ndim != 1 or not 1 <= len(zz) <= design.k or not np.all(np.isfinite(zz)):
        raise ParameterError("z", f"1 to {design.k} finite overall z statistics", z)
    n = len(zz)
    if se is None:
        sev = np.ones(n)
    else:
        sev = np.asarray(se, dtype=float)
        if sev.shape != zz.shape or not np.all(sev > 0):
            raise ParameterError("se", f"{n} positive standard errors (one per z)", se)
    c = np.asarray(design.critical_values)[:n]
    est = zz * sev
    t = np.asarray(design.information_rates)
    crossed = np.nonzero(zz >= c)[0]
    s = int(crossed[0]) if len(crossed) else (n - 1 if final or n == design.k else None)  # type: ignore[assignment]

    def rep_p(k: int) -> float:
        def f(la: float) -> float:
            return design._efficacy_at(math.exp(la), k + 1)[k] - zz[k]

        lo, hi = math.log(1e-12), math.log(0.5)
        if f(hi) > 0:
            return 0.5 if zz[k] < design._efficacy_at(0.5, k + 1)[k] else math.nan
        if f(lo) < 0:
            return 1e-12
        return math.exp(solve_root(f, lo, hi))

    reps = tuple(rep_p(k) for k in range(n))
    side_alpha = design.alpha / design.sided
    nan = math.nan
    p_val = lo_ci = hi_ci = mue = nan
    if s is not None:
        upper = c[: s + 1].copy()
        upper[s] = zz[s]
        lower = -upper if design.sided == 2 else np.full(s + 1, -math.inf)
        if design.sided == 2:
            lower[s] = -math.inf  # the ordering counts Z_s >= z_s only

        def order(eta: float) -> float:
            up, _ = _run(t[: s + 1], eta, upper, lower, 1)
            return float(up.sum())

        scale = sev[s] * math.sqrt(t[s])  # effect per unit of drift
        p_val = order(0.0)
        span = abs(zz[s]) / math.sqrt(t[s]) + 20
        mue = solve_root(lambda e: order(e) - 0.5, -span, span) * scale
        lo_ci = solve_root(lambda e: order(e) - side_alpha, -span, span) * scale
        hi_ci = solve_root(lambda e: order(e) - (1 - side_alpha), -span, span) * scale
    return AnalysisResults(
        z=tuple(float(v) for v in zz),
        estimate=tuple(float(v) for v in est),
        se=tuple(float(v) for v in sev),
        critical_values=tuple(float(v) for v in c),
        rci_lower=tuple(float(v) for v in est - c * sev),
        rci_upper=tuple(float(v) for v in est + c * sev),
        repeated_p=reps,
        final_look=None if s is None else s + 1,
        p_value=p_val,
        conf_low=lo_ci,
        conf_high=hi_ci,
        median_unbiased=mue,
        conf_level=1 - 2 * side_alpha,
    )
