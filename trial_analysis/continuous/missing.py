"""Missing data: multiple imputation under MAR and reference-based assumptions, Rubin's rules,
and the delta-adjusted tipping-point analysis (ICH E9(R1) sensitivity analyses).

Imputation model: the MMRM of :mod:`trial_analysis.mmrm` (arm x visit and baseline x visit
means, unstructured covariance shared by the arms). Each imputation draws the model's
parameters by the approximate Bayesian bootstrap (resample subjects within arm, refit by
REML: the "approxbayes" method of R's rbmi, von Hippel & Bartlett 2021), then draws each
subject's missing values from their conditional normal distribution given the observed ones.
The mean vector depends on the assumption (Carpenter, Roger & Kenward 2013):

``"MAR"``
    the subject's own arm at every visit.
``"J2R"`` (jump to reference)
    own arm up to the last observed visit, the reference arm's mean after it.
``"CR"`` (copy reference)
    the reference arm's mean at every visit, observed ones included.

Reference-based assumptions apply to the ``treatment`` arm's missing values after dropout
(the visits after its last observed one); missing values before that (intermittent) and all
of the reference arm's are imputed under MAR (J2R) — as rbmi does. Each completed data set is
analysed by ANCOVA at one visit (``outcome ~ arm + baseline``) and the m results are pooled by
Rubin's rules (:func:`rubin`).

Every function takes ``seed`` (int or :class:`numpy.random.Generator`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_alpha, check_choice, check_conf_level, check_count
from ..errors import AnalysisError, ParameterError
from ..results import SYNTHETIC_NOTE, Result, to_jsonable
from ._mi_batch import mi_ancova_batch
from .mmrm import _normalise_covariance, _prepare, _start_sigma
from .mmrm._covariance import make_structure
from .mmrm._engine import Engine, build_patterns, single_blas_thread

__all__ = [
    "DRAWS",
    "METHODS",
    "Imputations",
    "MIResult",
    "PooledEstimate",
    "TippingPointResult",
    "impute",
    "mi_analysis",
    "mi_ancova_batch",
    "rubin",
    "tipping_point",
]

METHODS = ("MAR", "J2R", "CR")
DRAWS = ("bootstrap", "monotone")
_LABEL = {
    "MAR": "missing at random",
    "J2R": "jump to reference",
    "CR": "copy reference",
}


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ParameterError("seed", "a non-negative int or a numpy.random.Generator", seed)


# ====================================================================== Rubin's rules
@dataclass(frozen=True)
class PooledEstimate(Result):
    """Rubin's rules: the pooled estimate of m completed-data analyses (see :func:`rubin`)."""

    m: int
    estimate: float
    ubar: float
    b: float
    t: float
    df: float
    r: float
    fmi: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    conf_level: float
    dfcom: float
    title: ClassVar[str] = "Multiple-imputation estimate pooled by Rubin's rules"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "estimate": self.estimate,
                    "se": self.se,
                    "df": self.df,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "p_value": self.p_value,
                    "m": self.m,
                    "ubar": self.ubar,
                    "b": self.b,
                    "t": self.t,
                    "r": self.r,
                    "fmi": self.fmi,
                }
            ]
        )


