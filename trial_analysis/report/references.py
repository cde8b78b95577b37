"""The report's reference list, built from the citations the data files carry.

Sources: the design file (the trial's citation and address, its registry record, the source of
every provenance item), the ``source`` column of ``published.csv`` and, when the report has an
evidence section, the evidence data set (trials, meta-analyses, claims). Each distinct address
is one numbered entry with the first description found for it; citations without an address
are listed too. Nothing is typed here: another trial's files give another list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from ..results import format_cell
from .content import Link, Para, Section

__all__ = ["reference_entries", "references_section"]

_URL = re.compile(r"https?://[^\s\"'<>;,)]+[^\s\"'<>;,).]")


def _urls(text: str) -> list[str]:
    return _URL.findall(str(text))


def _describe(text: str, limit: int = 160) -> str:
    """The text around an address, without the address, shortened to ``limit`` characters."""
    t = _URL.sub("", str(text)).strip(" ;:,.-")
    t = re.sub(r"\s+", " ", t)
    return t if len(t) <= limit else t[: limit - 1].rstrip() + "…"


def _rows(ctx, evidence: bool) -> Iterable[tuple[str, str, str]]:
    """(what, description, address) for every citation in the inputs, in order of use."""
    d = ctx.design
    info = d.info
    yield "Trial report", d.citation, str(info.get("url", "") or "")
    if d.registration:
        yield "Registry record", f"{d.registration}", str(info.get("registry_url", "") or "")
    for key, p in d.provenance.items():
        for url in _urls(p.source or ""):
            yield f"Design: {key}", _describe(p.source), url
    pub = ctx.published
    if "source" in pub:
        for q, src in zip(pub["quantity"], pub["source"], strict=True):
            for url in _urls(src):
                yield f"Published: {q}", _describe(src), url
    if not evidence:
        return
    from ..evidence import load_evidence

    ev = load_evidence()
    trials = getattr(ev, "trials", None)
    if isinstance(trials, pd.DataFrame):
        for r in trials.to_dict("records"):
            parts = [r.get(k) for k in ("author", "year", "journal")]
            cite = ", ".join(
                format_cell(int(x) if isinstance(x, float) and x.is_integer() else x)
                for x in parts
                if isinstance(x, str) or pd.notna(x)
            )  # a year read as a float (a column with blanks) prints as 2016, not 2016.0
            urls = _urls(r.get("url", "")) or [""]
            for url in urls:
                yield f"Evidence: {r.get('short', r.get('trial_id', ''))}", cite, url
    for name in ("meta_analyses", "claims"):
        frame = getattr(ev, name, None)
        if isinstance(frame, pd.DataFrame):
            col = "citation" if "citation" in frame else "source"
            for r in frame.to_dict("records"):
                text = str(r.get(col, ""))
                urls = _urls(r.get("url", "")) + _urls(text) or [""]
                for url in urls:
                    yield f"Evidence: {r.get('ma_id', r.get('id', ''))}", _describe(text), url


def reference_entries(ctx, evidence: bool = False) -> list[tuple[str, str]]:
    """Distinct ``(description, address)`` pairs, numbered in order of first use."""
    seen: dict[str, int] = {}
    out: list[tuple[str, str]] = []
    for what, desc, url in _rows(ctx, evidence):
        key = url or desc
        if not key or key in seen:
            continue
        seen[key] = len(out)
        out.append((f"{what}. {desc}".strip() if desc else what, url))
    return out


def references_section(ctx, evidence: bool = False) -> Section | None:
    entries = reference_entries(ctx, evidence)
    if not entries:
        return None
    s = Section("references", "References")
    for k, (desc, url) in enumerate(entries, start=1):
        parts: list = [f"[{k}] {desc}"]
        if url:
            parts += [" ", Link(url)]
        s.add(Para(tuple(parts)))
    return s
