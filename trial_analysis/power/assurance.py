"""Assurance (probability of success): power averaged over the posterior of the effect.

Planning a confirmatory trial on the point estimate of a small trial (Zang 2022: 9/45 =
20 % vs 2/44 = 4.55 %) treats an uncertain effect as known. Assurance averages the power
of the new trial over the posterior of (p1, p2) given the earlier trial (O'Hagan, Stevens &
Campbell 2005), from the beta-binomial model of :func:`trial_analysis.bayes.beta_binomial`.
For exact tests the power of every posterior draw is one bilinear form over the same
rejection region, so 10,000 draws cost one matrix product.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validate import check_choice, check_count, check_events
from ..errors import AnalysisError, ParameterError
from ..results import Result
from ._common import check_alpha, check_alternative, check_n, check_ratio, n2_from_ratio
from .exact import (
    _TIE,
    ANALYTIC_TESTS,
    EXACT_TESTS,
    _figure_axes,
    _pgrid,
    _power_at,
    _reject_prob,
    _test_label,
)

__all__ = ["AssuranceResult", "assurance"]


@dataclass(frozen=True)
class AssuranceResult(Result):
    """Assurance beside conventional power, per planned sample size (see :func:`assurance`).

    ``table`` has one row per ``n1``: ``power_at_estimate`` (power if the observed
    proportions were the truth), ``assurance`` (posterior mean of the power) with its Monte
    Carlo SE ``mc_se``, and ``p_power_above_80`` (posterior probability that the power is >= 80 %).
    """

    x1: int
    n1: int
    x2: int
    n2: int
    test: str
    alpha: float
    prior: str
    n_draws: int
    seed: int
    table: pd.DataFrame = field(repr=False)
    title: ClassVar[str] = "Assurance (probability of success) vs conventional power"

    @property
    def assurance(self) -> float:
        """Assurance at the first planned size."""
        return float(self.table["assurance"].iloc[0])

    @property
    def power(self) -> float:
        """Conventional power at the point estimate, first planned size."""
        return float(self.table["power_at_estimate"].iloc[0])

    @property
    def mc_se(self) -> float:
        """Monte Carlo standard error of the assurance at the first planned size."""
        return float(self.table["mc_se"].iloc[0])

    @property
    def mcse(self) -> float:
        """Deprecated name of :attr:`mc_se`."""
        warnings.warn(
            "AssuranceResult.mcse is deprecated; use .mc_se (the table's column is mc_se)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.mc_se

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        p1, p2 = self.x1 / self.n1, self.x2 / self.n2
        return (
            f"Power at the point estimate plans on p1 = {p1:.4g}, p2 = {p2:.4g} "
            f"({self.x1}/{self.n1} vs {self.x2}/{self.n2}) as if known; assurance averages the "
            f"power over {self.n_draws} posterior draws ({self.prior} prior, seed {self.seed}).",
            f"Test of the new trial: {_test_label(self.test)}, alpha = {self.alpha:g}.",
        )

    def plot(self, ax: Any = None) -> Any:
        """Power at the estimate and assurance against n1; returns the Figure."""
        fig, ax = _figure_axes(ax)
        t = self.table
        ax.plot(t["n1_new"], t["power_at_estimate"], marker="o", label="power at the estimate")
        ax.errorbar(
            t["n1_new"],
            t["assurance"],
            yerr=1.96 * t["mc_se"],
            marker="s",
            capsize=2,
            label="assurance",
        )
        ax.set_xlabel("patients per arm in the new trial (n1)")
        ax.set_ylabel("probability of a significant result")
        ax.set_ylim(0, 1)
        ax.legend(frameon=False)
        return fig


def _posterior(x1: int, n1: int, x2: int, n2: int, prior: Any) -> Any:
    bayes = importlib.import_module("trial_analysis.bayes")
    kw = {} if prior is None else {"prior": prior}
    return bayes.beta_binomial(x1, n1, x2, n2, **kw)


def assurance(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    n1_new: int | Sequence[int],
    *,
    ratio: float = 1.0,
    test: str = "fisher",
    alpha: float = 0.05,
    alternative: str = "two-sided",
    prior: Any = None,
    posterior: Any = None,
    n_draws: int = 10_000,
    seed: int = 0,
) -> AssuranceResult:
    """Assurance of a new trial given an earlier one, beside power at the point estimate.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Responders and patients of the earlier trial (arm 1 experimental).
    n1_new : int or sequence of int
        Planned size(s) of arm 1 of the new trial; ``n2_new = ceil(ratio * n1_new)``.
    ratio : float
        Allocation ``n2 / n1`` of the new trial.
    test : str
        Test of the new trial: an exact test (power by enumeration) or an analytic
        approximation (see :func:`trial_analysis.power.sample_size`).
    alpha, alternative
        Level and direction of the new trial's test.
    prior : optional
        Prior passed to :func:`trial_analysis.bayes.beta_binomial` (its default if None).
    posterior : optional
        Any object with ``draw(size, rng) -> (p1, p2)``; default the beta-binomial posterior.
    n_draws : int
        Posterior draws.
    seed : int
        Seed of the draws.

    Returns
    -------
    AssuranceResult

    Notes
    -----
    .. math::

        \\text{assurance}(n) = \\int \\text{power}_n(p_1, p_2)\\,
        \\pi(p_1, p_2 \\mid x_1, x_2)\\,dp_1\\,dp_2
        \\approx \\frac{1}{M}\\sum_{m=1}^{M} \\text{power}_n(p_1^{(m)}, p_2^{(m)}),

    with Monte Carlo SE ``sd(power draws) / sqrt(M)``. Only the posterior draw is random:
    each power is exact (enumeration) or analytic.

    References
    ----------
    .. [1] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design.
       Pharm Stat 2005;4:187-201.

    Examples
    --------
    Zang 2022 (9/45 vs 2/44): how optimistic is planning on 20 % vs 4.55 %?

    >>> from trial_analysis.power import assurance
    >>> a = assurance(9, 45, 2, 44, n1_new=[70, 100], n_draws=2000)
    >>> bool(a.assurance < a.power)
    True
    """
    x1, n1 = check_events("x1", x1, "n1", n1)
    x2, n2 = check_events("x2", x2, "n2", n2)
    ns = [check_n("n1_new", v) for v in np.atleast_1d(n1_new).tolist()]
    ratio = check_ratio(ratio)
    test = check_choice("test", test, EXACT_TESTS + ANALYTIC_TESTS)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    n_draws = check_count("n_draws", n_draws, minimum=2)
    seed = check_count("seed", seed)
    own_posterior = posterior is None
    if own_posterior:
        posterior = _posterior(x1, n1, x2, n2, prior)
    if not callable(getattr(posterior, "draw", None)):
        raise ParameterError("posterior", "an object with a draw(size, rng) method", posterior)
    rng = np.random.default_rng(seed)
    d1, d2 = posterior.draw(n_draws, rng)
    d1 = np.asarray(d1, dtype=float)
    d2 = np.asarray(d2, dtype=float)
    if d1.shape != (n_draws,) or d2.shape != (n_draws,):
        raise AnalysisError("the posterior's draw() must return two arrays of length n_draws")
    # power at a point estimate of 0 or 1 is not defined by the analytic formulas: keep it
    # inside (0, 1) by the smallest amount and say so
    pe1 = min(max(x1 / n1, 1e-9), 1 - 1e-9)
    pe2 = min(max(x2 / n2, 1e-9), 1 - 1e-9)
    rows = []
    for n in ns:
        m = n2_from_ratio(n, ratio)
        if test in EXACT_TESTS:
            region = _pgrid(n, m, test, alternative) <= alpha * (1 + _TIE)
            pw = _reject_prob(region, d1, d2)
        else:
            # draws of exactly 0 or 1 (underflow) are moved inside (0, 1) by 1e-12
            c1 = np.clip(d1, 1e-12, 1 - 1e-12)
            c2 = np.clip(d2, 1e-12, 1 - 1e-12)
            pw = np.array(
                [
                    _power_at(a, b, n, m, test, alpha, alternative)
                    for a, b in zip(c1, c2, strict=True)
                ]
            )
        rows.append(
            {
                "n1_new": n,
                "n2_new": m,
                "power_at_estimate": _power_at(pe1, pe2, n, m, test, alpha, alternative),
                "assurance": float(pw.mean()),
                "mc_se": float(pw.std(ddof=1) / math.sqrt(n_draws)),
                "p_power_above_80": float(np.mean(pw >= 0.8)),
            }
        )
    return AssuranceResult(
        x1=x1,
        n1=n1,
        x2=x2,
        n2=n2,
        test=test,
        alpha=alpha,
        prior=("default" if prior is None else str(prior)) if own_posterior else "given posterior",
        n_draws=n_draws,
        seed=seed,
        table=pd.DataFrame(rows),
    )
