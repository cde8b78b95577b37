"""Bounded text in the data files (issue 20): every text field of design.toml and
published.csv is checked against a documented, overridable length limit (``max_title_length``,
``max_label_length``, ``max_text_length`` in ``limits.LIMITS`` and docs/limits.md) and for
control characters, with an error naming the file, the key (or row and column) and the limit.
"""

from __future__ import annotations

import re
import shutil

import pytest

import trial_analysis as ta
from trial_analysis import limits
from trial_analysis._paths import trial_dir
from trial_analysis.errors import DesignError, PublishedDataError

TITLE = int(limits.LIMITS["max_title_length"].default)
LABEL = int(limits.LIMITS["max_label_length"].default)
TEXT = int(limits.LIMITS["max_text_length"].default)


# key, limit of its class, line breaks allowed
FIELDS = [
    ("trial.title", "max_title_length", False),
    ("trial.short_title", "max_title_length", False),
    ("trial.citation", "max_text_length", True),
    ("trial.design", "max_label_length", False),
    ("arms.1.name", "max_label_length", False),
    ("arms.0.description", "max_text_length", True),
    ("parameters.0.label", "max_label_length", False),
    ("parameters.0.unit", "max_label_length", False),
    ("endpoints.0.label", "max_label_length", False),
    ("eligibility.0.text", "max_text_length", True),
    ("provenance.dose.reason", "max_text_length", True),
    ("provenance.dose.source", "max_text_length", True),
]


def _load(key, value):
    return ta.load_design("zang2022", overrides={key: value})


@pytest.mark.parametrize("key, limit, _multiline", FIELDS)
def test_design_text_over_its_limit_names_file_key_and_limit(key, limit, _multiline):
    cap = int(limits.get(limit))
    assert _load(key, "x" * cap) is not None  # at the limit: loads
    with pytest.raises(DesignError) as ei:
        _load(key, "x" * (cap + 1))
    msg = str(ei.value)
    named = re.sub(r"\.(\d+)\.", r"[\1].", key)  # arms.1.name -> arms[1].name
    assert ei.value.key == named and ei.value.file.endswith("design.toml")
    assert f"design.toml: key '{named}': expected a text of at most" in msg
    assert f"at most {cap:,} characters (limit {limit}" in msg
    assert f"got {cap + 1:,} characters" in msg
    assert limits.LIMITS[limit].env in msg  # how to raise it
    with limits.override(**{limit: cap + 1}):  # overridable like the other limits
        assert _load(key, "x" * (cap + 1)) is not None


def test_the_keys_are_named_exactly():
    with pytest.raises(DesignError) as ei:
        _load("arms.1.name", "x" * (LABEL + 1))
    assert ei.value.key == "arms[1].name"
    with pytest.raises(DesignError) as ei:
        _load("provenance.dose.reason", "x" * (TEXT + 1))
    assert ei.value.key == "provenance.dose.reason"
    with pytest.raises(DesignError) as ei:
        _load("endpoints.0.covariates", ["HBA1C_BL", "y" * (LABEL + 1)])
    assert ei.value.key == "endpoints[0].covariates[1]"


@pytest.mark.parametrize("key, limit, multiline", FIELDS)
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n", "\r"])
def test_control_characters(key, limit, multiline, char):
    """NUL and every other C0/C1 control are refused; tab and line breaks only where a free
    text may hold them (citation, descriptions, eligibility text, provenance)."""
    value = f"abc{char}def"
    if multiline and char in "\t\n\r":
        assert _load(key, value) is not None
        return
    with pytest.raises(DesignError, match=rf"without control characters.*U\+{ord(char):04X}"):
        _load(key, value)


def test_two_hundred_thousand_character_title_is_refused_at_once():
    import time

    t0 = time.perf_counter()
    with pytest.raises(DesignError, match="max_title_length"):
        _load("trial.title", "T" * 200_000)
    assert time.perf_counter() - t0 < 5  # refused while loading, not after a report build


def test_unicode_text_is_fine():
    d = _load("trial.title", "二甲双胍 vs 安慰剂 — 𝛼 ≤ 0.05 🧪")
    assert d.title.startswith("二甲双胍")


# ------------------------------------------------------------------------- published.csv
@pytest.fixture
def trial_copy(tmp_path):
    out = tmp_path / "t"
    shutil.copytree(trial_dir("zang2022"), out, ignore=shutil.ignore_patterns("synthetic*"))
    return out


def _edit_published(folder, column, value, row=2):
    import csv

    path = folder / "published.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


@pytest.mark.parametrize(
    "column, limit", [("quantity", LABEL), ("arm", LABEL), ("unit", LABEL), ("statistic", LABEL)]
)
def test_published_text_over_its_limit(trial_copy, column, limit):
    path = _edit_published(trial_copy, column, "z" * (limit + 1), row=3)
    with pytest.raises(PublishedDataError) as ei:
        ta.load_published(path)
    msg = str(ei.value)
    assert f"published.csv, row 3, column {column}: expected a text of at most {limit:,}" in msg
    assert "max_label_length" in msg
    # the quoted source and the note are bounded by max_csv_field while parsing (bytes)
    path = _edit_published(trial_copy, column, "ok", row=3)
    path = _edit_published(trial_copy, "source", "s" * 20_000, row=3)
    assert len(ta.load_published(path)) > 3


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x9b"])
def test_published_control_characters(trial_copy, char):
    path = _edit_published(trial_copy, "note", f"see{char}table", row=4)
    with pytest.raises(PublishedDataError, match=rf"row 4, column note: .*U\+{ord(char):04X}"):
        ta.load_published(path)


def test_every_text_limit_is_documented():
    text = (trial_dir("zang2022").parents[1] / "docs" / "limits.md").read_text(encoding="utf-8")
    for name in ("max_title_length", "max_label_length", "max_text_length"):
        default = f"{limits.LIMITS[name].default:,.0f}"
        assert f"| `{name}` | {default} characters |" in text, name
