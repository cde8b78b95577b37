"""Group-sequential designs, futility, sample sizes and interim analyses against rpact.

Reference: tests/reference/designs.R -> tests/fixtures/designs_from_r.py (rpact 3.3.4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from tests.fixtures import designs_from_r as R
from trial_analysis.errors import ParameterError
from trial_analysis.power import analysis_results, conditional_power, group_sequential

TOL = 1e-6


def _na(x):
    """rpact's NA (no observable effect reaches the bound) as nan."""
    return np.array([math.nan if v is None else v for v in x], dtype=float)


def _vals(x, n=None):
    a = np.asarray(x, dtype=float)
    return a if n is None else a[:n]


@pytest.mark.parametrize("ref", R.GROUP_SEQUENTIAL, ids=lambda r: r["kwargs"])
def test_design_matches_rpact(ref):
    """R: d <- getDesignGroupSequential(kMax, alpha, beta, sided, typeOfDesign = "asOF" / "asP" /
    "asHSD" / "asKD" / "asUser" / "WT" / "OF" / "P", deltaWT, gammaA, userAlphaSpending,
    typeBetaSpending = "bsOF" / "bsP" / "bsHSD" / "bsKD", gammaB, futilityBounds,
    bindingFutility, informationRates); getDesignCharacteristics(d);
    getPowerMeans(d, groups = 1, alternative = c(0, 1), stDev = 1, maxNumberOfSubjects = shift,
    normalApproximation = TRUE) for the per-look probabilities under H0 and H1."""
    kw = eval(ref["kwargs"])  # the Python call, written by the R script beside the rpact call
    d = group_sequential(**kw)
    k = d.k
    assert_allclose(d.critical_values, ref["critical_values"], atol=TOL)
    # rpact stops its search at alpha - 1e-8 at the last look
    assert_allclose(d.alpha_spent, ref["alpha_spent"], atol=2e-8)
    assert_allclose(d.stage_levels, ref["stage_levels"], rtol=1e-5, atol=1e-9)
    assert d.inflation_factor == pytest.approx(ref["inflation_factor"], abs=TOL)
    assert d.drift == pytest.approx(math.sqrt(ref["shift"]), abs=TOL)
    assert d.power == pytest.approx(ref["power"][-1], abs=1e-8)
    if k > 1:
        assert_allclose(d.rejection_h1, ref["rejection_h1"], atol=TOL)
        assert_allclose(d.rejection_h0, ref["rejection_h0"], atol=TOL)
        for name in ("asn_h0", "asn_h01", "asn_h1"):
            assert getattr(d, name) == pytest.approx(ref[name], abs=TOL)
    has_futility = d.futility != "none"
    if has_futility:
        assert_allclose(_vals(d.futility_bounds, k - 1), ref["futility_bounds"], atol=TOL)
        assert_allclose(_vals(d.futility_h1, k - 1), ref["futility_h1"], atol=TOL)
        assert_allclose(_vals(d.futility_h0, k - 1), ref["futility_h0"], atol=TOL)
    else:
        assert np.all(np.isnan(d.futility_bounds))
    if ref["beta_spent"]:
        assert_allclose(d.beta_spent, ref["beta_spent"], atol=2e-8)
    # getSampleSizeMeans(d, alternative = 0.5, stDev = 1.2, normalApproximation = TRUE)
    m = d.sample_size_means(0.5, 1.2)
    assert m.n_max == pytest.approx(ref["n_max_means"], rel=TOL)
    if k > 1:
        assert m.n_expected_h1 == pytest.approx(ref["n_h1_means"], rel=TOL)
        assert m.n_expected_h0 == pytest.approx(ref["n_h0_means"], rel=TOL)
    if ref["efficacy_effect_means"]:
        assert_allclose(m.efficacy_effect, ref["efficacy_effect_means"], atol=TOL)
    if has_futility and ref["futility_effect_means"]:
        assert_allclose(_vals(m.futility_effect, k - 1), ref["futility_effect_means"], atol=TOL)
    # getSampleSizeRates(d, pi1 = 0.4, pi2 = 0.25): pooled variance under H0, both sidednesses
    r = d.sample_size_rates(0.4, 0.25)
    assert r.n_max == pytest.approx(ref["n_max_rates"], rel=TOL)
    # criticalValuesEffectScale / futilityBoundsEffectScale of getSampleSizeRates
    assert_allclose(r.efficacy_effect, _na(ref["efficacy_effect_rates"]), atol=TOL)
    if has_futility and ref["futility_effect_rates"]:
        assert_allclose(
            _vals(r.futility_effect, k - 1), _na(ref["futility_effect_rates"]), atol=TOL
        )
    if k > 1:
        assert r.n_expected_h1 == pytest.approx(ref["n_h1_rates"], rel=TOL)
    # getSampleSizeSurvival(d, hazardRatio = 0.7, ...)$maxNumberOfEvents (Schoenfeld)
    e = d.sample_size_events(0.7)
    assert e.n_max == pytest.approx(ref["events_max"], rel=TOL)


