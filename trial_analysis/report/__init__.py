"""Reviewer-ready reanalysis reports (PDF and self-contained HTML).

:func:`build_report` gathers a :class:`ReportContext` (design, published numbers, patient-level
data and seeds, with the SHA-256 of every input file), asks each section function in
:data:`.sections.SECTIONS` for its content (a section appears only once its analysis module
exists), and renders it with :func:`.pdf.render_pdf` or :func:`.html.render_html`. The file is
written to a temporary name and renamed, so an interrupted run never leaves half a report.

>>> from trial_analysis.report import build_report
>>> build_report("zang2022", out="reports/zang2022_reanalysis.pdf")  # doctest: +SKIP
"""

from .build import ReportContext, build_report

__all__ = ["ReportContext", "build_report"]
