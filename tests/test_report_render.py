"""The report renderers: text from data files prints as typed in the PDF and the HTML (no
markup, no script, no links but checked http(s) ones), cross-references and text bounds are
checked with clear errors, and the reproducibility block is complete.

The PDF is read back with pdfplumber (characters and link annotations); the HTML with the
standard library's parser (elements, attributes and text nodes)."""

from __future__ import annotations

import re
import shutil
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from trial_analysis.errors import ReportError, TrialAnalysisError
from trial_analysis.report import build_report
from trial_analysis.report import sections as report_sections
from trial_analysis.report.content import (
    Bold,
    Callout,
    Code,
    FigureBlock,
    Heading,
    Italic,
    Link,
    Para,
    Ref,
    Section,
    TableBlock,
    resolve,
)
from trial_analysis.report.html import render_html
from trial_analysis.report.pdf import render_pdf

pdfplumber = pytest.importorskip("pdfplumber")

LONG_WORD = "Pneumono" + "ultramicroscopic" * 12 + "silicovolcanoconiosis"  # 221 letters
# Each is markup in Typst (#, $, *, _, <label>, @ref, //, \), in HTML (<script>, <img>, &) or
# in reportlab (<font>); each must print exactly as typed.
PAYLOADS = [
    "#set text(size: 60pt) #pagebreak()",
    "$x^2 + y$ and *not bold* and _not italic_",
    "<fig-1> @fig-1 @sec-1 // not a comment \\ backslash",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "R&D &amp; <font size=60>big</font>",
    LONG_WORD,
]


def _squash(text: str) -> str:
    """Text without any whitespace: a long word may be broken across lines, a payload across
    table-cell lines, and extraction puts spaces where the layout had gaps. Soft hyphens
    (U+00AD, where Typst hyphenated a word) and zero-width spaces (U+200B, the break
    opportunities pdf.py puts inside words of 30 characters or more) go too."""
    return re.sub(r"[\s\xad\u200b]+", "", text)


def pdf_chars_text(path: Path, body_only: bool = False) -> str:
    """The PDF's text; ``body_only`` leaves out the page header and footer (14 mm bands), so a
    word hyphenated across a page break reads as one word."""
    band = 14 / 25.4 * 72
    with pdfplumber.open(str(path)) as pdf:
        pages = pdf.pages
        if body_only:
            pages = [p.crop((0, band, p.width, p.height - band)) for p in pages]
        return "\n".join(page.extract_text() or "" for page in pages)


def pdf_links(path: Path) -> list[str]:
    with pdfplumber.open(str(path)) as pdf:
        return [h.get("uri") or "" for page in pdf.pages for h in page.hyperlinks]


class _Html(HTMLParser):
    """Elements, attributes and the text of an HTML page (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag in ("style", "svg"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "svg"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse_html(path: Path) -> _Html:
    p = _Html()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def assert_html_is_inert(page: _Html) -> None:
    """No element or attribute that runs or fetches anything: payloads became text."""
    assert "script" not in page.tags and "img" not in page.tags and "font" not in page.tags
    assert not [a for a, _ in page.attrs if a.startswith("on")]
    hrefs = [v or "" for a, v in page.attrs if a == "href"]
    assert all(h.startswith(("#", "https://", "http://")) for h in hrefs), hrefs


# ------------------------------------------------------------------ the content model directly
def _small_figure() -> Figure:
    fig = Figure(figsize=(4, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("Week")
    return fig


def _document(payload: str, **kw):
    sec = Section("s", payload[:300]).add(
        Heading(payload[:300]),
        Para((payload, " ", Bold(payload), " ", Italic(payload), " ", Code(payload))),
        Para(("See ", Ref("t"), " and ", Ref("f"), ".", " ", Link("javascript:alert(1)", payload))),
        Callout(payload, "warning"),
        TableBlock(
            __import__("pandas").DataFrame({payload[:40]: [payload, 1.5], "n": [1, 2]}),
            payload,
            notes=(payload,),
            label="t",
            source="published",
        ),
        FigureBlock(_small_figure(), payload, width=0.5, label="f", source="synthetic"),
    )
    return resolve(
        title=payload[:300],
        subtitle_lines=[payload],
        title_callouts=[Callout(payload)],
        sections=[sec],
        footer=payload[:300],
        synthetic=True,
        **kw,
    )


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_markup_in_text_prints_literally_in_pdf_and_html(tmp_path, payload):
    doc = _document(payload)
    render_pdf(tmp_path / "r.pdf", doc)
    render_html(tmp_path / "r.html", doc)

    text = _squash(pdf_chars_text(tmp_path / "r.pdf", body_only=True))
    # title, subtitle, title callout, contents entry, section title, heading, four runs, link
    # text, callout, caption, cell, note, figure caption
    assert text.count(_squash(payload)) >= 14, payload
    assert "Table1" in text and "Figure1" in text  # the references resolved, not the payload
    assert all(u.startswith(("https://", "http://")) for u in pdf_links(tmp_path / "r.pdf") if u)

    page = parse_html(tmp_path / "r.html")
    assert_html_is_inert(page)
    html_text = _squash("".join(page.text))
    assert html_text.count(_squash(payload)) >= 14, payload


def test_pdf_keeps_a_payload_from_restyling_text(tmp_path):
    """`#set text(size: 60pt)` and `<font size=60>` leave every character at the template's size."""
    doc = _document(PAYLOADS[0] + " " + PAYLOADS[5])
    render_pdf(tmp_path / "r.pdf", doc)
    with pdfplumber.open(str(tmp_path / "r.pdf")) as pdf:
        sizes = {round(c["size"], 1) for p in pdf.pages for c in p.chars}
        n_pages = len(pdf.pages)
    assert max(sizes) <= 20.5  # the title's 20 pt is the largest text the template sets
    assert n_pages <= 4  # no `#pagebreak()` ran: title page, contents, one section


