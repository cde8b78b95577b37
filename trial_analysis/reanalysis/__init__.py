"""One reanalysis engine for any trial, driven by the endpoints its design declares.

:func:`reanalyze` runs, for each declared endpoint and each experimental arm against the
control, what is possible with what exists: from the published numbers alone (count inference,
tests and intervals, implied SDs and correlations, GRIM/GRIMMER, fragility, Bayes) and, with
patient-level data, ANCOVA, MMRM, multiple imputation, tipping points and models adjusted for
the endpoint's declared covariates. The families (:mod:`~trial_analysis.binary`,
:mod:`~trial_analysis.continuous`, :mod:`~trial_analysis.mmrm`, :mod:`~trial_analysis.missing`,
:mod:`~trial_analysis.consistency`, :mod:`~trial_analysis.bayes`) do the statistics; this
package only decides what applies and gathers the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validate import check_alpha, check_conf_level
from ..errors import AnalysisError, ParameterError
from ..results import SYNTHETIC_NOTE, Result, frame_to_text
from ..trial import Trial, load_trial, resolve_ipd
from ._binary import BinaryReanalysis, analyse_binary
from ._common import SOURCES, data_source
from ._continuous import ContinuousReanalysis, analyse_continuous
from ._survival import TimeToEventReanalysis, analyse_time_to_event

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "SOURCES",
    "BinaryReanalysis",
    "ContinuousReanalysis",
    "Reanalysis",
    "TimeToEventReanalysis",
    "analyse_binary",
    "analyse_continuous",
    "analyse_time_to_event",
    "data_source",
    "primary_index",
    "reanalyze",
]

DEFAULT_SEED = 20220503
#: Minimal clinically important risk difference for P(RD > MCID) (assumed, see notes).
DEFAULT_MCID = 0.10
COLUMNS = [
    "endpoint",
    "comparison",
    "analysis",
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "data_source",
]


@dataclass(frozen=True, eq=False)
class Reanalysis(Result):
    """Every analysis of a trial's endpoints (see :func:`reanalyze`).

    Attributes
    ----------
    trial : Trial
    results : tuple of BinaryReanalysis / ContinuousReanalysis
        One per endpoint and experimental arm, in design order.
    ipd_source : str
        Where the patient-level data came from ('' without).
    synthetic : bool
    """

    trial: Trial = field(repr=False)
    results: tuple[Any, ...] = field(repr=False)
    ipd_source: str = ""
    synthetic: bool = False
    seed: int = DEFAULT_SEED
    skipped: tuple[
        tuple[str, str], ...
    ] = ()  # (endpoint, why) for endpoints with nothing to analyse
    title: ClassVar[str] = "Reanalysis"

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: ``endpoint, comparison, analysis, method, estimate, ci_low,
        ci_high, p_value, data_source`` (``published``, ``patient-level``, ``synthetic`` or
        ``reconstructed``),
        and ``primary``: True on the row of the endpoint's pre-specified analysis (the design's
        ``method``) at the endpoint's visit, and ``endpoint_visit``: False on the rows of a
        by-visit model (MMRM) at the other visits, which do not test the endpoint itself."""
        rows = []
        for r in self.results:
            comp = f"{r.arms[0]} vs {r.arms[1]}"
            rows += [{"endpoint": r.endpoint, "comparison": comp, **row} for row in r.rows()]
        out = pd.DataFrame(rows, columns=COLUMNS)
        for c in ("estimate", "ci_low", "ci_high", "p_value"):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        out["primary"] = False
        for (ep_id, _comp), idx in out.groupby(
            ["endpoint", "comparison"], sort=False
        ).groups.items():
            hit = _primary_index(out.loc[idx], self.trial.design.endpoint(ep_id), self.trial.design)
            if hit is not None:
                out.loc[hit, "primary"] = True
        out["endpoint_visit"] = True
        for ep_id, idx in out.groupby("endpoint", sort=False).groups.items():
            ep = self.trial.design.endpoint(ep_id)
            if ep.type == "time_to_event":
                continue
            m = out.loc[idx, "method"].astype(str)
            label = self.trial.design.visit_label(ep.avisitn)
            other = m.str.lower().str.startswith("mmrm") & ~m.str.endswith(label)
            out.loc[other[other].index, "endpoint_visit"] = False
        return out

    def __getitem__(self, endpoint: str) -> Any:
        """The result of ``endpoint`` (its first experimental arm; see :meth:`of`)."""
        return self.of(endpoint)[0]

    def of(self, endpoint: str) -> tuple[Any, ...]:
        """Every comparison's result for ``endpoint``."""
        out = tuple(r for r in self.results if r.endpoint == endpoint)
        if not out:
            raise KeyError(f"no endpoint {endpoint!r}; analysed: {self.endpoints}")
        return out

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.endpoint for r in self.results))

    @property
    def notes(self) -> tuple[str, ...]:
        out = [f"Trial {self.trial.id}: {self.trial.design.citation}"]
        if self.ipd_source:
            out.append(f"Patient-level data: {self.ipd_source}")
        elif any(getattr(r, "reconstructed", False) for r in self.results):
            out.append(
                "No patient-level data: analyses from the published numbers and from patients "
                "reconstructed from digitised published Kaplan-Meier curves (Guyot 2012)."
            )
        else:
            out.append("No patient-level data: analyses from the published numbers only.")
        out += [f"Endpoint {ep} not analysed: {why}" for ep, why in self.skipped]
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial.id,
            "ipd_source": self.ipd_source,
            "synthetic": self.synthetic,
            "seed": self.seed,
            "table": super().to_dict(),
            "endpoints": [r.to_dict() for r in self.results],
        }

    def __str__(self) -> str:
        head = f"Reanalysis of {self.trial.design.short_title}"
        parts = [head, "=" * len(head), frame_to_text(self.to_frame(), "All analyses")]
        parts += [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)


