"""The engine's time-to-event analyses: one experimental arm against the control.

With patient-level data (an ADTTE data set: ``time = AVAL``, ``event = 1 - CNSR`` of the
endpoint's ``PARAMCD``): Kaplan-Meier medians per arm, the hazard ratio (Cox, Wald and profile
CIs), the log-rank test, the global proportional-hazards test and the RMST difference — all from
:func:`trial_analysis.survival.analyse_time_to_event`, checked against R ``survival``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import survival as _survival
from ..errors import AnalysisError
from ..results import Result
from ._common import data_source, endpoint_notes, ipd_population, pair_label, tidy_row

__all__ = ["TimeToEventReanalysis", "analyse_time_to_event"]


@dataclass(frozen=True, eq=False)
class TimeToEventReanalysis(Result):
    """One time-to-event endpoint, one experimental arm against the control."""

    trial: str
    endpoint: str
    arms: tuple[str, str]
    analysis: Any = field(repr=False)
    synthetic: bool = False
    population: str = ""
    extra_notes: tuple[str, ...] = ()
    title: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.analysis.to_frame()

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows for :class:`~trial_analysis.reanalysis.Reanalysis`."""
        src = data_source(self.synthetic)
        out = []
        for _, r in self.analysis.to_frame().iterrows():
            if r["measure"] in _DIAGNOSTICS:  # a model check, not a test of the arms
                continue
            what = f"{r['measure']}" + (f", {r['group']}" if r["group"] else "")
            row = tidy_row(
                f"{what} (patient-level, {self.population})",
                _METHODS.get(r["measure"], r["measure"]),
                r,
                src,
            )
            if r["measure"] in _TESTS:  # the estimate column holds effects, not statistics
                row["estimate"] = float("nan")
            out.append(row)
        return out

    @property
    def notes(self) -> tuple[str, ...]:
        return endpoint_notes((*self.extra_notes, *self.analysis.notes), self.synthetic)

    def figures(self) -> dict[str, Any]:
        return {"km": self.analysis.plot()}


#: rows of a test statistic (chi-square), not an effect estimate
_TESTS = ("log-rank chi-square",)
#: model checks shown in the endpoint's own table, not in the engine's table of arm comparisons
_DIAGNOSTICS = ("PH test (global chi-square)",)
_METHODS = {
    "hazard ratio (Wald CI)": "Cox proportional hazards, Wald",
    "hazard ratio (profile CI)": "Cox proportional hazards, profile likelihood",
    "log-rank chi-square": "log-rank",
    "PH test (global chi-square)": "Grambsch-Therneau (cox.zph)",
}


def analyse_time_to_event(
    trial: Any, ep: Any, experimental: Any, *, ipd: Any = None, population: str | None = None
) -> TimeToEventReanalysis:
    """Reanalyse time-to-event endpoint ``ep`` (ADTTE ``PARAMCD = ep.parameter``) of ``trial``
    for ``experimental`` against the control, from the patient-level data.

    Raises
    ------
    AnalysisError
        "nothing to analyse" without patient-level data (published hazard ratios and medians are
        checked by :func:`trial_analysis.survival.check_hazard_ratio` / ``check_medians``).
    """
    design = trial.design
    e, c = experimental.name, design.control_arm.name
    if ipd is None:
        raise AnalysisError(
            f"endpoint {ep.id!r}: nothing to analyse (a time-to-event endpoint needs "
            "patient-level data: an ADTTE data set)"
        )
    pop = ipd_population(ep, population)
    d = ipd.time_to_event(ep.parameter, population=None if pop == "ITT" and ipd.adam else pop)
    d = d.loc[d["ARM"].isin((e, c))].copy()
    d["ARM"] = d["ARM"].astype(str)
    covs = [v for v in ep.covariates if v in d.columns]
    res = _survival.analyse_time_to_event(
        d,
        "time",
        "event",
        "ARM",
        reference=c,
        strata=list(ep.strata) or None,
        covariates=covs,
        source=data_source(bool(ipd.synthetic)) + f" data ({ipd.source})",
    )
    a = d.attrs.get("analysis_set")
    return TimeToEventReanalysis(
        trial=trial.id,
        endpoint=ep.id,
        arms=(e, c),
        analysis=res,
        synthetic=bool(ipd.synthetic),
        population=pop,
        extra_notes=(f"Analysis set: {a}",) if a is not None else (),
        title=f"{design.short_title}: {ep.label} ({pair_label(e, c)})",
    )
