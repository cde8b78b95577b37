"""Simulation scenarios: a whole future trial as a TOML file or a Python object.

A scenario (``format_version = 2``, documented in ``docs/scenarios.md``) declares the arms
(2 to 6, each experimental arm compared with the control), the endpoints with the model that
generates them, the dropout mechanism and the analyses applied to every simulated trial::

    format_version = 2

    [scenario]
    name = "Next trial"
    trial = "<trial>"           # optional: arm names and endpoint definitions from its design
    null = false                # true: every arm generated as the control (type I error)

    [arms]
    names = ["Drug", "Placebo"]
    n = [100, 100]              # or: n_total = 200 and allocation = [1, 1]
    control = "Placebo"         # default: the design's control, else the arm named like one

    [model]
    kind = "parametric"         # the endpoints below; "synthetic": the trial's generative model
    params = {}                 # synthetic: overrides of the generative model's parameters

    [endpoints.hba1c]           # a continuous endpoint measured at visits
    type = "continuous"
    parameter = "HBA1C"         # the name binary rules use (default: the id)
    visits = [0, 12, 24]        # times; the first is the baseline
    mean = { Drug = [9.0, 8.4, 8.0], Placebo = [9.0, 8.8, 8.7] }
    # or: baseline_mean = 9.0, change = { Drug = [-0.6, -1.0], ... }, change_scale = "chg"
    sd = [1.2, 1.1, 1.1]        # one number, one per visit, or a table per arm
    correlation = { structure = "ar1", rho = 0.6 }   # "cs", "ar1", "toeplitz", "un"
    outcome = "chg"             # what the analyses analyse: "value", "chg" or "pchg"

    [endpoints.responder]       # binary: a rate per arm, or a rule on continuous endpoints
    type = "binary"
    components = [{ parameter = "HBA1C", measure = "value", operator = "<", threshold = 7.0 }]
    visit = 24                  # default: the last visit of the endpoints the rule uses
    missing = "failure"         # a dropout counts as a non-responder, or "complete_case"

    [endpoints.os]              # time to event: piecewise-exponential arms
    type = "time_to_event"
    median = { Drug = 16.0, Placebo = 12.0 }   # or hazard = { Drug = [...], ... } with cuts
    accrual_time = 12
    events = 150                # or analysis_time = 36, or follow_up = 24 (after accrual)
    dropout_hazard = 0.01

    [dropout]                   # monotone dropout at the visits of one continuous endpoint
    mechanism = "MAR"           # "MCAR", "MAR" or "MNAR"
    rate = 0.15                 # by the last visit (number or per arm), or by_visit = [...]
    slope = 0.5                 # MAR/MNAR: log-odds per SD of the last observed value
    delta = 0.5                 # MNAR: shift of the values after dropout (per arm or one)
    endpoint = "hba1c"          # default: the first continuous endpoint

    [[analyses]]
    endpoint = "hba1c"
    method = "mmrm"             # binary: a test of binary.pvalue_grid; continuous: "ancova",
    covariance = "unstructured" # "mmrm", "mi"; time to event: "logrank", "cox", "rmst"
    df = "satterthwaite"
    alpha = 0.05

    [sequential]                # optional: interim analyses (see power.group_sequential)
    looks = 3

Every key is checked: a typo raises :class:`~trial_analysis.errors.ScenarioError` naming the
file and the key (with the closest known key). Format version 1 (one trial's three named
endpoints) is not read any more: its files are refused with a pointer to the conversion.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, special

from .. import limits
from .._validate import CONTROL_ARM_RE
from ..errors import ScenarioError
from .exact import EXACT_TESTS

__all__ = [
    "ENDPOINT_TYPES",
    "Analysis",
    "BinaryEndpoint",
    "ContinuousEndpoint",
    "Dropout",
    "Scenario",
    "SurvivalEndpoint",
    "load_scenario",
]

FORMAT_VERSION = 2
ENDPOINT_TYPES = ("continuous", "binary", "time_to_event")
MEASURES = ("value", "chg", "pchg")
CORRELATIONS = ("un", "cs", "ar1", "toeplitz")
CONTINUOUS_METHODS = ("ancova", "mmrm", "mi")
SURVIVAL_METHODS = ("logrank", "cox", "rmst")
MI_METHODS = ("mar", "j2r", "cr")
MODEL_KINDS = ("parametric", "synthetic")
MECHANISMS = ("MCAR", "MAR", "MNAR")
BINARY_MISSING = ("failure", "complete_case")
OPERATORS = ("<", "<=", ">", ">=")
MAX_ARMS = 6

# ---------------------------------------------------------------------------------------
# the declared parts
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContinuousEndpoint:
    """A continuous endpoint at ``visits`` (``visits[0]`` the baseline).

    Per arm, the vector ``X = (X_0, ..., X_V)`` is multivariate normal with means ``mean[arm]``,
    SDs ``sd[arm]`` and correlation ``corr``. ``scale`` says what the post-baseline entries
    are: values (``"value"``), changes from baseline (``"chg"``: value = ``X_0 + X_j``) or
    percentage changes (``"pchg"``: value = ``X_0 (1 + X_j / 100)``). ``outcome`` is the
    measure the analyses analyse (baseline value as covariate).
    """

    id: str
    parameter: str
    visits: tuple[float, ...]
    mean: Mapping[str, np.ndarray]
    sd: Mapping[str, np.ndarray]
    corr: np.ndarray
    scale: str = "value"
    outcome: str = "chg"
    type: str = "continuous"

    def draw(self, arm: str, n_rep: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Values (shape ``(n_rep, n, visits)``) of ``n`` patients of ``arm`` in ``n_rep`` trials."""
        chol = np.linalg.cholesky(self.corr)
        z = rng.standard_normal((n_rep, n, len(self.visits))) @ chol.T
        x = self.mean[arm] + self.sd[arm] * z
        return to_values(x, self.scale)

    def cov(self, arm: str) -> np.ndarray:
        s = self.sd[arm]
        return self.corr * s[:, None] * s[None, :]


def to_values(x: np.ndarray, scale: str) -> np.ndarray:
    """Model-scale vectors (last axis: baseline, then visits) to values."""
    if scale == "chg":
        x = x.copy()
        x[..., 1:] += x[..., :1]
    elif scale == "pchg":
        x = x.copy()
        x[..., 1:] = x[..., :1] * (1 + x[..., 1:] / 100)
    return x


def measure_of(values: np.ndarray, j: int, measure: str) -> np.ndarray:
    """``value``, ``chg`` or ``pchg`` at visit index ``j`` from values (last axis = visits)."""
    v = values[..., j]
    if measure == "value":
        return v
    b = values[..., 0]
    if measure == "chg":
        return v - b
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * (v - b) / b


