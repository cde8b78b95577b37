"""Tests of trial_analysis.consistency.summaries.

References: R (tests/reference/continuous_summaries.R -> tests/fixtures/continuous_summaries_from_r.py),
the worked GRIM examples of the scrutiny package README (pigs1, pigs2), and brute-force
enumeration of every small integer data set for GRIM/GRIMMER.
"""

from __future__ import annotations

import itertools
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from numpy.testing import assert_allclose

import trial_analysis as ta
from tests.fixtures import continuous_summaries_from_r as R
from trial_analysis.consistency import (
    ArmSummary,
    Finding,
    audit_summaries,
    change_arithmetic,
    grim,
    grimmer,
    rho_sensitivity,
    within_group_rho,
)
from trial_analysis.errors import ParameterError

PUB = ta.load_published("zang2022")


def _arm(name, n):
    v = lambda w, s: ta.published_value(PUB, "hba1c", name, w, s)  # noqa: E731
    chg = ta.published_value(PUB, "hba1c_change", name, 48, "mean")
    return ArmSummary(name, v(0, "mean"), v(0, "sd"), v(48, "mean"), v(48, "sd"), n, chg)


# ------------------------------------------------------------------ GRIM
# scrutiny README, grim_map(pigs1): mean, n, consistency (Jung, scrutiny 0.x, "pigs1").
PIGS1 = [
    ("7.22", 32, True),
    ("4.74", 25, False),
    ("5.23", 29, False),
    ("2.57", 24, False),
    ("6.77", 27, False),
    ("2.68", 28, True),
    ("7.01", 29, False),
    ("7.38", 26, True),
    ("3.14", 27, False),
    ("6.89", 31, False),
    ("5.00", 25, True),
    ("0.24", 28, False),
]
# grim_map(pigs2, percent = TRUE)
PIGS2 = [
    ("67.4", 150, False),
    ("54.2", 150, False),
    ("54.0", 150, True),
    ("69.8", 150, False),
    ("68.1", 150, False),
    ("55.4", 150, False),
]


@pytest.mark.parametrize("mean, n, ok", PIGS1)
def test_grim_scrutiny_pigs1(mean, n, ok):
    """scrutiny README: ``grim_map(pigs1)``."""
    assert (grim(mean, n).verdict == "consistent") is ok


@pytest.mark.parametrize("pct, n, ok", PIGS2)
def test_grim_scrutiny_pigs2_percent(pct, n, ok):
    """scrutiny README: ``grim_map(pigs2, percent = TRUE)``."""
    assert (grim(pct, n, percent=True).verdict == "consistent") is ok


def test_grim_brown_heathers_style_example():
    # Any integer sum over 28 gives x.x79 or x.x14 around 5.19: 145/28 = 5.179, 146/28 = 5.214.
    f = grim("5.19", 28)
    assert f.verdict == "inconsistent" and "5.179" in f.recomputed
    assert grim("5.18", 28).verdict == "consistent"


