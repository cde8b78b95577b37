"""The claims audit: one row per claim, verdicts computed from the data by the rules of
docs/claims-verdicts.md (changing the data changes the verdicts)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from trial_analysis.claims import COLUMNS, VERDICTS, audit
from trial_analysis.cli import main
from trial_analysis.errors import StatisticalWarning
from trial_analysis.evidence import load_claims, load_evidence
from trial_analysis.meta.evidence import hba1c_effects

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "evidence"
pytestmark = pytest.mark.filterwarnings(
    "ignore::trial_analysis.errors.ApproximationWarning",
    "ignore::trial_analysis.errors.StatisticalWarning",
)


@pytest.fixture(scope="module")
def result():
    return audit(load_claims(), load_evidence())


@pytest.fixture(scope="module")
def tab(result):
    return result.to_frame().set_index("id")


def test_one_row_per_claim(result):
    tab = result.to_frame()
    assert list(tab.columns) == COLUMNS
    claims = pd.read_csv(SHIPPED / "claims.csv")
    assert list(tab.id) == list(claims.id) == [f"C{i}" for i in range(1, 11)]
    assert set(tab.verdict) <= set(VERDICTS)
    assert (tab.claim == claims.claim).all()
    assert tab.reason.str.len().min() > 40


def test_c1_is_the_pooled_between_arm_difference(tab):
    """C1's numbers are rma(REML) of the derived between-arm HbA1c differences at 24-52 wk."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ta.meta.rma(hba1c_effects(load_evidence(), weeks=(24, 52)), method="REML")
    c1 = tab.loc["C1"]
    np.testing.assert_allclose(
        [c1.estimate, c1.ci_low, c1.ci_high, c1.pi_low, c1.pi_high],
        [ref.estimate, ref.ci_low, ref.ci_high, ref.pi_low, ref.pi_high],
    )
    # the CI excludes 0 and overlaps -1.5..-0.5 without lying inside it -> partly
    assert c1.ci_high < 0 and c1.ci_low > -1.5 and c1.ci_high > -0.5
    assert c1.verdict == "partly supported"
    assert "-0.63" in c1.reason and "-0.51" in c1.reason  # placebo arms' own falls
    assert "Zang 2022" in c1.evidence_used and "Zang 2023" not in c1.evidence_used


def test_c1_warns_about_two_studies():
    with pytest.warns(StatisticalWarning, match="only 2 studies"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ta.errors.ApproximationWarning)
        audit(load_claims(), load_evidence())


def test_fixed_verdicts_from_the_shipped_data(tab):
    assert tab.loc["C2", "verdict"] == "not supported"
    assert (
        "Wu 2014" in tab.loc["C2", "reason"]
        and "Phase III (confirmatory) trials: 0" in tab.loc["C2", "reason"]
    )
    assert tab.loc["C3", "verdict"] == "not testable with public data"
    assert tab.loc["C3", "estimate"] == 3  # Zang 2022, Skyler 2015, Bhansali 2014
    assert tab.loc["C5", "verdict"] == "partly supported" and "GIR" in tab.loc["C5", "reason"]
    assert tab.loc["C6", "verdict"] == "partly supported"
    assert tab.loc["C7", "verdict"] == "not supported"
    assert "Packham 2016" in tab.loc["C7", "reason"]
    assert tab.loc["C8", "estimate"] == 52 and tab.loc["C8", "verdict"] == "partly supported"
    assert tab.loc["C9", "verdict"] == "not supported"
    assert tab.loc["C10", "verdict"] == "partly supported"


@pytest.fixture()
def copy(tmp_path):
    dst = tmp_path / "evidence"
    shutil.copytree(SHIPPED, dst)
    return dst


def test_c2_follows_the_data(copy):
    """Add a (fictitious) Fuzhou phase III UC-MSC trial from 2018: C2 becomes supported."""
    t = pd.read_csv(copy / "trials.csv", dtype=str, keep_default_na=False)
    row = t[t.trial_id == "zang2022"].copy()
    row.trial_id, row.short, row.year, row.centre, row.phase = (
        "test",
        "Test 2018",
        "2018",
        "Fuzhou General Hospital",
        "III",
    )
    row.overlap_group, row.include_default = "", "Y"
    pd.concat([t, row]).to_csv(copy / "trials.csv", index=False)
    res = audit(load_claims(), load_evidence(copy)).to_frame().set_index("id")
    assert res.loc["C2", "verdict"] == "supported"


