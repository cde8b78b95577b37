"""trial_analysis.meta against R metafor 3.8 (fixtures written by tests/reference/meta.R).

Tolerance: rtol 1e-6 (atol 1e-8 for values near 0) everywhere. The fixtures were produced with
metafor's convergence thresholds tightened to 1e-12 so that they hold the estimators' roots.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis.meta as M
from tests.fixtures import meta_from_r as R
from trial_analysis.errors import AnalysisError, ParameterError, StatisticalWarning

DATA = Path(__file__).parent / "fixtures" / "meta_data"
RTOL, ATOL = 1e-6, 1e-8


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol, equal_nan=True
    )


@pytest.fixture(scope="module")
def data():
    return {
        n: pd.read_csv(DATA / f"{f}.csv")
        for n, f in (
            ("bcg", "bcg"),
            ("normand", "normand1999"),
            ("hack", "hackshaw1998"),
            ("niel", "nielweise2007"),
        )
    }


@pytest.fixture(scope="module")
def effects(data):
    b, n, h, z = data["bcg"], data["normand"], data["hack"], data["niel"]
    cnt = {"ai": b.tpos, "bi": b.tneg, "ci": b.cpos, "di": b.cneg}
    nz = {"ai": z.ai, "n1i": z.n1i, "ci": z.ci, "n2i": z.n2i}
    md = {"m1i": n.m1i, "sd1i": n.sd1i, "n1i": n.n1i, "m2i": n.m2i, "sd2i": n.sd2i, "n2i": n.n2i}
    return {
        "bcg_RR": M.escalc("RR", **cnt),
        "bcg_OR": M.escalc("OR", **cnt),
        "bcg_RD": M.escalc("RD", **cnt),
        "niel_RR": M.escalc("RR", **nz),
        "niel_OR": M.escalc("OR", **nz),
        "niel_RD": M.escalc("RD", **nz),
        "normand_MD": M.escalc("MD", **md),
        "normand_SMD": M.escalc("SMD", **md),
        "hackshaw": M.escalc("GEN", yi=h.yi, vi=h.vi),
    }


@pytest.fixture(scope="module")
def years(data):
    return {"bcg_RR": data["bcg"].year.to_numpy(), "hackshaw": data["hack"].year.to_numpy()}


@pytest.mark.parametrize("key", sorted(R.ESCALC))
def test_escalc_matches_metafor(effects, key):
    """escalc("RR"/"OR"/"RD", ai=, bi=, ci=, di=) and escalc("MD"/"SMD", m1i=, ...): yi, vi.

    niel_* (dat.nielweise2007) has zero cells: metafor's default add=1/2, to="only0".
    """
    close(effects[key].yi, R.ESCALC[key]["yi"])
    close(effects[key].vi, R.ESCALC[key]["vi"])


def test_zero_cells_are_flagged(effects):
    flags = effects["niel_OR"].flags
    assert any("0.5 added" in f for f in flags)
    assert any(f == "" for f in flags)
    assert "Zero cells" in effects["niel_OR"].notes[0]


FIELDS = (
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_low",
    "ci_high",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_p",
    "pi_low",
    "pi_high",
)


@pytest.mark.parametrize("key", sorted(R.RMA))
def test_rma_matches_metafor(effects, key):
    """r <- rma(yi, vi, method=M, test=T); predict(r) (PI); confint(r) (Q-profile)."""
    s, method, test = key
    exp = R.RMA[key]
    if (method, test) == ("FE", "knha"):
        with pytest.warns(StatisticalWarning, match="meant for random-effects"):
            r = M.rma(effects[s], method=method, test=test)
    else:
        with _nowarn():
            r = M.rma(effects[s], method=method, test=test)
    for f in FIELDS:
        close(getattr(r, f), exp[f])
    if "tau2_ci" in exp:
        ci = r.confint()
        if key[:2] == ("normand_MD", "DL"):
            # metafor stops its search at tau2.max = 10 * tau2 (printed as '>'); the true
            # Q-profile root lies beyond it. Lower bounds agree.
            assert exp["tau2_ci"][1] == pytest.approx(10 * r.tau2, rel=1e-9)
            assert ci.tau2[2] > exp["tau2_ci"][1]
            close(ci.tau2[1], exp["tau2_ci"][0])
            return
        close(ci.tau2[1:], exp["tau2_ci"])
        close(ci.i2[1:], exp["i2_ci"])
        close(ci.h2[1:], exp["h2_ci"])


class _nowarn:
    def __enter__(self):
        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("error", StatisticalWarning)

    def __exit__(self, *a):
        self._c.__exit__(*a)


@pytest.mark.parametrize("key", sorted(R.LEAVE1OUT))
def test_leave1out_matches_metafor(effects, key):
    """leave1out(rma(yi, vi, method=M, test=T))."""
    s, method, test = key
    tab = M.leave1out(M.rma(effects[s], method=method, test=test)).to_frame()
    for f, v in R.LEAVE1OUT[key].items():
        close(tab[f], v)


@pytest.mark.parametrize("key", sorted(R.CUMUL))
def test_cumul_by_year_matches_metafor(effects, years, key):
    """cumul(rma(yi, vi, data=dat[order(year), ], method=M, test=T)); ties keep input order."""
    s, method, test = key
    res = M.rma(effects[s], method=method, test=test, year=years[s])
    tab = M.cumul(res).to_frame()
    assert list(tab["order"]) == sorted(years[s])
    for f, v in R.CUMUL[key].items():
        close(tab[f], v)


@pytest.mark.parametrize("key", sorted(R.INFLUENCE))
def test_influence_matches_metafor(effects, key):
    """influence(rma(...)): rstudent, dffits, cook.d, cov.r, tau2.del, QE.del, hat, weight,
    dfbs."""
    s, method, test = key
    tab = M.influence(M.rma(effects[s], method=method, test=test)).to_frame()
    for f, v in R.INFLUENCE[key].items():
        close(tab[f], v)


@pytest.mark.parametrize("key", sorted(R.REGTEST))
def test_regtest_matches_metafor(effects, key):
    """regtest(rma(..., method=M, test=T)) (model="rma", predictor="sei") and
    regtest(rma(..., method="FE"), model="lm") (classical Egger)."""
    s, method, test, model = key
    exp = R.REGTEST[key]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "test='knha' with a fixed-effect", StatisticalWarning)
        res = M.rma(effects[s], method=method, test=test)
    with (
        pytest.warns(StatisticalWarning, match="fewer|only")
        if effects[s].yi.size < 10
        else _nowarn()
    ):
        e = M.regtest(res, model=model)
    close(
        [e.statistic, e.pval, e.est, e.ci_low, e.ci_high],
        [exp["zval"], exp["pval"], exp["est"], exp["ci_low"], exp["ci_high"]],
    )


@pytest.mark.parametrize("key", sorted(R.RANKTEST))
def test_ranktest_matches_metafor(effects, key):
    """ranktest(rma(yi, vi)): Kendall's tau and its exact p-value (k < 50, no ties)."""
    exp = R.RANKTEST[key]
    with pytest.warns(StatisticalWarning, match="only") if effects[key].yi.size < 10 else _nowarn():
        rk = M.ranktest(M.rma(effects[key]))
    assert rk.exact == (not exp["ties"])
    close([rk.tau, rk.pval], [exp["tau"], exp["pval"]])


