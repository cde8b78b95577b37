"""Covariate-adjusted marginal effects of a binary endpoint: g-computation (standardisation).

A logistic working model ``logit P(y = 1) = b0 + b_arm arm + b'x [+ arm x x]`` is fitted by
maximum likelihood (statsmodels GLM); every patient's risk is then predicted twice, as if
randomised to each arm, and averaged over all patients:

    theta_a = (1/n) sum_i expit(x_i(a)' beta),   a in {0 (control), 1 (experimental)}

The marginal effects are ``theta_1 - theta_0`` (RD), ``theta_1 / theta_0`` (RR) and the ratio
of the odds (OR). The FDA guidance (2023) asks for exactly this unconditional effect and a
variance that stays valid when the working model is wrong.

Variances of ``(theta_0, theta_1)``, then the delta method for each effect (on the log scale
for RR and OR):

- ``"ge2011"``: Ge et al. (2011): ``D V D'`` with ``D_a = (1/n) sum_i p_ai (1 - p_ai) x_i(a)``
  and ``V`` the model-based covariance of beta (inverse Fisher information). It treats the
  covariates as fixed and the model as correct.
- ``"ge2011_hc0"``: the same with the HC0 sandwich covariance of beta (``sandwich::sandwich``;
  the default of R's beeca for this method).
- ``"ye2023"``: Ye, Shao, Yi & Zhao (2023), valid under misspecification and counting the
  sampling of covariates: with ``pi_a`` the share randomised to arm ``a`` and sample
  (co)variances (``n - 1`` denominators, as R's var/cov; beeca, RobinCar)::

      n V_aa = var_a(y - p_a) / pi_a + 2 cov_a(y, p_a) - var(p_a)
      n V_01 = cov_0(y, p_1) + cov_1(y, p_0) - cov(p_0, p_1)

  where ``var_a``/``cov_a`` run over the patients randomised to ``a`` and ``var``/``cov``
  over all patients. This is the paper's formula (beeca ``estimate_varcov(mod = TRUE)``);
  RobinCar and beeca's default expand ``var_a(y - p_a)`` as ``var_a(y) - 2 cov_a(y, p_a) +
  var(p_a)`` with the variance of ``p_a`` over *all* patients, an asymptotically equivalent
  variant that differs in finite samples (3e-4 relative on beeca's trial01 with strata);
  ``variance="ye2023_robincar"`` gives that form.
- with ``strata`` (covariate-adaptive randomisation by stratified permuted blocks): the
  Ye-variance minus the part of the residual variance that the stratified randomisation
  balances away (Ye, Yi & Shao 2022; Bugni, Canay & Shaikh 2018), as RobinCar computes for
  ``car_scheme = "permuted-block"``::

      n V_CAR = n V_ye - sum_z P(Z = z) R_z (Omega_SR - Omega_z) R_z,
      R_z = diag_a( mean(y - p_A | Z = z, A = a) / pi_a ),
      Omega_SR = diag(pi) - pi pi',  Omega_z = 0 for permuted blocks (= Omega_SR: simple)

  with ``p_A`` the prediction under the arm actually received. The strata also enter the
  working model as a categorical covariate (the guidance: adjust for stratification factors).

The logistic fit is a short Newton-Raphson (see ``_fit_logistic`` for why not statsmodels GLM);
statsmodels has a generic delta method but no g-computation variances; those formulas
are short and written here (checked against R in ``tests/reference/adjusted.R``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_choice, check_conf_level
from ..errors import AnalysisError, DataValidationError, ParameterError, Problem
from ..results import SYNTHETIC_NOTE, Result, select_row

__all__ = [
    "ADJUSTED_EFFECTS",
    "ADJUSTED_VARIANCES",
    "MIN_STRATUM_PER_ARM",
    "POOLED_STRATUM",
    "AdjustedResult",
    "adjusted",
    "pool_sparse_strata",
]

ADJUSTED_EFFECTS = ("rd", "rr", "or")
ADJUSTED_VARIANCES = ("ye2023", "ye2023_robincar", "ge2011", "ge2011_hc0")
RANDOMIZATIONS = ("permuted_block", "simple")
COLUMNS = ["effect", "estimate", "se", "ci_low", "ci_high", "p_value", "variance"]
COMPARISON = "comparison"  # the column naming each experimental arm vs the control
_EFFECT_LABELS = {"rd": "risk difference", "rr": "risk ratio", "or": "odds ratio"}
#: the fewest patients of every arm a stratum needs to enter a working model on its own
#: (:func:`pool_sparse_strata`)
MIN_STRATUM_PER_ARM = 2
#: the level of the strata pooled by :func:`pool_sparse_strata`
POOLED_STRATUM = "pooled"


@dataclass(frozen=True, eq=False)
class AdjustedResult(Result):
    """Covariate-adjusted marginal effects (see :func:`adjusted`).

    ``to_frame()``: one row per effect (and per experimental arm) with ``effect, estimate,
    se, ci_low, ci_high, p_value, variance, comparison``; for ``rr`` and ``or`` the ``se`` is
    that of the log effect (the interval is ``exp(log est +/- z se)``). ``risks`` holds the
    counterfactual risk of every arm (control first) with its standard error; ``vcov`` their
    covariance; ``coef`` the working model.
    """

    table: pd.DataFrame = field(repr=False)
    risks: pd.DataFrame = field(repr=False)
    coef: pd.DataFrame = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    variance: str
    conf_level: float
    n: int
    n_experimental: int
    n_control: int
    covariates: tuple[str, ...]
    strata: tuple[str, ...]
    model_strata: tuple[str, ...]
    interaction: bool
    arm_labels: tuple[str, str]
    synthetic: bool = False
    extreme_fit: bool = False
    comparisons: tuple[str, ...] = ()
    title: ClassVar[str] = "Covariate-adjusted marginal treatment effect (g-computation)"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, effect: str, comparison: str | None = None) -> pd.Series:
        """The row of one effect (``"rd"``, ``"rr"`` or ``"or"``) of one ``comparison`` (needed
        with more than two arms; see ``comparisons``)."""
        return select_row(_comparison_rows(self, comparison), "effect", effect)

    def noninferiority(
        self,
        margin: float,
        effect: str = "rd",
        *,
        alternative: str = "greater",
        alpha=0.025,
        comparison: str | None = None,
    ):
        """Wald test of the adjusted ``effect`` against a non-inferiority ``margin`` (on the
        effect's scale; ratios tested on the log scale with the row's SE). See
        :func:`trial_analysis.binary.noninferiority` for the meaning of ``alternative``.
        With more than two arms: one block per ``comparison`` (all unless one is named)."""
        return _margin_by_comparison(self, "effect", effect, margin, alternative, alpha, comparison)

    def equivalence(
        self, low: float, high: float, effect: str = "rd", *, alpha=0.05, comparison=None
    ):
        """Two one-sided Wald tests (TOST) of the adjusted ``effect`` at ``(low, high)``."""
        return _margin_by_comparison(self, "effect", effect, (low, high), None, alpha, comparison)

    @property
    def notes(self) -> tuple[str, ...]:
        exp_, ctl = self.arm_labels
        if len(self.comparisons) > 1:
            arms = ", ".join(
                f"{a} (n={int(k)})" for a, k in zip(self.risks["arm"], self.risks["n"], strict=True)
            )
            who = f"Arms {arms}; each experimental arm vs {ctl}; "
        else:
            who = f"{exp_} (n={self.n_experimental}) vs {ctl} (n={self.n_control}); "
        out = [
            who + "estimates "
            "experimental - control (ratios experimental / control); logistic working model on "
            + (", ".join(self.covariates + self.model_strata) or "arm only")
            + (" with arm-by-covariate interactions" if self.interaction else "")
            + "; risks standardised over all patients.",
            f"Variance: {_VARIANCE_TEXT[self.variance]}. Ratio SEs are on the log scale; "
            f"{self.conf_level:.0%} Wald intervals.",
        ]
        if self.model_strata and self.variance in ("ye2023", "ye2023_robincar"):
            out.append(
                "Strata in the working model: the variance is the simple-randomisation form, "
                "valid (at worst conservative) under stratified randomisation (Ye et al. 2023)."
            )
        if self.extreme_fit:
            out.append(
                "Fitted probabilities numerically 0 or 1 occurred (within 1e-10: quasi-complete "
                "separation): some coefficients are not identified (huge SEs in `coef`); the "
                "standardised risks and their variance remain defined."
            )
        ratios = self.table.loc[self.table["effect"].isin(["rr", "or"]), "estimate"]
        est = ratios.to_numpy(float)
        if ((est == 0) | np.isinf(est)).any():
            out.append(
                "A ratio of 0 or inf: an arm's standardised risk is 0 (or, for the odds ratio, "
                "1), as in an arm without events, so the ratio is unbounded and has no Wald "
                "interval or p-value; the risk difference remains defined."
            )
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)


def _comparison_rows(res: Any, comparison: str | None) -> pd.DataFrame:
    """The rows of one comparison of a result with a ``comparison`` column."""
    table = res.table
    comps = tuple(getattr(res, "comparisons", ()))
    if comparison is None:
        if len(comps) > 1:
            raise ParameterError("comparison", f"one of {list(comps)!r}", None)
        return table
    if comparison not in comps:
        raise ParameterError("comparison", f"one of {list(comps)!r}", comparison)
    return table[table[COMPARISON] == comparison]


def _margin_by_comparison(res, column, key, margin, alternative, alpha, comparison):
    """Wald tests at a margin of the row ``column == key`` of each comparison (or one)."""
    from .._margins import combine_margins

    comps = list(getattr(res, "comparisons", ())) or [None]
    if comparison is not None or len(comps) == 1:
        row = select_row(_comparison_rows(res, comparison), column, key)
        return _wald_on_row(res, row, key, margin, alternative, alpha)
    results = [
        _wald_on_row(
            res, select_row(_comparison_rows(res, c), column, key), key, margin, alternative, alpha
        )
        for c in comps
    ]
    return combine_margins(results, comps)


def _wald_on_row(res, row, effect, margin, alternative, alpha):
    from .._margins import wald_margin

    return wald_margin(
        float(row["estimate"]),
        float(row["se"]),
        margin,
        kind="non-inferiority" if alternative is not None else "equivalence",
        alternative=alternative,
        log=effect in ("rr", "or") or effect.startswith(("rr_", "or_")),
        alpha=alpha,
        effect=_EFFECT_LABELS.get(effect[:2], effect),
        method=f"Wald, {row.get('variance', row.get('method', ''))}",
        synthetic=bool(getattr(res, "synthetic", False)),
    )


_VARIANCE_TEXT = {
    "ge2011": "Ge et al. (2011) delta method, model-based covariance of the coefficients",
    "ge2011_hc0": "Ge et al. (2011) delta method, HC0 sandwich covariance of the coefficients",
    "ye2023": "Ye, Shao, Yi & Zhao (2023) robust variance (simple randomisation)",
    "ye2023_robincar": (
        "Ye et al. (2023) robust variance in RobinCar's finite-sample form (simple randomisation)"
    ),
    "ye2023_robincar_car": (
        "Ye et al. (2023) robust variance in RobinCar's finite-sample form, stratified "
        "permuted-block randomisation"
    ),
    "ye2023_car": (
        "Ye et al. (2023) robust variance for stratified permuted-block randomisation "
        "(Ye, Yi & Shao 2022; as RobinCar)"
    ),
}


def _columns(name: str, value: Any, data: pd.DataFrame) -> tuple[str, ...]:
    if value is None:
        return ()
    cols = (value,) if isinstance(value, str) else tuple(value)
    for c in cols:
        if not isinstance(c, str) or c not in data.columns:
            raise ParameterError(
                name, f"column names of data ({', '.join(map(str, data.columns))})", c
            )
    return cols


def _binary_outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    s = data[outcome]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float)
    vals = pd.to_numeric(s, errors="coerce")
    bad = ~vals.isin([0, 1])
    if bad.any():
        rows = list(np.flatnonzero(bad.to_numpy())[:10])
        raise DataValidationError(
            [Problem("data", int(r) + 2, outcome, _py(s.iloc[r]), "must be 0 or 1") for r in rows]
        )
    return vals.to_numpy(dtype=float)


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def arm_indicator(data: pd.DataFrame, arm: str, experimental: Any) -> tuple[np.ndarray, tuple]:
    """1 for the experimental arm, 0 for control; exactly two levels. Returns (a, labels)."""
    s = data[arm]
    if s.isna().any():
        r = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataValidationError([Problem("data", r + 2, arm, None, "arm is missing")])
    levels = (
        list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else list(pd.unique(s))
    )
    levels = [_py(v) for v in levels]
    if len(set(levels)) != 2:
        raise AnalysisError(f"`{arm}` must have exactly two arms; found {levels!r}")
    if experimental is None:
        if set(levels) <= {0, 1}:  # also True/False
            experimental = 1
        else:
            raise ParameterError(
                "experimental", f"the experimental arm's level (one of {levels!r})", None
            )
    if experimental not in levels:
        raise ParameterError("experimental", f"one of the arm levels {levels!r}", experimental)
    control = next(v for v in levels if v != experimental)
    return (s == experimental).to_numpy(dtype=float), (str(experimental), str(control))


def arm_codes(
    data: pd.DataFrame, arm: str, experimental: Any = None, reference: Any = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Arms coded 0 (control) and 1..K-1 (the experimental arms in level order).

    Returns ``(codes, labels)`` with ``labels[0]`` the control. The control is ``reference``
    if given; else, with two arms, the level other than ``experimental``; else, with 0/1 (or
    bool) arms, 0; else the one level named like a control
    (:data:`trial_analysis._validate.CONTROL_ARM_RE`: placebo, control, vehicle, sham,
    standard or usual care). Levels: the categories of a Categorical (unused ones dropped),
    else order of first appearance.
    """
    from .._validate import CONTROL_ARM_RE

    s = data[arm]
    if s.isna().any():
        r = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataValidationError([Problem("data", r + 2, arm, None, "arm is missing")])
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = list(s.cat.remove_unused_categories().cat.categories)
    else:
        levels = list(pd.unique(s))
    levels = [_py(v) for v in levels]
    if len(set(levels)) < 2:
        raise AnalysisError(f"`{arm}` must have at least two arms; found {levels!r}")
    if reference is not None:
        if reference not in levels:
            raise ParameterError("reference", f"one of the arm levels {levels!r}", reference)
        if experimental is not None and (experimental == reference or len(levels) > 2):
            raise ParameterError(
                "experimental",
                "None when reference is given with more than two arms (every other arm is "
                "compared with it), else a level other than reference",
                experimental,
            )
        control = reference
    elif experimental is not None:
        if len(levels) > 2:
            raise ParameterError("reference", f"the control arm's level (one of {levels!r})", None)
        if experimental not in levels:
            raise ParameterError("experimental", f"one of the arm levels {levels!r}", experimental)
        control = next(v for v in levels if v != experimental)
    elif len(levels) == 2 and set(levels) <= {0, 1}:  # also True/False
        control = 0
        levels = [0, 1]
    else:
        named = [v for v in levels if CONTROL_ARM_RE.search(str(v))]
        if len(named) != 1:
            name = "experimental" if len(levels) == 2 else "reference"
            what = "the experimental arm's level" if len(levels) == 2 else "the control arm's level"
            raise ParameterError(name, f"{what} (one of {levels!r})", None)
        control = named[0]
    order = [control] + [v for v in levels if v != control]
    codes = np.zeros(len(s), dtype=int)
    for j, v in enumerate(order[1:], start=1):
        codes[(s == v).to_numpy()] = j
    return codes, tuple(str(v) for v in order)


