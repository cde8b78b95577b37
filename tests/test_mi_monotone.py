"""``draws="monotone"``: exact posterior draws of the sequential regressions (continuous/_monotone.py).

References (``tests/reference/mi_monotone.R`` -> ``tests/fixtures/mi_monotone_from_r.py``):

- exact: with the random numbers drawn in R and replayed here, every imputed value, every
  imputation's ANCOVA and the pooled result equal R's independent computation (lm.fit per visit,
  SAS MONOTONE REG draw, the drawn model as a multivariate normal with its conditional laws from
  Sigma, lm ANCOVA, ``mice::pool.scalar``) for MAR, J2R and CR, two and three arms, with and
  without baseline, a subject without any outcome;
- statistical: MAR imputation by ``mice(method = "norm", visitSequence = "monotone", maxit = 1)``
  with m = 4000 — the mean and between-imputation variance of the estimate agree within Monte
  Carlo error;
- the batch (``mi_ancova_batch(draws="monotone")``) equals ``mi_analysis`` replicate by replicate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trial_analysis import missing
from trial_analysis.continuous import _mi_batch
from trial_analysis.continuous._mi_batch import mi_ancova_batch
from trial_analysis.errors import ParameterError

from .fixtures.mi_monotone_from_r import CASES, MICE_MAR
from .test_mmrm_batch import make


def _long(case: dict) -> pd.DataFrame:
    T = case["T"]
    n = len(case["arm"])
    y = np.asarray(case["y"], float).reshape(n, T)
    i, t = np.indices((n, T)).reshape(2, -1)
    d = pd.DataFrame(
        {
            "id": [f"s{k:03d}" for k in i],
            "arm": np.asarray(case["arm"], object)[i],
            "week": t + 1,
            "y": y[i, t],
        }
    )
    if case["with_base"]:
        d["base"] = np.asarray(case["base"])[i]
    return d


class _Replay(np.random.Generator):
    """A generator that hands out R's draws (chi-square, then the two normal blocks)."""

    def __init__(self, case: dict):
        super().__init__(np.random.PCG64(0))
        self.case = case
        self.normals = [np.asarray(case["z"]), np.asarray(case["e"])]

    def chisquare(self, df, size=None):
        c = self.case
        np.testing.assert_allclose(np.asarray(df)[0], c["df"])  # R's residual df per visit
        return np.asarray(c["g"]).reshape(np.shape(df))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self.normals.pop(0).reshape(size)


@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_r_with_the_same_random_numbers(name):
    """R: tests/reference/mi_monotone.R, ``impute_r`` (lm.fit; b* = bhat + s* backsolve(chol(X'X),
    z); Sigma = (I-B)^-1 D (I-B)^-T; conditional normal per missing visit), ``lm`` ANCOVA and
    ``mice::pool.scalar(Q, U, n = dfcom + 1, k = 1)``."""
    c = CASES[name]
    d = _long(c)
    base = "base" if c["with_base"] else None
    kw = dict(method=c["method"], reference=c["reference"], treatment=c["treatment"], m=c["m"])
    imp = missing.impute(d, "y", "id", "week", "arm", base, seed=_Replay(c), draws="monotone", **kw)
    miss = ~imp.observed
    got = imp.values[:, miss]  # (m, cells) in subject-then-visit order
    np.testing.assert_allclose(got.ravel(), c["imputed"], rtol=1e-10, atol=1e-10)
    r = missing.mi_analysis(
        d, "y", "id", "week", "arm", base, seed=_Replay(c), draws="monotone", **kw
    )
    np.testing.assert_allclose(r.estimates, c["estimates"], rtol=1e-10)
    np.testing.assert_allclose(r.variances, c["variances"], rtol=1e-10)
    assert r.pooled.estimate == pytest.approx(c["qbar"], rel=1e-10)
    assert r.pooled.se == pytest.approx(c["se"], rel=1e-10)
    assert r.pooled.df == pytest.approx(c["df_pooled"], rel=1e-9)
    assert "posterior of the sequential regressions" in r.notes[0]


def test_mar_agrees_with_mice_norm():
    """R: ``mice(wide, m = 4000, method = "norm", visitSequence = "monotone", maxit = 1)`` with
    predictors arm, base and the earlier visits, then ``lm(y4 ~ arm + base)`` per imputation.
    Both draw the same posterior (mice's ridge 1e-5 aside), so the mean of the m estimates and
    their variance B agree within Monte Carlo error (4 SE of the difference of two runs)."""
    c = CASES["mar_two_arms"]
    m = MICE_MAR["m"]
    r = missing.mi_analysis(
        _long(c), "y", "id", "week", "arm", "base", method="MAR", reference="Placebo",
        m=m, seed=20241, draws="monotone",
    )  # fmt: skip
    q, b = r.estimates.mean(), r.estimates.var(ddof=1)
    se_qbar = np.sqrt(2 * MICE_MAR["b"] / m)
    assert abs(q - MICE_MAR["qbar"]) < 4 * se_qbar
    assert abs(b - MICE_MAR["b"]) < 4 * MICE_MAR["b"] * np.sqrt(2 * 2 / (m - 1))
    assert r.variances.mean() == pytest.approx(MICE_MAR["ubar"], rel=0.03)


