"""``pvalue_grid``: every test's p-value for all tables, against R and scipy.

R reference: ``tests/reference/binary.R`` -> ``tests/fixtures/binary_from_r.py``
(``fisher.test(m)``, ``fisher.test(m, alternative=...)``, ``chisq.test(m, correct=FALSE/TRUE)``,
``prop.test(x, n, alternative="greater", correct=FALSE)``, the G statistic as a ``glm``
deviance difference, mid-p from ``dhyper``-type sums). Exact methods: rtol 1e-6.
Barnard/Boschloo: ``scipy.stats.barnard_exact`` / ``boschloo_exact`` (peer implementations
with a global optimiser) on a grid of tables.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from tests.fixtures.binary_from_r import CASES
from trial_analysis.binary import TESTS, pvalue_grid, pvalues
from trial_analysis.errors import ParameterError

CASES95 = [c for c in CASES if c["conf_level"] == 0.95]
IDS = [f"{c['x1']}/{c['n1']}-{c['x2']}/{c['n2']}" for c in CASES95]


@pytest.mark.parametrize("case", CASES95, ids=IDS)
def test_conditional_and_asymptotic_tests_match_r(case):
    """fisher.test, chisq.test(correct=FALSE/TRUE), prop.test(alternative="greater"), glm G."""
    x1, n1, x2, n2 = case["x1"], case["n1"], case["x2"], case["n2"]

    def p(test, alt="two-sided"):
        return pvalue_grid(n1, n2, test, alt)[x1, x2]

    assert_allclose(p("fisher"), case["fisher_p"], rtol=1e-6)
    assert_allclose(p("fisher", "less"), case["fisher_less"], rtol=1e-6)
    assert_allclose(p("fisher", "greater"), case["fisher_greater"], rtol=1e-6)
    assert_allclose(p("fisher_midp"), case["fisher_midp"], rtol=1e-6)
    assert_allclose(p("lr"), case["lr_p"], rtol=1e-6)
    if case["chisq_p"] is None:  # margin 0 or N: R gives NaN; documented p = 1
        assert p("chisq") == 1.0 and p("chisq_yates") == 1.0 and p("z_pooled") == 1.0
    else:
        assert_allclose(p("chisq"), case["chisq_p"], rtol=1e-6)
        assert_allclose(p("z_pooled"), case["chisq_p"], rtol=1e-6)
        assert_allclose(p("chisq_yates"), case["yates_p"], rtol=1e-6)
        assert_allclose(p("z_pooled", "greater"), case["z_greater_p"], rtol=1e-6)


def _scipy_table(x1, n1, x2, n2):
    return [[x1, x2], [n1 - x1, n2 - x2]]


TABLE_SIZES = [(7, 8), (4, 12), (13, 11), (12, 5), (3, 3), (1, 6)]


@pytest.mark.parametrize(("n1", "n2"), TABLE_SIZES)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_boschloo_matches_scipy(n1, n2, alternative):
    grid = pvalue_grid(n1, n2, "boschloo", alternative)
    rng = np.random.default_rng(n1 * 100 + n2)
    for x1, x2 in zip(rng.integers(0, n1 + 1, 6), rng.integers(0, n2 + 1, 6), strict=True):
        ref = stats.boschloo_exact(_scipy_table(x1, n1, x2, n2), alternative=alternative).pvalue
        assert_allclose(grid[x1, x2], ref, rtol=1e-6, atol=1e-12)


def _z_fraction_sq(x1, n1, x2, n2):
    """Signed z^2 of the pooled z statistic in exact rational arithmetic (None if 0/0)."""
    m, nn = x1 + x2, n1 + n2
    if m in (0, nn):
        return Fraction(0)
    d = Fraction(x1, n1) - Fraction(x2, n2)
    v = Fraction(m, nn) * Fraction(nn - m, nn) * (Fraction(1, n1) + Fraction(1, n2))
    return (1 if d >= 0 else -1) * d * d / v


def _barnard_bruteforce(x1, n1, x2, n2, alternative):
    """Exact ties (rational z^2), dense nuisance grid: an independent check of ties."""
    zo = _z_fraction_sq(x1, n1, x2, n2)
    region = np.zeros((n1 + 1, n2 + 1), bool)
    for a in range(n1 + 1):
        for b in range(n2 + 1):
            z = _z_fraction_sq(a, n1, b, n2)
            region[a, b] = {"two-sided": abs(z) >= abs(zo), "greater": z >= zo, "less": z <= zo}[
                alternative
            ]
    pis = np.linspace(0, 1, 5001)
    b1 = stats.binom.pmf(np.arange(n1 + 1)[:, None], n1, pis)
    b2 = stats.binom.pmf(np.arange(n2 + 1)[:, None], n2, pis)
    return float(np.einsum("ab,ap,bp->p", region.astype(float), b1, b2).max())


@pytest.mark.parametrize(("n1", "n2"), TABLE_SIZES)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_barnard_matches_scipy_or_exact_ties(n1, n2, alternative):
    """scipy compares statistics with ``>=`` in floating point and so drops tables whose z
    ties the observed one in exact arithmetic (e.g. 0/4-1/12, 1/4-5/12, 2/4-8/12): there the
    reference is a brute force with rational ties (dense grid, 2e-4 relative)."""
    grid = pvalue_grid(n1, n2, "barnard", alternative)
    rng = np.random.default_rng(n1 * 100 + n2)
    for x1, x2 in zip(rng.integers(0, n1 + 1, 6), rng.integers(0, n2 + 1, 6), strict=True):
        ref = stats.barnard_exact(_scipy_table(x1, n1, x2, n2), alternative=alternative).pvalue
        brute = _barnard_bruteforce(x1, n1, x2, n2, alternative)
        assert grid[x1, x2] >= brute * (1 - 1e-12)
        assert_allclose(grid[x1, x2], brute, rtol=2e-4)
        if abs(brute - ref) < 1e-6 * brute:
            assert_allclose(grid[x1, x2], ref, rtol=1e-6)


def test_barnard_tie_case_where_scipy_differs():
    # 1/4 vs 5/12: z ties exactly with 0/4 vs 1/12 and 2/4 vs 8/12.
    p = pvalue_grid(4, 12, "barnard", "less")[1, 5]
    assert_allclose(p, _barnard_bruteforce(1, 4, 5, 12, "less"), rtol=1e-6)
    assert p > stats.barnard_exact(_scipy_table(1, 4, 5, 12), alternative="less").pvalue + 0.1


def test_zang_unconditional_match_scipy():
    t = _scipy_table(9, 45, 2, 44)
    assert_allclose(pvalues(9, 45, 2, 44, "boschloo"), stats.boschloo_exact(t).pvalue, rtol=1e-6)
    assert_allclose(pvalues(9, 45, 2, 44, "barnard"), stats.barnard_exact(t).pvalue, rtol=1e-6)


@pytest.mark.parametrize("test", TESTS)
def test_grid_shape_range_and_subset_agree(test):
    g = pvalue_grid(6, 5, test)
    assert g.shape == (7, 6)
    assert np.all((g >= 0) & (g <= 1))
    assert_allclose(pvalues([0, 6, 3], 6, [5, 0, 2], 5, test), g[[0, 6, 3], [5, 0, 2]], rtol=1e-9)
    # the table with no difference is never significant
    assert g[0, 0] >= 0.5 and g[6, 5] >= 0.5


def test_one_sided_mirror_symmetry():
    """Swapping arms swaps 'greater' and 'less' (for every test)."""
    for test in TESTS:
        g = pvalue_grid(5, 7, test, "greater")
        h = pvalue_grid(7, 5, test, "less")
        assert_allclose(g, h.T, rtol=1e-6, atol=1e-12, err_msg=test)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n1": 0}, r"`n1` must be a whole number >= 1, got 0"),
        ({"test": "mcnemar"}, r"`test` must be one of 'fisher'.*got 'mcnemar'"),
        ({"alternative": "two.sided"}, r"`alternative` must be one of 'two-sided'"),
        ({"nuisance_points": 1}, r"`nuisance_points` must be a whole number >= 3"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"n1": 5, "n2": 5, "test": "fisher", "alternative": "two-sided"}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        pvalue_grid(**args)
