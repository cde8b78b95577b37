"""Loaders of the evidence base and of a clinic's claims (they load and validate; no analysis).

:func:`load_evidence` reads an evidence folder (``trials.csv``, ``outcomes.csv``,
``meta_analyses.csv`` and the optional ``alternatives.csv``; formats in
``data/evidence/README.md``) into an :class:`Evidence` object. :func:`load_claims` reads a
claims table (``claims.csv``, one row per claim with its verdict rule, and ``claims.toml``
beside it with each claim's parameters, the named trial sets and the clinic) into a
:class:`Claims` object; the rules are documented in ``docs/claims-verdicts.md``.

The analyses built on these objects live in :mod:`trial_analysis.meta.evidence` (between-arm
effect sizes, trial selection) and :mod:`trial_analysis.claims` (the audit); this module
imports neither.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._paths import data_dir
from .errors import ParameterError, PublishedDataError

__all__ = [
    "CLAIM_RULES",
    "CLAUSE_OPS",
    "LABELS",
    "VERDICTS",
    "Claims",
    "Evidence",
    "load_claims",
    "load_evidence",
]

LABELS = ("abstract", "full text", "secondary", "derived", "registry")

#: the verdict vocabulary (``if_none`` in claims.toml uses it)
VERDICTS = ("supported", "partly supported", "not supported", "not testable with public data")

#: ops of a clause ``[column, op, value]`` on trials.csv (docs/claims-verdicts.md)
CLAUSE_OPS = ("=", "!=", "<", "<=", ">", ">=", "between", "contains", "startswith", "in")

#: verdict rules: parameter -> kind ("str", "strs", "num", "int", "pair", "verdict",
#: "conditions", "set"); the first set is required, the second optional
_COMMON = {"note": "str", "trials": "set"}
CLAIM_RULES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "pooled_range": (
        {"outcome": "str", "weeks": "pair", "range": "pair"},
        {"sensitivity_cell_type": "str", "population": "str", "note": "str"},
    ),
    "covariate_effect": (
        {"outcome": "str", "covariate": "str", "min_k": "int"},
        {"subgroup_outcomes": "str", "note": "str"},
    ),
    "between_arm_results": (
        {"outcomes": "strs", "label": "str", "min_trials": "int", "if_none": "verdict"},
        {"proxy": "strs", "proxy_label": "str", "published_pooled": "str", **_COMMON},
    ),
    "findings": (
        {"outcomes": "strs", "label": "str"},
        {"cell_type": "str", "published_pooled": "str", **_COMMON},
    ),
    "longest_significant": (
        {"outcomes": "strs", "weeks": "pair"},
        {"label": "str", "wording_outcomes": "strs", **_COMMON},
    ),
    "trial_conditions": (
        {"conditions": "conditions"},
        {
            "scope": "str",
            "among": "str",
            "outcomes": "strs",
            "describe": "strs",
            "unrecorded": "strs",
            "list_by": "str",
            **_COMMON,
        },
    ),
    "not_testable": ({"reason": "str"}, {"note": "str"}),
}

_FILES = {
    "trials": (
        "trial_id",
        "short",
        "year",
        "population",
        "randomised",
        "controlled",
        "overlap_group",
        "include_default",
        "label",
        "url",
    ),
    "outcomes": (
        "trial_id",
        "outcome",
        "week",
        "arm",
        "statistic",
        "relation",
        "value",
        "unit",
        "finding",
        "label",
        "source",
        "note",
    ),
    "meta_analyses": (
        "ma_id",
        "citation",
        "comparison",
        "outcome",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "label",
        "url",
    ),
}
_ALTERNATIVES = ("trial_id", "outcome", "week", "use", "reason", "source")
#: how an alternative input is formed (alternatives.csv ``use``)
ALTERNATIVE_USES = ("means",)
_CLAIMS = ("id", "claim", "rule", "testable_as", "source")


@dataclass(frozen=True, eq=False)
class Evidence:
    """The evidence tables (never modified in place by the toolkit).

    ``alternatives`` lists, per study and outcome, an alternative input for a sensitivity
    analysis (``use = "means"``: the difference of the published baseline and follow-up means
    instead of the reported mean changes) with its reason and source.
    """

    trials: pd.DataFrame
    outcomes: pd.DataFrame
    meta_analyses: pd.DataFrame
    source: str
    alternatives: pd.DataFrame = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.alternatives is None:
            object.__setattr__(self, "alternatives", pd.DataFrame(columns=list(_ALTERNATIVES)))
        # lookup tables built once: value() and trial() are called many times by the audit
        o = self.outcomes
        index = {}
        for t, oc, w, a, st, v in zip(
            o.trial_id, o.outcome, o.week, o.arm, o.statistic, o.value, strict=True
        ):
            index[(t, oc, None if np.isnan(w) else float(w), a, st)] = float(v)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_trials", {r.trial_id: r for _, r in self.trials.iterrows()})

    def value(self, trial: str, outcome: str, week: Any, arm: str, statistic: str) -> float:
        """One number (NaN when the row is absent or its value is missing)."""
        wk = None if week is None else float(week)
        return self._index.get((trial, outcome, wk, arm, statistic), float("nan"))  # type: ignore[attr-defined]

    def trial(self, trial_id: str) -> pd.Series:
        """The row of ``trials.csv`` for ``trial_id``."""
        try:
            return self._trials[trial_id]  # type: ignore[attr-defined]
        except KeyError:
            raise ParameterError(
                "trial", "a trial_id in trials.csv: " + ", ".join(self.trials.trial_id), trial_id
            ) from None


@dataclass(frozen=True, eq=False)
class Claims:
    """A clinic's claims: one row per claim and the parameters of its verdict rule.

    Attributes
    ----------
    table : pandas.DataFrame
        ``id, claim, rule, testable_as, source`` (``claims.csv``), in file order.
    params : mapping of str -> mapping
        Each claim's rule parameters (``claims.toml``, validated against
        :data:`CLAIM_RULES`).
    sets : mapping of str -> tuple of clauses
        Named trial sets (``[sets]``); ``"all"`` is every trial.
    clinic : mapping of str -> str
        ``name`` (as the data file names it), ``page`` and ``source``.
    source : str
        The claims file.
    """

    table: pd.DataFrame
    params: Mapping[str, Mapping[str, Any]]
    sets: Mapping[str, tuple]
    clinic: Mapping[str, str]
    source: str

    @property
    def clinic_name(self) -> str:
        """The clinic's name as the claims file gives it (empty when not given)."""
        return str(self.clinic.get("name", ""))

    def rule(self, claim_id: str) -> tuple[str, Mapping[str, Any]]:
        """The rule name and parameters of one claim."""
        row = self.table[self.table.id == claim_id]
        if row.empty:
            raise ParameterError("claim", "an id in " + self.source, claim_id)
        return str(row.rule.iloc[0]), self.params.get(claim_id, MappingProxyType({}))


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except OSError as exc:
        raise PublishedDataError(f"{path}: cannot read the file ({exc.strerror})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PublishedDataError(f"{path}, row 1: missing column(s) {', '.join(missing)}")
    return df


def _num(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    out = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
    bad = df[col].ne("") & out.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PublishedDataError(
            f"{path}, row {i + 2}, column {col}: expected a number, got {df[col].iloc[i]!r}"
        )
    return out


def _first_bad(path: Path, df: pd.DataFrame, bad: pd.Series, col: str, expected: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PublishedDataError(
            f"{path}, row {i + 2}, column {col}: expected {expected}, got {df[col].iloc[i]!r}"
        )


def load_evidence(path: str | Path | None = None) -> Evidence:
    """Load and validate the evidence tables.

    Parameters
    ----------
    path : str or Path, optional
        Folder with ``trials.csv``, ``outcomes.csv``, ``meta_analyses.csv`` and optionally
        ``alternatives.csv`` (default: the shipped ``data/evidence``).

    Returns
    -------
    Evidence

    Raises
    ------
    PublishedDataError
        Naming the file, row and column of a malformed entry (unknown label, non-numeric
        value, outcome row of an unknown trial, duplicate number, unknown alternative).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ev = ta.evidence.load_evidence()
    >>> ev.value("zang2022", "hba1c_change", 48, "MSC - control", "p_value")
    0.0081
    """
    folder = Path(path) if path is not None else data_dir() / "evidence"
    tabs = {name: _read(folder / f"{name}.csv", req) for name, req in _FILES.items()}
    t, o, m = tabs["trials"], tabs["outcomes"], tabs["meta_analyses"]
    for name, df in (("trials", t), ("outcomes", o), ("meta_analyses", m)):
        _first_bad(
            folder / f"{name}.csv",
            df,
            ~df["label"].isin(LABELS),
            "label",
            "one of " + ", ".join(LABELS),
        )
    for col in (
        "year",
        "n_infusions",
        "infusion_interval_weeks",
        "n_randomised",
        "follow_up_weeks",
        "elig_hba1c_min",
        "elig_hba1c_max",
        "elig_duration_max_years",
    ):
        if col in t:
            t[col] = _num(t, col, folder / "trials.csv")
    for col in ("week", "value"):
        o[col] = _num(o, col, folder / "outcomes.csv")
    for col in ("estimate", "ci_low", "ci_high", "i2", "k_studies", "n_participants"):
        if col in m:
            m[col] = _num(m, col, folder / "meta_analyses.csv")
    unknown = ~o.trial_id.isin(t.trial_id)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise PublishedDataError(
            f"{folder / 'outcomes.csv'}, row {i + 2}, column trial_id: "
            f"{o.trial_id.iloc[i]!r} is not in trials.csv"
        )
    key = ["trial_id", "outcome", "week", "arm", "statistic"]
    dup = o.duplicated(key, keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise PublishedDataError(
            f"{folder / 'outcomes.csv'}, row {i + 2}: duplicate number for "
            + "/".join(str(o[c].iloc[i]) for c in key)
        )
    for g, grp in t[t.overlap_group != ""].groupby("overlap_group"):
        if (grp.include_default == "Y").sum() != 1:
            raise PublishedDataError(
                f"{folder / 'trials.csv'}: overlap group {g!r} needs "
                "exactly one member with include_default = Y"
            )
    alt = None
    if (folder / "alternatives.csv").is_file():
        p = folder / "alternatives.csv"
        alt = _read(p, _ALTERNATIVES)
        _first_bad(p, alt, ~alt.trial_id.isin(t.trial_id), "trial_id", "a trial_id of trials.csv")
        _first_bad(
            p, alt, ~alt.use.isin(ALTERNATIVE_USES), "use", "one of " + ", ".join(ALTERNATIVE_USES)
        )
        _first_bad(p, alt, alt.reason.str.strip() == "", "reason", "the reason for the alternative")
        _first_bad(
            p, alt, alt.source.str.strip() == "", "source", "where the alternative comes from"
        )
        alt["week"] = _num(alt, "week", p)
        dup = alt.duplicated(["trial_id", "outcome", "week"], keep=False)
        _first_bad(p, alt, dup, "trial_id", "one alternative per trial, outcome and week")
    return Evidence(t, o, m, str(folder), alt)


# ----------------------------------------------------------------------------------- claims
def _claims_paths(path_or_name: str | Path | None) -> tuple[Path, Path]:
    if path_or_name is None:
        folder = data_dir() / "evidence"
    else:
        p = Path(path_or_name)
        if p.suffix in (".csv", ".toml"):
            return p.with_suffix(".csv"), p.with_suffix(".toml")
        if p.is_dir():
            folder = p
        elif len(p.parts) == 1 and (data_dir() / p).is_dir():
            folder = data_dir() / p
        else:
            raise ParameterError(
                "path_or_name",
                "a claims.csv/claims.toml file, a folder holding them, or the name of a "
                "folder in the shipped data/",
                str(path_or_name),
            )
    return folder / "claims.csv", folder / "claims.toml"


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check_clause(where: str, clause: Any) -> tuple:
    if not (isinstance(clause, list) and len(clause) == 3 and isinstance(clause[0], str)):
        raise PublishedDataError(f"{where}: expected a clause [column, op, value], got {clause!r}")
    col, op, val = clause
    if op not in CLAUSE_OPS:
        raise PublishedDataError(
            f"{where}: clause {clause!r}: op must be one of {', '.join(CLAUSE_OPS)}"
        )
    if op == "between" and not (
        isinstance(val, list) and len(val) == 2 and all(map(_is_num, val)) and val[0] <= val[1]
    ):
        raise PublishedDataError(f"{where}: clause {clause!r}: 'between' needs [low, high]")
    if op in ("<", "<=", ">", ">=") and not _is_num(val):
        raise PublishedDataError(f"{where}: clause {clause!r}: {op!r} needs a number")
    if op in ("contains", "startswith") and not isinstance(val, str):
        raise PublishedDataError(f"{where}: clause {clause!r}: {op!r} needs a string")
    if op == "in" and not isinstance(val, list):
        raise PublishedDataError(f"{where}: clause {clause!r}: 'in' needs a list")
    return (col, op, tuple(val) if isinstance(val, list) else val)


def _check_clauses(where: str, clauses: Any) -> tuple:
    if not isinstance(clauses, list) or not clauses:
        raise PublishedDataError(f"{where}: expected a non-empty list of clauses")
    return tuple(_check_clause(f"{where}[{i}]", c) for i, c in enumerate(clauses))


def _check_param(where: str, kind: str, v: Any, sets: Mapping[str, Any]) -> Any:
    def bad(expected: str) -> PublishedDataError:
        return PublishedDataError(f"{where}: expected {expected}, got {v!r}")

    if kind == "str":
        if not isinstance(v, str):
            raise bad("a string")
        return v
    if kind == "strs":
        if not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
            raise bad("a non-empty list of strings")
        return tuple(v)
    if kind == "int":
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            raise bad("a positive integer")
        return v
    if kind == "pair":
        if not (isinstance(v, list) and len(v) == 2 and all(map(_is_num, v)) and v[0] <= v[1]):
            raise bad("[low, high] with low <= high")
        return (float(v[0]), float(v[1]))
    if kind == "verdict":
        if v not in VERDICTS:
            raise bad("one of " + ", ".join(repr(x) for x in VERDICTS))
        return v
    if kind == "set":
        if v != "all" and v not in sets:
            raise bad("'all' or a set of [sets]: " + ", ".join(sets))
        return v
    if kind == "conditions":
        if not (isinstance(v, list) and v and all(isinstance(c, dict) for c in v)):
            raise bad("a non-empty array of tables [[<id>.conditions]]")
        out = []
        for i, c in enumerate(v):
            w = f"{where}[{i}]"
            unknown = set(c) - {"label", "where", "near", "describe"}
            if unknown:
                raise PublishedDataError(f"{w}: unknown key(s) {', '.join(sorted(unknown))}")
            if not isinstance(c.get("label"), str) or "where" not in c:
                raise PublishedDataError(f"{w}: needs a label (string) and where (clauses)")
            cond = {"label": c["label"], "where": _check_clauses(f"{w}.where", c["where"])}
            if "near" in c:
                cond["near"] = _check_clauses(f"{w}.near", c["near"])
            if "describe" in c:
                cond["describe"] = _check_param(f"{w}.describe", "strs", c["describe"], sets)
            out.append(MappingProxyType(cond))
        return tuple(out)
    raise AssertionError(kind)  # pragma: no cover - the schema names only the kinds above


def load_claims(path_or_name: str | Path | None = None) -> Claims:
    """Load and validate a clinic's claims (``claims.csv`` and ``claims.toml`` beside it).

    Parameters
    ----------
    path_or_name : str or Path, optional
        ``claims.csv`` (or ``claims.toml``), a folder holding both, or the name of a folder of
        the shipped ``data/``. Default: the shipped ``data/evidence``.

    Returns
    -------
    Claims

    Raises
    ------
    PublishedDataError
        Naming the file, row or claim and parameter of a malformed entry (unknown rule,
        missing or unknown parameter, malformed clause, duplicate id).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> cl = ta.evidence.load_claims()
    >>> cl.clinic_name, list(cl.table.id[:2])
    ('BioGenesis', ['C1', 'C2'])
    """
    csv, toml = _claims_paths(path_or_name)
    tab = _read(csv, _CLAIMS)
    _first_bad(csv, tab, tab.id.str.strip() == "", "id", "a claim id")
    _first_bad(csv, tab, tab.id.duplicated(), "id", "a unique claim id")
    _first_bad(
        csv, tab, ~tab.rule.isin(list(CLAIM_RULES)), "rule", "one of " + ", ".join(CLAIM_RULES)
    )
    try:
        raw = tomllib.loads(toml.read_text(encoding="utf-8")) if toml.is_file() else {}
    except tomllib.TOMLDecodeError as exc:
        raise PublishedDataError(f"{toml}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishedDataError(f"{toml}: cannot read the file ({exc})") from None
    clinic = raw.pop("clinic", {})
    raw_sets = raw.pop("sets", {})
    if not isinstance(clinic, dict) or not all(isinstance(v, str) for v in clinic.values()):
        raise PublishedDataError(f"{toml}, [clinic]: expected string fields (name, page, source)")
    if not isinstance(raw_sets, dict):
        raise PublishedDataError(f"{toml}, [sets]: expected named lists of clauses")
    sets = {k: _check_clauses(f"{toml}, sets.{k}", v) for k, v in raw_sets.items()}
    extra = sorted(set(raw) - set(tab.id))
    if extra:
        raise PublishedDataError(f"{toml}: table(s) {', '.join(extra)} have no row in {csv.name}")
    params: dict[str, Mapping[str, Any]] = {}
    for i, r in enumerate(tab.itertuples()):
        required, optional = CLAIM_RULES[r.rule]
        given = raw.get(r.id, {})
        where = f"{toml}, [{r.id}] (rule {r.rule}, {csv.name} row {i + 2})"
        if not isinstance(given, dict):
            raise PublishedDataError(f"{where}: expected a table")
        missing = sorted(set(required) - set(given))
        unknown = sorted(set(given) - set(required) - set(optional))
        if missing:
            raise PublishedDataError(f"{where}: missing parameter(s) {', '.join(missing)}")
        if unknown:
            raise PublishedDataError(
                f"{where}: unknown parameter(s) {', '.join(unknown)} (allowed: "
                + ", ".join(sorted({**required, **optional}))
                + ")"
            )
        kinds = {**required, **optional}
        params[r.id] = MappingProxyType(
            {k: _check_param(f"{where}, {k}", kinds[k], v, sets) for k, v in given.items()}
        )
    return Claims(
        tab,
        MappingProxyType(params),
        MappingProxyType(sets),
        MappingProxyType(dict(clinic)),
        str(csv),
    )