@pytest.mark.parametrize("key", sorted(R.MH))
def test_mantel_haenszel_matches_metafor(data, key):
    """rma.mh(ai=, bi=, ci=, di=, measure=M) (default add=c(1/2, 0), drop00=TRUE)."""
    s, measure = key
    if s == "bcg":
        b = data["bcg"]
        r = M.rma_mh(b.tpos, b.tneg, b.cpos, b.cneg, measure=measure)
    else:
        z = data["niel"]
        r = M.rma_mh(z.ai, ci=z.ci, n1i=z.n1i, n2i=z.n2i, measure=measure)
    exp = R.MH[key]
    for f in ("estimate", "se", "zval", "pval", "ci_low", "ci_high", "q", "q_p", "i2", "h2"):
        close(getattr(r, f), exp[f])
    for f in ("cmh", "cmh_p", "tarone", "tarone_p"):
        if not np.isnan(exp[f]):
            close(r.extra[f], exp[f])


@pytest.mark.parametrize("s", sorted(R.PETO))
def test_peto_matches_metafor(data, s):
    """rma.peto(ai=, bi=, ci=, di=)."""
    if s == "bcg":
        b = data["bcg"]
        r = M.rma_peto(b.tpos, b.tneg, b.cpos, b.cneg)
    else:
        z = data["niel"]
        r = M.rma_peto(z.ai, ci=z.ci, n1i=z.n1i, n2i=z.n2i)
    for f in ("estimate", "se", "zval", "pval", "ci_low", "ci_high", "q", "q_p", "i2", "h2"):
        close(getattr(r, f), R.PETO[s][f])


