"""Monte Carlo power of a whole future trial, vectorised across replicates.

Replicates are generated and analysed in chunks of ``chunk_size`` trials with numpy arrays
of shape ``(trials, patients)``: no Python loop per trial for the binary tests (the p-value
grid of the test is computed once per pair of arm sizes and the simulated tables are looked
up in it) nor for ANCOVA (closed-form least squares for all replicates and arms at once).
MMRM analyses every replicate, fitted together by ``mmrm.fit_batch`` (batched REML; each
replicate's result is that of ``mmrm.fit`` on it). Each experimental arm is compared with
the control; per analysis and comparison the result has the rejection rate (power, or type
I error for the scenario's :meth:`~.Scenario.null`), the bias and coverage of the estimate
against :func:`true_effects`, the replicates not analysed and Monte Carlo SEs.

Reproducibility: chunk ``i`` of scenario ``j`` draws from
``numpy.random.SeedSequence(seed, spawn_key=(j, i))`` — the ``i``-th child of the ``j``-th
child of ``SeedSequence(seed)`` — so the result depends on ``seed`` and ``chunk_size`` only,
never on how chunks are spread over processes or Dask workers.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special, stats

from .. import limits
from .._validate import check_count, check_probability
from ..binary._intervals import rd_newcombe
from ..errors import AnalysisError, ParameterError
from ..results import Result
from .exact import _TIE, _pgrid, _test_label
from .scenario import (
    MEASURES,
    Analysis,
    BinaryEndpoint,
    ContinuousEndpoint,
    Scenario,
    SurvivalEndpoint,
    load_scenario,
    mar_intercept,
    measure_of,
    to_values,
)
from .survival import _analysis_times, _draw_trials, _observed, _survival_statistic

__all__ = [
    "GridResult",
    "SimulatedSampleSize",
    "SimulationResult",
    "ancova_batch",
    "simulate",
    "simulate_grid",
    "simulate_sample_size",
    "true_effects",
]

DEFAULT_CHUNK = 10_000
#: default chunk of scenarios with an MMRM or MI analysis (milliseconds per trial, not
#: microseconds): 10,000 trials are then 10 chunks that processes or Dask workers share
#: (one chunk of 10,000 kept all but one process idle); one ``fit_batch`` call per chunk
COSTLY_CHUNK = 1_000
MMRM_BATCH = 1024  # replicates per mmrm.fit_batch call (a long frame of ~0.7M rows)


# ---------------------------------------------------------------------------------------
# vectorised analyses
# ---------------------------------------------------------------------------------------


def ancova_batch(
    y: np.ndarray, arm: np.ndarray, covariate: np.ndarray, observed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OLS ``y ~ 1 + arm + covariate`` for many replicates at once.

    Parameters
    ----------
    y, covariate : ndarray, shape (replicates, patients)
    arm : ndarray, shape (patients,) or (replicates, patients)
        1 for the experimental arm, 0 for control.
    observed : ndarray of bool, optional
        Patients entering each replicate's fit (complete cases); default all.

    Returns
    -------
    estimate, se, df, p_value : ndarray, shape (replicates,)
        The arm coefficient, its standard error, residual degrees of freedom and two-sided
        t-test p-value (NaN where the fit is not identifiable).

    Notes
    -----
    The 3 x 3 normal equations ``X'WX b = X'Wy`` of every replicate are formed from sums
    and solved with one batched :func:`numpy.linalg.solve` (numpy has no batched weighted
    least squares; statsmodels fits one model per call).
    """
    y = np.asarray(y, dtype=float)
    obs = np.ones(y.shape, bool) if observed is None else np.asarray(observed, dtype=bool)
    codes = np.asarray(arm, dtype=float).astype(int)
    est, se, df = _ols_arms(y, codes, 2, np.asarray(covariate, dtype=float), obs)
    est, se = est[..., 0], se[..., 0]
    return est, se, df, _t_pvalue(est, se, df, "two-sided")


def _binary_pvalues(
    x1: np.ndarray, n1: np.ndarray | int, x2: np.ndarray, n2: np.ndarray | int, test: str, alt: str
) -> np.ndarray:
    """Look the simulated tables up in the p-value grid (one grid per pair of arm sizes)."""
    if np.isscalar(n1) and np.isscalar(n2):
        return _pgrid(int(n1), int(n2), test, alt)[x1, x2]
    n1a = np.broadcast_to(n1, x1.shape)
    n2a = np.broadcast_to(n2, x2.shape)
    p = np.full(x1.shape, np.nan)
    pairs = np.unique(np.stack([n1a, n2a], axis=-1).reshape(-1, 2), axis=0)
    for a, b in pairs:
        sel = (n1a == a) & (n2a == b)
        if a < 2 or b < 2:
            continue  # an arm with fewer than 2 evaluable patients: not analysable
        p[sel] = _pgrid(int(a), int(b), test, alt)[x1[sel], x2[sel]]
    return p


