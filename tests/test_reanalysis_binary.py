"""Composite endpoint reanalysis: sensitivity, tipping point, the assembled result, the CLI.

Independent references: R ``fisher.test``/``chisq.test`` values for 9/45 vs 2/46 in
``tests/fixtures/binary_from_r.py`` (``tests/reference/binary.R``), ``scipy.stats.fisher_exact``
for the tipping-point grid, and the facts of ``/work/shared/reference/zang2022.md`` section 2
(9/45 vs 2/44 analysed; 45 and 46 randomised).
"""

from __future__ import annotations

import json

import pytest
from numpy.testing import assert_allclose
from scipy import stats

import trial_analysis as ta
from tests.fixtures.binary_from_r import CASES
from trial_analysis.binary import missing_sensitivity, tipping_point
from trial_analysis.cli import main
from trial_analysis.errors import ParameterError
from trial_analysis.results import SYNTHETIC_NOTE


def reanalyze(trial, ipd=None, seed=20220503, *, endpoint="composite"):
    """The engine's result for one binary endpoint (its first experimental arm)."""
    return ta.reanalyze(trial, endpoint, ipd=ipd, seed=seed)[endpoint]


ITT_R = next(c for c in CASES if (c["x1"], c["n1"], c["x2"], c["n2"]) == (9, 45, 2, 46))


def test_missing_sensitivity_zang():
    """fisher.test(matrix(c(9, 2, 36, 44), 2)) and chisq.test(..., correct=FALSE/TRUE)."""
    t = missing_sensitivity(9, 45, 2, 44, 45, 46).to_frame().set_index("scenario")
    itt = t.loc["ITT, missing = failure"]
    assert (itt.x1, itt.n1, itt.x2, itt.n2) == (9, 45, 2, 46)
    assert_allclose(itt.p_fisher, ITT_R["fisher_p"], rtol=1e-6)
    assert_allclose(itt.p_chisq, ITT_R["chisq_p"], rtol=1e-6)
    assert_allclose(itt.p_chisq_yates, ITT_R["yates_p"], rtol=1e-6)
    assert_allclose([itt.ci_low, itt.ci_high], ITT_R["newcombe_ci"], rtol=1e-6)
    worst = t.loc["worst case for arm 1"]
    assert (worst.x2, worst.n2) == (4, 46)
    assert_allclose(worst.p_fisher, stats.fisher_exact([[9, 36], [4, 42]]).pvalue, rtol=1e-6)
    assert t.loc["best case for arm 1", "x2"] == 2  # no missing in arm 1: best = ITT-failure


def test_tipping_point_grid_against_scipy():
    tp = tipping_point(9, 45, 2, 44, 45, 46)
    g = tp.to_frame()
    assert list(zip(g.k1, g.k2, strict=True)) == [(0, 0), (0, 1), (0, 2)]
    for _, r in g.iterrows():
        ref = stats.fisher_exact([[r.x1, r.n1 - r.x1], [r.x2, r.n2 - r.x2]]).pvalue
        assert_allclose(r.p_value, ref, rtol=1e-6)
    tip = tp.tipping.iloc[0]
    assert (tip.k1, tip.k2) == (0, 1)  # one placebo responder among the two overturns it
    assert "Tipping point: k1 = 0, k2 = 1" in str(tp)
    two_arms = tipping_point(5, 20, 2, 18, 22, 20, test="chisq").to_frame()
    assert len(two_arms) == 3 * 3 and set(two_arms.n1) == {22}


@pytest.fixture(scope="module")
def published():
    return reanalyze("zang2022")


def test_reanalyze_published(published):
    r = published
    c = r.comparison
    assert (c.x1, c.n1, c.x2, c.n2) == (9, 45, 2, 44)
    assert c.arm_labels == ("UC-MSC", "Placebo")
    assert list(r.counts.method) == ["wald"]
    assert r.fragility.to_frame().set_index("test").loc["fisher", "index"] == 1
    assert r.ipd_comparison is None and r.firth is None and not r.synthetic
    text = str(r)
    for part in ("Counts implied", "Fragility index", "Tipping-point", "Bayesian reanalysis"):
        assert part in text
    assert any("2 Placebo randomised patients were not" in n for n in r.notes)
    html = r._repr_html_()
    assert html.count("<table") == 6  # counts, comparison, fragility, sensitivity, tipping, bayes


def test_to_dict_and_figures(published):
    d = json.loads(json.dumps(published.to_dict()))
    assert {"comparison", "fragility", "sensitivity", "tipping_point", "bayes", "firth"} <= set(d)
    assert d["firth"] is None
    assert d["counts_inference"][0]["n2"] == 44
    figs = published.figures()
    assert set(figs) == {"intervals", "sensitivity", "tipping_point", "bayes"}
    assert all(hasattr(f, "savefig") for f in figs.values())


def test_cli_json_has_the_same_numbers(published, capsys):
    assert main(["reanalyze", "zang2022", "--endpoint", "composite", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    got = {r["key"]: r for r in d["comparison"]["table"]}
    want = published.comparison.to_frame().set_index("key")
    for key in ("rd_wald", "rd_newcombe", "or_blaker", "test_boschloo"):
        for col in ("estimate", "ci_low", "ci_high", "p_value"):
            v = want.loc[key, col]
            assert (
                (got[key][col] is None) if v != v else got[key][col] == pytest.approx(v, rel=1e-12)
            )


def test_cli_text(capsys):
    assert main(["reanalyze", "zang2022", "--endpoint", "composite"]) == 0
    out = capsys.readouterr().out
    assert "HbA1c < 7.0% and daily insulin" in out and "Newcombe hybrid score" in out


@pytest.mark.slow
def test_reanalyze_with_synthetic_ipd():
    ipd = ta.synthetic_ipd("zang2022", seed=20220503)
    r = reanalyze("zang2022", ipd=ipd)
    ev = ipd.endpoint_values("composite").dropna(subset=["value"])
    k = ev.groupby("ARM", sort=False)["value"].agg(["sum", "count"]).astype(int)
    c = r.ipd_comparison
    assert (c.x1, c.n1) == tuple(k.loc["UC-MSC"]) and (c.x2, c.n2) == tuple(k.loc["Placebo"])
    assert r.synthetic
    for res in (r, r.ipd_comparison, r.firth):
        assert SYNTHETIC_NOTE in res.notes
    f = r.firth.to_frame().set_index("term")
    assert set(f.index) == {"(Intercept)", "treatment", "BASE_HBA1C", "BASE_INSDOSE"}
    assert r.firth.n_obs == len(ev)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: reanalyze("zang2022", seed="x"), r"`seed` must be an int, got 'x'"),
        (
            lambda: reanalyze("zang2022", ipd=object()),
            r"`ipd` must be None, False, 'synthetic', a path or an IPD",
        ),
        (
            lambda: reanalyze("zang2022", endpoint="nope"),
            r"`endpoint` must be one of composite, insulin, hba1c, gir",
        ),
        (
            lambda: missing_sensitivity(9, 45, 2, 44, 40, 46),
            r"`n1_randomised` must be at least the analysed n1=45, got 40",
        ),
        (lambda: tipping_point(9, 45, 2, 44, 45, 46, test="t"), r"`test` must be one of"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
