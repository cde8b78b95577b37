"""The engine's continuous-endpoint analyses: one experimental arm against the control.

1. **From what was published** (whatever rows the endpoint declares): t-tests from the reported
   means and SDs (or at assumed SDs when none is published), the SD a published "p < bound"
   needs, the pre-post correlation a published p implies, and every consistency finding of
   :func:`trial_analysis.consistency.audit_summaries`.
2. **From patient-level data**: ANCOVA adjusted for baseline and the declared covariates
   (model-based and HC3 SEs), Welch, Mann–Whitney with the Hodges–Lehmann shift, BCa bootstrap,
   the MMRM by visit (:mod:`trial_analysis.mmrm`, unstructured covariance, all arms in one fit)
   and multiple imputation under MAR, J2R and CR with the delta-adjusted tipping point
   (:mod:`trial_analysis.missing`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import continuous as cont
from .. import missing as _missing
from .. import mmrm as _mmrm_family
from ..consistency.summaries import Finding, SummaryAudit, audit_summaries
from ..errors import AnalysisError, StatisticalWarning
from ..published import published_value
from ..results import SYNTHETIC_NOTE, Result, frame_to_text, to_jsonable
from ._common import (
    attempt,
    data_source,
    endpoint_notes,
    ipd_population,
    pair_label,
    tidy_row,
    with_subject_columns,
)

__all__ = ["ContinuousReanalysis", "analyse_continuous"]

_COLUMNS = ["analysis", "estimate", "ci_low", "ci_high", "p_value", "se", "n1", "n2", "detail"]
MI_METHODS = ("MAR", "J2R", "CR")
_MEASURE_COLUMN = {"value": "AVAL", "chg": "CHG", "pchg": "PCHG"}
#: sections computed from published numbers (the rest come from patient-level data)
PUBLISHED_SECTIONS = ("published", "summary_tests", "sd_sensitivity", "rho")
#: what each estimate table is, in words (the ``analysis`` column of the engine's tidy table)
SECTION_LABELS = {
    "summary_tests": "between-arm test from published summaries",
    "ipd": "between-arm comparison at the endpoint visit",
    "mmrm": "mixed model for repeated measures, by visit",
    "missing": "multiple imputation (missing-data sensitivity)",
}


@dataclass(frozen=True, eq=False)
class ContinuousReanalysis(Result):
    """One continuous endpoint, one experimental arm against the control.

    Attributes
    ----------
    trial, endpoint : str
    arms : tuple of str
    sections : dict[str, DataFrame]
        Ordered tables: ``published``, ``summary_tests``, ``sd_sensitivity`` or ``rho``, and with
        patient data ``ipd``, ``mmrm`` and ``missing``. Every estimate table has
        ``analysis, estimate, ci_low, ci_high, p_value, se, n1, n2, detail``.
    findings : tuple of Finding
        The consistency findings for this endpoint.
    audit : SummaryAudit
    """

    trial: str
    endpoint: str
    arms: tuple[str, str]
    sections: dict[str, pd.DataFrame] = field(repr=False)
    findings: tuple[Finding, ...] = field(repr=False)
    audit: SummaryAudit | None = field(default=None, repr=False)
    synthetic: bool = False
    ipd_source: str = ""
    population: str = ""
    measure_label: str = ""
    extra_notes: tuple[str, ...] = ()
    title: str = ""
    mmrm_fit: Any = field(default=None, repr=False, compare=False)
    tipping: Any = field(default=None, repr=False, compare=False)
    #: (AVISITN, study week) of the design's visits, for the trajectory figure's axis
    visit_weeks: tuple[tuple[float, float], ...] = field(default=(), repr=False, compare=False)
    #: (AVISITN, label) of the design's visits (``TrialDesign.visit_label``), for its ticks
    visit_labels: tuple[tuple[float, str], ...] = field(default=(), repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """All estimate tables stacked, with a ``section`` column (published values excluded)."""
        frames = [
            df.assign(section=name)
            for name, df in self.sections.items()
            if "analysis" in df.columns and len(df)
        ]
        if not frames:
            return pd.DataFrame(columns=["section", *_COLUMNS])
        out = pd.concat(frames, ignore_index=True)
        return out[["section", *[c for c in out.columns if c != "section"]]]

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows for :class:`~trial_analysis.reanalysis.Reanalysis`."""
        src = data_source(self.synthetic)
        out = []
        for _, r in self.to_frame().iterrows():
            out.append(
                tidy_row(
                    SECTION_LABELS.get(r["section"], str(r["section"])),
                    r["analysis"],
                    r,
                    "published" if r["section"] in PUBLISHED_SECTIONS else src,
                )
            )
        return out

    @property
    def notes(self) -> tuple[str, ...]:
        return endpoint_notes(self.extra_notes, self.synthetic)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "trial": self.trial,
            "endpoint": self.endpoint,
            "arms": list(self.arms),
            "sections": {k: to_jsonable(v) for k, v in self.sections.items()},
            "findings": [to_jsonable(f.to_frame().iloc[0].to_dict()) for f in self.findings],
            "notes": list(self.notes),
        }

    def figures(self) -> dict[str, Any]:
        """Named Figures: the SD-sensitivity or ρ curve, the MMRM trajectory, the tipping point."""
        out: dict[str, Any] = {}
        if self.audit is not None:
            if self.endpoint in self.audit.sd_by_endpoint:
                out["sd_curve"] = self.audit.sd_by_endpoint[self.endpoint].plot()
            if self.endpoint in self.audit.rho_by_endpoint:
                out["rho_curve"] = self.audit.rho_by_endpoint[self.endpoint].plot()
        if self.mmrm_fit is not None:
            fitted = set(self.mmrm_fit.visits)  # the axis names the visits it shows
            xlabel, ticks = _visit_axis({v: t for v, t in self.visit_labels if v in fitted})
            out["mmrm_trajectory"] = self.mmrm_fit.plot(
                xlabel=xlabel,
                ylabel=f"LS-mean {self.measure_label}",
                times=dict(self.visit_weeks) or None,
                labels=ticks or None,
            )
        if self.tipping is not None:
            out["tipping_point"] = self.tipping.plot()
        return out

    def __str__(self) -> str:
        parts = [self.title, "=" * len(self.title)]
        for name, df in self.sections.items():
            parts += ["", frame_to_text(df, name.replace("_", " ").capitalize(), (), self.digits)]
        if self.findings:
            f = pd.concat([x.to_frame() for x in self.findings], ignore_index=True)
            parts += ["", frame_to_text(f[["id", "reported", "recomputed", "verdict"]], "Findings")]
        parts += [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)


