"""Adaptive designs: the inverse-normal combination test with sample-size re-estimation.

A group-sequential design (:func:`.group_sequential`) read as an adaptive design: at look ``k``
the stage-wise z statistics ``Z_1, ..., Z_k`` (each from that stage's patients only) are
combined with the weights fixed at the planning stage,

``Z*_k = (sum_{i<=k} sqrt(t_i - t_{i-1}) Z_i) / sqrt(t_k)``

(Lehmacher & Wassmer 1999; with ``t`` the planned information rates these are the weights of
Cui, Hung & Wang 1999), and ``Z*_k`` is compared with the design's boundaries. Because the
weights do not depend on the data, the type I error is the design's whatever the later stage
sizes, so the size of the next stage may be recomputed from the interim data:

- **conditional power** (rpact ``getSimulationMeans(conditionalPower = ...)``): the next stage
  gets the size giving conditional power ``cp`` under the assumed effect (or the observed
  one), bounded by ``n_min`` and ``n_max``;
- **promising zone** (Mehta & Pocock 2011): the planned size is kept unless the conditional
  power under the observed trend with the planned size lies in ``[cp_low, cp)``; then the
  size is raised to reach ``cp``, up to ``n_max``.

:func:`simulate_adaptive` gives the operating characteristics (power, type I error, stopping
probabilities, expected and distribution of the final sample size) by Monte Carlo on the
z scale (seeded; local processes or Dask); :func:`adaptive_characteristics` computes the same
quantities for two-stage designs by numerical integration over the interim statistic (no
Monte Carlo error).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri, stdtr

from .._validate import (
    check_count,
    check_finite,
    check_float_array,
    check_positive,
    check_probability,
)
from ..errors import ParameterError
from ..results import Result
from ._common import check_ratio
from .sequential import GroupSequentialDesign

__all__ = [
    "AdaptiveCharacteristics",
    "adaptive_characteristics",
    "combination_z",
    "simulate_adaptive",
    "simulate_adaptive_rates",
]

MAX_SIMULATIONS = 50_000_000
MAX_CHUNK = 1_000_000  # trials held in memory at once (k x 8 bytes each, a few arrays)
_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def combination_z(z_stages: Sequence[float], information_rates: Sequence[float]) -> np.ndarray:
    """Inverse-normal combination statistics ``Z*_1..Z*_k`` from stage-wise z statistics.

    ``Z*_k = sum_{i<=k} sqrt(t_i - t_{i-1}) Z_i / sqrt(t_k)`` with the planned information
    rates ``t`` (Lehmacher & Wassmer 1999). With equal stage sizes it equals the pooled z.

    Examples
    --------
    >>> from trial_analysis.power import combination_z
    >>> [round(float(v), 4) for v in combination_z([1.2, 2.0], [0.5, 1.0])]
    [1.2, 2.2627]
    """
    z = check_float_array("z_stages", z_stages, "finite stage-wise z statistics")
    t = check_float_array("information_rates", information_rates, "information rates")
    if z.ndim != 1 or len(z) > len(t) or not np.all(np.isfinite(z)):
        raise ParameterError("z_stages", f"at most {len(t)} finite stage-wise z statistics", z)
    w = np.sqrt(np.diff(np.r_[0.0, t]))[: len(z)]
    return np.cumsum(w * z) / np.sqrt(t[: len(z)])


# ------------------------------------------------------------------------------ the rule
@dataclass(frozen=True)
class _Plan:
    c: np.ndarray  # efficacy bounds (z scale)
    b: np.ndarray  # futility bounds (-inf where none; last is -inf)
    t: np.ndarray  # planned information rates
    planned: np.ndarray  # planned cumulative total sample sizes
    n_min: np.ndarray  # per later stage (index k = stage k+1, 0 unused)
    n_max: np.ndarray
    cp: float | None  # target conditional power (None: no re-estimation)
    theta: float | None  # assumed effect for the re-estimation (None: observed)
    sd: float  # true SD
    sd_h1: float  # SD assumed for the re-estimation
    f: float  # (1 + k)(1 + 1/k): N x Var(difference) / sd^2
    zone: tuple[float, float] | None
    t_test: bool = False  # stage-wise t tests turned into z by their p-values

    def stage_size(
        self, k: int, comb_prev: np.ndarray, pooled_prev: np.ndarray, n_prev: np.ndarray
    ) -> np.ndarray:
        """Size of stage ``k`` (0-based, k >= 1) given the data of stages ``< k``."""
        return self._size(k, comb_prev, pooled_prev, n_prev)[0]

    def _size(
        self, k: int, comb_prev: np.ndarray, pooled_prev: np.ndarray, n_prev: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage size and the piece of the rule that gives it (the size is smooth in the
        interim statistic between changes of the piece: used to split the integration)."""
        planned = self.planned[k] - self.planned[k - 1]
        if self.cp is None:
            return np.full(comb_prev.shape, planned), np.zeros(comb_prev.shape)
        t = self.t
        ccv = (self.c[k] * math.sqrt(t[k]) - comb_prev * math.sqrt(t[k - 1])) / math.sqrt(
            t[k] - t[k - 1]
        )
        if self.theta is None:  # observed effect, per unit of sqrt(total stage size)
            th = pooled_prev / np.sqrt(n_prev) * (self.sd / self.sd_h1)
        else:
            th = np.full(comb_prev.shape, self.theta / (self.sd_h1 * math.sqrt(self.f)))
        z_cp = float(ndtri(self.cp))
        raw = np.maximum(0.0, ccv + z_cp) ** 2 / np.maximum(1e-12, th) ** 2
        low = self.n_min[k]
        if self.zone is not None:
            low = max(planned, low)
        n = np.minimum(np.maximum(raw, low), self.n_max[k])
        piece = np.where(raw <= low, 1, np.where(raw >= self.n_max[k], 3, 2))
        piece = piece + 8 * (th <= 1e-12) + 16 * (ccv + z_cp <= 0)
        if self.zone is not None:
            cp_obs = ndtr(th * math.sqrt(planned) - ccv)
            inside = (cp_obs >= self.zone[0]) & (cp_obs < self.zone[1])
            n = np.where(inside, n, planned)
            piece = piece + 4 * inside
        return n, piece

    def branch(self, comb: np.ndarray) -> np.ndarray:
        """The piece of the two-stage rule at interim ``Z*_1 = comb``."""
        n1 = np.full(comb.shape, self.planned[0])
        return self._size(1, comb, comb, n1)[1]


