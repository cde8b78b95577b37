"""Residual covariance structures of the MMRM (private helper of :mod:`trial_analysis.mmrm`).

Each structure maps an unconstrained parameter vector ``theta`` (what the optimiser moves) to
the T x T within-subject covariance matrix. The maps use only arithmetic, ``exp`` and ``tanh``
so that they accept complex input: derivatives of Sigma are taken by the complex-step method
(exact to rounding error), which is why the matrices are assembled by hand here.

For Kenward-Roger each structure also has a "natural" parametrisation ``phi`` (the covariance
parameters as SAS PROC MIXED reports them: covariances for UN, CS and TOEP, which are linear in
``phi``; variances and correlations for the others).

AR(1) and Toeplitz correlations depend on the distance between visit *indices* (visits taken as
equally spaced), as nlme's ``corAR1(form = ~ index | subject)`` and SAS's ``TYPE=AR(1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["COVARIANCES", "Structure", "make_structure"]

COVARIANCES = ("unstructured", "cs", "csh", "ar1", "ar1h", "toeplitz", "toeph")
ALIASES = {
    "un": "unstructured",
    "us": "unstructured",
    "compound_symmetry": "cs",
    "compound symmetry": "cs",
    "ar(1)": "ar1",
    "arh1": "ar1h",
    "toep": "toeplitz",
    "toeph": "toeph",
    "toeplitz_heterogeneous": "toeph",
}
LABELS = {
    "unstructured": "unstructured",
    "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry",
    "ar1": "AR(1)",
    "ar1h": "heterogeneous AR(1)",
    "toeplitz": "Toeplitz",
    "toeph": "heterogeneous Toeplitz",
}


def _expit(z):
    return 1.0 / (1.0 + np.exp(-z))


def _pacf_to_acf(pacf) -> list:
    """Durbin-Levinson: partial autocorrelations (each in (-1, 1)) -> autocorrelations 1..p.

    Any vector of partial autocorrelations in (-1, 1)^p gives a positive-definite Toeplitz
    correlation matrix of size p + 1, and conversely (Barndorff-Nielsen & Schou 1973).
    """
    phi: list = []
    rho: list = [1.0]
    for k, a in enumerate(pacf, start=1):
        # rho_k = sum_j phi_{k-1,j} rho_{k-j} + a_kk (1 - sum_j phi_{k-1,j} rho_j)
        s1 = sum(phi[j] * rho[k - 1 - j] for j in range(k - 1)) if k > 1 else 0.0
        s2 = sum(phi[j] * rho[j + 1] for j in range(k - 1)) if k > 1 else 0.0
        rho.append(s1 + a * (1.0 - s2))
        phi = [phi[j] - a * phi[k - 2 - j] for j in range(k - 1)] + [a]
    return rho[1:]


def _acf_to_pacf(rho: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_pacf_to_acf` (Durbin-Levinson recursion on autocorrelations)."""
    p = len(rho)
    r = np.concatenate([[1.0], rho])
    pacf = np.zeros(p)
    phi = np.zeros(0)
    v = 1.0
    for k in range(1, p + 1):
        a = (r[k] - np.dot(phi, r[k - 1 : 0 : -1])) / v
        pacf[k - 1] = a
        phi = np.concatenate([phi - a * phi[::-1], [a]])
        v *= 1.0 - a * a
        if v <= 0:
            break
    return pacf


def _toeplitz(T: int, rho: list, dtype) -> np.ndarray:
    R = np.zeros((T, T), dtype=dtype)
    for i in range(T):
        R[i, i] = 1.0
        for j in range(i):
            R[i, j] = R[j, i] = rho[i - j - 1]
    return R


@dataclass(frozen=True)
class Structure:
    """A covariance structure for T visits: theta -> Sigma and phi (natural) -> Sigma."""

    name: str
    n_visits: int
    n_params: int
    sigma: Callable[[np.ndarray], np.ndarray]
    start: Callable[[np.ndarray], np.ndarray]
    natural: Callable[[np.ndarray], np.ndarray]
    sigma_natural: Callable[[np.ndarray], np.ndarray]
    linear: bool
    analytic_jacobian: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def jacobian(self, theta: np.ndarray, natural: bool = False) -> np.ndarray:
        """dSigma/dparam_i for every parameter, shape (n_params, T, T), by complex step."""
        if not natural and self.analytic_jacobian is not None:
            return self.analytic_jacobian(theta)
        f = self.sigma_natural if natural else self.sigma
        h = 1e-30
        out = np.empty((len(theta), self.n_visits, self.n_visits))
        for i in range(len(theta)):
            t = theta.astype(complex)
            t[i] += 1j * h
            out[i] = f(t).imag / h
        return out

    def hessian_natural(self, phi: np.ndarray) -> np.ndarray:
        """d2Sigma/dphi_i dphi_j, shape (n, n, T, T); zero for linear structures.

        Central differences of the complex-step first derivatives.
        """
        n, T = len(phi), self.n_visits
        out = np.zeros((n, n, T, T))
        if self.linear:
            return out
        for j in range(n):
            h = 1e-5 * max(1.0, abs(phi[j]))
            up, dn = phi.copy(), phi.copy()
            up[j] += h
            dn[j] -= h
            out[:, j] = (self.jacobian(up, True) - self.jacobian(dn, True)) / (2 * h)
        return 0.5 * (out + out.transpose(1, 0, 2, 3))


