"""ta.survival estimators against R's survival package (fixtures from tests/reference/survival.R).

Data: survival::lung, veteran, ovarian (written to tests/fixtures/survival_data/ by the R script,
event = 1 for death) and a small tied toy set. Tolerance 1e-6 (measured agreement ~1e-13).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from tests.fixtures.survival_from_r import COX, KM, LOGRANK, RMST
from trial_analysis.errors import AnalysisError, ParameterError

DATA = Path(__file__).parent / "fixtures" / "survival_data"
TOL = 1e-6


def load(name: str) -> pd.DataFrame:
    if name == "half":
        return pd.DataFrame({"time": [1.0, 2, 3, 4], "event": [1, 1, 1, 1]})
    d = pd.read_csv(DATA / f"{name}.csv")
    if name == "toy":
        d["b"] = (d["group"] == "b").astype(float)
    return d


def close(a, b, tol=TOL):
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    assert a.shape == b.shape
    assert (np.isnan(a) == np.isnan(b)).all(), (a, b)
    both = ~np.isnan(a)
    finite = np.isfinite(b[both])
    assert (a[both][~finite] == b[both][~finite]).all()
    np.testing.assert_allclose(a[both][finite], b[both][finite], rtol=tol, atol=tol)


KM_SPEC = {
    "lung_sex": ("lung", "sex"),
    "lung_sex_90": ("lung", "sex"),
    "veteran_celltype": ("veteran", "celltype"),
    "ovarian_all": ("ovarian", None),
    "toy_group": ("toy", "group"),
    "half_all": ("half", None),
}


@pytest.mark.parametrize("ref", KM, ids=[f"{r['name']}-{r['conf_type']}" for r in KM])
def test_kaplan_meier_matches_survfit(ref):
    """R: survfit(Surv(time, event) ~ g, conf.type=, conf.int=); summary(fit)$table;
    summary(fit, times=, extend=TRUE)."""
    ds, g = KM_SPEC[ref["name"]]
    d = load(ds)
    level = 0.9 if ref["name"].endswith("_90") else 0.95
    km = ta.survival.kaplan_meier(
        d["time"], d["event"], None if g is None else d[g].astype(str), level, ref["conf_type"]
    )
    t = km.table
    assert list(t["group"].astype(str)) == list(np.atleast_1d(ref["group"]))
    for mine, r in [
        ("time", "time"),
        ("n_risk", "n_risk"),
        ("n_event", "n_event"),
        ("n_censor", "n_censor"),
        ("survival", "surv"),
        ("std_err", "std_err"),
        ("ci_low", "lower"),
        ("ci_high", "upper"),
    ]:
        close(t[mine], ref[r])
    s = km.summary
    close(s["median"], ref["median"])
    close(s["ci_low"], ref["median_lower"])
    close(s["ci_high"], ref["median_upper"])
    if ref["fixed_time"]:
        f = km.survival_at(sorted(set(ref["fixed_time"])))
        close(f["survival"], ref["fixed_surv"])
        close(f["ci_low"], ref["fixed_lower"])
        close(f["ci_high"], ref["fixed_upper"])
        close(f["n_risk"], ref["fixed_n_risk"])


def test_kaplan_meier_agrees_with_statsmodels_at_event_times():
    """Peer: statsmodels SurvfuncRight (same product-limit and Greenwood SE of S)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    d = load("lung")
    km = ta.survival.kaplan_meier(d["time"], d["event"])
    sm = SurvfuncRight(d["time"], d["event"])
    t = km.table[km.table["n_event"] > 0]
    np.testing.assert_allclose(t["time"], sm.surv_times)
    np.testing.assert_allclose(t["survival"], sm.surv_prob, atol=1e-12)
    np.testing.assert_allclose(t["survival"] * t["std_err"], sm.surv_prob_se, atol=1e-12)


def test_median_plateau_at_one_half_is_midpoint():
    km = ta.survival.kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    assert km.summary["median"][0] == 2.5
    q = km.quantile(0.25)
    assert q["time"][0] == 1.5


LR_SPEC = {
    "lung_sex": ("lung", "sex", None),
    "veteran_celltype": ("veteran", "celltype", None),
    "veteran_trt_by_celltype": ("veteran", "trt", "celltype"),
    "ovarian_rx": ("ovarian", "rx", None),
    "toy_group": ("toy", "group", None),
}


