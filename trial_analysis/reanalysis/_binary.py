"""The engine's binary-endpoint analyses: one experimental arm against the control.

From the published numbers (when the trial published the endpoint's percentages): the counts
they imply (:func:`trial_analysis.consistency.published_counts`), every test and interval
(:func:`trial_analysis.binary.compare`), the fragility index of each test, the sensitivity to
the randomised patients not analysed and its tipping point, and a Bayesian reanalysis. With
patient-level data: the comparison on the data's counts, a Firth logistic regression
adjusted for the endpoint's declared covariates, the g-computation RD/RR/OR on the declared
covariates and strata (the strata a factor of the working model, sparse ones pooled by
:func:`trial_analysis.binary.pool_sparse_strata`; Ye et al. 2023 variance) and the CMH
analysis over the strata.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import bayes as _bayes
from .. import binary as _binary
from ..consistency import published_counts
from ..errors import AnalysisError
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

__all__ = ["BinaryReanalysis", "analyse_binary"]

_EFFECT_NAMES = {"rd": "risk difference", "rr": "risk ratio", "or": "odds ratio"}
#: the rows of the stratified analysis the engine's table shows
_CMH_ROWS = (
    ("test_cmh", "CMH test"),
    ("test_cmh_cc", "CMH test, continuity-corrected"),
    ("rd_mh_sato", "risk difference, Mantel-Haenszel"),
)


def _adjusted_label(covariates: tuple[str, ...], strata: tuple[str, ...]) -> str:
    """``adjusted for X, Y, stratified by S`` (``adjusted, stratified by S`` without
    covariates): what a g-computation row's working model holds."""
    out = f"adjusted for {', '.join(covariates)}" if covariates else "adjusted"
    return out + (f", stratified by {', '.join(strata)}" if strata else "")


@dataclass(frozen=True)
class _Table(Result):
    """A bare table with a title (renders a DataFrame the way results render)."""

    table: pd.DataFrame = field(repr=False)
    title: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@dataclass(frozen=True, eq=False)
