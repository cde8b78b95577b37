"""Proper multiple imputation of monotone (dropout) missingness by sequential Bayesian regression.

With monotone missingness (a subject observed at a visit is observed at every earlier one)
the likelihood of the imputation model of :mod:`trial_analysis.missing` — arm x visit and
baseline x visit means, one unstructured covariance — factorises into one linear regression
per visit (Little & Rubin 2002, section 7.4; Rubin 1987, section 5.4):

    y_j = a_{arm, j} + c_j * baseline + sum_{l < j} b_{jl} y_l + e_j,   e_j ~ N(0, s_j^2),

fitted on the subjects observed at visit j. Under the prior flat in the coefficients and
proportional to 1/s_j^2 the regressions' posteriors are independent and known in closed form,
so every imputation draws its parameters exactly (no bootstrap refit, no MCMC) — the
"monotone regression" method of SAS PROC MI (MONOTONE REG), Rubin (1987) p. 167:

    s*_j^2 = RSS_j / g_j,  g_j ~ chi-square(n_j - p_j);   b*_j = bhat_j + s*_j C_j^{-T} z_j,

with C_j the lower Cholesky factor of X_j'X_j and z_j standard normal. A drawn parameter set is
a multivariate normal model: the mean of arm k at baseline x is mu_j = a_{k,j} + c_j x +
sum_{l<j} b_{jl} mu_l, and the covariance's conditional laws are the regressions themselves.
Missing visits are then drawn in visit order from

    y_j = m_j + sum_{l<j} b*_{jl} (y_l - m_l) + s*_j e,

where m is the mean vector of the assumption (Carpenter, Roger & Kenward 2013: MAR the own
arm's mu, J2R the own arm's up to the last observed visit and the reference arm's after it,
CR the reference arm's throughout) — the conditional normal draw of the joint model, one
visit at a time.

Random stream of one trial (one generator): for the m imputations at once, first the
chi-square draws ``g`` (m, visits), then the coefficient normals ``z`` (m, visits, p_max;
visit j uses its first p_j), then one normal per missing cell ``e`` (m, cells; cells in
subject-then-visit order). :func:`draw` makes them; the batched functions below take them as
arrays, so the single-trial path (``missing.impute(draws="monotone")``) and the batch of many
replicate trials (``mi_ancova_batch(draws="monotone")``) run the same arithmetic on the same
numbers.

Why by hand: neither statsmodels' MICE (chained equations, no reference-based assumptions)
nor any other Python library draws these posteriors for a batch of trials; the algebra is a
few batched least-squares solves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw", "fit", "impute", "monotone_violation"]


def monotone_violation(mask: np.ndarray) -> np.ndarray:
    """Boolean per subject (leading axes kept): observed at some visit after a missing one."""
    m = np.asarray(mask, bool)
    return np.any(m[..., 1:] & ~m[..., :-1], axis=-1)


def _design(y, mask, present, s_arm, base, k: int, j: int):
    """Regressors of visit j: arm indicators, baseline, earlier visits (zero where unused)."""
    onehot = (s_arm[..., None] == np.arange(k)).astype(float)
    parts = [onehot]
    if base is not None:
        parts.append(base[..., None])
    parts.append(np.where(mask[..., :j], y[..., :j], 0.0))
    w = (mask[..., j] & present).astype(float)
    return np.concatenate(parts, axis=-1), w


def fit(y, mask, present, s_arm, base, k: int):
    """Least-squares fit of every visit's regression, for a batch of trials.

    Parameters
    ----------
    y, mask : arrays (R, n, T)
        Outcomes (any value where missing) and the observed cells (monotone).
    present : array (R, n)
        Real subjects (False: padding of a shorter trial).
    s_arm : int array (R, n)
        Arm index 0..k-1.
    base : array (R, n) or None
        Baseline covariate.
    k : int
        Number of arms.

    Returns
    -------
    list of T tuples (bhat (R, p), cinv_t (R, p, p), rss (R,), df (R,)), and ok (R,): the
    trials whose every regression has full rank and n_j - p_j >= 1 residual df.
    """
    R, _, T = y.shape
    out = []
    ok = np.ones(R, bool)
    for j in range(T):
        X, w = _design(y, mask, present, s_arm, base, k, j)
        p = X.shape[-1]
        yj = np.where(mask[..., j], y[..., j], 0.0)
        xtx = np.einsum("rni,rn,rnj->rij", X, w, X)
        xty = np.einsum("rni,rn->ri", X, w * yj)
        df = w.sum(axis=1) - p
        scale = np.sqrt(np.maximum(np.diagonal(xtx, axis1=1, axis2=2), 1e-300))
        # a rank check on the scaled cross-product: the Cholesky of the batch raises on one bad
        # trial, so those are replaced by the identity and flagged
        sx = xtx / scale[:, :, None] / scale[:, None, :]
        good = (df >= 1) & (np.linalg.eigvalsh(sx)[:, 0] > 1e-10)
        xtx = np.where(good[:, None, None], xtx, np.eye(p))
        C = np.linalg.cholesky(xtx)
        cinv = np.linalg.inv(C)
        bhat = np.einsum("rji,rjk,rk->ri", cinv, cinv, xty)  # (X'X)^-1 X'y = C^-T C^-1 X'y
        res = (yj - np.einsum("rnp,rp->rn", X, bhat)) * w
        rss = np.einsum("rn,rn->r", res, res)
        good &= rss > 0
        ok &= good
        out.append((bhat, np.swapaxes(cinv, 1, 2), rss, np.where(good, df, 1.0)))
    return out, ok


def draw(rng: np.random.Generator, df: np.ndarray, p_max: int, n_cells: int, m: int):
    """One trial's random numbers in the stream order of the module docstring."""
    g = rng.chisquare(np.broadcast_to(np.asarray(df, float), (m, len(df))))
    z = rng.standard_normal((m, len(df), p_max))
    e = rng.standard_normal((m, n_cells))
    return g, z, e


