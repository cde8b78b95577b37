"""Trial designs: arms, dosing, schedule, eligibility and endpoint definitions.

A design lives in a TOML file (stdlib :mod:`tomllib` reads it; TOML keeps comments and
citations beside the values, which CSV or JSON would not). ``load_design("zang2022")`` reads
a shipped trial; ``load_design(path)`` reads a user's own file of the same format
(documented in ``docs/design-format.md``). Every value not taken from a publication carries a
provenance label (``assumed`` with the reason), and can be overridden::

    >>> import trial_analysis as ta
    >>> d = ta.load_design("zang2022", overrides={"dose.amount_per_kg": 1.5e6})
    >>> d.cell_dose(70.0)
    105000000.0
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import limits
from ._paths import trial_dir
from ._validate import check_positive
from .errors import DesignError
from .results import Result, format_sci

__all__ = [
    "Arm",
    "Component",
    "Criterion",
    "Digitised",
    "DoseRule",
    "Endpoint",
    "Parameter",
    "Provenance",
    "SubjectVariable",
    "TrialDesign",
    "Visit",
    "load_design",
]

PROVENANCE_LABELS = ("published", "registry", "secondary", "derived", "assumed", "user")
ARM_ROLES = ("experimental", "control")
ENDPOINT_TYPES = ("binary", "continuous", "time_to_event")
#: endpoint roles: co-primary endpoints are each ``"primary"`` (the findings' primary family)
ENDPOINT_ROLES = ("primary", "key secondary", "secondary", "exploratory", "safety")
#: design file format versions this loader reads
FORMAT_VERSIONS = (1,)
MEASURES = ("value", "chg", "pchg")  # AVAL, CHG = AVAL - BASE, PCHG = 100 * CHG / BASE
OPERATORS = ("<", "<=", ">", ">=")
#: time units of a time-to-event endpoint, in days (a month is 365.25 / 12 days, as R's
#: lubridate and SAS's INTCK "continuous" month conventions; a year 365.25 days)
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}


@dataclass(frozen=True)
class Provenance:
    """Where a design value comes from: ``label`` in :data:`PROVENANCE_LABELS`."""

    label: str
    source: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Arm:
    name: str
    role: str
    n_randomised: int
    description: str = ""


DOSE_BASES = ("fixed", "per_kg", "per_m2")
MAX_ARMS = 6  # one control and up to five experimental arms
TIME_UNITS = {"days": 1 / 7, "weeks": 1.0, "months": 365.25 / 12 / 7}  # -> weeks
SUBJECT_VARIABLE_TYPES = ("number", "text", "flag", "date")


@dataclass(frozen=True)
class DoseRule:
    """A dosing rule: ``amount`` per administration (``per``), fixed or by body size.

    ``basis``: ``fixed`` (e.g. 54 mg per day by transdermal patch), ``per_kg`` (e.g. 1e6 cells
    per kg per infusion) or ``per_m2`` (per m² of body-surface area). ``per`` says how often
    (``infusion``, ``day``, ``dose``...), ``route`` how (intravenous, oral, transdermal...).
    ``arm`` is the arm given it (blank: every experimental arm).
    """

    amount: float
    unit: str = ""
    per: str = "dose"
    route: str = ""
    arm: str = ""
    basis: str = "per_kg"

    @property
    def amount_per_kg(self) -> float:
        """``amount`` for a per-kg rule (the legacy name of the field)."""
        if self.basis != "per_kg":
            raise DesignError("(design)", "dose.basis", "'per_kg' for an amount per kg", self.basis)
        return self.amount

    def dose_for(self, weight_kg: float | None = None, bsa_m2: float | None = None) -> float:
        """Amount of one administration for a patient of ``weight_kg`` / ``bsa_m2``."""
        if self.basis == "fixed":
            return self.amount
        if self.basis == "per_kg":
            if weight_kg is None:
                raise DesignError("(design)", "dose.basis", "weight_kg for a per-kg dose")
            return self.amount * check_positive("weight_kg", weight_kg)
        if bsa_m2 is None:
            raise DesignError("(design)", "dose.basis", "bsa_m2 for a per-m2 dose")
        return self.amount * check_positive("bsa_m2", bsa_m2)

    def cell_dose(self, weight_kg: float) -> float:
        """Amount for one administration at body weight ``weight_kg`` (per-kg rules)."""
        return self.amount_per_kg * check_positive("weight_kg", weight_kg)

    def __str__(self) -> str:
        basis = {"fixed": "", "per_kg": "/kg", "per_m2": "/m2"}[self.basis]
        unit = self.unit if not basis or self.unit.endswith(basis) else self.unit + basis
        s = f"{format_sci(self.amount)} {unit} per {self.per}"
        return s + (f", {self.route}" if self.route else "")


@dataclass(frozen=True)
class Visit:
    """A scheduled visit: its analysis visit number (ADaM ``AVISITN``), label and study time."""

    avisitn: float
    label: str
    time: float  # in the design's time unit
    weeks: float  # the same time in weeks


@dataclass(frozen=True)
class SubjectVariable:
    """A subject-level column a trial declares (checked on load; shown in Table 1)."""

    name: str
    label: str
    type: str = "number"
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    required: bool = True
    table1: bool = True


@dataclass(frozen=True)
class Parameter:
    """A measured parameter (CDISC ``PARAMCD``) with unit and plausibility limits."""

    code: str
    label: str
    unit: str
    low: float = -math.inf
    high: float = math.inf
    resolution: float | None = None  # measurement grid (e.g. 0.1 for HbA1c in %): GRIM checks


@dataclass(frozen=True)
class Criterion:
    """An eligibility criterion; numeric limits where the criterion is a range."""

    id: str
    text: str
    variable: str = ""
    low: float | None = None
    high: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Component:
    """One condition of a composite endpoint, e.g. ``HBA1C value < 7.0``."""

    parameter: str
    measure: str
    operator: str
    threshold: float

    def __str__(self) -> str:
        m = {"value": "", "chg": " change", "pchg": " % change"}[self.measure]
        return f"{self.parameter}{m} {self.operator} {self.threshold:g}"


@dataclass(frozen=True)
class Digitised:
    """A published Kaplan–Meier figure as digitised files (paths relative to the trial folder):
    the curve (``arm, time, survival``), the numbers-at-risk table (``arm, time, n_risk``) and
    the published total events per arm (``(arm, events)`` pairs, possibly empty)."""

    curve: str
    at_risk: str
    total_events: tuple[tuple[str, int], ...] = ()
    percent: bool = False  # survival in the curve file is in percent (0-100)


@dataclass(frozen=True)
class Endpoint:
    """An endpoint; binary endpoints may be composites of :class:`Component` conditions."""

    id: str
    label: str
    role: str
    type: str
    week: float
    parameter: str = ""
    measure: str = "value"
    components: tuple[Component, ...] = ()
    visit: float | None = None  # AVISITN of the endpoint's visit (= week in week-numbered data)
    #: analysis declarations read by the reanalysis engine (all optional)
    population: str = ""  # population of the patient-level analyses (default: the IPD's ITT)
    covariates: tuple[str, ...] = ()  # adjustment covariates (ADSL columns or BASE_<PARAMCD>)
    strata: tuple[str, ...] = ()  # randomisation strata (ADSL columns)
    method: str = ""  # the pre-specified (primary) analysis, e.g. "fisher", "ancova", "mmrm"
    negate: bool = False  # analyse -measure (a reduction reported as a positive number)
    #: missing-data sensitivity analyses with patient data (default: both for a primary
    #: endpoint, none otherwise): "multiple_imputation" (MAR, J2R, CR), "tipping_point"
    sensitivity: tuple[str, ...] = ()
    #: published.csv quantities of this endpoint by role: "percent" (binary), "level" (means
    #: and SDs of the parameter by visit), "change" (mean change, between-arm p); default the id
    published: tuple[tuple[str, str], ...] = ()
    #: SDs at which summary-level t-tests are shown when none is published (assumed values)
    assumed_sds: tuple[float, ...] = ()
    #: time-to-event endpoints only: the analysis time unit (TIME_UNITS), the unit of the
    #: data's times (ADTTE AVAL, or the digitised curve's axis), the event definition, the
    #: RMST truncation time and the fixed times of survival estimates (in ``unit``), and a
    #: digitised published curve to reconstruct patients from (:class:`Digitised`)
    unit: str = ""
    data_unit: str = ""
    event: str = ""
    tau: float | None = None
    times: tuple[float, ...] = ()
    digitised: Digitised | None = None

    @property
    def time_scale(self) -> float:
        """Factor converting the data's times to ``unit`` (1 when both are the same)."""
        if not self.unit:
            return 1.0
        return TIME_UNITS[self.data_unit or self.unit] / TIME_UNITS[self.unit]

    def published_quantity(self, role: str) -> str | None:
        """The ``published.csv`` quantity holding this endpoint's numbers of ``role``.

        Without a ``published`` declaration the endpoint id is the quantity of its main role
        (``percent`` for binary, ``change`` for continuous endpoints).
        """
        d = dict(self.published)
        if d:  # declared: exactly these
            return d.get(role)
        default = "percent" if self.type == "binary" else "change"
        return self.id if role == default else None

    @property
    def avisitn(self) -> float:
        return self.week if self.visit is None else self.visit


