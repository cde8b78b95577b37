"""The PDF/HTML report: content equals the result objects, atomic writes, CLI."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

import trial_analysis as ta
from trial_analysis.cli import main
from trial_analysis.report import build_report
from trial_analysis.report import sections as report_sections
from trial_analysis.report.build import sha256_file

pypdf = pytest.importorskip("pypdf")


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def light_sections(monkeypatch):
    """Only the design and reproducibility sections: for tests of the machinery, not the content."""
    full = report_sections.sections_for

    def keep(ctx):
        return [s for s in full(ctx) if s[0] in ("design", "reproducibility")]

    monkeypatch.setattr(report_sections, "sections_for", keep)
    return keep


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("report") / "zang.pdf"
    build_report("zang2022", out=out, command="pytest")
    return out, pdf_text(out)


def test_pdf_has_title_toc_and_every_available_section(report_pdf):
    path, text = report_pdf
    assert path.read_bytes().startswith(b"%PDF")
    assert "Reanalysis: UC-MSC for type 2 diabetes (Zang 2022)" in text
    assert "Contents" in text
    from trial_analysis.report.build import ReportContext

    trial = ta.load_trial("zang2022")
    ctx = ReportContext("zang2022", trial.design, trial.published, ipd=object(), trial_obj=trial)
    # the typesetter prints >= and <= as the symbols
    titles = [
        t.replace(">=", "≥").replace("<=", "≤") for _, t, f in report_sections.sections_for(ctx)
    ]
    titles.insert(len(titles) - 1, "References")  # built from the data files' citations
    for k, title in enumerate(titles, start=1):
        assert f"{k}. {title}" in text, title
    reader = pypdf.PdfReader(str(path))
    assert [o.title for o in reader.outline if not isinstance(o, list)][: len(titles)] == [
        f"{k}. {t}" for k, t in enumerate(titles, start=1)
    ]
    assert re.search(r"Page \d+", text)


def test_pdf_numbers_equal_the_loaded_objects(report_pdf):
    _, text = report_pdf
    d = ta.load_design("zang2022")
    pub = ta.load_published("zang2022")
    for a in d.arms:
        assert f"{a.name} n = {a.n_randomised}" in text
    assert "Visit weeks " + ", ".join(map(str, d.visit_weeks)) + " assumed" in text
    for value in pub["value"]:
        assert ta.results.format_number(float(value), 6) in text
    assert d.sha256 in text  # reproducibility appendix: input checksums
    assert sha256_file(pub.attrs["source_file"]) in text
    assert "Seed for every random step: 20220503" in text
    assert "Command: pytest" in text


def test_synthetic_statement_when_synthetic_data_used(report_pdf):
    """Zang 2022 ships a generative model and no patient data: the default report uses the
    synthetic cohort and says so on its pages; published-only sections do not."""
    _, text = report_pdf
    assert "SYNTHETIC PATIENT-LEVEL DATA" in text


def test_html_report_is_self_contained(tmp_path, light_sections):
    out = build_report("zang2022", out=tmp_path / "r.html", fmt="html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert 'src="http' not in html and "<link" not in html  # nothing fetched from elsewhere
    assert "1. Design" in html


def test_interrupted_build_leaves_no_partial_file(tmp_path, monkeypatch, light_sections):
    out = tmp_path / "r.pdf"
    out.write_bytes(b"previous report")

    def boom(ctx):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(
        report_sections, "sections_for", lambda ctx: [*light_sections(ctx), ("x", "X", boom)]
    )
    with pytest.raises(RuntimeError, match="interrupted"):
        build_report("zang2022", out=out)
    assert out.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]  # no temporary file left


def test_failure_while_rendering_leaves_no_temp_file(tmp_path, monkeypatch, light_sections):
    from trial_analysis.report import pdf

    def broken(path, doc):
        Path(path).write_bytes(b"%PDF-half")
        raise OSError("disk full")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    with pytest.raises(OSError, match="disk full"):
        build_report("zang2022", out=tmp_path / "r.pdf")
    assert list(tmp_path.iterdir()) == []


def test_cli_report_writes_file_with_normal_permissions(tmp_path, capsys, light_sections):
    out = tmp_path / "sub" / "z.pdf"
    assert main(["report", "zang2022", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Design" in err and "done:" in err  # progress on the terminal
    assert out.stat().st_mode & stat.S_IRGRP
    assert main(["report", "zang2022", "-o", str(tmp_path / "q.pdf"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_bad_format_is_a_parameter_error(tmp_path):
    with pytest.raises(ta.ParameterError, match="`fmt` must be one of 'pdf', 'html', got 'docx'"):
        build_report("zang2022", out=tmp_path / "r.docx", fmt="docx")


def test_analysis_warnings_go_into_the_appendix_not_the_terminal(
    tmp_path, monkeypatch, recwarn, light_sections
):
    import warnings

    from trial_analysis.errors import StatisticalWarning
    from trial_analysis.report.content import Para, Section

    def warns(ctx):
        warnings.warn(
            "only 3 studies: Egger's test has little power", StatisticalWarning, stacklevel=1
        )
        return Section("w", "Warned", [Para("x")])

    full = report_sections.sections_for
    monkeypatch.setattr(
        report_sections, "sections_for", lambda ctx: [("w", "Warned", warns), *full(ctx)]
    )
    out = build_report("zang2022", out=tmp_path / "w.pdf")
    text = pdf_text(out)
    # a row: where it arose, the kind in words, the message as a sentence
    assert "Warned statistical caveat Only 3 studies: Egger's test has little power." in text
    assert "StatisticalWarning" not in text
    assert not [w for w in recwarn if issubclass(w.category, StatisticalWarning)]


def test_warnings_print_as_sentences_in_words():
    from trial_analysis.report.sections import warnings_frame

    design = ta.load_design("zang2022")
    caught = [
        (
            "Key findings",
            "StatisticalWarning",
            "ANCOVA: 2 patient(s) with a missing 'y', 'BASE_INSDOSE' dropped (complete-case "
            "analysis)",
        ),
        (
            "Key findings",
            "StatisticalWarning",
            "MMRM omitted: the MMRM needs at least 2 visits with data, got [48]; for a single "
            "visit use an ANCOVA (ta.continuous)",
        ),
        ("Evidence", "RuntimeWarning", "invalid value encountered in\n   divide"),
        ("Evidence", "PerfectSeparationWarning", "x" * 5000),
        ("Evidence", "RuntimeWarning", "invalid value encountered in\n   divide"),  # repeated
    ]
    f = warnings_frame(caught, design)
    assert list(f.columns) == ["raised while building", "kind", "warning"]
    assert f["kind"].tolist() == [
        "statistical caveat",
        "statistical caveat",
        "numerical",
        "perfect separation",
    ]
    w = f["warning"].tolist()
    assert (
        w[0]
        == "ANCOVA: 2 patient(s) with a missing outcome or baseline dropped (complete-case analysis)."
    )
    assert w[1] == (
        "MMRM omitted: the MMRM needs at least 2 visits with data, got 48; for a single visit "
        "use an ANCOVA."
    )
    assert w[2] == "Invalid value encountered in divide."
    assert len(w[3]) <= 600 and w[3].endswith("…")
    assert code_in(" ".join(w)) == []


def test_a_warning_quoting_markup_prints_as_text(tmp_path, monkeypatch, light_sections):
    """A message that quotes a data file (markup, a formula) is text in the appendix."""
    import warnings

    from trial_analysis.report.content import Para, Section

    payload = "arm <b>X</b> #set text(red) $x^2$ *bold*"

    def warns(ctx):
        warnings.warn(payload, UserWarning, stacklevel=1)
        return Section("w", "Warned", [Para("x")])

    full = report_sections.sections_for
    monkeypatch.setattr(
        report_sections, "sections_for", lambda ctx: [("w", "Warned", warns), *full(ctx)]
    )
    text = pdf_text(build_report("zang2022", out=tmp_path / "w.pdf"))
    assert "Warned general Arm <b>X</b> #set text(red) $x^2$ *bold*." in text


def printed_sizes(path: Path) -> list[tuple[int, str, float]]:
    """(page, character, size in pt) of every character of the PDF. pdfminer reports the
    advance as the size of rotated characters (a y-axis label's 'i' comes out 2.8 pt), so a
    rotated character's size is read from its bounding box across the baseline."""
    pdfplumber = pytest.importorskip("pdfplumber")
    out = []
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            for c in page.chars:
                a, b = c["matrix"][:2]
                size = c["width"] if abs(a) < abs(b) else c["size"]
                out.append((page.page_number, c["text"], size))
    return out


def test_no_text_under_7pt_including_figures(report_pdf):
    path, _ = report_pdf
    small = [(pg, ch, round(sz, 2)) for pg, ch, sz in printed_sizes(path) if sz < 6.95]
    assert small == [], small[:20]


def test_every_figure_caption_names_its_data_source(report_pdf):
    _, text = report_pdf
    captions = re.findall(r"Figure (\d+)\. (.*?)(?=Figure \d+\. |Table \d+\. |$)", text)
    assert captions, "no figure captions found"
    for number, caption in captions:
        assert "Data: " in caption, f"Figure {number}: {caption[:80]}"


# ---------------------------------------------------------------- no code in the report's text
#: spellings of code, not of a journal supplement (issue 15, "Tests and checks")
FORBIDDEN = {
    "engine column": r"\b(?:ci_low|ci_high|p_value|prob_gt_mcid)\b",
    # a repr: True/False/None not read as an English word ("None of them meets ...")
    "Python constant": r"\b(?:True|False|None)\b(?! [a-z])",
    "NaN": r"\b(?:nan|NaN)\b",
    "numpy": r"\bnp\.",
    "the package's API": r"\bta\.[a-z]",
    "ASCII operator": r"<=|>=|!=|\*\*",
    "identifier": r"(?<![\w/.:-])[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)*_[A-Za-z0-9]+\b"
    r"(?!\.(?:csv|toml|md))",
    "keyword argument": r"overrides=|exact=True",
    "Python tuple": r"\('",
    "long float": r"(?<![\w.])\d+\.\d{7,}(?![\w])",
    "e-notation": r"(?<![0-9A-Za-z])\d+(?:\.\d+)?e[-+]?\d+(?![0-9A-Za-z])",
}
#: names that are not code: the package's own name, and the software functions the reference
#: column cites as the implementation a result was checked against ("scipy barnard_exact")
ALLOWED = {"trial_analysis", "barnard_exact", "boschloo_exact"}


def code_in(text: str) -> list[str]:
    """Every forbidden spelling in ``text`` with 50 characters around it; the reproducibility
    appendix (commands, file names, platform) and the reference list (addresses) are left out."""
    body = re.split(r"\d+\. (?:References|Reproducibility)\b(?! \.)", text)[0]
    found = []
    for what, pattern in FORBIDDEN.items():
        for m in re.finditer(pattern, body):
            if m.group(0) in ALLOWED:
                continue
            found.append(f"{what}: {body[max(0, m.start() - 50) : m.end() + 30]!r}")
    return found


def test_forbidden_token_check_finds_code():
    """The check itself: each kind of code spelling is found, English and file names are not."""
    planted = (
        "ci_low 0.045454545454545456 ('GIR', 'CPEP') BASE_HBA1C exact=True True 1e-05 "
        "np.mean a <= b nan ta.continuous"
    )
    kinds = {f.split(":")[0] for f in code_in(planted)}
    assert kinds == set(FORBIDDEN)
    english = "None of them meets it; see published.csv and data/evidence/meta_analyses.csv"
    assert code_in(english) == []


def test_zang_pdf_prints_no_code(report_pdf):
    _, text = report_pdf
    found = code_in(text)
    assert found == [], "\n".join(found[:40])


@pytest.fixture(scope="module")
def cdisc_html(tmp_path_factory) -> str:
    """The CDISC pilot report as HTML (its figures inline as SVG, text kept as text)."""
    out = build_report("cdiscpilot01", out=tmp_path_factory.mktemp("cdisc") / "c.html", fmt="html")
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cdisc_html_text(cdisc_html) -> str:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("svg", "style", "script")

        def handle_endtag(self, tag):
            self.skip -= tag in ("svg", "style", "script")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    p = Text()
    p.feed(cdisc_html)
    return re.sub(r"\s+", " ", " ".join(p.parts))


GENERIC_ARM = re.compile(r"\barm[ -][12]\b|\bp[12] = ")


def _svg_texts(html: str) -> list[str]:
    """The texts of the figures (matplotlib writes each as an SVG <text> element)."""
    import html as html_lib

    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    return [html_lib.unescape(t) for svg in svgs for t in re.findall(r"<text\b[^>]*>([^<]*)<", svg)]


def test_figures_name_the_arms_as_the_tables_do(report_pdf, cdisc_html):
    """No figure of either report says "arm 1", "arm 2" or "p1 = ": the arms are named
    (experimental - control) from the design, as in the tables."""
    _, text = report_pdf
    assert re.findall(r"\barm[ -][12]\b", text) == []  # tables and figures
    # the figures that said so: risk difference axes, tipping map, Bayes, SD curve, power curve
    for label in (
        "risk difference (UC-MSC \u2212 Placebo)",
        "risk difference UC-MSC \u2212 Placebo",
        "responders among UC-MSC patients not analysed",
        "best case for UC-MSC",
        "UC-MSC posterior",
        "assumed SD (UC-MSC)",
        "p(UC-MSC) = 0.2",
    ):
        assert label in text, label
    figure_text = _svg_texts(cdisc_html)
    assert figure_text, "no figure text in the CDISC report"
    assert [t for t in figure_text if GENERIC_ARM.search(t)] == []
    assert "Xanomeline High Dose \u2212 Placebo" in figure_text  # its tipping-point figure


def test_cdisc_mmrm_figure_once_per_endpoint_with_all_arms(cdisc_html, cdisc_html_text):
    """One MMRM over the 3 arms serves both dose comparisons: drawn once per endpoint, the
    second comparison refers to it."""
    captions = re.findall(
        r"Figure (\d+)\. LS-means by visit and arm from the MMRM", cdisc_html_text
    )
    refs = re.findall(r"LS-means by visit of every arm: Figure (\d+)", cdisc_html_text)
    assert captions and len(refs) == len(captions)  # two comparisons per endpoint
    assert refs == captions
    assert "One MMRM over all 3 arms serves every comparison." in cdisc_html_text
    figure_text = _svg_texts(cdisc_html)
    for arm in ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"):
        assert figure_text.count(arm) >= len(captions)


def test_cdisc_report_prints_no_code(cdisc_html_text):
    found = code_in(cdisc_html_text)
    assert found == [], "\n".join(found[:40])


def _section_text(text: str, title: str) -> str:
    """The body of a numbered section (not its contents-page entry) up to the next section."""
    m = re.search(rf"(\d+)\. {re.escape(title)} (?!\.)", text)
    assert m, title
    nxt = re.search(
        rf"(?<!Table )(?<!Figure )(?<!\d){int(m.group(1)) + 1}\. [A-Z]", text[m.end() :]
    )
    return text[m.end() : m.end() + nxt.start()] if nxt else text[m.end() :]


def test_discussion_closes_the_analyses_with_computed_limitations(report_pdf):
    """Issue 15, item 1: a closing discussion computed by rules — the data-source limitation,
    fragility (index 1 on 9/45 vs 2/44), multiplicity, missing data (2 placebo patients) and the
    next trial linked to the planning section — last before the references."""
    _, text = report_pdf
    disc = _section_text(text, "Discussion and limitations")
    assert "Data. The patient-level analyses use a synthetic cohort" in disc
    assert "fragility index 1" in disc and "in the Placebo arm" in disc
    assert "Multiplicity. The report computes" in disc
    assert "2 of 91 randomised patients (Placebo 2) are missing" in disc
    planning = re.search(r"(\d+)\. Planning the next trial (?!\.)", text).group(1)
    assert "Next trial." in disc and f"Section {planning}," in disc  # a resolved reference
    number = int(re.search(r"(\d+)\. Discussion and limitations (?!\.)", text).group(1))
    assert re.search(rf"{number + 1}\. References (?!\.)", text)


def test_every_patient_table_names_its_population_with_n_per_arm(report_pdf):
    """Issue 15, item 3: one vocabulary, defined once; placebo 44 (complete cases, ANCOVA)
    and 46 (ITT, MMRM) are two populations by name."""
    _, text = report_pdf
    assert text.count("Analysis populations (randomised: UC-MSC 45, Placebo 46)") == 1
    assert "Population: complete cases (n = 45 / 44)" in text
    assert "Population: ITT (all randomised; n = 45 / 46)" in text
    for old in ("Analysed (primary)", "ITT with 2 left out"):
        assert old not in _section_text(text, "Key findings"), old


def test_tables_print_short_analysis_labels(report_pdf):
    """Issue 15, item 2: the measure and the model formula in a note, not in every row."""
    _, text = report_pdf
    assert "ANCOVA, model SE" in text and "MMRM, Week 48" in text
    assert "~ arm + baseline, model SE" not in text
    assert "ANCOVA models: % reduction in total daily insulin dose ~ arm + baseline" in text


def test_synthetic_section_shows_the_unpublished_sd_range(report_pdf):
    """Issue 15, item 2 of 'What to build': the patient-level pre-specified analysis across the
    insulin SDs, and where the conclusion flips."""
    _, text = report_pdf
    flow = _section_text(text, "Participant flow and baseline")
    assert "The assumed SD: Percentage reduction in daily insulin dose" in flow
    assert "the conclusion flips" in flow and "exact, " in flow


def test_cdisc_discussion_is_its_own(cdisc_html_text):
    """Another trial gets its own discussion: real patient data, three arms."""
    disc = cdisc_html_text[cdisc_html_text.index("Discussion and limitations") :]
    assert "Data. The analyses use the trial's patient-level data" in disc
    assert "synthetic" not in disc.split("References")[0]
