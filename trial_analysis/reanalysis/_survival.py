"""The engine's time-to-event analyses: one experimental arm against the control.

With patient-level data (an ADTTE data set: ``time = AVAL``, ``event = 1 - CNSR`` of the
endpoint's ``PARAMCD``): Kaplan-Meier medians per arm, survival at the endpoint's ``times``,
the hazard ratio (Cox, Wald and profile CIs), the log-rank test, the global
proportional-hazards test and, with ``tau``, the RMST difference and ratio — all from
:func:`trial_analysis.survival.analyse_time_to_event`, checked against R ``survival``. Times are
converted from the data's unit (``data_unit``, ADTTE's days by default) to the endpoint's
``unit``.

Without patient-level data, for an endpoint that declares a ``digitised`` published curve: the
patients are reconstructed (:func:`trial_analysis.survival.reconstruct`, Guyot 2012), every
analysis above runs on the reconstruction (``data_source = "reconstructed"``), and the
published hazard ratio, its CI and p-value and the medians (``published.csv``) are audited
against it.

With neither, from the published numbers alone (``data_source = "published"``): an endpoint
whose ``published.csv`` gives the hazard ratio of the comparison with its confidence interval
gets the Wald analysis those numbers imply (log-HR SE = (log U - log L) / (2 z), p =
2 Phi(-|log HR| / SE); Altman & Bland 2011) and the audit of the published HR, CI, p-value and
events against each other (:func:`trial_analysis.survival.check_hazard_ratio`: the HR at the
geometric mean of a CI symmetric on the log scale, the p the CI implies, the events its width
implies by Schoenfeld's variance).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import survival as _survival
from ..errors import AnalysisError, DataValidationError, ParameterError, PublishedDataError
from ..results import Result, frame_to_text
from ._common import (
    RECONSTRUCTED,
    data_source,
    endpoint_notes,
    ipd_population,
    pair_label,
    tidy_row,
)

__all__ = ["TimeToEventReanalysis", "analyse_time_to_event"]

#: the reading error allowed when a reconstruction is compared with published numbers (the
#: errors Guyot et al. 2012 report: hazard ratios within a few percent, medians within the
#: digitising resolution): z statistics within 0.5, medians within 2 % of the curve's length
Z_TOLERANCE = 0.5
MEDIAN_TOLERANCE = 0.02
FIGURE_LABEL = "reconstructed from a digitised published curve"


@dataclass(frozen=True, eq=False)
class TimeToEventReanalysis(Result):
    """One time-to-event endpoint, one experimental arm against the control.

    ``reconstruction`` (a :class:`~trial_analysis.survival.ReconstructionFit`) and
    ``published_checks`` (one row per audited published number) are set when the analyses run
    on patients reconstructed from a digitised published curve. From the published numbers
    alone (``source = "published"``), ``analysis`` is None, ``published_effect`` holds the
    hazard ratio row the published CI implies and ``published_checks`` its audit.
    """

    trial: str
    endpoint: str
    arms: tuple[str, str]
    analysis: Any = field(repr=False)
    synthetic: bool = False
    population: str = ""
    extra_notes: tuple[str, ...] = ()
    title: str = ""
    unit: str = ""
    event: str = ""
    survival_at: pd.DataFrame | None = field(default=None, repr=False)
    source: str = "patient-level"
    reconstruction: Any = field(default=None, repr=False)
    digitised_points: pd.DataFrame | None = field(default=None, repr=False)
    published_checks: pd.DataFrame | None = field(default=None, repr=False)
    published_effect: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        if self.analysis is None:  # the published numbers only
            return self.published_effect.copy()
        out = self.analysis.to_frame()
        if self.survival_at is not None and len(self.survival_at):
            s = self.survival_at
            extra = pd.DataFrame(
                {
                    "measure": [f"survival at {t:g} {self.unit}".rstrip() for t in s["time"]],
                    "group": s["group"].astype(str),
                    "estimate": s["survival"],
                    "ci_low": s["ci_low"],
                    "ci_high": s["ci_high"],
                    "p_value": np.nan,
                }
            )
            out = pd.concat([out, extra], ignore_index=True)
        return out

    @property
    def reconstructed(self) -> bool:
        return self.source == RECONSTRUCTED

    @property
    def published_only(self) -> bool:
        """True when the rows come from the published numbers alone (no patients)."""
        return self.analysis is None

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows for :class:`~trial_analysis.reanalysis.Reanalysis`."""
        if self.published_only:
            return [
                tidy_row(f"{r['measure']} (published numbers)", r["method"], r, "published")
                for _, r in self.to_frame().iterrows()
            ]
        basis = "reconstructed patients" if self.reconstructed else "patient-level"
        out = []
        for _, r in self.to_frame().iterrows():
            if r["measure"] in _MODEL_CHECKS:
                continue  # a check of the Cox model, not an analysis of the effect
            what = f"{r['measure']}" + (f", {r['group']}" if r["group"] else "")
            row = tidy_row(
                f"{what} ({basis}, {self.population})",
                _METHODS.get(r["measure"], _method_of(r["measure"])),
                r,
                self.source,
            )
            if r["measure"] in _TESTS:  # the estimate column holds effects, not statistics
                row["estimate"] = float("nan")
            out.append(row)
        return out

    @property
    def notes(self) -> tuple[str, ...]:
        own = self.analysis.notes if self.analysis is not None else ()
        return endpoint_notes((*self.extra_notes, *own), self.synthetic)

    def __str__(self) -> str:
        out = Result.__str__(self)
        if self.published_checks is not None and len(self.published_checks):
            out += "\n\n" + frame_to_text(
                self.published_checks, "Audit of the published numbers", (), self.digits
            )
        return out

    def figures(self) -> dict[str, Any]:
        if self.analysis is None:  # no curve to draw from published numbers alone
            return {}
        label = f"{self.unit.capitalize()} since randomisation" if self.unit else None
        fig = self.analysis.plot(**({"time_label": label} if label else {}))
        if self.digitised_points is not None:
            ax = fig.axes[0]
            p = self.digitised_points
            ax.plot(p["time"], p["survival"], ".", color="0.45", ms=2.5, zorder=1)
        return {"km": fig}


