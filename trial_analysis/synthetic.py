"""Synthetic patient-level data: a generative model of a trial's patients, fitted to its
published aggregates, and exact synthetic cohorts that reproduce those aggregates.

:func:`model_for` builds a :class:`GenerativeModel` from three sources, each labelled:

* **published** numbers (``published.csv``, read at run time): HbA1c means and SDs at baseline
  and week 48, mean % insulin reduction, GIR means;
* **derived** numbers: the analysed denominators and responder counts implied by the primary
  result's confidence interval (:func:`trial_analysis.consistency.infer_counts`: 9/45 vs 2/44
  for Zang 2022), the withdrawal probability they imply, and the correlation between week-48
  HbA1c and % insulin change calibrated so that the model's composite response rate equals the
  published one;
* **assumed** values (``data/<trial>/synthetic_model.toml``, each with a reason): everything
  the abstract does not give. Override any of them: ``model_for("zang2022", insulin_pchg_sd=30)``.

The model (per arm; ``z`` are standard normal)::

    HbA1c_0  ~ truncated normal on the eligibility range, fitted to the published mean and SD
    HbA1c_48 = m48 + s48 * (r * z0 + sqrt(1 - r^2) * e1)              z0 = standardised HbA1c_0
    PCHG_48  = mp + sp * (rho * zh + sqrt(1 - rho^2) * e2)            zh = standardised HbA1c_48
    INSDOSE_0 = (U/kg/day ~ truncated normal on 0.5-1.0) x weight;  INSDOSE_48 from PCHG_48
    intermediate visits: baseline + f(t) (week-48 level - baseline) + AR(1) deviations,
    f(t) = (1 - exp(-t/tau)) / (1 - exp(-48/tau))

so HbA1c and insulin change are correlated (``rho``, also through HbA1c_0 with ``r * rho``) and
visits within a patient are correlated (shared levels plus AR(1) deviations).

:func:`synthetic_ipd` with ``exact=True`` draws a cohort of the randomised size and then moves
values on their recording grid (HbA1c 0.1 %, insulin 0.1 U/day, GIR 0.01 mg/min/kg) until every
published aggregate is reproduced to the published precision, with each responder meeting both
components of the composite and no non-responder meeting both. ``exact=False`` draws a fresh
cohort from the fitted model. Every synthetic table carries ``SYNTHFL = "Y"``.

**Published inferences.** An exact cohort never contradicts a published between-arm p-value
(``published.csv`` rows ``p_value`` of "experimental vs control" for a design endpoint; see
:func:`published_inferences`): (1) assumed SDs of a variable the model draws with a published
mean difference (the % insulin change) are refused when the t-test at the published means and
the analysed denominators contradicts the published p (``DesignError`` naming the key; the check
is recorded in the SD's provenance); (2) exact cohorts fit those SDs, not only the means; (3) the
endpoint's pre-specified test (its ``method`` in ``design.toml``: ANCOVA with model and HC3 SEs,
or Fisher's exact test) is run on every exact draw (:func:`inference_checks`), and a draw that
contradicts a published p is redrawn from the same seeded stream (at most 20 draws, then an
``AnalysisError``). A bound ``p < b`` needs ``p < b``; an exact ``p = v`` needs the same
conclusion at α = 0.05. ``exact=False`` draws are not conditioned (their checks are in
``ipd.info["inferences"]``).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ._paths import trial_dir
from ._validate import check_count
from .design import Provenance, TrialDesign, load_design
from .errors import AnalysisError, DesignError, ParameterError
from .ipd import IPD, SUBJECT_COLUMNS
from .published import load_published, published_value

__all__ = [
    "GenerativeModel",
    "PublishedInference",
    "inference_checks",
    "model_for",
    "published_inferences",
    "synthetic_ipd",
]

_PER_ARM = (
    "hba1c_base_mean",
    "hba1c_base_sd",
    "hba1c_48_mean",
    "hba1c_48_sd",
    "insulin_pchg_mean",
    "insulin_pchg_sd",
    "gir_base_mean",
    "gir_48_mean",
    "response_rate",
    "rho_hba1c_insulin",
    "dropout",
)
_CALIBRATION_DRAWS = 100_000
# Draws of an exact cohort before giving up on honouring the published inferences.
_MAX_ATTEMPTS = 20


def _bounds(design: TrialDesign, variable: str, lo: float, hi: float) -> tuple[float, float]:
    """Eligibility limits of ``variable`` from the design, else the given defaults."""
    for c in design.eligibility:
        if c.variable == variable:
            return (lo if c.low is None else c.low, hi if c.high is None else c.high)
    return lo, hi


def _truncnorm(mean: float, sd: float, lo: float, hi: float):
    return stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)


def _rtrunc(
    mean: float, sd: float, lo: float, hi: float, size: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Truncated-normal draws by inversion (scipy's truncnorm.rvs is ~10x slower)."""
    a, b = special.ndtr((lo - mean) / sd), special.ndtr((hi - mean) / sd)
    u = a + (b - a) * rng.random(size)
    return np.clip(mean + sd * special.ndtri(u), lo, hi)


