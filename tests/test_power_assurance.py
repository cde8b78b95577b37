"""Assurance: checked against its closed form for exact tests.

For independent Beta posteriors, the posterior mean of the binomial probabilities of arm k
is the beta-binomial pmf, so the assurance of an exact test is exactly
``bb1' R bb2`` (``bb_k`` = scipy.stats.betabinom pmf, R = rejection region). The Monte
Carlo assurance must agree within its standard error.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy import stats

from trial_analysis.errors import ParameterError
from trial_analysis.power import assurance, exact_power, rejection_region


class BetaPosterior:
    """Independent Beta posteriors (the conjugate beta-binomial model)."""

    def __init__(self, a1, b1, a2, b2):
        self.a = (a1, b1, a2, b2)

    def draw(self, size, rng):
        a1, b1, a2, b2 = self.a
        return rng.beta(a1, b1, size), rng.beta(a2, b2, size)


def _closed_form(post, n1, n2, test="fisher", alpha=0.05):
    a1, b1, a2, b2 = post.a
    bb1 = stats.betabinom.pmf(np.arange(n1 + 1), n1, a1, b1)
    bb2 = stats.betabinom.pmf(np.arange(n2 + 1), n2, a2, b2)
    return float(bb1 @ rejection_region(n1, n2, test, alpha).astype(float) @ bb2)


@pytest.mark.parametrize("test", ["fisher", "barnard"])
def test_assurance_matches_beta_binomial_closed_form(test):
    # Zang 2022 9/45 vs 2/44 with uniform priors: Beta(10, 37) and Beta(3, 43)
    post = BetaPosterior(10, 37, 3, 43)
    a = assurance(9, 45, 2, 44, [25, 40], posterior=post, test=test, n_draws=20_000, seed=1)
    t = a.to_frame()
    for _, row in t.iterrows():
        exact = _closed_form(post, int(row.n1_new), int(row.n2_new), test)
        assert abs(row.assurance - exact) < 4 * row.mc_se
    # power at the point estimate is exact_power at 9/45, 2/44
    e = exact_power(9 / 45, 2 / 44, 25, 25, test).power
    assert t.power_at_estimate.iloc[0] == pytest.approx(e, rel=1e-12)
    # averaging over the posterior pulls power towards the middle: above the estimate's power
    # when that is low, below it (planning on the estimate is optimistic) when it is high
    if test == "fisher":
        assert t.assurance.iloc[0] > t.power_at_estimate.iloc[0]  # 25 per arm: power 0.21
        assert t.assurance.iloc[-1] < t.power_at_estimate.iloc[-1]  # 40 per arm: power 0.44
    assert a.assurance == t.assurance.iloc[0] and a.power == t.power_at_estimate.iloc[0]


def test_concentrated_posterior_gives_conventional_power():
    post = BetaPosterior(2e6, 8e6, 5e5, 9.5e6)  # p1 ~ 0.2, p2 ~ 0.05, sd ~ 1e-4
    a = assurance(20, 100, 5, 100, 60, posterior=post, test="normal_pooled", n_draws=200)
    assert a.assurance == pytest.approx(a.power, abs=2e-3)
    assert a.mc_se < 1e-3
    assert "mcse" not in a.to_frame()
    with pytest.warns(DeprecationWarning, match="mc_se"):
        assert a.mcse == a.mc_se


def test_plot_and_notes():
    a = assurance(9, 45, 2, 44, [20, 30], posterior=BetaPosterior(10, 37, 3, 43), n_draws=500)
    assert len(a.plot().axes[0].lines) >= 1
    assert "given posterior" in a.notes[0]


@pytest.mark.skipif(
    importlib.util.find_spec("trial_analysis.bayes") is None, reason="bayes area not merged"
)
def test_with_the_beta_binomial_posterior_of_the_bayes_module():
    a = assurance(9, 45, 2, 44, 70, n_draws=5_000, seed=3)
    assert 0 < a.assurance < a.power < 1


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(x1=50), r"`x1` must be a count between 0 and n1=45"),
        (dict(n1_new=1), r"`n1_new` must be a whole number >= 2"),
        (dict(test="t"), r"`test` must be one of"),
        (dict(posterior=object()), r"`posterior` must be an object with a draw"),
        (dict(n_draws=1), r"`n_draws` must be a whole number >= 2"),
        (dict(alpha=0.9), r"`alpha` must be a significance level"),
    ],
)
def test_bad_input(kw, match):
    args = dict(x1=9, n1=45, x2=2, n2=44, n1_new=70, posterior=BetaPosterior(10, 37, 3, 43))
    args.update(kw)
    with pytest.raises(ParameterError, match=match):
        assurance(**args)
