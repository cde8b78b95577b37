"""CDISC ADaM data sets as a sponsor gives them: recognition, checks, record selection.

A folder of ADaM files (any names: ``adsl.xpt``, ``adlb.xpt``, ``advs.sas7bdat``,
``adqsadas.csv``, ``adtte.parquet``...) is read by :func:`trial_analysis.load_ipd`; this module
recognises each data set by its content, checks them together (every structural problem in one
pass) and selects analysis records with the ADaM rules, every choice explicit:

* **ADSL**: one row per ``USUBJID`` with subject-level variables (treatment ``TRT01P``,
  population flags ``SAFFL``/``ITTFL``/``FASFL``/``EFFFL``/``PPROTFL``/``RANDFL``...);
* **BDS**: ``USUBJID``, ``PARAMCD``, ``AVAL`` (or ``AVALC``), usually ``AVISITN``/``AVISIT``,
  ``ABLFL``, ``BASE``, ``CHG``, ``DTYPE``, ``ATPT``/``ATPTN``, ``ANL01FL``...;
* **ADTTE** (a BDS with ``CNSR``): time-to-event parameters.

Record selection (:func:`analysis_set`): the population flag (``Y``), the treatment variable
(``TRT01P`` by default), ``ANL01FL = "Y"`` when the column exists (another flag selectable),
observed records (``DTYPE`` blank; a derived type on request), one time point (``ATPT``) when a
parameter has several, scheduled visits only (``AVISIT`` not "Unscheduled ...") — the result
carries an :class:`AnalysisSet` describing the choices (``DataFrame.attrs["analysis_set"]``),
which results built from it repeat in their notes.

Reference: CDISC Analysis Data Model Implementation Guide (ADaMIG) v1.3, sections 3.2 (ADSL)
and 3.3 (BDS: ABLFL, DTYPE, ATPT, ANLzzFL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validate import CONTROL_ARM_RE
from .errors import ParameterError, Problem, TrialAnalysisError

__all__ = [
    "POPULATION_ALIASES",
    "POPULATION_FLAGS",
    "TREATMENT_VARIABLES",
    "AnalysisSet",
    "AnalysisSetError",
    "analysis_set",
    "classify",
    "time_to_event",
]

#: Population flags of ADSL, in the order a default population is chosen (first present).
POPULATION_FLAGS = ("ITTFL", "FASFL", "EFFFL", "SAFFL", "PPROTFL", "RANDFL")
#: Short names accepted for the population flags.
POPULATION_ALIASES = {
    "ITT": "ITTFL",
    "FAS": "FASFL",
    "EFF": "EFFFL",
    "SAF": "SAFFL",
    "PP": "PPROTFL",
    "RAND": "RANDFL",
}
#: Treatment variables accepted as the arm, the first present is the default.
TREATMENT_VARIABLES = ("TRT01P", "TRT01A", "ARM", "ACTARM", "TRTP", "TRTA")
#: ADSL variables that mark a subject-level table (besides one row per USUBJID).
SUBJECT_LEVEL = (
    "TRT01P",
    "TRT01A",
    "ARM",
    "ACTARM",
    "SAFFL",
    "ITTFL",
    "RANDFL",
    "AGE",
    "SEX",
    "RACE",
)
#: Arm labels that are not arms (subjects outside every analysed population).
NOT_AN_ARM = re.compile(r"^\s*$|screen\s*fail|not\s*(?:assigned|treated|randomi[sz]ed)", re.I)
_UNSCHEDULED_RE = re.compile(r"^\s*unsch", re.I)


class AnalysisSetError(TrialAnalysisError, ValueError):
    """The records asked for cannot form an analysis set (names the ADaM variable and the option
    that resolves it)."""


@dataclass(frozen=True)
class AnalysisSet:
    """Which records, visits, population and treatment variable an analysis used."""

    paramcd: str
    param: str
    population: str
    treatment: str
    arms: tuple[str, ...]
    control: str
    visits: tuple[tuple[float, str], ...]
    flag: str | None
    dtype: str | None
    timepoint: str | None
    unscheduled: bool
    n_subjects: int
    n_records: int
    n_by_arm: Mapping[str, int] = field(default_factory=dict)
    source: str = ""

    def __str__(self) -> str:
        sel = [f"{self.population} = Y", f"arm = {self.treatment}"]
        if self.visits:  # a BDS selection: records by visit
            sel.append(f"{self.flag} = Y" if self.flag else "no analysis flag")
            sel.append(f"DTYPE = {self.dtype}" if self.dtype else "observed records (DTYPE blank)")
            if self.timepoint is not None:
                sel.append(f"ATPT = {self.timepoint}")
            sel.append(
                "unscheduled visits included" if self.unscheduled else "scheduled visits only"
            )
            sel.append("visits " + ", ".join(lab or f"{n:g}" for n, lab in self.visits))
        else:  # an ADTTE parameter: one record per subject, no visits
            sel.append("one time-to-event record per subject (event = 1 - CNSR)")
        arms = ", ".join(f"{a} {self.n_by_arm.get(a, 0)}" for a in self.arms)
        return (
            f"{self.paramcd} ({self.param}): {self.n_records} records of {self.n_subjects} "
            f"subjects ({arms}); " + "; ".join(sel)
        )


# ------------------------------------------------------------------------------------------
# Recognition
# ------------------------------------------------------------------------------------------
def classify(frame: pd.DataFrame) -> str:
    """``"ADSL"``, ``"BDS"``, ``"ADTTE"`` or ``""`` (another kind, e.g. an OCCDS like ADAE)."""
    cols = set(frame.columns)
    if "USUBJID" not in cols:
        return ""
    if "PARAMCD" in cols and ("AVAL" in cols or "AVALC" in cols):
        return "ADTTE" if "CNSR" in cols else "BDS"
    # ADSL: one row per subject. A few duplicated ids still make an ADSL (reported by check());
    # an occurrence data set (ADAE, ADCM) carries ADSL variables too but repeats most subjects.
    if cols & set(SUBJECT_LEVEL) and frame["USUBJID"].duplicated().mean() < 0.05:
        return "ADSL"
    return ""


def treatment_variable(subjects: pd.DataFrame, treatment: str | None = None) -> str:
    if treatment is not None:
        if treatment not in subjects.columns:
            present = [t for t in TREATMENT_VARIABLES if t in subjects.columns]
            raise ParameterError(
                "treatment",
                f"a treatment column of ADSL (present: {', '.join(present)})",
                treatment,
            )
        return treatment
    for t in TREATMENT_VARIABLES:
        if t in subjects.columns:
            return t
    raise ParameterError("treatment", "a treatment column (TRT01P, TRT01A or ARM) in ADSL")


def population_flag(subjects: pd.DataFrame, population: str | None) -> str | None:
    """The ADSL flag of ``population`` (a flag name or ITT/FAS/SAF/PP/RAND; ``ALL``: none)."""
    present = [f for f in subjects.columns if re.fullmatch(r"[A-Z0-9]*FL", str(f))]
    flags = [f for f in POPULATION_FLAGS if f in subjects.columns]
    if population is None:
        return flags[0] if flags else None
    if population == "ALL":
        return None
    flag = POPULATION_ALIASES.get(population, population)
    if flag not in subjects.columns:
        raise ParameterError(
            "population",
            "a population flag of ADSL ("
            + (", ".join(f for f in present if f in POPULATION_FLAGS) or "none present")
            + ") or ALL",
            population,
        )
    return flag


def in_population(subjects: pd.DataFrame, flag: str | None, treatment: str) -> np.ndarray:
    """Subjects in the population: flag = "Y" (or, without flags, an arm that is an arm)."""
    arm = subjects[treatment].astype(object).where(subjects[treatment].notna(), "")
    is_arm = ~arm.astype(str).str.contains(NOT_AN_ARM).to_numpy()
    if flag is None:
        return is_arm
    return (subjects[flag].astype(object) == "Y").to_numpy() & is_arm


def arms_of(subjects: pd.DataFrame, treatment: str, flag: str | None) -> tuple[list[str], str]:
    """Arms (control first) and the control arm, read from the population's treatment values."""
    s = subjects.loc[in_population(subjects, flag, treatment)]
    num = f"{treatment}N" if f"{treatment}N" in s.columns else None
    vals = s[treatment].astype(str)
    if num is not None:
        order = s.groupby(vals)[num].min().sort_values(kind="stable").index.tolist()
    else:
        order = sorted(vals.unique())
    ctrl = [a for a in order if CONTROL_ARM_RE.search(a)]
    control = ctrl[0] if ctrl else order[0]
    return [control] + [a for a in order if a != control], control


