"""Patient-level data: format, readers, validation messages, IPD methods, validate command."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from trial_analysis._paths import trial_dir
from trial_analysis.cli import main as cli_main
from trial_analysis.errors import DataValidationError, MissingDependencyError, ParameterError
from trial_analysis.ipd import IPD, load_ipd, save_ipd, validate_frames

SHIPPED = trial_dir("zang2022") / "synthetic"


@pytest.fixture(scope="module")
def ipd() -> IPD:
    return load_ipd(SHIPPED)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the shipped (valid) CSV pair."""
    out = tmp_path / "data"
    out.mkdir()
    for f in ("subjects.csv", "measurements.csv"):
        shutil.copy(SHIPPED / f, out / f)
    return out


def _problems(path, **kw) -> list:
    kw.setdefault("design", "zang2022")  # damaged files may lose their STUDYID column
    with pytest.raises(DataValidationError) as ei:
        load_ipd(path, **kw)
    return ei.value.problems


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` as a spreadsheet shows it (header = 1)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row - 2, column] = value
    df.to_csv(path, index=False)


def _one(problems, row, column):
    hits = [p for p in problems if p.row == row and p.column == column]
    assert hits, f"no problem at row {row}, column {column}: {problems[:5]}"
    return hits[0]


# -- loading and round trips ------------------------------------------------------------
def test_load_shipped_csv(ipd):
    assert ipd.synthetic
    assert ipd.design.id == "zang2022"
    assert list(ipd.subjects.columns[:3]) == ["STUDYID", "USUBJID", "ARM"]
    for c in ta.ipd.SUBJECT_COLUMNS:
        assert c in ipd.subjects
    assert list(ipd.measurements.columns[:7]) == list(ta.ipd.MEASUREMENT_COLUMNS)
    assert ipd.measurements["AVISITN"].dtype == np.int64
    assert str(ipd.subjects["INF3WK"].dtype) == "Int64"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xpt", "excel"])
def test_round_trip_every_format(ipd, tmp_path, fmt):
    out = save_ipd(ipd, tmp_path / "x", format=fmt)
    back = load_ipd(out)
    assert back.synthetic
    pd.testing.assert_frame_equal(back.subjects, ipd.subjects, check_dtype=False)
    pd.testing.assert_frame_equal(back.measurements, ipd.measurements, check_dtype=False)
    # and via the ADaM file names for folder formats
    if fmt in ("csv", "parquet", "xpt"):
        ext = {"csv": ".csv", "parquet": ".parquet", "xpt": ".xpt"}[fmt]
        (out / f"subjects{ext}").rename(out / f"adsl{ext}")
        (out / f"measurements{ext}").rename(out / f"adbds{ext}")
        assert len(load_ipd(out).subjects) == len(ipd.subjects)


def test_xpt_readable_by_pandas(ipd, tmp_path):
    """The SAS transport files are standard (pandas' own reader opens them)."""
    out = save_ipd(ipd, tmp_path / "x", format="xpt")
    df = pd.read_sas(out / "measurements.xpt", format="xport", encoding="utf-8")
    assert len(df) == len(ipd.measurements)
    assert set(ta.ipd.MEASUREMENT_COLUMNS) <= set(df.columns)


def test_real_data_without_synthfl_is_not_synthetic(ipd, tmp_path):
    s = ipd.subjects.drop(columns=["SYNTHFL"])
    m = ipd.measurements.drop(columns=["SYNTHFL"])
    out = tmp_path / "real"
    out.mkdir()
    s.to_csv(out / "subjects.csv", index=False)
    m.to_csv(out / "measurements.csv", index=False)
    real = load_ipd(out)
    assert not real.synthetic
    assert ta.results.SYNTHETIC_NOTE not in real.notes


def test_design_resolution(ipd, folder):
    d = ta.load_design("zang2022", overrides={"arms.Placebo.n_randomised": 50})
    # an explicit design wins: 46 placebo subjects do not match 50
    probs = _problems(folder, design=d)
    assert any("46 randomised subjects" in p.rule and p.column == "ARM" for p in probs)
    # a design.toml in the data folder is used by default
    shutil.copy(trial_dir("zang2022") / "design.toml", folder / "design.toml")
    assert load_ipd(folder).design.source_file.endswith("data/design.toml")
    assert load_ipd(folder, design="zang2022").design.id == "zang2022"
    with pytest.raises(ParameterError, match="`design` must be"):
        load_ipd(folder, design=3)


def test_excel_single_file_and_folder_with_workbook(ipd, tmp_path):
    out = save_ipd(ipd, tmp_path / "book.xlsx", format="excel")
    assert out.suffix == ".xlsx"
    assert len(load_ipd(tmp_path).subjects) == 91  # the folder's only workbook


def test_inputs_never_modified(ipd, folder):
    before = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    load_ipd(folder)
    _edit_csv(folder / "subjects.csv", 3, "WEIGHT", "999")
    before = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    _problems(folder)
    after = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    assert before == after
    s, m = ipd.subjects.copy(), ipd.measurements.copy()
    validate_frames(s, m, ipd.design)
    pd.testing.assert_frame_equal(s, ipd.subjects)
    pd.testing.assert_frame_equal(m, ipd.measurements)


# -- IPD methods ---------------------------------------------------------------------------
def test_endpoint_values_composite_populations(ipd):
    pp = ipd.endpoint_values("composite", population="PP")
    assert list(pp.columns[:3]) == ["USUBJID", "ARM", "value"]
    assert {"BASE_HBA1C", "BASE_INSDOSE"} <= set(pp.columns)
    assert pp["ARM"].iloc[0] == "UC-MSC" and pp["ARM"].iloc[-1] == "Placebo"  # design order
    g = pp.groupby("ARM", sort=False)["value"].agg(["sum", "count"]).astype(int)
    assert g.to_numpy().tolist() == [[9, 45], [2, 44]]
    itt = ipd.endpoint_values("composite")
    assert len(itt) == 91 and itt["value"].isna().sum() == 2


def test_endpoint_values_continuous_matches_measurements(ipd):
    ev = ipd.endpoint_values("hba1c", population="ITT").set_index("USUBJID")
    m = ipd.measurements
    w48 = m[(m["PARAMCD"] == "HBA1C") & (m["AVISITN"] == 48)].set_index("USUBJID")["CHG"]
    pd.testing.assert_series_equal(
        ev["value"].dropna().sort_index(),
        w48.sort_index(),
        check_names=False,
        check_index_type=False,
    )
    b = m[(m["PARAMCD"] == "HBA1C") & (m["AVISITN"] == 0)].set_index("USUBJID")["AVAL"]
    assert (ev.loc[b.index, "BASE_HBA1C"] == b).all()


def test_composite_three_valued_logic(ipd):
    """Missing insulin but HbA1c >= 7 is a known failure (0); missing both is NaN."""
    m = ipd.measurements
    ev = ipd.endpoint_values("composite", "PP").set_index("USUBJID")
    h48 = m[(m["PARAMCD"] == "HBA1C") & (m["AVISITN"] == 48)].set_index("USUBJID")["AVAL"]
    fail_h = h48[h48 >= 7.0].index[0]
    pass_h = h48[h48 < 7.0].index[0]
    drop = (m["PARAMCD"] == "INSDOSE") & (m["AVISITN"] == 48) & m["USUBJID"].isin([fail_h, pass_h])
    sub = IPD(ipd.subjects, m.loc[~drop].reset_index(drop=True), ipd.design)
    ev2 = sub.endpoint_values("composite", "PP").set_index("USUBJID")
    assert ev2.loc[fail_h, "value"] == 0.0
    assert np.isnan(ev2.loc[pass_h, "value"])
    assert ev.loc[fail_h, "value"] == 0.0


def test_endpoint_values_bad_arguments(ipd):
    with pytest.raises(ParameterError, match="`endpoint_id` must be one of 'composite'"):
        ipd.endpoint_values("nope")
    with pytest.raises(ParameterError, match="`population` must be one of"):
        ipd.endpoint_values("composite", population="mITT")


def test_wide_and_summary(ipd):
    w = ipd.wide("HBA1C")
    assert w.shape == (91, len(ipd.design.visit_weeks))
    assert list(w.columns) == list(ipd.design.visit_weeks)
    assert w[48].isna().sum() == 2
    g = ipd.wide("GIR")
    assert g[4].isna().all() and g[0].notna().all()
    with pytest.raises(ParameterError, match="`paramcd` must be one of"):
        ipd.wide("XYZ")
    tab = ipd.to_frame()
    row = tab[(tab.PARAMCD == "HBA1C") & (tab.AVISITN == 0) & (tab.ARM == "Placebo")]
    assert int(row["n"].iloc[0]) == 46
    html = ipd._repr_html_()
    assert "SYNTHETIC DATA" in html


# -- validation messages -------------------------------------------------------------------
def test_every_problem_listed_with_row_and_column(folder):
    _edit_csv(folder / "subjects.csv", 3, "ARM", "UC MSC")
    _edit_csv(folder / "subjects.csv", 5, "WEIGHT", "300")
    _edit_csv(folder / "subjects.csv", 6, "SEX", "male")
    _edit_csv(folder / "subjects.csv", 7, "ITTFL", "yes")
    _edit_csv(folder / "measurements.csv", 4, "AVAL", "25")  # HbA1c
    _edit_csv(folder / "measurements.csv", 10, "AVISITN", "5")
    probs = _problems(folder)
    assert "not one of 'UC-MSC', 'Placebo'" in _one(probs, 3, "ARM").rule
    assert _one(probs, 3, "ARM").value == "UC MSC"
    assert "plausible range 25-250" in _one(probs, 5, "WEIGHT").rule
    assert "M, F or U" in _one(probs, 6, "SEX").rule
    assert _one(probs, 7, "ITTFL").rule == "expected Y or N"
    p = _one(probs, 4, "AVAL")
    assert "3-20 of HBA1C (%)" in p.rule and p.value == 25
    assert "schedule (0, 4, 8, 12, 24, 36, 48)" in _one(probs, 10, "AVISITN").rule
    assert all(p.file.endswith(".csv") for p in probs)
    # str(problem) reads like a spreadsheet reference
    assert str(_one(probs, 5, "WEIGHT")).endswith(
        "subjects.csv, row 5, column WEIGHT: outside the plausible range 25-250 for body "
        "weight in kg (value 300.0)"
    )


def test_derived_columns_and_baseline_consistency(folder):
    _edit_csv(folder / "measurements.csv", 4, "CHG", "1.5")
    _edit_csv(folder / "measurements.csv", 5, "PCHG", "-40")
    _edit_csv(folder / "measurements.csv", 6, "BASE", "9.9")
    probs = _problems(folder)
    assert "CHG must equal AVAL - BASE" in _one(probs, 4, "CHG").rule
    assert "PCHG must equal 100 * (AVAL - BASE) / BASE" in _one(probs, 5, "PCHG").rule
    assert "BASE differs from AVAL at the baseline visit" in _one(probs, 6, "BASE").rule


def test_ids_unknown_subjects_and_duplicates(folder):
    s = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    _edit_csv(folder / "subjects.csv", 4, "USUBJID", s.loc[0, "USUBJID"])
    m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    m.loc[30, "USUBJID"] = "ZANG2022-999"
    m = pd.concat([m, m.iloc[[5]]], ignore_index=True)
    m.to_csv(folder / "measurements.csv", index=False)
    probs = _problems(folder)
    assert _one(probs, 4, "USUBJID").rule == "duplicated subject id (first at row 2)"
    assert "not in the subjects table" in _one(probs, 32, "USUBJID").rule
    assert "second row for the same subject" in _one(probs, len(m) + 1, "AVISITN").rule


def test_missing_and_duplicated_columns(folder):
    s = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    s.drop(columns=["WEIGHT"]).rename(columns={"AGE": "age"}).to_csv(
        folder / "subjects.csv", index=False
    )
    text = (folder / "measurements.csv").read_text()
    lines = text.splitlines()
    lines = [ln + "," + ln.split(",")[3] for ln in lines]  # duplicate AVAL at the end
    (folder / "measurements.csv").write_text("\n".join(lines) + "\n")
    probs = _problems(folder)
    assert _one(probs, 1, "WEIGHT").rule == "required column is missing"
    assert "column names are upper case" in _one(probs, 1, "AGE").rule
    assert "duplicated column name (columns D and I)" in _one(probs, 1, "AVAL").rule


def test_empty_files_and_missing_files(folder, tmp_path):
    (folder / "subjects.csv").write_bytes(b"")
    probs = _problems(folder)
    assert any("is empty" in p.rule and p.file.endswith("subjects.csv") for p in probs)
    (folder / "subjects.csv").write_text("USUBJID,ARM\n")
    probs = _problems(folder)
    assert any(p.rule == "required column is missing" for p in probs)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(DataValidationError, match=r"subjects\.csv \+ measurements\.csv"):
        load_ipd(empty)
    with pytest.raises(DataValidationError, match="no such file or folder"):
        load_ipd(tmp_path / "absent")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataValidationError, match="not a data folder or an Excel workbook"):
        load_ipd(tmp_path / "notes.txt")


def test_header_only_file(folder):
    header = (folder / "subjects.csv").read_text().splitlines()[0]
    (folder / "subjects.csv").write_text(header + "\n")
    with pytest.raises(DataValidationError, match="no data rows below the header"):
        load_ipd(folder, design="zang2022")


def test_encodings(folder):
    raw = (folder / "subjects.csv").read_bytes()
    # Latin-1 byte in one cell: the message names the row and the column.
    lines = raw.split(b"\n")
    cells = lines[2].split(b",")
    cells[12] = b"Retir\xe9"  # DCSREAS of spreadsheet row 3
    lines[2] = b",".join(cells)
    (folder / "subjects.csv").write_bytes(b"\n".join(lines))
    p = _one(_problems(folder), 3, "DCSREAS")
    assert "not UTF-8" in p.rule and "Latin-1" in p.rule
    (folder / "subjects.csv").write_bytes(raw.decode().encode("utf-16"))
    probs = _problems(folder)
    assert any("UTF-16" in p.rule for p in probs)
    # A UTF-8 byte-order mark (Excel's "CSV UTF-8") is fine.
    (folder / "subjects.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    assert len(load_ipd(folder).subjects) == 91


def test_stray_header_rows(folder):
    text = (folder / "subjects.csv").read_text()
    lines = text.splitlines()
    # a header repeated inside the data (two exports pasted together)
    (folder / "subjects.csv").write_text("\n".join([*lines[:10], lines[0], *lines[10:]]) + "\n")
    p = _one(_problems(folder), 11, "USUBJID")
    assert "repeated header row" in p.rule
    # a title line above the header
    (folder / "subjects.csv").write_text("Subjects export 2024-01-01\n" + text)
    probs = _problems(folder)
    assert any("the header is on row 2, not row 1" in p.rule for p in probs)


def test_excel_dates_and_decimal_commas(folder):
    _edit_csv(folder / "subjects.csv", 3, "WEIGHT", "12-Mar")
    _edit_csv(folder / "subjects.csv", 4, "BMI", "27,5")
    _edit_csv(folder / "subjects.csv", 5, "AGE", "2015-10-01")
    _edit_csv(folder / "subjects.csv", 6, "DURDIAB", "abc")
    _edit_csv(folder / "subjects.csv", 7, "WEIGHT", "inf")
    probs = _problems(folder)
    assert "Excel may have converted the value to a date" in _one(probs, 3, "WEIGHT").rule
    assert "comma used as decimal separator" in _one(probs, 4, "BMI").rule
    assert "looks like a date" in _one(probs, 5, "AGE").rule
    assert _one(probs, 6, "DURDIAB").rule == "not a number"
    assert "not a finite number" in _one(probs, 7, "WEIGHT").rule


def test_semicolon_separated_file_with_decimal_commas(folder):
    s = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    s["WEIGHT"] = s["WEIGHT"].str.replace(".", ",")
    s.to_csv(folder / "subjects.csv", sep=";", index=False)
    probs = _problems(folder)
    assert "comma used as decimal separator" in _one(probs, 2, "WEIGHT").rule
    assert _one(probs, 2, "WEIGHT").value == s.loc[0, "WEIGHT"]


def test_excel_date_cells(ipd, tmp_path):
    """A real Excel date cell in a number column is reported as such."""
    import openpyxl

    path = save_ipd(ipd, tmp_path / "book.xlsx", format="excel")
    wb = openpyxl.load_workbook(path)
    ws = wb["subjects"]
    col = [c.value for c in ws[1]].index("WEIGHT") + 1
    ws.cell(row=4, column=col).value = pd.Timestamp("2016-03-12").to_pydatetime()
    wb.save(path)
    p = _one(_problems(path), 4, "WEIGHT")
    assert "a date where a number is expected" in p.rule
    assert "sheet subjects" in p.file
    wb = openpyxl.load_workbook(path)
    del wb["measurements"]
    wb.save(path)
    with pytest.raises(DataValidationError, match="no sheet named 'measurements'"):
        load_ipd(path)


def test_truncated_and_malformed_files(folder):
    raw = (folder / "measurements.csv").read_bytes()
    mid = raw.index(b"\n", len(raw) // 2) + 20  # cut mid-row (not on a line boundary)
    (folder / "measurements.csv").write_bytes(raw[:mid])
    probs = _problems(folder)
    assert probs and all(isinstance(p.rule, str) for p in probs)
    at = raw.rindex(b",", 0, 200) + 1  # a field that starts with an unclosed quote
    (folder / "measurements.csv").write_bytes(raw[:at] + b'"unterminated\n')
    probs = _problems(folder)
    assert any("quoted value" in p.rule for p in probs)
    lines = raw.split(b"\n")
    lines[5] = lines[5] + b",extra,fields"
    (folder / "measurements.csv").write_bytes(b"\n".join(lines))
    p = [p for p in _problems(folder) if p.row == 6]
    assert p and "same number of fields" in p[0].rule


def test_damaged_binary_files(ipd, tmp_path):
    for fmt, name in (("parquet", "measurements.parquet"), ("xpt", "measurements.xpt")):
        out = save_ipd(ipd, tmp_path / fmt, format=fmt)
        data = (out / name).read_bytes()
        (out / name).write_bytes(data[: len(data) // 3 + 7])
        probs = _problems(out)
        assert any("cannot read the file" in p.rule for p in probs), fmt
    book = tmp_path / "bad.xlsx"
    book.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataValidationError, match="cannot read the file as an Excel workbook"):
        load_ipd(book)


def test_many_problems_are_capped_in_the_message(folder):
    m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    m["AVAL"] = "x"
    m.to_csv(folder / "measurements.csv", index=False)
    with pytest.raises(DataValidationError) as ei:
        load_ipd(folder)
    msg = str(ei.value)
    assert f"... and {len(ei.value.problems) - 50} more (see .problems)" in msg
    assert len(msg.splitlines()) == 52
    # every bad cell up to 1000 per rule, then one line counting the rest
    assert len([p for p in ei.value.problems if p.column == "AVAL"]) == 1001
    rest = len(m) - 1000
    assert any(f"and {rest} more rows with the same problem" in p.rule for p in ei.value.problems)


def test_flag_logic(folder):
    _edit_csv(folder / "subjects.csv", 3, "RANDFL", "N")
    _edit_csv(folder / "subjects.csv", 4, "ITTFL", "N")
    probs = _problems(folder)
    assert "ITTFL is Y but RANDFL is N" in _one(probs, 3, "ITTFL").rule
    assert "PPROTFL is Y but ITTFL is N" in _one(probs, 4, "PPROTFL").rule


def test_validate_frames_rejects_non_frames(ipd):
    with pytest.raises(ParameterError, match="`subjects` must be a pandas DataFrame"):
        validate_frames([1, 2], ipd.measurements)


def test_missing_optional_dependency(ipd, tmp_path, monkeypatch):
    out = save_ipd(ipd, tmp_path / "p", format="parquet")
    monkeypatch.setitem(sys.modules, "pyreadstat", None)
    with pytest.raises(MissingDependencyError, match=r"trial_analysis\[io\]"):
        save_ipd(ipd, tmp_path / "x", format="xpt")
    assert len(load_ipd(out).subjects) == 91


# -- the validate command -------------------------------------------------------------------
def test_cli_validate_clean_and_dirty(folder, capsys):
    assert cli_main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "OK:" in out and "SYNTHETIC" in out
    _edit_csv(folder / "subjects.csv", 5, "WEIGHT", "300")
    assert cli_main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "INVALID: 1 problem" in out and "row 5, column WEIGHT" in out
    assert cli_main(["validate", str(folder), "--json"]) == 1
    rep = json.loads(capsys.readouterr().out)
    assert rep["valid"] is False
    assert rep["problems"][0]["row"] == 5 and rep["problems"][0]["column"] == "WEIGHT"
    assert cli_main(["validate", str(folder), "--design", "nope"]) == 2


def test_short_rows_are_reported(folder):
    raw = (folder / "subjects.csv").read_bytes()
    lines = raw.rstrip(b"\n").split(b"\n")
    lines[-1] = b",".join(lines[-1].split(b",")[:-3])  # drop the last 3 fields of row 92
    (folder / "subjects.csv").write_bytes(b"\n".join(lines) + b"\n")
    p = [p for p in _problems(folder) if p.row == len(lines)]
    assert p and "fewer fields than the header" in p[0].rule


def test_docs_worked_example_matches_shipped_files():
    """Every data line quoted in docs/data-format.md is a line of the shipped cohort."""
    doc = (Path(__file__).parents[1] / "docs" / "data-format.md").read_text(encoding="utf-8")
    shipped = {
        ln
        for f in ("subjects.csv", "measurements.csv")
        for ln in (SHIPPED / f).read_text(encoding="utf-8").splitlines()
    }
    quoted = [ln for ln in doc.splitlines() if ln.startswith(("zang2022,", "ZANG2022-"))]
    assert len(quoted) >= 5
    assert set(quoted) <= shipped


def test_infusion_dates(folder):
    s = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    r = s.index[s["INF3WK"] == "8"][:5] + 2  # spreadsheet rows of subjects with 3 infusions
    first = s.loc[r[4] - 2, "INF1DT"]
    _edit_csv(folder / "subjects.csv", r[0], "INF2DT", "2015-13-01")
    _edit_csv(folder / "subjects.csv", r[1], "INF2DT", "42370")
    _edit_csv(folder / "subjects.csv", r[2], "INF2DT", "04/01/2016")
    _edit_csv(folder / "subjects.csv", r[3], "INF3DT", "2015-01-01")
    late = (pd.Timestamp(first) + pd.Timedelta(days=28 + 30)).strftime("%Y-%m-%d")
    _edit_csv(folder / "subjects.csv", r[4], "INF2DT", late)
    probs = _problems(folder)
    assert _one(probs, r[0], "INF2DT").rule == "not a valid calendar date"
    assert "Excel or SAS serial day number" in _one(probs, r[1], "INF2DT").rule
    assert _one(probs, r[2], "INF2DT").rule == "not a date in the form YYYY-MM-DD"
    assert "not after INF1DT" in _one(probs, r[3], "INF3DT").rule
    assert _one(probs, r[4], "INF2DT").rule == (
        "58 days after INF1DT, but INF2WK - INF1WK = 4 weeks (more than 14 days off)"
    )
    # dates are optional
    s.drop(columns=["INF1DT", "INF2DT", "INF3DT"]).to_csv(folder / "subjects.csv", index=False)
    assert "INF1DT" not in load_ipd(folder).subjects


def test_text_ids_keep_leading_zeros_and_numbers_parse_natively(folder):
    s = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    new = {old: f"{i:05d}" for i, old in enumerate(s["USUBJID"])}
    s["USUBJID"] = s["USUBJID"].map(new)
    m["USUBJID"] = m["USUBJID"].map(new)
    s.to_csv(folder / "subjects.csv", index=False)
    m.to_csv(folder / "measurements.csv", index=False)
    ipd = load_ipd(folder)
    assert ipd.subjects["USUBJID"].iloc[0] == "00000"
    assert set(ipd.measurements["USUBJID"]) <= set(ipd.subjects["USUBJID"])
    assert ipd.measurements["AVAL"].dtype == np.float64


def test_unnamed_columns(folder):
    s = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    s.insert(3, "", "")  # an empty, unnamed column (spreadsheet leftovers) is ignored
    s.to_csv(folder / "subjects.csv", index=False)
    assert len(load_ipd(folder).subjects) == 91
    s.iloc[5, 3] = "note"  # ... unless it holds data
    s.to_csv(folder / "subjects.csv", index=False)
    p = _one(_problems(folder), 1, "column D")
    assert "without a name in the header holds data" in p.rule
