"""Two numerical edge cases of trial_analysis.meta (issue #20), against R metafor 3.8.

Fixtures written by tests/reference/meta_convergence.R (``tests/fixtures/meta_convergence_from_r.py``
and the CSVs in ``tests/fixtures/meta_data``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis.meta as M
from tests.fixtures import meta_convergence_from_r as R
from trial_analysis import limits
from trial_analysis.meta import _core

DATA = Path(__file__).parent / "fixtures" / "meta_data"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


def _undamped(method: str, y, v, iters: int = 1000):
    """Plain Fisher scoring (the iteration before the fix): returns None if it never settles."""
    X = np.ones((y.size, 1))
    t = max(0.0, _core.tau2_estimate("HE", y, v, X)[0])
    for _ in range(iters):
        score, info = _core._score_info(method, y, v, X, t)
        adj = score / info
        if t == 0.0 and adj < 0:
            return 0.0
        while t + adj < 0:
            adj /= 2.0
        t += adj
        if abs(adj) <= 1e-13 * max(1.0, t):
            return t
    return None


@pytest.mark.parametrize("key", sorted(R.RMA_DAMPED))
def test_damped_reml_ml_match_metafor(key):
    """rma(yi, vi, method=m, control=list(threshold=1e-12, maxiter=1000, stepadj=0.5)).

    k = 400 nearly homogeneous studies (true tau^2 = 0) whose variances span 8 orders of
    magnitude. metafor's threshold is an absolute change in tau^2 (1e-12, i.e. ~1e-6 relative
    here), so tau^2 is compared at rtol 1e-5 / atol 1e-12. Ours stops when the Fisher step is
    below 1e-13 (absolute), checked below.
    """
    name, method = key
    d = _read(name)
    exp = R.RMA_DAMPED[key]
    res = M.rma(d.yi.to_numpy(), d.vi.to_numpy(), method=method)
    np.testing.assert_allclose(res.tau2, exp["tau2"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose([res.estimate, res.se], [exp["estimate"], exp["se"]], rtol=1e-6)
    if res.tau2 > 0:
        X = np.ones((d.shape[0], 1))
        score, info = _core._score_info(method, d.yi.to_numpy(), d.vi.to_numpy(), X, res.tau2)
        assert abs(score / info) < 1e-13


def test_undamped_scoring_diverges_on_the_reml_fixture():
    """The data sets are the ones the issue describes: the plain iteration fails on them."""
    for name in ("homogeneous400_s18", "homogeneous400_s68"):
        d = _read(name)
        assert _undamped("REML", d.yi.to_numpy(), d.vi.to_numpy()) is None


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_bounded_fallback_finds_the_same_optimum(method, monkeypatch):
    """With the iterations cut short the bounded 1-D search on the likelihood takes over."""
    d = _read("homogeneous400_s18")
    y, v = d.yi.to_numpy(), d.vi.to_numpy()
    exp = R.RMA_DAMPED[("homogeneous400_s18", method)]
    monkeypatch.setattr(_core, "_MAXITER", 1)
    X = np.ones((y.size, 1))
    t, _ = _core.tau2_estimate(method, y, v, X)
    np.testing.assert_allclose(t, exp["tau2"], rtol=1e-5)
    # the fallback maximises the likelihood: no point nearby is higher
    ll = _core._loglik(method, y, v, X, t)
    assert ll >= max(_core._loglik(method, y, v, X, t * f) for f in (0.99, 1.01))


def test_bounded_fallback_returns_zero_at_the_boundary(monkeypatch):
    """A data set whose likelihood falls from tau^2 = 0 gives 0 (as Fisher scoring does)."""
    y = np.array([0.10, 0.12, 0.11, 0.09, 0.105])
    v = np.full(5, 0.04)
    monkeypatch.setattr(_core, "_MAXITER", 1)
    X = np.ones((5, 1))
    assert _core._tau2_bounded("REML", y, v, X) == 0.0


def test_converging_fits_are_unchanged_by_the_damping():
    """Damping starts only at a growing oscillation: the usual path (bcg, DL start) is kept."""
    from tests.fixtures import meta_from_r as F

    e = F.ESCALC["bcg_RR"]
    res = M.rma(np.array(e["yi"]), np.array(e["vi"]), method="REML")
    np.testing.assert_allclose(res.tau2, F.RMA[("bcg_RR", "REML", "z")]["tau2"], rtol=1e-10)


@pytest.mark.parametrize("name", sorted(R.RANKTEST_LARGE))
def test_ranktest_exact_for_large_k_without_ties(name):
    """ranktest(rma(yi, vi)) (metafor: cor.test(..., method="kendall", exact=TRUE)) for k >= 50.

    lehmann2018 (k = 81) is metafor's own data set; kendall102 a simulated one with k = 102.
    The exact and normal p-values differ in the 3rd digit, so the check tells them apart.
    """
    d = _read(name)
    exp = R.RANKTEST_LARGE[name]
    assert not exp["ties"] and exp["k"] >= 50
    rk = M.ranktest(M.rma(d.yi.to_numpy(), d.vi.to_numpy()))
    assert rk.exact
    np.testing.assert_allclose([rk.tau, rk.pval], [exp["tau"], exp["pval"]], rtol=1e-10)
    assert abs(exp["pval"] - exp["pval_normal"]) > 1e-4  # the check can fail
    rn = M.ranktest(M.rma(d.yi.to_numpy(), d.vi.to_numpy()), exact=False)
    assert not rn.exact
    np.testing.assert_allclose(rn.pval, exp["pval_normal"], rtol=1e-10)


def test_ranktest_beyond_the_time_limit_uses_the_normal_approximation():
    """The exact distribution costs ~k^3/8 steps: over max_seconds the normal one, with a note."""
    d = _read("kendall102")
    res = M.rma(d.yi.to_numpy(), d.vi.to_numpy())
    with limits.override(max_seconds=1e-6):
        rk = M.ranktest(res)
    assert not rk.exact
    assert any("normal approximation used" in n and "max_seconds" in n for n in rk.notes)
    np.testing.assert_allclose(rk.pval, R.RANKTEST_LARGE["kendall102"]["pval_normal"], rtol=1e-10)


def test_leave1out_on_the_homogeneous_data_equals_refits():
    """leave1out (vectorised deletions, damped; series overflow -> exact sums) = k refits."""
    d = _read("homogeneous400_s18")
    y, v = d.yi.to_numpy(), d.vi.to_numpy()
    loo = M.leave1out(M.rma(y, v)).to_frame()
    for i in (0, 7, 100, 399):
        keep = np.arange(y.size) != i
        ref = M.rma(y[keep], v[keep])
        np.testing.assert_allclose(
            loo.loc[i, ["estimate", "se", "tau2"]].to_numpy(float),
            [ref.estimate, ref.se, ref.tau2],
            rtol=1e-7,
        )


@pytest.mark.parametrize("seed, method", [(7, "REML"), (20, "REML"), (20, "ML"), (42, "REML")])
def test_more_divergent_data_sets_converge_to_the_likelihood_maximum(seed, method):
    """Data sets on which the plain iteration diverged (found by search): the damped fit
    agrees with the bounded maximisation of the likelihood."""
    rng = np.random.default_rng(seed)
    v = np.exp(rng.normal(-3, 3, 400))
    y = rng.normal(0, np.sqrt(v))
    assert _undamped(method, y, v) is None
    res = M.rma(y, v, method=method)
    X = np.ones((400, 1))
    ref = _core._tau2_bounded(method, y, v, X)
    np.testing.assert_allclose(res.tau2, ref, rtol=1e-6, atol=1e-13)


@pytest.mark.parametrize("key", ["bcg_RR", "normand_SMD", "normand_MD"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_bounded_fallback_on_ordinary_data_matches_metafor(key, method):
    """The fallback alone (no scoring) on metafor's data sets: rma(yi, vi, method) as in
    tests/reference/meta.R (threshold 1e-12), rtol 1e-9."""
    from tests.fixtures import meta_from_r as F

    e = F.ESCALC[key]
    y, v = np.array(e["yi"]), np.array(e["vi"])
    t = _core._tau2_bounded(method, y, v, np.ones((y.size, 1)))
    np.testing.assert_allclose(t, F.RMA[(key, method, "z")]["tau2"], rtol=1e-9)
