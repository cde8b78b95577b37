"""Numerical core of the MMRM (private helper of :mod:`trial_analysis.mmrm`).

Profiled REML for y_i ~ N(X_i beta, Sigma[o_i, o_i]), where o_i are the visits subject i
attended and Sigma = Sigma(theta) is one of the structures in :mod:`._covariance`.

Why by hand: statsmodels' MixedLM has random effects but no unstructured (or Toeplitz, AR(1))
*residual* covariance, and no Satterthwaite/Kenward-Roger degrees of freedom.

Speed: subjects are grouped by missingness pattern (at most 2^T - 1 patterns) and each pattern
is reduced once to its sufficient statistics sum_s X_s (x) X_s, sum_s X_s (x) y_s and
sum_s y_s y_s'. Every likelihood, gradient and degrees-of-freedom evaluation afterwards costs
O(patterns x T^2 p^2) whatever the number of subjects.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.optimize as opt

from ._covariance import Structure

LOG2PI = float(np.log(2 * np.pi))


# ---------------------------------------------------------------------------------------
# formulas shared by the single fit (Engine) and the batched fits (_batch): each works on
# arrays with any leading (pattern, replicate) axes
# ---------------------------------------------------------------------------------------
def reml_loglik(n_obs, p: int, logdet_v, logdet_xtvx, quad):
    """l_R = -1/2 [(N - p) log 2pi + sum_i log|V_i| + log|X'V^-1 X| + r'V^-1 r]."""
    return -0.5 * ((n_obs - p) * LOG2PI + logdet_v + logdet_xtvx + quad)


def pattern_sigma_gradient(n, vinv, W, RR):
    """One pattern's term of G, where dl_R/dtheta_i = -1/2 sum(dSigma_i * G):
    n V^-1 - V^-1 (W + RR) V^-1, with W = sum_s X_s Phi X_s' and RR = sum_s r_s r_s'."""
    n = np.asarray(n, dtype=float)
    return n[..., None, None] * vinv - vinv @ (W + RR) @ vinv


def kenward_roger_df(L, Phi, M, W):
    """Kenward-Roger df of the contrasts (rows of L) for one contrast each: 2 / A with
    A = sum_ij W_ij a_i a_j / (l'Phi l)^2 and a_i = l' Phi P_i Phi l (Kenward & Roger 1997)."""
    PL = L @ Phi
    a = np.einsum("ra,iab,rb->ri", PL, M, PL)
    v = np.einsum("ra,ab,rb->r", L, Phi, L)
    return 2.0 / (np.einsum("ri,ij,rj->r", a, W, a) / v**2)


def satterthwaite_df(v, g, Hinv):
    """Satterthwaite df 2 (l'C l)^2 / (g' H^-1 g) of contrasts with variance ``v = l'C l``
    and ``g_k = l' Phi M_k Phi l`` (= -l' dC/dtheta_k l); leading axes broadcast."""
    return 2 * v**2 / np.einsum("...i,...ij,...j->...", g, Hinv, g)


def single_blas_thread() -> Any:
    """Context limiting BLAS to one thread: the fit is thousands of tiny matrix products, for
    which OpenBLAS threads cost more than they give (3x slower on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency; run unlimited
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@dataclass
class Pattern:
    idx: np.ndarray  # observed visit indices (sorted)
    n: int  # subjects with this pattern
    sxx: np.ndarray  # (k*k, p*p): [a*k+b, i*p+j] = sum_s X[s,a,i] X[s,b,j]
    sxy: np.ndarray  # (k*k, p):   [a*k+b, i]     = sum_s X[s,a,i] y[s,b]
    syy: np.ndarray  # (k*k,):     [a*k+b]         = sum_s y[s,a] y[s,b]


def build_patterns(Xfull: np.ndarray, yfull: np.ndarray, mask: np.ndarray) -> list[Pattern]:
    """Group subjects by pattern. Xfull (n, T, p), yfull (n, T), mask (n, T) bool."""
    _, T, p = Xfull.shape
    keys = mask @ (1 << np.arange(T))
    out = []
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        idx = np.flatnonzero(mask[rows[0]])
        k = len(idx)
        if k == 0:
            continue
        X = Xfull[rows][:, idx, :].reshape(len(rows), k * p)
        y = yfull[rows][:, idx]
        sxx = (X.T @ X).reshape(k, p, k, p).transpose(0, 2, 1, 3).reshape(k * k, p * p)
        sxy = (X.T @ y).reshape(k, p, k).transpose(0, 2, 1).reshape(k * k, p)
        syy = (y.T @ y).ravel()
        out.append(Pattern(idx, len(rows), sxx, sxy, syy))
    return out


@dataclass
class Evaluation:
    loglik: float
    beta: np.ndarray
    phi: np.ndarray  # (X' V^-1 X)^-1
    vinv: list  # per pattern
    grad_sigma: np.ndarray | None = None  # G with dl/dtheta_i = -1/2 sum(dSigma_i * G)


@dataclass
class Batch:
    """Patterns with the same number k of observed visits, stacked for vectorised algebra."""

    idx: np.ndarray  # (g, k)
    n: np.ndarray  # (g,)
    sxx: np.ndarray  # (g, k*k, p*p)
    sxy: np.ndarray  # (g, k*k, p)
    syy: np.ndarray  # (g, k*k)

    def __post_init__(self) -> None:
        g, kk, pp = self.sxx.shape
        self.sxx2 = self.sxx.reshape(g * kk, pp)  # stacked for single BLAS calls
        self.sxy2 = self.sxy.reshape(g * kk, -1)


def _batches(patterns: list[Pattern]) -> list[Batch]:
    by_k: dict[int, list[Pattern]] = {}
    for pat in patterns:
        by_k.setdefault(len(pat.idx), []).append(pat)
    return [
        Batch(
            np.array([q.idx for q in pats]),
            np.array([q.n for q in pats], dtype=float),
            np.stack([q.sxx for q in pats]),
            np.stack([q.sxy for q in pats]),
            np.stack([q.syy for q in pats]),
        )
        for _, pats in sorted(by_k.items())
    ]


class Engine:
    """REML likelihood, its gradient, Hessian and the fixed-effects covariance."""

    def __init__(self, patterns: list[Pattern], structure: Structure, n_obs: int, p: int):
        self.patterns = patterns
        self.batches = _batches(patterns)
        self.structure = structure
        self.n_obs = n_obs
        self.p = p
        self.n_evals = 0

    # -------------------------------------------------------------- likelihood
    def evaluate_sigma(self, S: np.ndarray, gradient: bool = False) -> Evaluation | None:
        p = self.p
        xtvx = np.zeros(p * p)
        xtvy = np.zeros(p)
        yvy = 0.0
        logdet = 0.0
        vinvs = []
        for b in self.batches:
            V = S[b.idx[:, :, None], b.idx[:, None, :]]
            try:
                Lc = np.linalg.cholesky(V)
            except np.linalg.LinAlgError:
                return None
            d = np.diagonal(Lc, axis1=1, axis2=2)
            if not np.all(d > 0) or not np.all(np.isfinite(d)):
                return None
            vinv = np.linalg.inv(V)
            vinv = 0.5 * (vinv + vinv.transpose(0, 2, 1))
            vinvs.append(vinv)
            logdet += 2.0 * np.sum(b.n * np.sum(np.log(d), axis=1))
            v = vinv.ravel()
            xtvx += v @ b.sxx2
            xtvy += v @ b.sxy2
            yvy += float(v @ b.syy.ravel())
        xtvx = xtvx.reshape(p, p)
        xtvx = 0.5 * (xtvx + xtvx.T)
        try:
            cx = sla.cho_factor(xtvx, lower=True, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return None
        if not np.all(np.diag(cx[0]) > 0):
            return None
        beta = sla.cho_solve(cx, xtvy, check_finite=False)
        phi = sla.cho_solve(cx, np.eye(p), check_finite=False)
        quad = yvy - beta @ xtvy
        ll = reml_loglik(self.n_obs, p, logdet, 2.0 * np.sum(np.log(np.diag(cx[0]))), quad)
        self.n_evals += 1
        ev = Evaluation(float(ll), beta, phi, vinvs)
        if gradient:
            T = S.shape[0]
            G = np.zeros((T, T))
            bb = np.outer(beta, beta).ravel()
            ph = phi.ravel()
            for b, vinv in zip(self.batches, vinvs, strict=True):
                g, k = b.idx.shape
                W = (b.sxx @ ph).reshape(g, k, k)
                F = (b.sxy @ beta).reshape(g, k, k)
                RR = (
                    b.syy.reshape(g, k, k)
                    - F
                    - F.transpose(0, 2, 1)
                    + (b.sxx @ bb).reshape(g, k, k)
                )
                Gp = pattern_sigma_gradient(b.n, vinv, W, RR)
                np.add.at(G, (b.idx[:, :, None], b.idx[:, None, :]), Gp)
            ev.grad_sigma = G
        return ev

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """-loglik and its gradient in theta (for the optimiser)."""
        S = self.structure.sigma(theta)
        ev = self.evaluate_sigma(S, gradient=True)
        if ev is None or not np.isfinite(ev.loglik):
            return np.inf, np.zeros_like(theta)
        dS = self.structure.jacobian(theta)
        g = -0.5 * np.einsum("iab,ab->i", dS, ev.grad_sigma)
        return -ev.loglik, -g

    def gradients_many(self, thetas: np.ndarray) -> np.ndarray:
        """Gradients of -loglik at many parameter vectors at once, shape (m, n_params).

        The same algebra as :meth:`evaluate_sigma`, vectorised over a leading axis (used for
        the finite-difference Hessian: one pass instead of 2 n_params passes).
        """
        st, p = self.structure, self.p
        m = len(thetas)
        S = np.stack([st.sigma(t) for t in thetas])  # (m, T, T)
        T = S.shape[1]
        xtvx = np.zeros((m, p * p))
        xtvy = np.zeros((m, p))
        vinvs = []
        for b in self.batches:
            V = S[:, b.idx[:, :, None], b.idx[:, None, :]]  # (m, g, k, k)
            vinv = np.linalg.inv(V)
            vinv = 0.5 * (vinv + np.swapaxes(vinv, -1, -2))
            vinvs.append(vinv)
            v = vinv.reshape(m, -1)
            xtvx += v @ b.sxx2
            xtvy += v @ b.sxy2
        xtvx = xtvx.reshape(m, p, p)
        phi = np.linalg.inv(0.5 * (xtvx + np.swapaxes(xtvx, 1, 2)))
        beta = np.einsum("mab,mb->ma", phi, xtvy)
        G = np.zeros((m, T, T))
        bb = np.einsum("ma,mb->mab", beta, beta).reshape(m, -1)
        for b, vinv in zip(self.batches, vinvs, strict=True):
            g, k = b.idx.shape
            W = (phi.reshape(m, -1) @ b.sxx2.T).reshape(m, g, k, k)
            F = (beta @ b.sxy2.T).reshape(m, g, k, k)
            RR = (
                b.syy.reshape(1, g, k, k)
                - F
                - np.swapaxes(F, -1, -2)
                + (bb @ b.sxx2.T).reshape(m, g, k, k)
            )
            Gp = pattern_sigma_gradient(b.n, vinv, W, RR)
            for j in range(g):
                G[:, b.idx[j][:, None], b.idx[j][None, :]] += Gp[:, j]
        dS = np.stack([st.jacobian(t) for t in thetas])  # (m, n, T, T)
        self.n_evals += m
        return 0.5 * np.einsum("miab,mab->mi", dS, G)

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Hessian of -loglik in theta: central differences of the analytic gradient."""
        n = len(theta)
        h = 1e-5 * np.maximum(1.0, np.abs(theta))
        E = np.diag(h)
        grads = self.gradients_many(np.concatenate([theta + E, theta - E]))
        H = ((grads[:n] - grads[n:]) / (2 * h[:, None])).T
        return 0.5 * (H + H.T)

    # -------------------------------------------------------------- fitting
    def fit(
        self,
        theta0: np.ndarray,
        maxiter: int = 1000,
        polish: bool = True,
        gtol: float | None = None,
        hess_inv0: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict]:
        """Minimise -REML: BFGS with the analytic gradient, then Newton polishing steps."""
        if gtol is None:  # Newton polishing finishes the job: BFGS only needs to get close
            gtol = 1e-3 if polish else 1e-6
        f0, _ = self.objective(theta0)
        if not np.isfinite(f0):
            raise FloatingPointError("starting values give a singular covariance")
        res = opt.minimize(
            self.objective,
            theta0,
            jac=True,
            method="BFGS",
            options={"maxiter": maxiter, "gtol": gtol}
            | ({} if hess_inv0 is None else {"hess_inv0": hess_inv0}),
        )
        theta = res.x
        f, g = self.objective(theta)
        info = {"bfgs_iterations": int(res.nit), "bfgs_message": str(res.message)}
        newton = 0
        for newton in range(1, 31 if polish else 1):  # noqa: B007 - the count is reported
            H = self.hessian(theta)
            try:
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)) or g @ step <= 0:
                break
            t = 1.0
            while t > 1e-6:
                fn, gn = self.objective(theta - t * step)
                if np.isfinite(fn) and fn <= f + 1e-12 * abs(f):
                    break
                t /= 2
            else:
                break
            theta, f, g = theta - t * step, fn, gn
            if np.max(np.abs(g)) < 1e-9 * max(1.0, abs(f)) or g @ step < 1e-16:
                break
        info["newton_steps"] = newton
        if polish:
            info["hessian"] = self.hessian(theta)  # at the final point (Satterthwaite needs it)
        info["gradient_max"] = float(np.max(np.abs(g))) if len(g) else 0.0
        info["loglik"] = -f
        return theta, info


def fixed_effect_derivatives(engine: Engine, vinvs: list, dS: np.ndarray) -> np.ndarray:
    """M_i = X' V^-1 (dV/dparam_i) V^-1 X for each parameter, shape (n, p, p)."""
    n, p = dS.shape[0], engine.p
    M = np.zeros((n, p * p))
    for b, vinv in zip(engine.batches, vinvs, strict=True):
        g, k = b.idx.shape
        D = dS[:, b.idx[:, :, None], b.idx[:, None, :]]  # (n, g, k, k)
        B = vinv[None] @ D @ vinv[None]
        M += np.einsum("igk,gkq->iq", B.reshape(n, g, k * k), b.sxx)
    return M.reshape(n, p, p)


def kenward_roger(engine: Engine, Sigma: np.ndarray, ev: Evaluation):
    """Kenward-Roger (1997) ingredients in the structure's natural parametrisation.

    Returns (Lambda, M, W): the adjusted fixed-effects covariance, the M_i matrices and W, the
    inverse expected information (as pbkrtest: W = 2 * IE2^-1 with IE2_ij = tr(P V_i P V_j)).
    """
    st = engine.structure
    phi_nat = st.natural(Sigma)
    D1 = st.jacobian(phi_nat, natural=True)
    D2 = st.hessian_natural(phi_nat)
    n, p = len(phi_nat), engine.p
    Phi = ev.phi
    M = np.zeros((n, p * p))
    Q = np.zeros((n, n, p * p))
    R = np.zeros((n, n, p * p))
    K = np.zeros((n, n))
    for b, vinvs in zip(engine.batches, ev.vinv, strict=True):
        for j in range(len(b.n)):
            idx, npat, sxx, vinv = b.idx[j], b.n[j], b.sxx[j], vinvs[j]
            k = len(idx)
            Vi = D1[:, idx][:, :, idx]
            VinvVi = vinv @ Vi  # (n, k, k)
            B = VinvVi @ vinv
            M += B.reshape(n, k * k) @ sxx
            K += npat * np.einsum("iab,jba->ij", VinvVi, VinvVi)
            C = np.einsum("iab,jbc->ijac", B, Vi @ vinv)  # V^-1 V_i V^-1 V_j V^-1
            Q += (C.reshape(n * n, k * k) @ sxx).reshape(n, n, p * p)
            if not st.linear:
                Vij = D2[:, :, idx][:, :, :, idx]
                E = vinv @ Vij @ vinv
                R += (E.reshape(n * n, k * k) @ sxx).reshape(n, n, p * p)
    M = M.reshape(n, p, p)
    Q = Q.reshape(n, n, p, p)
    R = R.reshape(n, n, p, p)
    PM = Phi @ M  # (n, p, p): Phi M_i
    IE2 = K - 2.0 * np.einsum("pq,ijqp->ij", Phi, Q) + np.einsum("iab,jba->ij", PM, PM)
    W = 2.0 * np.linalg.inv(IE2)
    MPM = np.einsum("iab,bc,jcd->ijad", M, Phi, M)
    U = np.einsum("ij,ijab->ab", W, Q - MPM - 0.25 * R)
    Lam = Phi + 2.0 * Phi @ U @ Phi
    return 0.5 * (Lam + Lam.T), M, W