def rubin(
    estimates: Any, variances: Any, dfcom: float = math.inf, conf_level: float = 0.95
) -> PooledEstimate:
    """Pool m completed-data estimates and their variances by Rubin's rules.

    Parameters
    ----------
    estimates, variances : array_like, shape (m,)
        Each completed data set's estimate and its squared standard error (m >= 2).
    dfcom : float
        Complete-data degrees of freedom (e.g. n - p of the analysis model); ``inf`` for the
        large-sample df of Rubin (1987).
    conf_level : float
        Level of the t-based confidence interval.

    Returns
    -------
    PooledEstimate
        ``estimate`` (qbar), ``ubar``, ``b``, ``t``, ``df``, ``r``, ``fmi``, ``se = sqrt(t)``,
        CI and two-sided p-value from the t distribution with ``df``.

    Notes
    -----
    qbar = mean(Q), ubar = mean(U), b = var(Q) (ddof 1), t = ubar + (1 + 1/m) b,
    r = (1 + 1/m) b / ubar, lambda = (1 + 1/m) b / t. Degrees of freedom of Barnard & Rubin
    (1999): nu_old = (m - 1) / lambda^2, nu_obs = (dfcom + 1)/(dfcom + 3) dfcom (1 - lambda),
    nu = nu_old nu_obs / (nu_old + nu_obs) (nu_old when dfcom is infinite), with lambda
    floored at 1e-4 as R's ``mice`` does; fmi = (r + 2/(nu + 3)) / (r + 1).
    Matches ``mice::pool.scalar(Q, U, n = dfcom + 1, k = 1)`` (tests/test_missing.py).

    References
    ----------
    .. [1] Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.
    .. [2] Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation.
       Biometrika 1999;86:948-955.

    Examples
    --------
    >>> from trial_analysis.missing import rubin
    >>> round(rubin([1.0, 1.2, 0.9], [0.04, 0.05, 0.045]).estimate, 4)
    1.0333
    """
    Q = np.asarray(estimates, dtype=float).ravel()
    U = np.asarray(variances, dtype=float).ravel()
    conf_level = check_conf_level(conf_level)
    if Q.size < 2 or Q.size != U.size:
        raise ParameterError(
            "estimates/variances", "two arrays of the same length m >= 2", (Q.size, U.size)
        )
    if not (np.all(np.isfinite(Q)) and np.all(np.isfinite(U)) and np.all(U > 0)):
        raise ParameterError("variances", "finite estimates and variances > 0", U.tolist())
    if not (isinstance(dfcom, (int, float)) and dfcom > 0):
        raise ParameterError("dfcom", "a number > 0 (or math.inf)", dfcom)
    m = Q.size
    qbar, ubar, b = float(Q.mean()), float(U.mean()), float(Q.var(ddof=1))
    t = ubar + (1 + 1 / m) * b
    r = (1 + 1 / m) * b / ubar
    lam = max((1 + 1 / m) * b / t, 1e-4)
    df_old = (m - 1) / lam**2
    if math.isinf(dfcom):
        df = df_old
    else:
        df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
        df = df_old * df_obs / (df_old + df_obs)
    fmi = (r + 2 / (df + 3)) / (r + 1)
    se = math.sqrt(t)
    q = stats.t.ppf(0.5 + conf_level / 2, df)
    p = float(2 * stats.t.sf(abs(qbar / se), df))
    return PooledEstimate(
        m,
        qbar,
        ubar,
        b,
        t,
        float(df),
        r,
        float(fmi),
        se,
        qbar - q * se,
        qbar + q * se,
        p,
        conf_level,
        float(dfcom),
    )


# ====================================================================== imputation
@dataclass(frozen=True, eq=False)
class Imputations(Result):
    """m completed data sets (see :func:`impute`).

    ``values`` has shape (m, n_subjects, n_visits); ``observed`` (n_subjects, n_visits) marks
    the observed cells and ``post_dropout`` the cells after a subject's last observed visit.
    """

    method: str
    arms: tuple
    visits: tuple
    reference: Any
    treatment: Any
    subjects: tuple
    subject_arm: np.ndarray
    baseline: np.ndarray | None
    values: np.ndarray
    observed: np.ndarray
    post_dropout: np.ndarray
    columns: dict
    synthetic: bool = False
    draws: str = "bootstrap"
    title: ClassVar[str] = "Multiple imputations"

    @property
    def m(self) -> int:
        return self.values.shape[0]

    def to_frame(self) -> pd.DataFrame:
        """Counts of imputed values by arm and visit."""
        miss = ~self.observed
        rows = []
        for a_i, a in enumerate(self.arms):
            sel = self.subject_arm == a_i
            for t_i, v in enumerate(self.visits):
                rows.append(
                    {
                        "arm": a,
                        "visit": v,
                        "n": int(sel.sum()),
                        "n_missing": int(miss[sel, t_i].sum()),
                        "n_after_dropout": int(self.post_dropout[sel, t_i].sum()),
                    }
                )
        return pd.DataFrame(rows)

    def completed(self, i: int, delta: float = 0.0) -> pd.DataFrame:
        """Completed data set ``i`` in long format (``imputed`` column marks imputed values);
        ``delta`` is added to the treatment arm's values imputed after dropout."""
        c = self.columns
        y = self.values[i] + delta * self._delta_mask()
        n, T = y.shape
        out = pd.DataFrame(
            {
                c["subject"]: np.repeat(np.array(self.subjects, dtype=object), T),
                c["arm"]: np.repeat(np.array(self.arms, dtype=object)[self.subject_arm], T),
                c["visit"]: np.tile(np.array(self.visits, dtype=object), n),
                c["outcome"]: y.ravel(),
                "imputed": (~self.observed).ravel(),
            }
        )
        if self.baseline is not None:
            out[c["baseline"]] = np.repeat(self.baseline, T)
        return out

    def _delta_mask(self) -> np.ndarray:
        tr = self.arms.index(self.treatment)
        return self.post_dropout & (self.subject_arm == tr)[:, None]


