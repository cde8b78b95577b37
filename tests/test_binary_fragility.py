"""Fragility index (Walsh et al. 2014), quotient and reverse index.

Independent reference: a plain loop over ``scipy.stats.fisher_exact`` /
``scipy.stats.chi2_contingency`` (the peer implementations of the tests), switching outcomes
one patient at a time in the arm with fewer events as Walsh et al. (2014, J Clin Epidemiol
67:622, Methods) describe.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from trial_analysis.binary import TESTS, fragility_index, fragility_table
from trial_analysis.errors import ParameterError


def _fisher(x1, n1, x2, n2):
    return stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue


def _walsh_loop(x1, n1, x2, n2, pfun, alpha=0.05):
    """Walsh's rule, written out: add events to the arm with fewer events."""
    k = 0
    if x2 <= x1:
        while pfun(x1, n1, x2 + k, n2) < alpha:
            k += 1
    else:
        while pfun(x1 + k, n1, x2, n2) < alpha:
            k += 1
    return k


@pytest.mark.parametrize(
    "table", [(9, 45, 2, 44), (30, 100, 10, 100), (3, 40, 15, 40), (50, 200, 25, 210)]
)
def test_fisher_fragility_matches_scipy_loop(table):
    res = fragility_index(*table)
    assert res.significant and not res.reverse
    assert res.index == _walsh_loop(*table, _fisher)
    assert math.isclose(res.quotient, res.index / (table[1] + table[3]))
    path = res.to_frame()
    for _, r in path.iterrows():
        assert math.isclose(r.p_value, _fisher(r.x1, r.n1, r.x2, r.n2), rel_tol=1e-6)
    assert path.significant.iloc[-1] is False or not path.significant.iloc[-1]


def test_zang2022_fragility_is_one():
    """One more placebo responder (3/44) makes Fisher's p >= 0.05 (scipy: 0.12)."""
    res = fragility_index(9, 45, 2, 44)
    assert res.index == 1 and res.modified_arm == 2
    assert _fisher(9, 45, 3, 44) >= 0.05
    assert "fragility index = 1" in str(res)


def test_reverse_fragility_yates():
    """Yates-corrected chi-square is not significant for 9/45 vs 2/44 (p = 0.058): one
    placebo responder fewer (1/44) makes it significant (scipy chi2_contingency)."""
    res = fragility_index(9, 45, 2, 44, test="chisq_yates")
    assert res.reverse and res.index == 1
    p = stats.chi2_contingency([[9, 36], [1, 43]], correction=True).pvalue
    assert p < 0.05
    assert math.isclose(res.to_frame().p_value.iloc[-1], p, rel_tol=1e-6)


def test_no_crossing_gives_none():
    res = fragility_index(0, 2, 0, 2)  # even 0/2 vs 2/2 has Fisher p = 1/3
    assert res.reverse
    assert _fisher(0, 2, 2, 2) > 0.05
    assert res.index is None and math.isnan(res.quotient)
    assert "no change" in str(res)


def test_table_of_all_tests():
    tab = fragility_table(9, 45, 2, 44)
    df = tab.to_frame()
    assert list(df.test) == list(TESTS)
    assert df.loc[df.test == "chisq_yates", "kind"].item() == "reverse"
    assert (df["index"] >= 1).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test": "t"}, r"`test` must be one of"),
        ({"alpha": 0.7}, r"`alpha` must be a significance level in \(0, 0.5\], got 0.7"),
        ({"x1": 50}, r"`x1` must be a count between 0 and n1=45"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"x1": 9, "n1": 45, "x2": 2, "n2": 44}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        fragility_index(**args)
