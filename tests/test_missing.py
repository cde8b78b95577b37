"""Tests of trial_analysis.missing: Rubin's rules against R's mice, imputation distributions
against closed-form conditional normals, reference-based imputation against its expected
values, the tipping point, seeds and errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures.mmrm_from_r import RUBIN
from trial_analysis.errors import ParameterError
from trial_analysis.missing import _conditional_draw, rubin
from trial_analysis.results import SYNTHETIC_NOTE

DATA = Path(__file__).parent / "fixtures" / "mmrm_data"


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


ARGS = ("y", "subject", "visit", "arm", "base")


# ----------------------------------------------------------------- Rubin's rules
@pytest.mark.parametrize("case", RUBIN, ids=lambda c: f"m{len(c['estimates'])}-dfcom{c['dfcom']}")
def test_rubin_matches_mice_pool_scalar(case):
    """mice::pool.scalar(Q, U, n = dfcom + 1, k = 1) (mice 3.15; rule "rubin1987")."""
    r = rubin(case["estimates"], case["variances"], dfcom=case["dfcom"])
    for key, got in [
        ("qbar", r.estimate),
        ("ubar", r.ubar),
        ("b", r.b),
        ("t", r.t),
        ("df", r.df),
        ("r", r.r),
        ("fmi", r.fmi),
    ]:
        assert got == pytest.approx(case[key], rel=1e-8, abs=1e-12), key
    assert r.se == pytest.approx(math.sqrt(case["t"]), rel=1e-12)


def test_rubin_zero_between_variance_uses_mice_floor():
    """Identical estimates: b = 0, lambda floored at 1e-4 as in mice:::barnard.rubin."""
    r = rubin([0.5, 0.5, 0.5], [0.01, 0.02, 0.03], dfcom=40)
    lam = 1e-4
    df_old = 2 / lam**2
    df_obs = 41 / 43 * 40 * (1 - lam)
    assert r.b == 0 and r.t == pytest.approx(0.02)
    assert r.df == pytest.approx(df_old * df_obs / (df_old + df_obs), rel=1e-12)


def test_rubin_bad_input():
    with pytest.raises(ParameterError, match="m >= 2"):
        rubin([1.0], [0.1])
    with pytest.raises(ParameterError, match="m >= 2"):
        rubin([1.0, 2.0], [0.1])
    with pytest.raises(ParameterError, match="variances"):
        rubin([1.0, 2.0], [0.1, -0.1])
    with pytest.raises(ParameterError, match="variances"):
        rubin([1.0, np.nan], [0.1, 0.1])
    with pytest.raises(ParameterError, match="dfcom"):
        rubin([1.0, 2.0], [0.1, 0.1], dfcom=0)


# ----------------------------------------------------------------- conditional draws
def test_conditional_draw_matches_precision_matrix_formula():
    """Missing cells drawn from N(mu, S) given the observed ones; reference: the conditional
    law written with the precision matrix P = S^-1: cov = P_uu^-1,
    mean = mu_u - P_uu^-1 P_uo (y_o - mu_o). Checked by Monte Carlo (n = 40,000)."""
    rng = np.random.default_rng(7)
    T = 4
    A = rng.normal(size=(T, T))
    S = A @ A.T + T * np.eye(T)
    mu = np.array([1.0, 2.0, 3.0, 4.0])
    n = 40_000
    y = np.tile([1.7, 0.0, 2.1, 0.0], (n, 1))
    mask = np.tile([True, False, True, False], (n, 1))
    out = _conditional_draw(y, mask, np.tile(mu, (n, 1)), S, np.random.default_rng(1))
    o, u = [0, 2], [1, 3]
    P = np.linalg.inv(S)
    cov = np.linalg.inv(P[np.ix_(u, u)])
    mean = mu[u] - cov @ P[np.ix_(u, o)] @ (y[0, o] - mu[o])
    assert_allclose(out[:, o], y[:, o])  # observed cells untouched
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(out[:, u].mean(axis=0) - mean) < 4 * se)
    assert_allclose(np.cov(out[:, u].T), cov, rtol=0.05)


# ----------------------------------------------------------------- imputation
def test_impute_seeded_and_keeps_observed_values():
    d = load("missing")
    a = ta.missing.impute(d, *ARGS, m=3, seed=11)
    b = ta.missing.impute(d, *ARGS, m=3, seed=11)
    c = ta.missing.impute(d, *ARGS, m=3, seed=12)
    g = ta.missing.impute(d, *ARGS, m=3, seed=np.random.default_rng(11))
    assert_allclose(a.values, b.values)
    assert_allclose(a.values, g.values)
    assert not np.allclose(a.values, c.values)
    obs = a.observed
    assert obs.sum() == len(d) and (~obs).sum() > 0
    for i in range(a.m):
        assert_allclose(a.values[i][obs], b.values[0][obs])
        assert np.all(np.isfinite(a.values[i]))
        assert not np.allclose(a.values[i][~obs], a.values[(i + 1) % a.m][~obs])
    long = a.completed(0)
    assert len(long) == 91 * 6 and long["imputed"].sum() == (~obs).sum()
    merged = long.merge(d, on=["subject", "visit"], suffixes=("", "_obs"))
    assert_allclose(merged["y"], merged["y_obs"])
    counts = a.to_frame()
    assert counts["n_missing"].sum() == (~obs).sum()


def test_reference_based_methods_change_only_the_treatment_arm_after_dropout():
    """Same seed: MAR, J2R and CR share bootstrap samples and normal deviates, so the
    reference arm's imputations and the completers' values are identical across methods;
    only the treatment arm's missing values differ."""
    d = load("missing")
    imps = {
        m: ta.missing.impute(d, *ARGS, method=m, reference="Placebo", m=2, seed=5)
        for m in ("MAR", "J2R", "CR")
    }
    mar = imps["MAR"]
    ref = mar.subject_arm == mar.arms.index("Placebo")
    for meth in ("J2R", "CR"):
        v = imps[meth].values
        assert_allclose(v[:, ref], mar.values[:, ref])
        tr_missing = (~ref)[:, None] & mar.post_dropout
        assert tr_missing.sum() > 0
        assert not np.allclose(v[:, tr_missing], mar.values[:, tr_missing])