def _ols_arms(
    y: np.ndarray, codes: np.ndarray, k: int, covariate: np.ndarray, observed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS ``y ~ arm + covariate`` (``k`` arms, code 0 the reference) for many replicates:
    the arm coefficients (shape ``(replicates, k - 1)``), their SEs and the residual df.

    The ``(k + 1) x (k + 1)`` normal equations of every replicate are formed from sums and
    inverted in one batched call, as :func:`ancova_batch` (NaN where not identifiable)."""
    w = np.asarray(observed, dtype=float)
    y = np.where(w > 0, y, 0.0)
    c = np.where(w > 0, covariate, 0.0)
    codes = np.broadcast_to(codes, y.shape)
    cols = [w] + [w * (codes == j) for j in range(1, k)] + [w * c]
    p = len(cols)
    xtx = np.empty((*y.shape[:-1], p, p))
    xty = np.empty((*y.shape[:-1], p))
    for i in range(p):
        xty[..., i] = np.sum(cols[i] * y, axis=-1)
        for j in range(i, p):
            xtx[..., i, j] = xtx[..., j, i] = np.sum(cols[i] * cols[j], axis=-1)
    n = w.sum(axis=-1)
    df = n - p
    counts = np.stack([np.sum(w * (codes == j), axis=-1) for j in range(k)], axis=-1)
    ok = (df > 0) & np.all(counts > 0, axis=-1)
    safe = np.where(ok[..., None, None], xtx, np.eye(p))
    with np.errstate(all="ignore"):
        det = np.linalg.det(safe)
        ok &= np.abs(det) > 1e-300
        safe = np.where(ok[..., None, None], safe, np.eye(p))
        inv = np.linalg.inv(safe)
        beta = np.einsum("...ij,...j->...i", inv, xty)
        rss = np.sum(w * y**2, axis=-1) - np.einsum("...i,...i->...", beta, xty)
        sigma2 = np.maximum(rss, 0.0) / np.where(df > 0, df, 1)
        se = np.sqrt(sigma2[..., None] * np.diagonal(inv, axis1=-2, axis2=-1)[..., 1:k])
    est = beta[..., 1:k]
    bad = ~ok[..., None] | (se == 0)
    return np.where(bad, np.nan, est), np.where(bad, np.nan, se), df


def _t_pvalue(
    est: np.ndarray, se: np.ndarray, df: np.ndarray, alternative: str, margin: float = 0.0
) -> np.ndarray:
    """p-value of the t (``df`` finite) or z (``df`` inf) test of ``est``: two-sided of 0;
    ``greater``: H0 effect <= -margin; ``less``: H0 effect >= margin."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dfs = np.where(df > 0, df, 1)
        if alternative == "two-sided":
            return 2 * stats.t.sf(np.abs(est / se), dfs)
        if alternative == "greater":
            return stats.t.sf((est + margin) / se, dfs)
        return stats.t.cdf((est - margin) / se, dfs)


def _t_interval(est, se, df, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(0.5 + conf_level / 2, np.where(df > 0, df, 1))
    return est - q * se, est + q * se


# ---------------------------------------------------------------------------------------
# one chunk: the simulated trials
# ---------------------------------------------------------------------------------------


@dataclass
class _Trials:
    """``n_rep`` simulated trials: per endpoint and arm, complete continuous values
    ``(n_rep, n, visits)``, binary values (1/0, NaN missing), survival times; the time of
    each patient's first missed visit (``inf``: completed)."""

    values: dict[str, dict[str, np.ndarray]]
    binary: dict[str, dict[str, np.ndarray]]
    survival: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    drop_time: dict[str, np.ndarray]
    drop_index: dict[str, np.ndarray]
    visits: dict[str, tuple[float, ...]]
    draws: Any = None  # a generative model's own draws (model.kind = "synthetic")

    def observed(self, ep: str, arm: str) -> np.ndarray:
        """True where the patient is still in the trial at each visit of ``ep``."""
        t = np.asarray(self.visits[ep])
        return t < self.drop_time[arm][..., None]


def _dropout_times(
    scen: Scenario, arm: str, x: np.ndarray | None, shape: tuple[int, int], rng
) -> tuple[np.ndarray, np.ndarray]:
    """Monotone dropout: visits attended after baseline (``d``) and the time of the first
    missed visit. MAR/MNAR: the log-odds of leaving before visit ``j`` rise by ``slope`` per
    SD of the value at visit ``j - 1`` (standardised by the arm's model mean and SD there, so
    that each arm keeps about its declared rate; differential dropout by per-arm rates)."""
    d = scen.dropout
    h = d.hazard[arm]
    nv = h.size
    visits = np.asarray(scen.visits if scen.visits else (0.0, 1.0))
    if not d.active():  # read-only broadcasts: nobody leaves
        return np.broadcast_to(nv, shape), np.broadcast_to(np.inf, shape)
    attended = np.full(shape, nv)
    alive = np.ones(shape, bool)
    slope = d.slope[arm]
    ep = scen.endpoints.get(d.endpoint)
    for j in range(1, nv + 1):
        u = rng.random(shape)
        if d.mechanism == "MCAR" or slope == 0 or x is None:
            p = h[j - 1]
        else:
            if scen.model_kind == "parametric":
                mu, sd = _arm_moments(ep, arm, j - 1)
            else:  # a generative model: this arm's simulated values standardise
                mu, sd = float(np.mean(x[..., j - 1])), float(np.std(x[..., j - 1]))
            z = (x[..., j - 1] - mu) / sd
            p = special.expit(mar_intercept(h[j - 1], slope) + slope * z)
        leave = alive & (u < p)
        attended[leave] = j - 1
        alive &= ~leave
    t = np.where(attended < nv, visits[np.minimum(attended + 1, nv)], np.inf)
    return attended, t


def _arm_moments(ep: Any, arm: str, j: int) -> tuple[float, float]:
    """Mean and SD of the values of ``ep`` in ``arm`` at visit index ``j`` under the model
    (exact for the value and change scales; moments of a product of normals for pchg)."""
    mu, cov = ep.mean[arm], ep.cov(arm)
    if ep.scale == "value" or j == 0:
        return float(mu[j]), float(math.sqrt(cov[j, j]))
    if ep.scale == "chg":
        return float(mu[0] + mu[j]), float(math.sqrt(cov[0, 0] + cov[j, j] + 2 * cov[0, j]))
    a0, aj = mu[0], 1 + mu[j] / 100  # X0 (1 + Xj / 100)
    v0, vj, c0j = cov[0, 0], cov[j, j] / 1e4, cov[0, j] / 100
    m = a0 * aj + c0j
    v = a0**2 * vj + aj**2 * v0 + 2 * a0 * aj * c0j + v0 * vj + c0j**2
    return float(m), float(math.sqrt(v))


_SYNTH_KEYS = ("{p}_{w}", "{p}_CHG_{w}", "{p}_PCHG_{w}")


def _synthetic_values(d: Mapping[str, np.ndarray], param: str, week: float) -> np.ndarray:
    """Baseline and week values of ``param`` from a generative model's draws
    (``<P>_BASE`` and ``<P>_<week>``, ``<P>_CHG_<week>`` or ``<P>_PCHG_<week>``)."""
    w = f"{week:g}"
    base = d.get(f"{param}_BASE")
    if base is not None:
        for kind, tpl in zip(MEASURES, _SYNTH_KEYS, strict=True):
            v = d.get(tpl.format(p=param, w=w))
            if v is not None:
                x = np.stack([base, v], axis=-1)
                return to_values(x, kind)
    raise AnalysisError(
        f"the trial's generative model draws no {param} at baseline and week {w} "
        f"(it draws {', '.join(sorted(d))})"
    )


def _draw(scen: Scenario, n_by_arm: Mapping[str, int], n_rep: int, rng) -> _Trials:
    """Draw ``n_rep`` trials. Stream order: per arm (in arm order) the continuous endpoints
    (declaration order), the dropout draws and the rate-based binary endpoints; then the
    time-to-event endpoints (all arms side by side)."""
    conts = {k: e for k, e in scen.endpoints.items() if isinstance(e, ContinuousEndpoint)}
    values: dict[str, dict[str, np.ndarray]] = {k: {} for k in conts}
    binary: dict[str, dict[str, np.ndarray]] = {}
    drop_time, drop_index = {}, {}
    model = scen.model()
    draws = model.draw_endpoints(n_by_arm, n_rep, rng) if model is not None else None
    for arm, n in n_by_arm.items():
        shape = (n_rep, n)
        for k, ep in conts.items():
            if draws is None:
                values[k][arm] = ep.draw(arm, n_rep, n, rng)
            else:
                values[k][arm] = _synthetic_values(draws[arm], ep.parameter, ep.visits[-1])
        x = values[scen.dropout.endpoint][arm] if scen.dropout.endpoint else None
        drop_index[arm], drop_time[arm] = _dropout_times(scen, arm, x, shape, rng)
        for k, ep in scen.endpoints.items():
            if isinstance(ep, BinaryEndpoint) and ep.rate is not None:
                binary.setdefault(k, {})[arm] = (rng.random(shape) < ep.rate[arm]).astype(float)
    survival = {}
    for k, ep in scen.endpoints.items():
        if isinstance(ep, SurvivalEndpoint):
            cuts = np.r_[0.0, np.asarray(ep.cuts, dtype=float), np.inf]
            survival[k] = _draw_trials(
                rng,
                n_rep,
                list(n_by_arm.values()),
                cuts,
                [ep.hazard[a] for a in n_by_arm],
                ep.accrual_time,
                ep.dropout_hazard,
            )
    tr = _Trials(
        values,
        binary,
        survival,
        drop_time,
        drop_index,
        {k: e.visits for k, e in conts.items()},
        draws,
    )
    _derive_binary(scen, tr, draws)
    return tr


def _derive_binary(scen: Scenario, tr: _Trials, draws: Any) -> None:
    """Binary endpoints: responders by the rule (design components evaluated by the IPD
    layer's three-valued conjunction, missing after dropout), or the drawn rate set missing
    for patients who left before the endpoint's visit."""
    from ..design import evaluate_rule  # the one evaluator of a design's binary rule

    by_param = {
        e.parameter: k for k, e in scen.endpoints.items() if isinstance(e, ContinuousEndpoint)
    }
    for k, ep in scen.endpoints.items():
        if not isinstance(ep, BinaryEndpoint):
            continue
        for arm in tr.drop_time:  # the arms drawn (one at a time for the truth)
            t_drop = tr.drop_time[arm]
            if ep.rate is not None:
                if scen.dropout.active():
                    visit = ep.visit if ep.visit is not None else (scen.visits or (0.0, 1.0))[-1]
                    tr.binary[k][arm] = np.where(t_drop <= visit, np.nan, tr.binary[k][arm])
                continue
            shape = t_drop.shape

            def measure(param: str, meas: str, arm=arm, ep=ep, t_drop=t_drop) -> np.ndarray:
                if param in by_param:
                    src = by_param[param]
                    vals = tr.values[src][arm]
                    vis = tr.visits[src]
                else:  # synthetic model: a parameter of the draws, at the endpoint's week
                    vals = _synthetic_values(draws[arm], param, ep.visit)
                    vis = (0.0, ep.visit)
                j = vis.index(ep.visit)
                v = measure_of(vals, j, meas)
                return np.where(t_drop <= ep.visit, np.nan, v).ravel()

            tr.binary.setdefault(k, {})[arm] = evaluate_rule(ep.components, measure).reshape(shape)


def _first(x: np.ndarray, m: int | None) -> np.ndarray:
    return x if m is None else x[:, :m]


def _analyse(
    scen: Scenario,
    a: Analysis,
    tr: _Trials,
    sizes: Mapping[str, int] | None,
    rng,
    select: Mapping[str, np.ndarray] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Per comparison (each experimental arm vs the control): ``estimate, se, df, p, lo, hi``
    of analysis ``a`` on the first ``sizes[arm]`` patients of each arm (all: ``None``), or on
    the patients ``select[arm]`` (a mask per replicate; binary tests and ANCOVA)."""
    ep = scen.endpoints[a.endpoint]
    arms = scen.arm_names
    exp, ctl = scen.experimental, scen.control
    m = (lambda arm: None) if sizes is None else (lambda arm: sizes[arm])
    if isinstance(ep, BinaryEndpoint):
        out = []
        v = {arm: _first(tr.binary[a.endpoint][arm], m(arm)) for arm in arms}
        if select is not None:
            v = {arm: np.where(select[arm], v[arm], np.nan) for arm in arms}
        x = {arm: np.nansum(v[arm], axis=1).astype(int) for arm in arms}
        if ep.missing == "failure" and select is None:  # every patient: one grid
            nn: dict[str, Any] = {arm: v[arm].shape[1] for arm in arms}
        elif ep.missing == "failure":
            nn = {arm: select[arm].sum(axis=1) for arm in arms}
        else:
            nn = {arm: np.sum(~np.isnan(v[arm]), axis=1) for arm in arms}
        for e in exp:
            p = _binary_pvalues(x[e], nn[e], x[ctl], nn[ctl], a.method, a.alternative)
            with np.errstate(all="ignore"):
                est, lo, hi = rd_newcombe(x[e], nn[e], x[ctl], nn[ctl], a.conf_level)
            est, lo, hi = (np.broadcast_to(q, p.shape) for q in (est, lo, hi))
            bad = np.isnan(p)
            out.append(_stats(est, np.nan, np.inf, p, lo, hi, bad))
        return out
    if isinstance(ep, SurvivalEndpoint):
        return _analyse_survival(scen, a, ep, tr)
    if a.method == "ancova":
        return _analyse_ancova(scen, a, ep, tr, m, select)
    if a.method == "mmrm":
        return _analyse_mmrm(scen, a, ep, tr, m)
    return _analyse_mi(scen, a, ep, tr, rng, m)


def _stats(est, se, df, p, lo, hi, bad) -> dict[str, np.ndarray]:
    shape = np.shape(p)
    f = lambda v: np.where(bad, np.nan, np.broadcast_to(v, shape))  # noqa: E731
    return {"estimate": f(est), "se": f(se), "df": f(df), "p": f(p), "lo": f(lo), "hi": f(hi)}


def _outcome_arrays(
    scen: Scenario,
    ep: ContinuousEndpoint,
    tr: _Trials,
    m: Any,
    select: Mapping[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Outcome at every post-baseline visit, baseline, observed mask (and ``select``ed) and
    arm codes (0 the control, then the experimental arms in order), arms side by side."""
    order = (scen.control, *scen.experimental)
    ys, bs, obs, codes = [], [], [], []
    for code, arm in enumerate(order):
        vals = _first(tr.values[ep.id][arm], m(arm))
        o = _first(tr.observed(ep.id, arm), m(arm))
        if select is not None:
            o = o & select[arm][..., None]
        ys.append(np.stack([measure_of(vals, j, ep.outcome) for j in range(1, vals.shape[-1])], -1))
        bs.append(vals[..., 0])
        obs.append(o[..., 1:])
        codes.append(np.full(vals.shape[1], code))
    return (
        np.concatenate(ys, axis=1),
        np.concatenate(bs, axis=1),
        np.concatenate(obs, axis=1),
        np.concatenate(codes),
    )


def _analyse_ancova(scen, a, ep, tr, m, select=None) -> list[dict[str, np.ndarray]]:
    """ANCOVA at the last visit on the patients observed there (completers), with the
    baseline value as covariate, all arms in one model."""
    y, base, obs, codes = _outcome_arrays(scen, ep, tr, m, select)
    k = len(scen.arm_names)
    est, se, df = _ols_arms(y[..., -1], codes, k, base, obs[..., -1])
    out = []
    for i in range(k - 1):
        e, s = est[:, i], se[:, i]
        p = _t_pvalue(e, s, df, a.alternative, a.margin)
        lo, hi = _t_interval(e, s, df, a.conf_level)
        out.append(_stats(e, s, df, p, lo, hi, np.isnan(e)))
    return out


def _long_frame(
    scen, ep, tr, r0: int, r1: int, every_visit: bool = False, m: Any = None
) -> pd.DataFrame:
    """Long data of replicates ``r0:r1`` for MMRM (observed visits only) and MI fits
    (``every_visit``: a row per subject and visit, NaN outcome after dropout); ``m(arm)``:
    only the first patients of each arm (an interim look), default all."""
    y, base, obs, codes = _outcome_arrays(scen, ep, tr, m or (lambda arm: None))
    y, base, obs = y[r0:r1], base[r0:r1], obs[r0:r1]
    order = np.array((scen.control, *scen.experimental), dtype=object)
    rep, subj, vis = np.nonzero(np.ones_like(obs) if every_visit else obs)
    visits = np.asarray(ep.visits[1:])
    aval = y[rep, subj, vis]
    if every_visit:
        aval = np.where(obs[rep, subj, vis], aval, np.nan)
    return pd.DataFrame(
        {
            "REP": rep,
            "USUBJID": subj,
            "ARM": order[codes[subj]],
            "AVISITN": visits[vis],
            "BASE": base[rep, subj],
            "AVAL": aval,
        }
    )


def _contrasts_at_last(
    scen: Scenario, out: pd.DataFrame, last: float, n: int, alternative: str, margin: float
) -> list[dict[str, np.ndarray]]:
    res = []
    rows = out[np.isclose(out["visit"].astype(float), last)]
    for e in scen.experimental:
        r = rows[rows["contrast"] == f"{e} - {scen.control}"]
        if "converged" in r:
            r = r[r["converged"].astype(bool)]
        idx = r["replicate"].to_numpy(dtype=int)
        cols = {}
        for c in ("estimate", "se", "df", "ci_low", "ci_high"):
            v = np.full(n, np.nan)
            v[idx] = r[c].to_numpy(dtype=float)
            cols[c] = v
        p = _t_pvalue(cols["estimate"], cols["se"], cols["df"], alternative, margin)
        res.append(
            _stats(
                cols["estimate"],
                cols["se"],
                cols["df"],
                p,
                cols["ci_low"],
                cols["ci_high"],
                np.isnan(cols["estimate"]),
            )
        )
    return res


def _analyse_mmrm(scen, a, ep, tr, m=None) -> list[dict[str, np.ndarray]]:
    """MMRM (``mmrm.fit_batch``: batched REML, each replicate as ``mmrm.fit`` on it) of the
    outcome at every post-baseline visit with visit x arm and visit x baseline, in batches
    of ``MMRM_BATCH`` replicates; the contrast at the last visit."""
    from .. import mmrm  # another area; loaded only when an MMRM analysis is asked for

    def fit(r0: int, r1: int) -> pd.DataFrame:
        df = _long_frame(scen, ep, tr, r0, r1, m=m)
        try:
            return mmrm.fit_batch(
                df,
                "AVAL",
                "USUBJID",
                "AVISITN",
                "ARM",
                replicate="REP",
                baseline="BASE",
                covariance=a.covariance,
                reference=scen.control,
                df=a.df,
                conf_level=a.conf_level,
            )
        except AnalysisError:  # the data as a whole cannot be fitted: no replicate analysed
            return pd.DataFrame(
                columns=[
                    "replicate",
                    "visit",
                    "contrast",
                    "estimate",
                    "se",
                    "df",
                    "ci_low",
                    "ci_high",
                    "converged",
                ]
            )

    return _in_batches(scen, a, ep, tr, fit)


def _in_batches(scen, a, ep, tr, fit) -> list[dict[str, np.ndarray]]:
    """``fit(r0, r1)`` (a table of contrasts of replicates ``r0:r1``) on batches of
    ``MMRM_BATCH`` replicates; the contrasts at the last visit, joined over the batches."""
    n_rep = next(iter(tr.drop_time.values())).shape[0]
    parts = []
    for r0 in range(0, n_rep, MMRM_BATCH):
        r1 = min(n_rep, r0 + MMRM_BATCH)
        out = fit(r0, r1)
        parts.append(_contrasts_at_last(scen, out, ep.visits[-1], r1 - r0, a.alternative, a.margin))
    return [
        {k: np.concatenate([p[i][k] for p in parts]) for k in parts[0][i]}
        for i in range(len(scen.experimental))
    ]


def _analyse_mi(scen, a, ep, tr, rng, m=None) -> list[dict[str, np.ndarray]]:
    """ANCOVA at the last visit after multiple imputation (MAR, J2R or CR; Rubin's rules)
    by the batched imputation of ``trial_analysis.continuous._mi_batch``."""
    from ..continuous._mi_batch import mi_ancova_batch

    seed = int(rng.integers(0, 2**63 - 1))  # the chunk's stream: one seed per batch below

    def fit(r0: int, r1: int) -> pd.DataFrame:
        df = _long_frame(scen, ep, tr, r0, r1, every_visit=True, m=m)
        out = mi_ancova_batch(
            df,
            "AVAL",
            "USUBJID",
            "AVISITN",
            "ARM",
            replicate="REP",
            baseline="BASE",
            method=a.imputation,
            m=a.m,
            reference=scen.control,
            seed=seed + r0,
            conf_level=a.conf_level,
            draws=a.draws,
        )
        return out if "visit" in out else out.assign(visit=ep.visits[-1])

    return _in_batches(scen, a, ep, tr, fit)


def _analyse_survival(scen, a, ep, tr) -> list[dict[str, np.ndarray]]:
    """Log-rank, Cox or RMST of each experimental arm against the control, at the trial's
    analysis time (all arms' events count towards an event-driven analysis)."""
    entry, t_ev, drop = tr.survival[ep.id]
    t_an, cal_ev, is_ev = _analysis_times(entry, t_ev, drop, ep.events, ep.analysis_time)
    sizes = list(scen.n_by_arm.values())
    code = np.repeat(np.arange(len(sizes)), sizes)
    ci = scen.arm_names.index(scen.control)
    n_rep = entry.shape[0]
    z = stats.norm.ppf(0.5 + a.conf_level / 2)
    out = []
    for e in scen.experimental:
        ei = scen.arm_names.index(e)
        sel = (code == ei) | (code == ci)
        g = np.where(code[sel] == ei, 0, 1)
        res = {k: np.full(n_rep, np.nan) for k in ("estimate", "se", "df", "p", "lo", "hi")}
        for r in range(n_rep):
            enrolled, fu, ev = _observed(entry[r, sel], cal_ev[r, sel], is_ev[r, sel], t_an[r])
            tt, ee, gg = fu[enrolled], ev[enrolled], g[enrolled]
            if (gg == 0).sum() == 0 or (gg == 1).sum() == 0 or ee.sum() == 0:
                continue
            stat, est, se = _survival_statistic(a.method, tt, ee, gg, tau=ep.tau)
            if a.alternative == "two-sided":
                p = 2 * stats.norm.sf(abs(stat))
            elif a.alternative == "greater":  # experimental better: fewer events / longer RMST
                p = stats.norm.sf(stat)
            else:
                p = stats.norm.cdf(stat)
            res["p"][r] = p
            res["estimate"][r], res["se"][r], res["df"][r] = est, se, np.inf
            res["lo"][r], res["hi"][r] = est - z * se, est + z * se
        out.append(res)
    return out


# ---------------------------------------------------------------------------------------
# counting
# ---------------------------------------------------------------------------------------

#: additive counts of one analysis and comparison over the replicates of a chunk
_FIELDS = (
    "rejections",
    "analysed",
    "failed",
    "sum_err",
    "sum_err2",
    "n_est",
    "covered",
    "n_ci",
    "used",
)


def _count(st: Mapping[str, np.ndarray], alpha: float, truth: float) -> np.ndarray:
    p = st["p"]
    ok = ~np.isnan(p)
    est = st["estimate"][ok]
    err = est - truth if np.isfinite(truth) else np.full(0, np.nan)
    has = ~np.isnan(err) if err.size else np.zeros(0, bool)
    lo, hi = st["lo"][ok], st["hi"][ok]
    ci_ok = ~np.isnan(lo) & ~np.isnan(hi) & np.isfinite(truth)
    return np.array(
        [
            np.sum(p[ok] <= alpha * (1 + _TIE)),
            ok.sum(),
            (~ok).sum(),
            err[has].sum() if has.any() else 0.0,
            (err[has] ** 2).sum() if has.any() else 0.0,
            has.sum(),
            np.sum((lo[ci_ok] <= truth) & (truth <= hi[ci_ok])) if ci_ok.any() else 0,
            ci_ok.sum(),
            0.0,
        ],
        dtype=float,
    )


def _run_chunk(
    scen: Scenario,
    scen_index: int,
    chunk_index: int,
    n_rep: int,
    seed: int,
    chunk_size: int,
    truth: Mapping[tuple[str, int], float] | None = None,
) -> dict[Any, np.ndarray]:
    """Simulate and analyse ``n_rep`` trials; returns ``(analysis, comparison[, look])`` ->
    counts (:data:`_FIELDS`)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(scen_index, chunk_index)))
    truth = truth or {}
    if scen.adaptation is not None:
        return _adaptive_counts(scen, n_rep, truth, rng)
    tr = _draw(scen, scen.n_by_arm, n_rep, rng)
    if scen.sequential is not None:
        return _sequential_counts(scen, tr, n_rep, truth, rng)
    out: dict[Any, np.ndarray] = {}
    for a in scen.analyses:
        sts = _analyse(scen, a, tr, None, rng)
        if a.multiplicity:
            _adjust(scen, a, sts, out)
        for i, st in enumerate(sts):
            out[(a.name, i)] = _count(st, a.alpha, truth.get((a.name, i), math.nan))
    return out


def _adjust(scen: Scenario, a: Analysis, sts: list[dict[str, np.ndarray]], out: dict) -> None:
    """Replace the p-values of the comparisons of each replicate by their adjusted values
    (``multiplicity.adjust``: family-wise level ``alpha`` over the experimental arms) and
    count the replicates rejecting some (disjunctive) and every (conjunctive) hypothesis.
    Dunnett: the correlation of many-to-one z statistics from the arm sizes."""
    from ..multiplicity import adjust

    p = np.stack([st["p"] for st in sts])  # (comparisons, replicates)
    kw: dict[str, Any] = {}
    if a.multiplicity.startswith("dunnett"):
        n0 = scen.n_by_arm[scen.control]
        ns = np.array([scen.n_by_arm[e] for e in scen.experimental], float)
        r = np.sqrt(np.outer(ns, ns) / np.outer(ns + n0, ns + n0))
        np.fill_diagonal(r, 1.0)
        kw = {"correlation": r, "sided": 2 if a.alternative == "two-sided" else 1}
    elif a.multiplicity == "graphical":
        kw = {"weights": list(a.weights), "transitions": [list(r) for r in a.transitions]}
    adj = np.full_like(p, np.nan)
    ok = np.all(~np.isnan(p), axis=0)
    for r_ in np.flatnonzero(ok):
        adj[:, r_] = np.asarray(adjust(p[:, r_], a.multiplicity, alpha=a.alpha, **kw), float)
    for st, q in zip(sts, adj, strict=True):
        st["p"] = q
    rej = adj[:, ok] <= a.alpha * (1 + _TIE)
    for key, hit in (("any", rej.any(axis=0)), ("all", rej.all(axis=0))):
        v = np.zeros(len(_FIELDS))
        v[0], v[1], v[2] = hit.sum(), ok.sum(), (~ok).sum()
        out[(a.name, key)] = v


def _sequential_counts(
    scen: Scenario, tr: _Trials, n_rep: int, truth, rng
) -> dict[Any, np.ndarray]:
    """Group-sequential analyses of a chunk: at look ``j`` each analysis runs on the first
    ``ceil(t_j n)`` patients of each arm; its p-value becomes ``z = Phi^-1(1 - p)`` (one-sided)
    or ``|z| = Phi^-1(1 - p/2)`` (two-sided) and meets the design's bounds, comparison by
    comparison. Counts: rejections at any look, at each look, and the patients used."""
    out: dict[Any, np.ndarray] = {}
    for a, d in zip(scen.analyses, scen.designs().values(), strict=True):
        t = np.asarray(d.information_rates)
        c = np.asarray(d.critical_values)
        b = np.nan_to_num(np.asarray(d.futility_bounds, dtype=float), nan=-np.inf)
        ncomp = len(scen.experimental)
        alive = np.ones((ncomp, n_rep), bool)
        used = np.zeros((ncomp, n_rep))
        total = np.zeros((ncomp, n_rep), bool)
        final = None
        for j in range(d.k):
            sizes = {arm: min(n, math.ceil(t[j] * n - 1e-9)) for arm, n in scen.n_by_arm.items()}
            sts = _analyse(scen, a, tr, sizes, rng)
            for i, st in enumerate(sts):
                pv = st["p"]
                with np.errstate(divide="ignore", invalid="ignore"):
                    z = special.ndtri(1 - pv / 2) if d.sided == 2 else special.ndtri(1 - pv)
                up = alive[i] & (z >= c[j])
                lo = alive[i] & ~up & (z <= b[j]) if j < d.k - 1 else np.zeros(n_rep, bool)
                look = np.zeros(len(_FIELDS))
                look[0], look[1] = up.sum(), n_rep
                out[(a.name, i, j + 1)] = look
                total[i] |= up
                used[i][alive[i] & (up | lo)] = sizes[scen.experimental[i]] + sizes[scen.control]
                alive[i] &= ~(up | lo)
            final = sts
        for i in range(ncomp):
            n_i = scen.n_by_arm[scen.experimental[i]] + scen.n_by_arm[scen.control]
            used[i][alive[i]] = n_i
            v = _count(final[i], a.alpha, truth.get((a.name, i), math.nan))
            v[0], v[1], v[2] = total[i].sum(), n_rep, 0
            v[8] = used[i].sum()
            out[(a.name, i)] = v
    return out


def _adaptive_plan(scen: Scenario, a: Analysis) -> Any:
    """The re-estimation rule of :mod:`.adaptive` (``_make_plan``) for analysis ``a``: the
    design of ``[sequential]``, the planned cumulative totals ``t_j (n_e + n_c)``."""
    from .adaptive import _make_plan

    ad = scen.adaptation
    d = scen.designs()[a.name]
    n_e, n_c = scen.n_by_arm[scen.experimental[0]], scen.n_by_arm[scen.control]
    planned = [t * (n_e + n_c) for t in d.information_rates]
    sd = ad.get("sd", 1.0)
    return _make_plan(
        d,
        sd,
        planned,
        n_c / n_e,
        ad["conditional_power"],
        ad.get("n_min"),
        ad.get("n_max"),
        ad.get("theta"),
        sd,
        ad.get("promising_zone"),
    )


def _max_sizes(scen: Scenario, plan: Any) -> dict[str, int]:
    """Patients to draw per arm: the largest total the rule can reach, split as planned."""
    n_e, n_c = scen.n_by_arm[scen.experimental[0]], scen.n_by_arm[scen.control]
    top = float(plan.planned[0] + np.sum(plan.n_max[1:]))
    return {
        scen.experimental[0]: math.ceil(top * n_e / (n_e + n_c)) + 1,
        scen.control: math.ceil(top * n_c / (n_e + n_c)) + 1,
    }


def _adaptive_counts(scen: Scenario, n_rep: int, truth, rng) -> dict[Any, np.ndarray]:
    """Adaptive trials (inverse-normal combination, sample-size re-estimation by
    :class:`.adaptive._Plan`): stage 1 on the planned first ``t_1 n`` patients of each arm;
    stage ``k`` on the next ``m_k`` patients, ``m_k`` (total of both arms, split as planned)
    from the conditional power given the combination z and the cumulative z so far. Each
    stage's one-sided p-value becomes ``Z_k = Phi^-1(1 - p_k)``; ``Z*_k`` of the stage-wise
    statistics with the planned weights meets the design's bounds. One analysis draws the
    patients once (the largest size the rule allows); the counts are those of
    :func:`_sequential_counts`, with the naive final estimate's bias and coverage."""
    from .adaptive import combination_z

    out: dict[Any, np.ndarray] = {}
    e, c = scen.experimental[0], scen.control
    for a in scen.analyses:
        plan = _adaptive_plan(scen, a)
        sizes_max = _max_sizes(scen, plan)
        tr = _draw(scen, sizes_max, n_rep, rng)
        n_e, n_c = scen.n_by_arm[e], scen.n_by_arm[c]
        share = {e: n_e / (n_e + n_c), c: n_c / (n_e + n_c)}
        idx = {arm: np.arange(sizes_max[arm])[None, :] for arm in (e, c)}
        start = {arm: np.zeros(n_rep, int) for arm in (e, c)}
        end = {
            arm: np.full(n_rep, math.ceil(plan.t[0] * n - 1e-9)) for arm, n in ((e, n_e), (c, n_c))
        }
        alive = np.ones(n_rep, bool)
        reject = np.zeros(n_rep, bool)
        used = np.zeros(n_rep)
        z_stages: list[np.ndarray] = []
        final = None
        k_looks = plan.t.size
        for k in range(k_looks):
            stage = {
                arm: (idx[arm] >= start[arm][:, None]) & (idx[arm] < end[arm][:, None])
                for arm in (e, c)
            }
            cum = {arm: idx[arm] < end[arm][:, None] for arm in (e, c)}
            pk = _analyse(scen, a, tr, None, rng, select=stage)[0]["p"]
            cst = _analyse(scen, a, tr, None, rng, select=cum)[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                z_stages.append(np.nan_to_num(special.ndtri(1 - pk), nan=0.0, posinf=8, neginf=-8))
                pooled = np.nan_to_num(special.ndtri(1 - cst["p"]), nan=0.0, posinf=8, neginf=-8)
            t_k = plan.t[: k + 1]  # Z*_k of each replicate (adaptive.combination_z)
            comb = np.apply_along_axis(
                lambda z, t=t_k: combination_z(z, t)[-1], 0, np.stack(z_stages)
            )
            up = alive & (comb >= plan.c[k])
            lo = alive & ~up & (comb <= plan.b[k]) if k < k_looks - 1 else np.zeros(n_rep, bool)
            look = np.zeros(len(_FIELDS))
            look[0], look[1] = up.sum(), n_rep
            out[(a.name, 0, k + 1)] = look
            reject |= up
            n_now = end[e] + end[c]
            used[alive & (up | lo)] = n_now[alive & (up | lo)]
            final = (
                cst
                if final is None
                else {key: np.where(alive, cst[key], final[key]) for key in cst}
            )
            alive &= ~(up | lo)
            if k == k_looks - 1:
                used[alive] = n_now[alive]
                break
            m_next = plan.stage_size(k + 1, comb, pooled, n_now.astype(float))
            for arm in (e, c):
                start[arm] = end[arm].copy()
                end[arm] = np.minimum(
                    sizes_max[arm], end[arm] + np.ceil(m_next * share[arm] - 1e-9).astype(int)
                )
        v = _count(final, a.alpha, truth.get((a.name, 0), math.nan))
        v[0], v[1], v[2] = reject.sum(), n_rep, 0
        v[8] = used.sum()
        out[(a.name, 0)] = v
    return out


# ---------------------------------------------------------------------------------------
# the truth each analysis estimates
# ---------------------------------------------------------------------------------------

TRUTH_PATIENTS = 200_000  # per arm, for truths computed by Monte Carlo


def true_effects(scen: Scenario) -> dict[tuple[str, int], float]:
    """The value each analysis's estimate targets, per comparison.

    Continuous endpoints (ANCOVA, MMRM, MI): the difference between arms of the outcome at
    the last visit adjusted for baseline in the complete data — the coefficient of the arm
    in the population regression of the outcome on arm and baseline with one common slope,
    ``(m_e - m_c) - beta (b_e - b_c)`` with ``beta = sum_a cov_a(Y, B) / sum_a var_a(B)``
    (arms weighted by their sizes). Exact from the model's means and covariances when the
    outcome is linear in the model (value or change on the value or change scale, percentage
    change on the percentage-change scale). Otherwise (percentage change of values, a trial's
    generative model) and under MNAR, by the same regression in a simulated population of
    ``TRUTH_PATIENTS`` patients per arm with every value kept (seed fixed): under MNAR the
    values after dropout are shifted by ``delta`` — the truth is the effect on the outcome
    the patients would have had (treatment-policy), which a MAR analysis misses. With a
    linear outcome the MNAR truth is the exact complete-data value plus the simulated
    shift's effect (computed on the same draws with and without the shift).

    MI under jump to reference or copy reference: the effect the assumption implies — the
    population ANCOVA after each dropout's expected values under the assumption
    (:func:`_reference_based_truth`), not the complete-data effect; its bias and coverage
    are then those of the estimator for its own estimand.

    Binary endpoints: ``rate_e - rate_c`` (a rule: the rates of responders in the simulated
    complete population). Time to event: the log hazard ratio (Cox) when the hazards are
    proportional, the RMST difference at ``tau`` (RMST with a fixed ``tau``); NaN otherwise
    (log-rank has no estimate; then bias and coverage are not reported).
    """
    out: dict[tuple[str, int], float] = {}
    pop = _population(scen) if _needs_population(scen) else None
    for a in scen.analyses:
        ep = scen.endpoints[a.endpoint]
        for i, e in enumerate(scen.experimental):
            out[(a.name, i)] = _truth_one(scen, a, ep, e, pop)
    return out


def _population(scen: Scenario) -> _Trials:
    """``TRUTH_PATIENTS`` patients per arm, every arm drawn from the same fixed stream
    (common random numbers: arms generated alike give exactly no difference)."""
    parts = [
        _draw(
            scen,
            {arm: TRUTH_PATIENTS},
            1,
            np.random.default_rng(np.random.SeedSequence(0, spawn_key=(2**31,))),
        )
        for arm in scen.arm_names
    ]

    def merge(name: str) -> dict:
        out: dict = {}
        for p in parts:
            for k, v in getattr(p, name).items():
                if isinstance(v, dict):
                    out.setdefault(k, {}).update(v)
                else:
                    out[k] = v
        return out

    draws = None
    if parts[0].draws is not None:
        draws = {k: v for p in parts for k, v in p.draws.items()}
    return _Trials(
        merge("values"),
        merge("binary"),
        {},
        merge("drop_time"),
        merge("drop_index"),
        parts[0].visits,
        draws,
    )


def _linear_outcome(ep: ContinuousEndpoint) -> bool:
    return (ep.outcome in ("value", "chg") and ep.scale in ("value", "chg")) or (
        ep.outcome == ep.scale == "pchg"
    )


def _needs_population(scen: Scenario) -> bool:
    for a in scen.analyses:
        ep = scen.endpoints[a.endpoint]
        if isinstance(ep, BinaryEndpoint) and ep.rate is None:
            return True
        if isinstance(ep, ContinuousEndpoint):
            if scen.model_kind == "synthetic" or not _linear_outcome(ep):
                return True
            if a.method == "mi" and a.imputation != "mar":
                return True
            if scen.dropout.mechanism == "MNAR" and scen.dropout.endpoint == ep.id:
                return True
    return False


def _truth_one(scen, a, ep, e, pop) -> float:
    c = scen.control
    if isinstance(ep, BinaryEndpoint):
        if ep.rate is not None:
            return ep.rate[e] - ep.rate[c]
        # rule: responders in the complete population (dropout ignored)
        full = replace(
            pop,
            binary={k: dict(v) for k, v in pop.binary.items()},
            drop_time={k: np.full_like(v, np.inf) for k, v in pop.drop_time.items()},
        )
        _derive_binary(scen, full, pop.draws)
        return float(np.mean(full.binary[ep.id][e]) - np.mean(full.binary[ep.id][c]))
    if isinstance(ep, SurvivalEndpoint):
        he, hc = ep.hazard[e], ep.hazard[c]
        if a.method == "cox":
            ratio = np.log(he / hc)
            return float(ratio[0]) if np.allclose(ratio, ratio[0]) else math.nan
        if a.method == "rmst" and ep.tau is not None:
            return _rmst(ep, he) - _rmst(ep, hc)
        return math.nan
    if a.method == "mi" and a.imputation != "mar":
        return _reference_based_truth(scen, a, ep, e, pop)
    shift = scen.dropout.mechanism == "MNAR" and scen.dropout.endpoint == ep.id
    exact = scen.model_kind == "parametric" and _linear_outcome(ep)
    if exact:
        base = _linear_truth(scen, ep, e)
        if not shift:
            return base
        return base + _pop_truth(scen, ep, e, pop, True) - _pop_truth(scen, ep, e, pop, False)
    return _pop_truth(scen, ep, e, pop, shift)


def _linear_truth(scen: Scenario, ep: ContinuousEndpoint, e: str) -> float:
    """Population ANCOVA coefficient of arm ``e`` (common slope) from the model moments."""
    L = len(ep.visits) - 1
    w = np.zeros(L + 1)  # outcome at the last visit as a combination of the model vector
    if ep.scale == "value":
        w[L] = 1.0
        if ep.outcome == "chg":
            w[0] = -1.0
    elif ep.scale == "chg":
        w[L] = 1.0
        if ep.outcome == "value":
            w[0] = 1.0
    else:
        w[L] = 1.0
    num = den = 0.0
    for arm, n in scen.n_by_arm.items():
        cov = ep.cov(arm)
        num += n * float(w @ cov[:, 0])
        den += n * float(cov[0, 0])
    beta = num / den
    c = scen.control
    return float(w @ (ep.mean[e] - ep.mean[c]) - beta * (ep.mean[e][0] - ep.mean[c][0]))


def _pop_truth(scen, ep, e, pop: _Trials, shift: bool) -> float:
    """The common-slope regression coefficient of arm ``e`` in the simulated population."""
    order = (scen.control, *scen.experimental)
    ys, bs, codes = [], [], []
    L = len(ep.visits) - 1
    for code, arm in enumerate(order):
        vals = pop.values[ep.id][arm]
        if shift:
            after = ~pop.observed(ep.id, arm)
            vals = vals + scen.dropout.delta[arm] * after
        ys.append(measure_of(vals, L, ep.outcome)[0])
        bs.append(vals[0, :, 0])
        codes.append(np.full(vals.shape[1], code))
    y, b, cd = np.concatenate(ys), np.concatenate(bs), np.concatenate(codes)
    est, _, _ = _ols_arms(y[None], cd, len(order), b[None], np.ones((1, y.size), bool))
    return float(est[0, order.index(e) - 1])


def _reference_based_truth(scen, a, ep, e, pop: _Trials) -> float:
    """What jump-to-reference (copy-reference) MI estimates with infinitely many patients and
    imputations: in the simulated population with the scenario's dropout, the imputation
    model's pseudo-true parameters (its visit regressions fitted on the observed values), each
    dropout's expected values under the assumption given its observed ones (the imputation
    with every random draw at 0 — the conditional mean, as the estimate is linear in the
    imputed values), then the ANCOVA of the completed last visit (Carpenter, Roger & Kenward
    2013: the estimand is defined by the assumption, not by the unobserved values)."""
    from ..continuous import _monotone

    y, base, obs, codes = _outcome_arrays(scen, ep, pop, lambda arm: None)
    order = (scen.control, *scen.experimental)
    k, n, T = len(order), y.shape[1], y.shape[2]
    arm = codes[None, :]
    fits, ok = _monotone.fit(y, obs, np.ones((1, n), bool), arm, base, k)
    if not ok[0]:
        return math.nan
    g = np.ones((1, 1, T))
    z = np.zeros((1, 1, T, k + T))
    vals = _monotone.impute(
        fits, k, 0, order.index(e), a.imputation.upper(), g, z, y, obs, arm, base,
        np.zeros((1, 1, n, T)),
    )[0, 0]  # fmt: skip
    est, _, _ = _ols_arms(vals[None, :, T - 1], codes, k, base, np.ones((1, n), bool))
    return float(est[0, order.index(e) - 1])


def _rmst(ep: SurvivalEndpoint, h: np.ndarray) -> float:
    """Restricted mean of a piecewise-exponential survival up to ``tau`` (exact integral)."""
    cuts = np.r_[0.0, np.asarray(ep.cuts, dtype=float), np.inf]
    tau = float(ep.tau)
    total, cum = 0.0, 0.0
    for j, rate in enumerate(h):
        t0, t1 = cuts[j], min(cuts[j + 1], tau)
        if t1 <= t0:
            break
        total += math.exp(-cum) * (1 - math.exp(-rate * (t1 - t0))) / rate
        cum += rate * (t1 - t0)
    return total


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------

_Z95 = 1.959963984540054


def _summarise(
    counts: Mapping[Any, np.ndarray], scen: Scenario, truth: Mapping[tuple[str, int], float]
) -> pd.DataFrame:
    rows = []
    comps = scen.comparisons()

    def row(label: str, a: Analysis, i: int, v: np.ndarray | None, look: bool = False) -> dict:
        v = np.zeros(len(_FIELDS)) if v is None else v
        rej, n, failed, se_sum, se2, n_est, cov, n_ci, used = v
        p = rej / n if n else math.nan
        mc_se = math.sqrt(p * (1 - p) / n) if n else math.nan
        ep = scen.endpoints[a.endpoint]
        method = _test_label(a.method) if isinstance(ep, BinaryEndpoint) else a.method.upper()
        if a.multiplicity:
            method += f" ({a.multiplicity.capitalize()} adjusted)"
        t = truth.get((a.name, i), math.nan)
        bias = se_sum / n_est if n_est else math.nan
        var = se2 / n_est - bias**2 if n_est else math.nan
        covg = cov / n_ci if n_ci else math.nan
        r = {
            "analysis": label,
            "endpoint": a.endpoint,
            "method": method,
            "comparison": comps[i],
            "alpha": a.alpha,
            "replicates": int(n),
            "rejections": int(rej),
            "power": p,
            "mc_se": mc_se,
            "ci_low": max(0.0, p - _Z95 * mc_se) if n else math.nan,
            "ci_high": min(1.0, p + _Z95 * mc_se) if n else math.nan,
            "type1_error": p if scen.is_null else math.nan,
            "true_effect": t,
            "mean_estimate": t + bias if n_est else math.nan,
            "bias": bias,
            "bias_mc_se": math.sqrt(max(var, 0.0) / n_est) if n_est else math.nan,
            "coverage": math.nan if look else covg,
            "coverage_mc_se": math.sqrt(covg * (1 - covg) / n_ci)
            if n_ci and not look
            else math.nan,
            "n_failed": int(failed),
        }
        if look:
            r.update(
                true_effect=math.nan, mean_estimate=math.nan, bias=math.nan, bias_mc_se=math.nan
            )
        if scen.sequential is not None:
            r["n_expected"] = math.nan if look else (used / n if n else math.nan)
        if scen.adaptation is not None and look:
            r["coverage_mc_se"] = math.nan
        return r

    for a in scen.analyses:
        for i in range(len(comps)):
            rows.append(row(a.name, a, i, counts.get((a.name, i))))
            if scen.sequential is not None:
                for j in range(1, int(scen.sequential["k"]) + 1):
                    rows.append(row(f"{a.name}: look {j}", a, i, counts.get((a.name, i, j)), True))
        if a.multiplicity:  # family-wise: some / every comparison rejected
            for key, label in (("any", "disjunctive (any arm)"), ("all", "conjunctive (all arms)")):
                r = row(a.name, a, 0, counts.get((a.name, key)), True)
                r["comparison"] = label
                rows.append(r)
    return pd.DataFrame(rows)


def _model_note(scen: Scenario) -> str:
    if scen.model_kind == "parametric":
        return "Patients drawn from the scenario's endpoint models (independent arms)."
    return (
        f"Patients drawn from the generative model of {scen.trial} "
        "(trial_analysis.synthetic): parameters from published aggregates, some assumed."
    )


@dataclass(frozen=True)
class SimulationResult(Result):
    """Simulated power of each analysis of a scenario (see :func:`simulate`).

    ``power`` and ``mc_se`` map analysis names to the Monte Carlo power and its standard error
    ``sqrt(p (1 - p) / replicates)`` (``mcse``: the former name of ``mc_se``, deprecated).
    """

    scenario: Scenario = field(repr=False)
    n_sims: int
    seed: int
    chunk_size: int
    table: pd.DataFrame = field(repr=False)
    title: ClassVar[str] = "Simulated power"

    @property
    def power(self) -> dict[str, float]:
        """Rejection rate of each analysis (group-sequential scenarios: at any look; the table
        also has a row per look). Keyed by analysis name, or ``"name: A vs C"`` with several
        experimental arms."""
        return self._by("power")

    @property
    def mc_se(self) -> dict[str, float]:
        """Monte Carlo standard error of each :attr:`power`, ``sqrt(p (1 - p) / replicates)``."""
        return self._by("mc_se")

    @property
    def mcse(self) -> dict[str, float]:
        """Deprecated name of :attr:`mc_se`."""
        warnings.warn(
            "SimulationResult.mcse is deprecated; use .mc_se (the table's column is mc_se)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.mc_se

    def _by(self, col: str) -> dict[str, float]:
        t = self.table
        several = len(self.scenario.experimental) > 1
        keys = (t["analysis"] + ": " + t["comparison"]) if several else t["analysis"]
        return dict(zip(keys, t[col], strict=True))

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(
            scenario=self.scenario.name,
            n_sims=self.n_sims,
            seed=self.seed,
            n=list(self.scenario.n),
            arms=list(self.scenario.arm_names),
            control=self.scenario.control,
            null=self.scenario.is_null,
        )
        return d

    @property
    def notes(self) -> tuple[str, ...]:
        s = self.scenario
        sizes = ", ".join(f"{n} ({a})" for a, n in s.n_by_arm.items())
        d = s.dropout
        drop = "no dropout"
        if d.active():
            by_arm = "/".join(f"{1 - np.prod(1 - d.hazard[a]):.3g}" for a in s.arm_names)
            drop = f"dropout {d.mechanism} {by_arm} by the last visit"
        return (
            f"{s.name}: n = {sizes}; each arm vs {s.control}; {drop}"
            + ("; under the null (every arm as the control)." if s.is_null else "."),
            _model_note(s),
            f"{self.n_sims} replicates, seed {self.seed}, chunks of {self.chunk_size}: "
            "mc_se is the Monte Carlo standard error of the rejection rate; bias and "
            "coverage are against true_effect (power.true_effects); the numbers do not depend "
            "on the number of processes or Dask workers.",
            *self._sequential_notes(),
        )

    def _sequential_notes(self) -> tuple[str, ...]:
        if self.scenario.sequential is None:
            return ()
        d = next(iter(self.scenario.designs().values()))
        return (
            f"Group-sequential: {d.k} analyses at information "
            f"{', '.join(f'{x:g}' for x in d.information_rates)} of the patients; "
            f"{d.notes[0]} Power = rejection at any look; n_expected = mean patients used.",
            *self._adaptation_notes(),
        )

    def _adaptation_notes(self) -> tuple[str, ...]:
        ad = self.scenario.adaptation
        if ad is None:
            return ()
        zone = ad.get("promising_zone")
        rule = (
            f"in the promising zone [{zone[0]:g}, {zone[1]:g}) of conditional power"
            if zone
            else "at every interim"
        )
        return (
            "Adaptive: inverse-normal combination of the stage-wise z statistics (planned "
            f"weights); later stages re-sized to conditional power {ad['conditional_power']:g} "
            f"{rule} under the {'assumed' if 'theta' in ad else 'observed'} effect "
            "(power.simulate_adaptive's rule); bias and coverage of the naive final estimate.",
        )


@dataclass(frozen=True)
class GridResult(Result):
    """Simulated power over a grid of scenarios (see :func:`simulate_grid`)."""

    table: pd.DataFrame = field(repr=False)
    n_sims: int
    seed: int
    factors: tuple[str, ...]
    title: ClassVar[str] = "Simulated power over a grid of scenarios"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            f"{self.n_sims} replicates per scenario, seed {self.seed}; scenario j, chunk i "
            "uses SeedSequence(seed, spawn_key=(j, i)).",
        )

    def plot(self, x: str, analysis: str | None = None, ax: Any = None) -> Any:
        """Power against one grid factor (other factors as separate lines); returns a Figure."""
        from .exact import _figure_axes

        if x not in self.factors:
            raise ParameterError("x", "one of the grid factors " + ", ".join(self.factors), x)
        fig, ax = _figure_axes(ax)
        t = self.table if analysis is None else self.table[self.table["analysis"] == analysis]
        others = [f for f in self.factors if f != x] + ["analysis"]
        for key, g in t.groupby(others, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            lab = ", ".join(f"{o}={v}" for o, v in zip(others, key, strict=True))
            xs = [str(v) if isinstance(v, list) else v for v in g[x]]
            ax.errorbar(xs, g["power"], yerr=1.96 * g["mc_se"], marker="o", capsize=2, label=lab)
        ax.set_xlabel(x)
        ax.set_ylabel("simulated power")
        ax.set_ylim(0, 1)
        ax.legend(frameon=False, fontsize="x-small")
        return fig


# ---------------------------------------------------------------------------------------
# orchestration
# ---------------------------------------------------------------------------------------


def _as_scenario(scenario: Scenario | str | Path | Mapping[str, Any]) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    if isinstance(scenario, Mapping):
        return Scenario.from_dict(scenario)
    raise ParameterError("scenario", "a Scenario, a TOML path or a mapping", scenario)


def _as_seed(seed: Any) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.generate_state(2, np.uint64).view(np.uint64)[0] >> np.uint64(1))
    return check_count("seed", seed)


def _tasks(n_sims: int, chunk_size: int, j: int) -> list[tuple[int, int, int]]:
    n_chunks = math.ceil(n_sims / chunk_size)
    return [(j, i, min(chunk_size, n_sims - i * chunk_size)) for i in range(n_chunks)]


def _run_task(args: tuple[Any, ...]) -> tuple[int, dict[Any, np.ndarray]]:
    scen, j, i, n_rep, seed, chunk_size, truth = args
    return j, _run_chunk(scen, j, i, n_rep, seed, chunk_size, truth)


def _execute(
    jobs: list[tuple[Any, ...]],
    dask: Any,
    n_jobs: int,
    progress: bool | None,
    desc: str,
) -> list[tuple[int, dict[Any, np.ndarray]]]:
    from tqdm.auto import tqdm

    show = (len(jobs) >= 20 and sys.stderr.isatty()) if progress is None else bool(progress)
    bar = tqdm(total=len(jobs), desc=desc, disable=not show, unit="chunk")
    results: list[Any] = []
    try:
        if dask is not None:
            from ._dask import run_on_dask

            results = run_on_dask(_run_task, jobs, dask, n_jobs, bar.update)
        elif n_jobs == 1:
            for job in jobs:
                results.append(_run_task(job))
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=n_jobs) as ex:
                for res in ex.map(_run_task, jobs, chunksize=max(1, len(jobs) // (8 * n_jobs))):
                    results.append(res)
                    bar.update(1)
    finally:
        bar.close()
    return results


def _add(total: dict[Any, np.ndarray], part: Mapping[Any, np.ndarray]) -> None:
    for k, v in part.items():
        total[k] = total[k] + v if k in total else np.asarray(v, dtype=float).copy()


def _default_chunk(scen: Scenario) -> int:
    """The ``chunk_size`` used when none is given: :data:`COSTLY_CHUNK` for a scenario with
    an MMRM or MI analysis, :data:`DEFAULT_CHUNK` otherwise (a property of the scenario, so
    the numbers still depend on the seed and the scenario only)."""
    costly = any(a.method in ("mmrm", "mi") for a in scen.analyses)
    return COSTLY_CHUNK if costly else DEFAULT_CHUNK


def _preload(scens: Sequence[Scenario]) -> None:
    """Import the analysis modules the chunks will use before processes are forked, so that
    each worker does not import them again inside its first chunk."""
    methods = {a.method for s in scens for a in s.analyses}
    if "mmrm" in methods:
        from .. import mmrm  # noqa: F401
    if "mi" in methods:
        from ..continuous import _mi_batch  # noqa: F401


def _check_common(n_sims: Any, chunk_size: Any, n_jobs: Any) -> tuple[int, int | None, int]:
    n_sims = check_count("n_sims", n_sims, minimum=1)
    if chunk_size is not None:
        chunk_size = check_count("chunk_size", chunk_size, minimum=1)
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else check_count("n_jobs", n_jobs, minimum=1)
    return n_sims, chunk_size, n_jobs


# Rough costs (2-core reference machine, docs/limits.md): a chunk holds a few float arrays of
# shape (trials, patients) per endpoint and visit; one simulated patient costs ~1.5e-7 s.
_ARRAYS_PER_PATIENT = 10
_SECONDS_PER_PATIENT = 1.5e-7
# mmrm.fit_batch: benchmarks/simpower.py, 3.3 ms CPU per trial of 91 patients x 7 visits
# (5.2e-6 per patient-visit); twice that as the margin of a loaded machine
_MMRM_SECONDS = 1e-5  # per patient-visit of an analysed replicate
_SURVIVAL_SECONDS = 2e-4  # per analysed trial and comparison (a Python loop over trials)
# mi_ancova_batch per patient-visit-imputation, by its draws: the bootstrap's batched path
# took 66 ms per trial of 91 patients x 7 visits x m = 20 on a loaded machine (the estimate:
# 127 ms, a margin for its loop fallback); the monotone draws 1.9 ms (the estimate: 3.8 ms)
_MI_SECONDS = {"bootstrap": 1e-5, "monotone": 3e-7}
_DUNNETT_SECONDS = 1e-3  # multiplicity.adjust(method="dunnett") of 3 arms: ~0.5 ms measured


def _check_cost(
    scens: Sequence[Scenario], n_sims: int, chunk_size: int | None, n_jobs: int
) -> None:
    """Refuse (before any work) a simulation beyond the limits max_memory / max_seconds."""
    from ..binary._exact import check_grid_cost

    seconds = 0.0
    for s in scens:
        chunk = _default_chunk(s) if chunk_size is None else chunk_size
        visits = sum(len(e.visits) for e in s.endpoints.values() if hasattr(e, "visits"))
        per_trial = s.n_total * (_ARRAYS_PER_PATIENT + 2 * visits) * 8.0
        limits.check_cost(
            f"a simulation chunk of chunk_size = {min(chunk, n_sims)} trials of "
            f"{s.n_total} patients",
            parameter="chunk_size",
            memory=min(chunk, n_sims) * per_trial,
            advice=f"use a smaller chunk_size (this scenario's default: {_default_chunk(s)})",
        )
        ncomp = len(s.experimental)
        # interim looks analyse the first t_j n patients again: the fits cost sum_j t_j times
        looks = 1.0
        if s.sequential is not None:
            k = int(s.sequential["k"])
            looks = float(sum(s.sequential.get("information_rates") or np.arange(1, k + 1) / k))
        for a in s.analyses:
            ep = s.endpoints[a.endpoint]
            if isinstance(ep, BinaryEndpoint):  # p-values looked up in the grid of the arm sizes
                for e in s.experimental:
                    check_grid_cost(s.n_by_arm[e], s.n_by_arm[s.control], a.method)
            elif a.method == "mmrm":  # batched REML: per patient-visit
                seconds += looks * n_sims * s.n_total * len(ep.visits) * _MMRM_SECONDS
            elif a.method == "mi":  # imputation and ANCOVA, m times per trial
                seconds += looks * n_sims * a.m * s.n_total * len(ep.visits) * _MI_SECONDS[a.draws]
            elif isinstance(ep, SurvivalEndpoint):
                seconds += n_sims * ncomp * _SURVIVAL_SECONDS
            if a.multiplicity:  # multiplicity.adjust once per trial
                seconds += n_sims * (_DUNNETT_SECONDS if "dunnett" in a.multiplicity else 2e-4)
        seconds += n_sims * s.n_total * _SECONDS_PER_PATIENT
    limits.check_cost(
        f"simulating n_sims = {n_sims} trials"
        + (f" x {len(scens)} scenarios" if len(scens) > 1 else "")
        + f" of {scens[0].n_total} patients on {n_jobs} process{'es' if n_jobs > 1 else ''}",
        parameter="n_sims",
        seconds=seconds / n_jobs,
        advice="use fewer replicates (n_sims = 10000 gives a Monte Carlo SE of at most 0.005)",
    )


def simulate(
    scenario: Scenario | str | Path | Mapping[str, Any],
    n_sims: int = 10_000,
    seed: int | np.random.Generator | np.random.SeedSequence = 0,
    dask: str | Any | None = None,
    *,
    n_jobs: int = 1,
    chunk_size: int | None = None,
    progress: bool | None = None,
    null: bool = False,
) -> SimulationResult:
    """Simulate a whole future trial ``n_sims`` times and apply every analysis of the scenario.

    Parameters
    ----------
    scenario : Scenario, path or mapping
        The scenario (see :mod:`trial_analysis.power.scenario` for the format).
    n_sims : int
        Number of simulated trials.
    seed : int, Generator or SeedSequence
        Root of the random streams (chunk ``i`` uses ``SeedSequence(seed, spawn_key=(0, i))``).
    dask : str, distributed.Client or None
        ``None``: this process (``n_jobs=1``) or a local process pool (``n_jobs > 1``);
        ``"local"``: a temporary ``LocalCluster`` with ``n_jobs`` (at least 2) workers;
        ``"tcp://host:8786"``: an existing scheduler; or a ``Client``. Needs the ``dask``
        extra.
    n_jobs : int
        Local processes (or LocalCluster workers).
    chunk_size : int, optional
        Trials per chunk (part of what makes the numbers reproducible); default
        :func:`_default_chunk` of the scenario: 1,000 with an MMRM or MI analysis (so that
        ``n_jobs`` processes share 10,000 trials), else 10,000.
    progress : bool, optional
        Show a progress bar (default: on a terminal when there are 20 chunks or more).
    null : bool
        Simulate the scenario's :meth:`~.Scenario.null` (every arm generated as the control):
        the rejection rates are type I errors (column ``type1_error``).

    Returns
    -------
    SimulationResult
        ``.power`` and ``.mc_se`` per analysis; ``to_frame()`` has one row per analysis and
        comparison: ``power`` (rejection rate) with ``mc_se`` and its Monte Carlo
        interval, ``type1_error`` (null scenarios), ``true_effect``, ``mean_estimate``,
        ``bias`` (with ``bias_mc_se``), ``coverage`` of the ``1 - alpha`` interval (with
        ``coverage_mc_se``), ``n_failed`` (replicates not analysed: not converged, or an arm
        without evaluable patients).

    Notes
    -----
    Binary analyses: ``x_k = sum of responders`` per arm and replicate (missing counted as
    failures, or complete cases); the p-value is looked up in
    :func:`trial_analysis.binary.pvalue_grid` for the arm sizes; the estimate is the risk
    difference with Newcombe's hybrid score interval. ANCOVA: batched OLS of the outcome at
    the last visit on arm and baseline, completers, all arms in one model. MMRM: every
    replicate by ``mmrm.fit_batch``. The Monte Carlo standard error of a proportion ``p``
    from ``B`` replicates is ``sqrt(p (1 - p) / B)``; of the bias ``sd(estimate) / sqrt(B)``.

    References
    ----------
    .. [1] Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical
       methods. Stat Med 2019;38:2074-102.

    Examples
    --------
    >>> from trial_analysis.power import simulate
    >>> scen = {
    ...     "arms": {"names": ["Drug", "Placebo"], "n": [45, 44]},
    ...     "endpoints": {"resp": {"type": "binary", "rate": {"Drug": 0.2, "Placebo": 0.0455}}},
    ...     "analyses": [{"endpoint": "resp", "method": "fisher"}],
    ... }
    >>> r = simulate(scen, n_sims=20_000, seed=1)
    >>> abs(r.power["resp_fisher"] - 0.5248) < 4 * r.mc_se["resp_fisher"]
    True
    """
    scen = _as_scenario(scenario)
    if not isinstance(null, bool):
        raise ParameterError("null", "True or False", null)
    if null:
        scen = scen.null()
    n_sims, chunk_size, n_jobs = _check_common(n_sims, chunk_size, n_jobs)
    chunk_size = _default_chunk(scen) if chunk_size is None else chunk_size
    seed_i = _as_seed(seed)
    _check_cost([scen], n_sims, chunk_size, n_jobs)
    scen.model()  # fail early (e.g. missing generative model) before starting workers
    _preload([scen])
    truth = true_effects(scen)
    jobs = [(scen, j, i, n, seed_i, chunk_size, truth) for j, i, n in _tasks(n_sims, chunk_size, 0)]
    total: dict[Any, np.ndarray] = {}
    for _, part in _execute(jobs, dask, n_jobs, progress, f"simulate {scen.name}"):
        _add(total, part)
    return SimulationResult(
        scenario=scen,
        n_sims=n_sims,
        seed=seed_i,
        chunk_size=chunk_size,
        table=_summarise(total, scen, truth),
    )


def simulate_grid(
    scenario: Scenario | str | Path | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    n_sims: int = 10_000,
    seed: int | np.random.Generator | np.random.SeedSequence = 0,
    dask: str | Any | None = None,
    *,
    n_jobs: int | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    null: bool = False,
) -> GridResult:
    """Simulate every combination of scenario overrides (n x effect x dropout x test ...).

    Parameters
    ----------
    scenario : Scenario, path or mapping
        The base scenario.
    grid : mapping of dotted key -> sequence of values
        E.g. ``{"arms.n": [[60, 60], [90, 90]], "endpoints.resp.rate.Drug": [0.15, 0.2],
        "dropout.rate": [0.0, 0.1], "analyses.0.method": ["fisher", "boschloo"]}``.
    n_sims, seed, dask, chunk_size, progress
        As in :func:`simulate`; scenario ``j`` (in the order of ``itertools.product``) uses
        the streams ``SeedSequence(seed, spawn_key=(j, i))``; without ``chunk_size`` each
        scenario has its :func:`_default_chunk`, so row ``j`` equals ``simulate`` of
        scenario ``j``.
    n_jobs : int, optional
        Local processes; default one per CPU (grids run on local processes by default).
    null : bool
        Simulate each scenario's :meth:`~.Scenario.null` (type I errors).

    Returns
    -------
    GridResult
        One row per scenario and analysis, with the factor values as columns.
    """
    base = _as_scenario(scenario)
    n_sims, chunk_size, n_jobs = _check_common(n_sims, chunk_size, n_jobs)
    if not isinstance(grid, Mapping) or not grid:
        raise ParameterError("grid", "a non-empty mapping of dotted keys to value lists", grid)
    keys = list(grid)
    for k in keys:
        v = grid[k]
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) == 0:
            raise ParameterError(f"grid[{k!r}]", "a non-empty list of values", v)
    seed_i = _as_seed(seed)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    if not isinstance(null, bool):
        raise ParameterError("null", "True or False", null)
    scens = [base.with_overrides(dict(zip(keys, c, strict=True))) for c in combos]
    if null:
        scens = [s.null() for s in scens]
    _check_cost(scens, n_sims, chunk_size, n_jobs)
    scens[0].model()
    _preload(scens)
    truths = [true_effects(s) for s in scens]
    chunks = [_default_chunk(s) if chunk_size is None else chunk_size for s in scens]
    jobs = [
        (s, j, i, n, seed_i, chunks[j], truths[j])
        for j, s in enumerate(scens)
        for _, i, n in _tasks(n_sims, chunks[j], j)
    ]
    totals: list[dict[Any, np.ndarray]] = [{} for _ in scens]
    for j, part in _execute(jobs, dask, n_jobs, progress, "simulate grid"):
        _add(totals[j], part)
    frames = []
    for j, (s, c) in enumerate(zip(scens, combos, strict=True)):
        t = _summarise(totals[j], s, truths[j])
        for k, v in zip(keys, c, strict=True):
            t.insert(0, k, [v] * len(t))
        t.insert(0, "scenario", j)
        frames.append(t)
    return GridResult(
        table=pd.concat(frames, ignore_index=True),
        n_sims=n_sims,
        seed=seed_i,
        factors=tuple(keys),
    )


# ---------------------------------------------------------------------------------------
# sample size by simulation
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulatedSampleSize(Result):
    """The smallest trial whose simulated power reaches the target, and the search.

    ``searched`` has one row per simulated size (``n_control``, ``n_per_arm``, ``power``,
    ``mc_se``), in the order of the search.
    """

    analysis: str
    comparison: str
    target: float
    n_per_arm: tuple[int, ...]
    arms: tuple[str, ...]
    power: float
    mc_se: float
    reached: bool
    searched: pd.DataFrame
    n_sims: int
    seed: int
    title: ClassVar[str] = "Sample size by simulation"

    def to_frame(self) -> pd.DataFrame:
        return self.searched.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        sizes = ", ".join(f"{a} {n}" for a, n in zip(self.arms, self.n_per_arm, strict=True))
        head = (
            f"{self.analysis} ({self.comparison}): {sizes} give power {self.power:.3f} "
            f"(Monte Carlo SE {self.mc_se:.3f}) for the target {self.target:g}."
            if self.reached
            else f"{self.analysis} ({self.comparison}): the target {self.target:g} is not "
            f"reached at the largest size searched ({sizes}: power {self.power:.3f})."
        )
        return (
            head,
            f"Bisection over the control arm's size with the allocation kept; every size is "
            f"simulated {self.n_sims} times from the same seed ({self.seed}: common random "
            "numbers, so power is close to monotone in n); the answer is within Monte Carlo "
            "error of the target.",
        )


def simulate_sample_size(
    scenario: Scenario | str | Path | Mapping[str, Any],
    analysis: str,
    power: float = 0.8,
    *,
    n_range: tuple[int, int] = (10, 1000),
    comparison: str | None = None,
    n_sims: int = 2_000,
    seed: int = 0,
    n_jobs: int = 1,
    dask: str | Any | None = None,
) -> SimulatedSampleSize:
    """Smallest sample size at which a scenario's analysis reaches ``power``, by simulation.

    The arms keep the scenario's allocation; the control arm's size is searched by bisection
    in ``n_range`` and each candidate is simulated with :func:`simulate` from the same seed.
    This is the search a trial statistician runs by hand over rpact's or SAS's simulation
    when no formula captures the dropout and the analysis (for example an MMRM, or multiple
    imputation under jump-to-reference).

    Parameters
    ----------
    scenario : Scenario, path or mapping
        The scenario; its ``arms.n`` sets the allocation.
    analysis : str
        Name of one of its analyses.
    power : float
        Target power (rejection rate).
    n_range : (int, int)
        Smallest and largest control-arm size searched.
    comparison : str, optional
        With more than two arms: the comparison (e.g. ``"High vs Placebo"``); default the
        first.
    n_sims, seed, n_jobs, dask
        As :func:`simulate`, for every size.

    Returns
    -------
    SimulatedSampleSize

    Examples
    --------
    >>> from trial_analysis.power import simulate_sample_size
    >>> s = {"arms": {"names": ["Drug", "Placebo"], "n": [50, 50]},
    ...      "endpoints": {"y": {"type": "continuous", "visits": [0, 12],
    ...                          "mean": {"Drug": [0, -0.5], "Placebo": [0, 0]},
    ...                          "sd": 1, "correlation": {"structure": "cs", "rho": 0.5}}},
    ...      "analyses": [{"endpoint": "y", "method": "ancova", "name": "y_ancova"}]}
    >>> r = simulate_sample_size(s, "y_ancova", 0.8, n_range=(20, 200), n_sims=1000, seed=1)
    >>> 40 <= r.n_per_arm[0] <= 60
    True
    """
    base = _as_scenario(scenario)
    names = [a.name for a in base.analyses]
    if analysis not in names:
        raise ParameterError(
            "analysis", "an analysis of the scenario (" + ", ".join(names) + ")", analysis
        )
    target = check_probability("power", power)
    try:
        lo, hi = (int(x) for x in n_range)
    except (TypeError, ValueError):
        raise ParameterError("n_range", "two whole numbers (smallest, largest)", n_range) from None
    if not 2 <= lo < hi:
        raise ParameterError("n_range", "2 <= smallest < largest", n_range)
    seed = _as_seed(seed)
    raw_analyses = base.raw.get("analyses")
    if (
        isinstance(raw_analyses, list)
        and len(raw_analyses) == len(names)
        and not {"sequential", "adaptation"} & set(base.raw)
    ):
        # simulate only the analysis searched for (the others cost time and change nothing)
        base = base.with_overrides({"analyses": [raw_analyses[names.index(analysis)]]})
    arms = base.arm_names
    ci = arms.index(base.control)
    weights = [n / base.n[ci] for n in base.n]
    cache: dict[int, dict[str, Any]] = {}
    order: list[int] = []

    def sizes(nc: int) -> list[int]:
        return [max(2, round(nc * w)) for w in weights]

    def run(nc: int) -> dict[str, Any]:
        if nc not in cache:
            res = simulate(
                base.with_overrides({"arms.n": sizes(nc)}),
                n_sims=n_sims,
                seed=seed,
                n_jobs=n_jobs,
                dask=dask,
            )
            f = res.to_frame()
            f = f.loc[f["analysis"] == analysis]
            if comparison is not None:
                if comparison not in set(f["comparison"]):
                    raise ParameterError(
                        "comparison", "one of " + ", ".join(map(str, f["comparison"])), comparison
                    )
                f = f.loc[f["comparison"] == comparison]
            row = f.iloc[0]
            cache[nc] = {
                "n_control": nc,
                "n_per_arm": tuple(sizes(nc)),
                "comparison": str(row["comparison"]),
                "power": float(row["power"]),
                "mc_se": float(row["mc_se"]),
            }
            order.append(nc)
        return cache[nc]

    reached = run(hi)["power"] >= target
    if reached and run(lo)["power"] >= target:
        hi = lo
    elif reached:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if run(mid)["power"] >= target:
                hi = mid
            else:
                lo = mid
    best = cache[hi]
    return SimulatedSampleSize(
        analysis=analysis,
        comparison=best["comparison"],
        target=target,
        n_per_arm=best["n_per_arm"],
        arms=tuple(arms),
        power=best["power"],
        mc_se=best["mc_se"],
        reached=bool(reached),
        searched=pd.DataFrame([cache[k] for k in order]),
        n_sims=n_sims,
        seed=seed,
    )
