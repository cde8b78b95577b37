"""Mixed model for repeated measures (MMRM): REML, structured residual covariances,
Satterthwaite and Kenward-Roger degrees of freedom, least-squares means and arm contrasts.

The model for subject i at visit t (one row of ``data`` per subject and visit)::

    y_it = mu + visit_t + arm_a(i) + (arm x visit)_{a(i),t}
           [+ beta * base_i + (base x visit)_t] + e_it,      e_i ~ N(0, Sigma[o_i, o_i])

fitted by restricted maximum likelihood (REML) over every observed visit, so that a subject
with missing visits contributes what was observed (valid under missing at random). The entry
point is :func:`fit`; :func:`compare_covariances` ranks covariance structures by AIC/BIC.

>>> import trial_analysis as ta
>>> res = ta.mmrm.fit(df, "AVAL", "USUBJID", "AVISITN", "ARM", baseline="BASE")  # doctest: +SKIP
>>> res.contrasts  # one row per visit: second arm level minus first  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..._validate import CONTROL_ARM_RE, check_choice, check_conf_level
from ...errors import (
    AnalysisError,
    ConvergenceWarning,
    DataValidationError,
    ParameterError,
    Problem,
)
from ...results import SYNTHETIC_NOTE, Result, to_jsonable
from ._batch import fit_batch
from ._covariance import ALIASES, COVARIANCES, LABELS, make_structure
from ._engine import (
    Engine,
    build_patterns,
    fixed_effect_derivatives,
    kenward_roger,
    kenward_roger_df,
    satterthwaite_df,
    single_blas_thread,
)

__all__ = [
    "COVARIANCES",
    "DF_METHODS",
    "CovarianceComparison",
    "MMRMResult",
    "compare_covariances",
    "fit",
    "fit_batch",
]

DF_METHODS = ("satterthwaite", "kenward-roger")
WEIGHTS = ("equal", "proportional")
VCOVS = ("model", "empirical")


# ====================================================================== data preparation
@dataclass
class _Prepared:
    visits: list
    arms: list
    reference: Any
    names: list[str]
    Xfull: np.ndarray  # (n_subj, T, p)
    yfull: np.ndarray  # (n_subj, T)
    mask: np.ndarray  # (n_subj, T)
    base_mean: float | None
    n_obs: int
    n_subjects: int
    has_baseline: bool
    counts: pd.DataFrame  # visit x arm observation counts
    design_rows: Callable[..., np.ndarray]  # (arm idx, base[, covariate row]) -> X
    covariates: tuple[str, ...] = ()
    #: covariate design row of the LS-means grid by weighting ("equal", "proportional")
    covariate_grid: dict = field(default_factory=dict)


def _py(v: Any) -> Any:
    """numpy scalar -> Python scalar, so that messages show 24, not np.int64(24)."""
    return v.item() if isinstance(v, np.generic) else v


def _levels(s: pd.Series, *, sort: bool) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [_py(v) for v in s.cat.categories]
    vals = pd.unique(s.dropna())
    if sort and pd.api.types.is_numeric_dtype(s):
        return sorted(vals.tolist())
    return [_py(v) for v in vals]


def _reference(arms: Sequence[Any], reference: Any) -> Any:
    """The control arm: ``reference`` when given (one of ``arms``), else the level named like
    a control (placebo, control, vehicle, sham, standard/usual care), else the first level —
    estimates are experimental - control. The rule of fit, fit_batch and mi_ancova_batch."""
    if reference is None:
        named = [a for a in arms if CONTROL_ARM_RE.search(str(a))]
        return named[0] if len(named) == 1 else arms[0]
    if reference not in arms:
        raise ParameterError("reference", f"one of the arm levels {arms!r}", reference)
    return reference


def _check_columns(
    data: Any, named: Sequence[tuple[str, Any]], cols: Sequence[Any] | None = None
) -> None:
    """A long frame of replicate trials: ``data`` is a DataFrame, every ``(parameter,
    column)`` of ``named`` names one of its columns, and the columns (``cols``, default those
    of ``named``) are different."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data",
            "a pandas DataFrame (one row per replicate, subject and visit)",
            type(data).__name__,
        )
    for pname, col in named:
        if not isinstance(col, str) or col not in data.columns:
            raise ParameterError(
                pname, f"a column of data ({', '.join(map(str, data.columns))})", col
            )
    cols = [c for _, c in named] if cols is None else list(cols)
    if len(set(cols)) != len(cols):
        raise ParameterError(
            "outcome/subject/visit/arm/replicate/baseline", "different columns", cols
        )


def _codes(s: Any, levels: Sequence[Any]) -> np.ndarray:
    """Position of each value of ``s`` in ``levels`` (-1 when absent or missing): the codes of
    ``pd.Categorical(s, categories=levels)``, by one factorisation of the distinct values
    (several times faster on millions of rows of a few arms, visits or replicates)."""
    codes, uniq = pd.factorize(s)
    where = pd.Index(list(levels)).get_indexer(uniq) if len(uniq) else np.zeros(0, np.intp)
    return np.where(codes >= 0, np.append(where, -1)[codes], -1).astype(np.int64)


