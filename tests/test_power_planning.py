"""The group-sequential alternative to a fixed design (power.planning)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trial_analysis.errors import ParameterError
from trial_analysis.power import group_sequential, sequential_alternative


def test_at_the_estimate_it_is_the_design():
    """No uncertainty: expected sizes are the design's (rpact-checked n_expected_h1/h0)."""
    d = group_sequential(4, 0.025, 0.2, futility="obrien-fleming")
    s = d.sample_size_means(0.4, 1.0)
    r = sequential_alternative(s, 0.4, 0.0).table
    assert r["n_expected"][1] == pytest.approx(s.n_expected_h1, rel=1e-9)
    assert r["n_expected_h0"][1] == pytest.approx(s.n_expected_h0, rel=1e-9)
    assert r["n_expected_averaged"][1] == pytest.approx(s.n_expected_h1, rel=1e-9)
    assert r["assurance"][1] == pytest.approx(0.8, abs=1e-9)
    assert r["power"][0] == pytest.approx(0.8, abs=1e-12)


def test_fixed_assurance_closed_form():
    """O'Hagan et al. (2005): E Phi(z_f theta / effect - z_a), theta ~ N(effect, se^2), is
    Phi((z_f - z_a) / sqrt(1 + (z_f se / effect)^2))."""
    d = group_sequential(3, 0.025, 0.1)
    s = d.sample_size_rates(0.4, 0.25)
    eff, se = 0.15, 0.07
    r = sequential_alternative(s, eff, se).table
    za, zf = stats.norm.isf(0.025), stats.norm.isf(0.025) + stats.norm.isf(0.1)
    expect = stats.norm.cdf((zf - za) / math.sqrt(1 + (zf * se / eff) ** 2))
    assert r["assurance"][0] == pytest.approx(expect, abs=1e-10)


def test_averages_match_monte_carlo_of_whole_trials():
    """Draw theta ~ N(effect, se^2), then the trial's z path, stop at the bounds: the mean
    sample size and the rejection rate match (4 MC SE), independently of the integration."""
    d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    s = d.sample_size_means(0.5, 1.0)
    eff, se = 0.5, 0.2
    r = sequential_alternative(s, eff, se).table
    rng = np.random.default_rng(17)
    n = 200_000
    theta = rng.normal(eff, se, n)
    t = np.asarray(d.information_rates)
    inc = rng.standard_normal((n, 3)) * np.sqrt(np.diff(np.r_[0, t]))
    z = np.cumsum(inc + (theta / eff * d.drift)[:, None] * np.diff(np.r_[0, t]), axis=1) / np.sqrt(
        t
    )
    c = np.asarray(d.critical_values)
    b = np.r_[np.asarray(d.futility_bounds)[:2], -np.inf]
    alive = np.ones(n, bool)
    rej = np.zeros(n, bool)
    n_used = np.full(n, s.n_max)
    for j in range(3):
        up, lo = alive & (z[:, j] >= c[j]), alive & (z[:, j] <= b[j])
        rej |= up
        n_used[alive & (up | lo)] = s.n_max * t[j]
        alive &= ~(up | lo)
    assert abs(rej.mean() - r["assurance"][1]) < 4 * math.sqrt(0.25 / n)
    assert abs(n_used.mean() - r["n_expected_averaged"][1]) < 4 * n_used.std() / math.sqrt(n)


def test_bad_input():
    d = group_sequential(2)
    with pytest.raises(ParameterError, match="`size` must be a GroupSequentialSampleSize"):
        sequential_alternative(d, 0.3, 0.1)
    with pytest.raises(ParameterError, match="`effect` must be a non-zero"):
        sequential_alternative(d.sample_size_means(0.3, 1), 0.0, 0.1)
