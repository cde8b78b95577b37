"""The synthetic generator on trials it was not written for: a design.toml and a published.csv
written here (no synthetic_model.toml) give a synthetic cohort through ``ta.synthetic_ipd``
that passes the loader's checks, reproduces the published aggregates it claims to reproduce,
and never contradicts a published p-value; ``ta.reanalyze(folder, ipd="synthetic")`` runs on
it. Every expected number is read from the published rows written here, and the p-values are
recomputed with scipy and statsmodels, independently of the package.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import trial_analysis as ta
from trial_analysis.cli import main
from trial_analysis.errors import DesignError
from trial_analysis.ipd import validate_frames
from trial_analysis.synthetic import model_for

HEAD = """
format_version = 1
[trial]
id = "{id}"
title = "A published-only trial of a blood-pressure drug ({n} arms)"
short_title = "BP drug vs placebo"
citation = "Test trial written by tests/test_synthetic_general.py"
{arms}
[[doses]]
amount = 10
basis = "fixed"
unit = "mg"
per = "day"
route = "oral"
[schedule]
visit_weeks = [0, 12, 24]
follow_up_weeks = 24
[[parameters]]
code = "SBP"
label = "Systolic blood pressure"
unit = "mmHg"
low = 60.0
high = 260.0
[[endpoints]]
id = "controlled"
label = "SBP below 140 mmHg at week 24"
role = "primary"
type = "binary"
week = 24
components = [{{ parameter = "SBP", measure = "value", operator = "<", threshold = 140.0 }}]
method = "fisher"
[[endpoints]]
id = "sbp"
label = "Change in SBP from baseline to week 24"
role = "secondary"
type = "continuous"
week = 24
parameter = "SBP"
measure = "chg"
method = "ancova"
published = {{ level = "sbp_level", change = "sbp_change" }}
"""

ARM = """[[arms]]
name = "{name}"
role = "{role}"
n_randomised = {n}
"""

# arm -> (n, responders, mean/SD at weeks 0, 12, 24)
TWO_ARMS = {
    "Drug": (60, 30, [(152.1, 9.8), (143.0, 10.5), (139.4, 11.0)]),
    "Placebo": (60, 17, [(151.7, 10.2), (148.9, 10.0), (146.0, 10.5)]),
}
THREE_ARMS = {
    "High dose": (50, 27, [(151.2, 9.9), (141.8, 10.8), (137.9, 11.2)]),
    "Low dose": (50, 20, [(152.4, 10.1), (145.1, 10.4), (142.3, 10.9)]),
    "Placebo": (50, 12, [(151.9, 10.0), (149.0, 10.3), (146.8, 10.6)]),
}


def _write_trial(folder, arms: dict, trial_id: str, pvals: dict) -> None:
    names = list(arms)
    control = names[-1]
    text = "".join(
        ARM.format(name=a, role="control" if a == control else "experimental", n=arms[a][0])
        for a in names
    )
    (folder / "design.toml").write_text(HEAD.format(id=trial_id, n=len(names), arms=text), "utf-8")
    rows = []
    for a, (n, k, levels) in arms.items():
        rows.append(("randomised", a, "", "n", "=", n, "patients"))
        rows.append(("controlled", a, 24, "percent", "=", round(100 * k / n, 2), "%"))
        for week, (m, s) in zip((0, 12, 24), levels, strict=True):
            rows.append(("sbp_level", a, week, "mean", "=", m, "mmHg"))
            rows.append(("sbp_level", a, week, "sd", "=", s, "mmHg"))
    for (quantity, arm), (rel, p) in pvals.items():
        rows.append((quantity, f"{arm} vs {control}", 24, "p_value", rel, p, ""))
    pub = pd.DataFrame(
        rows, columns=["quantity", "arm", "week", "statistic", "relation", "value", "unit"]
    )
    pub["conf_level"] = ""
    pub["label"] = "abstract"
    pub["source"] = "written by the test"
    pub["note"] = ""
    pub.to_csv(folder / "published.csv", index=False)


@pytest.fixture(scope="module")
def two_arm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bp2")
    _write_trial(
        folder,
        TWO_ARMS,
        "bp2",
        {("controlled", "Drug"): ("<", 0.05), ("sbp_change", "Drug"): ("=", 0.002)},
    )
    return folder


@pytest.fixture(scope="module")
def two_arm_ipd(two_arm):
    return ta.synthetic_ipd(str(two_arm), seed=3)


def _pp(ipd, week: int) -> pd.DataFrame:
    m = ipd.measurements
    pp = ipd.population("PP")[["USUBJID", "ARM"]]
    return m[(m["PARAMCD"] == "SBP") & (m["AVISITN"] == week)].merge(pp, on="USUBJID")


def _check_aggregates(ipd, arms: dict) -> None:
    """Every published mean and SD (1 decimal) and every responder percentage (2 decimals)."""
    for week_i, week in enumerate((0, 12, 24)):
        v = _pp(ipd, week)
        for a, (_, _, levels) in arms.items():
            x = v.loc[v["ARM"] == a, "AVAL"]
            m, s = levels[week_i]
            assert round(x.mean(), 1) == pytest.approx(m, abs=1e-9), (a, week)
            assert round(x.std(ddof=1), 1) == pytest.approx(s, abs=1e-9), (a, week)
    ev = ipd.endpoint_values("controlled", population="PP")
    for a, (n, k, _) in arms.items():
        got = ev.loc[ev["ARM"] == a, "value"]
        assert len(got) == n and got.sum() == k, a
        assert round(100 * got.mean(), 2) == round(100 * k / n, 2)
    # The rule holds for each responder and fails for each non-responder, by hand.
    w24 = _pp(ipd, 24).set_index("USUBJID")["AVAL"]
    ev = ev.set_index("USUBJID")
    assert ((w24[ev.index] < 140.0) == (ev["value"] == 1)).all()


def test_two_arm_cohort_passes_the_loaders_checks(two_arm, two_arm_ipd, tmp_path, capsys):
    ipd = two_arm_ipd
    assert ipd.synthetic and len(ipd.subjects) == 120
    again = validate_frames(ipd.subjects, ipd.measurements, ipd.design)
    pd.testing.assert_frame_equal(again.measurements, ipd.measurements, check_dtype=False)
    out = ipd.save(tmp_path / "cohort")
    loaded = ta.load_ipd(out, design=ta.load_design(two_arm / "design.toml"))
    assert loaded.synthetic and len(loaded.measurements) == len(ipd.measurements)
    code = main(["validate", str(out), "--design", str(two_arm / "design.toml")])
    assert code == 0, capsys.readouterr().out
    assert set(ipd.measurements["AVISITN"]) == {0, 12, 24}
    assert set(ipd.subjects.columns) >= {"USUBJID", "ARM", "AGE", "SEX", "SYNTHFL"}


def test_two_arm_cohort_reproduces_the_published_aggregates(two_arm_ipd):
    _check_aggregates(two_arm_ipd, TWO_ARMS)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_two_arm_aggregates_hold_for_other_seeds(two_arm, seed):
    _check_aggregates(ta.synthetic_ipd(str(two_arm), seed=seed), TWO_ARMS)


def test_two_arm_cohort_does_not_contradict_the_published_p_values(two_arm_ipd):
    """Fisher (scipy.stats.fisher_exact, two-sided = R's fisher.test) on the responders and
    ANCOVA of the change on baseline (statsmodels OLS ``chg ~ arm + base``) agree with the
    published p < 0.05 and p = 0.002 (significant at 0.05)."""
    ipd = two_arm_ipd
    ev = ipd.endpoint_values("controlled", population="PP")
    g = ev.groupby("ARM")["value"].agg(["sum", "count"])
    table = [
        [g.at["Drug", "sum"], g.at["Drug", "count"] - g.at["Drug", "sum"]],
        [g.at["Placebo", "sum"], g.at["Placebo", "count"] - g.at["Placebo", "sum"]],
    ]
    p_fisher = stats.fisher_exact(np.array(table, dtype=int)).pvalue
    assert p_fisher < 0.05
    chk = ipd.info["inferences"]
    fisher = chk.loc[chk["endpoint"] == "controlled", "p_value"].iloc[0]
    assert fisher == pytest.approx(p_fisher, rel=1e-9)
    v = _pp(ipd, 24)
    fit = smf.ols("CHG ~ C(ARM, Treatment('Placebo')) + BASE", data=v).fit()
    p_ancova = fit.pvalues.filter(like="ARM").iloc[0]
    assert p_ancova < 0.05
    model_se = chk.loc[(chk["endpoint"] == "sbp") & chk["method"].str.contains("model")]
    assert model_se["p_value"].iloc[0] == pytest.approx(p_ancova, rel=1e-6)
    assert chk["holds"].all() and set(chk["endpoint"]) == {"controlled", "sbp"}


def test_default_model_says_where_each_value_comes_from(two_arm):
    m = model_for(str(two_arm))
    t = m.to_frame()
    pub = t.loc[t["provenance"] == "published", "parameter"]
    assert {"sbp_base_mean", "sbp_base_sd", "sbp_12_mean", "sbp_24_sd"} <= set(pub)
    assumed = t.loc[t["provenance"] == "assumed"]
    assert len(assumed) and not assumed["source"].eq("").any()  # each with its reason
    assert m.sbp_24_mean == {"Drug": 139.4, "Placebo": 146.0}
    assert m.analysed == {"Drug": (30, 60), "Placebo": (17, 60)}
    assert m.responder_endpoint == "controlled"
    d = m.draw_endpoints({"Drug": 60, "Placebo": 60}, n_trials=2000, rng=1)
    # The rule on the drawn values; the draws' means are the published ones.
    np.testing.assert_array_equal(d["Drug"]["RESPONDER"], (d["Drug"]["SBP_24"] < 140) * 1.0)
    assert d["Drug"]["SBP_24"].mean() == pytest.approx(139.4, abs=0.1)
    assert d["Placebo"]["SBP_CHG_24"].mean() == pytest.approx(146.0 - 151.7, abs=0.1)
    assert d["Drug"]["sbp"].shape == (2000, 60)


def test_reanalysis_runs_on_the_synthetic_cohort(two_arm):
    frame = ta.reanalyze(two_arm, ipd="synthetic", seed=1).to_frame()
    syn = frame[frame["data_source"] == "synthetic"]
    assert set(syn["endpoint"]) == {"controlled", "sbp"}
    assert syn["p_value"].notna().any()
    anc = syn[(syn["endpoint"] == "sbp") & syn["method"].str.lower().str.contains("ancova")]
    assert len(anc) and (anc["p_value"] < 0.05).all()


def test_missing_aggregates_are_listed(tmp_path):
    """Without the SDs at week 12 and the baseline mean of Placebo the default model refuses,
    naming each missing quantity (and the remedy: a synthetic_model.toml)."""
    _write_trial(tmp_path, TWO_ARMS, "bp_missing", {})
    pub = pd.read_csv(tmp_path / "published.csv", dtype=str, keep_default_na=False)
    drop = (pub["quantity"] == "sbp_level") & (pub["statistic"] == "sd") & (pub["week"] == "12")
    drop |= (
        (pub["quantity"] == "sbp_level")
        & (pub["arm"] == "Placebo")
        & (pub["week"] == "0")
        & (pub["statistic"] == "mean")
    )
    pub.loc[~drop].to_csv(tmp_path / "published.csv", index=False)
    with pytest.raises(
        DesignError,
        match=r"synthetic_model\.toml.*missing: SBP at baseline .*SBP at week 12: per-arm SD",
    ):
        model_for(str(tmp_path))
    pub.loc[~drop | (pub["statistic"] == "mean")].to_csv(tmp_path / "published.csv", index=False)
    with pytest.raises(DesignError, match=r"SBP at week 12: per-arm SD"):
        model_for(str(tmp_path))


def test_three_arm_cohort(tmp_path):
    """Two experimental arms against placebo: every arm's aggregates and both published
    between-arm p-values (each arm vs placebo)."""
    _write_trial(
        tmp_path,
        THREE_ARMS,
        "bp3",
        {("sbp_change", "High dose"): ("<", 0.01), ("sbp_change", "Low dose"): ("<", 0.05)},
    )
    ipd = ta.synthetic_ipd(str(tmp_path), seed=5)
    assert list(ipd.subjects.groupby("ARM").size().loc[list(THREE_ARMS)]) == [50, 50, 50]
    _check_aggregates(ipd, THREE_ARMS)
    chk = ipd.info["inferences"]
    assert chk["holds"].all() and len(chk) == 4  # 2 arms x (model SE, HC3)
    v = _pp(ipd, 24)
    for arm, bound in (("High dose", 0.01), ("Low dose", 0.05)):
        sub = v[v["ARM"].isin([arm, "Placebo"])]
        fit = smf.ols("CHG ~ C(ARM, Treatment('Placebo')) + BASE", data=sub).fit()
        assert fit.pvalues.filter(like="ARM").iloc[0] < bound, arm
    m = ipd.info["model"]
    assert m.analysed["Low dose"] == (20, 50)
    assert math.isfinite(m.value("sbp_24_mean", "High dose"))


PCT_ENDPOINT = """
[[endpoints]]
id = "sbp_pct"
label = "Percentage change in SBP from baseline to week 24"
role = "secondary"
type = "continuous"
week = 24
parameter = "SBP"
measure = "pchg"
method = "ancova"
published = { level = "sbp_level", change = "sbp_pct" }
assumed_sds = [6.0, 10.0, 14.0, 18.0, 22.0]
"""


def test_unpublished_sd_is_a_declared_assumed_sd_agreeing_with_the_published_p(tmp_path):
    """No SD of the % change is published; of the design's assumed SDs 6-22, the Student
    t-test of the published means (-8.3 vs -3.9 %, 60 per arm) agrees with the published
    p < 0.05 for 6 and 10 only (scipy ttest_ind_from_stats); the model keeps the upper median
    of those, 10 (the median of all, 14, would contradict it), and the exact cohort fits it."""
    _write_trial(tmp_path, TWO_ARMS, "bp_pct", {})
    (tmp_path / "design.toml").write_text(
        (tmp_path / "design.toml").read_text("utf-8") + PCT_ENDPOINT, "utf-8"
    )
    pub = pd.read_csv(tmp_path / "published.csv", dtype=str, keep_default_na=False)
    keep = (pub["quantity"] == "randomised") | (
        (pub["quantity"] == "sbp_level") & (pub["week"] == "0")
    )
    extra = pd.DataFrame(
        [
            ("sbp_pct", "Drug", "24", "mean", "=", "-8.3", "%"),
            ("sbp_pct", "Placebo", "24", "mean", "=", "-3.9", "%"),
            ("sbp_pct", "Drug vs Placebo", "24", "p_value", "<", "0.05", ""),
        ],
        columns=["quantity", "arm", "week", "statistic", "relation", "value", "unit"],
    ).assign(conf_level="", label="abstract", source="written by the test", note="")
    pd.concat([pub.loc[keep], extra]).to_csv(tmp_path / "published.csv", index=False)
    agree = [
        sd
        for sd in (6.0, 10.0, 14.0, 18.0, 22.0)
        if stats.ttest_ind_from_stats(-8.3, sd, 60, -3.9, sd, 60).pvalue < 0.05
    ]
    assert agree == [6.0, 10.0]
    m = model_for(str(tmp_path))
    assert m.sbp_pchg_24_sd == {"Drug": 10.0, "Placebo": 10.0}
    assert m.provenance["sbp_pchg_24_sd"].label == "assumed"
    assert "chosen 10" in m.provenance["sbp_pchg_24_sd"].reason
    ipd = ta.synthetic_ipd(str(tmp_path), seed=2)
    v = _pp(ipd, 24)
    for arm, mean in (("Drug", -8.3), ("Placebo", -3.9)):
        x = v.loc[v["ARM"] == arm, "PCHG"]
        assert round(x.mean(), 1) == mean
        assert x.std(ddof=1) == pytest.approx(10.0, abs=0.005)
    assert ipd.info["inferences"]["holds"].all()


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('mean = "age_mean"', "mean = \"__import__('os')\"", r"covariates\[0\]\.mean.*the name"),
        ('distribution = "normal"', 'distribution = "weibull"', r"one of normal, truncnormal"),
        ("format_version = 2", "format_version = 1", r"format_version.*expected 2"),
        ('operation = "linear_change"', 'operation = "eval"', r"derive\.operation"),
        ("weeks = [0, 48]", "weeks = [0, 50]", r"parameters\[3\]\.weeks.*visit weeks"),
    ],
)
def test_a_bad_model_file_is_refused_naming_the_key(tmp_path, old, new, match):
    """The model file's vocabulary is closed: names must be declared values, operations and
    distributions come from fixed lists (nothing from the file is evaluated)."""
    import shutil

    from trial_analysis._paths import trial_dir

    folder = tmp_path / "trial"
    shutil.copytree(trial_dir("zang2022"), folder)
    f = folder / "synthetic_model.toml"
    text = f.read_text("utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(DesignError, match=match):
        model_for(str(folder))


MODEL_FILE = """
format_version = 2
[model]
shipped_seed = 7
dropout = "drop"

[[covariates]]
name = "AGE"
distribution = "lognormal"
mean = "age_mean"
sd = "age_sd"
low = 18.0
high = 90.0
decimals = 0

[[covariates]]
name = "SEX"
distribution = "categorical"
levels = ["M", "F", "U"]
probs = ["p_male", "p_female", "p_unknown"]

[[parameters]]
code = "SBP"
baseline = { mean = "sbp0_mean", sd = "sbp0_sd" }
visits = [
  { week = 24, measure = "value", mean = "sbp24_mean", sd = "sbp24_sd", rho = "sbp_rho" },
]
weeks = [0, 24]

[published]
sbp0_mean = ["sbp_level", 0, "mean"]
sbp0_sd = ["sbp_level", 0, "sd"]
sbp24_mean = ["sbp_level", 24, "mean"]
sbp24_sd = ["sbp_level", 24, "sd"]

[assumed.age_mean]
value = 58.0
reason = "test"
[assumed.age_sd]
value = 9.0
reason = "test"
[assumed.p_male]
value = 0.5
reason = "test"
[assumed.p_female]
value = 0.45
reason = "test"
[assumed.p_unknown]
value = 0.05
reason = "test"
[assumed.sbp_rho]
value = 0.6
reason = "test"
[assumed.drop]
value = { Drug = 0.1, Placebo = 0.2 }
reason = "test"
"""


def test_a_model_file_for_a_new_trial(tmp_path):
    """A format-2 file for the test trial: lognormal age (mean 58, SD 9 on the natural scale),
    a three-level sex, SBP measured at weeks 0 and 24 only (a sparse schedule), and an assumed
    dropout; no responder counts are published, so the denominators follow the dropout."""
    _write_trial(tmp_path, TWO_ARMS, "bp_file", {})
    pub = pd.read_csv(tmp_path / "published.csv", dtype=str, keep_default_na=False)
    pub.loc[pub["quantity"] != "controlled"].to_csv(tmp_path / "published.csv", index=False)
    (tmp_path / "synthetic_model.toml").write_text(MODEL_FILE, "utf-8")
    m = model_for(str(tmp_path))
    assert m.analysed == {"Drug": (0, 54), "Placebo": (0, 48)}  # 60 - round(0.1 x 60) ...
    big = m.sample_ipd({"Drug": 4000, "Placebo": 4000}, rng=1)
    age = big.subjects["AGE"]
    assert age.mean() == pytest.approx(58.0, abs=0.5) and age.std() == pytest.approx(9.0, abs=0.5)
    assert stats.skew(np.log(age)) == pytest.approx(0.0, abs=0.15) and stats.skew(age) > 0.2
    share = big.subjects["SEX"].value_counts(normalize=True)
    assert share["U"] == pytest.approx(0.05, abs=0.01) and share["M"] == pytest.approx(
        0.5, abs=0.02
    )
    ipd = ta.synthetic_ipd(str(tmp_path))
    assert ipd.info["seed"] == 7
    assert set(ipd.measurements["AVISITN"]) == {0, 24}
    assert (ipd.subjects["PPROTFL"] == "N").groupby(ipd.subjects["ARM"]).sum().to_dict() == {
        "Drug": 6,
        "Placebo": 12,
    }
    v = _pp(ipd, 24)
    for a, (_, _, levels) in TWO_ARMS.items():
        x = v.loc[v["ARM"] == a, "AVAL"]
        assert (round(x.mean(), 1), round(x.std(ddof=1), 1)) == levels[2]
