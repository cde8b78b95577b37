"""The report's sections, in order. Each is ``f(ctx) -> Section | None``.

A section returns ``None`` while the analysis it shows does not exist in the package (so the
report grows as analyses land); once the analysis exists, errors propagate (a reviewer-ready
report never silently drops a section). Sections only call analysis functions and turn their
result objects into blocks — no statistics are computed here.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import math
import platform
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..plots import design_timeline
from ..reanalysis import data_source
from ..results import format_cell
from .build import ReportContext
from .content import (
    SOURCES,
    Bold,
    Callout,
    Code,
    FigureBlock,
    Heading,
    Italic,
    Para,
    Ref,
    Section,
    TableBlock,
    table_from,
)

__all__ = ["endpoint_section", "sections_for"]


# ------------------------------------------------------------------------------------ design
#: provenance labels of design items as data sources of the report's captions
_SOURCE_OF_LABEL = {"derived": "inferred", "secondary": "published"}


def design_section(ctx: ReportContext) -> Section:
    d = ctx.design
    s = Section("design", "Design")
    facts = [d.info.get("design", "").capitalize() + " trial" if d.info.get("design") else ""]
    if d.info.get("phase"):
        facts.append(f"phase {d.info['phase']}")
    if d.info.get("period"):
        facts.append(d.info["period"])
    doses = "; ".join((f"{r.arm}: " if r.arm else "") + str(r) for r in d.dose_rules)
    when = f" at weeks {', '.join(map(str, d.infusion_weeks))}" if d.infusion_weeks else ""
    dosing = f"Dose {doses}{when}; f" if doses else "F"
    lead = ", ".join(f for f in facts if f)
    s.add(
        Para(
            (lead + ". " if lead else "")
            + f"{d.n_randomised} patients randomised to {len(d.arms)} arms: "
            + ", ".join(f"{a.name} n = {a.n_randomised}" for a in d.arms)
            + f". {dosing}ollow-up {d.follow_up_text}."
        )
    )
    for key in ("dose", "doses"):
        dp = d.provenance_of(key)
        if dp and dp.reason:
            s.add(Callout((Bold(f"Dose ({dp.label})."), f" {dp.reason}"), "warning"))
            break
    vp = d.provenance_of("schedule.visit_weeks") or d.provenance_of("schedule")
    s.add(
        FigureBlock(
            design_timeline(d),
            "Schedule of administrations and visits"
            + (f" (visit schedule: {vp.label})" if vp else "")
            + "; provenance of each item in the table below.",
            width=0.95,
            source=_SOURCE_OF_LABEL.get(vp.label, vp.label) if vp else "published",
        )
    )
    # what the design items rest on, in the order of SOURCES (each row says which)
    kinds = {_SOURCE_OF_LABEL.get(p.label, p.label) for p in d.provenance.values()}
    design_source = " and ".join(k for k in SOURCES if k in kinds) or "published"
    s.add(
        TableBlock(
            d.to_frame(),
            "Design items and their provenance (published, registry, secondary, derived, or "
            "assumed with the reason below).",
            col_widths=(3, 7, 1.4),
            source=design_source,
        )
    )
    prov = pd.DataFrame(
        [(k, p.label, p.reason or p.source) for k, p in d.provenance.items()],
        columns=["item", "provenance", "source or reason"],
    )
    s.add(
        TableBlock(
            prov,
            "Sources and reasons for each design item.",
            col_widths=(2.2, 1.3, 8),
            source=design_source,
        )
    )
    return s


# ------------------------------------------------------------------------ published numbers
#: how the published table's statistics (``published.csv`` vocabulary) are printed
_STATISTIC_LABELS = {
    "p_value": "p (between arms)",
    "p_value_within": "p (within arm)",
    "ci_low": "CI lower limit",
    "ci_high": "CI upper limit",
    "sd": "SD",
    "percent": "%",
}


def _published_tables(s: Section, ctx: ReportContext) -> None:
    pub = ctx.published
    s.add(Heading("What was published"))
    s.add(
        Para(
            (
                "Every number the trial published, one row each, as stored in ",
                Code("published.csv"),
                " with the sentence it is quoted from. 'Relation' marks bounds such as p < 0.05.",
            )
        )
    )
    cols = ["quantity", "arm", "week", "statistic", "relation", "value", "unit", "label"]
    shown = pub[cols].astype({"week": "object"}).fillna("")
    shown["statistic"] = shown["statistic"].map(lambda v: _STATISTIC_LABELS.get(v, v))
    s.add(
        table_from(
            shown,
            "Published aggregates of the trial.",
            digits=6,
            source="published",
        )
    )
    notes = (
        shown.assign(note=pub["note"])
        .loc[pub["note"] != "", ["quantity", "arm", "statistic", "note"]]
        .drop_duplicates("note")
    )
    if len(notes):
        s.add(
            TableBlock(
                notes.reset_index(drop=True),
                "Notes on how published numbers are read.",
                col_widths=(2, 2, 1.5, 8),
                source="published",
            )
        )


# ------------------------------------------------------------------------ flow and baseline
def _synthetic_callout(ctx: ReportContext) -> list[Callout]:
    if not ctx.synthetic:
        return []
    return [
        Callout(
            (
                Bold("Synthetic cohort."),
                " The tables and figures in this section are computed from a synthetic "
                "cohort matched to the published aggregates (source: "
                + str(ctx.ipd.source)
                + "), not from the trial's patients.",
            ),
            "synthetic",
        )
    ]


def _data_source(ctx: ReportContext) -> str:
    """``synthetic`` or ``patient-level``: what the patient-level tables rest on."""
    return data_source(ctx.synthetic)


def flow_section(ctx: ReportContext) -> Section | None:
    if ctx.ipd is None:
        return None
    from ..baseline import baseline_table, participant_flow
    from ..published import published_value

    try:
        enrolled = int(published_value(ctx.published, "enrolled", "All", None, "n"))
    except (KeyError, ValueError):
        enrolled = None
    flow = participant_flow(ctx.ipd, enrolled=enrolled)
    src = _data_source(ctx)
    s = Section("flow", "Participant flow and baseline")
    s.add(*_synthetic_callout(ctx))
    if enrolled is not None:
        s.add(
            Para(
                f"The registry reports {enrolled} enrolled; {ctx.design.n_randomised} were "
                "randomised."
            )
        )
    from .pdf import TEXT_WIDTH_IN

    diagram = flow.plot()
    s.add(
        FigureBlock(
            diagram,
            "CONSORT-style participant flow by arm, from the data's population flags.",
            # printed at the width its boxes were sized for: narrowed, its text would not fit
            width=min(1.0, diagram.get_figwidth() / TEXT_WIDTH_IN),
            source=src,
        )
    )
    s.add(table_from(flow, "Participant flow by arm.", source=src))
    pops = {e.population for e in ctx.design.endpoints if e.population}
    pop = pops.pop() if len(pops) == 1 else None
    s.add(
        table_from(
            baseline_table(ctx.ipd, population=pop),
            "Baseline characteristics by arm (Table 1).",
            source=src,
        )
    )
    model = getattr(ctx.ipd, "info", {}).get("model") if ctx.synthetic else None
    trial = ctx.trial_obj
    if model is None and ctx.synthetic and trial is not None and trial.has_synthetic_model:
        from ..synthetic import model_for

        model = model_for(ctx.trial)
    if model is not None:
        params = model.to_frame()
        params = params.loc[params["provenance"] != "published"].copy()
        params["value"] = params["value"].map(format_cell)  # journal decimals, tuples joined
        s.add(
            TableBlock(
                params[["parameter", "arm", "value", "provenance", "source"]].reset_index(
                    drop=True
                ),
                "Synthetic cohort: the generative model's values that are not published "
                "(assumed, with the reason, or derived).",
                col_widths=(2.2, 1.2, 1.2, 1.1, 7),
                source="synthetic",
            )
        )
        for block in _sd_range_blocks(ctx):
            s.add(block)
    return s


def _sd_range_blocks(ctx: ReportContext) -> list[Any]:
    """The synthetic cohort's patient-level analysis across the SDs the published numbers leave
    free: for each continuous endpoint with a published between-arm p and an assumed SD of the
    generative model checked against it (the SD's provenance names the published row), one
    exact cohort per SD of the endpoint's summary-level grid (``assumed_sds`` and the largest SD
    the published p allows), analysed by the endpoint's pre-specified test
    (:func:`trial_analysis.synthetic.synthetic_ipd`, its ``inferences``). An SD at which the
    summary-level test already contradicts the published p gets no cohort (it would be refused)."""
    from ..errors import TrialAnalysisError
    from ..synthetic import model_for, published_inferences, synthetic_ipd
    from .labels import humanise

    res = _reanalysis(ctx)
    params = model_for(ctx.trial).to_frame()
    assumed = params[params["provenance"] == "assumed"]
    out: list[Any] = []
    for inf in published_inferences(ctx.design, ctx.published):
        ep = ctx.design.endpoint(inf.endpoint)
        if ep.type != "continuous" or inf.endpoint not in res.endpoints:
            continue
        hit = assumed[
            assumed["parameter"].str.endswith("_sd")
            & assumed["source"].str.contains(f"published.csv line {inf.line} ", regex=False)
        ]
        if not len(hit):
            continue
        param = str(hit["parameter"].iloc[0])
        r = res.of(inf.endpoint)[0]
        summ = r.sections.get("summary_tests")
        limit = r.sections.get("sd_sensitivity")
        if summ is None or not len(summ):
            continue
        student = summ[summ["analysis"].str.startswith("Student t, assumed SD")]
        grid = {
            float(a.rsplit(" ", 1)[1]): float(p)
            for a, p in zip(student["analysis"], student["p_value"], strict=True)
        }
        edge = None
        if limit is not None and len(limit):  # the boundary, to 0.1 below it
            edge = math.floor(10 * float(limit["value"].iloc[0])) / 10
            grid[edge] = math.nan
        rows = []
        for sd in sorted(grid):
            p_sum = grid[sd]
            row: dict[str, Any] = {"SD (both arms)": sd, "summary t-test p": p_sum}
            if sd == edge or p_sum < 0.05:
                try:
                    ipd = synthetic_ipd(ctx.trial, seed=ctx.seed, **{param: sd})
                except TrialAnalysisError as exc:
                    row["cohort"] = "none: " + str(exc).split(";")[0]
                else:
                    chk = ipd.info["inferences"]
                    chk = chk[chk["endpoint"] == inf.endpoint]
                    row["cohort"] = f"exact, {ipd.info['draws']} draw(s)"
                    row["patient-level p"] = float(chk["p_value"].iloc[0])
                    row["method"] = str(chk["method"].iloc[0])
            else:
                row["cohort"] = "none: the published means at this SD contradict the published p"
            rows.append(row)
        table = pd.DataFrame(rows)
        allowed = (
            table[table.get("patient-level p", pd.Series(dtype=float)).notna()]
            if "patient-level p" in table
            else table.iloc[:0]
        )
        shipped = ", ".join(
            f"{a} {format_cell(v)}" for a, v in zip(hit["arm"], hit["value"], strict=True)
        )
        own = ctx.ipd.info.get("inferences") if getattr(ctx.ipd, "info", None) else None
        own_p = ""
        if own is not None and len(own[own["endpoint"] == inf.endpoint]):
            o = own[own["endpoint"] == inf.endpoint].iloc[0]
            own_p = (
                f": its {o['method']} gives p = {format_cell(float(o['p_value']), p_value=True)}"
            )
        text = (
            f"The published numbers leave the {humanise(param, ctx.design)} free; the model "
            f"assumes {shipped}{own_p} (published: {inf.text}). "
        )
        if len(allowed):
            lo, hi = allowed["SD (both arms)"].min(), allowed["SD (both arms)"].max()
            above = table[table["SD (both arms)"] > hi]
            text += (
                "With one SD in both arms, an exact cohort honouring the published p exists "
                + (
                    f"only at SD {format_cell(lo)} of this grid"
                    if lo == hi
                    else f"for SDs from {format_cell(lo)} to {format_cell(hi)} of this grid"
                )
                + (
                    f"; from SD {format_cell(above['SD (both arms)'].min())} the conclusion "
                    "flips (the published means no longer give p < 0.05, and an exact cohort "
                    "would have to contradict the published p)."
                    if len(above)
                    else "."
                )
            )
        else:
            text += "No SD of the grid gives an exact cohort that honours it."
        out.append(Heading(f"The assumed SD: {ep.label}", 3))
        out.append(Para(text))
        out.append(
            table_from(
                table,
                "Patient-level pre-specified analysis of exact synthetic cohorts across the "
                "unpublished SD (each cohort is redrawn until its analysis honours the published "
                "p, at most 20 draws); the summary-level t-test at the published means beside it.",
                notes=(
                    ()
                    if edge is None
                    else (
                        f"SD {format_cell(edge)}: the largest (to 0.1) at which the t-test of the "
                        "published means gives p < 0.05.",
                    )
                ),
                source="synthetic and published",
            )
        )
    return out


# ------------------------------------------------------------------------- published audit
def _reanalysis(ctx: ReportContext) -> Any:
    """The engine's results for every declared endpoint (computed once per report)."""
    from ..reanalysis import reanalyze

    return ctx.cached(
        "reanalysis", lambda: reanalyze(ctx.trial_obj, ipd=ctx.ipd or False, seed=ctx.seed)
    )


