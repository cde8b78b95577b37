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

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plots import FlowBox, consort_flow
from .results import SYNTHETIC_NOTE, Result

__all__ = ["BaselineTable", "ParticipantFlow", "baseline_table", "participant_flow"]

#: Flow stage of the per-protocol flag (PPROTFL), named as in the report's population vocabulary.
PER_PROTOCOL = "Per protocol"

# subject-level variables shown in Table 1: column -> (label, unit)
SUBJECT_VARIABLES = {"AGE": ("Age", "years")}  # shown when present; designs declare the rest


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
        out = ["Stages from the ADaM flags the data carry (RANDFL, SAFFL, ITTFL, PPROTFL, ...)."]
        if PER_PROTOCOL in self.table.index:
            out.append(f"{PER_PROTOCOL} = the per-protocol flag PPROTFL.")
        return ((SYNTHETIC_NOTE,) if self.synthetic else ()) + tuple(out)

    def plot(self) -> Figure:
        t = self.table
        top = []
        if self.enrolled is not None:
            top.append(f"Enrolled (registry): n = {self.enrolled}")
        top.append(f"Randomised: n = {int(t.loc['Randomised'].sum())}")
        columns = []
        middle = [r for r in t.index if r not in ("Randomised", "Discontinued", PER_PROTOCOL)]
        last = PER_PROTOCOL if PER_PROTOCOL in t.index else t.index[-1]
        for arm in t.columns:
            col = t[arm]
            r = self.reasons.loc[self.reasons["ARM"] == arm]
            why = tuple(f"{row.reason}: {row.n}" for row in r.itertuples()) or ("none",)
            lost = int(col["Randomised"] - col[last])
            side = ("Discontinued:", *why) if "Discontinued" in t.index else ()
            columns.append(
                [
                    FlowBox(("Allocated to", str(arm), f"n = {col['Randomised']}")),
                    FlowBox(tuple(f"{m}: n = {col[m]}" for m in middle if m != last), side=side),
                    FlowBox((last, f"n = {col[last]}", f"not analysed: {lost}")),
                ]
            )
        return consort_flow(top, columns, title="SYNTHETIC COHORT" if self.synthetic else "")


def _flag(s: pd.DataFrame, col: str) -> pd.Series | None:
    return (s[col].astype(object) == "Y") if col in s.columns else None


def _discontinued(s: pd.DataFrame) -> tuple[pd.Series, pd.Series] | None:
    """(discontinued?, reason) from DCSREAS (or DCDECOD), else EOSSTT; None when unknown."""
    for col in ("DCSREAS", "DCDECOD"):
        if col in s.columns:
            why = s[col].astype(object).where(s[col].notna(), "").astype(str).str.strip()
            if col == "DCDECOD":
                why = why.where(why.str.upper() != "COMPLETED", "")
            return why != "", why
    if "EOSSTT" in s.columns:
        st = s["EOSSTT"].astype(object).where(s["EOSSTT"].notna(), "").astype(str).str.upper()
        disc = st.str.startswith("DISCONTINUED")
        return disc, pd.Series(np.where(disc, "discontinued (EOSSTT)", ""), index=s.index)
    return None


def participant_flow(ipd: Any, enrolled: int | None = None) -> ParticipantFlow:
    """Count randomised, treated, completed and analysed subjects per arm (k arms).

    Each stage comes from the ADaM variable that records it, when the data have it:
    randomised (``RANDFL``; else every subject with an arm — screen failures have none),
    treated (``SAFFL``), received every scheduled administration (the design's per-administration
    records, e.g. ``INFkWK``), discontinued and why (``DCSREAS``/``DCDECOD``, else ``EOSSTT``),
    intention to treat (``ITTFL``/``FASFL``) and analysed (``PPROTFL``). Arms are the data's own
    labels (the design's arms, else the treatment variable's values).

    Parameters
    ----------
    ipd : IPD
        Validated patient-level data.
    enrolled : int, optional
        Number enrolled or screened before randomisation (e.g. a registry's count), shown
        above randomisation in the diagram.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> flow = participant_flow(ta.synthetic_ipd("zang2022"))
    >>> flow.table.loc["Randomised"].tolist()
    [45, 46]
    """
    s = ipd.population("ALL")
    arms = list(ipd.arm_names)
    with_arm = s["ARM"].isin(arms)
    stages: dict[str, pd.Series] = {}
    stages["Randomised"] = _flag(s, "RANDFL") if "RANDFL" in s.columns else with_arm
    if "SAFFL" in s.columns:
        stages["Treated"] = _flag(s, "SAFFL")
    d = ipd.design
    pre = getattr(d, "administration_records", "") if d is not None else ""
    k = len(d.infusion_weeks) if d is not None else 0
    cols = [f"{pre}{i}WK" for i in range(1, k + 1)]
    if pre and cols and all(c in s.columns for c in cols):
        stages["Received every administration"] = s[cols].notna().all(axis=1)
    disc = _discontinued(s)
    if disc is not None:
        stages["Discontinued"] = disc[0] & stages["Randomised"]
        stages["Completed follow-up"] = ~disc[0] & stages["Randomised"]
    # the analysis-population vocabulary of the report (report/populations.py)
    for col, label in (("ITTFL", "ITT (all randomised)"), ("FASFL", "Full analysis set")):
        if col in s.columns:
            stages[label] = _flag(s, col)
    if "PPROTFL" in s.columns:
        stages[PER_PROTOCOL] = _flag(s, "PPROTFL")
    table = pd.DataFrame(
        {arm: {k_: int((m & (s["ARM"] == arm)).sum()) for k_, m in stages.items()} for arm in arms}
    )
    if disc is not None:
        dd = s.loc[disc[0] & with_arm].assign(reason=disc[1][disc[0] & with_arm])
        reasons = dd.groupby(["ARM", "reason"], sort=False).size().reset_index(name="n")
    else:
        reasons = pd.DataFrame(columns=["ARM", "reason", "n"])
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
    ipd: Any,
    population: str | None = None,
    parameters: Sequence[str] | None = None,
    digits: int = 2,
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
    d = ipd.design
    if parameters is not None:
        codes = list(parameters)
    elif d is not None:
        codes = [p.code for p in d.parameters]
    else:
        codes = [c[5:] for c in base.columns if c.startswith("BASE_")]
    rows: list[tuple[str, str, pd.Series]] = []
    declared = {
        v.name: (v.label, v.unit)
        for v in (d.subject_variables if d is not None else ())
        if v.table1 and v.type == "number"
    }
    for col, (label, unit) in {**SUBJECT_VARIABLES, **declared}.items():
        if col in data and pd.api.types.is_numeric_dtype(data[col]):
            rows.append((f"{label} ({unit})" if unit else label, "mean (SD)", data[col]))
    for code in codes:
        if f"BASE_{code}" not in data:
            continue
        try:
            p = d.parameter(code) if d is not None else None
        except KeyError:
            p = None
        label = f"{p.label} ({p.unit})" if p is not None else code
        rows.append((label, "mean (SD)", data[f"BASE_{code}"]))
    arms = list(ipd.arm_names)
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
    shown = population or ("ITT" if not getattr(ipd, "adam", False) else "the data's first flag")
    return BaselineTable(table, shown, bool(ipd.synthetic))