#: rows of a test statistic (chi-square), not an effect estimate
_TESTS = ("log-rank chi-square",)
_METHODS = {
    "hazard ratio (Wald CI)": "Cox proportional hazards, Wald",
    "hazard ratio (profile CI)": "Cox proportional hazards, profile likelihood",
    "log-rank chi-square": "log-rank",
    "PH test (global chi-square)": "Grambsch-Therneau (cox.zph)",
}


#: rows of the endpoint's own table left out of the engine's tidy table (shown in its section)
_MODEL_CHECKS = ("PH test (global chi-square)",)


def _method_of(measure: str) -> str:
    if measure.startswith("RMST"):
        return "RMST (as survRM2)"
    return "Kaplan-Meier" if measure.startswith(("median", "survival at")) else measure


def analyse_time_to_event(
    trial: Any, ep: Any, experimental: Any, *, ipd: Any = None, population: str | None = None
) -> TimeToEventReanalysis:
    """Reanalyse time-to-event endpoint ``ep`` (ADTTE ``PARAMCD = ep.parameter``) of ``trial``
    for ``experimental`` against the control: from the patient-level data, or else from the
    patients reconstructed from the endpoint's digitised published curve.

    Without either, from the published hazard ratio and its CI (``published.csv``) alone.

    Raises
    ------
    AnalysisError
        "nothing to analyse" without patient-level data, a digitised curve or a published
        hazard ratio with its CI.
    """
    design = trial.design
    e, c = experimental.name, design.control_arm.name
    scale = ep.time_scale
    notes: list[str] = []
    recon = points = checks = None
    if ipd is not None:
        pop = ipd_population(ep, population)
        d = ipd.time_to_event(ep.parameter, population=None if pop == "ITT" and ipd.adam else pop)
        d = d.loc[d["ARM"].isin((e, c))].copy()
        d["ARM"] = d["ARM"].astype(str)
        src = data_source(bool(ipd.synthetic))
        where = f"{src} data ({ipd.source})"
        a = d.attrs.get("analysis_set")
        if a is not None:
            notes.append(f"Analysis set: {a}")
    elif getattr(ep, "digitised", None) is not None:
        pop = ep.population or "as published"
        d, recon, points = _reconstruct(trial, ep, e, c)
        src, where = RECONSTRUCTED, _survival.RECONSTRUCTED_SOURCE
        notes.append(
            "Patients reconstructed from the digitised published Kaplan-Meier curve and its "
            "numbers at risk (Guyot 2012); not the trial's patient-level data."
        )
    else:
        pub = _published_rows(trial, ep, e, c)
        if {"hazard_ratio", "ci_low", "ci_high"} <= set(pub):
            return _published_only(trial, ep, e, c, pub)
        raise AnalysisError(
            f"endpoint {ep.id!r}: nothing to analyse (a time-to-event endpoint needs "
            "patient-level data, an ADTTE data set, a digitised published curve, or a "
            f"published hazard ratio with its CI: published.csv rows quantity={ep.id}, "
            f"arm '{e} vs {c}', statistics hazard_ratio, ci_low, ci_high)"
        )
    if scale != 1.0:
        d["time"] = d["time"] * scale
        notes.append(f"Times converted from {ep.data_unit} to {ep.unit} (x {scale:.6g}).")
    if ep.event:
        notes.insert(0, f"Event: {ep.event}.")
    covs = [v for v in ep.covariates if v in d.columns]
    strata = list(ep.strata) or None
    if recon is not None and (ep.strata or ep.covariates):
        strata = None  # a published curve has no patient characteristics: said, not hidden
        notes.append(
            "Declared strata/covariates ("
            + ", ".join((*ep.strata, *ep.covariates))
            + ") do not exist in reconstructed data: unstratified, unadjusted analyses."
        )
    res = _survival.analyse_time_to_event(
        d,
        "time",
        "event",
        "ARM",
        reference=c,
        strata=strata,
        covariates=covs,
        tau=ep.tau,
        source=where,
    )
    at = res.km.survival_at(list(ep.times)) if ep.times else None
    if recon is not None:
        checks = _audit_published(trial, ep, e, c, res, d)
    return TimeToEventReanalysis(
        trial=trial.id,
        endpoint=ep.id,
        arms=(e, c),
        analysis=res,
        synthetic=src == "synthetic",
        population=pop,
        extra_notes=tuple(notes),
        title=f"{design.short_title}: {ep.label} ({pair_label(e, c)})",
        unit=ep.unit,
        event=ep.event,
        survival_at=at,
        source=src,
        reconstruction=recon,
        digitised_points=points,
        published_checks=checks,
    )


