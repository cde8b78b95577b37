"""Analytic power and sample size against R (power.prop.test, power.t.test, pwr, rpact).

Reference values: ``tests/reference/power.R`` -> ``tests/fixtures/power_from_r.py``.

Two conventions for a two-sided power, and each test says which one its reference uses:

* **one tail** (our default, ``strict=False``): only the rejections on the side of the assumed
  effect count — R's ``power.prop.test`` / ``power.t.test`` default (``strict = FALSE``) and
  rpact's fixed-design sample sizes (``getSampleSizeRates`` / ``getSampleSizeMeans``,
  ``sided = 2``);
* **both tails** (``strict=True``): the opposite rejection tail counts too — R's
  ``power.*.test(strict = TRUE)``, every ``pwr`` function, statsmodels' ``*IndPower`` and
  rpact's ``getPowerMeans`` (``sided = 2``).
"""

from __future__ import annotations

import math

import pytest
import statsmodels.stats.power as smp
from statsmodels.stats.proportion import proportion_effectsize

from tests.fixtures import power_from_r as R
from trial_analysis.errors import AnalysisError, ParameterError
from trial_analysis.power import (
    power_ancova,
    power_margin,
    power_two_means,
    power_two_proportions,
    restricted_mle,
    sample_size_table,
)


@pytest.mark.parametrize("ref", R.POWER_PROP_TEST)
def test_pooled_z_matches_power_prop_test(ref):
    """Both tails. R: power.prop.test(n, p1, p2, sig.level, strict = TRUE) and the n for
    power = 0.8."""
    kw = dict(alpha=ref["alpha"], strict=True)
    r = power_two_proportions(ref["p1"], ref["p2"], n1=ref["n"], **kw)
    assert r.power == pytest.approx(ref["power"], rel=1e-10)
    assert "both rejection tails" in r.method
    s = power_two_proportions(ref["p1"], ref["p2"], power=0.8, **kw)
    assert s.n1_exact == pytest.approx(ref["n_for_80"], rel=1e-6)  # R uniroot tolerance
    assert s.n1 == math.ceil(ref["n_for_80"])
    assert s.power >= 0.8


@pytest.mark.parametrize("ref", R.PWR_2P2N)
def test_arcsine_matches_pwr_2p2n(ref):
    """Both tails (pwr always counts them). R: pwr.2p2n.test(h = ES.h(p1, p2), n1, n2,
    sig.level); n1 solved for power 0.7."""
    kw = dict(alpha=ref["alpha"], method="arcsine", strict=True)
    r = power_two_proportions(ref["p1"], ref["p2"], n1=ref["n1"], n2=ref["n2"], **kw)
    assert r.power == pytest.approx(ref["power"], rel=1e-10)
    # solve n1 for a fixed n2: bisection on n1 with our power function
    from scipy.optimize import brentq

    n1 = brentq(
        lambda n: power_two_proportions(ref["p1"], ref["p2"], n1=n, n2=ref["n2"], **kw).power - 0.7,
        2,
        1e5,
    )
    assert n1 == pytest.approx(ref["n1_given_n2_for_70"], rel=1e-4)


def test_arcsine_matches_statsmodels():
    """Both tails. statsmodels NormalIndPower with Cohen's h (independent Python
    implementation)."""
    h = proportion_effectsize(0.2, 0.0455)
    sm = smp.NormalIndPower().power(h, nobs1=45, alpha=0.05, ratio=44 / 45)
    r = power_two_proportions(0.2, 0.0455, n1=45, n2=44, method="arcsine", strict=True)
    assert r.power == pytest.approx(sm, rel=1e-10)


