"""Timing of the main job: the Zang 2022 PDF report, the HTML report, and the notebooks.

Run: ``.venv/bin/python benchmarks/report.py [--no-notebooks]`` from a warm venv. Prints
figures; asserts nothing. Goals (issue "Notebooks and PDF report"): report under 30 s, all
notebooks under 2 minutes, on 2 cores.

Each command runs in a fresh process, as a user runs it (so import time counts). The baseline
printed beside the report is the bare import of the package plus the synthetic cohort, i.e.
what every run pays before any analysis; the rest is analyses and rendering.

``--stages`` times the stages of one PDF build in this process (each section's analyses, the
figures drawn as SVG, the Typst compilation) and, as the peer, typesets the same resolved
document without its figures both with Typst and with reportlab (platypus: escaped
paragraphs, tables, a two-pass table of contents, as the report's reportlab renderer did before
Typst replaced it), in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _reportlab(path: str, doc) -> None:
    """The resolved document without figures, typeset with reportlab platypus (the peer)."""
    from html import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, Table, TableStyle
    from reportlab.platypus.doctemplate import SimpleDocTemplate
    from reportlab.platypus.tableofcontents import TableOfContents

    st = getSampleStyleSheet()
    cell = st["BodyText"].clone("cell", fontSize=7.5, leading=9)

    def text(runs) -> str:
        out = []
        for style, t, _ in runs:
            t = escape(t)
            out.append(f"<b>{t}</b>" if style == "b" else f"<i>{t}</i>" if style == "i" else t)
        return "".join(out)

    class Doc(SimpleDocTemplate):
        def afterFlowable(self, f):
            if isinstance(f, Paragraph) and f.style.name == "Heading1":
                self.notify("TOCEntry", (0, f.getPlainText(), self.page))

    toc = TableOfContents()
    story = [Paragraph(escape(doc.title), st["Title"]), PageBreak(), toc, PageBreak()]
    for s in doc.sections:
        story.append(Paragraph(escape(f"{s['number']}. {s['title']}"), st["Heading1"]))
        for b in s["blocks"]:
            if b["type"] == "heading":
                story.append(Paragraph(escape(b["text"]), st["Heading3"]))
            elif b["type"] in ("para", "callout"):
                story.append(Paragraph(text(b["runs"]), st["BodyText"]))
            elif b["type"] == "table":
                story.append(Paragraph(text(b["caption"]), st["BodyText"]))
                rows = [[Paragraph(escape(v), cell) for v in r] for r in [b["header"], *b["rows"]]]
                t = Table(rows, repeatRows=1)
                t.setStyle(TableStyle([("LINEABOVE", (0, 0), (-1, 0), 0.8, "black")]))
                story.append(t)
    Doc(path, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm).multiBuild(story)


def stages() -> None:
    """Time the stages of one PDF build, and Typst against reportlab on the same document."""
    import matplotlib

    matplotlib.use("Agg")
    import typst

    from trial_analysis.report import build_report
    from trial_analysis.report import pdf as pdf_mod
    from trial_analysis.report.content import Resolved

    times: dict[str, float] = {}
    marks: list[tuple[str, float]] = []
    captured: list[Resolved] = []
    real_svg, real_compile, real_render = pdf_mod.figure_svg, typst.compile, pdf_mod.render_pdf

    def timed(name, f):
        def g(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - t

        return g

    def render(path, doc):
        captured.append(doc)
        marks.append(("(rendering)", time.perf_counter()))
        return timed("render_pdf (figures + Typst)", real_render)(path, doc)

    pdf_mod.figure_svg = timed("figures drawn as SVG", real_svg)
    typst.compile = timed("typst.compile", real_compile)
    pdf_mod.render_pdf = render
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            build_report(
                "zang2022",
                out=f"{tmp}/r.pdf",
                progress=lambda m: marks.append((m, time.perf_counter())),
            )
            total = time.perf_counter() - t0
            print(f"PDF build in this process: {total:6.1f} s")
            pts = [("(loading, synthetic cohort)", t0), *marks]
            for (name, t), (_, t_next) in itertools.pairwise(pts):
                if not name.startswith("writing"):
                    print(f"  {name:<40s} {t_next - t:6.1f} s")
            for name, v in times.items():
                print(f"  {name:<40s} {v:6.1f} s")

            doc = captured[0]
            bare = Resolved(
                title=doc.title,
                subtitle=doc.subtitle,
                callouts=doc.callouts,
                sections=tuple(
                    {**s, "blocks": [b for b in s["blocks"] if b["type"] != "figure"]}
                    for s in doc.sections
                ),
                footer=doc.footer,
                synthetic=doc.synthetic,
            )
            t = time.perf_counter()
            real_render(f"{tmp}/bare.pdf", bare)
            t_typst = time.perf_counter() - t
            print("same document without figures:")
            print(f"  Typst (layout, TOC, fonts embedded)      {t_typst:6.2f} s")
            try:
                import reportlab  # noqa: F401  (the peer; not a dependency of the package)
            except ImportError:
                print("  reportlab not installed: peer not timed (pip install reportlab)")
                return
            t = time.perf_counter()
            _reportlab(f"{tmp}/bare_rl.pdf", bare)
            t_rl = time.perf_counter() - t
            print(
                f"  reportlab platypus (two-pass TOC)        {t_rl:6.2f} s   (Typst takes "
                f"{t_typst / t_rl:.2f} x reportlab's time)"
            )
    finally:
        pdf_mod.figure_svg, typst.compile, pdf_mod.render_pdf = real_svg, real_compile, real_render


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--no-notebooks", action="store_true", help="time only the reports")
    ap.add_argument(
        "--stages", action="store_true", help="time the build stages; Typst vs reportlab"
    )
    args = ap.parse_args()
    print(machine())
    if args.stages:
        stages()
        return 0
    cli = str(BIN / "trial-analysis")
    with tempfile.TemporaryDirectory() as tmp:
        base = run(
            [sys.executable, "-c", "import trial_analysis as ta; ta.synthetic_ipd('zang2022')"]
        )
        pdf = run([cli, "report", "zang2022", "-o", f"{tmp}/r.pdf", "--quiet"])
        html = run(
            [cli, "report", "zang2022", "--format", "html", "-o", f"{tmp}/r.html", "--quiet"]
        )
        print(f"import + synthetic cohort (baseline): {base:6.1f} s")
        print(
            f"trial-analysis report zang2022 (PDF): {pdf:6.1f} s   (goal < 30 s; {pdf / base:.1f} x the baseline)"
        )
        print(f"  same, --format html:                {html:6.1f} s")
        if not args.no_notebooks:
            t = run([sys.executable, "scripts/run_notebooks.py", "--out", f"{tmp}/nb"])
            print(f"all notebooks (papermill + HTML):     {t:6.1f} s   (goal < 120 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
