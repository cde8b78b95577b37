"""Patient-level data (IPD): the format, the readers and the validating loader.

The format follows CDISC ADaM conventions (documented in ``docs/data-format.md``):

* a **subject-level table** (ADSL-like), one row per subject: :data:`SUBJECT_COLUMNS`;
* a **long measurement table** (BDS-like), one row per subject, parameter and visit:
  :data:`MEASUREMENT_COLUMNS`.

:func:`load_ipd` reads a folder of two CSV (or Parquet, or SAS transport ``.xpt``) files named
``subjects.*`` and ``measurements.*`` (ADaM names ``adsl.*`` / ``adbds.*`` also work), or an Excel
workbook with sheets ``subjects`` and ``measurements``; validates everything against the trial
design; and returns an :class:`IPD`. Bad input raises one
:class:`~trial_analysis.errors.DataValidationError` listing every problem (file, spreadsheet row,
column, value, rule). Input files and DataFrames are never modified.

Why not pandera: its lazy validation reports failure cases by DataFrame index and check name,
but the problems users actually meet here happen *before* a typed DataFrame exists (encodings,
a title row above the header, duplicated column names, Excel dates, decimal commas, truncated
files) and the cross-table rules (measurements of unknown subjects, ``CHG == AVAL - BASE``
within a tolerance, visits on the design's schedule, per-parameter ranges) would each be a
custom check anyway. The small vectorised validator below gives spreadsheet row numbers and one
wording for every rule, and validates 1 million rows in a few seconds
(``benchmarks/load_ipd.py``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from . import adam
from ._io import unescape_formula_text
from ._optional import require
from ._paths import available_trials, display_path
from ._validate import check_choice
from .design import TrialDesign, evaluate_rule, load_design
from .errors import DataValidationError, ParameterError, Problem
from .results import SYNTHETIC_NOTE, Result

__all__ = [
    "FORMATS",
    "IPD",
    "MEASUREMENT_COLUMNS",
    "POPULATIONS",
    "SUBJECT_COLUMNS",
    "load_ipd",
    "save_ipd",
    "validate_frames",
]

#: Subject-level columns of the documented format (ADSL-like). ``<records>kWK``/``<records>kDOSE``
#: repeat for each scheduled administration the design declares (``dose.records``, e.g. INF).
SUBJECT_COLUMNS = (
    "USUBJID",
    "ARM",
    "AGE",
    "SEX",
    "WEIGHT",
    "BMI",
    "DURDIAB",
    "RANDFL",
    "SAFFL",
    "ITTFL",
    "PPROTFL",
    "DCSREAS",
    "INF1WK",
    "INF2WK",
    "INF3WK",
    "INF1DOSE",
    "INF2DOSE",
    "INF3DOSE",
)
#: Measurement columns (BDS-like).
MEASUREMENT_COLUMNS = ("USUBJID", "PARAMCD", "AVISITN", "AVAL", "BASE", "CHG", "PCHG")
#: Analysis populations accepted by :meth:`IPD.population` and their flag column.
POPULATIONS = {"ALL": None, "RAND": "RANDFL", "SAF": "SAFFL", "ITT": "ITTFL", "PP": "PPROTFL"}
#: File formats read and written.
FORMATS = ("csv", "excel", "xpt", "parquet")

_SUBJECT_NAMES = ("subjects", "adsl")
_MEAS_NAMES = ("measurements", "adbds")
_EXT = {"csv": ".csv", "xpt": ".xpt", "parquet": ".parquet", "excel": ".xlsx"}
_MAX_PER_RULE = 1000  # problems stored per (file, column, rule); the rest are counted
_BLANKS = frozenset({"", "NA", "."})
_NONFINITE = frozenset({"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"})
_DATE_RE = re.compile(
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
    r"|\d{1,2}-[A-Za-z]{3}(-\d{2,4})?|[A-Za-z]{3}-\d{1,2})\s*$"
)
_COMMA_DEC_RE = re.compile(r"^\s*[+-]?\d*,\d+\s*$")
# CHG and PCHG are checked against AVAL - BASE within what rounding each of the three values
# to 2 decimals can explain (3 x 0.005).
CHG_TOLERANCE = 0.015


# ------------------------------------------------------------------------------------------
# Column specifications
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Col:
    name: str
    kind: str  # "id", "str", "choice", "flag", "num", "int"
    blank_ok: bool = False
    low: float = -math.inf
    high: float = math.inf
    choices: tuple[str, ...] = ()
    what: str = ""


def _n_records(design: TrialDesign) -> tuple[str, int]:
    """(column prefix, number) of the per-administration records the design declares."""
    pre = design.administration_records
    return pre, (len(design.infusion_weeks) if pre else 0)


def _subject_spec(design: TrialDesign) -> list[_Col]:
    """The core subject columns, then what the design declares (its subject variables and
    per-administration records): nothing trial-specific is required otherwise."""
    spec = [
        _Col("USUBJID", "id"),
        _Col("ARM", "choice", choices=design.arm_names, what="an arm of the design"),
        _Col("AGE", "num", low=0, high=120, what="age in years"),
        _Col("SEX", "choice", choices=("M", "F", "U"), what="M, F or U (CDISC SEX)"),
    ]
    kinds = {"number": "num", "text": "str", "flag": "flag", "date": "date"}
    for v in design.subject_variables:
        lab = v.label[:1].lower() + v.label[1:] if v.label[1:2].islower() else v.label
        what = lab + (f" in {v.unit}" if v.unit else "")
        spec.append(
            _Col(v.name, kinds[v.type], blank_ok=not v.required, low=v.low, high=v.high, what=what)
        )
    spec += [_Col(f, "flag") for f in ("RANDFL", "SAFFL", "ITTFL", "PPROTFL")]
    spec.append(_Col("DCSREAS", "str", blank_ok=True))
    pre, k = _n_records(design)
    spec += [
        _Col(f"{pre}{i}WK", "int", blank_ok=True, choices=tuple(map(str, design.infusion_weeks)))
        for i in range(1, k + 1)
    ]
    if not k:
        return spec
    unit = design.dose.unit.removesuffix("/kg") if design.dose.basis == "per_kg" else ""
    spec += [
        _Col(
            f"{pre}{i}DOSE",
            "num",
            blank_ok=True,
            low=0,
            what=f"{unit or design.dose.unit} given at {design.dose.per} {i}",
        )
        for i in range(1, k + 1)
    ]
    return spec


def _measurement_spec(design: TrialDesign) -> list[_Col]:
    codes = tuple(p.code for p in design.parameters)
    return [
        _Col("USUBJID", "id"),
        _Col("PARAMCD", "choice", choices=codes, what="a parameter of the design"),
        _Col("AVISITN", "int", choices=tuple(map(str, design.visit_weeks))),
        _Col("AVAL", "num"),
        _Col("BASE", "num", blank_ok=True),
        _Col("CHG", "num", blank_ok=True),
        _Col("PCHG", "num", blank_ok=True),
    ]


_OPTIONAL_KNOWN = {"SYNTHFL": "flag", "STUDYID": "str"}


# ------------------------------------------------------------------------------------------
# The IPD object
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class IPD(Result):
    """Validated patient-level data of one trial.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject, columns :data:`SUBJECT_COLUMNS` (flags ``"Y"``/``"N"``,
        ``DCSREAS`` ``""`` when the subject did not discontinue, blank infusion weeks/doses NaN).
    measurements : pandas.DataFrame
        Long table, columns :data:`MEASUREMENT_COLUMNS`, ``AVISITN`` = week.
    design : TrialDesign
        The design the data were validated against.
    synthetic : bool
        True for synthetic cohorts (files carry ``SYNTHFL = "Y"``); every result computed from
        them must carry :data:`~trial_analysis.results.SYNTHETIC_NOTE`.
    source : str
        Where the data came from (a path, or ``"synthetic:zang2022 seed=..."``).
    info : mapping
        Extra facts; synthetic cohorts record ``seed``, ``exact`` and the generative ``model``.

    Notes
    -----
    Text columns are pandas ``object`` columns (converting a million cells to the ``str``
    dtype costs seconds and changes nothing in comparisons or grouping). Rows keep the input
    order; columns keep the input order, extra columns included.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ipd = ta.synthetic_ipd("zang2022")
    >>> ipd.population("PP").groupby("ARM", sort=False).size().to_dict()
    {'UC-MSC': 45, 'Placebo': 44}
    >>> ipd.wide("HBA1C").shape
    (91, 7)
    """

    subjects: pd.DataFrame
    measurements: pd.DataFrame
    design: TrialDesign | None
    synthetic: bool = False
    source: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)
    #: ADaM data sets as given (``True``) or the documented two-table format (``False``)
    adam: bool = False
    #: time-to-event records (ADTTE data sets, concatenated), ``None`` when there are none
    tte: pd.DataFrame | None = None
    #: the default treatment variable (``TRT01P`` for ADaM when present, ``ARM`` otherwise)
    treatment: str = "ARM"

    title: ClassVar[str] = "Patient-level data: n and mean (SD) by arm, parameter and visit"

    # -- arms, read from the design or (without one) from the data --------------------------
    @property
    def arm_names(self) -> tuple[str, ...]:
        """Arms, control first for data without a design; the design's order otherwise."""
        if self.design is not None:
            return self.design.arm_names
        arms, _ = adam.arms_of(self.subjects, self.treatment, self._default_flag())
        return tuple(arms)

    @property
    def control(self) -> str:
        """The control arm (the design's, else read from the data: placebo/control/... or the
        first arm)."""
        if self.design is not None:
            return self.design.control_arm.name
        return adam.arms_of(self.subjects, self.treatment, self._default_flag())[1]

    def _default_flag(self) -> str | None:
        return adam.population_flag(self.subjects, None)

    def analysis_set(
        self,
        paramcd: str,
        *,
        visits: Iterable[float] | None = None,
        timepoint: Any = None,
        population: str | None = None,
        treatment: str | None = None,
        flag: str | None = "ANL01FL",
        dtype: str | None = None,
        unscheduled: bool = False,
    ) -> pd.DataFrame:
        """Long analysis data set of one parameter, one row per subject and visit.

        The ADaM record rules, each choice explicit and recorded in
        ``result.attrs["analysis_set"]`` (an :class:`~trial_analysis.adam.AnalysisSet`):
        subjects of ``population`` (a flag such as ``"SAFFL"`` or ``ITT``/``FAS``/``SAF``/
        ``PP``/``RAND``; default the first of ITTFL, FASFL, EFFFL, SAFFL, PPROTFL, RANDFL
        present; ``"ALL"``: every subject with an arm — screen failures are never in an arm);
        arm = ``treatment`` (default TRT01P, else TRT01A, ARM...); records with ``flag = "Y"``
        when that column exists (ANL01FL by default; ``None``: no flag); observed records
        (``DTYPE`` blank) unless ``dtype`` names a derived type; one ``timepoint`` (ATPT) when
        the parameter has several; scheduled visits only unless ``unscheduled``; the visits
        are ``visits`` (AVISITN values) or every scheduled post-baseline visit.

        Returns
        -------
        pandas.DataFrame
            ``USUBJID, ARM, AVISITN, AVAL, BASE, CHG`` (+ ``AVISIT``, ``PCHG``... when present),
            ``ARM`` categorical with the control arm first; ready for
            ``ta.mmrm.fit(data, "CHG", "USUBJID", "AVISITN", "ARM", baseline="BASE")``.

        Raises
        ------
        AnalysisSetError
            Naming the ADaM variable and the option that resolves the problem (several time
            points: the ATPT values; duplicates left after the selection; no AVISITN).

        Examples
        --------
        >>> import trial_analysis as ta
        >>> ipd = ta.load_ipd("cdiscpilot01")
        >>> a = ipd.analysis_set("GLUC", population="SAFFL")
        >>> a.attrs["analysis_set"].n_subjects
        230
        """
        scheduled: tuple[tuple[float, str], ...] = ()
        arms = control = None
        if self.design is not None:
            scheduled = tuple((v.avisitn, v.label) for v in self.design.visits)
            arms = list(self.design.arm_names)
            control = self.design.control_arm.name
        return adam.analysis_set(
            self.subjects,
            self.measurements,
            paramcd,
            visits=None if visits is None else list(visits),
            scheduled=scheduled,
            timepoint=timepoint,
            population=population,
            treatment=treatment or self.treatment,
            arms=arms,
            control=control,
            flag=flag,
            dtype=dtype,
            unscheduled=unscheduled,
            source=self.source,
        )

    def time_to_event(
        self, paramcd: str, *, population: str | None = None, treatment: str | None = None
    ) -> pd.DataFrame:
        """``USUBJID, ARM, time, event`` of one ADTTE parameter (``event = 1 - CNSR``)."""
        if self.tte is None:
            raise adam.AnalysisSetError(
                f"{self.source}: no time-to-event data set (an ADTTE: a BDS with CNSR) was loaded"
            )
        return adam.time_to_event(
            self.subjects,
            self.tte,
            paramcd,
            population=population,
            treatment=treatment or self.treatment,
            source=self.source,
        )

    # -- populations and derived tables ---------------------------------------------------
    def population(self, population: str | None = None) -> pd.DataFrame:
        """Subjects of ``population`` (``ALL``, ``RAND``, ``SAF``, ``ITT`` or ``PP``).

        ``PP`` (``PPROTFL = "Y"``) is the population analysed in the published primary
        analysis (for Zang 2022: subjects with week-48 data, 45 + 44).
        """
        if self.adam:
            flag = adam.population_flag(self.subjects, population)
            keep = adam.in_population(self.subjects, flag, self.treatment)
            out = self.subjects.loc[keep].copy()
            out["ARM"] = out[self.treatment].astype(str)  # the analysed arm, in the copy only
            return out
        population = "ITT" if population is None else population
        check_choice("population", population, POPULATIONS)
        flag = POPULATIONS[population]
        s = self.subjects
        return s.copy() if flag is None else s.loc[s[flag] == "Y"].copy()

    def wide(self, paramcd: str, value: str = "AVAL") -> pd.DataFrame:
        """Subjects x visits table of one parameter (index ``USUBJID``, columns ``AVISITN``).

        Subjects without any row for ``paramcd`` appear with NaN; visits are the design's.
        """
        check_choice("value", value, ("AVAL", "BASE", "CHG", "PCHG"))
        if self.adam:
            a = self.analysis_set(paramcd, population="ALL")
            out = a.pivot(index="USUBJID", columns="AVISITN", values=value)
            out = out.reindex(index=self.subjects["USUBJID"].astype(str))
            out.columns.name = "AVISITN"
            return out
        codes = [p.code for p in self.design.parameters]
        check_choice("paramcd", paramcd, codes)
        m = self.measurements
        m = m.loc[m["PARAMCD"] == paramcd]
        out = m.pivot(index="USUBJID", columns="AVISITN", values=value)
        out = out.reindex(index=self.subjects["USUBJID"], columns=list(self.design.visit_weeks))
        out.columns.name = "AVISITN"
        return out

    def baseline(self) -> pd.DataFrame:
        """One row per subject: ``BASE_<PARAMCD>`` for every parameter (NaN when missing).

        The baseline is ``BASE`` where given, else ``AVAL`` at week 0.
        """
        if self.adam:
            return self._adam_baseline()
        m = self.measurements
        b = m["BASE"].where(m["BASE"].notna(), m["AVAL"].where(m["AVISITN"] == 0))
        tab = (
            pd.DataFrame({"USUBJID": m["USUBJID"], "PARAMCD": m["PARAMCD"], "b": b})
            .dropna(subset=["b"])
            .groupby(["USUBJID", "PARAMCD"], sort=False)["b"]
            .first()
            .unstack("PARAMCD")
        )
        codes = [p.code for p in self.design.parameters]
        tab = tab.reindex(index=self.subjects["USUBJID"], columns=codes)
        tab.columns = [f"BASE_{c}" for c in codes]
        return tab.reset_index()

    def _adam_baseline(self) -> pd.DataFrame:
        """``BASE_<PARAMCD>``: AVAL of the observed baseline record (ABLFL = Y, DTYPE blank,
        the first time point when there are several)."""
        m = self.measurements
        sel = adam.text(m["ABLFL"]) == "Y" if "ABLFL" in m.columns else pd.Series(False, m.index)
        if "DTYPE" in m.columns:
            sel &= adam.text(m["DTYPE"]) == ""
        b = m.loc[sel]
        tab = (
            pd.DataFrame(
                {
                    "USUBJID": adam.text(b["USUBJID"]),
                    "PARAMCD": adam.text(b["PARAMCD"]),
                    "b": pd.to_numeric(b["AVAL"], errors="coerce"),
                }
            )
            .dropna(subset=["b"])
            .groupby(["USUBJID", "PARAMCD"], sort=False)["b"]
            .first()
            .unstack("PARAMCD")
        )
        codes = list(dict.fromkeys(adam.text(m["PARAMCD"])))
        tab = tab.reindex(index=adam.text(self.subjects["USUBJID"]), columns=codes)
        tab.index.name = "USUBJID"
        tab.columns = [f"BASE_{c}" for c in codes]
        return tab.reset_index()

    def _values_frame(self, ep: Any, measure: Any, ids: pd.Series, subj: pd.DataFrame):
        """``USUBJID, ARM, value, BASE_<PARAMCD>...``: the endpoint evaluated with ``measure``
        (a binary endpoint as the conjunction of its components, three-valued)."""
        if ep.type == "binary":
            value = evaluate_rule(ep.components, measure)
        else:
            value = measure(ep.parameter, ep.measure)
        out = pd.DataFrame({"USUBJID": ids.to_numpy(), "ARM": subj["ARM"].to_numpy()})
        out["value"] = value
        return out.merge(self.baseline(), on="USUBJID", how="left")

    def _adam_endpoint_values(self, ep: Any, population: str | None) -> pd.DataFrame:
        subj = self.population(population or ep.population or None)
        ids = adam.text(subj["USUBJID"])
        cache: dict[str, pd.DataFrame] = {}

        def measure(param: str, meas: str) -> np.ndarray:
            if param not in cache:
                cache[param] = self.analysis_set(
                    param, visits=[ep.avisitn], population=population or ep.population or None
                ).set_index("USUBJID")
            a = cache[param]
            v = a[{"value": "AVAL", "chg": "CHG", "pchg": "PCHG"}[meas]]
            return pd.to_numeric(v, errors="coerce").reindex(ids).to_numpy(dtype=float)

        out = self._values_frame(ep, measure, ids, subj)
        sets = [a.attrs.get("analysis_set") for a in cache.values()]
        out.attrs["analysis_set"] = "; ".join(str(x) for x in sets if x is not None)
        return out

    def endpoint_values(self, endpoint_id: str, population: str | None = None) -> pd.DataFrame:
        """Per-subject values of a design endpoint.

        Parameters
        ----------
        endpoint_id : str
            An endpoint id of the design (``"composite"``, ``"insulin"``, ``"hba1c"``...).
        population : str
            ``ALL``, ``RAND``, ``SAF``, ``ITT`` (default) or ``PP``.

        Returns
        -------
        pandas.DataFrame
            ``USUBJID, ARM, value, BASE_<PARAMCD>...``, one row per subject of the population,
            arms in design order. For a binary endpoint ``value`` is 1.0/0.0, NaN when it cannot
            be decided; for a continuous one it is the endpoint's measure (``AVAL``, ``CHG`` or
            ``PCHG``) at the endpoint's week, NaN when missing.

        Notes
        -----
        A composite endpoint is the conjunction of its components (e.g. ``HBA1C value < 7.0``
        and ``INSDOSE pchg <= -50``) evaluated at the endpoint's week with three-valued logic:
        1 when every component holds, 0 when any known component fails, NaN otherwise (a
        missing week-48 visit gives NaN). The definition comes from the design, not from code.

        Examples
        --------
        >>> import trial_analysis as ta
        >>> ipd = ta.synthetic_ipd("zang2022")
        >>> ev = ipd.endpoint_values("composite", population="PP")
        >>> ev.groupby("ARM", sort=False)["value"].agg(["sum", "count"]).astype(int).values.tolist()
        [[9, 45], [2, 44]]
        """
        if self.design is None:
            raise ParameterError(
                "endpoint_id",
                "an endpoint of a design (these data were loaded without a design.toml, so no "
                "endpoint is declared; pass design= to load_ipd)",
                endpoint_id,
            )
        try:
            ep = self.design.endpoint(endpoint_id)
        except KeyError:
            raise ParameterError(
                "endpoint_id",
                "one of " + ", ".join(repr(e.id) for e in self.design.endpoints),
                endpoint_id,
            ) from None
        if self.adam:
            out = self._adam_endpoint_values(ep, population)
        else:
            subj = self.population(population)
            at = self.measurements.loc[self.measurements["AVISITN"] == ep.week]
            ids = subj["USUBJID"]

            def measure(param: str, meas: str) -> np.ndarray:
                col = {"value": "AVAL", "chg": "CHG", "pchg": "PCHG"}[meas]
                s = at.loc[at["PARAMCD"] == param].set_index("USUBJID")[col]
                return s.reindex(ids).to_numpy(dtype=float)

            out = self._values_frame(ep, measure, ids, subj)
        order = {a: i for i, a in enumerate(self.arm_names)}
        out = out.iloc[np.argsort(out["ARM"].map(order).to_numpy(), kind="stable")]
        out.attrs["synthetic"] = self.synthetic
        out.attrs["endpoint"] = ep.id
        return out.reset_index(drop=True)

    # -- Result protocol --------------------------------------------------------------------
    def _adam_summary(self) -> pd.DataFrame:
        parts = []
        for code in dict.fromkeys(adam.text(self.measurements["PARAMCD"])):
            try:
                a = self.analysis_set(code)
            except adam.AnalysisSetError:
                continue  # needs a time point or a flag: summarised by analysis_set(...) only
            g = a.groupby(["AVISITN", "ARM"], sort=True, observed=True)["AVAL"]
            parts.append(g.agg(n="count", mean="mean", sd="std").reset_index().assign(PARAMCD=code))
        if not parts:
            return pd.DataFrame(columns=["PARAMCD", "AVISITN", "ARM", "n", "mean", "sd"])
        out = pd.concat(parts, ignore_index=True)
        out["ARM"] = out["ARM"].astype(str)
        return out[["PARAMCD", "AVISITN", "ARM", "n", "mean", "sd"]]

    def to_frame(self) -> pd.DataFrame:
        if self.adam:
            return self._adam_summary()
        m = self.measurements.merge(self.subjects[["USUBJID", "ARM"]], on="USUBJID")
        g = m.groupby(["PARAMCD", "AVISITN", "ARM"], sort=False)["AVAL"]
        out = g.agg(n="count", mean="mean", sd="std").reset_index()
        order = {a: i for i, a in enumerate(self.design.arm_names)}
        porder = {p.code: i for i, p in enumerate(self.design.parameters)}
        out = out.assign(_p=out["PARAMCD"].map(porder), _a=out["ARM"].map(order))
        out = out.sort_values(["_p", "AVISITN", "_a"]).drop(columns=["_p", "_a"])
        return out.reset_index(drop=True)

    @property
    def notes(self) -> tuple[str, ...]:
        if self.adam:
            flag = self._default_flag()
            pop = self.population(None)
            n = pop.groupby("ARM", sort=False).size()
            counts = ", ".join(f"{a}: {n.get(a, 0)}" for a in self.arm_names)
            out = [
                f"{len(self.subjects)} subjects in ADSL; {len(pop)} in the "
                f"{flag or 'all-arms'} population ({counts}; arm = {self.treatment}); "
                f"source: {self.source}"
            ]
            out += list(self.info.get("notes", ()))
            return tuple(out)
        n = self.subjects.groupby("ARM", sort=False).size()
        counts = ", ".join(f"{a}: {n.get(a, 0)}" for a in self.design.arm_names)
        out = [f"{len(self.subjects)} subjects ({counts}); source: {self.source}"]
        if self.synthetic:
            out.insert(0, SYNTHETIC_NOTE)
        return tuple(out)

    def save(self, path: str | Path, format: str = "csv") -> Path:
        """Write the data in the documented format; see :func:`save_ipd`."""
        return save_ipd(self, path, format=format)