@pytest.mark.parametrize("ref", R.Z_SAMPLE_SIZE)
def test_pooled_unpooled_and_fleiss_sample_size(ref):
    """R (coded from Fleiss, Levin & Paik 2003, sec. 4.2, in tests/reference/power.R):
    n1 = (z_a sqrt(V0) + z_b sqrt(V1))^2 / d^2 and n1' = n1/4 (1 + sqrt(1 + 2(k+1)/(n1 k |d|)))^2.
    One tail: the closed form is the default's exact inverse (our root-finder: 1e-9); counting
    both tails as well needs slightly fewer patients (agreement only to 1e-5)."""
    method = "pooled" if ref["pooled"] else "unpooled"
    kw = dict(power=ref["power"], alpha=ref["alpha"], ratio=ref["ratio"], method=method)
    r = power_two_proportions(ref["p1"], ref["p2"], **kw)
    assert r.n1_exact == pytest.approx(ref["n1"], rel=1e-9)
    assert r.n2_exact == pytest.approx(ref["ratio"] * ref["n1"], rel=1e-9)
    c = power_two_proportions(ref["p1"], ref["p2"], continuity=True, **kw)
    assert c.n1_exact == pytest.approx(ref["n1_fleiss"], rel=1e-9)
    assert c.n1 > r.n1
    both = power_two_proportions(ref["p1"], ref["p2"], strict=True, **kw)
    assert both.n1_exact < r.n1_exact
    assert both.n1_exact == pytest.approx(ref["n1"], rel=1e-5)


def test_continuity_power_is_inverse_of_fleiss_size():
    s = power_two_proportions(0.3, 0.1, power=0.85, continuity=True)
    p = power_two_proportions(0.3, 0.1, n1=s.n1_exact, continuity=True)
    assert p.power == pytest.approx(0.85, abs=1e-9)


@pytest.mark.parametrize("ref", R.POWER_T_TEST)
def test_t_test_matches_power_t_test(ref):
    """Both tails. R: power.t.test(n, delta, sd, sig.level, strict = TRUE); n and delta for
    power 0.9."""
    kw = dict(alpha=ref["alpha"], strict=True)
    r = power_two_means(ref["delta"], ref["sd"], n1=ref["n"], **kw)
    assert r.power == pytest.approx(ref["power"], rel=1e-9)
    n = power_two_means(ref["delta"], ref["sd"], power=0.9, **kw)
    assert n.n1_exact == pytest.approx(ref["n_for_90"], rel=1e-5)
    d = power_two_means(None, ref["sd"], n1=ref["n"], power=0.9, **kw)
    # R's uniroot default tolerance (eps^0.25) limits R's own delta to ~1e-4
    assert d.effect["delta"] == pytest.approx(ref["delta_for_90"], rel=1e-4)
    assert d.solved_for == "effect"


@pytest.mark.parametrize("ref", R.PWR_T2N)
def test_unequal_t_matches_pwr_t2n(ref):
    """Both tails (pwr). R: pwr.t2n.test(d, n1, n2, sig.level)."""
    r = power_two_means(ref["d"], 1.0, n1=ref["n1"], n2=ref["n2"], alpha=ref["alpha"], strict=True)
    assert r.power == pytest.approx(ref["power"], rel=1e-9)


def test_t_matches_statsmodels_one_sided():
    """statsmodels TTestIndPower, one-sided, ratio 2."""
    sm = smp.TTestIndPower().power(0.4, nobs1=50, alpha=0.025, ratio=2, alternative="larger")
    r = power_two_means(0.4, 1, n1=50, ratio=2, alpha=0.025, alternative="greater")
    assert r.power == pytest.approx(sm, rel=1e-8)


