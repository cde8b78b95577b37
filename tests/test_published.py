"""The published aggregates table: contents traceable to the reference notes, and error paths."""

from __future__ import annotations

import pytest

import trial_analysis as ta
from trial_analysis._paths import trial_dir
from trial_analysis.published import COLUMNS

# CI clones the repo with shared/ beside it: <parent>/main and <parent>/shared
REFERENCE = trial_dir("zang2022").parents[1].parent / "shared" / "reference" / "zang2022.md"


def test_tidy_columns_and_sources():
    pub = ta.load_published("zang2022")
    assert tuple(pub.columns) == COLUMNS
    assert pub["source"].str.contains("https://").all()
    assert set(pub["label"]) <= {"abstract", "registry"}
    assert len(pub.attrs["sha256"]) == 64
    # one row per number: no duplicated keys
    assert not pub.duplicated(["quantity", "arm", "week", "statistic"]).any()


def test_key_values_match_the_abstract():
    pub = ta.load_published("zang2022")
    v = lambda *k: ta.published_value(pub, *k)  # noqa: E731
    assert v("randomised", "UC-MSC", None, "n") == 45
    assert v("randomised", "Placebo", None, "n") == 46
    assert v("composite", "UC-MSC", 48, "percent") == 20.0
    assert v("composite", "Placebo", 48, "percent") == 4.55
    assert (
        v("composite", "UC-MSC - Placebo", 48, "ci_low"),
        v("composite", "UC-MSC - Placebo", 48, "ci_high"),
    ) == (2.25, 28.66)
    assert v("hba1c_change", "UC-MSC vs Placebo", 48, "p_value") == 0.0081
    p_row = pub[(pub.quantity == "composite") & (pub.statistic == "p_value")].iloc[0]
    assert p_row["relation"] == "<" and p_row["value"] == 0.05


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference not beside the checkout")
def test_every_quoted_sentence_is_in_the_reference_notes():
    """Each source quote must appear verbatim in shared/reference/zang2022.md (no numbers from memory)."""
    ref = REFERENCE.read_text(encoding="utf-8")
    pub = ta.load_published("zang2022")
    for src in pub["source"]:
        quote = src.split('"')[1]
        assert quote in ref, quote


def test_published_value_missing_key_lists_what_exists():
    pub = ta.load_published("zang2022")
    with pytest.raises(KeyError, match="rows for 'composite'"):
        ta.published_value(pub, "composite", "UC-MSC", 24, "percent")


HEADER = ",".join(COLUMNS)


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        (
            "quantity,arm,value\nx,y,1\n",
            r"row 1: missing column\(s\) week, statistic, unit, source",
        ),
        (HEADER + ",extra\n", r"row 1: unknown column\(s\) extra"),
        (
            HEADER + "\nhba1c,A,0,mean,=,abc,%,,abstract,src,\n",
            r"row 2, column value: expected a finite number, got 'abc'",
        ),
        (
            HEADER + "\nhba1c,A,0,mean,=,1,%,,abstract,src,\nhba1c,A,x,mean,=,1,%,,abstract,src,\n",
            r"row 3, column week: expected a whole number",
        ),
        (
            HEADER + "\nhba1c,A,0,mean,~,1,%,,abstract,src,\n",
            r"row 2, column relation: expected one of = < >",
        ),
        (
            HEADER + "\nhba1c,A,0,mean,=,1,%,,memory,src,\n",
            r"row 2, column label: expected one of abstract",
        ),
        (
            HEADER + "\nhba1c,A,0,mean,=,1,%,,abstract,,\n",
            r"row 2, column source: expected a non-empty value",
        ),
        (HEADER + "\n", r"no data rows"),
    ],
)
def test_malformed_published_csv(tmp_path, body, pattern):
    f = tmp_path / "published.csv"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ta.TrialAnalysisError, match=pattern):
        ta.load_published(f)


def test_non_utf8_published_csv(tmp_path):
    f = tmp_path / "published.csv"
    f.write_bytes(HEADER.encode() + b"\nhba1c,\xe9,0,mean,=,1,%,,abstract,src,\n")
    with pytest.raises(ta.TrialAnalysisError, match="not UTF-8 text"):
        ta.load_published(f)