def test_c7_follows_the_data(copy):
    """No marker rows at all: C7 says no controlled trial measures them."""
    o = pd.read_csv(copy / "outcomes.csv", dtype=str, keep_default_na=False)
    o = o[~o.outcome.isin(["crp", "il6", "tnfa"])]
    o.to_csv(copy / "outcomes.csv", index=False)
    res = audit(load_claims(), load_evidence(copy)).to_frame().set_index("id")
    assert "measures CRP" in res.loc["C7", "reason"]
    assert res.loc["C7", "verdict"] == "not supported"


def test_c1_without_usable_trials(copy):
    o = pd.read_csv(copy / "outcomes.csv", dtype=str, keep_default_na=False)
    o = o[
        ~o.trial_id.isin(["zang2022", "bhansali2014"]) | ~o.outcome.isin(["hba1c", "hba1c_change"])
    ]
    o.to_csv(copy / "outcomes.csv", index=False)
    res = audit(load_claims(), load_evidence(copy)).to_frame().set_index("id")
    assert res.loc["C1", "verdict"] == "not testable with public data"


def test_overlap_choice_changes_c1():
    res = audit(load_claims(), load_evidence(), overlap="zang2023").to_frame().set_index("id")
    assert "Zang 2023" in res.loc["C1", "reason"]  # not pooled (no SE), named


def test_json_and_text(result):
    d = result.to_dict()
    assert len(d["table"]) == 10 and "placebo_changes" in d["details"]
    json.dumps(d)
    assert "Clinic claims" in str(result)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_claims_json(capsys):
    assert main(["claims", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out["table"]] == [f"C{i}" for i in range(1, 11)]


def test_cli_claims_text(capsys):
    assert main(["claims"]) == 0
    out = capsys.readouterr().out
    assert "C7:" in out and "Verdict: NOT SUPPORTED" in out


def test_cli_meta_evidence(capsys, tmp_path):
    pdf = tmp_path / "forest.pdf"
    funnel = tmp_path / "funnel.png"
    assert (
        main(
            [
                "meta",
                str(SHIPPED),
                "--outcome",
                "hba1c",
                "--method",
                "REML",
                "--hksj",
                "--plot",
                str(pdf),
                "--funnel",
                str(funnel),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["table"][0]["test"] == "knha" and out["table"][0]["k"] == 2
    assert len(out["rho_sensitivity"]) == 5
    assert any("only 2 studies" in w for w in out["warnings"])
    assert pdf.read_bytes()[:4] == b"%PDF" and funnel.read_bytes()[:4] == b"\x89PNG"


def test_cli_meta_csv_with_diagnostics(capsys, tmp_path):
    df = pd.read_csv(Path(__file__).parent / "fixtures" / "meta_data" / "hackshaw1998.csv")
    p = tmp_path / "s.csv"
    df.rename(columns={"author": "study"})[["study", "year", "yi", "vi"]].to_csv(p, index=False)
    assert main(["meta", str(p), "--method", "DL", "--diagnostics"]) == 0
    out = capsys.readouterr().out
    assert "k = 37" in out and "Leave1out" in out and "Egger" in out


def test_cli_meta_errors(capsys, tmp_path):
    assert main(["meta", str(SHIPPED)]) == 2
    assert "--outcome" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["meta", str(bad)]) == 2
    assert "yi and vi" in capsys.readouterr().err
    assert (
        main(["meta", str(SHIPPED), "--outcome", "hba1c", "--plot", str(tmp_path / "x.doc")]) == 2
    )
    assert ".pdf, .png or .svg" in capsys.readouterr().err


def test_audit_returns_a_dataframe(result):
    df = audit(load_claims(), load_evidence()).to_frame()
    assert isinstance(df, pd.DataFrame)
    pd.testing.assert_frame_equal(df, result.to_frame())
    assert any("docs/claims-verdicts.md" in n for n in result.notes)
