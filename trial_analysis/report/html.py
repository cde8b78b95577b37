"""Render the report to one self-contained HTML page (inline CSS, inline SVG figures).

The escaping boundary is Jinja2's autoescaping: every value the template prints is escaped
unless it is one of the figure SVGs this module made with matplotlib (which escapes the text
it draws). No section passes markup, so text from a data file prints as typed; the only links
are the document's own anchors; there are no external resources.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from .content import Resolved

__all__ = ["render_html"]

_CSS = """
body{overflow-wrap:anywhere;font-family:Helvetica,Arial,"Noto Sans CJK TC",sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111;line-height:1.45}
h1{font-size:1.7em} h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:1.6em} h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.8em;margin:.3em 0 .2em} th,td{padding:2px 6px;text-align:left;vertical-align:top;hyphens:manual}
thead th{border-top:2px solid #000;border-bottom:1px solid #000} tbody tr:nth-child(even){background:#f4f6f8}
tbody tr:last-child td{border-bottom:2px solid #000} .caption{font-size:.85em;color:#333;margin:.6em 0 .2em}
.note{font-size:.78em;color:#444} figure{margin:1em 0} figure svg{max-width:100%;height:auto}
.callout{padding:.6em .9em;margin:.8em 0;border:2px solid} .synthetic{background:#fde8e8;border-color:#b91c1c}
.warning{background:#fff7e0;border-color:#b45309} .info{background:#eef4fb;border-color:#1d4ed8}
.banner{position:sticky;top:0;background:#b91c1c;color:#fff;text-align:center;font-weight:bold;font-size:.8em;padding:3px}
nav ol{font-size:.9em}
"""

_TEMPLATE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{{ doc.title }}</title><style>{{ css }}</style></head><body>
{%- macro inline(runs) -%}
{%- for style, text, target in runs -%}
{%- if style == "b" %}<b>{{ text }}</b>{% elif style == "i" %}<i>{{ text }}</i>
{%- elif style == "url" and (target.startswith("https://") or target.startswith("http://")) %}<a href="{{ target }}" rel="noopener noreferrer">{{ text }}</a>
{%- elif style == "code" %}<code>{{ text }}</code>{% elif style == "ref" %}<a href="#{{ target }}">{{ text }}</a>
{%- else %}{{ text }}{% endif -%}
{%- endfor -%}
{%- endmacro %}
{%- macro callout(c) %}<div class="callout {{ c.kind }}">{{ inline(c.runs) }}</div>{% endmacro %}
{% if doc.synthetic %}<div class="banner">SYNTHETIC PATIENT-LEVEL DATA: individual results are not the trial's real patients</div>{% endif %}
<h1>{{ doc.title }}</h1>
{% for line in doc.subtitle %}<p>{{ inline(line) }}</p>
{% endfor %}
{% for c in doc.callouts %}{{ callout(c) }}
{% endfor %}
<nav><h3>Contents</h3><ol>
{% for s in doc.sections %}<li><a href="#{{ s.anchor }}">{{ s.title }}</a></li>
{% endfor %}</ol></nav>
{% for s in doc.sections %}
<h2 id="{{ s.anchor }}">{{ s.number }}. {{ s.title }}</h2>
{% for b in s.blocks %}
{%- if b.type == "heading" %}<h3>{{ b.text }}</h3>
{%- elif b.type == "para" %}<p>{{ inline(b.runs) }}</p>
{%- elif b.type == "callout" %}{{ callout(b) }}
{%- elif b.type == "table" %}
<div class="caption" id="{{ b.anchor }}"><b>Table {{ b.number }}.</b> {{ inline(b.caption) }}</div>
<table><thead><tr>{% for h in b.header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in b.rows %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% for n in b.notes %}<div class="note">Note: {{ n }}</div>{% endfor %}
{%- elif b.type == "figure" %}
<figure id="{{ b.anchor }}">{{ svgs[b.anchor] }}<figcaption class="caption"><b>Figure {{ b.number }}.</b> {{ inline(b.caption) }}</figcaption></figure>
{%- endif %}
{% endfor %}
{% endfor %}
<hr><p class="note">{{ doc.footer }}</p></body></html>
"""


def _svg(b: dict) -> Markup:
    from .pdf import figure_svg

    svg = figure_svg(b["figure"], b["width"], b["source"]).decode("utf-8")
    # matplotlib writes the SVG and escapes the text it draws; only the <svg> element is kept
    return Markup(svg[svg.find("<svg") :])


def render_html(path: str | Path, doc: Resolved) -> None:
    """Write the report as a single HTML file to ``path``."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    svgs = {
        b["anchor"]: _svg(b) for s in doc.sections for b in s["blocks"] if b["type"] == "figure"
    }
    text = env.from_string(_TEMPLATE).render(doc=doc, css=Markup(_CSS), svgs=svgs)
    Path(path).write_text(text, encoding="utf-8")