def _subject_table(data, subject, arm, baseline) -> pd.DataFrame:
    """Arm (and baseline) of every subject of ``data``, also those with no observed outcome."""
    cols = [subject, arm] + ([baseline] if baseline else [])
    return data[cols].dropna().drop_duplicates(subject).set_index(subject)


def _fit_draw(X, y, mask, covariance, T, start=None):
    """REML fit of the imputation model: (beta, Sigma, (theta, inverse Hessian)).

    ``start`` = (theta, inverse Hessian) of the full-data fit: BFGS started there with that
    curvature needs a handful of iterations on a bootstrap sample.
    """
    st = make_structure(covariance, T)
    eng = Engine(build_patterns(X, y, mask), st, int(mask.sum()), X.shape[2])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if start is None or not np.isfinite(eng.objective(start[0])[0]):
            theta, info = eng.fit(st.start(_start_sigma(X, y, mask)), polish=True)
            H = info["hessian"]
            hinv = np.linalg.inv(H) if np.linalg.eigvalsh(H)[0] > 0 else None
            if hinv is not None:
                hinv = 0.5 * (hinv + hinv.T)
        else:
            # a loose gradient tolerance: the draw's own sampling noise is far larger
            theta, _ = eng.fit(start[0], polish=False, gtol=1e-4, hess_inv0=start[1])
            hinv = start[1]
        S = st.sigma(theta)
        ev = eng.evaluate_sigma(S)
    if ev is None or np.linalg.eigvalsh(S)[0] <= 1e-10 * np.max(np.diag(S)):
        raise FloatingPointError("singular covariance")
    return ev.beta, S, (theta, hinv)