def audit_section(ctx: ReportContext) -> Section | None:
    if not len(ctx.published):
        return None
    res = _reanalysis(ctx)
    s = Section("audit", "Published-number audit")
    _published_tables(s, ctx)
    s.add(
        Para(
            "Do the published numbers fit together? Each check recomputes a reported number from "
            "the others; 'inconsistent' means no reading within rounding reproduces it, "
            "'conditional' that it holds only under a stated assumption."
        )
    )
    d = ctx.design
    for r in res.results:
        ep = d.endpoint(r.endpoint)
        counts = getattr(r, "counts", None)
        if counts is not None:
            s.add(Heading(f"Denominators: {ep.label} ({r.arms[0]} vs {r.arms[1]})"))
            tables = counts[["x1", "n1", "x2", "n2"]].drop_duplicates() if len(counts) else counts
            if len(tables) > 5:  # no interval or published n pins the denominators down
                top = tables.sort_values(["n1", "n2"], ascending=False).iloc[0]
                s.add(
                    Para(
                        (
                            f"{len(tables)} count tables up to the randomised sizes reproduce the "
                            "published percentages (no published interval or analysed n pins "
                            "the denominators down); the analyses use the one with the largest "
                            "denominators, ",
                            Bold(f"{top.x1}/{top.n1} vs {top.x2}/{top.n2}"),
                            ".",
                        )
                    )
                )
            elif len(counts):
                by = "method_label" in counts.columns  # which interval method reproduces the CI
                found = "; ".join(
                    f"{c.x1}/{c.n1} vs {c.x2}/{c.n2}"
                    + (f" by the {c.method_label} interval" if by else "")
                    for c in (counts if by else tables).itertuples()
                )
                s.add(
                    Para(
                        (
                            "Enumerating every count and denominator up to the randomised sizes, "
                            "the published percentages"
                            + (" and interval are" if by else " are")
                            + " reproduced only by: ",
                            Bold(found),
                            ".",
                        )
                    )
                )
                for c in tables.itertuples() if len(tables) == 1 else ():
                    for n, arm in ((c.n1, d.arm(r.arms[0])), (c.n2, d.arm(r.arms[1]))):
                        if n < arm.n_randomised:
                            s.add(
                                Callout(
                                    f"{arm.n_randomised - n} randomised {arm.name} patient(s) "
                                    f"were not in the published analysis ({n} of "
                                    f"{arm.n_randomised}).",
                                    "warning",
                                )
                            )
                s.add(
                    table_from(
                        counts,
                        "Counts that reproduce the published percentages"
                        + (" and interval." if by else "."),
                        source="published",
                    )
                )
            else:
                s.add(
                    Para(
                        "No counts up to the randomised sizes reproduce the published "
                        "percentages and interval."
                    )
                )
        if ep.type == "time_to_event" and getattr(r, "published_checks", None) is not None:
            from .survival import hazard_ratio_audit

            if r.published_checks["check"].str.startswith("published: ").any():
                s.add(
                    Heading(
                        f"Hazard ratio, CI and p-value: {ep.label} ({r.arms[0]} vs {r.arms[1]})"
                    )
                )
                s.add(
                    hazard_ratio_audit(
                        r,
                        "The published hazard ratio, its CI, p-value and events checked "
                        "against each other.",
                    )
                )
        audit = getattr(r, "audit", None)
        if audit is not None:
            frame = audit.to_frame()
            if not len(frame):
                continue
            s.add(Heading(f"Means, SDs, changes and p-values: {ep.label}"))
            cols = [
                c
                for c in ("quantity", "reported", "recomputed", "verdict", "explanation")
                if c in frame
            ]
            s.add(
                TableBlock(
                    frame[cols],
                    audit.title + ".",
                    tuple(audit.notes),
                    col_widths=(3.2, 1.8, 2.4, 1.2, 5.5)[: len(cols)],
                    source="published",
                )
            )
    return s