# ------------------------------------------------------------------------------------------
# Checks (one pass; every structural problem)
# ------------------------------------------------------------------------------------------
def check(
    subjects: pd.DataFrame,
    subject_file: str,
    bds: Mapping[str, pd.DataFrame],
    tolerance: float,
) -> list[tuple[Problem, int]]:
    """Problems of ADSL + BDS data sets as (problem, number of rows it stands for)."""
    out: list[tuple[Problem, int]] = []

    def add(file, rows, column, values, rule, cap=1000):
        rows = np.asarray(rows)
        vals = list(values)
        for r, v in zip(rows[:cap], vals[:cap], strict=False):
            out.append((Problem(file, int(r), column, _plain(v), rule), 1))
        if len(rows) > cap:
            out.append(
                (
                    Problem(file, None, column, None, f"{rule} — and {len(rows) - cap} more rows"),
                    len(rows) - cap,
                )
            )

    ids = subjects["USUBJID"].astype(object) if "USUBJID" in subjects else None
    if ids is None:
        out.append((Problem(subject_file, 1, "USUBJID", None, "required column is missing"), 1))
    else:
        blank = ids.isna() | (ids.astype(str).str.strip() == "")
        add(
            subject_file,
            np.flatnonzero(blank) + 2,
            "USUBJID",
            [None] * int(blank.sum()),
            "a value is required (blank cell)",
        )
        dup = ids.duplicated(keep="first") & ~blank
        add(
            subject_file,
            np.flatnonzero(dup) + 2,
            "USUBJID",
            ids[dup],
            "duplicated subject id (ADSL has one row per subject)",
        )
    if not any(t in subjects.columns for t in TREATMENT_VARIABLES):
        out.append(
            (
                Problem(
                    subject_file,
                    1,
                    "TRT01P",
                    None,
                    "no treatment variable (expected TRT01P, TRT01A or ARM)",
                ),
                1,
            )
        )
    for f in [c for c in subjects.columns if c in POPULATION_FLAGS or c == "SAFFL"]:
        v = subjects[f].astype(object).where(subjects[f].notna(), "")
        bad = ~v.isin(["Y", "N", ""])
        add(subject_file, np.flatnonzero(bad) + 2, f, v[bad], "expected Y, N or blank (ADaM flag)")
    known = set(ids.astype(str)) if ids is not None else set()
    for file, m in bds.items():
        miss = [c for c in ("USUBJID", "PARAMCD") if c not in m.columns]
        if "AVAL" not in m.columns and "AVALC" not in m.columns:
            miss.append("AVAL")
        for c in miss:
            out.append((Problem(file, 1, c, None, "required column is missing (BDS)"), 1))
        if "USUBJID" in m.columns and known:
            u = m["USUBJID"].astype(str)
            bad = ~u.isin(known)
            add(
                file,
                np.flatnonzero(bad) + 2,
                "USUBJID",
                u[bad],
                "a record of a subject that is not in ADSL",
            )
        for f in [c for c in m.columns if c in ("ABLFL",) or re.fullmatch(r"ANL\d\dFL", c)]:
            v = m[f].astype(object).where(m[f].notna(), "")
            bad = ~v.isin(["Y", ""])
            add(file, np.flatnonzero(bad) + 2, f, v[bad], "expected Y or blank (ADaM record flag)")
        if {"AVAL", "BASE", "CHG"} <= set(m.columns):
            aval, base, chg = (
                pd.to_numeric(m[c], errors="coerce").to_numpy(float)
                for c in ("AVAL", "BASE", "CHG")
            )
            with np.errstate(invalid="ignore"):
                tol = tolerance + 1e-9 * np.abs(aval)
                bad = (
                    ~np.isnan(chg)
                    & ~np.isnan(aval)
                    & (np.isnan(base) | (np.abs(chg - (aval - base)) > tol))
                )
            add(
                file,
                np.flatnonzero(bad) + 2,
                "CHG",
                chg[bad],
                f"CHG must equal AVAL - BASE (within {tolerance})",
            )
        if {"USUBJID", "PARAMCD", "AVAL", "BASE", "ABLFL"} <= set(m.columns):
            keys = [k for k in ("USUBJID", "PARAMCD", "BASETYPE", "ATPTN") if k in m.columns]
            is_bl = (m["ABLFL"].astype(object) == "Y").to_numpy()
            bl = m.loc[is_bl]
            many = bl.duplicated(keys, keep="first")
            hint = _hint(bl, keys, many)
            add(
                file,
                np.flatnonzero(is_bl)[many.to_numpy()] + 2,
                "ABLFL",
                ["Y"] * int(many.sum()),
                "a second baseline record (ABLFL = Y) for the same subject and parameter" + hint,
            )
            ref = bl.loc[~many].set_index(keys)["AVAL"]
            idx = pd.MultiIndex.from_frame(m[keys].astype(object)) if len(keys) > 1 else m[keys[0]]
            b0 = pd.to_numeric(pd.Series(ref.reindex(idx).to_numpy()), errors="coerce").to_numpy()
            base = pd.to_numeric(m["BASE"], errors="coerce").to_numpy(float)
            with np.errstate(invalid="ignore"):
                bad = ~np.isnan(base) & ~np.isnan(b0) & (np.abs(base - b0) > tolerance)
            add(
                file,
                np.flatnonzero(bad) + 2,
                "BASE",
                base[bad],
                "BASE differs from AVAL of the baseline record (ABLFL = Y) of the same subject "
                "and parameter",
            )
    return out


