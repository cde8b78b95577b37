"""Published-number checks for hazard ratios and medians.

Worked example: R ``summary(coxph(Surv(time, status) ~ sex, data = lung))`` prints
exp(coef) 0.588, lower .95 0.4237, upper .95 0.816, Wald p 0.00149, 165 events (138 men as
control, 90 women); ``survfit(Surv(time, status) ~ sex, lung)`` medians 270 and 426 days.
ta.survival.cox reproduces the same fit (checked to 1e-6 against R in
test_survival_estimators.py), so the printed numbers must pass and perturbed ones must fail.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import trial_analysis as ta
from trial_analysis.errors import ParameterError

DATA = Path(__file__).parent / "fixtures" / "survival_data"


def verdicts(r):
    return dict(zip(r.table["check"], r.table["verdict"], strict=True))


def test_r_printout_is_consistent():
    r = ta.survival.check_hazard_ratio(
        "0.588", "0.4237", "0.816", p_value="0.00149", events=165, ratio=138 / 90
    )
    assert r.consistent, r.table
    assert set(verdicts(r).values()) == {"consistent"}


def test_our_own_fit_is_consistent_with_itself():
    d = pd.read_csv(DATA / "lung.csv")
    d["female"] = (d["sex"] == 2).astype(float)
    f = ta.survival.cox(d, "time", "event", ["female"], lr_ci=False).to_frame().iloc[0]
    r = ta.survival.check_hazard_ratio(
        f["hazard_ratio"],
        f["ci_low"],
        f["ci_high"],
        p_value=f["p_value"],
        events=165,
        ratio=138 / 90,
    )
    assert r.consistent


@pytest.mark.parametrize(
    ("kwargs", "failing"),
    [
        (dict(hr="0.65"), "HR = geometric mean of CI limits"),
        (dict(hr="0.90"), "HR inside CI"),
        (dict(p_value="0.015"), "p-value from CI"),
        (dict(p_value="<0.001"), "p-value from CI"),
        (dict(events=300), "events from CI width"),
    ],
)
def test_perturbed_numbers_are_flagged(kwargs, failing):
    args = dict(
        hr="0.588", ci_low="0.4237", ci_high="0.816", p_value="0.00149", events=165, ratio=138 / 90
    )
    args.update(kwargs)
    r = ta.survival.check_hazard_ratio(**args)
    assert verdicts(r)[failing] == "inconsistent"
    assert not r.consistent


def test_rounding_of_floats_is_lenient():
    # 0.70 as a float reads as 1 decimal: the geometric mean 0.6708 of (0.5, 0.9) is within
    # 0.7 ± 0.05, whereas the text "0.70" (± 0.005) is not
    assert (
        verdicts(ta.survival.check_hazard_ratio(0.70, 0.5, 0.9))["HR = geometric mean of CI limits"]
        == "consistent"
    )
    assert (
        verdicts(ta.survival.check_hazard_ratio("0.70", "0.50", "0.90"))[
            "HR = geometric mean of CI limits"
        ]
        == "inconsistent"
    )


def test_medians_against_km():
    d = pd.read_csv(DATA / "lung.csv")
    km = ta.survival.kaplan_meier(d["time"], d["event"], d["sex"])
    ok = ta.survival.check_medians(km, {1: "270", 2: "426"})
    assert (ok.table["verdict"] == "consistent").all()
    bad = ta.survival.check_medians(km, {1: "280", 2: None})
    assert bad.table["verdict"].tolist() == ["inconsistent", "inconsistent"]
    assert (
        ta.survival.check_medians(km, {1: "280"}, tolerance=10).table["verdict"][0] == "consistent"
    )


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        (dict(hr="abc", ci_low=0.4, ci_high=0.8), "hr"),
        (dict(hr=0.5, ci_low=0.8, ci_high=0.4), "ci_low/ci_high"),
        (dict(hr=0.5, ci_low=0.4, ci_high=0.8, p_value=1.5), "p_value"),
        (dict(hr=-0.5, ci_low=0.4, ci_high=0.8), "hr"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, param):
    with pytest.raises(ParameterError) as e:
        ta.survival.check_hazard_ratio(**kwargs)
    assert e.value.parameter == param
