"""Render report sections to PDF with reportlab (pure pip, no LaTeX).

Why reportlab: the product brief names it, it installs from PyPI with no system packages and
it draws vector graphics; matplotlib figures are converted through SVG with svglib so they stay
vector in the PDF. Layout: title page, table of contents, numbered tables and figures, page
numbers, PDF outline (bookmarks), and a footer that repeats the synthetic-data warning.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from .content import Callout, FigureBlock, Heading, Para, Section, TableBlock

__all__ = ["render_pdf"]

_SS = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("t", parent=_SS["Title"], fontSize=20, leading=24, spaceAfter=10),
    "subtitle": ParagraphStyle(
        "st", parent=_SS["Normal"], fontSize=11, leading=14, alignment=TA_CENTER
    ),
    "h1": ParagraphStyle(
        "h1", parent=_SS["Heading1"], fontSize=15, leading=18, spaceBefore=6, spaceAfter=6
    ),
    "h2": ParagraphStyle(
        "h2", parent=_SS["Heading2"], fontSize=12, leading=15, spaceBefore=8, spaceAfter=4
    ),
    "h3": ParagraphStyle(
        "h3", parent=_SS["Heading3"], fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=3
    ),
    "body": ParagraphStyle("b", parent=_SS["BodyText"], fontSize=9.5, leading=12.5, spaceAfter=5),
    "caption": ParagraphStyle(
        "c",
        parent=_SS["BodyText"],
        fontSize=8.5,
        leading=11,
        spaceBefore=2,
        spaceAfter=8,
        textColor=colors.HexColor("#333333"),
    ),
    "cell": ParagraphStyle("cell", parent=_SS["BodyText"], fontSize=7.3, leading=8.8),
    "cellh": ParagraphStyle(
        "cellh", parent=_SS["BodyText"], fontSize=7.3, leading=8.8, fontName="Helvetica-Bold"
    ),
    "note": ParagraphStyle(
        "n", parent=_SS["BodyText"], fontSize=7.5, leading=9.5, textColor=colors.HexColor("#444444")
    ),
    "callout": ParagraphStyle("co", parent=_SS["BodyText"], fontSize=10, leading=13),
}
CALLOUT_COLOURS = {
    "synthetic": ("#fde8e8", "#b91c1c"),
    "warning": ("#fff7e0", "#b45309"),
    "info": ("#eef4fb", "#1d4ed8"),
}


class _Figure(Flowable):
    """A vector drawing that takes its space on every pass but is drawn only after the first.

    ``multiBuild`` lays the story out once to learn the page of each heading (for the table of
    contents) and again to write it; drawing figures on the first pass is wasted work (about a
    third of the report's time).
    """

    def __init__(self, drawing: Any, doc: _Doc):
        super().__init__()
        self.drawing, self.doc = drawing, doc
        self.hAlign = "CENTER"

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.drawing.width, self.drawing.height

    def draw(self) -> None:
        if self.doc.pass_number > 1:
            self.drawing.drawOn(self.canv, 0, 0)


def _svg_drawing(fig: Any, width: float) -> Flowable:
    """matplotlib Figure -> reportlab Drawing (vector) scaled to ``width`` points."""
    from svglib.svglib import svg2rlg

    buf = io.BytesIO()
    # text as SVG text, not glyph paths: a third of the drawing work, and searchable in the PDF
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "sans-serif"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    buf.seek(0)
    drawing = svg2rlg(buf)
    scale = width / drawing.width
    drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
    drawing.scale(scale, scale)
    drawing.hAlign = "CENTER"
    return drawing


class _Doc(BaseDocTemplate):
    def __init__(self, filename: str, footer: str, synthetic: bool, **kw: Any):
        super().__init__(
            filename,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=18 * mm,
            **kw,
        )
        self.footer, self.synthetic = footer, synthetic
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="main")
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._decorate)])
        self._bookmark = 0
        self.pass_number = 0

    def _decorate(self, canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(self.leftMargin, 10 * mm, self.footer)
        canvas.drawRightString(A4[0] - self.rightMargin, 10 * mm, f"Page {doc.page}")
        if self.synthetic:
            canvas.setFillColor(colors.HexColor("#b91c1c"))
            canvas.setFont("Helvetica-Bold", 7.5)
            canvas.drawCentredString(
                A4[0] / 2,
                A4[1] - 9 * mm,
                "SYNTHETIC PATIENT-LEVEL DATA: individual results are not the trial's real patients",
            )
        canvas.restoreState()

    def beforeDocument(self) -> None:
        self._bookmark = 0  # multiBuild makes several passes: keys must be the same each time
        self.pass_number += 1

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, Paragraph) and flowable.style.name in ("h1", "h2"):
            level = 0 if flowable.style.name == "h1" else 1
            text = flowable.getPlainText()
            key = f"bm{self._bookmark}"
            self._bookmark += 1
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
            self.notify("TOCEntry", (level, text, self.page, key))


def _column_widths(df: Any, width: float, weights: Sequence[float] | None = None) -> list[float]:
    """Widths that never break a word (a number or a header) and share the rest by content length
    (or by ``weights``, relative widths asked for by the section)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pad = 13.0  # the cell paddings (6 pt each side) plus a little air
    size = STYLES["cell"].fontSize

    def w(text: str, bold: bool = False) -> float:
        return stringWidth(text, "Helvetica-Bold" if bold else "Helvetica", size)

    minimum, desired = [], []
    for c in df.columns:
        cells = [str(v) for v in df[c]]
        words = [tok for v in cells for tok in v.split()] + str(c).split()
        # short cells (up to ~55 pt, e.g. "mean (SD)") never wrap; longer ones wrap between words
        short = [w(v) for v in cells if w(v) <= 55.0]
        minimum.append(max([w(tok, True) for tok in words] + short + [8.0]) + pad)
        desired.append(max([w(v) for v in cells] + [w(str(c), True)]) + pad)
    if weights:
        desired = [max(m, width * x / sum(weights)) for m, x in zip(minimum, weights, strict=True)]
    if sum(desired) <= width:
        return [d * width / sum(desired) for d in desired]
    if sum(minimum) >= width:
        return [m * width / sum(minimum) for m in minimum]
    extra = [d - m for d, m in zip(desired, minimum, strict=True)]
    room = width - sum(minimum)
    return [m + room * e / sum(extra) for m, e in zip(minimum, extra, strict=True)]


def _table(block: TableBlock, width: float) -> Flowable:
    df = block.frame
    from reportlab.pdfbase.pdfmetrics import stringWidth

    widths = _column_widths(df, width, block.col_widths)
    size = STYLES["cell"].fontSize

    def cell(v: Any, w: float, style: str) -> Any:
        # a Paragraph (slow to lay out) only where the text must wrap; plain strings elsewhere
        text = str(v)
        font = "Helvetica-Bold" if style == "cellh" else "Helvetica"
        if "\n" not in text and stringWidth(text, font, size) <= w - 12:
            return text
        return Paragraph(escape(text), STYLES[style])

    header = [cell(c, w, "cellh") for c, w in zip(df.columns, widths, strict=True)]
    rows = [
        [cell(v, w, "cell") for v, w in zip(r, widths, strict=True)]
        for r in df.itertuples(index=False)
    ]
    t = Table([header, *rows], colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                (
                    "FONT",
                    (0, 0),
                    (-1, 0),
                    "Helvetica-Bold",
                    STYLES["cellh"].fontSize,
                    STYLES["cellh"].leading,
                ),
                (
                    "FONT",
                    (0, 1),
                    (-1, -1),
                    "Helvetica",
                    STYLES["cell"].fontSize,
                    STYLES["cell"].leading,
                ),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f8")]),
            ]
        )
    )
    return t


