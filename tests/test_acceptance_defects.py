"""Defects found by the acceptance pass on unseen trials (tests/test_acceptance_trials.py), each
reproduced with a small trial folder written into ``tmp_path`` by ``tests/_acceptance_trials.py``
(seeded numpy, no real patients). Each test failed before its fix."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

import trial_analysis as ta
from trial_analysis.cli import main

from . import _acceptance_trials as acc
from .fixtures.binary_zero_cell_from_r import MH_ZERO_ARM, ZERO_CELL


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ 1. enumerated design values
@pytest.mark.parametrize(
    ("old", "new", "key", "allowed"),
    [
        # a misspelt binary test: was accepted, and no row was marked primary
        ('method = "fisher"', 'method = "fischer"', "endpoints[1].method", "fisher, fisher_midp"),
        # a method of another endpoint type
        ('method = "fisher"', 'method = "mmrm"', "endpoints[1].method", "chisq_yates"),
        ('method = "mmrm"', 'method = "MMRM"', "endpoints[0].method", "ancova, mmrm"),
        ('method = "logrank"', 'method = "log_rank"', "endpoints[2].method", "logrank, cox"),
        ('role = "secondary"', 'role = "secundary"', "endpoints[1].role", "key secondary"),
        ("format_version = 1", "format_version = 3", "format_version", "one of 1"),
        # unknown keys are refused at every level (as before), naming the known fields
        ("threshold = -4.0", "treshold = -4.0", "endpoints[1].components[0].treshold", "threshold"),
    ],
)
def test_design_enumerations_are_checked_on_loading(tmp_path, old, new, key, allowed):
    """Every enumerated design value is checked when the file is read: a DesignError names the
    file, the key path and the allowed values (was: ``method = "fischer"`` loaded silently)."""
    folder = acc.write_adam2(tmp_path)
    f = folder / "design.toml"
    text = f.read_text("utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(ta.DesignError) as exc:
        ta.load_design(f)
    msg = str(exc.value)
    assert str(f) in msg and f"key '{key}'" in msg and allowed in msg, msg
    assert exc.value.key == key


def test_every_documented_method_loads(tmp_path):
    """The allowed lists are the engine's: each binary test of ``ta.binary.TEST_INFO`` loads."""
    folder = acc.write_adam2(tmp_path)
    f = folder / "design.toml"
    text = f.read_text("utf-8")
    for test in ta.binary.TEST_INFO:
        f.write_text(text.replace('method = "fisher"', f'method = "{test}"'), "utf-8")
        assert ta.load_design(f).endpoint("itch_resp").method == test


# ------------------------------------------------------------------ 5. ADTTE analysis-set note
def test_adtte_analysis_set_note_has_no_empty_visit_list(tmp_path):
    """An ADTTE parameter has no visits: its analysis-set note says one record per subject (was:
    "...; scheduled visits only; visits " with nothing after); a BDS note still lists visits."""
    folder = acc.write_adam2(tmp_path)
    r = ta.reanalyze(folder, "flare", seed=1)
    notes = [n for x in r.of("flare") for n in x.notes if n.startswith("Analysis set: TTFLARE")]
    assert notes, [n for x in r.of("flare") for n in x.notes]
    for n in notes:
        assert not re.search(r"visits\s*[;.]?\s*$", n), n
        assert "one time-to-event record per subject" in n and "FASFL = Y" in n, n
        assert "DTYPE" not in n and "scheduled visits" not in n, n
    ipd = ta.load_ipd(folder / "adam")
    bds = str(ipd.analysis_set("ITCHNRS", population="FASFL").attrs["analysis_set"])
    assert re.search(r"; visits \S", bds) and "scheduled visits only" in bds, bds


