"""Monte Carlo power of a whole future trial, vectorised across replicates.

Replicates are generated and analysed in chunks of ``chunk_size`` trials with numpy arrays
of shape ``(trials, patients)``: no Python loop per trial for the binary tests (the p-value
grid of the test is computed once per pair of arm sizes and the simulated tables are looked
up in it) nor for ANCOVA (closed-form least squares for all replicates at once). MMRM
analyses the first ``max_sims`` replicates of the run, fitted together by
``mmrm.fit_batch`` (batched REML; each replicate's result is that of ``mmrm.fit`` on it).

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
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special, stats

from .. import limits
from .._validate import check_count
from ..errors import AnalysisError, ParameterError
from ..results import Result
from .exact import _TIE, _pgrid, _test_label
from .scenario import ParametricModel, Scenario, load_scenario, mar_intercept

__all__ = [
    "GridResult",
    "SimulationResult",
    "ancova_batch",
    "simulate",
    "simulate_grid",
]

DEFAULT_CHUNK = 10_000
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
    w = np.ones_like(y) if observed is None else np.asarray(observed, dtype=float)
    y = np.where(w > 0, y, 0.0)
    c = np.where(w > 0, np.asarray(covariate, dtype=float), 0.0)
    a = np.broadcast_to(np.asarray(arm, dtype=float), y.shape) * w
    cols = (w, a, c * w)
    xtx = np.empty((*y.shape[:-1], 3, 3))
    xty = np.empty((*y.shape[:-1], 3))
    base = (np.ones_like(y), np.broadcast_to(np.asarray(arm, dtype=float), y.shape), c)
    for i in range(3):
        xty[..., i] = np.sum(cols[i] * y, axis=-1)
        for j in range(i, 3):
            xtx[..., i, j] = xtx[..., j, i] = np.sum(cols[i] * base[j], axis=-1)
    n = w.sum(axis=-1)
    df = n - 3
    det = np.linalg.det(xtx)
    ok = (df > 0) & (np.abs(det) > 1e-12 * np.maximum(n, 1) ** 3)
    safe = np.where(ok[..., None, None], xtx, np.eye(3))
    inv = np.linalg.inv(safe)
    beta = np.einsum("...ij,...j->...i", inv, xty)
    rss = np.sum(w * y**2, axis=-1) - np.einsum("...i,...i->...", beta, xty)
    sigma2 = np.maximum(rss, 0.0) / np.where(df > 0, df, 1)
    se = np.sqrt(sigma2 * inv[..., 1, 1])
    est = beta[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        p = 2 * stats.t.sf(np.abs(t), np.where(df > 0, df, 1))
    nan = ~ok | (se == 0)
    return (
        np.where(nan, np.nan, est),
        np.where(nan, np.nan, se),
        df,
        np.where(nan, np.nan, p),
    )


def _t_one_sided(est: np.ndarray, se: np.ndarray, df: np.ndarray, alternative: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        dfs = np.where(df > 0, df, 1)
        return stats.t.sf(t, dfs) if alternative == "greater" else stats.t.cdf(t, dfs)


# ---------------------------------------------------------------------------------------
# one chunk
# ---------------------------------------------------------------------------------------


def _dropout_mask(
    scen: Scenario, draws: Mapping[str, Mapping[str, np.ndarray]], shape_by_arm: dict, rng
) -> dict[str, np.ndarray]:
    """True where the patient is observed at week 48."""
    out = {}
    for k, name in enumerate(scen.arm_names):
        rate = scen.dropout_rate[k]
        shape = shape_by_arm[name]
        u = rng.random(shape)
        if rate == 0:
            out[name] = np.ones(shape, dtype=bool)
        elif scen.dropout_mechanism == "MCAR" or scen.mar_slope == 0:
            out[name] = u >= rate
        else:
            base = draws[name].get("HBA1C_BASE")
            if base is None:
                raise AnalysisError("MAR dropout needs baseline HbA1c from the model")
            all_base = np.concatenate([draws[a]["HBA1C_BASE"].ravel() for a in scen.arm_names])
            z = (base - all_base.mean()) / all_base.std()
            a = mar_intercept(rate, scen.mar_slope)
            out[name] = u >= special.expit(a + scen.mar_slope * z)
    return out


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


def _needs(scen: Scenario) -> frozenset[str]:
    need = set()
    for a in scen.analyses:
        if a.endpoint == "composite":
            if scen.derive_composite:
                need |= {"HBA1C", "INSDOSE"}
            else:
                need.add("RESPONDER")
        elif a.endpoint == "insulin_pchg":
            need.add("INSDOSE")
        else:
            need.add("HBA1C_VISITS" if a.method == "mmrm" else "HBA1C")
    if scen.dropout_mechanism == "MAR" and scen.mar_slope != 0:
        need.add("HBA1C")
    return frozenset(need)


def _run_chunk(
    scen: Scenario, scen_index: int, chunk_index: int, n_rep: int, seed: int, chunk_size: int
) -> dict[str, tuple[int, int]]:
    """Simulate and analyse ``n_rep`` trials; returns analysis -> (rejections, analysed)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(scen_index, chunk_index)))
    model = scen.model()
    names = scen.arm_names
    n_by_arm = dict(zip(names, scen.n, strict=True))
    only_binary = all(a.endpoint == "composite" for a in scen.analyses)
    out: dict[str, tuple[int, int]] = {}

    fast = only_binary and not scen.derive_composite and scen.sequential is None
    if isinstance(model, ParametricModel) and fast:
        # Fast path: with responders independent of everything else the arm totals are
        # binomial; dropout (MCAR, or MAR on an independent covariate) thins them.
        p = [model.arms[a].responder for a in names]
        d = scen.dropout_rate
        if scen.binary_missing == "failure":
            xs = [
                rng.binomial(n, pk * (1 - dk), n_rep)
                for n, pk, dk in zip(scen.n, p, d, strict=True)
            ]
            ns: list[Any] = list(scen.n)
        else:
            ns = [rng.binomial(n, 1 - dk, n_rep) for n, dk in zip(scen.n, d, strict=True)]
            xs = [rng.binomial(nk, pk) for nk, pk in zip(ns, p, strict=True)]
        for a in scen.analyses:
            pv = _binary_pvalues(xs[0], ns[0], xs[1], ns[1], a.method, a.alternative)
            ok = ~np.isnan(pv)
            out[a.name] = (int(np.sum(pv[ok] <= a.alpha * (1 + _TIE))), int(ok.sum()))
        return out

    if isinstance(model, ParametricModel):
        draws = model.draw_endpoints(n_by_arm, n_rep, rng, need=_needs(scen))
    else:
        draws = model.draw_endpoints(n_by_arm, n_rep, rng)
    shapes = {a: (n_rep, n) for a, n in n_by_arm.items()}
    observed = _dropout_mask(scen, draws, shapes, rng)

    def composite(arm: str) -> np.ndarray:
        d = draws[arm]
        if scen.derive_composite:
            return (d["HBA1C_48"] < scen.hba1c_below) & (
                d["INSDOSE_PCHG_48"] <= -scen.insulin_reduction
            )
        return np.asarray(d["RESPONDER"]) == 1  # NaN (missing) is not a response

    def pvalues(a: Any, m: tuple[int, int]) -> np.ndarray:
        """p-values of analysis ``a`` on the first ``m`` patients of each arm."""
        obs_m = [observed[nm][:, :mk] for nm, mk in zip(names, m, strict=True)]
        if a.endpoint == "composite":
            r = [composite(nm)[:, :mk] & ok for nm, mk, ok in zip(names, m, obs_m, strict=True)]
            xs = [rk.sum(axis=1) for rk in r]
            if scen.binary_missing == "failure":
                ns: list[Any] = list(m)
            else:
                ns = [ok.sum(axis=1) for ok in obs_m]
            return _binary_pvalues(xs[0], ns[0], xs[1], ns[1], a.method, a.alternative)
        if a.method == "ancova":
            yk, ck = (
                ("INSDOSE_PCHG_48", "INSDOSE_BASE")
                if a.endpoint == "insulin_pchg"
                else ("HBA1C_48", "HBA1C_BASE")
            )
            y = np.concatenate([draws[nm][yk][:, :mk] for nm, mk in zip(names, m, strict=True)], 1)
            c = np.concatenate([draws[nm][ck][:, :mk] for nm, mk in zip(names, m, strict=True)], 1)
            arm_ind = np.r_[np.ones(m[0]), np.zeros(m[1])]
            est, se, df, pv = ancova_batch(y, arm_ind, c, np.concatenate(obs_m, axis=1))
            if a.alternative != "two-sided":
                pv = np.where(np.isnan(pv), np.nan, _t_one_sided(est, se, df, a.alternative))
            return pv
        # MMRM: the first `max_sims` replicates, fitted together (mmrm.fit_batch)
        first = chunk_index * chunk_size
        k = max(0, min(n_rep, a.max_sims - first))
        if isinstance(model, ParametricModel):
            return _mmrm_pvalues(scen, draws, observed, k, a.alternative, rng)
        return _mmrm_pvalues_ipd(scen, model, k, a.alternative, rng)

    if scen.sequential is not None:
        return _sequential_counts(scen, pvalues, n_rep)
    for a in scen.analyses:
        pv = pvalues(a, scen.n)
        ok = ~np.isnan(pv)
        out[a.name] = (int(np.sum(pv[ok] <= a.alpha * (1 + _TIE))), int(ok.sum()))
    return out


