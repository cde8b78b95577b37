"""Adaptive two-arm trials of rates (``ta.power.simulate_adaptive_rates``) and of means with
stage-wise t tests (``ta.power.simulate_adaptive(test="t")``).

Reference: ``Rscript tests/reference/adaptive_sims.R`` -> ``tests/fixtures/adaptive_sims_from_r.py``
(and ``getSimulationMeans(normalApproximation = FALSE)`` for the t version):
``getSimulationRates(getDesignInverseNormal(...), groups = 2, pi1, pi2, plannedSubjects,
allocationRatioPlanned, conditionalPower, minNumberOfSubjectsPerStage,
maxNumberOfSubjectsPerStage, pi1H1, pi2H1, normalApproximation = TRUE,
maxNumberOfIterations = 50000, seed = 20261201)`` (rpact 3.3.4). Monte Carlo values on both
sides: compared within 4 combined Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fixtures import adaptive_sims_from_r as R
from trial_analysis.errors import ParameterError
from trial_analysis.power import group_sequential, simulate_adaptive, simulate_adaptive_rates

N_SIMS = 200_000


def _kwargs(ref: dict) -> dict:
    if ref["conditional_power"] is None:
        return {}
    return {
        "conditional_power": ref["conditional_power"],
        "n_min": ref["n_min"],
        "n_max": ref["n_max"],
        "pi1_h1": ref["pi1_h1"],
        "pi2_h1": ref["pi2_h1"],
    }


@pytest.mark.parametrize("ref", R.ADAPTIVE_RATES, ids=lambda r: f"{r['label']}-pi1{r['pi1']:g}")
def test_matches_rpact_within_monte_carlo_error(ref):
    """Power, rejections and futility stops per look, expected and SD of the final N."""
    design = group_sequential(**eval(ref["kwargs"]))  # fixture literal
    r = simulate_adaptive_rates(
        design,
        ref["pi1"],
        ref["pi2"],
        ref["planned"],
        ratio=1 / ref["allocation"],
        n_sims=N_SIMS,
        seed=3,
        **_kwargs(ref),
    )
    row = r.summary.iloc[0]
    it = ref["iterations"]

    def close(ours, theirs, var_ours, var_theirs):
        assert abs(ours - theirs) <= 4 * math.sqrt(var_ours / N_SIMS + var_theirs / it) + 1e-12

    p = ref["power"]
    close(row.power, p, row.power * (1 - row.power), p * (1 - p))
    for look, q in enumerate(ref["reject_per_stage"], start=1):
        ours = float(r.stages.loc[r.stages.look == look, "reject"].iloc[0])
        close(ours, q, ours * (1 - ours), q * (1 - q))
    for look, q in enumerate(ref["futility_per_stage"], start=1):
        if len(ref["planned"]) == 2:
            continue  # rpact reports 0 for "no futility look"
        ours = float(r.stages.loc[r.stages.look == look, "futility"].iloc[0])
        close(ours, q, ours * (1 - ours), q * (1 - q))
    close(row.expected_n, ref["expected_n"], row.sd_n**2, ref["sd_n"] ** 2)
    assert row.sd_n == pytest.approx(ref["sd_n"], rel=0.03)
    assert row.delta == pytest.approx(ref["pi1"] - ref["pi2"])


def test_fixed_design_type_one_error_and_sizes():
    """Without re-estimation every trial has the planned sizes; under H0 the rejection rate is
    near the design's alpha (the pooled z test is close to exact at 150 per arm)."""
    d = group_sequential(3, 0.025, 0.2)
    r = simulate_adaptive_rates(d, 0.3, 0.3, [100, 200, 300], n_sims=100_000, seed=9)
    row = r.summary.iloc[0]
    assert abs(row.power - 0.025) < 4 * math.sqrt(0.025 * 0.975 / 100_000) + 0.002
    assert set(np.round(r.n_quantiles.iloc[0, 3:].to_numpy(float))) <= {100.0, 200.0, 300.0}
    assert row.p_increase == 0