# ------------------------------------------------------------------ 6. each number's precision
def test_each_published_percentage_is_matched_at_its_own_precision(tmp_path):
    """A percentage printed "20 %" stands for 19.5-20.5 and "4.55 %" for 4.545-4.555: 10/49 (20.41 %)
    vs 1/22 (4.545 %) reproduce them. One precision for all (2 decimals, the most printed)
    found no counts at all (was: "no counts reproduce the published 20 % vs 4.55 %")."""
    folder = acc.write_pubbin(tmp_path)
    pub = pd.read_csv(folder / "published.csv", dtype=str, keep_default_na=False)
    sero = pub["quantity"] == "seroconv"
    for arm, n, pct in (("Adjuvant", "49", "20"), ("Control", "22", "4.55")):
        rows = sero & (pub["arm"] == arm)
        pub.loc[rows & (pub["statistic"] == "n"), "value"] = n
        pub.loc[rows & (pub["statistic"] == "percent"), "value"] = pct
    pub.to_csv(folder / "published.csv", index=False)
    got = ta.consistency.published_counts(ta.load_trial(folder), "seroconv")
    assert got[["x1", "n1", "x2", "n2"]].values.tolist() == [[10, 49, 1, 22]]
    assert tuple(got.attrs["decimals"]) == (0, 2)
    # the same search by hand: per-number decimals (p1, p2) or (p1, p2, ci_low, ci_high)
    by_hand = ta.consistency.infer_counts(20, 4.55, 49, 22, decimals=(0, 2), n1_min=49, n2_min=22)
    assert by_hand[["x1", "x2"]].values.tolist() == [[10, 1]]
    assert ta.consistency.infer_counts(20, 4.55, 49, 22, decimals=2, n1_min=49, n2_min=22).empty
    with pytest.raises(ta.errors.ParameterError, match="decimals"):
        ta.consistency.infer_counts(20, 4.55, 49, 22, decimals=(0, 2, 2))


# ------------------------------------------------------------------ 3. no absolute user paths
def test_outputs_name_data_from_the_trial_folder(tmp_path, capsys):
    """Notes, text and JSON name the data from the trial folder (``acc_tiny/ipd``,
    ``acc_adam2/adam``), not by the absolute path of this machine (was: ``ipd_source`` and
    every "Patient-level data: /home/..." note)."""
    root = tmp_path.resolve()
    tiny = acc.write_tiny(root)
    r = ta.reanalyze(tiny, ipd=tiny / "ipd", seed=1)
    assert r.ipd_source == "acc_tiny/ipd"
    adam2 = acc.write_adam2(root)
    r2 = ta.reanalyze(adam2, "flare", seed=1)
    assert r2.ipd_source == "acc_adam2/adam"
    for res in (r, r2):
        texts = [str(res), json.dumps(res.to_dict()), *res.notes]
        texts += [n for x in res.results for n in x.notes]
        for t in texts:
            assert str(root) not in t and str(tmp_path) not in t, t
    assert any("Patient-level data: acc_tiny/ipd" in n for n in r.notes)
    code, out, err = run(capsys, "reanalyze", adam2, "--endpoint", "flare", "--json")
    assert code == 0, err
    assert str(root) not in out and "acc_adam2/adam" in out


# ------------------------------------------------------------------ 4. validate a trial folder
def test_validate_a_trial_folder_checks_its_adam_data(tmp_path, capsys):
    """``validate <trial folder>`` checks the ADaM data sets of its ``adam/`` subfolder, which
    the engine uses (was: the folder itself was read, "found no ADSL: published.csv")."""
    folder = acc.write_adam2(tmp_path)
    code, out, err = run(capsys, "validate", folder)
    assert code == 0, out + err
    assert "Active 10 mg: 40, Vehicle: 40" in out and "acc_adam2/adam" in out
    code, out, _ = run(capsys, "validate", folder, "--json")
    assert code == 0 and json.loads(out)["data"] == "acc_adam2/adam"
    # a problem in adam/ is reported (what the engine would have refused)
    adsl = pd.read_csv(folder / "adam" / "adsl.csv")
    adsl.loc[3, "USUBJID"] = adsl.loc[2, "USUBJID"]
    adsl.to_csv(folder / "adam" / "adsl.csv", index=False)
    code, out, err = run(capsys, "validate", folder)
    assert code == 1 and "adsl.csv" in out and "USUBJID" in out, out + err
    with pytest.raises(ta.errors.DataValidationError):
        ta.reanalyze(folder, "flare")
    # a trial folder without adam/: said, not "no ADSL: published.csv"
    code, out, err = run(capsys, "validate", acc.write_pubbin(tmp_path))
    assert code == 1 and "adam/" in out and "published numbers only" in out, out + err