# --------------------------------------------------------------------------- helpers
def _row(analysis, est, lo, hi, p, se, n1, n2, detail="") -> dict[str, Any]:
    return dict(
        analysis=analysis,
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        se=se,
        n1=n1,
        n2=n2,
        detail=detail,
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=_COLUMNS)


def _ttest_row(label: str, t: Any, k1: int, k2: int) -> dict[str, Any]:
    return _row(
        label,
        t.estimate,
        t.ci_low,
        t.ci_high,
        t.p_value,
        t.se,
        k1,
        k2,
        f"Hedges g {t.hedges.estimate:.3f} ({t.hedges.ci_low:.3f} to {t.hedges.ci_high:.3f})",
    )


def _measure_label(design: Any, ep: Any) -> str:
    try:
        p = design.parameter(ep.parameter)
        name, unit = p.label, p.unit
    except KeyError:
        name, unit = ep.parameter, ""
    what = {"value": "", "chg": "change in ", "pchg": "% change in "}[ep.measure]
    if ep.negate:
        what = {"value": "minus ", "chg": "reduction in ", "pchg": "% reduction in "}[ep.measure]
    if ep.measure == "pchg":  # the "%" is in the words
        unit = ""
    if what and name[:1].isupper() and not name[1:2].isupper():
        name = name[0].lower() + name[1:]
    return f"{what}{name}" + (f" ({unit})" if unit else "")


def _published_rows(pub: pd.DataFrame, quantities: tuple[str, ...]) -> pd.DataFrame:
    m = pub["quantity"].isin(quantities)
    cols = ["quantity", "arm", "week", "statistic", "relation", "value", "unit", "label"]
    return pub.loc[m, cols].reset_index(drop=True)


