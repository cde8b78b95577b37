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

import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

from .content import Resolved

__all__ = ["font_paths", "render_pdf"]

_TEMPLATE = Path(__file__).with_name("report.typ")


def font_paths() -> list[str]:
    """Fonts Typst may use: matplotlib's DejaVu family (also the figures' font) and the Noto
    Sans CJK font of the ``cvttf-notosanscjk-regular`` wheel. System fonts are ignored, so the
    PDF is the same on every machine."""
    paths = [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]
    try:
        import cvttf_NotoSansCJK_Regular as cjk

        paths.append(str(Path(cjk.__file__).parent))
    except ImportError:  # pragma: no cover - a dependency; without it CJK prints as boxes
        pass
    return paths


def figure_svg(fig: Any) -> bytes:
    """A matplotlib figure as SVG with text kept as text (searchable, selectable in the PDF)."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.03)
    return buf.getvalue()


def _jsonable(doc: Resolved, folder: Path) -> dict[str, Any]:
    sections = []
    for s in doc.sections:
        blocks = []
        for b in s["blocks"]:
            if b["type"] == "figure":
                name = f"fig-{b['number']}.svg"
                (folder / name).write_bytes(figure_svg(b["figure"]))
                b = {k: v for k, v in b.items() if k != "figure"} | {"file": name}
            blocks.append(b)
        sections.append({**s, "blocks": blocks})
    return {
        "title": doc.title,
        "subtitle": [list(map(list, line)) for line in doc.subtitle],
        "callouts": list(doc.callouts),
        "sections": sections,
        "footer": doc.footer,
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