@pytest.mark.parametrize("ref", R.ONE_TAIL_PROPORTIONS)
def test_default_two_sided_counts_one_tail_as_rpact_proportions(ref):
    """One tail (the default). R: power.prop.test(n, p1, p2, sig.level) (strict = FALSE) and
    its n for power 0.8; rpact getSampleSizeRates(pi1, pi2, sided = 2, alpha, beta = 0.2,
    allocationRatioPlanned = 1 / ratio, normalApproximation = TRUE)$nFixed1, $nFixed2."""
    kw = dict(alpha=ref["alpha"], ratio=ref["ratio"])
    s = power_two_proportions(ref["p1"], ref["p2"], power=0.8, **kw)
    assert s.n1_exact == pytest.approx(ref["rpact_n1_for_80"], rel=1e-9)
    assert s.n2_exact == pytest.approx(ref["rpact_n2_for_80"], rel=1e-9)
    assert "both" not in s.method
    if ref["power"] is not None:  # power.prop.test: equal arms only
        r = power_two_proportions(ref["p1"], ref["p2"], n1=ref["n"], **kw)
        assert r.power == pytest.approx(ref["power"], rel=1e-10)
        assert s.n1_exact == pytest.approx(ref["n_for_80"], rel=1e-9)
        both = power_two_proportions(ref["p1"], ref["p2"], n1=ref["n"], strict=True, **kw)
        # the opposite tail: positive, and small (below 1e-4 at these sizes)
        assert 0 < both.power - r.power < 1e-4


@pytest.mark.parametrize("ref", R.ONE_TAIL_MEANS)
def test_default_two_sided_counts_one_tail_as_rpact_means(ref):
    """One tail (the default). R: power.t.test(n, delta, sd, sig.level) (strict = FALSE), its n
    and delta for power 0.9 (tol = 1e-12); rpact getSampleSizeMeans(alternative = delta,
    stDev = sd, sided = 2, alpha, beta = 0.1, allocationRatioPlanned = 1 / ratio,
    normalApproximation = FALSE)$nFixed1 (rpact's own root-finder is looser: at 1:2
    allocation its n gives power 0.8999999, R ``pt`` at that n agreeing with ours to 1e-12;
    agreement 1e-6, while our n gives 0.9 to 1e-12).
    Both tails: rpact getPowerMeans(..., sided = 2, normalApproximation = FALSE) counts the
    opposite tail, as ``strict=True`` (to 1e-6: rpact's approximation of the noncentral t)."""
    kw = dict(alpha=ref["alpha"], ratio=ref["ratio"])
    s = power_two_means(ref["delta"], ref["sd"], power=0.9, **kw)
    assert s.n1_exact == pytest.approx(ref["rpact_n1_for_90"], rel=1e-6)
    assert s.n2_exact == pytest.approx(ref["rpact_n2_for_90"], rel=1e-6)
    at = power_two_means(ref["delta"], ref["sd"], n1=s.n1_exact, n2=s.n2_exact, alpha=ref["alpha"])
    assert at.power == pytest.approx(0.9, abs=1e-12)
    at_rpact = power_two_means(
        ref["delta"], ref["sd"], n1=ref["rpact_n1_for_90"], n2=ref["rpact_n2_for_90"], **kw
    )
    assert at_rpact.power == pytest.approx(0.9, abs=1e-6)
    both = power_two_means(ref["delta"], ref["sd"], n1=ref["n"], strict=True, **kw)
    assert both.power == pytest.approx(ref["rpact_power_both_tails"], abs=1e-6)
    if ref["power"] is not None:
        r = power_two_means(ref["delta"], ref["sd"], n1=ref["n"], **kw)
        assert r.power == pytest.approx(ref["power"], rel=1e-9)
        assert s.n1_exact == pytest.approx(ref["n_for_90"], rel=1e-9)
        d = power_two_means(None, ref["sd"], n1=ref["n"], power=0.9, **kw)
        assert abs(d.effect["delta"]) == pytest.approx(ref["delta_for_90"], rel=1e-8)
        assert r.power < both.power