# --------------------------------------------------------------------------- published part
def _summary_part(trial, ep, e, c, n1, n2, notes, sections) -> tuple[SummaryAudit, tuple]:
    design, pub = trial.design, trial.published
    audit = audit_summaries(trial, n1=n1, n2=n2, experimental=e, endpoints=[ep.id])
    k1, k2 = audit.denominators
    quantities = tuple(
        q for q in (ep.published_quantity("level"), ep.published_quantity("change")) if q
    )
    if pub.empty or not pub["quantity"].isin(quantities).any():
        return audit, ()
    sections["published"] = _published_rows(pub, quantities)
    notes.append(f"Summary-level tests use n = {k1}/{k2} ({audit.denominator_source}).")
    rows = []
    lq = ep.published_quantity("level")
    base_week = min(design.visit_weeks)
    for week, what in ((ep.week, f"week-{ep.week} value"), (base_week, "baseline (balance)")):
        try:
            v = [published_value(pub, lq, a, week, s) for a in (e, c) for s in ("mean", "sd")]
        except KeyError:
            continue
        for eq in (True, False):
            t = cont.ttest_from_summary(v[0], v[1], k1, v[2], v[3], k2, equal_var=eq)
            rows.append(_ttest_row(f"{'Student' if eq else 'Welch'} t, {what}", t, k1, k2))
    cq = ep.published_quantity("change")
    if not rows and ep.id in audit.sd_by_endpoint:
        m1 = published_value(pub, cq, e, ep.week, "mean")
        m2 = published_value(pub, cq, c, ep.week, "mean")
        sds = ep.assumed_sds
        if not sds:  # none declared: around the SD the published p needs
            sd_max = audit.sd_by_endpoint[ep.id].sd_max
            sds = tuple(float(f"{sd_max * f:.3g}") for f in (0.5, 0.75, 1.0, 1.25, 1.5))
        notes.append(
            "No SD is published: t-tests are shown at assumed SDs, equal in both arms ("
            + ", ".join(f"{s:g}" for s in sds)
            + ")."
        )
        for sd in sds:
            for eq in (True, False):
                t = cont.ttest_from_summary(m1, sd, k1, m2, sd, k2, equal_var=eq)
                rows.append(
                    _ttest_row(f"{'Student' if eq else 'Welch'} t, assumed SD {sd:g}", t, k1, k2)
                )
        sections["summary_tests"] = _frame(rows)
        sd_res = audit.sd_by_endpoint[ep.id]
        sections["sd_sensitivity"] = pd.DataFrame(
            [
                {
                    "quantity": "largest SD with p < 0.05 (Student t)",
                    "value": sd_res.sd_max,
                    "n1": k1,
                    "n2": k2,
                }
            ]
        )
    elif rows:
        sections["summary_tests"] = _frame(rows)
    if ep.id in audit.rho_by_endpoint:
        r = audit.rho_by_endpoint[ep.id]
        sections["rho"] = r.to_frame()
        notes += list(r.notes)
    return audit, tuple(f for f in audit.findings if f.id.startswith(f"{ep.id}_"))


# --------------------------------------------------------------------------- patient-level part
def _two_samples(df: pd.DataFrame, col: str, arms: tuple[str, str]):
    x = df.loc[df["ARM"] == arms[0], col].dropna().to_numpy(float)
    y = df.loc[df["ARM"] == arms[1], col].dropna().to_numpy(float)
    for a, v in zip(arms, (x, y), strict=True):
        if v.size == 0:
            raise AnalysisError(f"arm {a!r} has no patients with a value of {col!r}")
    return x, y


def _ancova_rows(df, specs, arms, notes, shared, covariates=()) -> list[dict[str, Any]]:
    """ANCOVA rows of ``arms = (experimental, control)`` from one model over every arm in
    ``df`` (the residual variance pooled over all arms, as R ``lm``), fitted once per endpoint
    and shared between its comparisons."""
    e, c = arms
    rows = []
    for alabel, y, base in specs:
        key = ("ancova", alabel)
        if key not in shared:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", StatisticalWarning)
                shared[key] = attempt(
                    notes,
                    f"ANCOVA ({alabel})",
                    lambda y=y, base=base: cont.ancova(
                        df, y, base, "ARM", control=c, covariates=covariates
                    ),
                )
            for w in caught:  # keep the warning for the caller and the caveat in the notes
                notes.append(str(w.message))
                warnings.warn(str(w.message), w.category, stacklevel=3)
        res = shared[key]
        if res is None:
            continue
        t = res.to_frame()
        for _, r in t.loc[t["comparison"] == f"{e} - {c}"].iterrows():
            rows.append(
                _row(
                    f"ANCOVA {alabel}, {r['se_type']} SE",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["p_value"],
                    r["se"],
                    res.n.get(e, res.n1),
                    res.n.get(c, res.n2),
                    f"t({r['df']:.0f})",
                )
            )
    return rows


