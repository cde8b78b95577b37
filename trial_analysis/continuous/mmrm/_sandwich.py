"""Robust (sandwich, "empirical") covariance of an MMRM's fixed effects and contrasts.

Not yet wired into :func:`trial_analysis.mmrm.fit` (a ``vcov="empirical"`` option there would
call :func:`empirical_contrasts` on the fitted result).

For subject ``i`` with observed visits ``m_i``, design ``X_i``, residuals
``r_i = y_i - X_i b`` and the fitted covariance ``S_i = Sigma[m_i, m_i]``:

    A = sum_i X_i' S_i^-1 X_i,    B = sum_i X_i' S_i^-1 r_i r_i' S_i^-1 X_i,
    V_emp = A^-1 B A^-1

(Liang & Zeger 1986; SAS PROC MIXED ``EMPIRICAL``; R mmrm ``vcov = "Empirical"``, the CR0
form without small-sample correction). It stays valid when the covariance structure is
misspecified; the df are kept as the model's (Satterthwaite / KR / residual), as SAS does
with ``EMPIRICAL``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import ParameterError

__all__ = ["empirical_contrasts", "empirical_vcov"]


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

    prep = _prepare(data, outcome, subject, visit, arm, baseline, result.reference)
    if list(prep.names) != list(result.coef["term"]):
        raise ParameterError(
            "result", "an MMRM fitted on this data with these columns", list(result.coef["term"])
        )
    beta = result.coef["estimate"].to_numpy(dtype=float)
    Sigma = result.covariance.to_numpy(dtype=float)
    p = beta.size
    A = np.zeros((p, p))
    B = np.zeros((p, p))
    for i in range(prep.n_subjects):
        m = prep.mask[i]
        X = prep.Xfull[i][m]
        r = prep.yfull[i][m] - X @ beta
        Si = Sigma[np.ix_(m, m)]
        XtSi = np.linalg.solve(Si, X).T  # X' S^-1
        A += XtSi @ X
        u = XtSi @ r
        B += np.outer(u, u)
    Ainv = np.linalg.inv(A)
    return Ainv @ B @ Ainv, prep


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
