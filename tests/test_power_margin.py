"""Power and sample size of equivalence and non-inferiority tests against R.

R reference: ``tests/reference/adjusted.R`` -> ``tests/fixtures/adjusted_from_r.py``:
``TOST_POWER`` (Owen's integral by ``integrate(rel.tol = 1e-12)`` and a 4e6-draw simulation
of the two one-sided pooled t tests), ``EXACT_MARGIN`` (every table enumerated, score
statistics with the constrained MLE by ``optimize``, ``sum(outer(dbinom, dbinom) * R)``),
``EQUIV_PROPS`` (Farrington-Manning null variances at both margins, restricted MLE by
``optimize``).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures import adjusted_from_r as R
from trial_analysis.errors import ParameterError
from trial_analysis.power import (
    exact_power_margin,
    power_equivalence_proportions,
    power_tost_means,
)


@pytest.mark.parametrize("case", R.TOST_POWER, ids=lambda c: f"n{c['n1']}_{c['n2']}")
def test_tost_power_matches_r_integral(case):
    """R: ``integrate(f, 0, umax)`` of Owen's integrand; simulated power within 4 SE."""
    res = power_tost_means(
        case["delta"], case["sd"], case["low"], case["high"], n1=case["n1"],
        n2=case["n2"], alpha=case["alpha"],
    )  # fmt: skip
    assert_allclose(res.power, case["power"], rtol=1e-8, atol=1e-12)
    se = np.sqrt(case["power"] * (1 - case["power"]) / 4e6)
    assert abs(res.power - case["simulated"]) < 4 * se + 1e-12


def test_tost_sample_size_is_smallest():
    res = power_tost_means(0.0, 1.0, -0.5, 0.5, power=0.8)
    assert res.n1 == 70 and res.power >= 0.8  # R: tost_power(0, 1, -.5, .5, 70, 70) = 0.8059
    assert_allclose(res.power, R.TOST_POWER[0]["power"], rtol=1e-8)
    below = power_tost_means(0.0, 1.0, -0.5, 0.5, n1=69)
    assert below.power < 0.8
    with pytest.raises(ParameterError, match="delta"):
        power_tost_means(0.6, 1.0, -0.5, 0.5, n1=50)
    with pytest.raises(ParameterError, match="high"):
        power_tost_means(0.0, 1.0, 0.5, -0.5, n1=50)


@pytest.mark.parametrize("case", R.EXACT_MARGIN, ids=lambda c: f"{c['effect']}_{c['method']}")
def test_exact_power_matches_r_enumeration(case):
    """R: every table's score statistic (``cmle_rd``/``cmle_rr`` by optimize), rejection
    ``z > qnorm(1 - alpha)`` (and ``z < -qnorm`` at the upper margin); power summed."""
    if case["low"] is not None and case["high"] is not None:
        margin, alt = (case["low"], case["high"]), "greater"
    elif case["low"] is not None:
        margin, alt = case["low"], "greater"
    else:
        margin, alt = case["high"], "less"
    res = exact_power_margin(
        case["p1"], case["p2"], case["n1"], case["n2"], margin, effect=case["effect"],
        method=case["method"], alternative=alt, alpha=case["alpha"],
    )  # fmt: skip
    assert_allclose(res.power, case["power"], rtol=1e-10)
    assert 0 < res.effect["size"] < 2 * case["alpha"]


def test_exact_region_is_the_tests_decision():
    """The enumerated region rejects exactly the tables ``binary.noninferiority`` rejects."""
    from trial_analysis.power.margin import margin_region

    region = margin_region(25, 30, -0.1, alpha=0.025)
    for x1, x2 in [(20, 22), (21, 20), (15, 24), (25, 30), (0, 0)]:
        r = ta.binary.noninferiority(x1, 25, x2, 30, -0.1)
        assert region[x1, x2] == r.conclusion


@pytest.mark.parametrize("case", R.EQUIV_PROPS, ids=lambda c: f"n{c['n1']}")
def test_equivalence_proportions_matches_r(case):
    """R: ``pnorm((d - low - z s0_low) / s) + pnorm((high - d - z s0_high) / s) - 1``."""
    res = power_equivalence_proportions(
        case["p1"], case["p2"], case["low"], case["high"], n1=case["n1"], n2=case["n2"],
        alpha=case["alpha"],
    )  # fmt: skip
    assert_allclose(res.power, case["power"], rtol=1e-7)
    # the large-sample power is close to the exact power of the same test
    ex = exact_power_margin(
        case["p1"], case["p2"], case["n1"], case["n2"], (case["low"], case["high"]),
        method="fm", alpha=case["alpha"],
    )  # fmt: skip
    assert abs(ex.power - res.power) < 0.02


