"""A trial that ships only a digitised Kaplan-Meier curve, through the design, the engine and
the report; the time-to-event declarations of a design (unit, event, tau, times, digitised).

The digitised curve is R's (tests/reference/survival.R, case ``sim_ph``): a simulated
proportional-hazards trial (250 + 250 patients, true HR 0.7, months) whose ``survfit`` curves
were "digitised" with noise (time sd 0.2% of the range, survival sd 0.002, 3 decimals, rows
shuffled), with its numbers-at-risk table every 6 months. The published numbers written below
are R's on the ORIGINAL patients (``RECONSTRUCT`` fixture: coxph HR 0.666 (0.534 to 0.831),
survdiff p 0.00028, survfit medians 11.95 and 16.79 months), printed as a paper would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from tests._builders import OVERALL_SURVIVAL, TABLET, design_toml, weekly, write_lung_adam
from tests.fixtures.survival_from_r import RECONSTRUCT
from trial_analysis.errors import DataValidationError, DesignError

DATA = Path(__file__).parent / "fixtures" / "survival_data"
REF = next(r for r in RECONSTRUCT if r["name"] == "sim_ph")
ARMS = {"experimental": "Drug", "control": "Placebo"}


def design(n_per_arm: int = 250, digitised: dict | None = None) -> str:
    """The trial's design.toml: ``n_per_arm`` randomised per arm, the endpoint's
    ``digitised`` table (curve, numbers at risk and, optionally, total events) when given."""
    os = OVERALL_SURVIVAL | {"unit": "months", "event": "death from any cause", "tau": 24}
    os["times"] = [12, 24]
    if digitised is not None:
        os["digitised"] = digitised
    return design_toml(
        {
            "id": "digitised_trial",
            "title": "A simulated two-arm trial published as a Kaplan-Meier figure",
            "citation": "Simulated: tests/reference/survival.R, case sim_ph",
        },
        [("Drug", "experimental", n_per_arm), ("Placebo", "control", n_per_arm)],
        doses=[TABLET],
        schedule=weekly([0, 156], 156),
        endpoints=[os],
    )


PUB_HEADER = "quantity,arm,week,statistic,relation,value,unit,conf_level,label,source,note\n"


def published_rows(hr="0.67", lo="0.53", hi="0.83", p="0.001", med_c="12.0", med_e="16.8"):
    src = '"Simulated publication (R survival on the original patients)"'
    return PUB_HEADER + "".join(
        f"os,{arm},,{stat},{rel},{v},{unit},{cl},full text,{src},\n"
        for arm, stat, rel, v, unit, cl in (
            ("Drug vs Placebo", "hazard_ratio", "=", hr, "", ""),
            ("Drug vs Placebo", "ci_low", "=", lo, "", "0.95"),
            ("Drug vs Placebo", "ci_high", "=", hi, "", "0.95"),
            ("Drug vs Placebo", "p_value", "<", p, "", ""),
            ("Placebo", "median", "=", med_c, "months", ""),
            ("Drug", "median", "=", med_e, "months", ""),
        )
    )


def write_trial(folder: Path, published: str | None = None, totals: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, out in (("curve", "km_curve.csv"), ("at_risk", "at_risk.csv")):
        d = pd.read_csv(DATA / f"recon_sim_ph_{name}.csv")
        d["arm"] = d["arm"].map(ARMS)
        d.to_csv(folder / out, index=False)
    ev = dict(zip(REF["arms"], REF["total_events"], strict=True))
    dig = {"curve": "km_curve.csv", "at_risk": "at_risk.csv"}
    if totals:
        dig["total_events"] = {"Drug": ev["experimental"], "Placebo": ev["control"]}
    (folder / "design.toml").write_text(design(digitised=dig), "utf-8")
    (folder / "published.csv").write_text(published or published_rows(), "utf-8")
    return folder


def test_digitised_trial_is_reconstructed_analysed_and_audited(tmp_path):
    """R on the original patients (RECONSTRUCT, sim_ph): coxph HR 0.666, survfit medians
    11.95 / 16.79, survdiff p 0.00028. The reconstruction through ``ta.reanalyze`` gets within
    Guyot's reported error (HR 3%, medians 3%, as tests/test_survival_reconstruct.py)."""
    folder = write_trial(tmp_path / "trial")
    res = ta.reanalyze(folder)
    t = res.to_frame()
    assert set(t["data_source"]) == {"reconstructed"}
    hr = t.loc[t["method"] == "Cox proportional hazards, Wald"].iloc[0]
    assert abs(hr["estimate"] / REF["hr"] - 1) < 0.03
    med = t.loc[t["analysis"].str.startswith("median")].set_index("analysis")["estimate"]
    assert abs(med.filter(like="Placebo").iloc[0] / REF["median"][0] - 1) < 0.03
    assert abs(med.filter(like="Drug").iloc[0] / REF["median"][1] - 1) < 0.03
    assert t.loc[t["primary"], "method"].tolist() == ["log-rank"]
    # tau and times of the design: RMST at 24 months, survival at 12 and 24 months per arm
    rm = t.loc[t["analysis"].str.startswith("RMST difference")].iloc[0]
    assert rm["estimate"] > 0 and rm["ci_low"] < rm["estimate"] < rm["ci_high"]
    at = t.loc[t["analysis"].str.startswith("survival at")]
    assert len(at) == 4 and at["analysis"].str.contains("24 months").sum() == 2
    r = res["os"]
    assert r.reconstructed and "death from any cause" in " ".join(r.notes)
    fit = r.reconstruction.to_frame().set_index("arm")
    assert fit["max_abs_diff"].max() < 0.05 and fit["at_risk_max_diff"].max() <= 2
    # the published totals are used in the last interval (events within 3%, as the round trip)
    np.testing.assert_allclose(fit["events"], fit["events_published"], rtol=0.03)
    checks = r.published_checks.set_index("check")
    assert (checks["verdict"] == "consistent").all(), checks
    assert {
        "published HR vs reconstructed Cox HR",
        "published p-value vs reconstructed log-rank p",
        "median, Drug",
        "median, Placebo",
        "published: events from CI width",
    } <= set(checks.index)


