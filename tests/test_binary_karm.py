"""Binary endpoints with more than two arms: each experimental arm against the control.

R reference: ``tests/reference/adjusted2.R`` section 2 -> ``KARM_GCOMP``, ``KARM_CMH``,
``KARM_MARGIN`` on ``tests/fixtures/adjusted_data/trial3.csv`` (450 patients, Placebo / Low /
High, permuted blocks of 6 within region):

- ``glm(y ~ armf + age + hba1c + region, family = binomial)`` over all three arms, counterfactual
  risks with ``model.matrix``, the K-arm Ye et al. (2023) covariance (``var``/``cov``), its
  stratified permuted-block correction and the Ge et al. (2011) delta method ``D vcov(glm) D'``;
  RD, RR, OR of each arm vs Placebo by the delta method;
- ``mantelhaen.test(arr, correct = FALSE / TRUE)`` and ``metafor::rma.mh(measure = "RD"/"RR")``
  on the patients of each pair of arms;
- Farrington-Manning score statistics at RD margin -0.10 and RR margin 0.8 (constrained MLE by
  ``optimize``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures.adjusted2_from_r import KARM_CMH, KARM_GCOMP, KARM_MARGIN
from trial_analysis.errors import ParameterError

DATA = Path(__file__).parent / "fixtures" / "adjusted_data" / "trial3.csv"
COMPARISONS = ["Low vs Placebo", "High vs Placebo"]


@pytest.fixture(scope="module")
def trial3() -> pd.DataFrame:
    d = pd.read_csv(DATA)
    d["arm"] = pd.Categorical(d["arm"], categories=["Placebo", "Low", "High"])
    return d


@pytest.mark.parametrize(
    "variance, key", [("ye2023", "se_car"), ("ge2011", "se_ge")], ids=["ye2023_car", "ge2011"]
)
def test_gcomp_three_arms_match_r(trial3, variance, key):
    res = ta.binary.adjusted(
        trial3, "y", "arm", ["age", "hba1c"], strata="region", effect="all", variance=variance
    )
    t = res.to_frame()
    assert t["comparison"].tolist() == [c for c in COMPARISONS for _ in range(3)]
    assert t["effect"].tolist() == ["rd", "rr", "or"] * 2
    assert_allclose(t["estimate"], KARM_GCOMP["estimate"], rtol=1e-8)
    assert_allclose(t["se"], KARM_GCOMP[key], rtol=1e-7)
    assert_allclose(res.risks["risk"], KARM_GCOMP["risks"], rtol=1e-8)
    assert res.risks["arm"].tolist() == ["Placebo", "Low", "High"]
    assert res.comparisons == tuple(COMPARISONS)
    assert res.vcov.shape == (3, 3)
    z = t["estimate"].where(t["effect"] == "rd", np.log(t["estimate"])) / t["se"]
    assert_allclose(t["p_value"], 2 * ta.binary._adjusted.stats.norm.sf(np.abs(z)), rtol=1e-10)
    if variance == "ye2023":
        assert_allclose(np.sqrt(np.diag(res.vcov)), KARM_GCOMP["risk_se_car"], rtol=1e-7)
        # without strata: the simple-randomisation Ye variance (same working model)
        simple = ta.binary.adjusted(
            trial3, "y", "arm", ["age", "hba1c", "region"], effect="all", variance=variance
        )
        assert_allclose(simple.to_frame()["se"], KARM_GCOMP["se_ye"], rtol=1e-7)
    assert "each experimental arm vs Placebo" in str(res)


def test_gcomp_control_found_by_name_or_reference(trial3):
    """The control is the arm named like one (Placebo), or ``reference``; a row per arm."""
    plain = trial3.assign(arm=trial3["arm"].astype(str))  # order of first appearance
    a = ta.binary.adjusted(plain, "y", "arm", ["age"])
    assert sorted(a.comparisons) == sorted(COMPARISONS)
    b = ta.binary.adjusted(trial3, "y", "arm", ["age"], reference="Low")
    assert b.comparisons == ("Placebo vs Low", "High vs Low")
    # two-arm subset = the K-arm machinery on two arms
    two = trial3[trial3.arm != "Low"].assign(arm=lambda d: d.arm.astype(str))
    r2 = ta.binary.adjusted(two, "y", "arm", ["age"], experimental="High")
    assert r2.comparisons == ("High vs Placebo",)
    assert r2.to_frame()["comparison"].unique().tolist() == ["High vs Placebo"]
    with pytest.raises(ParameterError, match="comparison"):
        a.row("rd")
    assert a.row("rd", "High vs Placebo").effect == "rd"
    with pytest.raises(ParameterError, match="reference"):
        ta.binary.adjusted(
            trial3.assign(arm=trial3.arm.astype(str).str.replace("Placebo", "X")),
            "y",
            "arm",
            ["age"],
        )
    with pytest.raises(ParameterError, match="reference"):
        ta.binary.adjusted(trial3, "y", "arm", ["age"], reference="Nope")


def test_adjusted_noninferiority_per_arm(trial3):
    res = ta.binary.adjusted(trial3, "y", "arm", ["age", "hba1c"], strata="region")
    ni = res.noninferiority(-0.1)
    t = ni.to_frame()
    assert t["comparison"].tolist() == COMPARISONS
    for c in COMPARISONS:
        one = res.noninferiority(-0.1, comparison=c)
        row = res.row("rd", c)
        assert one.estimate == pytest.approx(row.estimate)
        z = (row.estimate + 0.1) / row.se
        assert ni.row("lower", c).statistic == pytest.approx(z, rel=1e-12)
    # intersection-union: every arm non-inferior at once
    assert ni.p_value == pytest.approx(t["p_value"].max())
    assert ni.conclusion == bool(t["rejected"].all())
    assert math.isnan(ni.estimate)
    assert "intersection-union" in str(ni)


def test_cmh_each_arm_vs_control_matches_r(trial3):
    res = ta.binary.cmh(trial3, "y", "arm", "region")
    assert res.comparisons == tuple(COMPARISONS)
    for arm, c in zip(["Low", "High"], COMPARISONS, strict=True):
        ref = KARM_CMH[arm]
        t = res.to_frame()
        t = t[t["comparison"] == c].set_index("key")
        assert_allclose(
            t.loc["test_cmh", ["statistic", "p_value"]], [ref["statistic"], ref["p"]], rtol=1e-9
        )
        assert_allclose(
            t.loc["test_cmh_cc", ["statistic", "p_value"]],
            [ref["statistic_cc"], ref["p_cc"]],
            rtol=1e-9,
        )
        assert_allclose(
            t.loc["or_mh", ["estimate", "ci_low", "ci_high"]],
            [ref["or_mh"], *ref["or_ci"]],
            rtol=1e-9,
        )
        assert_allclose(
            t.loc["rd_mh_sato", ["estimate", "se"]], [ref["rd_mh"], ref["rd_se"]], rtol=1e-9
        )
        assert_allclose(
            [math.log(t.loc["rr_mh", "estimate"]), t.loc["rr_mh", "se"]],
            [ref["log_rr_mh"], ref["log_rr_se"]],
            rtol=1e-9,
        )
        # the same as the two-arm analysis of that pair
        pair = trial3[trial3.arm.isin(["Placebo", arm])].assign(arm=lambda d: d.arm.astype(str))
        two = ta.binary.cmh(pair, "y", "arm", "region")
        pd.testing.assert_frame_equal(
            res.to_frame()[res.to_frame()["comparison"] == c].reset_index(drop=True),
            two.to_frame(),
        )
    assert set(res.strata["comparison"]) == set(COMPARISONS)
    ni = res.noninferiority(-0.15, "rd_mn")
    assert ni.to_frame()["comparison"].tolist() == COMPARISONS
    single = res.noninferiority(-0.15, "rd_mn", comparison="High vs Placebo")
    assert single.p_value == pytest.approx(ni.row("lower", "High vs Placebo").p_value)
    with pytest.raises(ParameterError, match="comparison"):
        res.row("or_mh")


def test_score_margin_several_arms_matches_r():
    ref = KARM_MARGIN
    x1 = [ref["Low"]["x1"], ref["High"]["x1"]]
    n1 = [ref["Low"]["n1"], ref["High"]["n1"]]
    rd = ta.binary.noninferiority(
        x1, n1, ref["x2"], ref["n2"], -0.10, method="fm", comparisons=COMPARISONS
    )
    rr = ta.binary.noninferiority(
        x1, n1, ref["x2"], ref["n2"], 0.8, effect="rr", method="fm", comparisons=COMPARISONS
    )
    for arm, c in zip(["Low", "High"], COMPARISONS, strict=True):
        assert rd.row("lower", c).statistic == pytest.approx(ref[arm]["z_rd"], rel=1e-8)
        assert rd.row("lower", c).p_value == pytest.approx(ref[arm]["p_rd"], rel=1e-7)
        assert rr.row("lower", c).statistic == pytest.approx(ref[arm]["z_rr"], rel=1e-8)
        assert rr.row("lower", c).p_value == pytest.approx(ref[arm]["p_rr"], rel=1e-7)
    assert rd.p_value == pytest.approx(max(ref["Low"]["p_rd"], ref["High"]["p_rd"]), rel=1e-7)
    eq = ta.binary.equivalence(x1, n1, ref["x2"], ref["n2"], -0.2, 0.2)
    assert eq.to_frame()["comparison"].tolist() == [
        "arm 1 vs control",
        "arm 1 vs control",
        "arm 2 vs control",
        "arm 2 vs control",
    ]
    with pytest.raises(ParameterError, match="equal length"):
        ta.binary.noninferiority([10, 12], [50], 10, 50, -0.1)
    with pytest.raises(ParameterError, match="comparisons"):
        ta.binary.noninferiority([10, 12], [50, 50], 10, 50, -0.1, comparisons=["a"])


def test_gcomp_three_arms_with_interactions_matches_r(trial3):
    """glm(y ~ armf * (age + hba1c) + region): arm-by-covariate interactions for every
    experimental arm (region, the stratum, not interacted); Ye variance without the
    permuted-block correction (randomization="simple")."""
    res = ta.binary.adjusted(
        trial3,
        "y",
        "arm",
        ["age", "hba1c"],
        strata="region",
        interaction=True,
        randomization="simple",
        effect="all",
    )
    t = res.to_frame()
    assert_allclose(res.risks["risk"], KARM_GCOMP["interaction_risks"], rtol=1e-8)
    assert_allclose(t["estimate"], KARM_GCOMP["interaction_estimate"], rtol=1e-8)
    assert_allclose(t["se"], KARM_GCOMP["interaction_se_ye"], rtol=1e-7)
    assert "arm[High]:age" in res.coef["term"].tolist()
