"""ADaM data sets as a sponsor gives them: the real CDISC pilot (ADSL + ADLB), k arms.

The shipped extract (``data/cdiscpilot01/adam/``: ADSL as XPT, ADLB as Parquet) is compared
with the shared original XPT files when these are beside the checkout, and with CSV/Parquet
conversions written here.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from trial_analysis._paths import trial_dir
from trial_analysis.adam import AnalysisSetError
from trial_analysis.errors import DataValidationError, ParameterError
from trial_analysis.ipd import validate_frames

SHIPPED = trial_dir("cdiscpilot01") / "adam"
SHARED = trial_dir("cdiscpilot01").parents[1].parent / "shared" / "data" / "cdiscpilot01"
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")


@pytest.fixture(scope="module")
def ipd():
    return ta.load_ipd("cdiscpilot01")


@pytest.fixture(scope="module")
def frames(ipd):
    return ipd.subjects, ipd.measurements


def _copy(tmp_path, subjects, measurements, design=False, fmt="csv"):
    folder = tmp_path / f"adam_{fmt}"
    folder.mkdir()
    write = {
        "csv": lambda df, p: df.to_csv(p.with_suffix(".csv"), index=False),
        "parquet": lambda df, p: df.to_parquet(p.with_suffix(".parquet"), index=False),
    }[fmt]
    write(subjects, folder / "adsl")
    write(measurements, folder / "adlb")
    if design:
        shutil.copyfile(trial_dir("cdiscpilot01") / "design.toml", folder / "design.toml")
    return folder


# ---------------------------------------------------------------------------- loading
def test_shipped_trial_loads_by_name_with_its_design(ipd):
    assert ipd.adam and not ipd.synthetic
    assert ipd.design.id == "cdiscpilot01"
    assert ipd.arm_names == ARMS and ipd.control == "Placebo"
    saf = ipd.population("SAFFL")
    assert saf.groupby("ARM").size().to_dict() == {
        "Placebo": 86,
        "Xanomeline High Dose": 84,
        "Xanomeline Low Dose": 84,
    }
    # screen failures stay in ADSL, outside every population
    assert len(ipd.subjects) == 306
    assert (ipd.subjects["TRT01P"] == "Screen Failure").sum() == 52
    assert not saf["TRT01P"].eq("Screen Failure").any()
    assert "no synthetic" not in " ".join(ipd.notes).lower()


def test_every_adam_column_is_kept(ipd):
    assert ipd.subjects.shape == (306, 55)
    assert ipd.measurements.shape == (10040, 115)
    for c in ("TRT01P", "TRT01A", "SAFFL", "EOSSTT", "RANDDT"):
        assert c in ipd.subjects.columns
    for c in ("DTYPE", "ANL01FL", "AVISIT", "BASETYPE", "LBSTRESU"):
        assert c in ipd.measurements.columns


@pytest.mark.skipif(not SHARED.exists(), reason="shared/data not beside the checkout")
def test_shipped_extract_equals_the_original_xpt_files(ipd):
    orig = ta.load_ipd(SHARED)
    pd.testing.assert_frame_equal(orig.subjects, ipd.subjects)
    pd.testing.assert_frame_equal(orig.measurements, ipd.measurements)
    assert orig.design is None
    assert any("no design.toml" in n for n in orig.notes)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_conversions_give_the_same_frames(tmp_path, frames, fmt):
    s, m = frames
    back = ta.load_ipd(_copy(tmp_path, s, m, fmt=fmt))
    pd.testing.assert_frame_equal(back.subjects, s, check_dtype=fmt == "parquet")
    if fmt == "csv":
        # CSV has no types: numbers and ISO dates are recognised, text columns stay text
        for c in ("AVAL", "BASE", "CHG", "AVISITN"):
            np.testing.assert_allclose(back.measurements[c], m[c].astype(float), rtol=1e-15)
        for c in ("USUBJID", "PARAMCD", "DTYPE", "ANL01FL", "AVISIT"):
            assert (back.measurements[c] == m[c]).all()
    else:
        pd.testing.assert_frame_equal(back.measurements, m)


def test_input_files_are_never_modified(tmp_path, frames):
    folder = _copy(tmp_path, *frames)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    ta.load_ipd(folder).analysis_set("GLUC")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# ---------------------------------------------------------------------------- analysis sets
def test_analysis_set_applies_the_adam_record_rules(ipd):
    a = ipd.analysis_set("GLUC", population="SAFFL")
    d = a.attrs["analysis_set"]
    assert list(a.columns[:6]) == ["USUBJID", "ARM", "AVISITN", "AVAL", "BASE", "CHG"]
    assert not a.duplicated(["USUBJID", "AVISITN"]).any()
    assert (a["DTYPE"] == "").all()
    assert not a["AVISIT"].str.startswith("Unscheduled").any()
    assert sorted(a["AVISITN"].unique()) == [4, 5, 7, 8, 9, 10, 11, 12, 13]
    assert list(a["ARM"].cat.categories) == list(ARMS)
    assert (d.n_subjects, d.n_records) == (230, 1391)
    assert d.population == "SAFFL" and d.treatment == "TRT01P" and d.flag == "ANL01FL"
    text = str(d)
    for piece in ("SAFFL = Y", "arm = TRT01P", "ANL01FL = Y", "DTYPE blank", "scheduled visits"):
        assert piece in text


def test_analysis_set_options_select_derived_records_and_other_treatments(ipd):
    lov = ipd.analysis_set("GLUC", dtype="LOV", flag=None, population="SAFFL", visits=[9999])
    assert (lov["DTYPE"] == "LOV").all() and lov["USUBJID"].is_unique
    act = ipd.analysis_set("GLUC", treatment="TRT01A", population="SAFFL")
    assert act.attrs["analysis_set"].treatment == "TRT01A"
    wk24 = ipd.analysis_set("GLUC", visits=[12], population="SAFFL")
    assert set(wk24["AVISITN"]) == {12}


def test_analysis_set_errors_name_the_adam_variable(ipd, frames):
    with pytest.raises(ParameterError, match=r"`paramcd` must be a PARAMCD of the data \(ALT"):
        ipd.analysis_set("HBA1C")
    with pytest.raises(ParameterError, match=r"`population` must be a population flag of ADSL"):
        ipd.analysis_set("GLUC", population="ITT")
    with pytest.raises(ParameterError, match=r"`treatment` must be a treatment column of ADSL"):
        ipd.analysis_set("GLUC", treatment="TRT02P")
    with pytest.raises(ParameterError, match=r"`dtype` must be a DTYPE of GLUC \(LOV, MAXIMUM"):
        ipd.analysis_set("GLUC", dtype="AVERAGE")
    with pytest.raises(ParameterError, match=r"`visits` must be visits \(AVISITN\) with GLUC"):
        ipd.analysis_set("GLUC", visits=[99])


def test_several_time_points_need_one_chosen(tmp_path, frames):
    s, m = frames
    g = m.loc[m["PARAMCD"] == "GLUC"].copy()
    two = pd.concat([g.assign(ATPT="PRE-DOSE", ATPTN=1.0), g.assign(ATPT="POST-DOSE", ATPTN=2.0)])
    ipd = ta.load_ipd(_copy(tmp_path, s, two))
    with pytest.raises(AnalysisSetError, match=r"several time points.*ATPT = 'PRE-DOSE', 'POST"):
        ipd.analysis_set("GLUC")
    a = ipd.analysis_set("GLUC", timepoint="POST-DOSE", population="SAFFL")
    assert a.attrs["analysis_set"].timepoint == "POST-DOSE"
    assert len(a) == 1391
    with pytest.raises(ParameterError, match="`timepoint` must be a time point"):
        ipd.analysis_set("GLUC", timepoint="NOON")


def test_duplicates_left_after_the_selection_are_explained(tmp_path, frames):
    s, m = frames
    g = m.loc[m["PARAMCD"] == "GLUC"].copy()
    dup = g.loc[(g["DTYPE"] == "") & (g["ABLFL"] != "Y")].copy()
    dup["AVAL"] += 0.1
    dup["CHG"] += 0.1
    ipd = ta.load_ipd(_copy(tmp_path, s, pd.concat([g, dup]).drop(columns="ANL01FL")))
    with pytest.raises(AnalysisSetError, match="records share a subject and visit"):
        ipd.analysis_set("GLUC")


def test_no_design_reads_arms_and_visits_from_the_data(tmp_path, frames):
    ipd = ta.load_ipd(_copy(tmp_path, *frames))
    assert ipd.design is None
    assert set(ipd.arm_names) == set(ARMS) and ipd.control == "Placebo"
    assert any("no design.toml" in n for n in ipd.notes)
    assert ipd.analysis_set("GLUC").attrs["analysis_set"].n_subjects == 230
    with pytest.raises(ParameterError, match=r"loaded without a design\.toml"):
        ipd.endpoint_values("glucose")


def test_endpoints_declared_by_the_design_are_evaluated(ipd):
    ev = ipd.endpoint_values("chol_responder")
    a = ipd.analysis_set("CHOLES", visits=[12], population="SAFFL").set_index("USUBJID")
    expect = (a["PCHG"] <= -10).astype(float)
    got = ev.set_index("USUBJID")["value"].dropna()
    assert len(got) == len(expect) == 110
    assert (got.reindex(expect.index) == expect).all()
    assert ev["USUBJID"].nunique() == 254  # the whole population, NaN when not measured
    gl = ipd.endpoint_values("glucose").set_index("USUBJID")["value"].dropna()
    ref = ipd.analysis_set("GLUC", visits=[12], population="SAFFL").set_index("USUBJID")["CHG"]
    pd.testing.assert_series_equal(
        gl.sort_index(), ref.sort_index(), check_names=False, check_index_type=False
    )


# ---------------------------------------------------------------------------- validation
def test_validation_reports_every_problem_in_one_pass(tmp_path, frames):
    s, m = frames
    s = s.copy()
    s.loc[3, "USUBJID"] = s.loc[2, "USUBJID"]
    s.loc[5, "SAFFL"] = "yes"
    m = m.copy()
    m.loc[m.index[:1500], "CHG"] = m.loc[m.index[:1500], "CHG"] + 5
    m.loc[7, "ANL01FL"] = "N"
    with pytest.raises(DataValidationError) as ei:
        ta.load_ipd(_copy(tmp_path, s, m))
    e = ei.value
    rules = " | ".join(p.rule for p in e.problems)
    assert "duplicated subject id" in rules
    assert "expected Y, N or blank (ADaM flag)" in rules
    assert "CHG must equal AVAL - BASE" in rules
    assert "expected Y or blank (ADaM record flag)" in rules
    assert e.total > len(e.problems)  # capped rows are counted, not dropped
    assert str(e).startswith(f"{e.total} problems found") and "shown)" in str(e).splitlines()[0]


def test_folder_without_adsl_or_bds_says_what_it_found(tmp_path, frames):
    s, m = frames
    only = tmp_path / "only"
    only.mkdir()
    m.to_parquet(only / "adlb.parquet", index=False)
    with pytest.raises(DataValidationError, match=r"expected one ADSL.*adlb\.parquet \(BDS\)"):
        ta.load_ipd(only)
    alone = tmp_path / "alone"
    alone.mkdir()
    s.to_parquet(alone / "adsl.parquet", index=False)
    with pytest.raises(DataValidationError, match="at least one BDS data set"):
        ta.load_ipd(alone)


def test_design_declarations_are_checked_against_the_data(tmp_path, frames):
    s, m = frames
    folder = _copy(tmp_path, s, m.loc[m["PARAMCD"] != "CREAT"], design=True)
    with pytest.raises(DataValidationError, match="a parameter the design declares has no record"):
        ta.load_ipd(folder)
    s2 = s.copy()
    s2["TRT01P"] = s2["TRT01P"].replace("Xanomeline Low Dose", "Xanomeline 54 mg")
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(DataValidationError, match="the design's arm is not a TRT01P value"):
        ta.load_ipd(_copy(other, s2, m, design=True))


def test_documented_format_without_a_design_is_an_error(tmp_path):
    ipd = ta.synthetic_ipd("zang2022")
    subj = ipd.subjects.drop(columns=["STUDYID"], errors="ignore")
    with pytest.raises(ParameterError, match="a design for these data"):
        validate_frames(subj, ipd.measurements)


def test_flow_and_baseline_table_for_three_arms_with_the_data_labels(ipd):
    from trial_analysis.baseline import baseline_table, participant_flow

    flow = participant_flow(ipd)
    assert list(flow.table.columns) == list(ARMS)
    assert flow.table.loc["Randomised"].tolist() == [86, 84, 84]
    assert flow.table.loc["Treated"].tolist() == [86, 84, 84]
    done = flow.table.loc["Completed follow-up"] + flow.table.loc["Discontinued"]
    assert done.tolist() == [86, 84, 84]
    assert "infusion" not in " ".join(flow.table.index).lower()
    t = baseline_table(ipd, population="SAFFL").table
    assert list(t.columns) == ["characteristic", "statistic", *ARMS, "Total"]
    assert t.loc[t["characteristic"] == "Subjects", "Total"].item() == "254"
    chars = " ".join(t["characteristic"])
    assert "Glucose (mmol/L)" in chars and "Diabetes" not in chars
    assert "infusion" not in ta.load_design("cdiscpilot01").timeline().lower()


def test_report_of_the_real_data_trial(tmp_path):
    """trial-analysis report cdiscpilot01: 3 arms, the declared endpoints, no synthetic banner."""
    from trial_analysis.cli import main

    out = tmp_path / "cdisc.html"
    assert main(["report", "cdiscpilot01", "-o", str(out), "--format", "html", "--quiet"]) == 0
    html = out.read_text("utf-8")
    for piece in (
        "Key findings",
        "Participant flow and baseline",
        "Change in glucose from baseline to week 24 (primary)",
        "Change in cholesterol from baseline to week 24 (secondary)",
        "Xanomeline Low Dose vs Placebo",
        "Xanomeline High Dose vs Placebo",
        "patient-level data",
    ):
        assert piece in html, piece
    assert "SYNTHETIC" not in html