def _hint(frame: pd.DataFrame, keys: Sequence[str], dup: pd.Series) -> str:
    """Why records look duplicated: the ADaM variables that tell them apart, and the option."""
    if not dup.any():
        return ""
    cand = [
        ("ATPT", "several time points per visit: choose one with timepoint=..."),
        ("ATPTN", "several time points per visit: choose one with timepoint=..."),
        ("DTYPE", "derived records (DTYPE) beside observed ones: dtype=None keeps observed ones"),
        ("BASETYPE", "several baseline definitions (BASETYPE): choose one with basetype=..."),
        ("AVISIT", "unscheduled visits share the visit number: scheduled visits are the default"),
        ("ADT", "repeated measurements at one visit: an analysis flag (ANLzzFL) must pick one"),
    ]
    sub = frame.loc[frame.duplicated(list(keys), keep=False)]
    for col, text in cand:
        if col in sub.columns and col not in keys:
            g = sub.groupby(list(keys), sort=False)[col].nunique(dropna=False)
            if (g > 1).any():
                return f" ({col} differs: {text})"
    return ""


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# ------------------------------------------------------------------------------------------
# Record selection
# ------------------------------------------------------------------------------------------
def text(s: pd.Series) -> pd.Series:
    """Cells as stripped text, ``""`` for missing (flags, codes and labels compare as text)."""
    return s.astype(object).where(s.notna(), "").astype(str).str.strip()


