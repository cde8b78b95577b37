"""The findings page, computed from a generic results table (the engine's ``to_frame()``).

The frame below is built by hand in the engine's shape with numbers of the kind the Zang 2022
reanalysis gives (Fisher 0.0496 vs Yates 0.058 on the composite; a synthetic-cohort ANCOVA on
insulin at 0.081 against a published 0.03), so every rule has a case that fires and one that
does not; the expected sentences follow from the numbers by the rules, not from the code.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from trial_analysis.errors import ParameterError, ReportError
from trial_analysis.report.content import Section, resolve
from trial_analysis.report.findings import COLUMNS, findings, findings_section

ROWS = [
    # endpoint, comparison, analysis, method, estimate, ci_low, ci_high, p, source
    (
        "composite",
        "UC-MSC vs Placebo",
        "risk difference",
        "Fisher exact",
        0.2045,
        np.nan,
        np.nan,
        0.0496,
        "published",
    ),
    (
        "composite",
        "UC-MSC vs Placebo",
        "risk difference",
        "Chi-square with Yates correction",
        0.2045,
        np.nan,
        np.nan,
        0.0580,
        "published",
    ),
    (
        "composite",
        "UC-MSC vs Placebo",
        "risk difference",
        "Boschloo exact",
        0.2045,
        np.nan,
        np.nan,
        0.0312,
        "published",
    ),
    (
        "composite",
        "UC-MSC vs Placebo",
        "risk difference",
        "Newcombe hybrid score",
        0.2045,
        0.0526,
        0.3561,
        np.nan,
        "published",
    ),
    (
        "insulin",
        "UC-MSC vs Placebo",
        "difference in mean change",
        "Welch t-test",
        -6.1,
        -11.5,
        -0.7,
        0.027,
        "published",
    ),
    (
        "insulin",
        "UC-MSC vs Placebo",
        "difference in mean change",
        "ANCOVA",
        -5.3,
        -11.3,
        0.7,
        0.081,
        "synthetic",
    ),
    (
        "insulin",
        "UC-MSC vs Placebo",
        "difference in mean change",
        "MMRM",
        -5.5,
        -11.4,
        0.4,
        0.065,
        "synthetic",
    ),
    (
        "hba1c",
        "UC-MSC vs Placebo",
        "difference in mean change",
        "Welch t-test",
        -0.68,
        -1.18,
        -0.18,
        0.0081,
        "published",
    ),
    (
        "hba1c",
        "UC-MSC vs Placebo",
        "difference in mean change",
        "ANCOVA",
        -0.61,
        -1.05,
        -0.17,
        0.007,
        "synthetic",
    ),
]
LABELS = {
    "composite": "Composite endpoint",
    "insulin": "Insulin reduction",
    "hba1c": "HbA1c change",
}


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=list(COLUMNS))


def _by(found, endpoint, rule):
    (f,) = [x for x in found if x.endpoint == endpoint and x.rule == rule]
    return f


def test_primary_finding_states_the_prespecified_test_and_the_claim(frame):
    found = findings(
        frame, labels=LABELS, primary={"composite": "fisher"}, claims={"composite": True}
    )
    f = _by(found, "composite", "primary")
    assert f.verdict == "holds"
    assert f.text.startswith(
        "Composite endpoint (UC-MSC vs Placebo): the pre-specified analysis (Fisher exact"
    )
    assert (
        "p = 0.0496" in f.text and "reported it as significant, which holds at α = 0.05" in f.text
    )
    # pre-specified Yates instead: the same claim does not hold
    f = _by(
        findings(frame, primary={"composite": "yates"}, claims={"composite": True}),
        "composite",
        "primary",
    )
    assert f.verdict == "does not hold" and "p = 0.0580" in f.text


def test_robustness_names_the_smallest_and_largest_p(frame):
    f = _by(findings(frame, labels=LABELS), "composite", "robustness")
    assert f.verdict == "depends on the test"
    assert "2 of 3 tests on the published numbers give p < 0.05" in f.text
    assert "from p = 0.0312 (Boschloo exact" in f.text
    assert "to p = 0.0580 (Chi-square with Yates correction" in f.text
    # every test significant, and none significant
    f = _by(findings(frame.assign(p_value=frame.p_value / 10)), "composite", "robustness")
    assert f.verdict == "holds" and "all 3 tests" in f.text and "largest p = 0.0058" in f.text
    f = _by(findings(frame.assign(p_value=frame.p_value * 10)), "composite", "robustness")
    assert f.verdict == "not significant" and "smallest p = 0.312" in f.text


def test_synthetic_cohort_contradicting_a_published_result_is_flagged(frame):
    found = findings(frame, labels=LABELS, primary={"insulin": "welch"})
    f = _by(found, "insulin", "sources")
    assert f.verdict == "contradict"
    assert "the synthetic cohort reaches the opposite conclusion (ANCOVA" in f.text
    assert "p = 0.0810, against p = 0.0270" in f.text
    assert "describes those assumptions, not the trial's patients" in f.text
    g = _by(found, "hba1c", "sources")
    assert g.verdict == "agree" and "contradict" not in g.text and "assumptions" not in g.text
    # no second data source: no sources finding
    assert not [x for x in found if x.endpoint == "composite" and x.rule == "sources"]


def test_multiplicity_holm_over_the_primary_analyses(frame):
    f = findings(frame, labels=LABELS)[-1]
    assert f.rule == "multiplicity"
    # primaries: 0.0496, 0.027, 0.0081 -> Holm: 0.0243, 0.054, 0.054 (3p, 2p, p; monotone)
    assert "3 primary comparisons" in f.text and "8 p-values in all" in f.text
    assert "Significant after adjustment: HbA1c change." in f.text
    assert "Composite endpoint (Holm-adjusted p = 0.0540)" in f.text
    assert "Insulin reduction (Holm-adjusted p = 0.0540)" in f.text


def test_estimate_with_interval_in_journal_form(frame):
    f = _by(findings(frame, primary={"composite": "newcombe"}), "composite", "primary")
    # the Newcombe row has no p-value, so the first published test is primary
    assert "Fisher exact" in f.text
    f = _by(findings(frame, labels=LABELS), "hba1c", "primary")
    assert "difference in mean change -0.7 (95% CI -1.2 to -0.2), p = 0.0081" in f.text


def test_bad_frames_are_parameter_errors(frame):
    with pytest.raises(ParameterError, match=r"missing \['data_source'\]"):
        findings(frame.drop(columns="data_source"))
    with pytest.raises(ParameterError, match=r"frame\['data_source'\].*'SYNTHETIC' in row 2"):
        findings(frame.assign(data_source=lambda d: d.data_source.where(d.index != 2, "SYNTHETIC")))
    with pytest.raises(ParameterError, match="a pandas DataFrame"):
        findings(ROWS)


def _doc(*sections):
    return resolve(
        title="t",
        subtitle_lines=[],
        title_callouts=[],
        sections=list(sections),
        footer="f",
        synthetic=True,
    )


def test_findings_section_links_checked_and_renders_first(frame, tmp_path):
    pdfplumber = pytest.importorskip("pdfplumber")
    from trial_analysis.report.pdf import render_pdf

    sec = findings_section(
        frame,
        labels=LABELS,
        primary={"composite": "fisher", "insulin": "welch"},
        claims={"composite": True, "insulin": True},
        sections={"composite": "composite", "insulin": "glycaemic", "hba1c": "glycaemic"},
    )
    later = [
        Section("composite", "Primary composite endpoint"),
        Section("glycaemic", "Insulin and HbA1c"),
    ]
    with pytest.raises(ReportError, match="refers to 'glycaemic'"):
        _doc(sec, later[0])
    doc = _doc(sec, *later)
    table = next(b for b in doc.sections[0]["blocks"] if b["type"] == "table")
    assert not table["synthetic"]  # every primary analysis is on published numbers
    assert [b["kind"] for b in doc.sections[0]["blocks"] if b["type"] == "callout"] == ["synthetic"]
    assert table["header"][:5] == ["Endpoint", "Comparison", "Analysis", "Estimate (CI)", "p"]
    assert [r[4] for r in table["rows"]] == ["0.0496", "0.0270", "0.0081"]
    render_pdf(tmp_path / "f.pdf", doc)
    with pdfplumber.open(str(tmp_path / "f.pdf")) as pdf:
        first = re.sub(r"\s+", " ", pdf.pages[2].extract_text())  # after title and contents
    assert first.startswith("SYNTHETIC PATIENT-LEVEL DATA ON THIS PAGE")
    assert "1. Key findings" in first
    assert "Holds. Composite endpoint (UC-MSC vs Placebo): the pre-specified analysis" in first
    assert "See Section 2." in first and "See Section 3." in first
    assert "Data: published aggregates." in first
    assert "Analysis strategy" in first
    for token in ("ci_low", "p_value", "data_source", "nan", "True", "False"):
        assert token not in first, token


def test_primary_table_with_a_synthetic_primary_names_both_sources(frame):
    sec = findings_section(frame, labels=LABELS, primary={"insulin": "ancova"})
    doc = _doc(sec)
    (table,) = [b for b in doc.sections[0]["blocks"] if b["type"] == "table"]
    assert table["synthetic"]
    caption = "".join(t for _, t, _ in table["caption"])
    assert caption.endswith(
        "Data: published aggregates; SYNTHETIC cohort, not the trial's patients."
    )
    assert [r[5] for r in table["rows"]] == ["published", "synthetic", "published"]


def test_one_endpoint_has_no_adjustment(frame):
    f = findings(frame[frame.endpoint == "composite"])[-1]
    assert f.rule == "multiplicity" and f.verdict == "survives"
    assert "one primary comparison; the table holds 3 p-values in all" in f.text


def test_the_papers_claims_are_read_from_published_csv(tmp_path):
    """What the paper claimed comes from the published between-arm p-values (``p < 0.05`` →
    significant, ``p > 0.05`` → not, an exact p by its side of 0.05); a bound that says
    nothing (``p < 0.1``) makes no claim."""
    import shutil
    from types import SimpleNamespace

    import trial_analysis as ta
    from trial_analysis._paths import trial_dir
    from trial_analysis.report.sections import _published_claims

    t = ta.load_trial("zang2022")
    got = _published_claims(SimpleNamespace(design=t.design, published=t.published))
    assert got["composite"] is True and got["insulin"] is True
    d = tmp_path / "t"
    shutil.copytree(trial_dir("zang2022"), d, ignore=shutil.ignore_patterns("synthetic*"))
    pub = (d / "published.csv").read_text("utf-8").splitlines()
    pub = [
        line.replace("p_value,<,0.05", "p_value,<,0.1")
        if line.startswith("composite,UC-MSC vs Placebo")
        else line.replace("p_value,<,0.05", "p_value,>,0.05")
        for line in pub
    ]
    (d / "published.csv").write_text("\n".join(pub) + "\n", "utf-8")
    t2 = ta.load_trial(d)
    got2 = _published_claims(SimpleNamespace(design=t2.design, published=t2.published))
    assert "composite" not in got2 and got2["insulin"] is False
