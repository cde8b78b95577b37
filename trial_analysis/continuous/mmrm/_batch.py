"""Batched REML fits of many replicate trials (private helper of :mod:`trial_analysis.mmrm`).

The model of :func:`trial_analysis.mmrm.fit` (``y ~ visit * arm [+ visit * base]``) has the
same regressors at every visit, so its design is the cell-means design X_s = I_T (x) z_s' with
z_s = (1, arm dummies, [baseline]) -- a full-rank reparametrisation with the same column
space, the same REML likelihood (the transform is unimodular) and the same contrasts, SEs and
degrees of freedom. With it, subject s contributes to X'V^-1X the Kronecker product
V_s^-1 (x) z_s z_s', and every replicate reduces to, per missingness pattern ("cell"),
n, sum z z' (q x q), sum y z' (T x q) and sum y y' (T x T): a few hundred numbers whatever the
number of subjects (the single fit of ``_engine`` keeps the general T^2 p^2 statistics).

All replicates of a block are evaluated at once with stacked numpy linear algebra (batched
Cholesky factorisations and inverses of T x T matrices); the cells of a replicate are padded
to the block's largest number of patterns (empty slots add nothing), so that every sum over a
replicate's patterns -- X'V^-1X, the T^4 tensor of the Hessian, the fixed-effect derivatives
M_k -- is one batched matrix product over the cell axis (BLAS) rather than a segment sum of
per-pattern tensors; blocks are formed of replicates with similar pattern counts. The
gradient term of each pattern and the REML log-likelihood come from the formulas of
``_engine`` (:func:`pattern_sigma_gradient`, :func:`reml_loglik`, :func:`satterthwaite_df`,
:func:`kenward_roger_df`). Unobserved visits are handled by padding: V is the pattern's block
of Sigma with 1 on the diagonal of the missing visits, and V^-1 is masked back. For the
unstructured covariance dSigma/dtheta_k has rank 2 (Sigma = L L'), which gives M_k from one
product over the cells for all k, and d2Sigma/dtheta2 . G in closed form.

Optimiser: Newton steps in the same parametrisation as the single fit (``_covariance``) with
an analytic Hessian of -REML (Sigma-space second derivatives chained through dSigma/dtheta),
the term tr(Phi M_k Phi M_l) left out for the first ``EXACT_FROM`` steps (it is small and
positive) and put in for the last steps and for Satterthwaite; the full step is evaluated
first (with the gradient: it is accepted almost always), step halving on the replicates that
refuse it keeps every step downhill and refuses a numerically singular Sigma; an indefinite
Hessian is shifted (Levenberg-Marquardt); replicates that have converged leave the block
(the rest go on as a smaller block). Profiled (benchmarks/simpower.py, 91 x 7): about half
of the time is the exact Hessian (twice per replicate: one Newton step and the final point),
the rest the evaluations and cheap Hessians of ~4 Newton steps. A
replicate has converged when the gradient is below 1e-8 (relative) or, on ill-conditioned
surfaces (correlations near 1) where rounding keeps the gradient above that, when the Newton
step at a positive definite exact Hessian is below 1e-5 in theta. For the
unstructured covariance the dSigma/dtheta chain is exact at the optimum (the gradient in Sigma
vanishes there); for structured covariances the second derivatives of Sigma(theta) (central
differences of the complex-step Jacobian, replicate by replicate) are added.

Why by hand: no library fits thousands of small REML models with a structured residual
covariance in one call (statsmodels, lme4 and mmrm fit one model at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...errors import AnalysisError, DataValidationError, Problem
from ._covariance import Structure, make_structure
from ._engine import (
    Engine,
    kenward_roger,
    kenward_roger_df,
    pattern_sigma_gradient,
    reml_loglik,
    satterthwaite_df,
)

BLOCK = 512  # replicates evaluated together (memory ~ 60 MB for 7 visits)
MAXITER = 60
EXACT_FROM = 3  # Newton iteration from which the exact Hessian is used
STEP_TOL = 1e-5  # a Newton step this small (in theta) is convergence


# ====================================================================== cells
@dataclass
class _Cells:
    """Sufficient statistics of one block of replicates, padded to ``K`` cells (missingness
    patterns) per replicate: axis 0 the replicate, axis 1 its cell slot. A padding slot has
    ``n = 0``, all-zero statistics and a full mask; it adds nothing to any sum.

    The padding turns every sum over a replicate's cells into a batched matrix product over
    axis 1 (BLAS), instead of segment sums over a ragged list of cells."""

    m: np.ndarray  # (R, K, T) float 0/1 mask of the pattern
    n: np.ndarray  # (R, K) subjects
    Z: np.ndarray  # (R, K, q, q)
    YZ: np.ndarray  # (R, K, T, q)
    YY: np.ndarray  # (R, K, T, T)
    n_obs: np.ndarray  # (R,)
    has: np.ndarray  # (R,) bool: at least one cell

    def __post_init__(self) -> None:
        self.R, self.K, self.T = self.m.shape
        self.q = self.Z.shape[-1]
        self.mm = self.m[..., :, None] * self.m[..., None, :]
        self.pad = np.eye(self.T) * (1.0 - self.m)[..., None, :]
        self.real = (self.n > 0).astype(float)[..., None, None]
        self.Zf = self.Z.reshape(self.R, self.K, self.q * self.q)

    def take(self, idx: np.ndarray) -> _Cells:
        """The cells of replicates ``idx`` (a new block)."""
        k = max(1, int((self.n[idx] > 0).sum(axis=1).max())) if len(idx) else 1
        return _Cells(
            self.m[idx, :k],
            self.n[idx, :k],
            self.Z[idx, :k],
            self.YZ[idx, :k],
            self.YY[idx, :k],
            self.n_obs[idx],
            self.has[idx],
        )


def _cell_keys(rep: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(replicate, pattern) key of every subject with at least one observed visit (-1 else)."""
    T = mask.shape[1]
    bits = mask.astype(np.int64) @ (np.int64(1) << np.arange(T, dtype=np.int64))
    return np.where(bits > 0, rep.astype(np.int64) * (np.int64(1) << T) + bits, -1)


