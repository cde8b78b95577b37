"""Synthetic cohort and generative model (trial_analysis.synthetic).

Every published aggregate is checked against ``data/zang2022/published.csv`` (read here, with
the number of decimals the publication shows), never against constants typed in this file.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from trial_analysis._paths import trial_dir
from trial_analysis.errors import ParameterError
from trial_analysis.ipd import validate_frames
from trial_analysis.results import SYNTHETIC_NOTE
from trial_analysis.synthetic import GenerativeModel, model_for

PUBLISHED = trial_dir("zang2022") / "published.csv"
ARMS = ("UC-MSC", "Placebo")


def _published_rows() -> list[dict]:
    """Rows of published.csv with the number of decimals of the value as printed."""
    with open(PUBLISHED, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        txt = r["value"].strip()
        r["decimals"] = len(txt.split(".")[1]) if "." in txt else 0
        r["value"] = float(txt)
    return rows


def _published(quantity: str, arm: str, week: str, statistic: str) -> tuple[float, int]:
    hits = [
        r
        for r in _published_rows()
        if (r["quantity"], r["arm"], r["week"], r["statistic"]) == (quantity, arm, week, statistic)
    ]
    assert len(hits) == 1, (quantity, arm, week, statistic)
    return hits[0]["value"], hits[0]["decimals"]


@pytest.fixture(scope="module")
def ipd():
    return ta.synthetic_ipd("zang2022", seed=20220503, exact=True)


def _analysed(ipd, paramcd: str, week: int) -> pd.DataFrame:
    m = ipd.measurements
    pp = ipd.population("PP")[["USUBJID", "ARM"]]
    sel = m[(m["PARAMCD"] == paramcd) & (m["AVISITN"] == week)]
    return sel.merge(pp, on="USUBJID")


# -- each published aggregate -------------------------------------------------------------
AGGREGATES = [
    ("hba1c", "HBA1C", week, stat, arm)
    for week in (0, 48)
    for stat in ("mean", "sd")
    for arm in ARMS
] + [("gir", "GIR", week, "mean", arm) for week in (0, 48) for arm in ARMS]


@pytest.mark.parametrize("quantity,paramcd,week,stat,arm", AGGREGATES)
def test_published_level_aggregates_reproduced(ipd, quantity, paramcd, week, stat, arm):
    target, dec = _published(quantity, arm, str(week), stat)
    v = _analysed(ipd, paramcd, week)
    v = v.loc[v["ARM"] == arm, "AVAL"]
    got = v.mean() if stat == "mean" else v.std(ddof=1)
    assert round(got, dec) == pytest.approx(target, abs=1e-9)


@pytest.mark.parametrize("arm", ARMS)
def test_mean_insulin_reduction_reproduced(ipd, arm):
    """Published "percentage of insulin reduction" read as the mean % reduction (-PCHG)."""
    target, dec = _published("insulin_reduction", arm, "48", "mean")
    v = _analysed(ipd, "INSDOSE", 48)
    pchg = v.loc[v["ARM"] == arm, "PCHG"]
    assert round(-pchg.mean(), dec) == pytest.approx(target, abs=1e-9)
    # The same from the stored doses, not only from the stored PCHG column.
    exact = 100 * (v["AVAL"] - v["BASE"]) / v["BASE"]
    assert round(-exact[v["ARM"] == arm].mean(), dec) == pytest.approx(target, abs=1e-9)


@pytest.mark.parametrize("arm", ARMS)
def test_composite_percentages_reproduced(ipd, arm):
    target, dec = _published("composite", arm, "48", "percent")
    ev = ipd.endpoint_values("composite", population="PP")
    v = ev.loc[ev["ARM"] == arm, "value"]
    assert round(100 * v.mean(), dec) == pytest.approx(target, abs=1e-9)


def test_composite_ci_and_denominators_reproduced(ipd):
    """Wald 95% CI of the difference from the cohort's counts equals the published CI.

    R: ``p1 <- 9/45; p2 <- 2/44; d <- p1 - p2; d + c(-1, 1) * qnorm(.975) *
    sqrt(p1*(1-p1)/45 + p2*(1-p2)/44)`` gives 0.02246, 0.28663 (computed from the cohort here).
    """
    ev = ipd.endpoint_values("composite", population="PP")
    g = ev.groupby("ARM", sort=False)["value"].agg(["sum", "count"])
    x1, n1 = g.loc["UC-MSC"]
    x2, n2 = g.loc["Placebo"]
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = 1.959963984540054
    lo, dec = _published("composite", "UC-MSC - Placebo", "48", "ci_low")
    hi, _ = _published("composite", "UC-MSC - Placebo", "48", "ci_high")
    assert round(100 * (p1 - p2 - z * se), dec) == pytest.approx(lo, abs=1e-9)
    assert round(100 * (p1 - p2 + z * se), dec) == pytest.approx(hi, abs=1e-9)
    # Randomised numbers as published; the unanalysed are withdrawals in the ITT set.
    s = ipd.subjects
    for arm in ARMS:
        n_rand, _ = _published("randomised", arm, "", "n")
        assert (s["ARM"] == arm).sum() == n_rand
    itt = ipd.endpoint_values("composite", population="ITT")
    assert len(itt) == len(s)
    assert itt["value"].isna().sum() == len(s) - (n1 + n2)


def test_every_responder_meets_both_components_and_no_other_does(ipd):
    """Composite derived by hand from the measurements, independent of endpoint_values."""
    h = _analysed(ipd, "HBA1C", 48).set_index("USUBJID")["AVAL"]
    p = _analysed(ipd, "INSDOSE", 48).set_index("USUBJID")
    pchg_exact = 100 * (p["AVAL"] - p["BASE"]) / p["BASE"]
    ev = ipd.endpoint_values("composite", population="PP").set_index("USUBJID")
    both = (h < 7.0) & (p["PCHG"] <= -50) & (pchg_exact <= -50)
    either_fails = (h >= 7.0) | ((p["PCHG"] > -50) & (pchg_exact > -50))
    resp = ev["value"] == 1
    assert both[resp.index[resp]].all()
    assert either_fails[resp.index[~resp]].all()


def test_withdrawals_are_documented_and_have_no_primary_data(ipd):
    s = ipd.subjects
    wd = s[s["PPROTFL"] == "N"]
    assert (wd["ITTFL"] == "Y").all() and (wd["DCSREAS"] != "").all()
    assert (s.loc[s["PPROTFL"] == "Y", "DCSREAS"] == "").all()
    m = ipd.measurements
    assert not m[m["USUBJID"].isin(wd["USUBJID"]) & (m["AVISITN"] == 48)].size
    # Withdrawals are exactly those the derived denominators leave out.
    model = model_for("zang2022")
    for arm in ARMS:
        n_rand = (s["ARM"] == arm).sum()
        assert (wd["ARM"] == arm).sum() == n_rand - model.analysed[arm][1]


def test_design_is_reproduced(ipd):
    d = ipd.design
    s = ipd.subjects
    uc = s[(s["ARM"] == "UC-MSC")]
    for i, week in enumerate(d.infusion_weeks, start=1):
        given = uc[f"INF{i}WK"].notna()
        assert (uc.loc[given, f"INF{i}WK"] == week).all()
        np.testing.assert_allclose(
            uc.loc[given, f"INF{i}DOSE"], d.dose.amount_per_kg * uc.loc[given, "WEIGHT"], rtol=1e-7
        )
    pl = s[s["ARM"] == "Placebo"]
    assert (pl[["INF1DOSE"]].fillna(0) == 0).all().all()
    assert set(ipd.measurements["AVISITN"]) <= set(d.visit_weeks)
    # Eligibility ranges of the registry hold at baseline.
    b = ipd.baseline()
    for c in d.eligibility:
        if c.variable in ("AGE", "BMI", "DURDIAB"):
            v = s[c.variable]
        elif c.variable in ("HBA1C", "CPEP"):
            v = b[f"BASE_{c.variable}"]
        elif c.variable == "INSKG":
            v = b["BASE_INSDOSE"] / s["WEIGHT"]
        else:
            continue
        assert v.min() >= (c.low if c.low is not None else -np.inf) - 0.05, c.id
        assert v.max() <= (c.high if c.high is not None else np.inf) + 0.05, c.id


def test_synthetic_flag_everywhere(ipd):
    assert ipd.synthetic
    assert (ipd.subjects["SYNTHFL"] == "Y").all()
    assert (ipd.measurements["SYNTHFL"] == "Y").all()
    assert SYNTHETIC_NOTE in ipd.notes
    assert "SYNTHETIC DATA" in str(ipd)
    assert ipd.endpoint_values("insulin").attrs["synthetic"] is True


def test_valid_in_the_documented_format(ipd):
    again = validate_frames(ipd.subjects, ipd.measurements, ipd.design)
    assert again.synthetic
    pd.testing.assert_frame_equal(again.measurements, ipd.measurements, check_dtype=False)


def test_shipped_files_equal_generator_output():
    """data/zang2022/synthetic/ is what scripts/make_synthetic.py writes for the shipped seed."""
    folder = trial_dir("zang2022") / "synthetic"
    model = model_for("zang2022")
    fresh = ta.synthetic_ipd("zang2022", seed=model.shipped_seed, exact=True)
    shipped = ta.load_ipd(folder)
    assert shipped.synthetic
    pd.testing.assert_frame_equal(
        shipped.subjects.reset_index(drop=True), fresh.subjects, check_dtype=False
    )
    pd.testing.assert_frame_equal(
        shipped.measurements.reset_index(drop=True), fresh.measurements, check_dtype=False
    )
    assert "20220503" in (folder / "README.md").read_text(encoding="utf-8")


def test_deterministic_per_seed_and_seeds_differ():
    a = ta.synthetic_ipd("zang2022", seed=7)
    b = ta.synthetic_ipd("zang2022", seed=7)
    c = ta.synthetic_ipd("zang2022", seed=8)
    pd.testing.assert_frame_equal(a.measurements, b.measurements)
    assert not a.measurements["AVAL"].equals(c.measurements["AVAL"])


@pytest.mark.parametrize("seed", [1, 2, 3, 11, 12345])
def test_exact_holds_for_other_seeds(seed):
    ipd = ta.synthetic_ipd("zang2022", seed=seed)
    ev = ipd.endpoint_values("composite", population="PP")
    g = ev.groupby("ARM", sort=False)["value"].agg(["sum", "count"]).astype(int)
    model = model_for("zang2022")
    assert [tuple(r) for r in g.to_numpy()] == [model.analysed[a] for a in ARMS]
    target, dec = _published("hba1c", "Placebo", "48", "sd")
    v = _analysed(ipd, "HBA1C", 48)
    assert round(v.loc[v["ARM"] == "Placebo", "AVAL"].std(ddof=1), dec) == target


def test_inexact_cohort_is_a_fresh_model_draw():
    ipd = ta.synthetic_ipd("zang2022", seed=3, exact=False)
    assert ipd.synthetic and len(ipd.subjects) == 91
    validate_frames(ipd.subjects, ipd.measurements, ipd.design)
    v = _analysed(ipd, "HBA1C", 48)
    means = v.groupby("ARM")["AVAL"].mean()
    target, _ = _published("hba1c", "UC-MSC", "48", "mean")
    assert means["UC-MSC"] != pytest.approx(target, abs=0.005)  # not forced
    assert abs(means["UC-MSC"] - target) < 0.7  # but from the fitted model (SD/sqrt(45) ~ 0.16)


def test_bad_seed():
    with pytest.raises(ParameterError, match="`seed` must be an integer"):
        ta.synthetic_ipd("zang2022", seed="x")


# -- the generative model -----------------------------------------------------------------
def test_model_parameters_and_provenance():
    m = model_for("zang2022")
    assert isinstance(m, GenerativeModel)
    target, _ = _published("hba1c", "UC-MSC", "0", "mean")
    assert m.hba1c_base_mean["UC-MSC"] == target
    target, _ = _published("insulin_reduction", "Placebo", "48", "mean")
    assert m.insulin_pchg_mean["Placebo"] == -target
    assert m.provenance["hba1c_base_mean"].label == "published"
    assert m.provenance["analysed"].label == "derived"
    assert m.provenance["insulin_pchg_sd"].label == "assumed"
    assert m.provenance["insulin_pchg_sd"].reason
    tab = m.to_frame()
    assert {"parameter", "arm", "value", "provenance"} <= set(tab.columns)
    assert not tab.loc[tab["provenance"] == "assumed", "source"].eq("").any()


def test_draw_endpoints_reproduces_published_rates_in_expectation():
    """Model-level check: the calibrated model's response rates equal the derived counts'
    rates (9/45, 2/44) and its means the published ones, within Monte Carlo error."""
    m = model_for("zang2022")
    d = m.draw_endpoints({"UC-MSC": 45, "Placebo": 44}, n_trials=4000, rng=2)
    for arm in ARMS:
        x = d[arm]
        assert x["RESPONDER"].shape == (4000, 45 if arm == "UC-MSC" else 44)
        assert set(np.unique(x["RESPONDER"])) <= {0.0, 1.0}
        k, n = m.analysed[arm]
        assert x["RESPONDER"].mean() == pytest.approx(k / n, abs=0.006)
        assert x["HBA1C_48"].mean() == pytest.approx(m.hba1c_48_mean[arm], abs=0.01)
        assert x["HBA1C_BASE"].mean() == pytest.approx(m.hba1c_base_mean[arm], abs=0.01)
        # Clipping at -100 % (insulin stopped) lifts the mean a little.
        assert x["INSDOSE_PCHG_48"].mean() == pytest.approx(m.insulin_pchg_mean[arm], abs=0.6)
        # RESPONDER follows the design's composite definition.
        both = (x["HBA1C_48"] < 7.0) & (x["INSDOSE_PCHG_48"] <= -50)
        np.testing.assert_array_equal(x["RESPONDER"], both.astype(float))
    # HbA1c change and insulin change are correlated (positively: less HbA1c, less insulin).
    u = d["UC-MSC"]
    r = np.corrcoef((u["HBA1C_48"] - u["HBA1C_BASE"]).ravel(), u["INSDOSE_PCHG_48"].ravel())[0, 1]
    assert r > 0.2


def test_draw_endpoints_dropout_and_reproducibility():
    m = model_for("zang2022")
    a = m.draw_endpoints({"UC-MSC": 30}, 50, rng=np.random.default_rng(1), dropout=0.2)
    b = m.draw_endpoints({"UC-MSC": 30}, 50, rng=np.random.default_rng(1), dropout=0.2)
    np.testing.assert_array_equal(a["UC-MSC"]["HBA1C_48"], b["UC-MSC"]["HBA1C_48"])
    miss = np.isnan(a["UC-MSC"]["RESPONDER"]).mean()
    assert 0.1 < miss < 0.3
    assert set(a) == {"UC-MSC"}
    with pytest.raises(ParameterError, match="n_by_arm"):
        m.draw_endpoints({"Nope": 3}, 10, rng=1)
    with pytest.raises(ParameterError, match="dropout"):
        m.draw_endpoints({"UC-MSC": 3}, 10, rng=1, dropout=1.5)
    with pytest.raises(ParameterError, match="n_trials"):
        m.draw_endpoints({"UC-MSC": 3}, 0, rng=1)


def test_overrides_recalibrate_and_with_params_replaces():
    base = model_for("zang2022")
    m = model_for("zang2022", insulin_pchg_sd=28.0)
    assert m.insulin_pchg_sd == {"UC-MSC": 28.0, "Placebo": 28.0}
    assert base.insulin_pchg_sd["UC-MSC"] > 28.0
    assert m.provenance["insulin_pchg_sd"].label == "user"
    # A narrower insulin distribution needs a stronger correlation for the same response rate.
    assert m.rho_hba1c_insulin["UC-MSC"] > base.rho_hba1c_insulin["UC-MSC"]
    d = m.draw_endpoints({"UC-MSC": 45}, 4000, rng=5)
    assert d["UC-MSC"]["RESPONDER"].mean() == pytest.approx(0.2, abs=0.006)
    w = base.with_params(hba1c_48_mean={"UC-MSC": 7.0})
    assert w.hba1c_48_mean == {"UC-MSC": 7.0, "Placebo": base.hba1c_48_mean["Placebo"]}
    assert w.rho_hba1c_insulin == base.rho_hba1c_insulin
    with pytest.raises(ParameterError, match="a parameter of the generative model"):
        base.with_params(no_such=1)
    with pytest.raises(ParameterError, match="a mapping over arms"):
        base.with_params(hba1c_48_mean={"Other": 7.0})


def test_sample_ipd_other_sizes_is_valid():
    m = model_for("zang2022")
    ipd = m.sample_ipd({"UC-MSC": 60, "Placebo": 30}, rng=4, dropout=0.25)
    assert ipd.synthetic
    assert [a.n_randomised for a in ipd.design.arms] == [60, 30]
    validate_frames(ipd.subjects, ipd.measurements, ipd.design)
    s = ipd.subjects
    assert 0 < (s["PPROTFL"] == "N").sum() < 45
    # Within-patient correlation over visits: HbA1c at weeks 24 and 36 correlate strongly.
    w = ipd.wide("HBA1C")
    assert w[24].corr(w[36]) > 0.6


def test_model_file_assumed_values_have_reasons():
    import tomllib

    spec = tomllib.loads((trial_dir("zang2022") / "synthetic_model.toml").read_text("utf-8"))
    assert spec["assumed"]
    for name, t in spec["assumed"].items():
        assert t.get("reason"), name
    assert Path(PUBLISHED).exists()


def test_unreachable_response_rate_and_unknown_trial_are_explained():
    from trial_analysis.errors import AnalysisError, TrialAnalysisError

    with pytest.raises(
        AnalysisError,
        match=r"arm 'UC-MSC': no correlation in \[-0\.98, 0\.98\] gives the published "
        r"response rate 20\.00%",
    ):
        model_for("zang2022", insulin_pchg_sd=5.0)
    with pytest.raises(TrialAnalysisError, match="Unknown trial 'nope'"):
        ta.synthetic_ipd("nope")


def test_default_seed_is_the_shipped_seed():
    a = ta.synthetic_ipd("zang2022")
    assert a.info["seed"] == model_for("zang2022").shipped_seed
    assert a.source == f"synthetic:zang2022 seed={a.info['seed']} exact=True"


@pytest.mark.parametrize("exact", [True, False])
def test_every_attended_visit_has_hba1c_insulin_and_fpg(exact):
    ipd = ta.synthetic_ipd("zang2022", seed=9, exact=exact)
    m = ipd.measurements
    visits = {
        code: m[m["PARAMCD"] == code].groupby("USUBJID")["AVISITN"].apply(frozenset)
        for code in ("HBA1C", "INSDOSE", "FPG")
    }
    assert visits["HBA1C"].equals(visits["INSDOSE"])
    assert visits["HBA1C"].equals(visits["FPG"])
    weeks = ipd.design.visit_weeks
    for vs in visits["HBA1C"]:  # visits are a prefix of the schedule (withdrawal ends them)
        assert sorted(vs) == list(weeks[: len(vs)])


# -- published inferences -------------------------------------------------------------------
def _between_p_rows() -> list[dict]:
    """The between-arm p-values of published.csv (read here, not through the package)."""
    return [
        r
        for r in _published_rows()
        if r["statistic"] == "p_value" and r["arm"] == f"{ARMS[0]} vs {ARMS[1]}"
    ]


def _holds(p: float, relation: str, value: float) -> bool:
    if relation == "<":
        return p < value
    if relation == ">":
        return p > value
    assert relation == "="
    return (p < 0.05) == (value < 0.05)  # an exact p is honoured by the same conclusion


def test_published_inferences_are_the_between_arm_p_rows():
    from trial_analysis.synthetic import published_inferences

    design = ta.load_design("zang2022")
    got = published_inferences(design, ta.published.load_published("zang2022"))
    want = _between_p_rows()
    assert len(want) >= 4
    assert sorted((i.quantity, i.relation, i.value) for i in got) == sorted(
        (r["quantity"], r["relation"], r["value"]) for r in want
    )
    by_quantity = {i.quantity: i for i in got}
    for ep in design.endpoints:  # each is attached to the endpoint publishing that quantity
        for role in ("percent", "change", "level"):
            q = ep.published_quantity(role)
            if q in by_quantity:
                assert by_quantity[q].endpoint == ep.id
    i = by_quantity["hba1c_change"]  # p = 0.0081: honoured by any p < 0.05
    assert i.holds(0.03) and not i.holds(0.06)
    i = by_quantity["gir_change"]  # p < 0.01
    assert i.holds(0.009) and not i.holds(0.01) and not i.holds(math.nan)


@pytest.mark.parametrize("row", _between_p_rows(), ids=lambda r: r["quantity"])
def test_shipped_cohort_prespecified_analysis_honours_published_p(row):
    """For every endpoint with a published between-arm p-value, the pre-specified analysis of
    the shipped synthetic cohort (data/zang2022/synthetic/; the endpoint's design ``method``, as the reanalysis engine
    and the findings page pick it) agrees with it, and the findings page finds no
    contradiction between the synthetic cohort and the published numbers."""
    import warnings

    from trial_analysis.report.findings import findings

    design = ta.load_design("zang2022")
    ep = next(
        e
        for e in design.endpoints
        if row["quantity"] in {e.published_quantity(r) for r in ("percent", "change", "level")}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shipped = ta.load_ipd(trial_dir("zang2022") / "synthetic", design=design)
        frame = ta.reanalyze("zang2022", ep.id, ipd=shipped).to_frame()
    syn = frame[(frame["data_source"] == "synthetic") & frame["p_value"].notna()]
    method = ep.method or ("fisher" if ep.type == "binary" else "ancova")
    pre = syn[syn["method"].str.lower().str.contains(method)]
    assert len(pre), (ep.id, method)
    p = float(pre["p_value"].iloc[0])
    assert _holds(p, row["relation"], row["value"]), (ep.id, pre["method"].iloc[0], p)
    verdicts = findings(frame, primary={ep.id: method})
    assert not [f.text for f in verdicts if f.verdict == "contradict"]


def test_exact_cohort_fits_the_model_insulin_sd(ipd):
    """The % insulin change of the analysed patients has the model's SD in each arm (the SDs
    the published between-arm p-value was checked against)."""
    model = model_for("zang2022")
    v = _analysed(ipd, "INSDOSE", 48)
    sd = v.groupby("ARM")["PCHG"].std(ddof=1)
    for arm in ARMS:
        assert sd[arm] == pytest.approx(model.insulin_pchg_sd[arm], abs=0.005)
    chk = ipd.info["inferences"]
    assert set(chk["endpoint"]) == {"composite", "insulin", "hba1c", "gir"}
    assert chk["holds"].all()
    assert "published p < 0.05" in model.provenance["insulin_pchg_sd"].reason


def test_assumed_sd_contradicting_a_published_p_is_refused(tmp_path):
    """A synthetic_model.toml whose assumed SDs make the model's own t-test contradict the
    published p < 0.05 (a common SD of 35: p = 0.105) is refused, naming the key."""
    import shutil

    from trial_analysis.errors import DesignError

    folder = tmp_path / "trial"
    shutil.copytree(trial_dir("zang2022"), folder)
    f = folder / "synthetic_model.toml"
    text = f.read_text("utf-8")
    start = text.index("[assumed.insulin_pchg_sd]\nvalue = ")
    end = text.index("\n", start + len("[assumed.insulin_pchg_sd]\n"))
    f.write_text(text[:start] + "[assumed.insulin_pchg_sd]\nvalue = 35.0" + text[end:], "utf-8")
    with pytest.raises(DesignError, match=r"assumed\.insulin_pchg_sd\.value.*p < 0\.05") as exc:
        model_for(str(folder))
    assert "p = 0.105" in str(exc.value)


def test_exact_cohort_contradicting_a_published_p_is_never_returned(monkeypatch):
    """With SDs of 40 (user overrides, not checked by model_for) every exact draw's ANCOVA
    contradicts the published p < 0.05: synthetic_ipd refuses instead of returning one."""
    from trial_analysis import synthetic
    from trial_analysis.errors import AnalysisError

    monkeypatch.setattr(synthetic, "_MAX_ATTEMPTS", 2)
    with pytest.raises(AnalysisError, match=r"no exact synthetic cohort .*p < 0\.05.*'insulin'"):
        ta.synthetic_ipd("zang2022", seed=1, insulin_pchg_sd=40.0)
    draw = ta.synthetic_ipd("zang2022", seed=1, exact=False, insulin_pchg_sd=40.0)
    assert "holds" in draw.info["inferences"]  # model draws are reported, not conditioned
