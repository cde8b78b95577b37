"""The engine's adjusted and stratified analyses of a binary endpoint, on real patient data.

R reference: ``tests/reference/adam_adjusted.R`` -> ``tests/fixtures/adam_adjusted_from_r.py``:
the CDISC pilot's responder endpoint (Week-24 cholesterol reduced by >= 10 %, safety population,
data/cdiscpilot01/design.toml) rebuilt from the shared ADaM XPT files with haven;
``glm(resp ~ arm + BASE_CHOLES + AGE, binomial)`` with g-computation and the Ye et al. (2023)
variance; ``mantelhaen.test`` over SITEID (with/without continuity correction) and
``metafor::rma.mh(measure = "RD")`` on the patients of each xanomeline arm and Placebo.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures.adam_adjusted_from_r import CHOL_RESPONDER as R

ARMS = {"low": "Xanomeline Low Dose", "high": "Xanomeline High Dose"}


@pytest.fixture(scope="module")
def reanalysis():
    return ta.reanalyze("cdiscpilot01", "chol_responder")


def test_design_declares_covariates_and_strata():
    ep = ta.load_trial("cdiscpilot01").design.endpoint("chol_responder")
    assert ep.covariates == ("BASE_CHOLES", "AGE")
    assert ep.strata == ("SITEID",)


@pytest.mark.parametrize("key", ["low", "high"])
def test_engine_rows_match_r(reanalysis, key):
    ref = R[key]
    arm = ARMS[key]
    res = next(r for r in reanalysis.of("chol_responder") if r.arms[0] == arm)
    # the patients analysed
    k = res.ipd_comparison
    assert (k.x1, k.n1, k.x2, k.n2) == (
        R["counts"][arm],
        R["n"][arm],
        R["counts"]["Placebo"],
        R["n"]["Placebo"],
    )
    adj = res.adjusted.to_frame().set_index("effect")
    assert_allclose(adj["estimate"], ref["gcomp_estimate"], rtol=1e-6)
    assert_allclose(adj["se"], ref["gcomp_se"], rtol=1e-6)
    assert_allclose(adj["ci_low"], ref["gcomp_ci_low"], rtol=1e-6)
    assert_allclose(adj["ci_high"], ref["gcomp_ci_high"], rtol=1e-6)
    assert_allclose(adj["p_value"], ref["gcomp_p"], rtol=1e-6)
    st = res.stratified.to_frame().set_index("key")
    assert len(res.stratified.strata) == ref["n_strata"]
    assert_allclose(
        st.loc["test_cmh", ["statistic", "p_value"]], [ref["cmh"], ref["cmh_p"]], rtol=1e-8
    )
    assert_allclose(
        st.loc["test_cmh_cc", ["statistic", "p_value"]], [ref["cmh_cc"], ref["cmh_cc_p"]], rtol=1e-8
    )
    assert_allclose(
        st.loc["rd_mh_sato", ["estimate", "ci_low", "ci_high", "p_value"]],
        [ref["rd_mh"], *ref["rd_mh_ci"], ref["rd_mh_p"]],
        rtol=1e-8,
    )
    # ... and the same numbers in the engine's tidy table, beside the unadjusted rows
    t = reanalysis.to_frame()
    t = t[(t["endpoint"] == "chol_responder") & (t["comparison"] == f"{arm} vs Placebo")]
    rows = t.set_index("analysis")
    rd = rows.loc["risk difference, adjusted for BASE_CHOLES, AGE (SAFFL)"]
    assert rd["estimate"] == pytest.approx(ref["gcomp_estimate"][0], rel=1e-6)
    assert rd["method"] == "g-computation, Ye et al. 2023 robust variance"
    assert rd["data_source"] == "patient-level"
    assert rows.loc["odds ratio, adjusted for BASE_CHOLES, AGE (SAFFL)", "p_value"] == (
        pytest.approx(ref["gcomp_p"][2], rel=1e-6)
    )
    assert rows.loc["CMH test, stratified by SITEID (SAFFL)", "p_value"] == pytest.approx(
        ref["cmh_p"], rel=1e-8
    )
    assert rows.loc["CMH test, continuity-corrected, stratified by SITEID (SAFFL)", "p_value"] == (
        pytest.approx(ref["cmh_cc_p"], rel=1e-8)
    )
    mh = rows.loc["risk difference, Mantel-Haenszel, stratified by SITEID (SAFFL)"]
    assert_allclose(
        mh[["estimate", "ci_low", "ci_high"]].astype(float),
        [ref["rd_mh"], *ref["rd_mh_ci"]],
        rtol=1e-8,
    )
    # the unadjusted rows are still there
    assert any(a.startswith("risk difference (patient-level") for a in rows.index)
    assert any("left out" in n and "Strata" in n for n in res.notes)


def test_without_declarations_nothing_is_added(reanalysis):
    """An endpoint with no covariates or strata gets neither analysis (the continuous ones are
    untouched; the Zang synthetic composite declares covariates only)."""
    res = ta.reanalyze("zang2022", "composite", ipd="synthetic")["composite"]
    assert res.stratified is None
    assert res.adjusted is not None and res.adjusted.covariates == ("BASE_HBA1C", "BASE_INSDOSE")
    assert res.adjusted.synthetic
    t = res.rows()
    assert any(r["analysis"].startswith("risk ratio, adjusted for") for r in t)
    assert all(r["data_source"] == "synthetic" for r in t if "adjusted for" in r["analysis"])
    assert math.isfinite(res.adjusted.row("rd").se)
    assert np.isfinite(reanalysis.to_frame()["estimate"].dropna()).all()


def test_engine_mmrm_uses_declared_covariates():
    """A continuous endpoint declaring covariates beyond its baseline: the engine's MMRM is
    ``ta.mmrm.fit(..., covariates=[...])`` on the same rows (that fit is checked against
    nlme::gls in tests/test_mmrm_covariates.py)."""
    import dataclasses

    trial = ta.load_trial("cdiscpilot01")
    ep = dataclasses.replace(
        trial.design.endpoint("cholesterol"), covariates=("BASE_CHOLES", "AGE")
    )
    ipd = ta.trial.resolve_ipd(trial, None)
    arm = trial.design.experimental_arm
    res = ta.reanalysis.analyse_continuous(trial, ep, arm, ipd=ipd, seed=1)
    fit = res.mmrm_fit
    assert fit.covariates == ("AGE",)
    assert "AGE" in fit.coef["term"].tolist()
    from trial_analysis.reanalysis._continuous import _long

    m = _long(ipd, ep, 1.0, trial.design.arm_names, "SAFFL")
    m = m.merge(ipd.subjects[["USUBJID", "AGE"]], on="USUBJID")
    direct = ta.mmrm.fit(
        m,
        "y",
        "USUBJID",
        "AVISITN",
        "ARM",
        baseline="BASE",
        reference="Placebo",
        covariates=["AGE"],
        fallback=("toeph", "ar1h", "cs"),
    )
    assert_allclose(fit.contrasts["estimate"], direct.contrasts["estimate"], rtol=1e-10)
    assert_allclose(fit.contrasts["se"], direct.contrasts["se"], rtol=1e-10)
    assert any("adjusted for AGE" in n for n in res.notes)


def test_report_table_adjusted_and_stratified(reanalysis):
    """The binary endpoint section's table "Adjusted and stratified analyses": the engine's rows
    as printed, the caption naming the data source."""
    from trial_analysis.report.content import Section, TableBlock
    from trial_analysis.report.sections import _adjusted_block

    res = next(r for r in reanalysis.of("chol_responder") if r.arms[0] == ARMS["low"])
    s = Section("ep", "responder")
    _adjusted_block(s, res, "patient-level")
    (block,) = s.blocks
    assert isinstance(block, TableBlock)
    assert block.source == "patient-level"
    assert block.caption.startswith("Adjusted and stratified analyses on the patient-level data")
    assert len(block.frame) == 6
    printed = block.frame.to_string()
    assert "CMH test, stratified by SITEID (SAFFL)" in printed
    assert "0.149" in printed  # g-computation RD p-value, R: 0.14873
    assert any("Ye, Shao, Yi & Zhao" in n for n in block.notes)
    # nothing declared or computed: no table
    empty = Section("ep", "x")
    zang = ta.reanalyze("zang2022", "composite", ipd=False)["composite"]
    _adjusted_block(empty, zang, "published")
    assert empty.blocks == []
