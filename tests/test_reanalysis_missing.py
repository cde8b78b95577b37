"""Missing-data sensitivity analyses inside the HbA1c reanalysis (MAR, J2R, CR, tipping point)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import trial_analysis as ta
from tests._engine import reanalyze_hba1c


@pytest.fixture(scope="module")
def cohort_with_withdrawals():
    """A fresh cohort from the Zang model with 25 % dropout in both arms."""
    model = ta.synthetic.model_for("zang2022")
    return model.sample_ipd({"UC-MSC": 60, "Placebo": 60}, np.random.default_rng(3), dropout=0.25)


def test_reference_based_imputation_is_more_conservative_than_mar(cohort_with_withdrawals):
    """J2R imputes the treated dropouts' values as if they had been on placebo, so its effect lies
    between MAR's and zero; CR (copying the reference's trajectory from baseline) lies between J2R
    and MAR (Carpenter, Roger & Kenward 2013)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = reanalyze_hba1c("zang2022", ipd=cohort_with_withdrawals, seed=1)
    tab = res.sections["missing"].set_index(
        res.sections["missing"]["analysis"].str.extract(r"\((\w+)\)")[0]
    )
    mar, j2r, cr = (tab.loc[k, "estimate"] for k in ("MAR", "J2R", "CR"))
    assert mar < cr < j2r < 0  # negative = larger HbA1c fall on UC-MSC
    assert (tab["ci_low"] < tab["estimate"]).all() and (tab["estimate"] < tab["ci_high"]).all()
    assert res.tipping is not None and res.tipping.tipping_delta > 0
    assert "tipping_point" in res.figures()


def test_no_treated_dropout_says_reference_methods_equal_mar():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = reanalyze_hba1c("zang2022", ipd=ta.synthetic_ipd("zang2022"), seed=5)
    est = res.sections["missing"]["estimate"]
    assert est.nunique() == 1  # J2R and CR impute nothing in the UC-MSC arm
    assert res.tipping is None
    assert any("J2R and CR equal MAR" in n for n in res.notes)


def test_missing_section_reproducible_for_a_seed(cohort_with_withdrawals):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = reanalyze_hba1c("zang2022", ipd=cohort_with_withdrawals, seed=11)
        b = reanalyze_hba1c("zang2022", ipd=cohort_with_withdrawals, seed=11)
    assert a.sections["missing"].equals(b.sections["missing"])
