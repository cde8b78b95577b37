"""Multiplicity adjustment and multi-arm power against R.

Reference: tests/reference/multiplicity.R -> tests/fixtures/multiplicity_from_r.py
(stats::p.adjust; mvtnorm::pmvnorm with the Miwa algorithm for Dunnett). The graphical
procedure is checked against the procedures Bretz et al. (2009) show it contains (Holm,
weighted Holm, fixed sequence) and against a brute-force closed test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tests.fixtures import multiplicity_from_r as R
from trial_analysis.errors import ParameterError
from trial_analysis.multiplicity import adjust, dunnett_critical_value, max_normal_cdf
from trial_analysis.power import multiarm_power, simulate_multiarm


@pytest.mark.parametrize("ref", R.P_ADJUST, ids=lambda r: f"m{len(r['p'])}")
@pytest.mark.parametrize("method", ["bonferroni", "holm", "hochberg", "hommel"])
def test_stepwise_match_p_adjust(ref, method):
    """R: p.adjust(p, method)."""
    assert_allclose(adjust(ref["p"], method).adjusted, ref[method], atol=1e-12)


@pytest.mark.parametrize("ref", R.DUNNETT, ids=lambda r: f"m{len(r['p'])}-sided{r['sided']}")
def test_dunnett_matches_mvtnorm(ref):
    """R: 1 - pmvnorm(upper = rep(z_i, k), corr = R, algorithm = Miwa()) (single step), the
    same on the remaining hypotheses in order for the step-down test, and uniroot on it for
    the critical value at alpha = 0.025 per side."""
    corr = np.asarray(ref["corr"])
    ss = adjust(ref["p"], "dunnett", correlation=corr, sided=ref["sided"])
    sd = adjust(ref["p"], "dunnett-stepdown", correlation=corr, sided=ref["sided"])
    assert_allclose(ss.adjusted, ref["single_step"], atol=1e-9)
    assert_allclose(sd.adjusted, ref["step_down"], atol=1e-9)
    c = dunnett_critical_value(0.025 * ref["sided"], corr, sided=ref["sided"])
    assert c == pytest.approx(ref["critical_value"], abs=1e-8)


def test_general_correlation_uses_genz():
    """A correlation without one-factor structure goes to scipy's Genz integration; for a
    one-factor matrix both routes agree."""
    corr = np.array([[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1.0]])
    x = [2.1, 1.9, 2.4]
    exact = max_normal_cdf(x, corr)
    from scipy import stats

    genz = stats.multivariate_normal(np.zeros(3), corr, abseps=1e-7, releps=1e-7).cdf(x)
    assert exact == pytest.approx(genz, abs=5e-7)
    neg = np.array([[1, -0.3, 0.2], [-0.3, 1, 0.1], [0.2, 0.1, 1.0]])
    v = max_normal_cdf(x, neg)
    genz2 = stats.multivariate_normal(np.zeros(3), neg, abseps=1e-7, releps=1e-7).cdf(x)
    # both are randomised quasi-Monte Carlo estimates (scipy draws a new lattice shift each
    # call) with an error target of 1e-7 each: two of them differ by a few times that
    assert v == pytest.approx(genz2, abs=2e-6)


def _holm_graph(m, w=None):
    w = np.full(m, 1 / m) if w is None else np.asarray(w)
    g = np.full((m, m), 1 / (m - 1))
    np.fill_diagonal(g, 0)
    return w, g


def test_graph_with_equal_weights_is_holm():
    """Bretz et al. (2009), Fig. 1: equal weights, edges 1/(m-1) = Holm (R p.adjust)."""
    for ref in R.P_ADJUST:
        w, g = _holm_graph(len(ref["p"]))
        got = adjust(ref["p"], "graphical", weights=w, transitions=g).adjusted
        assert_allclose(got, ref["holm"], atol=1e-12)


def test_graph_fixed_sequence():
    """w = (1, 0, 0), edges 1 -> 2 -> 3: the fixed-sequence test (adjusted p = running max)."""
    p = [0.01, 0.03, 0.02]
    g = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert adjust(p, "graphical", weights=[1, 0, 0], transitions=g).adjusted == (0.01, 0.03, 0.03)
    # a hypothesis never reached keeps adjusted p 1
    assert adjust(p, "graphical", weights=[1, 0, 0], transitions=np.zeros((3, 3))).adjusted == (
        0.01,
        1.0,
        1.0,
    )


def _closed_test_adjusted(p, w, g):
    """Brute force: the closed test of weighted Bonferroni tests whose intersection weights
    come from removing the complement's nodes one by one (Bretz et al. 2009, section 3), and
    adjusted p_i = max over intersections J containing i of min_j p_j / w_j(J)."""
    m = len(p)
    adj = np.zeros(m)
    for size in range(1, m + 1):
        for jset in itertools.combinations(range(m), size):
            ww, gg = np.array(w, float), np.array(g, float)
            keep = set(jset)
            for out in [i for i in range(m) if i not in keep]:
                rest = [i for i in range(m) if i != out and ww[i] >= 0 and (i in keep or i > out)]
                new_g = gg.copy()
                for a in rest:
                    ww[a] += ww[out] * gg[out, a]
                for a in rest:
                    for b in rest:
                        den = 1 - gg[a, out] * gg[out, a]
                        new_g[a, b] = (
                            0 if a == b or den <= 0 else (gg[a, b] + gg[a, out] * gg[out, b]) / den
                        )
                gg = new_g
                gg[out, :] = 0
                gg[:, out] = 0
                ww[out] = 0
            vals = [p[j] / ww[j] if ww[j] > 0 else math.inf for j in jset]
            pj = min(1.0, min(vals))
            for i in jset:
                adj[i] = max(adj[i], pj)
    return adj


@pytest.mark.parametrize(
    "p, w, g",
    [
        (
            [0.01, 0.02, 0.04, 0.003],
            [0.5, 0.5, 0, 0],
            [[0, 0.5, 0.5, 0], [0.5, 0, 0, 0.5], [0, 1, 0, 0], [1, 0, 0, 0]],
        ),
        ([0.012, 0.03, 0.02], [0.6, 0.3, 0.1], [[0, 0.5, 0.5], [0.2, 0, 0.8], [1, 0, 0]]),
        (
            [0.04, 0.001, 0.02, 0.3],
            [0.25] * 4,
            [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]],
        ),
    ],
)
def test_graph_equals_its_closed_test(p, w, g):
    got = adjust(p, "graphical", weights=w, transitions=g).adjusted
    assert_allclose(got, _closed_test_adjusted(p, w, np.asarray(g, float)), atol=1e-12)


@pytest.mark.parametrize("ref", R.MULTIARM_POWER, ids=lambda r: f"k{len(r['n'])}")
@pytest.mark.parametrize("method", ["dunnett", "bonferroni"])
def test_multiarm_power_matches_mvtnorm(ref, method):
    """R: pmvnorm(upper = rep(crit, k), mean = mu, corr = R, algorithm = Miwa()) for the
    disjunctive power, pmvnorm(lower = rep(crit, .)) over the effective arms for the
    conjunctive power, 1 - pnorm(crit - mu) per arm."""
    r = multiarm_power(
        ref["delta"], ref["sd"], ref["n"], ref["n0"], alpha=ref["alpha"], method=method
    )
    assert r.critical_value == pytest.approx(ref[f"{method}_critical"], abs=1e-8)
    assert_allclose(r.per_arm, ref[f"{method}_per_arm"], atol=1e-8)
    assert r.disjunctive == pytest.approx(ref[f"{method}_disjunctive"], abs=1e-8)
    assert r.conjunctive == pytest.approx(ref[f"{method}_conjunctive"], abs=1e-8)


@pytest.mark.parametrize("ref", R.MULTIARM_POWER, ids=lambda r: f"k{len(r['n'])}")
def test_simulated_multiarm_power_matches_mvtnorm(ref):
    """The simulation (shared control drawn once per trial) against the exact values above."""
    n = 100_000
    for method in ("dunnett", "bonferroni"):
        r = simulate_multiarm(
            ref["delta"],
            ref["sd"],
            ref["n"],
            ref["n0"],
            alpha=ref["alpha"],
            method=method,
            n_sims=n,
            seed=3,
        )
        for got, want in (
            (r.disjunctive, ref[f"{method}_disjunctive"]),
            (r.conjunctive, ref[f"{method}_conjunctive"]),
            *zip(r.per_arm, ref[f"{method}_per_arm"], strict=True),
        ):
            assert abs(got - want) <= 4 * math.sqrt(want * (1 - want) / n) + 1e-12


def test_stepwise_procedures_control_fwer_and_dominate_single_step():
    """Under the global null every procedure keeps the family-wise error (4 MC SE); step-down
    Dunnett rejects at least what single-step Dunnett rejects (same replicates)."""
    n = 20_000
    for method in ("holm", "hochberg", "hommel", "dunnett-stepdown"):
        r = simulate_multiarm([0, 0, 0], 1, 50, 50, method=method, n_sims=n, seed=4)
        assert r.fwer <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / n)
    ss = simulate_multiarm([0.2, 0.4, 0.5], 1, 50, 50, method="dunnett", n_sims=n, seed=4)
    sd = simulate_multiarm([0.2, 0.4, 0.5], 1, 50, 50, method="dunnett-stepdown", n_sims=n, seed=4)
    assert all(b >= a for a, b in zip(ss.per_arm, sd.per_arm, strict=True))


def test_result_frame_and_input_order():
    r = adjust([0.04, 0.001, 0.02], "holm", alpha=0.05, labels=["low", "mid", "high"])
    f = r.to_frame()
    assert list(f["hypothesis"]) == ["low", "mid", "high"]
    assert list(f["rejected"]) == [True, True, True]
    assert np.asarray(r).tolist() == [0.04, 0.003, 0.04]


@pytest.mark.parametrize(
    "args, kw, match",
    [
        (([0.1, 1.2],), {}, r"`p_values` must be a sequence of p-values in \[0, 1\]"),
        (([0.1, 0.2], "sidak"), {}, r"`method` must be one of"),
        (([0.1, 0.2], "graphical"), {}, r"initial weights and a transitions matrix"),
        (
            ([0.1, 0.2], "graphical"),
            dict(weights=[0.7, 0.7], transitions=[[0, 1], [1, 0]]),
            r"summing to at most 1",
        ),
        (
            ([0.1, 0.2], "graphical"),
            dict(weights=[0.5, 0.5], transitions=[[0.5, 0.5], [1, 0]]),
            r"zero diagonal",
        ),
        (([0.1, 0.2], "dunnett"), {}, r"`correlation` must be the correlation matrix"),
        (
            ([0.1, 0.2], "dunnett"),
            dict(correlation=[[1, 2], [2, 1]]),
            r"a correlation matrix \(2 x 2\)",
        ),
        (([0.1, 0.2], "holm"), dict(weights=[0.5, 0.5]), r"only with method='graphical'"),
    ],
)
def test_bad_input(args, kw, match):
    with pytest.raises(ParameterError, match=match):
        adjust(*args, **kw)


def test_vectorised_rejections_equal_adjust_row_by_row():
    """The simulation's vectorised Holm, Hochberg, Hommel and step-down Dunnett decisions are those of
    adjust() applied to each replicate."""
    from trial_analysis.power.multiarm import (
        _holm_hochberg_reject,
        _hommel_reject,
        _stepdown_reject,
    )

    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 4)) + np.array([0.0, 1.5, 2.0, 2.5])
    lam = np.sqrt(np.array([40, 40, 60, 80]) / (np.array([40, 40, 60, 80]) + 80))
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1)
    from scipy.special import ndtr

    p = ndtr(-z)
    for method in ("holm", "hochberg"):
        want = np.array([np.asarray(adjust(row, method)) <= 0.025 for row in p])
        assert np.array_equal(_holm_hochberg_reject(p, 0.025, method), want)
    hom = np.array([np.asarray(adjust(row, "hommel")) <= 0.025 for row in p])
    assert np.array_equal(_hommel_reject(p, 0.025), hom)
    sd = np.array(
        [np.asarray(adjust(row, "dunnett-stepdown", correlation=corr)) <= 0.025 for row in p[:60]]
    )
    assert np.array_equal(_stepdown_reject(z[:60], corr, 0.025), sd)


@pytest.mark.parametrize("ref", R.DUNNETT_T, ids=lambda r: f"m{len(r['p'])}-df{r['df']:g}")
def test_dunnett_t_matches_pmvt(ref):
    """Dunnett for means (t tests, pooled variance): R 1 - pmvt(lower, upper = rep(t_i, k),
    df, corr, algorithm = TVPACK(abseps = 1e-12)) and uniroot on it for the 5 % critical
    value."""
    corr = np.asarray(ref["corr"])
    r = adjust(ref["p"], "dunnett", correlation=corr, sided=ref["sided"], df=ref["df"])
    assert_allclose(r.adjusted, ref["single_step"], atol=1e-9)
    c = dunnett_critical_value(0.05, corr, sided=ref["sided"], df=ref["df"])
    assert c == pytest.approx(ref["critical_value_05"], abs=1e-8)


def test_dunnett_published_table():
    """Dunnett (1955), Tables 1a and 2a (three treatments vs control, equal sizes, 20 df):
    one-sided 5 % 2.19, two-sided 5 % 2.54 (two decimals)."""
    corr = np.full((3, 3), 0.5)
    np.fill_diagonal(corr, 1)
    assert round(dunnett_critical_value(0.05, corr, df=20), 2) == 2.19
    assert round(dunnett_critical_value(0.05, corr, sided=2, df=20), 2) == 2.54


def test_simulation_work_is_bounded():
    with pytest.raises(ParameterError, match="`n_sims` must be at most"):
        simulate_multiarm([0.1] * 10, 1, 50, 50, n_sims=10**7)
    with pytest.raises(ParameterError, match="`n_sims` must be at most 200000"):
        simulate_multiarm(
            [0.1, 0.2],
            1,
            50,
            50,
            method="graphical",
            n_sims=300_000,
            weights=[0.5, 0.5],
            transitions=[[0, 1], [1, 0]],
        )
