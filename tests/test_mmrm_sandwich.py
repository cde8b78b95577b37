"""Empirical (sandwich) covariance of an MMRM against R.

R reference: ``tests/reference/adjusted.R`` section 7 -> ``MMRM_SANDWICH``:
``gls(y ~ visit * arm + visit * base, correlation = corSymm(form = ~ vi | subject),
weights = varIdent(form = ~ 1 | visit), method = "REML")`` on
``tests/fixtures/mmrm_data/missing.csv``; ``sum_i X_i' S_i^-1 r_i r_i' S_i^-1 X_i`` with
``S_i = getVarCov(fit, individual = i)``; contrasts from emmeans' ``linfct``. The two REML
optima agree to 4e-6 (estimates), which bounds the agreement of the SEs (measured 1.5e-7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures import adjusted_from_r as R
from trial_analysis.continuous.mmrm._sandwich import empirical_contrasts, empirical_vcov
from trial_analysis.errors import ParameterError

DATA = Path(__file__).parent / "fixtures" / "mmrm_data" / "missing.csv"
COLS = ("y", "subject", "visit", "arm", "base")


@pytest.fixture(scope="module")
def fitted():
    d = pd.read_csv(DATA)
    return d, ta.mmrm.fit(d, *COLS, reference="UC-MSC")


def test_empirical_se_matches_r(fitted):
    d, res = fitted
    ref = R.MMRM_SANDWICH
    out = empirical_contrasts(res, d, *COLS)
    assert_allclose(out.estimate, ref["estimate"], rtol=1e-5)
    assert_allclose(out.se_model, ref["se_model"], rtol=1e-5)
    assert_allclose(out.se, ref["se_empirical"], rtol=1e-5)
    V, _ = empirical_vcov(res, d, *COLS)
    assert_allclose(np.sqrt(np.diag(V)), ref["coef_se_empirical"], rtol=1e-5)
    # same df as the model; interval and p follow the new SE
    assert_allclose(out.df, res.contrasts.df)
    assert (out.ci_high - out.ci_low > 0).all()
    assert not np.allclose(out.se, out.se_model)


def test_wrong_data_is_refused(fitted):
    d, res = fitted
    with pytest.raises(ParameterError, match="fitted on this data"):
        empirical_vcov(res, d, "y", "subject", "visit", "arm", None)