def test_strict_only_changes_two_sided_power():
    """One-sided power has one rejection tail whatever ``strict`` says; at no effect the
    two-sided size is alpha/2 by default and alpha with ``strict=True`` (as R)."""
    g = power_two_means(0.4, 1, n1=40, alternative="greater", alpha=0.025)
    assert power_two_means(0.4, 1, n1=40, alternative="greater", alpha=0.025, strict=True) == g
    assert power_two_means(0.0, 1, n1=40).power == pytest.approx(0.025, rel=1e-12)
    assert power_two_means(0.0, 1, n1=40, strict=True).power == pytest.approx(0.05, rel=1e-12)
    assert power_two_proportions(0.3, 0.3, n1=40).power == pytest.approx(0.025, rel=1e-12)
    # a negative effect: the lower tail is the one counted
    lo = power_two_proportions(0.1, 0.3, n1=40)
    up = power_two_proportions(0.3, 0.1, n1=40)
    assert lo.power > 0.5 and up.power > 0.5


@pytest.mark.parametrize("ref", R.ANCOVA)
def test_ancova(ref):
    """Both tails. R (tests/reference/power.R, Borm et al. 2007): noncentral t,
    sd*sqrt(1-rho^2), df N-3, pt(q, ..., lower.tail = FALSE) + pt(-q, ...)."""
    kw = dict(n1=ref["n1"], n2=ref["n2"], alpha=ref["alpha"], strict=True)
    r = power_ancova(ref["delta"], ref["sd"], ref["rho"], **kw)
    assert r.power == pytest.approx(ref["power"], rel=1e-9)
    plain = power_two_means(ref["delta"], ref["sd"], **kw)
    assert r.power > plain.power


@pytest.mark.parametrize("ref", R.FARRINGTON_MANNING)
def test_farrington_manning_matches_rpact(ref):
    """R: rpact::getSampleSizeRates(pi1, pi2, thetaH0 = delta0, alpha, beta, sided = 1,
    allocationRatioPlanned = 1/ratio, normalApproximation = TRUE) and getPowerRates(...,
    maxNumberOfSubjects = 300); restricted MLE checked against optimize() on the likelihood."""
    kw = dict(alpha=ref["alpha"], ratio=ref["ratio"])
    r = power_margin(ref["p1"], ref["p2"], ref["delta0"], power=ref["power"], **kw)
    assert r.n1_exact == pytest.approx(ref["n1"], rel=1e-9)
    assert r.n2_exact == pytest.approx(ref["n2"], rel=1e-9)
    q1, q2 = restricted_mle(ref["p1"], ref["p2"], ref["delta0"], ref["ratio"])
    assert q1 == pytest.approx(ref["p1_restricted"], abs=1e-7)
    assert q2 == pytest.approx(ref["p2_restricted"], abs=1e-7)
    assert q1 - q2 == pytest.approx(ref["delta0"], abs=1e-12)
    p = power_margin(ref["p1"], ref["p2"], ref["delta0"], n1=300 / (1 + ref["ratio"]), **kw)
    assert p.power == pytest.approx(ref["power_at_300_total"], rel=1e-9)


def test_margin_zero_reduces_to_pooled_one_sided():
    a = power_margin(0.3, 0.15, 0.0, n1=80, alpha=0.025)
    b = power_two_proportions(0.3, 0.15, n1=80, alpha=0.025, alternative="greater")
    assert a.power == pytest.approx(b.power, rel=1e-12)


def test_margin_mn_variance_is_larger_than_fm():
    fm = power_margin(0.6, 0.65, -0.1, power=0.8)
    mn = power_margin(0.6, 0.65, -0.1, power=0.8, variance="mn")
    assert mn.n1_exact > fm.n1_exact
    assert "non-inferiority" in fm.method
    assert "superiority" in power_margin(0.3, 0.1, 0.05, power=0.8).method


def test_detectable_effect_round_trip():
    r = power_two_proportions(None, 0.0455, n1=45, power=0.8)
    p1 = r.effect["p1"]
    assert p1 > 0.0455
    assert power_two_proportions(p1, 0.0455, n1=45).power == pytest.approx(0.8, abs=1e-9)
    low = power_two_proportions(None, 0.5, n1=100, power=0.8, alternative="less")
    assert low.effect["p1"] < 0.5


