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
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._paths import trial_dir
from ._validate import check_positive
from .errors import DesignError
from .results import Result, format_sci

__all__ = [
    "Arm",
    "Component",
    "Criterion",
    "DoseRule",
    "Endpoint",
    "Parameter",
    "Provenance",
    "TrialDesign",
    "load_design",
]

PROVENANCE_LABELS = ("published", "registry", "secondary", "derived", "assumed", "user")
ARM_ROLES = ("experimental", "control")
ENDPOINT_TYPES = ("binary", "continuous")
MEASURES = ("value", "chg", "pchg")  # AVAL, CHG = AVAL - BASE, PCHG = 100 * CHG / BASE
OPERATORS = ("<", "<=", ">", ">=")


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


@dataclass(frozen=True)
class DoseRule:
    """Weight-based dosing: ``amount_per_kg`` (e.g. cells/kg) per infusion."""

    amount_per_kg: float
    unit: str = "cells/kg"
    per: str = "infusion"
    route: str = ""
    arm: str = ""

    def cell_dose(self, weight_kg: float) -> float:
        """Amount for one infusion at body weight ``weight_kg`` (e.g. cells per infusion)."""
        return self.amount_per_kg * check_positive("weight_kg", weight_kg)


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
class Endpoint:
    """An endpoint; binary endpoints may be composites of :class:`Component` conditions."""

    id: str
    label: str
    role: str
    type: str
    week: int
    parameter: str = ""
    measure: str = "value"
    components: tuple[Component, ...] = ()
    #: analysis declarations read by the reanalysis engine (all optional)
    population: str = ""  # population of the patient-level analyses (default: the IPD's ITT)
    covariates: tuple[str, ...] = ()  # adjustment covariates (ADSL columns or BASE_<PARAMCD>)
    strata: tuple[str, ...] = ()  # randomisation strata (ADSL columns)
    method: str = ""  # the pre-specified (primary) analysis, e.g. "fisher", "ancova", "mmrm"
    negate: bool = False  # analyse -measure (a reduction reported as a positive number)
    #: published.csv quantities of this endpoint by role: "percent" (binary), "level" (means
    #: and SDs of the parameter by visit), "change" (mean change, between-arm p); default the id
    published: tuple[tuple[str, str], ...] = ()

    def published_quantity(self, role: str) -> str | None:
        """The ``published.csv`` quantity holding this endpoint's numbers of ``role``."""
        d = dict(self.published)
        if role in d:
            return d[role]
        default = "percent" if self.type == "binary" else "change"
        return self.id if role == default else None


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
    dose: DoseRule
    infusion_weeks: tuple[int, ...]
    visit_weeks: tuple[int, ...]
    follow_up_weeks: int
    parameters: tuple[Parameter, ...]
    eligibility: tuple[Criterion, ...]
    endpoints: tuple[Endpoint, ...]
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False)
    info: Mapping[str, str] = field(default_factory=dict, compare=False)
    source_file: str = ""
    sha256: str = ""

    # -- convenience ---------------------------------------------------------------------
    def cell_dose(self, weight_kg: float) -> float:
        """Cells (or dose units) per infusion at ``weight_kg``: ``amount_per_kg * weight_kg``."""
        return self.dose.cell_dose(weight_kg)

    @property
    def n_randomised(self) -> int:
        return sum(a.n_randomised for a in self.arms)

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
        return f"{self.short_title} [{self.registration}]"

    def to_frame(self) -> pd.DataFrame:
        rows: list[tuple[str, str, str]] = []

        def add(item: str, value: Any, key: str) -> None:
            p = self.provenance_of(key)
            rows.append((item, str(value), p.label if p else ""))

        add("Design", self.info.get("design", ""), "trial")
        for a in self.arms:
            add(f"Arm: {a.name} ({a.role})", f"n = {a.n_randomised} randomised", "arms")
        d = self.dose
        add("Dose", f"{format_sci(d.amount_per_kg)} {d.unit} per {d.per}, {d.route}", "dose")
        add("Infusion weeks", ", ".join(map(str, self.infusion_weeks)), "schedule.infusion_weeks")
        add("Visit weeks", ", ".join(map(str, self.visit_weeks)), "schedule.visit_weeks")
        add("Follow-up", f"{self.follow_up_weeks} weeks", "schedule.follow_up_weeks")
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
        """A one-line text timeline: ``I`` infusion, ``V`` visit, ``|`` end of follow-up."""
        scale = width / max(self.follow_up_weeks, 1)
        line = ["-"] * (width + 1)
        for w in self.visit_weeks:
            line[round(w * scale)] = "V"
        for w in self.infusion_weeks:
            line[round(w * scale)] = "I"
        ticks = [" "] * (width + 8)
        for w in sorted(set(self.visit_weeks) | set(self.infusion_weeks) | {self.follow_up_weeks}):
            s = str(w)
            pos = round(w * scale)
            if all(ticks[pos + i] == " " for i in range(len(s))):
                ticks[pos : pos + len(s)] = s
        return (
            "week "
            + "".join(line)
            + "\n     "
            + "".join(ticks).rstrip()
            + "\n     I = infusion (and visit), V = visit"
        )

    def summary(self) -> str:
        """Readable multi-line summary: arms, dosing, schedule timeline, endpoints."""
        lines = [self.title_line, "=" * len(self.title_line), self.citation, ""]
        lines.append(f"Design: {self.info.get('design', '')}, phase {self.info.get('phase', '')}")
        lines.append("Arms:")
        lines += [
            f"  - {a.name} ({a.role}): n = {a.n_randomised} randomised. {a.description}"
            for a in self.arms
        ]
        d = self.dose
        dp = self.provenance_of("dose")
        lines.append(
            f"Dosing: {format_sci(d.amount_per_kg)} {d.unit} per {d.per}, {d.route}, at weeks "
            + ", ".join(map(str, self.infusion_weeks))
            + (f"  [{dp.label}]" if dp else "")
        )
        lines.append(f"Follow-up: {self.follow_up_weeks} weeks. Schedule:")
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