@pytest.mark.parametrize("ref", R.SAMPLE_SIZE_RATES, ids=lambda r: r["label"])
def test_rates_ratio_and_margin_match_rpact(ref):
    """R: getSampleSizeRates(getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF",
    typeBetaSpending = "bsOF"), pi1, pi2, thetaH0, riskRatio, allocationRatioPlanned)."""
    d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    r = d.sample_size_rates(
        ref["p1"], ref["p2"], ratio=ref["ratio"], theta0=ref["theta0"], scale=ref["scale"]
    )
    assert r.n_max == pytest.approx(ref["n_max"], rel=TOL)
    assert r.n_expected_h1 == pytest.approx(ref["n_h1"], rel=TOL)
    assert r.n_fixed == pytest.approx(ref["n_fixed"], rel=TOL)
    assert_allclose(r.efficacy_effect, _na(ref["efficacy_effect"]), atol=TOL)
    assert_allclose(_vals(r.futility_effect, 2), _na(ref["futility_effect"]), atol=TOL)


@pytest.mark.parametrize("ref", R.SAMPLE_SIZE_MEANS_MARGIN, ids=lambda r: r["label"])
def test_means_margin_and_allocation_match_rpact(ref):
    """R: getSampleSizeMeans(getDesignGroupSequential(kMax = 4, typeOfDesign = "asP"),
    alternative, stDev, thetaH0, allocationRatioPlanned, normalApproximation = TRUE)."""
    d = group_sequential(4, 0.025, 0.1, spending="pocock")
    m = d.sample_size_means(ref["delta"], ref["sd"], ratio=ref["ratio"], theta0=ref["theta0"])
    assert m.n_max == pytest.approx(ref["n_max"], rel=TOL)
    assert_allclose(m.efficacy_effect, ref["efficacy_effect"], atol=TOL)


def test_conditional_power_matches_rpact():
    """R: sr <- getStageResults(getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF"),
    getDataset(n1 = 50, n2 = 50, means1 = 0.55, means2 = 0.25, stDevs1 = 1.1, stDevs2 = 0.9),
    normalApproximation = TRUE); getConditionalPower(sr, nPlanned = c(100, 100), thetaH1 = 0.4,
    assumedStDev = 1) and without thetaH1 (observed trend)."""
    ref = R.ANALYSIS[0]
    d = group_sequential(3, 0.025, 0.2)
    info = [50 / 2, 100 / 2, 150 / 2]  # n per arm / 2 per unit variance
    cp = conditional_power(d, 1, ref["z"], theta=0.4, information=info)
    assert_allclose(cp.conditional_power, ref["conditional_power"], atol=TOL)
    assert_allclose(cp.conditional_power_trend, ref["conditional_power_trend"], atol=TOL)
    assert cp.theta_trend == pytest.approx(ref["estimate"] / ref["sd"], rel=1e-9)


