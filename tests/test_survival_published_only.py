"""A time-to-event trial with published numbers only (hazard ratio, CI, p-value, events,
medians; no patient data, no digitised curve), through ``ta.reanalyze`` and the report.

The engine takes the published CI as a Wald interval, symmetric on the log scale: SE of log HR
= (log U - log L) / (2 z), p = 2 Phi(-|log HR| / SE) (Altman & Bland 2011, BMJ 343:d2304), and
audits the published HR, CI, p-value and events against each other
(:func:`trial_analysis.survival.check_hazard_ratio`). The numbers are checked here by those
hand formulas and against R: ``coxph(Surv(time, event) ~ sex + age + ph_ecog, lung)``
(tests/reference/survival.R, fixture ``COX`` case ``lung_efron``) printed as a paper would at
full precision gives back R's own SE and Wald p.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

import trial_analysis as ta
from tests.fixtures.survival_from_r import COX

DESIGN = """\
format_version = 1

[trial]
id = "pub_only_tte"
title = "A published two-arm trial with a time-to-event primary"
short_title = "Drug vs placebo (published only)"
citation = "Invented publication for tests/test_survival_published_only.py"

[[arms]]
name = "Drug"
role = "experimental"
n_randomised = {n_e}

[[arms]]
name = "Placebo"
role = "control"
n_randomised = {n_c}

[schedule]
time_unit = "months"
follow_up = 36
visits = [{{ avisitn = 0, label = "Randomisation", time = 0 }}]

[[endpoints]]
id = "os"
label = "Overall survival"
role = "primary"
type = "time_to_event"
parameter = "OS"
method = "logrank"
event = "death from any cause"
"""

COLS = "quantity,arm,week,statistic,relation,value,unit,conf_level,label,source,note\n"
PAIR = "Drug vs Placebo"


def write(folder: Path, rows: list[tuple], n_e: int = 150, n_c: int = 149) -> Path:
    """A trial folder: the design above and ``rows`` of (arm, statistic, relation, value,
    unit, conf_level) of quantity ``os`` in published.csv (values written as given, text)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "design.toml").write_text(DESIGN.format(n_e=n_e, n_c=n_c), "utf-8")
    body = "".join(
        f'os,{arm},,{stat},{rel},{v},{unit},{cl},full text,"Invented publication",\n'
        for arm, stat, rel, v, unit, cl in rows
    )
    (folder / "published.csv").write_text(COLS + body, "utf-8")
    return folder


def paper(hr="0.68", lo="0.52", hi="0.89", p="0.004", rel="=", events=("98", "117")):
    rows = [
        (PAIR, "hazard_ratio", "=", hr, "", ""),
        (PAIR, "ci_low", "=", lo, "", "0.95"),
        (PAIR, "ci_high", "=", hi, "", "0.95"),
        ("Drug", "median", "=", "11.2", "months", ""),
        ("Placebo", "median", "=", "7.9", "months", ""),
    ]
    if p is not None:
        rows.append((PAIR, "p_value", rel, p, "", ""))
    if events is not None:
        rows += [
            ("Drug", "events", "=", events[0], "patients", ""),
            ("Placebo", "events", "=", events[1], "patients", ""),
        ]
    return rows


def test_published_hazard_ratio_row_by_hand_formulas(tmp_path):
    """HR 0.68 (0.52 to 0.89): SE = (log 0.89 - log 0.52) / (2 x 1.95996) = 0.13709,
    p = 2 Phi(-|log 0.68| / SE) = 0.0049; one row, data_source published."""
    r = ta.reanalyze(write(tmp_path / "t", paper()))
    assert r.skipped == ()
    t = r.to_frame()
    assert len(t) == 1 and t["data_source"].tolist() == ["published"]
    row = t.iloc[0]
    z = stats.norm.isf(0.025)
    se = (math.log(0.89) - math.log(0.52)) / (2 * z)
    p = 2 * stats.norm.sf(abs(math.log(0.68)) / se)
    assert row["analysis"] == "hazard ratio (published numbers)"
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (0.68, 0.52, 0.89)
    assert row["p_value"] == pytest.approx(p, rel=1e-12)
    assert p == pytest.approx(0.0049, abs=5e-5)
    res = r["os"]
    assert res.published_only and res.analysis is None and res.figures() == {}
    assert res.to_frame()["se_log_hr"].iloc[0] == pytest.approx(se, rel=1e-12)
    notes = " ".join(res.notes)
    assert "death from any cause" in notes and "Drug 11.2 months" in notes
    assert "Published p = 0.004" in notes
    text = str(res)
    assert "Audit of the published numbers" in text and "events from CI width" in text