_TYPES = {
    "str": (str,),
    "int": (int,),
    "number": (int, float),
    "list[int]": (list,),
    "list[str]": (list,),
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
        "amount_per_kg": ("number", True),
        "unit": ("str", False),
        "per": ("str", False),
        "route": ("str", False),
        "arm": ("str", False),
    },
    "schedule": {
        "infusion_weeks": ("list[int]", True),
        "visit_weeks": ("list[int]", True),
        "follow_up_weeks": ("int", True),
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
        "week": ("int", True),
        "parameter": ("str", False),
        "measure": ("str", False),
        "components": ("list[table]", False),
        "population": ("str", False),
        "covariates": ("list[str]", False),
        "strata": ("list[str]", False),
        "method": ("str", False),
        "negate": ("bool", False),
        "published": ("table", False),
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
    "schedule",
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
            if ok and typ == "list[table]":
                ok = all(isinstance(x, dict) for x in v)
            if not ok:
                raise self.fail(k, f"a {typ}", v)
            out[key] = v
        return out

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
        arms.append(Arm(t["name"], t["role"], t["n_randomised"], t.get("description", "")))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ck.fail("arms.name", "unique arm names", names)
    roles = [a.role for a in arms]
    if roles.count("control") != 1 or roles.count("experimental") < 1:
        raise ck.fail(
            "arms.role", "exactly one 'control' arm and at least one 'experimental' arm", roles
        )

    if "dose" not in raw:
        raise ck.fail("dose", "a [dose] table (required section is missing)")
    dt = ck.table(raw["dose"], "dose", "dose")
    if dt["amount_per_kg"] <= 0:
        raise ck.fail("dose.amount_per_kg", "a positive number", dt["amount_per_kg"])
    if dt.get("arm") and dt["arm"] not in names:
        raise ck.fail("dose.arm", "the name of an arm (" + ", ".join(names) + ")", dt["arm"])
    dose = DoseRule(**dt)

    if "schedule" not in raw:
        raise ck.fail("schedule", "a [schedule] table (required section is missing)")
    st = ck.table(raw["schedule"], "schedule", "schedule")
    fu = st["follow_up_weeks"]
    if fu < 1:
        raise ck.fail("schedule.follow_up_weeks", "a whole number of weeks >= 1", fu)
    for key in ("infusion_weeks", "visit_weeks"):
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
    if 0 not in st["visit_weeks"]:
        raise ck.fail("schedule.visit_weeks", "a baseline visit at week 0", st["visit_weeks"])

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
        if not 0 < t["week"] <= fu:
            raise ck.fail(f"{where}.week", f"a week in 1..{fu} (follow-up)", t["week"])
        if t["week"] not in st["visit_weeks"]:
            raise ck.fail(
                f"{where}.week", "a scheduled visit week " + str(st["visit_weeks"]), t["week"]
            )
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
                t["week"],
                t.get("parameter", ""),
                t.get("measure", "value"),
                tuple(comps),
                population=t.get("population", ""),
                covariates=tuple(t.get("covariates", ())),
                strata=tuple(t.get("strata", ())),
                method=t.get("method", ""),
                negate=t.get("negate", False),
                published=_published_roles(ck, t.get("published", {}), where),
            )
        )

    prov = {}
    prov_raw = raw.get("provenance", {})
    if not isinstance(prov_raw, dict):
        raise ck.fail("provenance", 'a table of [provenance."<key>"] tables', prov_raw)
    for key, pr in prov_raw.items():
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
        infusion_weeks=tuple(st["infusion_weeks"]),
        visit_weeks=tuple(st["visit_weeks"]),
        follow_up_weeks=fu,
        parameters=tuple(params),
        eligibility=tuple(crit),
        endpoints=tuple(endpoints),
        provenance=prov,
        info=info,
        source_file=file,
        sha256=sha,
    )