def _make_cells(rep: np.ndarray, y: np.ndarray, mask: np.ndarray, z: np.ndarray, R: int) -> _Cells:
    T, q = mask.shape[1], z.shape[1]
    key = _cell_keys(rep, mask)
    keep = key >= 0
    order = np.argsort(key[keep], kind="stable")
    ks = key[keep][order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else np.array([], int)
    yk = np.where(mask[keep], y[keep], 0.0)[order]
    zk = z[keep][order]
    uk = ks[starts]
    crep = (uk >> T).astype(int)
    cbits = uk & ((np.int64(1) << T) - 1)
    first = np.searchsorted(crep, crep)  # cells are sorted by replicate
    slot = np.arange(len(crep)) - first
    K = int(slot.max()) + 1 if len(slot) else 1
    m = np.ones((R, K, T))
    m[crep, slot] = ((cbits[:, None] >> np.arange(T)) & 1).astype(float)
    n = np.zeros((R, K))
    n[crep, slot] = np.diff(np.r_[starts, len(ks)])

    def red(a: np.ndarray, shape: tuple) -> np.ndarray:
        out = np.zeros((R, K, *shape))
        if len(ks):
            out[crep, slot] = np.add.reduceat(a, starts, axis=0)
        return out

    Z = red(zk[:, :, None] * zk[:, None, :], (q, q))
    YZ = red(yk[:, :, None] * zk[:, None, :], (T, q))
    YY = red(yk[:, :, None] * yk[:, None, :], (T, T))
    n_obs = np.sum(n * m.sum(axis=2), axis=1)
    has = n.sum(axis=1) > 0
    return _Cells(m, n, Z, YZ, YY, n_obs, has)


def _safe_cholesky(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched Cholesky; matrices that are not positive definite are replaced by I and
    flagged (numpy raises for the whole stack when one fails: then the factorisation is
    redone column by column, vectorised across the stack, flagging a non-positive pivot)."""
    bad = ~np.all(np.isfinite(A), axis=(-2, -1))
    if bad.any():
        A = A.copy()
        A[bad] = np.eye(A.shape[-1])
    try:
        return np.linalg.cholesky(A), bad
    except np.linalg.LinAlgError:
        pass
    n = A.shape[-1]
    Lc = np.zeros_like(A)
    for j in range(n):
        row = Lc[..., j, :j]
        d = A[..., j, j] - np.einsum("...k,...k->...", row, row)
        good = d > 0
        bad = bad | ~good
        piv = np.sqrt(np.where(good, d, 1.0))
        Lc[..., j, j] = piv
        if j + 1 < n:
            low = np.einsum("...ik,...k->...i", Lc[..., j + 1 :, :j], row)
            Lc[..., j + 1 :, j] = (A[..., j + 1 :, j] - low) / piv[..., None]
    Lc[bad] = np.eye(n)
    return Lc, bad


def _chol_inv(Lc: np.ndarray) -> np.ndarray:
    """Inverse of L L' from its (batched) Cholesky factor."""
    eye = np.broadcast_to(np.eye(Lc.shape[-1]), Lc.shape)
    Li = np.linalg.solve(Lc, eye)
    out = np.swapaxes(Li, -1, -2) @ Li
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def _csum(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """sum over cells of the outer products: (R, K, a) x (R, K, b) -> (R, a, b)."""
    return np.swapaxes(A, 1, 2) @ B


# ====================================================================== evaluation
@dataclass
class _Eval:
    f: np.ndarray  # (R,) -REML loglik (inf where invalid)
    beta: np.ndarray  # (R, p) cell-means coefficients, visit-major (t, i)
    phi: np.ndarray  # (R, p, p)
    Vi: np.ndarray  # (R, K, T, T) masked V^-1 per cell (0 in padding slots)
    bad: np.ndarray  # (R,)
    G: np.ndarray | None = None  # (R, T, T)
    W: np.ndarray | None = None  # (R, K, T, T) sum_s X_s Phi X_s'
    RR: np.ndarray | None = None  # (R, K, T, T) sum_s r_s r_s'
    RZ: np.ndarray | None = None  # (R, K, T, q) sum_s r_s z_s'

    def put(self, idx: np.ndarray, other: _Eval, src: np.ndarray | None = None) -> None:
        """Overwrite replicates ``idx`` with the replicates ``src`` of ``other`` (default
        all of them: ``other`` evaluated on ``cells.take(idx)``, which may have fewer
        cell slots)."""
        sel = slice(None) if src is None else src
        for name in ("f", "beta", "phi", "bad", "G"):
            getattr(self, name)[idx] = getattr(other, name)[sel]
        for name in ("Vi", "W", "RR", "RZ"):
            a, b = getattr(self, name), getattr(other, name)[sel]
            a[idx] = 0.0
            a[idx, : b.shape[1]] = b


def _evaluate(cells: _Cells, S: np.ndarray, gradient: bool) -> _Eval:
    R, K, T, q = cells.R, cells.K, cells.T, cells.q
    p = T * q
    V = S[:, None] * cells.mm + cells.pad
    Lc, badc = _safe_cholesky(V)
    logd = 2.0 * np.sum(np.log(np.diagonal(Lc, axis1=2, axis2=3)), axis=2)
    Vi = _chol_inv(Lc) * cells.mm * cells.real
    Vf = Vi.reshape(R, K, T * T)
    xtvx = _csum(Vf, cells.Zf).reshape(R, T, T, q, q).transpose(0, 1, 3, 2, 4).reshape(R, p, p)
    xtvx = 0.5 * (xtvx + np.swapaxes(xtvx, 1, 2))
    xtvy = (Vi @ cells.YZ).sum(axis=1).reshape(R, p)
    yvy = np.einsum("rkab,rkab->r", Vi, cells.YY)
    ldv = np.sum(cells.n * logd, axis=1)
    bad = np.any(badc & (cells.n > 0), axis=1) | ~cells.has
    Lx, badx = _safe_cholesky(xtvx)
    bad = bad | badx
    ldx = 2.0 * np.sum(np.log(np.diagonal(Lx, axis1=1, axis2=2)), axis=1)
    phi = _chol_inv(Lx)
    beta = (phi @ xtvy[..., None])[..., 0]
    quad = yvy - np.einsum("ra,ra->r", beta, xtvy)
    f = -reml_loglik(cells.n_obs, p, ldv, ldx, quad)
    bad = bad | ~np.isfinite(f)
    f = np.where(bad, np.inf, f)
    ev = _Eval(f, beta, phi, Vi, bad)
    if gradient:
        B = beta.reshape(R, 1, T, q)
        Pt = phi.reshape(R, T, q, T, q).transpose(0, 1, 3, 2, 4).reshape(R, T * T, q * q)
        W = np.swapaxes(Pt @ np.swapaxes(cells.Zf, 1, 2), 1, 2).reshape(R, K, T, T) * cells.mm
        F = cells.YZ @ np.swapaxes(B, 2, 3)
        BZ = B @ cells.Z
        RR = (cells.YY - F - np.swapaxes(F, 2, 3) + BZ @ np.swapaxes(B, 2, 3)) * cells.mm
        ev.G = pattern_sigma_gradient(cells.n, Vi, W, RR).sum(axis=1)
        ev.W, ev.RR = W, RR
        ev.RZ = (cells.YZ - BZ) * cells.m[..., None]
    return ev


# ====================================================================== parametrisation
class _Param:
    """theta -> Sigma and dSigma/dtheta for a stack of replicates (the structures of
    ``_covariance``; the unstructured one vectorised, others replicate by replicate)."""

    def __init__(self, st: Structure):
        self.st = st
        T = st.n_visits
        self.rows, self.cols = np.tril_indices(T)
        self.off = self.rows != self.cols
        self.un = st.name == "unstructured"
        k, l_ = np.nonzero(self.cols[:, None] == self.cols[None, :])
        self._same_col = (k, l_)

    def _chol(self, th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        T = self.st.n_visits
        with np.errstate(over="ignore"):
            vals = np.where(self.off, th, np.exp(th))
        Lm = np.zeros((len(th), T, T))
        Lm[:, self.rows, self.cols] = vals
        return Lm, vals

    def sigma(self, th: np.ndarray) -> np.ndarray:
        if self.un:
            Lm, _ = self._chol(th)
            return Lm @ np.swapaxes(Lm, 1, 2)
        return np.stack([self.st.sigma(t) for t in th])

    def jacobian(self, th: np.ndarray) -> np.ndarray:
        if not self.un:
            return np.stack([self.st.jacobian(t) for t in th])
        Lm, vals = self._chol(th)
        R, n, T = len(th), len(self.rows), self.st.n_visits
        J = np.zeros((R, n, T, T))
        J[:, np.arange(n), self.rows, :] = np.swapaxes(Lm[:, :, self.cols], 1, 2)
        J = J + np.swapaxes(J, 2, 3)
        return J * np.where(self.off, 1.0, vals)[:, :, None, None]

    def second_dot(self, th: np.ndarray, G: np.ndarray, J: np.ndarray) -> np.ndarray:
        """sum_ab d2Sigma_ab/dtheta_k dtheta_l G_ab (R, n, n), for symmetric G.

        Unstructured (Sigma = L L', L linear in its off-diagonal entries and exp of the
        diagonal parameters): dL_k = v_k e_{r_k} e_{c_k}', so the product term is
        2 v_k v_l [c_k = c_l] G[r_k, r_l] and a diagonal parameter adds sum(J_k G) at k = l.
        Other structures: central differences of the Jacobian."""
        R, n = th.shape
        if self.un:
            _, vals = self._chol(th)
            v = np.where(self.off, 1.0, vals)
            k, l_ = self._same_col
            out = np.zeros((R, n, n))
            out[:, k, l_] = 2.0 * v[:, k] * v[:, l_] * G[:, self.rows[k], self.rows[l_]]
            d = np.flatnonzero(~self.off)
            out[:, d, d] += np.einsum("rkab,rab->rk", J[:, d], G)
            return out
        out = np.zeros((R, n, n))
        for l_ in range(n):
            h = 1e-5 * np.maximum(1.0, np.abs(th[:, l_]))
            up, dn = th.copy(), th.copy()
            up[:, l_] += h
            dn[:, l_] -= h
            dJ = (self.jacobian(up) - self.jacobian(dn)) / (2 * h)[:, None, None, None]
            out[:, :, l_] = np.einsum("rkab,rab->rk", dJ, G)
        return 0.5 * (out + np.swapaxes(out, 1, 2))

    def rank2(self, th: np.ndarray) -> tuple | None:
        """(L, rows, cols, v) of the rank-2 form of dSigma_k (unstructured only)."""
        if not self.un:
            return None
        Lm, vals = self._chol(th)
        return Lm, self.rows, self.cols, np.where(self.off, 1.0, vals)

    def start(self, S0: np.ndarray) -> np.ndarray:
        if self.un:
            Lm = np.linalg.cholesky(S0)
            v = Lm[:, self.rows, self.cols]
            return np.where(self.off, v, np.log(np.where(self.off, 1.0, v)))
        return np.stack([self.st.start(s) for s in S0])


def _start_sigma(cells: _Cells) -> tuple[np.ndarray, np.ndarray]:
    """Starting covariance per replicate: covariance of the per-visit OLS residuals (the
    idea of ``mmrm._start_sigma``, vectorised), made positive definite; and a flag of the
    replicates whose per-visit regressions are not estimable."""
    R, T, q = cells.R, cells.T, cells.q
    Zt = _csum(cells.m, cells.Zf).reshape(R, T, q, q)
    Zy = cells.YZ.sum(axis=1)  # (R, T, q)
    dsc = np.sqrt(np.maximum(np.diagonal(Zt, axis1=2, axis2=3), 0))
    scal = np.where(dsc > 0, dsc, 1.0)
    Zs = Zt / (scal[..., :, None] * scal[..., None, :])
    w = np.linalg.eigvalsh(Zs)
    bad_t = ~(w[..., 0] > 1e-10 * w[..., -1]) | np.any(dsc == 0, axis=-1)
    bad = bad_t.any(axis=1) | ~cells.has
    Zt = np.where(bad_t[..., None, None], np.eye(q), Zt)
    gam = np.linalg.solve(Zt, Zy[..., None])[..., 0]  # (R, T, q)
    B = gam[:, None]
    F = cells.YZ @ np.swapaxes(B, 2, 3)
    BZ = B @ cells.Z
    RR = (cells.YY - F - np.swapaxes(F, 2, 3) + BZ @ np.swapaxes(B, 2, 3)) * cells.mm
    RR = RR.sum(axis=1)
    nab = np.einsum("rk,rkab->rab", cells.n, cells.mm)
    S = RR / np.maximum(nab, 1.0)
    var = np.diagonal(S, axis1=1, axis2=2).copy()
    vmax = var.max(axis=1, keepdims=True)
    bad = bad | ~(vmax[:, 0] > 0)
    var = np.where(var > 1e-8 * vmax, var, 1e-8 * vmax + var.mean(axis=1, keepdims=True))
    S = np.where(nab >= 2, S, 0.0)
    i = np.arange(T)
    S[:, i, i] = var
    S[bad] = np.eye(T)
    w = np.linalg.eigvalsh(S)
    shrink = w[:, 0] <= 1e-6 * w[:, -1]
    D = np.zeros_like(S)
    D[:, i, i] = var
    S = np.where(shrink[:, None, None], 0.7 * S + 0.3 * D, S)
    w = np.linalg.eigvalsh(S)
    S = np.where((w[:, 0] <= 1e-10 * w[:, -1])[:, None, None], D, S)
    S[bad] = np.eye(T)
    return S, bad


# ====================================================================== derivatives
def _theta_gradient(J: np.ndarray, ev: _Eval) -> np.ndarray:
    """Gradient of -REML in theta: 1/2 sum(dSigma_k * G) (the engine's sign convention)."""
    return 0.5 * np.einsum("rkab,rab->rk", J, ev.G)


def _hessian(
    cells: _Cells, J: np.ndarray, ev: _Eval, exact: bool, un: tuple | None = None
) -> np.ndarray:
    """Hessian of -REML in theta, through Sigma: J' H_Sigma J (without the chain term
    d2Sigma/dtheta2 . G, see :meth:`_Param.second_dot`).

    H_Sigma(D1, D2) = -1/2 tr(P D1 P D2) + u' D1 P D2 u, u = V^-1 r, P the REML projection,
    expanded per pattern into 4-index tensors summed over the cells by batched matrix
    products; ``exact=False`` omits -1/2 tr(Phi M1 Phi M2).
    """
    R, K, T, q = cells.R, cells.K, cells.T, cells.q
    n = J.shape[1]
    Vi, W, RR = ev.Vi, ev.W, ev.RR
    U = Vi @ RR @ Vi
    Q = Vi @ W @ Vi
    A = U - 0.5 * cells.n[..., None, None] * Vi + 0.5 * Q
    Vf = Vi.reshape(R, K, T * T)
    # H4[a,b,e,d] = sum_c Vi[b,e] A[a,d] + 1/2 Vi[a,d] Q[b,e]
    P1 = _csum(Vf, A.reshape(R, K, T * T)).reshape(R, T, T, T, T).transpose(0, 3, 1, 2, 4)
    P2 = _csum(Vf, Q.reshape(R, K, T * T)).reshape(R, T, T, T, T).transpose(0, 1, 3, 4, 2)
    H4 = (P1 + 0.5 * P2).reshape(R, T * T, T * T)
    Jf = J.reshape(R, n, T * T)
    H = Jf @ H4 @ np.swapaxes(Jf, 1, 2)
    # h_k = sum_c V^-1 J_k V^-1 RZ = sum_ab J_k[a,b] Kt[(a,b),(t,i)], Kt = sum_c Vi[t,a] UZ[b,i]
    UZ = Vi @ ev.RZ  # (R, K, T, q)
    Kt = _csum(Vf, UZ.reshape(R, K, T * q)).reshape(R, T, T, T, q).transpose(0, 2, 3, 1, 4)
    h = Jf @ Kt.reshape(R, T * T, T * q)
    H = H - (h @ ev.phi) @ np.swapaxes(h, 1, 2)
    if exact:
        M = _fixed_effect_derivatives(cells, J, Vi, un)
        PM = ev.phi[:, None] @ M  # tr(PM_k PM_l) = <PM_k, PM_l'>
        p_ = PM.shape[-1]
        PMt = np.swapaxes(PM, 2, 3).reshape(R, n, p_ * p_)
        H = H - 0.5 * (PM.reshape(R, n, p_ * p_) @ np.swapaxes(PMt, 1, 2))
    return 0.5 * (H + np.swapaxes(H, 1, 2))


def _fixed_effect_derivatives(
    cells: _Cells, J: np.ndarray, Vi: np.ndarray, un: tuple | None = None
) -> np.ndarray:
    """M_k = X'V^-1 (dSigma_k) V^-1 X = sum over cells (V^-1 J_k V^-1) (x) Z, (R, n, p, p).

    ``un = (L, rows, cols, v)`` for the unstructured covariance, where dSigma_k is of rank
    2: J_k = v_k (e_r g_c' + g_c e_r') with g_c the column c_k of the Cholesky factor L
    and r = r_k; then V^-1 J_k V^-1 = v_k (a b' + b a') with a = V^-1 e_r, b = V^-1 g_c,
    and M_k = v_k (N_rc + N_rc') with N_rc = sum_cells (a b') (x) Z, all (r, c) at once from
    one product over cells."""
    R, K, T, q = cells.R, cells.K, cells.T, cells.q
    n, p = J.shape[1], T * q
    if un is not None:
        Lm, rows, cols, v = un
        a = Vi[..., rows]  # (R, K, T, n): a_k = V^-1 e_{r_k}
        b = (Vi @ Lm[:, None])[..., cols] * v[:, None, None, :]  # v_k V^-1 g_{c_k}
        ab = a[..., :, None, :] * b[..., None, :, :]  # (R, K, t, u, k)
        N = _csum(ab.reshape(R, K, T * T * n), cells.Zf).reshape(R, T, T, n, q, q)
        M = N.transpose(0, 3, 1, 4, 2, 5).reshape(R, n, p, p)  # [k, (t, i), (u, j)]
        return M + np.swapaxes(M, 2, 3)
    VJV = Vi[:, :, None] @ J[:, None] @ Vi[:, :, None]  # (R, K, n, T, T)
    M = _csum(VJV.reshape(R, K, n * T * T), cells.Zf)  # (R, n*T*T, q*q)
    return M.reshape(R, n, T, T, q, q).transpose(0, 1, 2, 4, 3, 5).reshape(R, n, p, p)


# ====================================================================== fitting
@dataclass
class BatchFit:
    """Per-replicate results of :func:`fit_cells` (cell-means coefficients)."""

    ok: np.ndarray  # (R,) fitted and converged in the batch
    estimate: np.ndarray  # (R, nL)
    se: np.ndarray
    df: np.ndarray
    theta: np.ndarray  # (R, n_params)
    sigma: np.ndarray  # (R, T, T)
    beta: np.ndarray  # (R, p)
    phi: np.ndarray  # (R, p, p)
    hinv: np.ndarray  # (R, n_params, n_params) inverse Hessian of -REML in theta
    loglik: np.ndarray  # (R,)
    iterations: np.ndarray  # (R,)


def _block_size(K: int, n: int, T: int) -> int:
    """Replicates per block: the largest temporary of the exact Hessian, (R, K, n, T, T)
    or (R, K, T^4) doubles, kept near 64 MB."""
    return int(max(16, min(BLOCK, 64e6 / (8.0 * max(K, 1) * max(n * T * T, T**4)))))


def fit_cells(
    rep: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    z: np.ndarray,
    n_rep: int,
    covariance: str,
    df_method: str,
    L: np.ndarray,
) -> BatchFit:
    """REML fits of ``n_rep`` replicates given per subject: ``rep`` (sorted), ``y`` and
    ``mask`` (N, T) and the cell-means regressors ``z`` (N, q); contrasts ``L`` (nL, T*q).

    Replicates are fitted in blocks of at most ``BLOCK``, taken in order of their number of
    missingness patterns (so that little padding is needed); each replicate's result does
    not depend on the block it falls in."""
    T, q = mask.shape[1], z.shape[1]
    st = make_structure(covariance, T)
    par = _Param(st)
    k, nL = st.n_params, len(L)
    out = BatchFit(
        np.zeros(n_rep, bool),
        np.full((n_rep, nL), np.nan),
        np.full((n_rep, nL), np.nan),
        np.full((n_rep, nL), np.nan),
        np.full((n_rep, k), np.nan),
        np.full((n_rep, T, T), np.nan),
        np.full((n_rep, T * q), np.nan),
        np.full((n_rep, T * q, T * q), np.nan),
        np.full((n_rep, k, k), np.nan),
        np.full(n_rep, np.nan),
        np.zeros(n_rep, int),
    )
    key = _cell_keys(rep, mask)
    uk = np.unique(key[key >= 0])
    n_cells = np.bincount((uk >> T).astype(int), minlength=n_rep)
    by_cells = np.argsort(n_cells, kind="stable")  # block replicates of similar pattern counts
    rank = np.empty(n_rep, int)
    rank[by_cells] = np.arange(n_rep)
    order = np.argsort(rank[rep], kind="stable")
    rep_o = rank[rep][order]
    y, mask, z = y[order], mask[order], z[order]
    b0 = 0
    while b0 < n_rep:
        size = _block_size(int(n_cells[by_cells[b0]]), k, T)
        # the block's largest pattern count sets its padding: size it by its last replicate
        size = _block_size(int(n_cells[by_cells[min(n_rep, b0 + size) - 1]]), k, T)
        R = min(size, n_rep - b0)
        lo, hi = np.searchsorted(rep_o, [b0, b0 + R])
        cells = _make_cells(rep_o[lo:hi] - b0, y[lo:hi], mask[lo:hi], z[lo:hi], R)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = _fit_block(cells, par, st, df_method, L)
        idx = by_cells[b0 : b0 + R]
        for name, val in res.items():
            getattr(out, name)[idx] = val
        b0 += R
    return out


def _iterate(
    cells: _Cells,
    par: _Param,
    theta: np.ndarray,
    done: np.ndarray,
    it0: int = 0,
    exact_from: int | None = None,
    gtol: float | None = None,
) -> tuple[np.ndarray, _Eval, np.ndarray]:
    """Newton iterations from ``theta`` on the replicates not ``done``: (theta, evaluation
    at theta with gradient, iterations). When half of the block has converged the others
    go on as a smaller block (``cells.take``), so a few slow replicates do not keep the
    whole block busy; every replicate follows the same path whatever its block. Converged:
    the largest gradient below ``gtol`` (default 1e-8 |REML|)."""
    R = cells.R
    exact_from = EXACT_FROM if exact_from is None else exact_from
    theta = theta.copy()
    ev = _evaluate(cells, par.sigma(theta), gradient=True)
    J = par.jacobian(theta)
    g = _theta_gradient(J, ev)
    done = done | ev.bad
    iters = np.zeros(R, int)
    for it in range(it0, MAXITER):
        conv = np.max(np.abs(g), axis=1) <= (
            1e-8 * np.maximum(1.0, np.abs(ev.f)) if gtol is None else gtol
        )
        done = done | conv
        if done.all():
            break
        rem = np.flatnonzero(~done)
        if R >= 8 and len(rem) <= R // 2:
            th_s, ev_s, it_s = _iterate(
                cells.take(rem), par, theta[rem], done[rem], it, exact_from, gtol
            )
            theta[rem] = th_s
            ev.put(rem, ev_s)
            iters[rem] += it_s
            break
        exact = it >= exact_from  # the cheap Hessian first, the exact one near the optimum
        H = _hessian(cells, J, ev, exact, par.rank2(theta) if exact else None)
        # away from the optimum the chain term d2Sigma/dtheta2 . G matters (for UN too)
        H = H + 0.5 * par.second_dot(theta, ev.G, J)
        step, pd_ = _newton_step(H, g)
        # an ill-conditioned surface (correlations near 1) leaves a gradient that rounding
        # keeps above the tolerance: a tiny Newton step at a positive definite Hessian is
        # convergence as well
        tiny = exact & pd_ & (np.max(np.abs(step), axis=1) <= STEP_TOL)
        theta = np.where((tiny & ~done)[:, None], theta - step, theta)
        done = done | tiny
        step[done] = 0.0
        pending = ~done
        # the full step first, with the gradient (accepted almost always) ...
        cand = theta - step
        Sc = par.sigma(cand)
        ev_c = _evaluate(cells, Sc, gradient=True)
        okc = _acceptable(Sc, ev_c.f, ev.f)
        acc = pending & okc
        theta = np.where(acc[:, None], cand, theta)
        rest = np.flatnonzero(pending & ~okc)
        if len(rest):  # (the others' theta is cand: done ones moved by 0 or a tiny step)
            ev_c.put(rest, ev, rest)
        ev = ev_c
        if len(rest):  # ... then step halving on the replicates that refused it
            sub = cells.take(rest)
            t = np.full(len(rest), 0.5)
            still = np.ones(len(rest), bool)
            for _ in range(29):
                cand = theta[rest] - t[:, None] * step[rest]
                Sc = par.sigma(cand)
                ev_s = _evaluate(sub, Sc, gradient=False)
                okc = still & _acceptable(Sc, ev_s.f, ev.f[rest])
                theta[rest[okc]] = cand[okc]
                still = still & ~okc
                if not still.any():
                    break
                t = np.where(still, t / 2, t)
            moved = rest[~still]
            if len(moved):
                ev.put(moved, _evaluate(cells.take(moved), par.sigma(theta[moved]), True))
            done[rest[still]] = True  # no downhill step: stop these (checked below)
        iters += ~done
        J = par.jacobian(theta)
        g = _theta_gradient(J, ev)
    return theta, ev, iters


def _fit_block(cells: _Cells, par: _Param, st: Structure, df_method: str, L: np.ndarray) -> dict:
    R = cells.R
    S0, bad0 = _start_sigma(cells)
    theta, ev, iters = _iterate(cells, par, par.start(S0), bad0)
    J = par.jacobian(theta)
    g = _theta_gradient(J, ev)

    # exact Hessian at the final point (Satterthwaite needs it), as the single fit
    H = _hessian(cells, J, ev, True, par.rank2(theta))
    if not par.un:
        H = H + 0.5 * par.second_dot(theta, ev.G, J)
        H = 0.5 * (H + np.swapaxes(H, 1, 2))
    S = par.sigma(theta)
    f = ev.f
    gmax = np.max(np.abs(g), axis=1)
    wS = np.linalg.eigvalsh(np.where(np.isfinite(S), S, 0.0))
    Hf = np.where(np.isfinite(H), H, 0.0)
    wH = np.linalg.eigvalsh(Hf)
    step, pd_ = _newton_step(np.where(np.isfinite(H), H, 0.0), np.where(np.isfinite(g), g, 0.0))
    small = (gmax <= 1e-6 * np.maximum(1.0, np.abs(f))) | (
        pd_ & (np.max(np.abs(step), axis=1) <= 10 * STEP_TOL)
    )
    ok = (
        ~(bad0 | ev.bad)
        & np.isfinite(f)
        & small
        & (wS[:, 0] > 1e-8 * wS[:, -1])
        & (wH[:, 0] > 1e-10 * np.maximum(1.0, np.abs(wH[:, -1])))
        & np.all(np.isfinite(H), axis=(1, 2))
    )
    eye = np.eye(H.shape[1])
    Hinv = np.linalg.inv(np.where(ok[:, None, None], Hf, eye))
    Hinv = 0.5 * (Hinv + np.swapaxes(Hinv, 1, 2))
    phi, beta = ev.phi, ev.beta
    est = beta @ L.T
    if df_method == "satterthwaite":
        v = np.einsum("la,rab,lb->rl", L, phi, L)
        se = np.sqrt(v)
        T, q = cells.T, cells.q
        Wm = (phi @ L.T).transpose(0, 2, 1).reshape(R, 1, len(L), T, q)  # Phi l
        X = ev.Vi[:, :, None] @ Wm  # (R, K, nL, T, q): V^-1 (Phi l)_(T x q)
        Cm = (X @ cells.Z[:, :, None] @ np.swapaxes(X, 3, 4)).sum(axis=1)  # (R, nL, T, T)
        gk = np.einsum("rkab,rlab->rlk", J, Cm)
        df = satterthwaite_df(v, gk, Hinv[:, None])
    else:
        se = np.full(est.shape, np.nan)
        df = np.full(est.shape, np.nan)
        for r in np.flatnonzero(ok):
            se[r], df[r] = _kenward_roger_one(cells, r, st, S[r], L)
    ok = ok & np.all(np.isfinite(se), axis=1) & np.all(np.isfinite(df), axis=1)
    return {
        "ok": ok,
        "estimate": est,
        "se": se,
        "df": df,
        "theta": theta,
        "sigma": S,
        "beta": beta,
        "phi": phi,
        "hinv": Hinv,
        "loglik": -f,
        "iterations": iters,
    }


def _acceptable(Sc: np.ndarray, fc: np.ndarray, f: np.ndarray) -> np.ndarray:
    """A candidate is taken when -REML does not rise and its Sigma is not numerically
    singular (the REML objective is not trustworthy there: it can run off to -inf in
    rounding)."""
    wc = np.linalg.eigvalsh(np.where(np.isfinite(Sc), Sc, 0.0))
    sane = wc[:, 0] > 1e-12 * np.abs(wc[:, -1])
    return sane & np.isfinite(fc) & (fc <= f + 1e-12 * np.abs(f))


def _newton_step(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve H step = g; where H is not positive definite it is shifted by a multiple of I
    (Levenberg-Marquardt), and a scaled gradient step is the last resort. Also returns
    where H was positive definite as it stood."""
    H = 0.5 * (H + np.swapaxes(H, 1, 2))
    Lc, bad = _safe_cholesky(H)
    # positive definite as it stands unless the Cholesky factor fails or is nearly singular
    # (its diagonal bounds the extreme eigenvalues: cheap, where eigvalsh costs 10x)
    dg = np.diagonal(Lc, axis1=1, axis2=2) ** 2
    shift = np.zeros(len(H))
    weak = bad | ~(dg.min(axis=1) > 1e-8 * np.maximum(dg.max(axis=1), 1e-300))
    if weak.any():
        Hw = np.where(np.isfinite(H[weak]), H[weak], 0.0)
        w = np.linalg.eigvalsh(Hw)
        top = np.maximum(np.abs(w[:, -1]), 1e-8)
        shift[weak] = np.where(w[:, 0] > 1e-8 * top, 0.0, 1e-4 * top - w[:, 0])
        H = H.copy()
        H[weak] = H[weak] + shift[weak][:, None, None] * np.eye(H.shape[1])
        Lc[weak], bad[weak] = _safe_cholesky(H[weak])
    step = np.linalg.solve(np.swapaxes(Lc, 1, 2), np.linalg.solve(Lc, g[..., None]))[..., 0]
    scale = 1.0 / np.maximum(np.abs(np.diagonal(H, axis1=1, axis2=2)).max(axis=1), 1e-8)
    return np.where(bad[:, None], g * scale[:, None], step), (shift == 0) & ~bad


def _kenward_roger_one(cells: _Cells, r: int, st: Structure, S: np.ndarray, L: np.ndarray):
    """Kenward-Roger SEs and df of one replicate with the single-fit engine's functions."""
    sel = np.flatnonzero(cells.n[r] > 0)
    T, q = cells.T, cells.q
    p = T * q
    # Rebuild pseudo-subjects carrying each cell's sufficient statistics is not possible
    # for Engine's Kronecker statistics; build them directly (Engine accepts Pattern lists).
    from ._engine import Pattern

    pats = []
    for c in sel:
        idx = np.flatnonzero(cells.m[r, c] > 0)
        kk = len(idx)
        # X_s = I_T (x) z_s' restricted to idx: sxx[a*k+b, (t,i)*p+(u,j)] =
        # sum_s X[s,a,(t,i)] X[s,b,(u,j)] = [t = idx_a][u = idx_b] Z[i, j]
        sxx = np.zeros((kk, kk, T, q, T, q))
        sxy = np.zeros((kk, kk, T, q))
        for a, ta in enumerate(idx):
            for b_, tb in enumerate(idx):
                sxx[a, b_, ta, :, tb, :] = cells.Z[r, c]
                sxy[a, b_, ta, :] = cells.YZ[r, c, tb, :]
        syy = cells.YY[r, c][np.ix_(idx, idx)]
        pats.append(
            Pattern(
                idx,
                int(cells.n[r, c]),
                sxx.reshape(kk * kk, p * p),
                sxy.reshape(kk * kk, p),
                syy.ravel(),
            )
        )
    eng = Engine(pats, st, int(cells.n_obs[r]), p)
    ev = eng.evaluate_sigma(S)
    if ev is None:
        return np.nan, np.nan
    C, M, W = kenward_roger(eng, S, ev)
    se = np.sqrt(np.einsum("la,ab,lb->l", L, C, L))
    return se, kenward_roger_df(L, ev.phi, M, W)


# ====================================================================== public entry point
def design_arrays(arm_idx: np.ndarray, base: np.ndarray | None, n_arms: int) -> np.ndarray:
    """Cell-means regressors z = (1, arm dummies 1..A-1, [baseline]) per subject."""
    cols = [np.ones(len(arm_idx))]
    cols += [(arm_idx == a).astype(float) for a in range(1, n_arms)]
    if base is not None:
        cols.append(np.asarray(base, dtype=float))
    return np.column_stack(cols)


def contrast_matrix(visits: list, arms: list, ref: int, q: int) -> tuple[np.ndarray, list, list]:
    """Rows l (cell-means coordinates) of arm - reference at every visit, in the row order
    of ``MMRMResult.contrasts``; with their visit and contrast labels."""
    T = len(visits)
    rows, vis, lab = [], [], []
    for t in range(T):
        for a in range(len(arms)):
            if a == ref:
                continue
            l_ = np.zeros(T * q)
            if a > 0:
                l_[t * q + a] += 1.0
            if ref > 0:
                l_[t * q + ref] -= 1.0
            rows.append(l_)
            vis.append(visits[t])
            lab.append(f"{arms[a]} - {arms[ref]}")
    return np.array(rows), vis, lab


def fit_batch(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    *,
    replicate: str,
    baseline: str | None = None,
    covariance: str = "unstructured",
    reference: Any = None,
    df: str = "satterthwaite",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Fit the MMRM of :func:`fit` to many replicate trials at once (batched REML).

    Parameters
    ----------
    data : DataFrame
        Long format, one row per replicate, subject and visit; replicates are told apart by
        the ``replicate`` column (subject labels may repeat across replicates). Not modified.
    outcome, subject, visit, arm, baseline, covariance, reference, df, conf_level
        As for :func:`fit`. Visit and arm levels (hence the default reference: the arm named
        like a control, else the first level) are taken from the whole of ``data``, the
        same for every replicate.
    replicate : str
        Column naming the replicate each row belongs to.

    Returns
    -------
    DataFrame
        One row per replicate x visit x contrast: ``replicate`` and the columns of
        ``MMRMResult.contrasts`` (``visit, contrast, estimate, se, df, t_value, ci_low,
        ci_high, p_value``), then ``converged``. ``attrs`` holds ``n_replicates``,
        ``n_refit`` (replicates refitted one by one with :func:`fit` because the batch did
        not converge on them) and ``n_failed`` (replicates that :func:`fit` could not fit
        either: their rows are NaN with ``converged`` False).

    Notes
    -----
    Each replicate's estimates, SEs and df are those of :func:`fit` on that replicate alone
    (measured: 1e-8 relative, df 1e-7, 1.4e-6 at correlation 0.995;
    ``tests/test_mmrm_batch.py`` checks 1e-6 and df 1e-4):
    the same REML likelihood, maximised by batched Newton steps with an analytic Hessian
    (see the module ``_batch``); Satterthwaite df from the exact Hessian, Kenward-Roger
    from the engine's :func:`kenward_roger` replicate by replicate. A replicate is refitted
    singly when the batch stops short of convergence (see the module), a nearly singular
    covariance or a Hessian that is not positive definite, or when it lacks data at a
    visit or arm (then :func:`fit` decides, e.g. dropping an empty visit, or fails).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import trial_analysis as ta
    >>> rng = np.random.default_rng(0)
    >>> rows = [(r, i, "A" if i < 15 else "B", w, b, b + rng.normal(0, .5) - .3 * (i < 15))
    ...         for r in range(3) for i, b in enumerate(rng.normal(9, 1, 30)) for w in (12, 24)]
    >>> df = pd.DataFrame(rows, columns=["rep", "id", "arm", "week", "base", "y"])
    >>> out = ta.mmrm.fit_batch(df, "y", "id", "week", "arm", replicate="rep", baseline="base",
    ...                         reference="B")
    >>> out.shape[0], bool(out["converged"].all())
    (6, True)
    """
    from ..._validate import check_choice, check_conf_level
    from . import _check_columns, _codes, _levels, _normalise_covariance, _reference, _t_table

    conf_level = check_conf_level(conf_level)
    df_method = check_choice("df", df, ("satterthwaite", "kenward-roger"))
    name = _normalise_covariance(covariance)
    named = (
        ("outcome", outcome),
        ("subject", subject),
        ("visit", visit),
        ("arm", arm),
        ("replicate", replicate),
    ) + ((("baseline", baseline),) if baseline is not None else ())
    cols = [replicate, subject, visit, arm, outcome] + ([baseline] if baseline else [])
    _check_columns(data, named, cols)
    problems = []
    for col in [outcome] + ([baseline] if baseline else []):
        s = data[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            problems.append(Problem("data", None, col, str(s.dtype), "must be numeric"))
    if problems:
        raise DataValidationError(problems)
    visit_levels = _levels(data[visit], sort=True)
    arms = _levels(data[arm], sort=False)
    d = data.loc[data[outcome].notna(), cols]
    for col in cols[:4] + ([baseline] if baseline else []):
        if d[col].isna().any():
            r = d.index[d[col].isna()][0]
            raise DataValidationError(
                [
                    Problem(
                        "data",
                        int(r) + 2 if isinstance(r, (int, np.integer)) else None,
                        col,
                        None,
                        "is missing on a row with an outcome",
                    )
                ]
            )
    if d.empty:
        raise AnalysisError(f"no observed values of {outcome!r}: nothing to fit")
    if not np.all(np.isfinite(d[outcome].to_numpy(dtype=float))):
        raise DataValidationError([Problem("data", None, outcome, None, "has infinite values")])
    reference = _reference(arms, reference)
    if len(arms) < 2:
        raise AnalysisError(f"the MMRM compares arms: `{arm}` has only one level ({arms!r})")
    rcode, rlabels = pd.factorize(d[replicate], sort=False)
    scode, _ = pd.factorize(d[subject])
    ns = int(scode.max()) + 1
    key = rcode.astype(np.int64) * ns + scode
    ukey, sidx = np.unique(key, return_inverse=True)
    vcode = _codes(d[visit], visit_levels)
    acode = _codes(d[arm], arms)
    present = np.unique(vcode)
    visits = [visit_levels[i] for i in present]
    remap = np.full(len(visit_levels), -1)
    remap[present] = np.arange(len(present))
    vi = remap[vcode]
    T, N = len(visits), len(ukey)
    if T < 2:
        raise AnalysisError(f"the MMRM needs at least 2 visits with data, got {visits!r}")
    cell = sidx.astype(np.int64) * T + vi
    uc, cnt = np.unique(cell, return_counts=True)
    if np.any(cnt > 1):
        c0 = uc[cnt > 1][0]
        raise DataValidationError(
            [
                Problem(
                    "data",
                    None,
                    visit,
                    (_py(rlabels[ukey[c0 // T] // ns]), visits[c0 % T]),
                    "subject has more than one row at this visit (replicate, visit)",
                )
            ]
        )

    def per_subject_constant(x: np.ndarray, col: str, what: str) -> np.ndarray:
        first = np.full(N, np.nan)
        first[sidx[::-1]] = x[::-1]
        differ = np.flatnonzero(x != first[sidx])
        if len(differ):
            raise DataValidationError(
                [Problem("data", None, col, _py(d[subject].iloc[differ[0]]), what)]
            )
        return first

    a_subj = per_subject_constant(
        acode.astype(float), arm, "subject appears in more than one arm (within a replicate)"
    ).astype(int)
    b_subj = None
    if baseline:
        b_subj = per_subject_constant(
            d[baseline].to_numpy(dtype=float), baseline, "baseline differs between a subject's rows"
        )
    y = np.zeros((N, T))
    mask = np.zeros((N, T), bool)
    y[sidx, vi] = d[outcome].to_numpy(dtype=float)
    mask[sidx, vi] = True
    rep = (ukey // ns).astype(int)
    R = len(rlabels)
    z = design_arrays(a_subj, b_subj, len(arms))
    ref = arms.index(reference)
    L, vis, lab = contrast_matrix(visits, arms, ref, z.shape[1])
    need = _estimable(rep, mask, a_subj, len(arms), R, baseline is not None)

    def refit(r: int):
        from . import fit as single_fit

        sub = data[data[replicate] == rlabels[r]].copy()
        sub[arm] = pd.Categorical(sub[arm], categories=arms)
        res = single_fit(
            sub,
            outcome,
            subject,
            visit,
            arm,
            baseline,
            name,
            reference=reference,
            df=df_method,
            conf_level=conf_level,
        )
        return res.contrasts

    from ._engine import single_blas_thread

    with single_blas_thread():
        bf = fit_cells(rep, y, mask, z, R, name, df_method, L)
    est, se, dfv = bf.estimate, bf.se, bf.df
    ok = bf.ok & need
    converged = ok.copy()
    todo = np.flatnonzero(~ok)
    n_failed = 0
    for r in todo:
        try:
            c = refit(int(r))
        except AnalysisError:
            est[r] = se[r] = dfv[r] = np.nan
            n_failed += 1
            continue
        key_ = {(v_, l_): i for i, (v_, l_) in enumerate(zip(vis, lab, strict=True))}
        est[r] = se[r] = dfv[r] = np.nan
        for _, row in c.iterrows():
            i = key_.get((row["visit"], row["contrast"]))
            if i is not None:
                est[r, i], se[r, i], dfv[r, i] = row["estimate"], row["se"], row["df"]
        converged[r] = True
    t, pv, lo, hi = _t_table(est, se, dfv, conf_level)
    nL = len(L)
    outf = pd.DataFrame(
        {
            "replicate": np.repeat(np.asarray(rlabels, dtype=object), nL),
            "visit": np.tile(np.array(vis, dtype=object), R),
            "contrast": np.tile(np.array(lab, dtype=object), R),
            "estimate": est.ravel(),
            "se": se.ravel(),
            "df": dfv.ravel(),
            "t_value": t.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "p_value": pv.ravel(),
            "converged": np.repeat(converged, nL),
        }
    )
    for col in ("replicate", "visit"):
        outf[col] = outf[col].infer_objects()
    outf.attrs.update(n_replicates=R, n_refit=len(todo), n_failed=n_failed)
    return outf


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _estimable(rep, mask, arm_idx, n_arms, R, has_base) -> np.ndarray:
    """Replicates with data at every visit in every arm and enough subjects per visit (the
    checks of ``fit``; the others are handed to ``fit`` one by one)."""
    T = mask.shape[1]
    cnt = np.zeros((R, T, n_arms))
    for a in range(n_arms):
        sel = arm_idx == a
        np.add.at(cnt[:, :, a], rep[sel], mask[sel].astype(float))
    need = n_arms + (1 if has_base else 0) + 1
    return np.all(cnt > 0, axis=(1, 2)) & np.all(cnt.sum(axis=2) >= need, axis=1)