def _primary_index(rows: pd.DataFrame, ep: Any, design: Any) -> Any:
    """The row of the endpoint's pre-specified analysis (``method`` in the design) at the
    endpoint's visit (:func:`primary_index`)."""
    return primary_index(rows, ep.method, design.visit_label(ep.avisitn))


def primary_index(rows: pd.DataFrame, method: str | None, visit: str | None = None) -> Any:
    """The index of the row of the pre-specified analysis ``method`` in a results table
    (:meth:`Reanalysis.to_frame` rows of one endpoint and comparison), or None.

    ``mmrm``: the MMRM contrast at ``visit`` (a visit label, as the rows name it); ``ancova``:
    the ANCOVA with model-based SE; ``logrank`` / ``cox``: those tests; a binary test id
    (``fisher``): its name in :data:`trial_analysis.binary.TEST_INFO`. Otherwise, and when
    that finds nothing, the first row whose method or analysis contains ``method``. Published
    counts come before patient data. The one rule the engine's ``primary`` column and the
    findings page use.
    """
    method = (method or "").lower()
    if not method:
        return None
    tested = rows.loc[rows["p_value"].notna()]
    m = tested["method"].fillna("").astype(str).str.lower()
    if method == "mmrm":
        hit = tested.loc[
            m.str.startswith("mmrm")
            & (tested["method"].astype(str).str.endswith(visit) if visit else True)
        ]
    elif method == "ancova":
        hit = tested.loc[m.str.startswith("ancova") & m.str.contains("model se")]
    elif method in ("logrank", "log-rank", "cox"):
        label = "log-rank" if method != "cox" else "cox proportional hazards, wald"
        hit = tested.loc[m == label]
    else:
        from ..binary import TEST_INFO

        label = TEST_INFO.get(method, (method,))[0].lower()
        hit = tested.loc[m == label]
    if not len(hit):
        a = tested["analysis"].fillna("").astype(str).str.lower()
        hit = tested.loc[m.str.contains(method, regex=False) | a.str.contains(method, regex=False)]
    if not len(hit):
        return None
    pub = hit.loc[hit["data_source"] == "published"]
    return (pub if len(pub) else hit).index[0]


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError("seed", "an int", seed)
    return int(seed)


