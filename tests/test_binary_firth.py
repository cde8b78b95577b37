"""Firth logistic regression against an independent R implementation.

R reference: ``tests/reference/binary_firth.R`` -> ``tests/fixtures/binary_firth_from_r.py``:
``optim(method="BFGS")`` on ``l(b) + 1/2 log det(X'WX)`` (logistf is not installable), penalised
LR tests by constrained ``optim``, profile intervals by ``uniroot``. BFGS stops at a relative
change of 1e-15 in the objective, so coefficients agree to ~1e-6 (rtol 1e-5 used).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from tests.fixtures.binary_firth_from_r import SEPARATION, SPARSE
from trial_analysis.binary import firth_logit
from trial_analysis.errors import AnalysisError, ParameterError


@pytest.mark.parametrize("ref", [SPARSE, SEPARATION], ids=["sparse", "separation"])
def test_matches_r(ref):
    df = pd.DataFrame(ref["data"])
    res = firth_logit(df, "y", ref["terms"])
    out = res.to_frame()
    assert_allclose(out.estimate, ref["coef"], rtol=1e-5, atol=1e-6)
    assert_allclose(out.p_value, ref["p_value"], rtol=1e-4, atol=1e-8)
    assert_allclose(np.log(out.ci_low), ref["ci_low"], rtol=1e-5, atol=1e-6)
    assert_allclose(np.log(out.ci_high), ref["ci_high"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ref", [SPARSE, SEPARATION], ids=["sparse", "separation"])
def test_matches_brglm2(ref):
    """glm(y ~ terms, family = binomial, method = "brglmFit", type = "AS_mean") from the
    maintained brglm2 package (Firth's modified score for the logit link): estimates and
    Wald standard errors."""
    res = firth_logit(pd.DataFrame(ref["data"]), "y", ref["terms"])
    assert_allclose(res.coef, ref["brglm2_coef"], rtol=1e-6, atol=1e-8)
    assert_allclose(res.se, ref["brglm2_se"], rtol=1e-6)


def test_separation_is_finite_where_ml_fails():
    df = pd.DataFrame(SEPARATION["data"])
    res = firth_logit(df, "y", ["x"])
    assert np.isfinite(res.coef).all()
    with pytest.warns(Warning, match="[Pp]erfect separation"):
        ml = sm.Logit(df.y, sm.add_constant(df.x)).fit(disp=0, warn_convergence=False)
    assert abs(ml.params.iloc[1]) > 5 * abs(res.coef[1])  # ML runs off towards infinity


def test_close_to_ml_when_events_are_plentiful():
    """Firth's bias correction is O(1/n): with 2000 patients it agrees with ML (statsmodels)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    y = rng.binomial(1, 1 / (1 + np.exp(-(0.3 + 0.8 * x))))
    df = pd.DataFrame({"y": y, "x": x})
    ml = sm.Logit(y, sm.add_constant(x)).fit(disp=0).params
    assert_allclose(firth_logit(df, "y", ["x"]).coef, ml, rtol=2e-2)


def test_missing_rows_dropped_and_reported():
    df = pd.DataFrame(SPARSE["data"])
    df.loc[[0, 5], "hba1c"] = np.nan
    res = firth_logit(df, "y", ["arm", "hba1c"])
    assert res.n_obs == len(df) - 2
    assert any("2 patients" in n for n in res.notes)
    assert math.isnan(df.loc[0, "hba1c"])  # input untouched


def test_errors():
    df = pd.DataFrame(SPARSE["data"])
    with pytest.raises(ParameterError, match=r"`data` must be a DataFrame with columns"):
        firth_logit(df, "y", ["nope"])
    bad = df.assign(y=df.y * 2)
    with pytest.raises(ParameterError, match=r"`y` must be a column of 0/1 values"):
        firth_logit(bad, "y", ["arm"])
    with pytest.raises(AnalysisError, match="collinear"):
        firth_logit(df.assign(arm2=df.arm), "y", ["arm", "arm2"])