@dataclass(frozen=True)
class BinaryEndpoint:
    """A binary endpoint: a rate per arm, or a rule (design :class:`~.design.Component`
    conditions, all of which must hold) on continuous endpoints at ``visit``."""

    id: str
    rate: Mapping[str, float] | None
    components: tuple[Any, ...] = ()
    visit: float | None = None
    missing: str = "failure"
    type: str = "binary"


@dataclass(frozen=True)
class SurvivalEndpoint:
    """A time-to-event endpoint with piecewise-exponential hazards per arm (see
    :func:`~trial_analysis.power.simulate_survival`, whose trial generator it uses)."""

    id: str
    cuts: tuple[float, ...]
    hazard: Mapping[str, np.ndarray]
    accrual_time: float = 0.0
    analysis_time: float | None = None
    events: int | None = None
    dropout_hazard: float = 0.0
    tau: float | None = None
    type: str = "time_to_event"


@dataclass(frozen=True)
class Dropout:
    """Monotone dropout at the post-baseline visits of continuous endpoint ``endpoint``.

    ``hazard[arm][j]``: probability of leaving before post-baseline visit ``j`` having been
    present at the previous one. MAR/MNAR: log-odds ``a_j + slope * z``, ``z`` the last
    observed value standardised by the arm's model mean and SD at that visit, with ``a_j``
    such that the average over ``z ~ N(0, 1)`` is ``hazard[arm][j]`` (the realised rate is
    close to it, not equal: those still present at a later visit are a selected group). MNAR: values
    after dropout are shifted by ``delta[arm]`` (unobserved; the truth of the analyses).
    """

    mechanism: str
    hazard: Mapping[str, np.ndarray]
    slope: Mapping[str, float]
    delta: Mapping[str, float]
    endpoint: str = ""

    def active(self) -> bool:
        return any(np.any(h > 0) for h in self.hazard.values())


@dataclass(frozen=True)
class Analysis:
    """One analysis applied to every simulated trial (each experimental arm vs the control)."""

    name: str
    endpoint: str
    method: str
    alpha: float = 0.05
    alternative: str = "two-sided"
    margin: float = 0.0
    covariance: str = "unstructured"
    df: str = "satterthwaite"
    imputation: str = "j2r"
    m: int = 20
    multiplicity: str = ""  # a method of multiplicity.adjust across the comparisons
    weights: tuple[float, ...] | None = None  # graphical procedure
    transitions: tuple[tuple[float, ...], ...] | None = None
    # how each imputation draws the model's parameters (missing.impute): simulated dropout
    # is monotone, so the exact posterior draws apply and are about a hundred times faster
    draws: str = "monotone"

    @property
    def conf_level(self) -> float:
        """Level of the interval whose coverage is reported: 1 - alpha (two-sided) or
        1 - 2 alpha (one-sided)."""
        return 1 - self.alpha if self.alternative == "two-sided" else 1 - 2 * self.alpha