# ------------------------------------------------------------------ one section per endpoint
_COMPARE_COLUMNS = ["quantity", "method", "estimate", "ci_low", "ci_high", "p_value", "reference"]
_SECTION_CAPTIONS = {
    "summary_tests": "Between-arm tests from the published summary statistics",
    "sd_sensitivity": "p-value of the between-arm difference as a function of the unpublished SD",
    "rho": "Pre-post correlations ρ that reproduce the published between-group p",
    "ipd": "Patient-level analyses at the endpoint visit",
    "mmrm": "Mixed model for repeated measures: arm difference by visit",
    "missing": "Missing-data sensitivity: multiple imputation under MAR, jump-to-reference (J2R) "
    "and copy-reference (CR), Rubin's rules",
}
_PUBLISHED_TABLES = ("summary_tests", "sd_sensitivity", "rho")
_FIGURE_CAPTIONS = {
    "sd_curve": "p-value of the comparison against the assumed common SD; the published claim "
    "holds left of the marked SD.",
    "rho_curve": "Between-group p-value of the change against the unknown pre-post correlation "
    "ρ, for each reading of the published numbers; the published p is marked.",
    "mmrm_trajectory": "LS-means by visit and arm from the MMRM (unstructured covariance, REML), "
    "with 95% CIs.",
    "tipping_point": "Delta-adjusted tipping point: p-value as the values imputed in the "
    "experimental arm are shifted by delta.",
}
_FIGURE_AFTER = {
    "sd_curve": "sd_sensitivity",
    "rho_curve": "rho",
    "mmrm_trajectory": "mmrm",
    "tipping_point": "missing",
}

# printed at the designed width where hand-placed text (the ρ curve's legend) would collide
_FIGURE_WIDTHS = {"rho_curve": 0.95, "sd_curve": 0.9}


#: figures whose legend the report moves under the plot: inside, it covers the lines
_LEGEND_BELOW = ("mmrm_trajectory", "rho_curve")


def _legend_below(fig: Any) -> Any:
    """Each legend of ``fig`` moved under its axes (below the axis label), in columns."""
    for ax in fig.axes:
        old = ax.get_legend()
        if old is None:
            continue
        handles, labels = ax.get_legend_handles_labels()
        if not handles:
            continue
        leg = ax.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            # long entries (a ρ curve's readings) one per line: side by side they are
            # wider than the plot and the layout would narrow it to fit them
            ncol=1 if max(len(str(t)) for t in labels) > 25 else min(len(handles), 3),
            frameon=False,
            fontsize=old.get_texts()[0].get_fontsize() if old.get_texts() else None,
        )
        for t in leg.get_texts():  # arm names from the data: plain text
            t.set_parse_math(False)
    return fig