def _sequential_counts(scen: Scenario, pvalues: Any, n_rep: int) -> dict[str, tuple[int, int]]:
    """Group-sequential analyses of a chunk: at look ``j`` each analysis runs on the first
    ``ceil(t_j n)`` patients of each arm; its p-value becomes ``z = Phi^-1(1 - p)`` (one-sided)
    or ``|z| = Phi^-1(1 - p/2)`` (two-sided) and meets the design's bounds. Counts per
    analysis: rejections at any look, at each look (``name\x00look j``) and the patients used
    (``name\x00n``)."""
    out: dict[str, tuple[int, int]] = {}
    for a, d in zip(scen.analyses, scen.designs().values(), strict=True):
        t = np.asarray(d.information_rates)
        c = np.asarray(d.critical_values)
        b = np.nan_to_num(np.asarray(d.futility_bounds, dtype=float), nan=-np.inf)
        alive = np.ones(n_rep, bool)
        used = np.zeros(n_rep)
        total = 0
        for j in range(d.k):
            m = tuple(
                min(n, math.ceil(tj * n - 1e-9)) for n, tj in zip(scen.n, (t[j], t[j]), strict=True)
            )
            pv = pvalues(a, m)
            with np.errstate(divide="ignore"):
                z = special.ndtri(1 - pv / 2) if d.sided == 2 else special.ndtri(1 - pv)
            up = alive & (z >= c[j])
            lo = alive & ~up & (z <= b[j]) if j < d.k - 1 else np.zeros(n_rep, bool)
            out[f"{a.name}\x00look {j + 1}"] = (int(up.sum()), n_rep)
            total += int(up.sum())
            used[alive & (up | lo)] = sum(m)
            alive &= ~(up | lo)
        used[alive] = sum(scen.n)
        out[a.name] = (total, n_rep)
        out[f"{a.name}\x00n"] = (int(used.sum()), n_rep)
    return out


