"""The structure of a synthetic cohort's generative model, read from a trial's
``synthetic_model.toml`` (format version 2, docs/synthetic.md) or derived from its design and
published aggregates when the trial has no model file.

A :class:`ModelSpec` holds the *structure* (which covariates and parameters are drawn, with
which distribution, visits, schedule and derivation) and refers to every statistical value
by name; :class:`ValueSource` says where each named value comes from: a row of
``published.csv`` (``[published]``) or an ``assumed`` value with its reason. The operations
are a closed vocabulary (:data:`DISTRIBUTIONS`, :data:`DERIVATIONS`, :data:`MEASURES`); no
expression from a data file is evaluated.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .design import MEASURES, TrialDesign
from .errors import DesignError

#: Distributions of subject-level covariates.
DISTRIBUTIONS = ("normal", "truncnormal", "lognormal", "bernoulli", "categorical", "product")
#: Derivations of a longitudinal parameter from another one.
DERIVATIONS = ("linear_change",)
#: How the within-patient deviation at visits between anchors is scaled.
VISIT_SD_SCALES = ("absolute", "percent_of_baseline")
FORMAT_VERSION = 2


@dataclass(frozen=True)
class ValueSource:
    """Where a named model value comes from: ``published`` (a ``published.csv`` row per arm,
    times ``sign``) or ``assumed`` (``value``: a number or a mapping arm -> number, and the
    ``reason``)."""

    label: str
    quantity: str = ""
    week: float | None = None
    statistic: str = ""
    sign: float = 1.0
    value: Any = None
    reason: str = ""
    #: for an SD taken from an endpoint's ``assumed_sds``: the declared values, of which the
    #: model keeps the median of those agreeing with the published between-arm p-values
    choices: tuple[float, ...] = ()


@dataclass(frozen=True)
class Covariate:
    """A subject-level variable drawn once per patient (``distribution`` in
    :data:`DISTRIBUTIONS`). ``mean``/``sd``/``prob`` are value names, or mappings level ->
    value name when ``by`` names a categorical covariate drawn before; ``product`` multiplies
    the ``factors`` (covariates drawn before)."""

    name: str
    distribution: str
    mean: str | Mapping[str, str] = ""
    sd: str | Mapping[str, str] = ""
    by: str = ""
    prob: str = ""
    levels: tuple[str, ...] = ()
    probs: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    decimals: int | None = None
    output: bool = True


@dataclass(frozen=True)
class Anchor:
    """A visit at which a parameter's distribution is given per arm: the ``measure``
    (``value``, ``chg`` or ``pchg``) has mean ``mean`` and SD ``sd`` (value names); ``rho`` is
    the correlation of its latent score with the baseline's (value name; blank: 0)."""

    week: float
    measure: str
    mean: str
    sd: str
    rho: str = ""


@dataclass(frozen=True)
class Parameter:
    """A longitudinal parameter (a design ``PARAMCD``): baseline distribution (``mean``/``sd``
    value names, truncated to ``base_low``-``base_high``) or a covariate (``baseline_from``),
    the anchors, and the trajectory between them (see :mod:`trial_analysis.synthetic`)."""

    code: str
    base_mean: str = ""
    base_sd: str = ""
    baseline_from: str = ""
    base_low: float = -math.inf
    base_high: float = math.inf
    anchors: tuple[Anchor, ...] = ()
    derive: str = ""  # "linear_change" or ""
    derive_of: str = ""
    derive_slope: str = ""
    derive_noise_sd: str = ""
    visit_sd: str = ""
    visit_sd_scale: str = "absolute"
    weeks: tuple[float, ...] = ()  # measured visits (blank: every scheduled visit)
    decimals: int = 1
    low: float = -math.inf
    high: float = math.inf
    fit_low: float = -math.inf
    fit_high: float = math.inf

    @property
    def step(self) -> float:
        return 10.0**-self.decimals