def _wrap_ylabels(fig: Any) -> Any:
    """A y-axis label longer than its axes is tall (an outcome named in full: "LS-mean %
    reduction in total daily insulin dose") broken into lines that fit beside it."""
    import textwrap

    for ax in fig.axes:
        label = ax.yaxis.label
        text = label.get_text()
        if not text or "\n" in text or "$" in text:
            continue
        # the axes' height before layout and printing shrink it (by about 0.7 at 3/4 of
        # the page); DejaVu Sans averages about 0.55 em per character
        height_pt = 0.7 * ax.get_position().height * fig.get_figheight() * 72
        chars = max(12, int(height_pt / (0.55 * label.get_fontsize())))
        if len(text) > chars:
            label.set_text("\n".join(textwrap.wrap(text, chars)))
    return fig


def _figures(r: Any) -> dict[str, Any]:
    """The figures of a comparison with its arms named (experimental, control) where the
    analysis labels them generically ("arm 1 - arm 2"), as the tables name them, and the
    legends of :data:`_LEGEND_BELOW` under the plot."""
    from .labels import name_figure_arms

    figs = {k: name_figure_arms(f, tuple(r.arms[:2])) for k, f in r.figures().items()}
    figs = {k: _legend_below(f) if k in _LEGEND_BELOW else f for k, f in figs.items()}
    return {k: _wrap_ylabels(f) for k, f in figs.items()}


def _binary_block(s: Section, r: Any, ctx: ReportContext) -> None:
    figs = _figures(r)
    src = _data_source(ctx)
    if r.comparison is not None:
        c = r.comparison  # the table analysed (the largest denominators when several fit)
        s.add(
            Para(
                (
                    "From the published numbers: the counts they imply, ",
                    Bold(f"{c.x1}/{c.n1} vs {c.x2}/{c.n2}"),
                    " (",
                    Ref("audit"),
                    "), with every test and interval a reviewer might use, the fragility of the "
                    "conclusion, its dependence on the patients not analysed and on the prior.",
                )
            )
        )
        s.add(
            table_from(
                r.comparison,
                "Two proportions: every test and interval, with its reference."
                + _population_caption(ctx, r, (int(c.n1), int(c.n2)), ""),
                columns=_COMPARE_COLUMNS,
                source="published",
            )
        )
        if "intervals" in figs:
            s.add(
                FigureBlock(
                    figs["intervals"],
                    "Intervals by method for the risk difference, relative risk and odds ratio.",
                    width=0.9,
                    source="published",
                )
            )
        for name, caption in (
            ("fragility", "Fragility index and quotient by test (Walsh et al. 2014)."),
            ("sensitivity", "Sensitivity to the outcomes of the randomised patients left out."),
            ("tipping", "Tipping-point grid over the outcomes of the non-analysed patients."),
            ("bayes", "Posterior of the RD, RR and OR under four priors."),
        ):
            res = getattr(r, name)
            if res is not None:
                s.add(table_from(res, caption, columns=_named_columns(res), source="published"))
        for name, caption, width in (
            (
                "sensitivity",
                "Risk difference with its interval under each missing-data scenario.",
                0.75,
            ),
            (
                "tipping_point",
                "Tipping-point map: p-value for each number of responders among the "
                "non-analysed patients.",
                0.75,  # its designed width: the cell labels collide if narrowed
            ),
            ("bayes", "Prior and posterior densities of the risk difference.", 0.8),
        ):
            if name in figs:
                s.add(FigureBlock(figs[name], caption, width=width, source="published"))
    if r.ipd_comparison is not None:
        s.add(*_synthetic_callout(ctx))
        s.add(
            table_from(
                r.ipd_comparison,
                "Two proportions on the patient-level data."
                + _population_caption(
                    ctx,
                    r,
                    (int(r.ipd_comparison.n1), int(r.ipd_comparison.n2)),
                    str(r.population or ""),
                ),
                columns=_COMPARE_COLUMNS,
                source=src,
            )
        )
    if r.firth is not None:
        s.add(
            table_from(
                r.firth,
                "Firth penalised logistic regression on arm and the endpoint's declared "
                "covariates.",
                source=src,
            )
        )
    _adjusted_block(s, r, src)


def _adjusted_block(s: Section, r: Any, src: str) -> None:
    """ "Adjusted and stratified analyses": the engine's g-computation and CMH rows of a binary
    endpoint (declared covariates and strata), when the patient data allow them."""
    rows = r.adjusted_rows()
    if not rows:
        return
    frame = pd.DataFrame(rows)[["analysis", "method", "estimate", "ci_low", "ci_high", "p_value"]]
    notes: list[str] = []
    for res in (r.adjusted, r.stratified):
        if res is not None:
            notes += [n for n in res.notes if n not in notes]
    what = {"synthetic": "the synthetic cohort", "patient-level": "the patient-level data"}
    s.add(
        table_from(
            frame,
            f"Adjusted and stratified analyses on {what.get(src, src)} ({r.population}): "
            "covariate-adjusted marginal effects (g-computation) on the declared covariates "
            + ("and strata " if r.adjusted_by else "")
            + "and the Cochran-Mantel-Haenszel analysis over the declared strata.",
            notes=tuple(notes),
            source=src,
            col_widths=(4.2, 3, 1.2, 1.2, 1.2, 1.1),
        )
    )


def _named_columns(res: Any) -> list[str] | None:
    """A result's columns without a test id printed beside the test's name (``test`` and
    ``method`` of a fragility table)."""
    cols = list(res.to_frame().columns)
    return [c for c in cols if c != "test"] if {"test", "method"} <= set(cols) else None


def _randomised(ctx: ReportContext, r: Any) -> tuple[int, int]:
    return tuple(ctx.design.arm(a).n_randomised for a in r.arms[:2])  # type: ignore[return-value]


def _population_caption(ctx: ReportContext, r: Any, n: tuple[Any, Any], declared: str) -> str:
    """`` Population: complete cases (n = 45 / 44).`` for a table of one population."""
    from .populations import population_key, population_label

    key = population_key(n, _randomised(ctx, r), declared=declared)
    return f" Population: {population_label(key, n, capital=False)}." if key else ""


