"""One call for a time-to-event endpoint: KM medians, log-rank, Cox HR, PH test and RMST, as
one tidy table (what a reanalysis report or engine needs from an ADTTE parameter or a
reconstruction)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validate import check_conf_level
from ..errors import ParameterError
from ..results import Result
from ._common import levels_of
from .cox import Cox, CoxZph, cox
from .kaplan_meier import KaplanMeier, kaplan_meier
from .logrank import Logrank, logrank
from .rmst import Rmst, rmst

__all__ = ["TimeToEventAnalysis", "analyse_time_to_event"]


@dataclass(frozen=True)
class TimeToEventAnalysis(Result):
    """KM, log-rank, Cox (arm vs reference), PH test and RMST of one endpoint.

    ``to_frame()``: one row per number — ``measure, group, estimate, ci_low, ci_high,
    p_value`` — for medians per arm, the hazard ratio of each arm against the reference
    (Wald and profile-likelihood CIs), the log-rank test, the global PH test and, with ``tau``,
    the RMST difference and ratio.
    """

    km: KaplanMeier
    logrank: Logrank
    cox: Cox
    ph: CoxZph
    rmst: Rmst | None
    reference: Any
    n_dropped: int
    source: str | None = None
    covariates: tuple = field(default=())
    title: ClassVar[str] = "Time-to-event analysis"

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for _, r in self.km.summary.iterrows():
            rows.append(("median", r["group"], r["median"], r["ci_low"], r["ci_high"], np.nan))
        cf = self.cox.to_frame()
        for _, r in cf.iterrows():
            term = str(r["term"])
            if not term.startswith("arm="):
                continue
            g = term[4:]
            rows.append(
                (
                    "hazard ratio (Wald CI)",
                    g,
                    r["hazard_ratio"],
                    r["ci_low"],
                    r["ci_high"],
                    r["p_value"],
                )
            )
            rows.append(
                (
                    "hazard ratio (profile CI)",
                    g,
                    r["hazard_ratio"],
                    r["lr_ci_low"],
                    r["lr_ci_high"],
                    np.nan,
                )
            )
        rows.append(
            ("log-rank chi-square", "", self.logrank.chisq, np.nan, np.nan, self.logrank.p_value)
        )
        ph = self.ph.to_frame().set_index("term").loc["GLOBAL"]
        rows.append(("PH test (global chi-square)", "", ph["chisq"], np.nan, np.nan, ph["p_value"]))
        if self.rmst is not None:
            r = self.rmst
            rows.append(
                (
                    "RMST difference",
                    str(r.experimental),
                    r.difference,
                    *r.difference_ci,
                    r.difference_p_value,
                )
            )
            rows.append(("RMST ratio", str(r.experimental), r.ratio, *r.ratio_ci, r.ratio_p_value))
        return pd.DataFrame(
            rows, columns=["measure", "group", "estimate", "ci_low", "ci_high", "p_value"]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            f"Reference arm: {self.reference}; hazard ratios and RMST are arm vs reference.",
            f"{self.km.conf_level:.0%} CIs; medians with {self.km.conf_type} CIs (as R survfit); "
            f"Cox with {self.cox.ties} ties"
            + (f", adjusted for {', '.join(map(str, self.covariates))}" if self.covariates else "")
            + ("; log-rank and Cox stratified" if self.logrank.stratified else "")
            + ".",
        ]
        if self.rmst is not None:
            out.append(f"RMST up to tau = {self.rmst.tau:g}.")
        if self.n_dropped:
            out.append(
                f"{self.n_dropped} rows with a missing value in a used column were left out."
            )
        if self.source:
            out.append(f"Data: {self.source}")
        return tuple(out)

    def plot(self, **kwargs: Any):
        """The KM figure (see :func:`trial_analysis.survival.km_plot`)."""
        return self.km.plot(**kwargs)


def analyse_time_to_event(
    data: pd.DataFrame,
    time: str = "time",
    event: str = "event",
    arm: str = "arm",
    *,
    reference: Any = None,
    strata: str | Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    tau: float | None = None,
    conf_level: float = 0.95,
    conf_type: str = "log-log",
    ties: str = "efron",
    source: str | None = None,
) -> TimeToEventAnalysis:
    """Analyse a time-to-event endpoint of a trial in one call.

    Parameters
    ----------
    data : DataFrame
        One row per patient (e.g. ADTTE with ``time = AVAL``, ``event = 1 - CNSR``, or the
        output of :func:`reconstruct`).
    time, event, arm : str
        Column names (event 1 = event, 0 = censored).
    reference : optional
        The control arm (default: the first sorted label).
    strata : str or list of str, optional
        Stratification columns for the log-rank test and the Cox model's baseline hazards.
    covariates : list of str
        Extra Cox covariates (the HR is then adjusted).
    tau : float, optional
        RMST truncation time (two arms only).
    conf_level, conf_type, ties :
        As :func:`kaplan_meier` and :func:`cox`.
    source : str, optional
        Data source printed in the notes and on the figure. Defaults to the ``source`` column
        when the data carry one (a reconstruction does).

    Returns
    -------
    TimeToEventAnalysis

    Examples
    --------
    >>> import pandas as pd, trial_analysis as ta
    >>> d = pd.DataFrame({"time": [5, 8, 12, 3, 9, 15, 20, 7], "event": [1, 1, 0, 1, 1, 0, 1, 1],
    ...                   "arm": ["A", "A", "A", "A", "B", "B", "B", "B"]})
    >>> r = ta.survival.analyse_time_to_event(d, reference="A")
    >>> list(r.to_frame()["measure"][:3])
    ['median', 'median', 'hazard ratio (Wald CI)']
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data", "a pandas DataFrame with one row per patient", type(data).__name__
        )
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    covs = list(covariates)
    used = [time, event, arm, *strata_cols, *covs]
    missing = [c for c in used if c not in data.columns]
    if missing:
        raise ParameterError("data", f"columns {used} (have {list(data.columns)})", missing)
    level = check_conf_level(conf_level)
    d = data[used].dropna()
    n_dropped = len(data) - len(d)
    if len(d) == 0:
        raise ParameterError("data", "rows without missing values in the used columns")
    levels = levels_of(d[arm].to_numpy(dtype=object))
    if len(levels) < 2:
        raise ParameterError(arm, "at least 2 arms", levels)
    ref = levels[0] if reference is None else reference
    if ref not in levels:
        raise ParameterError("reference", f"one of the arms {levels}", reference)
    if source is None and "source" in data.columns:
        vals = pd.unique(data["source"].dropna())
        source = str(vals[0]) if len(vals) == 1 else None
    km = kaplan_meier(
        d[time], d[event], d[arm], conf_level=level, conf_type=conf_type, source=source
    )
    s = None
    if strata_cols:
        s = pd.MultiIndex.from_frame(d[strata_cols].astype(str)).to_flat_index()
        s = np.array([str(v) for v in s], dtype=object)
    lr = logrank(d[time], d[event], d[arm], strata=s)
    # arm indicators against the chosen reference (cox() would take the first sorted level)
    x = pd.DataFrame({time: d[time].to_numpy(), event: d[event].to_numpy()})
    names = []
    for lev in levels:
        if lev == ref:
            continue
        name = f"arm={lev}"
        x[name] = (d[arm].to_numpy() == lev).astype(float)
        names.append(name)
    for c in covs:
        x[c] = d[c].to_numpy()
    for c in strata_cols:
        x[c] = d[c].to_numpy()
    fit = cox(
        x, time, event, [*names, *covs], strata=strata_cols or None, ties=ties, conf_level=level
    )
    rm = None
    if tau is not None:
        if len(levels) != 2:
            raise ParameterError("tau", "None with more than 2 arms (RMST compares two arms)", tau)
        rm = rmst(d[time], d[event], d[arm], tau, reference=ref, conf_level=level)
    return TimeToEventAnalysis(
        km=km,
        logrank=lr,
        cox=fit,
        ph=fit.ph_test(),
        rmst=rm,
        reference=ref,
        n_dropped=int(n_dropped),
        source=source,
        covariates=tuple(covs),
    )
