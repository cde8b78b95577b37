"""Simulation of whole trials: checked against exact enumeration, statsmodels and itself.

The exact power of a binary test (enumeration, validated against R in test_power_exact.py)
is the reference for the simulated power of the same design: the two must agree within
Monte Carlo error. Batched ANCOVA is checked against statsmodels OLS replicate by replicate.
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
from trial_analysis.power.simulate import _dropout_mask, _mmrm_pvalues


def _scenario(n=(45, 44), p=(0.2, 0.0455), analyses=None, dropout=None, **arm_extra):
    raw = {
        "scenario": {"name": "test"},
        "arms": {"names": ["UC-MSC", "Placebo"], "n": list(n)},
        "model": {
            "kind": "parametric",
            "arms": {
                "UC-MSC": {"responder": p[0], **arm_extra.get("exp", {})},
                "Placebo": {"responder": p[1], **arm_extra.get("ctl", {})},
            },
        },
        "analyses": analyses or [{"name": "fisher", "endpoint": "composite", "method": "fisher"}],
    }
    if dropout:
        raw["dropout"] = dropout
    return Scenario.from_dict(raw)


def _within(sim, exact, se, k=4.0):
    assert abs(sim - exact) < k * se, (sim, exact, se)


def test_fisher_simulation_matches_exact_power():
    r = simulate(_scenario(), n_sims=40_000, seed=11)
    e = exact_power(0.2, 0.0455, 45, 44, "fisher").power
    _within(r.power["fisher"], e, r.mcse["fisher"])
    assert r.mcse["fisher"] == pytest.approx(np.sqrt(e * (1 - e) / 40_000), rel=0.02)


def test_patient_level_path_matches_exact_power():
    # an ANCOVA analysis forces patient-level draws for the composite too
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
    _within(r.power["b"], e, r.mcse["b"])


def test_dropout_as_failure_is_thinned_binomial():
    s = _scenario(p=(0.5, 0.2), n=(30, 30), dropout={"rate": 0.2})
    r = simulate(s, n_sims=30_000, seed=3)
    e = exact_power(0.5 * 0.8, 0.2 * 0.8, 30, 30, "fisher").power
    _within(r.power["fisher"], e, r.mcse["fisher"])


@pytest.mark.parametrize("with_ancova", [False, True])
def test_complete_case_matches_mixture_of_exact_powers(with_ancova):
    """E over the evaluable sizes m_k ~ Binomial(12, 0.75) of the exact power at (m1, m2)."""
    an = [{"name": "f", "endpoint": "composite", "method": "chisq"}]
    if with_ancova:
        an.append({"name": "a", "endpoint": "hba1c", "method": "ancova"})
    s = _scenario(
        p=(0.6, 0.2),
        n=(12, 12),
        analyses=an,
        dropout={"rate": 0.25, "binary_missing": "complete_case"},
    )
    r = simulate(s, n_sims=20_000, seed=8)
    w = stats.binom.pmf(np.arange(13), 12, 0.75)
    num = den = 0.0
    for m1 in range(2, 13):
        for m2 in range(2, 13):
            num += w[m1] * w[m2] * exact_power(0.6, 0.2, m1, m2, "chisq").power
            den += w[m1] * w[m2]
    _within(r.power["f"], num / den, r.mcse["f"])


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


def test_ancova_batch_unidentifiable_is_nan():
    y = np.ones((1, 6))
    arm = np.r_[np.ones(3), np.zeros(3)]
    obs = np.array([[True, True, True, False, False, False]])  # no control patient
    est, _, _, p = ancova_batch(y + np.arange(6), arm, np.arange(6.0)[None], obs)
    assert np.isnan(est[0]) and np.isnan(p[0])


def test_simulated_ancova_power_matches_analytic():
    """HbA1c: SD 1.05 at baseline and week 48, rho 0.5, difference 0.67 (Zang 2022)."""
    common = {"hba1c_base_mean": 9.0, "hba1c_base_sd": 1.05, "hba1c_48_sd": 1.05, "hba1c_rho": 0.5}
    s = _scenario(
        n=(30, 30),
        analyses=[{"name": "h", "endpoint": "hba1c", "method": "ancova"}],
        exp={**common, "hba1c_48_mean": 7.52},
        ctl={**common, "hba1c_48_mean": 8.19},
    )
    r = simulate(s, n_sims=20_000, seed=2)
    a = power_ancova(0.67, 1.05, 0.5, n1=30, n2=30).power
    # the analytic formula ignores the sampling variability of the covariate: allow 0.01
    assert abs(r.power["h"] - a) < 4 * r.mcse["h"] + 0.01


def test_null_scenario_has_nominal_type1_error():
    s = _scenario(
        analyses=[{"name": "i", "endpoint": "insulin_pchg", "method": "ancova"}], n=(25, 25)
    )
    r = simulate(s, n_sims=20_000, seed=9)
    _within(r.power["i"], 0.05, r.mcse["i"])


def test_results_do_not_depend_on_processes_and_do_on_seed():
    s = _scenario(
        analyses=[
            {"name": "f", "endpoint": "composite", "method": "fisher"},
            {"name": "a", "endpoint": "insulin_pchg", "method": "ancova"},
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
    s = _scenario(dropout={"mechanism": "MAR", "rate": 0.2, "mar_slope": 1.5})
    rng = np.random.default_rng(1)
    model = s.model()
    draws = model.draw_endpoints({"UC-MSC": 45, "Placebo": 44}, 2000, rng)
    obs = _dropout_mask(s, draws, {"UC-MSC": (2000, 45), "Placebo": (2000, 44)}, rng)
    miss = ~obs["UC-MSC"]
    assert miss.mean() == pytest.approx(0.2, abs=0.01)
    base = draws["UC-MSC"]["HBA1C_BASE"]
    assert base[miss].mean() > base[~miss].mean() + 0.5  # high baseline HbA1c drops out more


def test_mmrm_with_complete_data_equals_ancova_at_last_visit():
    """With complete data, an unstructured MMRM with visit*arm + visit*baseline has the same
    regressors at every visit, so GLS = OLS visit by visit (seemingly unrelated regressions):
    the week-48 contrast and its p-value are those of ANCOVA on baseline at week 48."""
    pytest.importorskip("trial_analysis.mmrm")
    s = _scenario().with_overrides(
        {
            "visits.weeks": [0, 24, 48],
            "analyses.0.endpoint": "hba1c",
            "analyses.0.method": "mmrm",
            "analyses.0.max_sims": 3,
        }
    )
    rng = np.random.default_rng(3)
    draws = s.model().draw_endpoints(
        {"UC-MSC": 15, "Placebo": 15}, 3, rng, need=frozenset({"HBA1C_VISITS"})
    )
    obs = {a: np.ones((3, 15), bool) for a in s.arm_names}
    p_mmrm = _mmrm_pvalues(s, draws, obs, 3, "two-sided", rng)
    y = np.concatenate([draws[a]["HBA1C_W48"] for a in s.arm_names], axis=1)
    c = np.concatenate([draws[a]["HBA1C_W0"] for a in s.arm_names], axis=1)
    _, _, _, p_anc = ancova_batch(y, np.r_[np.ones(15), np.zeros(15)], c)
    np.testing.assert_allclose(p_mmrm, p_anc, rtol=1e-5)


def test_example_scenario_file_loads_and_overrides():
    from trial_analysis._paths import trial_dir

    s = load_scenario(trial_dir("zang2022") / "scenario.toml")
    assert s.n == (100, 100) and s.arm_names == ("UC-MSC", "Placebo")
    assert s.parametric.arms["UC-MSC"].responder == 0.20
    t = s.with_overrides({"dropout.rate": [0.1, 0.2], "model.arms.UC-MSC.responder": 0.15})
    assert t.dropout_rate == (0.1, 0.2)
    assert t.parametric.arms["UC-MSC"].responder == 0.15
    assert s.parametric.arms["UC-MSC"].responder == 0.20  # original untouched


def test_zang_generative_model_or_clear_error():
    with pytest.raises(ScenarioError, match=r"key 'scenario.trial'"):
        _scenario().with_overrides({"model": {"kind": "synthetic"}}).model()
    s = _scenario().with_overrides({"scenario.trial": "zang2022", "model": {"kind": "synthetic"}})
    if True:  # the trial's generative model (data/zang2022/synthetic_model.toml)
        r = simulate(s, n_sims=4_000, seed=0)
        # the model is calibrated to the published 20 % vs 4.55 %: close to the exact power
        # of Fisher's test at those rates (not equal: responders come from the continuous
        # endpoints, with sampling variation of the rates per patient draw)
        e = exact_power(0.2, 0.0455, 45, 44, "fisher").power
        assert abs(r.power["fisher"] - e) < 0.05
        with pytest.raises(ScenarioError, match=r"key 'arms.names'"):
            s.with_overrides({"arms.names": ["A", "B"], "model.params": {}}).model()


@pytest.mark.parametrize(
    "override, key",
    [
        ({"dropout.rte": 0.1}, r"key 'dropout.rte'.*did you mean 'rate'"),
        ({"arms.n": [1, 40]}, r"key 'arms.n\[0\]': expected a whole number >= 2, got 1"),
        ({"model.arms.UC-MSC.responder": 1.5}, r"key 'model.arms.UC-MSC.responder'"),
        ({"model.arms.UC-MSC.respnder": 0.2}, r"did you mean 'responder'"),
        ({"analyses.0.method": "fischer"}, r"key 'analyses\[0\].method'.*'fischer'"),
        ({"analyses.0.endpoint": "mortality"}, r"key 'analyses\[0\].endpoint'"),
        ({"analyses.0.alpha": 0.7}, r"key 'analyses\[0\].alpha'"),
        ({"dropout.rate": 1.0}, r"key 'dropout.rate\[0\]'"),
        ({"dropout.mechanism": "MNAR"}, r"key 'dropout.mechanism'"),
        ({"dropout.mar_slope": 1.0}, r"'dropout.mar_slope': expected 0"),
        ({"model.kind": "weibull"}, r"key 'model.kind'"),
        ({"visits.weeks": [0, 24]}, r"key 'visits.weeks'"),
        ({"analyses.0.endpoint": "hba1c", "analyses.0.method": "mmrm"}, r"2 post-baseline visits"),
    ],
)
def test_bad_scenarios(override, key):
    with pytest.raises(ScenarioError, match=key):
        _scenario().with_overrides(override)


def test_bad_scenario_file_names_file_and_key(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[arms]\nnames = ["A", "B"]\nn = [10, 10]\n[[analyses]]\nendpont = "composite"\n')
    with pytest.raises(
        ScenarioError, match=r"s\.toml: key 'analyses\[0\]\.endpont'.*did you mean 'endpoint'"
    ):
        load_scenario(f)
    f.write_text("[arms\n")
    with pytest.raises(ScenarioError, match=r"valid TOML"):
        load_scenario(f)
    with pytest.raises(ScenarioError, match=r"existing scenario TOML file"):
        load_scenario(tmp_path / "missing.toml")


def test_bad_simulate_arguments():
    with pytest.raises(ParameterError, match=r"`n_sims` must be a whole number >= 1"):
        simulate(_scenario(), n_sims=0)
    with pytest.raises(ParameterError, match=r"`dask` must be 'local'"):
        simulate(_scenario(), n_sims=10, dask="cluster please")
    with pytest.raises(ParameterError, match=r"`grid\['arms.n'\]` must be a non-empty list"):
        simulate_grid(_scenario(), {"arms.n": []})


def test_batched_mmrm_equals_one_fit_per_replicate():
    """The MMRM analysis of a simulation fits its replicates together (``mmrm.fit_batch``);
    with dropout, its p-values are those of ``mmrm.fit`` on each replicate (the per-replicate
    loop it replaced) to 1e-6, two-sided and one-sided."""
    from trial_analysis import mmrm
    from trial_analysis.power.simulate import _mmrm_frame

    s = _scenario().with_overrides(
        {
            "visits.weeks": [0, 12, 24, 48],
            "dropout.rate": [0.2, 0.2],
            "analyses.0.endpoint": "hba1c",
            "analyses.0.method": "mmrm",
            "analyses.0.max_sims": 6,
        }
    )
    k, n = 6, 20
    need = frozenset({"HBA1C_VISITS"})
    draws = s.model().draw_endpoints(
        {"UC-MSC": n, "Placebo": n}, k, np.random.default_rng(5), need=need
    )
    obs = {a: np.random.default_rng(6 + i).random((k, n)) > 0.2 for i, a in enumerate(s.arm_names)}
    p_batch = _mmrm_pvalues(s, draws, obs, k, "two-sided", np.random.default_rng(7))
    frame = _mmrm_frame(s, draws, obs, k, np.random.default_rng(7))
    assert frame["AVAL"].isna().mean() > 0.05  # dropout is there
    p_loop, p_less_loop = [], []
    for r in range(k):
        sub = frame[frame["REP"] == r]
        c = mmrm.fit(sub, "AVAL", "USUBJID", "AVISITN", "ARM", "BASE", reference="Placebo")
        row = c.contrasts[c.contrasts["visit"] == 48].iloc[0]
        p_loop.append(row["p_value"])
        p_less_loop.append(stats.t.cdf(row["estimate"] / row["se"], row["df"]))
    np.testing.assert_allclose(p_batch, p_loop, rtol=1e-6, atol=1e-9)
    p_less = _mmrm_pvalues(s, draws, obs, k, "less", np.random.default_rng(7))
    np.testing.assert_allclose(p_less, p_less_loop, rtol=1e-6, atol=1e-9)


def test_batched_mmrm_does_not_depend_on_the_batch_size(monkeypatch):
    import importlib

    # the module, not the function of the same name that trial_analysis.power exports
    sim = importlib.import_module("trial_analysis.power.simulate")

    s = _scenario().with_overrides(
        {"visits.weeks": [0, 24, 48], "analyses.0.endpoint": "hba1c", "analyses.0.method": "mmrm"}
    )
    draws = s.model().draw_endpoints(
        {"UC-MSC": 15, "Placebo": 15}, 5, np.random.default_rng(2), need=frozenset({"HBA1C_VISITS"})
    )
    obs = {a: np.random.default_rng(9).random((5, 15)) > 0.2 for a in s.arm_names}
    whole = _mmrm_pvalues(s, draws, obs, 5, "two-sided", np.random.default_rng(4))
    monkeypatch.setattr(sim, "MMRM_BATCH", 2)
    split = _mmrm_pvalues(s, draws, obs, 5, "two-sided", np.random.default_rng(4))
    # equal up to rounding (stacked BLAS on blocks of other shapes): 1e-13 measured
    np.testing.assert_allclose(whole, split, rtol=1e-10)