def _callout(block: Callout, width: float) -> Flowable:
    bg, fg = CALLOUT_COLOURS.get(block.kind, CALLOUT_COLOURS["info"])
    p = Paragraph(block.text, STYLES["callout"])
    t = Table([[p]], colWidths=[width])
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(bg)),
                ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor(fg)),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return t


def render_pdf(
    path: str | Path,
    *,
    title: str,
    subtitle_lines: Sequence[str],
    title_callouts: Sequence[Callout],
    sections: Sequence[Section],
    footer: str,
    synthetic: bool,
) -> None:
    """Write the PDF to ``path`` (callers pass a temporary path and rename it; see ``build``)."""
    doc = _Doc(
        str(path),
        footer=footer,
        synthetic=synthetic,
        title=title,
        author="trial_analysis",
        subject="Statistical reanalysis report",
    )
    width = doc.width
    story: list[Flowable] = [Spacer(1, 30 * mm), Paragraph(escape(title), STYLES["title"])]
    story += [Paragraph(line, STYLES["subtitle"]) for line in subtitle_lines]
    story.append(Spacer(1, 10 * mm))
    for c in title_callouts:
        story += [_callout(c, width), Spacer(1, 4 * mm)]
    story.append(PageBreak())
    toc = TableOfContents()
    toc.levelStyles = [
        ParagraphStyle("toc0", fontSize=10.5, leading=14, leftIndent=0, fontName="Helvetica-Bold"),
        ParagraphStyle("toc1", fontSize=9, leading=12, leftIndent=14),
    ]
    story += [Paragraph("Contents", STYLES["h3"]), toc, PageBreak()]
    n_table = n_fig = 0
    for k, sec in enumerate(sections, start=1):
        story += [CondPageBreak(60 * mm), Paragraph(f"{k}. {escape(sec.title)}", STYLES["h1"])]
        pending: list[
            Flowable
        ] = []  # a heading waits for the block after it, so it is never orphaned
        for b in sec.blocks:
            if isinstance(b, Heading):
                pending += [
                    CondPageBreak(40 * mm),
                    Paragraph(escape(b.text), STYLES["h2" if b.level <= 2 else "h3"]),
                ]
                continue
            if isinstance(b, Para):
                group = [Paragraph(b.text, STYLES["body"])]
            elif isinstance(b, Callout):
                group = [_callout(b, width), Spacer(1, 3 * mm)]
            elif isinstance(b, TableBlock):
                n_table += 1
                cap = Paragraph(f"<b>Table {n_table}.</b> {escape(b.caption)}", STYLES["caption"])
                notes = [Paragraph("Note: " + escape(n), STYLES["note"]) for n in b.notes]
                group = [cap, _table(b, width), *notes, Spacer(1, 4 * mm)]
                if (
                    len(b.frame) > 25
                ):  # long tables flow over pages; keep the caption with the header
                    story += [*pending, KeepTogether(group[:2]), *group[2:]]
                    pending = []
                    continue
            elif isinstance(b, FigureBlock):
                n_fig += 1
                cap = Paragraph(f"<b>Figure {n_fig}.</b> {escape(b.caption)}", STYLES["caption"])
                group = [_Figure(_svg_drawing(b.figure, width * b.width), doc), cap]
            else:  # pragma: no cover - programming error
                raise TypeError(f"unknown report block {type(b).__name__}")
            pending_flow = [f for f in pending if not isinstance(f, CondPageBreak)]
            story += [f for f in pending if isinstance(f, CondPageBreak)]
            story.append(KeepTogether([*pending_flow, *group]))
            pending = []
        story += pending
    doc.multiBuild(story)