def _prepare(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None,
    reference: Any,
    covariates: Sequence[str] | None = None,
) -> _Prepared:
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data", "a pandas DataFrame (one row per subject and visit)", type(data).__name__
        )
    for pname, col in (("outcome", outcome), ("subject", subject), ("visit", visit), ("arm", arm)):
        if not isinstance(col, str) or col not in data.columns:
            raise ParameterError(
                pname, f"a column of data ({', '.join(map(str, data.columns))})", col
            )
    if baseline is not None and (not isinstance(baseline, str) or baseline not in data.columns):
        raise ParameterError(
            "baseline", f"None or a column of data ({', '.join(map(str, data.columns))})", baseline
        )
    if covariates is None:
        covs: tuple[str, ...] = ()
    else:
        covs = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    for c in covs:
        if not isinstance(c, str) or c not in data.columns:
            raise ParameterError(
                "covariates", f"column names of data ({', '.join(map(str, data.columns))})", c
            )
    cols = [subject, visit, arm, outcome] + ([baseline] if baseline else []) + list(covs)
    if len(set(cols)) != len(cols):
        raise ParameterError(
            "outcome/subject/visit/arm/baseline/covariates", "different columns", cols
        )
    df = data[cols].copy()
    problems: list[Problem] = []
    for col in [outcome] + ([baseline] if baseline else []):
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            problems.append(Problem("data", None, col, str(df[col].dtype), "must be numeric"))
    if problems:
        raise DataValidationError(problems)
    # Rows without an outcome carry no information in a likelihood analysis: dropped.
    visit_levels = _levels(df[visit], sort=True)
    arm_levels_all = _levels(df[arm], sort=False)
    df = df[df[outcome].notna()]
    for col in [subject, visit, arm] + ([baseline] if baseline else []) + list(covs):
        bad = df.index[df[col].isna()]
        for r in bad[:20]:
            problems.append(
                Problem(
                    "data",
                    int(r) + 2 if isinstance(r, (int, np.integer)) else None,
                    col,
                    None,
                    "is missing on a row with an outcome",
                )
            )
    if not np.all(np.isfinite(df[outcome].to_numpy(dtype=float))):
        problems.append(Problem("data", None, outcome, None, "has infinite values"))
    if problems:
        raise DataValidationError(problems)
    if df.empty:
        raise AnalysisError(f"no observed values of {outcome!r}: nothing to fit")
    # integer codes: the checks below run on numpy arrays, not on (possibly Arrow) strings
    subj_codes, subj_uniques = pd.factorize(df[subject])
    n = len(subj_uniques)
    vcode = pd.Categorical(df[visit], categories=visit_levels).codes.astype(int)
    acode = pd.Categorical(df[arm], categories=arm_levels_all).codes.astype(int)
    key = subj_codes.astype(np.int64) * len(visit_levels) + vcode
    uniq, cnt = np.unique(key, return_counts=True)
    if np.any(cnt > 1):
        bad = uniq[cnt > 1][:10]
        raise DataValidationError(
            [
                Problem(
                    "data",
                    None,
                    visit,
                    (
                        _py(subj_uniques[k // len(visit_levels)]),
                        visit_levels[k % len(visit_levels)],
                    ),
                    "subject has more than one row at this visit",
                )
                for k in bad
            ]
        )

    def per_subject_range(x: np.ndarray) -> np.ndarray:
        lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
        np.minimum.at(lo, subj_codes, x)
        np.maximum.at(hi, subj_codes, x)
        return hi - lo

    if baseline:
        b_rows = df[baseline].to_numpy(dtype=float)
        differ = np.flatnonzero(per_subject_range(b_rows) > 0)
        if len(differ):
            raise DataValidationError(
                [
                    Problem(
                        "data",
                        None,
                        baseline,
                        _py(subj_uniques[i]),
                        "baseline differs between a subject's rows",
                    )
                    for i in differ[:10]
                ]
            )
    # covariate design (numeric as is, others as treatment-coded factors, as R's model.matrix),
    # one value per subject like the baseline
    zcols: list[str] = []
    Zrows = np.zeros((len(df), 0))
    z_equal = np.zeros(0)
    if covs:
        from ...binary._adjusted import design_frame

        Zdf = design_frame(df.reset_index(drop=True), covs)
        zcols = [c if c in covs else "{}[{}]".format(*c.split("=", 1)) for c in Zdf.columns]
        Zrows = Zdf.to_numpy(dtype=float)
        for j, zc in enumerate(zcols):
            differ = np.flatnonzero(per_subject_range(Zrows[:, j]) > 0)
            if len(differ):
                col = zc.split("[", 1)[0]
                raise DataValidationError(
                    [
                        Problem(
                            "data",
                            None,
                            col,
                            _py(subj_uniques[i]),
                            "covariate differs between a subject's rows (covariates are "
                            "subject-level, like the baseline)",
                        )
                        for i in differ[:10]
                    ]
                )
        # LS-means grid (emmeans): numeric covariates at their mean over the analysed rows;
        # factor levels with equal weights (1/K each) or in proportion to their frequency
        z_equal = Zrows.mean(axis=0)
        for c in covs:
            dummies = [j for j, zc in enumerate(zcols) if zc.startswith(f"{c}[")]
            if c not in zcols:  # a factor with len(dummies) + 1 levels
                z_equal[dummies] = 1.0 / (len(dummies) + 1)
    q = len(zcols)
    two_arms = np.flatnonzero(per_subject_range(acode.astype(float)) > 0)
    if len(two_arms):
        raise DataValidationError(
            [
                Problem(
                    "data",
                    None,
                    arm,
                    _py(subj_uniques[two_arms[0]]),
                    "subject appears in more than one arm",
                )
            ]
        )
    counts_all = np.zeros((len(visit_levels), len(arm_levels_all)), dtype=int)
    np.add.at(counts_all, (vcode, acode), 1)
    empty_arms = [a for j, a in enumerate(arm_levels_all) if counts_all[:, j].sum() == 0]
    if empty_arms:
        raise AnalysisError(
            f"arm {empty_arms[0]!r} has no observed {outcome!r} values; an arm with no data cannot "
            "be compared (drop it, or remove the unused category)"
        )
    arms = arm_levels_all
    if len(arms) < 2:
        raise AnalysisError(
            f"the MMRM compares arms: `{arm}` has only one level with data ({arms!r})"
        )
    present = np.flatnonzero(counts_all.sum(axis=1) > 0)
    visits = [visit_levels[i] for i in present]
    if len(visits) < 2:
        raise AnalysisError(
            f"the MMRM needs at least 2 visits with data, got {visits!r}; for a single visit use "
            "an ANCOVA (ta.continuous)"
        )
    reference = _reference(arms, reference)

    T, A = len(visits), len(arms)
    counts = pd.DataFrame(counts_all[present], index=visits, columns=arms)
    for i, v in enumerate(visits):
        for j, a in enumerate(arms):
            if counts_all[present[i], j] == 0:
                raise AnalysisError(
                    f"no {outcome!r} values at visit {v!r} in arm {a!r}: the arm-by-visit mean is "
                    "not estimable (drop the visit, or pool visits)"
                )
    per_visit = counts_all[present].sum(axis=1)
    need = A + (1 if baseline else 0) + 1 + q
    thin = np.flatnonzero(per_visit < need)
    if len(thin):
        v = visits[thin[0]]
        raise AnalysisError(
            f"visit {v!r} has {int(per_visit[thin[0]])} subject(s) with {outcome!r}; the model "
            f"needs at least {need} there to estimate the visit's arm"
            f"{' and baseline' if baseline else ''}{' and covariate' if q else ''} effects and "
            "its variance (drop or pool the "
            "visit)"
        )
    remap = np.full(len(visit_levels), -1)
    remap[present] = np.arange(T)
    vi = remap[vcode]
    ai = acode
    subj_arm = np.zeros(n, dtype=int)
    subj_arm[subj_codes] = ai
    base = None
    base_mean = None
    Zsubj = np.zeros((n, q))
    Zsubj[subj_codes] = Zrows
    if baseline:
        base = np.zeros(n)
        base[subj_codes] = b_rows
        base_mean = float(np.mean(b_rows))  # emmeans: covariate mean over the rows of the fit

    # Columns in the order R's model.matrix uses for y ~ visit * arm + visit * base + covariates
    # (main effects in order of appearance, then the interactions)
    names = ["(Intercept)"]
    names += [f"{visit}[{v}]" for v in visits[1:]]
    names += [f"{arm}[{a}]" for a in arms[1:]]
    if baseline:
        names.append(baseline)
    names += zcols
    names += [f"{visit}[{v}]:{arm}[{a}]" for a in arms[1:] for v in visits[1:]]
    if baseline:
        names += [f"{visit}[{v}]:{baseline}" for v in visits[1:]]
    p = len(names)

    def rows(arm_idx: np.ndarray, b: np.ndarray | None, z: np.ndarray | None = None) -> np.ndarray:
        """Design rows for every visit: (len(arm_idx), T, p); ``z`` the covariate rows
        ((len(arm_idx), q), default the equal-weights LS-means grid)."""
        m = len(arm_idx)
        X = np.zeros((m, T, p))
        X[:, :, 0] = 1.0
        c = 1
        for t in range(1, T):
            X[:, t, c] = 1.0
            c += 1
        for a in range(1, A):
            X[:, :, c] = (arm_idx == a)[:, None]
            c += 1
        if b is not None:
            X[:, :, c] = b[:, None]
            c += 1
        if q:
            zz = np.broadcast_to(z_equal if z is None else z, (m, q))
            X[:, :, c : c + q] = zz[:, None, :]
            c += q
        for a in range(1, A):
            for t in range(1, T):
                X[:, t, c] = arm_idx == a
                c += 1
        if b is not None:
            for t in range(1, T):
                X[:, t, c] = b
                c += 1
        return X

    Xfull = rows(subj_arm, base, Zsubj)
    yfull = np.zeros((n, T))
    mask = np.zeros((n, T), dtype=bool)
    yfull[subj_codes, vi] = df[outcome].to_numpy(dtype=float)
    mask[subj_codes, vi] = True
    Xobs = Xfull[mask]
    # rank from the scaled cross-product (p x p) rather than an SVD of the N x p matrix
    xtx = Xobs.T @ Xobs
    dsc = np.sqrt(np.diag(xtx))
    if np.any(dsc == 0):
        rank = int(np.sum(dsc > 0))
    else:
        w = np.linalg.eigvalsh(xtx / np.outer(dsc, dsc))
        rank = int(np.sum(w > 1e-10 * w[-1]))
    if rank < p:
        raise AnalysisError(
            f"the fixed effects are not estimable (design rank {rank} < {p} columns); e.g. the "
            "baseline is constant within a visit, a covariate is constant or collinear with "
            "others, or an arm is confounded with the missing visits"
        )
    prep = _Prepared(
        visits,
        arms,
        reference,
        names,
        Xfull,
        yfull,
        mask,
        base_mean,
        int(mask.sum()),
        n,
        baseline is not None,
        counts,
        rows,
        covs,
        {"equal": z_equal, "proportional": Zrows.mean(axis=0)},
    )
    return prep


def _start_sigma(Xfull: np.ndarray, yfull: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Starting covariance: pairwise covariance of OLS residuals (made positive definite)."""
    X = Xfull[mask]
    y = yfull[mask]
    xtx = X.T @ X
    try:  # full column rank was checked in _prepare
        beta = np.linalg.solve(xtx, X.T @ y)
    except np.linalg.LinAlgError:
        beta = np.linalg.pinv(xtx) @ (X.T @ y)
    R = np.full(yfull.shape, np.nan)
    R[mask] = y - X @ beta
    S = pd.DataFrame(R).cov(min_periods=2).to_numpy()
    var = np.nanvar(R, axis=0)
    scale = max(float(np.max(np.abs(y))), 1.0)
    if not np.all(np.isfinite(var)) or np.max(var) <= (1e-8 * scale) ** 2:
        raise AnalysisError(
            "the outcome has no residual variance after the fixed effects: nothing to model"
        )
    var = np.where(var > 1e-8 * np.max(var), var, 1e-8 * np.max(var) + np.mean(var))
    S = np.where(np.isfinite(S), S, 0.0)
    np.fill_diagonal(S, var)
    w = np.linalg.eigvalsh(S)
    if w[0] <= 1e-6 * w[-1]:
        S = 0.7 * S + 0.3 * np.diag(np.diag(S)) if w[0] > -0.5 * w[-1] else np.diag(np.diag(S))
        if np.linalg.eigvalsh(S)[0] <= 0:
            S = np.diag(var)
    return S


# ====================================================================== results
def _t_table(est, se, df, conf_level):
    est, se, df = np.asarray(est, float), np.asarray(se, float), np.asarray(df, float)
    t = est / se
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(0.5 + conf_level / 2, df)
    return t, p, est - q * se, est + q * se


@dataclass(frozen=True, eq=False)
class MMRMResult(Result):
    """A fitted MMRM (see :func:`fit`).

    Attributes
    ----------
    contrasts : DataFrame
        One row per visit (and per comparison when there are more than two arms):
        ``visit, contrast, estimate, se, df, t_value, ci_low, ci_high, p_value``; the estimate
        is ``arm - reference`` (by default the second arm level minus the first).
    lsmeans : DataFrame
        ``visit, arm, estimate, se, df, ci_low, ci_high`` at the mean baseline.
    coef : DataFrame
        Fixed effects ``term, estimate, se, df, t_value, p_value`` (R's treatment coding).
    covariance : DataFrame
        The estimated within-subject covariance matrix, visits x visits.
    vcov : DataFrame
        Covariance of the fixed effects (Kenward-Roger-adjusted when ``df_method`` is KR).
    converged : bool
        Always True for a returned result: a fit that does not converge raises
        :class:`~trial_analysis.errors.AnalysisError` (or falls back, see ``fallback``).
    loglik, aic, bic : float
        REML log-likelihood; AIC = -2 loglik + 2 k and BIC = -2 loglik + k log(n_subjects),
        with k the number of covariance parameters (as R's mmrm and SAS PROC MIXED).
    """

    title: str
    outcome: str
    covariance_structure: str
    df_method: str
    conf_level: float
    arms: tuple
    visits: tuple
    reference: Any
    contrasts: pd.DataFrame
    lsmeans: pd.DataFrame
    coef: pd.DataFrame
    covariance: pd.DataFrame
    vcov: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    n_cov_params: int
    converged: bool
    n_subjects: int
    n_obs: int
    baseline_mean: float | None = None
    fit_info: dict = field(default_factory=dict)
    extra_notes: tuple[str, ...] = ()
    synthetic: bool = False
    covariates: tuple[str, ...] = ()
    weights: str = "equal"
    vcov_method: str = "model"

    digits: ClassVar[int] = 4

    def to_frame(self) -> pd.DataFrame:
        """The arm contrasts by visit (the table a report shows)."""
        return self.contrasts.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        arms = [a for a in self.arms if a != self.reference]
        df_label = (
            "Bell-McCaffrey Satterthwaite" if self.vcov_method == "empirical" else self.df_method
        )
        out = [
            f"Estimate = {', '.join(map(str, arms))} minus {self.reference!s} (reference arm); "
            f"REML, {LABELS[self.covariance_structure]} covariance, {df_label} df.",
        ]
        if self.vcov_method == "empirical":
            out.append(
                "Standard errors from the empirical (sandwich, CR0) covariance of the fixed "
                "effects, valid if the covariance structure is misspecified."
            )
        if self.baseline_mean is not None:
            out.append(
                f"LS-means at the mean baseline over the analysed rows ({self.baseline_mean:.4g})."
            )
        if self.covariates:
            out.append(
                f"Also adjusted for {', '.join(self.covariates)}: LS-means at the mean of numeric "
                f"covariates, factor levels with {self.weights} weights."
            )
        out += list(self.extra_notes)
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(
            {
                "lsmeans": to_jsonable(self.lsmeans),
                "coef": to_jsonable(self.coef),
                "covariance": to_jsonable(self.covariance.reset_index(names="visit")),
                "fit": to_jsonable(
                    {
                        "covariance_structure": self.covariance_structure,
                        "df_method": self.df_method,
                        "loglik": self.loglik,
                        "aic": self.aic,
                        "bic": self.bic,
                        "n_cov_params": self.n_cov_params,
                        "converged": self.converged,
                        "n_subjects": self.n_subjects,
                        "n_obs": self.n_obs,
                    }
                ),
            }
        )
        return d

    def plot(
        self,
        *,
        ax: Any = None,
        xlabel: str | None = None,
        ylabel: str | None = None,
        times: Mapping[Any, float] | None = None,
        labels: Mapping[Any, str] | None = None,
    ):
        """LS-mean trajectories by arm with confidence intervals; returns a matplotlib Figure.

        ``times`` places each visit level at a time (e.g. study weeks of visit numbers);
        default: numeric visits at their value, others evenly spaced. ``labels`` names each
        visit level on the axis (one tick per visit; default the axis' own ticks for numeric
        visits, the levels themselves otherwise).
        """
        from ..._figures import TrialFigure

        if ax is None:
            fig = TrialFigure(figsize=(6.4, 4.0))
            ax = fig.add_subplot(1, 1, 1)
        else:
            fig = ax.figure
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) for v in self.visits)
        if times is not None:
            xs = np.array([float(times.get(v, np.nan)) for v in self.visits])
            numeric = bool(np.isfinite(xs).all())
            if not numeric:
                xs = np.arange(len(self.visits), dtype=float)
        else:
            xs = (
                np.array(self.visits, float)
                if numeric
                else np.arange(len(self.visits), dtype=float)
            )
        span = (xs.max() - xs.min()) or 1.0
        for j, a in enumerate(self.arms):
            sub = self.lsmeans[self.lsmeans["arm"] == a]
            x = xs + (j - (len(self.arms) - 1) / 2) * 0.012 * span
            ax.errorbar(
                x,
                sub["estimate"],
                yerr=[sub["estimate"] - sub["ci_low"], sub["ci_high"] - sub["estimate"]],
                marker="o",
                capsize=3,
                label=str(a),
            )
        if labels is not None or not numeric:
            ax.set_xticks(xs)
            ax.set_xticklabels([str((labels or {}).get(v, v)) for v in self.visits])
        ax.set_xlabel(xlabel or "visit")
        ax.set_ylabel(ylabel or f"LS-mean {self.outcome} ({self.conf_level:.0%} CI)")
        ax.legend(frameon=False)
        ax.set_title(f"MMRM, {LABELS[self.covariance_structure]} covariance", fontsize=10)
        return fig


# ====================================================================== fitting
def _normalise_covariance(covariance: Any) -> str:
    name = covariance.lower().strip() if isinstance(covariance, str) else covariance
    name = ALIASES.get(name, name)
    return check_choice("covariance", name, COVARIANCES)


def _fit_structure(prep: _Prepared, name: str):
    T = len(prep.visits)
    st = make_structure(name, T)
    patterns = build_patterns(prep.Xfull, prep.yfull, prep.mask)
    eng = Engine(patterns, st, prep.n_obs, prep.Xfull.shape[2])
    theta0 = st.start(_start_sigma(prep.Xfull, prep.yfull, prep.mask))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            theta, info = eng.fit(theta0)
        except FloatingPointError as exc:
            raise AnalysisError(f"{LABELS[name]} covariance: {exc}") from exc
        H = info.pop("hessian")
    S = st.sigma(theta)
    ev = eng.evaluate_sigma(S, gradient=True)
    problems = []
    if ev is None:
        problems.append("the estimated covariance matrix is singular")
    else:
        w = np.linalg.eigvalsh(S)
        if w[0] <= 1e-8 * w[-1]:
            problems.append("the estimated covariance matrix is (nearly) singular")
        hw = np.linalg.eigvalsh(H) if np.all(np.isfinite(H)) else np.array([np.nan])
        if not np.all(np.isfinite(hw)) or hw[0] <= 1e-10 * max(1.0, abs(hw[-1])):
            problems.append(
                "the REML surface is flat or not concave at the optimum (a variance near 0 or a "
                "correlation near +-1: the covariance is on the boundary)"
            )
        if info["gradient_max"] > 1e-3 * max(1.0, abs(info["loglik"])) ** 0.5:
            problems.append(f"the optimiser stopped with gradient {info['gradient_max']:.3g}")
    if problems:
        raise AnalysisError(
            f"the MMRM with {LABELS[name]} covariance did not converge: "
            + "; ".join(problems)
            + ". Try a simpler structure (covariance='toeph', 'ar1h' or 'cs'), or pass "
            "fallback=('toeph', 'cs') to fall back automatically with a warning."
        )
    return st, eng, theta, H, ev, info


def fit(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
    covariance: str = "unstructured",
    *,
    reference: Any = None,
    df: str = "satterthwaite",
    conf_level: float = 0.95,
    fallback: Sequence[str] = (),
    synthetic: bool | None = None,
    covariates: Sequence[str] | None = None,
    weights: str = "equal",
    vcov: str = "model",
) -> MMRMResult:
    """Fit a mixed model for repeated measures by REML.

    Fixed effects: arm x visit, (when ``baseline`` is given) baseline x visit and the main
    effects of ``covariates``, i.e. R's ``y ~ visit * arm + visit * base + cov1 + cov2``; the
    residual covariance within a subject is
    ``covariance``. Rows with a missing outcome are dropped (likelihood analysis: valid under
    missing at random); subjects with some visits missing contribute the visits they have.

    Parameters
    ----------
    data : DataFrame
        Long format: one row per subject and visit. Not modified.
    outcome, subject, visit, arm : str
        Column names. ``visit`` levels: the categories if the column is a pandas Categorical,
        else sorted values if numeric, else order of first appearance. ``arm`` levels: the
        categories if Categorical, **else order of first appearance in** ``data``.
    baseline : str, optional
        Column with the subject's baseline value (constant within subject).
    covariance : str
        ``"unstructured"`` (default), ``"cs"`` (compound symmetry), ``"csh"`` (heterogeneous
        CS), ``"ar1"``, ``"ar1h"``, ``"toeplitz"`` or ``"toeph"`` (heterogeneous Toeplitz).
        AR(1) and Toeplitz use the distance between visit indices (equally spaced visits).
    reference : optional
        The arm every other arm is compared with (contrasts ``arm - reference``): default the
        one arm level named like a control (placebo, control, vehicle, sham, standard or usual
        care), so that estimates are experimental - control; else the first arm level.
    df : {"satterthwaite", "kenward-roger"}
        Denominator degrees of freedom. Kenward-Roger also inflates the fixed-effects
        covariance (Kenward & Roger 1997), so its SEs differ slightly.
    conf_level : float
        Confidence level of the intervals.
    fallback : sequence of str
        Structures to try in turn if ``covariance`` fails to converge (a common SAP rule,
        e.g. ``("toeph", "ar1h", "cs")``); each switch emits a
        :class:`~trial_analysis.errors.ConvergenceWarning` and is recorded in ``notes``.
    synthetic : bool, optional
        Mark the result as computed from synthetic data (adds the synthetic-data note);
        default ``data.attrs.get("synthetic", False)``.
    covariates : sequence of str, optional
        Further subject-level covariates (constant within a subject), as main effects:
        numeric columns linearly, other columns (and pandas Categoricals) as factors with
        treatment coding, the first level (sorted, or the categories' order) as reference.
    weights : {"equal", "proportional"}
        How the LS-means average over the levels of factor covariates: equally (emmeans'
        default; SAS LSMEANS) or in proportion to their frequency over the analysed rows
        (emmeans ``weights = "proportional"``; SAS ``OBSMARGINS``). Arm contrasts do not
        depend on it (no arm-by-covariate interaction).
    vcov : {"model", "empirical"}
        Covariance of the fixed effects: the model-based ``(X'V^-1 X)^-1`` (or its
        Kenward-Roger adjustment) or the empirical sandwich (CR0, Liang & Zeger 1986; SAS
        ``EMPIRICAL``, R mmrm ``vcov = "Empirical"``), valid when the covariance structure is
        misspecified. With ``"empirical"`` the df are Bell-McCaffrey Satterthwaite df, as R's
        mmrm computes them (``df="kenward-roger"`` is refused: KR has its own covariance).

    Returns
    -------
    MMRMResult
        ``.contrasts`` (one row per visit: ``visit, contrast, estimate, se, df, t_value,
        ci_low, ci_high, p_value``), ``.lsmeans``, ``.coef``, ``.covariance``, ``.aic``,
        ``.bic``, ``.loglik``, ``.converged``, ``.n_subjects``, ``.n_obs``, ``.plot()``.

    Raises
    ------
    ParameterError
        Unknown column, covariance, df method, reference arm, weights, vcov or bad
        ``conf_level``.
    DataValidationError
        Non-numeric outcome, duplicated subject-visit rows, baseline or a covariate varying
        within a subject,
        a subject in two arms, missing arm/visit/baseline on a row with an outcome.
    AnalysisError
        An arm with no data, fewer than two visits, a visit-by-arm cell with no data, a visit
        with too few subjects, non-estimable fixed effects, non-convergence or a singular
        covariance estimate (never a silent NaN).

    Notes
    -----
    REML log-likelihood, profiled over beta (Patterson & Thompson 1971)::

        l_R(theta) = -1/2 [ (N - p) log 2pi + sum_i log|V_i| + log|X'V^-1 X| + r'V^-1 r ]

    with V_i = Sigma(theta)[o_i, o_i]. The unstructured Sigma = L L' is parametrised by its
    Cholesky factor with log-diagonal; other structures by log-SDs and Fisher-z / logit /
    partial-autocorrelation transforms of the correlations (Toeplitz through Durbin-Levinson).
    The optimiser is BFGS with the analytic REML gradient, polished by Newton steps on the
    Hessian (central differences of the analytic gradient).

    Satterthwaite df for a contrast l: ``2 (l'C l)^2 / (g' H^-1 g)`` with C = Cov(beta-hat),
    g_k = l' dC/dtheta_k l and H the observed REML information. Kenward-Roger: the adjusted
    covariance Phi_A = Phi + 2 Phi [sum W_ij (Q_ij - P_i Phi P_j - R_ij/4)] Phi with W the
    inverse expected information, in the SAS parametrisation of each structure (covariances
    for UN, CS and Toeplitz; variances and correlations otherwise); for one contrast the df
    are 2 / A with A = sum W_ij a_i a_j / (l'Phi l)^2, a_i = l' Phi P_i Phi l.

    LS-means are at the mean of the baseline over the rows used in the fit (what emmeans
    does: ``emmeans(fit, ~ arm | visit)``). AIC/BIC count the covariance parameters only
    (as R's mmrm and SAS); nlme's ``AIC(gls)`` also counts the p fixed effects
    (``AIC_nlme = aic + 2 p``).

    What is validated against what (``tests/test_mmrm.py``, fixtures from
    ``tests/reference/mmrm.R``): estimates, SEs, REML log-likelihood, covariance matrix,
    LS-means and contrasts against ``nlme::gls`` + ``emmeans`` for all seven structures on
    three simulated data sets (balanced; 91 patients with dropout and intermittent missing
    visits; unbalanced arms), to 1e-4; Satterthwaite df against a first-principles
    computation in R (numDeriv Hessian of nlme's REML likelihood) to 1e-4 relative, and
    against emmeans' own (approximate) df to a few percent. Kenward-Roger against pbkrtest
    (via emmeans) for compound symmetry, where the model equals lme4's random intercept, and
    against pbkrtest's KR engine applied to the gls fit for the unstructured and Toeplitz
    covariances with missing visits (1e-4 relative), and for CSH, AR(1), ARH(1) and TOEPH
    against the same engine plus Kenward & Roger's second-derivative term written in R
    (SEs to 3e-5, df to 1e-4).

    References
    ----------
    .. [1] Mallinckrodt CH, et al. Recommendations for the primary analysis of continuous
       endpoints in longitudinal clinical trials. Drug Inf J 2008;42:303-319.
    .. [2] Kenward MG, Roger JH. Small sample inference for fixed effects from restricted
       maximum likelihood. Biometrics 1997;53:983-997.
    .. [3] Satterthwaite FE. An approximate distribution of estimates of variance components.
       Biometrics Bulletin 1946;2:110-114.
    .. [4] Pinheiro JC, Bates DM. Mixed-Effects Models in S and S-PLUS. Springer, 2000.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import trial_analysis as ta
    >>> rng = np.random.default_rng(1)
    >>> rows = [(i, "UC-MSC" if i < 20 else "Placebo", w, b, b - 0.02 * w * (i < 20) + rng.normal(0, .5))
    ...         for i, b in enumerate(rng.normal(9, 1, 40)) for w in (12, 24, 48)]
    >>> df = pd.DataFrame(rows, columns=["id", "arm", "week", "base", "hba1c"])
    >>> res = ta.mmrm.fit(df, "hba1c", "id", "week", "arm", baseline="base", reference="Placebo")
    >>> res.contrasts["visit"].tolist()
    [12, 24, 48]
    >>> res.contrasts["contrast"].iloc[0]
    'UC-MSC - Placebo'
    """
    conf_level = check_conf_level(conf_level)
    df_method = check_choice("df", df, DF_METHODS)
    name = _normalise_covariance(covariance)
    if isinstance(fallback, str):
        fallback = (fallback,)
    fallbacks = [_normalise_covariance(c) for c in fallback]
    weights = check_choice("weights", weights, WEIGHTS)
    vcov = check_choice("vcov", vcov, VCOVS)
    if vcov == "empirical" and df_method == "kenward-roger":
        raise ParameterError(
            "df",
            "'satterthwaite' with vcov='empirical' (Kenward-Roger adjusts the model-based "
            "covariance; the empirical covariance takes Bell-McCaffrey Satterthwaite df)",
            df,
        )
    prep = _prepare(data, outcome, subject, visit, arm, baseline, reference, covariates)
    if synthetic is None:
        synthetic = bool(getattr(data, "attrs", {}).get("synthetic", False))

    with single_blas_thread():
        return _fit(prep, name, fallbacks, df_method, conf_level, outcome, synthetic, weights, vcov)


def _fit(
    prep: _Prepared,
    name: str,
    fallbacks: list[str],
    df_method: str,
    conf_level: float,
    outcome: str,
    synthetic: bool,
    weights: str = "equal",
    vcov: str = "model",
) -> MMRMResult:
    notes: list[str] = []
    tried = [name] + [c for c in fallbacks if c != name]
    last_exc: AnalysisError | None = None
    for k, cand in enumerate(tried):
        try:
            st, eng, theta, H, ev, info = _fit_structure(prep, cand)
        except AnalysisError as exc:
            last_exc = exc
            if k + 1 < len(tried):
                warnings.warn(
                    f"{exc} Falling back to {LABELS[tried[k + 1]]} covariance.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
                notes.append(
                    f"The {LABELS[cand]} covariance did not converge; fell back to "
                    f"{LABELS[tried[k + 1]]} (fallback={tuple(tried[1:])!r})."
                )
            continue
        break
    else:
        assert last_exc is not None
        raise last_exc

    return _assemble(
        prep,
        st,
        eng,
        theta,
        H,
        ev,
        info,
        df_method,
        conf_level,
        outcome,
        tuple(notes),
        synthetic,
        weights,
        vcov,
    )


def _assemble(
    prep,
    st,
    eng,
    theta,
    H,
    ev,
    info,
    df_method,
    conf_level,
    outcome,
    notes,
    synthetic,
    weights="equal",
    vcov="model",
):
    S = st.sigma(theta)
    Phi = ev.phi
    beta = ev.beta
    T, A = len(prep.visits), len(prep.arms)
    if vcov == "empirical":
        from ._sandwich import bell_mccaffrey_df, sandwich

        C, A_i = sandwich(prep, beta, S)

        def dfs(L: np.ndarray) -> np.ndarray:
            return bell_mccaffrey_df(L, Phi, A_i)
    elif df_method == "satterthwaite":
        dS = st.jacobian(theta)
        M = fixed_effect_derivatives(eng, ev.vinv, dS)
        Hinv = np.linalg.inv(H)
        C = Phi

        def dfs(L: np.ndarray) -> np.ndarray:
            PL = L @ Phi  # rows Phi l
            g = np.einsum("ra,iab,rb->ri", PL, M, PL)
            v = np.einsum("ra,ab,rb->r", L, Phi, L)
            return satterthwaite_df(v, g, Hinv)
    else:
        C, M, W = kenward_roger(eng, S, ev)

        def dfs(L: np.ndarray) -> np.ndarray:
            return kenward_roger_df(L, Phi, M, W)

    def table(L: np.ndarray):
        est = L @ beta
        se = np.sqrt(np.einsum("ra,ab,rb->r", L, C, L))
        d = dfs(L)
        t, p, lo, hi = _t_table(est, se, d, conf_level)
        return est, se, d, t, p, lo, hi

    # fixed effects
    est, se, d, t, p, _, _ = table(np.eye(len(beta)))
    coef = pd.DataFrame(
        {"term": prep.names, "estimate": est, "se": se, "df": d, "t_value": t, "p_value": p}
    )

    # LS-means grid (emmeans ~ arm | visit at the mean baseline)
    bvec = None if prep.base_mean is None else np.full(A, prep.base_mean)
    G = prep.design_rows(np.arange(A), bvec, prep.covariate_grid.get(weights))  # (A, T, p)
    Lg = np.concatenate([G[:, t, :] for t in range(T)])  # visit-major: (T*A, p)
    est, se, d, t, p, lo, hi = table(Lg)
    lsm = pd.DataFrame(
        {
            "visit": np.repeat(np.array(prep.visits, dtype=object), A),
            "arm": np.tile(np.array(prep.arms, dtype=object), T),
            "estimate": est,
            "se": se,
            "df": d,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    ref = prep.arms.index(prep.reference)
    others = [a for a in range(A) if a != ref]
    Lc, vis, lab = [], [], []
    for t_ in range(T):
        for a in others:
            Lc.append(G[a, t_] - G[ref, t_])
            vis.append(prep.visits[t_])
            lab.append(f"{prep.arms[a]} - {prep.reference}")
    est, se, d, t, p, lo, hi = table(np.array(Lc))
    con = pd.DataFrame(
        {
            "visit": np.array(vis, dtype=object),
            "contrast": lab,
            "estimate": est,
            "se": se,
            "df": d,
            "t_value": t,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": p,
        }
    )
    for frame in (lsm, con):  # visit labels keep their type (int64 for numeric weeks)
        frame["visit"] = frame["visit"].infer_objects()
    for frame in (coef, lsm, con):
        num = frame.select_dtypes("number")
        if not np.all(np.isfinite(num.to_numpy(dtype=float))):
            raise AnalysisError(
                "non-finite values in the MMRM results (degenerate information matrix); try a "
                "simpler covariance structure"
            )
    k = st.n_params
    ll = ev.loglik
    cov_df = pd.DataFrame(S, index=list(prep.visits), columns=list(prep.visits))
    vcov_frame = pd.DataFrame(C, index=prep.names, columns=prep.names)
    title = f"MMRM of {outcome}: arm difference by visit"
    return MMRMResult(
        title=title,
        outcome=outcome,
        covariance_structure=st.name,
        df_method=df_method,
        conf_level=conf_level,
        arms=tuple(prep.arms),
        visits=tuple(prep.visits),
        reference=prep.reference,
        contrasts=con,
        lsmeans=lsm,
        coef=coef,
        covariance=cov_df,
        vcov=vcov_frame,
        loglik=ll,
        aic=-2 * ll + 2 * k,
        bic=-2 * ll + k * math.log(prep.n_subjects),
        n_cov_params=k,
        converged=True,
        n_subjects=prep.n_subjects,
        n_obs=prep.n_obs,
        baseline_mean=prep.base_mean,
        fit_info=dict(info, evaluations=eng.n_evals),
        extra_notes=notes,
        synthetic=bool(synthetic),
        covariates=tuple(prep.covariates),
        weights=weights,
        vcov_method=vcov,
    )


# ====================================================================== structure comparison
@dataclass(frozen=True, eq=False)
class CovarianceComparison(Result):
    """REML fit statistics of several covariance structures (same fixed effects)."""

    table: pd.DataFrame
    fits: dict = field(repr=False, default_factory=dict)
    failed: tuple[str, ...] = ()
    synthetic: bool = False
    title: ClassVar[str] = "MMRM covariance structures compared by AIC/BIC (REML)"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def best(self) -> str:
        """The structure with the smallest AIC."""
        return str(self.table.iloc[0]["covariance"])

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            "AIC = -2 REML loglik + 2k, BIC = -2 REML loglik + k log(subjects), k = covariance "
            "parameters; sorted by AIC. Valid only between fits with the same fixed effects."
        ]
        out += [f"Not converged, left out: {f}" for f in self.failed]
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)


def compare_covariances(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    baseline: str | None = None,
    covariances: Sequence[str] = COVARIANCES,
    **kwargs: Any,
) -> CovarianceComparison:
    """Fit the MMRM under several covariance structures and rank them by AIC (and BIC).

    Parameters
    ----------
    data, outcome, subject, visit, arm, baseline
        As for :func:`fit`.
    covariances : sequence of str
        Structures to compare (default: all seven).
    **kwargs
        Passed to :func:`fit` (``reference``, ``df``, ...).

    Returns
    -------
    CovarianceComparison
        ``table`` with ``covariance, label, n_params, loglik, aic, bic, delta_aic`` sorted by
        AIC; ``fits`` maps each structure to its :class:`MMRMResult`; ``failed`` lists the
        structures that did not converge (with the reason). Raises :class:`AnalysisError` if
        none converged.

    Examples
    --------
    >>> cmp = ta.mmrm.compare_covariances(df, "hba1c", "id", "week", "arm", "base")  # doctest: +SKIP
    >>> cmp.best  # doctest: +SKIP
    """
    names = [_normalise_covariance(c) for c in covariances]
    if not names:
        raise ParameterError(
            "covariances", "a non-empty sequence of covariance structures", covariances
        )
    kwargs.pop("fallback", None)
    fits, failed, rows = {}, [], []
    for nm in dict.fromkeys(names):
        try:
            r = fit(data, outcome, subject, visit, arm, baseline, nm, **kwargs)
        except AnalysisError as exc:
            if "did not converge" not in str(exc) and "singular" not in str(exc):
                raise
            failed.append(f"{nm}: {exc}")
            continue
        fits[nm] = r
        rows.append(
            {
                "covariance": nm,
                "label": LABELS[nm],
                "n_params": r.n_cov_params,
                "loglik": r.loglik,
                "aic": r.aic,
                "bic": r.bic,
            }
        )
    if not rows:
        raise AnalysisError("no covariance structure converged: " + " | ".join(failed))
    tab = pd.DataFrame(rows).sort_values("aic", kind="stable").reset_index(drop=True)
    tab["delta_aic"] = tab["aic"] - tab["aic"].min()
    synthetic = any(r.synthetic for r in fits.values())
    return CovarianceComparison(tab, fits, tuple(failed), synthetic)