def test_wrong_published_hr_and_median_are_flagged(tmp_path):
    """A published HR of 0.50 (0.40 to 0.62) and a control median of 9.0 months contradict the
    curve they were published with: the audit says so; the internal checks still pass."""
    pub = published_rows(hr="0.50", lo="0.40", hi="0.62", med_c="9.0")
    r = ta.reanalyze(write_trial(tmp_path / "t", pub))["os"]
    c = r.published_checks.set_index("check")["verdict"]
    assert c["published HR vs reconstructed Cox HR"] == "inconsistent"
    assert c["median, Placebo"] == "inconsistent"
    assert c["median, Drug"] == "consistent"
    assert c["published: HR inside CI"] == "consistent"


def test_report_of_a_digitised_trial_html(tmp_path):
    """``trial-analysis report DIR --format html``: the TTE section with the reconstruction's
    diagnostics, the KM figure labelled reconstructed, the audit, and the planning section
    (events from the reanalysed HR, group-sequential survival design)."""
    from trial_analysis.cli import main

    folder = write_trial(tmp_path / "trial")
    out = tmp_path / "r.html"
    assert main(["report", str(folder), "--format", "html", "--out", str(out)]) == 0
    html = out.read_text("utf-8")
    for piece in (
        "Overall survival (primary)",
        "Reconstruction diagnostics",
        "reconstructed from a digitised published curve",
        "Audit of the published hazard ratio",
        "death from any cause",
        "Planning the next trial",
        "group-sequential survival design",
        "Events (and patients per arm) for a log-rank test",
        "km_curve.csv",  # checksummed as an input
    ):
        assert piece in html, piece
    assert "SYNTHETIC" not in html