# --- large-k leave-one-out: series path against the exact path ---------------------------------


@pytest.mark.parametrize("method", ["REML", "PM", "SJ", "ML", "DL", "HE"])
def test_leave1out_series_path_equals_exact_path(method, monkeypatch):
    from trial_analysis.meta import _core

    rng = np.random.default_rng(7)
    k = 700
    vi = rng.uniform(0.01, 0.4, k)
    yi = rng.normal(0.2, np.sqrt(vi + 0.04))
    yi[0] += 3.0  # an outlier: its deletion moves tau2 more than the others
    res = M.rma(yi, vi, method=method, test="knha")
    monkeypatch.setattr(_core, "_EXACT_MAX", 100)
    series = _core.loo_fits(yi, vi, method, "knha", res.tau2)
    monkeypatch.setattr(_core, "_EXACT_MAX", 10**9)
    exact = _core.loo_fits(yi, vi, method, "knha", res.tau2)
    for f in ("estimate", "tau2", "vb", "q", "i2"):
        close(series[f], exact[f], rtol=1e-10, atol=1e-12)
    # and one deletion against a direct refit
    direct = M.rma(yi[1:], vi[1:], method=method, test="knha")
    close(exact["estimate"][0], direct.estimate, rtol=1e-9)
    close(exact["tau2"][0], direct.tau2, rtol=1e-7, atol=1e-12)


# --- conversions -----------------------------------------------------------------------------


def test_se_from_ci_and_p_round_trip():
    """A z-based 95% CI and p-value imply the same SE: est=-0.5, se=0.2."""
    from scipy import stats

    est, se = -0.5, 0.2
    z = stats.norm.ppf(0.975)
    assert M.se_from_ci(est, est - z * se, est + z * se) == pytest.approx(se, rel=1e-12)
    p = 2 * stats.norm.sf(abs(est) / se)
    assert M.se_from_p(est, p) == pytest.approx(se, rel=1e-10)
    # t-based with df
    t = stats.t.ppf(0.975, 20)
    assert M.se_from_ci(est, est - t * se, est + t * se, df=20) == pytest.approx(se, rel=1e-12)
    # ratio on the log scale: RR 0.5 (0.25, 1.0) -> se = log(4) / (2 z)
    assert M.se_from_ci(0.5, 0.25, 1.0, log=True) == pytest.approx(np.log(4) / (2 * z))


def test_skyler_ci_from_se_reproduces_evidence_arithmetic():
    """evidence.md [DER]: Skyler 2015 -0.3 +/- 0.25 -> 95% CI -0.79 to +0.19."""
    from scipy import stats

    z = stats.norm.ppf(0.975)
    assert round(-0.3 - z * 0.25, 2) == -0.79 and round(-0.3 + z * 0.25, 2) == 0.19
    assert M.se_from_ci(-0.3, -0.3 - z * 0.25, -0.3 + z * 0.25) == pytest.approx(0.25)


@pytest.mark.parametrize("p", [0, 1, 1.5, -0.1])
def test_se_from_p_rejects_non_exact_p(p):
    with pytest.raises(ParameterError, match="strictly between 0 and 1"):
        M.se_from_p(-0.68, p, study="Zang 2022")


def test_se_from_p_names_the_study_and_rejects_zero_estimate():
    with pytest.raises(ParameterError, match="Zang 2022"):
        M.se_from_p(-0.68, 0.0, study="Zang 2022")
    with pytest.raises(ParameterError, match="non-zero estimate"):
        M.se_from_p(0.0, 0.5)


def test_se_from_ci_rejects_ci_without_estimate():
    with pytest.raises(ParameterError, match="contains the estimate"):
        M.se_from_ci(-0.68, -0.5, -0.1, study="X")
    with pytest.raises(ParameterError, match="below ci_high"):
        M.se_from_ci(0.1, 0.2, 0.2)
    with pytest.warns(StatisticalWarning, match="asymmetric"):
        M.se_from_ci(1.0, 0.5, 3.0)