@dataclass(frozen=True)
class Scenario:
    """A validated simulation scenario (see the module docstring for the format).

    Build it with :func:`load_scenario` (file) or :meth:`from_dict` (mapping); derive
    variants with :meth:`with_overrides` (dotted keys, as in the TOML file) and the same
    scenario with no effect with :meth:`null`.
    """

    name: str
    arm_names: tuple[str, ...]
    n: tuple[int, ...]
    control: str
    endpoints: Mapping[str, Any]
    dropout: Dropout
    analyses: tuple[Analysis, ...]
    model_kind: str = "parametric"
    model_params: Mapping[str, Any] = field(default_factory=dict)
    trial: str = ""
    is_null: bool = False
    source: str = "<mapping>"
    sequential: Mapping[str, Any] | None = None
    adaptation: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- derived -------------------------------------------------------------------------
    @property
    def n_total(self) -> int:
        return sum(self.n)

    @property
    def n_by_arm(self) -> dict[str, int]:
        return dict(zip(self.arm_names, self.n, strict=True))

    @property
    def experimental(self) -> tuple[str, ...]:
        """The experimental arms, in order (each compared with :attr:`control`)."""
        return tuple(a for a in self.arm_names if a != self.control)

    def comparisons(self) -> list[str]:
        return [f"{a} vs {self.control}" for a in self.experimental]

    @property
    def visits(self) -> tuple[float, ...]:
        """Visits of the dropout endpoint (those of the first continuous endpoint)."""
        ep = self.endpoints.get(self.dropout.endpoint)
        return ep.visits if ep is not None else ()

    def designs(self) -> dict[str, Any]:
        """The group-sequential design of each analysis (``[sequential]`` scenarios), with the
        analysis's level: one-sided ``alpha`` for ``greater``/``less``, two-sided otherwise."""
        if self.sequential is None:
            return {}
        from .sequential import group_sequential

        return {
            a.name: group_sequential(
                alpha=a.alpha, sided=2 if a.alternative == "two-sided" else 1, **self.sequential
            )
            for a in self.analyses
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<mapping>") -> Scenario:
        return _parse(copy.deepcopy(dict(raw)), source)

    def with_overrides(self, overrides: Mapping[str, Any] | None = None, **kw: Any) -> Scenario:
        """A copy with dotted keys replaced, e.g. ``{"arms.n": [60, 60], "dropout.rate": 0.2,
        "endpoints.resp.rate.Drug": 0.15, "analyses.0.method": "boschloo"}``."""
        raw = copy.deepcopy(dict(self.raw))
        for dotted, value in {**(overrides or {}), **kw}.items():
            _set_dotted(raw, str(dotted), value, self.source)
        return _parse(raw, self.source)

    def null(self) -> Scenario:
        """The same scenario with no effect: every arm's endpoint and dropout parameters are
        the control arm's (the rejection rates are then type I errors)."""
        if self.is_null:
            return self
        c = self.control
        eps: dict[str, Any] = {}
        for k, ep in self.endpoints.items():
            if isinstance(ep, ContinuousEndpoint):
                eps[k] = replace(
                    ep,
                    mean=dict.fromkeys(self.arm_names, ep.mean[c]),
                    sd=dict.fromkeys(self.arm_names, ep.sd[c]),
                )
            elif isinstance(ep, BinaryEndpoint) and ep.rate is not None:
                eps[k] = replace(ep, rate=dict.fromkeys(self.arm_names, ep.rate[c]))
            elif isinstance(ep, SurvivalEndpoint):
                eps[k] = replace(ep, hazard=dict.fromkeys(self.arm_names, ep.hazard[c]))
            else:
                eps[k] = ep
        d = self.dropout
        drop = replace(
            d,
            hazard=dict.fromkeys(self.arm_names, d.hazard[c]),
            slope=dict.fromkeys(self.arm_names, d.slope[c]),
            delta=dict.fromkeys(self.arm_names, d.delta[c]),
        )
        if self.model_kind == "synthetic":
            raise ScenarioError(
                self.source,
                "scenario.null",
                "a parametric model (the null of a trial's generative model is not defined: "
                "set its per-arm parameters equal in model.params)",
            )
        return replace(self, endpoints=eps, dropout=drop, is_null=True)

    def model(self) -> Any:
        """The trial's generative model (``model.kind = "synthetic"``), else ``None``."""
        if self.model_kind == "parametric":
            return None
        from .. import synthetic

        key = json.dumps(self.model_params, sort_keys=True, default=str)
        try:
            m = _generative_model(synthetic.model_for, self.trial, key)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(
                self.source, "model.params", "parameters of the generative model", str(exc)
            ) from exc
        missing = [a for a in self.arm_names if a not in m.arms]
        if missing:
            raise ScenarioError(
                self.source,
                "arms.names",
                f"the arms of the trial's generative model {list(m.arms)}",
                list(self.arm_names),
            )
        return m

    def summary_rows(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            **{f"n_{a}": n for a, n in self.n_by_arm.items()},
            "model": self.model_kind,
            "dropout": self.dropout.mechanism,
        }


@lru_cache(maxsize=32)
def _generative_model(model_for: Any, trial: str, params_json: str) -> Any:
    # model_for may calibrate parameters to the published numbers: done once per process and
    # parameter set, not once per chunk
    return model_for(trial, **json.loads(params_json))


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario TOML file.

    Examples
    --------
    >>> from trial_analysis.power import load_scenario
    >>> from trial_analysis._paths import trial_dir
    >>> s = load_scenario(trial_dir("zang2022") / "scenario.toml")
    >>> s.arm_names, s.control
    (('UC-MSC', 'Placebo'), 'Placebo')
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(str(p), "(file)", "an existing scenario TOML file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ScenarioError(str(p), "(file)", "a readable scenario file", exc.strerror) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(p), "(file)", "UTF-8 text", f"undecodable byte at offset {exc.start}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(p), "(syntax)", "valid TOML", str(exc)) from None
    s = _parse(raw, str(p))
    return s.with_overrides(overrides) if overrides else s


# ---------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------

_SCHEMA: dict[str, set[str]] = {
    "": {
        "format_version",
        "scenario",
        "arms",
        "model",
        "dropout",
        "endpoints",
        "analyses",
        "sequential",
        "adaptation",
    },
    "adaptation": {"conditional_power", "n_min", "n_max", "theta", "sd", "promising_zone"},
    "sequential": {"looks", "information", "spending", "futility", "binding", "beta"},
    "scenario": {"name", "trial", "description", "null"},
    "arms": {"names", "n", "n_total", "allocation", "control"},
    "model": {"kind", "params"},
    "dropout": {
        "mechanism",
        "rate",
        "by_visit",
        "slope",
        "delta",
        "endpoint",
        "binary_missing",
    },
    "continuous": {
        "type",
        "parameter",
        "visits",
        "mean",
        "baseline_mean",
        "change",
        "change_scale",
        "sd",
        "correlation",
        "outcome",
    },
    "binary": {"type", "rate", "components", "visit", "missing"},
    "time_to_event": {
        "type",
        "median",
        "hazard",
        "cuts",
        "accrual_time",
        "analysis_time",
        "follow_up",
        "events",
        "dropout_hazard",
        "tau",
    },
    "correlation": {"structure", "rho", "matrix"},
    "components": {"parameter", "measure", "operator", "threshold"},
    "analyses": {
        "name",
        "endpoint",
        "method",
        "alpha",
        "alternative",
        "margin",
        "covariance",
        "df",
        "imputation",
        "draws",
        "m",
        "multiplicity",
        "weights",
        "transitions",
    },
}


def _unknown(raw: Mapping[str, Any], section: str, where: str, source: str) -> None:
    allowed = _SCHEMA[section]
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(
                source,
                f"{where}{key}",
                "one of the known keys " + ", ".join(sorted(allowed)) + hint,
                "unknown key",
            )


def _table(raw: Mapping[str, Any], key: str, source: str, where: str = "") -> dict[str, Any]:
    v = raw.get(key, {})
    if not isinstance(v, dict):
        raise ScenarioError(source, f"{where}{key}", "a table", v)
    return v


def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: Any, key: str, source: str, lo: float, hi: float, closed_hi: bool = True) -> float:
    ok = _isnum(v) and lo <= v and (v <= hi if closed_hi else v < hi)
    if not ok:
        br = "]" if closed_hi else ")"
        raise ScenarioError(source, key, f"a number in [{lo:g}, {hi:g}{br}", v)
    return float(v)


