"""The report's sections, in order. Each is ``f(ctx) -> Section | None``.

A section returns ``None`` while the analysis it shows does not exist in the package (so the
report grows as analyses land); once the analysis exists, errors propagate (a reviewer-ready
report never silently drops a section). Sections only call analysis functions and turn their
result objects into blocks — no statistics are computed here.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..plots import design_timeline
from ..results import format_sci
from .build import ReportContext
from .content import (
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

__all__ = ["SECTIONS"]


def available(module: str, *attrs: str) -> bool:
    """True when ``trial_analysis.<module>`` imports and has every attribute in ``attrs``."""
    try:
        mod = importlib.import_module(f"trial_analysis.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("trial_analysis"):
            return False
        raise
    return all(hasattr(mod, a) for a in attrs)


# ------------------------------------------------------------------------------------ design
def design_section(ctx: ReportContext) -> Section:
    d = ctx.design
    s = Section("design", "Design")
    s.add(
        Para(
            f"{d.info.get('design', '').capitalize()} trial, phase {d.info.get('phase', '?')}, "
            f"{d.info.get('period', '')}. {d.n_randomised} patients randomised: "
            + ", ".join(f"{a.name} n = {a.n_randomised}" for a in d.arms)
            + ". "
            f"Dose {format_sci(d.dose.amount_per_kg)} {d.dose.unit} per {d.dose.per} ({d.dose.route}) at weeks "
            + ", ".join(map(str, d.infusion_weeks))
            + f"; follow-up {d.follow_up_weeks} weeks."
        )
    )
    dp = d.provenance_of("dose")
    if dp and dp.reason:
        s.add(Callout((Bold(f"Dose ({dp.label})."), f" {dp.reason}"), "warning"))
    s.add(
        FigureBlock(
            design_timeline(d),
            "Schedule of infusions and visits. Visit weeks are "
            + (
                d.provenance_of("schedule.visit_weeks").label
                if d.provenance_of("schedule.visit_weeks")
                else ""
            )
            + "; see Table 1 for provenance.",
            width=0.95,
            source="registry and assumed",
        )
    )
    items = d.to_frame()
    s.add(
        TableBlock(
            items,
            "Design items and their provenance (published = the paper's abstract; "
            "registry = NCT record; secondary = write-ups; derived = inferred from published text; "
            "assumed = our choice, with the reason below).",
            col_widths=(3, 7, 1.4),
        )
    )
    prov = pd.DataFrame(
        [(k, p.label, p.reason or p.source) for k, p in d.provenance.items()],
        columns=["item", "provenance", "source or reason"],
    )
    s.add(TableBlock(prov, "Sources and reasons for each design item.", col_widths=(2.2, 1.3, 8)))
    return s


# ------------------------------------------------------------------------ published numbers
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
    s.add(
        table_from(
            pub[cols].astype({"week": "object"}).fillna(""),
            "Published aggregates of the trial.",
            digits=6,
        )
    )
    notes = pub.loc[pub["note"] != "", ["quantity", "arm", "statistic", "note"]].drop_duplicates(
        "note"
    )
    if len(notes):
        s.add(
            TableBlock(
                notes.reset_index(drop=True),
                "Notes on how published numbers are read.",
                col_widths=(2, 2, 1.5, 8),
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


def flow_section(ctx: ReportContext) -> Section | None:
    if ctx.ipd is None or not available("baseline", "participant_flow"):
        return None
    from ..baseline import baseline_table, participant_flow
    from ..published import published_value

    try:
        enrolled = int(published_value(ctx.published, "enrolled", "All", None, "n"))
    except KeyError:
        enrolled = None
    flow = participant_flow(ctx.ipd, enrolled=enrolled)
    s = Section("flow", "Participant flow and baseline")
    s.add(*_synthetic_callout(ctx))
    if enrolled is not None:
        s.add(
            Para(
                f"The registry reports {enrolled} enrolled; the paper randomised {ctx.design.n_randomised}. "
                "The difference is not explained in the public record."
            )
        )
    s.add(
        FigureBlock(
            flow.plot(),
            (
                "CONSORT-style participant flow. 'Analysed (primary)' is the population of "
                "the published primary analysis; its size is inferred from the published confidence "
                "interval (",
                Ref("audit"),
                ").",
            ),
            width=0.9,
            source="registry and published and inferred and "
            + ("synthetic" if ctx.synthetic else "patient-level"),
        )
    )
    s.add(table_from(flow, "Participant flow by arm."))
    s.add(table_from(baseline_table(ctx.ipd), "Baseline characteristics by arm (Table 1)."))
    if ctx.synthetic and available("synthetic", "model_for"):
        from ..synthetic import model_for

        params = model_for(ctx.trial).to_frame()
        params = params.loc[params["provenance"] != "published"].astype({"value": str})
        s.add(
            TableBlock(
                params[["parameter", "arm", "value", "provenance", "source"]].reset_index(
                    drop=True
                ),
                (
                    "Synthetic cohort: the generative model's values that are not published (assumed, "
                    "with the reason, or derived). Published values are read from the published table (",
                    Ref("audit"),
                    ").",
                ),
                col_widths=(2.2, 1.2, 1.2, 1.1, 7),
            )
        )
    return s


# ------------------------------------------------------------------------- published audit
def _published_has(ctx: ReportContext, *quantities: str) -> bool:
    """Whether the trial published these quantities (sections for other trials skip themselves)."""
    return set(quantities) <= set(ctx.published["quantity"])


def _composite_counts(ctx: ReportContext):
    """Counts reproducing the published primary percentages and CI (cached: several sections use them).

    ``None`` when the trial has no composite endpoint or published no percentages for it.
    """
    from ..consistency import published_counts
    from ..errors import AnalysisError, ParameterError

    def compute():
        try:
            return published_counts(ctx.trial, "composite")
        except (AnalysisError, ParameterError):
            return None

    return ctx.cached("composite_counts", compute)


def audit_section(ctx: ReportContext) -> Section | None:
    if not available("consistency", "infer_counts"):
        return None
    s = Section("audit", "Published-number audit")
    _published_tables(s, ctx)
    s.add(
        Para(
            "Do the published numbers fit together? Each check recomputes a reported number from the others; "
            "'inconsistent' means no reading within rounding reproduces it, 'conditional' that it holds only "
            "under a stated assumption."
        )
    )
    counts = _composite_counts(ctx)
    if counts is None:
        pass
    elif len(counts):
        s.add(Heading("Denominators of the primary endpoint"))
        found = "; ".join(
            f"{r.x1}/{r.n1} vs {r.x2}/{r.n2} by the {r.method_label} interval"
            for r in counts.itertuples()
        )
        s.add(
            Para(
                (
                    "Enumerating every count and denominator up to the randomised sizes, the published "
                    "percentages and 95% CI are reproduced only by: ",
                    Bold(found),
                    ".",
                )
            )
        )
        d = ctx.design
        for r in counts.itertuples():
            for n, arm in ((r.n1, d.experimental_arm), (r.n2, d.control_arm)):
                if n < arm.n_randomised:
                    s.add(
                        Callout(
                            f"{arm.n_randomised - n} randomised {arm.name} patient(s) were not in the published "
                            f"primary analysis ({n} of {arm.n_randomised}).",
                            "warning",
                        )
                    )
    else:
        s.add(
            Para(
                "No counts up to the randomised sizes reproduce the published percentages and interval."
            )
        )
    if counts is not None:
        s.add(
            table_from(
                counts, "Counts that reproduce the published primary-endpoint percentages and CI."
            )
        )
    if available("consistency", "audit_summaries") and _published_has(
        ctx, "hba1c", "insulin_reduction"
    ):
        from ..consistency import audit_summaries

        audit = ctx.cached("audit_summaries", lambda: audit_summaries(ctx.trial))
        s.add(Heading("Means, SDs, changes and p-values"))
        frame = audit.to_frame()
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
                col_widths=(3.2, 1.8, 2.4, 1.2, 5.5),
            )
        )
    return s


# ------------------------------------------------------------------ primary composite
_COMPARE_COLUMNS = ["quantity", "method", "estimate", "ci_low", "ci_high", "p_value", "reference"]


def composite_section(ctx: ReportContext) -> Section | None:
    if not available("composite", "reanalyze") or _composite_counts(ctx) is None:
        return None
    from ..composite import reanalyze

    res = ctx.cached("composite", lambda: reanalyze(ctx.trial, ipd=ctx.ipd, seed=ctx.seed))
    figs = res.figures()
    c = res.counts.iloc[0] if len(res.counts) else None
    s = Section("composite", "Primary composite endpoint")
    if c is not None:
        s.add(
            Para(
                (
                    "The reanalysis uses the counts the published numbers imply: ",
                    Bold(f"{c.x1}/{c.n1} vs {c.x2}/{c.n2}"),
                    " (",
                    Ref("audit"),
                    "). Every test and interval a reviewer might use is computed on them; the "
                    "conclusion's dependence on the test, on the non-analysed patients and on the prior follows.",
                )
            )
        )
    s.add(Heading("Tests and intervals"))
    s.add(
        table_from(
            res.comparison,
            "Two proportions: every test and interval, with its reference.",
            columns=_COMPARE_COLUMNS,
        )
    )
    s.add(
        FigureBlock(
            figs["intervals"],
            "Intervals by method for the risk difference, relative risk and odds ratio.",
            width=0.9,
            source="inferred",
        )
    )
    s.add(Heading("Fragility"))
    s.add(
        table_from(
            res.fragility,
            "Fragility index and quotient by test (Walsh et al. 2014); reverse fragility "
            "when the test is not significant.",
        )
    )
    s.add(Heading("Patients not analysed"))
    s.add(
        table_from(
            res.sensitivity, "Sensitivity to the outcomes of the randomised patients left out."
        )
    )
    s.add(
        FigureBlock(
            figs["sensitivity"],
            "Risk difference with its interval under each missing-data scenario.",
            width=0.75,
            source="inferred",
        )
    )
    s.add(
        table_from(
            res.tipping, "Tipping-point grid over the outcomes of the non-analysed patients."
        )
    )
    s.add(
        FigureBlock(
            figs["tipping_point"],
            "Tipping-point map: p-value for each number of responders among the "
            "non-analysed patients.",
            width=0.75,  # its designed width: the cell labels collide if narrowed
            source="inferred",
        )
    )
    s.add(Heading("Bayesian reanalysis"))
    s.add(
        table_from(
            res.bayes,
            "Posterior of the risk difference, relative risk and odds ratio under four priors.",
        )
    )
    s.add(
        FigureBlock(
            figs["bayes"],
            "Prior and posterior densities of the risk difference.",
            width=0.8,
            source="inferred",
        )
    )
    if res.firth is not None:
        s.add(Heading("Adjusted analysis of the patient-level data"))
        s.add(*_synthetic_callout(ctx))
        s.add(
            table_from(
                res.firth,
                "Firth penalised logistic regression of the composite on arm, adjusted for "
                "baseline HbA1c and insulin dose.",
            )
        )
    s.add(Para((Italic("Notes."), " " + " ".join(n for n in res.notes if "SYNTHETIC" not in n))))
    return s


# ------------------------------------------------------------------ insulin and HbA1c
_SECTION_CAPTIONS = {
    "summary_tests": "Between-arm tests from the published summary statistics",
    "sd_sensitivity": "p-value of the between-arm difference as a function of the unpublished SD",
    "rho": "Pre-post correlations ρ that reproduce the published between-group p",
    "ipd": "Patient-level analyses",
    "mmrm": "Mixed model for repeated measures: arm difference by visit",
    "missing": "Missing-data sensitivity: multiple imputation under MAR, jump-to-reference (J2R) and "
    "copy-reference (CR), Rubin's rules",
}
_FIGURE_CAPTIONS = {
    "sd_curve": "p-value of the insulin-reduction comparison against the assumed common SD; the claim "
    "'p < 0.05' holds left of the marked SD.",
    "rho_curve": "Between-group p-value of the HbA1c change against the unknown pre-post correlation ρ, "
    "for each reading of the published numbers; the published p = 0.0081 is marked.",
    "mmrm_trajectory": "LS-means by visit and arm from the MMRM (unstructured covariance, REML), with 95% CIs.",
    "tipping_point": "Delta-adjusted tipping point: p-value as the values imputed in the experimental arm "
    "are shifted by delta.",
}

# figures computed from the published summaries; the others use the patient-level data
_FIGURE_SOURCES = {"sd_curve": "published", "rho_curve": "published"}
# printed at the designed width where hand-placed text (the ρ curve's legend) would collide
_FIGURE_WIDTHS = {"rho_curve": 0.95}


def _glycaemic_block(s: Section, res, heading: str) -> None:
    s.add(Heading(heading))
    figs = res.figures()
    for name, df in res.sections.items():
        if name == "published":
            continue
        if name in ("ipd", "mmrm", "missing") and res.synthetic:
            s.add(
                Callout(("Patient-level rows below: ", Bold("synthetic cohort"), "."), "synthetic")
            )
        s.add(
            table_from(df, _SECTION_CAPTIONS.get(name, name.replace("_", " ").capitalize()) + ".")
        )
        for fig_name, after in (
            ("sd_curve", "sd_sensitivity"),
            ("rho_curve", "rho"),
            ("mmrm_trajectory", "mmrm"),
            ("tipping_point", "missing"),
        ):
            if name == after and fig_name in figs:
                s.add(
                    FigureBlock(
                        figs[fig_name],
                        _FIGURE_CAPTIONS[fig_name],
                        width=_FIGURE_WIDTHS.get(fig_name, 0.75),
                        source=_FIGURE_SOURCES.get(fig_name)
                        or ("synthetic" if getattr(res, "synthetic", False) else "patient-level"),
                    )
                )
    if res.findings:
        f = pd.concat([x.to_frame() for x in res.findings], ignore_index=True)
        s.add(
            TableBlock(
                f[["quantity", "reported", "recomputed", "verdict"]],
                ("Consistency findings for this endpoint (details in ", Ref("audit"), ")."),
                col_widths=(4, 2, 3, 1.3),
            )
        )
    s.add(Para((Italic("Notes."), " " + " ".join(n for n in res.notes if "SYNTHETIC" not in n))))


def glycaemic_section(ctx: ReportContext) -> Section | None:
    if not available("glycaemic", "reanalyze_insulin", "reanalyze_hba1c") or not _published_has(
        ctx, "insulin_reduction", "hba1c"
    ):
        return None
    from ..glycaemic import reanalyze_hba1c, reanalyze_insulin

    s = Section("glycaemic", "Insulin reduction and HbA1c")
    s.add(
        Para(
            "Each endpoint is re-tested twice: from the published summary statistics (no patient data), "
            "and from the patient-level data (ANCOVA, nonparametric, bootstrap and MMRM)."
        )
    )
    s.add(*_synthetic_callout(ctx))
    ins = ctx.cached("insulin", lambda: reanalyze_insulin(ctx.trial, ipd=ctx.ipd, seed=ctx.seed))
    _glycaemic_block(s, ins, "Percentage reduction in daily insulin dose (key secondary)")
    hb = ctx.cached("hba1c", lambda: reanalyze_hba1c(ctx.trial, ipd=ctx.ipd, seed=ctx.seed))
    _glycaemic_block(s, hb, "HbA1c")
    return s


# ------------------------------------------------------------------ planning the next trial
PLANNING_TESTS = ("fisher", "chisq", "normal_pooled", "normal_cc")


def planning_section(ctx: ReportContext) -> Section | None:
    if not available(
        "power", "power_curve", "sample_size", "assurance", "exact_power"
    ) or not available("consistency", "infer_counts"):
        return None
    from ..power import assurance, exact_power, group_sequential, power_curve, sample_size

    counts = _composite_counts(ctx)
    if counts is None or not len(counts):
        return None
    r = counts.iloc[0]
    x1, n1, x2, n2 = int(r.x1), int(r.n1), int(r.x2), int(r.n2)
    p1, p2 = x1 / n1, x2 / n2
    s = Section("planning", "Planning the next trial")
    s.add(
        Para(
            f"How large must a confirmatory trial of the composite endpoint be? Planning on the observed "
            f"proportions {x1}/{n1} = {100 * p1:.1f}% vs {x2}/{n2} = {100 * p2:.2f}% treats them as known; the "
            "assurance below averages the power over their posterior instead. Two-sided alpha = 0.05."
        )
    )
    curve = power_curve(p1, p2, range(20, 201, 5), list(PLANNING_TESTS), target=0.8)
    s.add(
        FigureBlock(
            curve.plot(),
            "Power by sample size per arm (1:1) for exact and approximate tests at the "
            "observed proportions; exact power is computed by enumerating every table (no simulation "
            "error) and shows the saw-tooth of discrete tests.",
            width=0.8,
            source="inferred",
        )
    )
    rows = []
    for t in (*PLANNING_TESTS, "arcsine"):
        for target in (0.8, 0.9):
            ss = sample_size(p1, p2, power=target, test=t)
            rows.append(ss.to_frame().iloc[0])
    table = pd.DataFrame(rows).reset_index(drop=True)
    s.add(
        table_from(
            table,
            "Sample size per arm for 80% and 90% power. For exact tests n1_first is the first n "
            "reaching the target and n1 the smallest n beyond which power never drops below it "
            "(up to n_max).",
        )
    )
    n_fisher = int(
        table.loc[
            (table["test"].astype(str).str.contains("isher")) & (table["target_power"] == 0.8), "n1"
        ].iloc[0]
    )
    bos = exact_power(p1, p2, n_fisher, n_fisher, test="boschloo")
    fis = exact_power(p1, p2, n_fisher, n_fisher, test="fisher")
    s.add(
        Para(
            f"At {n_fisher} per arm, exact power is {fis.power:.3f} for Fisher's test (actual size "
            f"{fis.size:.4f}) and {bos.power:.3f} for Boschloo's unconditional test (actual size {bos.size:.4f})."
        )
    )
    a = assurance(x1, n1, x2, n2, [50, 75, 100, 150, 200], seed=ctx.seed)
    s.add(table_from(a, "Assurance (probability of success) beside power at the point estimate."))
    if hasattr(a, "plot"):
        s.add(
            FigureBlock(
                a.plot(),
                "Power at the point estimate and assurance by planned size per arm.",
                width=0.7,
                source="inferred",
            )
        )
    gs = group_sequential(3)
    s.add(
        table_from(
            gs,
            "A three-stage group-sequential alternative (Lan-DeMets O'Brien-Fleming-type spending, "
            "one-sided alpha 0.025, power 0.8): boundaries and exit probabilities.",
        )
    )
    return s


# ------------------------------------------------------------------ evidence and claims
def evidence_section(ctx: ReportContext) -> Section | None:
    if not available("claims", "audit_report") or ctx.design.id != "zang2022":
        return None
    from ..claims import audit_report

    rep = ctx.cached("claims", audit_report)
    s = Section("evidence", "Evidence and claims")
    s.add(
        Para(
            "The trial in the context of the other controlled trials of cell therapy in type 2 diabetes, and an "
            "audit of a commercial clinic's claims against that evidence (verdict rules in "
            "docs/claims-verdicts.md). Zang 2022 and its 2023 CGM companion probably share patients: "
            "only Zang 2022 is pooled."
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
                "Pooled between-arm HbA1c difference (MSC minus control, percentage points).",
                columns=[c for c in cols if c in pooled.to_frame()],
            )
        )
        s.add(
            FigureBlock(
                pooled.forest_plot(),
                "Forest plot of the between-arm HbA1c differences, with the "
                "pooled estimate and its prediction interval.",
                width=1.0,
                source="published",
            )
        )
    tab = rep.table
    s.add(
        TableBlock(
            tab[["id", "claim", "verdict", "reason"]],
            "Audit of the clinic's claims.",
            tuple(rep.caveats) if getattr(rep, "caveats", None) else (),
            col_widths=(0.6, 4, 1.4, 6),
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
                pd.DataFrame({"warning": ctx.warnings}),
                "Warnings raised by the analyses while this report was built.",
                col_widths=(1,),
            )
        )
    return s


def findings_section(ctx: ReportContext) -> Section:
    """Key findings, computed by rules from the reanalysis engine's results table
    (:mod:`.findings`); listed first once the engine (``ta.reanalyze``) exists."""
    from ..reanalysis import reanalyze
    from .findings import findings_section as from_frame

    d = ctx.design
    res = ctx.cached("reanalysis", lambda: reanalyze(d, ipd=ctx.ipd, seed=ctx.seed))
    keys = {k for k, _, _ in SECTIONS}
    return from_frame(
        res.to_frame(),
        labels={e.id: e.label for e in d.endpoints},
        primary={e.id: e.method for e in d.endpoints if e.method},
        sections={e.id: e.id for e in d.endpoints if e.id in keys},
    )


SECTIONS: list[tuple[str, str, Callable[[ReportContext], Section | None]]] = [
    *(
        [("findings", "Key findings", findings_section)]
        if available("reanalysis", "reanalyze")
        else []
    ),
    ("design", "Design", design_section),
    ("flow", "Participant flow and baseline", flow_section),
    ("audit", "Published-number audit", audit_section),
    ("composite", "Primary composite endpoint", composite_section),
    ("glycaemic", "Insulin reduction and HbA1c", glycaemic_section),
    ("planning", "Planning the next trial", planning_section),
    ("evidence", "Evidence and claims", evidence_section),
    ("reproducibility", "Reproducibility", reproducibility_section),
]