def _two_sample_rows(df, outcome, label, arms, seed, notes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    pair = attempt(notes, f"{label} two-sample tests", lambda: _two_samples(df, outcome, arms))
    if pair is None:
        return rows
    x, y = pair
    w = attempt(notes, "Welch t", lambda: cont.welch(x, y))
    if w is not None:
        rows.append(
            _row(
                f"Welch t, {label}",
                w.estimate,
                w.ci_low,
                w.ci_high,
                w.p_value,
                w.se,
                w.n1,
                w.n2,
                f"df {w.df:.1f}; Hedges g {w.hedges.estimate:.3f}",
            )
        )
    mw = attempt(notes, "Mann-Whitney", lambda: cont.mann_whitney(x, y))
    if mw is not None:
        rows.append(
            _row(
                f"Mann-Whitney / Hodges-Lehmann shift, {label}",
                mw.estimate,
                mw.ci_low,
                mw.ci_high,
                mw.p_value,
                math.nan,
                mw.n1,
                mw.n2,
                f"W = {mw.statistic:g}; {'exact' if mw.exact else 'normal approx.'}; "
                "no SE (rank-based)",
            )
        )
    bs = attempt(
        notes, "BCa bootstrap", lambda: cont.bootstrap_bca(x, y, n_resamples=4999, seed=seed)
    )
    if bs is not None:
        rows.append(
            _row(
                f"Bootstrap BCa, mean difference, {label}",
                bs.estimate,
                bs.ci_low,
                bs.ci_high,
                math.nan,
                bs.standard_error,
                len(x),
                len(y),
                f"{bs.n_resamples} resamples within arms, seed {seed}; no p-value",
            )
        )
    return rows


def _long(ipd, ep, sign: float, arms, population: str) -> pd.DataFrame:
    """Post-baseline rows of the endpoint's parameter with ``y = sign * measure``."""
    if ipd.adam:
        # the ADaM record rules (population, ANL01FL, DTYPE, scheduled visits), visits up to
        # the endpoint's
        m = ipd.analysis_set(ep.parameter, population=population)
        m = m.loc[m["AVISITN"] <= ep.avisitn].copy()
        m["ARM"] = m["ARM"].astype(str)
    else:
        subj = ipd.population(population)[["USUBJID", "ARM"]]
        m = ipd.measurements
        base_week = min(ipd.design.visit_weeks)
        m = m.loc[
            (m["PARAMCD"] == ep.parameter) & (m["AVISITN"] > base_week) & (m["AVISITN"] <= ep.week)
        ].merge(subj, on="USUBJID")
    m = m.assign(y=sign * m[_MEASURE_COLUMN[ep.measure]]).dropna(subset=["BASE"])
    order = {a: i for i, a in enumerate(arms)}
    m = m.loc[m["ARM"].isin(arms)]
    m = m.iloc[
        np.lexsort(
            (
                m["AVISITN"].to_numpy(),
                m["USUBJID"].astype(str).to_numpy(),
                m["ARM"].map(order).to_numpy(),
            )
        )
    ]
    m.attrs["synthetic"] = bool(ipd.synthetic)
    return m


def _mmrm(ipd, ep, sign, arms, control, population, notes, label):
    """One MMRM over every arm (reference = control): the variance is pooled across arms;
    adjusted for the baseline and the endpoint's other declared covariates."""
    m = _long(ipd, ep, sign, arms, population)
    declared = [v for v in ep.covariates if v != f"BASE_{ep.parameter}"]
    covs: list[str] = []
    if declared:
        m = with_subject_columns(ipd, m, declared)
        covs = [v for v in declared if v in m.columns]
        gone = [v for v in declared if v not in m.columns]
        if gone:
            notes.append(f"MMRM: declared covariates not in the patient data: {', '.join(gone)}.")
        if covs:
            full = m.dropna(subset=covs)
            if len(full) < len(m):
                lost = m["USUBJID"].nunique() - full["USUBJID"].nunique()
                notes.append(
                    f"MMRM: {lost} subject(s) with a missing {' or '.join(covs)} left out."
                )
            m = full
    res = attempt(
        notes,
        "MMRM",
        lambda: _mmrm_family.fit(
            m,
            outcome="y",
            subject="USUBJID",
            visit="AVISITN",
            arm="ARM",
            baseline="BASE",
            covariance="unstructured",
            reference=control,
            fallback=("toeph", "ar1h", "cs"),
            covariates=covs or None,
        ),
    )
    if res is not None:
        notes += [f"MMRM ({label}): {n}" for n in res.notes if n != SYNTHETIC_NOTE]
    return m, res


def _mmrm_rows(m, res, e, c, label, design) -> pd.DataFrame:
    n1 = int(m.loc[m["ARM"] == e, "USUBJID"].nunique())
    n2 = int(m.loc[m["ARM"] == c, "USUBJID"].nunique())
    ct = res.contrasts
    ct = ct.loc[ct["contrast"] == f"{e} - {c}"]
    return _frame(
        [
            _row(
                f"MMRM {label}, {design.visit_label(r['visit'])}",
                r["estimate"],
                r["ci_low"],
                r["ci_high"],
                r["p_value"],
                r["se"],
                n1,
                n2,
                f"df {r['df']:.1f}",
            )
            for _, r in ct.iterrows()
        ]
    )


def _missing_rows(data, e, c, label, seed, notes, design, which, m_imputations: int = 50):
    """Multiple imputation under MAR, J2R and CR (ICH E9(R1) sensitivity analyses), Rubin's
    rules, and the delta-adjusted tipping point."""
    data = data.loc[data["ARM"].isin((e, c))]
    last = max(data["AVISITN"])
    treated = set(data.loc[data["ARM"] == e, "USUBJID"])
    seen_last = set(data.loc[(data["ARM"] == e) & (data["AVISITN"] == last), "USUBJID"])
    n_missing_treated = len(treated - seen_last)
    kw = dict(reference=c, treatment=e, m=m_imputations)
    rows = []
    # with no missing value in the experimental arm, J2R and CR impute exactly as MAR does:
    # fit MAR once and report it under each label (saves two full imputations)
    methods = MI_METHODS if n_missing_treated else ("MAR",)
    if "multiple_imputation" not in which:
        methods = ()
    for method in methods:
        res = attempt(
            notes,
            f"multiple imputation ({method})",
            lambda method=method: _missing.mi_analysis(
                data, "y", "USUBJID", "AVISITN", "ARM", "BASE", method=method, seed=seed, **kw
            ),
        )
        if res is None:
            continue
        p = res.pooled
        rows.append(
            _row(
                f"MI ({method}) {label}, {design.visit_label(last)}",
                p.estimate,
                p.ci_low,
                p.ci_high,
                p.p_value,
                p.se,
                len(treated),
                int(data.loc[data["ARM"] == c, "USUBJID"].nunique()),
                f"m = {p.m}, df {p.df:.1f}, FMI {p.fmi:.3f}",
            )
        )
    if not n_missing_treated and rows:
        rows += [
            {**rows[0], "analysis": rows[0]["analysis"].replace("(MAR)", f"({mm})")}
            for mm in MI_METHODS[1:]
        ]
    if methods:
        notes.append(
            f"Multiple imputation: {m_imputations} imputations from the MMRM (approximate Bayesian), "
            f"ANCOVA at {design.visit_label(last)}, Rubin's rules; J2R/CR impute the {e} arm's missing values from "
            f"the {c} arm; seed {seed}."
        )
    tipping = None
    if "tipping_point" not in which:
        pass
    elif n_missing_treated == 0:
        notes.append(
            f"No {e} patient misses {design.visit_label(last)}: J2R and CR equal MAR, and the delta-adjusted "
            "tipping-point analysis does not apply (nothing is imputed in that arm)."
        )
    else:
        tipping = attempt(
            notes,
            "tipping point",
            lambda: _missing.tipping_point(
                data, "y", "USUBJID", "AVISITN", "ARM", "BASE", seed=seed, **kw
            ),
        )
        if tipping is not None:
            notes.append(f"Tipping point: {tipping.message}")
    return (_frame(rows) if rows else None), tipping


def _ipd_part(ipd, ep, e, c, population, seed, notes, sections, shared) -> tuple[Any, Any]:
    design = ipd.design
    sign = -1.0 if ep.negate else 1.0
    label = _measure_label(design, ep)
    ev = ipd.endpoint_values(ep.id, population=population).copy()
    ev["y"] = sign * ev["value"]
    base = f"BASE_{ep.parameter}"
    specs = [(f"{label} ~ arm + baseline", "y", base)]
    if ep.measure == "pchg":  # the follow-up value itself, on baseline
        wk = ipd.wide(ep.parameter).reindex(ev["USUBJID"])
        ev["follow"] = wk[ep.avisitn].to_numpy(float) if ep.avisitn in wk.columns else np.nan
        specs.append((f"week-{ep.week} value ~ arm + baseline", "follow", base))
    covs = [v for v in ep.covariates if v != base]
    ev = with_subject_columns(ipd, ev, covs)  # ADSL covariates (AGE, ...) beside BASE_<PARAMCD>
    covs = [v for v in covs if v in ev.columns]
    rows = _ancova_rows(ev, specs, (e, c), notes, shared, covs)
    ev = ev.loc[ev["ARM"].isin((e, c))]
    rows += _two_sample_rows(ev, "y", label, (e, c), seed, notes)
    sections["ipd"] = _frame(rows)
    if "mmrm" not in shared:
        shared["mmrm"] = _mmrm(ipd, ep, sign, design.arm_names, c, population, notes, label)
    m, fit = shared["mmrm"]
    if fit is not None:
        sections["mmrm"] = _mmrm_rows(m, fit, e, c, label, design)
    tipping = None
    if ep.sensitivity:
        mi, tipping = _missing_rows(m, e, c, label, seed, notes, design, ep.sensitivity)
        if mi is not None:
            sections["missing"] = mi
    notes.append(
        f"Patient-level analyses: {population} population, {ipd.source}; estimates are "
        f"{e} - {c} on the scale of the {label}."
    )
    return fit, tipping


def analyse_continuous(
    trial: Any,
    ep: Any,
    experimental: Any,
    *,
    ipd: Any = None,
    seed: int,
    population: str | None = None,
    n1: int | None = None,
    n2: int | None = None,
    shared: dict[str, Any] | None = None,
) -> ContinuousReanalysis:
    """Reanalyse continuous endpoint ``ep`` of ``trial`` for ``experimental`` vs the control.

    Parameters
    ----------
    trial : Trial
    ep : Endpoint
    experimental : Arm
    ipd : IPD, optional
    seed : int
        Seed of the bootstrap and the imputations.
    population : str, optional
        Population of the patient-level part (default the endpoint's, else ITT).
    n1, n2 : int, optional
        Denominators for the summary-level tests (default
        :func:`~trial_analysis.consistency.default_denominators`).
    shared : dict, optional
        Work shared between the comparisons of one endpoint (the MMRM over all arms).
    """
    design = trial.design
    e, c = experimental.name, design.control_arm.name
    notes: list[str] = []
    sections: dict[str, pd.DataFrame] = {}
    audit, findings = _summary_part(trial, ep, e, c, n1, n2, notes, sections)
    if not sections:
        audit = None
    pop = ipd_population(ep, population)
    fit = tipping = None
    if ipd is not None:
        fit, tipping = _ipd_part(
            ipd, ep, e, c, pop, seed, notes, sections, {} if shared is None else shared
        )
    if not sections:
        raise AnalysisError(
            f"endpoint {ep.id!r}: nothing to analyse (no published numbers, no patient-level data)"
        )
    return ContinuousReanalysis(
        trial=trial.id,
        endpoint=ep.id,
        arms=(e, c),
        sections=sections,
        findings=findings,
        audit=audit,
        synthetic=bool(ipd is not None and ipd.synthetic),
        ipd_source="" if ipd is None else str(ipd.source),
        population=pop,
        measure_label=_measure_label(design, ep),
        extra_notes=tuple(notes),
        mmrm_fit=fit,
        tipping=tipping,
        visit_weeks=tuple((v.avisitn, v.weeks) for v in design.visits),
        visit_labels=tuple((v, design.visit_label(v)) for v in design.visit_numbers),
        title=f"{design.short_title}: {ep.label} ({pair_label(e, c)})",
    )


def _visit_axis(labels: dict[float, str]) -> tuple[str, dict[float, str]]:
    """The trajectory axis: its label and one tick label per visit. Visit labels sharing a
    word before their number ("Week 2", "Week 4") print the number, the word labelling the
    axis; other labels print whole ("Baseline", "Month 3" beside "Week 2")."""
    import re

    parts = {
        v: re.fullmatch(r"(\D+?)\s*(\d+(?:\.\d+)?)", str(t).strip()) for v, t in labels.items()
    }
    words = {m.group(1).lower() for m in parts.values() if m}
    if labels and all(parts.values()) and len(words) == 1:
        return words.pop(), {v: m.group(2) for v, m in parts.items() if m}
    return "visit", labels