# ------------------------------------------------------------------ 7. primary family
def test_multiplicity_counts_the_primary_endpoints_declared_in_the_design(tmp_path):
    """One primary endpoint (seroconversion) and one secondary (titre): the multiplicity finding
    has one primary comparison and names the secondary apart, unadjusted (was: "2 primary
    comparisons, adjusted by Holm's step-down method"); so does the discussion."""
    from trial_analysis.report.content import Para, runs_of
    from trial_analysis.report.discussion import discussion_section
    from trial_analysis.report.findings import findings

    folder = acc.write_pubbin(tmp_path)
    res = ta.reanalyze(folder, seed=1)
    d = res.trial.design
    frame = res.to_frame()
    kw = dict(
        primary={e.id: e.method for e in d.endpoints if e.method},
        labels={e.id: e.label for e in d.endpoints},
    )
    mult = findings(frame, roles={e.id: e.role for e in d.endpoints}, **kw)[-1]
    assert mult.rule == "multiplicity"
    assert "one primary comparison" in mult.text and "2 primary" not in mult.text, mult.text
    assert "1 non-primary endpoint (secondary; 1 comparison)" in mult.text, mult.text
    assert "nominally significant: Log2 antibody titre at week 8" in mult.text, mult.text
    # without the design's roles every endpoint is primary (a generic table), as before
    assert "2 primary comparisons" in findings(frame, **kw)[-1].text
    found = findings(frame, roles={e.id: e.role for e in d.endpoints}, **kw)
    sec = discussion_section(
        res, frame, found, design=d, kind="published", labels=kw["labels"], sections=set()
    )
    text = " ".join(
        "".join(r if isinstance(r, str) else getattr(r, "text", "") for r in runs_of(b.text))
        for b in sec.blocks
        if isinstance(b, Para)
    )
    assert "only the primary analysis of the primary endpoint is read as a test" in text, text
    assert "other endpoints (1 comparison) are reported without adjustment" in text, text


def test_three_doses_form_a_primary_family_of_three(tmp_path):
    """Three doses vs placebo on one primary endpoint: 3 primary comparisons of 1 primary
    endpoint, each named with its comparison; the secondary responder endpoint's 3 are apart."""
    from trial_analysis.report.findings import findings

    rows = []
    for ep, p in (("sbp", (0.001, 0.02, 0.04)), ("sbp_resp", (0.03, 0.2, 0.5))):
        for arm, pv in zip(acc.DOSE4_ARMS[1:], p, strict=True):
            rows.append(
                dict(
                    endpoint=ep,
                    comparison=f"{arm} vs Placebo",
                    analysis="test",
                    method="Fisher exact" if ep == "sbp_resp" else "MMRM, Week 12",
                    estimate=float("nan"),
                    ci_low=float("nan"),
                    ci_high=float("nan"),
                    p_value=pv,
                    data_source="patient-level",
                )
            )
    frame = pd.DataFrame(rows)
    f = findings(frame, roles={"sbp": "primary", "sbp_resp": "secondary"})[-1]
    # Holm on 0.001, 0.02, 0.04: 0.003, 0.04, 0.04 -> all three significant
    assert "3 primary comparisons (1 primary endpoint)" in f.text, f.text
    assert "Sbp (Drug 20 mg vs Placebo)" in f.text, f.text
    assert "1 non-primary endpoint (secondary; 3 comparisons)" in f.text, f.text
    assert f.verdict == "survives"


# ------------------------------------------------------------------ 2. zero cells in ratios
@pytest.mark.parametrize(
    "case", ZERO_CELL, ids=lambda c: f"{c['x1']}/{c['n1']}-{c['x2']}/{c['n2']}"
)
def test_zero_cell_ratios_estimate_and_interval_agree_with_r(case):
    """With a zero cell the Katz RR and Woolf OR take estimate AND interval from the table
    with 0.5 added to each cell, and say so in the method name (was: estimate inf or 0 with a
    finite interval from the corrected table). R: ``metafor::escalc(measure = "RR"/"OR", ...)``
    (Haldane-Anscombe, ``add = 1/2, to = "only0"``), ``exp(yi -/+ z sqrt(vi))``. The ML ratios
    stay 0 or inf with the limit on that side 0 or inf: ``fisher.test`` estimate and
    ``conf.int``, ``Epi::twoby2`` conditional MLE (tests/reference/binary_zero_cell.R)."""
    x1, n1, x2, n2 = case["x1"], case["n1"], case["x2"], case["n2"]
    res = ta.binary.compare(x1, n1, x2, n2, exact_unconditional=False)
    for key, ref in (("rr_katz", case["katz"]), ("or_woolf", case["woolf"])):
        row = res.row(key)
        got = (row.estimate, row.ci_low, row.ci_high)
        assert got == pytest.approx(ref, rel=1e-12), key
        assert row.ci_low <= row.estimate <= row.ci_high, key
    corrected = {
        "rr_katz": (x1 == 0) != (x2 == 0),
        "or_woolf": min(x1, n1 - x1, x2, n2 - x2) == 0,
    }
    for key, fixed in corrected.items():
        assert ("0.5 added to each cell" in res.row(key).method) == fixed, key
    cm = res.row("or_central")
    assert cm.estimate == case["fisher_or"] == case["twoby2_cmle"][0]
    # fisher.test solves its limit with uniroot's default tol (~1.2e-4 on psi; measured here
    # <= 3.6e-5 relative); tests/reference/binary.R checks the same limits tightly
    assert (cm.ci_low, cm.ci_high) == pytest.approx(case["fisher_ci"], rel=2e-4)
    # the estimate lies in (or at the open end of) every ratio interval, and a note says why
    t = res.to_frame()
    ratios = t.loc[t["quantity"].isin(["relative risk", "odds ratio"])]
    assert (
        (ratios["ci_low"] <= ratios["estimate"]) & (ratios["estimate"] <= ratios["ci_high"])
    ).all()
    assert any("unbounded" in n for n in res.notes)


