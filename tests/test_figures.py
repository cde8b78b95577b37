"""Figures: a Jupyter display of their own, print-ready size and fonts, a data-source label."""

from __future__ import annotations

import re

import pytest

import trial_analysis as ta
from trial_analysis._figures import (
    FONT,
    MIN_PT,
    TrialFigure,
    figure_bytes,
    label_source,
    print_ready,
    text_sizes,
)
from trial_analysis.plots import design_timeline

PNG = b"\x89PNG\r\n\x1a\n"


def _wide_figure() -> TrialFigure:
    """11 in wide with 8 pt text: printed 6.85 in wide, reportlab-style scaling gave 5 pt."""
    fig = TrialFigure(figsize=(11, 3.8))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_xlabel("Week", fontsize=8)
    ax.set_ylabel("p-value", fontsize=5)  # too small anywhere
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8)
    return fig


def test_analysis_figures_have_a_jupyter_display():
    """IPython's own formatter (what a notebook cell calls) finds an image, not the repr text."""
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    figs = [
        design_timeline(ta.load_design("zang2022")),
        ta.binary.compare(9, 45, 1, 44).plot(),
    ]
    for fig in figs:
        assert isinstance(fig, TrialFigure)
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"][:8] == PNG if isinstance(data["image/png"], bytes) else True
        assert "image/png" in data
        assert "Figure size" not in data["text/plain"]


def test_print_ready_draws_at_the_printed_width_and_restores():
    fig = _wide_figure()
    with print_ready(fig, width_in=6.85, source="published") as f:
        assert f.get_figwidth() == pytest.approx(6.85)
        sizes = dict(text_sizes(f))
        assert min(sizes.values()) >= MIN_PT
        assert sizes["Week"] == 8  # set in points, printed in points: not scaled to 5
        assert sizes["Data: published aggregates."] == MIN_PT
    assert tuple(fig.get_size_inches()) == (11, 3.8)
    assert "Data: published aggregates." not in [t.get_text() for t in fig.texts]


def test_scaling_the_old_way_would_print_under_7pt():
    """The check above can fail: the same figure scaled to the page prints 8 pt as 5 pt."""
    fig = _wide_figure()
    assert min(s for _, s in text_sizes(fig, width_in=6.85)) < MIN_PT


def test_svg_text_is_text_in_the_toolkit_font_with_the_source():
    fig = label_source(_wide_figure(), "synthetic")
    svg = figure_bytes(fig, "svg", width_in=6.85).decode("utf-8")
    assert "Data: SYNTHETIC cohort, not the trial&#39;s patients." in svg or (
        "Data: SYNTHETIC cohort, not the trial's patients." in svg
    )
    families = {f.split(",")[0].strip(" '") for f in re.findall(r"font-family: ([^;\"]+)", svg)}
    assert families == {FONT}, families
    sizes = [float(x) for x in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert len(sizes) >= 8  # ticks, labels, legend and the stamp
    width_pt = float(re.search(r'width="([\d.]+)pt"', svg).group(1))
    # the saved width is the printed width (tight bounding box: within a few points)
    assert width_pt == pytest.approx(6.85 * 72, rel=0.08)
    assert min(sizes) * (6.85 * 72) / width_pt >= MIN_PT - 0.05


def test_png_display_carries_the_data_source():
    fig = label_source(design_timeline(ta.load_design("zang2022")), "registry and assumed")
    png = fig._repr_png_()
    assert png[:8] == PNG
    # the stamp makes the image taller than the same figure without it
    plain = design_timeline(ta.load_design("zang2022"))._repr_png_()

    def height(b: bytes) -> int:
        return int.from_bytes(b[20:24], "big")

    assert height(png) > height(plain)


def test_report_figure_without_data_source_is_a_report_error():
    from trial_analysis.errors import ReportError
    from trial_analysis.report.content import FigureBlock, Section, resolve

    sec = Section("s", "S").add(FigureBlock(_wide_figure(), "A curve."))
    with pytest.raises(ReportError, match=r"Figure 1 \('A curve\.'\) has no data source"):
        resolve(
            title="t",
            subtitle_lines=[],
            title_callouts=[],
            sections=[sec],
            footer="f",
            synthetic=False,
        )


def test_bold_text_does_not_log_the_cjk_fallback(caplog):
    """The CJK fallback font has one weight; drawing bold text must not put matplotlib's
    "Failed to find font weight bold" note on the user's terminal."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from trial_analysis._figures import font_families

    fam = font_families()
    fig = Figure()
    ax = fig.subplots()
    ax.set_title("Bold title 安慰剂", fontweight="bold", family=list(fam))
    with caplog.at_level(logging.INFO, logger="matplotlib.font_manager"):
        fig.canvas.draw()
    assert not [r for r in caplog.records if "font weight" in r.getMessage()]