def _stages(
    design: Any, planned: Any, conditional_power: Any, n_min: Any, n_max: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Checked cumulative planned sizes, the bounds of stages 2..k (index 0 unused) and the
    target conditional power, shared by the means and the rates simulations."""
    if not isinstance(design, GroupSequentialDesign):
        raise ParameterError("design", "a GroupSequentialDesign from group_sequential()", design)
    if design.sided != 1:
        raise ParameterError("design", "a one-sided design (sided=1)", design.sided)
    k = design.k
    try:
        n_plan = np.asarray(planned, dtype=float)
    except (TypeError, ValueError):
        n_plan = np.array([])
    if n_plan.shape != (k,) or not np.all(np.isfinite(n_plan)) or n_plan[0] <= 0:
        raise ParameterError(
            "planned", f"{k} increasing cumulative total sample sizes (one per look)", planned
        )
    if np.any(np.diff(n_plan) <= 0):
        raise ParameterError("planned", "increasing cumulative sample sizes", planned)
    stage_planned = np.diff(np.r_[0.0, n_plan])

    def per_stage(name: str, value: Any, default: np.ndarray) -> np.ndarray:
        if value is None:
            return default
        v = np.atleast_1d(check_float_array(name, value, f"{k - 1} positive stage sizes"))
        if v.size == 1:
            v = np.full(k - 1, float(v[0]))
        if v.shape != (k - 1,) or not np.all(v > 0):
            raise ParameterError(name, f"{k - 1} positive stage sizes (stages 2..{k})", value)
        return np.r_[math.nan, v]

    cp = (
        None
        if conditional_power is None
        else check_probability("conditional_power", conditional_power)
    )
    lo = per_stage("n_min", n_min, np.r_[math.nan, stage_planned[1:]])
    hi = per_stage("n_max", n_max, np.r_[math.nan, 4 * stage_planned[1:]])
    if k > 1 and np.any(lo[1:] > hi[1:]):
        raise ParameterError("n_max", "at least n_min at every stage", n_max)
    return n_plan, lo, hi, cp


def _make_plan(
    design: GroupSequentialDesign,
    sd: Any,
    planned: Any,
    ratio: Any,
    conditional_power: Any,
    n_min: Any,
    n_max: Any,
    theta: Any,
    sd_h1: Any,
    promising_zone: Any,
) -> _Plan:
    sd = check_positive("sd", sd)
    ratio = check_ratio(ratio)
    n_plan, lo, hi, cp = _stages(design, planned, conditional_power, n_min, n_max)
    th = None if theta is None else check_finite("theta", theta)
    if th is not None and th <= 0:
        raise ParameterError("theta", "a positive effect (the direction of the alternative)", th)
    sdh = sd if sd_h1 is None else check_positive("sd_h1", sd_h1)
    zone = None
    if promising_zone is not None:
        if cp is None:
            raise ParameterError("promising_zone", "given together with conditional_power")
        try:
            z0, z1 = (float(x) for x in promising_zone)
        except (TypeError, ValueError):
            raise ParameterError(
                "promising_zone", "a pair (cp_low, cp_high) of conditional powers", promising_zone
            ) from None
        if not 0 <= z0 < z1 <= 1:
            raise ParameterError("promising_zone", "0 <= cp_low < cp_high <= 1", promising_zone)
        zone = (z0, z1)
    b = np.nan_to_num(np.asarray(design.futility_bounds, dtype=float), nan=-math.inf)
    b[-1] = -math.inf
    return _Plan(
        c=np.asarray(design.critical_values, dtype=float),
        b=b,
        t=np.asarray(design.information_rates, dtype=float),
        planned=n_plan,
        n_min=lo,
        n_max=hi,
        cp=cp,
        theta=th,
        sd=sd,
        sd_h1=sdh,
        f=(1 + ratio) * (1 + 1 / ratio),
        zone=zone,
    )


# ------------------------------------------------------------------------------ simulation
def _looks(
    plan: Any, n_rep: int, bins: np.ndarray, stage: Callable[..., tuple[np.ndarray, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The look loop every adaptive simulation shares. ``stage(s, comb, alive)`` draws look
    ``s``'s stage (the total size and the stage-wise z of each trial, given the combination
    statistic so far) and keeps its model's running statistics; the inverse-normal
    combination, the stopping rules and the chunk totals are computed here."""
    k = len(plan.t)
    w = np.sqrt(np.diff(np.r_[0.0, plan.t]))
    alive = np.ones(n_rep, bool)
    n_cum = np.zeros(n_rep)
    comb_num = np.zeros(n_rep)
    comb = np.zeros(n_rep)
    reject, futile, stage_n, reached = (np.zeros(k) for _ in range(4))
    increase = 0
    for s in range(k):
        n_s, z_s = stage(s, comb, alive)
        n_cum = np.where(alive, n_cum + n_s, n_cum)
        comb_num = comb_num + w[s] * z_s
        comb = comb_num / math.sqrt(plan.t[s])
        reached[s] = alive.sum()
        if s == k - 1:  # runs to the last look with more patients than planned
            increase = int(np.sum(alive & (n_cum > plan.planned[-1] + 1e-6)))
        stage_n[s] = n_s[alive].sum()
        up = alive & (comb >= plan.c[s])
        lo = alive & ~up & (comb <= plan.b[s]) if s < k - 1 else np.zeros(n_rep, bool)
        reject[s] = up.sum()
        futile[s] = lo.sum()
        alive &= ~(up | lo)
        if s == k - 1 or not alive.any():
            if s < k - 1:
                reached[s + 1 :] = 0
            break
    return {
        "reject": reject,
        "futile": futile,
        "stage_n": stage_n,
        "reached": reached,
        "n_sum": np.array([n_cum.sum()]),
        "n_sq": np.array([np.square(n_cum).sum()]),
        "n_max_hits": np.array([np.sum(n_cum >= _max_total(plan) - 1e-6)]),
        "increase": np.array([increase]),
        "hist": np.histogram(n_cum, bins=bins)[0].astype(float),
    }


def _simulate_chunk(args: tuple[_Plan, float, int, int, int, int]) -> dict[str, np.ndarray]:
    plan, delta, j, i, n_rep, seed = args
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(j, i)))
    eps = rng.standard_normal((n_rep, len(plan.t)))
    th_true = delta / (plan.sd * math.sqrt(plan.f))  # mean of Z per sqrt(total stage size)
    n_cum = np.zeros(n_rep)
    score = np.zeros(n_rep)  # sum sqrt(n_i) Z_i (pooled statistic numerator)

    def stage(s: int, comb: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal n_cum, score
        if s == 0:
            n_s = np.full(n_rep, plan.planned[0])
        else:
            n_s = plan.stage_size(s, comb, score / np.sqrt(n_cum), n_cum)
        z_s = eps[:, s] + th_true * np.sqrt(n_s)
        if plan.t_test:  # noncentral t with n - 2 df; its p-value gives the stage's z
            df = n_s - 2
            t_s = z_s / np.sqrt(rng.chisquare(df) / df)
            z_s = ndtri(stdtr(df, t_s))
        else:
            t_s = z_s
        n_cum = np.where(alive, n_cum + n_s, n_cum)
        score = score + np.sqrt(n_s) * t_s
        return n_s, z_s

    return _looks(plan, n_rep, _bins(plan), stage)


def _max_total(plan: _Plan) -> float:
    if plan.cp is None:
        return float(plan.planned[-1])
    return float(plan.planned[0] + np.sum(plan.n_max[1:]))


def _bins(plan: _Plan) -> np.ndarray:
    return np.linspace(plan.planned[0] - 0.5, _max_total(plan) + 0.5, 4001)


def _run_jobs(chunk: Any, jobs: list[Any], n_jobs: int, dask: Any) -> list[dict[str, np.ndarray]]:
    # the same execution pattern as power.simulate: chunks with their own seed streams, run
    # in order locally, on processes or on Dask, so results depend on seed and chunk size only
    if dask is not None:
        from ._dask import run_on_dask

        return run_on_dask(chunk, jobs, dask, n_jobs)
    if n_jobs == 1 or len(jobs) == 1:
        return [chunk(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=n_jobs) as ex:
        return list(ex.map(chunk, jobs))


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class AdaptiveCharacteristics(Result):
    """Operating characteristics of an adaptive design, one row per assumed effect.

    ``summary`` has ``delta, power, early_stop, futility, expected_n, sd_n, p_increase,
    p_n_max`` (and ``power_mcse``, ``expected_n_mcse`` for simulations); ``stages`` has, per
    effect and look, the rejection and futility probabilities and the mean size of the stage
    among the trials reaching it; ``n_quantiles`` the quantiles of the final total sample size.
    """

    method: str
    summary: pd.DataFrame
    stages: pd.DataFrame
    n_quantiles: pd.DataFrame
    rule: str
    n_sims: int | None = None
    seed: int | None = None
    chunk_size: int | None = None
    whole_patients: bool = False
    title: ClassVar[str] = "Adaptive design: operating characteristics"

    @classmethod
    def _from_rows(
        cls,
        method: str,
        rows: list[dict[str, Any]],
        stage_rows: list[dict[str, Any]],
        q_rows: list[dict[str, Any]],
        rule: str,
        **run: Any,
    ) -> AdaptiveCharacteristics:
        """The result from the row dictionaries of its three tables (``run``: the simulation's
        ``n_sims``, ``seed``, ``chunk_size``, ``whole_patients``)."""
        return cls(
            method=method,
            summary=pd.DataFrame(rows),
            stages=pd.DataFrame(stage_rows),
            n_quantiles=pd.DataFrame(q_rows),
            rule=rule,
            **run,
        )

    def to_frame(self) -> pd.DataFrame:
        return self.summary.copy()

    @property
    def power(self) -> tuple[float, ...]:
        return tuple(float(x) for x in self.summary["power"])

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`Result.to_dict`, with the per-look table and the quantiles of final N."""
        from ..results import to_jsonable

        return super().to_dict() | {
            "stages": to_jsonable(self.stages),
            "n_quantiles": to_jsonable(self.n_quantiles),
        }

    @property
    def notes(self) -> tuple[str, ...]:
        how = (
            "numerical integration over the interim statistic"
            if self.n_sims is None
            else f"{self.n_sims} simulated trials per effect, seed {self.seed}, chunks of "
            f"{self.chunk_size} (SeedSequence(seed, spawn_key=(effect, chunk)))"
        )
        return (
            f"Inverse-normal combination test with the planned weights; {self.rule}.",
            f"Computed by {how}; sample sizes are totals over both arms"
            + ("." if self.whole_patients else ", not rounded."),
        )


def _quantile_row(values: np.ndarray, cdf: np.ndarray) -> dict[str, float]:
    """``{"q10": ..., "q90": ...}``: the :data:`_QUANTILES` of the final total size, each the
    first of the sorted ``values`` whose cumulative probability ``cdf`` reaches it."""
    last = len(values) - 1
    return {
        f"q{int(100 * q)}": float(values[min(np.searchsorted(cdf, q - 1e-12), last)])
        for q in _QUANTILES
    }


def _rule_label(plan: _Plan) -> str:
    if plan.cp is None:
        return "no sample-size re-estimation"
    eff = "the observed effect" if plan.theta is None else f"effect {plan.theta:g}"
    if plan.zone is None:
        return f"stage sizes for conditional power {plan.cp:g} under {eff}, within [n_min, n_max]"
    return (
        f"promising zone: stage size raised for conditional power {plan.cp:g} under the observed "
        f"effect when it lies in [{plan.zone[0]:g}, {plan.zone[1]:g}) with the planned size"
    )


def _deltas(delta: Any) -> np.ndarray:
    d = np.atleast_1d(check_float_array("delta", delta, "one or more finite effects"))
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ParameterError("delta", "one or more finite effects (differences of means)", delta)
    return d


def simulate_adaptive(
    design: GroupSequentialDesign,
    delta: float | Sequence[float],
    sd: float,
    planned: Sequence[float],
    *,
    ratio: float = 1.0,
    conditional_power: float | None = None,
    n_min: float | Sequence[float] | None = None,
    n_max: float | Sequence[float] | None = None,
    theta: float | None = None,
    sd_h1: float | None = None,
    promising_zone: tuple[float, float] | None = None,
    test: str = "z",
    n_sims: int = 100_000,
    seed: int = 0,
    chunk_size: int = 50_000,
    n_jobs: int = 1,
    dask: Any = None,
) -> AdaptiveCharacteristics:
    """Simulate an adaptive two-arm trial of means with sample-size re-estimation.

    Parameters
    ----------
    design : GroupSequentialDesign
        One-sided design; its boundaries are applied to the inverse-normal combination
        statistic with the weights of its information rates (rpact
        ``getDesignInverseNormal`` has the same boundaries).
    delta : float or sequence of float
        True difference of means (experimental - control); several give several rows.
    sd : float
        True standard deviation (common to both arms).
    planned : sequence of float
        Planned cumulative total sample sizes at the looks (both arms).
    ratio : float
        Allocation ``n_control / n_experimental`` (constant over stages).
    conditional_power : float, optional
        Target conditional power of the re-estimation; ``None`` keeps the planned sizes.
    n_min, n_max : float or sequence, optional
        Bounds on the total size of stages 2..k (default: the planned size and 4 times it).
    theta, sd_h1 : float, optional
        Effect and SD assumed by the re-estimation (default: the observed effect, ``sd``).
    promising_zone : (float, float), optional
        ``(cp_low, cp_high)``: re-estimate only when the conditional power under the observed
        effect with the planned size lies in ``[cp_low, cp_high)``, never below the planned
        size (Mehta & Pocock 2011); usually ``cp_high = conditional_power``.
    test : {"z", "t"}
        ``"z"``: known variance, the stage-wise statistics drawn on the z scale (rpact
        ``normalApproximation = TRUE``); ``"t"``: each stage analysed by a two-sample t test
        (``n_k - 2`` df, a noncentral t drawn), turned into a z statistic by its one-sided
        p-value before it is combined (rpact ``normalApproximation = FALSE``); the observed
        effect of the re-estimation is then the pooled t statistic over ``sqrt(n)``.
    n_sims, seed, chunk_size, n_jobs, dask
        Replicates per effect; chunk ``i`` of effect ``j`` draws from
        ``SeedSequence(seed, spawn_key=(j, i))``, so results depend on ``seed`` and
        ``chunk_size`` only; ``n_jobs`` local processes or a Dask cluster (``"local"``, a
        scheduler address or a ``Client``).

    Returns
    -------
    AdaptiveCharacteristics

    Notes
    -----
    The stage-wise statistics are drawn on the z scale, ``Z_k ~ N(delta sqrt(n_k) / (sd
    sqrt((1 + r)(1 + 1/r))), 1)`` (known variance: rpact ``getSimulationMeans(...,
    normalApproximation = TRUE)``). The re-estimated size of stage ``k`` is ``(max(0, c~_k +
    z_cp))**2 / theta~**2`` with the conditional critical value ``c~_k = (c_k sqrt(t_k) -
    Z*_{k-1} sqrt(t_{k-1})) / sqrt(t_k - t_{k-1})`` and the standardized effect ``theta~``
    (assumed, or the pooled z over ``sqrt(n)`` observed so far), bounded by ``n_min`` and
    ``n_max`` — rpact's rule. The trial stops at the first look where ``Z*_k`` crosses an
    efficacy or futility bound (futility stops are counted whether binding or not).

    References
    ----------
    .. [1] Lehmacher W, Wassmer G. Adaptive sample size calculations in group sequential
       trials. Biometrics 1999;55:1286-90.
    .. [2] Cui L, Hung HMJ, Wang SJ. Modification of sample size in group sequential clinical
       trials. Biometrics 1999;55:853-7.
    .. [3] Mehta CR, Pocock SJ. Adaptive increase in sample size when interim results are
       promising: a practical guide with examples. Stat Med 2011;30:3267-84.
    .. [4] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in
       Clinical Trials. Springer 2016, ch. 6-7.

    Examples
    --------
    >>> from trial_analysis.power import group_sequential, simulate_adaptive
    >>> d = group_sequential(2, 0.025, 0.2)
    >>> r = simulate_adaptive(d, [0, 0.3], 1, [100, 200], conditional_power=0.9,
    ...                       n_min=100, n_max=400, n_sims=20_000, seed=1)
    >>> [round(p, 2) for p in r.power]
    [0.02, 0.83]
    """
    plan = _make_plan(
        design, sd, planned, ratio, conditional_power, n_min, n_max, theta, sd_h1, promising_zone
    )
    if test not in ("z", "t"):
        raise ParameterError("test", '"z" (known variance) or "t" (stage-wise t tests)', test)
    if test == "t":
        if np.any(np.diff(np.r_[0.0, plan.planned]) <= 2) or np.any(plan.n_min[1:] <= 2):
            raise ParameterError("planned", "more than 2 patients in every stage (t test)", planned)
        plan = dataclasses.replace(plan, t_test=True)
    deltas = _deltas(delta)
    n_sims, chunk_size, n_jobs, seed = _check_sims(n_sims, chunk_size, n_jobs, seed, len(deltas))
    n_chunks = math.ceil(n_sims / chunk_size)
    jobs = [
        (plan, float(dl), j, i, min(chunk_size, n_sims - i * chunk_size), seed)
        for j, dl in enumerate(deltas)
        for i in range(n_chunks)
    ]
    parts = _run_jobs(_simulate_chunk, jobs, n_jobs, dask)
    return _characteristics(
        parts,
        [{"delta": float(dl)} for dl in deltas],
        n_sims=n_sims,
        n_chunks=n_chunks,
        k=len(plan.t),
        bins=_bins(plan),
        rule=_rule_label(plan) + ("; stage-wise t tests" if plan.t_test else ""),
        seed=seed,
        chunk_size=chunk_size,
    )


def _check_sims(n_sims: Any, chunk_size: Any, n_jobs: Any, seed: Any, n_effects: int) -> tuple:
    n_sims = check_count("n_sims", n_sims, minimum=1)
    chunk_size = check_count("chunk_size", chunk_size, minimum=1)
    if chunk_size > MAX_CHUNK:
        raise ParameterError("chunk_size", f"at most {MAX_CHUNK} trials per chunk", chunk_size)
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else check_count("n_jobs", n_jobs, minimum=1)
    seed = check_count("seed", seed)
    if n_sims * n_effects > MAX_SIMULATIONS:
        raise ParameterError(
            "n_sims", f"at most {MAX_SIMULATIONS} simulated trials in all", n_sims * n_effects
        )
    return n_sims, chunk_size, n_jobs, seed


def _characteristics(
    parts: list[dict[str, np.ndarray]],
    effects: list[dict[str, float]],
    *,
    n_sims: int,
    n_chunks: int,
    k: int,
    bins: np.ndarray,
    rule: str,
    seed: int,
    chunk_size: int,
    whole_patients: bool = False,
) -> AdaptiveCharacteristics:
    """Operating characteristics from the chunk totals (one set of chunks per effect)."""
    rows, stage_rows, q_rows = [], [], []
    centres = 0.5 * (bins[:-1] + bins[1:])
    for j, eff in enumerate(effects):
        tot = {
            key: sum(p[key] for p in parts[j * n_chunks : (j + 1) * n_chunks]) for key in parts[0]
        }
        n = float(n_sims)
        power = tot["reject"].sum() / n
        mean_n = tot["n_sum"][0] / n
        var_n = max(tot["n_sq"][0] / n - mean_n**2, 0.0) * n / max(n - 1, 1)
        rows.append(
            eff
            | {
                "power": power,
                "power_mcse": math.sqrt(power * (1 - power) / n),
                "early_stop": (tot["reject"][:-1].sum() + tot["futile"][:-1].sum()) / n,
                "futility": tot["futile"].sum() / n,
                "expected_n": mean_n,
                "expected_n_mcse": math.sqrt(var_n / n),
                "sd_n": math.sqrt(var_n),
                "p_increase": tot["increase"][0] / n,
                "p_n_max": tot["n_max_hits"][0] / n,
            }
        )
        for s in range(k):
            reached = tot["reached"][s]
            stage_rows.append(
                eff
                | {
                    "look": s + 1,
                    "reject": tot["reject"][s] / n,
                    "futility": tot["futile"][s] / n if s < k - 1 else math.nan,
                    "reached": reached / n,
                    "mean_stage_n": tot["stage_n"][s] / reached if reached else math.nan,
                }
            )
        q_rows.append(eff | _quantile_row(centres, np.cumsum(tot["hist"]) / n))
    return AdaptiveCharacteristics._from_rows(
        "simulation",
        rows,
        stage_rows,
        q_rows,
        rule,
        n_sims=n_sims,
        seed=seed,
        chunk_size=chunk_size,
        whole_patients=whole_patients,
    )


# ------------------------------------------------------------------------------ rates
@dataclass(frozen=True)
class _RatesPlan:
    c: np.ndarray
    b: np.ndarray
    t: np.ndarray
    planned: np.ndarray  # cumulative total sizes (integers)
    n_min: np.ndarray
    n_max: np.ndarray
    cp: float | None
    pi1_h1: float | None  # rates assumed by the re-estimation (None: observed)
    pi2_h1: float | None
    a: float  # allocation n_experimental / n_control (rpact's allocationRatioPlanned)

    def split(self, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-arm sizes of a stage of ``total`` patients (experimental rounded up, as rpact)."""
        n1 = np.ceil(self.a * total / (1 + self.a) - 1e-9)
        return n1, total - n1

    def stage_size(self, k: int, comb_prev: np.ndarray, e: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Total size of stage ``k`` (k >= 1) from the cumulative events ``e`` and sizes ``n``
        (2 x trials: experimental, control) of the stages before it."""
        planned = self.planned[k] - self.planned[k - 1]
        if self.cp is None:
            return np.full(comb_prev.shape, planned)
        t, a = self.t, self.a
        with np.errstate(invalid="ignore", divide="ignore"):
            o1 = e[0] / n[0] if self.pi1_h1 is None else np.full(comb_prev.shape, self.pi1_h1)
            o2 = e[1] / n[1] if self.pi2_h1 is None else np.full(comb_prev.shape, self.pi2_h1)
        if self.c[k] >= 6:  # no rejection possible at this look (rpact: infinite critical value)
            ccv = np.full(comb_prev.shape, math.inf)
        else:
            ccv = (self.c[k] * math.sqrt(t[k]) - comb_prev * math.sqrt(t[k - 1])) / math.sqrt(
                t[k] - t[k - 1]
            )
        fm = (a * o1 + o2) / (1 + a)  # rates restricted to equality (Farrington-Manning, H0)
        num = ccv * np.sqrt(fm * (1 - fm) * (1 + a)) + ndtri(self.cp) * np.sqrt(
            o1 * (1 - o1) + a * o2 * (1 - o2)
        )
        raw = (1 + 1 / a) * np.maximum(0.0, num) ** 2 / np.maximum(1e-12, o1 - o2) ** 2
        return np.ceil(np.minimum(np.maximum(raw, self.n_min[k]), self.n_max[k]) - 1e-9)


def _pooled_z(e1: np.ndarray, n1: np.ndarray, e2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Stage-wise z of two rates with the pooled variance (0 where the rates are equal)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r1, r2 = e1 / n1, e2 / n2
        p = (e1 + e2) / (n1 + n2)
        z = (r1 - r2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return np.where(r1 == r2, 0.0, z)


def _simulate_rates_chunk(
    args: tuple[_RatesPlan, tuple[float, float], int, int, int, int],
) -> dict[str, np.ndarray]:
    plan, (p1, p2), j, i, n_rep, seed = args
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(j, i)))
    e = np.zeros((2, n_rep))  # cumulative events and patients: experimental, control
    n = np.zeros((2, n_rep))

    def stage(s: int, comb: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal e, n
        total = np.full(n_rep, plan.planned[0]) if s == 0 else plan.stage_size(s, comb, e, n)
        n1, n2 = plan.split(total)
        e1 = rng.binomial(n1.astype(np.int64), p1)
        e2 = rng.binomial(n2.astype(np.int64), p2)
        e = np.where(alive, e + np.stack([e1, e2]), e)
        n = np.where(alive, n + np.stack([n1, n2]), n)
        return total, _pooled_z(e1, n1, e2, n2)

    return _looks(plan, n_rep, _integer_bins(plan), stage)


def _integer_bins(plan: _RatesPlan) -> np.ndarray:
    """One histogram bin per whole number of patients (final sizes are integers)."""
    return np.arange(plan.planned[0] - 0.5, _max_total(plan) + 1.0, 1.0)


def simulate_adaptive_rates(
    design: GroupSequentialDesign,
    pi1: float | Sequence[float],
    pi2: float,
    planned: Sequence[int],
    *,
    ratio: float = 1.0,
    conditional_power: float | None = None,
    n_min: float | Sequence[float] | None = None,
    n_max: float | Sequence[float] | None = None,
    pi1_h1: float | None = None,
    pi2_h1: float | None = None,
    n_sims: int = 100_000,
    seed: int = 0,
    chunk_size: int = 50_000,
    n_jobs: int = 1,
    dask: Any = None,
) -> AdaptiveCharacteristics:
    """Simulate an adaptive two-arm trial of rates with sample-size re-estimation.

    The binomial counts of each stage are drawn, each stage is tested by the pooled z test
    of two rates, and the stage-wise statistics are combined by the inverse-normal method
    with the planned weights, as :func:`simulate_adaptive` does for means (rpact
    ``getSimulationRates(normalApproximation = TRUE)`` with ``getDesignInverseNormal``).

    Parameters
    ----------
    design : GroupSequentialDesign
        One-sided design (rejection for ``pi1 > pi2``).
    pi1 : float or sequence of float
        True rate of the experimental arm; several give several rows.
    pi2 : float
        True rate of the control arm.
    planned : sequence of int
        Planned cumulative total sample sizes at the looks (both arms).
    ratio : float
        Allocation ``n_control / n_experimental`` (the toolkit's convention; rpact's
        ``allocationRatioPlanned`` is its inverse). Stage sizes are split with the
        experimental arm rounded up.
    conditional_power : float, optional
        Target conditional power of the re-estimation; ``None`` keeps the planned sizes.
    n_min, n_max : float or sequence, optional
        Bounds on the total size of stages 2..k (default: the planned size and 4 times it).
    pi1_h1, pi2_h1 : float, optional
        Rates assumed by the re-estimation (default: the rates observed so far).
    n_sims, seed, chunk_size, n_jobs, dask
        As :func:`simulate_adaptive`: chunk ``i`` of effect ``j`` draws from
        ``SeedSequence(seed, spawn_key=(j, i))``.

    Returns
    -------
    AdaptiveCharacteristics
        ``summary`` has ``pi1, pi2, delta`` (``pi1 - pi2``) and the columns of
        :func:`simulate_adaptive`.

    Notes
    -----
    Stage ``k``'s z statistic is ``(r1 - r2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled
    rate ``p`` of that stage (0 when the two rates are equal). The re-estimated total size of
    stage ``k`` is ``(1 + 1/a) max(0, c~_k sqrt((1 + a) f (1 - f)) + z_cp sqrt(o1 (1 - o1) +
    a o2 (1 - o2)))**2 / (o1 - o2)**2`` with ``a = 1 / ratio``, the conditional critical value
    ``c~_k`` of :func:`simulate_adaptive`, the cumulative observed (or assumed) rates ``o1,
    o2`` and their common value under H0 ``f = (a o1 + o2) / (1 + a)``; bounded by
    ``n_min, n_max`` and rounded up — rpact's rule for rates (Wassmer & Brannath 2016,
    ch. 7), which this reproduces within Monte Carlo error
    (``tests/reference/adaptive_sims.R``).

    References
    ----------
    .. [1] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in
       Clinical Trials. Springer 2016, ch. 6-7.
    .. [2] Lehmacher W, Wassmer G. Adaptive sample size calculations in group sequential
       trials. Biometrics 1999;55:1286-90.

    Examples
    --------
    >>> from trial_analysis.power import group_sequential, simulate_adaptive_rates
    >>> d = group_sequential(2, 0.025, 0.2)
    >>> r = simulate_adaptive_rates(d, [0.2, 0.35], 0.2, [100, 200], conditional_power=0.8,
    ...                             n_min=100, n_max=400, n_sims=20_000, seed=1)
    >>> [round(p, 2) for p in r.power]
    [0.03, 0.88]
    """
    ratio = check_ratio(ratio)
    n_plan, lo, hi, cp = _stages(design, planned, conditional_power, n_min, n_max)
    if np.any(n_plan != np.round(n_plan)):
        raise ParameterError("planned", "whole numbers of patients", planned)
    p1s = np.atleast_1d(check_float_array("pi1", pi1, "one or more rates in [0, 1]"))
    if p1s.ndim != 1 or p1s.size == 0:
        raise ParameterError("pi1", "one or more rates in [0, 1]", pi1)
    p1s = np.array([check_probability("pi1", x) for x in p1s])
    p2 = check_probability("pi2", pi2)
    h1 = None if pi1_h1 is None else check_probability("pi1_h1", pi1_h1)
    h2 = None if pi2_h1 is None else check_probability("pi2_h1", pi2_h1)
    n_sims, chunk_size, n_jobs, seed = _check_sims(n_sims, chunk_size, n_jobs, seed, len(p1s))
    b = np.nan_to_num(np.asarray(design.futility_bounds, dtype=float), nan=-math.inf)
    b[-1] = -math.inf
    plan = _RatesPlan(
        c=np.asarray(design.critical_values, dtype=float),
        b=b,
        t=np.asarray(design.information_rates, dtype=float),
        planned=n_plan,
        n_min=lo,
        n_max=hi,
        cp=cp,
        pi1_h1=h1,
        pi2_h1=h2,
        a=1 / ratio,
    )
    n_chunks = math.ceil(n_sims / chunk_size)
    jobs = [
        (plan, (float(x), p2), j, i, min(chunk_size, n_sims - i * chunk_size), seed)
        for j, x in enumerate(p1s)
        for i in range(n_chunks)
    ]
    parts = _run_jobs(_simulate_rates_chunk, jobs, n_jobs, dask)
    if cp is None:
        rule = "no sample-size re-estimation"
    else:
        under = (
            "the observed rates"
            if h1 is None and h2 is None
            else f"rates {h1 if h1 is not None else 'observed'} vs "
            f"{h2 if h2 is not None else 'observed'}"
        )
        rule = (
            f"stage sizes for conditional power {cp:g} under {under}, within [n_min, n_max], "
            "rounded up (the pooled z test per stage)"
        )
    return _characteristics(
        parts,
        [{"pi1": float(x), "pi2": p2, "delta": round(float(x) - p2, 12)} for x in p1s],
        n_sims=n_sims,
        n_chunks=n_chunks,
        k=len(plan.t),
        bins=_integer_bins(plan),
        rule=rule,
        seed=seed,
        chunk_size=chunk_size,
        whole_patients=True,
    )


# ------------------------------------------------------------------------------ integration
def _breakpoints(plan: _Plan, lo: float, hi: float) -> list[float]:
    """Points in (lo, hi) where the two-stage rule changes piece (kinks and jumps)."""
    grid = np.linspace(lo, hi, 4001)
    lab = plan.branch(grid)
    out = []
    for i in np.nonzero(np.diff(lab) != 0)[0]:
        a, b = grid[i], grid[i + 1]
        la = lab[i]
        for _ in range(60):
            m = 0.5 * (a + b)
            if plan.branch(np.array([m]))[0] == la:
                a = m
            else:
                b = m
        out.append(0.5 * (a + b))
    return out


def _panels(
    points: list[float], width: float = 0.05, nodes: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(nodes)
    xs, ws = [], []
    for a, b in itertools.pairwise(points):
        m = max(1, math.ceil((b - a) / width))
        edges = np.linspace(a, b, m + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[:-1] + edges[1:])
        xs.append((mid[:, None] + half[:, None] * x[None, :]).ravel())
        ws.append((half[:, None] * w[None, :]).ravel())
    return np.concatenate(xs), np.concatenate(ws)


def adaptive_characteristics(
    design: GroupSequentialDesign,
    delta: float | Sequence[float],
    sd: float,
    planned: Sequence[float],
    *,
    ratio: float = 1.0,
    conditional_power: float | None = None,
    n_min: float | Sequence[float] | None = None,
    n_max: float | Sequence[float] | None = None,
    theta: float | None = None,
    sd_h1: float | None = None,
    promising_zone: tuple[float, float] | None = None,
) -> AdaptiveCharacteristics:
    """Exact operating characteristics of a two-stage adaptive design (numerical integration).

    The arguments are those of :func:`simulate_adaptive` (``design.k`` must be 2). With ``Z_1 ~
    N(theta~ sqrt(n_1), 1)`` and the re-estimated second-stage size ``n_2(z_1)``,

    ``power = P(Z_1 >= c_1) + int_{b_1}^{c_1} phi(z_1 - theta~ sqrt(n_1)) (1 - Phi(c~_2(z_1) -
    theta~ sqrt(n_2(z_1)))) dz_1``

    and ``E N = n_1 + int n_2(z_1) phi(.) dz_1`` over the continuation region, by composite
    Gauss–Legendre quadrature split where the rule has kinks or jumps (accurate to about
    1e-9). Under H0 the inner probability is ``1 - Phi(c~_2)`` whatever ``n_2``: the type I
    error is the design's exactly (the inverse-normal test's property).

    Examples
    --------
    >>> from trial_analysis.power import group_sequential, adaptive_characteristics
    >>> d = group_sequential(2, 0.025, 0.2)
    >>> r = adaptive_characteristics(d, [0, 0.3], 1, [100, 200], conditional_power=0.9,
    ...                              n_min=100, n_max=400)
    >>> [round(p, 4) for p in r.power]
    [0.025, 0.8276]
    """
    plan = _make_plan(
        design, sd, planned, ratio, conditional_power, n_min, n_max, theta, sd_h1, promising_zone
    )
    if len(plan.t) != 2:
        raise ParameterError(
            "design", "a two-stage design (k=2; use simulate_adaptive for more looks)", design.k
        )
    deltas = _deltas(delta)
    n1 = plan.planned[0]
    c1, c2, b1 = plan.c[0], plan.c[1], plan.b[0]
    t1 = plan.t[0]
    rows, stage_rows, q_rows = [], [], []
    for dl in deltas:
        th = dl / (plan.sd * math.sqrt(plan.f))
        e1 = th * math.sqrt(n1)
        lo = max(b1, e1 - 12.0) if np.isfinite(b1) else e1 - 12.0
        hi = min(c1, e1 + 12.0)
        if hi <= lo:
            x = w = np.array([])
        else:
            pts = [lo, *[p for p in _breakpoints(plan, lo, hi) if lo < p < hi], hi]
            x, w = _panels(sorted(pts))
        dens = np.exp(-0.5 * (x - e1) ** 2) / math.sqrt(2 * math.pi) * w
        n2 = plan.stage_size(1, x, x, np.full(x.shape, n1))
        ccv = (c2 - x * math.sqrt(t1)) / math.sqrt(1 - t1)
        p2 = ndtr(th * np.sqrt(n2) - ccv)
        rej1 = float(ndtr(e1 - c1))
        fut1 = float(ndtr(b1 - e1)) if np.isfinite(b1) else 0.0
        cont = float(dens.sum())
        rej2 = float(dens @ p2)
        mean_n2 = float(dens @ n2)
        e_n = n1 + mean_n2
        e_n2 = n1**2 * (rej1 + fut1) + float(dens @ (n1 + n2) ** 2)
        n_top = _max_total(plan)
        rows.append(
            {
                "delta": float(dl),
                "power": rej1 + rej2,
                "early_stop": rej1 + fut1,
                "futility": fut1,
                "expected_n": e_n,
                "sd_n": math.sqrt(max(e_n2 - e_n**2, 0.0)),
                "p_increase": float(dens @ (n2 > plan.planned[1] - n1 + 1e-6)),
                "p_n_max": float(dens @ (n1 + n2 >= n_top - 1e-6))
                + (rej1 + fut1) * (n1 >= n_top - 1e-6),
            }
        )
        stage_rows += [
            {
                "delta": float(dl),
                "look": 1,
                "reject": rej1,
                "futility": fut1,
                "reached": 1.0,
                "mean_stage_n": n1,
            },
            {
                "delta": float(dl),
                "look": 2,
                "reject": rej2,
                "futility": math.nan,
                "reached": cont,
                "mean_stage_n": mean_n2 / cont if cont > 0 else math.nan,
            },
        ]
        # quantiles of the final N: a point mass at n1 (early stops) plus n1 + n2(z1)
        order = np.argsort(n2)
        vals = np.r_[n1, n1 + n2[order]]
        cdf = np.cumsum(np.r_[rej1 + fut1, dens[order]])
        cdf /= cdf[-1]
        q_rows.append({"delta": float(dl)} | _quantile_row(vals, cdf))
    return AdaptiveCharacteristics._from_rows(
        "integration", rows, stage_rows, q_rows, _rule_label(plan)
    )