def test_dropout_inflation_and_unequal_allocation():
    r = power_two_proportions(0.2, 0.0455, power=0.8, ratio=2, dropout=0.2)
    assert r.n2 == math.ceil(2 * r.n1_exact)
    assert r.n1_enrolled == math.ceil(r.n1 / 0.8)
    assert r.n_total_enrolled == r.n1_enrolled + r.n2_enrolled
    assert "dropout" in " ".join(r.notes)
    frame = r.to_frame()
    assert frame.loc[0, "n1_enrolled"] == r.n1_enrolled


def test_sample_size_table():
    t = sample_size_table([0.2, 0.3], 0.0455, power=[0.8, 0.9])
    f = t.to_frame()
    assert len(f) == 4
    assert f.groupby("p1")["n1"].apply(lambda s: s.is_monotonic_increasing).all()
    assert "Sample size table" in str(t)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: power_two_proportions(1.2, 0.1, n1=40),
            r"`p1` must be a probability in \(0, 1\), got 1.2",
        ),
        (lambda: power_two_proportions(0.2, 0.0, n1=40), r"`p2` must be a probability"),
        (lambda: power_two_proportions(0.2, 0.1, n1=1), r"`n1` must be a sample size >= 2"),
        (
            lambda: power_two_proportions(0.2, 0.1, n1=40, alpha=0.7),
            r"`alpha` must be a significance level in \(0, 0.5\]",
        ),
        (lambda: power_two_proportions(0.2, 0.1, n1=40, method="wald"), r"`method` must be one of"),
        (lambda: power_two_proportions(0.2, 0.1), r"exactly one left as None"),
        (
            lambda: power_two_proportions(0.2, 0.1, power=0.8, dropout=1.0),
            r"`dropout` must be a dropout proportion in \[0, 1\)",
        ),
        (
            lambda: power_two_proportions(0.2, 0.1, power=0.8, ratio=0),
            r"`ratio` must be an allocation ratio",
        ),
        (lambda: power_two_proportions(0.2, 0.2, power=0.8), r"`p1` must be different from p2"),
        (
            lambda: power_two_proportions(0.2, 0.1, power=0.8, method="arcsine", continuity=True),
            r"`continuity`",
        ),
        (lambda: power_two_means(0.5, -1, n1=20), r"`sd` must be a number > 0"),
        (lambda: power_ancova(0.5, 1, rho=1.0, n1=20), r"`rho` must be a correlation"),
        (
            lambda: power_margin(0.6, 0.65, -0.05, power=0.8),
            r"`delta0` must be different from p1 - p2",
        ),
        (
            lambda: power_margin(0.6, 0.65, -0.1, power=0.8, variance="wald"),
            r"`variance` must be one of",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_unreachable_power_is_an_error():
    # 3 patients per arm cannot give 99 % power whatever p1 is
    with pytest.raises(AnalysisError, match="no effect in"):
        power_two_proportions(None, 0.0455, n1=3, power=0.99)


def test_farrington_manning_matches_gsdesign_nbinomial_example():
    """Published worked example of gsDesign ``?nBinomial`` (non-inferiority, 2:1 allocation),
    quoted with its output in R-help, 15 Nov 2011
    (https://stat.ethz.ch/pipermail/r-help/2011-November/295673.html):
    ``nBinomial(p1 = .677, p2 = .677, delta0 = 0.07, ratio = 2)`` -> 2056.671 in total,
    ``outtype = 2``: n1 = 685.5569, n2 = 1371.114 (alpha = 0.025 one-sided, beta = 0.1)."""
    r = power_margin(0.677, 0.677, 0.07, power=0.9, alpha=0.025, ratio=2)
    assert r.n1_exact == pytest.approx(685.5569, abs=5e-5)
    assert r.n2_exact == pytest.approx(1371.114, abs=5e-4)
    assert r.n1_exact + r.n2_exact == pytest.approx(2056.671, abs=5e-4)
    assert r.n1 == 686 and r.n2 == 1372