def impute(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
    *,
    method: str = "MAR",
    reference: Any = None,
    treatment: Any = None,
    m: int = 20,
    seed: Any,
    covariance: str = "unstructured",
    draws: str = "bootstrap",
) -> Imputations:
    """Multiply impute missing visits under MAR, jump-to-reference or copy-reference.

    Parameters
    ----------
    data, outcome, subject, visit, arm, baseline
        Long data as for :func:`trial_analysis.mmrm.fit`. Subjects whose every outcome is
        missing are kept (they need an arm and, if used, a baseline on some row).
    method : {"MAR", "J2R", "CR"}
        Imputation assumption for the treatment arm's values after dropout.
    reference : arm level
        The control arm. Required for J2R and CR; default for MAR the first arm level.
    treatment : arm level, optional
        The arm the reference-based assumption applies to; default the other arm (two arms).
    m : int
        Number of imputations (>= 2).
    seed : int or numpy.random.Generator
        Seeds the bootstrap and the draws; the same seed gives the same imputations.
    covariance : str
        Covariance structure of the imputation model (default unstructured).
    draws : {"bootstrap", "monotone"}
        How each imputation draws the model's parameters. ``"bootstrap"`` (default): refit
        the MMRM by REML on a bootstrap sample (approximate Bayesian bootstrap; any
        missingness pattern, any covariance). ``"monotone"``: exact draws from the posterior
        of the sequential regressions the MMRM factorises into when missingness is monotone
        (SAS PROC MI ``MONOTONE REG``; Rubin 1987 p. 167; see
        ``trial_analysis/continuous/_monotone.py``); needs dropout only (no intermittent
        missing visit) and the unstructured covariance, and is about a hundred times faster.

    Returns
    -------
    Imputations

    Notes
    -----
    Draw k: resample subjects with replacement within arm, refit the MMRM by REML to get
    (beta_k, Sigma_k) (approximate Bayesian bootstrap; a sample whose fit fails is redrawn,
    at most 20 times), then for subject i with observed set o and missing set u draw
    y_u ~ N(mu_u + S_uo S_oo^-1 (y_o - mu_o), S_uu - S_uo S_oo^-1 S_ou), where mu is the
    mean vector of the assumption (module docstring) evaluated at the subject's baseline.

    References
    ----------
    .. [1] Carpenter JR, Roger JH, Kenward MG. Analysis of longitudinal trials with protocol
       deviation: a framework for relevant, accessible assumptions, and inference via multiple
       imputation. J Biopharm Stat 2013;23:1352-1371.
    .. [2] von Hippel PT, Bartlett JW. Maximum likelihood multiple imputation: faster
       imputations and consistent standard errors without posterior draws. Stat Sci
       2021;36:400-420.
    .. [3] ICH E9(R1) addendum on estimands and sensitivity analysis, 2019.
    """
    method = check_choice("method", method.upper() if isinstance(method, str) else method, METHODS)
    draws = check_choice("draws", draws, DRAWS)
    m = check_count("m", m, minimum=2)
    rng = _rng(seed)
    covariance = _normalise_covariance(covariance)
    if draws == "monotone" and covariance != "unstructured":
        raise ParameterError(
            "covariance",
            "'unstructured' with draws='monotone' (the sequential regressions span every "
            "covariance; use draws='bootstrap' for a structured one)",
            covariance,
        )
    prep = _prepare(data, outcome, subject, visit, arm, baseline, None)
    arms, visits = prep.arms, prep.visits
    if reference is None:
        if method != "MAR":
            raise ParameterError(
                "reference", f"the control arm (one of {arms!r}) for method={method!r}", None
            )
        reference = arms[0]
    if reference not in arms:
        raise ParameterError("reference", f"one of the arm levels {arms!r}", reference)
    others = [a for a in arms if a != reference]
    if treatment is None:
        if len(others) != 1:
            raise ParameterError("treatment", f"one of {others!r} (more than two arms)", None)
        treatment = others[0]
    if treatment not in others:
        raise ParameterError(
            "treatment", f"an arm other than the reference, one of {others!r}", treatment
        )

    # subjects: those with data (prep order), plus those with no observed outcome
    subj_info = _subject_table(data, subject, arm, baseline)
    obs_subjects = list(pd.unique(data.loc[data[outcome].notna(), subject]))
    extra = [s for s in subj_info.index if s not in set(obs_subjects)]
    subjects = obs_subjects + extra
    amap = {a: i for i, a in enumerate(arms)}
    s_arm = np.array([amap[subj_info.loc[s, arm]] for s in subjects])
    base = np.array([float(subj_info.loc[s, baseline]) for s in subjects]) if baseline else None
    T, n = len(visits), len(subjects)
    Xown = prep.design_rows(s_arm, base)
    y = np.zeros((n, T))
    mask = np.zeros((n, T), dtype=bool)
    y[: prep.n_subjects] = prep.yfull
    mask[: prep.n_subjects] = prep.mask
    Xref = prep.design_rows(np.full(n, amap[reference]), base)
    last = np.array([np.max(np.flatnonzero(r)) if r.any() else -1 for r in mask])
    post = np.arange(T)[None, :] > last[:, None]
    is_tr = s_arm == amap[treatment]

    with single_blas_thread():
        if draws == "monotone":
            values = _draw_monotone(
                y,
                mask,
                s_arm,
                base,
                len(arms),
                amap,
                reference,
                treatment,
                method,
                m,
                rng,
                subjects,
                visits,
            )
        else:
            values = _draw_all(Xown, Xref, y, mask, s_arm, is_tr, post, method, covariance, m, rng)
    cols = {
        "outcome": outcome,
        "subject": subject,
        "visit": visit,
        "arm": arm,
        "baseline": baseline,
    }
    synthetic = bool(getattr(data, "attrs", {}).get("synthetic", False))
    return Imputations(
        method,
        tuple(arms),
        tuple(visits),
        reference,
        treatment,
        tuple(subjects),
        s_arm,
        base,
        values,
        mask,
        post & ~mask,
        cols,
        synthetic,
        draws,
    )


