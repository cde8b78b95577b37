"""Adaptive designs (inverse-normal combination test, sample-size re-estimation) against rpact.

Reference: tests/reference/designs.R -> tests/fixtures/designs_from_r.py, section ADAPTIVE
(rpact 3.3.4 getDesignInverseNormal + getSimulationMeans, 200,000 seeded replicates per
effect; the promising-zone rule passed to rpact as ``calcSubjectsFunction``). rpact's values
are Monte Carlo estimates: the exact two-stage integration must lie within 4 of rpact's
standard errors, and our simulation within 4 combined standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fixtures import designs_from_r as R
from trial_analysis.errors import ParameterError
from trial_analysis.power import (
    adaptive_characteristics,
    combination_z,
    group_sequential,
    simulate_adaptive,
)


def _args(ref):
    design = group_sequential(**eval(ref["kwargs"]))  # the Python call written beside rpact's
    kw = dict(
        conditional_power=ref["conditional_power"],
        n_min=ref["n_min"],
        n_max=ref["n_max"],
        theta=ref["theta_h1"],
        promising_zone=tuple(ref["zone"]) if ref["zone"] else None,
    )
    return design, kw


def _se_p(p, n):
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def _check(mine, ref, se_mine, what):
    """mine within 4 combined SEs of rpact's Monte Carlo value."""
    n = ref["iterations"]
    for col, se_ref in (
        ("power", _se_p(ref["power"], n)),
        ("expected_n", ref["sd_n"] / math.sqrt(n)),
        ("p_n_max", _se_p(ref["p_n_max"], n)),
        ("p_increase", _se_p(ref["p_increase"], n)),
        ("futility", _se_p(sum(ref["futility_per_stage"]), n)),
    ):
        target = sum(ref["futility_per_stage"]) if col == "futility" else ref[col]
        se = math.hypot(se_ref, se_mine.get(col, 0.0))
        assert abs(mine[col] - target) <= 4 * se + 1e-12, (what, col, mine[col], target, se)


@pytest.mark.parametrize("ref", R.ADAPTIVE, ids=lambda r: f"{r['label']}-delta{r['delta']:g}")
def test_simulation_matches_rpact(ref):
    """R: getSimulationMeans(getDesignInverseNormal(...), groups = 2, alternative, stDev = 1,
    plannedSubjects, minNumberOfSubjectsPerStage, maxNumberOfSubjectsPerStage,
    conditionalPower, thetaH1, normalApproximation = TRUE, maxNumberOfIterations = 2e5,
    seed = 20261201[, calcSubjectsFunction = promising zone])."""
    design, kw = _args(ref)
    np.testing.assert_allclose(design.critical_values, ref["critical_values"], atol=1e-6)
    n = 100_000
    r = simulate_adaptive(design, ref["delta"], 1.0, ref["planned"], n_sims=n, seed=11, **kw)
    row = r.summary.iloc[0]
    se = {
        "power": row["power_mcse"],
        "expected_n": row["expected_n_mcse"],
        "p_n_max": _se_p(row["p_n_max"], n),
        "p_increase": _se_p(row["p_increase"], n),
        "futility": _se_p(row["futility"], n),
    }
    _check(row, ref, se, "simulation")
    rej = r.stages["reject"].to_numpy()
    for j, p in enumerate(ref["reject_per_stage"]):
        assert abs(rej[j] - p) <= 4 * math.hypot(_se_p(p, ref["iterations"]), _se_p(rej[j], n))


@pytest.mark.parametrize(
    "ref",
    [r for r in R.ADAPTIVE if len(r["planned"]) == 2],
    ids=lambda r: f"{r['label']}-delta{r['delta']:g}",
)
def test_integration_matches_rpact(ref):
    """The two-stage integration against the same rpact simulations (see above)."""
    design, kw = _args(ref)
    r = adaptive_characteristics(design, ref["delta"], 1.0, ref["planned"], **kw)
    _check(r.summary.iloc[0], ref, {}, "integration")


def test_integration_type_one_error_is_exact_and_no_reestimation_is_the_design():
    """Under H0 the inverse-normal test keeps the design's alpha whatever the re-estimation
    (Lehmacher & Wassmer 1999); without re-estimation the power and expected size are the
    group-sequential design's (already checked against rpact getPowerMeans)."""
    d = group_sequential(2, 0.025, 0.2, futility=[0.2], binding=True)
    for zone in (None, (0.3, 0.8)):
        r = adaptive_characteristics(
            d,
            0.0,
            1.0,
            [100, 200],
            conditional_power=0.8,
            n_min=50,
            n_max=600,
            promising_zone=zone,
        )
        assert r.power[0] == pytest.approx(d.type1_error, abs=1e-9)
    n_fixed = 200 / d.inflation_factor
    delta = d.drift * 2 / math.sqrt(200)  # the design's effect at N = 200, sd = 1
    r = adaptive_characteristics(d, delta, 1.0, [100, 200])
    assert r.power[0] == pytest.approx(d.power, abs=1e-9)
    assert r.summary["expected_n"][0] == pytest.approx(d.asn_h1 * n_fixed, rel=1e-9)