@lru_cache(maxsize=256)
def _fit_truncnorm(mean: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """(mu, sigma) of a normal whose truncation to [lo, hi] has the given mean and SD."""

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


@dataclass(frozen=True, eq=False)
class GenerativeModel:
    """Generative model of a two-arm trial's patients (see the module docstring).

    Per-arm parameters are mappings ``arm -> value``; scalars apply to every arm. Change any
    parameter with :meth:`with_params` (or :func:`dataclasses.replace`); the calibrated
    ``rho_hba1c_insulin`` is then kept as is, whereas :func:`model_for` with overrides
    re-calibrates it. ``provenance`` says where each parameter comes from.
    """

    trial: str
    design: TrialDesign = field(repr=False)
    arms: tuple[str, ...]
    # per arm
    hba1c_base_mean: Mapping[str, float]
    hba1c_base_sd: Mapping[str, float]
    hba1c_48_mean: Mapping[str, float]
    hba1c_48_sd: Mapping[str, float]
    insulin_pchg_mean: Mapping[str, float]
    insulin_pchg_sd: Mapping[str, float]
    gir_base_mean: Mapping[str, float]
    gir_48_mean: Mapping[str, float]
    response_rate: Mapping[str, float]
    rho_hba1c_insulin: Mapping[str, float]
    dropout: Mapping[str, float]
    # shared (assumed)
    age_mean: float = 52.0
    age_sd: float = 9.0
    male_prob: float = 0.55
    height_male_mean: float = 1.70
    height_male_sd: float = 0.06
    height_female_mean: float = 1.58
    height_female_sd: float = 0.055
    bmi_mean: float = 26.5
    bmi_sd: float = 3.0
    durdiab_mean: float = 10.0
    durdiab_sd: float = 4.5
    insulin_per_kg_mean: float = 0.70
    insulin_per_kg_sd: float = 0.13
    hba1c_rho: float = 0.5
    gir_base_sd: float = 1.2
    gir_48_sd: float = 1.5
    gir_rho: float = 0.5
    fpg_base_mean: float = 8.5
    fpg_base_sd: float = 2.0
    fpg_per_hba1c: float = 1.2
    fpg_resid_sd: float = 1.2
    cpep_base_mean: float = 2.2
    cpep_base_sd: float = 0.8
    cpep_change_sd: float = 0.4
    tau_weeks: float = 8.0
    hba1c_visit_sd: float = 0.3
    insulin_visit_sd: float = 5.0
    visit_ar1: float = 0.6
    sparse_parameters: tuple[str, ...] = ("GIR", "CPEP")
    sparse_weeks: tuple[int, ...] = (0, 48)
    withdrawal_reasons: tuple[str, ...] = ("Withdrawal by subject",)
    # derived counts for exact cohorts: arm -> (responders, analysed)
    analysed: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    shipped_seed: int = 0
    provenance: Mapping[str, Provenance] = field(default_factory=dict, repr=False)

    # -- parameters ----------------------------------------------------------------------
    def with_params(self, **params: Any) -> GenerativeModel:
        """A copy with parameters replaced; per-arm ones accept a mapping or a scalar.

        >>> import trial_analysis as ta
        >>> m = ta.synthetic.model_for("zang2022").with_params(insulin_pchg_sd=30.0)
        >>> m.insulin_pchg_sd["Placebo"]
        30.0
        """
        names = {f.name for f in dataclasses.fields(self)}
        out = {}
        for k, v in params.items():
            if k not in names or k in ("trial", "design", "arms", "provenance"):
                raise ParameterError(k, "a parameter of the generative model", v)
            if k in _PER_ARM:
                merged = dict(getattr(self, k))
                if isinstance(v, Mapping):
                    for a in v:
                        if a not in self.arms:
                            raise ParameterError(k, "a mapping over arms " + str(self.arms), v)
                    merged.update({a: float(x) for a, x in v.items()})
                else:
                    merged = dict.fromkeys(self.arms, float(v))
                v = merged
            out[k] = v
        prov = dict(self.provenance)
        for k in params:
            prov[k] = Provenance("user", reason=f"set by the user: {k} = {params[k]!r}")
        return dataclasses.replace(self, **out, provenance=prov)

    def to_frame(self) -> pd.DataFrame:
        """Every parameter with its value(s) and provenance label/source/reason."""
        rows = []
        for f in dataclasses.fields(self):
            if f.name in ("design", "provenance", "trial", "arms"):
                continue
            v = getattr(self, f.name)
            p = self.provenance.get(f.name)
            vals = v.items() if isinstance(v, Mapping) else [("", v)]
            for arm, x in vals:
                rows.append(
                    {
                        "parameter": f.name,
                        "arm": arm,
                        "value": x if not isinstance(x, tuple) else str(x),
                        "provenance": p.label if p else "",
                        "source": (p.source or p.reason) if p else "",
                    }
                )
        return pd.DataFrame(rows)

    # -- core draws --------------------------------------------------------------------------
    def _core(self, arm: str, size: tuple[int, ...], rng: np.random.Generator) -> dict:
        """Baseline and week-48 HbA1c, % insulin change, weight and baseline dose."""
        lo, hi = _bounds(self.design, "HBA1C", 3.0, 20.0)
        m0, s0 = self.hba1c_base_mean[arm], self.hba1c_base_sd[arm]
        mu, sig = _fit_truncnorm(m0, s0, lo, hi)
        h0 = _rtrunc(mu, sig, lo, hi, size, rng)
        z0 = (h0 - m0) / s0
        r = self.hba1c_rho
        zh = r * z0 + math.sqrt(1 - r * r) * rng.standard_normal(size)
        rho = self.rho_hba1c_insulin[arm]
        zp = rho * zh + math.sqrt(1 - rho * rho) * rng.standard_normal(size)
        h48 = self.hba1c_48_mean[arm] + self.hba1c_48_sd[arm] * zh
        p48 = np.clip(self.insulin_pchg_mean[arm] + self.insulin_pchg_sd[arm] * zp, -100, 200)
        return {"h0": h0, "h48": np.clip(h48, 3.0, 20.0), "p48": p48, "zh": zh, "zp": zp}

    def _covariates(self, size: tuple[int, ...], rng: np.random.Generator) -> dict:
        d = self.design
        male = rng.random(size) < self.male_prob
        h = np.where(
            male,
            rng.normal(self.height_male_mean, self.height_male_sd, size),
            rng.normal(self.height_female_mean, self.height_female_sd, size),
        )
        blo, bhi = _bounds(d, "BMI", 18.0, 45.0)
        bmi = _rtrunc(self.bmi_mean, self.bmi_sd, blo, bhi, size, rng)
        weight = np.clip(np.round(bmi * h * h, 1), 25.0, 250.0)
        klo, khi = _bounds(d, "INSKG", 0.3, 1.5)
        perkg = _rtrunc(self.insulin_per_kg_mean, self.insulin_per_kg_sd, klo, khi, size, rng)
        dose0 = np.maximum(np.round(perkg * weight, 1), 0.1)
        return {"male": male, "height": h, "weight": weight, "dose0": dose0}

    def draw_endpoints(
        self,
        n_by_arm: Mapping[str, int],
        n_trials: int,
        rng: np.random.Generator | int | None = None,
        dropout: float | Mapping[str, float] | None = None,
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
            Probability of missing week-48 data per arm (NaN in the week-48 arrays and in
            ``RESPONDER``); default none.

        Returns
        -------
        dict
            ``arm -> {"HBA1C_BASE", "HBA1C_48", "INSDOSE_BASE", "INSDOSE_PCHG_48",
            "RESPONDER"}``, each an array of shape ``(n_trials, n_arm)``; ``RESPONDER`` is
            1.0/0.0 by the design's composite definition (NaN when missing).
        """
        rng = np.random.default_rng(rng)
        n_trials = check_count("n_trials", n_trials, minimum=1)
        drop = self._dropout_arg(dropout, default=0.0)
        out = {}
        for arm, n in self._n_by_arm(n_by_arm).items():
            size = (n_trials, n)
            c = self._core(arm, size, rng)
            dose0 = self._covariates(size, rng)["dose0"]
            resp = _responder(self.design, c["h48"], c["p48"]).astype(float)
            h48, p48 = c["h48"], c["p48"]
            if drop[arm] > 0:
                miss = rng.random(size) < drop[arm]
                h48, p48 = np.where(miss, np.nan, h48), np.where(miss, np.nan, p48)
                resp = np.where(miss, np.nan, resp)
            out[arm] = {
                "HBA1C_BASE": c["h0"],
                "HBA1C_48": h48,
                "INSDOSE_BASE": dose0,
                "INSDOSE_PCHG_48": p48,
                "RESPONDER": resp,
            }
        return out

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
            return dict(self.dropout) if default is None else dict.fromkeys(self.arms, default)
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
        """One row per subject: covariates, levels at baseline and week 48, withdrawal."""
        d = self.design
        parts = []
        for arm, k in n.items():
            size = (k,)
            c = self._core(arm, size, rng)
            cov = self._covariates(size, rng)
            alo, ahi = _bounds(d, "AGE", 18.0, 90.0)
            age = np.round(_rtrunc(self.age_mean, self.age_sd, alo, ahi, size, rng))
            dlo, dhi = _bounds(d, "DURDIAB", 0.0, 40.0)
            dur = np.round(
                _rtrunc(self.durdiab_mean, self.durdiab_sd, max(dlo, 0.5), dhi, size, rng),
                1,
            )
            glo = 0.5
            g0 = _rtrunc(self.gir_base_mean[arm], self.gir_base_sd, glo, 15.0, size, rng)
            zg = (g0 - self.gir_base_mean[arm]) / self.gir_base_sd
            zg48 = self.gir_rho * zg + math.sqrt(1 - self.gir_rho**2) * rng.standard_normal(size)
            g48 = np.clip(self.gir_48_mean[arm] + self.gir_48_sd * zg48, glo, 15.0)
            clo, chi = _bounds(d, "CPEP", 0.1, 10.0)
            cp0 = _rtrunc(self.cpep_base_mean, self.cpep_base_sd, clo, min(chi, 10.0), size, rng)
            cp48 = np.clip(cp0 + rng.normal(0.0, self.cpep_change_sd, size), 0.1, 10.0)
            flo, fhi = 3.0, 25.0
            f0 = _rtrunc(self.fpg_base_mean, self.fpg_base_sd, flo, fhi, size, rng)
            if fixed:
                n_w = round(withdrawals[arm])
                wd = np.zeros(k, bool)
                wd[rng.choice(k, size=n_w, replace=False)] = True
            else:
                wd = rng.random(k) < withdrawals[arm]
            parts.append(
                pd.DataFrame(
                    {
                        "ARM": arm,
                        "AGE": age,
                        "SEX": np.where(cov["male"], "M", "F"),
                        "HEIGHT": cov["height"],
                        "WEIGHT": cov["weight"],
                        "DURDIAB": dur,
                        "H0": c["h0"],
                        "H48": c["h48"],
                        "P48": c["p48"],
                        "D0": cov["dose0"],
                        "G0": g0,
                        "G48": g48,
                        "C0": cp0,
                        "C48": cp48,
                        "F0": f0,
                        "WITHDRAWN": wd,
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def _assemble(
        self, w: pd.DataFrame, n: Mapping[str, int], rng: np.random.Generator, source: str
    ) -> IPD:
        """Visits, infusions and the two ADaM-like tables from the per-subject levels."""
        d = self.design
        if dict(n) != {a.name: a.n_randomised for a in d.arms if a.name in n} or len(n) != len(
            d.arms
        ):
            arms = [
                {"name": a.name, "role": a.role, "n_randomised": n.get(a.name, 0)}
                for a in d.arms
                if a.name in n
            ]
            d = dataclasses.replace(
                d,
                arms=tuple(
                    dataclasses.replace(a, n_randomised=x["n_randomised"])
                    for a, x in zip([a for a in d.arms if a.name in n], arms, strict=True)
                ),
            )
        weeks = np.array(d.visit_weeks)
        primary = max(e.week for e in d.endpoints)
        k = len(w)
        # Allocation order is random: identifiers do not reveal the arm (blinded trial).
        perm = rng.permutation(k)
        w = w.iloc[perm].reset_index(drop=True)
        ids = np.array([f"{self.trial.upper()}-{i + 1:03d}" for i in range(k)], dtype=object)
        # Last attended visit of withdrawn subjects: a scheduled visit before the primary one.
        before = weeks[(weeks > 0) & (weeks < primary)]
        last = np.where(
            w["WITHDRAWN"].to_numpy(),
            rng.choice(before, size=k) if len(before) else 0,
            weeks.max(),
        )
        reasons = np.array(self.withdrawal_reasons, dtype=object)
        dcs = np.where(w["WITHDRAWN"].to_numpy(), rng.choice(reasons, size=k), "").astype(object)
        h = w["HEIGHT"].to_numpy()
        subj = {
            "STUDYID": np.full(k, self.trial, dtype=object),
            "USUBJID": ids,
            "ARM": w["ARM"].to_numpy(dtype=object),
            "AGE": w["AGE"].to_numpy(),
            "SEX": w["SEX"].to_numpy(dtype=object),
            "WEIGHT": w["WEIGHT"].to_numpy(),
            "BMI": np.round(w["WEIGHT"].to_numpy() / (h * h), 1),
            "DURDIAB": w["DURDIAB"].to_numpy(),
            "RANDFL": np.full(k, "Y", dtype=object),
            "SAFFL": np.full(k, "Y", dtype=object),
            "ITTFL": np.full(k, "Y", dtype=object),
            "PPROTFL": np.where(w["WITHDRAWN"].to_numpy(), "N", "Y").astype(object),
            "DCSREAS": dcs,
        }
        treated = w["ARM"].to_numpy() == (d.dose.arm or d.experimental_arm.name)
        for i, wk in enumerate(d.infusion_weeks, start=1):
            given = last >= wk
            subj[f"INF{i}WK"] = pd.array(np.where(given, wk, -1), dtype="Int64")
            subj[f"INF{i}WK"][~given] = pd.NA
            subj[f"INF{i}DOSE"] = np.where(
                given,
                np.where(treated, np.round(d.dose.amount_per_kg * w["WEIGHT"].to_numpy()), 0.0),
                np.nan,
            )
        subj["SYNTHFL"] = np.full(k, "Y", dtype=object)
        order = ["STUDYID", *[c for c in _subject_columns(d) if c in subj], "SYNTHFL"]
        subj = {c: subj[c] for c in order}
        subjects = pd.DataFrame(
            {
                c: pd.Series(v, dtype=object)
                if isinstance(v, np.ndarray) and v.dtype == object
                else v
                for c, v in subj.items()
            }
        )

        # Trajectories: baseline + f(t) (week-48 level - baseline) + AR(1) deviations.
        tau = self.tau_weeks
        f = (1 - np.exp(-weeks / tau)) / (1 - np.exp(-weeks.max() / tau))
        dev = _ar1(rng, k, len(weeks), self.visit_ar1)
        dev[:, 0] = 0.0
        dev[:, weeks == weeks.max()] = 0.0
        dev2 = _ar1(rng, k, len(weeks), self.visit_ar1)
        dev2[:, 0] = 0.0
        dev2[:, weeks == weeks.max()] = 0.0
        h0, h48 = w["H0"].to_numpy(), w["H48"].to_numpy()
        hb = np.round(h0[:, None] + f * (h48 - h0)[:, None] + self.hba1c_visit_sd * dev, 1)
        hb = np.clip(hb, 4.5, 15.0)
        d0 = w["D0"].to_numpy()
        d48 = np.maximum(np.round(d0 * (1 + w["P48"].to_numpy() / 100), 1), 0.0)
        if "D48" in w:  # exact cohorts fix the analysed subjects' week-48 doses
            d48 = np.where(w["D48"].isna().to_numpy(), d48, w["D48"].to_numpy())
        ins = (
            d0[:, None] + f * (d48 - d0)[:, None] + self.insulin_visit_sd / 100 * d0[:, None] * dev2
        )
        ins = np.maximum(np.round(ins, 1), 0.0)
        ins[:, -1] = d48
        ins[:, 0] = d0
        fpg = w["F0"].to_numpy()[:, None] + self.fpg_per_hba1c * (hb - hb[:, :1])
        fpg = fpg + self.fpg_resid_sd * rng.standard_normal(fpg.shape) * (weeks > 0)
        fpg = np.round(np.clip(fpg, 3.5, 30.0), 1)
        gir = np.full((k, len(weeks)), np.nan)
        cpep = np.full((k, len(weeks)), np.nan)
        gir[:, 0], cpep[:, 0] = np.round(w["G0"].to_numpy(), 2), np.round(w["C0"].to_numpy(), 2)
        gir[:, -1], cpep[:, -1] = np.round(w["G48"].to_numpy(), 2), np.round(w["C48"].to_numpy(), 2)
        sparse_w = np.isin(weeks, self.sparse_weeks)
        tabs = {"HBA1C": hb, "INSDOSE": ins, "FPG": fpg, "GIR": gir, "CPEP": cpep}
        codes = [p.code for p in d.parameters]
        blocks = []
        attended = weeks[None, :] <= last[:, None]
        for code in codes:
            if code not in tabs:
                continue
            vals = tabs[code]
            keep = attended & ~np.isnan(vals)
            if code in self.sparse_parameters:
                keep &= sparse_w[None, :]
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
        subjects = self._add_infusion_dates(subjects, d, rng)
        return IPD(subjects, meas, d, synthetic=True, source=source)

    def _add_infusion_dates(
        self, subjects: pd.DataFrame, d: TrialDesign, rng: np.random.Generator
    ) -> pd.DataFrame:
        """``INFkDT``: randomisation spread over the enrolment period of the design's
        ``trial.period`` (e.g. "October 2015 to December 2018" minus follow-up); infusion k
        on day 7 x week +- 2 days. Skipped when the period is not given."""
        period = str(d.info.get("period", ""))
        parts = [p.strip() for p in period.split(" to ")]
        try:
            start, end = (pd.Timestamp(p) for p in parts)
        except (ValueError, TypeError):
            return subjects
        last_start = end - pd.Timedelta(weeks=d.follow_up_weeks)
        span = max((last_start - start).days, 1)
        k = len(subjects)
        day0 = start + pd.to_timedelta(np.sort(rng.integers(0, span, k)), unit="D")
        day0 = day0.to_numpy()[np.argsort(np.argsort(subjects["USUBJID"].to_numpy()))]
        out = subjects.copy()
        pos = list(out.columns).index(f"INF{len(d.infusion_weeks)}WK") + 1
        for i, wk in enumerate(d.infusion_weeks, start=1):
            jitter = 0 if wk == 0 else rng.integers(-2, 3, k)
            dt = day0 + pd.to_timedelta(7 * wk + jitter, unit="D").to_numpy()
            given = out[f"INF{i}WK"].notna().to_numpy()
            dt = np.where(given, dt, np.datetime64("NaT")).astype("datetime64[ns]")
            out.insert(pos + i - 1, f"INF{i}DT", dt)
        return out


def _subject_columns(design: TrialDesign) -> list[str]:
    k = len(design.infusion_weeks)
    base = [c for c in SUBJECT_COLUMNS if not c.startswith("INF")]
    return base + [f"INF{i}WK" for i in range(1, k + 1)] + [f"INF{i}DOSE" for i in range(1, k + 1)]


def _ar1(rng: np.random.Generator, n: int, t: int, phi: float) -> np.ndarray:
    e = rng.standard_normal((n, t))
    out = np.empty((n, t))
    out[:, 0] = e[:, 0]
    s = math.sqrt(1 - phi * phi)
    for j in range(1, t):
        out[:, j] = phi * out[:, j - 1] + s * e[:, j]
    return out


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def _responder(design: TrialDesign, h48: np.ndarray, p48: np.ndarray) -> np.ndarray:
    """The primary composite from the design's components, on HbA1c value and insulin PCHG."""
    ep = _primary_composite(design)
    values = {("HBA1C", "value"): h48, ("INSDOSE", "pchg"): p48}
    out = np.ones(np.shape(h48), dtype=bool)
    for c in ep.components:
        key = (c.parameter, c.measure)
        if key not in values:
            raise DesignError(
                design.source_file,
                f"endpoints.{ep.id}.components",
                "components on HBA1C value or INSDOSE pchg (what the generative model draws)",
                str(c),
            )
        out &= _OPS[c.operator](values[key], c.threshold)
    return out


def _primary_composite(design: TrialDesign):
    eps = [e for e in design.endpoints if e.type == "binary" and e.components]
    prim = [e for e in eps if e.role == "primary"] or eps
    if not prim:
        raise DesignError(design.source_file, "endpoints", "a binary composite endpoint")
    return prim[0]


# ------------------------------------------------------------------------------------------
# Building the model for a trial
# ------------------------------------------------------------------------------------------
def _read_spec(trial: str) -> tuple[dict, Path]:
    folder = Path(trial) if Path(trial).is_dir() else trial_dir(trial)
    path = folder / "synthetic_model.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), path
    except FileNotFoundError:
        raise DesignError(
            str(path), "(file)", "a synthetic_model.toml describing the generative model"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(str(path), "(file)", "valid TOML", str(exc)) from None


def _calibrate_rho(model: GenerativeModel, arm: str, target: float) -> float:
    """Correlation of week-48 HbA1c and % insulin change giving the target response rate."""
    rng = np.random.default_rng(12345)  # common random numbers: a smooth, deterministic root
    m = model.with_params(rho_hba1c_insulin={arm: 0.0})
    c = m._core(arm, (_CALIBRATION_DRAWS,), rng)
    zh = (c["h48"] - model.hba1c_48_mean[arm]) / model.hba1c_48_sd[arm]
    e2 = (c["p48"] - model.insulin_pchg_mean[arm]) / model.insulin_pchg_sd[arm]

    def rate(rho: float) -> float:
        zp = rho * zh + math.sqrt(1 - rho * rho) * e2
        p = model.insulin_pchg_mean[arm] + model.insulin_pchg_sd[arm] * zp
        return float(_responder(model.design, c["h48"], p).mean())

    lo, hi = -0.98, 0.98
    rlo, rhi = rate(lo) - target, rate(hi) - target
    if rlo * rhi > 0:
        raise AnalysisError(
            f"arm {arm!r}: no correlation in [-0.98, 0.98] gives the published response rate "
            f"{100 * target:.2f}% (reachable {100 * (rlo + target):.2f}%-{100 * (rhi + target):.2f}%);"
            " change the assumed insulin_pchg_sd or the HbA1c parameters"
        )
    return float(optimize.brentq(lambda r: rate(r) - target, lo, hi, xtol=1e-4))


def model_for(trial: str, **overrides: Any) -> GenerativeModel:
    """The generative model of ``trial``'s patients, fitted to its published aggregates.

    Parameters
    ----------
    trial : str
        A shipped trial with ``design.toml``, ``published.csv`` and ``synthetic_model.toml``.
    **overrides
        Any :class:`GenerativeModel` parameter (per-arm ones as a mapping or a scalar). The
        correlation ``rho_hba1c_insulin`` is re-calibrated to the published response rates
        unless given.

    Returns
    -------
    GenerativeModel

    Notes
    -----
    The analysed denominators and responder counts come from
    :func:`trial_analysis.consistency.infer_counts` on the published percentages and CI (for
    Zang 2022 only 9/45 vs 2/44 reproduces 20 % vs 4.55 %, CI 2.25-28.66 %); the arm's
    withdrawal probability is ``1 - analysed / randomised``.

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
    if not overrides:
        return _model_cached(trial)
    base = _model_cached(trial)
    calibrate = "rho_hba1c_insulin" not in overrides
    m = base.with_params(**overrides)
    if calibrate:
        rho = {a: _calibrate_rho(m, a, m.response_rate[a]) for a in m.arms}
        m = dataclasses.replace(m, rho_hba1c_insulin=rho)
    return m


@lru_cache(maxsize=8)
def _model_cached(trial: str) -> GenerativeModel:
    spec, path = _read_spec(trial)
    design = load_design(trial)
    pub = load_published(trial)
    arms = design.arm_names
    prov: dict[str, Provenance] = {}
    per_arm: dict[str, dict[str, float]] = {}
    src = pub.attrs.get("source_file", "published.csv")
    for name, (quantity, week, statistic, sign) in spec.get("published", {}).items():
        per_arm[name] = {
            a: float(sign) * published_value(pub, quantity, a, week, statistic) for a in arms
        }
        prov[name] = Provenance("published", source=f"{src}: {quantity}, week {week}, {statistic}")
    # Derived: denominators and responders from the primary endpoint's percentages and CI.
    comp = spec["published_composite"]
    exp_arm, ctl_arm = design.experimental_arm.name, design.control_arm.name
    from .consistency.counts import published_counts
    from .trial import load_trial

    cand = published_counts(load_trial(design), comp["quantity"])
    p1, p2, ci = (cand.attrs[k] for k in ("p1", "p2", "ci"))
    cand = cand.drop_duplicates(subset=["x1", "n1", "x2", "n2"])
    if len(cand) != 1:
        raise AnalysisError(
            f"the published composite result of {trial} is reproduced by {len(cand)} sets of "
            "counts, not exactly one; the synthetic cohort needs unique denominators"
        )
    row = cand.iloc[0]
    analysed = {
        exp_arm: (int(row["x1"]), int(row["n1"])),
        ctl_arm: (int(row["x2"]), int(row["n2"])),
    }
    prov["analysed"] = Provenance(
        "derived",
        source=f"infer_counts({p1:g}, {p2:g}, CI {ci[0]:g}-{ci[1]:g}): method {row.get('method', '')}",
    )
    per_arm["response_rate"] = {a: analysed[a][0] / analysed[a][1] for a in arms}
    prov["response_rate"] = Provenance("derived", source="responders / analysed (infer_counts)")
    per_arm["dropout"] = {a: 1 - analysed[a][1] / design.arm(a).n_randomised for a in arms}
    prov["dropout"] = Provenance(
        "derived", source="1 - analysed / randomised (the unanalysed patients are withdrawals)"
    )
    scalars: dict[str, Any] = {}
    for name, t in spec.get("assumed", {}).items():
        value = t.get("value")
        if name in _PER_ARM and isinstance(value, Mapping):  # one value per arm
            if set(value) != set(arms):
                raise DesignError(
                    str(path), f"assumed.{name}.value", "one value per arm " + str(arms), value
                )
            per_arm[name] = {a: float(value[a]) for a in arms}
        elif name in _PER_ARM:
            per_arm[name] = dict.fromkeys(arms, float(value))
        else:
            scalars[name] = value
        prov[name] = Provenance("assumed", reason=t.get("reason", ""))
    mspec = spec.get("model", {})
    scalars["sparse_parameters"] = tuple(mspec.get("sparse_parameters", ()))
    scalars["sparse_weeks"] = tuple(mspec.get("sparse_weeks", (0,)))
    scalars["withdrawal_reasons"] = tuple(mspec.get("withdrawal_reasons", ("Withdrawal",)))
    scalars["shipped_seed"] = int(mspec.get("shipped_seed", 0))
    per_arm["rho_hba1c_insulin"] = dict.fromkeys(arms, 0.0)
    missing = [f for f in _PER_ARM if f not in per_arm]
    if missing:
        raise DesignError(str(path), ", ".join(missing), "published or assumed model parameters")
    _check_assumed_sds(design, pub, per_arm, analysed, prov, str(path))
    m = GenerativeModel(
        trial=trial,
        design=design,
        arms=arms,
        analysed=analysed,
        provenance=prov,
        **per_arm,
        **scalars,
    )
    rho = {a: _calibrate_rho(m, a, m.response_rate[a]) for a in arms}
    prov["rho_hba1c_insulin"] = Provenance(
        "derived",
        source="calibrated so that the model's composite response rate equals the published one",
    )
    return dataclasses.replace(m, rho_hba1c_insulin=rho, provenance=prov)


# ------------------------------------------------------------------------------------------
# Published inferences: the between-arm p-values a cohort must not contradict
# ------------------------------------------------------------------------------------------
# A published exact p-value ("p = 0.0081") is honoured when the cohort's p is on the same side
# of this conventional level (the conclusion it supports).
_ALPHA = 0.05
# Continuous endpoints whose per-arm mean and SD the model draws directly:
# (PARAMCD, measure) -> (mean field, SD field) of GenerativeModel.
_DRAWN_MOMENTS = {("INSDOSE", "pchg"): ("insulin_pchg_mean", "insulin_pchg_sd")}
_INFERENCE_ROLES = ("percent", "change", "level")


@dataclass(frozen=True)
class PublishedInference:
    """One published between-arm p-value of a design endpoint (a row of ``published.csv``)."""

    endpoint: str
    quantity: str
    relation: str
    value: float
    line: int  # line of published.csv (the header is line 1)

    def holds(self, p: float) -> bool:
        """Whether a p-value ``p`` agrees with the published one (bound, or conclusion at
        α = 0.05 for an exact published p)."""
        if not math.isfinite(p):
            return False
        if self.relation == "=":
            return (p < _ALPHA) == (self.value < _ALPHA)
        return bool(_OPS[self.relation](p, self.value))

    @property
    def text(self) -> str:
        if self.relation == "=":
            verdict = "significant" if self.value < _ALPHA else "not significant"
            return f"p = {self.value:g} ({verdict} at α = {_ALPHA:g})"
        return f"p {self.relation} {self.value:g}"


def published_inferences(design: TrialDesign, published: pd.DataFrame) -> list[PublishedInference]:
    """The published between-arm p-values (experimental vs control, at the endpoint's week) of
    every endpoint of ``design``, from a :func:`~trial_analysis.published.load_published` frame.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> from trial_analysis.synthetic import published_inferences
    >>> d, pub = ta.load_design("zang2022"), ta.published.load_published("zang2022")
    >>> [(i.endpoint, i.text) for i in published_inferences(d, pub)][:2]
    [('composite', 'p < 0.05'), ('insulin', 'p < 0.05')]
    """
    pair = f"{design.experimental_arm.name} vs {design.control_arm.name}"
    out = []
    for ep in design.endpoints:
        quantities = {ep.published_quantity(r) for r in _INFERENCE_ROLES} - {None}
        hit = (
            published["quantity"].isin(quantities)
            & (published["arm"] == pair)
            & (published["statistic"] == "p_value")
            & (published["week"] == ep.week).fillna(False)
        )
        for i, r in published.loc[hit].iterrows():
            out.append(
                PublishedInference(
                    ep.id, str(r["quantity"]), str(r["relation"]), float(r["value"]), int(i) + 2
                )
            )
    return out


def _prespecified_p(ipd: IPD, ep: Any) -> list[tuple[str, float]]:
    """``(method, p)`` of the endpoint's pre-specified between-arm test on ``ipd``, as the
    reanalysis computes it (ANCOVA: model and HC3 SEs; Fisher: minimum-likelihood p, R's
    ``fisher.test``), complete cases of the endpoint's population."""
    from .binary import fisher_pvalues
    from .continuous import ancova
    from .reanalysis._common import ipd_population

    d = ipd.design
    e, c = d.experimental_arm.name, d.control_arm.name
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
        for method, p in _prespecified_p(ipd, ipd.design.endpoint(inf.endpoint)):
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


def _check_assumed_sds(
    design: TrialDesign,
    published: pd.DataFrame,
    per_arm: dict[str, dict[str, float]],
    analysed: Mapping[str, tuple[int, int]],
    prov: dict[str, Provenance],
    path: str,
) -> None:
    """Refuse assumed SDs under which the model itself contradicts a published inference.

    For an endpoint whose mean and SD the model draws (``_DRAWN_MOMENTS``) with a published
    between-arm p-value, the Student t-test at the model's means and SDs and the analysed
    denominators (what an exact cohort, whose SDs are fitted to these, gives up to the
    ANCOVA's baseline adjustment) must agree with it; the check is recorded in the SD's
    provenance.
    """
    from .continuous import sd_sensitivity

    e, c = design.experimental_arm.name, design.control_arm.name
    src = published.attrs.get("source_file", "published.csv")
    for inf in published_inferences(design, published):
        ep = design.endpoint(inf.endpoint)
        fields = _DRAWN_MOMENTS.get((ep.parameter, ep.measure))
        if fields is None or fields[0] not in per_arm or fields[1] not in per_arm:
            continue
        if prov.get(fields[1], Provenance("assumed")).label != "assumed":
            continue  # a published SD: the exact cohort's own check applies
        mean, sd = per_arm[fields[0]], per_arm[fields[1]]
        if mean[e] == mean[c]:
            continue
        n1, n2 = analysed[e][1], analysed[c][1]
        level = inf.value if inf.relation != "=" else _ALPHA
        res = sd_sensitivity(
            mean[e], mean[c], n1, n2, sd=[sd[e]], alpha=level, sd_ratio=sd[c] / sd[e]
        )
        p = float(res.p_value[0])
        where = f"{Path(src).name} line {inf.line} ({inf.quantity}, {e} vs {c})"
        if not inf.holds(p):
            raise DesignError(
                path,
                f"assumed.{fields[1]}.value",
                f"SDs under which the t-test of endpoint {ep.id!r} at the analysed "
                f"{n1}/{n2} agrees with the published {inf.text} ({where}); these give "
                f"p = {p:.3g}, and with this SD ratio the {e} SD must be "
                f"{'<' if inf.relation in ('<', '<=') else '>'} {res.sd_max:.3g}",
                sd,
            )
        old = prov.get(fields[1], Provenance("assumed"))
        note = (
            f" Checked against the published {inf.text} ({where}): the t-test at these SDs and "
            f"the analysed {n1}/{n2} gives p = {p:.3g} ({e} SD limit {res.sd_max:.3g}); exact "
            "cohorts fit these SDs."
        )
        prov[fields[1]] = dataclasses.replace(old, reason=old.reason + note)


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


def _make_exact(model: GenerativeModel, w: pd.DataFrame) -> pd.DataFrame:
    """Adjust the per-subject levels so that the analysed subjects reproduce the aggregates."""
    w = w.copy()
    d = model.design
    ep = _primary_composite(d)
    thr = {(c.parameter, c.measure): c for c in ep.components}
    ch, ci = thr[("HBA1C", "value")], thr[("INSDOSE", "pchg")]
    if ch.operator != "<" or ci.operator != "<=":
        raise DesignError(
            d.source_file,
            f"endpoints.{ep.id}.components",
            "HBA1C value < threshold and INSDOSE pchg <= threshold for exact cohorts",
        )
    h_thr, p_thr = ch.threshold, ci.threshold
    hlo, hhi = _bounds(d, "HBA1C", 3.0, 20.0)
    w["D48"] = np.nan
    for arm in model.arms:
        k, n_an = model.analysed[arm]
        idx = np.flatnonzero((w["ARM"] == arm).to_numpy() & ~w["WITHDRAWN"].to_numpy())
        if len(idx) != n_an:
            raise AnalysisError(f"arm {arm!r}: {len(idx)} completers, expected {n_an}")
        h0, h48, p48 = (w[c].to_numpy()[idx] for c in ("H0", "H48", "P48"))
        d0 = w["D0"].to_numpy()[idx]
        s48, sp = model.hba1c_48_sd[arm], model.insulin_pchg_sd[arm]
        # Responders: the k completers closest to meeting (or most clearly meeting) both.
        mh, mp = (h_thr - h48) / s48, (p_thr - p48) / sp
        score = np.minimum(mh, mp)
        resp = np.zeros(n_an, bool)
        resp[np.argsort(-score, kind="stable")[:k]] = True
        fails_h = ~resp & (mh <= mp)  # non-responders fail on the criterion they fail most
        fails_p = ~resp & ~fails_h
        # Baseline HbA1c: eligibility range, published mean and SD (analysed subjects).
        w.loc[w.index[idx], "H0"] = _fit_grid(
            h0,
            0.1,
            np.full(n_an, hlo),
            np.full(n_an, hhi),
            model.hba1c_base_mean[arm],
            model.hba1c_base_sd[arm],
            what=f"{arm} HbA1c week 0",
        )
        # Week-48 HbA1c: responders below the threshold, HbA1c-failures at or above it.
        lo = np.where(fails_h, h_thr, 5.0)
        hi = np.where(resp, h_thr - 0.1, 14.0)
        w.loc[w.index[idx], "H48"] = _fit_grid(
            h48,
            0.1,
            lo,
            hi,
            model.hba1c_48_mean[arm],
            model.hba1c_48_sd[arm],
            what=f"{arm} HbA1c week 48",
        )
        # Week-48 insulin dose on a 0.1 U/day grid; the mean and SD of the stored % change are
        # fitted (the SD to the model's, which honours the published between-arm p-value).
        margin = 0.01
        plo = np.where(fails_p, p_thr + margin, -100.0)
        phi = np.where(resp, p_thr - margin, 200.0)

        def pct(x: np.ndarray, d0=d0) -> np.ndarray:
            return np.round(100 * (np.round(x, 1) - d0) / d0, 2)

        x0 = np.round(d0 * (1 + np.clip(p48, plo, phi) / 100), 1)
        d48 = _fit_grid(
            x0,
            0.1,
            d0 * (1 + plo / 100),
            d0 * (1 + phi / 100),
            model.insulin_pchg_mean[arm],
            model.insulin_pchg_sd[arm],
            transform=pct,
            inverse=lambda t, d0=d0: d0 * (1 + t / 100),
            what=f"{arm} insulin week 48",
        )
        w.loc[w.index[idx], "D48"] = np.round(d48, 1)
        w.loc[w.index[idx], "P48"] = pct(d48)
        for col, mean in (("G0", model.gir_base_mean[arm]), ("G48", model.gir_48_mean[arm])):
            g = w[col].to_numpy()[idx]
            w.loc[w.index[idx], col] = _fit_grid(
                g,
                0.01,
                np.full(n_an, 0.5),
                np.full(n_an, 15.0),
                mean,
                None,
                what=f"{arm} GIR {col}",
            )
    for c in ("H0", "H48"):
        w[c] = np.round(w[c].to_numpy(), 1)
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
        Shipped trial name (``"zang2022"``).
    seed : int, optional
        Seed of every random step; default the shipped cohort's seed (``shipped_seed`` in
        ``data/<trial>/synthetic_model.toml``: 20220503 for Zang 2022).
    exact : bool, default True
        True: the randomised numbers per arm, the derived withdrawals, and every published
        aggregate reproduced to the published precision in the analysed population
        (``PPROTFL = "Y"``): composite responders (each meeting both components; no
        non-responder meeting both), mean % insulin change, HbA1c mean and SD at weeks 0 and
        48, GIR means at weeks 0 and 48; the % insulin change also has the model's SD per arm,
        and every published between-arm p-value is honoured by the endpoint's pre-specified
        test (a draw that contradicts one is redrawn; see the module docstring). False: a
        fresh draw from :func:`model_for`'s model (random withdrawals; aggregates and p-values
        vary as in a real trial).
    **overrides
        Parameters of the generative model (see :func:`model_for`).

    Returns
    -------
    IPD
        ``synthetic=True``; both tables carry ``SYNTHFL = "Y"``. ``info["inferences"]`` is
        :func:`inference_checks` of the cohort, ``info["draws"]`` the number of draws made.

    Notes
    -----
    Unanalysed patients (2 placebo patients for Zang 2022) are withdrawals: ``ITTFL = "Y"``,
    ``PPROTFL = "N"``, ``DCSREAS`` filled, no data after the withdrawal visit. Raises
    ``AnalysisError`` when no exact draw honours the published p-values. The published
    HbA1c changes ("decreased 1.31 %", "0.63 %") differ from the differences of the published
    means (1.50, 0.70) and cannot all hold in one cohort; the means are reproduced.

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
    model = model_for(name, **overrides)
    seed = model.shipped_seed if seed is None else seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ParameterError("seed", "an integer", seed)
    rng = np.random.default_rng(seed)
    n = {a.name: a.n_randomised for a in model.design.arms}
    src = f"synthetic:{name} seed={seed} exact={exact}"
    published = load_published(name)
    draws = 0
    while True:
        draws += 1
        if exact:
            withdraw = {a: n[a] - model.analysed[a][1] for a in model.arms}
            w = _make_exact(model, model._draw_wide(n, rng, withdraw, fixed=True))
        else:
            w = model._draw_wide(n, rng, dict(model.dropout), fixed=False)
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
