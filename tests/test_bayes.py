"""Beta-binomial reanalysis against R and a closed form.

R reference: ``tests/reference/bayes.R`` -> ``tests/fixtures/bayes_from_r.py``
(``integrate(function(u) pbeta(h(qbeta(u, a2, b2)), a1, b1), 0, 1)`` and ``uniroot`` for the
quantiles). Closed form: for integer posterior parameters,
``P(p1 > p2) = sum_{i=0}^{a1-1} B(a2 + i, b1 + b2) / ((b1 + i) B(1 + i, b1) B(a2, b2))``
(Cook 2005, "Exact calculation of beta inequalities", MD Anderson tech. report 54).
Tolerances: rtol 1e-6 for exact results; Monte Carlo within 5 standard errors.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import betaln

from tests.fixtures.bayes_from_r import POSTERIORS
from trial_analysis.bayes import BetaPrior, beta_binomial, make_prior, reanalysis
from trial_analysis.errors import ParameterError

KEYS = {"rd_": "risk difference", "rr_": "relative risk", "or_": "odds ratio"}
IDS = [f"{c['name']}-{c['x1']}/{c['n1']}-{c['x2']}/{c['n2']}" for c in POSTERIORS]


@pytest.mark.parametrize("case", POSTERIORS, ids=IDS)
def test_exact_summaries_match_r(case):
    post = beta_binomial(
        case["x1"],
        case["n1"],
        case["x2"],
        case["n2"],
        tuple(case["prior"]),
        mcid=0.10,
        mc_draws=20_000,
    )
    df = post.to_frame().set_index("quantity")
    for k, q in KEYS.items():
        ref = case[k]
        assert_allclose(df.loc[q, "prob_gt_null"], ref["p_gt_null"], rtol=1e-6, err_msg=q)
        assert_allclose(
            df.loc[q, ["median", "ci_low", "ci_high"]].to_numpy(float),
            [ref["median"], ref["q025"], ref["q975"]],
            rtol=1e-6,
            atol=1e-9,
            err_msg=q,
        )
        mc, se = df.loc[q, "mc_prob_gt_null"], df.loc[q, "mc_se"]
        assert abs(mc - ref["p_gt_null"]) <= 5 * max(se, 1 / 20_000)
    assert_allclose(df.loc["risk difference", "prob_gt_mcid"], case["p_rd_gt_010"], rtol=1e-6)


def _cook(a1, b1, a2, b2):
    """P(p1 > p2) for integer a1 (Cook 2005), summed in logs."""
    return sum(
        math.exp(betaln(a2 + i, b1 + b2) - math.log(b1 + i) - betaln(1 + i, b1) - betaln(a2, b2))
        for i in range(int(a1))
    )


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(9, 45, 2, 44), (3, 10, 7, 12), (0, 5, 0, 5)])
def test_prob_greater_closed_form(x1, n1, x2, n2):
    post = beta_binomial(x1, n1, x2, n2, "uniform")
    a1, b1, a2, b2 = post.posterior_params
    assert_allclose(post.prob_greater(), _cook(a1, b1, a2, b2), rtol=1e-8)


def test_named_priors():
    assert make_prior("uniform") == BetaPrior(1, 1, 1, 1, "uniform", "Beta(1, 1) in both arms")
    sc = make_prior("sceptical", centre=0.1, ess=20)
    assert (sc.a1, sc.b1, sc.a2, sc.b2) == pytest.approx((2, 18, 2, 18))
    en = make_prior("enthusiastic", centre=0.1, ess=20, effect=0.15)
    assert (en.a1, en.b1) == pytest.approx((5, 15))
    # a sceptical prior is centred on no effect: P(RD > 0) = 1/2 with no data
    assert beta_binomial(0, 0, 0, 0, "sceptical").prob_greater() == pytest.approx(0.5, abs=1e-9)


def test_draw_reproducible_and_shape():
    post = beta_binomial(9, 45, 2, 44, "jeffreys")
    a1, b1 = post.draw(1000, 42)
    a2, b2 = post.draw(1000, np.random.default_rng(42))
    assert a1.shape == (1000,) and np.array_equal(a1, a2) and np.array_equal(b1, b2)
    pa1, pb1, _, _ = post.posterior_params
    assert abs(a1.mean() - pa1 / (pa1 + pb1)) < 0.01


def test_reanalysis_table_plot_and_json():
    res = reanalysis(9, 45, 2, 44, mcid=0.1, mc_draws=20_000)
    df = res.to_frame()
    assert list(df.prior.unique()) == ["uniform", "jeffreys", "sceptical", "enthusiastic"]
    assert len(df) == 12
    # ordering of the priors' pull: sceptical < uniform < enthusiastic on P(RD > 0.1)
    p = df[df.quantity == "risk difference"].set_index("prior").prob_gt_mcid
    assert p["sceptical"] < p["uniform"] < p["enthusiastic"]
    d = json.loads(json.dumps(res.to_dict()))
    assert d["priors"][2]["a1"] == pytest.approx(2.0)
    assert "exact" in str(res)
    fig = res.plot()
    assert len(fig.axes) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prior": "flat"}, r"`prior` must be one of 'uniform'"),
        ({"prior": (1, 1, 0, 1)}, r"`prior` must be a number > 0, got 0"),
        ({"x1": 50}, r"`x1` must be a count between 0 and n1=45, got 50"),
        ({"cred_level": 95}, r"`cred_level` must be a confidence level"),
        ({"mcid": 2}, r"`mcid` must be a risk difference in \(-1, 1\), got 2"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"x1": 9, "n1": 45, "x2": 2, "n2": 44}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        beta_binomial(**args)


def test_bad_prior_parameters():
    with pytest.raises(ParameterError, match=r"`effect` must be such that centre \+ effect"):
        make_prior("enthusiastic", centre=0.9, effect=0.2)
    with pytest.raises(ParameterError, match=r"`quantity` must be one of"):
        beta_binomial(9, 45, 2, 44).prob_greater("hazard ratio")


def test_plot_names_the_arms_as_given_as_plain_text():
    """plot(arms=...): legends and the risk-difference axis name the arms (experimental −
    control); a "$" in a name (data-file text) is no formula."""
    fig = reanalysis(9, 45, 2, 44, mc_draws=1000).plot(arms=("UC-$MSC", "Placebo"))
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_legend().get_texts()][:2] == [
        "UC-$MSC posterior",
        "Placebo posterior",
    ]
    assert bottom.get_xlabel() == "risk difference UC-$MSC \u2212 Placebo"
    assert not bottom.xaxis.label.get_parse_math()
    assert not any(t.get_parse_math() for t in top.get_legend().get_texts())
    assert "arm 1" in reanalysis(9, 45, 2, 44, mc_draws=1000).plot().axes[1].get_xlabel()