def _reconstruct(trial: Any, ep: Any, e: str, c: str):
    """(patients with ``ARM, time, event``, ReconstructionFit, digitised points in ``unit``)."""
    from ..trial import load_digitised

    curve, at_risk, totals = load_digitised(trial, ep.id)
    files = {"curve": curve.attrs["source_file"], "at_risk": at_risk.attrs["source_file"]}
    for name, df in (("curve", curve), ("at_risk", at_risk)):
        for arm in (e, c):
            if not (df["arm"] == arm).any():
                raise DataValidationError(
                    [
                        _problem(
                            files[name], None, "arm", arm, "no rows for this arm of the comparison"
                        )
                    ]
                )
    curve = curve.loc[curve["arm"].isin((e, c))].reset_index(drop=True)
    at_risk = at_risk.loc[at_risk["arm"].isin((e, c))].reset_index(drop=True)
    totals = {a: v for a, v in totals.items() if a in (e, c)}
    try:
        ipd = _survival.reconstruct(curve, at_risk, totals or None, percent=ep.digitised.percent)
    except DataValidationError as exc:  # name the files, not the argument names
        raise DataValidationError(
            [dataclasses.replace(p, file=files.get(p.file, p.file)) for p in exc.problems]
        ) from None
    fit = ipd.attrs["fit"]
    pts = fit.points.rename(columns={"digitised": "survival"})[["arm", "time", "survival"]]
    pts = pts.assign(time=pts["time"] * ep.time_scale)
    d = pd.DataFrame({"ARM": ipd["arm"].astype(str), "time": ipd["time"], "event": ipd["event"]})
    return d, fit, pts


