"""analyse_time_to_event: the one-call bundle equals its parts, which are checked against R
(tests/test_survival_estimators.py); here also against the R fixtures directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from tests.fixtures.survival_from_r import KM, LOGRANK, RMST
from trial_analysis.errors import ParameterError

DATA = Path(__file__).parent / "fixtures" / "survival_data"


@pytest.fixture(scope="module")
def lung():
    d = pd.read_csv(DATA / "lung.csv")
    d["arm"] = d["sex"].astype(str)
    return d


def test_bundle_matches_r(lung):
    """R: survfit(Surv(time, event) ~ sex, lung, conf.type = "log-log") medians; survdiff;
    RMST (survRM2 formulas) up to 365 days, arm 2 vs 1."""
    r = ta.survival.analyse_time_to_event(lung, arm="arm", reference="1", tau=365)
    f = r.to_frame()
    km = next(x for x in KM if x["name"] == "lung_sex" and x["conf_type"] == "log-log")
    med = f[f["measure"] == "median"]
    np.testing.assert_allclose(med["estimate"], km["median"])
    np.testing.assert_allclose(med["ci_low"], km["median_lower"])
    lr = next(x for x in LOGRANK if x["name"] == "lung_sex" and x["rho"] == 0 and x["gamma"] == 0)
    row = f[f["measure"] == "log-rank chi-square"].iloc[0]
    assert row["estimate"] == pytest.approx(lr["chisq"], rel=1e-9)
    rm = next(x for x in RMST if x["name"] == "lung_sex")
    row = f[f["measure"] == "RMST difference"].iloc[0]
    assert row["estimate"] == pytest.approx(rm["diff"], rel=1e-9)
    assert row["ci_low"] == pytest.approx(rm["diff_low"], rel=1e-9)


def test_bundle_equals_its_parts_with_reference_strata_and_covariates(lung):
    d = lung.dropna(subset=["ph_ecog"]).copy()
    d["ecog2"] = (d["ph_ecog"] >= 2).astype(int)
    r = ta.survival.analyse_time_to_event(
        lung.assign(ecog2=(lung["ph_ecog"] >= 2).astype(float).where(lung["ph_ecog"].notna())),
        arm="arm",
        reference="2",
        strata="ecog2",
        covariates=["age"],
    )
    assert r.n_dropped == 1 and r.reference == "2"
    d["male"] = (d["arm"] == "1").astype(float)
    fit = ta.survival.cox(d, "time", "event", ["male", "age"], strata="ecog2")
    hr = r.to_frame().query("measure == 'hazard ratio (Wald CI)'").iloc[0]
    assert hr["group"] == "1"
    assert hr["estimate"] == pytest.approx(fit.hazard_ratio[0], rel=1e-12)
    assert hr["ci_low"] == pytest.approx(fit.ci_low[0], rel=1e-12)
    lr = ta.survival.logrank(d["time"], d["event"], d["arm"], strata=d["ecog2"])
    assert r.logrank.chisq == pytest.approx(lr.chisq, rel=1e-12)
    assert "stratified" in str(r) and "adjusted for age" in str(r)


def test_source_of_a_reconstruction_is_carried():
    curve = pd.read_csv(DATA / "recon_sim_ph_curve.csv")
    risk = pd.read_csv(DATA / "recon_sim_ph_at_risk.csv")
    ipd = ta.survival.reconstruct(curve, risk)
    r = ta.survival.analyse_time_to_event(ipd)
    assert "reconstructed" in str(r)
    assert r.km.source == ta.survival.RECONSTRUCTED_SOURCE
    assert any("reconstructed" in t.get_text() for t in r.plot().texts)


def test_bad_input(lung):
    with pytest.raises(ParameterError, match="columns"):
        ta.survival.analyse_time_to_event(lung, arm="treatment")
    with pytest.raises(ParameterError) as e:
        ta.survival.analyse_time_to_event(lung, arm="arm", reference="3")
    assert e.value.parameter == "reference"