@pytest.mark.parametrize("n", [3, 7, 12, 19])
def test_grim_against_enumeration(n):
    """Every mean of n integers in 0..9, rounded half-up to 2 decimals, passes; and every
    2-decimal value in [0, 9] that no such data set produces fails."""
    reachable = {
        (Decimal(s) / Decimal(n)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        for s in range(0, 9 * n + 1)
    }
    for k in range(0, 901):
        m = Decimal(k) / 100
        ok = grim(f"{m:.2f}", n).verdict == "consistent"
        assert ok == (m in reachable), m


def test_grim_granularity_and_uninformative():
    f = grim("9.02", 45, granularity="0.1")
    assert f.verdict == "not informative" and "cannot detect" in f.explanation
    # 3 HbA1c values to 0.1 %: means are k/30; 7.52 is not one of them (7.533 or 7.500)
    assert grim("7.52", 3, granularity="0.1").verdict == "inconsistent"
    assert grim("7.50", 3, granularity="0.1").verdict == "consistent"


def test_grim_bad_input():
    with pytest.raises(ParameterError, match="`n` must be a whole number >= 1, got 0"):
        grim("1.5", 0)
    with pytest.raises(ParameterError, match="`mean` must be a number written as reported"):
        grim("abc", 5)


# ------------------------------------------------------------------ GRIMMER
@pytest.mark.parametrize("n", [4, 5, 6])
def test_grimmer_never_rejects_a_real_data_set(n):
    """Brute force: every multiset of n integers in 0..7; its mean and sample SD rounded
    half-up to 2 decimals must pass GRIMMER (no false inconsistencies)."""
    seen = set()
    for data in itertools.combinations_with_replacement(range(8), n):
        a = np.array(data, dtype=float)
        m = (Decimal(sum(data)) / Decimal(n)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        s = Decimal(repr(float(a.std(ddof=1)))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        seen.add((f"{m}", f"{s}"))
    for m, s in seen:
        assert grimmer(m, s, n).verdict == "consistent", (m, s, n)


def test_grimmer_rejects_parity_and_range_failures():
    # n = 5, mean 3.00 (sum 15): SD 1.12 needs Q = 50, even, but the sum is odd (Anaya 2016)
    f = grimmer("3.00", "1.12", 5)
    assert f.verdict == "inconsistent" and "parity" in f.explanation
    # SD 1.10 needs 4 var + 45 in [49.80, 49.88]: no integer at all
    assert grimmer("3.00", "1.10", 5).verdict == "inconsistent"
    # SD 1.22 = sqrt(6/4) (Q = 51, odd) is real: e.g. 1, 3, 3, 4, 4
    assert grimmer("3.00", "1.22", 5).verdict == "consistent"
    assert grimmer("5.19", "1.00", 28).verdict == "inconsistent"  # fails GRIM first
    assert grimmer("9.02", "1.27", 45, granularity="0.1").verdict == "not informative"


# ------------------------------------------------------------------ change arithmetic
def test_change_arithmetic_zang_both_arms_from_published_csv():
    for arm, expected in (("UC-MSC", -0.19), ("Placebo", -0.07)):
        a = _arm(arm, 45)
        f = change_arithmetic(a.mean_base, a.mean_follow, a.change)
        assert f.verdict == "inconsistent"
        assert f.discrepancy == pytest.approx(-expected, abs=1e-9)
    ok = change_arithmetic(9.02, 7.52, -1.50)
    assert ok.verdict == "consistent" and ok.discrepancy == pytest.approx(0, abs=1e-12)
    # rounding of the two means allows 0.015
    assert change_arithmetic(9.02, 7.52, -1.51).verdict == "consistent"
    assert change_arithmetic(9.02, 7.52, -1.52).verdict == "inconsistent"


def test_finding_structure():
    f = change_arithmetic(9.02, 7.52, -1.31, id="x", quantity="q")
    row = f.to_frame().iloc[0]
    assert list(f.to_frame().columns) == [
        "id",
        "quantity",
        "reported",
        "recomputed",
        "discrepancy",
        "verdict",
        "explanation",
    ]
    assert row["id"] == "x" and row["reported"] == "-1.31"
    with pytest.raises(ParameterError, match="`verdict` must be one of"):
        Finding("a", "b", "c", "d", 0.0, "maybe", "e")


# ------------------------------------------------------------------ rho sensitivity
@pytest.mark.parametrize("row", R.P_AT_RHO, ids=lambda r: f"{r['n2']}-{r['equal_var']}-{r['rho']}")
def test_p_at_rho_matches_r_on_exact_data(row):
    """R: data with exactly the published means/SDs and correlation rho
    (``MASS::mvrnorm(empirical = TRUE)``); ``t.test(c1, c2, var.equal = ev)``,
    ``lm(follow ~ arm + base)``, ``t.test(follow, base, paired = TRUE)``."""
    a1, a2 = _arm("UC-MSC", row["n1"]), _arm("Placebo", row["n2"])
    res = rho_sensitivity(a1, a2, 0.0081, equal_var=row["equal_var"], rho=[row["rho"], 0.95])
    c = res.curves.set_index(["reading", "rho"])["p_value"]
    for reading in ("means", "reported"):
        assert_allclose(c[(reading, row["rho"])], row[reading], rtol=1e-7)
    if row["equal_var"]:
        assert_allclose(c[("ancova", row["rho"])], row["ancova"], rtol=1e-7)


@pytest.mark.parametrize("row", R.RHO_INTERVAL, ids=lambda r: f"{r['n2']}-{r['reading']}")
def test_rho_interval_matches_r_uniroot(row):
    """R: ``uniroot(function(rho) p(rho) - 0.00815)`` and ``- 0.00805`` on the exact data;
    ``optimize(p_ancova, maximum = TRUE)`` shows ANCOVA never reaches 0.0081."""
    res = rho_sensitivity(_arm("UC-MSC", row["n1"]), _arm("Placebo", row["n2"]), 0.0081)
    ((lo, hi),) = res.intervals[row["reading"]]
    assert_allclose([lo, hi], [row["rho_low"], row["rho_high"]], atol=1e-7)
    assert res.intervals["ancova"] == []
    p_anc = res.curves.loc[res.curves.reading == "ancova", "p_value"].max()
    assert p_anc == pytest.approx(row["ancova_max_p"], rel=1e-3)


@pytest.mark.parametrize("row", R.WITHIN_PLACEBO, ids=lambda r: str(r["n2"]))
def test_within_group_placebo_matches_r(row):
    """R: ``t.test(follow, base, paired = TRUE)`` is below 0.05 even at rho = -0.999 (means
    reading); with the reported change -0.63, ``uniroot`` gives the rho where p = 0.05."""
    a2 = _arm("Placebo", row["n2"])
    assert within_group_rho(a2, ">", 0.05, reading="means") == []
    assert row["max_p_means"] < 0.05
    ((lo, hi),) = within_group_rho(a2, ">", 0.05, reading="reported")
    assert lo == pytest.approx(-0.999) and hi == pytest.approx(row["rho_p05_reported"], abs=1e-7)


def test_rho_sensitivity_plot_and_bad_input():
    res = rho_sensitivity(_arm("UC-MSC", 45), _arm("Placebo", 44), 0.0081)
    fig = res.plot()
    assert fig.axes[0].get_xlabel() == "pre-post correlation ρ"
    assert len(res.findings()) == 3
    with pytest.raises(ParameterError, match="`rho` must be an increasing grid"):
        rho_sensitivity(_arm("UC-MSC", 45), _arm("Placebo", 44), 0.0081, rho=[0.5, 1.0])
    with pytest.raises(ParameterError, match="`readings` must be one of"):
        rho_sensitivity(_arm("UC-MSC", 45), _arm("Placebo", 44), 0.0081, readings=["x"])
    with pytest.raises(ParameterError, match="`sd_base` must be a number > 0"):
        ArmSummary("a", 1, 0, 1, 1, 5)
    with pytest.raises(ParameterError, match="`change` must be the reported change"):
        ArmSummary("a", 1, 1, 1, 1, 5).mean_change("reported")


# ------------------------------------------------------------------ the trial audit
def test_audit_summaries_zang2022():
    a = audit_summaries(ta.load_trial("zang2022"))
    assert a.denominators == (45, 44) and "inferred" in a.denominator_source
    ids = [f.id for f in a.findings]
    assert len(ids) == len(set(ids))
    assert a["hba1c_change_arithmetic_UC-MSC"].verdict == "inconsistent"
    assert a["hba1c_change_arithmetic_Placebo"].verdict == "inconsistent"
    assert a["hba1c_within_p_Placebo_means"].verdict == "inconsistent"
    assert a["hba1c_between_p_rho_means"].verdict == "conditional"
    assert a["hba1c_between_p_rho_ancova"].verdict == "inconsistent"
    # LS-mean changes at the overall baseline mean x̄ (n-weighted): each arm needs slope
    # 1 + (raw - reported) / (x̄_arm - x̄), i.e. about -1.96 (UC-MSC) and 2.06 (placebo)
    adj = a["hba1c_change_adjustment"]
    assert adj.verdict == "inconsistent"
    xbar = (45 * 9.02 + 44 * 8.89) / 89
    b1, b2 = 1 + (-0.19) / (9.02 - xbar), 1 + (-0.07) / (8.89 - xbar)
    assert f"UC-MSC {b1:.2f}" in adj.recomputed and f"Placebo {b2:.2f}" in adj.recomputed
    assert a["insulin_share_grim_UC-MSC"].verdict == "inconsistent"
    assert "18, 36" in a["insulin_share_grim_UC-MSC"].explanation
    sd = a["insulin_p_sd_requirement"]
    assert sd.verdict == "conditional" and f"{a.sd_curve.sd_max:.3g}" in sd.recomputed
    frame = a.to_frame()
    assert len(frame) == len(a.findings) and set(frame["verdict"]) <= set(
        ("consistent", "inconsistent", "conditional", "not informative")
    )
    assert set(a.figures()) == {"rho_curve", "sd_curve"}
    assert a.to_dict()["table"][0]["id"] == ids[0]
    with pytest.raises(KeyError, match="no finding"):
        a["nope"]


def test_audit_summaries_denominators_are_a_parameter():
    a = audit_summaries(ta.load_trial("zang2022"), n1=45, n2=46)
    assert a.denominators == (45, 46) and a.denominator_source == "user-supplied"
    assert "n = 45/46" in a["hba1c_between_p_rho_means"].quantity
    # the SD requirement moves with n
    b = audit_summaries(ta.load_trial("zang2022"))
    assert a.sd_curve.sd_max != b.sd_curve.sd_max
    with pytest.raises(ParameterError, match="`n2` must be a whole number >= 2"):
        audit_summaries(ta.load_trial("zang2022"), n1=45, n2=1)
    assert math.isnan(a["hba1c_within_p_UC-MSC_means"].discrepancy)