@pytest.fixture(scope="module")
def mcar_trial():
    """Large two-arm trial, effect growing over 4 visits (final -1.0), MCAR dropout: the
    expected estimates of each assumption have closed forms."""
    rng = np.random.default_rng(2022)
    n, T = 300, 4
    S = 0.8 ** np.abs(np.subtract.outer(range(T), range(T)))
    eff = np.array([-0.25, -0.5, -0.75, -1.0])
    rows = []
    for i in range(2 * n):
        tr = i < n
        b = rng.normal(8.5, 1)
        y = 8 + 0.5 * (b - 8.5) + (eff if tr else 0) + rng.multivariate_normal(np.zeros(T), S)
        drop = rng.choice([2, 3, 4], p=[0.15, 0.15, 0.7])  # visits observed
        for t in range(drop):
            rows.append((f"S{i}", "MSC" if tr else "Placebo", t + 1, b, y[t]))
    return pd.DataFrame(rows, columns=["subject", "arm", "visit", "base", "y"]), S, eff


@pytest.mark.slow
def test_mar_j2r_cr_expected_values(mcar_trial):
    """Under MCAR (Carpenter, Roger & Kenward 2013, section 3):
    MAR: E[estimate] = effect at the last visit (-1.0); the MMRM gives the same answer.
    J2R: imputed treatment dropouts have the reference mean at the last visit, so
    E[estimate] ~= f * effect, f the treatment arm's share observed at the last visit.
    CR: E[imputed] = reference mean + S_uo S_oo^-1 (effect_o), between J2R and MAR."""
    d, S, eff = mcar_trial
    kw = {"reference": "Placebo", "m": 10, "seed": 3}
    mar = ta.missing.mi_analysis(d, *ARGS, method="MAR", **kw)
    j2r = ta.missing.mi_analysis(d, *ARGS, method="J2R", **kw)
    cr = ta.missing.mi_analysis(d, *ARGS, method="CR", **kw)
    mm = ta.mmrm.fit(d, *ARGS, reference="Placebo")
    assert mar.pooled.estimate == pytest.approx(mm.contrasts["estimate"].iloc[-1], abs=0.05)
    assert mar.pooled.estimate == pytest.approx(-1.0, abs=3 * mar.pooled.se)
    # the data behave as simulated: MMRM effects and covariance near the truth
    assert np.all(np.abs(mm.contrasts["estimate"] - eff) < 3 * mm.contrasts["se"])
    assert_allclose(mm.covariance.to_numpy(), S, atol=0.15)
    tr = d[d["arm"] == "MSC"]
    n_tr = tr["subject"].nunique()
    last = tr.groupby("subject")["visit"].max()
    f = (last == 4).sum() / n_tr
    # expected CR value, with the sample's own effects and covariance (MMRM estimates) so that
    # only Monte-Carlo error of the imputation remains: dropouts after visit j have imputed
    # mean reference + S_uo S_oo^-1 effect_o
    est = mm.contrasts["estimate"].to_numpy()
    Sh = mm.covariance.to_numpy()
    expected_cr = f * est[3]
    for j in (2, 3):
        o = list(range(j))
        w = np.linalg.solve(Sh[np.ix_(o, o)], Sh[o, 3])
        expected_cr += (last == j).sum() / n_tr * (w @ est[o])
    assert j2r.pooled.estimate == pytest.approx(f * est[3], abs=0.03)
    assert cr.pooled.estimate == pytest.approx(expected_cr, abs=0.03)
    assert mar.pooled.estimate < cr.pooled.estimate < j2r.pooled.estimate < 0
    # more missing information -> larger fraction of missing information than MAR has none
    assert 0 < mar.pooled.fmi < 1


