"""Group-sequential designs against rpact (tests/reference/power.R -> power_from_r.py)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from tests.fixtures import power_from_r as R
from trial_analysis.errors import ParameterError
from trial_analysis.power import group_sequential, spend


@pytest.mark.parametrize(
    "ref", R.GROUP_SEQUENTIAL, ids=lambda r: f"k{r['k']}-{r['spending']}-{r['sided']}sided"
)
def test_matches_rpact(ref):
    """R: d <- rpact::getDesignGroupSequential(kMax, alpha, beta, sided, typeOfDesign =
    "asOF"/"asP", informationRates); getDesignCharacteristics(d);
    getSampleSizeMeans(d, alternative = 0.5, stDev = 1.2, normalApproximation = TRUE);
    getSampleSizeRates(d, pi1 = 0.2, pi2 = 0.0455, normalApproximation = TRUE)."""
    d = group_sequential(
        ref["k"],
        ref["alpha"],
        ref["beta"],
        sided=ref["sided"],
        spending=ref["spending"],
        information_rates=ref["information_rates"],
    )
    assert_allclose(d.critical_values, ref["critical_values"], atol=1e-6)
    # rpact stops its search at alpha - 1e-8 for the last stage
    assert_allclose(d.alpha_spent, ref["alpha_spent"], atol=2e-8)
    assert_allclose(d.stage_levels, ref["stage_levels"], rtol=1e-5)
    assert d.inflation_factor == pytest.approx(ref["inflation_factor"], abs=1e-6)
    assert_allclose(d.rejection_probabilities, ref["rejection_probabilities"], atol=1e-6)
    assert d.asn_h1 == pytest.approx(ref["asn_h1"], abs=1e-6)
    assert d.asn_h01 == pytest.approx(ref["asn_h01"], abs=1e-6)
    assert d.asn_h0 == pytest.approx(ref["asn_h0"], abs=1e-6)
    n = d.for_means(0.5, 1.2)
    assert n["n_max"].iloc[0] == pytest.approx(ref["n_max_means"], rel=1e-6)
    assert n["n_expected_h1"].iloc[0] == pytest.approx(ref["n_expected_h1_means"], rel=1e-6)
    assert d.power == pytest.approx(1 - ref["beta"], abs=1e-8)
    # getSampleSizeRates(d, pi1 = 0.2, pi2 = 0.0455, normalApproximation = TRUE); two-sided
    # designs: our fixed design counts both rejection tails (1e-6 relative)
    r = d.for_rates(0.2, 0.0455)
    assert r["n_max"].iloc[0] == pytest.approx(ref["n_max_rates"], rel=1e-5)
    assert r["n_expected_h1"].iloc[0] == pytest.approx(ref["n_expected_h1_rates"], rel=1e-5)


def test_spending_functions_end_at_alpha_and_increase():
    t = np.linspace(0.01, 1, 50)
    for sp in ("obrien-fleming", "pocock"):
        a = spend(t, 0.025, sp)
        assert a[-1] == pytest.approx(0.025)
        assert np.all(np.diff(a) > 0)
    # O'Brien-Fleming spends less early than Pocock
    assert spend(0.5, 0.025, "obrien-fleming") < spend(0.5, 0.025, "pocock")


def test_simulated_type1_and_power_agree():
    """Monte Carlo check of the numerical integration (independent of rpact)."""
    d = group_sequential(3, 0.025, 0.2, spending="pocock")
    rng = np.random.default_rng(1)
    t = np.asarray(d.information_rates)
    n = 400_000
    for eta, target in ((0.0, d.alpha_spent[-1]), (None, d.power)):
        if eta is None:
            eta = (stats.norm.isf(0.025) + stats.norm.isf(0.2)) * np.sqrt(d.inflation_factor)
        inc = rng.standard_normal((n, 3)) * np.sqrt(np.diff(np.r_[0, t])) + eta * np.diff(
            np.r_[0, t]
        )
        z = np.cumsum(inc, axis=1) / np.sqrt(t)
        rejected = (z >= np.asarray(d.critical_values)).any(axis=1).mean()
        se = np.sqrt(target * (1 - target) / n)
        assert abs(rejected - target) < 4 * se


def test_frame_and_notes():
    d = group_sequential(2)
    f = d.to_frame()
    assert list(f["look"]) == [1, 2]
    assert f["cum_power"].iloc[-1] == pytest.approx(0.8, abs=1e-8)
    assert "O'Brien-Fleming" in d.notes[0]
    s = d.for_rates(0.2, 0.0455)
    assert s["n_max"].iloc[0] > 2 * 69.62  # fixed design of rpact getSampleSizeRates: 139.2


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(k=11), r"`k` must be at most 10 analyses"),
        (dict(k=0), r"`k` must be a whole number >= 1"),
        (dict(alpha=0.6), r"`alpha` must be a significance level"),
        (dict(sided=3), r"`sided` must be 1 or 2"),
        (dict(spending="haybittle"), r"`spending` must be .obrien-fleming., .pocock."),
        (dict(information_rates=[0.6, 0.5]), r"`information_rates` must be 2 increasing"),
        (dict(beta=1.0), r"`beta` must be a probability"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(ParameterError, match=match):
        group_sequential(**kw)