def test_report_of_a_digitised_trial_pdf(tmp_path):
    from trial_analysis.report.build import build_report

    folder = write_trial(tmp_path / "trial")
    pdf = build_report(folder, out=tmp_path / "r.pdf", fmt="pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_planning_events_follow_sample_size_survival(tmp_path):
    """The planning table's events at the reanalysed HR are sample_size_survival's (rpact
    getSampleSizeSurvival, checked in tests/test_power_survival.py) for that HR."""
    from trial_analysis.report.build import ReportContext
    from trial_analysis.report.survival import planning_survival

    folder = write_trial(tmp_path / "trial")
    t = ta.load_trial(folder)
    ctx = ReportContext(trial=str(folder), design=t.design, published=t.published, trial_obj=t)
    sec = planning_survival(ctx, t.design.endpoint("os"))
    res = ta.reanalyze(folder)["os"]
    f = res.analysis.to_frame()
    hr = float(f.loc[f["measure"] == "hazard ratio (Wald CI)", "estimate"].iloc[0])
    table = next(b for b in sec.blocks if getattr(b, "caption", "").startswith("Events (and"))
    want = ta.power.sample_size_survival(
        hr,
        0.8,
        median_control=float(res.analysis.km.summary.set_index("group").loc["Placebo", "median"]),
        accrual_time=float(res.analysis.km.table["time"].max()) / 2,
        follow_up_time=float(res.analysis.km.table["time"].max()) / 2,
    )
    row = table.frame.iloc[0]
    assert int(row.iloc[3]) == want.events and int(row.iloc[4]) == want.n1
    # the group-sequential alternative: fixed-design events are Schoenfeld's (one-sided 0.025,
    # power 0.8), the maximum the design's inflation factor times them
    captions = [getattr(b, "caption", "") for b in sec.blocks]
    alt = sec.blocks[next(i for i, c in enumerate(captions) if c.startswith("Fixed versus"))]
    fixed = ta.power.events_survival(hr, 0.8, 0.05)  # two-sided 0.05 = one-sided 0.025
    assert float(alt.frame.iloc[0, 1]) == pytest.approx(fixed, rel=1e-3)
    gs = ta.power.group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    gss = ta.power.group_sequential_survival(gs, hr)
    assert float(alt.frame.iloc[1, 1]) == pytest.approx(gss.max_events, rel=1e-3)


def test_adtte_days_are_converted_to_the_declared_unit(tmp_path):
    """survfit(Surv(time, status) ~ sex, lung) medians 426 (women) and 270 days (men; the
    RECONSTRUCT fixture's lung_sex), in months (30.4375 days) through ADTTE in days."""
    write_lung_adam(tmp_path, {1: "Placebo", 2: "Drug"})
    (tmp_path / "design.toml").write_text(design(n_per_arm=100), "utf-8")
    r = ta.reanalyze(tmp_path)["os"]
    med = r.analysis.km.summary.set_index("group")["median"]
    ref = dict(
        zip(
            ("Drug", "Placebo"),
            next(x for x in RECONSTRUCT if x["name"] == "lung_sex")["median"],
            strict=True,
        )
    )
    for a in ("Drug", "Placebo"):
        assert med[a] == pytest.approx(ref[a] / (365.25 / 12), rel=1e-12)
    assert r.source == "patient-level" and r.reconstruction is None
    assert any("converted from days to months" in n for n in r.notes)


def test_input_files_include_the_digitised_curve(tmp_path):
    t = ta.load_trial(write_trial(tmp_path / "trial"))
    names = {p.name for p in t.input_files}
    assert {"km_curve.csv", "at_risk.csv", "design.toml", "published.csv"} <= names


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            ('unit = "months"', 'unit = "fortnights"'),
            r"endpoints\[0\]\.unit': expected a time unit",
        ),
        (("tau = 24", "tau = -1"), r"endpoints\[0\]\.tau': expected a positive"),
        (("times = [12, 24]", "times = [24, 12]"), r"endpoints\[0\]\.times': expected strictly"),
        (('curve = "km_curve.csv"', 'curve = "../x.csv"'), r"digitised\.curve': expected a CSV"),
        (("Drug = 141", "Durg = 141"), r"total_events\.Durg': expected an arm name"),
        (("Drug = 141", "Drug = -3"), r"total_events\.Drug': expected a whole number"),
        (('curve = "km_curve.csv"', 'curv = "km_curve.csv"'), r"digitised\.curv'"),
    ],
)
def test_bad_time_to_event_declarations_are_clear_errors(tmp_path, edit, match):
    folder = write_trial(tmp_path / "trial")
    f = folder / "design.toml"
    text = f.read_text("utf-8")
    assert edit[0] in text
    f.write_text(text.replace(edit[0], edit[1]), "utf-8")
    with pytest.raises(DesignError, match=match):
        ta.load_design(f)


def test_time_to_event_keys_on_other_endpoints_are_refused():
    base = Path(ta.load_design("zang2022").source_file).read_text("utf-8")
    text = base.replace('type = "binary"', 'type = "binary"\ntau = 3', 1)
    with pytest.raises(DesignError, match="tau': expected a key of time-to-event endpoints only"):
        _load(text)