@dataclass(frozen=True)
class ModelSpec:
    """A generative model's structure and the source of each named value."""

    covariates: tuple[Covariate, ...]
    parameters: tuple[Parameter, ...]
    values: Mapping[str, ValueSource]
    tau: str = ""  # value name of the trajectory time constant (blank: linear)
    visit_ar1: str = ""  # value name of the AR(1) correlation of visit deviations
    dropout: str = ""  # value name of an assumed per-arm withdrawal probability
    calibrate_endpoint: str = ""
    calibrate_value: str = ""
    withdrawal_reasons: tuple[str, ...] = ("Withdrawal by subject",)
    shipped_seed: int = 0
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def parameter(self, code: str) -> Parameter:
        for p in self.parameters:
            if p.code == code:
                return p
        raise KeyError(code)


# ------------------------------------------------------------------------------------------
# Design bounds
# ------------------------------------------------------------------------------------------
def design_bounds(design: TrialDesign, variable: str) -> tuple[float, float]:
    """The design's range of ``variable``: its eligibility criterion, else its subject
    variable's or parameter's plausibility limits, else unbounded."""
    for c in design.eligibility:
        if c.variable == variable:
            return (
                -math.inf if c.low is None else float(c.low),
                math.inf if c.high is None else float(c.high),
            )
    for v in design.subject_variables:
        if v.name == variable:
            return float(v.low), float(v.high)
    for p in design.parameters:
        if p.code == variable:
            return float(p.low), float(p.high)
    return -math.inf, math.inf


def _range(design: TrialDesign, code: str) -> tuple[float, float]:
    for p in design.parameters:
        if p.code == code:
            return float(p.low), float(p.high)
    return -math.inf, math.inf


def _decimals(design: TrialDesign, code: str) -> int:
    for p in design.parameters:
        if p.code == code and p.resolution:
            return max(0, round(-math.log10(p.resolution)))
    return 1


# ------------------------------------------------------------------------------------------
# Reading a model file (format version 2)
# ------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, path: str, names: set[str]):
        self.path, self.names = path, names

    def fail(self, key: str, expected: str, got: Any = ...) -> DesignError:
        return DesignError(self.path, key, expected, got)

    def name(self, t: Mapping, key: str, where: str, required: bool = True) -> str:
        v = t.get(key, "")
        if v == "" and not required:
            return ""
        if not isinstance(v, str) or v not in self.names:
            raise self.fail(
                f"{where}.{key}",
                "the name of a value in [published] or [assumed.<name>]",
                v,
            )
        return v

    def level_names(self, t: Mapping, key: str, where: str) -> str | Mapping[str, str]:
        v = t.get(key, "")
        if isinstance(v, Mapping):
            return {str(k): self.name(v, k, f"{where}.{key}") for k in v}
        return self.name(t, key, where)

    def number(self, t: Mapping, key: str, where: str, default: float) -> float:
        v = t.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(f"{where}.{key}", "a number", v)
        return float(v)

    def choice(self, t: Mapping, key: str, where: str, choices: tuple[str, ...], default: str):
        v = t.get(key, default)
        if v not in choices:
            raise self.fail(f"{where}.{key}", "one of " + ", ".join(choices), v)
        return v

    def keys(self, t: Mapping, allowed: set[str], where: str) -> None:
        extra = sorted(set(t) - allowed)
        if extra:
            raise self.fail(f"{where}.{extra[0]}", "one of " + ", ".join(sorted(allowed)), "?")


def _values(raw: Mapping, path: str, arms: tuple[str, ...]) -> dict[str, ValueSource]:
    out: dict[str, ValueSource] = {}
    for name, link in raw.get("published", {}).items():
        if not (isinstance(link, list) and len(link) in (3, 4)):
            raise DesignError(
                path, f"published.{name}", "[quantity, week, statistic] or [..., sign]", link
            )
        q, week, stat = link[:3]
        sign = float(link[3]) if len(link) == 4 else 1.0
        out[name] = ValueSource("published", str(q), week, str(stat), sign)
    for name, t in raw.get("assumed", {}).items():
        where = f"assumed.{name}"
        if not isinstance(t, Mapping) or "value" not in t:
            raise DesignError(path, where, "a table with value and reason", t)
        if not str(t.get("reason", "")).strip():
            raise DesignError(path, f"{where}.reason", "the reason for the assumed value")
        v = t["value"]
        if isinstance(v, Mapping):
            if set(v) != set(arms):
                raise DesignError(path, f"{where}.value", "one value per arm " + str(arms), v)
            v = {a: float(v[a]) for a in arms}
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DesignError(path, f"{where}.value", "a number or a mapping arm -> number", v)
        else:
            v = float(v)
        if name in out:
            raise DesignError(path, where, "a name not also in [published]", name)
        out[name] = ValueSource("assumed", value=v, reason=str(t["reason"]))
    return out


