"""Spreadsheet formula injection (issue 20): text written to a workbook or a CSV file never
runs as a formula when a spreadsheet opens it (OWASP "CSV Injection").

xlsx: every text cell is a string cell (never ``data_type == "f"``), with Excel's quote
prefix when it begins with ``= + - @``, tab or CR; it reads back exactly as typed (a text
that itself begins with quotes before a trigger gets one more quote, as in CSV). CSV: such a
text gets a leading ``'`` (OWASP's advice). ``load_ipd`` removes that one quote in every
format, so that both round trips are lossless.
"""

from __future__ import annotations

import csv
import dataclasses

import openpyxl
import pandas as pd
import pytest

from trial_analysis._io import (
    FORMULA_TRIGGERS,
    csv_safe,
    escape_formula_text,
    unescape_formula_text,
)
from trial_analysis._paths import trial_dir
from trial_analysis.ipd import load_ipd

PAYLOADS = [
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "'=already quoted",  # a text that really begins with a quote: the escape is lossless
]


@pytest.fixture(scope="module")
def planted():
    """The shipped synthetic cohort with the payloads as subject ids, arm names and in a
    text column (subject ids kept unique and consistent across the two tables)."""
    ipd = load_ipd(trial_dir("zang2022") / "synthetic")
    s, m = ipd.subjects.copy(), ipd.measurements.copy()
    ids = list(s["USUBJID"])
    new = {old: (PAYLOADS[i] + f" #{i}" if i < len(PAYLOADS) else old) for i, old in enumerate(ids)}
    s["USUBJID"] = s["USUBJID"].map(new)
    m["USUBJID"] = m["USUBJID"].map(new)
    s["NOTE"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(s))]
    return ipd, dataclasses.replace(ipd, subjects=s, measurements=m), new


def _arms_planted(ipd):
    s = ipd.subjects.copy()
    arms = {a: p for a, p in zip(ipd.design.arm_names, ["=1+1", "@arm"], strict=True)}
    s["ARM"] = s["ARM"].map(arms)
    return dataclasses.replace(ipd, subjects=s), arms


def test_escape_is_lossless_and_only_touches_triggers():
    for t in [*PAYLOADS, "\tTAB", "\rCR", "''=x", "'", "'quoted", "plain", "", "1-2", "a=b"]:
        assert unescape_formula_text(escape_formula_text(t)) == t
        first = escape_formula_text(t)[:1]
        assert first not in FORMULA_TRIGGERS or first == ""
    assert escape_formula_text("plain") == "plain" and escape_formula_text("1-2") == "1-2"
    assert escape_formula_text("=1") == "'=1" and escape_formula_text("'=1") == "''=1"
    assert unescape_formula_text("'quoted") == "'quoted"  # no trigger after the quote


def test_excel_writer_never_writes_a_formula(planted, tmp_path):
    """Reopened with openpyxl: no cell has data_type "f"; the planted subject ids, arm names
    and text cells read back as typed (quote prefix set, not part of the text); numbers
    stay numbers."""
    _, bad, new = planted
    bad, arms = _arms_planted(bad)
    path = bad.save(tmp_path / "book.xlsx", format="excel")
    wb = openpyxl.load_workbook(path)  # not data_only: a formula would show as one
    texts = {}
    quoted = escape_formula_text(PAYLOADS[-1])  # the text beginning with "'=": one more quote
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            for name, cell in zip(header, row, strict=True):
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.setdefault((ws.title, name), set()).add(cell.value)
                    assert cell.quotePrefix == (cell.value[:1] in FORMULA_TRIGGERS)
                if name in ("AVAL", "BASE", "AGE") and cell.value is not None:
                    assert cell.data_type == "n"
    planted_ids = {escape_formula_text(v) if v[0] == "'" else v for k, v in new.items() if k != v}
    assert planted_ids <= texts[("subjects", "USUBJID")]
    assert planted_ids <= texts[("measurements", "USUBJID")]
    assert set(arms.values()) == texts[("subjects", "ARM")]
    assert {*PAYLOADS[:-1], quoted} == texts[("subjects", "NOTE")]
    # and pandas reads the same text (the documented format's reader too)
    back = pd.read_excel(path, sheet_name="subjects", dtype={"USUBJID": str, "NOTE": str})
    assert list(back["NOTE"]) == [
        escape_formula_text(t) if t[0] == "'" else t for t in bad.subjects["NOTE"]
    ]


def test_excel_round_trip_through_load_ipd(planted, tmp_path):
    _, bad, _ = planted
    back = load_ipd(bad.save(tmp_path / "book.xlsx", format="excel"))
    assert list(back.subjects["USUBJID"]) == list(bad.subjects["USUBJID"])
    assert list(back.subjects["NOTE"]) == list(bad.subjects["NOTE"])


def test_csv_writer_prefixes_triggers_and_load_ipd_removes_the_prefix(planted, tmp_path):
    """The raw CSV cells begin with ' before a trigger (never with the trigger itself);
    numeric columns (negative changes from baseline included) are not prefixed; load_ipd
    gives back the text as planted."""
    _, bad, _ = planted
    folder = bad.save(tmp_path / "out", format="csv")
    for name in ("subjects.csv", "measurements.csv"):
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        header = rows[0]
        for row in rows[1:]:
            for col, cell in zip(header, row, strict=True):
                assert cell[:1] not in FORMULA_TRIGGERS or col in ("AVAL", "BASE", "CHG", "PCHG"), (
                    name,
                    col,
                    cell,
                )
        if name == "measurements.csv":
            chg = [r[header.index("CHG")] for r in rows[1:]]
            assert any(c.startswith("-") for c in chg)  # numbers stay numbers
    back = load_ipd(folder)
    assert list(back.subjects["USUBJID"]) == list(bad.subjects["USUBJID"])
    assert list(back.measurements["USUBJID"]) == list(bad.measurements["USUBJID"])
    assert list(back.subjects["NOTE"]) == list(bad.subjects["NOTE"])
    pd.testing.assert_frame_equal(
        back.measurements.drop(columns="USUBJID"),
        bad.measurements.drop(columns="USUBJID"),
        check_dtype=False,
    )


def test_csv_safe_leaves_numbers_and_missing_values():
    f = pd.DataFrame({"t": ["=1", None, "ok"], "x": [-1.5, 2.0, None], "n": [-3, 4, 5]})
    out = csv_safe(f)
    assert list(out["t"][[0, 2]]) == ["'=1", "ok"] and pd.isna(out["t"][1])
    pd.testing.assert_series_equal(out["x"], f["x"])
    pd.testing.assert_series_equal(out["n"], f["n"])
    assert list(f["t"][[0, 2]]) == ["=1", "ok"]  # the input is not modified