def test_simulation_agrees_with_integration_for_the_promising_zone():
    d = group_sequential(2, 0.025, 0.1, spending="pocock")
    kw = dict(conditional_power=0.9, n_max=500, promising_zone=(0.4, 0.9))
    exact = adaptive_characteristics(d, [0.0, 0.3], 1.0, [120, 240], **kw).summary
    sim = simulate_adaptive(d, [0.0, 0.3], 1.0, [120, 240], n_sims=200_000, seed=5, **kw).summary
    for col, mc in (("power", "power_mcse"), ("expected_n", "expected_n_mcse")):
        assert np.all(np.abs(sim[col] - exact[col]) <= 4 * sim[mc])


def test_quantiles_of_final_n_agree_between_simulation_and_integration():
    """The quantiles of the final total size by the two methods (one quantile rule): the
    point masses (stop at look 1: N = 200; n_max: N = 500) to within the simulation's bin
    width, the median (on the continuous part) within 8, about 4 Monte Carlo SEs (the spread
    over seeds of 100,000 trials is about 2)."""
    d = group_sequential(2, 0.025, 0.2)
    kw = dict(conditional_power=0.9, n_min=100, n_max=400)
    exact = adaptive_characteristics(d, [0.3], 1, [100, 200], **kw).n_quantiles.iloc[0]
    sim = simulate_adaptive(d, [0.3], 1, [100, 200], n_sims=100_000, seed=1, **kw).n_quantiles
    sim = sim.iloc[0]
    assert list(exact[["q10", "q25", "q75", "q90"]]) == [200.0, 200.0, 500.0, 500.0]
    for q in ("q10", "q25", "q75", "q90"):
        assert abs(sim[q] - exact[q]) < 0.1
    assert 200 < exact["q50"] < 500 and abs(sim["q50"] - exact["q50"]) < 8


def test_simulation_is_reproducible_and_independent_of_processes():
    d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    kw = dict(conditional_power=0.8, n_sims=6_000, chunk_size=1_000, seed=9)
    a = simulate_adaptive(d, 0.3, 1.0, [60, 120, 180], **kw)
    b = simulate_adaptive(d, 0.3, 1.0, [60, 120, 180], n_jobs=2, **kw)
    c = simulate_adaptive(d, 0.3, 1.0, [60, 120, 180], **(kw | {"seed": 10}))
    assert a.summary.equals(b.summary)
    assert not a.summary.equals(c.summary)


def test_combination_z():
    """Equal stage sizes: the inverse-normal statistic is the pooled z."""
    z = combination_z([1.0, 2.0, 0.5], [1 / 3, 2 / 3, 1.0])
    assert z[-1] == pytest.approx((1.0 + 2.0 + 0.5) / math.sqrt(3), abs=1e-12)


def test_bad_input():
    d = group_sequential(2)
    with pytest.raises(ParameterError, match="`planned` must be 2 increasing"):
        simulate_adaptive(d, 0.3, 1, [100])
    with pytest.raises(ParameterError, match="`promising_zone` must be given together"):
        simulate_adaptive(d, 0.3, 1, [100, 200], promising_zone=(0.3, 0.8))
    with pytest.raises(ParameterError, match="`n_max` must be at least n_min"):
        simulate_adaptive(d, 0.3, 1, [100, 200], conditional_power=0.8, n_min=300, n_max=200)
    with pytest.raises(ParameterError, match="`design` must be a two-stage design"):
        adaptive_characteristics(group_sequential(3), 0.3, 1, [1, 2, 3])
    with pytest.raises(ParameterError, match="`chunk_size` must be at most"):
        simulate_adaptive(d, 0.3, 1, [100, 200], chunk_size=10**7)
    with pytest.raises(ParameterError, match="`design` must be a one-sided design"):
        simulate_adaptive(group_sequential(2, 0.05, sided=2), 0.3, 1, [100, 200])


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_numbers():
    """Chunks on a Dask LocalCluster draw the same streams as local processes."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    d = group_sequential(2, 0.025, 0.2)
    kw = dict(conditional_power=0.9, n_max=400, n_sims=4_000, chunk_size=1_000, seed=3)
    local = simulate_adaptive(d, [0.0, 0.3], 1.0, [100, 200], **kw)
    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        remote = simulate_adaptive(d, [0.0, 0.3], 1.0, [100, 200], dask=client, **kw)
    assert local.summary.equals(remote.summary)