def _draw_all(Xown, Xref, y, mask, s_arm, is_tr, post, method, covariance, m, rng):
    """The m imputation draws, shape (m, n_subjects, n_visits)."""
    n, T = y.shape
    arms = np.unique(s_arm)
    values = np.empty((m, n, T))
    have = [np.flatnonzero((s_arm == a) & mask.any(axis=1)) for a in arms]
    try:
        *_, start = _fit_draw(Xown, y, mask, covariance, T)
    except (FloatingPointError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(
            f"the imputation model ({covariance} covariance) does not fit the observed data "
            f"({exc}); use a simpler covariance, e.g. covariance='cs'"
        ) from exc
    for k in range(m):
        for _attempt in range(20):
            boot = np.concatenate([rng.choice(h, size=len(h), replace=True) for h in have])
            try:
                beta, S, _ = _fit_draw(Xown[boot], y[boot], mask[boot], covariance, T, start)
                break
            except (FloatingPointError, np.linalg.LinAlgError, ValueError):
                continue
        else:
            raise AnalysisError(
                f"the imputation model ({covariance} covariance) failed to fit on 20 bootstrap "
                "samples; use a simpler covariance (covariance='cs') or check the data"
            )
        mu_own = Xown @ beta
        mu_ref = Xref @ beta
        if method == "MAR":
            mu = mu_own
        elif method == "J2R":
            mu = np.where(is_tr[:, None] & post, mu_ref, mu_own)
        else:  # CR: the treatment arm's whole mean profile is the reference arm's
            mu = np.where(is_tr[:, None], mu_ref, mu_own)
        values[k] = _conditional_draw(y, mask, mu, S, rng)
    return values


def _draw_monotone(
    y, mask, s_arm, base, k, amap, reference, treatment, method, m, rng, subjects, visits
):
    """The m imputations by exact posterior draws of the sequential regressions."""
    from . import _monotone

    bad = np.flatnonzero(_monotone.monotone_violation(mask))
    if len(bad):
        i = int(bad[0])
        gap = int(np.argmin(mask[i]))
        raise ParameterError(
            "draws",
            "'bootstrap' for data with intermittent missing visits ('monotone' needs dropout "
            f"only: subject {subjects[i]!r} misses visit {visits[gap]!r} but is observed "
            f"later; {len(bad)} such subject(s))",
            "monotone",
        )
    n, T = y.shape
    one = np.ones((1, n), bool)
    b = None if base is None else base[None]
    fits, ok = _monotone.fit(y[None], mask[None], one, s_arm[None], b, k)
    if not ok[0]:
        raise AnalysisError(
            "the imputation model cannot be fitted visit by visit (draws='monotone'): some "
            "visit has fewer observed subjects than regressors, an arm without data or "
            "collinear values; use draws='bootstrap' or check the data"
        )
    df = np.array([f[3][0] for f in fits])
    p_max = k + (base is not None) + T - 1
    cells = np.flatnonzero(~mask.ravel())
    g, z, e = _monotone.draw(rng, df, p_max, len(cells), m)
    E = np.zeros((m, n * T))
    E[:, cells] = e
    values = _monotone.impute(
        fits,
        k,
        amap[reference],
        amap[treatment],
        method,
        g[None],
        z[None],
        y[None],
        mask[None],
        s_arm[None],
        b,
        E.reshape(1, m, n, T),
    )
    return values[0]


def _conditional_draw(y, mask, mu, S, rng) -> np.ndarray:
    """Draw the missing cells of every row from N(mu, S) given the observed cells."""
    out = np.where(mask, y, 0.0)
    T = y.shape[1]
    keys = mask @ (1 << np.arange(T))
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        o = np.flatnonzero(mask[rows[0]])
        u = np.flatnonzero(~mask[rows[0]])
        if len(u) == 0:
            continue
        if len(o):
            Soo = S[np.ix_(o, o)]
            Suo = S[np.ix_(u, o)]
            A = np.linalg.solve(Soo, Suo.T).T  # S_uo S_oo^-1
            cond_mu = mu[np.ix_(rows, u)] + (y[np.ix_(rows, o)] - mu[np.ix_(rows, o)]) @ A.T
            cond_S = S[np.ix_(u, u)] - A @ Suo.T
        else:
            cond_mu = mu[np.ix_(rows, u)]
            cond_S = S[np.ix_(u, u)]
        L = np.linalg.cholesky(0.5 * (cond_S + cond_S.T))
        z = rng.standard_normal((len(rows), len(u)))
        out[np.ix_(rows, u)] = cond_mu + z @ L.T
    return out


# ====================================================================== analysis
def _ancova(imp: Imputations, t_idx: int, delta: float):
    """Per-imputation ANCOVA at visit t: estimates and variances of treatment - reference."""
    n = len(imp.subjects)
    a_ref = imp.arms.index(imp.reference)
    cols = [np.ones(n)]
    names = []
    for a_i, a in enumerate(imp.arms):
        if a_i != a_ref:
            cols.append((imp.subject_arm == a_i).astype(float))
            names.append(a)
    if imp.baseline is not None:
        cols.append(imp.baseline)
    X = np.column_stack(cols)
    Y = imp.values[:, :, t_idx].T + delta * imp._delta_mask()[:, t_idx][:, None]
    XtX_inv = np.linalg.inv(X.T @ X)
    B = XtX_inv @ X.T @ Y
    R = Y - X @ B
    dfres = n - X.shape[1]
    s2 = np.sum(R**2, axis=0) / dfres
    j = 1 + names.index(imp.treatment)
    return B[j], s2 * XtX_inv[j, j], dfres


@dataclass(frozen=True, eq=False)
class MIResult(Result):
    """Treatment effect at one visit from multiply imputed data (see :func:`mi_analysis`)."""

    method: str
    visit: Any
    contrast: str
    pooled: PooledEstimate
    estimates: np.ndarray
    variances: np.ndarray
    seed_info: str
    synthetic: bool = False
    title: ClassVar[str] = "Multiple imputation, ANCOVA at one visit, Rubin's rules"

    def to_frame(self) -> pd.DataFrame:
        p = self.pooled
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "visit": self.visit,
                    "contrast": self.contrast,
                    "estimate": p.estimate,
                    "se": p.se,
                    "df": p.df,
                    "ci_low": p.ci_low,
                    "ci_high": p.ci_high,
                    "p_value": p.p_value,
                    "m": p.m,
                    "fmi": p.fmi,
                }
            ]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        out = [f"Imputation under {_LABEL[self.method]} ({self.method}); {self.seed_info}."]
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)


