"""Simulation scenarios: a whole future trial as a TOML file or a Python object.

A scenario names the arms and their sizes, the visits, the generative model of the patients
(by default the generative model of the scenario's trial, ``data/<trial>/synthetic_model.toml``
read by :mod:`trial_analysis.synthetic`, every parameter overridable; or a simple parametric
model), the dropout mechanism (MCAR or MAR),
the derivation of the composite endpoint and the analyses to apply. Format::

    [scenario]
    name = "Confirmatory trial"
    trial = "zang2022"          # design the arm names come from (optional)

    [arms]
    names = ["UC-MSC", "Placebo"]
    n = [100, 100]              # or: n_total = 200 and allocation = [1, 1]

    [visits]
    weeks = [0, 12, 24, 36, 48]

    [model]
    kind = "synthetic"          # the trial's generative model, or "parametric" with
                                # [model.arms.<name>] tables
    params = {}                 # overrides of the generative model's parameters

    [dropout]
    mechanism = "MCAR"          # or "MAR" (log-odds slope per SD of baseline HbA1c)
    rate = 0.1                  # one rate, or one per arm
    mar_slope = 0.0
    binary_missing = "failure"  # missing composite counted as failure, or "complete_case"

    [endpoints.composite]
    derive = false              # true: HbA1c < hba1c_below AND insulin change <= -reduction
    hba1c_below = 7.0
    insulin_reduction = 50.0

    [[analyses]]
    name = "composite_fisher"
    endpoint = "composite"      # "composite", "insulin_pchg" or "hba1c"
    method = "fisher"           # a test of binary.pvalue_grid for the composite;
    alpha = 0.05                # "ancova" or "mmrm" (opt-in, slow) for the continuous ones

    [sequential]                # optional: interim analyses (see power.group_sequential)
    looks = 3                   # analyses, the last one final
    information = [0.5, 0.75, 1]  # fractions of the patients of each arm (default equal)
    spending = "obrien-fleming" # "pocock", ["hsd", -4], ["kim-demets", 2] or a table
    futility = "obrien-fleming" # optional (one-sided analyses): beta-spending or k-1 z bounds
    binding = false
    beta = 0.2                  # for beta-spending futility

Every key is checked: a typo raises :class:`~trial_analysis.errors.ScenarioError` naming the
file and the key (with the closest known key).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, special

from .. import limits
from ..errors import ScenarioError
from .exact import EXACT_TESTS

__all__ = [
    "ENDPOINTS",
    "Analysis",
    "ParametricArm",
    "ParametricModel",
    "Scenario",
    "load_scenario",
]

ENDPOINTS = ("composite", "insulin_pchg", "hba1c")
CONTINUOUS_METHODS = ("ancova", "mmrm")
MODEL_KINDS = ("synthetic", "parametric")
MECHANISMS = ("MCAR", "MAR")
BINARY_MISSING = ("failure", "complete_case")

# ---------------------------------------------------------------------------------------
# the built-in parametric model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParametricArm:
    """Parameters of one arm of :class:`ParametricModel`.

    ``responder`` is the probability of the composite (drawn independently of the continuous
    endpoints unless the scenario derives the composite). HbA1c: baseline and week-48 means
    and SDs with correlation ``hba1c_rho``; insulin: baseline dose (U/day) and percentage
    change at week 48 (negative = reduction) with correlation ``insulin_rho``.
    """

    responder: float
    hba1c_base_mean: float = 9.0
    hba1c_base_sd: float = 1.2
    hba1c_48_mean: float = 8.0
    hba1c_48_sd: float = 1.05
    hba1c_rho: float = 0.5
    insulin_base_mean: float = 50.0
    insulin_base_sd: float = 15.0
    insulin_pchg_mean: float = -20.0
    insulin_pchg_sd: float = 30.0
    insulin_rho: float = 0.0


_ARM_FIELDS = tuple(ParametricArm.__dataclass_fields__)


@dataclass(frozen=True)
class ParametricModel:
    """A simple generative model: independent arms, bivariate normal endpoints.

    Has the ``draw_endpoints(n_by_arm, n_trials, rng)`` method of the generative model of
    :mod:`trial_analysis.synthetic`, returning for each arm a dict of arrays of shape
    ``(n_trials, n_arm)``: ``HBA1C_BASE``, ``HBA1C_48``, ``INSDOSE_BASE``,
    ``INSDOSE_PCHG_48`` and ``RESPONDER`` (0/1). ``visits`` adds ``HBA1C_W<week>`` arrays
    (linear mean path, correlation decaying as ``rho ** (|w - w'| / 48)``) for MMRM.
    """

    arms: Mapping[str, ParametricArm]
    visits: tuple[int, ...] = (0, 48)

    def draw_endpoints(
        self,
        n_by_arm: Mapping[str, int],
        n_trials: int,
        rng: np.random.Generator,
        *,
        need: frozenset[str] | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        out: dict[str, dict[str, np.ndarray]] = {}
        for name, n in n_by_arm.items():
            a = self.arms[name]
            shape = (n_trials, n)
            d: dict[str, np.ndarray] = {}
            want = need or frozenset(("RESPONDER", "HBA1C", "INSDOSE"))
            if "RESPONDER" in want:
                d["RESPONDER"] = (rng.random(shape) < a.responder).astype(np.int8)
            if "HBA1C" in want:
                z0 = rng.standard_normal(shape)
                z1 = a.hba1c_rho * z0 + math.sqrt(1 - a.hba1c_rho**2) * rng.standard_normal(shape)
                d["HBA1C_BASE"] = a.hba1c_base_mean + a.hba1c_base_sd * z0
                d["HBA1C_48"] = a.hba1c_48_mean + a.hba1c_48_sd * z1
            if "INSDOSE" in want:
                z0 = rng.standard_normal(shape)
                z1 = a.insulin_rho * z0 + math.sqrt(1 - a.insulin_rho**2) * rng.standard_normal(
                    shape
                )
                d["INSDOSE_BASE"] = a.insulin_base_mean + a.insulin_base_sd * z0
                d["INSDOSE_PCHG_48"] = a.insulin_pchg_mean + a.insulin_pchg_sd * z1
            if "HBA1C_VISITS" in want:
                d.update(self._visits(a, shape, rng))
            out[name] = d
        return out

    def _visits(
        self, a: ParametricArm, shape: tuple[int, int], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        w = np.asarray(self.visits, dtype=float)
        frac = w / 48.0
        mean = a.hba1c_base_mean + (a.hba1c_48_mean - a.hba1c_base_mean) * frac
        sd = a.hba1c_base_sd + (a.hba1c_48_sd - a.hba1c_base_sd) * frac
        corr = a.hba1c_rho ** (np.abs(frac[:, None] - frac[None, :]))
        cov = corr * sd[:, None] * sd[None, :]
        y = rng.multivariate_normal(mean, cov, size=shape, method="cholesky")
        return {f"HBA1C_W{int(v)}": y[..., i] for i, v in enumerate(self.visits)}


# ---------------------------------------------------------------------------------------
# scenario
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """One analysis applied to every simulated trial."""

    name: str
    endpoint: str
    method: str
    alpha: float = 0.05
    alternative: str = "two-sided"
    max_sims: int = 50  # MMRM only: replicates analysed (opt-in, slow)


@dataclass(frozen=True)
class Scenario:
    """A validated simulation scenario (see the module docstring for the format).

    Build it with :func:`load_scenario` (file) or :meth:`from_dict` (mapping); derive
    variants with :meth:`with_overrides` (dotted keys, as in the TOML file).
    """

    name: str
    arm_names: tuple[str, str]
    n: tuple[int, int]
    visits: tuple[int, ...]
    model_kind: str
    model_params: Mapping[str, Any]
    parametric: ParametricModel | None
    dropout_mechanism: str
    dropout_rate: tuple[float, float]
    mar_slope: float
    binary_missing: str
    derive_composite: bool
    hba1c_below: float
    insulin_reduction: float
    analyses: tuple[Analysis, ...]
    trial: str = ""
    source: str = "<mapping>"
    sequential: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
        "model.arms.UC-MSC.responder": 0.15, "analyses.0.method": "boschloo"}``."""
        raw = copy.deepcopy(dict(self.raw))
        for dotted, value in {**(overrides or {}), **kw}.items():
            _set_dotted(raw, str(dotted), value, self.source)
        return _parse(raw, self.source)

    @property
    def n_total(self) -> int:
        return sum(self.n)

    def model(self) -> Any:
        """The generative model object (``draw_endpoints`` method)."""
        if self.model_kind == "parametric":
            return self.parametric
        from .. import synthetic

        if not self.trial:
            raise ScenarioError(
                self.source,
                "scenario.trial",
                "the trial whose generative model (synthetic_model.toml) model.kind = "
                "'synthetic' uses",
            )
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
                f"the arms of the {self.model_kind} model {list(m.arms)}",
                list(self.arm_names),
            )
        return m

    def summary_rows(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "n1": self.n[0],
            "n2": self.n[1],
            "model": self.model_kind,
            "dropout": f"{self.dropout_mechanism} {self.dropout_rate[0]:g}/{self.dropout_rate[1]:g}",
        }


@lru_cache(maxsize=32)
def _generative_model(model_for: Any, kind: str, params_json: str) -> Any:
    # model_for re-calibrates the HbA1c-insulin correlation to the response rates unless it
    # is overridden too: done once per process and parameter set, not once per chunk
    return model_for(kind, **json.loads(params_json))


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario TOML file.

    Examples
    --------
    >>> from trial_analysis.power import load_scenario
    >>> from trial_analysis._paths import trial_dir
    >>> s = load_scenario(trial_dir("zang2022") / "scenario.toml")
    >>> s.arm_names
    ('UC-MSC', 'Placebo')
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
    "": {"scenario", "arms", "visits", "model", "dropout", "endpoints", "analyses", "sequential"},
    "sequential": {"looks", "information", "spending", "futility", "binding", "beta"},
    "scenario": {"name", "trial", "description"},
    "arms": {"names", "n", "n_total", "allocation"},
    "visits": {"weeks"},
    "model": {"kind", "params", "arms"},
    "dropout": {"mechanism", "rate", "mar_slope", "binary_missing"},
    "endpoints": {"composite"},
    "endpoints.composite": {"derive", "hba1c_below", "insulin_reduction"},
    "analyses": {"name", "endpoint", "method", "alpha", "alternative", "max_sims"},
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


def _num(v: Any, key: str, source: str, lo: float, hi: float, closed_hi: bool = True) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and lo <= v and (v <= hi if closed_hi else v < hi)
    if not ok:
        br = "]" if closed_hi else ")"
        raise ScenarioError(source, key, f"a number in [{lo:g}, {hi:g}{br}", v)
    return float(v)


def _pair(v: Any, key: str, source: str) -> list[Any]:
    vals = v if isinstance(v, list) else [v, v]
    if len(vals) != 2:
        raise ScenarioError(source, key, "one value or a list of two (one per arm)", v)
    return vals


def _parse(raw: dict[str, Any], source: str) -> Scenario:
    _unknown(raw, "", "", source)
    sc = _table(raw, "scenario", source)
    _unknown(sc, "scenario", "scenario.", source)
    trial = str(sc.get("trial", ""))
    arms = _table(raw, "arms", source)
    _unknown(arms, "arms", "arms.", source)
    names = arms.get("names")
    if names is None and trial:
        from ..design import load_design

        names = list(load_design(trial).arm_names)
    if names is None:
        names = ["Experimental", "Control"]
    if not (isinstance(names, list) and len(names) == 2 and all(isinstance(x, str) for x in names)):
        raise ScenarioError(source, "arms.names", "a list of two arm names", names)
    if names[0] == names[1]:
        raise ScenarioError(source, "arms.names", "two different names", names)
    if "n" in arms:
        if "n_total" in arms:
            raise ScenarioError(
                source, "arms.n_total", "absent when arms.n is given", arms["n_total"]
            )
        ns = _pair(arms["n"], "arms.n", source)
    elif "n_total" in arms:
        tot = arms["n_total"]
        alloc = _pair(arms.get("allocation", [1, 1]), "arms.allocation", source)
        if not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) and a > 0 for a in alloc
        ):
            raise ScenarioError(source, "arms.allocation", "two positive numbers", alloc)
        if not isinstance(tot, int) or isinstance(tot, bool) or tot < 4:
            raise ScenarioError(source, "arms.n_total", "a whole number >= 4", tot)
        n1 = round(tot * alloc[0] / (alloc[0] + alloc[1]))
        ns = [n1, tot - n1]
    else:
        raise ScenarioError(source, "arms.n", "per-arm sizes (or arms.n_total)")
    cap = limits.get("max_arm_size")
    for i, v in enumerate(ns):
        if not isinstance(v, int) or isinstance(v, bool) or v < 2:
            raise ScenarioError(source, f"arms.n[{i}]", "a whole number >= 2", v)
        if v > cap:
            raise ScenarioError(
                source,
                f"arms.n[{i}]",
                f"at most max_arm_size = {cap:,.0f} patients per arm (a documented limit: "
                "raise TRIAL_ANALYSIS_MAX_ARM_SIZE, see docs/limits.md)",
                v,
            )

    vis = _table(raw, "visits", source)
    _unknown(vis, "visits", "visits.", source)
    weeks = vis.get("weeks", [0, 48])
    ok = (
        isinstance(weeks, list)
        and len(weeks) >= 2
        and all(isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in weeks)
        and weeks == sorted(set(weeks))
        and weeks[0] == 0
        and weeks[-1] == 48
    )
    if not ok:
        raise ScenarioError(
            source, "visits.weeks", "increasing whole weeks from 0 to 48 (the primary visit)", weeks
        )

    model = _table(raw, "model", source)
    _unknown(model, "model", "model.", source)
    kind = model.get("kind", "synthetic")
    if kind not in MODEL_KINDS:
        raise ScenarioError(source, "model.kind", "one of " + ", ".join(MODEL_KINDS), kind)

    params = _table(model, "params", source, "model.")
    parametric = None
    if kind == "parametric":
        marms = _table(model, "arms", source, "model.")
        arms_obj = {}
        for nm in names:
            if nm not in marms:
                raise ScenarioError(
                    source, f"model.arms.{nm}", "a table of parameters for every arm"
                )
        for nm, tab in marms.items():
            if nm not in names:
                raise ScenarioError(source, f"model.arms.{nm}", "an arm named in arms.names", nm)
            if not isinstance(tab, dict):
                raise ScenarioError(source, f"model.arms.{nm}", "a table", tab)
            for k in tab:
                if k not in _ARM_FIELDS:
                    close = difflib.get_close_matches(k, _ARM_FIELDS, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ScenarioError(
                        source,
                        f"model.arms.{nm}.{k}",
                        "one of the known keys " + ", ".join(_ARM_FIELDS) + hint,
                        "unknown key",
                    )
            if "responder" not in tab:
                raise ScenarioError(source, f"model.arms.{nm}.responder", "a probability in (0, 1)")
            vals: dict[str, float] = {}
            for k, v in tab.items():
                key = f"model.arms.{nm}.{k}"
                if k == "responder":
                    vals[k] = _num(v, key, source, 0.0, 1.0)
                    if not 0 < vals[k] < 1:
                        raise ScenarioError(source, key, "a probability in (0, 1)", v)
                elif k.endswith("_sd"):
                    vals[k] = _num(v, key, source, 1e-12, math.inf)
                elif k.endswith("_rho"):
                    vals[k] = _num(v, key, source, -0.999999, 0.999999)
                else:
                    vals[k] = _num(v, key, source, -math.inf, math.inf)
            arms_obj[nm] = ParametricArm(**vals)
        parametric = ParametricModel(arms=arms_obj, visits=tuple(weeks))
    elif "arms" in model:
        raise ScenarioError(source, "model.arms", "absent unless model.kind = 'parametric'")

    drop = _table(raw, "dropout", source)
    _unknown(drop, "dropout", "dropout.", source)
    mech = drop.get("mechanism", "MCAR")
    if mech not in MECHANISMS:
        raise ScenarioError(source, "dropout.mechanism", "'MCAR' or 'MAR'", mech)
    rates = [
        _num(r, f"dropout.rate[{i}]", source, 0.0, 1.0, closed_hi=False)
        for i, r in enumerate(_pair(drop.get("rate", 0.0), "dropout.rate", source))
    ]
    slope = _num(drop.get("mar_slope", 0.0), "dropout.mar_slope", source, -10, 10)
    if mech == "MCAR" and slope != 0:
        raise ScenarioError(
            source, "dropout.mar_slope", "0 (or absent) with mechanism 'MCAR'", slope
        )
    bmiss = drop.get("binary_missing", "failure")
    if bmiss not in BINARY_MISSING:
        raise ScenarioError(source, "dropout.binary_missing", "'failure' or 'complete_case'", bmiss)

    ends = _table(raw, "endpoints", source)
    _unknown(ends, "endpoints", "endpoints.", source)
    comp = _table(ends, "composite", source, "endpoints.")
    _unknown(comp, "endpoints.composite", "endpoints.composite.", source)
    derive = comp.get("derive", False)
    if not isinstance(derive, bool):
        raise ScenarioError(source, "endpoints.composite.derive", "true or false", derive)
    below = _num(comp.get("hba1c_below", 7.0), "endpoints.composite.hba1c_below", source, 0, 20)
    red = _num(
        comp.get("insulin_reduction", 50.0), "endpoints.composite.insulin_reduction", source, 0, 100
    )

    alist = raw.get("analyses")
    if not isinstance(alist, list) or not alist:
        raise ScenarioError(source, "analyses", "a non-empty array of tables [[analyses]]", alist)
    analyses = []
    for i, a in enumerate(alist):
        where = f"analyses[{i}]."
        if not isinstance(a, dict):
            raise ScenarioError(source, f"analyses[{i}]", "a table", a)
        _unknown(a, "analyses", where, source)
        ep = a.get("endpoint")
        if ep not in ENDPOINTS:
            raise ScenarioError(source, where + "endpoint", "one of " + ", ".join(ENDPOINTS), ep)
        default = "fisher" if ep == "composite" else "ancova"
        method = a.get("method", default)
        allowed = EXACT_TESTS if ep == "composite" else CONTINUOUS_METHODS
        if ep == "insulin_pchg":
            allowed = ("ancova",)
        if method not in allowed:
            raise ScenarioError(
                source,
                where + "method",
                f"for endpoint '{ep}' one of " + ", ".join(allowed),
                method,
            )
        if method == "mmrm" and len(weeks) < 3:
            raise ScenarioError(
                source,
                "visits.weeks",
                "at least 2 post-baseline visits for an MMRM analysis",
                weeks,
            )
        alpha = _num(a.get("alpha", 0.05), where + "alpha", source, 0.0, 0.5)
        if alpha == 0:
            raise ScenarioError(source, where + "alpha", "a significance level in (0, 0.5]", 0)
        alt = a.get("alternative", "two-sided")
        if alt not in ("two-sided", "greater", "less"):
            raise ScenarioError(
                source, where + "alternative", "'two-sided', 'greater' or 'less'", alt
            )
        ms = a.get("max_sims", 50)
        if not isinstance(ms, int) or isinstance(ms, bool) or ms < 1:
            raise ScenarioError(source, where + "max_sims", "a whole number >= 1", ms)
        name = a.get("name", f"{ep}_{method}")
        if not isinstance(name, str) or name in {x.name for x in analyses}:
            raise ScenarioError(source, where + "name", "a unique name", name)
        analyses.append(Analysis(name, ep, method, alpha, alt, ms))

    sequential = _parse_sequential(raw, analyses, source)

    return Scenario(
        name=str(sc.get("name", Path(source).stem if source != "<mapping>" else "scenario")),
        arm_names=(names[0], names[1]),
        n=(int(ns[0]), int(ns[1])),
        visits=tuple(weeks),
        model_kind=kind,
        model_params=dict(params),
        parametric=parametric,
        dropout_mechanism=mech,
        dropout_rate=(rates[0], rates[1]),
        mar_slope=slope,
        binary_missing=bmiss,
        derive_composite=derive,
        hba1c_below=below,
        insulin_reduction=red,
        analyses=tuple(analyses),
        trial=trial,
        source=source,
        sequential=sequential,
        raw=raw,
    )


def _parse_sequential(
    raw: Mapping[str, Any], analyses: list[Analysis], source: str
) -> dict[str, Any] | None:
    """``[sequential]``: looks, information, spending, futility, binding, beta — the arguments
    of :func:`.group_sequential` (a two-element array ``["hsd", -4]`` is a spending family)."""
    if "sequential" not in raw:
        return None
    seq = _table(raw, "sequential", source)
    _unknown(seq, "sequential", "sequential.", source)

    def family(key: str, value: Any) -> Any:
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            return (value[0], value[1])
        return value

    spec: dict[str, Any] = {"k": seq.get("looks", 2)}
    if "information" in seq:
        spec["information_rates"] = seq["information"]
    if "spending" in seq:
        spec["spending"] = family("spending", seq["spending"])
    if "futility" in seq:
        spec["futility"] = family("futility", seq["futility"])
    if "binding" in seq:
        spec["binding"] = seq["binding"]
    if "beta" in seq:
        spec["beta"] = seq["beta"]
    if any(a.method == "mmrm" for a in analyses):
        raise ScenarioError(
            source, "sequential", "analyses without MMRM (interim MMRM fits are not simulated)"
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


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    parts = dotted.split(".")
    node: Any = raw
    # arm names may contain dots? no: they are matched whole between the dots
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