def read_spec(raw: Mapping, path: str, design: TrialDesign) -> ModelSpec:
    """Parse a format-version-2 model file against ``design``."""
    if raw.get("format_version") != FORMAT_VERSION:
        raise DesignError(path, "format_version", str(FORMAT_VERSION), raw.get("format_version"))
    values = _values(raw, path, design.arm_names)
    rd = _Reader(path, set(values))
    m = raw.get("model", {})
    rd.keys(
        m,
        {"trial", "shipped_seed", "withdrawal_reasons", "tau", "visit_ar1", "dropout", "calibrate"},
        "model",
    )
    cal = m.get("calibrate", {})
    rd.keys(cal, {"endpoint", "value"}, "model.calibrate")
    if cal:
        try:
            ep = design.endpoint(cal.get("endpoint", ""))
        except KeyError:
            raise rd.fail(
                "model.calibrate.endpoint", "a binary endpoint id of the design", cal
            ) from None
        if ep.type != "binary" or len({c.parameter for c in ep.components}) < 2:
            raise rd.fail(
                "model.calibrate.endpoint",
                "a binary endpoint whose rule has components on two parameters",
                ep.id,
            )
    covs: list[Covariate] = []
    seen: set[str] = set()
    for i, t in enumerate(raw.get("covariates", [])):
        where = f"covariates[{i}]"
        rd.keys(
            t,
            {
                "name", "distribution", "mean", "sd", "by", "prob", "levels", "probs",
                "factors", "low", "high", "decimals", "output",
            },
            where,
        )  # fmt: skip
        name = str(t.get("name", ""))
        if not name.isidentifier():
            raise rd.fail(f"{where}.name", "a column name", name)
        dist = rd.choice(t, "distribution", where, DISTRIBUTIONS, "")
        lo, hi = design_bounds(design, name)
        kw: dict[str, Any] = {
            "low": rd.number(t, "low", where, lo),
            "high": rd.number(t, "high", where, hi),
            "decimals": t.get("decimals"),
            "output": bool(t.get("output", True)),
        }
        if dist in ("normal", "truncnormal", "lognormal"):
            by = str(t.get("by", ""))
            if by and by not in seen:
                raise rd.fail(f"{where}.by", "a categorical covariate listed before", by)
            kw.update(
                by=by, mean=rd.level_names(t, "mean", where), sd=rd.level_names(t, "sd", where)
            )
        elif dist == "bernoulli":
            levels = tuple(map(str, t.get("levels", ("Y", "N"))))
            if len(levels) != 2:
                raise rd.fail(f"{where}.levels", "two levels [if true, if false]", levels)
            kw.update(prob=rd.name(t, "prob", where), levels=levels)
        elif dist == "categorical":
            levels = tuple(map(str, t.get("levels", ())))
            probs = t.get("probs", [])
            if len(levels) < 2 or len(probs) != len(levels):
                raise rd.fail(f"{where}.probs", "one probability name per level", probs)
            kw.update(
                levels=levels,
                probs=tuple(rd.name({"p": p}, "p", f"{where}.probs") for p in probs),
            )
        else:  # product
            factors = tuple(map(str, t.get("factors", ())))
            if len(factors) < 2 or set(factors) - seen:
                raise rd.fail(f"{where}.factors", "two or more covariates listed before", factors)
            kw.update(factors=factors)
        covs.append(Covariate(name, dist, **kw))
        seen.add(name)
    codes = {p.code for p in design.parameters}
    params: list[Parameter] = []
    for i, t in enumerate(raw.get("parameters", [])):
        where = f"parameters[{i}]"
        rd.keys(
            t,
            {
                "code", "baseline", "visits", "derive", "visit_sd", "visit_sd_scale", "weeks",
                "decimals", "low", "high", "fit_bounds",
            },
            where,
        )  # fmt: skip
        code = str(t.get("code", ""))
        if code not in codes:
            raise rd.fail(f"{where}.code", "a parameter code of the design", code)
        plo, phi = _range(design, code)
        b = t.get("baseline", {})
        rd.keys(b, {"mean", "sd", "covariate", "low", "high"}, f"{where}.baseline")
        elo, ehi = design_bounds(design, code)
        kw = {
            "low": rd.number(t, "low", where, plo),
            "high": rd.number(t, "high", where, phi),
            "decimals": int(t.get("decimals", _decimals(design, code))),
            "base_low": rd.number(b, "low", f"{where}.baseline", max(elo, plo)),
            "base_high": rd.number(b, "high", f"{where}.baseline", min(ehi, phi)),
        }
        if "covariate" in b:
            if b["covariate"] not in seen:
                raise rd.fail(f"{where}.baseline.covariate", "a covariate listed before", b)
            kw["baseline_from"] = str(b["covariate"])
        else:
            kw["base_mean"] = rd.name(b, "mean", f"{where}.baseline")
            kw["base_sd"] = rd.name(b, "sd", f"{where}.baseline")
        anchors = []
        for j, v in enumerate(t.get("visits", [])):
            w = f"{where}.visits[{j}]"
            rd.keys(v, {"week", "measure", "mean", "sd", "rho"}, w)
            week = rd.number(v, "week", w, math.nan)
            if week not in design.visit_weeks or week == min(design.visit_weeks):
                raise rd.fail(f"{w}.week", "a post-baseline visit week of the design", week)
            anchors.append(
                Anchor(
                    week,
                    rd.choice(v, "measure", w, MEASURES, "value"),
                    rd.name(v, "mean", w),
                    rd.name(v, "sd", w),
                    rd.name(v, "rho", w, required=False),
                )
            )
        kw["anchors"] = tuple(sorted(anchors, key=lambda a: a.week))
        d = t.get("derive")
        if d:
            rd.keys(d, {"operation", "of", "slope", "noise_sd"}, f"{where}.derive")
            kw["derive"] = rd.choice(d, "operation", f"{where}.derive", DERIVATIONS, "")
            if d.get("of") not in {p.code for p in params}:
                raise rd.fail(f"{where}.derive.of", "a parameter listed before", d.get("of"))
            kw.update(
                derive_of=str(d["of"]),
                derive_slope=rd.name(d, "slope", f"{where}.derive"),
                derive_noise_sd=rd.name(d, "noise_sd", f"{where}.derive"),
            )
            if anchors:
                raise rd.fail(f"{where}.visits", "no visits for a derived parameter", "visits")
        kw["visit_sd"] = rd.name(t, "visit_sd", where, required=False)
        kw["visit_sd_scale"] = rd.choice(t, "visit_sd_scale", where, VISIT_SD_SCALES, "absolute")
        weeks = tuple(float(x) for x in t.get("weeks", ()))
        if set(weeks) - set(design.visit_weeks):
            raise rd.fail(f"{where}.weeks", "visit weeks of the design", list(weeks))
        kw["weeks"] = weeks
        fb = t.get("fit_bounds")
        if fb is not None:
            if not (isinstance(fb, list) and len(fb) == 2):
                raise rd.fail(f"{where}.fit_bounds", "[low, high]", fb)
            kw["fit_low"], kw["fit_high"] = float(fb[0]), float(fb[1])
        else:
            kw["fit_low"], kw["fit_high"] = kw["low"], kw["high"]
        params.append(Parameter(code, **kw))
    if not params:
        raise rd.fail("parameters", "at least one [[parameters]] table")
    return ModelSpec(
        covariates=tuple(covs),
        parameters=tuple(params),
        values=values,
        tau=rd.name(m, "tau", "model", required=False),
        visit_ar1=rd.name(m, "visit_ar1", "model", required=False),
        dropout=rd.name(m, "dropout", "model", required=False),
        calibrate_endpoint=str(cal.get("endpoint", "")),
        calibrate_value=str(cal.get("value", "")) or (f"rho_{cal['endpoint']}" if cal else ""),
        withdrawal_reasons=tuple(m.get("withdrawal_reasons", ("Withdrawal by subject",))),
        shipped_seed=int(m.get("shipped_seed", 0)),
        source=path,
    )