def _problem(file, row, column, value, rule):
    from ..errors import Problem

    return Problem(file, row, column, value, rule)


def _published_rows(trial: Any, ep: Any, e: str, c: str) -> dict[str, Any]:
    """The endpoint's published survival numbers (``quantity`` = endpoint id): between-arm
    ``hazard_ratio, ci_low, ci_high, p_value`` (arm ``"E vs C"``) and ``median`` and
    ``events`` per arm (``{arm: row}``)."""
    pub = trial.published
    if not len(pub):
        return {}
    rows = pub.loc[pub["quantity"] == ep.id]
    out: dict[str, Any] = {}
    pair = {f"{e} vs {c}", f"{e} - {c}", f"{e} / {c}"}
    for _, r in rows.iterrows():
        if r["arm"] in pair and r["statistic"] in ("hazard_ratio", "ci_low", "ci_high", "p_value"):
            out[r["statistic"]] = r
        elif r["arm"] in (e, c) and r["statistic"] in ("median", "events"):
            out.setdefault(r["statistic"], {})[r["arm"]] = r
    return out


def _printed(trial: Any, r: Any) -> float | str:
    """A published number as printed (its text with the decimals ``published.csv`` gave it,
    so that "0.70" keeps its rounding interval); the float when the decimals are unknown."""
    dec = trial.published.attrs.get("decimals")
    i = r.name
    if (
        dec is not None
        and isinstance(i, (int, np.integer))
        and 0 <= i < len(dec)
        and dec[i] is not None
    ):
        return f"{float(r['value']):.{int(dec[i])}f}"
    return float(r["value"])


def _own_checks(trial, ep, e, c, pub, n_e, n_c) -> tuple[pd.DataFrame, float, float, float, float]:
    """The published HR, CI, p-value and events checked against each other
    (:func:`~trial_analysis.survival.check_hazard_ratio`): (its table, HR, CI low, CI high,
    confidence level). Events: the digitised curve's totals, else the published per-arm
    events; the allocation ratio ``n_c / n_e``."""
    hr, lo, hi = (_printed(trial, pub[k]) for k in ("hazard_ratio", "ci_low", "ci_high"))
    level = pub["ci_low"]["conf_level"]
    level = 0.95 if pd.isna(level) else float(level)
    p = pub.get("p_value")
    p_arg = None
    if p is not None and p["relation"] in ("=", "<", "<="):
        p_arg = f"<{_printed(trial, p)}" if p["relation"] != "=" else _printed(trial, p)
    totals = dict(ep.digitised.total_events) if getattr(ep, "digitised", None) else {}
    if not all(a in totals for a in (e, c)):
        ev = pub.get("events", {})
        totals = {a: float(ev[a]["value"]) for a in (e, c) if a in ev and ev[a]["relation"] == "="}
    events = round(sum(totals[a] for a in (e, c))) if all(a in totals for a in (e, c)) else None
    try:
        own = _survival.check_hazard_ratio(
            hr, lo, hi, p_value=p_arg, events=events, conf_level=level, ratio=n_c / n_e
        ).to_frame()
    except ParameterError as exc:  # name the published row, not the argument
        raise _published_problem(trial, pub, exc) from None
    return own, float(hr), float(lo), float(hi), level


