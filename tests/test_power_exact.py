"""Exact power, size and sample size by enumeration.

References: R brute force (one ``fisher.test`` / ``chisq.test`` call per table, in
tests/reference/power.R) and scipy's one-table-at-a-time ``boschloo_exact`` /
``barnard_exact`` loops.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.fixtures import power_from_r as R
from trial_analysis.errors import AnalysisError, ParameterError
from trial_analysis.power import (
    exact_power,
    power_curve,
    power_two_proportions,
    rejection_region,
    sample_size,
    size_curve,
)


@pytest.mark.parametrize("ref", R.EXACT_POWER_BRUTE_FORCE, ids=lambda r: r["test"])
def test_matches_r_brute_force(ref):
    """R: sum(outer(dbinom(0:n1, n1, p1), dbinom(0:n2, n2, p2)) * R) with R the tables whose
    fisher.test(tab)$p.value / chisq.test(tab, correct)$p.value <= 0.05; size = max over
    p = 0.0005, 0.001, ..., 0.9995."""
    r = exact_power(ref["p1"], ref["p2"], ref["n1"], ref["n2"], test=ref["test"])
    assert r.n_rejecting_tables == ref["n_rejecting"]
    assert r.power == pytest.approx(ref["power"], rel=1e-10)
    # our size maximises over a finer search: never below R's grid maximum, and close to it
    assert r.size >= ref["size_on_grid"] - 1e-12
    assert r.size == pytest.approx(ref["size_on_grid"], abs=2e-4)


def _loop_power(p1, p2, n1, n2, pfun, alpha=0.05):
    b1 = stats.binom.pmf(np.arange(n1 + 1), n1, p1)
    b2 = stats.binom.pmf(np.arange(n2 + 1), n2, p2)
    total = 0.0
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            # scipy's unconditional tests take the arms as the columns of the table
            if pfun([[x1, x2], [n1 - x1, n2 - x2]]) <= alpha * (1 + 1e-9):
                total += b1[x1] * b2[x2]
    return total


@pytest.mark.parametrize("test", ["boschloo", "barnard"])
def test_unconditional_tests_match_scipy_loop(test):
    """scipy.stats.boschloo_exact / barnard_exact(pooled=True), one table per call."""
    n1, n2 = 6, 5
    f = {
        "boschloo": lambda t: stats.boschloo_exact(t, n=64).pvalue,
        "barnard": lambda t: stats.barnard_exact(t, n=64).pvalue,
    }[test]
    ref = _loop_power(0.7, 0.2, n1, n2, f)
    r = exact_power(0.7, 0.2, n1, n2, test=test)
    assert r.power == pytest.approx(ref, abs=1e-6)


def test_boschloo_is_at_least_as_powerful_as_fisher_and_exact_size():
    f = exact_power(0.4, 0.15, 30, 30, "fisher")
    b = exact_power(0.4, 0.15, 30, 30, "boschloo")
    assert b.power >= f.power  # Boschloo is uniformly more powerful than Fisher
    assert b.size <= 0.05 + 1e-9
    assert f.size <= 0.05


def test_power_at_null_equals_size_curve_and_one_sided():
    r = exact_power(0.3, 0.3, 25, 25, "chisq")
    c = size_curve(25, 25, "chisq", p=[0.3])
    assert r.power == pytest.approx(c.type1[0], rel=1e-12)
    # the chi-square test is anti-conservative somewhere for this size: flagged in notes
    assert r.size > 0.05
    assert any("anti-conservative" in n for n in r.notes)
    g = exact_power(0.4, 0.15, 30, 30, "fisher", alternative="greater")
    t = exact_power(0.4, 0.15, 30, 30, "fisher", alternative="two-sided", alpha=0.1)
    assert g.power > 0 and t.power > 0
    lo = exact_power(0.4, 0.15, 30, 30, "fisher", alternative="less")
    assert lo.power < 0.01


def test_exact_power_close_to_normal_approximation_for_large_n():
    e = exact_power(0.5, 0.3, 200, 200, "chisq")
    a = power_two_proportions(0.5, 0.3, n1=200)
    assert e.power == pytest.approx(a.power, abs=0.01)


def test_rejection_region_zang():
    reg = rejection_region(45, 44, "fisher")
    assert reg.shape == (46, 45)
    assert reg[9, 2]  # Zang 2022: Fisher p = 0.0496
    assert not reg[8, 2]
    assert not rejection_region(45, 44, "chisq_yates")[9, 2]  # Yates p = 0.058


def test_sample_size_saw_tooth():
    """The exact sample size of Fisher's test: first n reaching the target <= saw-tooth-safe n;
    power at every n between the safe n and n_max is >= target, and just below it is not."""
    s = sample_size(0.5, 0.2, power=0.8, test="fisher")
    assert s.n1_first <= s.n1 < s.n_max
    c = s.curve.set_index("n1")["power"]
    assert (c.loc[s.n1 :] >= 0.8).all()
    if s.n1 > c.index.min():
        assert c.loc[s.n1 - 1] < 0.8
    assert c.loc[s.n1_first] >= 0.8
    assert (c.loc[: s.n1_first - 1] < 0.8).all()
    # cross-check one point of the curve with exact_power
    assert c.loc[s.n1] == pytest.approx(exact_power(0.5, 0.2, s.n1, s.n1).power, rel=1e-12)
    # the exact test needs more patients than the uncorrected normal approximation
    assert s.n1 >= sample_size(0.5, 0.2, test="normal_pooled").n1
    assert s.plot() is not None


def test_sample_size_unequal_allocation_and_analytic():
    s = sample_size(0.5, 0.2, power=0.8, test="chisq", ratio=2)
    assert s.n2 == int(np.ceil(2 * s.n1))
    a = sample_size(0.2, 0.0455, test="normal_cc")
    assert a.n1 == power_two_proportions(0.2, 0.0455, power=0.8, continuity=True).n1


def test_sample_size_bound_too_small():
    with pytest.raises(AnalysisError, match="n_max = 20"):
        sample_size(0.2, 0.0455, test="fisher", n_max=20)


def test_power_curve_plot_and_frame():
    c = power_curve(0.2, 0.0455, range(20, 61, 10), ["fisher", "normal_pooled"], target=0.8)
    f = c.to_frame()
    assert set(f["test"]) == {"fisher", "normal_pooled"}
    assert f[f.test == "normal_pooled"]["power"].is_monotonic_increasing
    fig = c.plot()
    assert len(fig.axes[0].lines) == 3
    fig2 = size_curve(20, 20, "fisher").plot()
    assert fig2.axes[0].get_ylabel() == "actual type-I error"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: exact_power(0, 0.1, 20, 20), r"`p1` must be a probability in \(0, 1\), got 0"),
        (lambda: exact_power(0.2, 1.5, 20, 20), r"`p2` must be a probability"),
        (lambda: exact_power(0.2, 0.1, 1, 20), r"`n1` must be a whole number >= 2, got 1"),
        (lambda: exact_power(0.2, 0.1, 20, 20, alpha=0), r"`alpha` must be a significance level"),
        (
            lambda: exact_power(0.2, 0.1, 20, 20, test="fischer"),
            r"`test` must be one of .*'fischer'",
        ),
        (lambda: exact_power(0.2, 0.1, 20, 20, alternative="up"), r"`alternative` must be one of"),
        (lambda: sample_size(0.2, 0.2), r"`p1` must be different from p2"),
        (lambda: sample_size(0.2, 0.1, power=1.0), r"`power` must be a probability"),
        (
            lambda: sample_size(0.1, 0.2, alternative="greater"),
            r"`alternative` must be the direction",
        ),
        (lambda: size_curve(20, 20, p=[0.5, 1.2]), r"`p` must be a 1-d array"),
        (lambda: power_curve(0.2, 0.1, []), r"`n1` must be a non-empty range"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
