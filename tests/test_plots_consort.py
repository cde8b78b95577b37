"""The CONSORT flow diagram: every text inside its box and the figure, for 1-6 arms and long
labels from the data (window extents drawn by Agg, compared as bounding boxes)."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from trial_analysis._figures import _SOURCE_GID, print_ready
from trial_analysis.baseline import ParticipantFlow
from trial_analysis.plots import FlowBox, consort_flow
from trial_analysis.report.pdf import TEXT_WIDTH_IN

TOL = 0.5  # pixels: antialiasing slack of the Agg extents


def _arms(names: list[str], reasons: list[tuple[str, ...]]) -> list[list[FlowBox]]:
    """The boxes the participant-flow table draws (baseline.ParticipantFlow.plot)."""
    return [
        [
            FlowBox(("Allocated to", name, "n = 45")),
            FlowBox(
                (
                    "Treated: n = 45",
                    "Received every administration: n = 45",
                    "Completed follow-up: n = 45",
                    "ITT (all randomised): n = 45",
                ),
                side=("Discontinued:", *why),
            ),
            FlowBox(("Per protocol", "n = 44", "not analysed: 1")),
        ]
        for name, why in zip(names, reasons, strict=True)
    ]


LONG_NAME = "Xanomeline transdermal therapeutic system, high dose 81 mg/day titrated"
LONG_REASON = "Withdrawal by subject because of an adverse event of the skin: 12"
UNBROKEN = "x" * 90  # one word longer than any box: cut, not run out

CASES = {
    "2 arms": (["UC-MSC", "Placebo"], [("none",), ("Withdrawal by subject: 2",)]),
    "2 arms, long": (
        [LONG_NAME, "Placebo $x$"],
        [(LONG_REASON, "Lost to follow-up: 3"), (UNBROKEN,)],
    ),
    "1 arm": (["Single arm"], [(LONG_REASON,)]),
    "3 arms, long": (
        ["Placebo", LONG_NAME, "Xanomeline Low Dose"],
        [("none",), (LONG_REASON, "Death: 1"), ("Adverse event: 8",)],
    ),
    "6 arms": ([f"{LONG_NAME} {i}" for i in range(6)], [(LONG_REASON,)] * 6),
}


def _check(fig) -> int:
    """Asserts every box's text lies inside its box, every text and box inside the figure and
    no two boxes overlap; returns the number of boxes checked."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    page = fig.bbox
    boxes = {p.get_gid(): p.get_window_extent(renderer) for p in fig.findobj(FancyBboxPatch)}
    texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert boxes and texts
    for t in texts:
        if t.get_gid() == _SOURCE_GID:  # the data-source stamp goes under the figure
            continue
        tb = t.get_window_extent(renderer)
        assert tb.x0 >= page.x0 - TOL and tb.x1 <= page.x1 + TOL, t.get_text()
        assert tb.y0 >= page.y0 - TOL and tb.y1 <= page.y1 + TOL, t.get_text()
        gid = t.get_gid()
        if gid is None or gid not in boxes:  # the title
            continue
        b = boxes[gid]
        assert b.x0 - TOL <= tb.x0 and tb.x1 <= b.x1 + TOL, (t.get_text(), tb, b)
        assert b.y0 - TOL <= tb.y0 and tb.y1 <= b.y1 + TOL, (t.get_text(), tb, b)
    for b in boxes.values():
        assert page.x0 - TOL <= b.x0 and b.x1 <= page.x1 + TOL
        assert page.y0 - TOL <= b.y0 and b.y1 <= page.y1 + TOL
    ext = list(boxes.values())
    for i, a in enumerate(ext):
        for b in ext[i + 1 :]:
            assert not a.shrunk(0.99, 0.99).overlaps(b.shrunk(0.99, 0.99)), (a, b)
    return len(boxes)


@pytest.mark.parametrize("case", list(CASES))
def test_every_text_inside_its_box_and_the_figure(case):
    names, reasons = CASES[case]
    fig = consort_flow(["Enrolled: n = 103", "Randomised: n = 91"], _arms(names, reasons))
    n = _check(fig)
    k = len(names)
    assert n == 2 + 3 * k + (k if k <= 2 else 0)  # side boxes beside 1-2 arms, inline beyond
    # printed in the report (its text width, fonts as print_ready sets them, data stamp)
    with print_ready(fig, TEXT_WIDTH_IN, source="synthetic") as f:
        _check(f)


def test_the_zang_flow_fits_and_names_every_line():
    """The report's diagram (the synthetic Zang 2022 cohort's flow table as the report prints
    it, drawn by ParticipantFlow.plot): "Received every administration: n = 45", which ran past
    its box, is inside it; the withdrawal boxes are inside the figure."""
    stages = ["Randomised", "Treated", "Received every administration", "Discontinued"]
    stages += ["Completed follow-up", "ITT (all randomised)", "Per protocol"]
    table = pd.DataFrame(
        {"UC-MSC": [45, 45, 45, 0, 45, 45, 45], "Placebo": [46, 46, 46, 2, 44, 46, 44]},
        index=pd.Index(stages, name="stage"),
    )
    reasons = pd.DataFrame({"ARM": ["Placebo"], "reason": ["Withdrawal by subject"], "n": [2]})
    fig = ParticipantFlow(table, reasons, enrolled=103, synthetic=True).plot()
    assert _check(fig) == 2 + 3 * 2 + 2
    with print_ready(fig, TEXT_WIDTH_IN, source="synthetic") as f:
        _check(f)
    drawn = [t.get_text().replace("\n", " ") for t in fig.findobj(Text)]
    assert any("Received every administration: n = 45" in t for t in drawn)
    assert any("Withdrawal by subject: 2" in t for t in drawn)


def test_data_text_is_not_mathtext():
    fig = consort_flow(["Randomised: n = 2"], _arms(["$\\alpha$ arm", "B"], [("a",), ("b",)]))
    texts = [t for t in fig.findobj(Text) if "alpha" in t.get_text()]
    assert texts and not any(t.get_parse_math() for t in texts)


def test_no_arm_is_a_parameter_error():
    from trial_analysis.errors import ParameterError

    with pytest.raises(ParameterError, match="`arms` must be a list of at least one arm"):
        consort_flow(["Randomised: n = 0"], [])
    with pytest.raises(ParameterError, match="each with at least one box"):
        consort_flow(["Randomised: n = 0"], [[FlowBox(("A",))], []])
    with pytest.raises(
        ParameterError, match="`arms` must be at most 12 arms for a flow diagram, got '13 arms'"
    ):
        consort_flow(["Randomised"], [[FlowBox(("A",))]] * 13)


def test_a_huge_label_is_cut_and_still_fits():
    fig = consort_flow(["Randomised: n = 2"], _arms(["A " * 5000, "B"], [("why " * 3000,), ("b",)]))
    _check(fig)
    assert max(len(t.get_text()) for t in fig.findobj(Text)) < 400
