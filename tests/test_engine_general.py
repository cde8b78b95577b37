"""The engine and the report on trials the toolkit was not written for.

A trial given only as published numbers (a small design.toml + published.csv written here)
gets the published-number audit, the tests from summaries and the planning section through
the same ``ta.reanalyze`` and report; the real-data trial (cdiscpilot01, 3 arms) gets every
declared endpoint from its ADaM data.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import trial_analysis as ta
from tests._builders import (
    OVERALL_SURVIVAL,
    TABLET,
    design_toml,
    rule,
    weekly,
    write_lung_adam,
    write_published,
)
from trial_analysis import binary, continuous

DESIGN = design_toml(
    {
        "id": "bp_trial",
        "title": "A published-only two-arm trial of a blood-pressure drug",
        "short_title": "BP drug vs placebo",
        "citation": "Test trial written by tests/test_engine_general.py",
    },
    [("Drug", "experimental", 60), ("Placebo", "control", 60)],
    doses=[TABLET | {"amount": 10, "unit": "mg", "route": "oral", "arm": "Drug"}],
    schedule=weekly([0, 12], 12),
    parameters=[{"code": "SBP", "label": "Systolic blood pressure", "unit": "mmHg"}],
    endpoints=[
        {"id": "control_bp", "label": "SBP below 140 mmHg at week 12", "role": "primary"}
        | {"type": "binary", "week": 12, "components": rule("SBP", "value", "<", 140.0)}
        | {"method": "fisher"},
        {"id": "sbp", "label": "Change in SBP from baseline to week 12", "role": "secondary"}
        | {"type": "continuous", "week": 12, "parameter": "SBP", "measure": "chg"}
        | {"published": {"level": "sbp_level", "change": "sbp_change"}},
    ],
)

ROWS = [
    # quantity, arm, week, statistic, relation, value, unit, conf_level
    ("randomised", "Drug", "", "n", "=", 60, "patients", ""),
    ("randomised", "Placebo", "", "n", "=", 60, "patients", ""),
    ("control_bp", "Drug", 12, "percent", "=", 45.0, "%", ""),  # 27/60
    ("control_bp", "Placebo", 12, "percent", "=", 25.0, "%", ""),  # 15/60
    # Wald 95% CI of 27/60 - 15/60, to two decimals: pins the denominators
    ("control_bp", "Drug - Placebo", 12, "ci_low", "=", 3.31, "percentage points", 0.95),
    ("control_bp", "Drug - Placebo", 12, "ci_high", "=", 36.69, "percentage points", 0.95),
    ("sbp_level", "Drug", 0, "mean", "=", 152.1, "mmHg", ""),
    ("sbp_level", "Drug", 0, "sd", "=", 9.8, "mmHg", ""),
    ("sbp_level", "Placebo", 0, "mean", "=", 151.7, "mmHg", ""),
    ("sbp_level", "Placebo", 0, "sd", "=", 10.2, "mmHg", ""),
    ("sbp_level", "Drug", 12, "mean", "=", 139.4, "mmHg", ""),
    ("sbp_level", "Drug", 12, "sd", "=", 11.0, "mmHg", ""),
    ("sbp_level", "Placebo", 12, "mean", "=", 146.0, "mmHg", ""),
    ("sbp_level", "Placebo", 12, "sd", "=", 10.5, "mmHg", ""),
    ("sbp_change", "Drug", 12, "mean", "=", -12.7, "mmHg", ""),
    ("sbp_change", "Placebo", 12, "mean", "=", -5.7, "mmHg", ""),
    ("sbp_change", "Drug vs Placebo", 12, "p_value", "=", 0.002, "", ""),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("bp_trial")
    (d / "design.toml").write_text(DESIGN, "utf-8")
    write_published(d, ROWS, "written by the test", "abstract")
    return d


@pytest.fixture(scope="module")
def result(folder):
    return ta.reanalyze(folder, seed=1)


def test_published_only_trial_is_reanalysed_from_its_numbers(result):
    t = result.to_frame()
    assert set(t["endpoint"]) == {"control_bp", "sbp"}
    assert set(t["data_source"]) == {"published"}
    assert (t["comparison"] == "Drug vs Placebo").all()
    assert t["primary"].sum() == 1  # the declared fisher test of the primary endpoint
    r = result["control_bp"]
    c = r.counts.iloc[0]
    assert (c.x1, c.n1, c.x2, c.n2) == (27, 60, 15, 60)
    fisher = t.loc[t["primary"]].iloc[0]
    assert fisher["method"].startswith("Fisher")
    assert fisher["p_value"] == pytest.approx(
        binary.compare(27, 60, 15, 60)
        .to_frame()
        .query("method.str.startswith('Fisher exact')", engine="python")["p_value"]
        .iloc[0]
    )


def test_published_only_continuous_endpoint_gets_summary_tests(result):
    r = result["sbp"]
    assert r.audit is not None and "summary_tests" in r.sections
    st = r.sections["summary_tests"]
    welch = continuous.ttest_from_summary(139.4, 11.0, 60, 146.0, 10.5, 60, equal_var=False)
    hit = st["analysis"].str.contains("Welch") & st["analysis"].str.contains("12")
    assert hit.any(), st["analysis"].tolist()
    assert st.loc[hit, "p_value"].iloc[0] == pytest.approx(welch.p_value)
    assert math.isfinite(st.loc[hit, "estimate"].iloc[0])


def test_a_trial_without_data_or_numbers_for_an_endpoint_says_so(folder, tmp_path):
    (tmp_path / "design.toml").write_text(DESIGN, "utf-8")
    r = ta.reanalyze(tmp_path)
    assert r.results == ()
    assert {ep for ep, _ in r.skipped} == {"control_bp", "sbp"}
    assert any("nothing to analyse" in n for n in r.notes)


def test_report_of_a_published_only_trial(folder, tmp_path):
    from trial_analysis.report.build import build_report

    out = build_report(folder, out=tmp_path / "bp.html", fmt="html")
    html = out.read_text("utf-8")
    for piece in (
        "Key findings",
        "Published-number audit",
        "SBP below 140 mmHg at week 12",
        "Change in SBP from baseline to week 12",
        "Planning the next trial",
        "published",
    ):
        assert piece in html, piece
    assert "SYNTHETIC" not in html
    assert "Participant flow" not in html  # no patient-level data


TTE_DESIGN = design_toml(
    {
        "id": "tte_trial",
        "title": "A two-arm trial with a time-to-event endpoint (R's lung data, arm = sex)",
        "citation": "Loprinzi CL et al. J Clin Oncol 1994;12:601-7 (survival::lung)",
    },
    [("Drug", "experimental", 90), ("Control", "control", 138)],
    doses=[TABLET],
    schedule=weekly([0, 52], 52),
    parameters=[{"code": "WT", "label": "Weight", "unit": "kg"}],
    endpoints=[OVERALL_SURVIVAL],
)


def test_time_to_event_endpoint_from_adtte_matches_r(tmp_path):
    """survdiff(Surv(time, status) ~ sex, data = lung): chisq 10.3267419548856 (the fixture of
    tests/reference/survival.R), here through ADSL + ADTTE files and ``ta.reanalyze``."""
    from tests.fixtures.survival_from_r import LOGRANK

    lung = write_lung_adam(tmp_path, {1: "Control", 2: "Drug"}, AGE="age")
    adlb = pd.DataFrame({"USUBJID": lung["USUBJID"], "PARAMCD": "WT", "AVAL": 70.0})
    adlb.assign(AVISITN=0.0).to_csv(tmp_path / "adam" / "advs.csv", index=False)
    (tmp_path / "design.toml").write_text(TTE_DESIGN, "utf-8")
    r = ta.reanalyze(tmp_path)  # the trial's own patient data (adam/) by default
    t = r.to_frame()
    assert set(t["data_source"]) == {"patient-level"}
    lr = t.loc[t["method"] == "log-rank"].iloc[0]
    ref = next(x for x in LOGRANK if x["name"] == "lung_sex")
    # the tidy table's estimate column holds effects: the chi-square is in the endpoint's table
    assert math.isnan(lr["estimate"])
    own = r["os"].analysis.to_frame()
    chisq = own.loc[own["measure"] == "log-rank chi-square", "estimate"].iloc[0]
    assert chisq == pytest.approx(ref["chisq"], rel=1e-10)
    assert lr["p_value"] == pytest.approx(ref["p_value"], rel=1e-8)
    assert t.loc[t["primary"], "method"].tolist() == ["log-rank"]
    hr = t.loc[t["method"] == "Cox proportional hazards, Wald"].iloc[0]
    assert 0 < hr["estimate"] < 1  # women (here "Drug") live longer in lung
    assert "km" in r["os"].figures()
    from trial_analysis.report.build import build_report

    html = build_report(tmp_path, out=tmp_path / "tte.html", fmt="html").read_text("utf-8")
    assert "Overall survival (primary)" in html and "Kaplan-Meier curves" in html
    assert "Participant flow" in html and "SYNTHETIC" not in html