def test_audit_of_the_published_numbers(tmp_path):
    """Each check by hand: the geometric mean sqrt(0.52 x 0.89) = 0.6803 (rounding box
    [sqrt(0.515 x 0.885), sqrt(0.525 x 0.895)]); the published p 0.004 inside the range of
    the CI-implied Wald p over the rounding corners; Schoenfeld's events D = (1 + k)^2 /
    (k SE^2), k = 150/149, against 98 + 117 = 215."""
    c = ta.reanalyze(write(tmp_path / "t", paper()))["os"].published_checks.set_index("check")
    assert (c["verdict"] == "consistent").all(), c
    g = c.loc["published: HR = geometric mean of CI limits"]
    assert g["implied_low"] == pytest.approx(math.sqrt(0.515 * 0.885), rel=1e-12)
    assert g["implied_high"] == pytest.approx(math.sqrt(0.525 * 0.895), rel=1e-12)
    z = stats.norm.isf(0.025)
    # the smallest implied p: HR far from 1 (0.675), the narrowest CI (0.525 to 0.885)
    se_min = (math.log(0.885) - math.log(0.525)) / (2 * z)
    pv = c.loc["published: p-value from CI"]
    assert pv["implied_low"] == pytest.approx(2 * stats.norm.sf(-math.log(0.675) / se_min))
    ev = c.loc["published: events from CI width"]
    assert ev["published"] == 215
    k = 150 / 149
    se_wide = (math.log(0.895) - math.log(0.515)) / (2 * z)
    assert ev["implied_low"] == pytest.approx((1 + k) ** 2 / (k * se_wide**2), rel=1e-12)


def test_inconsistent_published_numbers_are_flagged(tmp_path):
    """HR 0.75 is not the geometric mean of 0.52 and 0.89; p = 0.04 is not what the CI implies
    (0.0049); 400 events are far more than the CI's width allows (about 213)."""
    rows = paper(hr="0.75", p="0.04", events=("200", "200"))
    c = ta.reanalyze(write(tmp_path / "t", rows))["os"].published_checks
    v = c.set_index("check")["verdict"]
    assert v["published: HR inside CI"] == "consistent"
    assert v["published: HR = geometric mean of CI limits"] == "inconsistent"
    assert v["published: events from CI width"] == "inconsistent"
    rows = paper(p="0.04")
    v = ta.reanalyze(write(tmp_path / "u", rows))["os"].published_checks.set_index("check")
    assert v.loc["published: p-value from CI", "verdict"] == "inconsistent"
    # a bound "p < 0.01" agrees with the implied 0.0049; "p < 0.001" does not
    for bound, want in (("0.01", "consistent"), ("0.001", "inconsistent")):
        d = write(tmp_path / f"b{bound}", paper(p=bound, rel="<"))
        v = ta.reanalyze(d)["os"].published_checks.set_index("check")["verdict"]
        assert v["published: p-value from CI"] == want, bound


def test_without_p_or_events_only_what_exists_is_checked(tmp_path):
    c = ta.reanalyze(write(tmp_path / "t", paper(p=None, events=None)))["os"].published_checks
    assert c["check"].tolist() == [
        "published: HR inside CI",
        "published: HR = geometric mean of CI limits",
    ]