@pytest.mark.parametrize(
    "ref", LOGRANK, ids=[f"{r['name']}-rho{r['rho']}-gamma{r['gamma']}" for r in LOGRANK]
)
def test_logrank_matches_survdiff_and_fh_formula(ref):
    """R: survdiff(Surv(time, event) ~ g [+ strata(s)], rho=) for gamma = 0; for gamma > 0 the
    G(rho, gamma) statistic coded from Harrington & Fleming (1982) in survival.R (itself checked
    against survdiff at gamma = 0)."""
    ds, g, s = LR_SPEC[ref["name"]]
    d = load(ds)
    r = ta.survival.logrank(
        d["time"], d["event"], d[g], None if s is None else d[s], rho=ref["rho"], gamma=ref["gamma"]
    )
    assert [str(v) for v in r.levels] == list(np.atleast_1d(ref["levels"]))
    close(r.observed, ref["observed"])
    close(r.expected, ref["expected"])
    close(r.o_minus_e, ref["o_minus_e"])
    close(r.variance.ravel(order="F"), ref["variance"])
    close(r.chisq, ref["chisq"])
    close(r.p_value, ref["p_value"])
    assert r.df == ref["df"]
    assert "Chi-square" in str(r)


COX_SPEC = {
    "lung_efron": ("lung", ["sex", "age", "ph_ecog"], None),
    "lung_breslow": ("lung", ["sex", "age", "ph_ecog"], None),
    "veteran_strata": ("veteran", ["trt", "karno"], "celltype"),
    "ovarian": ("ovarian", ["rx", "age"], None),
    "toy": ("toy", ["b"], None),
}


@pytest.mark.parametrize("ref", COX, ids=[r["name"] for r in COX])
def test_cox_matches_coxph_profile_and_zph(ref):
    """R: fit <- coxph(Surv(time, event) ~ x [+ strata(s)], ties=); summary(fit); profile CI by
    offset + uniroot (survival.R prof_ci); cox.zph(fit, transform = "km" / "identity")."""
    ds, cv, s = COX_SPEC[ref["name"]]
    fit = ta.survival.cox(load(ds), "time", "event", cv, strata=s, ties=ref["ties"])
    assert list(fit.terms) == list(np.atleast_1d(ref["terms"]))
    close(fit.coef, ref["coef"])
    close(fit.se, ref["se"])
    f = fit.to_frame()
    close(f["hazard_ratio"], ref["hazard_ratio"])
    close(f["ci_low"], ref["wald_low"])
    close(f["ci_high"], ref["wald_high"])
    close(f["p_value"], ref["p_value"])
    close(f["lr_ci_low"], ref["lr_low"])
    close(f["lr_ci_high"], ref["lr_high"])
    close(fit.loglik, ref["loglik"])
    close(fit.lr_test, ref["lr_test"])
    assert (fit.n, fit.n_event) == (ref["n"], ref["n_event"])
    zk, zi = fit.ph_test("km"), fit.ph_test("identity")
    close(zk.chisq, ref["zph_km_chisq"])
    close(zk.p_value, ref["zph_km_p"])
    close(zi.chisq, ref["zph_id_chisq"])
    close(zi.p_value, ref["zph_id_p"])
    close(zk.df, ref["zph_df"])


def test_cox_text_covariate_becomes_indicator():
    d = load("veteran")
    fit = ta.survival.cox(d, "time", "event", ["celltype"], lr_ci=False)
    assert fit.terms == ("celltype[T.large]", "celltype[T.smallcell]", "celltype[T.squamous]")
    assert np.isnan(fit.lr_ci_low).all()


RMST_SPEC = {
    "lung_sex": ("lung", "sex"),
    "veteran_trt": ("veteran", "trt"),
    "ovarian_rx": ("ovarian", "rx"),
    "toy_group": ("toy", "group"),
}


