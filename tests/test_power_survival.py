"""Events, sample size and power for survival trials against rpact (tests/reference/survival.R).

rpact 3.3.4 ``getSampleSizeSurvival`` / ``getPowerSurvival`` (fixed designs, one-sided alpha;
our ``alpha`` is two-sided = 2 × rpact's; our ``ratio`` = n2/n1 = 1/allocationRatioPlanned).
Measured agreement: events and patients ~1e-12, power ~1e-16, analysis time ~6e-8 (rpact's
own root finder; ours solves the expected-events equation to 1e-12, checked below).
The simulation is checked against the analytic Schoenfeld power and the nominal type I error
within 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from tests._builders import rpact_power_survival, rpact_sample_size_survival
from tests.fixtures.survival_from_r import (
    GROUP_SEQUENTIAL_SURVIVAL,
    POWER_SURVIVAL,
    SAMPLE_SIZE_SURVIVAL,
)
from trial_analysis.errors import ParameterError
from trial_analysis.power import survival as ps


@pytest.mark.parametrize("c", SAMPLE_SIZE_SURVIVAL)
def test_sample_size_matches_rpact(c):
    """R: getSampleSizeSurvival(alpha, beta, sided = 1, hazardRatio, median2, accrualTime,
    followUpTime, dropoutRate1/2, dropoutTime, allocationRatioPlanned, typeOfComputation)."""
    r = rpact_sample_size_survival(c)
    assert r.events_exact == pytest.approx(c["events"], rel=1e-9)
    assert r.n_exact == pytest.approx(c["n"], rel=1e-9)
    assert r.events == math.ceil(c["events"])
    k = c["allocation_ratio"]
    assert r.n1 == math.ceil(c["n"] * k / (1 + k) - 1e-9)
    assert r.power >= c["power"]
    assert r.to_frame().loc[0, "events"] == r.events
    assert "ratio = n2/n1" in str(r)


@pytest.mark.parametrize("c", POWER_SURVIVAL)
def test_power_and_analysis_time_match_rpact(c):
    """R: getPowerSurvival(alpha, sided = 1, hazardRatio, median2, accrualTime,
    maxNumberOfSubjects, maxNumberOfEvents, allocationRatioPlanned)."""
    r = rpact_power_survival(c)
    assert r.power == pytest.approx(c["power"], abs=1e-12)
    assert r.analysis_time == pytest.approx(c["analysis_time"], abs=1e-6)
    # our time solves the expected-events equation (rpact's is within its solver tolerance)
    k = c["allocation_ratio"]
    lam2 = math.log(2) / c["median_control"]
    expected = c["n"] * ps._expected_events_at(
        r.analysis_time, (c["hr"] * lam2, lam2), (k / (1 + k), 1 / (1 + k)), c["accrual_time"], 0.0
    )
    assert expected == pytest.approx(c["events"], abs=1e-9)


def test_events_only_and_freedman_formula():
    # (z_.975 + z_.8)^2 (1 + 0.7)^2 / (1 - 0.7)^2 = 252.036 (rpact, Freedman, 1:1)
    assert ta.power.events_survival(0.7, method="freedman") == pytest.approx(252.036249247432)
    r = ta.power.sample_size_survival(0.7)
    assert r.solved_for == "events" and r.n1 is None and r.events == 247
    assert ta.power.power_survival(0.7, 247).power == pytest.approx(r.power)


def test_cox_z_for_simulation_equals_cox():
    rng = np.random.default_rng(7)
    t = rng.exponential(1.0, 300)
    x = (np.arange(300) < 150).astype(float)
    t[x == 1] *= 1.3
    e = (rng.uniform(size=300) < 0.8).astype(float)
    fit = ta.survival.cox(pd.DataFrame({"t": t, "e": e, "x": x}), "t", "e", ["x"], lr_ci=False)
    assert ps._cox_binary_z(t, e, x) == pytest.approx(fit.coef[0] / fit.se[0], rel=1e-9)


def test_simulated_power_agrees_with_schoenfeld():
    h = math.log(2) / 12
    design = ta.power.sample_size_survival(
        0.7, median_control=12, accrual_time=24, follow_up_time=12
    )
    sim = ta.power.simulate_survival(
        0.7 * h,
        h,
        design.n1,
        design.n2,
        accrual_time=24,
        events=design.events,
        analyses=("logrank", "cox"),
        n_sims=1000,
        seed=11,
    )
    for a in ("logrank", "cox"):
        row = sim.table.set_index("analysis").loc[a]
        assert abs(row["power"] - design.power) < 4 * row["mcse"]
    assert sim.table["mean_events"].iloc[0] == design.events


def test_simulated_type_one_error_is_nominal_and_reproducible():
    h = math.log(2) / 10
    kw = dict(
        accrual_time=12,
        analysis_time=30,
        analyses=("logrank", "fh", "rmst"),
        n_sims=1000,
        seed=5,
        chunk_size=250,
    )
    a = ta.power.simulate_survival(h, h, 100, 100, **kw)
    se = math.sqrt(0.05 * 0.95 / 1000)
    assert (np.abs(a.table["power"] - 0.05) < 4 * se).all()
    b = ta.power.simulate_survival(h, h, 100, 100, **kw)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_delayed_effect_favours_late_weights():
    h = math.log(2) / 12
    r = ta.power.simulate_survival(
        [h, 0.55 * h],
        h,
        150,
        150,
        cuts=[6],
        accrual_time=12,
        analysis_time=36,
        analyses=("logrank", "fh"),
        n_sims=400,
        seed=2,
    )
    assert r.power["fh"] > r.power["logrank"]


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: ta.power.sample_size_survival(1.0), "hr"),
        (
            lambda: ta.power.sample_size_survival(0.7, median_control=12),
            "median_control/accrual_time/follow_up_time",
        ),
        (
            lambda: ta.power.sample_size_survival(
                0.7, median_control=12, accrual_time=12, follow_up_time=6, dropout_rate=1.0
            ),
            "dropout_rate",
        ),
        (
            lambda: ta.power.power_survival(0.7, 600, n=500, median_control=12, accrual_time=12),
            "events",
        ),
        (
            lambda: ta.power.simulate_survival([0.1, 0.2], 0.1, 50, 50, events=40),
            "hazard_experimental",
        ),
        (lambda: ta.power.simulate_survival(0.1, 0.1, 50, 50), "analysis_time/events"),
        (lambda: ta.power.simulate_survival(0.1, 0.1, 50, 50, events=40, n_sims=10**8), "n_sims"),
    ],
)
def test_bad_input_names_the_parameter(call, param):
    with pytest.raises(ParameterError) as e:
        call()
    assert e.value.parameter == param


@pytest.mark.parametrize("c", GROUP_SEQUENTIAL_SURVIVAL)
def test_group_sequential_survival_matches_rpact(c):
    """R: getSampleSizeSurvival(design = getDesignGroupSequential(kMax, alpha = 0.025,
    beta = 0.2, typeOfDesign = "asOF"/"asP", informationRates), hazardRatio, median2,
    accrualTime, followUpTime, dropoutRate1/2, allocationRatioPlanned, typeOfComputation).
    Measured: events, patients ~5e-9 relative (the inflation factor of our boundaries),
    analysis times ~1e-7."""
    d = ta.power.group_sequential(
        c["k"],
        alpha=0.025,
        beta=0.2,
        spending=c["spending"],
        information_rates=c["information_rates"],
    )
    r = ta.power.group_sequential_survival(
        d,
        c["hr"],
        median_control=c["median_control"],
        accrual_time=c["accrual_time"],
        follow_up_time=c["follow_up_time"],
        ratio=1 / c["allocation_ratio"],
        dropout_rate=c["dropout_rate"],
        method=c["method"].lower(),
    )
    t = r.to_frame()
    np.testing.assert_allclose(t["events"], c["events"], rtol=1e-7)
    assert r.max_events == pytest.approx(c["max_events"], rel=1e-7)
    assert r.n_exact == pytest.approx(c["n"], rel=1e-7)
    np.testing.assert_allclose(t["analysis_time"], c["analysis_time"], atol=1e-6)
    np.testing.assert_allclose(t["n_at_analysis"], c["n_at_analysis"], rtol=1e-7)
    assert "inflation factor" in str(r)


def test_group_sequential_survival_events_only_and_bad_design():
    d = ta.power.group_sequential(2)
    r = ta.power.group_sequential_survival(d, 0.7)
    assert r.n1 is None and "analysis_time" not in r.table
    assert r.max_events == pytest.approx(d.inflation_factor * ta.power.events_survival(0.7))
    with pytest.raises(ParameterError) as e:
        ta.power.group_sequential_survival("not a design", 0.7)
    assert e.value.parameter == "design"


@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("dropout_rate", [0.0, 0.1])
def test_group_sequential_patients_are_the_fixed_design_times_the_inflation(ratio, dropout_rate):
    """One patients-for-events rule serves both: the group-sequential design's patients are
    the fixed design's (same one-sided alpha and power) times the inflation factor, since
    patients are proportional to events at the same accrual and follow-up; every arm rounded
    up from its share (rpact rounds the same way)."""
    d = ta.power.group_sequential(3, 0.025, 0.2)
    kw = dict(median_control=9, accrual_time=18, follow_up_time=9, ratio=ratio)
    kw["dropout_rate"] = dropout_rate
    fixed = ta.power.sample_size_survival(0.7, 0.8, 0.025, alternative="greater", **kw)
    gs = ta.power.group_sequential_survival(d, 0.7, **kw)
    assert gs.n_exact == pytest.approx(d.inflation_factor * fixed.n_exact, rel=1e-12)
    k = 1 / ratio
    assert gs.n1 == math.ceil(gs.n_exact * k / (1 + k) - 1e-9)
    assert gs.n2 == math.ceil(gs.n_exact / (1 + k) - 1e-9)
    assert fixed.n1 + fixed.n2 >= fixed.n_exact


def test_simulation_before_anyone_can_have_an_event_never_rejects():
    r = ta.power.simulate_survival(
        0.5,
        1.0,
        20,
        20,
        accrual_time=10,
        analysis_time=0.01,
        analyses=("logrank", "fh", "cox", "rmst"),
        n_sims=20,
        seed=1,
    )
    assert (r.table["power"] == 0).all()
