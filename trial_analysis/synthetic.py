"""Synthetic patient-level data: a generative model of a trial's patients, fitted to its
published aggregates, and exact synthetic cohorts that reproduce those aggregates.

The model is generic: its *structure* comes from the trial's ``synthetic_model.toml``
(format version 2, ``docs/synthetic.md``) or, for a trial without one, from the endpoints its
``design.toml`` declares and the per-arm aggregates of its ``published.csv``
(:func:`trial_analysis._synthetic_spec.default_spec`). Every value the structure uses has a
name and a source, shown by :meth:`GenerativeModel.to_frame`:

* **published**: a ``published.csv`` row per arm (``[published]`` links; read at run time);
* **derived**: the analysed denominators and responder counts implied by the published
  percentages and CI of the responder endpoint
  (:func:`trial_analysis.consistency.published_counts`), the withdrawal probability they imply,
  and the correlation between the rule's two parameters calibrated so that the model's
  response rate equals the published one (:func:`_calibrate_rho`);
* **assumed**: every other value, with its reason. Override any value by name:
  ``model_for("zang2022", insulin_pchg_sd=30)``.

The model, per arm (``z`` standard normal)::

    covariates       normal / truncated normal / lognormal / bernoulli / categorical, or the
                     product of covariates drawn before (e.g. dose = per-kg dose x weight)
    baseline X_0     truncated normal on the design's range, fitted to the mean and SD; or a
                     covariate
    anchor visit t   measure M_t = m_t + s_t z_t, z_t = r_t z_0 + sqrt(1 - r_t^2) u_t (u AR(1)
                     over the anchors); M is the value, the change or the % change
    rule's follower  z_f = rho z_d + sqrt(1 - rho^2) z_f at the responder endpoint's visit,
                     z_d the first component's parameter (rho calibrated)
    other visits     X_a + f(t) (X_b - X_a) between anchors a and b, plus AR(1) deviations;
                     f(t) = (1 - exp(-(t - a)/tau)) / (1 - exp(-(b - a)/tau)), linear without tau
    derived          linear_change: X_t = X_0 + slope (Y_t - Y_0) + noise

Binary endpoints are evaluated by the design's rule with the same code as patient data
(``trial_analysis.ipd``'s rule evaluation).

:func:`synthetic_ipd` with ``exact=True`` draws a cohort of the randomised size and then moves
values on their recording grid until every published aggregate the model uses is reproduced
to the published precision in the analysed population, with each responder meeting every
component of the rule and each non-responder failing one. ``exact=False`` draws a fresh cohort
from the fitted model. Every synthetic table carries ``SYNTHFL = "Y"``.

**Published inferences.** An exact cohort never contradicts a published between-arm p-value
(``published.csv`` rows ``p_value`` of "<experimental> vs <control>" for a design endpoint;
see :func:`published_inferences`): (1) assumed SDs of an endpoint measure the model draws with
a published mean difference are refused when the t-test at the model's means and the
analysed denominators contradicts the published p (``DesignError`` naming the key; the check
is recorded in the SD's provenance); (2) exact cohorts fit those SDs, not only the means;
(3) the endpoint's pre-specified test (its ``method`` in ``design.toml``: ANCOVA with model and
HC3 SEs, or Fisher's exact test) is run on every exact draw (:func:`inference_checks`), and a
draw that contradicts a published p is redrawn from the same seeded stream (at most 20 draws,
then an ``AnalysisError``). A bound ``p < b`` needs ``p < b``; an exact ``p = v`` needs the
same conclusion at α = 0.05. ``exact=False`` draws are not conditioned (their checks are in
``ipd.info["inferences"]``).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ._paths import trial_dir
from ._synthetic_spec import Anchor, ModelSpec, Parameter, load_spec
from ._validate import check_count
from .design import Provenance, TrialDesign, evaluate_rule
from .errors import AnalysisError, DesignError, ParameterError
from .ipd import IPD, SUBJECT_COLUMNS
from .published import published_value

__all__ = [
    "GenerativeModel",
    "PublishedInference",
    "inference_checks",
    "model_for",
    "published_inferences",
    "synthetic_ipd",
]

_CALIBRATION_DRAWS = 100_000
# Draws of an exact cohort before giving up on honouring the published inferences.
_MAX_ATTEMPTS = 20
# Values every model derives (not in a model file).
_DERIVED = ("response_rate", "dropout")
_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def _truncnorm(mean: float, sd: float, lo: float, hi: float):
    return stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)


def _rtrunc(mean, sd, lo: float, hi: float, size: tuple[int, ...], rng: np.random.Generator):
    """Truncated-normal draws by inversion (scipy's truncnorm.rvs is ~10x slower)."""
    if lo == -math.inf and hi == math.inf:
        return mean + sd * rng.standard_normal(size)
    a, b = special.ndtr((lo - mean) / sd), special.ndtr((hi - mean) / sd)
    u = a + (b - a) * rng.random(size)
    return np.clip(mean + sd * special.ndtri(u), lo, hi)


@lru_cache(maxsize=256)
def _fit_truncnorm(mean: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """(mu, sigma) of a normal whose truncation to [lo, hi] has the given mean and SD."""
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return mean, sd

    def eqs(p: np.ndarray) -> list[float]:
        mu, log_s = p
        m, v = _truncnorm(mu, math.exp(log_s), lo, hi).stats("mv")
        return [float(m) - mean, math.sqrt(float(v)) - sd]

    sol, _, ier, _ = optimize.fsolve(eqs, [mean, math.log(sd)], full_output=True)
    if ier != 1 or max(abs(x) for x in eqs(sol)) > 1e-6:
        raise AnalysisError(
            f"no truncated normal on [{lo:g}, {hi:g}] has mean {mean:g} and SD {sd:g}"
        )
    return float(sol[0]), float(math.exp(sol[1]))


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return x if lo == -math.inf and hi == math.inf else np.clip(x, lo, hi)


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], t: int, phi: float) -> np.ndarray:
    """AR(1) standard-normal sequences of length ``t`` along the first axis."""
    e = rng.standard_normal((t, *shape))
    if t == 1:
        return e
    out = np.empty_like(e)
    out[0] = e[0]
    s = math.sqrt(1 - phi * phi)
    for j in range(1, t):
        out[j] = phi * out[j - 1] + s * e[j]
    return out


def _measure(level: np.ndarray, base: np.ndarray, measure: str) -> np.ndarray:
    """A level as the endpoint's measure: value, change or % change from baseline."""
    if measure == "value":
        return level
    if measure == "chg":
        return level - base
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base != 0, 100 * (level - base) / base, np.nan)


def _level(meas: np.ndarray, base: np.ndarray, measure: str) -> np.ndarray:
    if measure == "value":
        return meas
    if measure == "chg":
        return base + meas
    return base * (1 + meas / 100)


def _key(code: str, week: float, measure: str = "value") -> str:
    """Draw keys: ``HBA1C_48`` (value), ``INSDOSE_PCHG_48``, ``HBA1C_CHG_48``."""
    w = f"{week:g}"
    return f"{code}_{w}" if measure == "value" else f"{code}_{measure.upper()}_{w}"


@dataclass(frozen=True)
class _Calibration:
    endpoint: str
    driver: str
    follower: str
    week: float
    value: str


