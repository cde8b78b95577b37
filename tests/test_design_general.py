"""The design format beyond cell infusions: dosing rules, time units, 2 to 6 arms."""

from __future__ import annotations

import pytest

import trial_analysis as ta
from trial_analysis.design import DesignError

BASE = """
format_version = 1
[trial]
id = "t"
title = "A test trial"
citation = "none"
{arms}
{dose}
[schedule]
time_unit = "{unit}"
follow_up = {fu}
visits = [
  {{ avisitn = 1, label = "Day 1", time = 0 }},
  {{ avisitn = 2, label = "End", time = {fu} }},
]
[[parameters]]
code = "SBP"
label = "Systolic blood pressure"
unit = "mmHg"
[[endpoints]]
id = "sbp"
label = "Change in SBP"
role = "primary"
type = "continuous"
visit = 2
parameter = "SBP"
measure = "chg"
"""


def _arms(k: int) -> str:
    rows = ['[[arms]]\nname = "Placebo"\nrole = "control"\nn_randomised = 20']
    rows += [
        f'[[arms]]\nname = "Dose {i}"\nrole = "experimental"\nn_randomised = 20'
        for i in range(1, k)
    ]
    return "\n".join(rows)


def _design(tmp_path, k=2, unit="weeks", fu=12, dose=None):
    dose = (
        dose or '[[doses]]\namount = 10\nbasis = "fixed"\nunit = "mg"\nper = "day"\nroute = "oral"'
    )
    p = tmp_path / "design.toml"
    p.write_text(BASE.format(arms=_arms(k), dose=dose, unit=unit, fu=fu))
    return ta.load_design(p)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_two_to_six_arms_with_one_control(tmp_path, k):
    d = _design(tmp_path, k)
    assert len(d.arms) == k and d.control_arm.name == "Placebo"
    assert len(d.experimental_arms) == k - 1


@pytest.mark.parametrize("k", [1, 7])
def test_more_than_six_or_fewer_than_two_arms_are_refused(tmp_path, k):
    with pytest.raises(DesignError, match=r"arms.*2 to 6 arms"):
        _design(tmp_path, k)


@pytest.mark.parametrize(("unit", "fu", "weeks"), [("days", 28, 4.0), ("months", 6, 26.089)])
def test_visits_in_days_or_months(tmp_path, unit, fu, weeks):
    d = _design(tmp_path, unit=unit, fu=fu)
    assert d.time_unit == unit
    assert d.visits[-1].weeks == pytest.approx(weeks, abs=1e-3)
    assert d.endpoint("sbp").visit == 2


@pytest.mark.parametrize(
    ("dose", "text"),
    [
        (
            '[[doses]]\namount = 54\nbasis = "fixed"\nunit = "mg"\nper = "day"\n'
            'route = "transdermal patch"',
            "54 mg",
        ),
        (
            '[[doses]]\namount = 75\nbasis = "per_m2"\nunit = "mg"\nper = "cycle"\n'
            'route = "intravenous"',
            "75 mg/m2",
        ),
        ('[dose]\namount_per_kg = 1e6\nunit = "cells/kg"\nper = "infusion"', "cells/kg"),
    ],
)
def test_any_dosing_rule(tmp_path, dose, text):
    d = _design(tmp_path, dose=dose)
    assert text in str(d.doses[0] if d.doses else d.dose)


def test_unknown_time_unit_names_the_key(tmp_path):
    with pytest.raises(DesignError, match=r"schedule\.time_unit.*days, weeks, months"):
        _design(tmp_path, unit="fortnights")


def test_shipped_designs_keep_their_meaning():
    z = ta.load_design("zang2022")
    assert z.arm_names == ("UC-MSC", "Placebo") and z.n_randomised == 91
    assert z.endpoint("composite").week == 48
    c = ta.load_design("cdiscpilot01")
    assert c.arm_names == ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
    assert {e.id for e in c.endpoints} == {"glucose", "cholesterol", "chol_responder"}