@pytest.mark.parametrize("method", ["mar", "j2r", "cr"])
def test_batch_equals_mi_analysis(method):
    d = make(6, 40, 4, seed=11, drop=0.3, intermittent=0.0, all_missing=1)
    kw = dict(replicate="rep", baseline="base", method=method, m=5, reference="B", seed=123)
    out = mi_ancova_batch(d, "y", "id", "visit", "arm", draws="monotone", **kw)
    assert out.attrs["n_single"] == 0 and out["converged"].all()
    kids = np.random.SeedSequence(123).spawn(6)
    for i, kid in enumerate(kids):
        p = missing.mi_analysis(
            d[d["rep"] == i], "y", "id", "visit", "arm", "base", method=method.upper(),
            reference="B", m=5, seed=np.random.default_rng(kid), draws="monotone",
        ).pooled  # fmt: skip
        row = out.iloc[i]
        for col in ("estimate", "se", "df", "p_value", "ci_low", "ci_high"):
            assert row[col] == pytest.approx(getattr(p, col), rel=1e-10, abs=1e-12), col


def test_three_arms_and_chunking(monkeypatch):
    """Three arms: the contrasts draw from the replicate's generator in turn; replicates of
    different sizes; the numbers do not depend on how many replicates are imputed at once.
    The arm column is categorical, so that each replicate alone keeps the data's level order
    (the order of the regressors, hence of the draws)."""
    d = make(5, 45, 3, seed=21, arms=("P", "Q", "R"), drop=0.3, intermittent=0.0)
    d = d[~((d["rep"] == 2) & (d["id"].isin(["s0", "s7"])))].copy()  # a smaller replicate
    d["arm"] = pd.Categorical(d["arm"], categories=["P", "Q", "R"])
    kw = dict(replicate="rep", baseline="base", method="j2r", m=4, reference="P", seed=9)
    out = mi_ancova_batch(d, "y", "id", "visit", "arm", draws="monotone", **kw)
    monkeypatch.setattr(_mi_batch, "MONOTONE_CELLS", 1)  # one replicate per chunk
    one = mi_ancova_batch(d, "y", "id", "visit", "arm", draws="monotone", **kw)
    pd.testing.assert_frame_equal(out, one, check_exact=False, rtol=1e-12)
    kids = np.random.SeedSequence(9).spawn(5)
    for i in range(5):
        rng = np.random.default_rng(kids[i])
        for tr in ("Q", "R"):
            p = missing.mi_analysis(
                d[d["rep"] == i], "y", "id", "visit", "arm", "base", method="J2R",
                reference="P", treatment=tr, m=4, seed=rng, draws="monotone",
            ).pooled  # fmt: skip
            row = out[(out["replicate"] == i) & (out["contrast"] == f"{tr} - P")].iloc[0]
            assert row["estimate"] == pytest.approx(p.estimate, rel=1e-10)
            assert row["se"] == pytest.approx(p.se, rel=1e-10)


def test_close_to_the_bootstrap_draws():
    """Both impute from one model: over 40 replicates the mean J2R estimates agree within
    Monte Carlo error and the SEs within 10 %. Not closer: in small samples the bootstrap's
    draws vary less than the posterior's (on the fixture's 40 subjects with m = 4000: between-
    imputation variance 0.024 by the bootstrap, 0.031 by these draws and 0.031 by mice's
    ``norm``; mean within-imputation variance 0.052, 0.058 and 0.057), because the posterior
    of a residual variance, RSS / chi-square(n_j - p_j), has mean RSS / (n_j - p_j - 2)."""
    d = make(40, 60, 4, seed=3, drop=0.25, intermittent=0.0)
    kw = dict(replicate="rep", baseline="base", method="j2r", m=10, reference="B", seed=5)
    mono = mi_ancova_batch(d, "y", "id", "visit", "arm", draws="monotone", **kw)
    boot = mi_ancova_batch(d, "y", "id", "visit", "arm", draws="bootstrap", **kw)
    diff = mono["estimate"] - boot["estimate"]
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert abs(mono["se"].mean() / boot["se"].mean() - 1) < 0.10


def test_refusals():
    d = make(1, 30, 3, seed=1, intermittent=0.2)  # intermittent missing visits
    with pytest.raises(ParameterError, match="intermittent") as err:
        missing.mi_analysis(
            d, "y", "id", "visit", "arm", "base", reference="B", m=3, seed=1, draws="monotone"
        )
    assert "subject 's" in str(err.value)
    with pytest.raises(ParameterError, match="draws"):
        mi_ancova_batch(
            d, "y", "id", "visit", "arm", replicate="rep", baseline="base", reference="B",
            m=3, seed=1, draws="monotone",
        )  # fmt: skip
    mono = make(1, 30, 3, seed=1, intermittent=0.0)
    with pytest.raises(ParameterError, match="covariance"):
        missing.impute(
            mono, "y", "id", "visit", "arm", "base", reference="B", seed=1,
            covariance="cs", draws="monotone",
        )  # fmt: skip
    with pytest.raises(ParameterError, match="draws"):
        missing.mi_analysis(
            mono, "y", "id", "visit", "arm", "base", reference="B", m=3, seed=1, draws="mcmc"
        )