def test_only_http_links_become_links(tmp_path):
    sec = Section("s", "Links").add(
        Para(
            (
                Link("https://example.org/a?b=1", "good"),
                " ",
                Link("javascript:alert(1)", "js"),
                " ",
                Link("file:///etc/passwd", "file"),
                " ",
                Link("https://example.org/x\" onmouseover='alert(1)", "quote"),
            )
        )
    )
    doc = resolve(
        title="t", subtitle_lines=[], title_callouts=[], sections=[sec], footer="f", synthetic=False
    )
    render_pdf(tmp_path / "r.pdf", doc)
    render_html(tmp_path / "r.html", doc)
    assert pdf_links(tmp_path / "r.pdf") == ["https://example.org/a?b=1"]
    page = parse_html(tmp_path / "r.html")
    assert_html_is_inert(page)
    assert [v for a, v in page.attrs if a == "href" and not v.startswith("#")] == [
        "https://example.org/a?b=1"
    ]
    text = "".join(page.text)
    assert "js" in text and "file" in text and "quote" in text


# ------------------------------------------------------------------ checked cross-references
def _one_section(*blocks, key="s"):
    return resolve(
        title="t",
        subtitle_lines=[],
        title_callouts=[],
        sections=[Section(key, "S").add(*blocks)],
        footer="f",
        synthetic=False,
    )


def test_dangling_cross_reference_is_a_report_error():
    with pytest.raises(ReportError, match=r"refers to 'tab-x', which is not in this report") as e:
        _one_section(Para(("see ", Ref("tab-x"))))
    assert isinstance(e.value, TrialAnalysisError)
    assert "known: s" in str(e.value) and "Section 1 (S)" in str(e.value)


def test_duplicate_labels_are_report_errors():
    import pandas as pd

    t = TableBlock(pd.DataFrame({"a": [1]}), "c", label="x")
    with pytest.raises(ReportError, match="two report blocks have the label 'x'"):
        _one_section(t, t)
    with pytest.raises(ReportError, match="two report sections have the key 's'"):
        resolve(
            title="t",
            subtitle_lines=[],
            title_callouts=[],
            sections=[Section("s", "A"), Section("s", "B")],
            footer="f",
            synthetic=False,
        )


def test_cross_references_number_in_order_of_appearance():
    import pandas as pd

    doc = resolve(
        title="t",
        subtitle_lines=[],
        title_callouts=[],
        sections=[
            Section("a", "A").add(TableBlock(pd.DataFrame({"a": [1]}), "c", label="t1")),
            Section("b", "B").add(
                Para((Ref("a"), ", ", Ref("t2"), ", ", Ref("t1", "Tables"))),
                TableBlock(pd.DataFrame({"a": [1]}), "c", label="t2"),
            ),
        ],
        footer="f",
        synthetic=False,
    )
    runs = doc.sections[1]["blocks"][0]["runs"]
    assert [r for r in runs if r[0] == "ref"] == [
        ("ref", "Section 1", "sec-1"),
        ("ref", "Table 2", "tab-2"),
        ("ref", "Tables 1", "tab-1"),
    ]


