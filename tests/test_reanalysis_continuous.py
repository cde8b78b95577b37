"""Tests of the engine's continuous endpoints (insulin, HbA1c) and the reanalyze CLI.

The statistics themselves are checked against R in test_continuous.py and
test_consistency_summaries.py; here we check that the right numbers reach the right table,
that patient-level data flow through ``IPD.endpoint_values``, and that bad input is reported.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from tests._engine import reanalyze_hba1c, reanalyze_insulin
from trial_analysis import continuous as cont
from trial_analysis.cli import main
from trial_analysis.errors import ParameterError, StatisticalWarning
from trial_analysis.ipd import validate_frames
from trial_analysis.results import SYNTHETIC_NOTE

PUB = ta.load_published("zang2022")
VISITS = (0, 4, 8, 12, 24, 36, 48)


def _cohort(n=(45, 46), seed=1, drop_week48=(), empty_arm48=None, synthetic=True):
    """A small cohort in the documented IPD format (built here, independent of synthetic.py)."""
    rng = np.random.default_rng(seed)
    subj, meas = [], []
    for arm, k, eff in (("UC-MSC", n[0], 1.0), ("Placebo", n[1], 0.0)):
        for i in range(k):
            sid = f"{arm[:2]}{i:03d}"
            subj.append(
                dict(
                    USUBJID=sid,
                    ARM=arm,
                    AGE=50,
                    SEX="M",
                    WEIGHT=75.0,
                    BMI=27.0,
                    DURDIAB=8.0,
                    RANDFL="Y",
                    SAFFL="Y",
                    ITTFL="Y",
                    PPROTFL="Y",
                    DCSREAS="",
                    INF1WK=0,
                    INF2WK=4,
                    INF3WK=8,
                    INF1DOSE=75e6,
                    INF2DOSE=75e6,
                    INF3DOSE=75e6,
                    SYNTHFL="Y" if synthetic else "N",
                )
            )
            h0 = round(rng.normal(9.0, 1.1), 1)
            d0 = round(rng.normal(50, 8), 0)
            for w in VISITS:
                if w == 48 and (sid in drop_week48 or arm == empty_arm48):
                    continue
                frac = w / 48
                h = round(h0 - frac * (0.6 + 0.8 * eff) + rng.normal(0, 0.5) * (w > 0), 1)
                d = round(d0 * (1 - frac * (0.15 + 0.12 * eff)) + rng.normal(0, 4) * (w > 0), 0)
                for code, v, b in (("HBA1C", h, h0), ("INSDOSE", d, d0)):
                    meas.append(
                        dict(
                            USUBJID=sid,
                            PARAMCD=code,
                            AVISITN=w,
                            AVAL=v,
                            BASE=b,
                            CHG=round(v - b, 4),
                            PCHG=round(100 * (v - b) / b, 4),
                        )
                    )
    return validate_frames(pd.DataFrame(subj), pd.DataFrame(meas), "zang2022")


@pytest.fixture(scope="module")
def ipd():
    return _cohort()


# ------------------------------------------------------------------ published summaries only
def test_hba1c_from_published_summaries():
    r = reanalyze_hba1c("zang2022")
    t = r.sections["summary_tests"].set_index("analysis")
    v = [
        ta.published_value(PUB, "hba1c", a, 48, s)
        for a in ("UC-MSC", "Placebo")
        for s in ("mean", "sd")
    ]
    ref = cont.ttest_from_summary(v[0], v[1], 45, v[2], v[3], 44)
    row = t.loc["Student t, week-48 value"]
    assert row["estimate"] == pytest.approx(ref.estimate)
    assert row["p_value"] == pytest.approx(ref.p_value) and (row["n1"], row["n2"]) == (45, 44)
    assert set(r.sections) == {"published", "summary_tests", "rho"}
    assert r.sections["rho"].set_index("reading").loc["ancova", "rho_ranges"] == "none"
    assert {f.id for f in r.findings} >= {
        "hba1c_change_arithmetic_UC-MSC",
        "hba1c_between_p_rho_means",
    }
    assert all(f.id.startswith("hba1c") for f in r.findings)
    assert not r.synthetic and SYNTHETIC_NOTE not in r.notes
    assert "rho_curve" in r.figures()
    # no NaN in any estimate table
    f = r.to_frame()
    assert not f[["estimate", "ci_low", "ci_high", "p_value"]].isna().any().any()


def test_insulin_from_published_summaries_and_denominators():
    r = reanalyze_insulin("zang2022", n1=45, n2=46)
    t = r.sections["summary_tests"]
    assert (t["n2"] == 46).all()
    assert set(r.figures()) == {"sd_curve"}
    sd_max = r.sections["sd_sensitivity"]["value"].iloc[0]
    m1 = ta.published_value(PUB, "insulin_reduction", "UC-MSC", 48, "mean")
    m2 = ta.published_value(PUB, "insulin_reduction", "Placebo", 48, "mean")
    # at the largest SD the Student p is exactly 0.05
    assert cont.ttest_from_summary(m1, sd_max, 45, m2, sd_max, 46).p_value == pytest.approx(0.05)
    # the p-value rises with the assumed SD and crosses 0.05 where the sensitivity says
    st = t[t["analysis"].str.startswith("Student")]
    sds = st["analysis"].str.extract(r"SD (\d+)")[0].astype(float)
    assert ((st["p_value"] < 0.05).to_numpy() == (sds < sd_max).to_numpy()).all()
    assert all(f.id.startswith("insulin") for f in r.findings)


def test_bad_arguments():
    with pytest.raises(
        ParameterError, match=r"`ipd` must be None, False, .synthetic., a path or an IPD"
    ):
        reanalyze_hba1c("zang2022", ipd=pd.DataFrame())
    with pytest.raises(ParameterError, match="`seed` must be an int"):
        reanalyze_insulin("zang2022", seed="x")


# ------------------------------------------------------------------ patient-level data
def test_hba1c_with_ipd_matches_direct_calls(ipd):
    r = reanalyze_hba1c("zang2022", ipd=ipd, seed=5)
    t = r.sections["ipd"].set_index("analysis")
    ev = ipd.endpoint_values("hba1c")
    ev = ev.assign(week48=ev["value"] + ev["BASE_HBA1C"])
    anc = cont.ancova(ev, "week48", "BASE_HBA1C", "ARM", ("UC-MSC", "Placebo")).to_frame()
    lab = r.measure_label  # "change in glycated haemoglobin (HbA1c) (%)"
    # CHG ~ arm + BASE and week-48 value ~ arm + BASE have the same arm coefficient and SE
    hc3 = t.loc[f"ANCOVA {lab} ~ arm + baseline, HC3 SE"]
    assert hc3["estimate"] == pytest.approx(anc["estimate"].iloc[1])
    assert hc3["se"] == pytest.approx(anc.set_index("se_type").loc["HC3", "se"])
    x = ev.loc[ev.ARM == "UC-MSC", "value"].to_numpy()
    y = ev.loc[ev.ARM == "Placebo", "value"].to_numpy()
    assert t.loc[f"Welch t, {lab}", "p_value"] == pytest.approx(cont.welch(x, y).p_value)
    hl = cont.mann_whitney(x, y)
    assert t.loc[f"Mann-Whitney / Hodges-Lehmann shift, {lab}", "estimate"] == pytest.approx(
        hl.estimate
    )
    bs = cont.bootstrap_bca(x, y, n_resamples=4999, seed=5)
    row = t.loc[f"Bootstrap BCa, mean difference, {lab}"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((bs.ci_low, bs.ci_high))
    # seeded: the same call gives the same table
    again = reanalyze_hba1c("zang2022", ipd=ipd, seed=5).sections["ipd"]
    pd.testing.assert_frame_equal(r.sections["ipd"], again)
    assert r.synthetic and SYNTHETIC_NOTE in r.notes
    mm = r.sections["mmrm"]
    assert list(mm["analysis"].str.extract(r"(?i)week (\d+)")[0].astype(int)) == list(VISITS[1:])
    # complete data: MMRM (unstructured, baseline x visit) at the last visit equals the ANCOVA
    assert mm["estimate"].iloc[-1] == pytest.approx(anc["estimate"].iloc[0], rel=1e-6)
    # the simulated effect is a larger fall in UC-MSC: negative estimate at week 48
    assert mm["estimate"].iloc[-1] < 0 and t.loc[f"Welch t, {lab}", "estimate"] < 0


def test_insulin_with_ipd_sign_and_sections(ipd):
    r = reanalyze_insulin("zang2022", ipd=ipd)
    t = r.sections["ipd"].set_index("analysis")
    ev = ipd.endpoint_values("insulin")
    x = -ev.loc[ev.ARM == "UC-MSC", "value"]
    y = -ev.loc[ev.ARM == "Placebo", "value"]
    lab = r.measure_label  # "% reduction in total daily insulin dose"
    assert lab.startswith("% reduction in")
    assert t.loc[f"Welch t, {lab}", "estimate"] == pytest.approx(x.mean() - y.mean())
    assert t.loc[f"Welch t, {lab}", "estimate"] > 0  # larger reduction with UC-MSC
    assert any(a.startswith("ANCOVA week-48 value") for a in t.index)
    assert "mmrm" in r.sections
    d = r.to_dict()
    assert set(d["sections"]) == set(r.sections) and d["findings"][0]["id"].startswith("insulin")
    json.dumps(d)  # JSON-ready
    assert "Multiple-imputation section omitted" in " ".join(r.notes) or "missing" in " ".join(
        r.notes
    )


def test_missing_week48_and_empty_arm_are_reported_not_nan():
    drops = ("UC000", "UC001", "Pl000")
    r = None
    with pytest.warns(StatisticalWarning, match="3 patient"):
        r = reanalyze_hba1c("zang2022", ipd=_cohort(drop_week48=drops))
    t = r.sections["ipd"]
    assert t.loc[t.analysis.str.startswith("ANCOVA"), ["n1", "n2"]].iloc[0].tolist() == [43, 45]
    empty = _cohort(empty_arm48="Placebo")
    with pytest.warns(StatisticalWarning, match="no patients|MMRM omitted"):
        r = reanalyze_hba1c("zang2022", ipd=empty)
    assert len(r.sections["ipd"]) == 0 and "mmrm" not in r.sections
    assert any("omitted" in n and "Placebo" in n for n in r.notes)
    assert any(n.startswith("MMRM omitted") for n in r.notes)
    f = r.to_frame()
    assert not f[["estimate", "ci_low", "ci_high"]].isna().any().any()


def test_arm_with_one_patient_at_week48():
    """ANCOVA/Welch/MW/BCa need >= 2 per arm: each is omitted with a note, never a NaN row."""
    drops = tuple(f"Pl{i:03d}" for i in range(1, 46))  # only Pl000 keeps week 48
    with pytest.warns(StatisticalWarning):
        r = reanalyze_hba1c("zang2022", ipd=_cohort(drop_week48=drops))
    assert len(r.sections["ipd"]) == 0
    assert any("only 1 patient" in n for n in r.notes)
    assert any("at least 2" in n for n in r.notes)


# ------------------------------------------------------------------ CLI
def test_cli_reanalyze_json(capsys):
    assert main(["reanalyze", "zang2022", "--endpoint", "hba1c", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["endpoint"] == "hba1c" and "rho" in d["sections"]
    assert main(["reanalyze", "zang2022", "--endpoint", "insulin"]) == 0
    out = capsys.readouterr().out
    assert "Sd sensitivity" in out and "insulin_p_sd_requirement" in out


def test_cli_reanalyze_with_ipd_path(tmp_path, capsys, ipd):
    from trial_analysis.ipd import save_ipd

    path = save_ipd(ipd, tmp_path / "cohort")
    assert main(["reanalyze", "zang2022", "--endpoint", "hba1c", "--ipd", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert "ipd" in d["sections"] and SYNTHETIC_NOTE in d["notes"]
    # a blank cell only where the method has no such quantity, and the row says so
    for row in d["sections"]["ipd"]:
        for k, v in row.items():
            assert not (isinstance(v, float) and math.isnan(v))
            if v is None:
                why = {"se": "no SE", "p_value": "no p-value"}[k]
                assert why in row["detail"], (k, row)