def _corr_stats(S0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(np.diag(S0))
    return sd, S0 / np.outer(sd, sd)


def make_structure(name: str, T: int) -> Structure:
    """Build the structure ``name`` (one of :data:`COVARIANCES`) for ``T`` visits."""
    tri = np.tril_indices(T)
    off = np.array([i != j for i, j in zip(*tri, strict=True)])

    if name == "unstructured":

        def sigma(th):
            L = np.zeros((T, T), dtype=th.dtype)
            vals = th.copy()
            vals[~off] = np.exp(th[~off])
            L[tri] = vals
            return L @ L.T

        def start(S0):
            L = np.linalg.cholesky(S0)
            v = L[tri]
            return np.where(off, v, np.log(np.where(off, 1.0, v)))

        def natural(S):
            return S[tri].copy()

        def sigma_natural(ph):
            S = np.zeros((T, T), dtype=ph.dtype)
            S[tri] = ph
            return S + np.tril(S, -1).T

        rows, cols = tri
        npar = len(rows)

        def jac(th):
            # Sigma = L L': dSigma/dL_ab = e_a L[:, b]' + L[:, b] e_a'; log-diagonal chain rule
            L = np.zeros((T, T))
            vals = th.copy()
            vals[~off] = np.exp(th[~off])
            L[tri] = vals
            J = np.zeros((npar, T, T))
            cb = L[:, cols].T  # (npar, T): column b of L
            J[np.arange(npar), rows, :] = cb
            J = J + J.transpose(0, 2, 1)
            scale = np.where(off, 1.0, vals)
            return J * scale[:, None, None]

        return Structure(
            name, T, npar, sigma, start, natural, sigma_natural, True, analytic_jacobian=jac
        )

    het = name in ("csh", "ar1h", "toeph")
    nv = T if het else 1

    def sds(th):
        return np.exp(th[:nv]) * np.ones(T)

    def scale(R, s):
        return R * np.outer(s, s)

    if name in ("cs", "csh"):
        lo = -1.0 / (T - 1)

        def rho_of(z):
            return lo + (1 - lo) * _expit(z)

        def corr(th):
            rho = rho_of(th[nv])
            R = np.full((T, T), rho, dtype=th.dtype)
            np.fill_diagonal(R, 1.0)
            return R

        def start(S0):
            sd, R = _corr_stats(S0)
            r = float(np.clip(np.mean(R[np.triu_indices(T, 1)]), lo + 0.05, 0.95))
            z = np.log((r - lo) / (1 - r))
            s = np.log(sd) if het else np.array([np.log(np.sqrt(np.mean(sd**2)))])
            return np.concatenate([s, [z]])

        if name == "cs":

            def natural(S):
                tau = np.mean(S[np.triu_indices(T, 1)])
                return np.array([tau, np.mean(np.diag(S)) - tau])

            def sigma_natural(ph):
                S = np.full((T, T), ph[0], dtype=ph.dtype)
                return S + ph[1] * np.eye(T)

            linear = True
        else:

            def natural(S):
                sd, R = _corr_stats(S)
                return np.concatenate([sd**2, [np.mean(R[np.triu_indices(T, 1)])]])

            def sigma_natural(ph):
                R = np.full((T, T), ph[T], dtype=ph.dtype)
                np.fill_diagonal(R, 1.0)
                s = np.sqrt(ph[:T])
                return R * np.outer(s, s)

            linear = False

        def sigma(th):
            return scale(corr(th), sds(th))

        return Structure(name, T, nv + 1, sigma, start, natural, sigma_natural, linear)

    if name in ("ar1", "ar1h"):
        dist = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))

        def corr_r(rho, dtype):
            R = np.ones((T, T), dtype=dtype)
            for k in range(1, T):
                R[dist == k] = rho**k
            return R

        def sigma(th):
            return scale(corr_r(np.tanh(th[nv]), th.dtype), sds(th))

        def start(S0):
            sd, R = _corr_stats(S0)
            r = float(np.clip(np.mean(np.diagonal(R, 1)), -0.9, 0.9))
            s = np.log(sd) if het else np.array([np.log(np.sqrt(np.mean(sd**2)))])
            return np.concatenate([s, [np.arctanh(r)]])

        def natural(S):
            sd, R = _corr_stats(S)
            v = sd**2 if het else np.array([np.mean(sd**2)])
            return np.concatenate([v, [np.mean(np.diagonal(R, 1))]])

        def sigma_natural(ph):
            s = np.sqrt(ph[:nv]) * np.ones(T)
            return scale(corr_r(ph[nv], ph.dtype), s)

        return Structure(name, T, nv + 1, sigma, start, natural, sigma_natural, False)

    if name in ("toeplitz", "toeph"):

        def sigma(th):
            rho = _pacf_to_acf([np.tanh(z) for z in th[nv:]])
            return scale(_toeplitz(T, rho, th.dtype), sds(th))

        def start(S0):
            sd, R = _corr_stats(S0)
            acf = np.array([np.mean(np.diagonal(R, k)) for k in range(1, T)])
            pacf = np.clip(_acf_to_pacf(acf), -0.9, 0.9)
            s = np.log(sd) if het else np.array([np.log(np.sqrt(np.mean(sd**2)))])
            return np.concatenate([s, np.arctanh(pacf)])

        if name == "toeplitz":

            def natural(S):
                return np.array([np.mean(np.diagonal(S, k)) for k in range(T)])

            def sigma_natural(ph):
                R = _toeplitz(T, list(ph[1:]), ph.dtype)
                R[np.diag_indices(T)] = ph[0]
                return R

            linear = True
        else:

            def natural(S):
                sd, R = _corr_stats(S)
                return np.concatenate([sd**2, [np.mean(np.diagonal(R, k)) for k in range(1, T)]])

            def sigma_natural(ph):
                s = np.sqrt(ph[:T])
                return scale(_toeplitz(T, list(ph[T:]), ph.dtype), s)

            linear = False

        return Structure(name, T, nv + T - 1, sigma, start, natural, sigma_natural, linear)

    raise ValueError(name)  # pragma: no cover - callers validate the name
