"""Events, sample size and power for comparing two survival curves (log-rank / Cox), analytic
and simulated.

Analytic (as rpact ``getSampleSizeSurvival`` / ``getPowerSurvival``, fixed designs):

- events: Schoenfeld (1981) D = (z_α + z_β)² (1 + k)² / (k (log HR)²) or Freedman (1982)
  D = (z_α + z_β)² (1 + k·HR)² / (k (1 − HR)²), with k = n1/n2 (experimental over control);
- patients: N = D / P(event), P(event) averaged over arms, each arm exponential with hazard λ
  (λ_control = log 2 / median, λ_exp = HR·λ_control), uniform accrual over [0, a], follow-up
  f after the last patient, exponential dropout γ = −log(1 − rate)/time:
  P = λ/(λ+γ) · [1 − (e^{−(λ+γ) f} − e^{−(λ+γ)(a+f)}) / ((λ+γ) a)];
- power for given events: Φ(√(D k)/(1 + k) |log HR| − z_α) (Schoenfeld) and the analysis
  time at which N patients are expected to have produced D events.

Simulated (:func:`simulate_survival`): piecewise-exponential arms (delayed effects, crossing
hazards), uniform accrual, exponential dropout, analysis at a calendar time or when a target
number of events is reached, by log-rank, Fleming–Harrington G(ρ, γ), Cox or RMST.

Why by hand: no Python library computes rpact's numbers (statsmodels has no survival power;
lifelines' ``sample_size_experiment_size`` is Freedman without accrual or dropout).

References: Schoenfeld DA (1981) Biometrika 68:316; Freedman LS (1982) Stat Med 1:121; Lachin
JM, Foulkes MA (1986) Biometrics 42:507; rpact documentation of getSampleSizeSurvival.
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
from ..errors import AnalysisError, ParameterError
from ..results import Result
from ._common import (
    check_alpha,
    check_alternative,
    check_power_target,
    check_ratio,
)

__all__ = [
    "SURVIVAL_METHODS",
    "GroupSequentialSurvival",
    "SimulatedSurvivalPower",
    "SurvivalPower",
    "event_probability",
    "events_survival",
    "group_sequential_survival",
    "power_survival",
    "sample_size_survival",
    "simulate_survival",
]

SURVIVAL_METHODS = ("schoenfeld", "freedman")
SIM_ANALYSES = ("logrank", "fh", "cox", "rmst")
MAX_SIMULATED_PATIENTS = 2e9  # n_sims × patients, bounded before any work starts


def _z_alpha(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def _check_hr(hr: Any) -> float:
    v = check_positive("hr", hr)
    if v == 1:
        raise ParameterError("hr", "a hazard ratio different from 1 (an effect to detect)", hr)
    return v


def events_survival(
    hr: float,
    power: float = 0.8,
    alpha: float = 0.05,
    *,
    ratio: float = 1.0,
    method: str = "schoenfeld",
    alternative: str = "two-sided",
) -> float:
    """Events needed by a log-rank test (unrounded), Schoenfeld or Freedman.

    ``hr`` is experimental over control, ``ratio`` = n2/n1 (control over experimental, as in
    the rest of :mod:`trial_analysis.power`); ``alpha`` two-sided by default.

    Examples
    --------
    >>> round(events_survival(0.7, power=0.8), 2)  # rpact: 246.79
    246.79
    """
    hr = _check_hr(hr)
    power = check_power_target(power)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    method = check_choice("method", method, SURVIVAL_METHODS)
    k = 1.0 / check_ratio(ratio)  # n1/n2
    zz = (_z_alpha(alpha, alternative) + float(stats.norm.ppf(power))) ** 2
    if method == "schoenfeld":
        return zz * (1 + k) ** 2 / (k * math.log(hr) ** 2)
    return zz * (1 + k * hr) ** 2 / (k * (1 - hr) ** 2)


def _power_from_events(d: float, hr: float, k: float, z: float, method: str) -> float:
    if method == "schoenfeld":
        shift = math.sqrt(d * k) / (1 + k) * abs(math.log(hr))
    else:
        shift = math.sqrt(d * k) * abs(1 - hr) / (1 + k * hr)
    return float(stats.norm.cdf(shift - z))


def event_probability(
    hazard: float, accrual_time: float, follow_up_time: float, dropout_hazard: float = 0.0
) -> float:
    """P(event observed by the end of the study) for one arm (exponential event and dropout
    times, uniform entry over ``[0, accrual_time]``, study end at accrual + follow-up)."""
    h = hazard + dropout_hazard
    a, f = accrual_time, follow_up_time
    if a == 0:
        return hazard / h * (1 - math.exp(-h * f))
    return hazard / h * (1 - (math.exp(-h * f) - math.exp(-h * (a + f))) / (h * a))


def _expected_events_at(t: float, lam: Sequence[float], w: Sequence[float], a: float, g: float):
    """Expected events per patient by calendar time ``t`` (entry uniform on [0, a])."""
    out = 0.0
    for lam_i, w_i in zip(lam, w, strict=True):
        h = lam_i + g
        if t <= a:  # entries so far over [0, t], each followed for t - entry
            p = (t - (1 - math.exp(-h * t)) / h) / a
        else:
            p = 1 - (math.exp(-h * (t - a)) - math.exp(-h * t)) / (h * a)
        out += w_i * lam_i / h * p
    return out


@dataclass(frozen=True)
class SurvivalPower(Result):
    """Events, patients, power and timing of a two-arm survival trial (one design point)."""

    solved_for: str
    method: str
    hr: float
    alpha: float
    alternative: str
    power: float
    ratio: float
    events_exact: float
    events: int
    n_exact: float = math.nan
    n1: int | None = None
    n2: int | None = None
    median_control: float = math.nan
    accrual_time: float = math.nan
    follow_up_time: float = math.nan
    analysis_time: float = math.nan
    dropout_rate: float = 0.0
    dropout_time: float = math.nan
    event_probability: tuple[float, float] = (math.nan, math.nan)
    title: ClassVar[str] = "Events and sample size for a survival comparison"

    @property
    def n_total(self) -> int | None:
        return None if self.n1 is None or self.n2 is None else self.n1 + self.n2

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "solved_for": self.solved_for,
                    "hr": self.hr,
                    "alpha": self.alpha,
                    "alternative": self.alternative,
                    "power": self.power,
                    "ratio": self.ratio,
                    "events": self.events,
                    "events_exact": self.events_exact,
                    "n1": self.n1,
                    "n2": self.n2,
                    "n_exact": self.n_exact,
                    "median_control": self.median_control,
                    "accrual_time": self.accrual_time,
                    "follow_up_time": self.follow_up_time,
                    "analysis_time": self.analysis_time,
                    "p_event_experimental": self.event_probability[0],
                    "p_event_control": self.event_probability[1],
                }
            ]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            f"{self.method.capitalize()} approximation; hr = experimental/control; "
            "ratio = n2/n1 (control/experimental).",
        ]
        if self.dropout_rate > 0:
            out.append(
                f"Exponential dropout: {self.dropout_rate:.0%} by time {self.dropout_time:g}."
            )
        if self.solved_for == "n":
            out.append(
                "Events and patients rounded up; `power` is the power at the rounded events."
            )
        return tuple(out)


def _rates(median_control: Any, hr: float, dropout_rate: Any, dropout_time: Any):
    med = check_positive("median_control", median_control)
    lam2 = math.log(2) / med
    dr = check_finite("dropout_rate", dropout_rate)
    if not 0 <= dr < 1:
        raise ParameterError(
            "dropout_rate", "a proportion in [0, 1) (dropped out by dropout_time)", dropout_rate
        )
    dt = check_positive("dropout_time", dropout_time)
    g = -math.log(1 - dr) / dt
    return med, lam2, hr * lam2, g, dr, dt


def _all_or_none(expected: str, **given: Any) -> bool:
    """``True`` when every one of ``given`` is set, ``False`` when none is; a
    :class:`ParameterError` naming them all (``expected`` says why) when only some are."""
    if all(v is None for v in given.values()):
        return False
    if any(v is None for v in given.values()):
        raise ParameterError("/".join(given), expected, dict(given))
    return True


def _accrual_design(
    median_control: Any,
    accrual_time: Any,
    follow_up_time: Any,
    hr: float,
    dropout_rate: Any,
    dropout_time: Any,
    k: float,
    events: float,
) -> tuple[float, int, int, tuple[float, ...], tuple[float, float]]:
    """Patients for ``events`` expected events at the end of accrual plus follow-up: ``(n,
    n1, n2, (med, lam1, lam2, g, dr, dt, a, f))``, with ``n = events / (w1 P1 + w2 P2)``,
    ``P_i`` each arm's event probability by then, ``w`` the allocation (``k = n1 / n2``)
    and the arm sizes rounded up (rpact ``getSampleSizeSurvival``); ``P1``, ``P2`` with them."""
    med, lam2, lam1, g, dr, dt = _rates(median_control, hr, dropout_rate, dropout_time)
    a = check_positive("accrual_time", accrual_time, allow_zero=True)
    f = check_positive("follow_up_time", follow_up_time)
    p1, p2 = event_probability(lam1, a, f, g), event_probability(lam2, a, f, g)
    n = events / ((k * p1 + p2) / (1 + k))
    n1 = math.ceil(n * k / (1 + k) - 1e-9)
    n2 = math.ceil(n / (1 + k) - 1e-9)
    return n, n1, n2, (med, lam1, lam2, g, dr, dt, a, f), (p1, p2)


def sample_size_survival(
    hr: float,
    power: float = 0.8,
    alpha: float = 0.05,
    *,
    median_control: float | None = None,
    accrual_time: float | None = None,
    follow_up_time: float | None = None,
    ratio: float = 1.0,
    dropout_rate: float = 0.0,
    dropout_time: float = 12.0,
    method: str = "schoenfeld",
    alternative: str = "two-sided",
) -> SurvivalPower:
    """Events and patients for a log-rank test (rpact ``getSampleSizeSurvival``, fixed design).

    Parameters
    ----------
    hr : float
        Hazard ratio experimental/control under H1.
    power, alpha : float
        Target power; significance level (two-sided by default: ``alpha=0.05`` two-sided is
        rpact's ``alpha=0.025, sided=1``).
    median_control : float, optional
        Median survival of the control arm (exponential). With ``accrual_time`` and
        ``follow_up_time`` the number of patients is computed; otherwise only events.
    accrual_time, follow_up_time : float, optional
        Uniform accrual duration and the follow-up after the last patient entered (same unit
        as the median).
    ratio : float
        Allocation n2/n1 (control over experimental); rpact's ``allocationRatioPlanned`` is
        n1/n2 = ``1/ratio``.
    dropout_rate, dropout_time : float
        Exponential dropout: a proportion ``dropout_rate`` has dropped out by ``dropout_time``
        (both arms; rpact ``dropoutRate1/2``, ``dropoutTime``).
    method : {"schoenfeld", "freedman"}
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    SurvivalPower
        ``events`` (rounded up) and ``events_exact``; ``n1``, ``n2`` (each rounded up) and
        ``n_exact``; ``event_probability`` per arm.

    Examples
    --------
    >>> r = sample_size_survival(0.7, median_control=12, accrual_time=24, follow_up_time=12)
    >>> r.events, round(r.n_exact, 2)  # rpact: 246.787, 369.574
    (247, 369.57)
    """
    hr = _check_hr(hr)
    d = events_survival(hr, power, alpha, ratio=ratio, method=method, alternative=alternative)
    method = check_choice("method", method, SURVIVAL_METHODS)
    alternative = check_alternative(alternative)
    alpha = check_alpha(alpha)
    ratio = check_ratio(ratio)
    k = 1.0 / ratio
    events = math.ceil(d - 1e-9)
    pw = _power_from_events(events, hr, k, _z_alpha(alpha, alternative), method)
    if not _all_or_none(
        "all three given (to compute patients) or none (events only)",
        median_control=median_control,
        accrual_time=accrual_time,
        follow_up_time=follow_up_time,
    ):
        return SurvivalPower(
            solved_for="events",
            method=method,
            hr=hr,
            alpha=alpha,
            alternative=alternative,
            power=pw,
            ratio=ratio,
            events_exact=d,
            events=events,
        )
    n, n1, n2, (med, _, _, _, dr, dt, a, f), (p1, p2) = _accrual_design(
        median_control, accrual_time, follow_up_time, hr, dropout_rate, dropout_time, k, d
    )
    return SurvivalPower(
        solved_for="n",
        method=method,
        hr=hr,
        alpha=alpha,
        alternative=alternative,
        power=pw,
        ratio=ratio,
        events_exact=d,
        events=events,
        n_exact=n,
        n1=n1,
        n2=n2,
        median_control=med,
        accrual_time=a,
        follow_up_time=f,
        analysis_time=a + f,
        dropout_rate=dr,
        dropout_time=dt,
        event_probability=(p1, p2),
    )


def power_survival(
    hr: float,
    events: int,
    alpha: float = 0.05,
    *,
    ratio: float = 1.0,
    n: int | None = None,
    median_control: float | None = None,
    accrual_time: float | None = None,
    dropout_rate: float = 0.0,
    dropout_time: float = 12.0,
    method: str = "schoenfeld",
    alternative: str = "two-sided",
) -> SurvivalPower:
    """Power of a log-rank test with ``events`` events (rpact ``getPowerSurvival``, fixed design).

    With ``n`` patients, ``median_control`` and ``accrual_time`` also the expected calendar
    time of the analysis (when ``events`` events are expected).

    Examples
    --------
    >>> r = power_survival(0.7, 250, n=500, median_control=12, accrual_time=24)
    >>> round(r.power, 4), round(r.analysis_time, 2)  # rpact: 0.8051, 27.45
    (0.8051, 27.45)
    """
    hr = _check_hr(hr)
    events = check_count("events", events, minimum=1)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    method = check_choice("method", method, SURVIVAL_METHODS)
    ratio = check_ratio(ratio)
    k = 1.0 / ratio
    pw = _power_from_events(events, hr, k, _z_alpha(alpha, alternative), method)
    base = dict(
        solved_for="power",
        method=method,
        hr=hr,
        alpha=alpha,
        alternative=alternative,
        power=pw,
        ratio=ratio,
        events_exact=float(events),
        events=events,
    )
    if not _all_or_none(
        "all three given (for the analysis time) or none",
        n=n,
        median_control=median_control,
        accrual_time=accrual_time,
    ):
        return SurvivalPower(**base)
    n = check_count("n", n, minimum=2)
    if events > n:
        raise ParameterError("events", f"at most n = {n}", events)
    med, lam2, lam1, g, dr, dt = _rates(median_control, hr, dropout_rate, dropout_time)
    a = check_positive("accrual_time", accrual_time, allow_zero=True)
    w = (k / (1 + k), 1 / (1 + k))
    a_ = max(a, 1e-12)
    plateau = sum(wi * li / (li + g) for li, wi in zip((lam1, lam2), w, strict=True))
    if events >= n * plateau * (1 - 1e-9):
        raise AnalysisError(
            f"{events} events are never expected from {n} patients (at most {n * plateau:.1f} "
            "with this dropout)"
        )

    def gap(t: float) -> float:
        return n * _expected_events_at(t, (lam1, lam2), w, a_, g) - events

    hi = a_ + 1.0
    while gap(hi) < 0:
        hi *= 2
    t = float(optimize.brentq(gap, 1e-12, hi, xtol=1e-12, rtol=1e-14))
    n1 = round(n * w[0])
    return SurvivalPower(
        **base,
        n_exact=float(n),
        n1=n1,
        n2=n - n1,
        median_control=med,
        accrual_time=a,
        follow_up_time=max(t - a, 0.0),
        analysis_time=t,
        dropout_rate=dr,
        dropout_time=dt,
    )


@dataclass(frozen=True)
class GroupSequentialSurvival(Result):
    """Events (the information) and calendar times of a group-sequential survival trial."""

    design: Any = field(repr=False)
    hr: float
    method: str
    ratio: float
    events_fixed: float
    max_events: float
    n_exact: float
    n1: int | None
    n2: int | None
    table: pd.DataFrame
    title: ClassVar[str] = "Group-sequential survival design (information = events)"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        d = self.design
        side = f"one-sided alpha {d.alpha:g}" if d.sided == 1 else f"two-sided alpha {d.alpha:g}"
        return (
            f"{d.k} analyses, {d.spending} spending, {side}, power {1 - d.beta:g}; maximum "
            f"events = inflation factor {d.inflation_factor:.4f} x fixed-design events "
            f"{self.events_fixed:.2f} ({self.method}); hr = experimental/control, "
            "ratio = n2/n1.",
        )


def group_sequential_survival(
    design: Any,
    hr: float,
    *,
    median_control: float | None = None,
    accrual_time: float | None = None,
    follow_up_time: float | None = None,
    ratio: float = 1.0,
    dropout_rate: float = 0.0,
    dropout_time: float = 12.0,
    method: str = "schoenfeld",
) -> GroupSequentialSurvival:
    """Events per analysis, patients and analysis times of a group-sequential log-rank trial.

    As rpact ``getSampleSizeSurvival(design = getDesignGroupSequential(...))``: the fixed-design
    events (Schoenfeld or Freedman, at the design's alpha and power) times the design's
    inflation factor give the maximum events, split by the information rates; with the
    accrual and survival assumptions, the patients (maximum events over the probability of an
    event by the end of the study) and the expected calendar time of each analysis.

    Parameters
    ----------
    design : GroupSequentialDesign
        From :func:`trial_analysis.power.group_sequential` (its alpha, beta, sides,
        information rates, boundaries and inflation factor are used).
    hr, median_control, accrual_time, follow_up_time, ratio, dropout_rate, dropout_time, method
        As :func:`sample_size_survival`.

    Returns
    -------
    GroupSequentialSurvival
        ``to_frame()`` per stage: ``information_rate, critical_value, events, events_rounded,
        analysis_time, n_at_analysis``.

    Examples
    --------
    >>> from trial_analysis.power import group_sequential
    >>> d = group_sequential(3, alpha=0.025, beta=0.2, spending="obrien-fleming")
    >>> r = group_sequential_survival(d, 0.7, median_control=12, accrual_time=24, follow_up_time=12)
    >>> round(r.max_events, 2), round(r.n_exact, 2)  # rpact: 249.94, 374.30
    (249.94, 374.3)
    """
    from .sequential import GroupSequentialDesign

    if not isinstance(design, GroupSequentialDesign):
        raise ParameterError(
            "design", "a GroupSequentialDesign from group_sequential()", type(design).__name__
        )
    hr = _check_hr(hr)
    method = check_choice("method", method, SURVIVAL_METHODS)
    ratio = check_ratio(ratio)
    alt = "greater" if design.sided == 1 else "two-sided"
    fixed = events_survival(
        hr, 1 - design.beta, design.alpha, ratio=ratio, method=method, alternative=alt
    )
    d_max = design.inflation_factor * fixed
    rates = np.asarray(design.information_rates, dtype=float)
    ev = d_max * rates
    table = pd.DataFrame(
        {
            "stage": np.arange(1, design.k + 1),
            "information_rate": rates,
            "critical_value": design.critical_values,
            "events": ev,
            "events_rounded": np.ceil(ev - 1e-9).astype(int),
        }
    )
    n_exact, n1, n2 = math.nan, None, None
    if _all_or_none(
        "all three given (for patients and analysis times) or none (events only)",
        median_control=median_control,
        accrual_time=accrual_time,
        follow_up_time=follow_up_time,
    ):
        k = 1.0 / ratio
        n_exact, n1, n2, (_, lam1, lam2, g, _, _, a, f), _ = _accrual_design(
            median_control, accrual_time, follow_up_time, hr, dropout_rate, dropout_time, k, d_max
        )
        w = (k / (1 + k), 1 / (1 + k))
        a_ = max(a, 1e-12)
        times = []
        for e_s in ev[:-1]:
            t = float(
                optimize.brentq(
                    lambda t, e_s=e_s: (
                        n_exact * _expected_events_at(t, (lam1, lam2), w, a_, g) - e_s
                    ),
                    1e-12,
                    a + f,
                    xtol=1e-12,
                    rtol=1e-14,
                )
            )
            times.append(t)
        times.append(a + f)
        table["analysis_time"] = times
        table["n_at_analysis"] = n_exact * np.minimum(np.asarray(times) / a_, 1.0)
    return GroupSequentialSurvival(
        design=design,
        hr=hr,
        method=method,
        ratio=ratio,
        events_fixed=fixed,
        max_events=d_max,
        n_exact=n_exact,
        n1=n1,
        n2=n2,
        table=table,
    )


# ---------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------


def _pwexp(rng: np.random.Generator, size: tuple[int, ...], cuts: np.ndarray, rates: np.ndarray):
    """Piecewise-exponential times: hazard ``rates[j]`` on ``[cuts[j], cuts[j+1])``."""
    e = rng.standard_exponential(size)
    # cumulative hazard at the cut points; invert H(t) = e
    widths = np.diff(cuts)
    cum = np.r_[0.0, np.cumsum(rates[:-1] * widths)]
    j = np.searchsorted(cum, e, side="right") - 1
    return cuts[j] + (e - cum[j]) / rates[j]


@dataclass(frozen=True)
class SimulatedSurvivalPower(Result):
    """Monte Carlo power of a survival trial per analysis (see :func:`simulate_survival`)."""

    table: pd.DataFrame
    n_sims: int
    seed: int
    chunk_size: int
    settings: dict = field(default_factory=dict)
    title: ClassVar[str] = "Simulated power of a survival trial"

    @property
    def power(self) -> dict[str, float]:
        return dict(zip(self.table["analysis"], self.table["power"], strict=True))

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        s = self.settings
        return (
            f"{self.n_sims} simulated trials (seed {self.seed}, chunks of {self.chunk_size}); "
            f"n = {s.get('n1')} vs {s.get('n2')}; analysis {s.get('analysis_at')}.",
            "mcse: Monte Carlo standard error sqrt(p (1 - p) / n_sims).",
        )


def _cox_binary(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Log hazard ratio of a Cox model with one 0/1 covariate and its Wald SE, by Newton's
    method on risk-set counts (NaN when an arm has no events).

    Why by hand: :func:`trial_analysis.survival.cox` (statsmodels PHReg, checks, profile CIs)
    costs milliseconds per fit, too slow for thousands of simulated trials. With one binary
    covariate the partial likelihood needs only, per distinct event time, the numbers at risk
    and the deaths per arm (Breslow ties; simulated times have no ties, where Breslow =
    Efron). tests/test_power_survival.py checks it against ``cox``.
    """
    ut, inv = np.unique(time, return_inverse=True)
    at1 = np.bincount(inv, weights=x, minlength=ut.size)[::-1].cumsum()[::-1]
    at = np.bincount(inv, minlength=ut.size)[::-1].cumsum()[::-1].astype(float)
    d = np.bincount(inv, weights=event, minlength=ut.size)
    d1 = np.bincount(inv, weights=event * x, minlength=ut.size)
    keep = d > 0
    at1, at0, d, d1 = at1[keep], at[keep] - at1[keep], d[keep], d1[keep]
    if d1.sum() in (0.0, d.sum()):
        return math.nan, math.nan  # an arm without events: no finite estimate
    beta = 0.0
    for _ in range(50):
        r = at1 * math.exp(beta)
        p = r / (at0 + r)
        score = float((d1 - d * p).sum())
        info = float((d * p * (1 - p)).sum())
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    r = at1 * math.exp(beta)
    p = r / (at0 + r)
    return beta, math.sqrt(1.0 / float((d * p * (1 - p)).sum()))


def _cox_binary_z(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> float:
    """Wald z of :func:`_cox_binary` (0 when an arm has no events)."""
    beta, se = _cox_binary(time, event, x)
    return 0.0 if math.isnan(beta) else beta / se


def _draw_trials(
    rng: np.random.Generator,
    m: int,
    sizes: Sequence[int],
    cuts: np.ndarray,
    hazards: Sequence[np.ndarray],
    accrual_time: float,
    dropout_hazard: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry, event and dropout times of ``m`` trials, arms side by side (shape ``(m, n)``):
    uniform entry over ``[0, accrual_time]``, piecewise-exponential event times per arm and
    exponential dropout (one stream order for :func:`simulate_survival` and scenarios)."""
    n = int(sum(sizes))
    entry = rng.uniform(0.0, accrual_time, (m, n)) if accrual_time > 0 else np.zeros((m, n))
    t_ev = np.empty((m, n))
    start = 0
    for size, h in zip(sizes, hazards, strict=True):
        t_ev[:, start : start + size] = _pwexp(rng, (m, size), cuts, h)
        start += size
    g = dropout_hazard
    drop = rng.exponential(1 / g, (m, n)) if g > 0 else np.full((m, n), np.inf)
    return entry, t_ev, drop


def _analysis_times(
    entry: np.ndarray,
    t_ev: np.ndarray,
    drop: np.ndarray,
    events: int | None,
    analysis_time: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calendar analysis time of each trial (at ``events`` events or ``analysis_time``),
    the calendar time each patient leaves and whether by an event."""
    cal_ev = entry + np.minimum(t_ev, drop)
    is_ev = t_ev <= drop
    if events is not None:
        cal = np.where(is_ev, entry + t_ev, np.inf)
        cal.sort(axis=1)
        t_an = cal[:, events - 1]
        if not np.all(np.isfinite(t_an)):
            raise AnalysisError(
                f"some simulated trials never reach {events} events (dropout too high)"
            )
    else:
        t_an = np.full(entry.shape[0], float(analysis_time))
    return t_an, cal_ev, is_ev


def _observed(entry_r, cal_ev_r, is_ev_r, t_an_r):
    """Follow-up and event indicator at the analysis of one trial (enrolled patients)."""
    enrolled = entry_r < t_an_r
    fu = np.minimum(cal_ev_r, t_an_r) - entry_r
    ev = (is_ev_r & (cal_ev_r <= t_an_r)).astype(np.int64)
    return enrolled, fu, ev


def _survival_statistic(
    x: str,
    tt: np.ndarray,
    ee: np.ndarray,
    gg: np.ndarray,
    rho: float = 0.0,
    gamma: float = 1.0,
    tau: float | None = None,
) -> tuple[float, float, float]:
    """``(stat, estimate, se)`` of analysis ``x`` of one trial (``gg`` 0 experimental, 1
    control): ``stat > 0`` when the experimental arm does better; the estimate is the log
    hazard ratio (Cox), the RMST difference (RMST) or NaN (log-rank, Fleming-Harrington)."""
    from ..survival.logrank import logrank_parts
    from ..survival.rmst import rmst_arm

    if x in ("logrank", "fh"):
        rr, gm = (0.0, 0.0) if x == "logrank" else (rho, gamma)
        _, _, oe, var = logrank_parts(tt, ee, gg, 2, None, rr, gm)
        z = oe[0] / math.sqrt(var[0, 0]) if var[0, 0] > 0 else 0.0  # O−E experimental
        return -z, math.nan, math.nan
    if x == "cox":
        beta, se = _cox_binary(tt, ee.astype(float), (gg == 0).astype(float))
        return (0.0 if math.isnan(beta) else -beta / se), beta, se
    e_t, c_t = tt[gg == 0], tt[gg == 1]
    tau_r = tau or min(e_t.max(), c_t.max())
    r1, v1 = rmst_arm(e_t, ee[gg == 0], tau_r)
    r2, v2 = rmst_arm(c_t, ee[gg == 1], tau_r)
    se = math.sqrt(v1 + v2)
    return ((r1 - r2) / se if se > 0 else 0.0), r1 - r2, se


def _hazards(name: str, value: Any, cuts: np.ndarray) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:  # one rate: constant hazard over every piece
        arr = np.repeat(arr, cuts.size - 1)
    if arr.size != cuts.size - 1 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(
            name, f"{cuts.size - 1} hazard rate(s) > 0, one per piece of `cuts`", value
        )
    return arr


def simulate_survival(
    hazard_experimental: Any,
    hazard_control: Any,
    n1: int,
    n2: int,
    *,
    cuts: Sequence[float] = (),
    accrual_time: float = 0.0,
    analysis_time: float | None = None,
    events: int | None = None,
    dropout_hazard: float = 0.0,
    analyses: Sequence[str] = ("logrank",),
    alpha: float = 0.05,
    alternative: str = "two-sided",
    rho: float = 0.0,
    gamma: float = 1.0,
    tau: float | None = None,
    n_sims: int = 1000,
    seed: int = 0,
    chunk_size: int = 1000,
) -> SimulatedSurvivalPower:
    """Power by simulation of a two-arm trial with piecewise-exponential survival.

    Parameters
    ----------
    hazard_experimental, hazard_control : float or sequence
        Hazard rate(s) of each arm, one per piece defined by ``cuts`` (e.g. a delayed effect:
        ``hazard_experimental=[h, 0.6 * h]``, ``hazard_control=h``... with ``cuts=[3]``).
    n1, n2 : int
        Patients per arm (experimental, control).
    cuts : sequence of float
        Times (since entry) where the hazards change.
    accrual_time : float
        Uniform entry over ``[0, accrual_time]`` (calendar time).
    analysis_time, events : optional
        When the trial is analysed: at a calendar time, or when ``events`` events have been
        observed (event-driven; exactly one of the two).
    dropout_hazard : float
        Exponential dropout rate (both arms).
    analyses : sequence of {"logrank", "fh", "cox", "rmst"}
        Log-rank; Fleming–Harrington G(``rho``, ``gamma``) (default G(0, 1), late effects);
        Cox Wald test; RMST difference up to ``tau`` (default: the shortest arm's largest
        follow-up in each trial).
    alpha, alternative :
        Two-sided by default; one-sided ``"less"`` means the experimental arm has fewer events
        (HR < 1), ``"greater"`` the reverse.
    n_sims, seed, chunk_size : int
        Replicates; chunk ``i`` draws from ``SeedSequence(seed, spawn_key=(i,))``, so results
        depend on ``seed`` and ``chunk_size`` only.

    Returns
    -------
    SimulatedSurvivalPower
        Per analysis: ``power``, ``mcse``; also the mean number of events and analysis time.

    Examples
    --------
    >>> import math
    >>> h = math.log(2) / 12
    >>> r = simulate_survival(0.7 * h, h, 150, 150, accrual_time=12, events=120, n_sims=200, seed=1)
    >>> 0.3 < r.power["logrank"] < 0.75
    True
    """
    cut_arr = np.r_[0.0, np.asarray(cuts, dtype=float), np.inf]
    if np.any(np.diff(cut_arr) <= 0):
        raise ParameterError("cuts", "increasing times > 0", cuts)
    h1 = _hazards("hazard_experimental", hazard_experimental, cut_arr)
    h2 = _hazards("hazard_control", hazard_control, cut_arr)
    n1 = check_count("n1", n1, minimum=2)
    n2 = check_count("n2", n2, minimum=2)
    a = check_positive("accrual_time", accrual_time, allow_zero=True)
    g = check_positive("dropout_hazard", dropout_hazard, allow_zero=True)
    if (analysis_time is None) == (events is None):
        raise ParameterError("analysis_time/events", "exactly one given", (analysis_time, events))
    if analysis_time is not None:
        at = check_positive("analysis_time", analysis_time)
        where = f"at time {at:g}"
    else:
        events = check_count("events", events, minimum=2)
        if events > n1 + n2:
            raise ParameterError("events", f"at most n1 + n2 = {n1 + n2}", events)
        where = f"at {events} events"
    analyses = list(analyses)
    for x in analyses:
        check_choice("analyses", x, SIM_ANALYSES)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    n_sims = check_count("n_sims", n_sims, minimum=1)
    chunk_size = check_count("chunk_size", chunk_size, minimum=1)
    if float(n_sims) * (n1 + n2) > MAX_SIMULATED_PATIENTS:
        raise ParameterError(
            "n_sims", f"n_sims × (n1 + n2) <= {MAX_SIMULATED_PATIENTS:.0e}", n_sims
        )
    tau_fixed = None if tau is None else check_positive("tau", tau)
    arm = np.r_[np.zeros(n1, np.int64), np.ones(n2, np.int64)]  # 0 experimental, 1 control
    z_crit = _z_alpha(alpha, alternative)
    reject = {x: 0 for x in analyses}
    ev_sum, t_sum, done = 0.0, 0.0, 0
    n_chunks = math.ceil(n_sims / chunk_size)
    for ci in range(n_chunks):
        m = min(chunk_size, n_sims - done)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ci,)))
        entry, t_ev, drop = _draw_trials(rng, m, (n1, n2), cut_arr, (h1, h2), a, g)
        t_an, cal_ev, is_ev = _analysis_times(
            entry, t_ev, drop, events, None if events is not None else at
        )
        for r in range(m):
            enrolled, fu, ev = _observed(entry[r], cal_ev[r], is_ev[r], t_an[r])
            tt, ee, gg = fu[enrolled], ev[enrolled], arm[enrolled]
            ev_sum += ee.sum()
            t_sum += t_an[r]
            if (gg == 0).sum() == 0 or (gg == 1).sum() == 0 or ee.sum() == 0:
                continue  # nobody enrolled in an arm, or no events yet: no test rejects
            for x in analyses:
                stat, _, _ = _survival_statistic(x, tt, ee, gg, rho, gamma, tau_fixed)
                if alternative == "two-sided":
                    reject[x] += abs(stat) > z_crit
                elif alternative == "less":
                    reject[x] += stat > z_crit
                else:
                    reject[x] += -stat > z_crit
        done += m
    p = np.array([reject[x] / n_sims for x in analyses])
    table = pd.DataFrame(
        {
            "analysis": analyses,
            "power": p,
            "mcse": np.sqrt(p * (1 - p) / n_sims),
            "mean_events": ev_sum / n_sims,
            "mean_analysis_time": t_sum / n_sims,
        }
    )
    return SimulatedSurvivalPower(
        table=table,
        n_sims=n_sims,
        seed=int(seed),
        chunk_size=chunk_size,
        settings={"n1": n1, "n2": n2, "analysis_at": where},
    )
