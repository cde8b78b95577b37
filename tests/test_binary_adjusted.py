"""Covariate-adjusted marginal effects (g-computation) against R.

R reference: ``tests/reference/adjusted.R`` -> ``tests/fixtures/adjusted_from_r.py`` and
``tests/fixtures/adjusted_data/trial.csv`` (400 patients, permuted blocks of 4 within 6 strata):
``glm(y ~ ..., family = binomial, control = glm.control(epsilon = 1e-14))``, counterfactual
predictions with ``model.matrix``, the Ge et al. (2011) delta method with ``vcov(fit)`` and with
``sandwich::sandwich(fit)`` (HC0), the Ye et al. (2023) variance with R's ``var``/``cov`` and the
stratified-permuted-block correction, coded from the papers' formulas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures import adjusted_from_r as R
from trial_analysis.errors import AnalysisError, DataValidationError, ParameterError

DATA = Path(__file__).parent / "fixtures" / "adjusted_data" / "trial.csv"


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    # "NA" is the North America region, not a missing value
    return pd.read_csv(DATA, keep_default_na=False)


CASES = {
    "main": (R.GCOMP_MAIN, dict(covariates=["age", "hba1c", "sex", "region"])),
    "interaction": (
        R.GCOMP_INTERACTION,
        dict(covariates=["age", "hba1c", "sex"], interaction=True),
    ),
    "strata": (R.GCOMP_STRATA, dict(covariates=["age", "hba1c"], strata="stratum")),
}
VARIANCES = {"ge2011": "ge", "ge2011_hc0": "hc0", "ye2023": "ye", "ye2023_robincar": "rc"}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("variance", VARIANCES)
def test_matches_r(trial, case, variance):
    """R: ``glm`` + predictions under arm = 0/1; Ge: ``D %*% vcov(fit) %*% t(D)`` (or
    ``sandwich(fit)``); Ye: ``var(y - p_a)/pi_a + 2 cov(y, p_a) - var(p_a)`` per arm and the
    cross term (RobinCar form: ``var_a(y) - 2 cov_a(y, p_a) + var(p_a)`` in place of
    ``var_a(y - p_a)``); strata: minus ``sum_z P(z) R_z Omega R_z``."""
    ref, kw = CASES[case]
    key = VARIANCES[variance]
    if variance.startswith("ye2023") and "strata" in kw:
        key = {"ye2023": "car", "ye2023_robincar": "rc_car"}[variance]
    res = ta.binary.adjusted(trial, "y", "arm", effect="all", variance=variance, **kw)
    out = res.to_frame()
    assert out.effect.tolist() == ["rd", "rr", "or"]
    assert_allclose(out.estimate, ref["estimate"], rtol=1e-9)
    assert_allclose(res.risks.risk, ref["theta"], rtol=1e-9)
    assert_allclose(res.vcov.ravel(order="F"), ref[f"{key}_vcov"], rtol=1e-6, atol=1e-12)
    assert_allclose(out.se, ref[f"{key}_se"], rtol=1e-6)
    z = 1.959963984540054
    rd = out.iloc[0]
    assert_allclose([rd.ci_low, rd.ci_high], [rd.estimate - z * rd.se, rd.estimate + z * rd.se])
    rr = out.iloc[1]
    assert_allclose(np.log(rr.ci_high) - np.log(rr.estimate), z * rr.se)


def test_coefficients_match_glm(trial):
    """R: ``coef(glm(y ~ arm + age + hba1c + sex + region, binomial))`` (same column order)."""
    res = ta.binary.adjusted(trial, "y", "arm", ["age", "hba1c", "sex", "region"])
    assert_allclose(res.coef.estimate, R.GCOMP_MAIN["coef"], rtol=1e-8)
    assert res.coef.term.tolist()[:2] == ["(Intercept)", "arm[1]"]


def test_car_variance_strata_outside_model(trial):
    """R: the main model (no stratum term) with the permuted-block correction over 'stratum'."""
    res = ta.binary.adjusted(
        trial,
        "y",
        "arm",
        ["age", "hba1c", "sex", "region"],
        effect="all",
        strata="stratum",
        strata_in_model=False,
    )
    assert res.variance == "ye2023_car"
    assert_allclose(res.to_frame().se, R.GCOMP_MAIN["car_se"], rtol=1e-6)
    simple = ta.binary.adjusted(
        trial, "y", "arm", ["age", "hba1c"], strata="stratum", randomization="simple"
    )
    assert simple.variance == "ye2023"
    assert_allclose(simple.row("rd").se, R.GCOMP_STRATA["ye_se"][0], rtol=1e-6)


def test_no_covariates_is_crude(trial):
    """Arm-only working model: g-computation returns the observed risks, and the Ye variance
    is the unpooled binomial variance with n - 1 denominators (the sample variance of y)."""
    res = ta.binary.adjusted(trial, "y", "arm", None)
    y1 = trial.y[trial.arm == 1]
    y0 = trial.y[trial.arm == 0]
    assert_allclose(res.row("rd").estimate, y1.mean() - y0.mean(), rtol=1e-10)
    var = y1.var() / len(y1) + y0.var() / len(y0)
    assert_allclose(res.row("rd").se, np.sqrt(var), rtol=1e-10)


def test_string_arms_and_bool_outcome(trial):
    d = trial.assign(arm=np.where(trial.arm == 1, "Drug", "Placebo"), y=trial.y.astype(bool))
    res = ta.binary.adjusted(d, "y", "arm", ["age"], experimental="Drug")
    ref = ta.binary.adjusted(trial, "y", "arm", ["age"])
    assert_allclose(res.row("rd").estimate, ref.row("rd").estimate)
    assert "Drug" in str(res)
    # the arm named like a control is the control when neither arm is named
    inferred = ta.binary.adjusted(d, "y", "arm", ["age"])
    assert_allclose(inferred.row("rd").estimate, ref.row("rd").estimate)
    assert inferred.comparisons == ("Drug vs Placebo",)
    other = d.assign(arm=d.arm.replace({"Placebo": "Other"}))
    with pytest.raises(ParameterError, match="experimental"):
        ta.binary.adjusted(other, "y", "arm", ["age"])


def test_input_not_modified_and_errors(trial):
    before = trial.copy()
    ta.binary.adjusted(trial, "y", "arm", ["age"], strata="stratum")
    pd.testing.assert_frame_equal(trial, before)
    with pytest.raises(ParameterError, match="covariates"):
        ta.binary.adjusted(trial, "y", "arm", ["nope"])
    with pytest.raises(ParameterError, match="variance"):
        ta.binary.adjusted(trial, "y", "arm", ["age"], variance="hc3")
    bad = trial.copy()
    bad.loc[5, "y"] = 2
    with pytest.raises(DataValidationError, match="0 or 1"):
        ta.binary.adjusted(bad, "y", "arm", ["age"])
    miss = trial.copy()
    miss.loc[7, "age"] = np.nan
    with pytest.raises(DataValidationError, match="row 9"):
        ta.binary.adjusted(miss, "y", "arm", ["age"])
    sep = trial.assign(x=trial.y * 10.0)
    with pytest.raises(AnalysisError, match="separation"):
        ta.binary.adjusted(sep, "y", "arm", ["x"])
    coll = trial.assign(age2=trial.age * 2)
    with pytest.raises(AnalysisError, match="not estimable"):
        ta.binary.adjusted(coll, "y", "arm", ["age", "age2"])


def test_quasi_separation_is_noted():
    """A small site with every patient responding: R's glm warns "fitted probabilities
    numerically 0 or 1 occurred"; the standardised risks stay finite and a note says so."""
    rng = np.random.default_rng(1)
    n = 200
    d = pd.DataFrame(
        {"arm": rng.integers(0, 2, n), "site": np.where(rng.random(n) < 0.1, "t", "b")}
    )
    d["y"] = np.where(d.site == "t", 1, rng.integers(0, 2, n))
    res = ta.binary.adjusted(d, "y", "arm", ["site"])
    assert res.extreme_fit and "numerically 0 or 1" in str(res)
    assert np.isfinite(res.row("rd").se)
    ok = ta.binary.adjusted(d.assign(site=rng.permutation(d.site)), "y", "arm", None)
    assert not ok.extreme_fit