@dataclass(frozen=True)
class TrialDesign(Result):
    """A trial's design, as loaded by :func:`load_design`.

    ``to_frame()`` lists every design item with its value and provenance label.
    """

    id: str
    title: str
    short_title: str
    citation: str
    registration: str
    arms: tuple[Arm, ...]
    dose: DoseRule | None  # the first dosing rule; None for a design without one
    infusion_weeks: tuple[int, ...]
    visit_weeks: tuple[float, ...]
    follow_up_weeks: float
    parameters: tuple[Parameter, ...]
    eligibility: tuple[Criterion, ...]
    endpoints: tuple[Endpoint, ...]
    doses: tuple[DoseRule, ...] = ()
    visits: tuple[Visit, ...] = ()
    time_unit: str = "weeks"
    subject_variables: tuple[SubjectVariable, ...] = ()
    administration_records: str = ""  # column prefix of per-administration records, e.g. "INF"
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False)
    info: Mapping[str, str] = field(default_factory=dict, compare=False)
    source_file: str = ""
    sha256: str = ""

    # -- convenience ---------------------------------------------------------------------
    @property
    def dose_rules(self) -> tuple[DoseRule, ...]:
        """Every dosing rule (``[[doses]]`` or the one ``[dose]``); empty when none is declared
        (a trial compared by the published numbers alone, a procedure, a device)."""
        return self.doses or ((self.dose,) if self.dose is not None else ())

    @property
    def follow_up_text(self) -> str:
        """The follow-up in the design's time unit ("36 months", "48 weeks")."""
        value = self.follow_up_weeks / TIME_UNITS.get(self.time_unit, 1.0)
        return f"{value:.6g} {self.time_unit}"

    def cell_dose(self, weight_kg: float) -> float:
        """Cells (or dose units) per infusion at ``weight_kg``: ``amount_per_kg * weight_kg``."""
        if self.dose is None:
            raise DesignError(self.source_file or "(design)", "dose", "a [dose] table", "none")
        return self.dose.cell_dose(weight_kg)

    @property
    def n_randomised(self) -> int:
        return sum(a.n_randomised for a in self.arms)

    @property
    def visit_numbers(self) -> tuple[float, ...]:
        """The scheduled visits' ``AVISITN`` (equal to ``visit_weeks`` for week-numbered data)."""
        return tuple(v.avisitn for v in self.visits) if self.visits else self.visit_weeks

    def visit_label(self, avisitn: float) -> str:
        """How a visit is named in tables: the declared label, else ``week <n>``."""
        for v in self.visits:
            if v.avisitn == avisitn:
                return v.label
        return f"week {avisitn:g}"

    @property
    def experimental_arms(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if a.role == "experimental")

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms)

    @property
    def control_arm(self) -> Arm:
        return next(a for a in self.arms if a.role == "control")

    @property
    def experimental_arm(self) -> Arm:
        return next(a for a in self.arms if a.role == "experimental")

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(f"no arm {name!r}; arms are {', '.join(self.arm_names)}")

    def endpoint(self, id: str) -> Endpoint:
        for e in self.endpoints:
            if e.id == id:
                return e
        raise KeyError(
            f"no endpoint {id!r}; endpoints are {', '.join(e.id for e in self.endpoints)}"
        )

    def parameter(self, code: str) -> Parameter:
        for p in self.parameters:
            if p.code == code:
                return p
        raise KeyError(f"no parameter {code!r}")

    def provenance_of(self, key: str) -> Provenance | None:
        """The provenance of ``key`` or of its closest documented parent key."""
        parts = key.split(".")
        while parts:
            k = ".".join(parts)
            if k in self.provenance:
                return self.provenance[k]
            parts.pop()
        return None

    # -- Result protocol -----------------------------------------------------------------
    @property
    def title_line(self) -> str:
        return (
            f"{self.short_title} [{self.registration}]" if self.registration else self.short_title
        )

    def to_frame(self) -> pd.DataFrame:
        rows: list[tuple[str, str, str]] = []

        def add(item: str, value: Any, key: str) -> None:
            p = self.provenance_of(key)
            rows.append((item, str(value), p.label if p else ""))

        add("Design", self.info.get("design", ""), "trial")
        for a in self.arms:
            add(f"Arm: {a.name} ({a.role})", f"n = {a.n_randomised} randomised", "arms")
        for d in self.dose_rules:
            add("Dose" + (f" ({d.arm})" if d.arm else ""), str(d), "dose")
        if self.infusion_weeks:
            add(
                "Administration weeks",
                ", ".join(map(str, self.infusion_weeks)),
                "schedule.infusion_weeks",
            )
        add("Visit weeks", ", ".join(f"{w:g}" for w in self.visit_weeks), "schedule.visit_weeks")
        add("Follow-up", self.follow_up_text, "schedule.follow_up_weeks")
        for c in self.eligibility:
            add(f"Eligibility: {c.id}", c.text, f"eligibility.{c.id}")
        for e in self.endpoints:
            add(f"Endpoint ({e.role}): {e.id}", e.label, f"endpoints.{e.id}")
        return pd.DataFrame(rows, columns=["item", "value", "provenance"])

    @property
    def notes(self) -> tuple[str, ...]:
        out = []
        for key, p in self.provenance.items():
            if p.label in ("assumed", "user"):
                out.append(f"{key} is {p.label}: {p.reason or p.source}")
        return tuple(out)

    def timeline(self, width: int = 60) -> str:
        """A one-line text timeline in the design's time unit: administrations marked by the
        first letter of ``dose.per`` (``I`` = infusion), ``V`` visit."""
        # in the design's time unit (weeks, days, months): ticks as the design file gives them
        f = TIME_UNITS.get(self.time_unit, 1.0)
        fu = self.follow_up_weeks / f
        scale = width / max(fu, 1e-9)
        per = self.dose.per if self.dose is not None else "administration"
        mark = (per[:1] or "A").upper()
        line = ["-"] * (width + 1)
        visits = [w / f for w in self.visit_weeks]
        admin = [w / f for w in self.infusion_weeks]
        for w in visits:
            line[round(w * scale)] = "V"
        for w in admin:
            line[round(w * scale)] = mark
        ticks = [" "] * (width + 12)
        for w in sorted(set(visits) | set(admin) | {fu}):
            s = f"{w:.4g}"
            pos = round(w * scale)
            if all(ticks[pos + i] == " " for i in range(len(s))):
                ticks[pos : pos + len(s)] = s
        head = f"{self.time_unit.removesuffix('s'):<4} "
        pad = " " * len(head)
        return (
            head
            + "".join(line)
            + "\n"
            + pad
            + "".join(ticks).rstrip()
            + (f"\n{pad}{mark} = {per} (and visit), V = visit" if self.infusion_weeks else "")
            + ("" if self.infusion_weeks else f"\n{pad}V = visit")
        )

    def summary(self) -> str:
        """Readable multi-line summary: arms, dosing, schedule timeline, endpoints."""
        lines = [self.title_line, "=" * len(self.title_line), self.citation, ""]
        phase = f", phase {self.info['phase']}" if self.info.get("phase") else ""
        if self.info.get("design") or phase:
            lines.append(f"Design: {self.info.get('design', '')}{phase}")
        lines.append("Arms:")
        lines += [
            f"  - {a.name} ({a.role}): n = {a.n_randomised} randomised. {a.description}"
            for a in self.arms
        ]
        dp = self.provenance_of("dose")
        for d in self.dose_rules:
            lines.append(
                "Dosing"
                + (f" ({d.arm})" if d.arm else "")
                + f": {d}"
                + (
                    ", at weeks " + ", ".join(map(str, self.infusion_weeks))
                    if self.infusion_weeks
                    else ""
                )
                + (f"  [{dp.label}]" if dp else "")
            )
        lines.append(f"Follow-up: {self.follow_up_text}. Schedule:")
        lines += ["  " + ln for ln in self.timeline().splitlines()]
        lines.append("Endpoints:")
        for e in self.endpoints:
            lines.append(f"  - {e.role}: {e.label} [{e.id}]")
            lines += [f"      {c}" for c in e.components]
        if self.notes:
            lines.append("Assumptions:")
            lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------------------
