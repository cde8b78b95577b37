"""Properties every interval and p-value must have, on random tables (hypothesis).

- Risk-difference intervals (Wald, Newcombe, Miettinen-Nurminen) contain the estimate and lie
  in [-1, 1]; swapping the arms negates them.
- Ratio intervals (Koopman, Katz, Woolf, conditional central/minlike/Blaker) invert when the
  arms are swapped.
- Every two-sided p-value of the grid lies in (0, 1] and is invariant to swapping the arms.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from trial_analysis.binary import TESTS, pvalue_grid
from trial_analysis.binary import _intervals as ci
from trial_analysis.binary._conditional import matching_ci


@st.composite
def tables(draw, max_n=30):
    n1 = draw(st.integers(1, max_n))
    n2 = draw(st.integers(1, max_n))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


@settings(max_examples=60, deadline=None)
@given(tables(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_rd_intervals(t, cl):
    x1, n1, x2, n2 = t
    for fn in (ci.rd_wald, ci.rd_newcombe, ci.rd_miettinen_nurminen):
        d, lo, hi = (float(v) for v in fn(x1, n1, x2, n2, cl))
        assert -1 - 1e-12 <= lo <= d + 1e-9 and d - 1e-9 <= hi <= 1 + 1e-12, fn.__name__
        _, lo2, hi2 = (float(v) for v in fn(x2, n2, x1, n1, cl))
        assert_allclose([lo2, hi2], [-hi, -lo], atol=1e-9, err_msg=fn.__name__)


def _inv(v):
    return math.inf if v == 0 else (0.0 if math.isinf(v) else 1 / v)


@settings(max_examples=40, deadline=None)
@given(tables(max_n=20))
def test_ratio_intervals_invert_when_arms_swap(t):
    x1, n1, x2, n2 = t
    for fn in (ci.rr_koopman, ci.rr_katz):
        _, lo, hi = (float(v) for v in fn(x1, n1, x2, n2))
        _, lo2, hi2 = (float(v) for v in fn(x2, n2, x1, n1))
        assert_allclose(
            [lo2, hi2], [_inv(hi), _inv(lo)], rtol=1e-6, atol=1e-300, err_msg=fn.__name__
        )
    _, lo, hi = (float(v) for v in ci.or_woolf(x1, n1, x2, n2))
    _, lo2, hi2 = (float(v) for v in ci.or_woolf(x2, n2, x1, n1))
    assert_allclose([lo2, hi2], [_inv(hi), _inv(lo)], rtol=1e-9)
    for method in ("central", "minlike", "blaker"):
        lo, hi = matching_ci(x1, n1, x2, n2, 0.95, method)
        lo2, hi2 = matching_ci(x2, n2, x1, n1, 0.95, method)
        assert_allclose([lo2, hi2], [_inv(hi), _inv(lo)], rtol=1e-6, err_msg=method)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.sampled_from(TESTS))
def test_two_sided_grid_symmetric_under_arm_swap(n1, n2, test):
    g = pvalue_grid(n1, n2, test)
    h = pvalue_grid(n2, n1, test)
    assert np.all((g > 0) & (g <= 1))
    assert_allclose(g, h.T, rtol=1e-6, atol=1e-12)
