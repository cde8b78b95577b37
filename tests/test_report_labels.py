"""The report's text layer: identifiers in words, short analysis labels, one population
vocabulary, the trajectory axis (report/labels.py, report/populations.py)."""

from __future__ import annotations

import re

import pytest

import trial_analysis as ta
from trial_analysis.reanalysis._continuous import _visit_axis
from trial_analysis.report.labels import humanise, plain_text, short_analysis, short_label
from trial_analysis.report.populations import (
    POPULATIONS,
    definitions,
    population_key,
    population_label,
)


@pytest.fixture(scope="module")
def design():
    return ta.load_design("zang2022")


def test_covariates_are_named_from_the_design(design):
    # BASE_<PARAMCD>: "baseline" and the parameter's label (its abbreviation where it has one)
    assert humanise("BASE_HBA1C", design) == "baseline HbA1c"
    assert humanise("BASE_GIR", design) == "baseline glucose infusion rate"
    # without a design the parts are words, not the code
    assert humanise("BASE_HBA1C") == "baseline HBA1C"
    assert humanise("insulin_pchg_sd") == "insulin % change SD"
    assert humanise("n_infusions") == "number of infusions"
    assert humanise("fisher_midp") == "Fisher mid-p"  # a test id: its printed name
    assert humanise("prob_gt_mcid") == "P(effect > MCID)"  # an engine column: its label


def test_plain_text_rewrites_code_but_keeps_files_and_english(design):
    src = "Patient-level data: synthetic:zang2022 seed=20220503 exact=True; ITT"
    assert plain_text(src) == (
        "Patient-level data: synthetic cohort of zang2022 (seed 20220503, matched exactly); ITT"
    )
    assert plain_text("('GIR', 'CPEP')") == "GIR, CPEP"
    assert plain_text("|error| < 1e-9; 0.0220408") == "|error| < 1×10⁻⁹; 0.02204"
    assert plain_text("use an ANCOVA (ta.continuous) here") == "use an ANCOVA here"
    assert plain_text("2 patient(s) with a missing 'y', 'BASE_GIR' dropped", design) == (
        "2 patient(s) with a missing outcome or baseline dropped"
    )
    # a software function cited as the reference implementation keeps its name
    assert plain_text("Barnard 1947; scipy barnard_exact") == "Barnard 1947; scipy barnard_exact"
    kept = "see published.csv line 12 and data/evidence/meta_analyses.csv; None of them"
    assert plain_text(kept) == kept


def test_short_labels_move_the_measure_and_formula_out():
    m = "% reduction in total daily insulin dose"
    assert short_analysis(f"ANCOVA {m} ~ arm + baseline, model SE", m) == (
        "ANCOVA, model SE",
        f"{m} ~ arm + baseline",
    )
    assert short_analysis("ANCOVA week-48 value ~ arm + baseline, HC3 SE", m)[0] == (
        "ANCOVA week-48 value, HC3 SE"
    )
    assert short_analysis(f"MMRM {m}, Week 12", m) == ("MMRM, Week 12", "")
    assert short_analysis(f"Welch t, {m}", m) == ("Welch t", "")
    assert short_analysis("Student t, assumed SD 15", m) == ("Student t, assumed SD 15", "")
    assert short_label("Glycated haemoglobin (HbA1c)") == "HbA1c"


def test_population_rules():
    rand = (45, 46)
    assert population_key((45, 46), rand) == "itt"
    assert population_key((45, 44), rand) == "complete"
    assert population_key((45, 44), rand, analysis="MMRM, Week 48") == "mitt"
    assert population_key((45, 46), rand, declared="PP") == "pp"
    assert population_key((float("nan"), 3), rand) == ""
    assert population_label("complete", (45, 44)) == "Complete cases (n = 45 / 44)"
    assert population_label("itt", (45, 46), capital=False) == "ITT (all randomised; n = 45 / 46)"
    text = definitions([("UC-MSC", 45), ("Placebo", 46)])
    assert "randomised: UC-MSC 45, Placebo 46" in text
    for name, _ in POPULATIONS.values():  # each defined once
        assert text.count(name[0].upper() + name[1:] + ":") == 1


def test_trajectory_axis_prints_visit_labels_not_numbers():
    # CDISC-style visits: AVISITN 4, 5, 7 are weeks 2, 4, 6
    assert _visit_axis({4.0: "Week 2", 5.0: "Week 4", 7.0: "Week 6"}) == (
        "week",
        {4.0: "2", 5.0: "4", 7.0: "6"},
    )
    mixed = {1.0: "Baseline", 2.0: "Month 3"}
    assert _visit_axis(mixed) == ("visit", mixed)


def test_cdisc_trajectory_ticks_are_the_visits_weeks():
    """cdiscpilot01 numbers its visits AVISITN 4, 5, 7 ... for weeks 2, 4, 6 ...: the MMRM
    figure's axis shows the design's visit labels (their week numbers), one per fitted visit,
    not AVISITN and not the unfitted baseline."""
    t = ta.load_trial("cdiscpilot01")
    res = ta.reanalyze(t, t.design.endpoints[0].id)
    ax = res.results[0].figures()["mmrm_trajectory"].axes[0]
    fitted = res.results[0].mmrm_fit.visits
    assert [x.get_text() for x in ax.get_xticklabels()] == [
        t.design.visit_label(v).split()[-1] for v in fitted
    ]
    assert ax.get_xlabel() == "week"


def test_generic_arm_numbers_take_the_arm_names_of_a_two_arm_design():
    """Issue 15: "arm 1/arm 2" beside "UC-MSC/Placebo" — the analyses' generic arm names
    print as the design's arms (experimental = arm 1); with three arms they stay generic."""
    import trial_analysis as ta
    from trial_analysis.report.labels import plain_text

    z = ta.load_design("zang2022")
    got = plain_text("0 patient(s) in arm 1 and 2 in arm 2; best case for arm 1; arm-2 patients", z)
    assert got == "0 patient(s) in UC-MSC and 2 in Placebo; best case for UC-MSC; Placebo patients"
    assert plain_text("arm 1 Beta(5, 15)", ta.load_design("cdiscpilot01")) == "arm 1 Beta(5, 15)"
    assert plain_text("farm 12 harm 1x", z) == "farm 12 harm 1x"


def test_figures_name_the_arms_in_every_text_tick_labels_included():
    """name_figure_arms: labels, titles, legends and tick labels set as a list (re-made at
    each draw) name the arms; a "$" in a name prints as typed, a formula stays a formula."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    import trial_analysis as ta
    from trial_analysis.report.labels import name_figure_arms

    sens = ta.binary.missing_sensitivity(9, 45, 2, 44, 45, 46).plot()
    fig = name_figure_arms(sens, ("UC-MSC", "Pla$cebo"))
    fig.draw(FigureCanvasAgg(fig).get_renderer())
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "risk difference (UC-MSC \u2212 Pla$cebo)" in texts
    assert any(t.startswith("best case for UC-MSC") for t in texts)
    assert not [t for t in texts if re.search(r"\barm[ -][12]\b", t)]
    xlabel = fig.axes[0].xaxis.label
    assert not xlabel.get_parse_math()  # the "$" of the name is no formula

    from matplotlib.figure import Figure

    f = Figure()
    ax = f.add_subplot()
    ax.set_title(r"arm 1 at $10^{-6}$")
    name_figure_arms(f, ("A$B", "C"))
    assert ax.title.get_text() == r"A\$B at $10^{-6}$" and ax.title.get_parse_math()
