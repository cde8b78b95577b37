"""MMRM with covariates beyond the baseline, LS-mean weights and the empirical covariance.

R reference: ``tests/reference/adjusted2.R`` section 1 -> ``MMRM_COV``:
``gls(y ~ visit * arm + visit * base + age + region, correlation = corSymm(form = ~ vi |
subject), weights = varIdent(form = ~ 1 | visit), method = "REML")`` on
``tests/fixtures/mmrm_data/covariates.csv`` (three arms, dropout); ``emmeans(fit, ~ arm | visit,
weights = "equal")`` and, for proportional weights, ``weights = prop.table(table(region))`` (the
frequencies over the analysed rows, SAS ``OBSMARGINS``; emmeans' own ``"proportional"`` on a gls
fit counts each row with its varIdent precision weight, 7.7e-4 off here) and ``contrast(emm, "trt.vs.ctrl1")``; Satterthwaite df
from first principles (numDeriv Hessian of nlme's REML likelihood); the CR0 sandwich
``Phi sum_i X_i' S_i^-1 e_i e_i' S_i^-1 X_i Phi`` with ``S_i = getVarCov(fit, individual = i)``
and its Bell-McCaffrey df ``tr(G)^2 / tr(G^2)``, ``G = Gm' Omega Gm``, ``Gm`` the columns
``(I - H)_i' p_i`` from the N x N hat matrix (what R's mmrm does for ``vcov = "Empirical"``).

Measured agreement: coefficients 3.4e-6 absolute, SEs, df, LS-means and the sandwich 3e-6
relative or better. It is bounded by nlme's optimum: our REML log-likelihood is 4.3e-9 higher
than nlme's (gradient 2e-10 at ours), hence the 1e-5 tolerances of this iterative fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures.adjusted2_from_r import MMRM_COV as R
from trial_analysis.errors import DataValidationError, ParameterError

DATA = Path(__file__).parent / "fixtures" / "mmrm_data" / "covariates.csv"
ARGS = ("y", "subject", "visit", "arm")


def load() -> pd.DataFrame:
    d = pd.read_csv(DATA)
    d["arm"] = pd.Categorical(d["arm"], categories=["Placebo", "Low", "High"])
    return d


_FITS: dict = {}


def fitted(**kw):
    key = tuple(sorted(kw.items()))
    if key not in _FITS:
        _FITS[key] = ta.mmrm.fit(load(), *ARGS, baseline="base", covariates=["age", "region"], **kw)
    return _FITS[key]


def test_fixed_effects_and_loglik_match_gls():
    """summary(fit)$tTable, logLik(fit), getVarCov(fit); Satterthwaite df of each coefficient
    from first principles (adjusted2.R ``satt``)."""
    res = fitted()
    assert len(res.coef) == len(R["terms"])
    # same columns in R's model.matrix order (covariates after the baseline main effect)
    assert res.coef["term"].tolist()[6:10] == ["base", "age", "region[EUR]", "region[NAM]"]
    assert_allclose(res.coef["estimate"], R["coef"], atol=1e-5)
    assert_allclose(res.coef["se"], R["coef_se"], rtol=1e-5)
    assert_allclose(res.coef["df"], R["coef_df"], rtol=1e-4)
    assert res.loglik == pytest.approx(R["loglik"], abs=1e-6)
    assert_allclose(res.covariance.to_numpy().ravel(order="F"), R["covariance"], atol=1e-5)


@pytest.mark.parametrize("weights", ["equal", "proportional"])
def test_lsmeans_weights_match_emmeans(weights):
    """emmeans(fit, ~ arm | visit, data = d, weights = <weights>): numeric covariates at their
    mean over the analysed rows, region averaged equally or by its frequency."""
    res = fitted(weights=weights)
    lsm = res.lsmeans
    assert [str(v) for v in lsm["visit"]] == R["lsmeans_visit"]
    assert [str(a) for a in lsm["arm"]] == R["lsmeans_arm"]
    assert_allclose(lsm["estimate"], R[f"lsmeans_{weights}"], atol=1e-5)
    assert_allclose(lsm["se"], R[f"lsmeans_{weights}_se"], rtol=1e-5)
    # the arm contrasts do not depend on the weights
    assert_allclose(res.contrasts["estimate"], R["contrast_estimate"], atol=1e-5)
    assert weights in " ".join(res.notes)


def test_contrasts_match_emmeans():
    """contrast(emmeans(fit, ~ arm | visit), "trt.vs.ctrl1"): Low - Placebo, High - Placebo by
    visit; df from first principles."""
    con = fitted().contrasts
    order = np.lexsort((con["contrast"].str.startswith("High"), con["visit"]))
    # R lists the contrasts by visit (rows), then contrast; ours visit-major too
    assert_allclose(order, np.arange(len(con)))
    assert [c.replace(" ", "") for c in con["contrast"]] == [
        c.replace(" ", "") for c in R["contrast"]
    ]
    assert_allclose(con["estimate"], R["contrast_estimate"], atol=1e-5)
    assert_allclose(con["se"], R["contrast_se"], rtol=1e-5)
    assert_allclose(con["df"], R["contrast_df"], rtol=1e-4)


def test_empirical_vcov_and_bell_mccaffrey_df():
    """vcov="empirical": the CR0 sandwich from the gls pieces and the Bell-McCaffrey df from
    the N x N hat matrix in R (adjusted2.R ``bm_df``)."""
    res = fitted(vcov="empirical")
    assert_allclose(res.coef["se"], R["empirical_coef_se"], rtol=1e-5)
    assert_allclose(res.coef["df"], R["empirical_coef_df"], rtol=1e-5)
    con = res.contrasts
    assert_allclose(con["estimate"], R["contrast_estimate"], atol=1e-5)
    assert_allclose(con["se"], R["empirical_contrast_se"], rtol=1e-5)
    assert_allclose(con["df"], R["empirical_contrast_df"], rtol=1e-5)
    assert not np.allclose(con["se"], R["contrast_se"], rtol=1e-3)
    assert res.vcov_method == "empirical"
    assert any("sandwich" in n for n in res.notes)
    # the post-hoc helper gives the same SEs (it keeps the model df)
    from trial_analysis.continuous.mmrm._sandwich import empirical_contrasts

    post = empirical_contrasts(fitted(), load(), *ARGS, "base")
    assert_allclose(post["se"], con["se"], rtol=1e-10)


def test_without_covariates_unchanged():
    """No covariates: the same fit as before (the tests of test_mmrm.py pin it to R)."""
    d = load()
    a = ta.mmrm.fit(d, *ARGS, baseline="base")
    b = ta.mmrm.fit(d, *ARGS, baseline="base", covariates=[])
    assert_allclose(a.contrasts["estimate"], b.contrasts["estimate"], rtol=0, atol=0)
    assert a.covariates == () and "age" not in a.coef["term"].tolist()


def test_bad_covariates_are_refused():
    d = load()
    with pytest.raises(ParameterError, match="covariates"):
        ta.mmrm.fit(d, *ARGS, baseline="base", covariates=["nope"])
    with pytest.raises(ParameterError, match="different columns"):
        ta.mmrm.fit(d, *ARGS, baseline="base", covariates=["base"])
    with pytest.raises(ParameterError, match="weights"):
        ta.mmrm.fit(d, *ARGS, weights="cells")
    with pytest.raises(ParameterError, match="vcov"):
        ta.mmrm.fit(d, *ARGS, vcov="hc3")
    with pytest.raises(ParameterError, match="satterthwaite"):
        ta.mmrm.fit(d, *ARGS, vcov="empirical", df="kenward-roger")
    varying = d.copy()
    varying.loc[varying.index[1], "age"] += 1  # subject 1's second row
    with pytest.raises(DataValidationError, match="differs between a subject's rows"):
        ta.mmrm.fit(varying, *ARGS, covariates=["age"])
    missing = d.copy()
    missing.loc[missing.index[3], "region"] = None
    with pytest.raises(DataValidationError, match="missing"):
        ta.mmrm.fit(missing, *ARGS, covariates=["region"])
    assert d.equals(load())  # inputs never modified