def load_spec(folder: Path, design: TrialDesign, published: pd.DataFrame) -> ModelSpec:
    """The model of the trial in ``folder``: its ``synthetic_model.toml`` if there is one,
    else :func:`default_spec` from the design and the published aggregates."""
    path = folder / "synthetic_model.toml"
    if not path.is_file():
        return default_spec(design, published)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(str(path), "(file)", "valid TOML", str(exc)) from None
    except UnicodeDecodeError:
        raise DesignError(str(path), "(file)", "UTF-8 text") from None
    return read_spec(raw, str(path), design)


# ------------------------------------------------------------------------------------------
# The default model: the design's endpoints and the published aggregates
# ------------------------------------------------------------------------------------------
def _rows(pub: pd.DataFrame, quantity: str | None, week: float, statistic: str, arms) -> bool:
    if not quantity or not len(pub):
        return False
    m = (pub["quantity"] == quantity) & (pub["statistic"] == statistic) & pub["arm"].isin(arms)
    m &= (pub["week"] == week).fillna(False)
    return set(pub.loc[m, "arm"]) == set(arms)


def default_spec(design: TrialDesign, published: pd.DataFrame) -> ModelSpec:
    """A generative model from the design and ``published.csv`` alone.

    Every parameter an endpoint needs is drawn per arm from its published means and SDs: the
    baseline from the endpoint's ``level`` rows at the first visit, each later visit with
    published level means as an anchor on the value scale, and the endpoint's visit from the
    ``change`` rows (on the endpoint's measure, sign by ``negate``) when no level mean is
    published there. A missing SD is taken from the endpoint's declared ``assumed_sds``
    (the median of those agreeing with the published between-arm p-values; checked when the
    model is built) and otherwise refused: ``DesignError`` lists every missing quantity.
    What no trial publishes is assumed, each value with its reason: age and sex (age on the
    eligibility range), the baseline-visit correlation (0.5, or derived from a published
    change SD and the two level SDs), linear trajectories without visit-to-visit noise.
    """
    arms = design.arm_names
    src = published.attrs.get("source_file", "published.csv")
    first = min(design.visit_weeks)
    values: dict[str, ValueSource] = {}
    missing: list[str] = []
    notes: list[str] = []

    def assume(name: str, value: Any, reason: str) -> str:
        values[name] = ValueSource("assumed", value=value, reason=reason)
        return name

    def pub(name: str, q: str, week: float, stat: str, sign: float = 1.0) -> str:
        values[name] = ValueSource("published", q, week, stat, sign)
        return name

    # Covariates: age and sex are core columns of the data format.
    alo, ahi = design_bounds(design, "AGE")
    alo, ahi = (18.0 if not math.isfinite(alo) else alo), (90.0 if not math.isfinite(ahi) else ahi)
    covs = [
        Covariate(
            "AGE",
            "truncnormal",
            mean=assume(
                "age_mean",
                (alo + ahi) / 2,
                f"age is not a modelled quantity; the middle of the range {alo:g}-{ahi:g}",
            ),
            sd=assume("age_sd", (ahi - alo) / 4, "not published; a quarter of the age range"),
            low=alo,
            high=ahi,
            decimals=0,
        ),
        Covariate(
            "SEX",
            "bernoulli",
            prob=assume("male_prob", 0.5, "sex ratio not modelled: half men"),
            levels=("M", "F"),
        ),
    ]
    for v in design.subject_variables:
        if v.required:
            missing.append(
                f"subject variable {v.name} (required by the design): its distribution "
                "(a [[covariates]] table of a synthetic_model.toml)"
            )
    # Parameters the endpoints need, with the published rows that describe them.
    level_q: dict[str, list[str]] = {}
    change: dict[str, list[Any]] = {}
    need: list[str] = []
    for ep in design.endpoints:
        if ep.type == "binary":
            for c in ep.components:
                need.append(c.parameter)
        elif ep.type == "continuous" and ep.parameter:
            need.append(ep.parameter)
            if ep.published_quantity("level"):
                level_q.setdefault(ep.parameter, []).append(ep.published_quantity("level"))
            change.setdefault(ep.parameter, []).append(ep)
    params = []
    for code in dict.fromkeys(need):
        plo, phi = _range(design, code)
        elo, ehi = design_bounds(design, code)
        qs = level_q.get(code, [])
        lq = next((q for q in qs if _rows(published, q, first, "mean", arms)), None)
        label = code.lower()
        base_ok = lq is not None and _rows(published, lq, first, "sd", arms)
        if not base_ok:
            missing.append(
                f"{code} at baseline (week {first:g}): per-arm mean and SD (the 'level' rows "
                f"of an endpoint on {code}, quantity {qs[0] if qs else '?'!r})"
            )
            lq = lq or (qs[0] if qs else None)
        bm = pub(f"{label}_base_mean", lq, first, "mean")
        bs = pub(f"{label}_base_sd", lq, first, "sd")
        anchors = []
        for week in sorted(w for w in design.visit_weeks if w > first):
            if _rows(published, lq, week, "mean", arms):
                mean = pub(f"{label}_{week:g}_mean", lq, week, "mean")
                if _rows(published, lq, week, "sd", arms):
                    sd = pub(f"{label}_{week:g}_sd", lq, week, "sd")
                else:
                    missing.append(f"{code} at week {week:g}: per-arm SD (quantity {lq!r})")
                    continue
                rho = assume(
                    f"{label}_{week:g}_rho",
                    0.5,
                    f"correlation of {code} between baseline and week {week:g} not published; "
                    "0.5, a moderate within-patient correlation",
                )
                anchors.append(Anchor(week, "value", mean, sd, rho))
                continue
            cands = [
                ep
                for ep in change.get(code, [])
                if ep.week == week and ep.measure != "value" and ep.published_quantity("change")
            ]
            have = [
                ep
                for ep in cands
                if _rows(published, ep.published_quantity("change"), week, "mean", arms)
            ]
            if cands and not have:
                qs_c = ", ".join(repr(ep.published_quantity("change")) for ep in cands)
                missing.append(f"{code} at week {week:g}: per-arm mean ({qs_c} or {lq!r})")
            for ep in have[:1]:
                cq = ep.published_quantity("change")
                sign = -1.0 if ep.negate else 1.0
                mean = pub(f"{label}_{ep.measure}_{week:g}_mean", cq, week, "mean", sign)
                name = f"{label}_{ep.measure}_{week:g}_sd"
                if _rows(published, cq, week, "sd", arms):
                    sd = pub(name, cq, week, "sd")
                elif ep.assumed_sds:
                    sd = assume(
                        name,
                        float(statistics.median_high(ep.assumed_sds)),
                        f"SD of {code} {ep.measure} at week {week:g} not published; the median "
                        f"of the design's assumed SDs {list(ep.assumed_sds)} for endpoint "
                        f"{ep.id!r} that agree with its published between-arm p-values",
                    )
                    values[sd] = dataclasses.replace(
                        values[sd], choices=tuple(float(x) for x in ep.assumed_sds)
                    )
                else:
                    missing.append(
                        f"{code} {ep.measure} at week {week:g}: per-arm SD (quantity {cq!r}; "
                        f"or assumed_sds on endpoint {ep.id!r})"
                    )
                    continue
                anchors.append(Anchor(week, ep.measure, mean, sd))
        if not base_ok:
            continue
        params.append(
            Parameter(
                code,
                base_mean=bm,
                base_sd=bs,
                base_low=max(elo, plo),
                base_high=min(ehi, phi),
                anchors=tuple(anchors),
                decimals=_decimals(design, code),
                low=plo,
                high=phi,
                fit_low=plo,
                fit_high=phi,
            )
        )
        if not anchors:
            notes.append(f"{code}: no published post-baseline distribution; only the baseline")
    if missing:
        raise DesignError(
            src,
            "(synthetic cohort)",
            "the published per-arm aggregates a synthetic cohort needs, or a "
            "synthetic_model.toml assuming them (docs/synthetic.md); missing: "
            + "; ".join(missing),
        )
    cal_ep = ""
    for ep in sorted(design.endpoints, key=lambda e: e.role != "primary"):
        if ep.type == "binary" and len({c.parameter for c in ep.components}) >= 2:
            cal_ep = ep.id
            break
    return ModelSpec(
        covariates=tuple(covs),
        parameters=tuple(params),
        values=values,
        calibrate_endpoint=cal_ep,
        calibrate_value=f"rho_{cal_ep}" if cal_ep else "",
        source=f"{src} (default model: design endpoints and published aggregates)",
        notes=tuple(notes),
    )