def test_seed_and_chunking_rule():
    d = group_sequential(2, 0.025, 0.2)
    kw = dict(conditional_power=0.8, n_min=100, n_max=300, n_sims=20_000, seed=4)
    a = simulate_adaptive_rates(d, [0.2, 0.35], 0.2, [100, 200], chunk_size=5_000, **kw)
    b = simulate_adaptive_rates(d, [0.2, 0.35], 0.2, [100, 200], chunk_size=5_000, **kw)
    c = simulate_adaptive_rates(d, [0.2, 0.35], 0.2, [100, 200], chunk_size=20_000, **kw)
    assert a.summary.equals(b.summary)
    assert not a.summary.equals(c.summary)  # another chunking draws other streams
    assert a.summary.power.iloc[1] == pytest.approx(c.summary.power.iloc[1], abs=0.02)


def test_shares_the_means_machinery():
    """The same result class and columns as the means simulation (one vocabulary)."""
    d = group_sequential(2, 0.025, 0.2)
    r = simulate_adaptive_rates(d, 0.35, 0.2, [100, 200], n_sims=1_000, seed=1)
    m = simulate_adaptive(d, 0.3, 1.0, [100, 200], n_sims=1_000, seed=1)
    assert type(r) is type(m)
    assert set(m.summary.columns) <= set(r.summary.columns)
    assert "pooled z test" not in str(m) and "re-estimation" in r.rule


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(pi1=1.2), "pi1"),
        (dict(pi2=-0.1), "pi2"),
        (dict(planned=[100.5, 200]), "planned"),
        (dict(planned=[100]), "planned"),
        (dict(pi1_h1=2.0, conditional_power=0.8), "pi1_h1"),
        (dict(n_sims=0), "n_sims"),
        (dict(ratio=0), "ratio"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    d = group_sequential(2, 0.025, 0.2)
    args = dict(pi1=0.3, pi2=0.2, planned=[100, 200], n_sims=10) | kwargs
    pi1, pi2, planned = args.pop("pi1"), args.pop("pi2"), args.pop("planned")
    with pytest.raises(ParameterError, match=name):
        simulate_adaptive_rates(d, pi1, pi2, planned, **args)


@pytest.mark.parametrize("ref", R.ADAPTIVE_T, ids=lambda r: f"{r['label']}-delta{r['delta']:g}")
def test_t_stages_match_rpact_within_monte_carlo_error(ref):
    """``simulate_adaptive(test="t")`` against ``getSimulationMeans(normalApproximation =
    FALSE, stDev = 1, ...)``: small stages, where the t and z versions differ."""
    design = group_sequential(**eval(ref["kwargs"]))  # fixture literal
    kw = {}
    if ref["conditional_power"] is not None:
        kw = dict(
            conditional_power=ref["conditional_power"], n_min=ref["n_min"], n_max=ref["n_max"]
        )
    r = simulate_adaptive(
        design, ref["delta"], 1.0, ref["planned"], test="t", n_sims=N_SIMS, seed=8, **kw
    )
    row = r.summary.iloc[0]
    it = ref["iterations"]
    p = ref["power"]
    assert abs(row.power - p) <= 4 * math.sqrt(
        row.power * (1 - row.power) / N_SIMS + p * (1 - p) / it
    )
    for look, q in enumerate(ref["reject_per_stage"], start=1):
        ours = float(r.stages.loc[r.stages.look == look, "reject"].iloc[0])
        assert abs(ours - q) <= 4 * math.sqrt(ours * (1 - ours) / N_SIMS + q * (1 - q) / it)
    assert abs(row.expected_n - ref["expected_n"]) <= 4 * math.sqrt(
        row.sd_n**2 / N_SIMS + ref["sd_n"] ** 2 / it
    )
    assert "t tests" in r.rule


def test_t_differs_from_z_in_small_stages():
    """Under H0 with 10 patients a stage the z draw at the t's boundaries is not the same
    trial: the t version keeps alpha, and both versions keep it (within MC error)."""
    d = group_sequential(3, 0.025, 0.2, spending="pocock")
    z = simulate_adaptive(d, 0.0, 1.0, [10, 20, 30], n_sims=100_000, seed=2)
    t = simulate_adaptive(d, 0.0, 1.0, [10, 20, 30], n_sims=100_000, seed=2, test="t")
    se = math.sqrt(0.025 * 0.975 / 100_000)
    assert abs(t.power[0] - 0.025) < 4 * se and abs(z.power[0] - 0.025) < 4 * se
    assert t.power != z.power
    with pytest.raises(ParameterError, match="test"):
        simulate_adaptive(d, 0.0, 1.0, [10, 20, 30], test="wald")
    with pytest.raises(ParameterError, match="planned"):
        simulate_adaptive(d, 0.0, 1.0, [2, 20, 30], test="t")
