"""The toolkit's figure class and how figures are prepared for print.

Analyses build their figures as :class:`TrialFigure` (a :class:`matplotlib.figure.Figure` with
a Jupyter display: no pyplot state, nothing shown until a notebook displays the returned
object) so a notebook cell that ends in ``res.plot()`` shows the image instead of
``<Figure size 1100x380 with 3 Axes>`` — matplotlib registers its inline display only for
figures made through pyplot.

:func:`print_ready` prepares any figure for the page it is printed on: the figure is drawn at
its printed width (so a font size set in points is the size on paper), no text is smaller than
:data:`MIN_PT`, every text uses the toolkit's font (:data:`FONT`, also the PDF report's sans
font), and the data source is stamped under the figure. The figure is restored afterwards.
Characters DejaVu Sans lacks (Chinese, Japanese, Korean: an arm named "安慰剂") fall back to
Noto Sans CJK (:data:`CJK_FONT`, the PDF report's CJK font), so they print instead of boxes.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = [
    "CJK_FONT",
    "FONT",
    "MIN_PT",
    "TrialFigure",
    "figure_bytes",
    "font_families",
    "label_source",
    "print_ready",
    "text_sizes",
]

#: The figures' font: matplotlib's own DejaVu Sans, which the PDF report also uses (headings)
#: from the same files, so figures and text match on every machine.
FONT = "DejaVu Sans"
#: The fallback for the characters :data:`FONT` lacks: Noto Sans CJK (SIL OFL) of the
#: ``cvttf-notosanscjk-regular`` wheel, also the PDF report's CJK font.
CJK_FONT = "Noto Sans CJK TC"
#: The smallest text size on paper, in points (journal figure guidelines ask for 6–8 pt).
MIN_PT = 7.0
#: The width a figure is printed at when no page says otherwise (the PDF's text width, A4 with
#: 18 mm margins), in inches.
DEFAULT_WIDTH_IN = 174 / 25.4

#: Narrowest axes, in inches, a figure may be squeezed to when drawn at its printed width.
MIN_AXES_IN = 1.0

_SOURCE_GID = "trial-analysis-data-source"


def label_source(fig: Figure, source: str | None) -> Figure:
    """Record where a figure's numbers come from (``"published"``, ``"synthetic"``, …);
    :func:`print_ready` and the notebook display print it under the figure. Returns ``fig``."""
    fig.data_source = source  # type: ignore[attr-defined]
    return fig


def _has_exponent(text: str) -> bool:
    return text.count("$") >= 2 and "^" in text


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def text_sizes(fig: Figure, width_in: float | None = None) -> list[tuple[str, float]]:
    """Each visible text of ``fig`` with its size in points when the figure is printed
    ``width_in`` inches wide (default: its own width)."""
    scale = 1.0 if width_in is None else width_in / fig.get_figwidth()
    return [(t.get_text(), t.get_fontsize() * scale) for t in _texts(fig)]


def _phrase(source: str) -> str:
    from .report.content import source_phrase

    return source_phrase(source)


@functools.cache
def cjk_font_file() -> str | None:
    """The Noto Sans CJK font file the install brings, or ``None`` without that wheel."""
    try:
        import cvttf_NotoSansCJK_Regular as cjk
    except ImportError:  # pragma: no cover - a dependency; without it CJK prints as boxes
        return None
    path = Path(cjk.__file__).with_name("NotoSansCJKtc-Regular.otf")
    return str(path) if path.is_file() else None


@functools.cache
def font_families() -> tuple[str, ...]:
    """:data:`FONT`, then :data:`CJK_FONT` (registered with matplotlib on first use) for
    the characters FONT lacks; matplotlib picks per character the first family having it."""
    path = cjk_font_file()
    if path is None:  # pragma: no cover
        return (FONT,)
    import logging

    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    # the wheel has the regular weight only: matplotlib's note that bold CJK text falls back
    # to it ("Failed to find font weight bold for Noto Sans CJK TC") is expected, not news
    logging.getLogger("matplotlib.font_manager").addFilter(
        lambda rec: not (CJK_FONT in rec.getMessage() and "font weight" in rec.getMessage())
    )
    return (FONT, CJK_FONT)


@contextlib.contextmanager
def print_ready(
    fig: Figure, width_in: float | None = None, source: str | None = None
) -> Iterator[Figure]:
    """Within the block, ``fig`` is ready to save for print at ``width_in`` inches.

    The figure is resized to that width (height in proportion), its layout engine (constrained
    layout when it has none) re-run, text under :data:`MIN_PT` raised to it, fonts set to
    :data:`FONT`, and ``source`` (default ``fig.data_source``) stamped under it as
    "Data: …". Size, layout engine and the stamp are undone on exit; raised font sizes and the
    font family stay (they are what the figure should have had).
    """
    width_in = DEFAULT_WIDTH_IN if width_in is None else float(width_in)
    source = source if source is not None else getattr(fig, "data_source", None)
    old_size = tuple(fig.get_size_inches())
    old_engine = fig.get_layout_engine()
    for old in [t for t in fig.texts if t.get_gid() == _SOURCE_GID]:
        old.remove()
    stamp = None
    try:
        fig.set_size_inches(width_in, width_in * old_size[1] / old_size[0])
        families = list(font_families())
        for t in _texts(fig):  # before the first draw: it measures the texts in their font
            t.set_fontfamily(families)
        import matplotlib

        with matplotlib.rc_context({"font.family": families}):
            fig.draw_without_rendering()  # tick labels exist only once the figure is drawn
        for t in _texts(fig):
            t.set_fontfamily(families)
            # mathtext prints exponents (10⁻⁶ on a log axis) at about 61% of the text size
            # (measured in the PDF: 6.07 pt for 10 pt tick labels)
            least = MIN_PT / 0.6 if _has_exponent(t.get_text()) else MIN_PT
            if t.get_fontsize() < least:
                t.set_fontsize(least)
        if old_engine is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # figures with hand-placed axes keep them
                fig.set_layout_engine("constrained")
        if source:
            stamp = fig.text(
                0.995,
                0.0,
                _phrase(source),
                ha="right",
                va="top",
                fontsize=MIN_PT,
                color="0.35",
                family=families,
                gid=_SOURCE_GID,
            )
        yield fig
    finally:
        if stamp is not None:
            stamp.remove()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.set_layout_engine(old_engine)
        fig.set_size_inches(*old_size)


def _overlaps(fig: Figure, renderer: Any) -> int:
    """Pairs of visible texts placed by the figure's code (tick labels left out: matplotlib
    places and thins those itself) whose drawn boxes overlap by more than half a point."""
    ticks = {
        id(t)
        for ax in fig.axes
        for axis in (ax.xaxis, ax.yaxis)
        for t in axis.get_ticklabels(which="both")
    }
    boxes = []
    for t in _texts(fig):
        if t.get_gid() == _SOURCE_GID or id(t) in ticks:
            continue
        try:
            b = t.get_window_extent(renderer)
        except (RuntimeError, ValueError):  # pragma: no cover - a text matplotlib cannot place
            continue
        if b.width > 0 and b.height > 0:
            boxes.append(b.expanded(1, 1).padded(-0.5 * fig.dpi / 72))
    return sum(1 for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b))


def _layout(fig: Figure) -> None:
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)


def _fit_width(fig: Figure, target: float, pad: float, designed: tuple[float, float]) -> None:
    """Narrow ``fig`` until what it draws (labels outside the axes included, the extent
    ``bbox_inches="tight"`` saves) is no wider than ``target`` inches (at most three steps).

    If that squeezes an axes under :data:`MIN_AXES_IN` or makes texts overlap that did not at
    the ``designed`` size (text placed by hand in axes coordinates: a forest plot's columns),
    the figure is drawn at its designed size instead and scaled to the page: its text then
    prints smaller, and the figure needs a layout for the page's width.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    for _ in range(3):
        _layout(fig)
        drawn = fig.get_tightbbox(renderer).width + 2 * pad
        if drawn <= target * 1.002:
            break
        w, h = fig.get_size_inches()
        k = 1 - (drawn - target) / w  # shrink the figure by the overhang
        if k < 0.25:  # an overhang wider than the figure (e.g. a very long label): give up
            break
        fig.set_size_inches(w * k, h * k)
    _layout(fig)
    fitted = tuple(fig.get_size_inches())
    narrowest = min(
        (ax.get_position().width * fitted[0] for ax in fig.axes if ax.axison),
        default=math.inf,
    )
    squeezed = narrowest < MIN_AXES_IN
    if not squeezed:
        fig.draw_without_rendering()  # tick labels placed for this size
        crowded = _overlaps(fig, renderer)
        if crowded:
            fig.set_size_inches(*designed)
            fig.draw_without_rendering()
            squeezed = crowded > _overlaps(fig, renderer)
            fig.set_size_inches(*fitted)
    if squeezed:
        fig.set_size_inches(*designed)
    _layout(fig)


def figure_bytes(
    fig: Figure,
    fmt: str = "svg",
    *,
    width_in: float | None = None,
    source: str | None = None,
    dpi: float = 150,
) -> bytes:
    """``fig`` saved as ``fmt`` (``svg``: text kept as text; ``png``) under :func:`print_ready`.

    The saved image is cropped to what is drawn (labels outside the axes included), so it can
    come out wider than the figure; the figure is narrowed first until the image is no wider
    than ``width_in`` — scaling a wider image down to the page would shrink its text under
    :data:`MIN_PT`.
    """
    import matplotlib

    target = DEFAULT_WIDTH_IN if width_in is None else float(width_in)
    designed = tuple(fig.get_size_inches())
    pad = 0.04
    buf = io.BytesIO()
    with (
        print_ready(fig, target, source),
        matplotlib.rc_context({"svg.fonttype": "none", "font.family": list(font_families())}),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # layout notices are not the reader's concern
        _fit_width(fig, target, pad, designed)
        scale = target / fig.get_figwidth()
        if scale < 1:  # drawn at its designed size and scaled down: the stamp stays 7 pt
            for t in fig.texts:
                if t.get_gid() == _SOURCE_GID:
                    t.set_fontsize(MIN_PT / scale)
        fig.savefig(buf, format=fmt, bbox_inches="tight", pad_inches=pad, dpi=dpi)
    return buf.getvalue()


class TrialFigure(Figure):
    """A matplotlib figure that Jupyter displays inline (PNG), print-ready (:func:`print_ready`)
    at its own width, with its data source under it when one is recorded."""

    def _repr_png_(self) -> bytes:
        return figure_bytes(self, "png", width_in=self.get_figwidth(), dpi=100)

    def __repr__(self) -> str:  # the text form a notebook shows only when images are off
        return f"<TrialFigure {self.get_figwidth():.1f}×{self.get_figheight():.1f} in, {len(self.axes)} axes>"
