"""Stratified 2x2 analyses (CMH, Mantel-Haenszel, Breslow-Day, stratified intervals) against R.

R reference: ``tests/reference/adjusted.R`` -> ``tests/fixtures/adjusted_from_r.py``:
``mantelhaen.test(x, correct = TRUE/FALSE)``; ``metafor::rma.mh(ai, bi, ci, di, measure =
"OR"/"RR"/"RD")`` (MH estimates, Robins-Breslow-Greenland / Greenland-Robins / Sato variances,
Breslow-Day ``BD`` and Tarone ``TA``); the Greenland-Robins (1985) RD variance, stratified
Newcombe (Yan & Su 2010, stratum ``prop.test`` Wilson intervals at the adjusted level) and the
stratified Miettinen-Nurminen interval (constrained MLE by ``optimize``, limits by ``uniroot``)
written in R from the papers. Data: the simulated trial's 6 strata and the penicillin/rabbits
example of ``?mantelhaen.test`` (strata without events or without non-events).
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


def _counts(ref):
    a, b, c, d = (np.array(ref[k]) for k in "abcd")
    return a, a + b, c, c + d


@pytest.mark.parametrize("ref", [R.STRAT_TRIAL, R.RABBITS], ids=["trial", "rabbits"])
def test_matches_r(ref):
    """R: mantelhaen.test, metafor::rma.mh and the formula implementations (module docstring)."""
    t = ta.binary.cmh_counts(*_counts(ref)).to_frame().set_index("key")
    assert_allclose(t.loc["test_cmh", "statistic"], ref["cmh"], rtol=1e-10)
    assert_allclose(t.loc["test_cmh", "p_value"], ref["cmh_p"], rtol=1e-9)
    assert_allclose(t.loc["test_cmh_cc", "statistic"], ref["cmh_cc"], rtol=1e-10)
    assert_allclose(t.loc["test_cmh_cc", "p_value"], ref["cmh_cc_p"], rtol=1e-9)
    assert_allclose(t.loc["test_cmh_cc", "statistic"], ref["rma_cmh"], rtol=1e-10)
    est = ["estimate", "ci_low", "ci_high"]
    assert_allclose(t.loc["or_mh", est], [ref["mh_or"], *ref["mh_or_ci"]], rtol=1e-10)
    assert_allclose(t.loc["or_mh", est], ref["rma_or"], rtol=1e-10)
    assert_allclose(t.loc["or_mh", "se"], ref["rma_or_se"], rtol=1e-10)
    assert_allclose(t.loc["rr_mh", est], ref["rma_rr"], rtol=1e-10)
    assert_allclose(t.loc["rr_mh", "se"], ref["rma_rr_se"], rtol=1e-10)
    assert_allclose(t.loc["rd_mh_sato", est], ref["rma_rd"], rtol=1e-10)
    assert_allclose(t.loc["rd_mh_sato", "se"], ref["rma_rd_se"], rtol=1e-10)
    assert_allclose(
        t.loc["rd_mh_gr", ["estimate", "se"]], [ref["gr_rd"], ref["gr_rd_se"]], rtol=1e-10
    )
    assert_allclose(t.loc["test_breslow_day", "statistic"], ref["breslow_day"], rtol=1e-9)
    assert_allclose(t.loc["test_breslow_day", "p_value"], ref["breslow_day_p"], rtol=1e-8)
    assert_allclose(t.loc["test_tarone", "statistic"], ref["tarone"], rtol=1e-9)
    assert_allclose(t.loc["test_tarone", "p_value"], ref["tarone_p"], rtol=1e-8)
    assert t.loc["test_tarone", "df"] == ref["homog_df"]
    assert_allclose(t.loc["rd_newcombe", est], ref["newcombe"], rtol=1e-10, atol=1e-12)
    # MN limits: R's uniroot/optimize to ~1e-11
    assert_allclose(t.loc["rd_mn", est], ref["mn"], atol=1e-8)
    assert_allclose(t.loc["rd_mn", "statistic"], ref["mn_z0"], rtol=1e-7)


def test_from_patient_data():
    """The same numbers from one row per patient (strata crossed from two columns)."""
    d = pd.read_csv(DATA, keep_default_na=False)
    res = ta.binary.cmh(d, "y", "arm", ["region", "sex"])
    assert res.strata.x1.tolist() == R.STRAT_TRIAL["a"]
    t = res.to_frame().set_index("key")
    assert_allclose(t.loc["test_cmh", "statistic"], R.STRAT_TRIAL["cmh"], rtol=1e-10)
    assert_allclose(t.loc["rd_mn", "ci_low"], R.STRAT_TRIAL["mn"][1], atol=1e-8)
    one = ta.binary.cmh(d, "y", "arm", "stratum").to_frame()
    pd.testing.assert_frame_equal(one, res.to_frame())


def test_single_stratum_reduces_to_unstratified():
    """One stratum: MH RD = crude RD, stratified Newcombe = Newcombe, stratified MN = MN,
    CMH (no correction) = Pearson chi-square times (N - 1) / N."""
    res = ta.binary.cmh_counts([30], [100], [18], [90]).to_frame().set_index("key")
    comp = ta.binary.compare(30, 100, 18, 90)
    nc = comp.row("rd_newcombe")
    assert_allclose(
        res.loc["rd_newcombe", ["ci_low", "ci_high"]], [nc.ci_low, nc.ci_high], rtol=1e-12
    )
    mn = comp.row("rd_miettinen_nurminen")
    assert_allclose(res.loc["rd_mn", ["ci_low", "ci_high"]], [mn.ci_low, mn.ci_high], atol=1e-9)
    chisq = comp.row("test_chisq").statistic
    assert_allclose(res.loc["test_cmh", "statistic"], chisq * 189 / 190, rtol=1e-12)


def test_sparse_and_errors():
    res = ta.binary.cmh_counts([1, 2, 0], [1, 5, 3], [0, 1, 2], [0, 4, 3], labels=["a", "b", "c"])
    assert "a" in " ".join(res.notes)  # stratum 'a' has no control patient: left out
    assert len(res.strata) == 2
    with pytest.raises(ParameterError, match="equal length"):
        ta.binary.cmh_counts([1, 2], [3, 4], [1], [3])
    with pytest.raises(ParameterError, match="events"):
        ta.binary.cmh_counts([5], [3], [1], [3])
    with pytest.raises(AnalysisError, match="both arms"):
        ta.binary.cmh_counts([1], [3], [0], [0])
    d = pd.DataFrame({"y": [1, 0, 1, 0], "arm": [1, 1, 0, 0], "s": ["a", None, "a", "b"]})
    with pytest.raises(DataValidationError, match="row 3"):
        ta.binary.cmh(d, "y", "arm", "s")
    with pytest.raises(ParameterError, match="strata"):
        ta.binary.cmh(d, "y", "arm", "zz")


def test_stratified_newcombe_matches_tern():
    """tern's test "prop_strat_nc ... with cmh weights" (tests/testthat/test-prop_diff.R):
    its data regenerated in R with the same seed and calls (adjusted.R section 8); tern
    expects diff 0.2539 and 95% CI (0.0347, 0.4454), "values externally validated"."""
    t = R.TERN_STRAT_NC
    r = ta.binary.cmh_counts(t["x1"], t["n1"], t["x2"], t["n2"]).row("rd_newcombe")
    assert_allclose(r.estimate, t["tern_diff"], atol=5e-5)
    assert_allclose([r.ci_low, r.ci_high], t["tern_ci"], atol=5e-5)