#: which published.csv statistic each check_hazard_ratio argument comes from
_ARGUMENT_ROWS = {
    "hr": "hazard_ratio",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "ci_low/ci_high": "ci_low",
    "p_value": "p_value",
    "conf_level": "ci_low",
}


def _published_problem(trial: Any, pub: dict, exc: ParameterError) -> PublishedDataError:
    """A PublishedDataError naming published.csv, the row and what was expected."""
    key = _ARGUMENT_ROWS.get(exc.parameter)
    r = pub.get(key) if key else None
    if r is None and exc.parameter == "events":
        r = next(iter(pub.get("events", {}).values()), None)
    file = str(trial.published.attrs.get("source_file", "published.csv"))
    where = f"{file}, row {int(r.name) + 2}" if r is not None else file
    what = r["statistic"] if r is not None else exc.parameter
    got = f" (got {exc.got!r})" if exc.got is not ... else ""
    return PublishedDataError(f"{where}, column value: {what} must be {exc.expected}{got}")


def _published_only(trial: Any, ep: Any, e: str, c: str, pub: dict) -> TimeToEventReanalysis:
    """The endpoint from its published HR and CI alone: the Wald analysis they imply and their
    audit (no patients, no curve; ``data_source = "published"``)."""
    design = trial.design
    n_e, n_c = design.arm(e).n_randomised, design.arm(c).n_randomised
    own, hr, lo, hi, level = _own_checks(trial, ep, e, c, pub, n_e, n_c)
    z = float(stats.norm.isf((1 - level) / 2))
    # Altman & Bland (2011): the SE of log HR from a CI symmetric on the log scale
    se = (math.log(hi) - math.log(lo)) / (2 * z)
    p_wald = float(2 * stats.norm.sf(abs(math.log(hr)) / se))
    effect = pd.DataFrame(
        [
            {
                "measure": "hazard ratio",
                "group": e,
                "method": "Wald, SE of log HR from the published CI",
                "estimate": hr,
                "ci_low": lo,
                "ci_high": hi,
                "p_value": p_wald,
                "se_log_hr": se,
                "conf_level": level,
            }
        ]
    )
    checks = pd.DataFrame(
        {
            "check": "published: " + own["check"],
            "published": own["reported"],
            "implied_low": own["implied_low"],
            "implied_high": own["implied_high"],
            "verdict": own["verdict"],
            "detail": own["detail"],
        }
    )
    notes = [
        "No patient-level data and no digitised curve: the published hazard ratio and its "
        f"{level:.0%} CI, their Wald p-value (SE of log HR = (log {hi:g} - log {lo:g}) / "
        f"(2 x {z:.4f}) = {se:.4g}) and the audit of the published HR, CI, p-value and events "
        "against each other (check_hazard_ratio)."
    ]
    if ep.event:
        notes.insert(0, f"Event: {ep.event}.")
    if "p_value" in pub:
        p = pub["p_value"]
        notes.append(
            f"Published p {p['relation']} {_printed(trial, p)}; the p the published CI implies "
            f"(Wald) is {p_wald:.3g}."
        )
    med = pub.get("median", {})
    if med:
        parts = []
        for a in (e, c):
            if a in med:
                r = med[a]
                rel = "" if r["relation"] == "=" else f"{r['relation']} "
                unit = f" {r['unit']}" if isinstance(r["unit"], str) and r["unit"] else ""
                parts.append(f"{a} {rel}{_printed(trial, r)}{unit}")
        notes.append(
            "Published medians: "
            + "; ".join(parts)
            + " (checking them needs the curve or the patient data)."
        )
    return TimeToEventReanalysis(
        trial=trial.id,
        endpoint=ep.id,
        arms=(e, c),
        analysis=None,
        population=ep.population or "as published",
        extra_notes=tuple(notes),
        title=f"{design.short_title}: {ep.label} ({pair_label(e, c)})",
        unit=ep.unit,
        event=ep.event,
        source="published",
        published_checks=checks,
        published_effect=effect,
    )