def test_predictive_power_closed_form_two_looks():
    """Flat-prior predictive power of a 2-look design equals the closed form
    Phi((S1 + theta_hat D - c2 sqrt(I2)) / sqrt(D + D^2 / I1)), D = I2 - I1
    (Spiegelhalter, Freedman & Blackburn 1986)."""
    d = group_sequential(2, 0.025, 0.2, spending="pocock")
    i1, i2, z = 30.0, 60.0, 1.1
    cp = conditional_power(d, 1, z, information=[i1, i2])
    s1, th, dd = z * math.sqrt(i1), z / math.sqrt(i1), i2 - i1
    c2 = d.critical_values[1]
    expect = stats.norm.cdf((s1 + th * dd - c2 * math.sqrt(i2)) / math.sqrt(dd + dd**2 / i1))
    assert cp.predictive_power == pytest.approx(expect, abs=1e-9)


def test_analysis_results_match_rpact():
    """R: getAnalysisResults(getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF"),
    getDataset(n1 = c(50, 50), n2 = c(50, 50), means1 = c(0.55, 0.8), means2 = c(0.25, 0.2),
    stDevs1 = c(1.1, 1), stDevs2 = c(0.9, 1)), normalApproximation = TRUE): repeated CIs,
    repeated p-values, final stage-wise p-value, final CI and median-unbiased estimate."""
    ref = R.ANALYSIS[1]
    d = group_sequential(3, 0.025, 0.2)
    se = np.asarray(ref["estimate"]) / np.asarray(ref["z"])
    r = analysis_results(d, ref["z"], se=se)
    assert_allclose(r.rci_lower, ref["rci_lower"], atol=TOL)
    assert_allclose(r.rci_upper, ref["rci_upper"], atol=TOL)
    # rpact searches the repeated p-value with a tolerance of about 1e-6
    assert_allclose(r.repeated_p, ref["repeated_p"], atol=5e-6)
    assert r.final_look == ref["final_stage"]
    assert r.p_value == pytest.approx(ref["final_p"], abs=TOL)
    assert r.conf_low == pytest.approx(ref["final_ci_lower"], abs=TOL)
    assert r.conf_high == pytest.approx(ref["final_ci_upper"], abs=TOL)
    assert r.median_unbiased == pytest.approx(ref["median_unbiased"], abs=TOL)


def test_stagewise_p_of_fixed_design_is_the_ordinary_p():
    d = group_sequential(1, 0.025, 0.2)
    r = analysis_results(d, [1.7], se=[0.2])
    assert r.p_value == pytest.approx(stats.norm.sf(1.7), abs=1e-12)
    assert r.median_unbiased == pytest.approx(1.7 * 0.2, abs=1e-9)
    assert r.conf_low == pytest.approx((1.7 - 1.959963984540054) * 0.2, abs=1e-8)


def test_conditional_power_futility_bounds_hit_their_threshold():
    """A futility bound on the conditional-power scale is the z where CP under the design's
    effect equals the threshold (checked by recomputing the CP at the bound)."""
    d = group_sequential(3, 0.025, 0.2, futility=[0.1, 0.2], futility_scale="conditional-power")
    for look, gamma in ((1, 0.1), (2, 0.2)):
        cp = conditional_power(d, look, d.futility_bounds[look - 1])
        assert cp.conditional_power[-1] == pytest.approx(gamma, abs=1e-8)
    assert d.power == pytest.approx(0.8, abs=1e-8)