def _joint_strata(data: pd.DataFrame, strata: Sequence[str]) -> pd.Series:
    """The joint level of one or more strata columns (``"a/b"``), as text."""
    cols = list(strata)
    for c in cols:
        if data[c].isna().any():
            r = int(np.flatnonzero(data[c].isna().to_numpy())[0])
            raise DataValidationError([Problem("data", r + 2, c, None, "stratum is missing")])
    return (
        data[cols].astype(str).agg("/".join, axis=1) if len(cols) > 1 else data[cols[0]].astype(str)
    )


def pool_sparse_strata(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    strata: Sequence[str] | str,
    *,
    min_per_arm: int = MIN_STRATUM_PER_ARM,
) -> tuple[pd.Series, tuple[str, ...]]:
    """Randomisation strata made fit for a logistic working model: sparse strata pooled.

    A stratum with fewer than ``min_per_arm`` patients in some arm of ``data``, or whose
    outcome does not vary (every patient a responder, or none), has no estimable coefficient
    in a logistic model with a stratum factor (its coefficient diverges: quasi-complete
    separation), and the covariate-adaptive variance needs patients of every arm in it. The
    rule, as a statistical analysis plan pools small centres: every sparse stratum joins one
    stratum :data:`POOLED_STRATUM`; while that stratum is itself sparse, the smallest other
    stratum (fewest patients, then first in sorted order) joins it. Strata that are not sparse
    are kept as they are.

    Parameters
    ----------
    data : DataFrame
        One row per patient (not modified).
    outcome, arm : str
        The 0/1 outcome and the arm columns.
    strata : str or sequence of str
        Strata columns (several: their joint levels ``"a/b"``).
    min_per_arm : int
        The fewest patients of each arm a stratum must have to stay on its own.

    Returns
    -------
    (labels, pooled)
        ``labels``: each patient's stratum as text (``data``'s index), the pooled ones
        :data:`POOLED_STRATUM`; ``pooled``: the original strata pooled, in sorted order (all of
        them when no two strata can stand apart: then ``labels`` has one level).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0, 0, 0, 1, 0], "arm": list("EECCEECCEC"),
    ...                   "site": ["a"] * 4 + ["b"] * 4 + ["c", "c"]})
    >>> labels, pooled = pool_sparse_strata(d, "y", "arm", "site")
    >>> pooled  # c: one patient per arm, so pooled; alone still sparse, it takes a (size 4, first)
    ('a', 'c')
    >>> labels.tolist()[3:6]
    ['pooled', 'b', 'b']
    """
    if isinstance(min_per_arm, bool) or not isinstance(min_per_arm, (int, np.integer)):
        raise ParameterError("min_per_arm", "an int >= 1", min_per_arm)
    if min_per_arm < 1:
        raise ParameterError("min_per_arm", "an int >= 1", min_per_arm)
    strat = _columns("strata", strata, data)
    if not strat:
        raise ParameterError("strata", "one or more column names", strata)
    for pname, col in (("outcome", outcome), ("arm", arm)):
        if not isinstance(col, str) or col not in data.columns:
            raise ParameterError(
                pname, f"a column of data ({', '.join(map(str, data.columns))})", col
            )
    y = _binary_outcome(data.reset_index(drop=True), outcome)
    joint = _joint_strata(data, strat)
    # per stratum: patients of each arm, patients, responders (one pass; the rule then only
    # adds these up, so pooling costs O(strata^2) whatever the number of patients)
    z = joint.to_numpy()
    by_arm = pd.crosstab(z, data[arm].to_numpy())
    levels = sorted(by_arm.index)
    by_arm = by_arm.loc[levels].to_numpy()
    events = pd.Series(y).groupby(z).sum().reindex(levels).to_numpy()
    size = dict(zip(levels, by_arm.sum(axis=1).tolist(), strict=True))
    index = {lev: i for i, lev in enumerate(levels)}

    def sparse(members: set[str]) -> bool:
        rows = [index[m] for m in members]
        n_arm = by_arm[rows].sum(axis=0)
        k, n = events[rows].sum(), n_arm.sum()
        return bool(n_arm.min() < min_per_arm or k == 0 or k == n)

    pooled = {lev for lev in levels if sparse({lev})}
    if pooled:
        while sparse(pooled) and len(pooled) < len(levels):
            rest = [lev for lev in levels if lev not in pooled]
            pooled.add(min(rest, key=lambda lev: (size[lev], index[lev])))
    name = POOLED_STRATUM
    while name in levels and name not in pooled:  # a real stratum named "pooled"
        name += "*"
    labels = joint.where(~joint.isin(pooled), name)
    return labels, tuple(lev for lev in levels if lev in pooled)