def test_mi_without_missing_data_is_the_ancova():
    """No missing values: every completed data set is the data, b = 0, and the pooled result
    is the ANCOVA at the last visit (statsmodels OLS y ~ arm + base)."""
    import statsmodels.formula.api as smf

    d = load("balanced")
    r = ta.missing.mi_analysis(d, *ARGS, reference="A", m=3, seed=1)
    ols = smf.ols("y ~ C(arm, Treatment('A')) + base", d[d["visit"] == 24]).fit()
    assert r.pooled.b == pytest.approx(0, abs=1e-20)
    assert r.pooled.estimate == pytest.approx(ols.params.iloc[1], rel=1e-10)
    assert r.pooled.se == pytest.approx(ols.bse.iloc[1], rel=1e-10)
    assert r.visit == 24 and r.contrast == "B - A"


def _ols_at(imp, k: int, delta: float, visit: int):
    import statsmodels.formula.api as smf

    c = imp.completed(k, delta=delta)
    c = c[c["visit"] == visit].assign(arm=lambda x: pd.Categorical(x["arm"], ["Placebo", "UC-MSC"]))
    return smf.ols("y ~ arm + base", c).fit()


def test_per_imputation_ancova_equals_statsmodels_on_completed_data():
    """Completed data set k (shifted by delta for the tipping point) analysed by statsmodels
    OLS y ~ arm + base at the visit reproduces the per-imputation estimates and variances."""
    d = load("missing")
    imp = ta.missing.impute(d, *ARGS, method="J2R", reference="Placebo", m=2, seed=9)
    res = ta.missing.mi_analysis(d, *ARGS, imputations=imp, at_visit=36, seed=9)
    for k in range(2):
        ols = _ols_at(imp, k, 0.0, 36)
        assert res.estimates[k] == pytest.approx(ols.params.iloc[1], rel=1e-10)
        assert res.variances[k] == pytest.approx(ols.bse.iloc[1] ** 2, rel=1e-10)
    tp = ta.missing.tipping_point(d, *ARGS, imputations=imp, at_visit=36, deltas=[0.7], seed=9)
    shifted = [_ols_at(imp, k, 0.7, 36) for k in range(2)]
    pooled = rubin(
        [o.params.iloc[1] for o in shifted],
        [o.bse.iloc[1] ** 2 for o in shifted],
        dfcom=shifted[0].df_resid,
    )
    assert tp.table["estimate"].iloc[0] == pytest.approx(pooled.estimate, rel=1e-10)
    assert tp.table["p_value"].iloc[0] == pytest.approx(pooled.p_value, rel=1e-8)


# ----------------------------------------------------------------- tipping point
@pytest.fixture(scope="module")
def zang_like():
    d = load("missing")
    imp = ta.missing.impute(d, *ARGS, reference="Placebo", m=10, seed=2022)
    return d, imp


def test_tipping_point(zang_like):
    d, imp = zang_like
    base = ta.missing.mi_analysis(d, *ARGS, imputations=imp, seed=2022)
    tp = ta.missing.tipping_point(d, *ARGS, imputations=imp, seed=2022)
    assert tp.table["delta"].iloc[0] == 0
    assert tp.table["p_value"].iloc[0] == pytest.approx(base.pooled.p_value, rel=1e-12)
    if base.pooled.p_value < 0.05:
        assert tp.tipping_delta is not None
        # the estimate is negative (UC-MSC lowers y): the tipping delta is positive
        assert np.sign(tp.tipping_delta) == -np.sign(base.pooled.estimate)
        at = ta.missing.tipping_point(d, *ARGS, imputations=imp, deltas=[tp.tipping_delta], seed=1)
        assert at.table["p_value"].iloc[0] == pytest.approx(0.05, abs=1e-8)
        assert "Tipping point" in tp.notes[0]
    # the pooled estimate is linear in delta (OLS is linear in y)
    est = tp.table["estimate"].to_numpy()
    assert_allclose(np.diff(est, 2), 0, atol=1e-10)
    fig = tp.plot()
    assert fig.axes and json.loads(tp.to_json())["tipping_delta"] == tp.tipping_delta


