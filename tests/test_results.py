"""The result-object convention and the number formatting every table uses."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from trial_analysis.results import (
    SYNTHETIC_NOTE,
    Result,
    format_number,
    format_p,
    format_sci,
    to_jsonable,
)


@dataclass(frozen=True)
class _Toy(Result):
    estimate: float
    p_value: float
    title: ClassVar[str] = "Toy result"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"method": ["toy"], "estimate": [self.estimate], "p_value": [self.p_value]}
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return (SYNTHETIC_NOTE,)


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (3, "3"),
        (np.int64(45), "45"),
        (0.154545, "0.1545"),
        (28.6631, "28.66"),
        (float("nan"), ""),
        (1.5e-5, "1.5×10⁻⁵"),
        (0.0003374, "3.374×10⁻⁴"),  # never more than 6 decimals
        (0.001189, "0.001189"),
        (2.5e7, "2.5×10⁷"),
        (-1.482e-05, "-1.482×10⁻⁵"),
        (12345.6, "12346"),  # ordinary values never in scientific notation
        (0.045454545454545456, "0.04545"),
        (float("inf"), "∞"),
        (True, "Yes"),
        (np.False_, "No"),
        (None, ""),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_format_p_and_sci():
    # one rule: <0.001; four decimals below 0.1; three from 0.1; >0.999
    assert format_p(0.0495622) == "0.0496"
    assert format_p(0.058) == "0.0580" and format_p(0.0695) == "0.0695"
    assert format_p(0.0081) == "0.0081" and format_p(0.00095) == "<0.001"
    assert format_p(0.5) == "0.500" and format_p(0.9996) == ">0.999"
    assert format_p(3e-7) == "<0.001"
    assert format_p(float("nan")) == ""
    assert (
        format_sci(1e6) == "1×10⁶" and format_sci(1.5e6) == "1.5×10⁶" and format_sci(70.0) == "70"
    )


@pytest.mark.parametrize(
    "p, text",
    [
        (0.0495622, "0.0496"),  # Fisher on Zang's table: the 4th decimal decides p < 0.05
        (0.04996, "0.0500"),
        (0.001, "0.0010"),  # the band edges
        (0.000999, "<0.001"),
        (0.09996, "0.100"),  # rounds into the 3-decimal band: never "0.1000"
        (0.1, "0.100"),
        (0.9986, "0.999"),
        (0.9994, ">0.999"),
        (0.9996, ">0.999"),
        (1.0, ">0.999"),
        (0.0, "<0.001"),
        (np.float64(0.2346), "0.235"),
        (None, ""),
    ],
)
def test_format_p_policy(p, text):
    assert format_p(p) == text


@pytest.mark.parametrize(
    "args, kw, text",
    [
        ((0.2045, 0.0526, 0.3561), {}, "0.20 (95% CI 0.05 to 0.36)"),
        # width 1.0 at 2 significant digits: one decimal for all three numbers
        ((-0.68, -1.18, -0.18), {}, "-0.7 (95% CI -1.2 to -0.2)"),
        ((-0.68, -1.18, -0.18), {"digits": 3}, "-0.68 (95% CI -1.18 to -0.18)"),
        ((12.37, -3.2, 27.9), {"conf_level": 0.9}, "12 (90% CI -3 to 28)"),
        ((0.004, -0.0004, 0.0084), {}, "0.0040 (95% CI -0.0004 to 0.0084)"),
        ((0.0001, -0.02, 0.02), {}, "0.000 (95% CI -0.020 to 0.020)"),  # never "-0.000"
        ((2.5, 0.81, float("inf")), {}, "2.50 (95% CI 0.81 to ∞)"),
        ((2.5, float("nan"), 4.0), {}, "2.5 (95% CI not estimable)"),
        ((1.0, 1.0, 1.0), {}, "1.00 (95% CI 1.00 to 1.00)"),
        ((float("nan"), 0.0, 1.0), {}, ""),
        ((0.1, 0.0, 0.2), {"conf_level": 0.975}, "0.10 (97.5% CI 0.00 to 0.20)"),
    ],
)
def test_format_ci_policy(args, kw, text):
    from trial_analysis.results import format_ci

    assert format_ci(*args, **kw) == text


def test_format_number_never_scientific_for_ordinary_values():
    for x, text in [
        (123456.0, "123456"),
        (999999.4, "999999"),
        (1e6, "1×10⁶"),
        (-2.5e-7, "-2.5×10⁻⁷"),
    ]:
        assert format_number(x) == text
    assert format_number(0.1545454, 3) == "0.155" and format_number(-0.0) == "0"
    assert "e" not in "".join(format_number(10.0**k) for k in range(-3, 6))


def test_typeset_frame_labels_symbols_and_cells():
    from trial_analysis.results import typeset_frame

    df = pd.DataFrame(
        {
            "ci_low": [0.045454545454545456],
            "p_value": [0.04956],
            "prob_gt_mcid": [0.8009083593820447],
            "significant": [True],
            "rho_ranges": [("GIR", "CPEP")],
            "text": ["20 <= age <= 65, 24 kg/m2, tau^2, 1x10^6"],
        }
    )
    out = typeset_frame(df)
    assert list(out.columns) == [
        "95% CI lower",
        "p",
        "P(effect > MCID)",
        "Significant",
        "ρ ranges",
        "Text",
    ]
    assert out.iloc[0].tolist() == [
        "0.04545",
        "0.0496",
        "0.8009",
        "Yes",
        "GIR, CPEP",
        "20 ≤ age ≤ 65, 24 kg/m², τ², 1x10⁶",
    ]


def test_result_mixin_text_html_json():
    r = _Toy(0.15454545, 0.0495622)
    text = str(r)
    assert text.splitlines()[0] == "Toy result"
    assert "0.1545" in text and "0.0496" in text and "Note: SYNTHETIC DATA" in text
    html = r._repr_html_()
    assert "<h4>Toy result</h4>" in html and "<table" in html and "SYNTHETIC DATA" in html
    d = json.loads(r.to_json())
    assert d["table"][0]["estimate"] == pytest.approx(0.15454545)
    assert d["notes"] == [SYNTHETIC_NOTE]
    with pytest.raises(FrozenInstanceError):
        r.estimate = 1.0  # type: ignore[misc]


def test_to_jsonable_handles_numpy_nan_and_inf():
    out = to_jsonable(
        {"a": np.float64("nan"), "b": np.int32(3), "c": [np.inf, -np.inf], "d": np.array([1.5])}
    )
    assert out == {"a": None, "b": 3, "c": ["inf", "-inf"], "d": [1.5]}
    json.dumps(out)  # serialisable


def test_select_row_is_the_one_row_lookup():
    """``row()`` of the tidy binary results all go through ``results.select_row``."""
    import trial_analysis as ta
    from trial_analysis.results import select_row

    t = pd.DataFrame({"key": ["a", "b", "b"], "estimate": [1.0, 2.0, 3.0]})
    assert select_row(t, "key", "b")["estimate"] == 2.0
    with pytest.raises(KeyError, match="no row 'z'; the key values are a, b, b"):
        select_row(t, "key", "z")
    res = ta.binary.compare(9, 45, 2, 44)
    assert res.row("rd_wald").key == "rd_wald"
    r = ta.binary.cmh_counts([3, 4], [10, 10], [1, 2], [10, 10])
    with pytest.raises(KeyError, match="the key values are test_cmh"):
        r.row("nope")