def _imputations(
    imputations: Imputations | None, *data_args: Any, seed: Any, **kw: Any
) -> Imputations:
    """``imputations`` when given, else :func:`impute` on the data (which then needs a seed)."""
    if imputations is not None:
        return imputations
    if seed is None:
        raise ParameterError(
            "seed", "an int or numpy.random.Generator (imputation is random)", seed
        )
    return impute(*data_args, seed=seed, **kw)


def _visit_index(imp: Imputations, at_visit: Any) -> int:
    if at_visit is None:
        return len(imp.visits) - 1
    if at_visit not in imp.visits:
        raise ParameterError("at_visit", f"one of the visits {list(imp.visits)!r}", at_visit)
    return list(imp.visits).index(at_visit)


def mi_analysis(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
    *,
    method: str = "MAR",
    reference: Any = None,
    treatment: Any = None,
    at_visit: Any = None,
    m: int = 50,
    seed: Any = None,
    conf_level: float = 0.95,
    imputations: Imputations | None = None,
    draws: str = "bootstrap",
) -> MIResult:
    """Impute (:func:`impute`), analyse each completed data set by ANCOVA at ``at_visit``
    (default the last visit: ``outcome ~ arm [+ baseline]``), pool by Rubin's rules.

    The estimate is ``treatment - reference``; complete-data df = n - (arms + baseline).
    Pass ``imputations=`` (from :func:`impute`) to analyse existing imputations; the data
    arguments and ``seed`` are then not used. ``seed`` is required otherwise. ``draws``
    chooses how the imputation model's parameters are drawn (:func:`impute`).

    Examples
    --------
    >>> r = ta.missing.mi_analysis(df, "hba1c", "id", "week", "arm", "base", method="J2R",
    ...                            reference="Placebo", m=50, seed=2022)  # doctest: +SKIP
    """
    conf_level = check_conf_level(conf_level)
    imputations = _imputations(
        imputations,
        data,
        outcome,
        subject,
        visit,
        arm,
        baseline,
        method=method,
        reference=reference,
        treatment=treatment,
        m=m,
        seed=seed,
        draws=draws,
    )
    t_idx = _visit_index(imputations, at_visit)
    est, var, dfcom = _ancova(imputations, t_idx, 0.0)
    pooled = rubin(est, var, dfcom=dfcom, conf_level=conf_level)
    return MIResult(
        imputations.method,
        imputations.visits[t_idx],
        f"{imputations.treatment} - {imputations.reference}",
        pooled,
        est,
        var,
        f"m = {imputations.m} imputations, seed {seed!r}"
        + (
            "; parameters drawn exactly from the posterior of the sequential regressions "
            "(monotone dropout)"
            if imputations.draws == "monotone"
            else "; parameters drawn by the approximate Bayesian bootstrap"
        ),
        imputations.synthetic,
    )