def test_tipping_point_messages(zang_like):
    d, imp = zang_like
    tp = ta.missing.tipping_point(d, *ARGS, imputations=imp, deltas=[0.0, 0.01], alpha=0.5, seed=1)
    assert tp.tipping_delta is None and "no tipping point within it" in tp.notes[0]
    tp2 = ta.missing.tipping_point(
        d, *ARGS, imputations=imp, deltas=[0.0, -0.01], alpha=0.001, seed=1
    )
    assert tp2.tipping_delta is None and "no significant result" in tp2.notes[0]
    tp3 = ta.missing.tipping_point(d, *ARGS, imputations=imp, at_visit=4, deltas=[0.0, 1.0], seed=1)
    assert "delta has no effect" in tp3.notes[0]
    assert_allclose(tp3.table["estimate"].iloc[0], tp3.table["estimate"].iloc[1])
    with pytest.raises(ParameterError, match="`deltas` must be"):
        ta.missing.tipping_point(d, *ARGS, imputations=imp, deltas=[], seed=1)
    with pytest.raises(ParameterError, match="`at_visit` must be one of the visits"):
        ta.missing.tipping_point(d, *ARGS, imputations=imp, at_visit=99, seed=1)


def test_impute_bad_input():
    d = load("missing")
    with pytest.raises(ParameterError, match="`reference` must be the control arm"):
        ta.missing.impute(d, *ARGS, method="J2R", m=2, seed=1)
    with pytest.raises(ParameterError, match="`method` must be one of"):
        ta.missing.impute(d, *ARGS, method="LOCF", m=2, seed=1)
    with pytest.raises(ParameterError, match="`m` must be a whole number >= 2"):
        ta.missing.impute(d, *ARGS, m=1, seed=1)
    with pytest.raises(ParameterError, match="`seed` must be"):
        ta.missing.impute(d, *ARGS, m=2, seed="abc")
    with pytest.raises(ParameterError, match="`seed` must be an int"):
        ta.missing.mi_analysis(d, *ARGS, m=2)
    with pytest.raises(ParameterError, match="`seed` must be an int"):
        ta.missing.tipping_point(d, *ARGS, m=2)
    with pytest.raises(ParameterError, match="`treatment` must be an arm other than"):
        ta.missing.impute(d, *ARGS, reference="Placebo", treatment="Placebo", m=2, seed=1)
    with pytest.raises(ParameterError, match="`reference` must be one of the arm levels"):
        ta.missing.impute(d, *ARGS, reference="Control", m=2, seed=1)


def test_subjects_without_any_outcome_are_imputed():
    d = load("missing")
    extra = pd.DataFrame(
        {
            "subject": ["X1", "X1"],
            "arm": ["UC-MSC", "UC-MSC"],
            "visit": [4, 8],
            "base": [9.0, 9.0],
            "y": [np.nan, np.nan],
        }
    )
    d2 = pd.concat([d, extra], ignore_index=True)
    imp = ta.missing.impute(d2, *ARGS, method="J2R", reference="Placebo", m=2, seed=4)
    i = imp.subjects.index("X1")
    assert not imp.observed[i].any() and imp.post_dropout[i].all()
    assert np.all(np.isfinite(imp.values[:, i]))


def test_synthetic_cohort_end_to_end():
    """The shipped synthetic Zang 2022 cohort (ta.synthetic_ipd): HbA1c change by visit,
    UC-MSC vs placebo, under MAR and J2R; results carry the synthetic-data note."""
    ipd = ta.synthetic_ipd("zang2022", seed=20220503)
    m = ipd.measurements
    m = m[(m["PARAMCD"] == "HBA1C") & (m["AVISITN"] > 0)].merge(ipd.subjects[["USUBJID", "ARM"]])
    m.attrs["synthetic"] = ipd.synthetic
    fit = ta.mmrm.fit(m, "CHG", "USUBJID", "AVISITN", "ARM", "BASE", reference="Placebo")
    assert SYNTHETIC_NOTE in fit.notes
    assert list(fit.contrasts["visit"]) == [4, 8, 12, 24, 36, 48]
    assert np.all(np.isfinite(fit.contrasts[["estimate", "se", "df", "p_value"]]))
    mi = ta.missing.mi_analysis(
        m,
        "CHG",
        "USUBJID",
        "AVISITN",
        "ARM",
        "BASE",
        method="J2R",
        reference="Placebo",
        m=5,
        seed=1,
    )
    assert SYNTHETIC_NOTE in mi.notes
    assert mi.contrast == "UC-MSC - Placebo" and np.isfinite(mi.pooled.p_value)