# ------------------------------------------------------------------ sparse strata pooled
def _sites(sizes: dict[str, tuple[int, int]], events: dict[str, int] | None = None):
    """Patients by site: ``sizes[site] = (experimental, control)``; ``events[site]`` responders
    (default about half, spread over both arms)."""
    rows = []
    for site, (ne, nc) in sizes.items():
        arms = [1] * ne + [0] * nc
        k = (events or {}).get(site, (ne + nc) // 2)
        ys = [1 if i % 2 == 0 and i // 2 < k else 0 for i in range(ne + nc)]
        if sum(ys) < k:  # fill the remaining responders in order
            ys = [1] * k + [0] * (ne + nc - k)
        rows += [dict(site=site, arm=a, y=y) for a, y in zip(arms, ys, strict=True)]
    return pd.DataFrame(rows)


def test_pool_sparse_strata_rule():
    """Sites with fewer than 2 patients of an arm, or one outcome only, join "pooled"; while
    "pooled" is itself sparse, the smallest other site (then the first in sorted order) joins
    it. The rule by hand on small site tables."""
    # no sparse site: nothing pooled, labels unchanged
    d = _sites({"a": (3, 3), "b": (2, 2)})
    labels, pooled = ta.binary.pool_sparse_strata(d, "y", "arm", "site")
    assert pooled == () and labels.tolist() == d["site"].tolist()
    # c has one control patient; d no responder; together (2+2 arms, one responder): enough
    d = _sites({"a": (4, 4), "b": (3, 3), "c": (1, 1), "d": (1, 2)}, {"c": 1, "d": 0})
    labels, pooled = ta.binary.pool_sparse_strata(d, "y", "arm", "site")
    assert pooled == ("c", "d")
    assert sorted(labels.unique()) == ["a", "b", "pooled"]
    # pooled c alone is sparse (1 per arm): it takes the smallest other site, b (4 < 8)
    d = _sites({"a": (4, 4), "b": (2, 2), "c": (1, 1)})
    assert ta.binary.pool_sparse_strata(d, "y", "arm", "site")[1] == ("b", "c")
    # a stricter threshold pools more; everything pooled leaves one level
    d = _sites({"a": (3, 3), "b": (2, 2)})
    assert ta.binary.pool_sparse_strata(d, "y", "arm", "site", min_per_arm=3)[1] == ("a", "b")
    labels, _ = ta.binary.pool_sparse_strata(d, "y", "arm", "site", min_per_arm=4)
    assert labels.nunique() == 1
    # a site no one responds in is sparse whatever its size
    d = _sites({"a": (5, 5), "b": (5, 5), "z": (6, 6)}, {"z": 0})
    labels, pooled = ta.binary.pool_sparse_strata(d, "y", "arm", "site")
    assert pooled == ("a", "z")  # z alone has none: a and b tie at 10 patients, a joins


def test_pool_sparse_strata_several_columns_and_names():
    d = _sites({"a": (3, 3), "b": (1, 1), "c": (3, 3)})
    d["sex"] = np.tile(["F", "M"], len(d) // 2)
    labels, pooled = ta.binary.pool_sparse_strata(d, "y", "arm", ["site", "sex"])
    assert all("/" in p for p in pooled) and "pooled" in set(labels)
    # a real stratum named "pooled" that is kept gets a distinct pooled level
    d = _sites({"pooled": (3, 3), "b": (3, 3), "c": (1, 1)})
    labels, pooled = ta.binary.pool_sparse_strata(d, "y", "arm", "site")
    assert "pooled" in set(labels) and "pooled*" in set(labels)
    before = d.copy()
    ta.binary.pool_sparse_strata(d, "y", "arm", "site")
    pd.testing.assert_frame_equal(d, before)


def test_pool_sparse_strata_errors():
    d = _sites({"a": (3, 3), "b": (2, 2)})
    with pytest.raises(ParameterError, match="min_per_arm"):
        ta.binary.pool_sparse_strata(d, "y", "arm", "site", min_per_arm=0)
    with pytest.raises(ParameterError, match="strata"):
        ta.binary.pool_sparse_strata(d, "y", "arm", "nope")
    with pytest.raises(DataValidationError, match="stratum is missing"):
        ta.binary.pool_sparse_strata(d.assign(site=d.site.where(d.index != 3)), "y", "arm", "site")
    with pytest.raises(DataValidationError, match="0 or 1"):
        ta.binary.pool_sparse_strata(d.assign(y=d.y * 2), "y", "arm", "site")


def test_pooling_prevents_the_separation_of_a_stratum_factor(trial):
    """A stratum in which no one responds makes its factor level diverge (quasi-complete
    separation, R glm: "fitted probabilities numerically 0 or 1"); pooled first, the working
    model is regular and the pooled fit equals ``adjusted`` on the pooled column."""
    d = trial.copy()
    s0 = sorted(d["stratum"].unique())[0]
    d.loc[d["stratum"] == s0, "y"] = 0
    raw = ta.binary.adjusted(d, "y", "arm", ["age"], strata="stratum", randomization="simple")
    assert raw.extreme_fit
    labels, pooled = ta.binary.pool_sparse_strata(d, "y", "arm", "stratum")
    assert s0 in pooled
    fit = ta.binary.adjusted(
        d.assign(stratum=labels), "y", "arm", ["age"], strata="stratum", randomization="simple"
    )
    assert not fit.extreme_fit and np.isfinite(fit.row("rd").se)
    assert "simple-randomisation form" in str(fit)