def _analysis_table(
    df: pd.DataFrame, r: Any, ctx: ReportContext, *, patient_level: bool
) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """An engine table as printed: short analysis labels (the measure and model formula in a
    note) and its population named with the n per arm — in the caption when every row has the
    same, else in a column (:mod:`.populations`)."""
    from .labels import short_analysis
    from .populations import population_key, population_label

    out = df.copy()
    notes: list[str] = []
    measure = getattr(r, "measure_label", "") or ""
    if "analysis" in out.columns:
        pairs = [short_analysis(str(a), measure) for a in out["analysis"]]
        if any(short != str(a) for (short, _), a in zip(pairs, out["analysis"], strict=True)):
            formulas = list(dict.fromkeys(f for _, f in pairs if f))
            notes.append(
                f"Outcome of every analysis: {measure}"
                + (f"; ANCOVA models: {'; '.join(formulas)}" if formulas else "")
                + "."
            )
        out["analysis"] = [short for short, _ in pairs]
    suffix = ""
    if {"n1", "n2"} <= set(out.columns):
        declared = str(getattr(r, "population", "") or "") if patient_level else ""
        rand = _randomised(ctx, r)
        names = out["analysis"] if "analysis" in out.columns else [""] * len(out)
        keys = [
            population_key((a, b), rand, declared=declared, analysis=str(an))
            for a, b, an in zip(out["n1"], out["n2"], df.get("analysis", names), strict=True)
        ]
        ns = list(zip(out["n1"], out["n2"], strict=True))
        if keys and all(keys) and len(set(keys)) == 1 and len(set(ns)) == 1:
            suffix = f" Population: {population_label(keys[0], ns[0], capital=False)}."
        elif any(keys):
            out.insert(
                1,
                "population",
                [
                    population_label(k, n, capital=False) if k else ""
                    for k, n in zip(keys, ns, strict=True)
                ],
            )
    return out, suffix, tuple(notes)


def _continuous_block(
    s: Section, r: Any, ctx: ReportContext, drawn: dict[int, str] | None = None
) -> None:
    """The tables and figures of one comparison of a continuous endpoint; ``drawn`` maps the
    MMRM fits already drawn for an earlier comparison of the endpoint (one fit over all arms
    serves every comparison) to their figure's label, so a fit is drawn once."""
    figs = _figures(r)
    drawn = {} if drawn is None else drawn
    src = _data_source(ctx)
    for name, df in r.sections.items():
        if name == "published":
            continue
        here = "published" if name in _PUBLISHED_TABLES else src
        if here != "published" and ctx.synthetic:
            s.add(
                Callout(("Patient-level rows below: ", Bold("synthetic cohort"), "."), "synthetic")
            )
        shown, suffix, notes = _analysis_table(df, r, ctx, patient_level=here != "published")
        s.add(
            table_from(
                shown,
                _SECTION_CAPTIONS.get(name, name.replace("_", " ").capitalize()) + "." + suffix,
                notes=notes,
                source=here,
            )
        )
        for fig_name, after in _FIGURE_AFTER.items():
            if name != after or fig_name not in figs:
                continue
            caption, label = _FIGURE_CAPTIONS[fig_name], None
            if fig_name == "mmrm_trajectory":
                fit = id(r.mmrm_fit)
                if fit in drawn:  # the same fit, all arms: drawn for an earlier comparison
                    s.add(Para(("LS-means by visit of every arm: ", Ref(drawn[fit]), ".")))
                    continue
                label = drawn[fit] = f"mmrm-{r.endpoint}-{len(drawn) + 1}"
                n_arms = len(getattr(r.mmrm_fit, "arms", ()) or ())
                if n_arms > 2:
                    caption += f" One MMRM over all {n_arms} arms serves every comparison."
            s.add(
                FigureBlock(
                    figs[fig_name],
                    caption,
                    width=_FIGURE_WIDTHS.get(fig_name, 0.75),
                    label=label,
                    source=here,
                )
            )
    if r.findings:
        f = pd.concat([x.to_frame() for x in r.findings], ignore_index=True)
        s.add(
            TableBlock(
                f[["quantity", "reported", "recomputed", "verdict"]],
                ("Consistency findings for this endpoint (details in ", Ref("audit"), ")."),
                col_widths=(4, 2, 3, 1.3),
                source="published",
            )
        )


def _survival_block(s: Section, r: Any, ctx: ReportContext) -> None:
    from .survival import survival_block  # patient-level or reconstructed (report/survival.py)

    survival_block(s, r, ctx)


def endpoint_section(ctx: ReportContext, endpoint: str) -> Section | None:
    """One declared endpoint: every comparison of an experimental arm with the control."""
    res = _reanalysis(ctx)
    ep = ctx.design.endpoint(endpoint)
    if endpoint not in res.endpoints:
        why = [w for e, w in res.skipped if e == endpoint]
        if not why:
            return None
        s = Section(ep.id, f"{ep.label} ({ep.role})")  # declared: say why nothing is shown
        s.add(Callout(f"Not analysed: {why[0]}.", "warning"))
        return s
    s = Section(ep.id, f"{ep.label} ({ep.role})")
    drawn: dict[int, str] = {}  # MMRM fits drawn (one over all arms serves each comparison)
    for r in res.of(endpoint):
        if len(ctx.design.experimental_arms) > 1:
            s.add(Heading(f"{r.arms[0]} vs {r.arms[1]}"))
        if ep.type == "binary":
            _binary_block(s, r, ctx)
        elif ep.type == "time_to_event":
            _survival_block(s, r, ctx)
        else:
            _continuous_block(s, r, ctx, drawn)
        s.add(Para((Italic("Notes."), " " + " ".join(n for n in r.notes if "SYNTHETIC" not in n))))
    return s


# ------------------------------------------------------------------ planning the next trial
PLANNING_TESTS = ("fisher", "chisq", "normal_pooled", "normal_cc")


def _binary_counts(ctx: ReportContext, r: Any) -> tuple[int, int, int, int, str] | None:
    """(x1, n1, x2, n2, source) of a binary result: published counts first, else the data's."""
    if r.comparison is not None:  # the published counts analysed
        c = r.comparison
        return int(c.x1), int(c.n1), int(c.x2), int(c.n2), "published"
    if r.ipd_comparison is not None:
        t = r.ipd_comparison
        return int(t.x1), int(t.n1), int(t.x2), int(t.n2), _data_source(ctx)
    return None


