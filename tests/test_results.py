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
        (1.5e-5, "1.500e-05"),
        (2.5e7, "2.500e+07"),
        (float("inf"), "inf"),
        (True, "True"),
        (None, ""),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_format_p_and_sci():
    assert format_p(0.0495622) == "0.0496"
    assert format_p(3e-7) == "<0.0001"
    assert format_p(float("nan")) == ""
    assert (
        format_sci(1e6) == "1×10^6" and format_sci(1.5e6) == "1.5×10^6" and format_sci(70.0) == "70"
    )


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