class BinaryReanalysis(Result):
    """One binary endpoint, one experimental arm against the control (see :func:`analyse_binary`).

    Attributes
    ----------
    trial, endpoint : str
    arms : tuple of str
        ``(experimental, control)``.
    counts : DataFrame or None
        Count tables reproducing the published percentages (``None``: nothing published).
    comparison, fragility, sensitivity, tipping, bayes : Result or None
        On the published counts.
    ipd_comparison, firth : Result or None
        On the patient-level data.
    adjusted, stratified : Result or None
        On the patient-level data: g-computation on the declared covariates and strata
        (:class:`~trial_analysis.binary.AdjustedResult`, RD/RR/OR, Ye 2023 variance; the
        strata in its working model are ``adjusted_by``) and the
        CMH analysis over the declared strata (:class:`~trial_analysis.binary.CMHResult`).
    """

    trial: str
    endpoint: str
    arms: tuple[str, str]
    counts: pd.DataFrame | None = field(default=None, repr=False)
    comparison: Any = field(default=None, repr=False)
    fragility: Any = field(default=None, repr=False)
    sensitivity: Any = field(default=None, repr=False)
    tipping: Any = field(default=None, repr=False)
    bayes: Any = field(default=None, repr=False)
    ipd_comparison: Any = field(default=None, repr=False)
    firth: Any = field(default=None, repr=False)
    adjusted: Any = field(default=None, repr=False)
    stratified: Any = field(default=None, repr=False)
    synthetic: bool = False
    population: str = ""
    extra_notes: tuple[str, ...] = ()
    title: str = ""
    stratified_by: tuple[str, ...] = ()
    #: the strata in the g-computation's working model (sparse ones pooled; see notes)
    adjusted_by: tuple[str, ...] = ()

    def sections(self) -> dict[str, Result | None]:
        """Named sub-results, in the order they are printed."""
        return {
            "comparison": self.comparison,
            "fragility": self.fragility,
            "sensitivity": self.sensitivity,
            "tipping_point": self.tipping,
            "bayes": self.bayes,
            "ipd_comparison": self.ipd_comparison,
            "firth": self.firth,
            "adjusted": self.adjusted,
            "stratified": self.stratified,
        }

    def to_frame(self) -> pd.DataFrame:
        """The main table: every test and interval (published counts, else patient data)."""
        main = self.comparison if self.comparison is not None else self.ipd_comparison
        return main.to_frame() if main is not None else pd.DataFrame()

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows for :class:`~trial_analysis.reanalysis.Reanalysis`."""
        out: list[dict[str, Any]] = []
        src = data_source(self.synthetic)
        for res, source, what in (
            (self.comparison, "published", "published counts"),
            (self.ipd_comparison, src, f"patient-level, {self.population}"),
        ):
            if res is None:
                continue
            for _, r in res.to_frame().iterrows():
                out.append(tidy_row(f"{r['quantity']} ({what})", r["method"], r, source))
        if self.firth is not None:
            t = self.firth.to_frame()
            r = t.loc[t["term"] == "treatment"].iloc[0]
            out.append(
                tidy_row(
                    f"odds ratio, adjusted ({self.population})",
                    "Firth logistic regression",
                    r,
                    src,
                    estimate="odds_ratio",
                )
            )
        out += self.adjusted_rows()
        return out

    def adjusted_rows(self) -> list[dict[str, Any]]:
        """Tidy rows of the covariate-adjusted (g-computation) and stratified (CMH) analyses."""
        src = data_source(self.synthetic)
        out: list[dict[str, Any]] = []
        if self.adjusted is not None:
            what = _adjusted_label(self.adjusted.covariates, self.adjusted_by)
            for _, r in self.adjusted.to_frame().iterrows():
                out.append(
                    tidy_row(
                        f"{_EFFECT_NAMES[r['effect']]}, {what} ({self.population})",
                        "g-computation, Ye et al. 2023 robust variance",
                        r,
                        src,
                    )
                )
        if self.stratified is not None:
            by = ", ".join(self.stratified_by)
            t = self.stratified.to_frame().set_index("key")
            for key, what in _CMH_ROWS:
                r = t.loc[key]
                out.append(
                    tidy_row(f"{what}, stratified by {by} ({self.population})", r["method"], r, src)
                )
        return out

    @property
    def notes(self) -> tuple[str, ...]:
        return endpoint_notes(self.extra_notes, self.synthetic)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "title": self.title,
            "trial": self.trial,
            "endpoint": self.endpoint,
            "arms": list(self.arms),
            "counts_inference": None if self.counts is None else to_jsonable(self.counts),
        }
        for k, v in self.sections().items():
            d[k] = None if v is None else v.to_dict()
        d["notes"] = list(self.notes)
        return d

    def figures(self) -> dict[str, Any]:
        """Named matplotlib Figures for the report."""
        figs = {}
        if self.comparison is not None:
            figs["intervals"] = self.comparison.plot()
            figs["sensitivity"] = self.sensitivity.plot()
            figs["tipping_point"] = self.tipping.plot()
            figs["bayes"] = self.bayes.plot()
        if self.ipd_comparison is not None:
            figs["ipd_intervals"] = self.ipd_comparison.plot()
        return figs

    def _repr_html_(self) -> str:
        import html

        parts = [f"<h3>{html.escape(self.title)}</h3>"]
        if self.counts is not None:
            parts.append(
                Result._repr_html_(_Table(self.counts, "Counts implied by the published numbers"))
            )
        parts += [v._repr_html_() for v in self.sections().values() if v is not None]
        parts += [f"<p><em>Note:</em> {html.escape(n)}</p>" for n in self.notes]
        return "<div class='trial-analysis-result'>" + "".join(parts) + "</div>"

    def __str__(self) -> str:
        parts = [self.title, "=" * len(self.title), ""]
        if self.counts is not None:
            parts.append(frame_to_text(self.counts, "Counts implied by the published numbers"))
        for v in self.sections().values():
            if v is not None:
                parts += ["", str(v)]
        parts += [""] + [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)


def _published_part(trial, ep, e, c, *, mcid, alpha, seed, notes) -> dict[str, Any]:
    try:
        counts = published_counts(trial, ep.id, experimental=e.name)
    except AnalysisError:
        return {}
    p1, p2, ci, cl = (counts.attrs[k] for k in ("p1", "p2", "ci", "conf_level"))
    if counts.empty:
        raise AnalysisError(
            f"no counts with n1 <= {e.n_randomised}, n2 <= {c.n_randomised} reproduce the published "
            f"{p1} % vs {p2} %" + (f" and CI {ci}" if ci else "")
        )
    tables = counts[["x1", "n1", "x2", "n2"]].drop_duplicates()
    if len(tables) > 1:
        notes.append(
            f"{len(tables)} tables reproduce the published numbers; the one with the largest "
            "denominators is analysed."
        )
        tables = tables.sort_values(["n1", "n2"], ascending=False)
    x1, n1, x2, n2 = (int(v) for v in tables.iloc[0])
    how = f" by the {counts.iloc[0]['method_label']} interval" if "method_label" in counts else ""
    notes.append(
        f"Counts {x1}/{n1} vs {x2}/{n2} inferred from the published {p1:g} % vs {p2:g} %"
        + (f" and {cl:.0%} CI {ci[0]:g} to {ci[1]:g}{how}" if ci else "")
        + f"; randomised {e.n_randomised} vs {c.n_randomised}."
    )
    if (n1, n2) != (e.n_randomised, c.n_randomised):
        notes.append(
            f"{e.n_randomised - n1} {e.name} and {c.n_randomised - n2} {c.name} randomised patients "
            "were not in the published analysis."
        )
    labels = (e.name, c.name)
    out = dict(
        counts=counts,
        comparison=_binary.compare(x1, n1, x2, n2, cl, arm_labels=labels),
        fragility=_binary.fragility_table(x1, n1, x2, n2, alpha=alpha),
        sensitivity=_binary.missing_sensitivity(
            x1, n1, x2, n2, e.n_randomised, c.n_randomised, alpha=alpha
        ),
        tipping=_binary.tipping_point(x1, n1, x2, n2, e.n_randomised, c.n_randomised, alpha=alpha),
        bayes=_bayes.reanalysis(x1, n1, x2, n2, mcid=mcid, seed=seed),
    )
    notes.append(
        f"Bayesian: MCID {mcid:g} and the sceptical/enthusiastic priors' centre, weight and effect "
        "are assumptions (trial_analysis.bayes.make_prior defaults)."
    )
    return out


def _ipd_part(ipd, ep, e, c, population, conf_level, notes) -> dict[str, Any]:
    ev = ipd.endpoint_values(ep.id, population=population)
    ev = ev.loc[ev["ARM"].isin((e.name, c.name))]
    obs = ev.dropna(subset=["value"])
    k = obs.groupby("ARM", sort=False)["value"].agg(["sum", "count"])
    try:
        a, b = int(k.loc[e.name, "sum"]), int(k.loc[e.name, "count"])
        cc, d = int(k.loc[c.name, "sum"]), int(k.loc[c.name, "count"])
    except KeyError as exc:
        raise AnalysisError(
            f"the patient-level data have no evaluable patients in arm {exc}"
        ) from None
    labels = (e.name, c.name)
    syn = (SYNTHETIC_NOTE,) if ipd.synthetic else ()
    cmp_ = dataclasses.replace(
        _binary.compare(a, b, cc, d, conf_level, arm_labels=labels),
        title=f"Patient-level data ({population}, complete cases): tests and intervals",
        extra_notes=syn,
    )
    declared = list(dict.fromkeys([*ep.covariates, *ep.strata]))
    data = with_subject_columns(ipd, obs, declared)
    data = data.assign(treatment=(data["ARM"] == e.name).astype(float))
    covs = [v for v in ep.covariates if v in data.columns]
    strata = [v for v in ep.strata if v in data.columns]
    missing = [v for v in declared if v not in data.columns]
    if missing:
        notes.append(
            f"Declared covariates or strata not in the patient data, left out: "
            f"{', '.join(missing)}."
        )
    firth = _binary.firth_logit(data, "value", ["treatment", *covs], conf_level=conf_level)
    firth = dataclasses.replace(firth, extra_notes=firth.extra_notes + syn)
    notes.append(
        f"Patient-level data: {ipd.source}; {population} population, {len(ev) - len(obs)} "
        "patient(s) with undetermined outcome left out of the comparison and the Firth fit"
        + (f" (adjusted for {', '.join(covs)})." if covs else ".")
    )
    out: dict[str, Any] = dict(ipd_comparison=cmp_, firth=firth)
    pair = data.assign(ARM=data["ARM"].astype(str))

    def complete(cols: list[str], what: str):
        d = pair.dropna(subset=cols)
        if len(d) < len(pair):
            notes.append(
                f"{what}: {len(pair) - len(d)} patient(s) with a missing {' or '.join(cols)} "
                "left out."
            )
        return d

    if covs or strata:
        adj = _adjusted_part(
            complete([*covs, *strata], "Covariate-adjusted analysis"),
            ipd,
            ep,
            e,
            c,
            covs,
            strata,
            conf_level,
            notes,
        )
        if adj is not None:
            out["adjusted"], out["adjusted_by"] = adj
    if strata:
        st_data = complete(strata, "Stratified analysis")
        st = attempt(
            notes,
            "Stratified analysis (CMH)",
            lambda: _binary.cmh(
                st_data,
                "value",
                "ARM",
                strata,
                reference=c.name,
                conf_level=conf_level,
                synthetic=bool(ipd.synthetic),
            ),
        )
        if st is not None:
            out["stratified"] = st
            notes += [n for n in st.notes if n.startswith("Strata with fewer")]
    return out


def _adjusted_part(data, ipd, ep, e, c, covs, strata, conf_level, notes):
    """The g-computation on the declared covariates and strata: (result, strata in its working
    model) or None.

    The strata enter the logistic working model as one factor (Ye et al. 2023; FDA 2023
    guidance: adjust for the stratification factors), sparse strata pooled first
    (:func:`~trial_analysis.binary.pool_sparse_strata`: fewer than
    :data:`~trial_analysis.binary._adjusted.MIN_STRATUM_PER_ARM` patients in an arm or one
    outcome only). The variance is Ye's simple-randomisation form: valid (at worst
    conservative) under stratified randomisation, and the covariate-adaptive correction would
    need the randomisation's own strata and scheme, which pooled strata are not. When the
    stratified working model cannot be fitted, the covariates alone, with a note."""
    from ..binary._adjusted import MIN_STRATUM_PER_ARM

    model_strata: list[str] = []
    what = []
    if strata:
        col = "/".join(strata)
        labels, pooled = _binary.pool_sparse_strata(data, "value", "ARM", strata)
        by = ", ".join(strata)
        k = labels.nunique()
        n_orig = len(pooled) + k - (1 if pooled else 0)
        if k > 1:
            data = data.assign(**{col: labels})
            model_strata = [col]
            if pooled:
                what.append(
                    f"{by}: {len(pooled)} of {n_orig} strata with fewer than "
                    f"{MIN_STRATUM_PER_ARM} patients of an arm or one outcome only pooled into "
                    f"one stratum ({', '.join(pooled)}), {k} strata in the model"
                )
        else:
            what.append(
                f"{by}: too sparse to enter the model even pooled (after pooling the "
                f"{n_orig} strata with fewer than {MIN_STRATUM_PER_ARM} patients of an arm or "
                "one outcome only, one stratum is left)"
            )
    if not covs and not model_strata:
        notes.append("Covariate-adjusted analysis omitted: " + "; ".join(what) + ".")
        return None

    def fit(st):
        return _binary.adjusted(
            data,
            "value",
            "ARM",
            covs,
            effect="all",
            variance="ye2023",
            strata=st or None,
            randomization="simple",
            reference=c.name,
            conf_level=conf_level,
            synthetic=bool(ipd.synthetic),
        )

    label = "Covariate-adjusted analysis (g-computation)"
    if model_strata and covs:
        try:
            adj = fit(model_strata)
        except AnalysisError as exc:  # fall back on the covariates alone, said
            notes.append(
                f"The working model with the strata {', '.join(strata)} could not be fitted "
                f"({exc}); the g-computation is adjusted for {', '.join(covs)} only."
            )
            model_strata = []
            adj = attempt(notes, label, lambda: fit([]))
    else:
        adj = attempt(notes, label, lambda: fit(model_strata))
    if adj is None:
        return None
    terms = ", ".join([*covs, *(["stratum (" + ", ".join(strata) + ")"] if model_strata else [])])
    notes.append(
        f"Covariate-adjusted marginal effects: logistic working model on arm and {terms} "
        f"fitted to the {e.name} and {c.name} patients with a determined outcome, risks "
        "standardised over them (g-computation), Ye et al. (2023) robust variance"
        + (
            " (simple-randomisation form, valid, at worst conservative, under stratified "
            "randomisation once the strata are in the model)."
            if model_strata
            else "."
        )
    )
    notes.extend(f"Strata of the working model: {w}." for w in what)
    return adj, tuple(strata) if model_strata else ()


def analyse_binary(
    trial: Any,
    ep: Any,
    experimental: Any,
    *,
    ipd: Any = None,
    seed: int,
    mcid: float,
    alpha: float,
    conf_level: float,
    population: str | None = None,
) -> BinaryReanalysis:
    """Reanalyse binary endpoint ``ep`` of ``trial`` for ``experimental`` vs the control arm.

    Parameters
    ----------
    trial : Trial
    ep : Endpoint
    experimental : Arm
    ipd : IPD, optional
    seed : int
        Seed of the Monte Carlo checks of the Bayesian reanalysis.
    mcid, alpha, conf_level : float
    population : str, optional
        Population of the patient-level part (default the endpoint's, else ITT).
    """
    design = trial.design
    c = design.control_arm
    notes: list[str] = []
    parts = _published_part(
        trial, ep, experimental, c, mcid=mcid, alpha=alpha, seed=seed, notes=notes
    )
    pop = ipd_population(ep, population)
    if ipd is not None:
        parts.update(_ipd_part(ipd, ep, experimental, c, pop, conf_level, notes))
    if not parts:
        raise AnalysisError(
            f"endpoint {ep.id!r}: nothing to analyse (no published percentages, no patient-level data)"
        )
    return BinaryReanalysis(
        trial=trial.id,
        endpoint=ep.id,
        arms=(experimental.name, c.name),
        synthetic=bool(ipd is not None and ipd.synthetic),
        population=pop,
        extra_notes=tuple(notes),
        title=f"{design.short_title}: {ep.label} ({pair_label(experimental.name, c.name)})",
        stratified_by=tuple(ep.strata) if "stratified" in parts else (),
        **parts,
    )