def _z_of(p: float) -> float:
    return float(stats.norm.isf(p / 2))


def _audit_published(trial, ep, e, c, res, d) -> pd.DataFrame | None:
    """Published HR / CI / p-value / medians against the reconstruction: the published numbers'
    own consistency (:func:`~trial_analysis.survival.check_hazard_ratio`) and their agreement
    with the reconstruction's Cox HR, log-rank p and Kaplan-Meier medians."""
    pub = _published_rows(trial, ep, e, c)
    if not pub:
        return None
    rows: list[dict[str, Any]] = []
    cf = res.cox.to_frame().set_index("term").loc[f"arm={e}"]
    hr_rec, lo_rec, hi_rec = cf["hazard_ratio"], cf["ci_low"], cf["ci_high"]

    def add(check, published, reconstructed, low, high, ok, detail):
        rows.append(
            dict(
                check=check,
                published=published,
                reconstructed=reconstructed,
                implied_low=low,
                implied_high=high,
                verdict="consistent" if ok else "inconsistent",
                detail=detail,
            )
        )

    if {"hazard_ratio", "ci_low", "ci_high"} <= set(pub):
        n = d.groupby("ARM").size()
        own, hr, lo, hi, _level = _own_checks(trial, ep, e, c, pub, n[e], n[c])
        for _, r in own.iterrows():
            add(
                f"published: {r['check']}",
                r["reported"],
                np.nan,
                r["implied_low"],
                r["implied_high"],
                r["verdict"] == "consistent",
                r["detail"],
            )
        add(
            "published HR vs reconstructed Cox HR",
            hr,
            hr_rec,
            lo_rec,
            hi_rec,
            lo_rec <= hr <= hi_rec and lo <= hr_rec <= hi,
            f"each HR inside the other's CI; relative difference {100 * (hr_rec / hr - 1):+.1f}%",
        )
    if "p_value" in pub:
        p = pub["p_value"]
        z_rec = _z_of(res.logrank.p_value)
        p_lo, p_hi = 2 * stats.norm.sf(z_rec + Z_TOLERANCE), 2 * stats.norm.sf(z_rec - Z_TOLERANCE)
        v = float(p["value"])
        rel = p["relation"]
        # "=": the published p inside the range; "< v": the range reaches below v; "> v": above
        ok = p_lo <= v <= p_hi if rel == "=" else (p_lo <= v if rel.startswith("<") else p_hi >= v)
        add(
            "published p-value vs reconstructed log-rank p",
            v,
            res.logrank.p_value,
            p_lo,
            min(p_hi, 1.0),
            bool(ok),
            f"published relation '{p['relation']}'; range: log-rank z of the reconstruction "
            f"± {Z_TOLERANCE}",
        )
    if "median" in pub:
        tol = MEDIAN_TOLERANCE * float(d["time"].max())
        med = {
            a: (np.nan if r["relation"] == ">" else float(r["value"]))
            for a, r in pub["median"].items()
        }
        mc = _survival.check_medians(res.km, med, tolerance=tol).to_frame()
        for _, r in mc.iterrows():
            add(
                f"median, {r['arm']}",
                r["published"],
                r["km_median"],
                r["published"] - tol if not math.isnan(r["published"]) else np.nan,
                r["published"] + tol if not math.isnan(r["published"]) else np.nan,
                r["verdict"] == "consistent",
                f"KM median of the reconstruction within the published value's rounding "
                f"± {tol:.3g} {ep.unit} ({MEDIAN_TOLERANCE:.0%} of follow-up)",
            )
    return pd.DataFrame(rows) if rows else None