def _whole(v: Any, key: str, source: str, lo: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise ScenarioError(source, key, f"a whole number >= {lo}", v)
    return int(v)


def _per_arm(
    v: Any, key: str, source: str, names: tuple[str, ...], check: Any, scalar: bool = False
) -> dict[str, Any]:
    """A value for every arm: one value (all arms), a table ``{arm = value}`` naming every
    arm or (``scalar`` values) a list in the order of the arms; ``check(value, key)``
    validates and converts each."""
    if scalar and isinstance(v, list):
        if len(v) != len(names):
            raise ScenarioError(
                source, key, f"one value, a list of {len(names)} (one per arm) or a table", v
            )
        return {a: check(x, f"{key}[{i}]") for i, (a, x) in enumerate(zip(names, v, strict=True))}
    if isinstance(v, dict):
        for a in v:
            if a not in names:
                raise ScenarioError(
                    source, f"{key}.{a}", "an arm of arms.names " + str(list(names)), a
                )
        for a in names:
            if a not in v:
                raise ScenarioError(source, f"{key}.{a}", "a value for every arm")
        return {a: check(v[a], f"{key}.{a}") for a in names}
    x = check(v, key)
    return dict.fromkeys(names, x)


def _vector(v: Any, key: str, source: str, size: int, lo: float = -math.inf) -> np.ndarray:
    """One number (repeated) or a list of ``size`` numbers > ``lo``."""
    vals = v if isinstance(v, list) else [v] * size
    if len(vals) != size or not all(_isnum(x) and x > lo for x in vals):
        what = f"{size} numbers" + (f" > {lo:g}" if lo > -math.inf else "")
        raise ScenarioError(source, key, f"one number or a list of {what}", v)
    return np.asarray(vals, dtype=float)


def _parse(raw: dict[str, Any], source: str) -> Scenario:
    _unknown(raw, "", "", source)
    version = raw.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ScenarioError(
            source,
            "format_version",
            f"{FORMAT_VERSION} (version 1 scenarios named one trial's endpoints; see "
            "docs/scenarios.md for the generic format)",
            version,
        )
    sc = _table(raw, "scenario", source)
    _unknown(sc, "scenario", "scenario.", source)
    trial = sc.get("trial", "")
    if not isinstance(trial, str):
        raise ScenarioError(source, "scenario.trial", "a trial name or folder", trial)
    null = sc.get("null", False)
    if not isinstance(null, bool):
        raise ScenarioError(source, "scenario.null", "true or false", null)
    for key, limit, multiline in (
        ("name", "max_label_length", False),
        ("description", "max_text_length", True),
    ):
        if key in sc:
            if not isinstance(sc[key], str):
                raise ScenarioError(source, f"scenario.{key}", "a text", sc[key])
            problem = limits.text_problem(sc[key], limit, multiline=multiline)
            if problem:
                raise ScenarioError(source, f"scenario.{key}", problem)
    design = _design(trial, source) if trial else None

    names, ns, control = _parse_arms(raw, design, source)
    model = _table(raw, "model", source)
    _unknown(model, "model", "model.", source)
    kind = model.get("kind", "parametric")
    if kind not in MODEL_KINDS:
        raise ScenarioError(source, "model.kind", "one of " + ", ".join(MODEL_KINDS), kind)
    if kind == "synthetic" and not trial:
        raise ScenarioError(
            source,
            "scenario.trial",
            "the trial whose generative model model.kind = 'synthetic' uses",
        )
    params = _table(model, "params", source, "model.")
    if params and kind != "synthetic":
        raise ScenarioError(source, "model.params", "absent unless model.kind = 'synthetic'")

    ends = _table(raw, "endpoints", source)
    if not ends:
        raise ScenarioError(source, "endpoints", "at least one [endpoints.<id>] table")
    endpoints: dict[str, Any] = {}
    for eid, tab in ends.items():
        where = f"endpoints.{eid}"
        if not isinstance(tab, dict):
            raise ScenarioError(source, where, "a table", tab)
        dep = _design_endpoint(design, eid)
        typ = tab.get("type", dep.type if dep is not None else None)
        if typ not in ENDPOINT_TYPES:
            raise ScenarioError(source, where + ".type", "one of " + ", ".join(ENDPOINT_TYPES), typ)
        _unknown(tab, typ, where + ".", source)
        if typ == "continuous":
            endpoints[eid] = _parse_continuous(eid, tab, dep, design, names, kind, source)
        elif typ == "binary":
            endpoints[eid] = _parse_binary(eid, tab, dep, names, kind, source)
        else:
            if kind == "synthetic":
                raise ScenarioError(
                    source,
                    where + ".type",
                    "continuous or binary with model.kind = 'synthetic'",
                    typ,
                )
            endpoints[eid] = _parse_survival(eid, tab, names, source)
    if kind == "parametric":
        _check_rules(endpoints, source)
    else:  # the rule is evaluated on the generative model's draws, at the endpoint's week
        for eid, ep in endpoints.items():
            if isinstance(ep, BinaryEndpoint) and ep.visit is None:
                raise ScenarioError(source, f"endpoints.{eid}.visit", "the week of the rule")
    dropout = _parse_dropout(raw, endpoints, names, kind, source)
    analyses = _parse_analyses(raw, endpoints, len(names) - 1, source)
    sequential = _parse_sequential(raw, analyses, source)
    adaptation = _parse_adaptation(raw, analyses, sequential, names, ns, source)
    s = Scenario(
        name=str(sc.get("name", Path(source).stem if source != "<mapping>" else "scenario")),
        arm_names=tuple(names),
        n=tuple(ns),
        control=control,
        endpoints=endpoints,
        dropout=dropout,
        analyses=tuple(analyses),
        model_kind=kind,
        model_params=dict(params),
        trial=trial,
        source=source,
        sequential=sequential,
        adaptation=adaptation,
        raw=raw,
    )
    return s.null() if null else s


def _design(trial: str, source: str) -> Any:
    from .._paths import available_trials
    from ..errors import TrialAnalysisError
    from ..trial import load_trial  # the one place a trial name becomes objects

    # a relative trial folder is read beside the scenario file (as the file is moved or run
    # from elsewhere), unless the name is a shipped trial's and not written as a path
    where: Any = trial
    base = Path(source).parent if source and Path(source).is_file() else None
    if base is not None and not Path(trial).is_absolute():
        local = base / trial
        as_path = len(Path(trial).parts) > 1 or trial.startswith(".")
        if (
            (local / "design.toml").is_file() or (local.suffix == ".toml" and local.is_file())
        ) and (as_path or trial not in available_trials()):
            where = local
    try:
        return load_trial(where).design
    except TrialAnalysisError as exc:
        raise ScenarioError(
            source, "scenario.trial", "a trial name or folder", f"{trial} ({exc})"
        ) from None


def _design_endpoint(design: Any, eid: str) -> Any:
    if design is None:
        return None
    return next((e for e in design.endpoints if e.id == eid), None)


def _parse_arms(raw: dict, design: Any, source: str) -> tuple[list[str], list[int], str]:
    arms = _table(raw, "arms", source)
    _unknown(arms, "arms", "arms.", source)
    names = arms.get("names")
    if names is None and design is not None:
        names = list(design.arm_names)
    ok = isinstance(names, list) and 2 <= len(names) <= MAX_ARMS
    if not ok or not all(isinstance(x, str) and x for x in names):
        raise ScenarioError(source, "arms.names", f"a list of 2 to {MAX_ARMS} arm names", names)
    if len(set(names)) != len(names):
        raise ScenarioError(source, "arms.names", "different names", names)
    k = len(names)
    if "n" in arms:
        if "n_total" in arms or "allocation" in arms:
            raise ScenarioError(
                source,
                "arms.n_total",
                "absent when arms.n is given (with allocation)",
                arms.get("n_total"),
            )
        ns = arms["n"] if isinstance(arms["n"], list) else [arms["n"]] * k
        if len(ns) != k:
            raise ScenarioError(
                source, "arms.n", f"one size or a list of {k} (one per arm)", arms["n"]
            )
    elif "n_total" in arms:
        tot = _whole(arms["n_total"], "arms.n_total", source, 2 * k)
        alloc = arms.get("allocation", [1] * k)
        if not (
            isinstance(alloc, list) and len(alloc) == k and all(_isnum(a) and a > 0 for a in alloc)
        ):
            raise ScenarioError(source, "arms.allocation", f"{k} positive numbers", alloc)
        w = np.asarray(alloc, float) / sum(alloc)
        ns = [int(x) for x in np.floor(tot * w)]
        for i in np.argsort(-(tot * w - np.floor(tot * w)), kind="stable")[: tot - sum(ns)]:
            ns[int(i)] += 1  # largest remainders
    else:
        raise ScenarioError(source, "arms.n", "per-arm sizes (or arms.n_total)")
    cap = limits.get("max_arm_size")
    for i, v in enumerate(ns):
        _whole(v, f"arms.n[{i}]", source, 2)
        if v > cap:
            raise ScenarioError(
                source,
                f"arms.n[{i}]",
                f"at most max_arm_size = {cap:,.0f} patients per arm (a documented limit: "
                "raise TRIAL_ANALYSIS_MAX_ARM_SIZE, see docs/limits.md)",
                v,
            )
    control = arms.get("control")
    if control is None:
        if design is not None and design.control_arm.name in names:
            control = design.control_arm.name
        else:
            like = [a for a in names if CONTROL_ARM_RE.search(a)]
            control = like[0] if len(like) == 1 else names[-1]
    if control not in names:
        raise ScenarioError(source, "arms.control", "an arm of arms.names " + str(names), control)
    return names, [int(v) for v in ns], control


def _parse_continuous(
    eid: str, t: dict, dep: Any, design: Any, names: list[str], kind: str, source: str
) -> ContinuousEndpoint:
    w = f"endpoints.{eid}."
    param = t.get("parameter", dep.parameter if dep is not None and dep.parameter else eid)
    if not isinstance(param, str) or not param:
        raise ScenarioError(source, w + "parameter", "a parameter name", param)
    outcome = t.get("outcome", dep.measure if dep is not None else "chg")
    if outcome not in MEASURES:
        raise ScenarioError(source, w + "outcome", "one of " + ", ".join(MEASURES), outcome)
    arms = tuple(names)
    if kind == "synthetic":
        # the trial's generative model draws the baseline and the endpoint's visit only
        for key in (
            "visits",
            "mean",
            "baseline_mean",
            "change",
            "change_scale",
            "sd",
            "correlation",
        ):
            if key in t:
                raise ScenarioError(
                    source, w + key, "absent with model.kind = 'synthetic' (the model draws it)"
                )
        if dep is None:
            raise ScenarioError(
                source, f"endpoints.{eid}", "an endpoint id of the trial's design (synthetic model)"
            )
        nan = np.full(2, np.nan)
        return ContinuousEndpoint(
            eid,
            param,
            (0.0, float(dep.week)),
            dict.fromkeys(arms, nan),
            dict.fromkeys(arms, nan),
            np.eye(2),
            "value",
            outcome,
        )
    visits = t.get("visits")
    if visits is None:
        raise ScenarioError(source, w + "visits", "the visit times, the baseline first")
    if not (
        isinstance(visits, list)
        and len(visits) >= 2
        and all(_isnum(v) and v >= 0 for v in visits)
        and all(b > a for a, b in itertools.pairwise(visits))
    ):
        raise ScenarioError(
            source, w + "visits", "at least 2 increasing times >= 0 (baseline first)", visits
        )
    nv = len(visits)

    def vec(size: int, lo: float = -math.inf):
        return lambda v, key: _vector(v, key, source, size, lo)

    if "mean" in t:
        for k in ("baseline_mean", "change", "change_scale"):
            if k in t:
                raise ScenarioError(source, w + k, "absent when mean is given")
        mean_in = t["mean"]
        if not isinstance(mean_in, dict):
            raise ScenarioError(source, w + "mean", "a table {arm = [one mean per visit]}", mean_in)
        mean = _per_arm(mean_in, w + "mean", source, arms, vec(nv))
        scale = "value"
    elif "change" in t:
        scale = t.get("change_scale", "chg")
        if scale not in ("chg", "pchg"):
            raise ScenarioError(source, w + "change_scale", "'chg' or 'pchg'", scale)
        if "baseline_mean" not in t:
            raise ScenarioError(
                source, w + "baseline_mean", "the mean at baseline (one or per arm)"
            )
        base = _per_arm(
            t["baseline_mean"],
            w + "baseline_mean",
            source,
            arms,
            lambda v, k: _num(v, k, source, -math.inf, math.inf),
        )
        ch_in = t["change"]
        if not isinstance(ch_in, dict):
            raise ScenarioError(
                source,
                w + "change",
                "a table {arm = [one mean change per post-baseline visit]}",
                ch_in,
            )
        ch = _per_arm(ch_in, w + "change", source, arms, vec(nv - 1))
        mean = {a: np.r_[base[a], ch[a]] for a in arms}
    else:
        raise ScenarioError(
            source, w + "mean", "mean trajectories per arm (or baseline_mean and change)"
        )
    if "sd" not in t:
        raise ScenarioError(source, w + "sd", "the SD (one number, one per visit, or per arm)")
    sd = _per_arm(t["sd"], w + "sd", source, arms, vec(nv, 0.0))
    corr = _parse_correlation(t.get("correlation"), w + "correlation", nv, source)
    if outcome == "pchg" and scale != "pchg":
        for a in arms:
            if mean[a][0] < 4 * sd[a][0]:
                raise ScenarioError(
                    source,
                    w + "outcome",
                    "'pchg' only with a baseline far from 0 (mean >= 4 SD) or change_scale = 'pchg'",
                    outcome,
                )
    if scale == "pchg" and outcome != "pchg":
        raise ScenarioError(source, w + "outcome", "'pchg' with change_scale = 'pchg'", outcome)
    return ContinuousEndpoint(
        eid, param, tuple(float(v) for v in visits), mean, sd, corr, scale, outcome
    )


def _parse_correlation(c: Any, key: str, nv: int, source: str) -> np.ndarray:
    if c is None:
        raise ScenarioError(source, key, "a table {structure = 'un'|'cs'|'ar1'|'toeplitz', ...}")
    if not isinstance(c, dict):
        raise ScenarioError(source, key, "a table {structure = ..., rho = ... or matrix = ...}", c)
    _unknown(c, "correlation", key + ".", source)
    st = c.get("structure")
    if st not in CORRELATIONS:
        raise ScenarioError(source, key + ".structure", "one of " + ", ".join(CORRELATIONS), st)
    lag = np.abs(np.subtract.outer(np.arange(nv), np.arange(nv)))
    if st == "un":
        m = c.get("matrix")
        try:
            r = np.asarray(m, dtype=float)
        except (TypeError, ValueError):
            r = np.zeros(0)
        if (
            r.shape != (nv, nv)
            or not np.all(np.isfinite(r))
            or not np.allclose(np.diag(r), 1)
            or not np.allclose(r, r.T)
        ):
            raise ScenarioError(
                source,
                key + ".matrix",
                f"a symmetric {nv} x {nv} correlation matrix (1 on the diagonal)",
                m,
            )
        if "rho" in c:
            raise ScenarioError(source, key + ".rho", "absent with structure 'un'")
    else:
        if "matrix" in c:
            raise ScenarioError(source, key + ".matrix", "absent unless structure = 'un'")
        rho = c.get("rho")
        if st == "toeplitz":
            if not (
                isinstance(rho, list)
                and len(rho) == nv - 1
                and all(_isnum(x) and -1 < x < 1 for x in rho)
            ):
                raise ScenarioError(
                    source, key + ".rho", f"{nv - 1} correlations in (-1, 1), one per lag", rho
                )
            r = np.r_[1.0, rho][lag]
        else:
            rho = _num(rho, key + ".rho", source, -0.999999, 0.999999)
            r = np.where(lag == 0, 1.0, rho) if st == "cs" else rho**lag
    if np.linalg.eigvalsh(r).min() <= 1e-10:
        raise ScenarioError(source, key, "a positive-definite correlation", r.round(4).tolist())
    return r


def _parse_binary(
    eid: str, t: dict, dep: Any, names: list[str], kind: str, source: str
) -> BinaryEndpoint:
    from ..design import Component

    w = f"endpoints.{eid}."
    arms = tuple(names)
    missing = t.get("missing", "failure")
    if missing not in BINARY_MISSING:
        raise ScenarioError(source, w + "missing", "'failure' or 'complete_case'", missing)
    visit = t.get("visit")
    if visit is not None:
        visit = _num(visit, w + "visit", source, 0, math.inf)
    if "rate" in t:
        if "components" in t:
            raise ScenarioError(source, w + "components", "absent when rate is given")
        if kind == "synthetic":
            raise ScenarioError(
                source, w + "rate", "absent with model.kind = 'synthetic' (the model draws it)"
            )
        if not isinstance(t["rate"], dict):
            raise ScenarioError(source, w + "rate", "a table {arm = probability}", t["rate"])

        def prob(v: Any, key: str) -> float:
            p = _num(v, key, source, 0.0, 1.0)
            if not 0 < p < 1:
                raise ScenarioError(source, key, "a probability in (0, 1)", v)
            return p

        return BinaryEndpoint(
            eid, _per_arm(t["rate"], w + "rate", source, arms, prob), (), visit, missing
        )
    comps_in = t.get("components")
    if comps_in is None and dep is not None:
        comps = tuple(dep.components)
        if visit is None:
            visit = float(dep.week)
    else:
        if not isinstance(comps_in, list) or not comps_in:
            raise ScenarioError(
                source, w + "rate", "a rate per arm, or components (a rule on continuous endpoints)"
            )
        comps_l = []
        for j, c in enumerate(comps_in):
            cw = f"{w}components[{j}]"
            if not isinstance(c, dict):
                raise ScenarioError(source, cw, "a table", c)
            _unknown(c, "components", cw + ".", source)
            for k in ("parameter", "measure", "operator", "threshold"):
                if k not in c:
                    raise ScenarioError(
                        source, f"{cw}.{k}", "a value (parameter, measure, operator, threshold)"
                    )
            if c["measure"] not in MEASURES:
                raise ScenarioError(
                    source, cw + ".measure", "one of " + ", ".join(MEASURES), c["measure"]
                )
            if c["operator"] not in OPERATORS:
                raise ScenarioError(
                    source, cw + ".operator", "one of " + ", ".join(OPERATORS), c["operator"]
                )
            thr = _num(c["threshold"], cw + ".threshold", source, -math.inf, math.inf)
            comps_l.append(Component(str(c["parameter"]), c["measure"], c["operator"], thr))
        comps = tuple(comps_l)
    return BinaryEndpoint(eid, None, comps, visit, missing)


def _check_rules(endpoints: Mapping[str, Any], source: str) -> None:
    """Every component of a binary rule names a continuous endpoint's parameter measured at
    the rule's visit (default: the last visit the parameters share)."""
    by_param = {e.parameter: e for e in endpoints.values() if isinstance(e, ContinuousEndpoint)}
    for eid, ep in list(endpoints.items()):
        if not isinstance(ep, BinaryEndpoint) or ep.rate is not None:
            continue
        visit = ep.visit
        for j, c in enumerate(ep.components):
            src = by_param.get(c.parameter)
            if src is None:
                raise ScenarioError(
                    source,
                    f"endpoints.{eid}.components[{j}].parameter",
                    "the parameter of a continuous endpoint of the scenario "
                    + str(sorted(by_param)),
                    c.parameter,
                )
        if visit is None:
            common = set.intersection(*(set(by_param[c.parameter].visits) for c in ep.components))
            visit = max(common) if common else None
        for c in ep.components:
            if visit not in by_param[c.parameter].visits or visit == 0:
                raise ScenarioError(
                    source,
                    f"endpoints.{eid}.visit",
                    f"a post-baseline visit of {c.parameter} {list(by_param[c.parameter].visits)}",
                    visit,
                )
        endpoints[eid] = replace(ep, visit=visit)  # type: ignore[index]


def _parse_survival(eid: str, t: dict, names: list[str], source: str) -> SurvivalEndpoint:
    w = f"endpoints.{eid}."
    arms = tuple(names)
    cuts = t.get("cuts", [])
    if not (
        isinstance(cuts, list)
        and all(_isnum(c) and c > 0 for c in cuts)
        and cuts == sorted(set(cuts))
    ):
        raise ScenarioError(
            source, w + "cuts", "increasing times > 0 where the hazards change", cuts
        )
    pieces = len(cuts) + 1
    if ("median" in t) == ("hazard" in t):
        raise ScenarioError(
            source, w + "hazard", "either hazard (per arm, per piece) or median (per arm)"
        )
    if "median" in t:
        if cuts:
            raise ScenarioError(
                source, w + "cuts", "absent with median (one constant hazard per arm)"
            )
        med = _per_arm(
            t["median"],
            w + "median",
            source,
            arms,
            lambda v, k: _num(v, k, source, 1e-9, math.inf),
            scalar=True,
        )
        hazard = {a: np.array([math.log(2) / m]) for a, m in med.items()}
    else:
        hazard = _per_arm(
            t["hazard"], w + "hazard", source, arms, lambda v, k: _vector(v, k, source, pieces, 0.0)
        )
    acc = _num(t.get("accrual_time", 0.0), w + "accrual_time", source, 0, math.inf)
    given = [k for k in ("events", "analysis_time", "follow_up") if k in t]
    if len(given) != 1:
        raise ScenarioError(
            source,
            w + (given[1] if len(given) > 1 else "events"),
            "one of events (event-driven analysis), analysis_time or follow_up (after the "
            "end of accrual)",
        )
    at = None
    if "analysis_time" in t:
        at = _num(t["analysis_time"], w + "analysis_time", source, 1e-9, math.inf)
    elif "follow_up" in t:
        at = acc + _num(t["follow_up"], w + "follow_up", source, 1e-9, math.inf)
    ev = None if "events" not in t else _whole(t["events"], w + "events", source, 2)
    drop = _num(t.get("dropout_hazard", 0.0), w + "dropout_hazard", source, 0, math.inf)
    tau = None if "tau" not in t else _num(t["tau"], w + "tau", source, 1e-9, math.inf)
    return SurvivalEndpoint(eid, tuple(float(c) for c in cuts), hazard, acc, at, ev, drop, tau)


def _parse_dropout(
    raw: dict, endpoints: Mapping[str, Any], names: list[str], kind: str, source: str
) -> Dropout:
    drop = _table(raw, "dropout", source)
    _unknown(drop, "dropout", "dropout.", source)
    arms = tuple(names)
    mech = drop.get("mechanism", "MCAR")
    if mech not in MECHANISMS:
        raise ScenarioError(source, "dropout.mechanism", "one of " + ", ".join(MECHANISMS), mech)
    conts = [k for k, e in endpoints.items() if isinstance(e, ContinuousEndpoint)]
    ep_id = drop.get("endpoint", conts[0] if conts else "")
    if conts and ep_id not in conts:
        raise ScenarioError(
            source, "dropout.endpoint", "a continuous endpoint " + str(conts), ep_id
        )
    nv = len(endpoints[ep_id].visits) - 1 if ep_id else 1
    if "rate" in drop and "by_visit" in drop:
        raise ScenarioError(source, "dropout.by_visit", "absent when dropout.rate is given")
    if "by_visit" in drop:
        hz = _per_arm(
            drop["by_visit"],
            "dropout.by_visit",
            source,
            arms,
            lambda v, k: _check_hazards(_vector(v, k, source, nv, -1e-300), k, source),
        )
    else:
        rate = _per_arm(
            drop.get("rate", 0.0),
            "dropout.rate",
            source,
            arms,
            lambda v, k: _num(v, k, source, 0.0, 1.0, closed_hi=False),
            scalar=True,
        )
        hz = {a: np.full(nv, 1 - (1 - r) ** (1 / nv)) for a, r in rate.items()}
    num = lambda lo, hi: lambda v, k: _num(v, k, source, lo, hi)  # noqa: E731
    slope = _per_arm(drop.get("slope", 0.0), "dropout.slope", source, arms, num(-10, 10), True)
    delta = _per_arm(
        drop.get("delta", 0.0), "dropout.delta", source, arms, num(-math.inf, math.inf), True
    )
    if mech == "MCAR" and any(slope.values()):
        raise ScenarioError(
            source, "dropout.slope", "0 (or absent) with mechanism 'MCAR'", drop.get("slope")
        )
    if mech != "MNAR" and any(delta.values()):
        raise ScenarioError(
            source, "dropout.delta", "0 (or absent) unless mechanism = 'MNAR'", drop.get("delta")
        )
    if mech != "MCAR" and not conts:
        raise ScenarioError(
            source, "dropout.mechanism", "'MCAR' without a continuous endpoint", mech
        )
    bm = drop.get("binary_missing")
    if bm is not None:
        raise ScenarioError(
            source, "dropout.binary_missing", "absent (format 2: endpoints.<id>.missing)", bm
        )
    return Dropout(mech, hz, slope, delta, ep_id)


def _check_hazards(h: np.ndarray, key: str, source: str) -> np.ndarray:
    if np.any(h < 0) or np.any(h >= 1):
        raise ScenarioError(
            source, key, "probabilities in [0, 1), one per post-baseline visit", h.tolist()
        )
    return h


def _parse_analyses(
    raw: dict, endpoints: Mapping[str, Any], n_comparisons: int, source: str
) -> list[Analysis]:
    alist = raw.get("analyses")
    if not isinstance(alist, list) or not alist:
        raise ScenarioError(source, "analyses", "a non-empty array of tables [[analyses]]", alist)
    analyses: list[Analysis] = []
    for i, a in enumerate(alist):
        where = f"analyses[{i}]."
        if not isinstance(a, dict):
            raise ScenarioError(source, f"analyses[{i}]", "a table", a)
        _unknown(a, "analyses", where, source)
        ep_id = a.get("endpoint")
        if ep_id not in endpoints:
            raise ScenarioError(
                source, where + "endpoint", "one of the endpoints " + ", ".join(endpoints), ep_id
            )
        ep = endpoints[ep_id]
        allowed = {
            "binary": EXACT_TESTS,
            "continuous": CONTINUOUS_METHODS,
            "time_to_event": SURVIVAL_METHODS,
        }[ep.type]
        method = a.get("method", allowed[0])
        if method not in allowed:
            raise ScenarioError(
                source,
                where + "method",
                f"for a {ep.type} endpoint one of " + ", ".join(allowed),
                method,
            )
        if method == "mmrm" and len(ep.visits) < 3:
            raise ScenarioError(
                source,
                f"endpoints.{ep_id}.visits",
                "at least 2 post-baseline visits for an MMRM analysis",
                list(ep.visits),
            )
        alpha = _num(a.get("alpha", 0.05), where + "alpha", source, 0.0, 0.5)
        if alpha == 0:
            raise ScenarioError(source, where + "alpha", "a significance level in (0, 0.5]", 0)
        alt = a.get("alternative", "two-sided")
        if alt not in ("two-sided", "greater", "less"):
            raise ScenarioError(
                source, where + "alternative", "'two-sided', 'greater' or 'less'", alt
            )
        margin = _num(a.get("margin", 0.0), where + "margin", source, 0, math.inf)
        if margin and (alt == "two-sided" or ep.type != "continuous"):
            raise ScenarioError(
                source,
                where + "margin",
                "0 unless a one-sided analysis of a continuous endpoint (non-inferiority)",
                margin,
            )
        cov = a.get("covariance", "unstructured")
        df = a.get("df", "satterthwaite")
        if df not in ("satterthwaite", "kenward-roger"):
            raise ScenarioError(source, where + "df", "'satterthwaite' or 'kenward-roger'", df)
        if method == "mmrm":
            from ..continuous.mmrm import _normalise_covariance
            from ..errors import ParameterError

            try:
                _normalise_covariance(cov)
            except ParameterError as exc:
                raise ScenarioError(source, where + "covariance", exc.expected, cov) from None
        else:
            for k in ("covariance", "df"):
                if k in a:
                    raise ScenarioError(source, where + k, "absent unless method = 'mmrm'", a[k])
        imp = a.get("imputation", "j2r")
        m = a.get("m", 20)
        draws = a.get("draws", "monotone")
        if method == "mi":
            if imp not in MI_METHODS:
                raise ScenarioError(
                    source, where + "imputation", "one of " + ", ".join(MI_METHODS), imp
                )
            m = _whole(m, where + "m", source, 2)
            from ..continuous.missing import DRAWS

            if draws not in DRAWS:
                raise ScenarioError(source, where + "draws", "one of " + ", ".join(DRAWS), draws)
        else:
            for k in ("imputation", "m", "draws"):
                if k in a:
                    raise ScenarioError(source, where + k, "absent unless method = 'mi'", a[k])
        mult = a.get("multiplicity", "")
        weights = transitions = None
        if mult:
            from ..multiplicity import METHODS as MULT

            if mult not in MULT:
                raise ScenarioError(
                    source, where + "multiplicity", "one of " + ", ".join(MULT), mult
                )
            if n_comparisons < 2:
                raise ScenarioError(
                    source, where + "multiplicity", "absent with one experimental arm", mult
                )
        if mult == "graphical":
            k = n_comparisons
            weights, transitions = a.get("weights"), a.get("transitions")
            ok_w = (
                isinstance(weights, list)
                and len(weights) == k
                and all(_isnum(x) and x >= 0 for x in weights)
            )
            if not ok_w or sum(weights) > 1 + 1e-12:
                raise ScenarioError(
                    source, where + "weights", f"{k} weights >= 0 summing to at most 1", weights
                )
            ok_t = (
                isinstance(transitions, list)
                and len(transitions) == k
                and all(
                    isinstance(r, list) and len(r) == k and all(_isnum(x) and x >= 0 for x in r)
                    for r in transitions
                )
            )
            if not ok_t:
                raise ScenarioError(
                    source,
                    where + "transitions",
                    f"a {k} x {k} matrix of weights >= 0",
                    transitions,
                )
            weights = tuple(float(x) for x in weights)
            transitions = tuple(tuple(float(x) for x in r) for r in transitions)
        else:
            for k_ in ("weights", "transitions"):
                if k_ in a:
                    raise ScenarioError(
                        source, where + k_, "absent unless multiplicity = 'graphical'", a[k_]
                    )
        name = a.get("name", f"{ep_id}_{method}" + (f"_{imp}" if method == "mi" else ""))
        if not isinstance(name, str) or not name or name in {x.name for x in analyses}:
            raise ScenarioError(source, where + "name", "a unique name", name)
        if problem := limits.text_problem(name, "max_label_length"):
            raise ScenarioError(source, where + "name", problem)
        analyses.append(
            Analysis(
                name,
                ep_id,
                method,
                alpha,
                alt,
                margin,
                cov,
                df,
                imp,
                int(m),
                mult,
                weights,
                transitions,
                draws,
            )
        )
    return analyses


def _parse_sequential(
    raw: Mapping[str, Any], analyses: list[Analysis], source: str
) -> dict[str, Any] | None:
    """``[sequential]``: looks, information, spending, futility, binding, beta — the arguments
    of :func:`.group_sequential` (a two-element array ``["hsd", -4]`` is a spending family)."""
    if "sequential" not in raw:
        return None
    seq = _table(raw, "sequential", source)
    _unknown(seq, "sequential", "sequential.", source)

    def family(value: Any) -> Any:
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            return (value[0], value[1])
        return value

    spec: dict[str, Any] = {"k": seq.get("looks", 2)}
    if "information" in seq:
        spec["information_rates"] = seq["information"]
    if "spending" in seq:
        spec["spending"] = family(seq["spending"])
    if "futility" in seq:
        spec["futility"] = family(seq["futility"])
    if "binding" in seq:
        spec["binding"] = seq["binding"]
    if "beta" in seq:
        spec["beta"] = seq["beta"]
    bad = [a.method for a in analyses if a.method in SURVIVAL_METHODS]
    bad += [f"multiplicity {a.multiplicity}" for a in analyses if a.multiplicity]
    if bad:
        raise ScenarioError(
            source,
            "sequential",
            "analyses by binary tests, ANCOVA, MMRM or MI without multiplicity (interim "
            "survival analyses, whose information is events, and multiplicity across arms "
            "at looks are not simulated)",
            bad,
        )
    from ..errors import ParameterError
    from .sequential import group_sequential

    for a in analyses:
        try:
            group_sequential(alpha=a.alpha, sided=2 if a.alternative == "two-sided" else 1, **spec)
        except ParameterError as exc:
            key = {"k": "looks", "information_rates": "information"}.get(
                exc.parameter, exc.parameter
            )
            raise ScenarioError(source, f"sequential.{key}", exc.expected, exc.got) from None
    return spec


def _parse_adaptation(
    raw: Mapping[str, Any],
    analyses: list[Analysis],
    sequential: Mapping[str, Any] | None,
    names: list[str],
    ns: list[int],
    source: str,
) -> dict[str, Any] | None:
    """``[adaptation]``: sample-size re-estimation of :func:`.simulate_adaptive` (conditional
    power, optionally the promising zone) applied to the ``[sequential]`` design, read as an
    inverse-normal combination test. Two arms; one-sided binary tests or ANCOVA."""
    if "adaptation" not in raw:
        return None
    ad = _table(raw, "adaptation", source)
    _unknown(ad, "adaptation", "adaptation.", source)
    if sequential is None:
        raise ScenarioError(source, "sequential", "the looks of the adaptive design ([sequential])")
    if len(names) != 2:
        raise ScenarioError(source, "arms.names", "two arms with [adaptation]", names)
    for i, a in enumerate(analyses):
        if a.method in ("mmrm", "mi", *SURVIVAL_METHODS) or a.alternative == "two-sided":
            raise ScenarioError(
                source,
                f"analyses[{i}]",
                "one-sided (alternative 'greater' or 'less') binary tests or ANCOVA with "
                "[adaptation] (stage-wise z statistics)",
                f"{a.method}, {a.alternative}",
            )
    if "conditional_power" not in ad:
        raise ScenarioError(source, "adaptation.conditional_power", "the target conditional power")
    spec = dict(ad)
    if "promising_zone" in spec:
        pz = spec["promising_zone"]
        if not (isinstance(pz, list) and len(pz) == 2):
            raise ScenarioError(source, "adaptation.promising_zone", "[cp_low, cp_high]", pz)
        spec["promising_zone"] = tuple(pz)
    if "theta" in spec and "sd" not in spec:
        raise ScenarioError(
            source, "adaptation.sd", "the SD assumed with theta (the effect's scale)"
        )
    from ..errors import ParameterError
    from .adaptive import _make_plan
    from .sequential import group_sequential

    for a in analyses:
        d = group_sequential(alpha=a.alpha, sided=1, **sequential)
        planned = [t * sum(ns) for t in d.information_rates]
        try:
            _make_plan(
                d,
                spec.get("sd", 1.0),
                planned,
                ns[1] / ns[0],
                spec["conditional_power"],
                spec.get("n_min"),
                spec.get("n_max"),
                spec.get("theta"),
                spec.get("sd"),
                spec.get("promising_zone"),
            )
        except ParameterError as exc:
            key = {"ratio": "arms.n", "planned": "arms.n", "sd_h1": "sd"}.get(
                exc.parameter, exc.parameter
            )
            where = key if "." in key else f"adaptation.{key}"
            raise ScenarioError(source, where, exc.expected, exc.got) from None
    return spec


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    parts = dotted.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(source, dotted, "an existing list index", part)
            node = node[int(part)]
        else:
            if part not in node:
                node[part] = {}
            node = node[part]
        if not isinstance(node, (dict, list)):
            raise ScenarioError(source, ".".join(parts[: i + 1]), "a table or list", node)
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError(source, dotted, "an existing list index", last)
        node[int(last)] = value
    else:
        node[last] = value


def mar_intercept(rate: float, slope: float) -> float:
    """Intercept a with E[expit(a + slope Z)] = rate, Z ~ N(0, 1) (Gauss–Hermite, 40 nodes)."""
    if rate == 0:
        return -math.inf
    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    return float(
        optimize.brentq(lambda a: float(np.sum(w * special.expit(a + slope * x))) - rate, -50, 50)
    )