# ====================================================================== tipping point
@dataclass(frozen=True, eq=False)
class TippingPointResult(Result):
    """Delta-adjusted sensitivity analysis (see :func:`tipping_point`)."""

    method: str
    visit: Any
    contrast: str
    alpha: float
    table: pd.DataFrame
    tipping_delta: float | None
    message: str
    synthetic: bool = False
    title: ClassVar[str] = (
        "Tipping-point analysis: delta added to the treatment arm's imputed values"
    )

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            self.message,
            f"Base imputation: {_LABEL[self.method]}; delta added to the treatment arm's "
            "values imputed after dropout; ANCOVA at the visit; Rubin's rules.",
        ]
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["tipping_delta"] = to_jsonable(self.tipping_delta)
        return d

    def plot(self, *, ax: Any = None):
        """p-value against delta with the alpha line and the tipping point."""

        from .._figures import TrialFigure

        if ax is None:
            fig = TrialFigure(figsize=(6.0, 3.8))
            ax = fig.add_subplot(1, 1, 1)
        else:
            fig = ax.figure
        ax.plot(self.table["delta"], self.table["p_value"], marker="o")
        ax.axhline(self.alpha, color="grey", linestyle="--", label=f"alpha = {self.alpha:g}")
        if self.tipping_delta is not None:
            ax.axvline(
                self.tipping_delta,
                color="red",
                linestyle=":",
                label=f"tipping point delta = {self.tipping_delta:.3g}",
            )
        ax.set_xlabel("delta added to the treatment arm's imputed values")
        ax.set_ylabel("p-value")
        # the arms by name ("treatment - reference"; names from the data: plain text)
        ax.set_title(self.contrast.replace(" - ", " \u2212 "), parse_math=False)
        ax.legend(frameon=False)
        return fig


