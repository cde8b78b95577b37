"""Least-squares means of an ANCOVA with any covariates and strata, with the weights SAS and
emmeans offer, and model-based or sandwich (HC0/HC3) variances.

Not yet exported by :mod:`trial_analysis.continuous` (``lsmeans`` and ``LSMeansResult`` are
to be re-exported there, or folded into the k-arm ``ancova``).

Model ``y = b0 + b_arm arm + b'x [+ arm x x]`` by ordinary least squares (statsmodels OLS).
Numeric covariates are held at their overall mean; the LS-mean of arm ``a`` averages the
predictions over the grid of the levels of the categorical covariates (and strata):

- ``weights="equal"``: every combination of levels counts the same (emmeans' default; SAS
  LSMEANS);
- ``weights="proportional"``: each combination in proportion to its frequency among all
  patients (emmeans ``weights = "proportional"``; SAS ``OBSMARGINS``).

Without arm-by-covariate interactions the difference of LS-means is ``b_arm`` under both
weightings; with interactions (``interaction=True``) it is the marginal difference each
weighting defines. Variances are ``L V L'`` with ``V`` the model covariance or the HC0/HC3
sandwich (statsmodels), t intervals on the residual df in every case (as emmeans with
``vcov. = sandwich::vcovHC(fit)``).
statsmodels has no emmeans-style reference grid; the grid averaging is written here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_choice, check_conf_level
from ..errors import AnalysisError, ParameterError
from ..results import SYNTHETIC_NOTE, Result, select_row

__all__ = ["LSMeansResult", "lsmeans"]

WEIGHTS = ("equal", "proportional")
VCOVS = ("model", "HC0", "HC3")


@dataclass(frozen=True, eq=False)
class LSMeansResult(Result):
    """LS-means per arm and their difference (see :func:`lsmeans`).

    ``to_frame()``: rows ``lsmean`` (one per arm) and ``difference`` (experimental - control)
    with ``estimate, se, df, ci_low, ci_high, p_value``.
    """

    table: pd.DataFrame = field(repr=False)
    coef: pd.DataFrame = field(repr=False)
    weights: str
    vcov: str
    conf_level: float
    covariates: tuple[str, ...]
    interaction: bool
    arm_labels: tuple[str, str]
    synthetic: bool = False
    title: ClassVar[str] = "ANCOVA least-squares means"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, term: str) -> pd.Series:
        """``"difference"`` or an arm label."""
        return select_row(self.table, "term", term)

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            f"OLS on arm + {', '.join(self.covariates) or 'nothing'}"
            + (" with arm-by-covariate interactions" if self.interaction else "")
            + f"; numeric covariates at their mean, levels averaged with {self.weights} weights; "
            f"{'model-based' if self.vcov == 'model' else self.vcov + ' sandwich'} variance; "
            f"{self.conf_level:.0%} t intervals on the residual df.",
        ]
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)


def lsmeans(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    covariates: Sequence[str] | str | None = None,
    *,
    weights: str = "equal",
    vcov: str = "model",
    interaction: bool = False,
    experimental: Any = None,
    conf_level: float = 0.95,
    synthetic: bool | None = None,
) -> LSMeansResult:
    """ANCOVA LS-means of two arms and their difference, with equal or proportional weights.

    Parameters
    ----------
    data : DataFrame
        One row per patient; not modified. Rows must be complete.
    outcome, arm : str
        Continuous outcome; randomised arm (two levels; 0/1 or name ``experimental``).
    covariates : sequence of str, optional
        Baseline covariates and strata: numeric columns enter linearly, others as factors.
    weights : {"equal", "proportional"}
        Averaging over the factor-level combinations (see the module notes).
    vcov : {"model", "HC0", "HC3"}
        Covariance of the coefficients: model-based, or the sandwich (``sandwich::vcovHC``).
    interaction : bool
        Add arm-by-covariate interactions.
    experimental, conf_level, synthetic
        As in :func:`trial_analysis.binary.adjusted`.

    Returns
    -------
    LSMeansResult

    Notes
    -----
    LS-mean of arm ``a``: ``sum_g w_g x_g(a)' b`` over the grid ``g`` of level combinations
    with numeric covariates at their means; difference ``(L_1 - L_0) b`` with variance
    ``(L_1 - L_0) V (L_1 - L_0)'``. Checked against ``emmeans::emmeans(fit, "arm",
    weights = ...)`` with ``vcov.`` model-based and ``sandwich::vcovHC(type = "HC0"/"HC3")``
    (``tests/reference/adjusted.R``).

    References
    ----------
    .. [1] Searle SR, Speed FM, Milliken GA. Population marginal means in the linear model:
       an alternative to least squares means. Am Stat 1980;34:216-221.
    .. [2] Lenth RV. emmeans: Estimated Marginal Means (R package), "weights" argument.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from trial_analysis.continuous._lsmeans import lsmeans
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"arm": np.repeat([1, 0], 50), "site": rng.choice(["a", "b"], 100)})
    >>> d["y"] = 1.0 * d.arm + (d.site == "b") + rng.normal(size=100)
    >>> r = lsmeans(d, "y", "arm", ["site"])
    >>> r.to_frame()["term"].tolist()
    ['1', '0', 'difference']
    """
    import statsmodels.api as sm

    from ..binary._adjusted import _columns, arm_indicator, design_frame

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
    weights = check_choice("weights", weights, WEIGHTS)
    vcov = check_choice("vcov", vcov, VCOVS)
    conf_level = check_conf_level(conf_level)
    if synthetic is None:
        synthetic = bool(getattr(data, "attrs", {}).get("synthetic", False))
    data = data.reset_index(drop=True)
    y = pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        r = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ParameterError(outcome, f"finite numbers (row {r + 2} is not)", data[outcome].iloc[r])
    a, labels = arm_indicator(data, arm, experimental)
    Z = design_frame(data, covs)
    numeric = [c for c in covs if c in Z.columns]
    factors = [c for c in covs if c not in numeric]

    def build(arm_value: np.ndarray, Zm: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(arm_value)), arm_value, Zm]
        if interaction and Zm.shape[1]:
            cols.append(arm_value[:, None] * Zm)
        return np.column_stack(cols)

    X = build(a, Z.to_numpy(dtype=float))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise AnalysisError(
            "the ANCOVA model is not estimable (collinear covariates or empty cells)"
        )
    fit = sm.OLS(y, X).fit(**({} if vcov == "model" else {"cov_type": vcov}))
    beta, V, df = np.asarray(fit.params), np.asarray(fit.cov_params()), float(fit.df_resid)
    # reference grid: every combination of factor levels, numeric covariates at their mean
    levels = [[c for c in Z.columns if c.startswith(f"{f}=")] for f in factors]
    cats = [
        list(pd.Series(data[f]).astype("category").cat.remove_unused_categories().cat.categories)
        for f in factors
    ]
    combos = list(itertools.product(*cats)) if factors else [()]
    grid = np.zeros((len(combos), Z.shape[1]))
    for j, c in enumerate(Z.columns):
        if c in numeric:
            grid[:, j] = Z[c].mean()
    for g, combo in enumerate(combos):
        for f, lev, dummy_cols in zip(factors, combo, levels, strict=True):
            name = f"{f}={lev}"
            if name in dummy_cols:
                grid[g, list(Z.columns).index(name)] = 1.0
    if weights == "equal" or not factors:
        w = np.full(len(combos), 1 / len(combos))
    else:
        keys = data[factors].astype(str).agg("\x1f".join, axis=1)
        freq = keys.value_counts(normalize=True)
        w = np.array([float(freq.get("\x1f".join(map(str, c)), 0.0)) for c in combos])
    L = {v: w @ build(np.full(len(combos), float(v)), grid) for v in (1, 0)}
    q = stats.t.isf((1 - conf_level) / 2, df)
    rows = []
    for term, lvec in ((labels[0], L[1]), (labels[1], L[0]), ("difference", L[1] - L[0])):
        est = float(lvec @ beta)
        se = float(math.sqrt(lvec @ V @ lvec))
        t = est / se
        rows.append(
            dict(
                term=term,
                estimate=est,
                se=se,
                df=df,
                ci_low=est - q * se,
                ci_high=est + q * se,
                p_value=float(2 * stats.t.sf(abs(t), df)),
            )
        )
    names = ["(Intercept)", f"{arm}[{labels[0]}]", *Z.columns]
    if interaction:
        names += [f"{arm}[{labels[0]}]:{c}" for c in Z.columns]
    coef = pd.DataFrame({"term": names, "estimate": beta, "se": np.sqrt(np.diag(V))})
    return LSMeansResult(
        table=pd.DataFrame(rows),
        coef=coef,
        weights=weights,
        vcov=vcov,
        conf_level=conf_level,
        covariates=covs,
        interaction=bool(interaction),
        arm_labels=labels,
        synthetic=bool(synthetic),
    )