# loading and validation
# ---------------------------------------------------------------------------------------

# Bounds on the text fields (checked on loading, before any work): names and titles print in
# headings, table cells and figure labels; the longer fields print in paragraphs. Every text
# field is bounded by a documented limit (limits.py, docs/limits.md) and holds no control
# character: titles by max_title_length, free texts (line breaks allowed) by max_text_length,
# every other string (names, ids, labels, codes, units, file names) by max_label_length.
_TITLES = {"title", "short_title"}
_LONG_TEXT = {
    "citation",
    "description",
    "text",
    "source",
    "reason",
    "url",
    "registry_url",
    "event",
}


def _text_limit(key: str) -> tuple[str, bool]:
    """(limit name, line breaks allowed) of the text field ``key``."""
    if key in _TITLES:
        return "max_title_length", False
    if key in _LONG_TEXT:
        return "max_text_length", True
    return "max_label_length", False


_TYPES = {
    "str": (str,),
    "int": (int,),
    "number": (int, float),
    "list[int]": (list,),
    "list[str]": (list,),
    "list[number]": (list,),
    "bool": (bool,),
    "table": (dict,),
    "list[table]": (list,),
}

# section -> key -> (type, required)
_SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "trial": {
        "id": ("str", True),
        "title": ("str", True),
        "short_title": ("str", False),
        "citation": ("str", True),
        "registration": ("str", False),
        "doi": ("str", False),
        "url": ("str", False),
        "registry_url": ("str", False),
        "sponsor": ("str", False),
        "design": ("str", False),
        "phase": ("str", False),
        "condition": ("str", False),
        "period": ("str", False),
    },
    "arms": {
        "name": ("str", True),
        "role": ("str", True),
        "n_randomised": ("int", True),
        "description": ("str", False),
    },
    "dose": {
        "amount_per_kg": ("number", False),
        "amount": ("number", False),
        "basis": ("str", False),
        "unit": ("str", False),
        "per": ("str", False),
        "route": ("str", False),
        "arm": ("str", False),
        "records": ("str", False),
    },
    "schedule": {
        "infusion_weeks": ("list[int]", False),
        "visit_weeks": ("list[int]", False),
        "follow_up_weeks": ("int", False),
        "time_unit": ("str", False),
        "follow_up": ("number", False),
        "visits": ("list[table]", False),
    },
    "visits": {
        "avisitn": ("number", True),
        "label": ("str", True),
        "time": ("number", True),
    },
    "subject_variables": {
        "name": ("str", True),
        "label": ("str", True),
        "type": ("str", False),
        "unit": ("str", False),
        "low": ("number", False),
        "high": ("number", False),
        "required": ("bool", False),
        "table1": ("bool", False),
    },
    "parameters": {
        "code": ("str", True),
        "label": ("str", True),
        "unit": ("str", True),
        "low": ("number", False),
        "high": ("number", False),
        "resolution": ("number", False),
    },
    "eligibility": {
        "id": ("str", True),
        "text": ("str", True),
        "variable": ("str", False),
        "low": ("number", False),
        "high": ("number", False),
        "unit": ("str", False),
    },
    "endpoints": {
        "id": ("str", True),
        "label": ("str", True),
        "role": ("str", True),
        "type": ("str", True),
        "week": ("number", False),
        "visit": ("number", False),
        "parameter": ("str", False),
        "measure": ("str", False),
        "components": ("list[table]", False),
        "population": ("str", False),
        "covariates": ("list[str]", False),
        "strata": ("list[str]", False),
        "method": ("str", False),
        "negate": ("bool", False),
        "sensitivity": ("list[str]", False),
        "published": ("table", False),
        "assumed_sds": ("list[number]", False),
        "unit": ("str", False),
        "data_unit": ("str", False),
        "event": ("str", False),
        "tau": ("number", False),
        "times": ("list[number]", False),
        "digitised": ("table", False),
    },
    "digitised": {
        "curve": ("str", True),
        "at_risk": ("str", True),
        "total_events": ("table", False),
        "percent": ("bool", False),
    },
    "components": {
        "parameter": ("str", True),
        "measure": ("str", True),
        "operator": ("str", True),
        "threshold": ("number", True),
    },
    "provenance": {"label": ("str", True), "source": ("str", False), "reason": ("str", False)},
}
_TOP = {
    "format_version",
    "trial",
    "arms",
    "dose",
    "doses",
    "schedule",
    "subject_variables",
    "parameters",
    "eligibility",
    "endpoints",
    "provenance",
}