# --------------------------------------------------------------------------- bounds on text
def test_text_over_its_bound_is_a_report_error_before_layout():
    from trial_analysis.report.content import MAX_TEXT, MAX_TITLE

    with pytest.raises(
        ReportError, match=r"The report title is 200,000 characters long; the report"
    ):
        resolve(
            title="x" * 200_000,
            subtitle_lines=[],
            title_callouts=[],
            sections=[],
            footer="f",
            synthetic=False,
        )
    with pytest.raises(ReportError, match=f"at most {MAX_TEXT:,}"):
        _one_section(Para("y" * (MAX_TEXT + 1)))
    with pytest.raises(ReportError, match=f"at most {MAX_TITLE:,}"):
        _one_section(Heading("z" * (MAX_TITLE + 1)))


# ------------------------------------------------------------- planted in a trial's data files
@pytest.fixture
def light_sections(monkeypatch):
    full = report_sections.sections_for

    def keep(ctx):
        return [s for s in full(ctx) if s[0] in ("design", "reproducibility")]

    monkeypatch.setattr(report_sections, "sections_for", keep)


PLANT = "<script>alert(1)</script> #set text(size: 60pt) $x$ *b* @sec-1 R&D"


@pytest.fixture
def planted_trial(tmp_path):
    """A copy of the shipped trial with the payload in every text field the design and
    reproducibility sections and the reference list print."""
    import trial_analysis as ta

    src = Path(ta.load_design("zang2022").source_file).parent
    dst = tmp_path / "planted"
    shutil.copytree(src, dst)
    text = (dst / "design.toml").read_text(encoding="utf-8")
    for key in ("short_title", "citation", "design", "phase", "period"):
        text = re.sub(rf'(?m)^{key} = ".*"$', f'{key} = "{key}: {PLANT}"', text, count=1)
    text = text.replace('unit = "cells/kg"', f'unit = "cells/kg {PLANT}"', 1)
    text = text.replace('route = "intravenous"', f'route = "iv {PLANT}"', 1)
    reasons = re.findall(r'(?m)^reason = "(.*)"$', text)
    assert reasons, "the design file has provenance reasons to plant into"
    text = re.sub(r'(?m)^reason = "(.*)"$', rf'reason = "\1 {PLANT}"', text)
    (dst / "design.toml").write_text(text, encoding="utf-8")
    tomllib.loads(text)  # still valid TOML
    return dst


@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_payload_planted_in_the_design_file_prints_as_text(
    tmp_path, planted_trial, fmt, light_sections
):
    out = build_report(str(planted_trial), out=tmp_path / f"r.{fmt}", fmt=fmt, command="pytest")
    plant = _squash(PLANT)
    if fmt == "pdf":
        text = _squash(pdf_chars_text(out))
        links = pdf_links(out)
        assert all(u.startswith(("https://", "http://")) for u in links if u)
    else:
        page = parse_html(out)
        assert_html_is_inert(page)
        text = _squash("".join(page.text))
    for key in ("short_title", "citation", "design", "phase", "period"):
        if key in ("short_title", "citation"):
            assert _squash(f"{key}: ") + plant in text, key
    assert text.count(plant) >= 8  # title, citation, design, phase, period, unit, route, reasons


def test_html_output_path_with_markup_is_escaped(tmp_path, light_sections):
    out = tmp_path / "<svg onload=alert(1)>.html"
    build_report("zang2022", out=out, fmt="html", command=f"trial-analysis report -o '{out}'")
    page = parse_html(out)
    assert_html_is_inert(page)
    assert "<svg onload=alert(1)>.html" in "".join(page.text)


# ------------------------------------------------------------------ reproducibility block
def test_reproducibility_block_has_versions_seed_and_relative_checksums(tmp_path, light_sections):
    import importlib.metadata as md

    import trial_analysis as ta
    from trial_analysis.report.build import sha256_file

    out = build_report("zang2022", out=tmp_path / "r.pdf", seed=12345, command="pytest -k repro")
    text = re.sub(r"\s+", " ", pdf_chars_text(out))
    assert "Seed for every random step: 12345" in text
    assert "Command: pytest -k repro" in text
    for pkg in ("numpy", "scipy", "pandas", "typst"):
        assert md.version(pkg) in text, pkg
    d = ta.load_design("zang2022")
    pub = ta.load_published("zang2022")
    for path, rel in (
        (d.source_file, "data/zang2022/design.toml"),
        (pub.attrs["source_file"], "data/zang2022/published.csv"),
    ):
        assert sha256_file(path) in text  # whole: a checksum copies exactly
        assert rel in text
    assert str(Path(d.source_file).resolve().parent.parent) not in text  # no absolute path
