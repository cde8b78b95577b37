"""The engine's adjusted and stratified analyses of a binary endpoint, on real patient data.

R reference: ``tests/reference/adam_adjusted.R`` -> ``tests/fixtures/adam_adjusted_from_r.py``:
the CDISC pilot's responder endpoint (Week-24 cholesterol reduced by >= 10 %, safety population,
data/cdiscpilot01/design.toml) rebuilt from the shared ADaM XPT files with haven;
``glm(resp ~ arm + BASE_CHOLES + AGE + factor(stratum), binomial)`` (stratum: SITEID with the
sparse sites pooled by the rule of ``ta.binary.pool_sparse_strata``, coded again in R) with
g-computation and the Ye et al. (2023) variance, and the same without the strata;
``mantelhaen.test`` over SITEID (with/without continuity correction) and
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
    # the g-computation with the (pooled) sites in the working model: R to 1e-10
    assert res.adjusted_by == ("SITEID",)
    adj = res.adjusted.to_frame().set_index("effect")
    assert_allclose(adj["estimate"], ref["strata_estimate"], rtol=1e-10)
    assert_allclose(adj["se"], ref["strata_se"], rtol=1e-10)
    assert_allclose(adj["ci_low"], ref["strata_ci_low"], rtol=1e-10)
    assert_allclose(adj["ci_high"], ref["strata_ci_high"], rtol=1e-10)
    assert_allclose(adj["p_value"], ref["strata_p"], rtol=1e-10)
    assert (adj["variance"] == "ye2023").all()
    site_terms = [t for t in res.adjusted.coef["term"] if t.startswith("SITEID=")]
    assert len(site_terms) == ref["n_model_strata"] - 1  # treatment-coded factor
    pooled_note = next(n for n in res.notes if n.startswith("Strata of the working model"))
    assert ", ".join(ref["pooled"]) in pooled_note
    assert f"{ref['n_model_strata']} strata in the model" in pooled_note
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
    rd = rows.loc["risk difference, adjusted for BASE_CHOLES, AGE, stratified by SITEID (SAFFL)"]
    assert rd["estimate"] == pytest.approx(ref["strata_estimate"][0], rel=1e-10)
    assert rd["method"] == "g-computation, Ye et al. 2023 robust variance"
    assert rd["data_source"] == "patient-level"
    key = "odds ratio, adjusted for BASE_CHOLES, AGE, stratified by SITEID (SAFFL)"
    assert rows.loc[key, "p_value"] == pytest.approx(ref["strata_p"][2], rel=1e-10)
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


@pytest.mark.parametrize("key", ["low", "high"])
def test_covariates_alone_match_r(key):
    """The working model without the strata (``strata=None``): R's ``glm(resp ~ arm +
    BASE_CHOLES + AGE, binomial)`` with the same g-computation and Ye variance."""
    ref, arm = R[key], ARMS[key]
    trial = ta.load_trial("cdiscpilot01")
    ipd = ta.trial.resolve_ipd(trial, None)
    ev = ipd.endpoint_values("chol_responder", population="SAFFL").dropna(subset=["value"])
    ev = ev.loc[ev["ARM"].isin((arm, "Placebo"))]
    from trial_analysis.reanalysis._common import with_subject_columns

    d = with_subject_columns(ipd, ev, ["BASE_CHOLES", "AGE"])
    d = d.assign(ARM=d["ARM"].astype(str))
    adj = ta.binary.adjusted(
        d, "value", "ARM", ["BASE_CHOLES", "AGE"], effect="all", reference="Placebo"
    ).to_frame()
    assert_allclose(adj["estimate"], ref["gcomp_estimate"], rtol=1e-10)
    assert_allclose(adj["se"], ref["gcomp_se"], rtol=1e-10)
    assert_allclose(adj["p_value"], ref["gcomp_p"], rtol=1e-10)


@pytest.mark.parametrize("key", ["low", "high"])
def test_strata_alone_enter_the_g_computation(key):
    """An endpoint declaring strata and no covariates: the g-computation on arm and the pooled
    sites, labelled "adjusted, stratified by SITEID"; R ``glm(resp ~ arm + factor(stratum))``
    (fixture ``strata_only_*``) to 1e-10."""
    import dataclasses

    ref, arm = R[key], ARMS[key]
    trial = ta.load_trial("cdiscpilot01")
    ep = dataclasses.replace(trial.design.endpoint("chol_responder"), covariates=())
    ipd = ta.trial.resolve_ipd(trial, None)
    res = ta.reanalysis.analyse_binary(
        trial, ep, trial.design.arm(arm), ipd=ipd, seed=1, mcid=0.1, alpha=0.05, conf_level=0.95
    )
    assert res.adjusted.covariates == () and res.adjusted_by == ("SITEID",)
    adj = res.adjusted.to_frame()
    assert_allclose(adj["estimate"], ref["strata_only_estimate"], rtol=1e-10)
    assert_allclose(adj["se"], ref["strata_only_se"], rtol=1e-10)
    assert_allclose(adj["p_value"], ref["strata_only_p"], rtol=1e-10)
    names = [r["analysis"] for r in res.adjusted_rows()]
    assert "risk difference, adjusted, stratified by SITEID (SAFFL)" in names


def test_stratified_model_that_fails_falls_back_on_the_covariates(monkeypatch):
    """When the working model with the strata cannot be fitted (an AnalysisError, e.g. a
    separation the pooling did not prevent), the g-computation is adjusted for the covariates
    alone, the rows say so by their label and a note gives the reason."""
    import dataclasses

    from trial_analysis.errors import AnalysisError
    from trial_analysis.reanalysis import _binary as engine

    real = ta.binary.adjusted

    def fails_with_strata(*args, strata=None, **kw):
        if strata:
            raise AnalysisError("the logistic working model does not converge (test)")
        return real(*args, **kw)

    monkeypatch.setattr(engine._binary, "adjusted", fails_with_strata)
    trial = ta.load_trial("cdiscpilot01")
    ep = trial.design.endpoint("chol_responder")
    ipd = ta.trial.resolve_ipd(trial, None)
    arm = trial.design.arm(ARMS["low"])
    res = engine.analyse_binary(
        trial, ep, arm, ipd=ipd, seed=1, mcid=0.1, alpha=0.05, conf_level=0.95
    )
    assert res.adjusted_by == () and res.adjusted.strata == ()
    assert_allclose(res.adjusted.to_frame()["estimate"], R["low"]["gcomp_estimate"], rtol=1e-10)
    names = [r["analysis"] for r in res.adjusted_rows()]
    assert "risk difference, adjusted for BASE_CHOLES, AGE (SAFFL)" in names
    assert any("could not be fitted" in n and "(test)" in n for n in res.notes)
    # strata alone that cannot be fitted: no g-computation, said
    ep0 = dataclasses.replace(ep, covariates=())
    with pytest.warns(ta.errors.StatisticalWarning, match="omitted"):
        res0 = engine.analyse_binary(
            trial, ep0, arm, ipd=ipd, seed=1, mcid=0.1, alpha=0.05, conf_level=0.95
        )
    assert res0.adjusted is None and res0.stratified is not None


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
    assert "0.112" in printed  # g-computation RD p-value with the sites, R: 0.11249
    assert "stratified by SITEID" in printed
    assert any("Ye, Shao, Yi & Zhao" in n for n in block.notes)
    # nothing declared or computed: no table
    empty = Section("ep", "x")
    zang = ta.reanalyze("zang2022", "composite", ipd=False)["composite"]
    _adjusted_block(empty, zang, "published")
    assert empty.blocks == []