def _load(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "design.toml"
        p.write_text(text, "utf-8")
        return ta.load_design(p)


def test_bad_digitised_files_name_file_row_and_column(tmp_path):
    folder = write_trial(tmp_path / "trial")
    curve = pd.read_csv(folder / "km_curve.csv", dtype=str)
    curve.loc[3, "arm"] = "Drgu"
    curve.to_csv(folder / "km_curve.csv", index=False)
    with pytest.raises(DataValidationError, match=r"km_curve\.csv, row 5, column arm: not an arm"):
        ta.reanalyze(folder)
    curve.loc[3, "arm"] = "Drug"
    curve.loc[7, "survival"] = "n/a"
    curve.to_csv(folder / "km_curve.csv", index=False)
    with pytest.raises(DataValidationError, match=r"km_curve\.csv, row 9, column survival"):
        ta.reanalyze(folder)
    (folder / "at_risk.csv").unlink()
    with pytest.raises(DesignError, match=r"digitised\.at_risk': expected an existing file"):
        ta.reanalyze(folder)


def test_inputs_are_not_modified(tmp_path):
    folder = write_trial(tmp_path / "trial")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    ta.reanalyze(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_without_totals_the_reconstruction_still_runs(tmp_path):
    r = ta.reanalyze(write_trial(tmp_path / "t", totals=False))["os"]
    assert np.isnan(r.reconstruction.to_frame()["events_published"]).all()
    assert abs(r.analysis.cox.hazard_ratio[0] / REF["hr"] - 1) < 0.05


def test_without_data_or_curve_the_published_numbers_are_audited_else_skipped(tmp_path):
    """No patient data and no digitised curve: the published HR and CI alone give the
    published-only row (tests/test_survival_published_only.py); without them the endpoint is
    skipped with the reason."""
    folder = write_trial(tmp_path / "trial")
    (folder / "design.toml").write_text(design(), "utf-8")  # no digitised curve declared
    shutil.rmtree(folder / "adam", ignore_errors=True)
    res = ta.reanalyze(folder)
    assert res.endpoints == ("os",) and res["os"].published_only
    assert res.to_frame()["data_source"].tolist() == ["published"]
    pub = (folder / "published.csv").read_text("utf-8").splitlines()
    keep = [line for line in pub if "Drug vs Placebo" not in line]
    (folder / "published.csv").write_text("\n".join(keep) + "\n", "utf-8")
    res = ta.reanalyze(folder)
    assert res.endpoints == () and "digitised published curve" in res.skipped[0][1]


def test_findings_take_the_engines_pre_specified_analysis(tmp_path):
    """The findings page names the row the engine marks ``primary`` (here the log-rank test the
    design pre-specifies as ``method = "logrank"``), not the first row with a p-value."""
    from trial_analysis.report.findings import findings

    r = ta.reanalyze(write_trial(tmp_path / "trial"))
    first = findings(r.to_frame(), primary={"os": "logrank"})[0]
    assert "(log-rank, from the patients reconstructed" in first.text, first.text


def test_a_published_p_the_curve_contradicts_is_flagged(tmp_path):
    """p = 0.20 printed beside HR 0.67 (0.53 to 0.83): contradicted by its own CI (Wald p about
    0.0005) and by the reconstruction's log-rank test (p about 0.0002)."""
    pub = published_rows().replace("p_value,<,0.001", "p_value,=,0.20")
    c = ta.reanalyze(write_trial(tmp_path / "t", pub))["os"].published_checks.set_index("check")
    assert c.loc["published: p-value from CI", "verdict"] == "inconsistent"
    assert c.loc["published p-value vs reconstructed log-rank p", "verdict"] == "inconsistent"
    assert c.loc["published HR vs reconstructed Cox HR", "verdict"] == "consistent"


def test_three_arm_digitised_trial_gives_one_reconstruction_per_comparison(tmp_path):
    folder = write_trial(tmp_path / "trial")
    curve = pd.read_csv(folder / "km_curve.csv")
    risk = pd.read_csv(folder / "at_risk.csv")
    for f, d in (("km_curve.csv", curve), ("at_risk.csv", risk)):
        pd.concat([d, d[d["arm"] == "Drug"].assign(arm="Drug high")]).to_csv(
            folder / f, index=False
        )
    text = (folder / "design.toml").read_text("utf-8")
    text = text.replace(
        '[[arms]]\nname = "Placebo"',
        '[[arms]]\nname = "Drug high"\nrole = "experimental"\nn_randomised = 250\n'
        '[[arms]]\nname = "Placebo"',
    )
    (folder / "design.toml").write_text(text, "utf-8")
    res = ta.reanalyze(folder)
    a, b = res.of("os")
    assert (a.arms, b.arms) == (("Drug", "Placebo"), ("Drug high", "Placebo"))
    # the same digitised arm gives the same reconstruction, hence the same HR
    assert a.analysis.cox.hazard_ratio[0] == pytest.approx(b.analysis.cox.hazard_ratio[0])
    # the published HR and p are for Drug vs Placebo: the second comparison audits the control
    # median only
    assert b.published_checks["check"].tolist() == ["median, Placebo"]