def test_change_sd_cochrane_identities():
    """Cochrane Handbook 6.5.2.8: SD_change^2 = SD_b^2 + SD_f^2 - 2 r SD_b SD_f.

    r = 0 adds variances; r = 1 gives |SD_b - SD_f|; r = 0.5 with equal SDs gives that SD.
    """
    assert M.change_sd(3.0, 4.0, 0.0) == pytest.approx(5.0)
    assert M.change_sd(3.0, 4.0, 1.0) == pytest.approx(1.0)
    assert M.change_sd(2.0, 2.0, 0.5) == pytest.approx(2.0)
    np.testing.assert_allclose(M.change_sd([3.0, 2.0], [4.0, 2.0], [0.0, 0.5]), [5.0, 2.0])
    with pytest.raises(ParameterError, match="correlation in"):
        M.change_sd(1, 1, 1.2)
    with pytest.raises(ParameterError, match="non-negative SDs"):
        M.change_sd(-1, 1, 0.5)


def test_median_iqr_recovers_normal_parameters():
    """Wan 2014 eq. 16 / Luo 2018 eq. 15: the population quartiles of N(mu, sigma) with a
    large n give back mu and sigma (eta(n) -> 2 * 0.6745)."""
    from scipy import stats

    mu, sigma, n = 8.0, 1.2, 10**7
    q = stats.norm.ppf(0.75) * sigma
    for method in ("luo", "wan"):
        m, s = M.mean_sd_from_median_iqr(mu, mu - q, mu + q, n, method=method)
        assert m == pytest.approx(mu, rel=1e-12)
        assert s == pytest.approx(sigma, rel=1e-6)


def test_median_iqr_formulas_bhansali():
    """Bhansali 2014 stem-cell arm at baseline, median 6.9 (IQR 6.4-7.2), n = 11.

    Luo eq. 15: (0.7 + 0.39/11) * (6.4 + 7.2)/2 + (0.3 - 0.39/11) * 6.9;
    Wan eq. 14: (6.4 + 6.9 + 7.2)/3; SD: 0.8 / (2 * qnorm((0.75*11 - 0.125)/(11 + 0.25))).
    """
    from scipy import stats

    m, s = M.mean_sd_from_median_iqr(6.9, 6.4, 7.2, 11)
    assert m == pytest.approx((0.7 + 0.39 / 11) * 6.8 + (0.3 - 0.39 / 11) * 6.9)
    assert s == pytest.approx(0.8 / (2 * stats.norm.ppf((0.75 * 11 - 0.125) / 11.25)))
    assert M.mean_sd_from_median_iqr(6.9, 6.4, 7.2, 11, method="wan")[0] == pytest.approx(20.5 / 3)
    with pytest.raises(ParameterError, match="ordered q1"):
        M.mean_sd_from_median_iqr(6.0, 6.4, 7.2, 11)


# --- bad input -------------------------------------------------------------------------------


def test_zero_variance_names_the_study():
    with pytest.raises(ParameterError, match=r"row 2 \('B'\) has vi = 0"):
        M.rma([0.1, 0.2, 0.3], [0.1, 0.0, 0.2], slab=["A", "B", "C"])


def test_negative_sd_names_the_study():
    with pytest.raises(ParameterError, match=r"study row 2 \('Y'\)"):
        M.escalc(
            "MD",
            m1i=[1, 2],
            sd1i=[1, -1],
            n1i=[10, 10],
            m2i=[0, 0],
            sd2i=[1, 1],
            n2i=[10, 10],
            slab=["X", "Y"],
        )


def test_events_above_n_named():
    with pytest.raises(ParameterError, match=r"study row 1"):
        M.escalc("RR", ai=[12], n1i=[10], ci=[1], n2i=[10])


def test_zero_cell_without_correction_is_an_error():
    with pytest.raises(ParameterError, match="zero cell"):
        M.escalc("OR", ai=[0], n1i=[10], ci=[3], n2i=[10], to="none")


