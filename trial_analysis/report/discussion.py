"""The closing discussion: limitations and what a next trial should do, computed by rules.

Like the findings page (:mod:`.findings`), nothing here is typed for a trial. Each paragraph is
the outcome of a rule applied to the reanalysis (``ta.reanalyze(trial)``), its results table and
findings, and what the report knows about its data:

``data``
    What the patient-level analyses rest on: a synthetic cohort (with the number of assumed
    parameters of its generative model), the trial's patient-level data, or the published
    aggregates only; and how many published numbers the audit could not reproduce.
``fragility``
    For each two-proportion comparison from counts: the fragility index of its primary test and
    the missing-patient scenarios that reverse its significance; the endpoints whose
    significance depends on the test (the robustness finding).
``multiplicity``
    How many p-values the report computes, over how many endpoints, how many comparisons of
    the design's primary endpoints are read as tests (and what survives Holm's adjustment of
    them: the multiplicity finding) and how many pre-specified analyses of other endpoints are
    reported unadjusted.
``missing data``
    Randomised patients absent from each endpoint's complete-case analysis, and whether the
    missing-data sensitivity analyses (multiple imputation) change its conclusion.
``next trial``
    One pre-specified primary analysis on the ITT population, and the planning section's sample
    size for the reanalysed effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..results import format_p
from .content import Bold, Para, Ref, Run, Section
from .findings import Finding, p_text
from .labels import short_label

__all__ = ["discussion_section"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _data_paragraph(
    kind: str, n_assumed: int | None, n_inconsistent: int, keys: set[str]
) -> tuple[Run, ...]:
    runs: list[Run] = [Bold("Data. ")]
    if kind == "synthetic":
        runs.append(
            "The patient-level analyses use a synthetic cohort generated from the published "
            "aggregates"
            + (f" and {_plural(n_assumed, 'assumed parameter')}" if n_assumed else "")
            + (" (" if "flow" in keys else "")
        )
        if "flow" in keys:
            runs += [Ref("flow"), ")"]
        runs.append(
            ": they show what those assumptions imply, not what the trial's patients showed. "
            "Where they disagree with a published result, the disagreement describes the "
            "assumptions; the trial's evidence is its published numbers."
        )
    elif kind == "reconstructed":
        runs.append(
            "The time-to-event analyses use patients reconstructed from digitised published "
            "Kaplan-Meier curves (Guyot 2012): they reproduce the published curves within the "
            "digitisation error, not the trial's records, and carry no covariates or strata; "
            "every other analysis rests on the published aggregates."
        )
    elif kind == "patient-level":
        runs.append(
            "The analyses use the trial's patient-level data, so every model is fitted to the "
            "patients themselves; what the data do not record (reasons for missing visits, "
            "protocol deviations beyond the population flags) limits the missing-data analyses."
        )
    else:
        runs.append(
            "Only the published aggregates were available: analyses that need patients "
            "(adjusted models, repeated measures, multiple imputation) were not possible, and "
            "every unpublished quantity (an SD, a correlation) enters as a sensitivity range."
        )
    if n_inconsistent:
        runs.append(
            f" The audit could not reproduce {_plural(n_inconsistent, 'published number')} "
            "from the others"
        )
        runs += [" (", Ref("audit"), ")"] if "audit" in keys else []
        runs.append(": the published report is itself uncertain there.")
    return tuple(runs)


def _fragility_paragraphs(
    res: Any, design: Any, found: Sequence[Finding], labels: Mapping[str, str], alpha: float
) -> list[tuple[Run, ...]]:
    out: list[tuple[Run, ...]] = []
    for r in res.results:
        frag = getattr(r, "fragility", None)
        if frag is None:
            continue
        f = frag.to_frame()
        if not len(f):
            continue
        method = (design.endpoint(r.endpoint).method or "").lower()
        hit = f[f["test"] == method] if "test" in f.columns else f.iloc[:0]
        row = (hit if len(hit) else f).iloc[0]
        arm = r.arms[int(row["modified_arm"]) - 1] if "modified_arm" in f.columns else ""
        k = int(row["index"])
        what = "reverses" if row.get("kind") == "fragility" else "would make significant"
        text = (
            f"{labels.get(r.endpoint, r.endpoint)} ({r.arms[0]} vs {r.arms[1]}): changing "
            f"{_plural(k, 'outcome')}" + (f" in the {arm} arm" if arm else "") + f" {what} the "
            f"{row['method']} result (fragility index {k}"
            + (
                f", quotient {float(row['quotient']):.3f})."
                if "quotient" in f.columns and pd.notna(row["quotient"])
                else ")."
            )
        )
        sens = getattr(r, "sensitivity", None)
        if sens is not None:
            s = sens.to_frame()
            pcol = next((c for c in ("p_fisher", "p_value") if c in s.columns), None)
            if pcol is not None and len(s) > 1:
                base = bool(s[pcol].iloc[0] < alpha)
                flips = s.iloc[1:][(s[pcol].iloc[1:] < alpha) != base]
                if len(flips):
                    worst = flips.loc[flips[pcol].idxmax() if base else flips[pcol].idxmin()]
                    text += (
                        f" Counting the randomised patients left out, {len(flips)} of "
                        f"{len(s) - 1} scenarios reverse it (worst: {worst['scenario']}, "
                        f"{p_text(float(worst[pcol]))})."
                    )
                else:
                    text += (
                        f" No scenario for the randomised patients left out ({len(s) - 1}) "
                        "changes it."
                    )
        out.append((Bold("Fragility. "), text))
    dep = [x for x in found if x.rule == "robustness" and x.verdict == "depends on the test"]
    if dep:
        names = ", ".join(dict.fromkeys(labels.get(x.endpoint, x.endpoint) for x in dep))
        out.append(
            (
                Bold("Robustness. "),
                f"Significance depends on the choice of test for: {names} (",
                Ref("findings"),
                "); the pre-specified test decides, and the others are sensitivity analyses.",
            )
        )
    return out


def _multiplicity_paragraph(
    frame: pd.DataFrame, found: Sequence[Finding], design: Any
) -> tuple[Run, ...]:
    n_p = int(frame["p_value"].notna().sum())
    n_ep = frame["endpoint"].nunique()
    mult = next((x for x in found if x.rule == "multiplicity"), None)
    roles = {e.id: e.role for e in design.endpoints}
    tested = [x for x in found if x.rule == "primary" and x.verdict != "not tested"]
    # the primary family: the comparisons of the endpoints the design declares primary
    n_primary = sum(1 for x in tested if roles.get(x.endpoint) == "primary")
    n_other = len(tested) - n_primary
    after = ""
    if mult is not None and n_primary > 1:
        after = " After Holm's adjustment of the primary analyses " + (
            "at least one remains significant." if mult.verdict == "survives" else "none does."
        )
    if n_primary == 0:
        lead = "no primary endpoint has a tested analysis, so none is read as confirmatory; "
    elif n_primary == 1:
        lead = "only the primary analysis of the primary endpoint is read as a test; "
    else:
        lead = (
            f"only the pre-specified analyses of the primary endpoints ({n_primary} "
            "comparisons) are read as tests, adjusted across them; "
        )
    if n_other:
        lead += (
            f"the pre-specified analyses of the other endpoints ({_plural(n_other, 'comparison')}"
            ") are reported without adjustment; "
        )
    return (
        Bold("Multiplicity. "),
        f"The report computes {_plural(n_p, 'p-value')} over {_plural(n_ep, 'endpoint')}; "
        + lead
        + "the rest are sensitivity analyses, visit-wise contrasts and alternative tests that "
        "are not adjusted: choosing the smallest of them would inflate the type I error." + after,
    )


def _missing_paragraphs(
    res: Any, design: Any, frame: pd.DataFrame, labels: Mapping[str, str], alpha: float
) -> list[tuple[Run, ...]]:
    """One paragraph: the randomised patients each endpoint's complete-case analysis leaves out
    (endpoints with the same pattern named together), and what multiple imputation changes."""
    gaps: dict[tuple[str, int, int], list[str]] = {}
    kept: list[str] = []
    changed: list[str] = []
    for r in res.results:
        name = labels.get(r.endpoint, r.endpoint)
        rand = [design.arm(a).n_randomised for a in r.arms[:2]]
        n = None
        counts = getattr(r, "counts", None)
        if counts is not None and len(counts):
            c = counts.iloc[0]
            n = (int(c.n1), int(c.n2))
        secs = getattr(r, "sections", None)
        secs = secs if isinstance(secs, Mapping) else {}  # a binary result has no tables
        ipd = secs.get("ipd")
        if ipd is not None and len(ipd) and {"n1", "n2"} <= set(ipd.columns):
            n = (int(ipd["n1"].iloc[0]), int(ipd["n2"].iloc[0]))
        if n is None:
            continue
        miss = [a - b for a, b in zip(rand, n, strict=True)]
        if not any(miss):
            continue
        arms = ", ".join(f"{a} {m}" for a, m in zip(r.arms, miss, strict=True) if m)
        gaps.setdefault((arms, sum(miss), sum(rand)), []).append(name)
        mi = secs.get("missing")
        if mi is None or "p_value" not in mi.columns or not mi["p_value"].notna().any():
            continue
        rows = frame[
            (frame["endpoint"] == r.endpoint)
            & (frame["comparison"] == f"{r.arms[0]} vs {r.arms[1]}")
            & frame["primary"].astype(bool)
        ]
        if not len(rows):
            continue
        ps = mi["p_value"].dropna()
        lo, hi = float(ps.min()), float(ps.max())
        span = p_text(lo) if format_p(lo) == format_p(hi) else f"p {format_p(lo)} to {format_p(hi)}"
        sig = bool(rows["p_value"].iloc[0] < alpha)
        (kept if bool(((ps < alpha) == sig).all()) else changed).append(f"{name} ({span})")
    if not gaps:
        return []
    parts = [
        f"{'; '.join(names)}: {k} of {n} randomised patients ({arms}) are missing from the "
        "complete-case analysis."
        for (arms, k, n), names in gaps.items()
    ]
    text = " ".join(parts)
    if kept:
        text += (
            " Multiple imputation (missing at random and reference-based) does not change the "
            f"primary conclusion of: {'; '.join(kept)}."
        )
    if changed:
        text += (
            " Multiple imputation changes the primary conclusion in at least one scenario "
            f"of: {'; '.join(changed)}."
        )
    return [(Bold("Missing data. "), text)]


def _next_trial_paragraph(
    frame: pd.DataFrame,
    design: Any,
    labels: Mapping[str, str],
    planning: Mapping[str, Any] | None,
    keys: set[str],
) -> tuple[Run, ...]:
    prim = design.endpoints[0]
    for e in design.endpoints:
        if e.role == "primary":
            prim = e
            break
    rows = frame[(frame["endpoint"] == prim.id) & frame["primary"].astype(bool)]
    analysis = (
        str(rows["method"].iloc[0]) if len(rows) else (prim.method or "one pre-specified analysis")
    )
    runs: list[Run] = [
        Bold("Next trial. "),
        f"A confirmatory trial should pre-specify one primary analysis ({analysis} of the "
        f"primary endpoint, {short_label(labels.get(prim.id, prim.id))}) on the "
        "ITT population with a stated missing-data strategy, name its sensitivity analyses in "
        "advance, and control the type I error across secondary endpoints.",
    ]
    if planning:
        runs.append(
            f" Sized for the reanalysed effect it needs {planning['n']} patients per arm for "
            f"{planning['power']:.0%} power ({planning['test']})"
        )
        if "planning" in keys:
            runs += [
                ", ",
                Ref("planning"),
                ", where the assurance allows for the uncertainty of "
                "that effect and a group-sequential design may stop early.",
            ]
        else:
            runs.append(".")
    return tuple(runs)


def discussion_section(
    res: Any,
    frame: pd.DataFrame,
    found: Sequence[Finding],
    *,
    design: Any,
    kind: str,
    labels: Mapping[str, str],
    sections: set[str],
    n_assumed: int | None = None,
    n_inconsistent: int = 0,
    planning: Mapping[str, Any] | None = None,
    alpha: float = 0.05,
    key: str = "discussion",
    title: str = "Discussion and limitations",
) -> Section:
    """The closing discussion (module docstring): one paragraph per rule that applies.

    ``kind`` is ``synthetic``, ``patient-level``, ``reconstructed`` or ``published`` (what the patient-level
    analyses rest on); ``sections`` the keys of the report's sections (references are made only
    to sections the report has, and checked when it is resolved); ``planning`` the planning
    section's sample size (``n``, ``power``, ``test``).
    """
    s = Section(key, title)
    intro: tuple[Run, ...] = (
        "What limits the conclusions of this reanalysis, computed from its results by fixed "
        "rules (like the findings, ",
        Ref("findings"),
        "), and what a next trial should do.",
    )
    s.add(Para(intro if "findings" in sections else intro[0].split(" (")[0] + "."))
    s.add(Para(_data_paragraph(kind, n_assumed, n_inconsistent, sections)))
    for p in _fragility_paragraphs(res, design, found, labels, alpha):
        s.add(Para(p))
    s.add(Para(_multiplicity_paragraph(frame, found, design)))
    for p in _missing_paragraphs(res, design, frame, labels, alpha):
        s.add(Para(p))
    s.add(Para(_next_trial_paragraph(frame, design, labels, planning, sections)))
    return s