def test_equivalence_proportions_sample_size():
    res = power_equivalence_proportions(0.7, 0.7, -0.1, 0.1, power=0.8)
    assert res.n1 == 360 and res.power >= 0.8
    assert power_equivalence_proportions(0.7, 0.7, -0.1, 0.1, n1=359).power < 0.8


def test_exact_sample_size_is_the_smallest_stable_size():
    """Built on exact_power_margin (checked against R's enumeration above): power at the
    returned n1 and the next 10 sizes >= target, not so from n1 - 1; close to the analytic
    MN size (``power_margin``)."""
    res = ta.power.exact_sample_size_margin(0.8, 0.8, -0.2, 0.8)
    powers = [
        exact_power_margin(0.8, 0.8, n, n, -0.2).power for n in range(res.n1 - 1, res.n1 + 11)
    ]
    assert all(p >= 0.8 for p in powers[1:])
    assert powers[0] < 0.8
    assert_allclose(res.power, powers[1])
    analytic = ta.power.power_margin(0.8, 0.8, -0.2, power=0.8, variance="mn").n1
    assert abs(res.n1 - analytic) <= 0.1 * analytic


def _restricted_mle_numeric(p1, p2, k, on_null):
    """Expected-count likelihood ``n1 [p1 log q1 + (1 - p1) log(1 - q1)] + k n1 [the same at
    p2]`` maximised along the null line by ``scipy.optimize.minimize_scalar``; ``on_null(q2)``
    is the q1 the null gives."""
    from scipy import optimize

    def nll(q2):
        q1 = on_null(q2)
        return -(
            p1 * np.log(q1)
            + (1 - p1) * np.log1p(-q1)
            + k * (p2 * np.log(q2) + (1 - p2) * np.log1p(-q2))
        )

    lo, hi = 1e-9, 1 - 1e-9
    grid = np.linspace(lo, hi, 20_001)
    ok = (on_null(grid) > 0) & (on_null(grid) < 1)
    a, b = grid[ok][0], grid[ok][-1]
    q2 = optimize.minimize_scalar(nll, bounds=(a, b), method="bounded", options={"xatol": 1e-13}).x
    return on_null(q2), q2


@pytest.mark.parametrize("ratio", [1.0, 2.0])
@pytest.mark.parametrize(
    "p1, p2, margin, effect",
    [
        (0.6, 0.65, -0.1, "rd"),
        (0.8, 0.7, 0.02, "rd"),
        (0.6, 0.65, 0.8, "rr"),
        (0.3, 0.2, 1.25, "rr"),
    ],
)
def test_margin_sample_size_is_the_farrington_manning_closed_form(p1, p2, margin, effect, ratio):
    """The one solve path of the margin functions (power_margin, power_margin_rr) against the
    closed form of Farrington & Manning (1990) with the FM variance, whose restricted MLE does
    not depend on n: ``n1 = (z_a s0 + z_b s1)^2 / d^2`` with ``s0^2 = q1~(1 - q1~) + w^2
    q2~(1 - q2~) / k``, ``s1^2`` the same at (p1, p2), ``w = 1`` (difference) or ``rr0``
    (ratio), the restricted MLE maximised numerically here; and the MN variance, which
    multiplies s0^2 by N/(N - 1), solved for n1 in the same formula by fixed-point iteration."""
    from scipy import stats

    if effect == "rd":
        res = ta.power.power_margin(p1, p2, margin, power=0.8, ratio=ratio)
        mn = ta.power.power_margin(p1, p2, margin, power=0.8, ratio=ratio, variance="mn")
        q1, q2 = _restricted_mle_numeric(p1, p2, ratio, lambda q: q + margin)
        w, d = 1.0, p1 - p2 - margin
    else:
        res = ta.power.power_margin_rr(p1, p2, margin, power=0.8, ratio=ratio)
        mn = ta.power.power_margin_rr(p1, p2, margin, power=0.8, ratio=ratio, variance="mn")
        q1, q2 = _restricted_mle_numeric(p1, p2, ratio, lambda q: q * margin)
        w, d = margin, p1 - margin * p2
    za, zb = stats.norm.isf(0.025), stats.norm.isf(0.2)
    v0 = q1 * (1 - q1) + w**2 * q2 * (1 - q2) / ratio
    v1 = p1 * (1 - p1) + w**2 * p2 * (1 - p2) / ratio
    n1 = (za * np.sqrt(v0) + zb * np.sqrt(v1)) ** 2 / d**2
    assert_allclose(res.n1_exact, n1, rtol=1e-7)
    assert res.n1 == int(np.ceil(n1)) and res.power >= 0.8
    n_mn = n1
    for _ in range(100):
        big_n = n_mn * (1 + ratio)
        n_mn = (za * np.sqrt(v0 * big_n / (big_n - 1)) + zb * np.sqrt(v1)) ** 2 / d**2
    assert_allclose(mn.n1_exact, n_mn, rtol=1e-7)
    assert mn.n1_exact > res.n1_exact