def _planning_continuous(ctx: ReportContext, ep: Any) -> Section | None:
    """Sample size per arm for the observed ANCOVA effect and residual SD (t test, 1:1)."""
    from ..power import power_two_means

    res = _reanalysis(ctx)
    out: list[dict[str, Any]] = []
    se_obs: list[float] = []
    for r in res.of(ep.id):
        t = r.sections.get("ipd")
        if t is None:
            continue
        row = t.loc[t["analysis"].str.startswith("ANCOVA") & t["analysis"].str.contains("model SE")]
        if not len(row):
            continue
        row = row.iloc[0]
        sd = row["se"] / (1 / row["n1"] + 1 / row["n2"]) ** 0.5
        se_obs.append(float(row["se"]))
        for power in (0.8, 0.9):
            ss = power_two_means(abs(row["estimate"]), sd, power=power)
            out.append(
                {
                    "comparison": f"{r.arms[0]} vs {r.arms[1]}",
                    "effect": abs(row["estimate"]),
                    "residual SD": sd,
                    "power": power,
                    "n per arm": math.ceil(ss.n1),
                }
            )
    if not out:
        return None
    s = Section("planning", "Planning the next trial")
    s.add(
        Para(
            f"How large must a confirmatory trial of the {ep.label[0].lower() + ep.label[1:]} "
            "be? Sample size per arm (1:1, two-sided alpha 0.05, two-sample t test) to detect "
            "the observed ANCOVA effect with the observed residual SD; planning on point "
            "estimates treats them as known."
        )
    )
    s.add(
        table_from(
            pd.DataFrame(out),
            "Sample size per arm from the observed ANCOVA effect and residual SD.",
            source=_data_source(ctx),
        )
    )
    first = out[0]
    ctx.cache["planning_size"] = {
        "n": first["n per arm"],
        "power": first["power"],
        "test": "two-sample t test, 1:1",
    }
    _sequential_block(
        s,
        lambda d: d.sample_size_means(first["effect"], first["residual SD"]),
        first["effect"],
        se_obs[0],
        _data_source(ctx),
    )
    return s


def planning_section(ctx: ReportContext) -> Section | None:
    """Planning the next trial on the first endpoint that allows it, primary endpoints first;
    then, when the trial folder has a scenario file, its continuous endpoints by simulation."""
    from .simulation import simulation_block

    res = _reanalysis(ctx)
    sec = None
    for ep in sorted(ctx.design.endpoints, key=lambda e: e.role != "primary"):
        if ep.id not in res.endpoints:
            continue
        if ep.type == "continuous":
            sec = _planning_continuous(ctx, ep)
        elif ep.type == "time_to_event":
            from .survival import planning_survival

            sec = planning_survival(ctx, ep)
        else:
            first = res.of(ep.id)[0]
            counts = _binary_counts(ctx, first)
            sec = None if counts is None else _planning_binary(ctx, ep, counts, first.arms[:2])
        if sec is not None:
            break
    # the continuous endpoints analysed as the trial will be, when the trial has a scenario
    alone = Section("planning", "Planning the next trial")
    if simulation_block(ctx, sec if sec is not None else alone):
        return sec if sec is not None else alone
    return sec


def _sequential_block(s: Section, size_of: Any, effect: float, se: float, src: str) -> None:
    """The group-sequential alternative beside the fixed design, sized for the reanalysed
    effect and averaged over its uncertainty (:func:`trial_analysis.power.sequential_alternative`)."""
    from ..power import group_sequential, sequential_alternative

    d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    alt = sequential_alternative(size_of(d), effect, se)
    s.add(
        table_from(
            d,
            "A three-look group-sequential design (Lan-DeMets O'Brien-Fleming-type alpha "
            "spending, one-sided alpha 0.025, power 0.8, non-binding O'Brien-Fleming-type beta "
            "spending futility): boundaries and exit probabilities.",
            source="computed",
        )
    )
    s.add(
        table_from(
            # "n_max" is this design's maximum size here, not an exact search's upper limit
            alt.to_frame().rename(columns={"n_max": "N maximum"}),
            notes=tuple(alt.notes),
            caption=f"Fixed versus group-sequential design for the reanalysed effect {effect:.3g} "
            f"(SE {se:.2g}): maximum and expected sample size, power at the estimate and "
            "assurance averaged over its uncertainty.",
            source=src,
        )
    )


def _planning_binary(
    ctx: ReportContext, ep: Any, counts: tuple, arms: tuple[str, str]
) -> Section | None:
    from ..power import assurance, exact_power, power_curve, sample_size
    from .labels import name_figure_arms

    x1, n1, x2, n2, src = counts
    p1, p2 = x1 / n1, x2 / n2
    if p1 == p2:
        return None
    s = Section("planning", "Planning the next trial")
    if not (0 < p1 < 1 and 0 < p2 < 1):  # 0 % or 100 %: power at these proportions is degenerate
        s.add(
            Para(
                f"The observed proportions of {ep.label} ({x1}/{n1} vs {x2}/{n2}) include 0% or "
                "100%, so power and sample size at the observed proportions are not informative "
                "(any trial would be certain to succeed or to fail). Plan the next trial with "
                "assumed proportions: trial_analysis.power.sample_size(p1, p2, ...)."
            )
        )
        return s
    s.add(
        Para(
            f"How large must a confirmatory trial of {ep.label} be? Planning on the observed "
            f"proportions {x1}/{n1} = {100 * p1:.1f}% vs {x2}/{n2} = {100 * p2:.2f}% treats "
            "them as known; the assurance below averages the power over their posterior "
            "instead. Two-sided alpha = 0.05."
        )
    )
    curve = power_curve(p1, p2, range(20, 201, 5), list(PLANNING_TESTS), target=0.8)
    s.add(
        FigureBlock(
            name_figure_arms(curve.plot(), arms),
            "Power by sample size per arm (1:1) for exact and approximate tests at the "
            "observed proportions; exact power enumerates every table (no simulation error).",
            width=0.8,
            source=src,
        )
    )
    rows = []
    for t in (*PLANNING_TESTS, "arcsine"):
        for target in (0.8, 0.9):
            rows.append(sample_size(p1, p2, power=target, test=t).to_frame().iloc[0])
    table = pd.DataFrame(rows).reset_index(drop=True)
    from .labels import test_label

    shown = table.assign(test=[test_label(t) or t for t in table["test"]])
    s.add(
        table_from(
            shown,
            "Sample size per arm for 80% and 90% power. For exact tests the first n reaching the "
            "target is given beside the smallest n beyond which power never drops below it.",
            source=src,
        )
    )
    n_fisher = int(
        table.loc[
            (table["test"].astype(str).str.contains("isher")) & (table["target_power"] == 0.8), "n1"
        ].iloc[0]
    )
    ctx.cache["planning_size"] = {"n": n_fisher, "power": 0.8, "test": "Fisher's exact test"}
    bos = exact_power(p1, p2, n_fisher, n_fisher, test="boschloo")
    fis = exact_power(p1, p2, n_fisher, n_fisher, test="fisher")
    s.add(
        Para(
            f"At {n_fisher} per arm, exact power is {fis.power:.3f} for Fisher's test (actual "
            f"size {fis.size:.4f}) and {bos.power:.3f} for Boschloo's unconditional test (actual "
            f"size {bos.size:.4f})."
        )
    )
    a = assurance(x1, n1, x2, n2, [50, 75, 100, 150, 200], seed=ctx.seed)
    s.add(
        table_from(
            a, "Assurance (probability of success) beside power at the point estimate.", source=src
        )
    )
    s.add(
        FigureBlock(
            name_figure_arms(a.plot(), arms),
            "Power at the point estimate and assurance by planned size per arm.",
            width=0.7,
            source=src,
        )
    )
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    _sequential_block(s, lambda d: d.sample_size_rates(p1, p2), p1 - p2, se, src)
    return s


