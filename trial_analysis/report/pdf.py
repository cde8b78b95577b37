"""Render the report to PDF with Typst (the ``typst`` wheel from PyPI: no LaTeX, no system fonts).

Why Typst rather than hand-placed reportlab (measured in ``docs/report.md``): it typesets the
whole document — tables that size their columns and never split a word, headings kept with
their text, a table of contents and PDF bookmarks, cross-reference links, full Unicode with
font fallback (CJK from the Noto Sans CJK font the ``cvttf-notosanscjk-regular`` wheel ships),
embedded fonts — in about a second, where reportlab needed two layout passes and could not
use CJK OpenType fonts.

The escaping boundary is structural: the resolved document is written as ``doc.json`` and the
template (``report.typ``) reads it and displays every value as a string. No data string is
ever spliced into Typst markup, so ``<font>``, ``#set``, ``$…$`` or ``*`` in a design file
print as typed; links exist only where the template makes them (cross-references inside the
document), and the only images are the figure files this module writes.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

from .._figures import FONT, cjk_font_file, figure_bytes
from .content import Resolved

__all__ = ["font_paths", "render_pdf"]

_TEMPLATE = Path(__file__).with_name("report.typ")


def font_paths() -> list[str]:
    """Fonts Typst may use: matplotlib's DejaVu family (also the figures' font) and the Noto
    Sans CJK font of the ``cvttf-notosanscjk-regular`` wheel. System fonts are ignored, so the
    PDF is the same on every machine."""
    paths = [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]
    cjk = cjk_font_file()
    if cjk is not None:
        paths.append(str(Path(cjk).parent))
    return paths


#: The text width of the page (A4, 18 mm side margins), in inches: a figure of ``width`` 1 is
#: printed this wide, and drawn at this size so its font sizes are the printed sizes.
TEXT_WIDTH_IN = (210 - 2 * 18) / 25.4


def figure_svg(fig: Any, width: float = 1.0, source: str | None = None) -> bytes:
    """A figure as SVG, drawn at its printed width (``width`` × :data:`TEXT_WIDTH_IN`), text
    kept as text (searchable in the PDF), no text under 7 pt, its data source under it
    (:func:`trial_analysis._figures.print_ready`); a character no figure font has (an
    emoji) becomes "□" (:func:`_missing_glyphs_boxed`)."""
    svg = figure_bytes(fig, "svg", width_in=width * TEXT_WIDTH_IN, source=source)
    return _missing_glyphs_boxed(svg)


@functools.cache
def _figure_glyphs() -> frozenset[int]:
    """Code points the figures' fonts (DejaVu Sans, Noto Sans CJK) can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    files = [font_manager.findfont(font_manager.FontProperties(family=FONT)), cjk_font_file()]
    return frozenset().union(*(FT2Font(f).get_charmap() for f in files if f))


_SVG_TEXT = re.compile(r"<text\b.*?</text>", re.S)
_SVG_RUN = re.compile(r">([^<]+)<")


def _missing_glyphs_boxed(svg: bytes) -> bytes:
    """Typst draws an SVG text run holding one character no font has (an emoji in an arm
    name) entirely in its Last Resort placeholder glyphs, so the whole label becomes boxes;
    such a character is replaced by "□" (in DejaVu Sans), the rest of the label prints."""
    glyphs = _figure_glyphs()

    def run(m: re.Match[str]) -> str:
        t = m.group(1)
        if all(ord(c) in glyphs or c.isspace() for c in t):
            return m.group(0)
        return ">" + "".join(c if ord(c) in glyphs or c.isspace() else "□" for c in t) + "<"

    text = svg.decode("utf-8")
    return _SVG_TEXT.sub(lambda m: _SVG_RUN.sub(run, m.group(0)), text).encode("utf-8")


# A word longer than this may be broken anywhere (an identifier, a URL, a careless or hostile
# data file): Typst breaks lines only at spaces and, in justified text, at hyphenation points,
# so such a word would otherwise run off the page. Hexadecimal digests (checksums, commits) up
# to 64 digits fit their columns and stay whole, so they copy from the PDF exactly.
_LONG_WORD = re.compile(r"\S{30,}")
_DIGEST = re.compile(r"[0-9a-f]{30,64}")
_ZWSP = "\u200b"  # zero-width space: an invisible break opportunity


def _split(word: str) -> str:
    if _DIGEST.fullmatch(word):
        return word
    return _ZWSP.join(word[i : i + 10] for i in range(0, len(word), 10))


def breakable(text: str) -> str:
    """``text`` with a break opportunity every 10 characters inside words of 30 or more
    (hexadecimal digests excepted).

    >>> breakable("a " + "x" * 25 + " " + "y" * 31).split(" ")[2].count("\u200b")
    3
    """
    return _LONG_WORD.sub(lambda m: _split(m.group(0)), text)


def _runs(runs: Any) -> list[list[str]]:
    return [[style, breakable(t), target] for style, t, target in runs]


def _block(b: dict[str, Any], folder: Path) -> dict[str, Any]:
    b = dict(b)
    if "runs" in b:
        b["runs"] = _runs(b["runs"])
    if "caption" in b:
        b["caption"] = _runs(b["caption"])
    if b["type"] == "heading":
        b["text"] = breakable(b["text"])
    elif b["type"] == "table":
        b["header"] = [breakable(h) for h in b["header"]]
        b["rows"] = [[breakable(v) for v in row] for row in b["rows"]]
        b["notes"] = [breakable(n) for n in b["notes"]]
    elif b["type"] == "figure":
        name = f"fig-{b['number']}.svg"  # a name made here, never from data
        (folder / name).write_bytes(figure_svg(b.pop("figure"), b["width"], b["source"]))
        b["file"] = name
    return b


def _jsonable(doc: Resolved, folder: Path) -> dict[str, Any]:
    sections = [
        {**s, "title": breakable(s["title"]), "blocks": [_block(b, folder) for b in s["blocks"]]}
        for s in doc.sections
    ]
    return {
        "title": breakable(doc.title),
        "subtitle": [_runs(line) for line in doc.subtitle],
        "callouts": [_block(c, folder) for c in doc.callouts],
        "sections": sections,
        "footer": breakable(doc.footer),
    }


def render_pdf(path: str | Path, doc: Resolved) -> None:
    """Write the PDF to ``path`` (callers pass a temporary path and rename it; see ``build``)."""
    import typst

    folder = Path(tempfile.mkdtemp(prefix="trial-analysis-report-"))
    try:
        shutil.copyfile(_TEMPLATE, folder / "report.typ")
        data = _jsonable(doc, folder)
        (folder / "doc.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        pdf = typst.compile(
            str(folder / "report.typ"),
            root=str(folder),
            font_paths=font_paths(),
            ignore_system_fonts=True,
        )
        Path(path).write_bytes(pdf)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
