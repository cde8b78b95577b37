"""Tests of trial_analysis.continuous against R (tests/reference/continuous.R).

Fixtures: tests/fixtures/continuous_from_r.py, written by ``Rscript tests/reference/continuous.R``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from tests.fixtures import continuous_from_r as R
from trial_analysis import continuous as c
from trial_analysis.errors import AnalysisError, ParameterError, StatisticalWarning


# ------------------------------------------------------------------ t from summaries
@pytest.mark.parametrize("row", R.TTEST, ids=lambda r: f"{r['mean1']}-{r['equal_var']}")
def test_ttest_from_summary_matches_r_t_test(row):
    """R: x, y with exact means/SDs via scale(); ``t.test(x, y, var.equal = equal_var)``."""
    r = c.ttest_from_summary(
        row["mean1"],
        row["sd1"],
        row["n1"],
        row["mean2"],
        row["sd2"],
        row["n2"],
        equal_var=row["equal_var"],
    )
    assert_allclose(r.estimate, row["estimate"], rtol=1e-12, atol=1e-12)
    assert_allclose([r.ci_low, r.ci_high], [row["ci_low"], row["ci_high"]], rtol=1e-10)
    assert_allclose(r.p_value, row["p_value"], rtol=1e-8)
    assert_allclose(r.statistic, row["statistic"], rtol=1e-10)
    assert_allclose(r.df, row["df"], rtol=1e-10)


@pytest.mark.parametrize("row", R.TTEST_ONESIDED, ids=lambda r: r["alternative"])
def test_ttest_one_sided_90(row):
    """R: ``t.test(x, y, var.equal = TRUE, alternative = alt, conf.level = 0.9)``."""
    r = c.ttest_from_summary(
        7.52, 1.07, 45, 8.19, 1.02, 44, conf_level=0.9, alternative=row["alternative"]
    )
    assert_allclose([r.ci_low, r.ci_high], [row["ci_low"], row["ci_high"]], rtol=1e-10)
    assert_allclose(r.p_value, row["p_value"], rtol=1e-8)


def test_ttest_entry_point_attributes_and_frame():
    r = c.ttest_from_summary(1.0, 1.0, 10, 0.0, 1.0, 10)
    assert r.estimate == 1.0 and r.ci_low < 1.0 < r.ci_high and 0 < r.p_value < 1
    f = r.to_frame()
    assert list(f["method"]) == ["Student t (pooled SD)"]
    assert "Hedges" in str(r.hedges)
    assert r.to_dict()["table"][0]["p_value"] == pytest.approx(r.p_value)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"sd1": 0}, "`sd1` must be a number > 0, got 0"),
        ({"n2": 1}, "`n2` must be a whole number >= 2, got 1"),
        ({"mean1": float("nan")}, "`mean1` must be a finite number"),
        ({"equal_var": "yes"}, "`equal_var` must be True or False"),
        ({"alternative": "two.sided"}, "`alternative` must be one of"),
        ({"conf_level": 95}, "`conf_level` must be a confidence level"),
    ],
)
def test_ttest_bad_input(kw, match):
    args = dict(mean1=1, sd1=1, n1=5, mean2=0, sd2=1, n2=5)
    args.update(kw)
    with pytest.raises(ParameterError, match=match):
        c.ttest_from_summary(**args)


# ------------------------------------------------------------------ Hedges g
@pytest.mark.parametrize("row", R.HEDGES, ids=lambda r: f"{r['mean1']}-{r['conf_level']}")
def test_hedges_g_matches_base_r_noncentral_inversion(row):
    """R (base): ``uniroot(function(ncp) pt(tobs, df, ncp) - (1 - a), ...)``; g = J d with
    J = gamma(df/2) / (sqrt(df/2) gamma((df-1)/2)); normal CI by Hedges & Olkin (1985) eq. 5.15."""
    args = [row[k] for k in ("mean1", "sd1", "n1", "mean2", "sd2", "n2")]
    r = c.hedges_g(*args, conf_level=row["conf_level"])
    assert_allclose(r.estimate, row["g"], rtol=1e-12)
    assert_allclose(r.correction, row["J"], rtol=1e-12)
    assert_allclose([r.ci_low, r.ci_high], [row["ci_low"], row["ci_high"]], rtol=1e-6, atol=1e-8)
    rn = c.hedges_g(*args, conf_level=row["conf_level"], method="normal")
    assert_allclose([rn.ci_low, rn.ci_high], [row["normal_low"], row["normal_high"]], rtol=1e-12)


def test_hedges_j_close_to_approximation():
    # Hedges (1981): J(df) ~ 1 - 3 / (4 df - 1); the exact value is within 1e-4 at df = 20.
    r = c.hedges_g(1, 1, 11, 0, 1, 11)
    assert abs(r.correction - (1 - 3 / (4 * 20 - 1))) < 1e-4


# ------------------------------------------------------------------ SD sensitivity
@pytest.mark.parametrize("row", R.SD_SENSITIVITY, ids=lambda r: f"{r['n2']}-{r['equal_var']}")
def test_sd_sensitivity_matches_r_uniroot(row):
    """R: ``uniroot(function(s) t.test(x_s, y_s, var.equal = ev)$p.value - alpha, ...)`` on data
    with exact SDs s and sd_ratio * s."""
    r = c.sd_sensitivity(
        row["mean1"],
        row["mean2"],
        row["n1"],
        row["n2"],
        sd=[20.0],
        alpha=row["alpha"],
        equal_var=row["equal_var"],
        sd_ratio=row["sd_ratio"],
    )
    assert_allclose(r.sd_max, row["sd_max"], rtol=1e-7)
    assert_allclose(r.p_value[0], row["p_at_20"], rtol=1e-8)


def test_sd_sensitivity_curve_and_plot():
    r = c.sd_sensitivity(27.78, 15.62, 45, 44, quantity="insulin reduction")
    p = r.p_value
    assert np.all(np.diff(p) > 0)  # p rises with the SD
    assert np.all((r.sd < r.sd_max) == (p < 0.05))
    fig = r.plot()
    assert fig.axes[0].get_xlabel() == "assumed SD (arm 1)"
    assert f"{r.sd_max:.4g}" in r.notes[0]
    with pytest.raises(AnalysisError, match="mean1 equals mean2"):
        c.sd_sensitivity(1, 1, 10, 10)
    with pytest.raises(ParameterError, match="`sd` must be"):
        c.sd_sensitivity(2, 1, 10, 10, sd=[1, -1])


# ------------------------------------------------------------------ ANCOVA
def _ancova_frame(row):
    arm = np.where(np.asarray(row["arm"]) == 1, "UC-MSC", "Placebo")
    return pd.DataFrame({"ARM": arm, "value": row["y"], "BASE": row["base"]})


@pytest.mark.parametrize("row", R.ANCOVA, ids=["n45-44", "n12-9"])
def test_ancova_model_and_hc3_match_r(row):
    """R: ``fit <- lm(y ~ arm + base)``; model SE from ``vcov(fit)``; HC3 by hand
    ``(X'X)^-1 X' diag(e^2/(1-h)^2) X (X'X)^-1`` (equal to ``sandwich::vcovHC(fit, "HC3")``),
    t reference with ``fit$df.residual``."""
    data = _ancova_frame(row)
    before = data.copy()
    r = c.ancova(data, arms=("UC-MSC", "Placebo"))
    pd.testing.assert_frame_equal(data, before)
    t = r.to_frame().set_index("se_type")
    assert_allclose(r.estimate, row["estimate"], rtol=1e-10)
    assert_allclose(t.loc["model", "se"], row["se_model"], rtol=1e-10)
    assert_allclose(t.loc["model", "p_value"], row["p_model"], rtol=1e-8)
    assert_allclose(
        t.loc["model", ["ci_low", "ci_high"]],
        [row["ci_model_low"], row["ci_model_high"]],
        rtol=1e-10,
    )
    assert_allclose(t.loc["HC3", "se"], row["se_hc3"], rtol=1e-10)
    assert_allclose(t.loc["HC3", "p_value"], row["p_hc3"], rtol=1e-8)
    assert_allclose(
        t.loc["HC3", ["ci_low", "ci_high"]], [row["ci_hc3_low"], row["ci_hc3_high"]], rtol=1e-10
    )
    assert (t["df"] == row["df"]).all()


def test_ancova_missing_values_dropped_with_warning():
    data = _ancova_frame(R.ANCOVA[0])
    data.loc[[0, 50], "value"] = np.nan
    with pytest.warns(StatisticalWarning, match="2 patient"):
        r = c.ancova(data, arms=("UC-MSC", "Placebo"))
    assert (r.n1, r.n2, r.n_dropped) == (44, 43, 2)


def test_ancova_bad_input():
    data = _ancova_frame(R.ANCOVA[1])
    with pytest.raises(AnalysisError, match="arm 'Placebo' has no patients"):
        c.ancova(
            data.assign(value=np.where(data.ARM == "Placebo", np.nan, data.value)),
            arms=("UC-MSC", "Placebo"),
        )
    one = data[(data.ARM == "UC-MSC") | (data.index == data.index[-1])]
    with pytest.raises(AnalysisError, match="only 1 patient"):
        c.ancova(one, arms=("UC-MSC", "Placebo"))
    with pytest.raises(AnalysisError, match="singular"):
        c.ancova(data.assign(BASE=8.0), arms=("UC-MSC", "Placebo"))
    with pytest.raises(ParameterError, match="column"):
        c.ancova(data, baseline="BASE_HBA1C")
    with pytest.raises(AnalysisError, match="exactly 2 arms"):
        c.ancova(data.assign(ARM="X"))


# ------------------------------------------------------------------ Mann-Whitney / HL
@pytest.mark.parametrize(
    "row",
    R.MANN_WHITNEY,
    ids=[f"{k}-{cl}" for k in ("exact", "ties", "n60", "tiny") for cl in (95, 90)],
)
def test_mann_whitney_matches_r_wilcox_test(row):
    """R: ``wilcox.test(x, y, conf.int = TRUE, conf.level = cl)``; HL = ``median(outer(x, y, "-"))``.

    Exact branch: identical order statistics. Normal-approximation branch: R finds the CI by
    ``uniroot(tol = 1e-4)`` on a step function, so limits agree to 1e-3."""
    r = c.mann_whitney(row["x"], row["y"], conf_level=row["conf_level"])
    assert r.statistic == row["W"]
    assert_allclose(r.p_value, row["p_value"], rtol=1e-8)
    assert_allclose(r.estimate, row["hl_median"], rtol=1e-12)
    tol = 1e-12 if r.exact else 1e-3
    assert_allclose([r.ci_low, r.ci_high], [row["ci_low"], row["ci_high"]], atol=tol)
    if r.exact:
        assert_allclose(r.estimate, row["r_estimate"], rtol=1e-12)


def test_wilcox_cdf_against_enumeration():
    # P(U <= u) for m = 3, n = 4 by enumerating all C(7, 3) = 35 rank sets.
    from itertools import combinations

    us = [sum(ranks) - 6 for ranks in combinations(range(1, 8), 3)]
    expected = np.cumsum(np.bincount(us, minlength=13)) / 35
    assert_allclose(c._wilcox_cdf(3, 4), expected, rtol=1e-14)


def test_mann_whitney_bad_input():
    with pytest.raises(AnalysisError, match="at least 2"):
        c.mann_whitney([1.0], [2.0, 3.0])
    with pytest.raises(ParameterError, match="finite numbers"):
        c.mann_whitney([1.0, np.nan], [2.0, 3.0])
    with pytest.raises(AnalysisError, match="all values are tied"):
        c.mann_whitney([1.0] * 60, [1.0] * 60)


# ------------------------------------------------------------------ BCa bootstrap
@pytest.mark.parametrize("row", R.BCA, ids=["n45-44", "n20-17"])
def test_bca_on_r_replicates(row):
    """Same replicates as R ``boot(dat, stat, R = 1999, strata = g)``.

    (a) Textbook BCa in base R (jackknife within arms, ``quantile(type = 7)``): equal to 1e-9.
    (b) ``boot.ci(b, type = "bca", L = empinf(b, type = "jack"))`` interpolates on the normal
    scale and scales stratified influence values differently (acceleration 0.0488 vs 0.0482 in
    case 1), so it is matched within 0.1 of the bootstrap SE."""
    r = c.bootstrap_bca(row["x"], row["y"], replicates=np.array(row["replicates"]))
    assert_allclose(r.estimate, row["t0"], rtol=1e-12)
    assert_allclose([r.ci_low, r.ci_high], [row["formula_low"], row["formula_high"]], rtol=1e-9)
    tol = 0.1 * r.standard_error
    assert abs(r.ci_low - row["boot_low"]) < tol and abs(r.ci_high - row["boot_high"]) < tol


def test_bca_seed_reproducible_and_sensible():
    rng = np.random.default_rng(5)
    x, y = rng.normal(1, 1, 40), rng.normal(0, 1, 40)
    a = c.bootstrap_bca(x, y, n_resamples=999, seed=3)
    b = c.bootstrap_bca(x, y, n_resamples=999, seed=3)
    d = c.bootstrap_bca(x, y, n_resamples=999, seed=4)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (d.ci_low, d.ci_high)
    t = c.ttest_from_summary(x.mean(), x.std(ddof=1), 40, y.mean(), y.std(ddof=1), 40)
    # the BCa interval of a mean difference is close to the t interval at n = 40 per arm
    assert abs(a.ci_low - t.ci_low) < 0.1 and abs(a.ci_high - t.ci_high) < 0.1
    m = c.bootstrap_bca(x, y, statistic="median_diff", n_resamples=999, seed=3)
    assert m.statistic_name == "median_diff"


def test_bca_bad_input():
    with pytest.raises(ParameterError, match="`statistic` must be one of"):
        c.bootstrap_bca([1, 2, 3], [1, 2, 3], statistic="mean")
    with pytest.raises(ParameterError, match="`n_resamples` must be a whole number >= 100"):
        c.bootstrap_bca([1, 2, 3], [1, 2, 3], n_resamples=10)
    with pytest.raises(ParameterError, match="`seed` must be"):
        c.bootstrap_bca([1, 2, 3], [1, 2, 3], seed="a")
    with pytest.raises(AnalysisError, match="BCa interval not computable"):
        c.bootstrap_bca([1.0, 1.0, 1.0], [2.0, 2.0], n_resamples=100)


# ------------------------------------------------------------------ Welch on data
def test_welch_on_data_matches_summary_version():
    x, y = R.MANN_WHITNEY[0]["x"], R.MANN_WHITNEY[0]["y"]
    r = c.welch(x, y)
    s = c.ttest_from_summary(
        np.mean(x),
        np.std(x, ddof=1),
        len(x),
        np.mean(y),
        np.std(y, ddof=1),
        len(y),
        equal_var=False,
    )
    assert r.method == "Welch t" and r.p_value == pytest.approx(s.p_value, rel=1e-12)
    with pytest.raises(AnalysisError, match="zero variance"):
        c.welch([1, 1], [2, 2])