# ------------------------------------------------------------------ evidence and claims
def evidence_section(ctx: ReportContext) -> Section | None:
    """The trial among the other controlled trials and an audit of claims, for a trial that the
    evidence base (``data/evidence/trials.csv``) lists."""
    from ..claims import audit
    from ..evidence import load_claims, load_evidence

    ev = ctx.cached("evidence", load_evidence)
    if ctx.design.id not in set(ev.trials["trial_id"]):
        return None

    rep = ctx.cached("claims", lambda: audit(load_claims(), ev))
    s = Section("evidence", "Evidence and claims")
    s.add(
        Para(
            "The trial in the context of the other controlled trials of the same treatment, "
            "and an audit of claims made about it against that evidence (verdict rules in "
            "docs/claims-verdicts.md)."
        )
    )
    pooled = rep.pooled
    if pooled is not None:
        cols = [
            "method",
            "k",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "pi_low",
            "pi_high",
            "tau2",
            "i2",
            "q_p",
        ]
        s.add(
            table_from(
                pooled,
                f"Pooled between-arm difference of the evidence base ({rep.comparison}).",
                columns=[c for c in cols if c in pooled.to_frame()],
                source="published",
            )
        )
        s.add(
            FigureBlock(
                pooled.forest_plot(),
                "Forest plot of the between-arm differences, with the pooled estimate and its "
                "prediction interval.",
                width=1.0,
                source="published",
            )
        )
    tab = rep.table
    s.add(
        TableBlock(
            tab[["id", "claim", "verdict", "reason"]],
            "Audit of the claims.",
            tuple(rep.caveats) if getattr(rep, "caveats", None) else (),
            col_widths=(0.6, 4, 1.4, 6),
            source="published",
        )
    )
    return s


# ------------------------------------------------------------------------- reproducibility
_PACKAGES = (
    "trial_analysis",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "matplotlib",
    "typst",
    "jinja2",
    "cvttf-notosanscjk-regular",
    "dask",
    "papermill",
)


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "not run from a git checkout"
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "git unavailable"
    return rev + (" (with uncommitted changes)" if dirty else "")


def reproducibility_section(ctx: ReportContext) -> Section:
    s = Section("reproducibility", "Reproducibility")
    versions = [("python", platform.python_version())]
    for p in _PACKAGES:
        try:
            versions.append((p, md.version(p)))
        except md.PackageNotFoundError:
            versions.append((p, "not installed"))
    s.add(
        TableBlock(
            pd.DataFrame(versions, columns=["package", "version"]),
            "Software versions.",
            col_widths=(1, 1),
        )
    )
    s.add(
        Para(
            (
                Bold("Seed"),
                f" for every random step: {ctx.seed}. ",
                Bold("Git commit"),
                f": {_git_commit()}. ",
                Bold("Platform"),
                f": {platform.platform()}.",
            )
        )
    )
    s.add(Para((Bold("Command"), ": ", Code(ctx.command))))
    root = Path.cwd()
    rows = []
    for path, sha in ctx.inputs.items():
        p = Path(path)
        rows.append((str(p.relative_to(root)) if p.is_relative_to(root) else str(p), sha))
    s.add(
        TableBlock(
            pd.DataFrame(rows, columns=["input file", "SHA-256"]),
            "Input files and their checksums.",
            col_widths=(5, 6),
        )
    )
    if ctx.warnings:
        s.add(
            TableBlock(
                warnings_frame(ctx.warnings, ctx.design),
                "Warnings raised by the analyses while this report was built.",
                notes=(
                    "Raised while building: the report section being computed when the "
                    "warning was raised. The reanalysis of every endpoint runs once, for the "
                    "first section that shows its results (the key findings), so its warnings "
                    "are listed there.",
                ),
                col_widths=(2.2, 1.6, 7),
            )
        )
    return s


#: reader's words for the warning classes (trial_analysis.errors, Python, statsmodels)
WARNING_KINDS = {
    "StatisticalWarning": "statistical caveat",
    "ApproximationWarning": "approximation",
    "ConvergenceWarning": "model convergence",
    "SyntheticDataWarning": "synthetic data",
    "RuntimeWarning": "numerical",
    "UserWarning": "general",
    "FutureWarning": "software version",
    "ValueWarning": "model input",
    "IterationLimitWarning": "model convergence",
    "HessianInversionWarning": "model convergence",
    "PerfectSeparationWarning": "perfect separation",
}
_MAX_WARNING = 600  # characters of one message printed (a message can quote a data file)
_PY_LIST = re.compile(r"\[((?:[-\w.' ]+, )*[-\w.' ]+)\]")


def warning_sentence(message: str, design: Any = None) -> str:
    """A warning's message as a sentence in words: identifiers and Python spellings
    (lists, tuples, API pointers) put into words (:func:`.labels.plain_text`), capitalised,
    ending in a full stop, at most :data:`_MAX_WARNING` characters.

    >>> warning_sentence("MMRM omitted: needs 2 visits, got [48]; use an ANCOVA (ta.continuous)")
    'MMRM omitted: needs 2 visits, got 48; use an ANCOVA.'
    """
    from .labels import plain_text

    text = " ".join(str(message).split())  # one line: no stray newlines or indentation
    if len(text) > _MAX_WARNING:
        text = text[: _MAX_WARNING - 1].rstrip() + "…"
    text = plain_text(_PY_LIST.sub(lambda m: m.group(1).replace("'", ""), text), design)
    text = text.strip()
    if not text:
        return "(no message)"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "…", "!", "?")) else text + "."


def _warning_kind(category: str) -> str:
    if category in WARNING_KINDS:
        return WARNING_KINDS[category]
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", category.removesuffix("Warning"))
    return " ".join(w.lower() for w in words) or "general"


def warnings_frame(caught: list[tuple[str, str, str]], design: Any = None) -> pd.DataFrame:
    """The appendix table of the warnings raised while the report was built: the section
    being built, the kind of warning in words (:data:`WARNING_KINDS`), the message as a
    sentence (:func:`warning_sentence`); one row per distinct warning."""
    rows = {}
    for where, category, message in caught:
        row = (where, _warning_kind(category), warning_sentence(message, design))
        rows.setdefault(row, None)
    return pd.DataFrame(list(rows), columns=["raised while building", "kind", "warning"])