def tipping_point(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
    *,
    deltas: Any = None,
    method: str = "MAR",
    reference: Any = None,
    treatment: Any = None,
    at_visit: Any = None,
    m: int = 50,
    seed: Any = None,
    alpha: float = 0.05,
    imputations: Imputations | None = None,
    draws: str = "bootstrap",
) -> TippingPointResult:
    """Delta-adjusted tipping-point analysis.

    Values imputed (under ``method``) after dropout in the treatment arm are shifted by
    ``delta``; each shifted completed data set is analysed by ANCOVA at ``at_visit`` and
    pooled by Rubin's rules. The tipping point is the delta at which the pooled p-value
    reaches ``alpha`` (found by Brent's method between the grid points that bracket it; the
    same imputations are used for every delta, so p(delta) is a smooth function).

    Parameters
    ----------
    deltas : array_like, optional
        Grid of shifts (outcome units). Default: 21 values from 0 in the direction that
        weakens the estimated effect, up to 3 times |estimate| + 4 SE / (share of imputed
        treatment-arm values at the visit).
    alpha : float
        Significance level defining the tipping point.
    Other parameters as for :func:`mi_analysis`.

    Returns
    -------
    TippingPointResult
        ``table`` (delta, estimate, se, df, ci_low, ci_high, p_value), ``tipping_delta``
        (``None`` when p does not cross alpha over the grid, with the reason in ``message``).

    References
    ----------
    .. [1] Ratitch B, O'Kelly M, Tosiello R. Missing data in clinical trials: from clinical
       assumptions to statistical analysis using pattern mixture models. Pharm Stat
       2013;12:337-347.
    """
    alpha = check_alpha(alpha)
    imputations = _imputations(
        imputations,
        data,
        outcome,
        subject,
        visit,
        arm,
        baseline,
        method=method,
        reference=reference,
        treatment=treatment,
        m=m,
        seed=seed,
        draws=draws,
    )
    imp = imputations
    t_idx = _visit_index(imp, at_visit)
    n_shift = int(imp._delta_mask()[:, t_idx].sum())
    contrast = f"{imp.treatment} - {imp.reference}"

    def pooled(d: float) -> PooledEstimate:
        est, var, dfcom = _ancova(imp, t_idx, d)
        return rubin(est, var, dfcom=dfcom)

    p0 = pooled(0.0)
    if deltas is None:
        n_tr = int(np.sum(imp.subject_arm == imp.arms.index(imp.treatment)))
        share = max(n_shift / max(n_tr, 1), 1e-3)
        span = (3 * abs(p0.estimate) + 4 * p0.se) / share
        direction = -np.sign(p0.estimate) if p0.estimate != 0 else 1.0
        deltas = direction * np.linspace(0.0, span, 21)
    deltas = np.asarray(deltas, dtype=float).ravel()
    if deltas.size == 0 or not np.all(np.isfinite(deltas)):
        raise ParameterError("deltas", "a non-empty array of finite numbers", deltas)
    rows = []
    for d in deltas:
        pe = pooled(float(d))
        rows.append(
            {
                "delta": float(d),
                "estimate": pe.estimate,
                "se": pe.se,
                "df": pe.df,
                "ci_low": pe.ci_low,
                "ci_high": pe.ci_high,
                "p_value": pe.p_value,
            }
        )
    table = pd.DataFrame(rows)
    tip = None
    if n_shift == 0:
        msg = "No treatment-arm value is imputed after dropout at this visit: delta has no effect."
    else:
        sig = (table["p_value"] < alpha).to_numpy()
        cross = np.flatnonzero(sig[:-1] != sig[1:])
        if len(cross):
            i = int(cross[0])
            a, b = float(table["delta"].iloc[i]), float(table["delta"].iloc[i + 1])
            tip = float(optimize.brentq(lambda d: pooled(d).p_value - alpha, a, b, xtol=1e-10))
            msg = (
                f"Tipping point: delta = {tip:.4g} ({imp.columns['outcome']} units) added to "
                f"{n_shift} imputed treatment-arm value(s) at the visit makes p = {alpha:g}."
            )
        elif sig.all():
            msg = f"p < {alpha:g} over the whole grid of deltas: no tipping point within it; widen `deltas`."
        else:
            msg = f"p >= {alpha:g} over the whole grid of deltas (no significant result to tip)."
    return TippingPointResult(
        imp.method, imp.visits[t_idx], contrast, alpha, table, tip, msg, imp.synthetic
    )