# ------------------------------------------------------------------------------------------
# Problems collector
# ------------------------------------------------------------------------------------------
class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.total = 0  # problem rows, including those summarised by a count

    def add(self, file: str, row: int | None, column: str | None, value: Any, rule: str) -> None:
        self.items.append(Problem(file, row, column, value, rule))
        self.total += 1

    def add_many(
        self,
        file: str,
        rows: np.ndarray,
        column: str | None,
        values: Iterable[Any],
        rule: str | list[str],
    ) -> None:
        """One problem per row (the first ``_MAX_PER_RULE``, then a count of the rest)."""
        rows = np.asarray(rows)
        n = len(rows)
        if n == 0:
            return
        self.total += n
        vals = values if isinstance(values, np.ndarray) else list(values)
        rules = [rule] * min(n, _MAX_PER_RULE) if isinstance(rule, str) else rule
        for r, v, ru in zip(rows[:_MAX_PER_RULE], vals[:_MAX_PER_RULE], rules, strict=False):
            self.items.append(Problem(file, int(r), column, _plain(v), ru))
        if n > _MAX_PER_RULE:
            first = rule if isinstance(rule, str) else rule[0]
            self.items.append(
                Problem(
                    file,
                    None,
                    column,
                    None,
                    f"{first} — and {n - _MAX_PER_RULE} more rows with the same problem",
                )
            )

    def __bool__(self) -> bool:
        return bool(self.items)