def findings_section(ctx: ReportContext) -> Section:
    """Key findings, computed by rules from the reanalysis engine's results table
    (:mod:`.findings`)."""
    from .findings import findings_section as from_frame
    from .populations import definitions

    d = ctx.design
    res = _reanalysis(ctx)
    keys = {k for k, _, _ in sections_for(ctx)}
    frame = _short_methods(res)
    s = from_frame(
        frame,
        labels={e.id: e.label for e in d.endpoints},
        primary={e.id: e.method for e in d.endpoints if e.method},
        claims=_published_claims(ctx),
        sections={e.id: e.id for e in d.endpoints if e.id in keys},
        roles={e.id: e.role for e in d.endpoints},
    )
    if ctx.ipd is not None or len(ctx.published):
        s.add(Heading("Analysis populations", 3))
        s.add(Para(definitions([(a.name, a.n_randomised) for a in d.arms])))
    return s


def _published_claims(ctx: ReportContext) -> dict[str, bool]:
    """What the paper claimed of each endpoint: significant or not, read from the published
    between-arm p-values of ``published.csv`` (one per endpoint; an endpoint whose published
    p-values disagree, or whose bound does not say, makes no claim)."""
    from ..synthetic import published_inferences

    said: dict[str, set[bool]] = {}
    for inf in published_inferences(ctx.design, ctx.published):
        if inf.significant is not None:
            said.setdefault(inf.endpoint, set()).add(inf.significant)
    return {ep: v.pop() for ep, v in said.items() if len(v) == 1}


def _short_methods(res: Any) -> pd.DataFrame:
    """The engine's results table with its long method labels short, as in the endpoint
    sections (:func:`.labels.short_analysis`)."""
    from .labels import short_analysis

    frame = res.to_frame()
    measure = {r.endpoint: getattr(r, "measure_label", "") or "" for r in res.results}
    frame["method"] = [
        short_analysis(str(m), measure.get(ep, ""))[0]
        for m, ep in zip(frame["method"], frame["endpoint"], strict=True)
    ]
    return frame


def discussion_section(ctx: ReportContext) -> Section | None:
    """The closing discussion with limitations, by rules from the results (:mod:`.discussion`)."""
    from .discussion import discussion_section as build
    from .findings import findings

    d = ctx.design
    res = _reanalysis(ctx)
    if not res.results:
        return None
    frame = _short_methods(res)
    labels = {e.id: e.label for e in d.endpoints}
    found = findings(
        frame,
        labels=labels,
        primary={e.id: e.method for e in d.endpoints if e.method},
        claims=_published_claims(ctx),
        roles={e.id: e.role for e in d.endpoints},
    )
    n_assumed = None
    if ctx.synthetic and ctx.trial_obj is not None and ctx.trial_obj.has_synthetic_model:
        from ..synthetic import model_for

        params = model_for(ctx.trial).to_frame()
        n_assumed = int(params.loc[params["provenance"] == "assumed", "parameter"].nunique())
    bad: set[tuple[str, str]] = set()
    for r in res.results:
        audit = getattr(r, "audit", None)
        if audit is not None:
            f = audit.to_frame()
            if "verdict" in f.columns:
                hit = f[f["verdict"].astype(str) == "inconsistent"]
                bad |= {
                    (str(q), str(v)) for q, v in zip(hit["quantity"], hit["reported"], strict=True)
                }
    kind = "published" if ctx.ipd is None else _data_source(ctx)
    if kind == "published" and (frame["data_source"] == "reconstructed").any():
        kind = "reconstructed"
    return build(
        res,
        frame,
        found,
        design=d,
        kind=kind,
        labels=labels,
        sections={k for k, _, _ in sections_for(ctx)},
        n_assumed=n_assumed,
        n_inconsistent=len(bad),
        planning=ctx.cache.get("planning_size"),
    )


SectionFunc = Callable[[ReportContext], "Section | None"]


def _worded_runs(text: Any, design: Any) -> Any:
    """Runs with code spellings in words (:func:`.labels.plain_text`); ``Code`` runs (commands,
    file names), references and links are kept as they are."""
    from .content import runs_of
    from .labels import plain_text

    out: list[Any] = []
    for r in runs_of(text):
        if isinstance(r, str):
            out.append(plain_text(r, design))
        elif isinstance(r, (Bold, Italic)):
            out.append(type(r)(plain_text(r.text, design)))
        else:
            out.append(r)
    return tuple(out)


def worded(sec: Section | None, design: Any) -> Section | None:
    """The report's wording pass over a built section: identifiers of the engine and of the data
    files (covariates ``BASE_<PARAMCD>``, model parameters, test ids, data-source strings,
    tuples, long floats) become words in every paragraph, caption, table cell and note."""
    import dataclasses

    from .labels import plain_text

    if sec is None:
        return None
    blocks: list[Any] = []
    for b in sec.blocks:
        if isinstance(b, Heading):
            b = dataclasses.replace(b, text=plain_text(b.text, design))
        elif isinstance(b, (Para, Callout)):
            b = dataclasses.replace(b, text=_worded_runs(b.text, design))
        elif isinstance(b, TableBlock):
            frame = b.frame.map(lambda v: plain_text(v, design) if isinstance(v, str) else v)
            b = dataclasses.replace(
                b,
                frame=frame,
                caption=_worded_runs(b.caption, design),
                notes=tuple(plain_text(n, design) for n in b.notes),
            )
        elif isinstance(b, FigureBlock):
            b = dataclasses.replace(b, caption=_worded_runs(b.caption, design))
        blocks.append(b)
    sec.blocks = blocks
    return sec


def _in_words(func: SectionFunc) -> SectionFunc:
    def run(ctx: ReportContext) -> Section | None:
        return worded(func(ctx), ctx.design)

    return run


def sections_for(ctx: ReportContext) -> list[tuple[str, str, SectionFunc]]:
    """The report's sections for this trial and the data it has, in order: findings, design,
    flow and baseline (with patient-level data), the published-number audit (with published
    numbers), one section per declared endpoint, planning, evidence (for a trial the evidence
    base lists) and reproducibility."""
    out: list[tuple[str, str, SectionFunc]] = [
        ("findings", "Key findings", findings_section),
        ("design", "Design", design_section),
    ]
    if ctx.ipd is not None:
        out.append(("flow", "Participant flow and baseline", flow_section))
    if len(ctx.published):
        out.append(("audit", "Published-number audit", audit_section))
    for ep in ctx.design.endpoints:
        title = f"{ep.label} ({ep.role})"
        out.append((ep.id, title, functools.partial(endpoint_section, endpoint=ep.id)))
    out += [
        ("planning", "Planning the next trial", planning_section),
        ("evidence", "Evidence and claims", evidence_section),
        ("discussion", "Discussion and limitations", discussion_section),
        ("reproducibility", "Reproducibility", reproducibility_section),
    ]
    # every section through the wording pass; the reproducibility appendix prints commands,
    # file names and versions as they are
    return [(k, t, f if k == "reproducibility" else _in_words(f)) for k, t, f in out]
