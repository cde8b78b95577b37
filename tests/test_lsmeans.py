"""ANCOVA LS-means with factor covariates, equal/proportional weights and sandwich variances.

R reference: ``tests/reference/adjusted.R`` -> ``tests/fixtures/adjusted_from_r.py``
(``LSMEANS``): ``emmeans(lm(hba1c ~ armf + age + sex + region), "armf", weights = w,
vcov. = V)`` and the same with ``armf * (age + sex + region)``, ``w`` in equal/proportional,
``V`` in ``vcov(fit)``, ``sandwich::vcovHC(fit, type = "HC0"/"HC3")``; the difference by
``contrast(em, list(d = c(-1, 1)))``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from tests.fixtures import adjusted_from_r as R
from trial_analysis.continuous._lsmeans import lsmeans
from trial_analysis.errors import ParameterError

DATA = Path(__file__).parent / "fixtures" / "adjusted_data" / "trial.csv"


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return pd.read_csv(DATA, keep_default_na=False)


@pytest.mark.parametrize(
    "case", R.LSMEANS, ids=lambda c: f"{c['interaction']}-{c['weights']}-{c['vcov']}"
)
def test_matches_emmeans(trial, case):
    res = lsmeans(
        trial, "hba1c", "arm", ["age", "sex", "region"], weights=case["weights"],
        vcov=case["vcov"], interaction=case["interaction"],
    )  # fmt: skip
    t = res.to_frame()
    assert t.term.tolist() == ["1", "0", "difference"]
    got = [t.estimate[0], t.se[0], t.estimate[1], t.se[1], t.estimate[2], t.se[2], t.df[2]]
    assert_allclose(got, case["values"], rtol=1e-10)
    d = res.row("difference")
    assert d.ci_low < d.estimate < d.ci_high


def test_main_effects_difference_is_the_arm_coefficient(trial):
    """Without interactions both weightings give b_arm (emmeans agrees: same difference)."""
    eq = lsmeans(trial, "hba1c", "arm", ["age", "region"])
    pr = lsmeans(trial, "hba1c", "arm", ["age", "region"], weights="proportional")
    b = eq.coef.set_index("term").loc["arm[1]", "estimate"]
    assert_allclose(eq.row("difference").estimate, b, rtol=1e-12)
    assert_allclose(pr.row("difference").estimate, b, rtol=1e-12)
    # no factors: the LS-means are the predictions at the covariate means
    plain = lsmeans(trial, "hba1c", "arm", ["age"])
    assert np.isfinite(plain.row("1").estimate)


def test_errors(trial):
    before = trial.copy()
    lsmeans(trial, "hba1c", "arm", ["sex"])
    pd.testing.assert_frame_equal(trial, before)
    with pytest.raises(ParameterError, match="weights"):
        lsmeans(trial, "hba1c", "arm", ["sex"], weights="cells")
    with pytest.raises(ParameterError, match="vcov"):
        lsmeans(trial, "hba1c", "arm", ["sex"], vcov="HC1")
    with pytest.raises(ParameterError, match="covariates"):
        lsmeans(trial, "hba1c", "arm", ["nope"])