@pytest.mark.parametrize("ref", RMST, ids=[r["name"] for r in RMST])
def test_rmst_matches_survrm2_formulas(ref):
    """R: survRM2::rmst2's formulas on survfit(Surv(time, event) ~ 1) per arm (survival.R rmst1)."""
    ds, g = RMST_SPEC[ref["name"]]
    d = load(ds)
    refl = ref["reference"] if ds == "toy" else int(ref["reference"])
    r = ta.survival.rmst(d["time"], d["event"], d[g], ref["tau"], reference=refl)
    close(r.rmst_reference, ref["rmst_ref"])
    close(r.se_reference, ref["se_ref"])
    close(r.rmst_experimental, ref["rmst_exp"])
    close(r.se_experimental, ref["se_exp"])
    close(r.difference, ref["diff"])
    close(r.difference_ci, [ref["diff_low"], ref["diff_high"]])
    close(r.difference_p_value, ref["diff_p"])
    close(r.ratio, ref["ratio"])
    close(r.ratio_ci, [ref["ratio_low"], ref["ratio_high"]])
    close(r.ratio_p_value, ref["ratio_p"])
    assert list(r.to_frame()["measure"])[2:] == ["difference", "ratio"]


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: ta.survival.kaplan_meier([1, -2], [1, 0]), "time"),
        (lambda: ta.survival.kaplan_meier([1, 2], [1, 2]), "event"),
        (lambda: ta.survival.kaplan_meier([1, 2], [1]), "event"),
        (lambda: ta.survival.kaplan_meier(["a", "b"], [1, 0]), "time"),
        (lambda: ta.survival.kaplan_meier([1, 2], [1, 0], conf_type="arcsin"), "conf_type"),
        (lambda: ta.survival.kaplan_meier([1, 2], [1, 0], conf_level=95), "conf_level"),
        (lambda: ta.survival.kaplan_meier([1, 2], [1, 0], [None, "a"]), "group"),
        (lambda: ta.survival.logrank([1, 2], [1, 0], ["a", "a"]), "group"),
        (lambda: ta.survival.logrank([1, 2], [1, 0], ["a", "b"], gamma=-1), "gamma"),
        (lambda: ta.survival.rmst([1, 2, 3], [1, 0, 1], ["a", "b", "c"], 1), "group"),
        (lambda: ta.survival.rmst([1, 2, 3, 4], [1, 0, 1, 1], ["a", "b", "a", "b"], 9), "tau"),
        (
            lambda: ta.survival.rmst(
                [1, 2, 3, 4], [1, 0, 1, 1], ["a", "b", "a", "b"], 1, reference="z"
            ),
            "reference",
        ),
        (lambda: ta.survival.cox(load("toy"), "time", "event", ["nope"]), "covariates"),
        (lambda: ta.survival.cox(load("toy"), "time", "status", ["b"]), "event"),
        (lambda: ta.survival.cox([1, 2], "time", "event", ["b"]), "data"),
        (lambda: ta.survival.cox(load("toy"), "time", "event", ["b"], ties="exact"), "ties"),
    ],
)
def test_bad_input_names_the_argument(call, param):
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.parameter == param


def test_no_events_is_an_analysis_error():
    with pytest.raises(AnalysisError):
        ta.survival.logrank([1, 2, 3], [0, 0, 0], ["a", "b", "a"])
    d = pd.DataFrame({"t": [1, 2, 3], "e": [0, 0, 0], "x": [0, 1, 0]})
    with pytest.raises(AnalysisError):
        ta.survival.cox(d, "t", "e", ["x"])


def test_inputs_are_not_modified():
    d = load("lung")
    before = d.copy()
    ta.survival.cox(d, "time", "event", ["sex", "age"], lr_ci=False)
    pd.testing.assert_frame_equal(d, before)


def test_cox_agrees_with_statsmodels_phreg():
    """An independent implementation: statsmodels PHReg (Efron ties, strata) on veteran."""
    from statsmodels.duration.hazard_regression import PHReg

    d = load("veteran")
    d["trt2"] = (d["trt"] == 2).astype(float)
    strata = pd.factorize(d["celltype"])[0]
    ref = PHReg(
        d["time"].to_numpy(float),
        d[["trt2", "karno"]].to_numpy(float),
        status=d["event"].to_numpy(float),
        strata=strata,
        ties="efron",
    ).fit(disp=False)
    fit = ta.survival.cox(d, "time", "event", ["trt2", "karno"], strata="celltype", lr_ci=False)
    close(fit.coef, ref.params, 1e-8)
    close(fit.se, ref.bse, 1e-8)
    close(fit.loglik, ref.llf, 1e-8)
