"""The Kaplan–Meier figure: numbers at risk drawn are the estimator's (checked against R's
``summary(survfit, times=)`` in test_survival_estimators.py), the data source is printed, and
the figure displays in Jupyter without pyplot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial_analysis as ta
from tests.fixtures.survival_from_r import KM
from trial_analysis.errors import ParameterError

DATA = Path(__file__).parent / "fixtures" / "survival_data"


@pytest.fixture(scope="module")
def lung():
    return pd.read_csv(DATA / "lung.csv")


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_at_risk_row_is_rs_number_at_risk(lung):
    """R: summary(survfit(Surv(time, event) ~ sex, lung), times = c(100, 365))$n.risk."""
    ref = next(r for r in KM if r["name"] == "lung_sex" and r["conf_type"] == "log-log")
    km = ta.survival.kaplan_meier(lung["time"], lung["event"], lung["sex"])
    fig = km.plot(times=[0, 100, 365])
    table_ax = fig.axes[1]
    drawn = {}
    for t in table_ax.texts:
        if t.get_text().isdigit() and t.get_transform() == table_ax.transData:
            drawn[(round(t.get_position()[1]), t.get_position()[0])] = int(t.get_text())
    # group 1 is the top row (y = 1), group 2 the bottom row (y = 0)
    got = [drawn[(1, 100.0)], drawn[(1, 365.0)], drawn[(0, 100.0)], drawn[(0, 365.0)]]
    assert got == [int(v) for v in ref["fixed_n_risk"]]
    assert drawn[(1, 0.0)] == 138 and drawn[(0, 0.0)] == 90


def test_curves_are_the_estimates(lung):
    km = ta.survival.kaplan_meier(lung["time"], lung["event"], lung["sex"])
    fig = km.plot(ci=False, censor_marks=False)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label() and "median" in ln.get_label()]
    assert len(lines) == 2
    r = km.table[km.table["group"] == 1]
    np.testing.assert_allclose(lines[0].get_ydata()[1:], r["survival"].to_numpy())
    assert "median 270 (210 to 306)" in lines[0].get_label()  # R: print(survfit)


def test_source_line_is_honest(lung):
    km = ta.survival.kaplan_meier(lung["time"], lung["event"], lung["sex"])
    assert any(t.startswith("Data source not stated") for t in texts(km.plot()))
    km2 = ta.survival.kaplan_meier(
        lung["time"], lung["event"], lung["sex"], source="patient-level data set"
    )
    assert any(t.startswith("Data: patient-level data set") for t in texts(km2.plot()))
    assert "Data: patient-level data set" in str(km2)
    over = km2.plot(source="my label")
    assert any(t.startswith("Data: my label") for t in texts(over))


def test_displays_inline_without_pyplot(lung):
    km = ta.survival.kaplan_meier(lung["time"], lung["event"])
    png = km.plot()._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_times_are_a_parameter_error(lung):
    km = ta.survival.kaplan_meier(lung["time"], lung["event"])
    with pytest.raises(ParameterError, match="times"):
        km.plot(times=[-1, 10])


def test_text_from_data_is_not_markup(tmp_path):
    """Arm labels and sources are untrusted text: '$...$' must print, not parse as mathtext."""
    km = ta.survival.kaplan_meier(
        [1, 2, 3, 4], [1, 0, 1, 1], ["$a^2$", "$a^2$", "b_$", "b_$"], source="cost $5 $x$"
    )
    fig = km.plot(title="$\\frac{1}{0}$", time_label="$")
    fig.savefig(tmp_path / "km.svg")  # would raise on malformed mathtext
    assert any("$a^2$" in t.get_text().replace("\\$", "$") for t in fig.axes[1].texts)
