"""Acceptance: trials the toolkit was not written for, run as a user would run them.

The trial folders are written into ``tmp_path`` by ``tests/_acceptance_trials.py`` (seeded
numpy, no real patients): a two-arm ADaM trial with other conventions than the CDISC pilot
(TRT01A only, FASFL, CSV + Parquet, unscheduled visits, missing values, ADTTE), a 4-arm
dose-ranging trial in SAS transport files, two published-only trials (binary + continuous;
time-to-event) and a tiny trial (6 per arm, 0 % vs 100 % responders, a visit with one patient).
Each test asserts a number against an independent computation (scipy here; R in the
docstrings), the exit code, or the presence of the sections the design declares.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trial_analysis as ta
from trial_analysis.cli import main

from . import _acceptance_trials as acc
from .fixtures import acceptance_from_r as R

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "acceptance_data"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    d = tmp_path_factory.mktemp("acceptance")
    acc.write_all(d)
    return d


@pytest.fixture(scope="module")
def adam2(root):
    return ta.reanalyze(root / "acc_adam2", seed=1)


@pytest.fixture(scope="module")
def dose4(root):
    return ta.reanalyze(root / "acc_dose4", seed=1)


@pytest.fixture(scope="module")
def pubbin(root):
    return ta.reanalyze(root / "acc_pubbin", seed=1)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ design files a user writes
def test_design_without_a_dose_loads(root):
    """A trial with no dosing rule to state (published-only, procedure, device) loads: the
    dose section is optional; its summary and timeline say nothing about doses."""
    d = ta.load_design(root / "acc_tiny")
    assert d.dose is None and d.dose_rules == ()
    s = d.summary()
    assert "Dosing" not in s and "None" not in s and "Design: \n" not in s
    assert "[]" not in d.title_line  # no registration: no empty brackets
    with pytest.raises(ta.TrialAnalysisError, match="dose"):
        d.cell_dose(70)


# ------------------------------------------------------------------ validate
def test_validate_adam_with_trt01a_only(root, capsys):
    """ADSL with TRT01A (no TRT01P, no ARM): validate counts the arms of TRT01A (was a
    KeyError 'ARM' reported as an internal error)."""
    code, out, err = run(capsys, "validate", root / "acc_adam2" / "adam")
    assert code == 0, err
    assert "Active 10 mg: 40, Vehicle: 40" in out
    code, out, _ = run(capsys, "validate", root / "acc_adam2" / "adam", "--json")
    assert code == 0
    assert json.loads(out)["subjects_by_arm"] == {"Active 10 mg": 40, "Vehicle": 40}


def test_validate_sas_transport_v8(root, capsys):
    """SAS transport v8 files (pyreadstat's default, SAS %loc2xpt) are read, not refused as
    'no LIBRARY header record'; the numbers are those written."""
    code, out, err = run(capsys, "validate", root / "acc_dose4" / "adam")
    assert code == 0, out + err
    ipd = ta.load_ipd(root / "acc_dose4" / "adam")
    want = acc.dose4_data()["advs"]
    got = ipd.measurements
    assert len(got) == len(want)
    assert np.allclose(got["AVAL"].to_numpy(float), want["AVAL"].to_numpy(float))


def test_validate_two_table_format_without_dose(root, capsys):
    code, out, err = run(
        capsys, "validate", root / "acc_tiny" / "ipd", "--design", root / "acc_tiny"
    )
    assert code == 0, out + err
    assert "Treated: 6, Untreated: 6" in out


# ------------------------------------------------------------------ published-only: binary
def test_published_percentages_with_one_decimal_and_analysed_n(pubbin):
    """Percentages printed with one decimal ("65.0", "44.0") stand for ±0.05, not ±0.005; the
    published analysed n per arm fixes the denominators: 76/117 vs 51/116 (was: "no counts
    reproduce the published 65.0 % vs 44.1 %"). The declared chi-square test equals scipy's
    ``chi2_contingency(correction=False)`` (R: ``chisq.test(matrix(c(76,41,51,65),2),
    correct=FALSE)``)."""
    r = pubbin
    c = r["seroconv"].counts
    assert len(c) == 1
    assert tuple(int(v) for v in c.iloc[0][["x1", "n1", "x2", "n2"]]) == acc.PUBBIN_COUNTS
    t = r.to_frame()
    prim = t.loc[t["primary"]]
    assert len(prim) == 1 and prim.iloc[0]["method"] == "Pearson chi-square"
    x1, n1, x2, n2 = acc.PUBBIN_COUNTS
    p = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)[1]
    assert prim.iloc[0]["p_value"] == pytest.approx(p, rel=1e-9)


def test_published_mean_sd_uses_the_published_n(pubbin):
    """A continuous secondary given as mean ± SD with n per arm: the summary t-test uses those
    n (116/113), not the randomised sizes (R: ``t.test`` from summaries; scipy
    ``ttest_ind_from_stats``)."""
    r = pubbin
    t = r.to_frame()
    row = t.loc[(t["endpoint"] == "titre") & t["method"].str.startswith("Student")].iloc[0]
    (m1, s1, k1), (m2, s2, k2) = acc.PUBBIN_TITRE.values()
    ref = stats.ttest_ind_from_stats(m1, s1, k1, m2, s2, k2)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert row["estimate"] == pytest.approx(m1 - m2)
    welch = t.loc[(t["endpoint"] == "titre") & t["method"].str.startswith("Welch")].iloc[0]
    ref_w = stats.ttest_ind_from_stats(m1, s1, k1, m2, s2, k2, equal_var=False)
    assert welch["p_value"] == pytest.approx(ref_w.pvalue, rel=1e-9)
    assert math.isclose(row["p_value"], 0.00278, abs_tol=5e-5)


# ------------------------------------------------------------------ patient-level: ADaM
def test_adam_two_arm_trial_reanalysed(adam2):
    """TRT01A arms, FASFL population, blank CHG at baseline, blank AVAL records and an
    unscheduled visit: every declared endpoint has its pre-specified analysis."""
    r = adam2
    t = r.to_frame()
    assert set(t["endpoint"]) == {"itch", "itch_resp", "flare"}
    assert (t["comparison"] == "Active 10 mg vs Vehicle").all()
    prim = t.loc[t["primary"]].set_index("endpoint")
    assert prim.loc["itch", "method"].startswith("MMRM") and "Week 12" in prim.loc["itch", "method"]
    assert prim.loc["flare", "method"] == "log-rank"
    assert prim.loc["itch_resp", "method"].startswith("Fisher")


def test_adam_two_arm_numbers_equal_an_independent_computation(adam2):
    """Fisher p of the responders and the log-rank p from the written data by scipy (R:
    ``fisher.test``; ``survival::survdiff``); the unscheduled record is not in the analysis."""
    data = acc.adam2_data()
    m, adsl = data["adeff"], data["adsl"]
    w12 = m.loc[(m["AVISITN"] == 40) & m["CHG"].notna()]
    arm = w12["USUBJID"].map(adsl.set_index("USUBJID")["TRT01A"])
    resp = w12["CHG"] <= -4
    x1, n1 = int(resp[arm == "Active 10 mg"].sum()), int((arm == "Active 10 mg").sum())
    x2, n2 = int(resp[arm == "Vehicle"].sum()), int((arm == "Vehicle").sum())
    r = adam2
    t = r.to_frame()
    fisher = t.loc[(t["endpoint"] == "itch_resp") & t["primary"]].iloc[0]
    assert fisher["p_value"] == pytest.approx(
        stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])[1], rel=1e-9
    )
    tte = data["adtte"].merge(adsl[["USUBJID", "TRT01A"]])
    lr = stats.logrank(
        stats.CensoredData(
            uncensored=tte.loc[(tte.TRT01A == "Active 10 mg") & (tte.CNSR == 0), "AVAL"],
            right=tte.loc[(tte.TRT01A == "Active 10 mg") & (tte.CNSR == 1), "AVAL"],
        ),
        stats.CensoredData(
            uncensored=tte.loc[(tte.TRT01A == "Vehicle") & (tte.CNSR == 0), "AVAL"],
            right=tte.loc[(tte.TRT01A == "Vehicle") & (tte.CNSR == 1), "AVAL"],
        ),
    )
    logrank = t.loc[(t["endpoint"] == "flare") & t["primary"]].iloc[0]
    assert logrank["p_value"] == pytest.approx(lr.pvalue, rel=1e-6)


def test_dose_ranging_every_dose_against_placebo(dose4):
    """Three doses vs placebo: one MMRM over all arms, each dose's contrast at week 12; the
    ANCOVA contrasts equal statsmodels OLS on the same rows (R: ``lm(CHG ~ ARM + BASE)``)."""
    import statsmodels.formula.api as smf

    r = dose4
    t = r.to_frame()
    comps = {f"{a} vs Placebo" for a in acc.DOSE4_ARMS[1:]}
    for ep in ("sbp", "sbp_resp"):
        assert set(t.loc[t["endpoint"] == ep, "comparison"]) == comps
        assert t.loc[t["endpoint"] == ep, "primary"].sum() == 3
    data = acc.dose4_data()
    m = data["advs"].merge(data["adsl"][["USUBJID", "TRT01P"]])
    w = m.loc[m["AVISITN"] == 12].copy()
    fit = smf.ols("CHG ~ C(TRT01P, Treatment('Placebo')) + BASE", data=w).fit()
    for a in acc.DOSE4_ARMS[1:]:
        row = t.loc[
            (t["comparison"] == f"{a} vs Placebo")
            & t["method"].str.startswith("ANCOVA")
            & t["method"].str.contains("model SE")
        ].iloc[0]
        term = f"C(TRT01P, Treatment('Placebo'))[T.{a}]"
        assert row["estimate"] == pytest.approx(fit.params[term], rel=1e-9)
        assert row["p_value"] == pytest.approx(fit.pvalues[term], rel=1e-7)


# ------------------------------------------------------------------ tiny trial
def test_tiny_trial_zero_and_all_responders(root):
    """6 vs 6, 6/6 vs 0/6 responders, a week-12 visit with one patient: no crash; Fisher's p
    is scipy's (R: ``fisher.test(matrix(c(6,0,0,6),2))``, p = 0.002165)."""
    r = ta.reanalyze(root / "acc_tiny", ipd=root / "acc_tiny" / "ipd", seed=1)
    t = r.to_frame()
    fisher = t.loc[(t["endpoint"] == "resp") & t["primary"]].iloc[0]
    assert fisher["p_value"] == pytest.approx(stats.fisher_exact([[6, 0], [0, 6]])[1], rel=1e-12)
    assert t.loc[(t["endpoint"] == "score") & t["primary"], "p_value"].notna().all()


def test_key_findings_use_the_pre_specified_analysis_at_the_endpoint_visit(adam2, dose4):
    """The findings page reads the engine's ``primary`` mark: the MMRM contrast at the
    endpoint's visit (week 12), not the first MMRM row (week 2), and the declared log-rank test,
    not the Cox model (the mark was dropped by the findings' column check)."""
    from trial_analysis.report.findings import findings

    for res in (adam2, dose4):
        t = res.to_frame()
        prim = {e.id: e.method for e in res.trial.design.endpoints}
        for f in findings(t, primary=prim):
            if f.rule != "primary":
                continue
            row = t.loc[
                t["primary"] & (t["endpoint"] == f.endpoint) & (t["comparison"] == f.comparison)
            ]
            assert len(row) == 1
            assert row.iloc[0]["method"] in f.text, (f.text, row.iloc[0]["method"])
    text = " ".join(f.text for f in findings(adam2.to_frame(), primary={"itch": "mmrm"}))
    assert "Week 12" in text.split("Robust")[0]


def test_time_to_event_rows_are_effects_and_tests_not_diagnostics(adam2):
    """In the engine's table the log-rank row carries its p-value but no 'estimate' (the
    chi-square statistic is not an effect), and the proportional-hazards check (a model
    diagnostic) is not counted among the tests of the arms."""
    t = adam2.to_frame()
    tte = t.loc[t["endpoint"] == "flare"]
    lr = tte.loc[tte["method"] == "log-rank"].iloc[0]
    assert math.isnan(lr["estimate"]) and lr["p_value"] < 0.05
    assert not tte["method"].str.contains("cox.zph").any()
    hr = tte.loc[tte["method"] == "Cox proportional hazards, Wald"].iloc[0]
    assert 0 < hr["estimate"] < 1


@pytest.mark.slow
def test_relative_and_absolute_paths_give_the_same_reanalysis(root, capsys, monkeypatch):
    code, out_abs, err = run(capsys, "reanalyze", root / "acc_pubbin", "--json", "--seed", "3")
    assert code == 0, err
    monkeypatch.chdir(root)
    code, out_rel, err = run(capsys, "reanalyze", "acc_pubbin", "--json", "--seed", "3")
    assert code == 0, err
    code, out_dot, err = run(capsys, "reanalyze", "./acc_pubbin/", "--json", "--seed", "3")
    assert code == 0, err
    tables = [json.loads(o)["table"]["table"] for o in (out_abs, out_rel, out_dot)]
    assert tables[0] == tables[1] == tables[2]


def test_published_time_to_event_trial_audits_its_hazard_ratio(root, capsys):
    """A published-only time-to-event trial: reanalyze exits 0 with one published row (the
    hazard ratio and its CI, the Wald p they imply) and the audit of the HR, CI, p-value and
    events (tests/test_survival_published_only.py checks the numbers); the design prints its
    follow-up in its own time unit."""
    r = ta.reanalyze(root / "acc_pubtte")
    assert r.skipped == ()
    t = r.to_frame()
    assert t["data_source"].tolist() == ["published"] and t["estimate"].tolist() == [0.68]
    assert (r["pfs"].published_checks["verdict"] == "consistent").all()
    code, out, err = run(capsys, "reanalyze", root / "acc_pubtte")
    assert code == 0, err
    assert "hazard ratio (published numbers)" in out
    code, out, err = run(capsys, "design", root / "acc_pubtte")
    assert code == 0, err
    assert "36 months" in out and "156.5" not in out


# ------------------------------------------------------------------ against R
def test_generator_writes_the_data_the_r_reference_read():
    """tests/fixtures/acceptance_data/ holds what the seeded generator writes (the R script
    reads those files), so the fixture stays the reference of these trials."""
    for prefix, data in (("adam2", acc.adam2_data()), ("dose4", acc.dose4_data())):
        for name, df in data.items():
            path = FIXTURE_DATA / f"{prefix}_{name}.csv"
            pd.testing.assert_frame_equal(
                pd.read_csv(path, keep_default_na=False, na_values=[""]),
                pd.read_csv(
                    io.StringIO(df.to_csv(index=False)), keep_default_na=False, na_values=[""]
                ),
            )


def test_mmrm_and_ancova_equal_r(adam2, dose4):
    """MMRM contrast at the last visit and its model-based SE equal nlme::gls (UN, REML)
    ``L %*% coef(fit)``, ``sqrt(L V L')``; the ANCOVA equals ``lm(CHG ~ arm + BASE)``
    (tests/reference/acceptance_trials.R)."""
    for res, ref, visit in (
        (adam2, R.ADAM2_MMRM_WEEK12, "Week 12"),
        (dose4, R.DOSE4_MMRM_WEEK12, "Week 12"),
    ):
        t = res.to_frame()
        for arm, want in ref.items():
            row = t.loc[
                (t["comparison"] == f"{arm} vs {res.trial.design.control_arm.name}")
                & t["method"].str.startswith("MMRM")
                & t["method"].str.endswith(visit)
            ].iloc[0]
            # nlme's optimisers stop within 1e-9 of the REML maximum, where the contrasts are
            # flat to a few 1e-6 (measured: |difference| <= 1.5e-6, SE about 2.1)
            assert row["estimate"] == pytest.approx(want["estimate"], abs=1e-5)
            r = next(x for x in res.of(row["endpoint"]) if x.arms[0] == arm)
            mm = r.sections["mmrm"]
            se = mm.loc[mm["analysis"].str.endswith(visit), "se"].iloc[0]
            assert se == pytest.approx(want["se"], rel=1e-5)
    t = dose4.to_frame()
    for arm, want in R.DOSE4_ANCOVA_WEEK12.items():
        row = t.loc[
            (t["comparison"] == f"{arm} vs Placebo")
            & t["method"].str.startswith("ANCOVA")
            & t["method"].str.contains("model SE")
        ].iloc[0]
        assert row["estimate"] == pytest.approx(want["estimate"], rel=1e-9)
        assert row["p_value"] == pytest.approx(want["p"], rel=1e-7)


def test_cox_and_logrank_equal_r(adam2):
    """Cox HR (efron), Wald CI and p, and the log-rank test equal survival::coxph / survdiff."""
    t = adam2.to_frame()
    hr = t.loc[t["method"] == "Cox proportional hazards, Wald"].iloc[0]
    for col, key in (
        ("estimate", "hr"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("p_value", "p"),
    ):
        assert hr[col] == pytest.approx(R.ADAM2_COX[key], rel=1e-6)
    lr = t.loc[t["method"] == "log-rank"].iloc[0]
    assert lr["p_value"] == pytest.approx(R.ADAM2_LOGRANK["p"], rel=1e-6)


# ------------------------------------------------------------------ reports
ZANG_WORDS = ("zang", "uc-msc", "insulin", "hba1c", "stem cell", "infusion")


def _report_text(path: Path) -> str:
    import html as _html
    import re

    s = path.read_text("utf-8")
    s = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", s, flags=re.S)
    return _html.unescape(re.sub(r"<[^>]+>", " ", s))


@pytest.mark.slow
@pytest.mark.parametrize(
    "trial", ["acc_adam2", "acc_dose4", "acc_pubbin", "acc_pubtte", "acc_tiny"]
)
def test_html_report_of_an_unseen_trial(root, capsys, tmp_path, trial):
    """``trial-analysis report DIR --format html``: exit 0, one section per declared endpoint
    (analysed, or saying why not), the design's own words and no other trial's, no traceback,
    no 'None'/'nan' cells."""
    out = tmp_path / f"{trial}.html"
    argv = ["report", root / trial, "--format", "html", "-o", out, "--quiet"]
    if trial == "acc_tiny":
        argv += ["--ipd", root / trial / "ipd"]
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    text = _report_text(out)
    design = ta.load_design(root / trial)
    for ep in design.endpoints:
        assert f"{ep.label} ({ep.role})".replace(">=", "≥") in text, ep.id
    low = text.lower()
    for w in ZANG_WORDS:
        assert w not in low, w
    assert "Traceback" not in text
    assert str(root.resolve()) not in text  # data named from the trial folder, not this machine
    for bad in ("| None |", " nan ", "NaN"):
        assert bad not in text, bad
    if trial == "acc_pubtte":
        assert "Published numbers only" in text and "36 months" in text
    if trial == "acc_pubbin":  # counts as integers; no interval was published
        assert "76/117 vs 51/116" in text and "76.0/" not in text
        assert "percentages and interval" not in text
    if trial == "acc_tiny":  # 6/6 vs 0/6: planning at the observed proportions is explained
        assert "include 0% or 100%" in text


@pytest.mark.slow
def test_pdf_report_of_a_published_only_trial(root, capsys, tmp_path):
    """One PDF (the fastest trial): exit 0, a valid PDF whose text shows the published-only
    time-to-event endpoint."""
    from pypdf import PdfReader

    out = tmp_path / "pubtte.pdf"
    code, _, err = run(capsys, "report", root / "acc_pubtte", "-o", out, "--quiet")
    assert code == 0, err
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    assert "Progression-free survival" in text and "Published numbers only" in text


def test_visits_labelled_by_avisit_only(root, tmp_path, adam2):
    """A BDS without AVISITN: the visits are numbered by the design's visit labels ("Week 12"),
    the unscheduled record gets none; the MMRM at week 12 equals the one with AVISITN (was:
    "no AVISITN column, so no by-visit analysis set")."""
    import shutil

    d = tmp_path / "avisit_only"
    shutil.copytree(root / "acc_adam2", d)
    m = pd.read_csv(d / "adam" / "adeff.csv")
    m.drop(columns="AVISITN").to_csv(d / "adam" / "adeff.csv", index=False)
    r = ta.reanalyze(d, "itch", seed=1)
    got = r.to_frame().set_index("method")["estimate"]
    want = adam2.to_frame().set_index("method")["estimate"]
    key = next(k for k in got.index if k.startswith("MMRM") and k.endswith("Week 12"))
    assert got[key] == pytest.approx(want[key], rel=1e-9)
    assert got[key] == pytest.approx(R.ADAM2_MMRM_WEEK12["Active 10 mg"]["estimate"], abs=1e-5)


def test_robustness_counts_only_tests_at_the_endpoint_visit(dose4):
    """The MMRM contrasts at weeks 4 and 8 are not tests of the week-12 endpoint: the
    robustness finding neither counts nor names them (it said "depends on the test ... to
    p = 0.121 (MMRM ..., Week 4)" for a dose significant at week 12 by every analysis)."""
    from trial_analysis.report.findings import findings

    t = dose4.to_frame()
    assert not t.loc[t["method"].str.endswith("Week 4"), "endpoint_visit"].any()
    assert t.loc[t["method"].str.endswith("Week 12"), "endpoint_visit"].all()
    rob = [f for f in findings(t, primary={"sbp": "mmrm"}) if f.rule == "robustness"]
    sbp = [f for f in rob if f.endpoint == "sbp"]
    assert len(sbp) == 3
    for f in sbp:
        assert "Week 4" not in f.text and "Week 8" not in f.text, f.text
    at12 = t.loc[(t["endpoint"] == "sbp") & t["endpoint_visit"] & t["p_value"].notna()]
    for f in sbp:
        arm = f.comparison
        n = len(at12.loc[at12["comparison"] == arm])
        assert f"{n} tests" in f.text or f"all {n}" in f.text or f"of the {n}" in f.text, f.text


def test_published_p_of_mean_sd_endpoint_is_audited(root, tmp_path, pubbin):
    """Mean ± SD per arm at the endpoint's week only, with a between-arm p: the p is checked
    against Student/Welch t over the rounding of the printed means and SDs (scipy
    ``ttest_ind_from_stats`` at the corners); a p no reading gives is 'inconsistent'."""
    import shutil

    f = {x.id: x for x in pubbin["titre"].findings}["titre_between_p_week"]
    assert f.verdict == "consistent"
    (m1, s1, k1), (m2, s2, k2) = acc.PUBBIN_TITRE.values()
    lo = stats.ttest_ind_from_stats(m1 - m2 + 0.1, s1 - 0.05, k1, 0, s2 - 0.05, k2).pvalue
    hi = stats.ttest_ind_from_stats(m1 - m2 - 0.1, s1 + 0.05, k1, 0, s2 + 0.05, k2, equal_var=False)
    assert f.recomputed == f"p = {lo:.3g} to {hi.pvalue:.3g}"
    d = tmp_path / "bad_p"
    shutil.copytree(root / "acc_pubbin", d)
    pub = pd.read_csv(d / "published.csv", dtype=str, keep_default_na=False)
    pub.loc[(pub["quantity"] == "titre") & (pub["statistic"] == "p_value"), "value"] = "0.30"
    pub.to_csv(d / "published.csv", index=False)
    audit = ta.consistency.audit_summaries(ta.load_trial(d), endpoints=["titre"])
    assert audit["titre_between_p_week"].verdict == "inconsistent"


DOSE4_SCENARIO = """\
format_version = 2
[scenario]
name = "Dose ranging, acceptance"
trial = "./acc_dose4"
[arms]
names = ["Drug 5 mg", "Drug 10 mg", "Drug 20 mg", "Placebo"]
n = [40, 40, 40, 40]
control = "Placebo"
[endpoints.sbp]
type = "continuous"
parameter = "SBP"
visits = [0, 4, 8, 12]
mean = { "Drug 5 mg" = [152, 150, 148, 146], "Drug 10 mg" = [152, 149, 146, 143], \
"Drug 20 mg" = [152, 148, 144, 140], Placebo = [152, 151, 150, 149] }
sd = [8, 9, 9, 10]
correlation = { structure = "cs", rho = 0.5 }
outcome = "chg"
[dropout]
mechanism = "MCAR"
rate = 0.1
endpoint = "sbp"
[[analyses]]
name = "sbp_ancova"
endpoint = "sbp"
method = "ancova"
alpha = 0.05
"""


def test_simulate_a_four_arm_scenario_of_an_unseen_trial(root, capsys):
    """``trial-analysis simulate`` on a 4-arm scenario naming the trial folder (relative to the
    scenario file): each dose vs placebo; the power of the 10 mg ANCOVA agrees with the normal
    approximation (residual SD 10·sqrt(1 - 0.5²), 36 analysed per arm after 10 % dropout)."""
    path = root / "dose4_scenario.toml"
    path.write_text(DOSE4_SCENARIO, "utf-8")
    code, out, err = run(
        capsys, "simulate", path, "--n-sims", "400", "--seed", "1", "--no-progress", "--json"
    )
    assert code == 0, err
    rows = {r["comparison"]: r for r in json.loads(out)["table"]}
    assert set(rows) == {f"{a} vs Placebo" for a in acc.DOSE4_ARMS[1:]}
    r = rows["Drug 10 mg vs Placebo"]
    se = 10 * math.sqrt(1 - 0.25) * math.sqrt(2 / 36)
    z = 6 / se - stats.norm.isf(0.025)
    assert abs(r["power"] - stats.norm.cdf(z)) < 4 * r["mc_se"] + 0.02
    assert r["true_effect"] == -6.0


def test_one_comparison_without_evaluable_patients_does_not_stop_the_others(tmp_path):
    """An arm with no week-12 records: its responder comparison is listed in ``skipped`` (and
    the notes), the other doses are analysed; asked for by name, the endpoint raises."""
    import pyreadstat

    f = acc.write_dose4(tmp_path)
    data = acc.dose4_data()
    gone = data["adsl"].loc[data["adsl"]["TRT01P"] == "Drug 5 mg", "USUBJID"]
    advs = data["advs"]
    advs = advs.loc[~(advs["USUBJID"].isin(gone) & (advs["AVISITN"] == 12))]
    pyreadstat.write_xport(advs, str(f / "adam" / "advs.xpt"), table_name="ADVS")
    with pytest.warns(Warning):
        r = ta.reanalyze(f, seed=1)
    assert [ep for ep, _ in r.skipped] == ["sbp_resp"]
    assert "Drug 5 mg vs Placebo" in r.skipped[0][1]
    t = r.to_frame()
    got = set(t.loc[t["endpoint"] == "sbp_resp", "comparison"])
    assert got == {"Drug 10 mg vs Placebo", "Drug 20 mg vs Placebo"}
    assert any("sbp_resp not analysed" in n for n in r.notes)
    with pytest.raises(ta.errors.AnalysisError, match="no evaluable patients"):
        ta.reanalyze(f, "sbp_resp", seed=1)