PUBLISHED_ROLES = ("percent", "level", "change")


def _published_roles(ck: _Checker, raw: dict, where: str) -> tuple[tuple[str, str], ...]:
    out = []
    for role, q in raw.items():
        if role not in PUBLISHED_ROLES:
            raise ck.fail(f"{where}.published.{role}", "one of " + ", ".join(PUBLISHED_ROLES), role)
        if not isinstance(q, str) or not q:
            raise ck.fail(f"{where}.published.{role}", "a published.csv quantity name", q)
        ck.text(f"{where}.published.{role}", q, "max_label_length")
        out.append((role, q))
    return tuple(out)


class _Checker:
    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, expected: str, got: Any = ...) -> DesignError:
        return DesignError(self.file, key, expected, got)

    def table(self, raw: Any, section: str, where: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, "a table", raw)
        spec = _SCHEMA[section]
        unknown = sorted(set(raw) - set(spec))
        if unknown:
            raise self.fail(
                f"{where}.{unknown[0]}",
                "one of the known fields " + ", ".join(spec),
                "unknown field",
            )
        out: dict[str, Any] = {}
        for key, (typ, required) in spec.items():
            k = f"{where}.{key}"
            if key not in raw:
                if required:
                    raise self.fail(k, f"a {typ} (required key is missing)")
                continue
            v = raw[key]
            ok = isinstance(v, _TYPES[typ]) and (typ == "bool" or not isinstance(v, bool))
            if ok and typ == "number" and not math.isfinite(v):
                ok = False
            if ok and typ == "list[int]":
                ok = all(isinstance(x, int) and not isinstance(x, bool) for x in v)
            if ok and typ == "list[str]":
                ok = all(isinstance(x, str) for x in v)
            if ok and typ == "list[number]":
                ok = all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                    for x in v
                )
            if ok and typ == "list[table]":
                ok = all(isinstance(x, dict) for x in v)
            if not ok:
                raise self.fail(k, f"a {typ}", v)
            if typ == "str":
                self.text(k, v, *_text_limit(key))
            elif typ == "list[str]":
                for j, x in enumerate(v):
                    self.text(f"{k}[{j}]", x, "max_label_length")
            out[key] = v
        return out

    def text(self, key: str, value: str, limit: str, multiline: bool = False) -> None:
        """Refuse a text over its documented length limit or with control characters."""
        problem = limits.text_problem(value, limit, multiline=multiline)
        if problem:
            raise self.fail(key, problem)

    def array(self, raw: dict, key: str) -> list[Any]:
        v = raw.get(key)
        if not isinstance(v, list) or not v:
            raise self.fail(key, f"a non-empty array of tables [[{key}]]", v if key in raw else ...)
        return v


def _apply_overrides(raw: dict, overrides: Mapping[str, Any], file: str) -> list[str]:
    """Set dotted keys in the raw TOML; list items are addressed by index or by name/id."""
    changed = []
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        node: Any = raw
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                idx = next(
                    (
                        j
                        for j, it in enumerate(node)
                        if isinstance(it, dict) and part in (it.get("name"), it.get("id"))
                    ),
                    int(part) if part.isdigit() and int(part) < len(node) else None,
                )
                if idx is None:
                    raise DesignError(
                        file, dotted, "an existing list item (by index, name or id)", part
                    )
                if last:
                    node[idx] = value
                else:
                    node = node[idx]
            elif isinstance(node, dict):
                if last:
                    if part not in node and parts[0] not in ("provenance",):
                        # only existing keys may be overridden: typos must not pass silently
                        raise DesignError(
                            file, dotted, "an existing design key to override", "not in the design"
                        )
                    node[part] = value
                else:
                    if part not in node:
                        raise DesignError(
                            file, dotted, "an existing design key to override", "not in the design"
                        )
                    node = node[part]
            else:
                raise DesignError(file, dotted, "a path into tables or arrays", "not a table")
        changed.append(str(dotted))
    return changed