def _mmrm_frame(scen, draws, observed, k, rng, batch: int | None = None) -> pd.DataFrame:
    """Long data of the first ``k`` replicates for the MMRM, a ``REP`` column telling them
    apart (with ``batch``: a generator of frames of ``batch`` replicates each, numbered from
    0 within the frame). Dropouts leave at a uniformly chosen post-baseline visit (monotone
    missingness); the leaving visits are drawn replicate by replicate, arm by arm (the stream
    order of the earlier one-fit-per-replicate loop, so results did not move)."""
    weeks = [w for w in scen.visits if w > 0]
    names = scen.arm_names
    post = len(weeks)
    for nm in names:
        if f"HBA1C_W{weeks[-1]}" not in draws[nm]:
            raise AnalysisError("MMRM needs HbA1c at every visit (HBA1C_W<week>) from the model")
    sizes = [draws[nm][f"HBA1C_W{weeks[0]}"].shape[1] for nm in names]
    last = {nm: np.empty((k, n), int) for nm, n in zip(names, sizes, strict=True)}
    for r in range(k):
        for nm, n in zip(names, sizes, strict=True):
            last[nm][r] = np.where(observed[nm][r], post, rng.integers(0, post, n))

    def frame(r0: int, r1: int) -> pd.DataFrame:
        parts = []
        for nm in names:
            d = draws[nm]
            base = (d["HBA1C_W0"] if "HBA1C_W0" in d else d["HBA1C_BASE"])[r0:r1]
            y = np.stack([d[f"HBA1C_W{w}"][r0:r1] for w in weeks], axis=2)  # (k, n, visits)
            y = np.where(np.arange(post) < last[nm][r0:r1, :, None], y, np.nan)
            r, i, j = np.indices(y.shape).reshape(3, -1)
            parts.append(
                pd.DataFrame(
                    {
                        "REP": r,
                        "USUBJID": [f"{nm}-{v}" for v in i],
                        "ARM": nm,
                        "AVISITN": np.asarray(weeks)[j],
                        "BASE": base[r, i],
                        "AVAL": y.ravel(),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    if batch is None:
        return frame(0, k)
    return (frame(r0, min(k, r0 + batch)) for r0 in range(0, k, batch))


def _mmrm_pvalues(scen, draws, observed, k, alternative, rng) -> np.ndarray:
    """p-values of the MMRM contrast at the last visit for the first ``k`` replicates, fitted
    together by ``mmrm.fit_batch`` (each equal to ``mmrm.fit`` on its replicate) in batches
    of ``MMRM_BATCH`` replicates (bounded memory; a replicate's result depends on its batch
    only through rounding, ~1e-13, and the batch size is fixed, so seeds reproduce)."""
    if k == 0:
        return np.array([])
    frames = _mmrm_frame(scen, draws, observed, k, rng, batch=MMRM_BATCH)
    return np.concatenate(
        [_batch_pvalues(scen, f, int(f["REP"].max()) + 1, alternative) for f in frames]
    )


def _batch_pvalues(scen: Scenario, df: pd.DataFrame, k: int, alternative: str) -> np.ndarray:
    from .. import mmrm  # another area; loaded only when an MMRM analysis is asked for

    names = scen.arm_names
    try:
        out = mmrm.fit_batch(
            df,
            "AVAL",
            "USUBJID",
            "AVISITN",
            "ARM",
            replicate="REP",
            baseline="BASE",
            reference=names[1],
        )
    except AnalysisError:  # the data as a whole cannot be fitted: no replicate analysed
        return np.full(k, np.nan)
    row = out[(out["visit"] == out["visit"].max()) & out["converged"]]
    pvals = np.full(k, np.nan)
    reps = row["replicate"].to_numpy(dtype=int)
    est, se, dfv = (row[c].to_numpy(dtype=float) for c in ("estimate", "se", "df"))
    if alternative == "two-sided":
        pvals[reps] = row["p_value"].to_numpy(dtype=float)
    elif alternative == "greater":
        pvals[reps] = stats.t.sf(est / se, dfv)
    else:
        pvals[reps] = stats.t.cdf(est / se, dfv)
    return pvals


def _mmrm_pvalues_ipd(scen: Scenario, model: Any, k: int, alternative: str, rng) -> np.ndarray:
    """MMRM on HbA1c for ``k`` cohorts drawn with the generative model's ``sample_ipd``
    (its own visit schedule and per-arm withdrawal with the scenario's dropout rates), fitted
    together by ``mmrm.fit_batch``."""
    if k == 0:
        return np.array([])
    names = scen.arm_names
    n_by_arm = dict(zip(names, scen.n, strict=True))
    drop = dict(zip(names, scen.dropout_rate, strict=True))
    frames = []
    for r in range(k):
        ipd = model.sample_ipd(n_by_arm, rng, dropout=drop)
        m = ipd.measurements
        m = m[(m["PARAMCD"] == "HBA1C") & (m["AVISITN"] > 0)].dropna(subset=["AVAL"])
        frames.append(m.merge(ipd.subjects[["USUBJID", "ARM"]], on="USUBJID").assign(REP=r))
    df = pd.concat(frames, ignore_index=True)
    return _batch_pvalues(
        scen, df[["REP", "USUBJID", "ARM", "AVISITN", "BASE", "AVAL"]], k, alternative
    )


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------


def _summarise(counts: Mapping[str, tuple[int, int]], scen: Scenario) -> pd.DataFrame:
    rows = []

    def row(name: str, a: Any, rej: int, n: int) -> dict[str, Any]:
        p = rej / n if n else math.nan
        se = math.sqrt(p * (1 - p) / n) if n else math.nan
        label = _test_label(a.method) if a.endpoint == "composite" else a.method.upper()
        return {
            "analysis": name,
            "endpoint": a.endpoint,
            "method": label,
            "alpha": a.alpha,
            "replicates": n,
            "rejections": rej,
            "power": p,
            "mcse": se,
            "ci_low": max(0.0, p - 1.959963984540054 * se) if n else math.nan,
            "ci_high": min(1.0, p + 1.959963984540054 * se) if n else math.nan,
        }

    for a in scen.analyses:
        rej, n = counts.get(a.name, (0, 0))
        rows.append(row(a.name, a, rej, n))
        if scen.sequential is not None:
            used, _ = counts.get(f"{a.name}\x00n", (0, 0))
            rows[-1]["n_expected"] = used / n if n else math.nan
            looks = int(scen.sequential["k"])
            for j in range(1, looks + 1):
                r, m = counts.get(f"{a.name}\x00look {j}", (0, 0))
                rows.append(row(f"{a.name}: look {j}", a, r, m) | {"n_expected": math.nan})
    return pd.DataFrame(rows)


def _model_note(scen: Scenario) -> str:
    if scen.model_kind == "parametric":
        return "Patients drawn from the parametric model of the scenario (independent arms)."
    return (
        f"Patients drawn from the generative model fitted to {scen.model_kind} "
        "(trial_analysis.synthetic): parameters from published aggregates, some assumed."
    )


@dataclass(frozen=True)
class SimulationResult(Result):
    """Simulated power of each analysis of a scenario (see :func:`simulate`).

    ``power`` and ``mcse`` map analysis names to the Monte Carlo power and its standard error
    ``sqrt(p (1 - p) / replicates)``.
    """

    scenario: Scenario = field(repr=False)
    n_sims: int
    seed: int
    chunk_size: int
    table: pd.DataFrame = field(repr=False)
    title: ClassVar[str] = "Simulated power"

    @property
    def power(self) -> dict[str, float]:
        """Power of each analysis (group-sequential scenarios: rejection at any look; the
        table also has a row per look)."""
        return dict(zip(self.table["analysis"], self.table["power"], strict=True))

    @property
    def mcse(self) -> dict[str, float]:
        return dict(zip(self.table["analysis"], self.table["mcse"], strict=True))

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
        )
        return d

    @property
    def notes(self) -> tuple[str, ...]:
        s = self.scenario
        return (
            f"{s.name}: n = {s.n[0]} ({s.arm_names[0]}) vs {s.n[1]} ({s.arm_names[1]}), "
            f"dropout {s.dropout_mechanism} {s.dropout_rate[0]:g}/{s.dropout_rate[1]:g}, "
            f"missing composite as {s.binary_missing.replace('_', ' ')}.",
            _model_note(s),
            f"{self.n_sims} replicates, seed {self.seed}, chunks of {self.chunk_size}: "
            "mcse is the Monte Carlo standard error; the numbers do not depend on the number "
            "of processes or Dask workers.",
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
            ax.errorbar(xs, g["power"], yerr=1.96 * g["mcse"], marker="o", capsize=2, label=lab)
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


def _run_task(
    args: tuple[Scenario, int, int, int, int, int],
) -> tuple[int, dict[str, tuple[int, int]]]:
    scen, j, i, n_rep, seed, chunk_size = args
    return j, _run_chunk(scen, j, i, n_rep, seed, chunk_size)


def _execute(
    jobs: list[tuple[Scenario, int, int, int, int, int]],
    dask: Any,
    n_jobs: int,
    progress: bool | None,
    desc: str,
) -> list[tuple[int, dict[str, tuple[int, int]]]]:
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


def _add(total: dict[str, list[int]], part: Mapping[str, tuple[int, int]]) -> None:
    for k, (r, n) in part.items():
        t = total.setdefault(k, [0, 0])
        t[0] += r
        t[1] += n


def _check_common(n_sims: Any, chunk_size: Any, n_jobs: Any) -> tuple[int, int, int]:
    n_sims = check_count("n_sims", n_sims, minimum=1)
    chunk_size = check_count("chunk_size", chunk_size, minimum=1)
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else check_count("n_jobs", n_jobs, minimum=1)
    return n_sims, chunk_size, n_jobs


# Rough costs (2-core reference machine, docs/limits.md): a chunk holds a few float arrays of
# shape (trials, patients) per endpoint and visit; one simulated patient costs ~1.5e-7 s.
_ARRAYS_PER_PATIENT = 10
_SECONDS_PER_PATIENT = 1.5e-7
# mmrm.fit_batch: benchmarks/mmrm_batch.py, 15.6 ms per trial of 91 patients x 7 visits
_MMRM_SECONDS = 2.5e-5  # per patient-visit of an analysed replicate


def _check_cost(scens: Sequence[Scenario], n_sims: int, chunk_size: int, n_jobs: int) -> None:
    """Refuse (before any work) a simulation beyond the limits max_memory / max_seconds."""
    from ..binary._exact import check_grid_cost

    seconds = 0.0
    for s in scens:
        per_trial = s.n_total * (_ARRAYS_PER_PATIENT + 2 * len(s.visits)) * 8.0
        limits.check_cost(
            f"a simulation chunk of chunk_size = {min(chunk_size, n_sims)} trials of "
            f"{s.n_total} patients",
            parameter="chunk_size",
            memory=min(chunk_size, n_sims) * per_trial,
            advice=f"use a smaller chunk_size (default {DEFAULT_CHUNK})",
        )
        for a in s.analyses:
            if a.endpoint == "composite":  # p-values looked up in the grid of the arm sizes
                check_grid_cost(s.n[0], s.n[1], a.method)
            elif a.method == "mmrm":  # batched REML: ~16 ms per trial of 91 x 7 values
                seconds += min(n_sims, a.max_sims) * s.n_total * len(s.visits) * _MMRM_SECONDS
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
    chunk_size: int = DEFAULT_CHUNK,
    progress: bool | None = None,
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
    chunk_size : int
        Trials per chunk (part of what makes the numbers reproducible).
    progress : bool, optional
        Show a progress bar (default: on a terminal when there are 20 chunks or more).

    Returns
    -------
    SimulationResult
        ``.power`` and ``.mcse`` per analysis, ``to_frame()`` with Monte Carlo intervals.

    Notes
    -----
    Binary analyses: ``x_k = sum of responders`` per arm and replicate (missing counted as
    failures, or complete cases); the p-value is looked up in
    :func:`trial_analysis.binary.pvalue_grid` for the arm sizes. ANCOVA: batched OLS
    (:func:`ancova_batch`). The Monte Carlo standard error of a power ``p`` from ``B``
    replicates is ``sqrt(p (1 - p) / B)``.

    References
    ----------
    .. [1] Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical
       methods. Stat Med 2019;38:2074-102.

    Examples
    --------
    >>> from trial_analysis.power import simulate
    >>> scen = {
    ...     "arms": {"names": ["UC-MSC", "Placebo"], "n": [45, 44]},
    ...     "model": {"kind": "parametric", "arms": {"UC-MSC": {"responder": 0.2},
    ...                                              "Placebo": {"responder": 0.0455}}},
    ...     "analyses": [{"endpoint": "composite", "method": "fisher"}],
    ... }
    >>> r = simulate(scen, n_sims=20_000, seed=1)
    >>> abs(r.power["composite_fisher"] - 0.5248) < 4 * r.mcse["composite_fisher"]
    True
    """
    scen = _as_scenario(scenario)
    n_sims, chunk_size, n_jobs = _check_common(n_sims, chunk_size, n_jobs)
    seed_i = _as_seed(seed)
    _check_cost([scen], n_sims, chunk_size, n_jobs)
    scen.model()  # fail early (e.g. missing generative model) before starting workers
    jobs = [(scen, j, i, n, seed_i, chunk_size) for j, i, n in _tasks(n_sims, chunk_size, 0)]
    total: dict[str, list[int]] = {}
    for _, part in _execute(jobs, dask, n_jobs, progress, f"simulate {scen.name}"):
        _add(total, part)
    counts = {k: (v[0], v[1]) for k, v in total.items()}
    return SimulationResult(
        scenario=scen,
        n_sims=n_sims,
        seed=seed_i,
        chunk_size=chunk_size,
        table=_summarise(counts, scen),
    )


def simulate_grid(
    scenario: Scenario | str | Path | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    n_sims: int = 10_000,
    seed: int | np.random.Generator | np.random.SeedSequence = 0,
    dask: str | Any | None = None,
    *,
    n_jobs: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: bool | None = None,
) -> GridResult:
    """Simulate every combination of scenario overrides (n x effect x dropout x test ...).

    Parameters
    ----------
    scenario : Scenario, path or mapping
        The base scenario.
    grid : mapping of dotted key -> sequence of values
        E.g. ``{"arms.n": [[60, 60], [90, 90]], "model.arms.UC-MSC.responder": [0.15, 0.2],
        "dropout.rate": [0.0, 0.1], "analyses.0.method": ["fisher", "boschloo"]}``.
    n_sims, seed, dask, chunk_size, progress
        As in :func:`simulate`; scenario ``j`` (in the order of ``itertools.product``) uses
        the streams ``SeedSequence(seed, spawn_key=(j, i))``.
    n_jobs : int, optional
        Local processes; default one per CPU (grids run on local processes by default).

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
    scens = [base.with_overrides(dict(zip(keys, c, strict=True))) for c in combos]
    _check_cost(scens, n_sims, chunk_size, n_jobs)
    scens[0].model()
    jobs = [
        (s, j, i, n, seed_i, chunk_size)
        for j, s in enumerate(scens)
        for _, i, n in _tasks(n_sims, chunk_size, j)
    ]
    totals: list[dict[str, list[int]]] = [{} for _ in scens]
    for j, part in _execute(jobs, dask, n_jobs, progress, "simulate grid"):
        _add(totals[j], part)
    frames = []
    for j, (s, c) in enumerate(zip(scens, combos, strict=True)):
        t = _summarise({k: (v[0], v[1]) for k, v in totals[j].items()}, s)
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
