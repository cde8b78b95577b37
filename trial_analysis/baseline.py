"""Participant flow (CONSORT item 13) and baseline characteristics by arm ("Table 1", item 15).

Both work from validated patient-level data (:class:`~trial_analysis.ipd.IPD`), a user's own
or the synthetic cohort; results from synthetic data say so in their notes.

References
----------
Schulz KF, Altman DG, Moher D, for the CONSORT Group. CONSORT 2010 Statement: updated
guidelines for reporting parallel group randomised trials. BMJ 2010;340:c332.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
from matplotlib.figure import Figure

from .plots import FlowBox, consort_flow
from .results import SYNTHETIC_NOTE, Result

__all__ = ["BaselineTable", "ParticipantFlow", "baseline_table", "participant_flow"]

# subject-level variables shown in Table 1: column -> (label, unit)
SUBJECT_VARIABLES = {
    "AGE": ("Age", "years"),
    "WEIGHT": ("Weight", "kg"),
    "BMI": ("BMI", "kg/m2"),
    "DURDIAB": ("Diabetes duration", "years"),
}


@dataclass(frozen=True)
class ParticipantFlow(Result):
    """Counts of the CONSORT flow per arm; ``plot()`` draws the diagram."""

    table: pd.DataFrame  # stage x arm counts
    reasons: pd.DataFrame  # arm, reason, n
    enrolled: int | None
    synthetic: bool
    title: ClassVar[str] = "Participant flow (CONSORT)"

    def to_frame(self) -> pd.DataFrame:
        return self.table.reset_index()

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            "Analysed = the population of the published primary analysis (per-protocol flag PPROTFL)."
        ]
        return ((SYNTHETIC_NOTE,) if self.synthetic else ()) + tuple(out)

    def plot(self) -> Figure:
        t = self.table
        top = []
        if self.enrolled is not None:
            top.append(f"Enrolled (registry): n = {self.enrolled}")
        top.append(f"Randomised: n = {int(t.loc['Randomised'].sum())}")
        columns = []
        for arm in t.columns:
            col = t[arm]
            r = self.reasons.loc[self.reasons["ARM"] == arm]
            why = tuple(f"{row.reason}: {row.n}" for row in r.itertuples()) or ("none",)
            lost = int(col["Randomised"] - col["Analysed (primary)"])
            columns.append(
                [
                    FlowBox((f"Allocated to {arm}", f"n = {col['Randomised']}")),
                    FlowBox(
                        (
                            f"Received all infusions: n = {col['Received all infusions']}",
                            f"Completed follow-up: n = {col['Completed follow-up']}",
                        ),
                        side=("Discontinued:", *why),
                    ),
                    FlowBox(
                        (
                            "Analysed (primary)",
                            f"n = {col['Analysed (primary)']}",
                            f"not analysed: {lost}",
                        )
                    ),
                ]
            )
        return consort_flow(top, columns, title="SYNTHETIC COHORT" if self.synthetic else "")


def participant_flow(ipd: Any, enrolled: int | None = None) -> ParticipantFlow:
    """Count randomised, treated, fully infused, completed and analysed subjects per arm.

    Parameters
    ----------
    ipd : IPD
        Validated patient-level data.
    enrolled : int, optional
        Number enrolled or screened before randomisation (e.g. the registry's 103 for
        Zang 2022), shown above randomisation in the diagram.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> flow = participant_flow(ta.synthetic_ipd("zang2022"))
    >>> flow.table.loc["Randomised"].tolist()
    [45, 46]
    """
    s = ipd.subjects
    arms = list(ipd.design.arm_names)
    k = len(ipd.design.infusion_weeks)
    all_inf = s[[f"INF{i}WK" for i in range(1, k + 1)]].notna().all(axis=1)
    stages = {
        "Randomised": s["RANDFL"] == "Y",
        "Treated (>= 1 infusion)": s["SAFFL"] == "Y",
        "Received all infusions": all_inf,
        "Discontinued": s["DCSREAS"].fillna("") != "",
        "Completed follow-up": s["DCSREAS"].fillna("") == "",
        "Intention to treat": s["ITTFL"] == "Y",
        "Analysed (primary)": s["PPROTFL"] == "Y",
    }
    table = pd.DataFrame(
        {arm: {k_: int((m & (s["ARM"] == arm)).sum()) for k_, m in stages.items()} for arm in arms}
    )
    disc = s.loc[s["DCSREAS"].fillna("") != ""]
    reasons = disc.groupby(["ARM", "DCSREAS"], sort=False).size().reset_index(name="n")
    reasons = reasons.rename(columns={"DCSREAS": "reason"})
    table.index.name = "stage"
    return ParticipantFlow(table, reasons, enrolled, bool(ipd.synthetic))


@dataclass(frozen=True)
class BaselineTable(Result):
    """Baseline characteristics by arm: mean (SD) for continuous, n (%) for categorical."""

    table: pd.DataFrame
    population: str
    synthetic: bool
    title: ClassVar[str] = "Baseline characteristics by arm"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @property
    def notes(self) -> tuple[str, ...]:
        out = (
            f"Population: {self.population}. Mean (SD) unless stated; n = subjects with a value.",
        )
        return ((SYNTHETIC_NOTE,) if self.synthetic else ()) + out


def _mean_sd(x: pd.Series, digits: int) -> str:
    x = x.dropna()
    if len(x) == 0:
        return "-"
    sd = x.std(ddof=1) if len(x) > 1 else float("nan")
    return f"{x.mean():.{digits}f} ({sd:.{digits}f})"


def baseline_table(
    ipd: Any, population: str = "ITT", parameters: Sequence[str] | None = None, digits: int = 2
) -> BaselineTable:
    """Table 1: baseline characteristics per arm and overall.

    Parameters
    ----------
    ipd : IPD
    population : str
        ``ITT`` (default), ``RAND``, ``SAF`` or ``PP``.
    parameters : sequence of str, optional
        Measured parameters (``PARAMCD``) whose baseline to show; default all of the design's.
    digits : int
        Decimals for means and SDs.
    """
    subj = ipd.population(population)
    base = ipd.baseline()
    data = subj.merge(base, on="USUBJID", how="left")
    if "BASE_INSDOSE" in data and "WEIGHT" in data:
        data["INSKG"] = data["BASE_INSDOSE"] / data["WEIGHT"]
    codes = list(parameters) if parameters is not None else [p.code for p in ipd.design.parameters]
    rows: list[tuple[str, str, pd.Series]] = []
    for col, (label, unit) in SUBJECT_VARIABLES.items():
        if col in data:
            rows.append((f"{label} ({unit})", "mean (SD)", data[col]))
    for code in codes:
        p = ipd.design.parameter(code)
        rows.append((f"{p.label} ({p.unit})", "mean (SD)", data[f"BASE_{code}"]))
        if code == "INSDOSE" and "INSKG" in data:
            rows.append(("Insulin dose per kg (U/kg/day)", "mean (SD)", data["INSKG"]))
    arms = list(ipd.design.arm_names)
    groups = [(a, data["ARM"] == a) for a in arms] + [("Total", pd.Series(True, index=data.index))]
    out = []
    n_row = {"characteristic": "Subjects", "statistic": "n"}
    n_row |= {a: str(int(m.sum())) for a, m in groups}
    out.append(n_row)
    if "SEX" in data:
        row = {"characteristic": "Female sex", "statistic": "n (%)"}
        for a, m in groups:
            nf, nn = int((data.loc[m, "SEX"] == "F").sum()), int(m.sum())
            row[a] = f"{nf} ({100 * nf / nn:.1f}%)" if nn else "-"
        out.append(row)
    for label, stat, series in rows:
        out.append(
            {"characteristic": label, "statistic": stat}
            | {a: _mean_sd(series[m], digits) for a, m in groups}
        )
    table = pd.DataFrame(out, columns=["characteristic", "statistic", *arms, "Total"])
    return BaselineTable(table, population, bool(ipd.synthetic))