def test_r_coxph_printed_at_full_precision_gives_r_wald_se_and_p(tmp_path):
    """R: ``coxph(Surv(time, event) ~ sex + age + ph_ecog, na.omit(lung2))`` (fixture COX,
    lung_efron), term ``sex``: ``exp(coef)``, ``exp(confint)`` printed with 15 significant
    digits as the published HR and CI; the engine's SE of log HR and Wald p equal R's
    ``se(coef)`` and ``Pr(>|z|)`` to 1e-10 (relative)."""
    ref = next(x for x in COX if x["name"] == "lung_efron")
    i = ref["terms"].index("sex")
    hr, lo, hi = (f"{ref[k][i]:.15g}" for k in ("hazard_ratio", "wald_low", "wald_high"))
    rows = [
        (PAIR, "hazard_ratio", "=", hr, "", ""),
        (PAIR, "ci_low", "=", lo, "", "0.95"),
        (PAIR, "ci_high", "=", hi, "", "0.95"),
        (PAIR, "p_value", "=", f"{ref['p_value'][i]:.6g}", "", ""),
    ]
    res = ta.reanalyze(write(tmp_path / "t", rows))["os"]
    f = res.to_frame().iloc[0]
    assert f["se_log_hr"] == pytest.approx(ref["se"][i], rel=1e-10)
    assert f["p_value"] == pytest.approx(ref["p_value"][i], rel=1e-10)
    assert (res.published_checks["verdict"] == "consistent").all()


def test_no_hazard_ratio_still_nothing_to_analyse(tmp_path):
    """Medians alone give no comparison: the endpoint is skipped with what it needs."""
    rows = [r for r in paper(p=None, events=None) if r[1] == "median"]
    r = ta.reanalyze(write(tmp_path / "t", rows))
    assert r.results == ()
    (ep, why), *_ = r.skipped
    assert ep == "os" and "published hazard ratio with its CI" in why
    with pytest.raises(ta.errors.AnalysisError, match="hazard_ratio, ci_low, ci_high"):
        ta.reanalyze(tmp_path / "t", "os")


def test_report_shows_the_published_only_endpoint(tmp_path):
    """``trial-analysis report DIR --format html``: the endpoint's Wald row, the audit in the
    published-number audit section, planning on events from the published HR."""
    import html as _html
    import re

    from trial_analysis.cli import main

    folder = write(tmp_path / "t", paper(hr="0.75", p="0.04"))
    out = tmp_path / "r.html"
    assert main(["report", str(folder), "--format", "html", "--out", str(out), "--quiet"]) == 0
    text = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", out.read_text("utf-8"), flags=re.S)
    text = re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]+>", " ", text)))
    for piece in (
        "Overall survival (primary)",
        "Published numbers only",
        "Hazard ratio, CI and p-value: Overall survival (Drug vs Placebo)",
        "HR = geometric mean of CI limits",
        "Wald, SE of log HR from the published CI",
        "of 4 checks of the published hazard ratio".capitalize(),
        "Planning the next trial",
        "events only",
    ):
        assert piece in text, piece
    assert "Not analysed" not in text and "inconsistent" in text
    assert "Times in" not in text  # nothing in the section is a time


def test_pdf_report_of_a_published_only_tte_trial(tmp_path):
    from trial_analysis.report.build import build_report

    pdf = build_report(write(tmp_path / "t", paper()), out=tmp_path / "r.pdf", fmt="pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_published_csv_is_not_modified(tmp_path):
    folder = write(tmp_path / "t", paper())
    before = (folder / "published.csv").read_bytes()
    ta.reanalyze(folder)
    assert (folder / "published.csv").read_bytes() == before
    assert isinstance(pd.read_csv(folder / "published.csv"), pd.DataFrame)


@pytest.mark.parametrize(
    ("kw", "row", "what"),
    [
        (dict(lo="0.95", hi="0.5"), 3, "ci_low must be ci_low < ci_high"),
        (dict(hr="-1"), 2, "hazard_ratio must be a finite number > 0"),
        (dict(events=("0", "0")), 8, "events must be a number of events > 0"),
    ],
)
def test_impossible_published_numbers_name_the_row(tmp_path, kw, row, what):
    """A CI upside down, a negative HR, no events: a PublishedDataError naming published.csv,
    the spreadsheet row (header = row 1) and what was expected."""
    from trial_analysis.errors import PublishedDataError

    folder = write(tmp_path / "t", paper(**kw))
    with pytest.raises(
        PublishedDataError, match=rf"published\.csv, row {row}, column value: {what}"
    ):
        ta.reanalyze(folder)