def test_single_study_warns_and_returns_it():
    with pytest.warns(StatisticalWarning, match="single study.*knha"):
        r = M.rma([-0.68], [0.066], slab=["Zang 2022"], test="knha")
    assert r.estimate == -0.68 and r.tau2 == 0 and r.test == "z"
    assert np.isnan(r.pi_low)
    assert "single study" in r.notes[0]
    with pytest.raises(AnalysisError, match="at least 2"):
        r.confint()


def test_two_studies_warn():
    with pytest.warns(StatisticalWarning, match="only 2 studies"):
        M.rma([-0.68, 0.0], [0.066, 0.1])


def test_missing_values_are_omitted_with_a_named_warning():
    with pytest.warns(StatisticalWarning, match=r"row 2 \('Zang 2023'\)"):
        r = M.rma(
            [-0.68, -0.85, -0.3, 0.1],
            [0.066, np.nan, 0.0625, 0.05],
            slab=["Zang 2022", "Zang 2023", "Skyler 2015", "Bhansali 2014"],
        )
    assert r.k == 3


def test_bad_method_and_test():
    with pytest.raises(ParameterError, match="method"):
        M.rma([1, 2, 3], [1, 1, 1], method="XYZ")
    with pytest.raises(ParameterError, match="test"):
        M.rma([1, 2, 3], [1, 1, 1], test="t")


def test_inputs_not_modified(effects):
    y = effects["bcg_RR"].yi.copy()
    v = effects["bcg_RR"].vi.copy()
    M.rma(effects["bcg_RR"])
    np.testing.assert_array_equal(y, effects["bcg_RR"].yi)
    np.testing.assert_array_equal(v, effects["bcg_RR"].vi)


def test_hksj_alias_and_fe_aliases(effects):
    a = M.rma(effects["bcg_RR"], test="hksj")
    b = M.rma(effects["bcg_RR"], test="knha")
    assert a.ci_low == b.ci_low and a.test == "knha"
    assert (
        M.rma(effects["bcg_RR"], method="EE").estimate
        == M.rma(effects["bcg_RR"], method="FE").estimate
    )


def test_result_rendering_and_json(effects):
    r = M.rma(effects["bcg_RR"], test="knha")
    d = r.to_dict()
    assert d["table"][0]["method"] == "REML" and len(d["studies"]) == 13
    assert "Hartung-Knapp" in str(r)
    assert "<table" in r._repr_html_()
    assert r.to_frame()["exp_estimate"].iloc[0] == pytest.approx(np.exp(r.estimate))


# --- plots -----------------------------------------------------------------------------------


def test_forest_and_funnel_plots(effects):
    from matplotlib.figure import Figure

    r = M.rma(effects["bcg_RR"], test="knha")
    f = M.forest_plot(r)
    assert isinstance(f, Figure)
    texts = [t.get_text() for t in f.axes[0].texts]
    assert "Prediction interval" in texts
    assert any(t.endswith("%") for t in texts)
    g = M.funnel_plot(r)
    assert isinstance(g, Figure)
    assert g.axes[0].get_ylim()[0] > g.axes[0].get_ylim()[1]  # SE axis inverted
    fe = M.rma_mh(
        *[
            np.array([4, 6, 3]),
            np.array([119, 300, 228]),
            np.array([11, 29, 11]),
            np.array([128, 274, 209]),
        ]
    )
    assert "Prediction interval" not in [t.get_text() for t in M.forest_plot(fe).axes[0].texts]
    with pytest.raises(ParameterError, match="contours"):
        M.funnel_plot(r, contours=(0.05, 2))


def test_table_diagnostics_share_one_table_result(effects):
    """leave1out, cumul and influence return their table (a copy: editing it leaves the
    result alone), titled, printable and JSON-ready through the one table result class."""
    res = M.rma(effects["bcg_RR"], method="REML")
    for diag, title in (
        (M.leave1out(res), "Leave-one-out analysis"),
        (M.cumul(res), "Cumulative meta-analysis"),
        (M.influence(res), "Influence diagnostics"),
    ):
        tab = diag.to_frame()
        assert len(tab) == res.k
        col = tab.select_dtypes("number").columns[0]
        tab[col] = np.nan
        assert diag.to_frame()[col].notna().all()
        assert title in str(diag) and diag.to_dict()["title"] == title
        assert len(diag.to_dict()["table"]) == res.k
