"""Power and sample size of the Farrington-Manning score test of the risk ratio at a margin.

R reference: ``tests/reference/adjusted2.R`` section 3 -> ``RR_MARGIN_SIZE``,
``RR_MARGIN_POWER``: rpact ``getSampleSizeRates(riskRatio = TRUE, thetaH0 = rr0, pi1, pi2,
alpha, beta, sided = 1, allocationRatioPlanned = n1 / n2)`` (``nFixed1``, ``nFixed2``) and
``getPowerRates(..., maxNumberOfSubjects = n1 + n2)`` (``overallReject``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import trial_analysis as ta
from tests.fixtures.adjusted2_from_r import RR_MARGIN_POWER, RR_MARGIN_SIZE
from trial_analysis.errors import ParameterError


@pytest.mark.parametrize("ref", RR_MARGIN_SIZE, ids=lambda r: f"{r['p1']}-{r['rr0']}-{r['ratio']}")
def test_sample_size_matches_rpact(ref):
    res = ta.power.power_margin_rr(
        ref["p1"],
        ref["p2"],
        ref["rr0"],
        power=ref["power"],
        alpha=ref["alpha"],
        ratio=ref["ratio"],
    )
    assert res.n1_exact == pytest.approx(ref["n1"], rel=1e-8)
    assert res.n2_exact == pytest.approx(ref["n2"], rel=1e-8)
    assert res.n1 == math.ceil(ref["n1"])
    assert res.power >= ref["power"]
    assert res.solved_for == "n"


@pytest.mark.parametrize("ref", RR_MARGIN_POWER, ids=lambda r: f"{r['p1']}-{r['rr0']}-{r['n1']}")
def test_power_matches_rpact(ref):
    res = ta.power.power_margin_rr(
        ref["p1"], ref["p2"], ref["rr0"], n1=ref["n1"], n2=ref["n2"], alpha=ref["alpha"]
    )
    assert res.power == pytest.approx(ref["power"], rel=1e-8)
    assert res.solved_for == "power"


def test_direction_kind_and_consistency_with_the_test():
    """rr0 < 1 with p1/p2 above it: non-inferiority (H1 greater); rr0 > 1 with p1/p2 below:
    non-inferiority of a harmful event (H1 less). The planned test is the one
    ``ta.binary.noninferiority(effect="rr", method="fm")`` runs: at the expected counts of a
    trial of the solved size its statistic is the planning z."""
    good = ta.power.power_margin_rr(0.6, 0.65, 0.8, power=0.8)
    assert good.alternative == "greater" and "non-inferiority" in good.method
    harm = ta.power.power_margin_rr(0.2, 0.2, 1.25, power=0.9)
    assert harm.alternative == "less" and "non-inferiority" in harm.method
    sup = ta.power.power_margin_rr(0.5, 0.3, 1.2, power=0.8)
    assert "superiority by a margin" in sup.method
    # power increases with n; mn variance (x N/(N-1)) needs slightly more patients
    p = [ta.power.power_margin_rr(0.6, 0.65, 0.8, n1=n).power for n in (100, 200, 400)]
    assert np.all(np.diff(p) > 0)
    mn = ta.power.power_margin_rr(0.6, 0.65, 0.8, power=0.8, variance="mn")
    assert mn.n1_exact > good.n1_exact
    # the statistic at the expected counts of n1 = n2 = 10000 patients
    n = 10_000
    z = ta.binary.noninferiority(6000, n, 6500, n, 0.8, effect="rr", method="fm").row("lower")
    p1, p2, rr0 = 0.6, 0.65, 0.8
    from trial_analysis.binary._intervals import constrained_mle_rr

    q1, q2 = constrained_mle_rr(p1, 1.0, p2, 1.0, rr0)
    z_plan = (p1 - rr0 * p2) / math.sqrt((q1 * (1 - q1) + rr0**2 * q2 * (1 - q2)) / n)
    assert z.statistic == pytest.approx(z_plan, rel=1e-10)


def test_bad_arguments():
    with pytest.raises(ParameterError, match="rr0"):
        ta.power.power_margin_rr(0.6, 0.75, 0.8, power=0.8)  # p1/p2 = rr0
    with pytest.raises(ParameterError, match="rr0"):
        ta.power.power_margin_rr(0.6, 0.65, -1, power=0.8)
    with pytest.raises(ParameterError, match="exactly one"):
        ta.power.power_margin_rr(0.6, 0.65, 0.8)
    with pytest.raises(ParameterError, match="p1"):
        ta.power.power_margin_rr(0.0, 0.65, 0.8, power=0.8)