def test_zero_cell_printed_text_names_the_correction(tmp_path):
    """The tiny trial (6/6 vs 0/6): the engine's Katz/Woolf rows print finite corrected ratios
    labelled as corrected; the ML rows print infinity with an infinite upper limit."""
    from trial_analysis.results import format_ci

    tiny = acc.write_tiny(tmp_path)
    t = ta.reanalyze(tiny, "resp", ipd=tiny / "ipd", seed=1).to_frame()
    katz = t.loc[t["method"].str.startswith("Katz")].iloc[0]
    assert katz["method"] == "Katz log, 0.5 added to each cell (a zero cell)"
    assert katz["estimate"] == pytest.approx(13.0)
    assert "∞" not in format_ci(katz["estimate"], katz["ci_low"], katz["ci_high"])
    koop = t.loc[t["method"] == "Koopman score"].iloc[0]
    text = format_ci(koop["estimate"], koop["ci_low"], koop["ci_high"])
    assert text.count("∞") == 2, text


def test_mantel_haenszel_ratio_with_an_arm_without_events():
    """Every stratum's control arm without events: the MH odds ratio is inf with no interval,
    as R ``mantelhaen.test(x, correct = FALSE)`` (Inf, NaN, NaN; the CMH p-value equal), and a
    note says why (was: ZeroDivisionError from the risk ratio's variance)."""
    case = MH_ZERO_ARM
    res = ta.binary.cmh_counts(case["x1"], case["n1"], case["x2"], case["n2"])
    row = res.row("or_mh")
    assert row.estimate == case["or_mh"] == math.inf
    assert math.isnan(row.ci_low) and math.isnan(row.ci_high)
    assert all(math.isnan(v) for v in case["or_ci"])
    assert res.row("rr_mh").estimate == math.inf and math.isnan(res.row("rr_mh").ci_low)
    assert res.row("test_cmh").p_value == pytest.approx(case["cmh_p"], rel=1e-9)
    assert any("unbounded" in n for n in res.notes)


def test_adjusted_ratio_of_an_arm_without_events_is_unbounded():
    """g-computation with a control arm without events (the logistic fit separates): the risk
    ratio and odds ratio are inf with no interval or p-value, and a note says why (was: RR
    1.07e13 with the "interval" 6.1e12 to 1.9e13 and p = 0); the risk difference stays."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence([acc.SEED, 7]))
    n = 30
    d = pd.DataFrame({"arm": ["Treated"] * n + ["Untreated"] * n, "age": rng.normal(50, 10, 2 * n)})
    d["y"] = np.r_[rng.random(n) < 0.3, np.zeros(n, bool)].astype(int)
    res = ta.binary.adjusted(
        d, "y", "arm", ["age"], effect=["rd", "rr", "or"], experimental="Treated"
    )
    assert res.extreme_fit
    t = res.to_frame().set_index("effect")
    for eff in ("rr", "or"):
        assert t.loc[eff, "estimate"] == math.inf, eff
        assert t.loc[eff, ["ci_low", "ci_high", "p_value"]].isna().all(), eff
    rd = t.loc["rd"]
    assert 0 < rd["estimate"] < 1 and rd["ci_low"] < rd["estimate"] < rd["ci_high"]
    assert any("unbounded" in n for n in res.notes)