def design_frame(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Covariate design: numeric columns as they are, others as treatment-coded dummies."""
    parts = []
    for c in columns:
        s = data[c]
        if s.isna().any():
            rows = list(np.flatnonzero(s.isna().to_numpy())[:10])
            raise DataValidationError(
                [Problem("data", int(r) + 2, c, None, "covariate is missing") for r in rows]
            )
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            v = s.to_numpy(dtype=float)
            if not np.all(np.isfinite(v)):
                raise DataValidationError([Problem("data", None, c, None, "has infinite values")])
            parts.append(pd.DataFrame({c: v}, index=data.index))
        else:
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            cat = cat.cat.remove_unused_categories()
            d = pd.get_dummies(cat, prefix=c, prefix_sep="=", drop_first=True, dtype=float)
            parts.append(d)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


@dataclass(frozen=True)
class _LogitFit:
    params: np.ndarray
    cov: np.ndarray
    iterations: int

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def cov_params(self) -> np.ndarray:
        return self.cov


def _fit_logistic(X: np.ndarray, y: np.ndarray, names: list[str], maxiter: int = 100):
    """Maximum-likelihood logistic regression by Newton-Raphson (= IRLS) with step halving.

    Written here rather than statsmodels ``GLM(...).fit()`` for speed: statsmodels solves each
    IRLS step by an SVD-based least squares and ends with a pseudo-inverse, about 10 times
    slower on 100,000 patients (benchmarks/adjusted.py) for the same estimates (1e-15).
    Convergence as R's ``glm``: relative deviance change below 1e-13. The coefficients' model
    covariance is the inverse Fisher information ``(X' W X)^-1`` at the solution.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve
    from scipy.special import expit

    # rank from the R factor of X = QR (without pivoting |R_jj| is the length of column j
    # orthogonal to the columns before it: 0 exactly when j is a combination of them);
    # cheaper than the SVD of np.linalg.matrix_rank on tall designs, same tolerance
    r_diag = np.abs(np.diag(np.linalg.qr(X, mode="r")))
    rank = int(np.sum(r_diag > r_diag.max() * max(X.shape) * np.finfo(float).eps))
    if rank < X.shape[1]:
        raise AnalysisError(
            f"the working model is not estimable (design rank {rank} < {X.shape[1]} columns): a "
            "covariate is constant or collinear with others (or with arm)"
        )

    def deviance(eta: np.ndarray) -> float:
        # -2 log L = 2 sum log(1 + exp(eta)) - 2 sum y eta, computed stably
        return float(2 * np.sum(np.logaddexp(0.0, eta) - y * eta))

    beta = np.zeros(X.shape[1])
    eta = X @ beta
    dev = deviance(eta)
    separation = AnalysisError(
        "the logistic working model does not converge (perfect or quasi-complete separation); "
        "drop or coarsen covariates, or use ta.binary.firth_logit"
    )
    it, done = 0, False
    while it < maxiter:
        it += 1
        p = expit(eta)
        w = p * (1 - p)
        try:
            step = cho_solve(cho_factor((X * w[:, None]).T @ X), X.T @ (y - p))
        except (LinAlgError, ValueError) as exc:
            raise separation from exc
        for _ in range(30):  # step halving while the deviance increases (as R's glm.fit)
            new_eta = X @ (beta + step)
            new_dev = deviance(new_eta)
            if new_dev <= dev + 1e-12 * abs(dev):
                break
            step = step / 2
        beta, eta = beta + step, new_eta
        done = abs(new_dev - dev) / (abs(new_dev) + 0.1) < 1e-13
        dev = new_dev
        if done:
            break
    if not done:
        raise AnalysisError(f"the logistic working model did not converge in {maxiter} iterations")
    p = expit(eta)
    if np.allclose(p, y):  # perfect prediction (the check statsmodels makes)
        raise separation
    w = p * (1 - p)
    try:
        cov = cho_solve(cho_factor((X * w[:, None]).T @ X), np.eye(X.shape[1]))
    except (LinAlgError, ValueError) as exc:
        raise separation from exc
    return _LogitFit(beta, cov, it)


def gcomp_vcov(
    Xs: Sequence[np.ndarray],
    y: np.ndarray,
    codes: np.ndarray,
    beta: np.ndarray,
    cov_beta: np.ndarray | None,
    variance: str,
    strata_codes: np.ndarray | None = None,
    randomization: str = "permuted_block",
) -> tuple[np.ndarray, np.ndarray]:
    """Counterfactual risks ``theta_a`` (one per arm, ``Xs[a]`` the design with every patient
    set to arm ``a``; ``codes`` the randomised arms 0..K-1) and their K x K covariance."""
    from scipy.special import expit

    P = np.column_stack([expit(X @ beta) for X in Xs])  # (n, K)
    K = P.shape[1]
    theta = P.mean(axis=0)
    n = len(y)
    if variance in ("ge2011", "ge2011_hc0"):
        D = np.vstack([(P[:, j] * (1 - P[:, j])) @ Xs[j] for j in range(K)]) / n
        return theta, D @ cov_beta @ D.T
    arms = [codes == j for j in range(K)]
    pi = np.array([m.mean() for m in arms])
    V = np.empty((K, K))
    Pc = P - P.mean(axis=0)
    S = Pc.T @ Pc / (n - 1)  # covariance of the predictions over all patients

    def cov_in(m: np.ndarray, u: np.ndarray, v: np.ndarray) -> float:
        uu, vv = u[m], v[m]
        return float(np.dot(uu - uu.mean(), vv - vv.mean()) / (m.sum() - 1))

    # Ye et al. (2023) Theorem 1 for K arms
    for i in range(K):
        r = y - P[:, i]
        c_yp = cov_in(arms[i], y, P[:, i])
        if variance == "ye2023_robincar":  # RobinCar's decomposition (module notes)
            v_res = cov_in(arms[i], y, y) - 2 * c_yp + S[i, i]
        else:
            v_res = cov_in(arms[i], r, r)
        V[i, i] = v_res / pi[i] + 2 * c_yp - S[i, i]
        for j in range(i):
            V[i, j] = V[j, i] = cov_in(arms[i], y, P[:, j]) + cov_in(arms[j], y, P[:, i]) - S[i, j]
    if strata_codes is not None and randomization == "permuted_block":
        resid = y - P[np.arange(n), codes]
        omega = np.diag(pi) - np.outer(pi, pi)
        k = int(strata_codes.max()) + 1
        erb = np.zeros((K, K))
        for z in range(k):
            in_z = strata_codes == z
            r_z = np.array([resid[in_z & arms[j]].mean() / pi[j] for j in range(K)])
            erb += in_z.mean() * (r_z[:, None] * omega * r_z[None, :])
        V = V - erb
    return theta, V / n


#: a standardised risk this close to 0 (or, for the odds, to 1) is the fit's separation limit
#: of an arm without events (or without non-events): a ratio of it is unbounded
_BOUNDARY = 1e-8


def _unbounded_ratio(eff: str, t0: float, t1: float) -> float | None:
    """0, inf or NaN when a risk of the ratio ``eff`` is at its boundary, else None."""
    edge = {"rr": (t0 < _BOUNDARY, t1 < _BOUNDARY)}.get(eff)
    if eff == "or":
        edge = (min(t0, 1 - t0) < _BOUNDARY, min(t1, 1 - t1) < _BOUNDARY)
    if edge is None or not any(edge):
        return None
    if all(edge):  # both at a boundary: unbounded only with opposite ends (odds 0 vs inf)
        if eff == "or" and (t0 < 0.5) != (t1 < 0.5):
            return math.inf if t0 < 0.5 else 0.0
        return math.nan
    if edge[0]:  # the control's risk (odds) is 0 (or its odds infinite)
        return math.inf if eff == "rr" or t0 < 0.5 else 0.0
    return 0.0 if eff == "rr" or t1 < 0.5 else math.inf


def effect_rows(
    theta: np.ndarray, V: np.ndarray, effects: Sequence[str], conf_level: float, label: str
) -> pd.DataFrame:
    """Delta-method rows (RD; log RR; log OR) from counterfactual risks and their covariance.

    A ratio whose risk is at 0 (or, for the odds ratio, 1) — an arm without events under a
    separated logistic fit — is unbounded: estimate 0 or inf, no interval or p-value (the delta
    method on a log of 0 has no meaning; R's ``mantelhaen.test`` likewise gives Inf, NaN)."""
    t0, t1 = theta
    z = stats.norm.isf((1 - conf_level) / 2)
    rows = []
    for eff in effects:
        bound = _unbounded_ratio(eff, float(t0), float(t1))
        if bound is not None:
            rows.append(
                dict(
                    effect=eff,
                    estimate=bound,
                    se=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    p_value=math.nan,
                    variance=label,
                )
            )
            continue
        if eff == "rd":
            g, est, log = np.array([-1.0, 1.0]), t1 - t0, False
        elif eff == "rr":
            g, est, log = np.array([-1 / t0, 1 / t1]), t1 / t0, True
        else:
            g = np.array([-1 / (t0 * (1 - t0)), 1 / (t1 * (1 - t1))])
            est, log = (t1 / (1 - t1)) / (t0 / (1 - t0)), True
        var = float(g @ V @ g)
        se = math.sqrt(var) if var > 0 else math.nan
        centre = math.log(est) if log else est
        lo, hi = centre - z * se, centre + z * se
        p = float(2 * stats.norm.sf(abs(centre / se))) if se > 0 else math.nan
        if log:
            lo, hi = math.exp(lo), math.exp(hi)
        rows.append(
            dict(effect=eff, estimate=est, se=se, ci_low=lo, ci_high=hi, p_value=p, variance=label)
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def adjusted(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    covariates: Sequence[str] | str | None,
    *,
    effect: str | Sequence[str] = "rd",
    variance: str = "ye2023",
    strata: Sequence[str] | str | None = None,
    interaction: bool = False,
    randomization: str = "permuted_block",
    strata_in_model: bool = True,
    experimental: Any = None,
    conf_level: float = 0.95,
    synthetic: bool | None = None,
    reference: Any = None,
) -> AdjustedResult:
    """Covariate-adjusted marginal risk difference, risk ratio or odds ratio (g-computation).

    Parameters
    ----------
    data : DataFrame
        One row per patient. Not modified.
    outcome : str
        Binary outcome column (0/1 or bool).
    arm : str
        Randomised arm. Two levels: with 0/1 (or bool) levels 1 is experimental; otherwise the
        level named like a control (placebo, control, vehicle, sham, standard or usual care)
        is the control, or name the arms with ``experimental`` / ``reference``. More than two
        levels: every arm against the control (``reference``, or the one level named like a
        control) from one working model over all arms; one row per effect and arm.
    covariates : sequence of str, str or None
        Baseline covariates of the logistic working model; numeric columns enter linearly,
        others (strings, categoricals, bools) as treatment-coded dummies. Rows must be complete.
    effect : {"rd", "rr", "or", "all"} or a sequence of them
        Effect(s) reported, one row each.
    variance : {"ye2023", "ye2023_robincar", "ge2011", "ge2011_hc0"}
        Variance of the standardised risks (see Notes). ``"ye2023"`` is the one the FDA's 2023
        guidance points to (the paper's finite-sample form; ``"ye2023_robincar"``: RobinCar's
        and beeca's default form); with ``strata`` it becomes the
        covariate-adaptive-randomisation variance of ``randomization``.
    strata : str or sequence of str, optional
        Randomisation strata (their joint levels). They enter the working model as one
        categorical covariate and, with ``variance="ye2023"``, the variance accounts for
        stratified randomisation.
    interaction : bool
        Add arm-by-covariate interactions (a separate working model per arm: RobinCar's
        "heterogeneous" ANHECOVA-type adjustment). Strata are not interacted.
    randomization : {"permuted_block", "simple"}
        Randomisation scheme within ``strata`` for the Ye variance: stratified permuted blocks
        (Omega_z = 0) or simple randomisation (no correction).
    strata_in_model : bool
        Enter ``strata`` in the working model (default, as the guidance recommends); False
        uses them for the variance only.
    experimental : optional
        The experimental arm's level (two arms).
    conf_level : float
        Level of the Wald intervals.
    synthetic : bool, optional
        Mark the result as computed from synthetic data; default ``data.attrs["synthetic"]``.
    reference : optional
        The control arm's level (any number of arms).

    Returns
    -------
    AdjustedResult
        ``to_frame()`` columns ``effect, estimate, se, ci_low, ci_high, p_value, variance,
        comparison`` (``"<arm> vs <control>"``); estimates experimental - control (ratios
        experimental / control); ratio SEs on the log scale.

    Raises
    ------
    ParameterError
        Unknown column, effect, variance or level.
    DataValidationError
        Outcome not 0/1, missing arm or covariate values (listed by row).
    AnalysisError
        Not two arms, non-estimable or separated working model.

    Notes
    -----
    With ``p_ai = expit(x_i(a)' beta)`` the predicted risk of patient ``i`` under arm ``a``,
    ``theta_a = mean_i p_ai``. Ge et al.: ``Var(theta) = D V_beta D'`` with
    ``D_a = mean_i p_ai (1 - p_ai) x_i(a)'``. Ye et al.: ``n V_aa = var_a(y - p_a)/pi_a +
    2 cov_a(y, p_a) - var(p_a)`` and ``n V_01 = cov_0(y, p_1) + cov_1(y, p_0) - cov(p_0, p_1)``
    (subscript ``a``: patients randomised to ``a``; sample moments with ``n - 1``); with K
    arms the same formulas for every pair ``(a, b)`` give the K x K covariance (the paper's
    Theorem 1 is for K arms), and each experimental arm's effect uses its 2 x 2 block with
    the control's.
    Stratified permuted blocks: ``n V = n V_ye - sum_z P(z) R_z Omega R_z`` with
    ``R_z = diag(mean(y - p_A | z, a) / pi_a)`` and ``Omega = diag(pi) - pi pi'``. Effects by
    the delta method: RD gradient ``(-1, 1)``; log RR ``(-1/theta_0, 1/theta_1)``; log OR
    ``(-1/(theta_0(1-theta_0)), 1/(theta_1(1-theta_1)))``. p-values are the Wald tests of no
    effect on the scale of the row.

    Checked against ``glm`` + the formulas coded in R, and ``sandwich::sandwich`` for HC0
    (``tests/reference/adjusted.R``), to 1e-8; three arms against ``glm`` on a factor arm and
    the K-arm formulas in R (``tests/reference/adjusted2.R``).

    References
    ----------
    .. [1] FDA. Adjusting for Covariates in Randomized Clinical Trials for Drugs and
       Biological Products. Guidance for Industry, May 2023.
    .. [2] Ge M, Durham LK, Meyer RD, Xie W, Thomas N. Covariate-adjusted difference in
       proportions from clinical trials using logistic regression and weighted risk
       differences. Drug Inf J 2011;45:481-493.
    .. [3] Ye T, Shao J, Yi Y, Zhao Q. Toward better practice of covariate adjustment in
       analyzing randomized clinical trials. J Am Stat Assoc 2023;118:2370-2382.
    .. [4] Ye T, Yi Y, Shao J. Inference on the average treatment effect under minimization
       and other covariate-adaptive randomization methods. Biometrika 2022;109:33-47.
    .. [5] Bugni FA, Canay IA, Shaikh AM. Inference under covariate-adaptive randomization.
       J Am Stat Assoc 2018;113:1784-1796.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import trial_analysis as ta
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"arm": np.repeat([1, 0], 100), "age": rng.normal(60, 10, 200)})
    >>> d["y"] = rng.binomial(1, 1 / (1 + np.exp(-(-0.5 + 0.8 * d.arm - 0.04 * (d.age - 60)))))
    >>> res = ta.binary.adjusted(d, "y", "arm", ["age"], effect="all")
    >>> res.to_frame()["effect"].tolist()
    ['rd', 'rr', 'or']
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data", "a pandas DataFrame (one row per patient)", type(data).__name__
        )
    for pname, col in (("outcome", outcome), ("arm", arm)):
        if not isinstance(col, str) or col not in data.columns:
            raise ParameterError(
                pname, f"a column of data ({', '.join(map(str, data.columns))})", col
            )
    covs = _columns("covariates", covariates, data)
    strat = _columns("strata", strata, data)
    if outcome in covs + strat or arm in covs + strat:
        raise ParameterError(
            "covariates/strata", "columns other than outcome and arm", covs + strat
        )
    if isinstance(effect, str):
        effects = (
            ADJUSTED_EFFECTS
            if effect == "all"
            else (check_choice("effect", effect, ADJUSTED_EFFECTS),)
        )
    else:
        effects = tuple(check_choice("effect", e, ADJUSTED_EFFECTS) for e in effect)
    variance = check_choice("variance", variance, ADJUSTED_VARIANCES)
    randomization = check_choice("randomization", randomization, RANDOMIZATIONS)
    conf_level = check_conf_level(conf_level)
    if len(data) > 50_000_000:
        raise ParameterError("data", "at most 50 million rows", len(data))
    if synthetic is None:
        synthetic = bool(getattr(data, "attrs", {}).get("synthetic", False))
    data = data.reset_index(drop=True)
    y = _binary_outcome(data, outcome)
    arm_code, arms = arm_codes(data, arm, experimental, reference)
    K = len(arms)
    Z = design_frame(data, covs)
    codes = None
    if strat:
        joint = (
            data[list(strat)].astype(str).agg("/".join, axis=1)
            if len(strat) > 1
            else data[strat[0]]
        )
        if pd.isna(joint).any():
            r = int(np.flatnonzero(pd.isna(joint).to_numpy())[0])
            raise DataValidationError(
                [Problem("data", r + 2, ",".join(strat), None, "stratum is missing")]
            )
        codes, uniq = pd.factorize(joint, sort=True)
        sname = "stratum" if len(strat) > 1 else strat[0]
        dummies = pd.get_dummies(
            pd.Categorical.from_codes(codes, [str(u) for u in uniq]),
            prefix=sname,
            prefix_sep="=",
            drop_first=True,
            dtype=float,
        )
        dummies.index = data.index
        for j in range(len(uniq)):
            for arm_j in range(K):
                if not np.any((codes == j) & (arm_code == arm_j)):
                    which = "control" if arm_j == 0 else "experimental"
                    raise AnalysisError(
                        f"stratum {uniq[j]!r} has no patient in the {which} arm"
                        + (f" {arms[arm_j]!r}" if K > 2 else "")
                    )
    if not strat or not strata_in_model:
        dummies = pd.DataFrame(index=data.index)
    Zm = Z.to_numpy(dtype=float)
    Sm = dummies.to_numpy(dtype=float)

    def build(arm_value: np.ndarray) -> np.ndarray:
        A = np.column_stack([(arm_value == j).astype(float) for j in range(1, K)])
        cols = [np.ones(len(y)), A, Zm, Sm]
        if interaction and Zm.shape[1]:
            cols += [A[:, [j]] * Zm for j in range(K - 1)]
        return np.column_stack(cols)

    arm_terms = [f"{arm}[{lab}]" for lab in arms[1:]]
    names = ["(Intercept)", *arm_terms, *Z.columns, *dummies.columns]
    if interaction:
        names += [f"{t}:{c}" for t in arm_terms for c in Z.columns]
    X = build(arm_code)
    fit = _fit_logistic(X, y, names)
    beta = np.asarray(fit.params)
    cov_beta = None
    if variance == "ge2011":
        cov_beta = np.asarray(fit.cov_params())
    elif variance == "ge2011_hc0":
        from scipy.special import expit

        bread = np.asarray(fit.cov_params())
        u = X * (y - expit(X @ beta))[:, None]
        cov_beta = bread @ (u.T @ u) @ bread
    n = len(y)
    Xs = [build(np.full(n, j)) for j in range(K)]
    theta, V = gcomp_vcov(Xs, y, arm_code, beta, cov_beta, variance, codes, randomization)
    label = variance
    if variance.startswith("ye2023") and codes is not None and randomization == "permuted_block":
        label = variance + "_car"
    comparisons = tuple(f"{arms[j]} vs {arms[0]}" for j in range(1, K))
    parts = []
    for j in range(1, K):
        sub = [0, j]
        rows = effect_rows(theta[sub], V[np.ix_(sub, sub)], effects, conf_level, label)
        rows[COMPARISON] = comparisons[j - 1]
        parts.append(rows)
    table = pd.concat(parts, ignore_index=True)
    se_t = np.sqrt(np.diag(V))
    risks = pd.DataFrame(
        {
            "arm": list(arms),
            "risk": theta,
            "se": se_t,
            "observed": [y[arm_code == j].mean() for j in range(K)],
            "n": [int(np.sum(arm_code == j)) for j in range(K)],
        }
    )
    coef = pd.DataFrame({"term": names, "estimate": beta, "se": np.asarray(fit.bse)})
    from scipy.special import expit

    p_fit = expit(X @ beta)
    # within 1e-10 of 0 or 1 (|eta| > 23): only a diverging coefficient gets there; R's glm
    # warns at 10 eps but stops its iterations (epsilon 1e-8) before reaching it
    eps = 1e-10
    extreme = bool(np.any((p_fit < eps) | (p_fit > 1 - eps)))
    a = (arm_code > 0).astype(float)
    labels = (arms[1], arms[0])
    return AdjustedResult(
        table=table,
        risks=risks,
        coef=coef,
        vcov=V,
        variance=label,
        conf_level=conf_level,
        n=n,
        n_experimental=int(a.sum()),
        n_control=int(n - a.sum()),
        covariates=covs,
        strata=strat,
        model_strata=strat if strata_in_model else (),
        interaction=bool(interaction),
        arm_labels=labels,
        synthetic=bool(synthetic),
        extreme_fit=extreme,
        comparisons=comparisons,
    )