def impute(fits, k, ref, tr, method, g, z, y, mask, s_arm, base, e):
    """Completed values (R, m, n, T) of subjects of a batch of trials from the draws.

    ``fits`` from :func:`fit` on the whole trials; ``g`` (R, m, T) and ``z`` (R, m, T, p_max)
    their draws; ``ref``/``tr`` arm indices (the reference-based assumption applies to arm
    ``tr``); ``method`` "MAR", "J2R" or "CR". ``y``, ``mask`` (R, n, T), ``s_arm``, ``base``
    (R, n) are the subjects to impute (any subset of the trials' subjects, e.g. those with a
    missing visit, padded with fully observed rows) and ``e`` (R, m, n, T) their missing
    cells' normals scattered to the cells.
    """
    R, n, T = y.shape
    m = g.shape[1]
    q0 = k + (base is not None)
    s = np.sqrt(np.stack([f[2] for f in fits], axis=1)[:, None, :] / g)  # (R, m, T)
    # the drawn model's mean of arm a at baseline x is A[a] + Cb x: recursions over visits
    # on (R, m, arms) and (R, m) arrays instead of one mean per subject
    A = np.zeros((R, m, k, T))
    Cb = np.zeros((R, m, T))
    coef = []
    for j, (bhat, cinv_t, _, _) in enumerate(fits):
        p = bhat.shape[1]
        bj = bhat[:, None, :] + s[:, :, j, None] * np.einsum("rpq,rmq->rmp", cinv_t, z[..., j, :p])
        b_prev = bj[..., q0:]  # (R, m, j)
        coef.append(b_prev)
        A[..., j] = bj[..., :k] + np.einsum("rml,rmal->rma", b_prev, A[..., :j])
        if base is not None:
            Cb[..., j] = bj[..., k] + np.einsum("rml,rml->rm", b_prev, Cb[..., :j])
    own = np.take_along_axis(A, np.broadcast_to(s_arm[:, None, :, None], (R, m, n, T)), axis=2)
    lin = 0.0 if base is None else Cb[:, :, None, :] * base[:, None, :, None]
    mu_own = own + lin
    if method == "MAR":
        mvec = mu_own
    else:
        mu_ref = A[:, :, ref, None, :] + lin
        is_tr = (s_arm == tr)[:, None, :, None]
        if method == "J2R":
            last = np.where(mask.any(axis=2), T - 1 - np.argmax(mask[..., ::-1], axis=2), -1)
            post = (np.arange(T) > last[..., None])[:, None]
            mvec = np.where(is_tr & post, mu_ref, mu_own)
        else:  # CR
            mvec = np.where(is_tr, mu_ref, mu_own)
    # residuals from the assumption's mean, visit by visit: an observed cell keeps its own,
    # a missing one is the regression on the earlier residuals plus its normal draw
    obs = mask[:, None]
    res = np.where(obs, y[:, None] - mvec, 0.0)
    for j in range(T):
        draw_j = np.einsum("rml,rmnl->rmn", coef[j], res[..., :j]) + s[:, :, j, None] * e[..., j]
        res[..., j] = np.where(obs[..., j], res[..., j], draw_j)
    return np.where(obs, y[:, None], mvec + res)
