"""Robust (sandwich, "empirical") covariance of an MMRM's fixed effects and contrasts.

``ta.mmrm.fit(..., vcov="empirical")`` uses :func:`sandwich` for every SE of the result, with
the Bell-McCaffrey Satterthwaite df of :func:`bell_mccaffrey_df` (what R's mmrm does with
``vcov = "Empirical"``); :func:`empirical_contrasts` re-computes a fitted result's contrasts
with the sandwich SE and keeps the model df (SAS ``EMPIRICAL`` with the model's DDFM).

For subject ``i`` with observed visits ``m_i``, design ``X_i``, residuals
``r_i = y_i - X_i b`` and the fitted covariance ``S_i = Sigma[m_i, m_i]``:

    A = sum_i X_i' S_i^-1 X_i,    B = sum_i X_i' S_i^-1 r_i r_i' S_i^-1 X_i,
    V_emp = A^-1 B A^-1

(Liang & Zeger 1986; SAS PROC MIXED ``EMPIRICAL``; R mmrm ``vcov = "Empirical"``, the CR0
form without small-sample correction). It stays valid when the covariance structure is
misspecified.

Degrees of freedom (Bell & McCaffrey 2002; R mmrm's Satterthwaite df for the empirical
covariance): ``l'V_emp l = sum_i (p_i' e_i)^2`` with ``p_i = S_i^-1 X_i Phi l`` and
``e = (I - H) y`` is a quadratic form in y; under the working model its mean is tr(G) and its
variance 2 tr(G^2), with G_ij = g_i' Omega g_j, g_i = (I - H)' p_i. Written out,
``G_ij = [i = j] l'Phi A_i Phi l - a_i' Phi a_j`` with ``A_i = X_i' S_i^-1 X_i`` and
``a_i = A_i Phi l``, so the df ``(tr G)^2 / tr(G^2)`` cost O(n p^2) per contrast, never the
N x N hat matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import ParameterError

__all__ = ["bell_mccaffrey_df", "empirical_contrasts", "empirical_vcov", "sandwich"]


def sandwich(prep: Any, beta: np.ndarray, Sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(V_emp, A)``: the CR0 sandwich of the fixed effects of a prepared MMRM design at
    ``beta`` and the visit covariance ``Sigma``, and the per-subject ``A_i = X_i' S_i^-1 X_i``
    (shape ``(n_subjects, p, p)``, for :func:`bell_mccaffrey_df`).

    Subjects are grouped by missingness pattern: one inverse of ``S_i`` per pattern.
    """
    T = prep.mask.shape[1]
    p = beta.size
    keys = prep.mask @ (1 << np.arange(T))
    A_i = np.zeros((prep.n_subjects, p, p))
    U = np.zeros((prep.n_subjects, p))
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        m = prep.mask[rows[0]]
        if not m.any():
            continue
        X = prep.Xfull[rows][:, m, :]  # (g, k, p)
        r = prep.yfull[rows][:, m] - X @ beta  # (g, k)
        Sinv = np.linalg.inv(Sigma[np.ix_(m, m)])
        SX = np.einsum("ab,gbp->gap", Sinv, X)  # S^-1 X_i
        A_i[rows] = np.einsum("gaq,gap->gqp", X, SX)
        U[rows] = np.einsum("gap,ga->gp", SX, r)
    Ainv = np.linalg.inv(A_i.sum(axis=0))
    return Ainv @ (U.T @ U) @ Ainv, A_i


def bell_mccaffrey_df(L: np.ndarray, Phi: np.ndarray, A_i: np.ndarray) -> np.ndarray:
    """Bell-McCaffrey df ``(tr G)^2 / tr(G^2)`` of the contrasts (rows of ``L``) under the
    CR0 sandwich (module notes); ``Phi = (sum_i A_i)^-1``."""
    PL = L @ Phi  # (r, p): Phi l
    a = np.einsum("ipq,rq->rip", A_i, PL)  # (r, n, p): a_i = A_i Phi l
    d = np.einsum("rip,rp->ri", a, PL)  # l' Phi A_i Phi l
    aPa = np.einsum("rip,pq,riq->ri", a, Phi, a)  # M_ii = a_i' Phi a_i
    K = np.einsum("rip,riq->rpq", a, a)  # sum_i a_i a_i'
    fro = np.einsum("pq,rqs,st,rtp->r", Phi, K, Phi, K)  # ||M||_F^2 = tr(Phi K Phi K)
    tr_g = d.sum(axis=1) - aPa.sum(axis=1)
    tr_g2 = (d**2).sum(axis=1) - 2 * (d * aPa).sum(axis=1) + fro
    return tr_g**2 / tr_g2


def empirical_vcov(
    result: Any,
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
) -> tuple[np.ndarray, Any]:
    """``(V_emp, prepared design)`` for an :class:`~trial_analysis.mmrm.MMRMResult` fitted on
    ``data`` with the same column arguments."""
    from . import _prepare

    prep = _prepare(
        data,
        outcome,
        subject,
        visit,
        arm,
        baseline,
        result.reference,
        getattr(result, "covariates", ()),
    )
    if list(prep.names) != list(result.coef["term"]):
        raise ParameterError(
            "result", "an MMRM fitted on this data with these columns", list(result.coef["term"])
        )
    beta = result.coef["estimate"].to_numpy(dtype=float)
    Sigma = result.covariance.to_numpy(dtype=float)
    V, _ = sandwich(prep, beta, Sigma)
    return V, prep


def empirical_contrasts(
    result: Any,
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
) -> pd.DataFrame:
    """The result's arm contrasts by visit with the empirical (sandwich) SE.

    Same rows, estimates and df as ``result.contrasts``; ``se``, ``t_value``, ``ci_low``,
    ``ci_high`` and ``p_value`` recomputed with ``V_emp``; ``se_model`` keeps the model SE.

    Examples
    --------
    >>> import numpy as np, pandas as pd, trial_analysis as ta
    >>> from trial_analysis.continuous.mmrm._sandwich import empirical_contrasts
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"subject": np.repeat(np.arange(40), 3), "visit": np.tile([1, 2, 3], 40),
    ...                   "arm": np.repeat(["A", "B"], 60)})
    >>> d["y"] = rng.normal(size=120) + (d.arm == "B") * 0.5
    >>> fit = ta.mmrm.fit(d, "y", "subject", "visit", "arm")
    >>> list(empirical_contrasts(fit, d, "y", "subject", "visit", "arm").columns[:4])
    ['visit', 'contrast', 'estimate', 'se']
    """
    V, prep = empirical_vcov(result, data, outcome, subject, visit, arm, baseline)
    A, T = len(prep.arms), len(prep.visits)
    bvec = None if prep.base_mean is None else np.full(A, prep.base_mean)
    G = prep.design_rows(np.arange(A), bvec)  # (A, T, p), as the fit's contrasts
    ref = prep.arms.index(prep.reference)
    L = np.array([G[a, t] - G[ref, t] for t in range(T) for a in range(A) if a != ref])
    out = result.contrasts.copy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, V, L))
    est = out["estimate"].to_numpy(dtype=float)
    df = out["df"].to_numpy(dtype=float)
    q = stats.t.isf((1 - result.conf_level) / 2, df)
    out["se_model"] = out["se"]
    out["se"] = se
    out["t_value"] = est / se
    out["ci_low"] = est - q * se
    out["ci_high"] = est + q * se
    out["p_value"] = 2 * stats.t.sf(np.abs(est / se), df)
    return out