def test_simulated_probabilities_of_a_binding_beta_spending_design():
    """Monte Carlo check (independent of rpact) of the per-look exits under H0 and H1."""
    d = group_sequential(4, 0.025, 0.2, futility="pocock", binding=True)
    t = np.asarray(d.information_rates)
    rng = np.random.default_rng(7)
    n = 200_000
    c, b = np.asarray(d.critical_values), np.asarray(d.futility_bounds)
    for eta, rej, fut in (
        (0.0, d.rejection_h0, d.futility_h0),
        (d.drift, d.rejection_h1, d.futility_h1),
    ):
        inc = rng.standard_normal((n, 4)) * np.sqrt(np.diff(np.r_[0, t])) + eta * np.diff(
            np.r_[0, t]
        )
        z = np.cumsum(inc, axis=1) / np.sqrt(t)
        alive = np.ones(n, bool)
        for j in range(4):
            up = alive & (z[:, j] >= c[j])
            lo = alive & (z[:, j] <= b[j]) & ~up
            se = math.sqrt(rej[j] * (1 - rej[j]) / n) + 1e-12
            assert abs(up.mean() - rej[j]) < 4.5 * se
            if j < 3:
                se = math.sqrt(fut[j] * (1 - fut[j]) / n)
                assert abs(lo.mean() - fut[j]) < 4.5 * se
            alive &= ~(up | lo)


def test_frame_has_one_row_per_look():
    d = group_sequential(5, 0.025, 0.2, futility="obrien-fleming")
    f = d.to_frame()
    assert list(f.columns[:6]) == [
        "look",
        "information",
        "z_efficacy",
        "z_futility",
        "nominal_p",
        "cum_alpha",
    ]
    assert len(f) == 5
    assert f["stop_h1"].sum() == pytest.approx(1.0)
    assert f["cum_power"].iloc[-1] == pytest.approx(0.8, abs=1e-8)
    assert "non-binding" in str(d)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(spending=("hsd",)), r"`spending` must be"),
        (dict(spending=[0.01, 0.02]), r"cumulative table of 3 values ending at 0.025"),
        (dict(boundary="wang-tsiatis"), r"`delta` must be a Wang-Tsiatis shape"),
        (
            dict(boundary="wang-tsiatis", delta=0.7),
            r"`delta` must be a Wang-Tsiatis shape in \[0, 0.5\]",
        ),
        (dict(delta=0.2), r"`delta` must be given only with boundary='wang-tsiatis'"),
        (dict(futility=[0.1]), r"`futility` must be 2 bounds"),
        (dict(futility="pocock", sided=2, alpha=0.05), r"one-sided only"),
        (dict(futility=[0.5, 1.2], futility_scale="conditional-power"), r"thresholds in \[0, 1\)"),
        (dict(futility_scale="p"), r"`futility_scale` must be one of"),
        (dict(binding="yes"), r"`binding` must be True or False"),
    ],
)
def test_bad_input(kw, match):
    args = dict(k=3, alpha=0.025, beta=0.2) | kw
    with pytest.raises(ParameterError, match=match):
        group_sequential(**args)


def test_bad_interim_input():
    d = group_sequential(3)
    with pytest.raises(ParameterError, match=r"`look` must be an analysis number in 1\.\.2"):
        conditional_power(d, 3, 1.0)
    with pytest.raises(ParameterError, match="`information` must be 3 increasing"):
        conditional_power(d, 1, 1.0, information=[2, 1, 3])
    with pytest.raises(ParameterError, match="`z` must be 1 to 3"):
        analysis_results(d, [1, 2, 3, 4])


@pytest.mark.parametrize(
    "k, pocock, obf",
    [(2, 2.178, 1.977), (3, 2.289, 2.004), (4, 2.361, 2.024), (5, 2.413, 2.040)],
)
def test_classical_constants_match_published_tables(k, pocock, obf):
    """Jennison & Turnbull (2000), Tables 2.1 and 2.3 (Pocock 1977; O'Brien & Fleming 1979):
    two-sided 5 %, equal group sizes, C_P(K) and C_B(K) to three decimals."""
    p = group_sequential(k, 0.05, 0.2, sided=2, boundary="wang-tsiatis", delta=0.5)
    o = group_sequential(k, 0.05, 0.2, sided=2, boundary="wang-tsiatis", delta=0.0)
    assert round(p.critical_values[0], 3) == pocock
    assert round(o.critical_values[-1], 3) == obf