@dataclass(frozen=True, eq=False)
class GenerativeModel:
    """Generative model of a trial's patients (see the module docstring).

    ``values`` maps each named model value to a number or to a mapping ``arm -> number``;
    each is also an attribute (``model.insulin_pchg_sd["Placebo"]``). Change values with
    :meth:`with_params`; a calibrated correlation is then kept as is, whereas
    :func:`model_for` with overrides re-calibrates it. ``provenance`` says where each value
    comes from; ``analysed`` is ``arm -> (responders, analysed)`` of the responder endpoint
    (``responder_endpoint``; responders 0 when the trial has none).
    """

    trial: str
    design: TrialDesign = field(repr=False)
    arms: tuple[str, ...]
    spec: ModelSpec = field(repr=False)
    values: Mapping[str, Any] = field(repr=False)
    analysed: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    responder_endpoint: str = ""
    shipped_seed: int = 0
    provenance: Mapping[str, Provenance] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute or model value {name!r}")

    def value(self, name: str, arm: str) -> float:
        """The value ``name`` for ``arm``."""
        v = self.values[name]
        return float(v[arm]) if isinstance(v, Mapping) else float(v)

    @property
    def withdrawal_reasons(self) -> tuple[str, ...]:
        return self.spec.withdrawal_reasons

    @property
    def sparse_parameters(self) -> tuple[str, ...]:
        """Parameters measured at some visits only (their ``weeks`` in the model file)."""
        return tuple(p.code for p in self.spec.parameters if p.weeks)

    # -- parameters ----------------------------------------------------------------------
    def with_params(self, **params: Any) -> GenerativeModel:
        """A copy with named values replaced; a mapping sets arms, a number every arm.

        >>> import trial_analysis as ta
        >>> m = ta.synthetic.model_for("zang2022").with_params(insulin_pchg_sd=30.0)
        >>> m.insulin_pchg_sd["Placebo"]
        30.0
        """
        out = dict(self.values)
        for k, v in params.items():
            if k not in self.values:
                raise ParameterError(k, "a parameter of the generative model", v)
            old = self.values[k]
            if isinstance(v, Mapping):
                if set(v) - set(self.arms):
                    raise ParameterError(k, "a mapping over arms " + str(self.arms), v)
                merged = dict(old) if isinstance(old, Mapping) else dict.fromkeys(self.arms, old)
                merged.update({a: _number(k, x) for a, x in v.items()})
                out[k] = merged
            elif isinstance(old, Mapping):
                out[k] = dict.fromkeys(self.arms, _number(k, v))
            else:
                out[k] = _number(k, v)
        prov = dict(self.provenance)
        for k in params:
            prov[k] = Provenance("user", reason=f"set by the user: {k} = {params[k]!r}")
        return dataclasses.replace(self, values=out, provenance=prov)

    def to_frame(self) -> pd.DataFrame:
        """Every value with its arm, provenance label and source or reason."""
        rows = []

        def add(name: str, arm: str, x: Any) -> None:
            p = self.provenance.get(name)
            rows.append(
                {
                    "parameter": name,
                    "arm": arm,
                    "value": x,
                    "provenance": p.label if p else "",
                    "source": (p.source or p.reason) if p else "",
                }
            )

        for name, v in self.values.items():
            for arm, x in v.items() if isinstance(v, Mapping) else [("", v)]:
                add(name, arm, x)
        if self.responder_endpoint:
            for arm, (k, n) in self.analysed.items():
                add("analysed", arm, f"{k}/{n}")
        return pd.DataFrame(rows, columns=["parameter", "arm", "value", "provenance", "source"])

    # -- the calibrated rule -------------------------------------------------------------
    @property
    def _calibration(self) -> _Calibration | None:
        if not self.spec.calibrate_endpoint:
            return None
        ep = self.design.endpoint(self.spec.calibrate_endpoint)
        driver = ep.components[0].parameter
        follower = next(c.parameter for c in ep.components if c.parameter != driver)
        for code in (driver, follower):
            try:
                p = self.spec.parameter(code)
            except KeyError:
                p = None
            if p is None or not any(a.week == ep.week for a in p.anchors):
                raise DesignError(
                    self.spec.source,
                    f"parameters.{code}",
                    f"a visit at week {ep.week:g} (endpoint {ep.id!r}'s rule is calibrated on "
                    f"{driver} and {follower})",
                )
        return _Calibration(ep.id, driver, follower, ep.week, self.spec.calibrate_value)

    # -- draws ---------------------------------------------------------------------------
    def _covariates(
        self,
        arm: str,
        size: tuple[int, ...],
        rng: np.random.Generator,
        only: set[str] | None = None,
        text: bool = False,
    ) -> dict:
        """Covariate draws; a categorical one as level codes (``out[name]`` the level index,
        its text levels under ``(name, "text")`` when ``text``)."""
        out: dict[Any, np.ndarray] = {}
        for c in self.spec.covariates:
            if only is not None and c.name not in only:
                continue
            dist = c.distribution
            if dist in ("normal", "truncnormal", "lognormal"):
                mean, sd = (
                    self._by_level(c, c.mean, arm, out, size),
                    self._by_level(c, c.sd, arm, out, size),
                )
                if dist == "truncnormal":
                    x = _rtrunc(mean, sd, c.low, c.high, size, rng)
                elif dist == "normal":
                    x = _clip(mean + sd * rng.standard_normal(size), c.low, c.high)
                else:
                    s2 = np.log1p((sd / mean) ** 2)
                    x = np.exp(np.log(mean) - s2 / 2 + np.sqrt(s2) * rng.standard_normal(size))
                    x = _clip(x, c.low, c.high)
            elif dist == "bernoulli":
                x = (rng.random(size) >= self.value(c.prob, arm)).astype(np.int8)  # 0: levels[0]
            elif dist == "categorical":
                p = np.array([self.value(n, arm) for n in c.probs])
                if np.any(p < 0) or abs(p.sum() - 1) > 1e-6:
                    raise DesignError(
                        self.spec.source, f"covariates.{c.name}.probs", "probabilities summing to 1"
                    )
                x = np.searchsorted(np.cumsum(p), rng.random(size) * p.sum(), side="right")
                x = x.clip(0, len(p) - 1)
            else:  # product
                x = np.ones(size)
                for f in c.factors:
                    x = x * out[f]
                x = _clip(x, c.low, c.high)
            if dist in ("bernoulli", "categorical"):
                if text:
                    out[(c.name, "text")] = np.asarray(c.levels, dtype=object)[x]
            elif c.decimals is not None:
                x = np.round(x, int(c.decimals))
            out[c.name] = x
        return out

    def _by_level(self, c, names, arm: str, drawn: dict, size) -> Any:
        if not isinstance(names, Mapping):
            return self.value(names, arm)
        levels = next(x.levels for x in self.spec.covariates if x.name == c.by)
        if set(names) != set(levels):
            raise DesignError(
                self.spec.source,
                f"covariates.{c.name}",
                f"a value for every level of {c.by} {list(levels)}",
                sorted(names),
            )
        return np.array([self.value(names[lv], arm) for lv in levels])[drawn[c.by]]

    def _levels(
        self,
        arm: str,
        size: tuple[int, ...],
        rng: np.random.Generator,
        cov: dict,
        rho: float | None = None,
        only: set[str] | None = None,
    ) -> dict[str, dict[Any, np.ndarray]]:
        """Baseline and anchor levels of every parameter (latent scores in ``("z", week)``)."""
        cal = self._calibration
        rho = (self.value(cal.value, arm) if cal else 0.0) if rho is None else rho
        phi = self.value(self.spec.visit_ar1, arm) if self.spec.visit_ar1 else 0.0
        params = sorted(
            (p for p in self.spec.parameters if not p.derive and (only is None or p.code in only)),
            key=lambda p: bool(cal) and p.code == cal.follower,
        )
        out: dict[str, dict[Any, np.ndarray]] = {}
        for p in params:
            d: dict[Any, np.ndarray] = {}
            if p.baseline_from:
                b = np.asarray(cov[p.baseline_from], dtype=float)
                z0 = np.zeros(size)
            else:
                m0, s0 = self.value(p.base_mean, arm), self.value(p.base_sd, arm)
                mu, sig = _fit_truncnorm(m0, s0, p.base_low, p.base_high)
                b = _rtrunc(mu, sig, p.base_low, p.base_high, size, rng)
                z0 = (b - m0) / s0
            d["base"], d["z0"] = b, z0
            u = _ar1(rng, size, len(p.anchors), phi) if p.anchors else ()
            for a, ua in zip(p.anchors, u, strict=False):
                r = self.value(a.rho, arm) if a.rho else 0.0
                z = r * z0 + math.sqrt(1 - r * r) * ua
                if cal and p.code == cal.follower and a.week == cal.week:
                    d[("own", a.week)] = z
                    z = rho * out[cal.driver][("z", a.week)] + math.sqrt(1 - rho * rho) * z
                meas = self.value(a.mean, arm) + self.value(a.sd, arm) * z
                if a.measure == "pchg":
                    meas = np.maximum(meas, -100.0)
                d[("z", a.week)] = z
                d[("meas", a.week)] = meas
                d[a.week] = np.clip(_level(meas, b, a.measure), p.low, p.high)
            out[p.code] = d
        for p in self.spec.parameters:
            if p.derive and (only is None or p.code in only):  # linear_change, at its anchors
                m0, s0 = self.value(p.base_mean, arm), self.value(p.base_sd, arm)
                mu, sig = _fit_truncnorm(m0, s0, p.base_low, p.base_high)
                b = _rtrunc(mu, sig, p.base_low, p.base_high, size, rng)
                d = {"base": b, "z0": (b - m0) / s0}
                src = out[p.derive_of]
                slope = self.value(p.derive_slope, arm)
                noise = self.value(p.derive_noise_sd, arm)
                for k in [k for k in src if isinstance(k, float | int)]:
                    lv = b + slope * (src[k] - src["base"]) + noise * rng.standard_normal(size)
                    d[k] = np.clip(lv, p.low, p.high)
                out[p.code] = d
        return out

    def _measure_of(self, draw: dict, code: str, measure: str, week: float) -> np.ndarray:
        d = draw.get(code)
        if d is None or week not in d:
            raise DesignError(
                self.spec.source,
                f"parameters.{code}",
                f"a distribution of {code} at week {week:g} (an endpoint's rule or measure)",
            )
        p = self.spec.parameter(code)
        a = next((a for a in p.anchors if a.week == week), None)
        if a is not None and a.measure == measure:
            return d[("meas", week)]
        return _measure(d[week], d["base"], measure)

    def _rule(self, ep: Any, draw: dict) -> np.ndarray:
        """The design's rule of binary endpoint ``ep`` on drawn levels (1.0/0.0)."""
        shape = None

        def measure(param: str, meas: str) -> np.ndarray:
            nonlocal shape
            v = self._measure_of(draw, param, meas, ep.week)
            shape = v.shape
            return np.asarray(v, dtype=float).ravel()

        flat = evaluate_rule(ep.components, measure)
        return flat.reshape(shape)

    def draw_endpoints(
        self,
        n_by_arm: Mapping[str, int],
        n_trials: int,
        rng: np.random.Generator | int | None = None,
        dropout: float | Mapping[str, float] | None = None,
        *,
        need: Any = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Fast vectorised draws of the endpoint variables of ``n_trials`` simulated trials.

        Parameters
        ----------
        n_by_arm : mapping
            Patients per arm, e.g. ``{"UC-MSC": 45, "Placebo": 46}``.
        n_trials : int
            Number of simulated trials.
        rng : numpy Generator or int seed
        dropout : float or mapping, optional
            Probability of missing post-baseline data per arm (NaN in the post-baseline
            arrays, the endpoint values and ``RESPONDER``); default none.
        need : ignored
            Accepted for the interface of the parametric scenario model.

        Returns
        -------
        dict
            ``arm -> arrays`` of shape ``(n_trials, n_arm)``: for each parameter an endpoint
            uses, ``<PARAMCD>_BASE`` and at each endpoint's week ``<PARAMCD>_<week>`` (value)
            and ``<PARAMCD>_CHG_<week>`` / ``<PARAMCD>_PCHG_<week>`` where an endpoint uses
            the change; each endpoint's value under its id (binary 1.0/0.0 by the design's
            rule, continuous the endpoint's measure); ``RESPONDER``, the responder endpoint's
            value.
        """
        del need
        rng = np.random.default_rng(rng)
        n_trials = check_count("n_trials", n_trials, minimum=1)
        drop = self._dropout_arg(dropout, default=0.0)
        codes, covs = self._needed()
        out = {}
        for arm, n in self._n_by_arm(n_by_arm).items():
            size = (n_trials, n)
            cov = self._covariates(arm, size, rng, only=covs)
            draw = self._levels(arm, size, rng, cov, only=codes)
            miss = rng.random(size) < drop[arm] if drop[arm] > 0 else None
            res: dict[str, np.ndarray] = {}

            def post(x: np.ndarray, miss=miss) -> np.ndarray:
                return x if miss is None else np.where(miss, np.nan, x)

            for ep in self.design.endpoints:
                if ep.type == "binary" and ep.components:
                    uses = [(c.parameter, c.measure) for c in ep.components]
                elif ep.type == "continuous" and ep.parameter:
                    uses = [(ep.parameter, ep.measure)]
                else:
                    continue
                for code, meas in uses:
                    if code not in draw:
                        continue
                    res[f"{code}_BASE"] = draw[code]["base"]
                    res[_key(code, ep.week)] = post(draw[code][ep.week])
                    if meas != "value":
                        res[_key(code, ep.week, meas)] = post(
                            self._measure_of(draw, code, meas, ep.week)
                        )
                if not all(code in draw for code, _ in uses):
                    continue
                if ep.type == "binary":
                    res[ep.id] = post(self._rule(ep, draw))
                else:
                    res[ep.id] = post(self._measure_of(draw, ep.parameter, ep.measure, ep.week))
            if self.responder_endpoint in res:
                res["RESPONDER"] = res[self.responder_endpoint]
            out[arm] = res
        return out

    def _needed(self) -> tuple[set[str], set[str]]:
        """Parameters and covariates the endpoints need (with what they are derived from)."""
        codes = set()
        for ep in self.design.endpoints:
            codes |= {c.parameter for c in ep.components} | ({ep.parameter} - {""})
        known = {p.code: p for p in self.spec.parameters}
        codes &= set(known)
        todo = list(codes)
        while todo:
            p = known[todo.pop()]
            if p.derive and p.derive_of not in codes:
                codes.add(p.derive_of)
                todo.append(p.derive_of)
        covs = {known[c].baseline_from for c in codes} - {""}
        by_name = {c.name: c for c in self.spec.covariates}
        todo = list(covs)
        while todo:
            c = by_name[todo.pop()]
            for dep in (*c.factors, c.by):
                if dep and dep not in covs:
                    covs.add(dep)
                    todo.append(dep)
        return codes, covs

    def _n_by_arm(self, n_by_arm: Mapping[str, int]) -> dict[str, int]:
        if not isinstance(n_by_arm, Mapping) or set(n_by_arm) - set(self.arms):
            raise ParameterError("n_by_arm", "a mapping from arm names " + str(self.arms), n_by_arm)
        return {
            a: check_count(f"n_by_arm[{a!r}]", n_by_arm[a], minimum=1)
            for a in self.arms
            if a in n_by_arm
        }

    def _dropout_arg(self, dropout: Any, default: float | None) -> dict[str, float]:
        if dropout is None:
            if default is None:
                return {a: self.value("dropout", a) for a in self.arms}
            return dict.fromkeys(self.arms, default)
        if isinstance(dropout, Mapping):
            vals = {a: float(dropout.get(a, 0.0)) for a in self.arms}
        else:
            vals = dict.fromkeys(self.arms, float(dropout))
        if any(not 0 <= v < 1 for v in vals.values()):
            raise ParameterError("dropout", "probabilities in [0, 1)", dropout)
        return vals

    # -- full cohorts --------------------------------------------------------------------
    def sample_ipd(
        self,
        n_by_arm: Mapping[str, int],
        rng: np.random.Generator | int | None = None,
        dropout: float | Mapping[str, float] | None = None,
    ) -> IPD:
        """Draw a synthetic cohort (every visit, every parameter) from the model.

        Parameters
        ----------
        n_by_arm : mapping
            Patients per arm.
        rng : numpy Generator or int seed
        dropout : float or mapping, optional
            Probability of withdrawing before the primary visit, per arm; default the model's
            ``dropout`` (derived from the published denominators).

        Returns
        -------
        IPD
            ``synthetic=True``; its design has the drawn arm sizes as ``n_randomised``.
        """
        rng = np.random.default_rng(rng)
        n = self._n_by_arm(n_by_arm)
        drop = self._dropout_arg(dropout, default=None)
        wide = self._draw_wide(n, rng, withdrawals={a: drop[a] for a in n}, fixed=False)
        return self._assemble(wide, n, rng, source=f"synthetic:{self.trial} (model draw)")

    def _draw_wide(
        self,
        n: dict[str, int],
        rng: np.random.Generator,
        withdrawals: Mapping[str, float],
        fixed: bool,
    ) -> pd.DataFrame:
        """One row per subject: covariates, baseline and anchor levels, withdrawal."""
        parts = []
        for arm, k in n.items():
            size = (k,)
            cov = self._covariates(arm, size, rng, text=True)
            draw = self._levels(arm, size, rng, cov)
            cols: dict[str, Any] = {"ARM": np.full(k, arm, dtype=object)}
            cols.update({n: v for n, v in cov.items() if isinstance(n, str)})
            cols.update({n[0]: v for n, v in cov.items() if not isinstance(n, str)})
            for code, d in draw.items():
                cols[f"{code}@base"] = d["base"]
                for key, v in d.items():
                    if isinstance(key, float | int):
                        cols[f"{code}@{key:g}"] = v
            if fixed:
                wd = np.zeros(k, bool)
                wd[rng.choice(k, size=round(withdrawals[arm]), replace=False)] = True
            else:
                wd = rng.random(k) < withdrawals[arm]
            cols["WITHDRAWN"] = wd
            parts.append(pd.DataFrame(cols))
        return pd.concat(parts, ignore_index=True)

    def _trajectory(self, p: Parameter, w: pd.DataFrame, weeks: np.ndarray, rng) -> np.ndarray:
        """Levels at every visit: anchors joined by the time-constant curve, plus AR(1)
        deviations off the anchors; anchors kept exactly (exact cohorts fix them)."""
        k = len(w)
        arm = w["ARM"].to_numpy()
        base = w[f"{p.code}@base"].to_numpy(dtype=float)
        at = [float(weeks[0]), *(a.week for a in p.anchors)]
        lv = [base, *(w[f"{p.code}@{a.week:g}"].to_numpy(dtype=float) for a in p.anchors)]
        tau = {a: self.value(self.spec.tau, a) for a in self.arms} if self.spec.tau else None
        out = np.empty((k, len(weeks)))
        for j, t in enumerate(weeks):
            i = int(np.searchsorted(at, t, side="right")) - 1
            if at[i] == t or i == len(at) - 1:
                out[:, j] = lv[i]
                continue
            span, s = at[i + 1] - at[i], t - at[i]
            if tau is None:
                f = np.full(k, s / span)
            else:
                tv = np.array([tau[a] for a in arm])
                f = (1 - np.exp(-s / tv)) / (1 - np.exp(-span / tv))
            out[:, j] = lv[i] + f * (lv[i + 1] - lv[i])
        if p.visit_sd:
            phi = (
                np.array([self.value(self.spec.visit_ar1, a) for a in arm]).mean()
                if (self.spec.visit_ar1)
                else 0.0
            )
            dev = _ar1(rng, (k,), len(weeks), float(phi)).T
            sd = np.array([self.value(p.visit_sd, a) for a in arm])
            scale = sd if p.visit_sd_scale == "absolute" else sd / 100 * base
            dev = dev * scale[:, None]
            dev[:, np.isin(weeks, at)] = 0.0
            out = out + dev
        out = np.clip(np.round(out, p.decimals), p.low, p.high)
        for t, v in zip(at, lv, strict=True):
            out[:, weeks == t] = np.round(v, p.decimals)[:, None]
        return out

    def _assemble(
        self, w: pd.DataFrame, n: Mapping[str, int], rng: np.random.Generator, source: str
    ) -> IPD:
        """Visits, administrations and the two ADaM-like tables from the per-subject levels."""
        d = self.design
        if dict(n) != {a.name: a.n_randomised for a in d.arms if a.name in n} or len(n) != len(
            d.arms
        ):
            kept = [a for a in d.arms if a.name in n]
            d = dataclasses.replace(
                d, arms=tuple(dataclasses.replace(a, n_randomised=n[a.name]) for a in kept)
            )
        weeks = np.array(d.visit_weeks, dtype=float)
        primary = max(e.week for e in d.endpoints)
        k = len(w)
        # Allocation order is random: identifiers do not reveal the arm (blinded trial).
        perm = rng.permutation(k)
        w = w.iloc[perm].reset_index(drop=True)
        ids = np.array([f"{self.design.id.upper()}-{i + 1:03d}" for i in range(k)], dtype=object)
        # Last attended visit of withdrawn subjects: a scheduled visit before the primary one.
        before = weeks[(weeks > weeks.min()) & (weeks < primary)]
        last = np.where(
            w["WITHDRAWN"].to_numpy(),
            rng.choice(before, size=k) if len(before) else weeks.min(),
            weeks.max(),
        )
        reasons = np.array(self.withdrawal_reasons, dtype=object)
        dcs = np.where(w["WITHDRAWN"].to_numpy(), rng.choice(reasons, size=k), "").astype(object)
        subj: dict[str, Any] = {
            "STUDYID": np.full(k, d.id, dtype=object),
            "USUBJID": ids,
            "ARM": w["ARM"].to_numpy(dtype=object),
        }
        declared = {v.name for v in d.subject_variables}
        for c in self.spec.covariates:
            if c.output and (c.name in SUBJECT_COLUMNS or c.name in declared):
                subj[c.name] = w[c.name].to_numpy()
        for f in ("RANDFL", "SAFFL", "ITTFL"):
            subj[f] = np.full(k, "Y", dtype=object)
        subj["PPROTFL"] = np.where(w["WITHDRAWN"].to_numpy(), "N", "Y").astype(object)
        subj["DCSREAS"] = dcs
        pre = d.administration_records
        if pre:
            treated = np.isin(
                w["ARM"].to_numpy(),
                [d.dose.arm] if d.dose.arm else [a.name for a in d.experimental_arms],
            )
            amount = self._dose_amounts(d, w)
            for i, wk in enumerate(d.infusion_weeks, start=1):
                given = last >= wk
                col = pd.array(np.where(given, wk, -1), dtype="Int64")
                col[~given] = pd.NA
                subj[f"{pre}{i}WK"] = col
                subj[f"{pre}{i}DOSE"] = np.where(given, np.where(treated, amount, 0.0), np.nan)
        subj["SYNTHFL"] = np.full(k, "Y", dtype=object)
        core = [c for c in ("STUDYID", *SUBJECT_COLUMNS) if c in subj and not c.startswith("INF")]
        rest = [c for c in subj if c not in core and c != "SYNTHFL"]
        records = [c for c in rest if pre and c.startswith(pre) and c[len(pre) :][:1].isdigit()]
        extra = [c for c in rest if c not in records]
        flags = ["RANDFL", "SAFFL", "ITTFL", "PPROTFL", "DCSREAS"]
        head = [c for c in core if c not in flags] + [c for c in extra if c not in flags]
        wk_cols = [c for c in records if c.endswith("WK")]
        dose_cols = [c for c in records if c.endswith("DOSE")]
        order = [*head, *flags, *wk_cols, *dose_cols, "SYNTHFL"]
        subjects = pd.DataFrame(
            {
                c: pd.Series(subj[c], dtype=object)
                if isinstance(subj[c], np.ndarray) and subj[c].dtype == object
                else subj[c]
                for c in order
            }
        )
        tabs: dict[str, np.ndarray] = {}
        for p in self.spec.parameters:
            if not p.derive:
                tabs[p.code] = self._trajectory(p, w, weeks, rng)
        for p in self.spec.parameters:
            if p.derive:
                src = tabs[p.derive_of]
                arm = w["ARM"].to_numpy()
                slope = np.array([self.value(p.derive_slope, a) for a in arm])[:, None]
                noise = np.array([self.value(p.derive_noise_sd, a) for a in arm])[:, None]
                v = w[f"{p.code}@base"].to_numpy(dtype=float)[:, None] + slope * (src - src[:, :1])
                v = v + noise * rng.standard_normal(v.shape) * (weeks > weeks.min())
                tabs[p.code] = np.clip(np.round(v, p.decimals), p.low, p.high)
        blocks = []
        attended = weeks[None, :] <= last[:, None]
        codes = [p.code for p in d.parameters]
        for code in codes:
            if code not in tabs:
                continue
            vals = tabs[code]
            keep = attended & ~np.isnan(vals)
            sp = self.spec.parameter(code)
            if sp.weeks:
                keep &= np.isin(weeks, sp.weeks)[None, :]
            ii, jj = np.nonzero(keep)
            aval = vals[ii, jj]
            base = vals[ii, 0]
            chg = np.round(aval - base, 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                pchg = np.where(base != 0, np.round(100 * chg / base, 2), np.nan)
            blocks.append(
                pd.DataFrame(
                    {
                        "USUBJID": pd.Series(ids[ii], dtype=object),
                        "PARAMCD": pd.Series(np.full(len(ii), code, dtype=object), dtype=object),
                        "AVISITN": weeks[jj].astype(np.int64),
                        "AVAL": aval,
                        "BASE": base,
                        "CHG": chg,
                        "PCHG": pchg,
                    }
                )
            )
        meas = pd.concat(blocks, ignore_index=True)
        order = np.lexsort(
            (
                meas["AVISITN"].to_numpy(),
                meas["PARAMCD"].map({c: i for i, c in enumerate(codes)}).to_numpy(),
                meas["USUBJID"].to_numpy(),
            )
        )
        meas = meas.iloc[order].reset_index(drop=True)
        meas["SYNTHFL"] = pd.Series(np.full(len(meas), "Y", dtype=object), dtype=object)
        if pre:
            subjects = self._add_infusion_dates(subjects, d, rng)
        return IPD(subjects, meas, d, synthetic=True, source=source)

    def _dose_amounts(self, d: TrialDesign, w: pd.DataFrame) -> np.ndarray:
        rule = d.dose
        if rule.basis == "fixed":
            return np.full(len(w), float(rule.amount))
        col = "WEIGHT" if rule.basis == "per_kg" else "BSA"
        if col not in w:
            raise DesignError(
                self.spec.source,
                "covariates",
                f"a {col} covariate (the design's dose is {rule.basis})",
            )
        return np.round(rule.amount * w[col].to_numpy(dtype=float))

    def _add_infusion_dates(
        self, subjects: pd.DataFrame, d: TrialDesign, rng: np.random.Generator
    ) -> pd.DataFrame:
        """``<records>kDT``: randomisation spread over the enrolment period of the design's
        ``trial.period`` (e.g. "October 2015 to December 2018" minus follow-up); administration
        k on day 7 x week +- 2 days. Skipped when the period is not given."""
        period = str(d.info.get("period", ""))
        parts = [p.strip() for p in period.split(" to ")]
        try:
            start, end = (pd.Timestamp(p) for p in parts)
        except (ValueError, TypeError):
            return subjects
        pre = d.administration_records
        last_start = end - pd.Timedelta(weeks=d.follow_up_weeks)
        span = max((last_start - start).days, 1)
        k = len(subjects)
        day0 = start + pd.to_timedelta(np.sort(rng.integers(0, span, k)), unit="D")
        day0 = day0.to_numpy()[np.argsort(np.argsort(subjects["USUBJID"].to_numpy()))]
        out = subjects.copy()
        pos = list(out.columns).index(f"{pre}{len(d.infusion_weeks)}WK") + 1
        for i, wk in enumerate(d.infusion_weeks, start=1):
            jitter = 0 if wk == 0 else rng.integers(-2, 3, k)
            dt = day0 + pd.to_timedelta(7 * wk + jitter, unit="D").to_numpy()
            given = out[f"{pre}{i}WK"].notna().to_numpy()
            dt = np.where(given, dt, np.datetime64("NaT")).astype("datetime64[ns]")
            out.insert(pos + i - 1, f"{pre}{i}DT", dt)
        return out


def _number(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ParameterError(name, "a number (or a mapping arm -> number)", x)
    return float(x)


# ------------------------------------------------------------------------------------------
# Building the model for a trial
# ------------------------------------------------------------------------------------------
def _folder(trial: str) -> Path:
    p = Path(trial)
    return p if p.is_dir() and (p / "design.toml").is_file() else trial_dir(trial)


def _calibrate_rho(model: GenerativeModel, arm: str, target: float) -> float:
    """Correlation of the responder rule's two parameters giving the target response rate."""
    cal = model._calibration
    ep = model.design.endpoint(cal.endpoint)
    rng = np.random.default_rng(12345)  # common random numbers: a smooth, deterministic root
    size = (_CALIBRATION_DRAWS,)
    draw = model._levels(arm, size, rng, model._covariates(arm, size, rng), rho=0.0)
    p = model.spec.parameter(cal.follower)
    a = next(a for a in p.anchors if a.week == cal.week)
    f = draw[cal.follower]
    zd, zf, base = draw[cal.driver][("z", cal.week)], f[("own", cal.week)], f["base"]
    m, s = model.value(a.mean, arm), model.value(a.sd, arm)

    def rate(rho: float) -> float:
        meas = m + s * (rho * zd + math.sqrt(1 - rho * rho) * zf)
        if a.measure == "pchg":
            meas = np.maximum(meas, -100.0)
        f[("meas", cal.week)] = meas
        f[cal.week] = np.clip(_level(meas, base, a.measure), p.low, p.high)
        return float(np.nanmean(model._rule(ep, draw)))

    lo, hi = -0.98, 0.98
    rlo, rhi = rate(lo) - target, rate(hi) - target
    if rlo * rhi > 0:
        raise AnalysisError(
            f"arm {arm!r}: no correlation in [-0.98, 0.98] gives the published response rate "
            f"{100 * target:.2f}% (reachable {100 * (rlo + target):.2f}%-{100 * (rhi + target):.2f}%);"
            f" change the assumed SDs or means of {cal.driver} and {cal.follower}"
        )
    return float(optimize.brentq(lambda r: rate(r) - target, lo, hi, xtol=1e-4))


def model_for(trial: str, **overrides: Any) -> GenerativeModel:
    """The generative model of ``trial``'s patients, fitted to its published aggregates.

    Parameters
    ----------
    trial : str
        A shipped trial name or a trial folder with ``design.toml`` and ``published.csv``;
        its ``synthetic_model.toml`` gives the model (format version 2, docs/synthetic.md),
        else the model is derived from the declared endpoints and the published aggregates.
    **overrides
        Any named value of the model (per-arm ones as a mapping or a number). The calibrated
        correlation of the responder rule is re-calibrated to the response rates unless given.

    Returns
    -------
    GenerativeModel

    Notes
    -----
    The analysed denominators and responder counts come from
    :func:`trial_analysis.consistency.published_counts` on the published percentages (and
    CI) of the responder endpoint (for Zang 2022 only 9/45 vs 2/44 reproduces 20 % vs
    4.55 %, CI 2.25-28.66 %); without a CI, the randomised numbers when they reproduce the
    percentages. The arm's withdrawal probability is ``1 - analysed / randomised``.

    References
    ----------
    Zang L, et al. Stem Cell Res Ther 2022;13:180 (abstract: the published aggregates).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> m = ta.synthetic.model_for("zang2022")
    >>> m.analysed["UC-MSC"], m.analysed["Placebo"]
    ((9, 45), (2, 44))
    >>> draws = m.draw_endpoints({"UC-MSC": 45, "Placebo": 46}, n_trials=1000, rng=1)
    >>> draws["UC-MSC"]["RESPONDER"].shape
    (1000, 45)
    """
    base = _model_cached(str(trial))
    if not overrides:
        return base
    m = base.with_params(**overrides)
    cal = m._calibration
    if cal and cal.value not in overrides:
        rho = {a: _calibrate_rho(m, a, m.value("response_rate", a)) for a in m.arms}
        m = dataclasses.replace(m, values={**m.values, cal.value: rho})
    return m


def _responder_counts(trial: Any, ep: Any) -> tuple[dict[str, tuple[int, int]], Provenance]:
    """``arm -> (responders, analysed)`` behind the published percentages of ``ep``."""
    from .consistency.counts import published_counts

    d = trial.design
    c = d.control_arm.name
    out: dict[str, tuple[int, int]] = {}
    how = []
    for e in d.experimental_arms:
        cand = published_counts(trial, ep.id, experimental=e.name)
        p1, p2, ci = (cand.attrs[k] for k in ("p1", "p2", "ci"))
        cand = cand.drop_duplicates(subset=["x1", "n1", "x2", "n2"])
        if len(cand) > 1:  # no CI: the randomised numbers, when they reproduce the percentages
            full = cand[(cand["n1"] == e.n_randomised) & (cand["n2"] == d.control_arm.n_randomised)]
            cand = full if len(full) == 1 else cand
        if len(cand) != 1:
            raise AnalysisError(
                f"the published {ep.id!r} result of {d.id} ({e.name} vs {c}) is reproduced by "
                f"{len(cand)} sets of counts, not exactly one; the synthetic cohort needs unique "
                "denominators (publish the CI, or give n rows)"
            )
        r = cand.iloc[0]
        x2 = (int(r["x2"]), int(r["n2"]))
        if c in out and out[c] != x2:
            raise AnalysisError(
                f"the published {ep.id!r} percentages of {d.id} imply different control counts "
                f"({out[c]} and {x2})"
            )
        out[e.name], out[c] = (int(r["x1"]), int(r["n1"])), x2
        ci_txt = f", CI {ci[0]:g}-{ci[1]:g}" if ci else ""
        how.append(f"infer_counts({p1:g}, {p2:g}{ci_txt}): method {r.get('method', '')}")
    return {a: out[a] for a in d.arm_names}, Provenance("derived", source="; ".join(how))


@lru_cache(maxsize=8)
def _model_cached(trial: str) -> GenerativeModel:
    from .trial import load_trial

    folder = _folder(trial)
    t = load_trial(folder)
    design, pub = t.design, t.published
    spec = load_spec(folder, design, pub)
    arms = design.arm_names
    src = pub.attrs.get("source_file", "published.csv")
    values: dict[str, Any] = {}
    prov: dict[str, Provenance] = {}
    for name, vs in spec.values.items():
        if vs.label == "published":
            week = None if vs.week in (None, "") else vs.week
            try:
                values[name] = {
                    a: vs.sign * published_value(pub, vs.quantity, a, week, vs.statistic)
                    for a in arms
                }
            except KeyError as exc:
                raise DesignError(
                    spec.source, f"published.{name}", "a published.csv row for every arm", str(exc)
                ) from None
            prov[name] = Provenance(
                "published", source=f"{Path(src).name}: {vs.quantity}, week {week}, {vs.statistic}"
            )
        else:
            values[name] = dict(vs.value) if isinstance(vs.value, Mapping) else vs.value
            prov[name] = Provenance("assumed", reason=vs.reason)
    for name in (*_DERIVED, spec.calibrate_value):
        if name and name in values:
            raise DesignError(spec.source, name, "a name the generator does not derive", name)
    # The responder endpoint: the calibrated rule, else the primary binary endpoint published.
    resp = spec.calibrate_endpoint
    if not resp:
        for ep in sorted(design.endpoints, key=lambda e: e.role != "primary"):
            q = ep.published_quantity("percent")
            if ep.type == "binary" and ep.components and q and (pub["quantity"] == q).any():
                resp = ep.id
                break
    if resp:
        analysed, prov["analysed"] = _responder_counts(t, design.endpoint(resp))
        values["response_rate"] = {a: analysed[a][0] / analysed[a][1] for a in arms}
        prov["response_rate"] = Provenance("derived", source="responders / analysed")
    else:
        analysed = {}
    rand = {a: design.arm(a).n_randomised for a in arms}
    if spec.dropout and not analysed:  # an assumed withdrawal probability
        drop = {a: float(np.clip(_val(values[spec.dropout], a), 0, 0.99)) for a in arms}
        analysed = {a: (0, rand[a] - round(drop[a] * rand[a])) for a in arms}
        prov["dropout"] = dataclasses.replace(prov[spec.dropout], source=f"= {spec.dropout}")
    elif analysed:
        drop = {a: 1 - analysed[a][1] / rand[a] for a in arms}
        prov["dropout"] = Provenance(
            "derived", source="1 - analysed / randomised (the unanalysed patients are withdrawals)"
        )
    else:
        drop = dict.fromkeys(arms, 0.0)
        prov["dropout"] = Provenance(
            "assumed", reason="no published denominators below the randomised numbers: none"
        )
    if not analysed:
        analysed = {a: (0, design.arm(a).n_randomised) for a in arms}
    values["dropout"] = drop
    m = GenerativeModel(
        trial=trial,
        design=design,
        arms=arms,
        spec=spec,
        values=values,
        analysed=analysed,
        responder_endpoint=resp,
        shipped_seed=spec.shipped_seed,
        provenance=prov,
    )
    _check_assumed_sds(m, pub, prov)
    cal = m._calibration
    if cal:
        m = dataclasses.replace(m, values={**values, cal.value: dict.fromkeys(arms, 0.0)})
        rho = {a: _calibrate_rho(m, a, m.value("response_rate", a)) for a in arms}
        prov[cal.value] = Provenance(
            "derived",
            source=f"calibrated so that the model's {cal.endpoint!r} response rate equals the "
            "published one",
        )
        m = dataclasses.replace(m, values={**values, cal.value: rho}, provenance=prov)
    return m


def _val(v: Any, arm: str) -> float:
    return float(v[arm]) if isinstance(v, Mapping) else float(v)


# ------------------------------------------------------------------------------------------
# Published inferences: the between-arm p-values a cohort must not contradict
# ------------------------------------------------------------------------------------------
# A published exact p-value ("p = 0.0081") is honoured when the cohort's p is on the same side
# of this conventional level (the conclusion it supports).
_ALPHA = 0.05
_INFERENCE_ROLES = ("percent", "change", "level")


@dataclass(frozen=True)
class PublishedInference:
    """One published between-arm p-value of a design endpoint (a row of ``published.csv``)."""

    endpoint: str
    quantity: str
    relation: str
    value: float
    line: int  # line of published.csv (the header is line 1)
    arm: str = ""  # the experimental arm compared with the control (blank: the first)

    def holds(self, p: float) -> bool:
        """Whether a p-value ``p`` agrees with the published one (bound, or conclusion at
        α = 0.05 for an exact published p)."""
        if not math.isfinite(p):
            return False
        if self.relation == "=":
            return (p < _ALPHA) == (self.value < _ALPHA)
        return bool(_OPS[self.relation](p, self.value))

    @property
    def significant(self) -> bool | None:
        """Whether the paper reported the comparison as significant at α = 0.05 (``None``
        when the published bound does not say, e.g. ``p < 0.1``)."""
        if self.relation == "=":
            return self.value < _ALPHA
        if self.relation in ("<", "<=") and self.value <= _ALPHA:
            return True
        if self.relation in (">", ">=") and self.value >= _ALPHA:
            return False
        return None

    @property
    def text(self) -> str:
        if self.relation == "=":
            verdict = "significant" if self.value < _ALPHA else "not significant"
            return f"p = {self.value:g} ({verdict} at α = {_ALPHA:g})"
        return f"p {self.relation} {self.value:g}"


def published_inferences(design: TrialDesign, published: pd.DataFrame) -> list[PublishedInference]:
    """The published between-arm p-values (each experimental arm vs the control, at the
    endpoint's week) of every endpoint of ``design``, from a
    :func:`~trial_analysis.published.load_published` frame.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> from trial_analysis.synthetic import published_inferences
    >>> d, pub = ta.load_design("zang2022"), ta.published.load_published("zang2022")
    >>> [(i.endpoint, i.text) for i in published_inferences(d, pub)][:2]
    [('composite', 'p < 0.05'), ('insulin', 'p < 0.05')]
    """
    out = []
    if not len(published):
        return out
    pairs = {f"{e.name} vs {design.control_arm.name}": e.name for e in design.experimental_arms}
    for ep in design.endpoints:
        quantities = {ep.published_quantity(r) for r in _INFERENCE_ROLES} - {None}
        hit = (
            published["quantity"].isin(quantities)
            & published["arm"].isin(list(pairs))
            & (published["statistic"] == "p_value")
            & (published["week"] == ep.week).fillna(False)
        )
        for i, r in published.loc[hit].iterrows():
            out.append(
                PublishedInference(
                    ep.id,
                    str(r["quantity"]),
                    str(r["relation"]),
                    float(r["value"]),
                    int(i) + 2,
                    pairs[str(r["arm"])],
                )
            )
    return out


def _prespecified_p(ipd: IPD, ep: Any, arm: str = "") -> list[tuple[str, float]]:
    """``(method, p)`` of the endpoint's pre-specified between-arm test on ``ipd`` (``arm``
    against the control), as the reanalysis computes it (ANCOVA: model and HC3 SEs; Fisher:
    minimum-likelihood p, R's ``fisher.test``), complete cases of the endpoint's population."""
    from .binary import fisher_pvalues
    from .continuous import ancova
    from .reanalysis._common import ipd_population

    d = ipd.design
    e, c = arm or d.experimental_arm.name, d.control_arm.name
    ev = ipd.endpoint_values(ep.id, population=ipd_population(ep, None))
    ev = ev.loc[ev["ARM"].isin((e, c))]
    method = ep.method or ("fisher" if ep.type == "binary" else "ancova")
    if method == "fisher" and ep.type == "binary":
        v = ev.dropna(subset=["value"])
        x = v.groupby("ARM")["value"].agg(["sum", "count"])
        p = fisher_pvalues(
            int(x.at[e, "sum"]), int(x.at[e, "count"]), int(x.at[c, "sum"]), int(x.at[c, "count"])
        )["minlike"]
        return [("Fisher exact (minimum likelihood)", p)]
    if method == "ancova" and ep.type != "binary":
        base = f"BASE_{ep.parameter}"
        covs = [v for v in ep.covariates if v != base]
        ev = ev.assign(y=(-1.0 if ep.negate else 1.0) * ev["value"])
        ev = ev.dropna(subset=["y", base, *covs])
        t = ancova(ev, "y", base, "ARM", control=c, covariates=covs).to_frame()
        t = t.loc[t["comparison"] == f"{e} - {c}"]
        return [(f"ANCOVA, {r['se_type']} SE", float(r["p_value"])) for _, r in t.iterrows()]
    raise AnalysisError(
        f"endpoint {ep.id!r}: its published p-value cannot be checked on a synthetic cohort: "
        f"pre-specified method {method!r} (type {ep.type}) is not 'ancova' (continuous) or "
        "'fisher' (binary)"
    )


def inference_checks(ipd: IPD, published: pd.DataFrame) -> pd.DataFrame:
    """Each published between-arm p-value of ``ipd``'s design against the cohort's
    pre-specified analysis of that endpoint (the endpoint's ``method`` in ``design.toml``).

    Parameters
    ----------
    ipd : IPD
        Patient-level data with a design (e.g. a synthetic cohort).
    published : DataFrame
        The trial's :func:`~trial_analysis.published.load_published` frame.

    Returns
    -------
    DataFrame
        ``endpoint, quantity, line, published, method, p_value, holds``: one row per
        published p-value and analysis (ANCOVA gives a model-SE and an HC3 row).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ipd = ta.synthetic_ipd("zang2022")
    >>> chk = ta.synthetic.inference_checks(ipd, ta.published.load_published("zang2022"))
    >>> bool(chk["holds"].all())
    True
    """
    if ipd.design is None:
        raise ParameterError("ipd", "patient-level data with a design", ipd)
    rows = []
    for inf in published_inferences(ipd.design, published):
        for method, p in _prespecified_p(ipd, ipd.design.endpoint(inf.endpoint), inf.arm):
            rows.append(
                {
                    "endpoint": inf.endpoint,
                    "quantity": inf.quantity,
                    "line": inf.line,
                    "published": inf.text,
                    "method": method,
                    "p_value": p,
                    "holds": inf.holds(p),
                }
            )
    cols = ["endpoint", "quantity", "line", "published", "method", "p_value", "holds"]
    return pd.DataFrame(rows, columns=cols)


def _drawn_anchor(model: GenerativeModel, ep: Any) -> Anchor | None:
    """The anchor on which the model draws continuous endpoint ``ep``'s measure directly."""
    if ep.type != "continuous" or not ep.parameter:
        return None
    try:
        p = model.spec.parameter(ep.parameter)
    except KeyError:
        return None
    return next((a for a in p.anchors if a.week == ep.week and a.measure == ep.measure), None)


def _inference_sds(model: GenerativeModel, published: pd.DataFrame) -> set[str]:
    """SD names an exact cohort fits because a published between-arm p-value depends on them."""
    out = set()
    for inf in published_inferences(model.design, published):
        a = _drawn_anchor(model, model.design.endpoint(inf.endpoint))
        if a is not None:
            out.add(a.sd)
    return out


def _t_p(model: GenerativeModel, a: Anchor, inf: PublishedInference, sd: float) -> float:
    """The Student t-test p of an anchor's means at a common SD and the analysed sizes."""
    from .continuous import sd_sensitivity

    c = model.design.control_arm.name
    e = inf.arm
    res = sd_sensitivity(
        model.value(a.mean, e),
        model.value(a.mean, c),
        model.analysed[e][1],
        model.analysed[c][1],
        sd=[sd],
        alpha=_ALPHA,
    )
    return float(res.p_value[0])


def _check_assumed_sds(
    model: GenerativeModel, published: pd.DataFrame, prov: dict[str, Provenance]
) -> None:
    """Refuse assumed SDs under which the model itself contradicts a published inference.

    For an endpoint whose measure the model draws directly with an assumed SD and a published
    between-arm p-value, the Student t-test at the model's means and SDs and the analysed
    denominators (what an exact cohort, whose SDs are fitted to these, gives up to the
    ANCOVA's baseline adjustment) must agree with it; the check is recorded in the SD's
    provenance.
    """
    from .continuous import sd_sensitivity

    design = model.design
    c = design.control_arm.name
    src = published.attrs.get("source_file", "published.csv")
    for inf in published_inferences(design, published):
        ep = design.endpoint(inf.endpoint)
        a = _drawn_anchor(model, ep)
        if a is None or prov.get(a.sd, Provenance("assumed")).label != "assumed":
            continue  # a published SD: the exact cohort's own check applies
        e = inf.arm
        me, mc = model.value(a.mean, e), model.value(a.mean, c)
        se, sc = model.value(a.sd, e), model.value(a.sd, c)
        if me == mc:
            continue
        n1, n2 = model.analysed[e][1], model.analysed[c][1]
        level = inf.value if inf.relation != "=" else _ALPHA
        res = sd_sensitivity(me, mc, n1, n2, sd=[se], alpha=level, sd_ratio=sc / se)
        p = float(res.p_value[0])
        where = f"{Path(src).name} line {inf.line} ({inf.quantity}, {e} vs {c})"
        choices = model.spec.values[a.sd].choices if a.sd in model.spec.values else ()
        if choices:  # a design's assumed SDs: the median of those agreeing with every p
            ok = [
                x
                for x in choices
                if all(
                    inf2.holds(_t_p(model, a, inf2, x))
                    for inf2 in published_inferences(design, published)
                    if _drawn_anchor(model, design.endpoint(inf2.endpoint)) == a
                )
            ]
            if ok:
                chosen = float(statistics.median_high(ok))
                if chosen != se or any(model.value(a.sd, x) != chosen for x in model.arms):
                    model.values[a.sd] = dict.fromkeys(model.arms, chosen)
                    se = sc = chosen
                    res = sd_sensitivity(me, mc, n1, n2, sd=[se], alpha=level, sd_ratio=1.0)
                    p = float(res.p_value[0])
                prov[a.sd] = dataclasses.replace(
                    prov[a.sd],
                    reason=prov[a.sd].reason + f" (agreeing: {ok}; chosen {chosen:g})",
                )
        if not inf.holds(p):
            raise DesignError(
                model.spec.source,
                f"assumed.{a.sd}.value",
                f"SDs under which the t-test of endpoint {ep.id!r} at the analysed "
                f"{n1}/{n2} agrees with the published {inf.text} ({where}); these give "
                f"p = {p:.3g}, and with this SD ratio the {e} SD must be "
                f"{'<' if inf.relation in ('<', '<=') else '>'} {res.sd_max:.3g}",
                model.values[a.sd],
            )
        old = prov.get(a.sd, Provenance("assumed"))
        note = (
            f" Checked against the published {inf.text} ({where}): the t-test at these SDs and "
            f"the analysed {n1}/{n2} gives p = {p:.3g} ({e} SD limit {res.sd_max:.3g}); exact "
            "cohorts fit these SDs."
        )
        prov[a.sd] = dataclasses.replace(old, reason=old.reason + note)


# ------------------------------------------------------------------------------------------
# Exact cohorts
# ------------------------------------------------------------------------------------------
# Published means and SDs have 2 decimals; a value r stands for [r - 0.005, r + 0.005]. The
# cohort aims inside [r - 0.004, r + 0.004] so that no reader's floating-point rounding flips it.
_TOL = 0.004


def _stats(t: np.ndarray) -> tuple[float, float]:
    return float(t.mean()), float(t.std(ddof=1)) if len(t) > 1 else 0.0


def _fit_grid(
    x0: np.ndarray,
    step: float,
    lo: np.ndarray,
    hi: np.ndarray,
    mean: float,
    sd: float | None = None,
    transform=None,
    inverse=None,
    what: str = "",
) -> np.ndarray:
    """Values on a grid of ``step`` within per-element bounds whose (transformed) mean and SD
    match the targets to +-``_TOL``, starting from ``x0`` and moving as little as possible.

    ``transform(x)`` maps recorded values to the summarised ones (e.g. dose -> % change,
    rounded as stored); identity by default. First an affine shift/scale with clipping, then a
    greedy search over single moves (+-step) and pairs of opposite moves.
    """
    tf = transform or (lambda v: v)
    lo_g = np.ceil(lo / step - 1e-9) * step
    hi_g = np.floor(hi / step + 1e-9) * step
    if np.any(lo_g > hi_g):
        raise AnalysisError(f"{what}: empty bounds for some subjects")
    x = np.clip(x0.astype(float), lo_g, hi_g)
    inv = inverse or (lambda v: v)
    tlo, thi = tf(lo_g), tf(hi_g)
    t = tf(x)
    for _ in range(60):  # affine shift/scale of the summarised values, then clip
        m, s = _stats(t)
        t = mean + (t - m) * (sd / s if sd is not None and s > 0 else 1.0)
        t = np.clip(t, tlo, thi)
    x = np.clip(inv(t), lo_g, hi_g)
    x = np.clip(np.round(x / step) * step, lo_g, hi_g)
    n = len(x)

    def score(mm: np.ndarray, ss: np.ndarray | float) -> np.ndarray:
        a = np.maximum(np.abs(mm - mean) - 0.5 * _TOL, 0) / _TOL
        b = 0.0 if sd is None else np.maximum(np.abs(ss - sd) - 0.5 * _TOL, 0) / _TOL
        return a * a + b * b

    for _ in range(20 * n + 200):
        t = tf(x)
        m, s = _stats(t)
        if abs(m - mean) <= _TOL and (sd is None or abs(s - sd) <= _TOL):
            return np.round(x / step) * step
        s1, s2 = t.sum(), (t * t).sum()
        cur = score(np.array(m), np.array(s))
        best, move = cur, None
        cand = {}
        for sgn in (1, -1):
            xn = x + sgn * step
            okm = (xn >= lo_g - 1e-9) & (xn <= hi_g + 1e-9)
            tn = tf(xn)
            d1, d2 = tn - t, tn * tn - t * t
            cand[sgn] = (okm, d1, d2)
            mm = (s1 + d1) / n
            ss = np.sqrt(np.maximum((s2 + d2 - n * mm * mm) / (n - 1), 0))
            sc = np.where(okm, score(mm, ss), np.inf)
            i = int(np.argmin(sc))
            if sc[i] < best - 1e-12:
                best, move = sc[i], ((i, sgn),)
        okp, d1p, d2p = cand[1]
        okn, d1n, d2n = cand[-1]
        mm = (s1 + d1p[:, None] + d1n[None, :]) / n
        ss = np.sqrt(np.maximum((s2 + d2p[:, None] + d2n[None, :] - n * mm * mm) / (n - 1), 0))
        sc = score(mm, ss)
        sc[~okp, :] = np.inf
        sc[:, ~okn] = np.inf
        np.fill_diagonal(sc, np.inf)
        i, j = np.unravel_index(int(np.argmin(sc)), sc.shape)
        if sc[i, j] < best - 1e-12:
            best, move = sc[i, j], ((int(i), 1), (int(j), -1))
        if move is None:
            break
        for i, sgn in move:
            x[i] += sgn * step
    t = tf(x)
    m, s = _stats(t)
    raise AnalysisError(
        f"{what}: cannot reach mean {mean:g}"
        + (f" and SD {sd:g}" if sd is not None else "")
        + f" on a grid of {step:g} within the bounds (got mean {m:.4f}, SD {s:.4f})"
    )


def _fitted(model: GenerativeModel, name: str, extra: set[str] = frozenset()) -> bool:
    """Whether an exact cohort reproduces value ``name``: published (or set by the user in
    place of a published one) or an SD a published p-value depends on."""
    src = model.spec.values.get(name)
    return name in extra or (src is not None and src.label == "published")


def _rule_bounds(c: Any, holds: bool, step: float) -> tuple[float, float]:
    """Bounds on a component's measure for the component to hold (or fail); a margin of one
    recording step (0.01 on the % change) keeps strict comparisons safe from rounding."""
    eps = 0.01 if c.measure == "pchg" else step
    strict = c.operator in ("<", ">")
    thr = c.threshold
    if c.operator in ("<", "<="):
        if holds:
            return -math.inf, thr - (eps if strict or c.measure == "pchg" else 0.0)
        return thr + (0.0 if strict else eps), math.inf
    if holds:
        return thr + (eps if strict or c.measure == "pchg" else 0.0), math.inf
    return -math.inf, thr - (0.0 if strict else eps)


def _to_level(t: np.ndarray, base: np.ndarray, measure: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return _level(t, base, measure)


def _make_exact(model: GenerativeModel, w: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Move the analysed subjects' levels on their recording grid so that they reproduce the
    aggregates the model takes from ``published.csv`` (and the responder counts)."""
    w = w.copy()
    d, spec = model.design, model.spec
    ep = d.endpoint(model.responder_endpoint) if model.responder_endpoint else None
    extra = _inference_sds(model, published)
    drawn = [p for p in spec.parameters if not p.derive]
    for arm in model.arms:
        k, n_an = model.analysed[arm]
        idx = np.flatnonzero((w["ARM"] == arm).to_numpy() & ~w["WITHDRAWN"].to_numpy())
        if len(idx) != n_an:
            raise AnalysisError(f"arm {arm!r}: {len(idx)} completers, expected {n_an}")
        rows = w.index[idx]

        def col(name: str, rows=rows) -> np.ndarray:
            return w.loc[rows, name].to_numpy(dtype=float)

        # 1. Baselines: the design's range, the published mean and SD.
        for p in drawn:
            c = f"{p.code}@base"
            if p.baseline_from:
                continue
            fm, fs = _fitted(model, p.base_mean), _fitted(model, p.base_sd)
            if not fm:
                w.loc[rows, c] = np.round(col(c) / p.step) * p.step
                continue
            w.loc[rows, c] = _fit_grid(
                col(c),
                p.step,
                np.full(n_an, p.base_low),
                np.full(n_an, p.base_high),
                model.value(p.base_mean, arm),
                model.value(p.base_sd, arm) if fs else None,
                what=f"{arm} {p.code} baseline",
            )
        # 2. Responders: the k analysed subjects closest to (or most clearly) meeting the rule;
        # each non-responder fails the component it fails most.
        bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if ep is not None:
            margins = []
            for c in ep.components:
                p = spec.parameter(c.parameter)
                b = np.round(col(f"{p.code}@base"), p.decimals)
                meas = _measure(col(f"{p.code}@{ep.week:g}"), b, c.measure)
                a = next((a for a in p.anchors if a.week == ep.week), None)
                sd = model.value(a.sd, arm) if a is not None and a.measure == c.measure else 0.0
                sd = sd or float(np.nanstd(meas, ddof=1)) or 1.0
                sgn = 1.0 if c.operator in ("<", "<=") else -1.0
                margins.append(sgn * (c.threshold - meas) / sd)
            mg = np.vstack(margins)
            resp = np.zeros(n_an, bool)
            resp[np.argsort(-mg.min(axis=0), kind="stable")[:k]] = True
            fails_on = np.argmin(mg, axis=0)
            for j, c in enumerate(ep.components):
                p = spec.parameter(c.parameter)
                b = np.round(col(f"{p.code}@base"), p.decimals)
                tlo, thi = np.full(n_an, -math.inf), np.full(n_an, math.inf)
                hlo, hhi = _rule_bounds(c, True, p.step)
                flo, fhi = _rule_bounds(c, False, p.step)
                fail = ~resp & (fails_on == j)
                tlo[resp], thi[resp] = hlo, hhi
                tlo[fail], thi[fail] = flo, fhi
                lo, hi = _to_level(tlo, b, c.measure), _to_level(thi, b, c.measure)
                lo, hi = np.nan_to_num(lo, nan=-math.inf), np.nan_to_num(hi, nan=math.inf)
                if c.parameter in bounds:
                    plo, phi = bounds[c.parameter]
                    lo, hi = np.maximum(lo, plo), np.minimum(hi, phi)
                bounds[c.parameter] = (lo, hi)
        # 3. Anchors, in visit order: the published moments on the anchor's measure, within
        # the rule's bounds at the responder endpoint's visit.
        for p in drawn:
            b = np.round(col(f"{p.code}@base"), p.decimals)
            for a in p.anchors:
                c = f"{p.code}@{a.week:g}"
                lo, hi = np.full(n_an, p.fit_low), np.full(n_an, p.fit_high)
                if ep is not None and a.week == ep.week and p.code in bounds:
                    lo = np.maximum(lo, bounds[p.code][0])
                    hi = np.minimum(hi, bounds[p.code][1])
                dec = p.decimals
                if a.measure == "value":
                    tf = inv = None
                elif a.measure == "chg":

                    def tf(x, b=b, dec=dec):
                        return np.round(np.round(x, dec) - b, 2)

                    def inv(t, b=b):
                        return b + t
                else:

                    def tf(x, b=b, dec=dec):
                        return np.round(100 * (np.round(x, dec) - b) / b, 2)

                    def inv(t, b=b):
                        return b * (1 + t / 100)

                if not _fitted(model, a.mean, extra):
                    lo_g = np.ceil(lo / p.step - 1e-9) * p.step
                    hi_g = np.floor(hi / p.step + 1e-9) * p.step
                    x = np.clip(np.round(col(c) / p.step) * p.step, lo_g, hi_g)
                else:
                    x = _fit_grid(
                        np.clip(col(c), lo, hi),
                        p.step,
                        lo,
                        hi,
                        model.value(a.mean, arm),
                        model.value(a.sd, arm) if _fitted(model, a.sd, extra) else None,
                        transform=tf,
                        inverse=inv,
                        what=f"{arm} {p.code} week {a.week:g}",
                    )
                w.loc[rows, c] = np.round(x, dec)
    return w


def synthetic_ipd(
    name: str,
    seed: int | None = None,
    exact: bool = True,
    **overrides: Any,
) -> IPD:
    """A synthetic patient-level cohort of a published trial.

    Parameters
    ----------
    name : str
        Shipped trial name (``"zang2022"``) or trial folder (``design.toml`` and
        ``published.csv``; a ``synthetic_model.toml`` is optional, see :func:`model_for`).
    seed : int, optional
        Seed of every random step; default the shipped cohort's seed (``shipped_seed`` in
        ``data/<trial>/synthetic_model.toml``: 20220503 for Zang 2022; 0 without a file).
    exact : bool, default True
        True: the randomised numbers per arm, the derived withdrawals, and every published
        aggregate the model uses reproduced to the published precision in the analysed
        population (``PPROTFL = "Y"``): the responder counts (each responder meeting every
        component of the design's rule, each non-responder failing one), the published means
        and SDs at baseline and at each anchor visit; an assumed SD of an endpoint measure with
        a published between-arm p-value is fitted too, and every such p-value is honoured by
        the endpoint's pre-specified test (a draw that contradicts one is redrawn; see the
        module docstring). False: a fresh draw from :func:`model_for`'s model (random
        withdrawals; aggregates and p-values vary as in a real trial).
    **overrides
        Values of the generative model (see :func:`model_for`).

    Returns
    -------
    IPD
        ``synthetic=True``; both tables carry ``SYNTHFL = "Y"``. ``info["inferences"]`` is
        :func:`inference_checks` of the cohort, ``info["draws"]`` the number of draws made.

    Notes
    -----
    Unanalysed patients (2 placebo patients for Zang 2022) are withdrawals: ``ITTFL = "Y"``,
    ``PPROTFL = "N"``, ``DCSREAS`` filled, no data after the withdrawal visit. Raises
    ``AnalysisError`` when no exact draw honours the published p-values. Where a trial
    publishes both level means and mean changes at a visit (Zang 2022's HbA1c falls "1.31 %",
    "0.63 %" differ from the differences of its means 1.50, 0.70) the model's file says
    which it reproduces; the default model reproduces the levels.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ipd = ta.synthetic_ipd("zang2022", seed=1)
    >>> ipd.synthetic, len(ipd.subjects)
    (True, 91)
    >>> m = ipd.measurements
    >>> pp = ipd.population("PP")["USUBJID"]
    >>> h = m[(m.PARAMCD == "HBA1C") & (m.AVISITN == 48) & m.USUBJID.isin(pp)]
    >>> means = h.merge(ipd.subjects, on="USUBJID").groupby("ARM")["AVAL"].mean()
    >>> means.round(2).to_dict()
    {'Placebo': 8.19, 'UC-MSC': 7.52}
    """
    from .trial import load_trial

    model = model_for(name, **overrides)
    seed = model.shipped_seed if seed is None else seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ParameterError("seed", "an integer", seed)
    rng = np.random.default_rng(seed)
    n = {a.name: a.n_randomised for a in model.design.arms}
    src = f"synthetic:{name} seed={seed} exact={exact}"
    published = load_trial(_folder(str(name))).published
    draws = 0
    while True:
        draws += 1
        if exact:
            withdraw = {a: n[a] - model.analysed[a][1] for a in model.arms}
            w = model._draw_wide(n, rng, withdraw, fixed=True)
            w = _make_exact(model, w, published)
        else:
            w = model._draw_wide(n, rng, model._dropout_arg(None, default=None), fixed=False)
        ipd = model._assemble(w, n, rng, source=src)
        checks = inference_checks(ipd, published)
        # An exact cohort is conditioned on the published inferences as on the published
        # aggregates: a draw whose pre-specified test contradicts one is redrawn (same stream).
        if not exact or checks["holds"].all():
            break
        if draws == _MAX_ATTEMPTS:
            bad = checks.loc[~checks["holds"]].iloc[0]
            raise AnalysisError(
                f"no exact synthetic cohort of {name} (seed {seed}, {_MAX_ATTEMPTS} draws) "
                f"honours the published {bad['published']} of endpoint {bad['endpoint']!r} "
                f"(published.csv line {bad['line']}): the last draw's pre-specified "
                f"{bad['method']} gives p = {bad['p_value']:.3g}; change the assumed "
                "parameters (e.g. the SDs in synthetic_model.toml)"
            )
    info = {
        "seed": int(seed),
        "exact": exact,
        "model": model,
        "inferences": checks,
        "draws": draws,
    }
    return dataclasses.replace(ipd, info=info)
