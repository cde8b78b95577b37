"""Meta-analysis in the vocabulary of R's metafor, validated against it.

- :func:`escalc` (effect sizes: MD, SMD, log RR, log OR, RD) and conversions for incomplete
  reporting (:func:`se_from_ci`, :func:`se_from_p`, :func:`change_sd`,
  :func:`mean_sd_from_median_iqr`).
- :func:`rma` (FE, DL, HE, SJ, ML, REML, PM; ``test="knha"`` for Hartung-Knapp-Sidik-Jonkman),
  :func:`rma_mh` (Mantel-Haenszel), :func:`rma_peto` (Peto).
- Diagnostics: :func:`leave1out`, :func:`cumul`, :func:`influence`, :func:`regtest` (Egger),
  :func:`ranktest` (Begg), :func:`rho_sensitivity`.
- Figures: :func:`forest_plot`, :func:`funnel_plot` (matplotlib Figures).

>>> import trial_analysis as ta
>>> res = ta.meta.rma([-0.68, 0.05], [0.066, 0.09], method="DL")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from .diagnostics import (
    Cumulative,
    Influence,
    LeaveOneOut,
    RankTest,
    RegTest,
    RhoSensitivity,
    cumul,
    influence,
    leave1out,
    ranktest,
    regtest,
    rho_sensitivity,
)
from .escalc import (
    MEASURES,
    EffectSizes,
    change_sd,
    escalc,
    mean_sd_from_median_iqr,
    se_from_ci,
    se_from_p,
)
from .rma import HeterogeneityCI, RMAResult, rma, rma_mh, rma_peto

__all__ = [
    "MEASURES",
    "Cumulative",
    "EffectSizes",
    "HeterogeneityCI",
    "Influence",
    "LeaveOneOut",
    "RMAResult",
    "RankTest",
    "RegTest",
    "RhoSensitivity",
    "change_sd",
    "cumul",
    "escalc",
    "forest_plot",
    "funnel_plot",
    "influence",
    "leave1out",
    "mean_sd_from_median_iqr",
    "ranktest",
    "regtest",
    "rho_sensitivity",
    "rma",
    "rma_mh",
    "rma_peto",
    "se_from_ci",
    "se_from_p",
]


def __getattr__(name: str) -> Any:  # plots import matplotlib: load on first use
    if name == "evidence":  # effect sizes from an evidence base (ta.meta.evidence)
        import importlib

        return importlib.import_module(f"{__name__}.evidence")
    if name in ("forest_plot", "funnel_plot"):
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'trial_analysis.meta' has no attribute {name!r}")
