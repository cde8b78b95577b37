"""The report's content model: renderer-neutral blocks built from result objects.

Section functions (:mod:`.sections`) return :class:`Section` objects made of these blocks; the
PDF (:mod:`.pdf`) and HTML (:mod:`.html`) renderers lay them out from the same
:func:`resolve`-d document, so both formats show the same content and numbering.

Text is never markup. A paragraph is a sequence of *runs*: plain strings, :class:`Bold`,
:class:`Italic`, :class:`Code` and :class:`Ref` (a numbered cross-reference). Each renderer
turns runs into its own format through one escaping boundary (HTML: Jinja2 autoescaping; PDF:
the strings reach Typst as data, never as markup), so text from a data file — a sponsor's
``design.toml``, a downloaded ``published.csv`` — prints exactly as typed.

Cross-references name a section key, or a table or figure ``label``; :func:`resolve` numbers
sections, tables and figures in order of appearance and raises :class:`ReportError` for a
reference to something the report does not contain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..errors import ReportError
from ..results import Result, column_label, format_cell, typeset_frame, typographic

__all__ = [
    "MAX_TEXT",
    "MAX_TITLE",
    "Bold",
    "Callout",
    "Code",
    "FigureBlock",
    "Heading",
    "Italic",
    "Link",
    "Para",
    "Ref",
    "ReportError",
    "Section",
    "TableBlock",
    "resolve",
    "table_from",
]

# Bounds on text, checked before any layout work: a title longer than this is a data error, not
# something to typeset (a 200,000-character title would take minutes and fill pages).
MAX_TITLE = 400
MAX_TEXT = 20_000

SOURCES = (
    "published",
    "registry",
    "inferred",
    "assumed",
    "synthetic",
    "patient-level",
    "reconstructed",
    "computed",
    "simulated",
)


# ------------------------------------------------------------------------------- inline runs
@dataclass(frozen=True)
class Bold:
    text: str


@dataclass(frozen=True)
class Italic:
    text: str


@dataclass(frozen=True)
class Code:
    """Monospaced text (a command line, a file name)."""

    text: str


@dataclass(frozen=True)
class Ref:
    """A numbered cross-reference: a section key (``"audit"``) or a table/figure label.

    Printed as ``Section 4``, ``Table 7`` or ``Figure 2`` (or ``[3]`` for a reference-list
    entry); ``text`` replaces the word before the number (``Ref("audit", "Sections")``).
    """

    target: str
    text: str | None = None


@dataclass(frozen=True)
class Link:
    """An external link. Only ``http://`` and ``https://`` addresses become links; any other
    (``javascript:``, ``file:``, ``data:``) prints as plain text."""

    url: str
    text: str | None = None


_SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\\x00-\x1f\x7f]+\Z")


def safe_url(url: str) -> bool:
    """Whether ``url`` may become a link: http(s), no spaces, quotes or control characters."""
    return bool(_SAFE_URL.match(url))


Run = str | Bold | Italic | Code | Ref | Link
Inline = Run | Sequence[Run]


def runs_of(text: Inline) -> tuple[Run, ...]:
    if isinstance(text, (str, Bold, Italic, Code, Ref, Link)):
        return (text,)
    return tuple(text)


# ------------------------------------------------------------------------------------ blocks
@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    """A paragraph of runs (plain strings, :class:`Bold`, :class:`Italic`, :class:`Code`,
    :class:`Ref`); strings print as typed."""

    text: Inline


@dataclass(frozen=True)
class Callout:
    """A boxed statement; ``kind`` is ``synthetic`` (prominent), ``warning`` or ``info``.

    A ``synthetic`` callout puts the synthetic-data banner on its page."""

    text: Inline
    kind: str = "info"


@dataclass(frozen=True)
class TableBlock:
    """A numbered table: a frame of printed strings (see :func:`table_from`), a caption and notes.

    ``label`` lets text refer to it (``Ref(label)``); ``source`` says where its numbers come from
    (one of :data:`SOURCES`) and is printed in the caption; ``synthetic`` sources put the banner
    on the page.
    """

    frame: pd.DataFrame
    caption: Inline
    notes: tuple[str, ...] = ()
    col_widths: tuple[float, ...] | None = None  # relative widths, renderer scales them
    label: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class FigureBlock:
    figure: Figure
    caption: Inline
    width: float = 1.0  # fraction of the text width
    label: str | None = None
    source: str | None = None


Block = Heading | Para | Callout | TableBlock | FigureBlock


@dataclass
class Section:
    """A top-level report section (a TOC entry)."""

    key: str
    title: str
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> Section:
        self.blocks.extend(blocks)
        return self


def table_from(
    obj: Result | pd.DataFrame,
    caption: Inline,
    *,
    digits: int = 4,
    columns: list[str] | None = None,
    notes: tuple[str, ...] = (),
    label: str | None = None,
    source: str | None = None,
    col_widths: tuple[float, ...] | None = None,
) -> TableBlock:
    """Typeset a result's ``to_frame()`` (or a DataFrame) as a report table with its notes.

    Column names become human labels with units (:data:`trial_analysis.results.COLUMN_LABELS`),
    numbers follow the decimals policy of :func:`trial_analysis.results.format_number` and
    :func:`~trial_analysis.results.format_p`.
    """
    if isinstance(obj, Result):
        frame, notes = obj.to_frame(), tuple(obj.notes) + tuple(notes)
    else:
        frame = obj
    if columns is not None:
        frame = frame[columns]
    return TableBlock(
        typeset_frame(frame.reset_index(drop=True), digits),
        caption,
        notes,
        col_widths=col_widths,
        label=label,
        source=source,
    )


# ---------------------------------------------------------------------- resolved document
@dataclass(frozen=True)
class Resolved:
    """What the renderers lay out: numbered sections and blocks, runs as ``(style, text,
    target)`` triples (``style`` in '', 'b', 'i', 'code', 'ref', 'url'; ``target`` the anchor of a
    reference or the checked http(s) address of a link)."""

    title: str
    subtitle: tuple[tuple[tuple[str, str, str], ...], ...]
    callouts: tuple[dict[str, Any], ...]
    sections: tuple[dict[str, Any], ...]
    footer: str
    synthetic: bool


def _check_len(text: str, what: str, limit: int = MAX_TEXT) -> str:
    if len(text) > limit:
        raise ReportError(
            f"{what} is {len(text):,} characters long; the report allows at most {limit:,} "
            f"(starts {text[:60]!r}). Shorten it in the data file."
        )
    return text


_SOURCE_WORDS = {
    "published": "published aggregates",
    "registry": "trial registry",
    "inferred": "inferred from published numbers",
    "assumed": "assumed values (reasons in the design file)",
    "synthetic": "SYNTHETIC cohort, not the trial's patients",
    "patient-level": "patient-level data",
    "reconstructed": "patients reconstructed from a digitised published curve (Guyot 2012), "
    "not the trial's patient-level data",
    "computed": "computed from published aggregates",
    "simulated": "trials simulated from the scenario file (published and assumed inputs)",
}


def source_phrase(source: str | None) -> str:
    """``Data: published aggregates.``; several sources joined by " and " are each named."""
    if not source:
        return ""
    parts = [_SOURCE_WORDS.get(x.strip(), x.strip()) for x in source.split(" and ")]
    return "Data: " + "; ".join(parts) + "."


def _plain(text: Inline) -> str:
    return "".join(
        r if isinstance(r, str) else str(getattr(r, "text", "") or "") for r in runs_of(text)
    )


def _is_synthetic(source: str | None) -> bool:
    return "synthetic" in [x.strip() for x in (source or "").split(" and ")]


def resolve(
    *,
    title: str,
    subtitle_lines: Sequence[Inline],
    title_callouts: Sequence[Callout],
    sections: Sequence[Section],
    footer: str,
    synthetic: bool,
) -> Resolved:
    """Number sections, tables and figures; resolve every :class:`Ref`; bound every text.

    Raises
    ------
    ReportError
        A reference to a section, table or figure the report does not contain, a duplicate
        label, or a text over :data:`MAX_TITLE` / :data:`MAX_TEXT` characters.
    """
    _check_len(title, "The report title", MAX_TITLE)
    anchors: dict[str, tuple[str, str]] = {}  # target -> (printed name, anchor)
    n_table = n_fig = 0
    for k, sec in enumerate(sections, start=1):
        _check_len(sec.title, f"Section title {sec.title[:40]!r}", MAX_TITLE)
        if sec.key in anchors:
            raise ReportError(f"two report sections have the key {sec.key!r}")
        anchors[sec.key] = (f"Section {k}", f"sec-{k}")
        for b in sec.blocks:
            if isinstance(b, TableBlock):
                n_table += 1
                name, anchor = f"Table {n_table}", f"tab-{n_table}"
            elif isinstance(b, FigureBlock):
                n_fig += 1
                name, anchor = f"Figure {n_fig}", f"fig-{n_fig}"
            else:
                continue
            if b.label:
                if b.label in anchors:
                    raise ReportError(f"two report blocks have the label {b.label!r}")
                anchors[b.label] = (name, anchor)

    def runs(text: Inline, where: str) -> tuple[tuple[str, str, str], ...]:
        out = []
        for r in runs_of(text):
            if isinstance(r, Ref):
                if r.target not in anchors:
                    raise ReportError(
                        f"{where} refers to {r.target!r}, which is not in this report "
                        f"(known: {', '.join(sorted(anchors))})"
                    )
                name, anchor = anchors[r.target]
                if r.text:
                    name = r.text + " " + name.split(" ", 1)[1]
                out.append(("ref", name, anchor))
                continue
            if isinstance(r, Link):
                shown = _check_len(str(r.text or r.url), where)
                if safe_url(r.url) and len(r.url) <= 2000:
                    out.append(("url", shown, r.url))
                else:
                    out.append(("", shown, ""))
                continue
            style = {Bold: "b", Italic: "i", Code: "code", str: ""}.get(type(r))
            if style is None:
                raise ReportError(f"{where}: unknown text run {type(r).__name__}")
            text_ = r if isinstance(r, str) else r.text
            text_ = _check_len(str(text_), where)
            out.append((style, text_ if style == "code" else typographic(text_), ""))
        return tuple(out)

    def _caption(b: TableBlock | FigureBlock, where: str) -> tuple[tuple[str, str, str], ...]:
        phrase = source_phrase(b.source)
        return runs(runs_of(b.caption) + ((" " + phrase,) if phrase else ()), where)

    def callout(c: Callout, where: str) -> dict[str, Any]:
        return {"type": "callout", "kind": c.kind, "runs": runs(c.text, where)}

    out_sections = []
    n_table = n_fig = 0
    for k, sec in enumerate(sections, start=1):
        where = f"Section {k} ({sec.title})"
        blocks: list[dict[str, Any]] = []
        for b in sec.blocks:
            if isinstance(b, Heading):
                _check_len(b.text, f"{where}: heading", MAX_TITLE)
                blocks.append({"type": "heading", "level": b.level, "text": typographic(b.text)})
            elif isinstance(b, Para):
                blocks.append({"type": "para", "runs": runs(b.text, where)})
            elif isinstance(b, Callout):
                blocks.append(callout(b, where))
            elif isinstance(b, TableBlock):
                n_table += 1
                caption = _caption(b, f"{where}: Table {n_table} caption")
                frame = b.frame
                header = [column_label(c) for c in frame.columns]
                body = [
                    [_check_len(format_cell(v), f"Table {n_table}, a cell") for v in row]
                    for row in frame.itertuples(index=False)
                ]
                blocks.append(
                    {
                        "type": "table",
                        "number": n_table,
                        "anchor": f"tab-{n_table}",
                        "caption": caption,
                        "header": header,
                        "rows": body,
                        "notes": [
                            typographic(_check_len(n, f"Table {n_table}, a note")) for n in b.notes
                        ],
                        "widths": list(b.col_widths) if b.col_widths else None,
                        "synthetic": _is_synthetic(b.source),
                    }
                )
            elif isinstance(b, FigureBlock):
                n_fig += 1
                if not b.source:
                    raise ReportError(
                        f"{where}: Figure {n_fig} ({_plain(b.caption)[:60]!r}) has no data "
                        f"source; give FigureBlock(source=...) one of {', '.join(SOURCES)}"
                    )
                caption = _caption(b, f"{where}: Figure {n_fig} caption")
                blocks.append(
                    {
                        "type": "figure",
                        "number": n_fig,
                        "anchor": f"fig-{n_fig}",
                        "caption": caption,
                        "figure": b.figure,
                        "source": b.source,
                        "width": float(b.width),
                        "synthetic": _is_synthetic(b.source),
                    }
                )
            else:
                raise ReportError(f"{where}: unknown report block {type(b).__name__}")
        out_sections.append(
            {
                "number": k,
                "key": sec.key,
                "anchor": f"sec-{k}",
                "title": typographic(sec.title),
                "blocks": blocks,
            }
        )
    return Resolved(
        title=typographic(title),
        subtitle=tuple(runs(line, "The title page") for line in subtitle_lines),
        callouts=tuple(callout(c, "The title page") for c in title_callouts),
        sections=tuple(out_sections),
        footer=_check_len(typographic(footer), "The footer", MAX_TITLE + 200),
        synthetic=synthetic,
    )
