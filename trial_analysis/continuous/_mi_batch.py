"""Multiple-imputation ANCOVA of many replicate trials at once (for power by simulation).

:func:`mi_ancova_batch` gives, for every replicate of a long data frame, the numbers of
:func:`trial_analysis.missing.mi_analysis` on that replicate alone: imputation under MAR,
jump-to-reference or copy-reference (the MMRM imputation model, approximate Bayesian
bootstrap draws of its parameters, conditional normal draws of the missing visits), ANCOVA at
the last visit on baseline, Rubin's rules with the Barnard-Rubin df.

Seed rule: ``numpy.random.SeedSequence(seed).spawn(R)`` gives one child per replicate, the
replicates taken in order of first appearance in ``data``; replicate ``i`` uses
``numpy.random.default_rng(child_i)`` exactly as ``mi_analysis(..., seed=that generator)``
would, and with more than two arms the contrasts (non-reference arms in level order) draw
from that one generator in turn. A replicate's numbers therefore depend on ``seed`` and its
position only, not on the other replicates' data.

How: the random stream of each replicate is drawn first, in ``mi_analysis``'s order (per
imputation the bootstrap indices of each arm, ``rng.choice`` = ``h[rng.integers(0, len(h),
len(h))]``, then one standard-normal block per missingness pattern in key order); no fit
consumes random numbers, so the draws are identical. The bootstrap samples of a chunk of
replicates (replicate x contrast x imputation, ``CHUNK_UNITS`` at a time) are then fitted
together by the batched REML of ``mmrm._batch`` (each from its own moment start, cheap
Newton steps, the exact Hessian for the few it leaves short), the last visit of every
subject who misses it is drawn from its conditional normal law grouped by pattern, and the
ANCOVA and Rubin's rules are evaluated for all replicates with array algebra. A replicate
with anything unusual (a visit or arm without data, a bootstrap fit that does not converge
or gives a covariance ``mi_analysis`` would refuse and redraw) is handed to ``mi_analysis``
itself with a fresh generator from its own child seed.

With ``draws="monotone"`` (dropout only) no model is refitted: each replicate's visit
regressions are fitted once and every imputation draws its parameters exactly from their
posterior (``continuous/_monotone.py``, the same code as ``mi_analysis(draws="monotone")``;
random stream per replicate: chi-squares, coefficient normals, cell normals, contrast by
contrast); only the subjects with a missing visit are imputed, a chunk of replicates at once.

Why by hand: no library imputes by the approximate Bayesian bootstrap of an MMRM (R's rbmi,
which does, loops over samples in R); the batch reuses the package's own REML engine.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .. import limits
from .._validate import check_choice, check_conf_level, check_count
from ..errors import AnalysisError, ParameterError
from .mmrm._batch import (
    _estimable,
    _iterate,
    _make_cells,
    _Param,
    _start_sigma,
    contrast_matrix,
    design_arrays,
    fit_cells,
)
from .mmrm._covariance import make_structure
from .mmrm._engine import single_blas_thread

__all__ = ["mi_ancova_batch"]

_COLUMNS = [
    "replicate",
    "contrast",
    "estimate",
    "se",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "converged",
]


def mi_ancova_batch(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    *,
    replicate: str,
    baseline: str,
    method: str = "j2r",
    m: int = 20,
    reference: Any = None,
    seed: int | None = None,
    conf_level: float = 0.95,
    draws: str = "bootstrap",
) -> pd.DataFrame:
    """Multiple imputation and ANCOVA at the last visit for every replicate trial of ``data``.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per replicate, subject and visit (subjects without any observed
        outcome keep their rows, with NaN outcome); replicates told apart by ``replicate``.
        Not modified.
    outcome, subject, visit, arm, baseline : str
        Columns, as for :func:`trial_analysis.missing.mi_analysis`.
    replicate : str
        Column naming the replicate each row belongs to.
    method : {"mar", "j2r", "cr"}
        Imputation assumption (case-insensitive).
    m : int
        Imputations per replicate (>= 2).
    reference : arm level, optional
        The control arm; default the arm named like a control, else the first level (the
        rule of :func:`trial_analysis.mmrm.fit`).
    seed : int
        Seeds every replicate's stream (module docstring: ``SeedSequence(seed).spawn``).
    conf_level : float
        Level of the pooled t interval.
    draws : {"bootstrap", "monotone"}
        How each imputation draws the imputation model's parameters, as in
        :func:`trial_analysis.missing.impute`: ``"bootstrap"`` refits the MMRM on a
        bootstrap sample; ``"monotone"`` draws them exactly from the posterior of the
        sequential regressions (dropout only; about a hundred times faster).

    Returns
    -------
    DataFrame
        One row per replicate x contrast (``"<arm> - <reference>"``): ``replicate, contrast,
        estimate, se, df, p_value, ci_low, ci_high, converged``; a replicate whose imputation
        model cannot be fitted has NaN numbers and ``converged`` False. ``attrs`` holds
        ``n_replicates``, ``n_failed`` and ``n_single`` (replicates handed to
        ``mi_analysis``).

    Notes
    -----
    Each row equals ``mi_analysis(sub, ..., method=method.upper(), reference=reference,
    treatment=arm_level, at_visit=last_visit, m=m, seed=rng_i)`` on the replicate's rows
    ``sub`` with ``rng_i`` its generator, up to the tolerance of ``mi_analysis``'s own
    bootstrap fits (BFGS stopped at a gradient of 1e-4; the batch's Newton steps stop at
    the same gradient): measured 1e-6 relative on estimates, SEs and p-values, 3e-6 on df
    (``tests/test_mi_batch.py`` asserts 1e-5). The imputation model is the unstructured MMRM of ``mi_analysis``
    (``y ~ visit * arm + visit * baseline``), the analysis the ANCOVA at the last visit
    with complete-data df n - (arms + 1).

    Examples
    --------
    >>> out = mi_ancova_batch(sims, "y", "id", "week", "arm", replicate="rep",
    ...                       baseline="base", method="j2r", reference="Placebo",
    ...                       m=20, seed=1)  # doctest: +SKIP
    """
    from .missing import DRAWS, METHODS, mi_analysis
    from .mmrm import _check_columns, _codes, _levels, _reference

    meth = check_choice("method", method.upper() if isinstance(method, str) else method, METHODS)
    draws = check_choice("draws", draws, DRAWS)
    m = check_count("m", m, minimum=2)
    conf_level = check_conf_level(conf_level)
    _check_columns(
        data,
        (
            ("outcome", outcome),
            ("subject", subject),
            ("visit", visit),
            ("arm", arm),
            ("replicate", replicate),
            ("baseline", baseline),
        ),
    )
    arms = _levels(data[arm], sort=False)
    if len(arms) < 2:
        raise AnalysisError(f"the analysis compares arms: `{arm}` has only one level ({arms!r})")
    reference = _reference(arms, reference)
    visits = _levels(data.loc[data[outcome].notna(), visit], sort=True)
    if not visits:
        raise AnalysisError(f"no observed values of {outcome!r}: nothing to analyse")
    last = visits[-1]
    treatments = [a for a in arms if a != reference]
    if data[replicate].isna().any():
        raise ParameterError("replicate", "a column without missing values", replicate)
    labels = pd.unique(data[replicate])
    kids = _children(seed, len(labels))
    n_obs = int(data[outcome].notna().sum())
    limits.check_cost(
        f"multiple imputation (m = {m}) of {len(labels)} replicate trials with {n_obs} "
        "observed values",
        parameter="data",
        seconds=_SECONDS_PER_VALUE[draws] * n_obs * m * len(treatments),
        memory=_BYTES_PER_ROW * len(data),
        advice="analyse fewer replicates per call or lower m",
    )
    codes = _codes(data[replicate], labels)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    arm_cat = pd.Categorical(data[arm], categories=arms)
    ref_i = arms.index(reference)
    tr_idx = [arms.index(t) for t in treatments]
    res = np.full((len(labels), len(treatments), 6), np.nan)
    conv = np.zeros((len(labels), len(treatments)), bool)
    cols = (outcome, subject, visit, arm, baseline)
    done = _fast(
        data,
        cols,
        codes,
        len(labels),
        arms,
        ref_i,
        tr_idx,
        visits,
        meth,
        m,
        kids,
        conf_level,
        res,
        conv,
        draws,
    )

    def loop(i: int) -> None:
        rows = order[bounds[i] : bounds[i + 1]]
        sub = data.iloc[rows].copy()
        sub[arm] = arm_cat[rows]
        rng = np.random.default_rng(kids[i])
        for j, tr in enumerate(treatments):
            try:
                p = mi_analysis(
                    sub,
                    outcome,
                    subject,
                    visit,
                    arm,
                    baseline,
                    method=meth,
                    reference=reference,
                    treatment=tr,
                    at_visit=last,
                    m=m,
                    seed=rng,
                    conf_level=conf_level,
                    draws=draws,
                ).pooled
            except (AnalysisError, ParameterError) as exc:
                if isinstance(exc, ParameterError) and exc.parameter not in _DRAW_FAILURES:
                    raise
                continue
            res[i, j] = (p.estimate, p.se, p.df, p.p_value, p.ci_low, p.ci_high)
            conv[i, j] = True

    todo = np.flatnonzero(~done)
    for i in todo:
        loop(int(i))
    J = len(treatments)
    out = pd.DataFrame(
        {
            "replicate": np.repeat(np.asarray(labels, dtype=object), J),
            "contrast": np.tile(
                np.array([f"{t} - {reference}" for t in treatments], object), len(labels)
            ),
            **{c: res[:, :, k].ravel() for k, c in enumerate(_COLUMNS[2:8])},
            "converged": conv.ravel(),
        }
    )
    out["replicate"] = out["replicate"].infer_objects()
    out.attrs.update(
        n_replicates=len(labels),
        n_failed=int((~conv).any(axis=1).sum()),
        n_single=len(todo),
    )
    return out


# parameters whose ParameterError from mi_analysis means the replicate cannot be analysed
# (no data at the last visit; Rubin's rules on non-finite or zero variances)
_DRAW_FAILURES = ("at_visit", "estimates/variances", "variances")
# cost (benchmarks/simpower.py, 2 shared cores): 62 ms CPU per trial of 91 x 7 at m = 20,
# i.e. ~5e-6 s per observed value and imputation; a few arrays of the long frame in memory
_SECONDS_PER_VALUE = {"bootstrap": 5e-6, "monotone": 1e-7}
_BYTES_PER_ROW = 200.0
CHUNK_UNITS = 1024  # bootstrap fits (replicate x contrast x imputation) fitted together
# a bootstrap fit has converged when its largest gradient (of -REML in the parameters of
# the single fit) is below this: the tolerance of mi_analysis's BFGS (gtol 1e-4); Newton
# steps end well below it (1e-5 instead moves the results by < 1e-7 and costs 11 % more)
DRAW_GTOL = 1e-4
# monotone draws: cells (replicate x contrast x imputation x subject x visit) imputed at once
MONOTONE_CELLS = 4_000_000


def _children(seed: Any, n: int) -> list[np.random.SeedSequence]:
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise ParameterError("seed", "a non-negative int (imputation is random)", seed)
    return np.random.SeedSequence(int(seed)).spawn(n)


def replicate_generators(seed: Any, n_replicates: int) -> list[np.random.Generator]:
    """One generator per replicate: ``default_rng(SeedSequence(seed).spawn(n)[i])``."""
    return [np.random.default_rng(s) for s in _children(seed, n_replicates)]


# ====================================================================== batched path
def _subject_arrays(data, cols, codes, R, arms, visits, ref_i) -> SimpleNamespace | None:
    """Every replicate's subjects in ``mi_analysis``'s order (those with an observed outcome by
    first row, then the others), their arm, baseline, outcomes (N, T) and observed cells;
    ``odd`` marks replicates the batch leaves to the loop; None when a column is not
    numeric (the loop then raises)."""
    from .mmrm import _codes

    outcome, subject, visit, arm, baseline = cols
    for c in (outcome, baseline):
        s = data[c]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            return None
    A, T = len(arms), len(visits)
    yv = data[outcome].to_numpy(dtype=float)
    bv = data[baseline].to_numpy(dtype=float)
    sc, _ = pd.factorize(data[subject])
    ac = _codes(data[arm], arms)
    vc = _codes(data[visit], visits)
    rc = np.asarray(codes, dtype=np.int64)
    obs = ~np.isnan(yv)
    complete = (sc >= 0) & (ac >= 0) & ~np.isnan(bv)
    # replicates with anything unusual go to the loop (it decides, or raises)
    odd = np.zeros(R, bool)
    np.logical_or.at(odd, rc[obs], ~complete[obs] | (vc[obs] < 0) | ~np.isfinite(yv[obs]))
    ns = int(sc.max()) + 1 if len(sc) else 1
    key = rc * ns + np.where(sc >= 0, sc, 0)
    pos = np.arange(len(data))
    # subjects: first complete row gives arm and baseline (as mi_analysis's subject table)
    ck, cfirst = np.unique(key[complete], return_index=True)
    crow = pos[complete][cfirst]
    ok_, ofirst = np.unique(key[obs & complete], return_index=True)
    orow = pos[obs & complete][ofirst]
    subj = ck
    grp = np.ones(len(subj), np.int64)  # 0: has an observed outcome, 1: none
    data_pos = crow
    first = crow.copy()
    io = np.searchsorted(subj, ok_)
    grp[io] = 0
    first[io] = orow
    s_rep = (subj // ns).astype(np.int64)
    srt = np.lexsort((first, grp, s_rep))
    subj, s_rep = subj[srt], s_rep[srt]
    s_arm = ac[data_pos[srt]]
    s_base = bv[data_pos[srt]]
    N = len(subj)
    # the arm and baseline must be the subject's on every observed row (else fit raises)
    o_rows = np.flatnonzero(obs & complete)
    lookup = np.argsort(subj)
    o_sub = lookup[np.searchsorted(subj[lookup], key[o_rows])]
    bad_row = (ac[o_rows] != s_arm[o_sub]) | (bv[o_rows] != s_base[o_sub])
    np.logical_or.at(odd, rc[o_rows], bad_row)
    y = np.zeros((N, T))
    mask = np.zeros((N, T), bool)
    cell = o_sub * T + vc[o_rows]
    uc, cnt = np.unique(cell, return_counts=True)
    np.logical_or.at(odd, s_rep[uc[cnt > 1] // T], True)
    y.ravel()[cell] = yv[o_rows]
    mask.ravel()[cell] = True
    rstart = np.searchsorted(s_rep, np.arange(R + 1))
    has = mask.any(axis=1)
    # every visit observed and every arm with data in the replicate (else the loop decides)
    vis_seen = np.zeros((R, T), bool)
    np.logical_or.at(vis_seen, s_rep, mask)
    arm_seen = np.zeros((R, A), bool)
    np.logical_or.at(arm_seen, (s_rep[has], s_arm[has]), True)
    odd |= ~vis_seen.all(axis=1) | ~arm_seen.all(axis=1)
    # data in every arm at every visit and enough subjects per visit (fit's own checks)
    odd |= ~_estimable(s_rep[has], mask[has], s_arm[has], A, R, True)
    ia = np.flatnonzero(np.arange(A) != ref_i)  # non-reference arms, in level order
    Xa = np.column_stack([np.ones(N)] + [(s_arm == a).astype(float) for a in ia] + [s_base])
    return SimpleNamespace(
        odd=odd,
        s_rep=s_rep,
        s_arm=s_arm,
        s_base=s_base,
        y=y,
        mask=mask,
        rstart=rstart,
        has=has,
        N=N,
        ia=ia,
        Xa=Xa,
    )


def _fast(
    data, cols, codes, R, arms, ref_i, tr_idx, visits, meth, m, kids, conf_level, res, conv, draws
) -> np.ndarray:
    """Fill ``res``/``conv`` for the replicates the batch can do exactly as ``mi_analysis``;
    return which ones (the others go to the loop, which also raises on bad input)."""
    sv = _subject_arrays(data, cols, codes, R, arms, visits, ref_i)
    if sv is None:
        return np.zeros(R, bool)
    if draws == "monotone":
        return _fast_monotone(sv, R, len(arms), ref_i, tr_idx, meth, m, kids, conf_level, res, conv)
    done = np.zeros(R, bool)
    odd, s_rep, s_arm, s_base = sv.odd, sv.s_rep, sv.s_arm, sv.s_base
    y, mask, rstart, has, N = sv.y, sv.mask, sv.rstart, sv.has, sv.N
    A, T, J = len(arms), len(visits), len(tr_idx)
    z = design_arrays(s_arm, s_base, A)
    q = z.shape[1]
    zref = z.copy()
    zref[:, 1:A] = 0.0
    if ref_i > 0:
        zref[:, ref_i] = 1.0
    Lc, _, _ = contrast_matrix(list(range(T)), list(range(A)), ref_i, q)
    st = make_structure("unstructured", T)
    par = _Param(st)
    with single_blas_thread():
        full = fit_cells(
            s_rep[has], y[has], mask[has], z[has], R, "unstructured", "satterthwaite", Lc
        )
    Sf = full.sigma
    with np.errstate(invalid="ignore"):
        wS = np.linalg.eigvalsh(np.where(np.isfinite(Sf), Sf, 0.0))
        sing = ~(wS[:, 0] > 1e-10 * np.nanmax(np.diagonal(Sf, axis1=1, axis2=2), axis=1))
    good = ~odd & full.ok & ~sing
    # per subject: missingness key, position of its normals in its replicate's stream
    bits = mask.astype(np.int64) @ (np.int64(1) << np.arange(T, dtype=np.int64))
    nu = T - mask.sum(axis=1)
    by_key = np.lexsort((np.arange(N), bits, s_rep))
    cum = np.zeros(N + 1, np.int64)
    cum[1:] = np.cumsum(nu[by_key])
    off = np.empty(N, np.int64)
    off[by_key] = cum[:-1] - cum[rstart[s_rep[by_key]]]
    n_norm = cum[rstart[1:]] - cum[rstart[:-1]]
    ia = sv.ia
    sv.z, sv.zref, sv.bits, sv.off, sv.n_norm = z, zref, bits, off, n_norm
    jm = J * m
    reps = np.flatnonzero(good)
    per = max(1, CHUNK_UNITS // jm)
    for c0 in range(0, len(reps), per):
        chunk = reps[c0 : c0 + per]
        with single_blas_thread(), np.errstate(all="ignore"):
            _chunk(chunk, sv, kids, par, meth, m, tr_idx, ia, conf_level, res, conv, done)
    return done


def _fine(par, theta, ev) -> np.ndarray:
    """Bootstrap fits that converged (largest gradient below ``DRAW_GTOL``) with a
    covariance ``mi_analysis`` accepts (smallest eigenvalue above 1e-10 of the largest
    variance; otherwise it would draw another bootstrap sample)."""
    g = 0.5 * np.einsum("rkab,rab->rk", par.jacobian(theta), ev.G)
    S = par.sigma(theta)
    wS = np.linalg.eigvalsh(np.where(np.isfinite(S), S, 0.0))
    return (
        ~ev.bad
        & np.isfinite(ev.f)
        & (np.max(np.abs(g), axis=1) <= DRAW_GTOL)
        & (wS[:, 0] > 1e-10 * np.max(np.diagonal(S, axis1=1, axis2=2), axis=1))
    )


def _chunk(chunk, sv, kids, par, meth, m, tr_idx, ia, conf_level, res, conv, done) -> None:
    """Impute and analyse the replicates ``chunk`` (subject arrays in ``sv``)."""
    rstart, has, s_arm, mask, y = sv.rstart, sv.has, sv.s_arm, sv.mask, sv.y
    z, zref, bits, off, n_norm = sv.z, sv.zref, sv.bits, sv.off, sv.n_norm

    T, q = mask.shape[1], z.shape[1]
    J = len(tr_idx)
    jm = J * m
    nc = len(chunk)
    U = nc * jm  # units: (replicate of the chunk, contrast, imputation)
    # --- the random stream of each replicate, in mi_analysis's order
    boot_rows, boot_unit, normals, nbase = [], [], [], np.zeros(U + 1, np.int64)
    u = 0
    for r in chunk:
        rng = np.random.default_rng(kids[r])
        a0 = rstart[r]
        sa = s_arm[a0 : rstart[r + 1]]
        hv = has[a0 : rstart[r + 1]]
        have = [np.flatnonzero((sa == a) & hv) for a in np.unique(sa)]
        for _j in range(J):
            for _k in range(m):
                for h in have:
                    boot_rows.append(a0 + h[rng.integers(0, len(h), len(h))])
                    boot_unit.append(np.full(len(h), u))
                normals.append(rng.standard_normal(int(n_norm[r])))
                nbase[u + 1] = nbase[u] + n_norm[r]
                u += 1
    rows = np.concatenate(boot_rows)
    unit = np.concatenate(boot_unit)
    zn = np.concatenate(normals) if normals else np.zeros(0)
    # --- REML fit of every bootstrap sample, from its replicate's full-data estimate
    cells = _make_cells(unit, y[rows], mask[rows], z[rows], U)
    # each sample's own moment start (as fit_batch): from the full-data estimate Newton
    # needs more step halvings (measured 1.9 s against 2.3 s for 640 draws)
    th0 = par.start(_start_sigma(cells)[0])
    theta, ev, _ = _iterate(cells, par, th0, np.zeros(U, bool), 0, 10**6, DRAW_GTOL)
    fine = _fine(par, theta, ev)
    if not fine.all():  # the few the cheap Hessian leaves short: on with the exact one
        bad = np.flatnonzero(~fine)
        th_b, ev_b, _ = _iterate(
            cells.take(bad), par, theta[bad], np.zeros(len(bad), bool), 0, 0, DRAW_GTOL
        )
        theta[bad] = th_b
        ev.put(bad, ev_b)
        fine[bad] = _fine(par, th_b, ev_b)
    S = par.sigma(theta)
    B = ev.beta.reshape(U, T, q)
    # --- the last visit of every subject in every completed data set
    sub = np.concatenate([np.arange(rstart[r], rstart[r + 1]) for r in chunk])
    s_ci = np.repeat(np.arange(nc), rstart[chunk + 1] - rstart[chunk])
    Y = np.repeat(y[sub, T - 1][:, None], jm, axis=1)  # (subjects, J*m)
    need = ~mask[sub, T - 1]
    for key in np.unique(bits[sub[need]]):
        loc = np.flatnonzero(need & (bits[sub] == key))
        s_ = sub[loc]
        o = np.flatnonzero(mask[s_[0]])
        uu = np.flatnonzero(~mask[s_[0]])
        # units of these subjects: (len(loc), J*m)
        un = s_ci[loc][:, None] * jm + np.arange(jm)[None, :]
        uq, inv = np.unique(un, return_inverse=True)
        Su = S[uq]
        Suu = Su[:, uu][:, :, uu]
        if len(o):
            Soo = Su[:, o][:, :, o]
            Sou = Su[:, o][:, :, uu]
            Ai = np.linalg.solve(Soo, Sou)  # S_oo^-1 S_ou
            cS = Suu - np.swapaxes(Sou, 1, 2) @ Ai
            a_last = Ai[:, :, -1]
        else:
            cS = Suu
        Lrow = np.linalg.cholesky(0.5 * (cS + np.swapaxes(cS, 1, 2)))[:, -1, :]
        inv = inv.reshape(un.shape)
        Bs = B[uq][inv]  # (n, jm, T, q)
        own = np.einsum("njtq,nq->njt", Bs, z[s_])
        ref = np.einsum("njtq,nq->njt", Bs, zref[s_])
        j_of = np.repeat(np.arange(J), m)
        is_tr = s_arm[s_][:, None] == np.asarray(tr_idx)[j_of][None, :]  # (n, jm)
        if meth == "MAR":
            mu_o, mu_l = own[..., o], own[..., T - 1]
        elif meth == "J2R":  # observed visits precede dropout: own arm; the last: reference
            mu_o, mu_l = own[..., o], np.where(is_tr, ref[..., T - 1], own[..., T - 1])
        else:  # CR
            pick = np.where(is_tr[..., None], ref, own)
            mu_o, mu_l = pick[..., o], pick[..., T - 1]
        val = mu_l.copy()
        if len(o):
            val += np.einsum("njo,njo->nj", y[s_][:, None, o] - mu_o, a_last[inv])
        idx = nbase[un][..., None] + off[s_][:, None, None] + np.arange(len(uu))
        val += np.einsum("nju,nju->nj", zn[idx], Lrow[inv])
        Y[loc] = val
    _store(
        chunk,
        sv,
        Y,
        ia,
        tr_idx,
        m,
        conf_level,
        fine.reshape(nc, J, m).all(axis=(1, 2)),
        res,
        conv,
        done,
    )


def _store(chunk, sv, Y, ia, tr_idx, m, conf_level, fit_ok, res, conv, done) -> None:
    """ANCOVA at the last visit of every completed data set of ``chunk`` and Rubin's rules.

    ``Y`` (subjects of the chunk in order, J*m): the completed last visit, contrast-major
    columns; replicates with ``fit_ok`` False are left to the loop."""
    from scipy import stats

    rstart = sv.rstart
    J = len(tr_idx)
    nc = len(chunk)
    s_ci = np.repeat(np.arange(nc), rstart[chunk + 1] - rstart[chunk])
    sub = np.concatenate([np.arange(rstart[r], rstart[r + 1]) for r in chunk])
    X = sv.Xa[sub]
    cstart = np.r_[0, np.cumsum(rstart[chunk + 1] - rstart[chunk])[:-1]]
    XtX = np.add.reduceat(X[:, :, None] * X[:, None, :], cstart, axis=0)
    Xi = np.linalg.inv(XtX)
    XtY = np.add.reduceat(X[:, :, None] * Y[:, None, :], cstart, axis=0)  # (nc, qa, jm)
    Bh = Xi @ XtY
    Rz = Y - np.einsum("nq,nqj->nj", X, Bh[s_ci])
    nsub = rstart[chunk + 1] - rstart[chunk]
    dfres = nsub - X.shape[1]
    s2 = np.add.reduceat(Rz**2, cstart, axis=0) / dfres[:, None]
    col = 1 + np.searchsorted(ia, np.asarray(tr_idx))  # coefficient of each treatment
    Bh = Bh.reshape(nc, -1, J, m)
    s2 = s2.reshape(nc, J, m)
    est = Bh[:, col, np.arange(J), :]  # (nc, J, m)
    var = s2 * Xi[:, col, col][:, :, None]
    # --- Rubin's rules with the Barnard-Rubin df (continuous.missing.rubin, vectorised)
    Q, Uv = est, var
    qbar, ubar, b = Q.mean(axis=2), Uv.mean(axis=2), Q.var(axis=2, ddof=1)
    t = ubar + (1 + 1 / m) * b
    lam = np.maximum((1 + 1 / m) * b / t, 1e-4)
    df_old = (m - 1) / lam**2
    dfcom = dfres[:, None].astype(float)
    df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    df = df_old * df_obs / (df_old + df_obs)
    se = np.sqrt(t)
    qq = stats.t.ppf(0.5 + conf_level / 2, df)
    p = 2 * stats.t.sf(np.abs(qbar / se), df)
    valid = (
        np.all(np.isfinite(Q), axis=2) & np.all(np.isfinite(Uv), axis=2) & np.all(Uv > 0, axis=2)
    )
    for ci, r in enumerate(chunk):
        if not fit_ok[ci]:
            continue  # a draw the batch could not fit: the loop redoes the replicate
        done[r] = True
        for j in range(J):
            if valid[ci, j]:
                res[r, j] = (
                    qbar[ci, j],
                    se[ci, j],
                    df[ci, j],
                    p[ci, j],
                    qbar[ci, j] - qq[ci, j] * se[ci, j],
                    qbar[ci, j] + qq[ci, j] * se[ci, j],
                )
                conv[r, j] = True


# ====================================================================== monotone draws
def _fast_monotone(sv, R, A, ref_i, tr_idx, meth, m, kids, conf_level, res, conv) -> np.ndarray:
    """As :func:`_fast` with the exact posterior draws of :mod:`._monotone` (no refits)."""
    from . import _monotone

    done = np.zeros(R, bool)
    odd = sv.odd.copy()
    np.logical_or.at(odd, sv.s_rep, _monotone.monotone_violation(sv.mask))
    reps = np.flatnonzero(~odd)
    rstart, T, J = sv.rstart, sv.mask.shape[1], len(tr_idx)
    size = rstart[1:] - rstart[:-1]
    per = max(1, int(MONOTONE_CELLS // max(1, m * J * T * (int(size.max()) if R else 1))))
    for c0 in range(0, len(reps), per):
        chunk = reps[c0 : c0 + per]
        with single_blas_thread(), np.errstate(all="ignore"):
            Y = _monotone_chunk(chunk, sv, A, ref_i, tr_idx, meth, m, kids, size)
        _store(chunk, sv, Y[0], sv.ia, tr_idx, m, conf_level, Y[1], res, conv, done)
    return done


def _monotone_chunk(chunk, sv, A, ref_i, tr_idx, meth, m, kids, size):
    """Completed last visit (subjects of ``chunk``, J*m) and which replicates could be fitted."""
    from . import _monotone

    T = sv.mask.shape[1]
    C, nmax = len(chunk), int(size[chunk].max())
    loc = np.arange(nmax)
    present = loc[None, :] < size[chunk][:, None]
    gi = np.where(present, sv.rstart[chunk][:, None] + loc[None, :], 0)
    y = sv.y[gi]
    mask = sv.mask[gi] & present[..., None]
    s_arm, base = sv.s_arm[gi], sv.s_base[gi]
    fits, ok = _monotone.fit(y, mask, present, s_arm, base, A)
    df = np.stack([f[3] for f in fits], axis=1)
    p_max = A + 1 + T - 1
    J = len(tr_idx)
    # only the subjects with a missing visit are imputed: their rows, padded per chunk
    need = present & ~mask.all(axis=2)
    n_need = need.sum(axis=1)
    w = max(1, int(n_need.max()))
    order = np.argsort(~need, axis=1, kind="stable")[:, :w]  # the needing rows first, in order
    real = np.arange(w)[None, :] < n_need[:, None]
    y_i = np.take_along_axis(y, order[..., None], axis=1)
    mask_i = np.take_along_axis(mask, order[..., None], axis=1) | ~real[..., None]
    arm_i = np.take_along_axis(s_arm, order, axis=1)
    base_i = np.take_along_axis(base, order, axis=1)
    g = np.empty((J, C, m, T))
    z = np.empty((J, C, m, T, p_max))
    e = np.zeros((J, C, m, w * T))
    for ci, r in enumerate(chunk):
        rng = np.random.default_rng(kids[r])
        cells = np.flatnonzero(~mask_i[ci].ravel())  # = the replicate's cells, in order
        for j in range(J):  # the contrasts draw from the one generator in turn
            g[j, ci], z[j, ci], e[j, ci][:, cells] = _monotone.draw(
                rng, df[ci], p_max, len(cells), m
            )
    e = e.reshape(J, C, m, w, T)
    Y = np.repeat(y[..., T - 1][:, :, None], J * m, axis=2)  # (C, nmax, J*m)
    rows_c, rows_i = np.nonzero(real)
    for j, tr in enumerate(tr_idx):
        v = _monotone.impute(
            fits, A, ref_i, tr, meth, g[j], z[j], y_i, mask_i, arm_i, base_i, e[j]
        )[..., T - 1]  # (C, m, w)
        Y[rows_c, order[rows_c, rows_i], j * m : (j + 1) * m] = v[rows_c, :, rows_i]
    return Y[present], ok