def reanalyze(
    trial: Any,
    endpoint: str | None = None,
    *,
    ipd: Any = None,
    seed: int = DEFAULT_SEED,
    conf_level: float = 0.95,
    alpha: float = 0.05,
    mcid: float = DEFAULT_MCID,
    population: str | None = None,
) -> Reanalysis:
    """Reanalyse a trial's declared endpoints with whatever exists: published numbers, data.

    Parameters
    ----------
    trial : str, Path, TrialDesign or Trial
        A shipped trial name, a trial folder, a design or a loaded trial.
    endpoint : str, optional
        One endpoint id (default every endpoint the design declares, in order).
    ipd : None, False, "synthetic", path or IPD
        Patient-level data: ``None`` uses the real patient data the trial ships (e.g. ADaM
        files in ``data/<trial>/adam/``) and otherwise the published numbers only; ``False``
        forces published numbers only; ``"synthetic"`` the trial's synthetic cohort; a folder
        of patient data; or a loaded ``IPD``.
    seed : int
        Seed of every random step (bootstrap, Monte Carlo, imputation, synthetic cohort).
    conf_level, alpha : float
    mcid : float
        Minimal clinically important risk difference of the Bayesian reanalysis (assumed).
    population : str, optional
        Population of the patient-level analyses (default each endpoint's, else ITT).

    Returns
    -------
    Reanalysis
        ``to_frame()`` has one row per analysis; ``results`` holds each endpoint's full result
        (tables, findings, figures).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> r = ta.reanalyze("zang2022", "composite")
    >>> r["composite"].comparison.x1, r["composite"].comparison.n2
    (9, 44)
    """
    seed = _check_seed(seed)
    conf_level = check_conf_level(conf_level)
    alpha = check_alpha(alpha)
    t = load_trial(trial)
    design = t.design
    data = resolve_ipd(t, ipd, seed=seed)
    if endpoint is None:
        eps = list(design.endpoints)
    else:
        try:
            eps = [design.endpoint(endpoint)]
        except KeyError:
            raise ParameterError(
                "endpoint", "one of " + ", ".join(e.id for e in design.endpoints), endpoint
            ) from None
    experimental = [a for a in design.arms if a.role != "control"]
    results, skipped = [], []
    for ep in eps:
        shared: dict[str, Any] = {}
        for arm in experimental:
            try:
                res = _analyse(t, ep, arm, data, shared, seed, mcid, alpha, conf_level, population)
            except AnalysisError as exc:
                # one endpoint (or one comparison) that cannot be analysed does not stop the
                # others: it is listed in ``skipped`` and in the notes; asked for by name, it
                # raises
                if endpoint is not None:
                    raise
                if "nothing to analyse" in str(exc):
                    skipped.append((ep.id, str(exc)))
                    break
                skipped.append((ep.id, f"{arm.name} vs {design.control_arm.name}: {exc}"))
                continue
            results.append(res)
    return Reanalysis(
        trial=t,
        results=tuple(results),
        ipd_source="" if data is None else str(data.source),
        synthetic=bool(data is not None and data.synthetic),
        seed=seed,
        skipped=tuple(skipped),
    )


def _analyse(t, ep, arm, data, shared, seed, mcid, alpha, conf_level, population):
    if ep.type == "binary":
        return analyse_binary(
            t,
            ep,
            arm,
            ipd=data,
            seed=seed,
            mcid=mcid,
            alpha=alpha,
            conf_level=conf_level,
            population=population,
        )
    if ep.type == "continuous":
        return analyse_continuous(
            t, ep, arm, ipd=data, seed=seed, population=population, shared=shared
        )
    if ep.type == "time_to_event":
        return analyse_time_to_event(t, ep, arm, ipd=data, population=population)
    # a type the engine does not analyse yet is said, never skipped silently
    raise ParameterError("endpoint", "a binary or continuous endpoint", f"{ep.id} ({ep.type})")