def analysis_set(
    subjects: pd.DataFrame,
    measurements: pd.DataFrame,
    paramcd: str,
    *,
    visits: Sequence[float] | None = None,
    scheduled: Sequence[tuple[float, str]] = (),
    timepoint: Any = None,
    population: str | None = None,
    treatment: str | None = None,
    arms: Sequence[str] | None = None,
    control: str | None = None,
    flag: str | None = "ANL01FL",
    dtype: str | None = None,
    basetype: str | None = None,
    unscheduled: bool = False,
    source: str = "",
) -> pd.DataFrame:
    """Long analysis data set of one parameter: one row per subject and visit.

    See :meth:`trial_analysis.ipd.IPD.analysis_set` (the public entry point).
    """
    m = measurements
    if "PARAMCD" not in m.columns:
        raise AnalysisSetError("the measurements have no PARAMCD column (not a BDS data set)")
    codes = list(dict.fromkeys(text(m["PARAMCD"])))
    if paramcd not in codes:
        raise ParameterError("paramcd", "a PARAMCD of the data (" + ", ".join(codes) + ")", paramcd)
    trt = treatment_variable(subjects, treatment)
    pflag = population_flag(subjects, population)
    rec = m.loc[text(m["PARAMCD"]) == paramcd]
    if "AVISITN" not in rec.columns and "AVISIT" in rec.columns and scheduled:
        # visits labelled by AVISIT only: numbered by the design's visit labels (case and
        # blanks ignored); a label the design does not schedule (Unscheduled 2.1...) gets none
        number = {" ".join(lab.split()).lower(): v for v, lab in scheduled}
        labels = text(rec["AVISIT"]).map(lambda x: " ".join(x.split()).lower())
        rec = rec.assign(AVISITN=labels.map(number).astype(float))
    param = text(rec["PARAM"]).iloc[0] if "PARAM" in rec.columns and len(rec) else paramcd
    base_rec = rec.loc[text(rec["ABLFL"]) == "Y"] if "ABLFL" in rec.columns else rec.iloc[:0]
    used_flag = None
    if flag is not None:
        if flag in rec.columns:
            rec = rec.loc[text(rec[flag]) == "Y"]
            used_flag = flag
        elif flag != "ANL01FL":
            present = [c for c in m.columns if re.fullmatch(r"ANL\d\dFL", str(c))]
            raise ParameterError(
                "flag",
                "an analysis flag of the data (" + (", ".join(present) or "none") + ")",
                flag,
            )
    if "DTYPE" in rec.columns:
        dt = text(rec["DTYPE"])
        if dtype is None:
            rec = rec.loc[dt == ""]
        else:
            types = sorted(set(dt) - {""})
            if dtype not in types:
                raise ParameterError("dtype", f"a DTYPE of {paramcd} ({', '.join(types)})", dtype)
            rec = rec.loc[dt == dtype]
    elif dtype is not None:
        raise ParameterError("dtype", "None (the data have no DTYPE column)", dtype)
    if "BASETYPE" in rec.columns:
        bt = text(rec["BASETYPE"])
        kinds = sorted(set(bt) - {""})
        if basetype is None and len(kinds) > 1:
            raise AnalysisSetError(
                f"{paramcd} has several baseline definitions: BASETYPE = {', '.join(kinds)}; "
                "choose one with basetype=..."
            )
        if basetype is not None:
            if basetype not in kinds:
                raise ParameterError("basetype", f"a BASETYPE of {paramcd} {kinds}", basetype)
            rec = rec.loc[bt == basetype]
            base_rec = base_rec.loc[text(base_rec["BASETYPE"]) == basetype]
    tp_col = "ATPT" if "ATPT" in rec.columns else ("ATPTN" if "ATPTN" in rec.columns else None)
    used_tp = None
    if tp_col is not None:
        tp = text(rec[tp_col])
        points = list(dict.fromkeys(x for x in tp if x != ""))
        if timepoint is None and len(points) > 1:
            raise AnalysisSetError(
                f"{paramcd} is measured at several time points per visit: ATPT = "
                + ", ".join(repr(p) for p in points)
                + "; choose one with timepoint=..."
            )
        if timepoint is not None:
            want = str(timepoint).strip()
            hit = tp == want
            if not hit.any() and "ATPTN" in rec.columns:
                hit = pd.to_numeric(rec["ATPTN"], errors="coerce") == pd.to_numeric(
                    want, errors="coerce"
                )
            if not hit.any():
                raise ParameterError(
                    "timepoint", "a time point (ATPT) of " + paramcd + " " + str(points), timepoint
                )
            rec = rec.loc[hit.to_numpy()]
            used_tp = want
            if len(base_rec):
                bt = text(base_rec[tp_col])
                base_rec = base_rec.loc[(bt == want).to_numpy() | (bt == "").to_numpy()]
    elif timepoint is not None:
        raise ParameterError("timepoint", "None (the data have no ATPT column)", timepoint)
    if "AVISITN" not in rec.columns:
        raise AnalysisSetError(
            f"{paramcd}: no AVISITN column, so no by-visit analysis set (with AVISIT only, "
            "declare the visits in design.toml: [schedule] visits = [{ avisitn, label, time }])"
        )
    if not unscheduled and "AVISIT" in rec.columns:
        rec = rec.loc[~text(rec["AVISIT"]).str.contains(_UNSCHEDULED_RE).to_numpy()]
    vis = pd.to_numeric(rec["AVISITN"], errors="coerce")
    if visits is None:
        wanted = [v for v, _ in scheduled] if scheduled else sorted(vis.dropna().unique())
        base_visits = set(pd.to_numeric(base_rec.get("AVISITN", pd.Series()), errors="coerce"))
        wanted = [v for v in wanted if v not in base_visits and v != 0]
    else:
        wanted = [float(v) for v in visits]
        there = set(vis.dropna())
        absent = [v for v in wanted if v not in there]
        if absent:
            raise ParameterError(
                "visits",
                f"visits (AVISITN) with {paramcd} records ("
                + ", ".join(f"{v:g}" for v in sorted(there))
                + ")",
                [f"{v:g}" for v in absent],
            )
    rec = rec.loc[vis.isin(wanted).to_numpy()]
    subj, arms_l = _subjects(subjects, trt, pflag, arms, control)
    keep = [
        c
        for c in (
            "USUBJID",
            "AVISITN",
            "AVISIT",
            "ATPT",
            "ADT",
            "AVAL",
            "BASE",
            "CHG",
            "PCHG",
            "DTYPE",
        )
        if c in rec.columns
    ]
    out = rec[keep].copy()
    out["USUBJID"] = text(out["USUBJID"])
    out = out.merge(subj, on="USUBJID", how="inner")
    dup = out.duplicated(["USUBJID", "AVISITN"], keep=False)
    if dup.any():
        full = rec.assign(USUBJID=text(rec["USUBJID"]))
        full = full.loc[full["USUBJID"].isin(out.loc[dup, "USUBJID"])]
        hint = _hint(full, ["USUBJID", "AVISITN"], full.duplicated(["USUBJID", "AVISITN"]))
        first = out.loc[dup].iloc[0]
        raise AnalysisSetError(
            f"{paramcd}: {int(dup.sum())} records share a subject and visit (first: "
            f"{first['USUBJID']} at AVISITN {first['AVISITN']:g}) after the record selection"
            + (hint or "; select one record per visit with an analysis flag: flag=...")
        )
    for c in ("AVAL", "BASE", "CHG", "PCHG"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    derived = []
    if "BASE" not in out.columns or out["BASE"].isna().any():
        if len(base_rec):
            b = base_rec.assign(USUBJID=text(base_rec["USUBJID"])).drop_duplicates("USUBJID")
            b = pd.to_numeric(b.set_index("USUBJID")["AVAL"], errors="coerce")
            filled = out["USUBJID"].map(b)
            out["BASE"] = out["BASE"].fillna(filled) if "BASE" in out.columns else filled
            derived.append("BASE from the ABLFL record")
        elif "BASE" not in out.columns:
            out["BASE"] = np.nan
    if (
        "CHG" not in out.columns
        or (out["CHG"].isna() & out["AVAL"].notna() & out["BASE"].notna()).any()
    ):
        calc = out["AVAL"] - out["BASE"]
        out["CHG"] = out["CHG"].fillna(calc) if "CHG" in out.columns else calc
        derived.append("CHG = AVAL - BASE where blank")
    # percent change where blank and defined (blank when BASE is 0, as the documented format)
    pcalc = (100 * out["CHG"] / out["BASE"]).where(out["BASE"] != 0)
    if "PCHG" not in out.columns or (out["PCHG"].isna() & pcalc.notna()).any():
        out["PCHG"] = out["PCHG"].fillna(pcalc) if "PCHG" in out.columns else pcalc
        derived.append("PCHG = 100 * CHG / BASE where blank")
    order = {a: i for i, a in enumerate(arms_l)}
    out = out.assign(_a=out["ARM"].map(order), AVISITN=out["AVISITN"].astype(float))
    out = out.sort_values(["_a", "USUBJID", "AVISITN"], kind="stable").drop(columns="_a")
    first = ["USUBJID", "ARM", "AVISITN", "AVAL", "BASE", "CHG"]
    out = out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)
    out["ARM"] = pd.Categorical(out["ARM"], categories=arms_l)
    labels = {}
    if "AVISIT" in rec.columns:
        labels = dict(zip(vis, text(rec["AVISIT"]), strict=False))
    sched = dict(scheduled)
    vt = tuple((float(v), sched.get(v) or labels.get(v, "")) for v in wanted)
    out.attrs["analysis_set"] = _describe(
        out,
        arms_l,
        paramcd=paramcd,
        param=param,
        population=pflag or "ALL",
        treatment=trt,
        visits=vt,
        flag=used_flag,
        dtype=dtype,
        timepoint=used_tp,
        unscheduled=unscheduled,
        source=source + ("; " + ", ".join(derived) if derived else ""),
    )
    return out


