"""The report's time-to-event blocks: an endpoint's analyses (from patient-level data, from
patients reconstructed from a digitised published curve, with the reconstruction's diagnostics
and the audit of the published numbers, or from the published hazard ratio and CI alone, with
their audit) and the planning of the next trial on a time-to-event
endpoint (events and patients for a log-rank test, and a group-sequential alternative).

Sections only call analyses and render their results (see :mod:`.sections`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .build import ReportContext
from .content import Callout, FigureBlock, Para, Ref, Section, TableBlock, table_from

__all__ = ["planning_survival", "survival_block"]

#: the next trial's group-sequential design: as the binary/continuous planning
_LOOKS, _ALPHA, _BETA = 3, 0.025, 0.2


def survival_block(s: Section, r: Any, ctx: ReportContext) -> None:
    """One comparison of a time-to-event endpoint: the table of every analysis and the KM
    figure; for a reconstruction first its diagnostics, and last the published-number audit."""
    from .sections import _synthetic_callout

    src = r.source
    lead = []
    if r.event:
        lead.append(f"Event: {r.event}.")
    if r.unit and not r.published_only:  # published numbers alone show no times
        lead.append(f"Times in {r.unit}.")
    if lead:
        s.add(Para(" ".join(lead)))
    if r.published_only:
        _published_only_block(s, r)
        return
    if r.reconstructed:
        s.add(
            Callout(
                "Reconstructed data. The trial's patient-level data are not available: the "
                "analyses below run on patients reconstructed from the digitised published "
                "Kaplan-Meier curve and its numbers at risk (Guyot et al. 2012). They can only "
                "be as good as the digitisation.",
                "warning",
            )
        )
        s.add(
            table_from(
                r.reconstruction,
                "Reconstruction diagnostics per arm: patients, events (reconstructed and "
                "published), maximum and mean absolute difference between the reconstruction's "
                "Kaplan-Meier curve and the digitised points, and the largest difference from "
                "the published numbers at risk.",
                source="reconstructed",
            )
        )
    else:
        s.add(*_synthetic_callout(ctx))
    s.add(
        table_from(
            r,
            "Kaplan-Meier medians"
            + (" and survival at fixed times" if r.survival_at is not None else "")
            + ", hazard ratio (Cox), log-rank test, proportional-hazards test"
            + (" and RMST" if r.analysis.rmst is not None else "")
            + (" on the reconstructed patients." if r.reconstructed else "."),
            source=src,
        )
    )
    caption = "Kaplan-Meier curves with 95% CIs and the numbers at risk"
    if r.reconstructed:
        caption += (
            ", reconstructed from a digitised published curve (grey dots: the digitised points)"
        )
    s.add(FigureBlock(r.figures()["km"], caption + ".", width=0.9, source=src))
    checks = r.published_checks
    if checks is not None and len(checks):
        s.add(
            TableBlock(
                table_from(checks, "").frame,
                "Audit of the published hazard ratio, p-value and medians: their own "
                "consistency and their agreement with the reconstruction.",
                (
                    "Rows 'published: ...' check the published numbers against each other "
                    "(check_hazard_ratio); the others compare them with the reconstruction, "
                    "allowing its reading error (HR: each inside the other's CI; p: log-rank z "
                    "within 0.5; medians: within 2% of follow-up).",
                ),
                col_widths=(3.4, 1.3, 1.7, 1.5, 1.5, 1.4, 4.2),
                source="published and reconstructed",
            )
        )


#: the columns of the audit of published numbers checked against each other only
_OWN_CHECK_WIDTHS = (3.6, 1.3, 1.5, 1.5, 1.4, 5.2)


def hazard_ratio_audit(r: Any, caption: str) -> TableBlock:
    """The audit of a published hazard ratio, CI, p-value and events against each other (the
    ``published: ...`` rows of ``r.published_checks``)."""
    c = r.published_checks
    own = c.loc[c["check"].str.startswith("published: ")]
    own = own.assign(check=own["check"].str.removeprefix("published: "))
    own = own[["check", "published", "implied_low", "implied_high", "verdict", "detail"]]
    return TableBlock(
        table_from(own, "").frame,
        caption,
        (
            "implied low/high: the range the other published numbers allow, given their "
            "rounding. The SE of log HR is (log high - log low) / (2 z) of a CI symmetric on the "
            "log scale (Altman & Bland 2011); events from Schoenfeld's var(log HR) = "
            "(1 + k)^2 / (k D), consistent within ±20%.",
        ),
        col_widths=_OWN_CHECK_WIDTHS,
        source="published",
    )


def _published_only_block(s: Section, r: Any) -> None:
    """A time-to-event endpoint with published numbers only: the Wald analysis the published
    hazard ratio and CI imply, and their audit."""
    s.add(
        Callout(
            "Published numbers only. Neither the trial's patient-level data nor a digitised "
            "Kaplan-Meier curve is available: no survival curve, median or model can be "
            "recomputed. The published hazard ratio and its CI are taken as a Wald interval "
            "(symmetric on the log scale), whose implied p-value and events are checked "
            "against the published ones.",
            "warning",
        )
    )
    f = r.to_frame()
    table = f[["measure", "method", "estimate", "ci_low", "ci_high", "p_value"]]
    table = table.assign(**{"SE of log HR": f["se_log_hr"]})
    s.add(
        TableBlock(
            table_from(table, "").frame,
            f"Hazard ratio ({r.arms[0]} vs {r.arms[1]}) and its published CI; the p-value and "
            "the SE of log HR the CI implies (Wald).",
            (),
            source="published",
        )
    )
    if r.published_checks is not None and len(r.published_checks):
        verdicts = r.published_checks["verdict"]
        bad = int((verdicts == "inconsistent").sum())
        s.add(
            Para(
                (
                    f"Of {len(verdicts)} checks of the published hazard ratio, CI, p-value and "
                    f"events against each other, {bad} "
                    + ("is" if bad == 1 else "are")
                    + " inconsistent (the table is in ",
                    Ref("audit"),
                    ").",
                )
            )
        )


def _hazard_ratio(r: Any) -> tuple[float, float, float] | None:
    if r.published_only:
        x = r.to_frame().iloc[0]
        return float(x["estimate"]), float(x["ci_low"]), float(x["ci_high"])
    f = r.analysis.to_frame()
    row = f.loc[(f["measure"] == "hazard ratio (Wald CI)") & (f["group"] == str(r.arms[0]))]
    if not len(row):
        return None
    x = row.iloc[0]
    return float(x["estimate"]), float(x["ci_low"]), float(x["ci_high"])


def planning_survival(ctx: ReportContext, ep: Any) -> Section | None:
    """Events and patients for a log-rank test at the reanalysed hazard ratio and at its CI
    limit nearer to 1 (:func:`~trial_analysis.power.sample_size_survival`), and the
    group-sequential alternative (:func:`~trial_analysis.power.group_sequential_survival`,
    :func:`~trial_analysis.power.sequential_alternative`) beside the fixed design."""
    from ..power import group_sequential, group_sequential_survival, sample_size_survival
    from .sections import _reanalysis, _sequential_block

    r = _reanalysis(ctx).of(ep.id)[0]
    hr_ci = _hazard_ratio(r)
    if hr_ci is None or hr_ci[0] == 1 or not all(map(math.isfinite, hr_ci)):
        return None
    hr, lo, hi = hr_ci
    src = r.source
    unit = r.unit or "time units"
    assumptions: dict[str, float] = {}
    med = t_max = math.nan
    if not r.published_only:  # the published numbers alone give no follow-up: events only
        km = r.analysis.km.summary.set_index("group")
        med = float(km.loc[str(r.arms[1]), "median"])
        t_max = float(r.analysis.km.table["time"].max())
    # the next trial lasts as long as this one was followed: accrual over the first half,
    # follow-up over the second (assumed; stated in the text)
    if math.isfinite(med) and t_max > 0:
        assumptions = dict(median_control=med, accrual_time=t_max / 2, follow_up_time=t_max / 2)
    near = hi if hr < 1 else lo  # the CI limit nearer to no effect
    plans = [("estimate", hr)]
    if (near - 1) * (hr - 1) > 0:
        plans.append(("CI limit nearer to 1", near))
    rows = []
    for what, h in plans:
        for power in (0.8, 0.9):
            p = sample_size_survival(h, power, 0.05, **assumptions)
            rows.append(
                {
                    "planned on": what,
                    "hr": h,
                    "power": power,
                    "events": p.events,
                    "n1": p.n1,
                    "n2": p.n2,
                }
            )
    s = Section("planning", "Planning the next trial")
    basis = (
        "patients reconstructed from the digitised published curve"
        if r.reconstructed
        else "the published hazard ratio and CI"
        if r.published_only
        else "the patient-level data"
    )
    text = (
        f"How large must a confirmatory trial of the {ep.label[0].lower() + ep.label[1:]} be? "
        f"Events for a two-sided log-rank test at alpha 0.05 (Schoenfeld; 1:1) to detect the "
        f"reanalysed hazard ratio {hr:.3g} (95% CI {lo:.3g} to {hi:.3g}, from {basis}), and at "
        "its CI limit nearer to 1; planning on an estimate treats it as known."
    )
    if assumptions:
        text += (
            f" Patients assume exponential survival with the reanalysed control median "
            f"{med:.3g} {unit}, uniform accrual over {t_max / 2:.3g} {unit} and follow-up of "
            f"{t_max / 2:.3g} {unit} after the last patient (assumed: together the follow-up "
            "of the reanalysed trial), no dropout."
        )
    elif r.published_only:
        text += (
            " Patients need the control survival and the follow-up, which published numbers "
            "alone do not give: events only."
        )
    else:
        text += " The control median is not reached: events only."
    s.add(Para(text))
    frame = pd.DataFrame(rows)
    if not assumptions:
        frame = frame.drop(columns=["n1", "n2"])
    s.add(
        table_from(
            frame,
            "Events (and patients per arm) for a log-rank test from the reanalysed hazard ratio.",
            source=src,
        )
    )
    d = group_sequential(_LOOKS, _ALPHA, _BETA, futility="obrien-fleming")
    se = (math.log(hi) - math.log(lo)) / (2 * 1.959963984540054)
    _sequential_block(s, lambda x: x.sample_size_events(hr), math.log(hr), se, src)
    gss = group_sequential_survival(d, hr, **assumptions)
    s.add(
        table_from(
            gss,
            "The group-sequential survival design at the reanalysed hazard ratio: events at "
            "each analysis"
            + (
                " and its expected calendar time and patients enrolled by then."
                if assumptions
                else "."
            ),
            source=src,
        )
    )
    return s