def _sorted(items: list[Problem], files: tuple[str, ...]) -> list[Problem]:
    """Problems by file (subjects first), then row (file- and column-level first)."""
    order = {f: i for i, f in enumerate(files)}
    return sorted(items, key=lambda p: (order.get(p.file, -1), -1 if p.row is None else p.row))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# ------------------------------------------------------------------------------------------
# Readers: each returns a "raw" table: DataFrame of the data rows, columns = header names
# (possibly duplicated), and the spreadsheet row number of every data row.
# ------------------------------------------------------------------------------------------
@dataclass
class _Raw:
    file: str
    frame: pd.DataFrame | None  # data rows; columns positional 0..k-1
    header: list[str]
    rows: np.ndarray  # spreadsheet row numbers (header = row 1)


def _find_files(folder: Path, names: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for p in folder.iterdir():
        if p.is_file() and p.stem.lower() in names:
            fmt = {".csv": "csv", ".xpt": "xpt", ".parquet": "parquet", ".pq": "parquet"}.get(
                p.suffix.lower()
            )
            if fmt:
                found[fmt] = p
    return found


def _read_csv(path: Path, probs: _Problems, lim: Mapping[str, int] | None = None) -> _Raw | None:
    file = str(path)
    lim = _limits(None) if lim is None else lim
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except OSError as exc:
        probs.add(file, None, None, None, f"cannot read the file ({exc.strerror})")
        return None
    # Bound the work before parsing: fields on the first line (from at most 1 MiB of it) and
    # rows x columns; a CSV with a million columns would otherwise take minutes and all memory.
    line = head.split(b"\n", 1)[0]
    sep_b = b";" if line.count(b";") > line.count(b",") else b","
    n_cols = line.count(sep_b) + 1
    if n_cols > lim["max_columns"]:
        _too_big(file, 1, n_cols, lim, probs)
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        probs.add(file, None, None, None, f"cannot read the file ({exc.strerror})")
        return None
    if _too_big(file, data.count(b"\n"), n_cols, lim, probs):
        return None
    if not data.strip():
        probs.add(file, None, None, None, "the file is empty (expected a header row and data)")
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        probs.add(
            file, None, None, None, "the file is UTF-16 encoded; save it as 'CSV UTF-8' instead"
        )
        return None
    try:
        text = data.decode("utf-8-sig")
        bad_bytes = False
    except UnicodeDecodeError:
        # Decode with replacement characters so that the cells holding the bad bytes can be
        # named (row and column) below; the problems are reported, nothing is guessed.
        text = data.decode("utf-8-sig", errors="replace")
        bad_bytes = True
    first = _lines(text, 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    # A title or note line above the header (common in exports) would break the parser: find
    # the header among the first lines and say where it is.
    head = _lines(text, 10)
    marks = [i for i, ln in enumerate(head) if "USUBJID" in [c.strip() for c in ln.split(sep)]]
    if marks and marks[0] > 0:
        probs.add(
            file,
            marks[0] + 1,
            None,
            None,
            f"the header is on row {marks[0] + 1}, not row 1: delete the rows above it",
        )
        return None
    fast = None if bad_bytes else _read_fast(data, text, sep)
    if fast is not None:
        header, frame = fast
    else:
        try:
            grid = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=None,
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
            )
        except pd.errors.EmptyDataError:
            probs.add(file, None, None, None, "the file is empty (expected a header row and data)")
            return None
        except pd.errors.ParserError as exc:
            msg = str(exc)
            m = re.search(r"line (\d+)", msg)
            row = int(m.group(1)) if m else None
            if "EOF inside string" in msg:
                rule = "the file ends inside a quoted value (truncated file or unbalanced quote)"
            else:
                rule = f"malformed CSV ({msg.strip()}); every row needs the same number of fields"
            probs.add(file, row, None, None, rule)
            return None
        except (ValueError, MemoryError) as exc:  # pragma: no cover - defensive
            probs.add(file, None, None, None, f"cannot parse the file as CSV ({exc})")
            return None
        header = [_header_name(v) for v in grid.iloc[0].tolist()]
        frame = grid.iloc[1:].reset_index(drop=True)
    # Only a row whose last cell is blank can be short (pandas pads with blanks): count
    # separators only when there is such a row.
    n_fields = max(len(header), frame.shape[1])
    maybe = False
    if frame.shape[1] and pd.api.types.is_object_dtype(frame.dtypes.iloc[-1]):
        last = frame.iloc[:, -1].to_numpy(dtype=object)
        maybe = bool((last == "").any() or pd.isna(last).any())
    short = _short_rows(data, sep, n_fields) if maybe else np.empty(0, dtype=np.int64)
    if len(short):
        if short[0] == 1:
            probs.add(file, 1, None, None, "the header row has fewer fields than the data rows")
            return None
        probs.add_many(
            file,
            short,
            None,
            [None] * len(short),
            "fewer fields than the header (truncated row or missing separators)",
        )
    raw = _raw_from_parts(file, header, frame)
    if bad_bytes:
        _flag_replacement_chars(raw, probs)
    return raw


#: Columns read as numbers by the C parser when they are clean (the fast path of CSV reading).
_NUMERIC_RE = re.compile(r"AGE|WEIGHT|BMI|DURDIAB|AVISITN|AVAL|BASE|CHG|PCHG|INF\d+(WK|DOSE)")


def _lines(text: str, n: int) -> list[str]:
    """The first ``n`` lines of ``text`` without splitting (copying) the whole text."""
    out, pos = [], 0
    for _ in range(n):
        end = text.find("\n", pos)
        out.append(text[pos:] if end < 0 else text[pos:end])
        if end < 0:
            break
        pos = end + 1
    return out


def _read_fast(data: bytes, text: str, sep: str) -> tuple[list[str], pd.DataFrame] | None:
    """Parse numeric columns natively (much faster than text then conversion), text columns as
    text. Returns None, sending the file to the careful cell-by-cell path, when anything looks
    unusual: a parse error, a row of another length, or 'nan' text parsed as a number."""
    first = _lines(text, 1)[0].rstrip("\r")
    try:
        header = [_header_name(h) for h in next(csv.reader([first], delimiter=sep), [])]
    except csv.Error:  # e.g. a bare carriage return inside the header: the careful path reports it
        return None
    if not header:
        return None
    numeric = {j for j, h in enumerate(header) if _NUMERIC_RE.fullmatch(h)}
    try:
        frame = pd.read_csv(
            io.BytesIO(data),  # valid UTF-8 (checked): the parser reads the bytes directly
            encoding="utf-8-sig",
            sep=sep,
            header=None,
            skiprows=1,
            dtype={j: object for j in range(len(header)) if j not in numeric},
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, MemoryError):
        return None
    if frame.shape[1] != len(header) or len(frame) == 0:
        return None
    for j in numeric:
        col = frame.iloc[:, j]
        if pd.api.types.is_float_dtype(col.dtype) and col.isna().any():
            return None  # 'nan'-like text became NaN; the careful path reports it
    return header, frame


def _short_rows(data: bytes, sep: str, n_fields: int) -> np.ndarray:
    """Line numbers of non-blank lines with fewer fields than ``n_fields``.

    pandas pads short rows with blanks silently, so a truncated last row would pass. Counted
    on the raw bytes (vectorised); skipped when the file has quoted fields, whose separators
    and line breaks this count cannot see.
    """
    if b'"' in data or n_fields < 2:
        return np.empty(0, dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    ends = np.append(nl, len(buf))
    starts = np.concatenate(([0], nl + 1))
    length = ends - starts
    if len(buf) == 0:
        return np.empty(0, dtype=np.int64)
    seps = np.flatnonzero(buf == ord(sep))
    per_line = np.searchsorted(seps, ends) - np.searchsorted(seps, starts)
    cr = (length > 0) & (buf[np.maximum(ends - 1, 0)] == 13)
    blank = (length - cr) <= 0
    bad = ~blank & (per_line < n_fields - 1)
    return np.flatnonzero(bad) + 1


def _flag_replacement_chars(raw: _Raw, probs: _Problems) -> None:
    rule = (
        "bytes that are not UTF-8 (the file looks like Latin-1/Windows-1252); "
        "re-save it as 'CSV UTF-8'"
    )
    hits = [(1, name) for name in raw.header if "\ufffd" in name]
    for r, name in hits:
        probs.add(raw.file, r, name, name, rule)
    if raw.frame is None:
        return
    for j, name in enumerate(raw.header):
        col = raw.frame.iloc[:, j]
        mask = np.array(["\ufffd" in _cell_text(x) for x in col.to_numpy(dtype=object)], bool)
        if mask.any():
            probs.add_many(raw.file, raw.rows[mask], name, col.to_numpy()[mask], rule)


def _raw_from_grid(file: str, grid: pd.DataFrame, probs: _Problems) -> _Raw | None:
    """Split a header-less grid (all cells as read) into header and data rows."""
    if grid.shape[0] == 0:
        probs.add(file, None, None, None, "the file is empty (expected a header row and data)")
        return None
    header = [_header_name(v) for v in grid.iloc[0].tolist()]
    return _raw_from_parts(file, header, grid.iloc[1:].reset_index(drop=True))


def _raw_from_parts(file: str, header: list[str], data: pd.DataFrame) -> _Raw:
    """Header and data rows; rows with every cell blank (trailing blank lines) are dropped,
    keeping the spreadsheet row numbers (header = row 1) of the others."""
    data = data.set_axis(range(data.shape[1]), axis=1)
    rows = np.arange(2, len(data) + 2)
    if len(data) and pd.api.types.is_object_dtype(data.dtypes.iloc[0]):
        first = data.iloc[:, 0].to_numpy(dtype=object)
        cand = np.flatnonzero(pd.isna(first) | (first == ""))  # cheap pre-filter
        if len(cand):
            sub = data.iloc[cand]
            blank = np.ones(len(cand), dtype=bool)
            for j in range(sub.shape[1]):
                blank &= _blank_mask(sub.iloc[:, j])
            keep = np.ones(len(data), dtype=bool)
            keep[cand[blank]] = False
            if not keep.all():
                data = data.loc[keep].reset_index(drop=True)
                rows = rows[keep]
    return _Raw(file, data, header, rows)


def _header_name(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    s = str(v).strip()
    return s[:-2] if re.fullmatch(r"\d+\.0", s) else s


def _read_excel(
    path: Path, probs: _Problems, lim: Mapping[str, int] | None = None
) -> tuple[_Raw | None, _Raw | None]:
    """The ``subjects`` and ``measurements`` sheets (only those), within their used range.

    Read with openpyxl in read-only mode, sheet by sheet: the sheet's declared dimension is
    checked against :data:`READ_LIMITS` before any cell is read (a 90 KB file with one cell at
    XFD1048576 would otherwise allocate gigabytes), and rows are streamed with a cell budget in
    case the dimension is missing or wrong. Other sheets are never read.
    """
    openpyxl = require("openpyxl", "io", "reading Excel workbooks")
    lim = _limits(None) if lim is None else lim
    file = str(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        probs.add(file, None, None, None, f"cannot read the file as an Excel workbook ({exc})")
        return None, None
    try:
        lower = {str(k).strip().lower(): k for k in wb.sheetnames}
        out: list[_Raw | None] = []
        for names in (_SUBJECT_NAMES, _MEAS_NAMES):
            key = next((lower[n] for n in names if n in lower), None)
            if key is None:
                probs.add(
                    file,
                    None,
                    None,
                    None,
                    f"no sheet named '{names[0]}' (sheets: {', '.join(map(str, wb.sheetnames))})",
                )
                out.append(None)
                continue
            where = f"{file} [sheet {key}]"
            ws = wb[key]
            rows_d, cols_d = ws.max_row or 0, ws.max_column or 0
            if _too_big(where, rows_d, cols_d, lim, probs):
                out.append(None)
                continue
            grid, cells, used = [], 0, 0
            try:
                for row in ws.iter_rows(values_only=True, max_col=cols_d or None):
                    if len(row) > lim["max_columns"]:
                        _too_big(where, 1, len(row), lim, probs)
                        grid = None
                        break
                    cells += len(row)
                    if cells > lim["max_cells"]:
                        _too_big(where, len(grid) + 1, max(len(row), 1), lim, probs)
                        grid = None
                        break
                    last = max((j + 1 for j, v in enumerate(row) if v is not None), default=0)
                    used = max(used, last)
                    grid.append(row)
            except Exception as exc:  # damaged sheet XML
                probs.add(where, None, None, None, f"cannot read the sheet ({exc})")
                grid = None
            if grid is None:
                out.append(None)
                continue
            while grid and all(v is None for v in grid[-1]):
                grid.pop()  # trailing empty rows of the declared range
            frame = pd.DataFrame([list(r[:used]) + [None] * (used - len(r)) for r in grid])
            out.append(_raw_from_grid(where, frame.astype(object), probs))
        return out[0], out[1]
    finally:
        wb.close()


def _read_typed(path: Path, fmt: str, probs: _Problems) -> _Raw | None:
    """Parquet and SAS transport: typed columns; row = record number + 1 (header = row 1)."""
    file = str(path)
    if fmt == "xpt" and path.stat().st_size % 80:
        # SAS transport files are sequences of 80-byte records; readers silently return the
        # records before a cut, so a truncated file is caught here.
        probs.add(
            file,
            None,
            None,
            None,
            "cannot read the file as SAS transport (.xpt): its size is not a multiple of 80 "
            "bytes (truncated or damaged file)",
        )
        return None
    try:
        if fmt == "parquet":
            require("pyarrow", "io", "reading Parquet files")
            df = pd.read_parquet(path)
        else:
            prs = require("pyreadstat", "io", "reading SAS transport (.xpt) files")
            df, _ = prs.read_xport(str(path))
    except Exception as exc:  # damaged files raise library-specific errors
        kind = "Parquet" if fmt == "parquet" else "SAS transport (.xpt)"
        probs.add(file, None, None, None, f"cannot read the file as {kind} ({exc})")
        return None
    header = [str(c) for c in df.columns]
    frame = df.copy()
    frame.columns = range(frame.shape[1])
    return _Raw(file, frame, header, np.arange(2, len(frame) + 2))


# ------------------------------------------------------------------------------------------
# Reader limits (issue: bounded work before it starts) and SAS transport integrity
# ------------------------------------------------------------------------------------------
#: Limits checked before a file is parsed; override per call (``load_ipd(..., limits={...})``)
#: or for the session (``trial_analysis.ipd.READ_LIMITS["max_columns"] = 5000``).
READ_LIMITS: dict[str, int] = {
    # columns of one table (ADaM data sets have up to a few hundred)
    "max_columns": 2000,
    # cells of one table (rows x columns), about 1-2 GB of memory as Python objects
    "max_cells": 50_000_000,
}


def _limits(over: Mapping[str, int] | None) -> dict[str, int]:
    lim = dict(READ_LIMITS)
    for k, v in (over or {}).items():
        if k not in lim:
            raise ParameterError("limits", "a mapping with keys " + ", ".join(lim), k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ParameterError(f"limits[{k!r}]", "a whole number >= 1", v)
        lim[k] = v
    return lim


def _too_big(file: str, rows: int, cols: int, lim: Mapping[str, int], probs: _Problems) -> bool:
    if cols > lim["max_columns"]:
        probs.add(
            file,
            None,
            None,
            None,
            f"{cols} columns, more than the limit of {lim['max_columns']} (max_columns); the file "
            "is not read (raise the limit with load_ipd(..., limits={'max_columns': ...}) if the "
            "columns are real)",
        )
        return True
    if rows * cols > lim["max_cells"]:
        probs.add(
            file,
            None,
            None,
            None,
            f"{rows} rows x {cols} columns = {rows * cols} cells, more than the limit of "
            f"{lim['max_cells']} (max_cells); the file is not read (raise it with "
            "load_ipd(..., limits={'max_cells': ...}))",
        )
        return True
    return False


def _xpt_problem(path: Path) -> str | None:
    """Structural check of a SAS transport v5 file: the data section must hold whole
    observations of the length the NAMESTR records declare, padded with blanks.

    Readers (pyreadstat, haven) return the observations before a cut silently. Format: SAS
    Technical Support TS-140, "The record layout of a data set in SAS transport (XPORT)
    format". A cut exactly at an observation boundary that is also a multiple of 80 bytes
    cannot be told from a complete file by any reader.
    """
    size = path.stat().st_size
    if size % 80:
        return (
            "its size is not a multiple of 80 bytes (a SAS transport file is a sequence of "
            "80-byte records): truncated or damaged file"
        )
    with path.open("rb") as fh:
        data = fh.read()
    if data.startswith(b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"):
        return None  # v8/v9 transport: member lengths differ; left to the reader
    if not data.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"):
        return "it does not start with a SAS transport LIBRARY header record"
    members = data.count(b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!")
    if members != 1:
        return None if members > 1 else "it has no MEMBER header record (truncated file)"
    ns = data.find(b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!")
    obs = data.find(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!")
    if ns < 0 or obs < 0:
        return "the file ends before its OBS header record (truncated file)"
    nvar = int(data[ns + 54 : ns + 58])
    mem = data.find(b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!")
    nlen = int(data[mem + 74 : mem + 78] or b"140")
    start = ns + 80
    lengths = [
        int.from_bytes(data[start + i * nlen + 4 : start + i * nlen + 6], "big")
        for i in range(nvar)
    ]
    obs_len = sum(lengths)
    body = data[obs + 80 :]
    if obs_len <= 0:
        return None
    whole, rest = divmod(len(body), obs_len)
    tail = body[whole * obs_len :]
    if tail.strip(b" "):
        return (
            f"the data section ends inside an observation ({rest} of {obs_len} bytes of the last "
            f"one; {whole} complete observations): truncated file"
        )
    return None


# ADaM character variables that hold digits (so a CSV cannot tell them from numbers): names
# ending in ID, CD, FL, DTC or C, toxicity grades and SDTM original results/ranges.
_ADAM_TEXT_RE = re.compile(r".*(ID|CD|FL|DTC|C|TOXGR[LH]?|ORRES|ORNRLO|ORNRHI)$")
_ADAM_DATE_RE = re.compile(r".*(DT|DTM)$")
_DATA_EXT = {".xpt": "xpt", ".sas7bdat": "sas7bdat", ".csv": "csv", ".parquet": "parquet"}
_DATA_EXT[".pq"] = "parquet"


def _normalise_adam(df: pd.DataFrame, from_text: bool) -> pd.DataFrame:
    """One representation whatever the file format: text columns object with "" for blank,
    numbers float64, dates/datetimes datetime64[ns]. ``from_text``: the cells were read as
    text (CSV), so numbers and ISO dates are recognised (text-only ADaM names stay text)."""
    out = {}
    for c in df.columns:
        col = df[c]
        name = str(c)
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = pd.to_datetime(col).dt.tz_localize(None).astype("datetime64[ns]")
            continue
        if pd.api.types.is_bool_dtype(col.dtype):
            out[name] = col.astype(object)
            continue
        if pd.api.types.is_numeric_dtype(col.dtype):
            out[name] = col.astype(float)
            continue
        vals = col.astype(object).where(col.notna(), "")
        sample = [v for v in vals.iloc[:2000] if not (isinstance(v, str) and v.strip() == "")]
        if sample and all(hasattr(v, "isoformat") and not isinstance(v, str) for v in sample):
            out[name] = pd.to_datetime(vals.where(vals != "", None)).astype("datetime64[ns]")
            continue
        text = vals.map(lambda v: v if isinstance(v, str) else _cell_text(v))
        if from_text and not _ADAM_TEXT_RE.fullmatch(name):
            blank = text.str.strip() == ""
            num = pd.to_numeric(text.where(~blank, None), errors="coerce")
            if (num.notna() | blank).all() and (~blank).any():
                out[name] = num.astype(float)
                continue
            if _ADAM_DATE_RE.fullmatch(name) and (~blank).any():
                d = pd.to_datetime(text.where(~blank, None), errors="coerce", format="ISO8601")
                if (d.notna() | blank).all():
                    out[name] = d.astype("datetime64[ns]")
                    continue
        out[name] = text.astype(object)
    return pd.DataFrame(out, index=range(len(df)))


def _read_adam_file(path: Path, lim: Mapping[str, int], probs: _Problems) -> pd.DataFrame | None:
    """One ADaM data set in the normal representation (or None with the problem recorded)."""
    fmt = _DATA_EXT[path.suffix.lower()]
    file = str(path)
    if fmt == "csv":
        raw = _read_csv(path, probs, lim)
        if raw is None or raw.frame is None:
            return None
        frame = raw.frame.copy()
        names = raw.header
        dup = [n for n in set(names) if names.count(n) > 1 and n]
        for n in dup:
            probs.add(file, 1, n, n, "duplicated column name; keep one")
        if dup:
            return None
        frame.columns = names
        frame = frame.loc[:, [n for n in names if n]]
        return _normalise_adam(frame, from_text=True)
    try:
        if fmt == "xpt":
            why = _xpt_problem(path)
            if why:
                probs.add(file, None, None, None, f"cannot read the file as SAS transport: {why}")
                return None
            prs = require("pyreadstat", "io", "reading SAS transport (.xpt) files")
            _, meta = prs.read_xport(str(path), metadataonly=True)
            if _too_big(file, meta.number_rows or 0, meta.number_columns, lim, probs):
                return None
            df, _ = prs.read_xport(str(path))
        elif fmt == "sas7bdat":
            prs = require("pyreadstat", "io", "reading SAS data sets (.sas7bdat)")
            _, meta = prs.read_sas7bdat(str(path), metadataonly=True)
            if _too_big(file, meta.number_rows or 0, meta.number_columns, lim, probs):
                return None
            df, meta = prs.read_sas7bdat(str(path))
            if meta.number_rows is not None and len(df) != meta.number_rows:
                probs.add(
                    file,
                    None,
                    None,
                    None,
                    f"{len(df)} rows read but the header declares {meta.number_rows}: "
                    "truncated file",
                )
                return None
        else:
            pq = require("pyarrow.parquet", "io", "reading Parquet files")
            md = pq.ParquetFile(path).metadata
            if _too_big(file, md.num_rows, md.num_columns, lim, probs):
                return None
            df = pd.read_parquet(path)
    except Exception as exc:  # damaged files raise library-specific errors
        probs.add(file, None, None, None, f"cannot read the file as {fmt} ({exc})")
        return None
    return _normalise_adam(df, from_text=False)


# ------------------------------------------------------------------------------------------
# Cell conversion (vectorised). Text cells are factorised and each distinct value is checked
# once, which keeps 1 million rows fast (identifiers, codes and rounded values repeat a lot).
# ------------------------------------------------------------------------------------------
def _factor(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) of the cells; missing cells (None/NaN) get code -1."""
    codes, uniq = pd.factorize(col.to_numpy(dtype=object))
    return codes, np.asarray(uniq, dtype=object)


def _take(values: np.ndarray, codes: np.ndarray, fill: Any) -> np.ndarray:
    """``values[codes]`` with ``fill`` where code is -1."""
    ext = np.empty(len(values) + 1, dtype=values.dtype)
    ext[:-1] = values
    ext[-1] = fill
    return ext[codes]


def _blank_mask(col: pd.Series) -> np.ndarray:
    if _is_number_dtype(col):
        return col.isna().to_numpy()
    codes, uniq = _factor(col)
    ub = np.array(
        [(x.strip() if type(x) is str else _cell_text(x).strip()) in _BLANKS for x in uniq],
        dtype=bool,
    )
    return _take(ub, codes, True)


def _is_number_dtype(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)


def _as_text(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(stripped text as an object array, blank mask); numbers lose a spurious '.0'."""
    codes, uniq = _factor(col)
    ut = np.array(
        [
            unescape_formula_text(x.strip() if type(x) is str else _cell_text(x).strip()).strip()
            for x in uniq
        ]
        + [""],
        dtype=object,
    )[:-1]
    ub = np.array([t in _BLANKS for t in ut], dtype=bool)
    return _take(ut, codes, ""), _take(ub, codes, True)


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        if float(v).is_integer():
            return str(int(v))
    return str(v)


def _why_not_number(v: Any) -> str:
    if isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "isoformat"):
        return (
            "a date where a number is expected (Excel may have converted the value to a date); "
            "format the column as Number"
        )
    if isinstance(v, (bool, np.bool_)):
        return "a true/false value where a number is expected"
    s = str(v).strip()
    if s.lower() in _NONFINITE or (isinstance(v, float) and not math.isfinite(v)):
        return "not a finite number (NaN or infinity); leave the cell blank if missing"
    if _COMMA_DEC_RE.match(s):
        return "a comma used as decimal separator; use a point (e.g. 7.5, not 7,5)"
    if _DATE_RE.match(s):
        return (
            "looks like a date where a number is expected (Excel may have converted the value "
            "to a date); format the column as Number"
        )
    return "not a number"


def _number_one(x: Any) -> tuple[float, int]:
    """One cell -> (value, status): status 0 number, 1 blank, 2 not a finite number."""
    if x is None:
        return math.nan, 1
    if isinstance(x, (bool, np.bool_)) or hasattr(x, "isoformat"):
        return math.nan, 2
    if isinstance(x, (int, float, np.integer, np.floating)):
        f = float(x)
        if math.isnan(f):
            return math.nan, 1
        return (f, 0) if math.isfinite(f) else (math.nan, 2)
    s = str(x).strip()
    if s in _BLANKS:
        return math.nan, 1
    if "_" in s:  # float() accepts 1_000; a data file should not
        return math.nan, 2
    try:
        f = float(s)
    except ValueError:
        return math.nan, 2
    return (f, 0) if math.isfinite(f) else (math.nan, 2)


def _to_number(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (float values, blank mask, bad mask); bad cells are non-blank and not finite."""
    if pd.api.types.is_bool_dtype(col.dtype):
        n = len(col)
        return np.full(n, np.nan), np.zeros(n, bool), np.ones(n, bool)
    if _is_number_dtype(col):
        v = col.to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(v)
        bad = np.isinf(v)
        return np.where(bad, np.nan, v), blank, bad
    codes, uniq = _factor(col)
    res = [_number_one(x) for x in uniq]
    uv = np.array([r[0] for r in res], dtype=float)
    us = np.array([r[1] for r in res], dtype=np.int8)
    status = _take(us, codes, 1)
    return _take(uv, codes, np.nan), status == 1, status == 2


_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_one(x: Any) -> tuple[Any, str]:
    """One cell -> (Timestamp or NaT, problem or '' ); blank cells give (NaT, '')."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return pd.NaT, ""
    if isinstance(x, (pd.Timestamp, np.datetime64)) or hasattr(x, "isoformat"):
        return pd.Timestamp(x).normalize(), ""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return pd.NaT, (
            "a number where a date is expected (an Excel or SAS serial day number?); format the "
            "column as a date or write YYYY-MM-DD"
        )
    t = str(x).strip()
    if t in _BLANKS:
        return pd.NaT, ""
    if _ISO_DATE_RE.match(t):
        try:
            return pd.Timestamp(t), ""
        except ValueError:
            return pd.NaT, "not a valid calendar date"
    if re.fullmatch(r"[+-]?\d+(\.\d*)?", t):
        return pd.NaT, (
            "a number where a date is expected (an Excel or SAS serial day number?); format the "
            "column as a date or write YYYY-MM-DD"
        )
    return pd.NaT, "not a date in the form YYYY-MM-DD"


def _to_date(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(datetime64[ns] values, blank mask, problem text per cell ('' when fine))."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        v = pd.to_datetime(col).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        return v, np.isnat(v), np.full(len(v), "", dtype=object)
    codes, uniq = _factor(col)
    res = [_date_one(x) for x in uniq]
    uv = pd.DatetimeIndex([r[0] for r in res] + [pd.NaT]).to_numpy(dtype="datetime64[ns]")[:-1]
    ur = np.array([r[1] for r in res] + [""], dtype=object)[:-1]
    v = _take(uv, codes, np.datetime64("NaT", "ns"))
    reasons = _take(ur, codes, "")
    return v, np.isnat(v) & (reasons == ""), reasons


def _isin(values: np.ndarray, allowed: Iterable[Any]) -> np.ndarray:
    return pd.Series(values, dtype=object).isin(list(allowed)).to_numpy()


# ------------------------------------------------------------------------------------------
# Validation of one table
# ------------------------------------------------------------------------------------------
def _structure(raw: _Raw, spec: list[_Col], probs: _Problems) -> dict[str, int] | None:
    """Check the header; return name -> position or None when the table cannot be used."""
    file, header = raw.file, raw.header
    required = [c.name for c in spec]
    ok = True
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name == "":
            # Spreadsheets often carry empty, unnamed columns: ignore them unless they hold data.
            if raw.frame is not None and j < raw.frame.shape[1]:
                col = raw.frame.iloc[:, j]
                if len(col) and not _blank_mask(col).all():
                    probs.add(
                        file,
                        1,
                        f"column {_col_letter(j)}",
                        None,
                        "a column without a name in the header holds data; name it or delete it",
                    )
                    ok = False
            continue
        if name in seen:
            probs.add(
                file,
                1,
                name,
                name,
                f"duplicated column name (columns {_col_letter(seen[name])} and "
                f"{_col_letter(j)}); keep one",
            )
            ok = False
        else:
            seen[name] = j
    missing = [c for c in required if c not in seen]
    if missing:
        hrow = _find_header_row(raw, required)
        if hrow is not None:
            probs.add(
                file,
                hrow,
                None,
                None,
                f"the header is on row {hrow}, not row 1: delete the rows above it",
            )
            return None
        upper = {n.strip().upper(): n for n in header}
        for c in missing:
            hint = ""
            if c in upper:
                hint = f" (found {upper[c]!r}: column names are upper case)"
            probs.add(file, 1, c, None, f"required column is missing{hint}")
        ok = False
    if raw.frame is not None and len(raw.frame) == 0 and ok:
        probs.add(file, None, None, None, "no data rows below the header")
        ok = False
    return seen if ok else None


def _find_header_row(raw: _Raw, required: list[str]) -> int | None:
    if raw.frame is None:
        return None
    for i in range(min(10, len(raw.frame))):
        vals = {str(v).strip() for v in raw.frame.iloc[i].tolist()}
        if sum(c in vals for c in required) >= max(2, len(required) // 2):
            return int(raw.rows[i])
    return None


def _col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _convert(
    raw: _Raw, spec: list[_Col], pos: dict[str, int], probs: _Problems
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Typed columns of the spec (+ extras as read) and a per-row 'all cells ok' mask."""
    file, rows, frame = raw.file, raw.rows, raw.frame
    assert frame is not None
    n = len(frame)
    ok = np.ones(n, dtype=bool)
    out: dict[str, np.ndarray] = {}
    # A stray header row inside the data (e.g. two exports pasted together).
    id_text, id_blank = _as_text(frame.iloc[:, pos["USUBJID"]])
    stray = id_text == "USUBJID"
    if stray.any():
        probs.add_many(
            file,
            rows[stray],
            "USUBJID",
            id_text[stray],
            "a repeated header row inside the data; delete it",
        )
        ok &= ~stray
    cols = list(spec) + [
        _Col(name, kind, blank_ok=True)
        for name, kind in _OPTIONAL_KNOWN.items()
        if name in pos and name not in {c.name for c in spec}
    ]
    pre = next((c.name[:-3] for c in spec if c.name.endswith("1WK") and c.kind == "int"), "")
    if pre:  # optional administration dates in the subjects table
        cols += [
            _Col(n, "date", blank_ok=True)
            for n in pos
            if re.fullmatch(re.escape(pre) + r"\d+DT", n)
        ]
    for c in cols:
        col = frame.iloc[:, pos[c.name]]
        if c.kind == "date":
            v, blank, reasons = _to_date(col)
            bad = (reasons != "") & ~stray
            if bad.any():
                idx = np.flatnonzero(bad)
                raw_vals = col.to_numpy(dtype=object)[idx]
                for reason in dict.fromkeys(reasons[idx]):
                    sel = reasons[idx] == reason
                    probs.add_many(file, rows[idx[sel]], c.name, raw_vals[sel], reason)
                ok &= ~bad
            out[c.name] = v
            continue
        if c.kind in ("num", "int"):
            v, blank, bad = _to_number(col)
            bad = bad & ~stray
            if bad.any():
                idx = np.flatnonzero(bad)
                raw_vals = col.to_numpy(dtype=object)[idx]
                reasons = np.array([_why_not_number(x) for x in raw_vals], dtype=object)
                for reason in dict.fromkeys(reasons):
                    sel = reasons == reason
                    probs.add_many(file, rows[idx[sel]], c.name, raw_vals[sel], reason)
                ok &= ~bad
            miss = blank & ~stray
            if not c.blank_ok and miss.any():
                probs.add_many(
                    file,
                    rows[miss],
                    c.name,
                    [None] * int(miss.sum()),
                    "a value is required (blank cell)",
                )
                ok &= ~miss
            good = ~np.isnan(v)
            if c.kind == "int":
                frac = good & (v != np.round(v))
                if frac.any():
                    probs.add_many(
                        file, rows[frac], c.name, v[frac], "expected a whole number of weeks"
                    )
                    ok &= ~frac
                    good &= ~frac
                if c.choices:
                    allowed = np.array([float(x) for x in c.choices])
                    off = good & ~np.isin(v, allowed)
                    if off.any():
                        probs.add_many(
                            file,
                            rows[off],
                            c.name,
                            v[off].astype(np.int64),
                            "not a week of the design's schedule (" + ", ".join(c.choices) + ")",
                        )
                        ok &= ~off
            else:
                out_rng = good & ((v < c.low) | (v > c.high))
                if out_rng.any():
                    probs.add_many(
                        file,
                        rows[out_rng],
                        c.name,
                        v[out_rng],
                        f"outside the plausible range {_rng(c.low, c.high)}"
                        + (f" for {c.what}" if c.what else ""),
                    )
                    ok &= ~out_rng
            out[c.name] = v
        else:
            s, blank = (id_text, id_blank) if c.name == "USUBJID" else _as_text(col)
            blank = blank & ~stray
            if not c.blank_ok and blank.any():
                probs.add_many(
                    file,
                    rows[blank],
                    c.name,
                    [None] * int(blank.sum()),
                    "a value is required (blank cell)",
                )
                ok &= ~blank
            s = np.where(blank, "", s).astype(object)
            if c.kind in ("flag", "choice"):
                allowed = ("Y", "N") if c.kind == "flag" else c.choices
                bad = ~blank & ~_isin(s, allowed) & ~stray
                if c.kind == "flag" and c.blank_ok:
                    bad &= s != ""
                if bad.any():
                    rule = (
                        "expected Y or N"
                        if c.kind == "flag"
                        else "not one of "
                        + ", ".join(repr(x) for x in c.choices)
                        + (f" ({c.what})" if c.what else "")
                    )
                    probs.add_many(file, rows[bad], c.name, s[bad], rule)
                    ok &= ~bad
            out[c.name] = s
    known = {c.name for c in cols}
    for name, j in pos.items():  # extra columns are kept as read
        if name not in known and name:
            v = frame.iloc[:, j].to_numpy()
            if v.dtype == object:  # the spreadsheet escape of save_ipd's CSV files undone
                v = np.array([unescape_formula_text(x) if type(x) is str else x for x in v], object)
            out[name] = v
    out = {k: out[k] for k in sorted(out, key=lambda k: pos.get(k, -1))}  # input column order
    return out, ok


def _rng(lo: float, hi: float) -> str:
    if math.isinf(hi):
        return f">= {lo:g}"
    if math.isinf(lo):
        return f"<= {hi:g}"
    return f"{lo:g}-{hi:g}"


def _check_subjects(
    file: str,
    s: dict[str, np.ndarray],
    rows: np.ndarray,
    ok: np.ndarray,
    design: TrialDesign,
    probs: _Problems,
) -> None:
    ids = s["USUBJID"]
    codes, _ = pd.factorize(ids)
    first = pd.Series(np.arange(len(ids))).groupby(codes).transform("first").to_numpy()
    dup = (first != np.arange(len(ids))) & (ids != "")
    probs.add_many(
        file,
        rows[dup],
        "USUBJID",
        ids[dup],
        [f"duplicated subject id (first at row {rows[f]})" for f in first[dup][:_MAX_PER_RULE]],
    )
    flag = {k: s[k] for k in ("RANDFL", "ITTFL", "PPROTFL")}
    bad = ok & (flag["ITTFL"] == "Y") & (flag["RANDFL"] == "N")
    probs.add_many(
        file,
        rows[bad],
        "ITTFL",
        flag["ITTFL"][bad],
        "ITTFL is Y but RANDFL is N (the ITT population is randomised subjects)",
    )
    bad = ok & (flag["PPROTFL"] == "Y") & (flag["ITTFL"] == "N")
    probs.add_many(
        file,
        rows[bad],
        "PPROTFL",
        flag["PPROTFL"][bad],
        "PPROTFL is Y but ITTFL is N (per-protocol subjects are a subset of ITT)",
    )
    pre, k = _n_records(design)
    for i in range(1, k + 1):
        wk, dose = s[f"{pre}{i}WK"], s[f"{pre}{i}DOSE"]
        bad = ok & np.isnan(wk) & ~np.isnan(dose)
        probs.add_many(
            file, rows[bad], f"{pre}{i}WK", wk[bad], f"blank although {pre}{i}DOSE is given"
        )
    _check_infusion_dates(file, s, rows, ok, design, probs)
    # Arms must match the design's randomised numbers (checked when every row is readable).
    if ok.all() and not dup.any():
        arm = s["ARM"][s["RANDFL"] == "Y"]
        for a in design.arms:
            got = int((arm == a.name).sum())
            if got != a.n_randomised:
                probs.add(
                    file,
                    None,
                    "ARM",
                    a.name,
                    f"{got} randomised subjects (RANDFL = Y) in arm {a.name!r}, but the design "
                    f"'{design.id}' has {a.n_randomised}; pass design=... for another trial",
                )


#: Largest gap (days) between the date interval of two infusions and 7 x their week interval.
DATE_WINDOW_DAYS = 14


def _check_infusion_dates(
    file: str,
    s: dict[str, np.ndarray],
    rows: np.ndarray,
    ok: np.ndarray,
    design: TrialDesign,
    probs: _Problems,
) -> None:
    """Optional ``INFkDT``: given only with a week, increasing, and on the week schedule."""
    pre, k = _n_records(design)
    for i in range(1, k + 1):
        dt = s.get(f"{pre}{i}DT")
        if dt is None:
            continue
        wk = s[f"{pre}{i}WK"]
        bad = ok & ~np.isnat(dt) & np.isnan(wk)
        probs.add_many(
            file, rows[bad], f"{pre}{i}WK", wk[bad], f"blank although {pre}{i}DT is given"
        )
        d1 = s.get(f"{pre}1DT")
        if i == 1 or d1 is None:
            continue
        both = ok & ~np.isnat(dt) & ~np.isnat(d1)
        days = (dt - d1).astype("timedelta64[D]").astype(float)
        early = both & (days <= 0)
        probs.add_many(
            file,
            rows[early],
            f"{pre}{i}DT",
            np.datetime_as_string(dt[early], unit="D"),
            f"not after {pre}1DT (administration dates must increase)",
        )
        w1 = s[f"{pre}1WK"]
        with np.errstate(invalid="ignore"):
            off = both & ~early & (np.abs(days - 7 * (wk - w1)) > DATE_WINDOW_DAYS)
        probs.add_many(
            file,
            rows[off],
            f"{pre}{i}DT",
            np.datetime_as_string(dt[off], unit="D"),
            [
                f"{int(dd)} days after {pre}1DT, but {pre}{i}WK - {pre}1WK = {int(a - b)} weeks "
                f"(more than {DATE_WINDOW_DAYS} days off)"
                for dd, a, b in zip(days[off][:_MAX_PER_RULE], wk[off], w1[off], strict=False)
            ],
        )


def _check_measurements(
    file: str,
    m: dict[str, np.ndarray],
    rows: np.ndarray,
    ok: np.ndarray,
    design: TrialDesign,
    subject_ids: np.ndarray,
    probs: _Problems,
) -> None:
    uid = m["USUBJID"]
    # Integer keys: subject code x parameter code x visit, for fast duplicate/baseline checks.
    scode, suniq = pd.factorize(uid)
    known = _isin(np.asarray(suniq, dtype=object), subject_ids)
    unknown = ok & (uid != "") & ~_take(known, scode, True)
    probs.add_many(
        file,
        rows[unknown],
        "USUBJID",
        uid[unknown],
        "a measurement of a subject that is not in the subjects table",
    )
    codes = [p.code for p in design.parameters]
    pc, puniq = pd.factorize(m["PARAMCD"])
    lookup = {c: i for i, c in enumerate(codes)}
    pcode = _take(np.array([lookup.get(u, -1) for u in puniq], dtype=np.int64), pc, -1)
    visit = np.nan_to_num(m["AVISITN"], nan=-1).astype(np.int64)
    sp_key = scode.astype(np.int64) * (len(codes) + 1) + pcode
    key = sp_key * (int(visit.max(initial=0)) + 2) + visit
    dup = ok & pd.Series(key).duplicated(keep="first").to_numpy()
    probs.add_many(
        file,
        rows[dup],
        "AVISITN",
        m["AVISITN"][dup],
        "a second row for the same subject, parameter and visit",
    )
    # Plausible ranges per parameter (the design's parameters[].low/high).
    lo = _take(np.array([p.low for p in design.parameters]), pcode, np.nan)
    hi = _take(np.array([p.high for p in design.parameters]), pcode, np.nan)
    for col in ("AVAL", "BASE"):
        v = m[col]
        with np.errstate(invalid="ignore"):
            bad = ok & ~np.isnan(v) & ((v < lo) | (v > hi))
        if bad.any():
            idx = np.flatnonzero(bad)
            for j in np.unique(pcode[idx]):
                p = design.parameters[j]
                sel = idx[pcode[idx] == j]
                probs.add_many(
                    file,
                    rows[sel],
                    col,
                    v[sel],
                    f"outside the plausible range {_rng(p.low, p.high)} of {p.code} ({p.unit})",
                )
            ok = ok & ~bad
    aval, base, chg, pchg = (m[c] for c in ("AVAL", "BASE", "CHG", "PCHG"))
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = ok & ~np.isnan(chg) & (np.isnan(base) | (np.abs(chg - (aval - base)) > CHG_TOLERANCE))
        expect = 100.0 * (aval - base) / base
        tol = CHG_TOLERANCE + 100.0 * CHG_TOLERANCE / np.abs(base)
        bad0 = ok & ~np.isnan(pchg) & (base == 0)
        badp = (
            ok & ~np.isnan(pchg) & (np.isnan(base) | ((base != 0) & (np.abs(pchg - expect) > tol)))
        )
    probs.add_many(
        file, rows[bad], "CHG", chg[bad], f"CHG must equal AVAL - BASE (within {CHG_TOLERANCE})"
    )
    probs.add_many(
        file, rows[badp], "PCHG", pchg[badp], "PCHG must equal 100 * (AVAL - BASE) / BASE"
    )
    probs.add_many(file, rows[bad0], "PCHG", pchg[bad0], "PCHG must be blank when BASE is 0")
    # BASE must be the week-0 value of the same subject and parameter.
    w0 = ok & (visit == 0)
    if w0.any():
        b0 = pd.Series(aval[w0], index=sp_key[w0])
        b0 = b0[~b0.index.duplicated()]
        ref = b0.reindex(sp_key).to_numpy()
        with np.errstate(invalid="ignore"):
            bad = ok & ~np.isnan(base) & ~np.isnan(ref) & (np.abs(base - ref) > CHG_TOLERANCE)
        probs.add_many(
            file,
            rows[bad],
            "BASE",
            base[bad],
            "BASE differs from AVAL at the baseline visit (week 0) of the same subject and "
            "parameter",
        )


# ------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------
def _resolve_design(design: Any, folder: Path | None, studyid: Any) -> TrialDesign:
    if isinstance(design, TrialDesign):
        return design
    if design is not None:
        if not isinstance(design, (str, Path)):
            raise ParameterError("design", "a TrialDesign, a shipped trial name or a path", design)
        return load_design(design)
    if folder is not None and (folder / "design.toml").is_file():
        return load_design(folder / "design.toml")
    if isinstance(studyid, str) and studyid in available_trials():
        return load_design(studyid)
    where = f" in {folder}" if folder is not None else ""
    raise ParameterError(
        "design",
        f"a design for these data: pass design= (a TrialDesign, a design.toml path or a shipped "
        f"trial name: {', '.join(available_trials())}), put a design.toml{where}, or give a "
        f"STUDYID column naming a shipped trial (found {studyid!r})",
    )


def validate_frames(
    subjects: pd.DataFrame,
    measurements: pd.DataFrame,
    design: TrialDesign | str | None = None,
    *,
    source: str = "(DataFrames)",
    synthetic: bool | None = None,
) -> IPD:
    """Validate two DataFrames in the documented format and return an :class:`IPD`.

    Rows are numbered as if the frames were written to CSV (header = row 1). The frames are
    copied, never modified. ``synthetic`` defaults to whether a ``SYNTHFL = "Y"`` column is
    present.
    """
    for name, df in (("subjects", subjects), ("measurements", measurements)):
        if not isinstance(df, pd.DataFrame):
            raise ParameterError(name, "a pandas DataFrame", type(df).__name__)
    raws = []
    for name, df in ((f"{source}:subjects", subjects), (f"{source}:measurements", measurements)):
        frame = df.reset_index(drop=True).copy()
        header = [str(c) for c in frame.columns]
        frame.columns = range(frame.shape[1])
        raws.append(_Raw(name, frame, header, np.arange(2, len(frame) + 2)))
    studyid = subjects["STUDYID"].iloc[0] if "STUDYID" in subjects and len(subjects) else None
    d = _resolve_design(design, None, studyid)
    return _validate_raw(raws[0], raws[1], d, source, _Problems(), synthetic)


def _frame(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    # Text stays in object columns: converting a million cells to pandas' "str" dtype costs
    # seconds and changes nothing for users (== "Y", .isin, groupby behave the same).
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object) if v.dtype == object else v for k, v in cols.items()}
    )


def _validate_raw(
    rs: _Raw | None,
    rm: _Raw | None,
    design: TrialDesign,
    source: str,
    probs: _Problems,
    synthetic: bool | None = None,
) -> IPD:
    sspec, mspec = _subject_spec(design), _measurement_spec(design)
    spos = _structure(rs, sspec, probs) if rs is not None else None
    mpos = _structure(rm, mspec, probs) if rm is not None else None
    if probs or spos is None or mpos is None:
        raise DataValidationError(probs.items, total=probs.total)
    assert rs is not None and rm is not None
    s, sok = _convert(rs, sspec, spos, probs)
    m, mok = _convert(rm, mspec, mpos, probs)
    _check_subjects(rs.file, s, rs.rows, sok, design, probs)
    _check_measurements(rm.file, m, rm.rows, mok, design, s["USUBJID"], probs)
    if probs:
        raise DataValidationError(_sorted(probs.items, (rs.file, rm.file)), total=probs.total)
    s = _frame(s)
    m = _frame(m)
    pre, k = _n_records(design)
    for c in (f"{pre}{i}WK" for i in range(1, k + 1)):
        s[c] = pd.array(s[c].to_numpy(), dtype="Float64").astype("Int64")
    m["AVISITN"] = m["AVISITN"].astype(np.int64)
    if synthetic is None:
        synthetic = bool(
            ("SYNTHFL" in s and (s["SYNTHFL"] == "Y").any())
            or ("SYNTHFL" in m and (m["SYNTHFL"] == "Y").any())
        )
    return IPD(s, m, design, synthetic=synthetic, source=source)


def _source_name(path: Path, design: TrialDesign | None) -> str:
    """How outputs name the data: shipped data as in the repository (``data/<trial>/adam``), a
    user's data from the trial folder (the design file's folder: ``my_trial/adam``), never an
    absolute path of this machine (results and reports are sent to reviewers)."""
    folder = Path(design.source_file).parent if design is not None and design.source_file else None
    return display_path(path, folder)


def _adam_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _DATA_EXT)


def _adam_design(design: Any, folder: Path) -> TrialDesign | None:
    if design is not None:
        return _resolve_design(design, None, None)
    for d in (folder, folder.parent):
        if (d / "design.toml").is_file():
            return load_design(d / "design.toml")
    return None


def _load_adam(folder: Path, design: Any, lim: Mapping[str, int] | None = None) -> IPD:
    """An ADSL and any BDS/ADTTE data sets of ``folder``, recognised by content, checked
    together (every structural problem in one pass), kept as given."""
    probs = _Problems()
    lim = _limits(lim)
    files = _adam_files(folder)
    frames: dict[str, pd.DataFrame] = {}
    for f in files:
        df = _read_adam_file(f, lim, probs)
        if df is not None:
            frames[str(f)] = df
    if probs:
        raise DataValidationError(probs.items, total=probs.total)
    kinds = {f: adam.classify(df) for f, df in frames.items()}
    adsl = [f for f, k in kinds.items() if k == "ADSL"]
    bds = {f: frames[f] for f, k in kinds.items() if k == "BDS"}
    tte = {f: frames[f] for f, k in kinds.items() if k == "ADTTE"}
    ignored = [Path(f).name for f, k in kinds.items() if k == ""]
    found = ", ".join(f"{Path(f).name} ({k or 'not ADSL/BDS'})" for f, k in kinds.items())
    if len(adsl) != 1:
        why = "no ADSL" if not adsl else f"{len(adsl)} ADSL-like data sets"
        raise DataValidationError(
            [
                Problem(
                    str(folder),
                    None,
                    None,
                    None,
                    f"expected one ADSL (one row per USUBJID, with TRT01P, TRT01A or ARM) and "
                    f"BDS data sets (USUBJID, PARAMCD, AVAL), or the documented files "
                    f"subjects.csv + measurements.csv; found {why}: {found or 'no data files'}",
                )
            ]
        )
    if not bds and not tte:
        raise DataValidationError(
            [
                Problem(
                    str(folder),
                    None,
                    None,
                    None,
                    f"expected at least one BDS data set (USUBJID, PARAMCD, AVAL) beside the "
                    f"ADSL; found {found}",
                )
            ]
        )
    subjects = frames[adsl[0]]
    d = _adam_design(design, folder)
    found_problems = adam.check(subjects, adsl[0], {**bds, **tte}, CHG_TOLERANCE)
    treatment = (
        adam.treatment_variable(subjects)
        if any(t in subjects.columns for t in adam.TREATMENT_VARIABLES)
        else "ARM"
    )
    if d is not None and treatment in subjects.columns:
        found_problems += _adam_design_problems(subjects, adsl[0], bds, d, treatment)
    if found_problems:
        total = sum(n for _, n in found_problems)
        raise DataValidationError([p for p, _ in found_problems], total=total)
    measurements = (
        pd.concat(list(bds.values()), ignore_index=True, sort=False) if bds else pd.DataFrame()
    )
    tte_frame = pd.concat(list(tte.values()), ignore_index=True, sort=False) if tte else None
    notes = []
    if d is None:
        notes.append(
            "no design.toml: arms, sizes and visits are read from ADSL and the BDS data sets"
        )
    if ignored:
        notes.append("not ADSL/BDS, not used: " + ", ".join(ignored))
    info = {
        "datasets": {Path(f).name: k for f, k in kinds.items()},
        "notes": tuple(notes),
    }
    return IPD(
        subjects,
        measurements,
        d,
        synthetic=False,
        source=_source_name(folder, d),
        info=info,
        adam=True,
        tte=tte_frame,
        treatment=treatment,
    )


def _adam_design_problems(
    subjects: pd.DataFrame,
    file: str,
    bds: Mapping[str, pd.DataFrame],
    design: TrialDesign,
    treatment: str,
) -> list[tuple[Problem, int]]:
    """What the design declares and the data lack: arms (treatment values) and parameters."""
    out: list[tuple[Problem, int]] = []
    arm = adam.text(subjects[treatment])
    present = set(arm[~arm.str.contains(adam.NOT_AN_ARM)])
    for a in design.arm_names:
        if a not in present:
            out.append(
                (
                    Problem(
                        file,
                        None,
                        treatment,
                        a,
                        f"the design's arm is not a {treatment} value of the data (values: "
                        + ", ".join(sorted(present))
                        + ")",
                    ),
                    1,
                )
            )
    extra = sorted(present - set(design.arm_names))
    if extra:
        out.append(
            (
                Problem(
                    file,
                    None,
                    treatment,
                    extra[0],
                    f"{treatment} values not declared as arms in the design: " + ", ".join(extra),
                ),
                1,
            )
        )
    codes = set()
    for m in bds.values():
        if "PARAMCD" in m.columns:
            codes |= set(adam.text(m["PARAMCD"]))
    for prm in design.parameters:
        if prm.code not in codes:
            out.append(
                (
                    Problem(
                        ", ".join(Path(f).name for f in bds),
                        None,
                        "PARAMCD",
                        prm.code,
                        "a parameter the design declares has no records (PARAMCD values: "
                        + ", ".join(sorted(codes))
                        + ")",
                    ),
                    1,
                )
            )
    return out


def _trial_patient_data(folder: Path) -> Path | None:
    """The patient data of a trial folder as the engine finds them (its ``adam/`` subfolder,
    :attr:`trial_analysis.trial.Trial.patient_data_folder`); ``None`` when data files other
    than ``published.csv`` lie beside its design (read from there, as before); an error naming
    the folder when it has none."""
    from ._paths import patient_data_dir

    found = patient_data_dir(folder)
    if found is not None:
        return found
    if any(f.name.lower() != "published.csv" for f in _adam_files(folder)):
        return None
    raise DataValidationError(
        [
            Problem(
                str(folder),
                None,
                None,
                None,
                "no patient-level data in this trial folder: the engine reads a trial's ADaM "
                "data sets from its adam/ subfolder and there is none (published numbers only); "
                "to check other data, pass their folder (e.g. one in the documented two-table "
                "format)",
            )
        ]
    )


def _trial_data_folder(name: str) -> Path:
    """The patient-level data a shipped trial has (``data/<trial>/adam/``)."""
    from ._paths import patient_data_dir, trial_dir

    d = trial_dir(name)
    found = patient_data_dir(d)
    if found is not None:
        return found
    raise DataValidationError(
        [
            Problem(
                str(d),
                None,
                None,
                None,
                f"trial {name!r} ships no patient-level data (an adam/ folder); for a synthetic "
                f"cohort use ta.synthetic_ipd({name!r})",
            )
        ]
    )


def _is_documented(folder: Path) -> bool:
    """The documented two-table format (subjects.* / measurements.*), complete or not."""
    return bool(_find_files(folder, ("subjects", "measurements")))


def load_ipd(path: str | Path, design: TrialDesign | str | Path | None = None) -> IPD:
    """Read and validate patient-level data.

    Parameters
    ----------
    path : str or Path
        A folder holding ``subjects.csv`` and ``measurements.csv`` (or ``.parquet``, or
        ``.xpt``; ADaM names ``adsl``/``adbds`` also work), or an Excel workbook (``.xlsx``)
        with sheets ``subjects`` and ``measurements``. Format in ``docs/data-format.md``.
    design : TrialDesign, str or Path, optional
        The design to validate against (a shipped trial name, a ``design.toml`` path or a
        :class:`~trial_analysis.design.TrialDesign`). Default: a ``design.toml`` in the data
        folder (or, for ADaM files, its parent), else the shipped trial named in a ``STUDYID``
        column; the documented two-table format needs one of these, ADaM data sets without a
        design are read as they are (arms, sizes and visits from ADSL/BDS, said in ``notes``).

    Returns
    -------
    IPD
        ``.subjects``, ``.measurements``, ``.design``, ``.synthetic`` (True when the files
        carry ``SYNTHFL = "Y"``), ``.source``.

    Raises
    ------
    DataValidationError
        One error listing every problem (``.problems``: file, spreadsheet row, column, value,
        rule); nothing is analysed and no file is modified.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> from trial_analysis._paths import trial_dir
    >>> ipd = ta.load_ipd(trial_dir("zang2022") / "synthetic")
    >>> ipd.synthetic, len(ipd.subjects)
    (True, 91)
    """
    p = Path(path)
    probs = _Problems()
    folder: Path | None = None
    if not p.exists() and isinstance(path, str) and path in available_trials():
        p = _trial_data_folder(path)
        if design is None:
            design = path
    if p.is_dir() and (p / "design.toml").is_file() and not _is_documented(p):
        # a trial folder: its patient data are those the engine uses (adam/, ipd=None)
        found = _trial_patient_data(p)
        if found is not None:
            p = found
    if p.is_dir() and not _is_documented(p) and not list(p.glob("*.xlsx")):
        return _load_adam(p, design)
    if p.is_dir():
        folder = p
        sf, mf = _find_files(p, _SUBJECT_NAMES), _find_files(p, _MEAS_NAMES)
        fmts = [f for f in ("csv", "parquet", "xpt") if f in sf and f in mf]
        if not fmts:
            xlsx = sorted(p.glob("*.xlsx"))
            if len(xlsx) == 1:
                return load_ipd(xlsx[0], design)
            raise DataValidationError(
                [
                    Problem(
                        str(p),
                        None,
                        None,
                        None,
                        "expected two files subjects.csv and measurements.csv (or .parquet, "
                        ".xpt) in this folder, or one Excel workbook; found "
                        + (", ".join(sorted(x.name for x in p.iterdir())) or "nothing"),
                    )
                ]
            )
        fmt = fmts[0]
        if fmt == "csv":
            rs, rm = _read_csv(sf[fmt], probs), _read_csv(mf[fmt], probs)
        else:
            rs, rm = _read_typed(sf[fmt], fmt, probs), _read_typed(mf[fmt], fmt, probs)
    elif p.is_file():
        ext = p.suffix.lower()
        if ext in (".xlsx", ".xlsm"):
            rs, rm = _read_excel(p, probs)
        elif ext in (".csv", ".parquet", ".xpt", ".pq") and p.stem.lower() in (
            _SUBJECT_NAMES + _MEAS_NAMES
        ):
            return load_ipd(p.parent, design)
        else:
            raise DataValidationError(
                [
                    Problem(
                        str(p), None, None, None, "not a data folder or an Excel workbook (.xlsx)"
                    )
                ]
            )
    else:
        raise DataValidationError([Problem(str(p), None, None, None, "no such file or folder")])
    studyid = None
    if rs is not None and rs.frame is not None and "STUDYID" in rs.header and len(rs.frame):
        studyid = _cell_text(rs.frame.iloc[0, rs.header.index("STUDYID")]).strip()
    try:
        d = _resolve_design(design, folder, studyid)
    except ParameterError as exc:
        if not probs:
            raise
        # the files themselves are unreadable: that is the first thing to fix
        probs.add(str(p), None, "STUDYID", studyid, f"no design to validate against: {exc}")
        raise DataValidationError(probs.items, total=probs.total) from None
    return _validate_raw(rs, rm, d, _source_name(p, d), probs)


# ------------------------------------------------------------------------------------------
# Writers
# ------------------------------------------------------------------------------------------
def _export_frames(ipd: IPD) -> tuple[pd.DataFrame, pd.DataFrame]:
    s, m = ipd.subjects.copy(), ipd.measurements.copy()
    if ipd.synthetic:
        s["SYNTHFL"] = "Y"
        m["SYNTHFL"] = "Y"
    return s, m


def save_ipd(ipd: IPD, path: str | Path, format: str = "csv") -> Path:
    """Write ``ipd`` in the documented format; returns the path written.

    ``csv``/``parquet``/``xpt``: a folder with ``subjects.<ext>`` and ``measurements.<ext>``;
    ``excel``: one workbook with sheets ``subjects`` and ``measurements``. Synthetic data get a
    ``SYNTHFL = "Y"`` column in both tables. Files are written atomically.
    """
    from ._io import atomic_write, csv_safe, xlsx_text_cells

    check_choice("format", format, FORMATS)
    s, m = _export_frames(ipd)
    p = Path(path)
    if format == "excel":
        require("openpyxl", "io", "writing Excel workbooks")
        if p.suffix.lower() != ".xlsx":
            p = p.with_suffix(".xlsx")

        def write_xlsx(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as w:
                s.to_excel(w, sheet_name="subjects", index=False)
                m.to_excel(w, sheet_name="measurements", index=False)
                for sheet in w.sheets.values():  # text is never a live formula (OWASP)
                    xlsx_text_cells(sheet)

        return atomic_write(p, write_xlsx)
    p.mkdir(parents=True, exist_ok=True)
    ext = _EXT[format]
    for name, df, table in (("subjects", s, "ADSL"), ("measurements", m, "ADBDS")):
        target = p / f"{name}{ext}"
        if format == "csv":
            safe = csv_safe(df)  # a leading ' before = + - @ (OWASP); the reader removes it
            atomic_write(target, lambda t, df=safe: df.to_csv(t, index=False, lineterminator="\n"))
        elif format == "parquet":
            require("pyarrow", "io", "writing Parquet files")
            atomic_write(target, lambda t, df=df: df.to_parquet(t, index=False))
        else:
            prs = require("pyreadstat", "io", "writing SAS transport files")
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.Int64Dtype):
                    out[c] = out[c].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                elif not pd.api.types.is_numeric_dtype(out[c].dtype):
                    out[c] = out[c].astype(str)
            atomic_write(
                target,
                lambda t, out=out, table=table, prs=prs: prs.write_xport(
                    out, str(t), table_name=table, file_format_version=5
                ),
            )
    return p
