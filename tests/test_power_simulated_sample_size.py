"""Sample size by simulation (``ta.power.simulate_sample_size``): bisection over n with the
scenario's allocation, each size simulated from the same seed.

Reference: the analytic ANCOVA sample size ``ta.power.power_ancova`` (itself checked against R
``pwr``/noncentral t in ``tests/test_power_analytic.py``) for a scenario it describes exactly.
"""

from __future__ import annotations

import math

import pytest

from trial_analysis.errors import ParameterError
from trial_analysis.power import power_ancova, simulate_sample_size


def _scenario(n=(50, 50), effect=-0.5, arms=("Drug", "Placebo")):
    means = {a: [0.0, 0.0] for a in arms}
    means[arms[0]] = [0.0, effect]
    return {
        "arms": {"names": list(arms), "n": list(n)},
        "endpoints": {
            "y": {
                "type": "continuous",
                "visits": [0, 12],
                "mean": means,
                "sd": 1,
                "correlation": {"structure": "cs", "rho": 0.5},
            }
        },
        "analyses": [{"endpoint": "y", "method": "ancova", "name": "y_ancova"}],
    }


def test_matches_the_analytic_ancova_size():
    """At 4,000 trials a size the MC SE of power is ~0.0063, about 1.5 patients per arm near
    80 % here: the search lands within 4 patients of the analytic answer."""
    r = simulate_sample_size(_scenario(), "y_ancova", 0.8, n_range=(20, 200), n_sims=4000, seed=1)
    exact = power_ancova(0.5, 1.0, 0.5, power=0.8, alpha=0.05)
    n_exact = math.ceil(exact.n1)
    assert r.reached
    assert abs(r.n_per_arm[0] - n_exact) <= 4, (r.n_per_arm, exact.n1)
    assert r.power >= 0.8
    below = r.searched.loc[r.searched.n_control == r.n_per_arm[0] - 1, "power"]
    assert below.empty or float(below.iloc[0]) < 0.8  # the smallest size that reaches it


def test_allocation_is_kept_and_the_target_can_be_unreachable():
    r = simulate_sample_size(
        _scenario(n=(100, 50), effect=-0.1), "y_ancova", 0.9, n_range=(10, 40), n_sims=500, seed=2
    )
    assert not r.reached
    assert r.n_per_arm == (80, 40)
    assert "not reached" in str(r)


def test_same_seed_same_answer():
    a = simulate_sample_size(_scenario(), "y_ancova", 0.8, n_range=(20, 120), n_sims=500, seed=3)
    b = simulate_sample_size(_scenario(), "y_ancova", 0.8, n_range=(20, 120), n_sims=500, seed=3)
    assert a.n_per_arm == b.n_per_arm and a.searched.equals(b.searched)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(analysis="nope"), "analysis"),
        (dict(power=1.5), "power"),
        (dict(n_range=(50, 10)), "n_range"),
        (dict(n_range="x"), "n_range"),
        (dict(comparison="A vs B"), "comparison"),
    ],
)
def test_bad_input_names_the_parameter(kw, name):
    args = dict(analysis="y_ancova", power=0.8, n_range=(10, 20), n_sims=50, seed=1) | kw
    with pytest.raises(ParameterError, match=name):
        simulate_sample_size(_scenario(), **args)
