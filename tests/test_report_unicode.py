"""Full Unicode in the PDF (issue 20): Chinese (and Japanese, Korean) text from a trial's own
design.toml and published.csv prints with the Noto Sans CJK font the install brings
(``cvttf-notosanscjk-regular``, SIL OFL); emoji, which no embedded font covers, are kept in
the text layer and drawn with Typst's Last Resort placeholder glyph (docs/report.md).

Read back with pdfplumber: the characters are there, in the CJK font (not dropped, not the
``.notdef`` box of a font without them).
"""

from __future__ import annotations

import re
import shutil

import pdfplumber
import pytest

from trial_analysis._paths import trial_dir
from trial_analysis.report import sections as report_sections
from trial_analysis.report.build import build_report

TITLE = "脐带间充质干细胞治疗2型糖尿病的疗效与安全性"
SHORT = "干细胞治疗糖尿病（臧 2022）"
PLACEBO = "安慰剂"
OTHER = "한국어 日本語かな"
EMOJI = "🧪"


@pytest.fixture
def chinese_trial(tmp_path, monkeypatch):
    full = report_sections.sections_for
    monkeypatch.setattr(
        report_sections,
        "sections_for",
        lambda ctx: [s for s in full(ctx) if s[0] in ("design", "reproducibility")],
    )
    dst = tmp_path / "chinese"
    dst.mkdir()
    for f in ("design.toml", "published.csv"):
        shutil.copy(trial_dir("zang2022") / f, dst / f)
    text = (dst / "design.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^title = ".*"$', f'title = "{TITLE}"', text, count=1)
    text = re.sub(
        r'(?m)^short_title = ".*"$', f'short_title = "{SHORT} {OTHER} {EMOJI}"', text, count=1
    )
    assert 'name = "Placebo"' in text
    text = text.replace('name = "Placebo"', f'name = "{PLACEBO}"')
    (dst / "design.toml").write_text(text, encoding="utf-8")
    pub = (dst / "published.csv").read_text(encoding="utf-8")
    assert ",Placebo," in pub
    (dst / "published.csv").write_text(pub.replace(",Placebo,", f",{PLACEBO},"), encoding="utf-8")
    return dst


def test_chinese_title_and_arm_name_print_in_the_pdf(tmp_path, chinese_trial):
    out = build_report(str(chinese_trial), out=tmp_path / "r.pdf", fmt="pdf", command="pytest")
    with pdfplumber.open(str(out)) as pdf:
        chars = [c for page in pdf.pages for c in page.chars]
        text = "".join(page.extract_text() or "" for page in pdf.pages)
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", SHORT) in flat  # the report title (short title)
    assert PLACEBO in flat  # the arm, in the design section's tables
    for word in OTHER.split():
        assert word in flat
    cjk = [
        c for c in chars if "\u3040" <= c["text"] <= "\u9fff" or "\uac00" <= c["text"] <= "\ud7a3"
    ]
    assert len(cjk) >= len(SHORT) + 2 * len(PLACEBO)
    assert {c["fontname"].split("+")[-1] for c in cjk} == {"NotoSansCJKtc-Regular"}
    # emoji: no embedded font has them; kept in the text, drawn with the placeholder font
    emoji = [c for c in chars if c["text"] == EMOJI]
    assert emoji, "the emoji was dropped"
    assert {c["fontname"].split("+")[-1] for c in emoji} == {"LastResortHE-Regular"}


def test_chinese_and_emoji_in_a_figure(tmp_path):
    """Figures: matplotlib falls back to Noto Sans CJK for the characters DejaVu Sans lacks
    (no "Glyph missing" warning for them, text measured in the right font); an emoji, which
    no font has, becomes "□" in the SVG so that Typst still prints the rest of the label
    (it draws a whole run holding an unknown glyph as Last Resort boxes). In the PDF the
    figure's text is text, in DejaVu Sans and Noto Sans CJK."""
    import io
    import warnings

    import matplotlib
    import typst

    from trial_analysis._figures import CJK_FONT, FONT, TrialFigure
    from trial_analysis.report.pdf import figure_svg, font_paths

    matplotlib.use("Agg")
    fig = TrialFigure(figsize=(4, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label=f"{PLACEBO} placebo {EMOJI}")
    ax.set_title(f"{SHORT} R&D <x>")
    ax.set_xticks([0, 1], [PLACEBO, "UC-MSC"])
    ax.legend()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = figure_svg(fig, 0.5, source="test").decode("utf-8")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert all("TEST TUBE" in m for m in missing), missing  # only the emoji lacks a glyph
    assert f"font-family: '{FONT}', '{CJK_FONT}'" in svg
    assert f">{PLACEBO} placebo □<" in svg and EMOJI not in svg
    assert f">{SHORT} R&amp;D &lt;x&gt;<" in svg  # the SVG writer escapes; Typst unescapes
    (tmp_path / "f.svg").write_text(svg, encoding="utf-8")
    (tmp_path / "t.typ").write_text('#image("f.svg", width: 100%)\n', encoding="utf-8")
    pdf = typst.compile(
        str(tmp_path / "t.typ"),
        root=str(tmp_path),
        font_paths=font_paths(),
        ignore_system_fonts=True,
    )
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        flat = re.sub(r"\s+", "", page.extract_text())
        fonts = {c["fontname"].split("+")[-1] for c in page.chars}
    assert f"{PLACEBO}placebo□" in flat and re.sub(r"\s+", "", f"{SHORT}R&D<x>") in flat
    assert fonts == {"DejaVuSans", "NotoSansCJKtc-Regular"}
