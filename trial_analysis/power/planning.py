"""The group-sequential alternative to a fixed design, planned from a reanalysed effect.

A reanalysis gives an effect estimate ``theta_hat`` and its standard error ``se``. The next
trial is sized for ``theta_hat`` (``size``: a :class:`.GroupSequentialSampleSize` from
``design.sample_size_means/_rates/_events``). :func:`sequential_alternative` sets the fixed
design beside the group-sequential one: maximum and expected sample size at ``theta_hat``, at
no effect and averaged over the uncertainty ``theta ~ N(theta_hat, se**2)``, and the power at
``theta_hat`` and averaged over that law (assurance; O'Hagan, Stevens & Campbell 2005).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .._validate import check_finite, check_positive
from ..errors import ParameterError
from ..results import Result
from .sequential import GroupSequentialSampleSize, _run

__all__ = ["SequentialAlternative", "sequential_alternative"]

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(64)
_GH_W = _GH_W / math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class SequentialAlternative(Result):
    """Fixed vs group-sequential design for the next trial (see :func:`sequential_alternative`)."""

    effect: float
    se: float
    unit: str
    table: pd.DataFrame
    design_label: str
    title: ClassVar[str] = "Next trial: fixed vs group-sequential design"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        return (
            f"Sized for the estimate {self.effect:.4g}; expected sizes and power averaged over "
            f"N({self.effect:.4g}, {self.se:.4g}^2) (assurance); {self.unit}, not rounded.",
            f"Group-sequential design: {self.design_label}.",
        )


def sequential_alternative(
    size: GroupSequentialSampleSize, effect: float, se: float
) -> SequentialAlternative:
    """Compare the fixed design with the group-sequential design ``size`` was computed for.

    Parameters
    ----------
    size : GroupSequentialSampleSize
        The group-sequential sample size for the assumed effect ``effect`` (e.g.
        ``group_sequential(3, futility="obrien-fleming").sample_size_rates(p1, p2)``).
    effect : float
        The reanalysed estimate the trial is sized for (on the scale of the z statistic's
        numerator: difference of means or proportions, log hazard ratio, ...).
    se : float
        Its standard error (the uncertainty averaged over).

    Returns
    -------
    SequentialAlternative
        Rows ``fixed`` and ``group-sequential`` with ``n_max``, ``n_expected`` (at the
        estimate), ``n_expected_h0``, ``n_expected_averaged``, ``power`` (at the estimate) and
        ``assurance``.

    Notes
    -----
    The z statistic's mean is proportional to the true effect: ``theta / effect`` times the
    planned drift (``z_{1-a/s} + z_{1-b}`` for the fixed design, ``design.drift`` for the
    group-sequential one), the variance being taken at the planning values. Averages over
    ``theta ~ N(effect, se**2)`` by 64-point Gauss–Hermite quadrature; the fixed design's
    assurance has the closed form ``Phi((z_f - z_a) / sqrt(1 + (z_f se / effect)**2))``
    with ``z_f = z_a + z_b`` (checked in the tests).

    Examples
    --------
    >>> from trial_analysis.power import group_sequential, sequential_alternative
    >>> d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    >>> s = d.sample_size_rates(0.20, 0.0455)
    >>> r = sequential_alternative(s, 0.20 - 0.0455, 0.068)
    >>> round(float(r.table["n_expected"][1] / r.table["n_expected"][0]), 3)
    0.875
    """
    if not isinstance(size, GroupSequentialSampleSize):
        raise ParameterError("size", "a GroupSequentialSampleSize (design.sample_size_...)", size)
    effect = check_finite("effect", effect)
    if effect == 0:
        raise ParameterError("effect", "a non-zero effect estimate", effect)
    se = check_positive("se", se, allow_zero=True)
    d = size.design
    t = np.asarray(d.information_rates)
    c = np.asarray(d.critical_values)
    lower = d._spec[3] if d.sided == 1 else -c
    z_a = float(-ndtri(d.alpha / d.sided))
    z_fixed = d._z()

    def gs(ratio: float) -> tuple[float, float]:
        up, lo = _run(t, ratio * d.drift, c, lower, d.sided)
        early = (up + lo)[:-1]
        stop = np.r_[early, 1 - early.sum()]
        return float(up.sum()), float(np.sum(stop * t)) * size.n_max

    ratios = (effect + se * _GH_X) / effect if se > 0 else np.array([1.0])
    weights = _GH_W if se > 0 else np.array([1.0])
    vals = np.array([gs(r) for r in ratios])
    p_gs, n_gs = gs(1.0)
    fixed_power = ndtr(ratios * z_fixed - z_a)
    table = pd.DataFrame(
        {
            "design": ["fixed", "group-sequential"],
            "n_max": [size.n_fixed, size.n_max],
            "n_expected": [size.n_fixed, n_gs],
            "n_expected_h0": [size.n_fixed, gs(0.0)[1]],
            "n_expected_averaged": [size.n_fixed, float(weights @ vals[:, 1])],
            "power": [float(ndtr(z_fixed - z_a)), p_gs],
            "assurance": [float(weights @ fixed_power), float(weights @ vals[:, 0])],
        }
    )
    return SequentialAlternative(
        effect=effect, se=se, unit=size.unit, table=table, design_label=d.notes[0].rstrip(".")
    )