def load_design(
    name_or_path: str | Path, overrides: Mapping[str, Any] | None = None
) -> TrialDesign:
    """Load a trial design by shipped name (``"zang2022"``) or from a ``design.toml`` path.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped trial's name, a path to a design TOML file, or a folder containing one.
    overrides : mapping, optional
        Dotted keys to replace before validation, e.g. ``{"dose.amount_per_kg": 1.5e6,
        "schedule.visit_weeks": [0, 4, 8, 9, 24, 48]}``; array items are addressed by index or
        by their ``name``/``id`` (``"arms.Placebo.n_randomised"``). Overridden keys get the
        provenance label ``user``.

    Returns
    -------
    TrialDesign

    Raises
    ------
    DesignError
        Naming the file, the key and what was expected. The file is only read.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> d = ta.load_design("zang2022")
    >>> [(a.name, a.n_randomised) for a in d.arms]
    [('UC-MSC', 45), ('Placebo', 46)]
    >>> d.cell_dose(70)  # 1e6 cells/kg x 70 kg
    70000000.0
    """
    p = Path(name_or_path)
    if p.is_dir():
        p = p / "design.toml"
    elif not (p.suffix == ".toml" or p.exists()):
        p = trial_dir(str(name_or_path)) / "design.toml"
    file = str(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DesignError(file, "(file)", "a readable design file", str(exc)) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DesignError(
            file, "(file)", "UTF-8 text", f"undecodable byte at offset {exc.start}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(file, "(file)", "valid TOML", str(exc)) from None
    raw = copy.deepcopy(raw)
    changed = _apply_overrides(raw, overrides or {}, file)
    design = _build(raw, file, hashlib.sha256(data).hexdigest())
    if changed:
        prov = dict(design.provenance)
        for k in changed:
            prov[k] = Provenance("user", reason=f"overridden by the user: {k} = {_dig(raw, k)!r}")
        object.__setattr__(design, "provenance", prov)
    return design


def _dig(raw: Any, dotted: str) -> Any:
    node = raw
    for part in dotted.split("."):
        if isinstance(node, list):
            node = (
                next(
                    (
                        it
                        for it in node
                        if isinstance(it, dict) and part in (it.get("name"), it.get("id"))
                    ),
                    None,
                )
                or node[int(part)]
            )
        else:
            node = node[part]
    return node


def _build(raw: dict, file: str, sha: str) -> TrialDesign:
    ck = _Checker(file)
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise ck.fail(
            unknown[0],
            "one of the top-level sections " + ", ".join(sorted(_TOP)),
            "unknown section",
        )
    if "format_version" in raw and (
        isinstance(raw["format_version"], bool) or raw["format_version"] not in FORMAT_VERSIONS
    ):
        raise ck.fail(
            "format_version",
            "one of " + ", ".join(str(v) for v in FORMAT_VERSIONS),
            raw["format_version"],
        )
    if "trial" not in raw:
        raise ck.fail("trial", "a [trial] table (required section is missing)")
    trial = ck.table(raw["trial"], "trial", "trial")

    arms = []
    for i, a in enumerate(ck.array(raw, "arms")):
        t = ck.table(a, "arms", f"arms[{i}]")
        if t["role"] not in ARM_ROLES:
            raise ck.fail(f"arms[{i}].role", "one of " + ", ".join(ARM_ROLES), t["role"])
        if t["n_randomised"] < 1:
            raise ck.fail(f"arms[{i}].n_randomised", "a whole number >= 1", t["n_randomised"])
        if t["n_randomised"] > (cap := limits.get("max_arm_size")):
            raise ck.fail(
                f"arms[{i}].n_randomised",
                f"at most max_arm_size = {cap:,.0f} (a documented limit, see docs/limits.md)",
                t["n_randomised"],
            )
        arms.append(Arm(t["name"], t["role"], t["n_randomised"], t.get("description", "")))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ck.fail("arms.name", "unique arm names", names)
    if not 2 <= len(arms) <= MAX_ARMS:
        raise ck.fail("arms", f"2 to {MAX_ARMS} arms", f"{len(arms)} arms")
    roles = [a.role for a in arms]
    if roles.count("control") != 1 or roles.count("experimental") < 1:
        raise ck.fail(
            "arms.role", "exactly one 'control' arm and at least one 'experimental' arm", roles
        )

    doses = _doses(raw, ck, names)
    dose = doses[0] if doses else None
    records = raw["dose"].get("records", "") if isinstance(raw.get("dose"), dict) else ""

    if "schedule" not in raw:
        raise ck.fail("schedule", "a [schedule] table (required section is missing)")
    st = ck.table(raw["schedule"], "schedule", "schedule")
    unit = st.get("time_unit", "weeks")
    if unit not in TIME_UNITS:
        raise ck.fail("schedule.time_unit", "one of " + ", ".join(TIME_UNITS), unit)
    to_weeks = TIME_UNITS[unit]
    if "follow_up" in st:
        fu = st["follow_up"] * to_weeks
    elif "follow_up_weeks" in st:
        fu = st["follow_up_weeks"]
    else:
        raise ck.fail("schedule.follow_up", f"the length of follow-up in {unit} (required)")
    if fu <= 0 or ("follow_up_weeks" in st and st["follow_up_weeks"] < 1):
        raise ck.fail(
            "schedule.follow_up_weeks",
            "a whole number of weeks >= 1",
            st.get("follow_up_weeks", fu),
        )
    if fu > (cap := limits.get("max_follow_up_weeks")):
        raise ck.fail(
            "schedule.follow_up_weeks" if "follow_up_weeks" in st else "schedule.follow_up",
            f"at most max_follow_up_weeks = {cap:,.0f} weeks (a documented limit, see "
            "docs/limits.md)",
            fu,
        )
    if fu == int(fu):
        fu = int(fu)
    if "visits" in st and "visit_weeks" in st:
        raise ck.fail("schedule.visits", "either visits or visit_weeks, not both", "both given")
    if "visits" in st:
        visits = []
        for i, v in enumerate(st["visits"]):
            t = ck.table(v, "visits", f"schedule.visits[{i}]")
            w = t["time"] * to_weeks
            visits.append(Visit(float(t["avisitn"]), t["label"], float(t["time"]), w))
        nums = [v.avisitn for v in visits]
        if len(set(nums)) != len(nums):
            raise ck.fail("schedule.visits.avisitn", "unique visit numbers", nums)
        times = [v.time for v in visits]
        if sorted(set(times)) != times:
            raise ck.fail("schedule.visits.time", f"strictly increasing times ({unit})", times)
        if any(v.weeks > fu + 1e-9 for v in visits):
            raise ck.fail("schedule.visits.time", f"times within follow-up ({fu:g} weeks)", times)
        if 0 not in times:
            raise ck.fail("schedule.visits", "a baseline visit at time 0", times)
        visit_weeks = tuple(int(v.weeks) if v.weeks == int(v.weeks) else v.weeks for v in visits)
    elif "visit_weeks" in st:
        visit_weeks = tuple(st["visit_weeks"])
        visits = [Visit(float(w), f"Week {w}", w / to_weeks, float(w)) for w in visit_weeks]
    else:
        raise ck.fail("schedule.visits", "a list of visits [[schedule.visits]] or visit_weeks")
    for key in ("infusion_weeks", "visit_weeks"):
        if key not in st:
            continue
        weeks = st[key]
        if not weeks:
            raise ck.fail(f"schedule.{key}", "a non-empty list of weeks", weeks)
        if any(w < 0 for w in weeks):
            raise ck.fail(f"schedule.{key}", "weeks >= 0", weeks)
        if any(w > fu for w in weeks):
            raise ck.fail(
                f"schedule.{key}", f"weeks within follow-up (<= follow_up_weeks = {fu})", weeks
            )
        if sorted(set(weeks)) != weeks:
            raise ck.fail(f"schedule.{key}", "strictly increasing weeks", weeks)
    if "visit_weeks" in st and 0 not in st["visit_weeks"]:
        raise ck.fail("schedule.visit_weeks", "a baseline visit at week 0", st["visit_weeks"])
    infusion_weeks = tuple(st.get("infusion_weeks", ()))
    if records and not infusion_weeks:
        raise ck.fail(
            "dose.records", "schedule.infusion_weeks (the administrations the records describe)"
        )

    svars = []
    for i, v in enumerate(raw.get("subject_variables", [])):
        t = ck.table(v, "subject_variables", f"subject_variables[{i}]")
        typ = t.get("type", "number")
        if typ not in SUBJECT_VARIABLE_TYPES:
            raise ck.fail(
                f"subject_variables[{i}].type", "one of " + ", ".join(SUBJECT_VARIABLE_TYPES), typ
            )
        lo, hi = t.get("low", -math.inf), t.get("high", math.inf)
        if lo >= hi:
            raise ck.fail(f"subject_variables[{i}].low", f"low < high ({hi})", lo)
        svars.append(
            SubjectVariable(
                t["name"],
                t["label"],
                typ,
                t.get("unit", ""),
                float(lo),
                float(hi),
                t.get("required", True),
                t.get("table1", True),
            )
        )

    for key in ("parameters", "eligibility"):  # optional arrays of tables
        if key in raw and not isinstance(raw[key], list):
            raise ck.fail(key, f"an array of tables [[{key}]]", raw[key])
    params = []
    for i, pr in enumerate(raw.get("parameters", [])):
        t = ck.table(pr, "parameters", f"parameters[{i}]")
        lo, hi = t.get("low", -math.inf), t.get("high", math.inf)
        if lo >= hi:
            raise ck.fail(f"parameters[{i}].low", f"low < high ({hi})", lo)
        res = t.get("resolution")
        if res is not None and not res > 0:
            raise ck.fail(f"parameters[{i}].resolution", "a positive number", res)
        params.append(
            Parameter(
                t["code"],
                t["label"],
                t["unit"],
                float(lo),
                float(hi),
                None if res is None else float(res),
            )
        )
    codes = {p.code for p in params}

    crit = []
    for i, c in enumerate(raw.get("eligibility", [])):
        t = ck.table(c, "eligibility", f"eligibility[{i}]")
        if "low" in t and "high" in t and t["low"] > t["high"]:
            raise ck.fail(f"eligibility[{i}].low", f"low <= high ({t['high']})", t["low"])
        crit.append(Criterion(**t))

    endpoints = []
    for i, e in enumerate(ck.array(raw, "endpoints")):
        where = f"endpoints[{i}]"
        t = ck.table(e, "endpoints", where)
        if t["type"] not in ENDPOINT_TYPES:
            raise ck.fail(f"{where}.type", "one of " + ", ".join(ENDPOINT_TYPES), t["type"])
        if t["role"] not in ENDPOINT_ROLES:
            raise ck.fail(f"{where}.role", "one of " + ", ".join(ENDPOINT_ROLES), t["role"])
        if "method" in t and t["method"] not in (allowed := endpoint_methods(t["type"])):
            raise ck.fail(
                f"{where}.method",
                f"a method of {t['type']} endpoints: one of " + ", ".join(allowed),
                t["method"],
            )
        tte = _time_to_event(t, where, ck, names)
        if t["type"] == "time_to_event":
            # time from randomisation to the event (ADTTE PARAMCD = parameter), to follow-up
            if not t.get("parameter"):
                raise ck.fail(f"{where}.parameter", "the ADTTE PARAMCD of a time-to-event endpoint")
            week, visit = t.get("week", fu), None
        else:
            week, visit = _endpoint_time(t, visits, fu, where, ck)
        comps = []
        for j, c in enumerate(t.get("components", [])):
            ct = ck.table(c, "components", f"{where}.components[{j}]")
            if ct["measure"] not in MEASURES:
                raise ck.fail(
                    f"{where}.components[{j}].measure",
                    "one of " + ", ".join(MEASURES),
                    ct["measure"],
                )
            if ct["operator"] not in OPERATORS:
                raise ck.fail(
                    f"{where}.components[{j}].operator",
                    "one of " + ", ".join(OPERATORS),
                    ct["operator"],
                )
            if codes and ct["parameter"] not in codes:
                raise ck.fail(
                    f"{where}.components[{j}].parameter",
                    "a declared parameter code " + str(sorted(codes)),
                    ct["parameter"],
                )
            comps.append(
                Component(ct["parameter"], ct["measure"], ct["operator"], float(ct["threshold"]))
            )
        if t["type"] == "binary" and not comps:
            raise ck.fail(f"{where}.components", "at least one component for a binary endpoint")
        if t["type"] == "continuous":
            if not t.get("parameter"):
                raise ck.fail(f"{where}.parameter", "a parameter code for a continuous endpoint")
            if codes and t["parameter"] not in codes:
                raise ck.fail(
                    f"{where}.parameter",
                    "a declared parameter code " + str(sorted(codes)),
                    t["parameter"],
                )
            if t.get("measure", "value") not in MEASURES:
                raise ck.fail(f"{where}.measure", "one of " + ", ".join(MEASURES), t["measure"])
        endpoints.append(
            Endpoint(
                t["id"],
                t["label"],
                t["role"],
                t["type"],
                week,
                t.get("parameter", ""),
                t.get("measure", "value"),
                tuple(comps),
                visit=visit,
                population=t.get("population", ""),
                covariates=tuple(t.get("covariates", ())),
                strata=tuple(t.get("strata", ())),
                method=t.get("method", ""),
                negate=t.get("negate", False),
                sensitivity=_sensitivity(t, where, ck),
                published=_published_roles(ck, t.get("published", {}), where),
                assumed_sds=tuple(float(x) for x in t.get("assumed_sds", ())),
                **tte,
            )
        )

    prov = {}
    prov_raw = raw.get("provenance", {})
    if not isinstance(prov_raw, dict):
        raise ck.fail("provenance", 'a table of [provenance."<key>"] tables', prov_raw)
    for key, pr in prov_raw.items():
        ck.text(f"provenance.{key[:40]}", key, "max_label_length")  # the key named
        t = ck.table(pr, "provenance", f"provenance.{key}")
        if t["label"] not in PROVENANCE_LABELS:
            raise ck.fail(
                f"provenance.{key}.label", "one of " + ", ".join(PROVENANCE_LABELS), t["label"]
            )
        if t["label"] == "assumed" and not t.get("reason"):
            raise ck.fail(f"provenance.{key}.reason", "a reason for an assumed value")
        if t["label"] in ("published", "registry", "secondary") and not t.get("source"):
            raise ck.fail(f"provenance.{key}.source", f"a source for a {t['label']} value")
        prov[key] = Provenance(t["label"], t.get("source", ""), t.get("reason", ""))

    info = {
        k: v
        for k, v in trial.items()
        if k not in ("id", "title", "short_title", "citation", "registration")
    }
    return TrialDesign(
        id=trial["id"],
        title=trial["title"],
        short_title=trial.get("short_title", trial["title"]),
        citation=trial["citation"],
        registration=trial.get("registration", ""),
        arms=tuple(arms),
        dose=dose,
        infusion_weeks=infusion_weeks,
        visit_weeks=visit_weeks,
        follow_up_weeks=fu,
        doses=tuple(doses),
        visits=tuple(visits),
        time_unit=unit,
        subject_variables=tuple(svars),
        administration_records=records,
        parameters=tuple(params),
        eligibility=tuple(crit),
        endpoints=tuple(endpoints),
        provenance=prov,
        info=info,
        source_file=file,
        sha256=sha,
    )


def _dose(t: dict, where: str, ck: _Checker, names: list[str]) -> DoseRule:
    if "amount_per_kg" in t and ("amount" in t or t.get("basis", "per_kg") != "per_kg"):
        raise ck.fail(f"{where}.amount_per_kg", "amount_per_kg alone, or amount with basis")
    if "amount_per_kg" in t:
        amount, basis = t["amount_per_kg"], "per_kg"
    elif "amount" in t:
        amount, basis = t["amount"], t.get("basis", "fixed")
    else:
        raise ck.fail(f"{where}.amount", "a number (required: amount with basis, or amount_per_kg)")
    if basis not in DOSE_BASES:
        raise ck.fail(f"{where}.basis", "one of " + ", ".join(DOSE_BASES), basis)
    if amount <= 0:
        key = "amount_per_kg" if "amount_per_kg" in t else "amount"
        raise ck.fail(f"{where}.{key}", "a positive number", amount)
    if t.get("arm") and t["arm"] not in names:
        raise ck.fail(f"{where}.arm", "the name of an arm (" + ", ".join(names) + ")", t["arm"])
    return DoseRule(
        float(amount),
        t.get("unit", "cells/kg" if "amount_per_kg" in t else ""),
        t.get("per", "infusion" if "amount_per_kg" in t else "dose"),
        t.get("route", ""),
        t.get("arm", ""),
        basis,
    )


def _doses(raw: dict, ck: _Checker, names: list[str]) -> list[DoseRule]:
    """``[dose]`` (one rule) or ``[[doses]]`` (one per experimental arm, e.g. dose levels)."""
    if "dose" in raw and "doses" in raw:
        raise ck.fail("doses", "either [dose] or [[doses]], not both", "both given")
    if "doses" in raw:
        items = ck.array(raw, "doses")
        return [
            _dose(ck.table(d, "dose", f"doses[{i}]"), f"doses[{i}]", ck, names)
            for i, d in enumerate(items)
        ]
    if "dose" not in raw:  # optional: not every trial has a dosing rule to state
        return []
    return [_dose(ck.table(raw["dose"], "dose", "dose"), "dose", ck, names)]


SENSITIVITY_ANALYSES = ("multiple_imputation", "tipping_point")

#: the pre-specified analyses (``method``) the engine marks as primary, by endpoint type
#: (binary: the test ids of :data:`trial_analysis.binary.TEST_INFO`, read from there)
_METHODS = {"continuous": ("ancova", "mmrm"), "time_to_event": ("logrank", "cox")}


def endpoint_methods(endpoint_type: str) -> tuple[str, ...]:
    """The values ``method`` may take on an endpoint of ``endpoint_type``."""
    if endpoint_type == "binary":
        from .binary import TEST_INFO  # the one list of binary tests (imported when needed)

        return tuple(TEST_INFO)
    return _METHODS.get(endpoint_type, ())


def _sensitivity(t: dict, where: str, ck: _Checker) -> tuple[str, ...]:
    if "sensitivity" not in t:
        return SENSITIVITY_ANALYSES if t.get("role") == "primary" else ()
    for v in t["sensitivity"]:
        if v not in SENSITIVITY_ANALYSES:
            raise ck.fail(f"{where}.sensitivity", "a list of " + ", ".join(SENSITIVITY_ANALYSES), v)
    return tuple(t["sensitivity"])


_TTE_KEYS = ("unit", "data_unit", "event", "tau", "times", "digitised")


def _time_to_event(t: dict, where: str, ck: _Checker, arms: list[str]) -> dict[str, Any]:
    """The time-to-event declarations of an endpoint (``unit``, ``data_unit``, ``event``,
    ``tau``, ``times``, ``digitised``), checked; ``{}`` for other endpoint types.

    ``unit`` is the analysis unit (default ``days``); ``data_unit`` the unit of the data's
    times: ADTTE ``AVAL`` (default ``days``, ADaM's usual) or, for a ``digitised`` curve, its
    time axis (default ``unit``). ``tau`` and ``times`` are in ``unit``; ``times`` strictly
    increasing, ``tau`` > 0. ``digitised.curve`` / ``.at_risk`` are CSV files inside the trial
    folder (relative paths); ``digitised.total_events`` maps arm names to published events.
    """
    given = [k for k in _TTE_KEYS if k in t]
    if t["type"] != "time_to_event":
        if given:
            raise ck.fail(f"{where}.{given[0]}", "a key of time-to-event endpoints only", t["type"])
        return {}
    units = ", ".join(TIME_UNITS)
    for k in ("unit", "data_unit"):
        if k in t and t[k] not in TIME_UNITS:
            raise ck.fail(f"{where}.{k}", f"a time unit: one of {units}", t[k])
    unit = t.get("unit", "days")
    if "tau" in t and not t["tau"] > 0:
        raise ck.fail(f"{where}.tau", f"a positive RMST truncation time (in {unit})", t["tau"])
    times = [float(x) for x in t.get("times", ())]
    if any(x <= 0 for x in times) or any(b <= a for a, b in itertools.pairwise(times)):
        raise ck.fail(
            f"{where}.times", f"strictly increasing positive times (in {unit})", t["times"]
        )
    dig = None
    if "digitised" in t:
        d = ck.table(t["digitised"], "digitised", f"{where}.digitised")
        for k in ("curve", "at_risk"):
            p = d[k].replace("\\", "/")
            if not p or p.startswith("/") or ":" in p or ".." in p.split("/"):
                raise ck.fail(
                    f"{where}.digitised.{k}",
                    "a CSV file inside the trial folder (a relative path without '..')",
                    d[k],
                )
        totals = []
        for arm, v in d.get("total_events", {}).items():
            if arm not in arms:
                raise ck.fail(
                    f"{where}.digitised.total_events.{arm}",
                    "an arm name (" + ", ".join(arms) + ")",
                    arm,
                )
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ck.fail(
                    f"{where}.digitised.total_events.{arm}", "a whole number of events >= 0", v
                )
            totals.append((arm, v))
        dig = Digitised(d["curve"], d["at_risk"], tuple(totals), d.get("percent", False))
    default_data = t.get("unit", "days") if dig is not None else "days"
    return dict(
        unit=unit,
        data_unit=t.get("data_unit", default_data),
        event=t.get("event", ""),
        tau=float(t["tau"]) if "tau" in t else None,
        times=tuple(times),
        digitised=dig,
    )


def _endpoint_time(
    t: dict, visits: list[Visit], fu: float, where: str, ck: _Checker
) -> tuple[float, float | None]:
    """(week, AVISITN) of an endpoint given by ``week`` or by ``visit`` (an AVISITN)."""
    week_numbered = all(v.avisitn == v.weeks for v in visits)
    if "visit" in t:
        hit = [v for v in visits if v.avisitn == t["visit"]]
        if not hit:
            raise ck.fail(
                f"{where}.visit",
                "a scheduled visit number " + str([f"{v.avisitn:g}" for v in visits]),
                t["visit"],
            )
        if "week" in t and abs(hit[0].weeks - t["week"]) > 1e-9:
            raise ck.fail(f"{where}.week", f"the week of visit {t['visit']:g} ({hit[0].weeks:g})")
        w = hit[0].weeks
        return (int(w) if w == int(w) else w), float(t["visit"])
    if "week" not in t:
        raise ck.fail(f"{where}.week", "a number (required: week or visit)")
    week = t["week"]
    if not 0 < week <= fu:
        raise ck.fail(f"{where}.week", f"a week in 1..{fu} (follow-up)", week)
    hit = [v for v in visits if abs(v.weeks - week) < 1e-9]
    if not hit:
        raise ck.fail(
            f"{where}.week", "a scheduled visit week " + str([v.weeks for v in visits]), week
        )
    return week, (None if week_numbered else hit[0].avisitn)


def evaluate_rule(
    components: Iterable[Component], measure: Callable[[str, str], np.ndarray]
) -> np.ndarray:
    """Evaluate a binary endpoint's rule (its components, all of which must hold).

    ``measure(parameter, measure)`` returns the values (NaN where unknown) of one component's
    parameter and measure (``value``, ``chg`` or ``pchg``) per patient. The result is 1 where
    every component holds, 0 where one is known to fail, NaN otherwise (a patient whose known
    components hold but one is missing is not evaluable). The one evaluator of the rule,
    used on patient data, synthetic cohorts and simulated trials.

    Examples
    --------
    >>> import numpy as np
    >>> from trial_analysis.design import Component, evaluate_rule
    >>> rule = [Component("HBA1C", "value", "<", 7.0), Component("INSDOSE", "pchg", "<=", -50)]
    >>> data = {"HBA1C": np.array([6.5, 6.5, 8.0, np.nan]), "INSDOSE": np.array([-60, -10, -60, -60])}
    >>> evaluate_rule(rule, lambda p, m: data[p].astype(float))
    array([ 1.,  0.,  0., nan])
    """
    ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
    any_false = None
    all_true = None
    for c in components:
        v = measure(c.parameter, c.measure)
        known = ~np.isnan(v)
        with np.errstate(invalid="ignore"):
            holds = ops[c.operator](v, c.threshold) & known
        fails = known & ~holds
        any_false = fails if any_false is None else (any_false | fails)
        all_true = holds if all_true is None else (all_true & holds)
    out = np.full(len(all_true), np.nan)
    out[all_true] = 1.0
    out[any_false] = 0.0
    return out