def _subjects(
    subjects: pd.DataFrame,
    trt: str,
    pflag: str | None,
    arms: Sequence[str] | None = None,
    control: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """``USUBJID, ARM`` of the subjects in the population and analysed arms, and the arms
    (control first): the one selection step of every analysis set."""
    subj = subjects.loc[in_population(subjects, pflag, trt), ["USUBJID", trt]].copy()
    subj[trt] = text(subj[trt])
    subj["USUBJID"] = text(subj["USUBJID"])
    arms_l = arms_of(subjects, trt, pflag)[0] if arms is None else list(arms)
    if control is not None:
        arms_l = [control] + [a for a in arms_l if a != control]
    subj = subj.loc[subj[trt].isin(arms_l)].rename(columns={trt: "ARM"})
    return subj, arms_l


def _describe(out: pd.DataFrame, arms_l: Sequence[str], **fields: Any) -> AnalysisSet:
    """The :class:`AnalysisSet` of a selected frame (counts read from ``out``)."""
    n_by_arm = out.drop_duplicates("USUBJID")["ARM"].value_counts().to_dict()
    return AnalysisSet(
        arms=(*tuple(arms_l[1:]), arms_l[0]),
        control=arms_l[0],
        n_subjects=int(out["USUBJID"].nunique()),
        n_records=len(out),
        n_by_arm={str(k): int(v) for k, v in n_by_arm.items()},
        **fields,
    )


def time_to_event(
    subjects: pd.DataFrame,
    tte: pd.DataFrame,
    paramcd: str,
    *,
    population: str | None = None,
    treatment: str | None = None,
    source: str = "",
) -> pd.DataFrame:
    """``USUBJID, ARM, time, event`` (event = 1 - CNSR) of one ADTTE parameter."""
    codes = list(dict.fromkeys(text(tte["PARAMCD"]))) if len(tte) else []
    if paramcd not in codes:
        raise ParameterError(
            "paramcd", "a PARAMCD of the ADTTE data (" + (", ".join(codes) or "none") + ")", paramcd
        )
    trt = treatment_variable(subjects, treatment)
    pflag = population_flag(subjects, population)
    rec = tte.loc[text(tte["PARAMCD"]) == paramcd]
    subj, arms_l = _subjects(subjects, trt, pflag)
    out = pd.DataFrame(
        {
            "USUBJID": text(rec["USUBJID"]).to_numpy(),
            "time": pd.to_numeric(rec["AVAL"], errors="coerce").to_numpy(float),
            "CNSR": pd.to_numeric(rec["CNSR"], errors="coerce").to_numpy(float),
        }
    )
    bad = ~np.isin(out["CNSR"], [0.0, 1.0])
    if bad.any():
        raise AnalysisSetError(
            f"{paramcd}: CNSR must be 0 (event) or 1 (censored); {int(bad.sum())} records have "
            f"{sorted(set(out.loc[bad, 'CNSR'].astype(str)))}"
        )
    if out["USUBJID"].duplicated().any():
        raise AnalysisSetError(
            f"{paramcd}: more than one ADTTE record for a subject (first: "
            f"{out.loc[out['USUBJID'].duplicated(), 'USUBJID'].iloc[0]})"
        )
    out = out.merge(subj, on="USUBJID", how="inner")
    out["event"] = (1 - out.pop("CNSR")).astype(int)
    out = out[["USUBJID", "ARM", "time", "event"]]
    out["ARM"] = pd.Categorical(out["ARM"], categories=arms_l)
    out = out.sort_values(["ARM", "USUBJID"], kind="stable").reset_index(drop=True)
    out.attrs["analysis_set"] = _describe(
        out,
        arms_l,
        paramcd=paramcd,
        param=text(rec["PARAM"]).iloc[0] if "PARAM" in rec.columns else paramcd,
        population=pflag or "ALL",
        treatment=trt,
        visits=(),
        flag=None,
        dtype=None,
        timepoint=None,
        unscheduled=False,
        source=source,
    )
    return out
