"""The real CDISC pilot ADaM data (``../shared/data/cdiscpilot01/``) against R.

Reference values: tests/fixtures/adam_from_r.py, written by tests/reference/adam.R (haven reads
the XPT files; nlme::gls + pbkrtest's Kenward-Roger engine; lm). The R calls are in each test's
docstring. The analysis set is built by hand here with pandas from the ADaM record rules (the
same rules as the R script's header), independently of the package's ADaM reader:

    ADSL SAFFL == "Y", arm = TRT01P; ADLB PARAMCD == "GLUC", ANL01FL == "Y", DTYPE blank,
    AVISIT matching "Week <n>" (AVISITN 4, 5, 7, ..., 13), CHG and BASE not missing.

The tests skip when the shared data are not beside the checkout (CI clones the repository
with ``shared/`` next to it, as for tests/test_published.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures.adam_from_r import (
    ANCOVA_W24,
    ARMS,
    GLUC_MEAN_BASE,
    GLUC_RECORDS,
    GLUC_RECORDS_BY_VISIT,
    GLUC_SUBJECTS,
    GLUC_SUBJECTS_BY_ARM,
    GLUC_VISITS,
    MMRM_GLUC,
    SAFETY_N,
    SCREEN_FAILURES,
)

# <parent>/<checkout>/tests/this_file -> <parent>/shared/data/cdiscpilot01
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdiscpilot01"
CONTROL = "Placebo"


@pytest.fixture(scope="module")
def adam() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not (SHARED / "adsl.xpt").is_file() or not (SHARED / "adlb.xpt").is_file():
        pytest.skip("../shared/data/cdiscpilot01 not beside the checkout")
    pyreadstat = pytest.importorskip("pyreadstat")
    adsl, _ = pyreadstat.read_xport(str(SHARED / "adsl.xpt"))
    adlb, _ = pyreadstat.read_xport(str(SHARED / "adlb.xpt"))
    return adsl, adlb


@pytest.fixture(scope="module")
def gluc() -> pd.DataFrame:
    """The package's analysis set of the shipped extract (``IPD.analysis_set``), complete CHG,
    with AGE and SEX from ADSL: what the R script builds from the XPT files."""
    ipd = ta.load_ipd("cdiscpilot01")
    a = ipd.analysis_set("GLUC", population="SAFFL").dropna(subset=["CHG", "BASE"])
    a = a.merge(ipd.subjects[["USUBJID", "AGE", "SEX"]], on="USUBJID", how="left")
    a["ARM"] = a["ARM"].astype(str)
    return a.sort_values(["USUBJID", "AVISITN"]).reset_index(drop=True)


def test_analysis_set_equals_the_hand_built_one(adam, gluc):
    """The ADaM record rules applied by hand with pandas to the original XPT files give the
    same records as ``IPD.analysis_set`` on the shipped extract."""
    hand = _by_hand(adam)
    cols = ["USUBJID", "ARM", "AVISITN", "BASE", "CHG"]
    pd.testing.assert_frame_equal(
        hand[cols].reset_index(drop=True), gluc[cols].reset_index(drop=True), check_dtype=False
    )


def _by_hand(adam) -> pd.DataFrame:
    """Long analysis set: one row per subject and scheduled post-baseline visit."""
    adsl, adlb = adam
    saf = adsl.loc[adsl["SAFFL"] == "Y", ["USUBJID", "TRT01P", "AGE", "SEX"]]
    keep = (
        (adlb["PARAMCD"] == "GLUC")
        & (adlb["ANL01FL"] == "Y")
        & (adlb["DTYPE"] == "")
        & adlb["AVISIT"].str.fullmatch(r"Week [0-9]+")
        & adlb["CHG"].notna()
        & adlb["BASE"].notna()
    )
    g = adlb.loc[keep, ["USUBJID", "AVISIT", "AVISITN", "BASE", "CHG"]]
    g = g.merge(saf, on="USUBJID", how="inner").rename(columns={"TRT01P": "ARM"})
    assert not g.duplicated(["USUBJID", "AVISITN"]).any()
    return g.sort_values(["USUBJID", "AVISITN"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def mmrm_kr(gluc):
    return ta.mmrm.fit(
        gluc,
        "CHG",
        "USUBJID",
        "AVISITN",
        "ARM",
        baseline="BASE",
        covariance="unstructured",
        df="kenward-roger",
        reference=CONTROL,
    )


def test_population_and_analysis_set_counts(adam, gluc):
    """table(factor(adsl$TRT01P[adsl$SAFFL == "Y"], levels = arms)); sum(adsl$ARM == "Screen
    Failure"); nrow / subjects / table(visit) of the GLUC analysis set built with base R
    subsetting and merge() on haven::read_xpt frames."""
    adsl, _ = adam
    saf = adsl[adsl["SAFFL"] == "Y"]
    assert saf["TRT01P"].value_counts().to_dict() == SAFETY_N
    assert SAFETY_N == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    assert int((adsl["ARM"] == "Screen Failure").sum()) == SCREEN_FAILURES
    assert len(gluc) == GLUC_RECORDS
    assert gluc["USUBJID"].nunique() == GLUC_SUBJECTS
    by_arm = gluc.drop_duplicates("USUBJID")["ARM"].value_counts().to_dict()
    assert by_arm == GLUC_SUBJECTS_BY_ARM
    assert gluc["AVISITN"].value_counts().sort_index().to_dict() == GLUC_RECORDS_BY_VISIT
    assert sorted(gluc["AVISITN"].unique()) == GLUC_VISITS
    assert gluc["BASE"].mean() == pytest.approx(GLUC_MEAN_BASE, rel=1e-14)


def test_mmrm_unstructured_kenward_roger_matches_r(mmrm_kr):
    """fit <- nlme::gls(CHG ~ visit * arm + visit * BASE, correlation = corSymm(form = ~ vi |
    subject), weights = varIdent(form = ~ 1 | visit), method = "REML");
    L = model.matrix rows (arm, visit) minus (Placebo, visit); estimate = L %*% coef(fit);
    kr <- kr_gls(fit, d, "unstructured") (pbkrtest:::vcovAdj_internal on the gls fit, see
    tests/reference/mmrm.R); se = sqrt(l' PhiA l), df = pbkrtest:::Lb_ddf(l, vcov(fit), PhiA);
    p = 2 pt(-|t|, df); logLik(fit); getVarCov(fit).

    nlme stops 3.3e-8 short of the REML maximum on these data (Sigma off by up to 1.3e-4
    relative); the R script takes one Newton step on nlme's own REML log-likelihood and refits
    gls from there (polish_un in tests/reference/adam.R). Python's maximum is higher than nlme's
    unpolished one and equal to the polished one.

    Tolerances (measured on 2026-12-01 in brackets): estimates 1e-6 absolute (2.7e-7; the SEs
    are >= 0.197, so < 1.4e-6 SE), KR SEs 1e-6 relative (4.5e-8), KR df 1e-6 relative
    (3.2e-8), t 1e-5 relative (1.5e-6), p 1e-5 relative (8.9e-7), covariance 2e-5 relative
    (5.8e-6; nlme unpolished: 1.3e-4), log-likelihood 1e-8 absolute (1.4e-11)."""
    ref = MMRM_GLUC
    res = mmrm_kr
    assert res.n_obs == ref["n_obs"]
    assert res.n_subjects == ref["n_subjects"]
    assert res.n_cov_params == ref["n_cov_params"] == 45
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-8)
    assert res.loglik > ref["loglik_nlme_unpolished"] + 1e-8
    cov = res.covariance.loc[GLUC_VISITS, GLUC_VISITS].to_numpy()
    assert_allclose(cov, ref["covariance"], rtol=2e-5)
    # ... and farther from nlme's unpolished optimum
    unpolished = np.max(np.abs(cov / np.array(ref["covariance_nlme_unpolished"]) - 1))
    assert unpolished > 5 * np.max(np.abs(cov / np.array(ref["covariance"]) - 1))
    # Python orders the arms alphabetically: match the rows by (visit, label)
    con = res.contrasts.assign(visit=res.contrasts["visit"].astype(int))
    con = con.set_index(["visit", "contrast"])
    keys = list(zip(ref["contrast_visit"], ref["contrast_label"], strict=True))
    keys = [(int(v), lab) for v, lab in keys]
    assert sorted(keys) == sorted(con.index)
    con = con.loc[keys]
    assert_allclose(con["estimate"], ref["contrast"], rtol=0, atol=1e-6)
    assert_allclose(con["se"], ref["contrast_se_kr"], rtol=1e-6)
    assert_allclose(con["df"], ref["contrast_df_kr"], rtol=1e-6)
    assert_allclose(con["t_value"], ref["t_value_kr"], rtol=1e-5)
    assert_allclose(con["p_value"], ref["p_value_kr"], rtol=1e-5)
    # the KR adjustment of an unstructured (linear) covariance only inflates the SEs
    assert np.all(con["se"].to_numpy() >= np.array(ref["contrast_se_model"]))


def test_mmrm_lsmeans_at_mean_baseline_match_r(mmrm_kr):
    """LS-means: model.matrix(~ visit * arm + visit * base, grid) with base = mean(d$base)
    (the mean over the analysed rows, as emmeans); estimate = L %*% coef(fit); KR SE and df by
    kr_at(kr_gls(fit, d, "unstructured"), L) on the polished fit. Tolerances (measured):
    estimates 1e-6 absolute (2.1e-7), SEs and df 1e-6 relative (4.8e-8, 3.5e-8)."""
    ref = MMRM_GLUC
    res = mmrm_kr
    assert res.baseline_mean == pytest.approx(GLUC_MEAN_BASE, rel=1e-14)
    lsm = res.lsmeans.assign(visit=res.lsmeans["visit"].astype(int)).set_index(["visit", "arm"])
    keys = [(int(v), a) for v, a in zip(ref["lsmeans_visit"], ref["lsmeans_arm"], strict=True)]
    lsm = lsm.loc[keys]
    assert_allclose(lsm["estimate"], ref["lsmeans"], rtol=0, atol=1e-6)
    assert_allclose(lsm["se"], ref["lsmeans_se_kr"], rtol=1e-6)
    assert_allclose(lsm["df"], ref["lsmeans_df_kr"], rtol=1e-6)


def _week24(gluc: pd.DataFrame) -> pd.DataFrame:
    w = gluc[gluc["AVISITN"] == 12].copy()
    w["ARM"] = pd.Categorical(w["ARM"], categories=ARMS)
    return w


@pytest.mark.parametrize("key", ["base", "covariates"])
def test_week24_ancova_statsmodels_ols_matches_r_lm(gluc, key):
    """lm(CHG ~ arm + BASE) and lm(CHG ~ arm + BASE + AGE + SEX) at Week 24 (AVISITN 12),
    arm with levels Placebo, Xanomeline Low Dose, Xanomeline High Dose: summary(m)$coefficients
    of the two arm terms, confint(m), m$df.residual, summary(m)$sigma. Checks the fixture itself
    (statsmodels OLS with the same treatment coding) to 1e-8 relative."""
    import statsmodels.formula.api as smf

    ref = ANCOVA_W24[key]
    w = _week24(gluc)
    rhs = ref["formula"].split("~")[1].replace("arm", f"C(ARM, Treatment('{CONTROL}'))")
    fit = smf.ols(f"CHG ~ {rhs}", data=w).fit()
    terms = [f"C(ARM, Treatment('{CONTROL}'))[T.{a}]" for a in ARMS[1:]]
    assert int(fit.nobs) == ref["n"]
    assert [int((w["ARM"] == a).sum()) for a in ARMS] == ref["n_by_arm"]
    assert fit.df_resid == ref["df"]
    assert_allclose(fit.params[terms], ref["estimate"], rtol=1e-8)
    assert_allclose(fit.bse[terms], ref["se"], rtol=1e-8)
    assert_allclose(fit.tvalues[terms], ref["t_value"], rtol=1e-8)
    assert_allclose(fit.pvalues[terms], ref["p_value"], rtol=1e-8)
    ci = fit.conf_int(alpha=0.05).loc[terms]
    assert_allclose(ci[0], ref["ci_low"], rtol=1e-8)
    assert_allclose(ci[1], ref["ci_high"], rtol=1e-8)
    assert np.sqrt(fit.scale) == pytest.approx(ref["sigma"], rel=1e-8)


def test_week24_three_arm_ancova_matches_r_lm(gluc):
    """lm(CHG ~ arm + BASE) at Week 24 over all three arms (residual variance pooled over the
    three arms, df = n - 4): each xanomeline arm minus placebo, model SE, t, p, 95% CI, to 1e-8
    relative."""
    ref = ANCOVA_W24["base"]
    res = ta.continuous.ancova(
        _week24(gluc), outcome="CHG", baseline="BASE", arm="ARM", control=CONTROL
    )
    model = res.to_frame()
    model = model[model["se_type"] == "model"].set_index("comparison")
    model = model.loc[[f"{a} - {CONTROL}" for a in ARMS[1:]]]
    assert_allclose(model["estimate"], ref["estimate"], rtol=1e-8)
    assert_allclose(model["se"], ref["se"], rtol=1e-8)
    assert_allclose(model["df"], ref["df"], rtol=0)
    assert_allclose(model["p_value"], ref["p_value"], rtol=1e-8)
    assert_allclose(model["ci_low"], ref["ci_low"], rtol=1e-8)
    assert_allclose(model["ci_high"], ref["ci_high"], rtol=1e-8)


def test_week24_three_arm_ancova_with_covariates_matches_r_lm(gluc):
    """lm(CHG ~ arm + BASE + AGE + SEX) at Week 24, SEX a factor (reference "F", as R orders
    levels): each xanomeline arm minus placebo, model SE, p and CI to 1e-8 relative."""
    ref = ANCOVA_W24["covariates"]
    res = ta.continuous.ancova(
        _week24(gluc),
        outcome="CHG",
        baseline="BASE",
        arm="ARM",
        control=CONTROL,
        covariates=["AGE", "SEX"],
    )
    model = res.to_frame()
    model = model[model["se_type"] == "model"].set_index("comparison")
    model = model.loc[[f"{a} - {CONTROL}" for a in ARMS[1:]]]
    assert_allclose(model["estimate"], ref["estimate"], rtol=1e-8)
    assert_allclose(model["se"], ref["se"], rtol=1e-8)
    assert_allclose(model["df"], ref["df"], rtol=0)
    assert_allclose(model["p_value"], ref["p_value"], rtol=1e-8)
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-8)
