"""Render report sections to one self-contained HTML page (inline CSS, inline SVG figures)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape
from pathlib import Path

from .content import Callout, FigureBlock, Heading, Para, Section, TableBlock

__all__ = ["render_html"]

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111;line-height:1.45}
h1{font-size:1.7em} h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:1.6em} h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.8em;margin:.3em 0 .2em} th,td{padding:2px 6px;text-align:left;vertical-align:top}
thead th{border-top:2px solid #000;border-bottom:1px solid #000} tbody tr:nth-child(even){background:#f4f6f8}
tbody tr:last-child td{border-bottom:2px solid #000} .caption{font-size:.85em;color:#333;margin:.6em 0 .2em}
.note{font-size:.78em;color:#444} figure{margin:1em 0} figure svg{max-width:100%;height:auto}
.callout{padding:.6em .9em;margin:.8em 0;border:2px solid} .synthetic{background:#fde8e8;border-color:#b91c1c}
.warning{background:#fff7e0;border-color:#b45309} .info{background:#eef4fb;border-color:#1d4ed8}
.banner{position:sticky;top:0;background:#b91c1c;color:#fff;text-align:center;font-weight:bold;font-size:.8em;padding:3px}
nav ol{font-size:.9em}
"""


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def render_html(
    path: str | Path,
    *,
    title: str,
    subtitle_lines: Sequence[str],
    title_callouts: Sequence[Callout],
    sections: Sequence[Section],
    footer: str,
    synthetic: bool,
) -> None:
    """Write the report as a single HTML file to ``path``."""
    out: list[str] = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    if synthetic:
        out.append(
            "<div class='banner'>SYNTHETIC PATIENT-LEVEL DATA: individual results are not the trial's real patients</div>"
        )
    out.append(f"<h1>{escape(title)}</h1>")
    out += [f"<p>{line}</p>" for line in subtitle_lines]
    out += [f"<div class='callout {c.kind}'>{c.text}</div>" for c in title_callouts]
    out.append("<nav><h3>Contents</h3><ol>")
    out += [f"<li><a href='#{s.key}'>{escape(s.title)}</a></li>" for s in sections]
    out.append("</ol></nav>")
    n_table = n_fig = 0
    for k, sec in enumerate(sections, start=1):
        out.append(f"<h2 id='{sec.key}'>{k}. {escape(sec.title)}</h2>")
        for b in sec.blocks:
            if isinstance(b, Heading):
                out.append(f"<h3>{escape(b.text)}</h3>")
            elif isinstance(b, Para):
                out.append(f"<p>{b.text}</p>")
            elif isinstance(b, Callout):
                out.append(f"<div class='callout {b.kind}'>{b.text}</div>")
            elif isinstance(b, TableBlock):
                n_table += 1
                out.append(
                    f"<div class='caption'><b>Table {n_table}.</b> {escape(b.caption)}</div>"
                )
                out.append(b.frame.to_html(index=False, border=0, escape=True))
                out += [f"<div class='note'>Note: {escape(n)}</div>" for n in b.notes]
            elif isinstance(b, FigureBlock):
                n_fig += 1
                out.append(
                    f"<figure>{_svg(b.figure)}<figcaption class='caption'><b>Figure {n_fig}.</b> "
                    f"{escape(b.caption)}</figcaption></figure>"
                )
    out.append(f"<hr><p class='note'>{escape(footer)}</p></body></html>")
    Path(path).write_text("\n".join(out), encoding="utf-8")
