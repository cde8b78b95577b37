"""Time-to-event analysis: Kaplan–Meier, log-rank, Cox, RMST, and patient data rebuilt from a
published Kaplan–Meier curve (Guyot et al. 2012).

Entry points (one file per model)
---------------------------------
- :func:`kaplan_meier` (``kaplan_meier.py``) — Greenwood variance, log-log/plain/log CIs,
  medians with R's CI rule, numbers at risk, survival at fixed times; ``.plot()``.
- :func:`logrank` (``logrank.py``) — k arms, strata, Fleming–Harrington G(ρ, γ).
- :func:`cox` (``cox.py``) — Efron/Breslow ties, strata; Wald and profile-likelihood CIs;
  ``.ph_test()`` as R ``cox.zph``.
- :func:`rmst` (``rmst.py``) — RMST difference and ratio as ``survRM2``.
- :func:`reconstruct` (``reconstruct.py``) — Guyot's algorithm; :func:`clean_curve`,
  :func:`reconstruction_fit`.
- :func:`km_plot` (``plot.py``) — KM figure with a numbers-at-risk table.
- :func:`analyse_time_to_event` (``analysis.py``) — all of the above for one endpoint, one
  tidy table (what a report or the reanalysis engine calls).
- :func:`check_hazard_ratio`, :func:`check_medians` (``checks.py``) — published-number checks.
"""

from __future__ import annotations

from typing import Any

from .analysis import TimeToEventAnalysis, analyse_time_to_event
from .checks import HazardRatioCheck, MedianCheck, check_hazard_ratio, check_medians
from .cox import Cox, CoxZph, cox
from .kaplan_meier import KaplanMeier, kaplan_meier
from .logrank import Logrank, logrank
from .reconstruct import (
    RECONSTRUCTED_SOURCE,
    ReconstructionFit,
    clean_curve,
    reconstruct,
    reconstruction_fit,
)
from .rmst import Rmst, rmst

__all__ = [
    "RECONSTRUCTED_SOURCE",
    "Cox",
    "CoxZph",
    "HazardRatioCheck",
    "KaplanMeier",
    "Logrank",
    "MedianCheck",
    "ReconstructionFit",
    "Rmst",
    "TimeToEventAnalysis",
    "analyse_time_to_event",
    "check_hazard_ratio",
    "check_medians",
    "clean_curve",
    "cox",
    "kaplan_meier",
    "km_plot",
    "logrank",
    "reconstruct",
    "reconstruction_fit",
    "rmst",
]


def __getattr__(name: str) -> Any:  # the figure imports matplotlib: load on first use
    if name == "km_plot":
        from .plot import km_plot

        return km_plot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
