"""Simulation of whole trials: checked against exact enumeration, statsmodels and itself.

The exact power of a binary test (enumeration, validated against R in test_power_exact.py)
is the reference for the simulated power of the same design: the two must agree within
Monte Carlo error. Batched ANCOVA is checked against statsmodels OLS replicate by replicate,
batched MMRM against ``mmrm.fit`` on each replicate.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special, stats

from trial_analysis.errors import ParameterError, ScenarioError
from trial_analysis.power import (
    Scenario,
    ancova_batch,
    exact_power,
    load_scenario,
    power_ancova,
    simulate,
    simulate_grid,
)
from trial_analysis.power.scenario import mar_intercept
from trial_analysis.power.simulate import _analyse, _draw, _dropout_times, _long_frame

ARMS = ["UC-MSC", "Placebo"]


def _hba1c(exp_48=8.0, ctl_48=8.0, sd=1.05, rho=0.5, base=9.0, visits=(0, 48)):
    """Two visits: baseline and week 48 with correlation rho (more visits: AR(1) in the lag
    with rho between baseline and the last visit)."""
    v = list(visits)
    frac = np.asarray(v, float) / v[-1]
    return {
        "type": "continuous",
        "parameter": "HBA1C",
        "visits": v,
        "mean": {
            "UC-MSC": list(base + (exp_48 - base) * frac),
            "Placebo": list(base + (ctl_48 - base) * frac),
        },
        "sd": sd,
        "correlation": {"structure": "ar1", "rho": rho ** (1 / (len(v) - 1))},
    }


def _scenario(n=(45, 44), p=(0.2, 0.0455), analyses=None, dropout=None, endpoints=None):
    raw = {
        "scenario": {"name": "test"},
        "arms": {"names": ARMS, "n": list(n)},
        "endpoints": {
            "composite": {"type": "binary", "rate": dict(zip(ARMS, p, strict=True))},
            "hba1c": _hba1c(),
            "insulin": {
                "type": "continuous",
                "visits": [0, 48],
                "baseline_mean": 50.0,
                "change_scale": "pchg",
                "change": {"UC-MSC": [-20.0], "Placebo": [-20.0]},
                "sd": [15.0, 30.0],
                "correlation": {"structure": "cs", "rho": 0.0},
                "outcome": "pchg",
            },
            **(endpoints or {}),
        },
        "analyses": analyses or [{"name": "fisher", "endpoint": "composite", "method": "fisher"}],
    }
    if dropout:
        raw["dropout"] = {"endpoint": "hba1c", **dropout}
    return Scenario.from_dict(raw)


def _within(sim, exact, se, k=4.0):
    assert abs(sim - exact) < k * se, (sim, exact, se)


def test_fisher_simulation_matches_exact_power():
    r = simulate(_scenario(), n_sims=40_000, seed=11)
    e = exact_power(0.2, 0.0455, 45, 44, "fisher").power
    _within(r.power["fisher"], e, r.mc_se["fisher"])
    assert r.mc_se["fisher"] == pytest.approx(np.sqrt(e * (1 - e) / 40_000), rel=0.02)
    t = r.to_frame()
    assert t.loc[0, "true_effect"] == pytest.approx(0.2 - 0.0455)
    assert abs(t.loc[0, "bias"]) < 4 * t.loc[0, "bias_mc_se"]  # no dropout: unbiased RD


def test_monte_carlo_se_has_one_name():
    """The table's Monte Carlo SE of the rejection rate is ``mc_se`` only (it was also
    ``mcse``); ``SimulationResult.mcse`` is a deprecated alias that warns."""
    r = simulate(_scenario(), n_sims=500, seed=3)
    t = r.to_frame()
    assert "mcse" not in t.columns
    p = t.loc[0, "power"]
    assert t.loc[0, "mc_se"] == pytest.approx(np.sqrt(p * (1 - p) / 500), rel=1e-12)
    with pytest.warns(DeprecationWarning, match="mc_se"):
        old = r.mcse
    assert old == r.mc_se
    assert "mcse" not in simulate_grid(_scenario(), {"arms.n": [[45, 44]]}, 200).to_frame()


def test_binary_with_continuous_endpoints_matches_exact_power():
    s = _scenario(
        analyses=[
            {"name": "b", "endpoint": "composite", "method": "boschloo"},
            {"name": "a", "endpoint": "hba1c", "method": "ancova"},
        ],
        n=(20, 20),
        p=(0.5, 0.15),
    )
    r = simulate(s, n_sims=20_000, seed=5)
    e = exact_power(0.5, 0.15, 20, 20, "boschloo").power
    _within(r.power["b"], e, r.mc_se["b"])


def test_dropout_as_failure_is_thinned_binomial():
    s = _scenario(p=(0.5, 0.2), n=(30, 30), dropout={"rate": 0.2})
    r = simulate(s, n_sims=30_000, seed=3)
    e = exact_power(0.5 * 0.8, 0.2 * 0.8, 30, 30, "fisher").power
    _within(r.power["fisher"], e, r.mc_se["fisher"])
    t = r.to_frame()  # missing counted as failure: the RD shrinks by the dropout
    _within(t.loc[0, "bias"], -0.2 * 0.3, t.loc[0, "bias_mc_se"])


def test_complete_case_matches_mixture_of_exact_powers():
    """E over the evaluable sizes m_k ~ Binomial(12, 0.75) of the exact power at (m1, m2)."""
    s = _scenario(
        p=(0.6, 0.2),
        n=(12, 12),
        analyses=[{"name": "f", "endpoint": "composite", "method": "chisq"}],
        dropout={"rate": 0.25},
    ).with_overrides({"endpoints.composite.missing": "complete_case"})
    r = simulate(s, n_sims=20_000, seed=8)
    w = stats.binom.pmf(np.arange(13), 12, 0.75)
    num = den = 0.0
    for m1 in range(2, 13):
        for m2 in range(2, 13):
            num += w[m1] * w[m2] * exact_power(0.6, 0.2, m1, m2, "chisq").power
            den += w[m1] * w[m2]
    _within(r.power["f"], num / den, r.mc_se["f"])


def test_ancova_batch_matches_statsmodels():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(6, 40))
    c = rng.normal(size=(6, 40))
    arm = np.r_[np.ones(20), np.zeros(20)]
    obs = rng.random((6, 40)) > 0.25
    est, se, df, p = ancova_batch(y, arm, c, obs)
    for i in range(6):
        m = obs[i]
        fit = sm.OLS(y[i][m], sm.add_constant(np.column_stack([arm[m], c[i][m]]))).fit()
        assert est[i] == pytest.approx(fit.params[1], abs=1e-12)
        assert se[i] == pytest.approx(fit.bse[1], rel=1e-10)
        assert p[i] == pytest.approx(fit.pvalues[1], rel=1e-9)
        assert df[i] == fit.df_resid


def test_k_arm_ancova_matches_statsmodels():
    """Three arms in one model (control = code 0): each arm coefficient and SE as OLS."""
    from trial_analysis.power.simulate import _ols_arms

    rng = np.random.default_rng(1)
    y, c = rng.normal(size=(4, 45)), rng.normal(size=(4, 45))
    codes = np.repeat([0, 1, 2], 15)
    obs = rng.random((4, 45)) > 0.2
    est, se, df = _ols_arms(y, codes, 3, c, obs)
    for i in range(4):
        m = obs[i]
        x = np.column_stack([codes[m] == 1, codes[m] == 2, c[i][m]]).astype(float)
        fit = sm.OLS(y[i][m], sm.add_constant(x)).fit()
        np.testing.assert_allclose(est[i], fit.params[1:3], atol=1e-12)
        np.testing.assert_allclose(se[i], fit.bse[1:3], rtol=1e-10)
        assert df[i] == fit.df_resid


def test_ancova_batch_unidentifiable_is_nan():
    y = np.ones((1, 6))
    arm = np.r_[np.ones(3), np.zeros(3)]
    obs = np.array([[True, True, True, False, False, False]])  # no control patient
    est, _, _, p = ancova_batch(y + np.arange(6), arm, np.arange(6.0)[None], obs)
    assert np.isnan(est[0]) and np.isnan(p[0])


def test_simulated_ancova_power_matches_analytic():
    """HbA1c: SD 1.05 at baseline and week 48, rho 0.5, difference 0.67 (Zang 2022)."""
    s = _scenario(
        n=(30, 30),
        analyses=[{"name": "h", "endpoint": "hba1c", "method": "ancova"}],
        endpoints={"hba1c": _hba1c(7.52, 8.19)},
    )
    r = simulate(s, n_sims=20_000, seed=2)
    a = power_ancova(0.67, 1.05, 0.5, n1=30, n2=30).power
    # the analytic formula ignores the sampling variability of the covariate: allow 0.01
    assert abs(r.power["h"] - a) < 4 * r.mc_se["h"] + 0.01
    t = r.to_frame()
    assert t.loc[0, "true_effect"] == pytest.approx(-0.67)
    _within(t.loc[0, "coverage"], 0.95, t.loc[0, "coverage_mc_se"])
    _within(t.loc[0, "bias"], 0.0, t.loc[0, "bias_mc_se"])


def test_null_scenario_has_nominal_type1_error():
    s = _scenario(analyses=[{"name": "i", "endpoint": "insulin", "method": "ancova"}], n=(25, 25))
    r = simulate(s, n_sims=20_000, seed=9)
    _within(r.power["i"], 0.05, r.mc_se["i"])


def test_results_do_not_depend_on_processes_and_do_on_seed():
    s = _scenario(
        analyses=[
            {"name": "f", "endpoint": "composite", "method": "fisher"},
            {"name": "a", "endpoint": "insulin", "method": "ancova"},
        ]
    )
    one = simulate(s, n_sims=6_000, seed=4, chunk_size=1_000)
    two = simulate(s, n_sims=6_000, seed=4, chunk_size=1_000, n_jobs=2)
    assert one.to_frame().equals(two.to_frame())
    other = simulate(s, n_sims=6_000, seed=5, chunk_size=1_000)
    assert not one.to_frame().equals(other.to_frame())


def test_grid_first_scenario_equals_simulate_and_factors():
    s = _scenario()
    g = simulate_grid(
        s,
        {"arms.n": [[45, 44], [60, 60]], "analyses.0.method": ["fisher", "boschloo"]},
        n_sims=2_000,
        seed=1,
    )
    t = g.to_frame()
    assert len(t) == 4
    assert list(t.columns[:3]) == ["scenario", "analyses.0.method", "arms.n"]
    direct = simulate(s, n_sims=2_000, seed=1)
    assert t.loc[0, "rejections"] == direct.to_frame().loc[0, "rejections"]
    bigger = t[t["arms.n"].map(tuple) == (60, 60)]["power"]
    assert (bigger.to_numpy() > t[t["arms.n"].map(tuple) == (45, 44)]["power"].to_numpy()).all()
    assert g.plot("arms.n") is not None


def test_mar_dropout_rate_and_direction():
    assert special.expit(
        mar_intercept(0.2, 1.0) + 1.0 * np.random.default_rng(0).standard_normal(400_000)
    ).mean() == pytest.approx(0.2, abs=0.002)
    s = _scenario(dropout={"mechanism": "MAR", "rate": 0.2, "slope": 1.5})
    rng = np.random.default_rng(1)
    x = s.endpoints["hba1c"].draw("UC-MSC", 2000, 45, rng)
    attended, t = _dropout_times(s, "UC-MSC", x, (2000, 45), rng)
    miss = attended < 1
    assert np.all(np.isinf(t[~miss])) and np.all(t[miss] == 48)
    # one post-baseline visit, z = the baseline exactly standard normal here: the rate holds
    assert miss.mean() == pytest.approx(0.2, abs=0.01)
    base = x[..., 0]
    assert base[miss].mean() > base[~miss].mean() + 0.5  # high baseline HbA1c drops out more


def test_mmrm_with_complete_data_equals_ancova_at_last_visit():
    """With complete data, an unstructured MMRM with visit*arm + visit*baseline has the same
    regressors at every visit, so GLS = OLS visit by visit (seemingly unrelated regressions):
    the week-48 contrast and its p-value are those of ANCOVA on baseline at week 48."""
    s = _scenario(
        n=(15, 15),
        endpoints={"hba1c": _hba1c(7.6, 8.0, visits=(0, 24, 48))},
        analyses=[
            {"name": "m", "endpoint": "hba1c", "method": "mmrm"},
            {"name": "a", "endpoint": "hba1c", "method": "ancova"},
        ],
    )
    tr = _draw(s, s.n_by_arm, 3, np.random.default_rng(3))
    mm = _analyse(s, s.analyses[0], tr, None, None)[0]
    an = _analyse(s, s.analyses[1], tr, None, None)[0]
    np.testing.assert_allclose(mm["p"], an["p"], rtol=1e-5)
    np.testing.assert_allclose(mm["estimate"], an["estimate"], rtol=1e-6)


def test_example_scenario_file_loads_and_overrides():
    from trial_analysis._paths import trial_dir

    s = load_scenario(trial_dir("zang2022") / "scenario.toml")
    assert s.n == (100, 100) and s.arm_names == ("UC-MSC", "Placebo")
    assert s.control == "Placebo" and s.experimental == ("UC-MSC",)
    assert s.endpoints["composite"].rate["UC-MSC"] == 0.20
    t = s.with_overrides({"dropout.rate": [0.1, 0.2], "endpoints.composite.rate.UC-MSC": 0.15})
    assert t.with_overrides({"dropout.rate": {"UC-MSC": 0.1, "Placebo": 0.2}}).dropout.hazard[
        "Placebo"
    ][0] == pytest.approx(1 - 0.8 ** (1 / 4))
    assert t.endpoints["composite"].rate["UC-MSC"] == 0.15
    assert s.endpoints["composite"].rate["UC-MSC"] == 0.20  # original untouched


def test_example_scenario_runs_with_published_effects():
    from trial_analysis._paths import trial_dir

    r = simulate(trial_dir("zang2022") / "scenario.toml", n_sims=2_000, seed=1).to_frame()
    t = r.set_index("analysis")
    assert t.loc["composite_fisher", "true_effect"] == pytest.approx(0.20 - 0.0455)
    assert t.loc["insulin_ancova", "true_effect"] == pytest.approx(-27.78 + 15.62)
    assert (t["replicates"] == 2_000).all() and (t["n_failed"] == 0).all()


def test_trial_generative_model_or_clear_error():
    """model.kind = "synthetic": the trial's generative model (data/zang2022/
    synthetic_model.toml) draws the endpoints; the composite is derived by the design's rule
    (its endpoint table names no rate: the components come from design.toml)."""
    raw = {
        "arms": {"names": ARMS, "n": [45, 44]},
        "model": {"kind": "synthetic"},
        "endpoints": {"composite": {"type": "binary"}},
        "analyses": [{"name": "fisher", "endpoint": "composite", "method": "fisher"}],
    }
    with pytest.raises(ScenarioError, match=r"key 'scenario.trial'"):
        Scenario.from_dict(raw)
    s = Scenario.from_dict({**raw, "scenario": {"trial": "zang2022"}})
    assert [c.parameter for c in s.endpoints["composite"].components] == ["HBA1C", "INSDOSE"]
    r = simulate(s, n_sims=4_000, seed=0)
    # the model is calibrated to the published 20 % vs 4.55 %: close to the exact power of
    # Fisher's test at those rates (not equal: responders come from the continuous endpoints)
    e = exact_power(0.2, 0.0455, 45, 44, "fisher").power
    assert abs(r.power["fisher"] - e) < 0.05
    with pytest.raises(ScenarioError, match=r"key 'arms.names'"):
        s.with_overrides({"arms.names": ["A", "Placebo"]}).model()


def test_batched_mmrm_equals_one_fit_per_replicate():
    """The MMRM analysis fits its replicates together (``mmrm.fit_batch``); with dropout, its
    p-values are those of ``mmrm.fit`` on each replicate to 1e-6, two-sided and one-sided."""
    from trial_analysis import mmrm

    s = _scenario(
        n=(20, 20),
        endpoints={"hba1c": _hba1c(7.6, 8.0, visits=(0, 12, 24, 48))},
        dropout={"rate": 0.3},
        analyses=[
            {"name": "m", "endpoint": "hba1c", "method": "mmrm"},
            {"name": "l", "endpoint": "hba1c", "method": "mmrm", "alternative": "less"},
        ],
    )
    k = 6
    tr = _draw(s, s.n_by_arm, k, np.random.default_rng(5))
    p_batch = _analyse(s, s.analyses[0], tr, None, None)[0]["p"]
    p_less = _analyse(s, s.analyses[1], tr, None, None)[0]["p"]
    frame = _long_frame(s, s.endpoints["hba1c"], tr, 0, k)
    assert frame.groupby("REP").size().min() < 3 * 40  # dropout is there
    p_loop, p_less_loop = [], []
    for r in range(k):
        sub = frame[frame["REP"] == r]
        c = mmrm.fit(sub, "AVAL", "USUBJID", "AVISITN", "ARM", "BASE", reference="Placebo")
        row = c.contrasts[c.contrasts["visit"] == 48].iloc[0]
        p_loop.append(row["p_value"])
        p_less_loop.append(stats.t.cdf(row["estimate"] / row["se"], row["df"]))
    np.testing.assert_allclose(p_batch, p_loop, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(p_less, p_less_loop, rtol=1e-6, atol=1e-9)


def test_batched_mmrm_does_not_depend_on_the_batch_size(monkeypatch):
    import importlib

    # the module, not the function of the same name that trial_analysis.power exports
    sim = importlib.import_module("trial_analysis.power.simulate")
    s = _scenario(
        n=(15, 15),
        endpoints={"hba1c": _hba1c(7.6, 8.0, visits=(0, 24, 48))},
        dropout={"rate": 0.2},
        analyses=[{"name": "m", "endpoint": "hba1c", "method": "mmrm"}],
    )
    tr = _draw(s, s.n_by_arm, 5, np.random.default_rng(2))
    whole = _analyse(s, s.analyses[0], tr, None, None)[0]["p"]
    monkeypatch.setattr(sim, "MMRM_BATCH", 2)
    split = _analyse(s, s.analyses[0], tr, None, None)[0]["p"]
    # equal up to rounding (stacked BLAS on blocks of other shapes): 1e-13 measured
    np.testing.assert_allclose(whole, split, rtol=1e-10)


def test_mmrm_scenarios_default_to_chunks_that_processes_share():
    """Without ``chunk_size`` an MMRM scenario runs in chunks of 1,000 trials (10,000 trials
    are 10 chunks for ``n_jobs`` processes to share; one chunk of 10,000 kept one process
    busy and the other idle), a cheap one in chunks of 10,000. The default belongs to the
    scenario, so the numbers are those of the explicit chunk size on any number of
    processes."""
    s = _scenario(
        n=(15, 15),
        endpoints={"hba1c": _hba1c(7.6, 8.0, visits=(0, 24, 48))},
        dropout={"rate": 0.2},
        analyses=[{"name": "m", "endpoint": "hba1c", "method": "mmrm"}],
    )
    r = simulate(s, n_sims=1_200, seed=3)
    assert r.chunk_size == 1_000
    two = simulate(s, n_sims=1_200, seed=3, chunk_size=1_000, n_jobs=2)
    assert r.to_frame().equals(two.to_frame())
    assert simulate(_scenario(), n_sims=10, seed=1).chunk_size == 10_000


def test_bad_scenario_file_names_file_and_key(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(
        '[arms]\nnames = ["A", "B"]\nn = [10, 10]\n'
        '[endpoints.r]\ntype = "binary"\nrate = {A = 0.2, B = 0.1}\n'
        '[[analyses]]\nendpont = "r"\n'
    )
    with pytest.raises(
        ScenarioError, match=r"s\.toml: key 'analyses\[0\]\.endpont'.*did you mean 'endpoint'"
    ):
        load_scenario(f)
    f.write_text("[arms\n")
    with pytest.raises(ScenarioError, match=r"valid TOML"):
        load_scenario(f)
    with pytest.raises(ScenarioError, match=r"existing scenario TOML file"):
        load_scenario(tmp_path / "missing.toml")
    f.write_text("format_version = 1\n")
    with pytest.raises(ScenarioError, match=r"s\.toml: key 'format_version': expected 2"):
        load_scenario(f)


def test_bad_simulate_arguments():
    with pytest.raises(ParameterError, match=r"`n_sims` must be a whole number >= 1"):
        simulate(_scenario(), n_sims=0)
    with pytest.raises(ParameterError, match=r"`dask` must be 'local'"):
        simulate(_scenario(), n_sims=10, dask="cluster please")
    with pytest.raises(ParameterError, match=r"`grid\['arms.n'\]` must be a non-empty list"):
        simulate_grid(_scenario(), {"arms.n": []})
    with pytest.raises(ParameterError, match=r"`null`"):
        simulate(_scenario(), n_sims=10, null="yes")
