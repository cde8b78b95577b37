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
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = [
    "FONT",
    "MIN_PT",
    "TrialFigure",
    "figure_bytes",
    "label_source",
    "print_ready",
    "text_sizes",
]

#: The figures' font: matplotlib's own DejaVu Sans, which the PDF report also uses (headings)
#: from the same files, so figures and text match on every machine.
FONT = "DejaVu Sans"
#: The smallest text size on paper, in points (journal figure guidelines ask for 6–8 pt).
MIN_PT = 7.0
#: The width a figure is printed at when no page says otherwise (the PDF's text width, A4 with
#: 18 mm margins), in inches.
DEFAULT_WIDTH_IN = 174 / 25.4

_SOURCE_GID = "trial-analysis-data-source"


def label_source(fig: Figure, source: str | None) -> Figure:
    """Record where a figure's numbers come from (``"published"``, ``"synthetic"``, …);
    :func:`print_ready` and the notebook display print it under the figure. Returns ``fig``."""
    fig.data_source = source  # type: ignore[attr-defined]
    return fig


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
        fig.draw_without_rendering()  # tick labels exist only once the figure is drawn
        for t in _texts(fig):
            t.set_fontfamily(FONT)
            if t.get_fontsize() < MIN_PT:
                t.set_fontsize(MIN_PT)
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
                family=FONT,
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


def figure_bytes(
    fig: Figure,
    fmt: str = "svg",
    *,
    width_in: float | None = None,
    source: str | None = None,
    dpi: float = 150,
) -> bytes:
    """``fig`` saved as ``fmt`` (``svg``: text kept as text; ``png``) under :func:`print_ready`."""
    import matplotlib

    buf = io.BytesIO()
    with (
        print_ready(fig, width_in, source),
        matplotlib.rc_context({"svg.fonttype": "none", "font.family": FONT}),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # layout notices are not the reader's concern
        fig.savefig(buf, format=fmt, bbox_inches="tight", pad_inches=0.04, dpi=dpi)
    return buf.getvalue()


class TrialFigure(Figure):
    """A matplotlib figure that Jupyter displays inline (PNG), print-ready (:func:`print_ready`)
    at its own width, with its data source under it when one is recorded."""

    def _repr_png_(self) -> bytes:
        return figure_bytes(self, "png", width_in=self.get_figwidth(), dpi=100)

    def __repr__(self) -> str:  # the text form a notebook shows only when images are off
        return f"<TrialFigure {self.get_figwidth():.1f}×{self.get_figheight():.1f} in, {len(self.axes)} axes>"
