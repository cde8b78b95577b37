"""Exact power, actual size and sample size of two-arm binary tests, by enumeration.

The rejection region of a test at level ``alpha`` is built once for all tables
``(x1, x2)`` from the vectorised p-value grid of :func:`trial_analysis.binary.pvalue_grid`.
Power is then the bilinear form ``b1' R b2`` with ``b_i`` the binomial probabilities of
arm ``i``: no simulation error. The actual type-I error at a common ``p`` is the same sum at
``p1 = p2 = p``; the *size* is its maximum over ``p`` (grid, then refined).

Exact power is not monotone in ``n`` (the "saw-tooth", Chernick & Liu 2002): the sample-size
search reports the first ``n`` that reaches the target and the smallest ``n`` beyond which
power never falls below it, up to a stated bound ``n_max``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .. import limits
from .._validate import check_choice
from ..binary._exact import grid_cost
from ..errors import AnalysisError, ParameterError
from ..results import Result
from ._common import (
    check_alpha,
    check_alternative,
    check_n,
    check_power_target,
    check_probability,
    check_ratio,
    n2_from_ratio,
)
from .analytic import power_two_proportions

__all__ = [
    "ANALYTIC_TESTS",
    "EXACT_TESTS",
    "ExactPower",
    "PowerCurve",
    "SampleSize",
    "SizeCurve",
    "exact_power",
    "power_curve",
    "rejection_region",
    "sample_size",
    "size_curve",
]

EXACT_TESTS = (
    "fisher",
    "fisher_midp",
    "chisq",
    "chisq_yates",
    "z_pooled",
    "lr",
    "barnard",
    "boschloo",
)
#: analytic approximations accepted by :func:`sample_size` and :func:`power_curve`
ANALYTIC_TESTS = ("normal_pooled", "normal_unpooled", "normal_cc", "arcsine")
_TIE = 1e-9  # p <= alpha (1 + 1e-9): a p-value equal to alpha up to rounding rejects
_SIZE_GRID = 1001


# Grids are kept for reuse (simulations and searches look up the same arm sizes again),
# bounded by their total size rather than their number: 512 grids of n = 1000 would be 4 GB.
_GRID_CACHE: OrderedDict[tuple[int, int, str, str], np.ndarray] = OrderedDict()
_GRID_CACHE_BYTES = 256 * 1024**2


def _pgrid(n1: int, n2: int, test: str, alternative: str) -> np.ndarray:
    # the p-value grids belong to the binary area: one implementation of each test
    from ..binary import pvalue_grid

    key = (n1, n2, test, alternative)
    hit = _GRID_CACHE.get(key)
    if hit is not None:
        _GRID_CACHE.move_to_end(key)
        return hit
    grid = np.asarray(pvalue_grid(n1, n2, test, alternative), dtype=float)
    grid.setflags(write=False)
    _GRID_CACHE[key] = grid
    total = sum(g.nbytes for g in _GRID_CACHE.values())
    while total > _GRID_CACHE_BYTES and len(_GRID_CACHE) > 1:
        total -= _GRID_CACHE.popitem(last=False)[1].nbytes
    return grid


_pgrid.cache_clear = _GRID_CACHE.clear  # type: ignore[attr-defined]

# reject-probability sums (one per evaluated (p1, p2)) and the size search (1001 points)
_SECONDS_PER_TABLE_EVAL = 4e-9
_ANALYTIC_ADVICE = (
    "use an analytic approximation (test='normal_cc' or 'normal_pooled'; CLI --test normal_cc) "
    "or a Monte Carlo simulation"
)


def check_search_cost(what: str, sizes: Sequence[tuple[int, int]], tests: Sequence[str]) -> None:
    """Refuse an exact power computation over the arm sizes ``sizes`` beyond the limits."""
    mem = sec = 0.0
    for t in tests:
        if t not in EXACT_TESTS:
            continue
        for n, m in sizes:
            b, s_ = grid_cost(n, m, t)
            mem = max(mem, b)
            sec += s_ + _SECONDS_PER_TABLE_EVAL * (n + 1.0) * (m + 1.0)
    limits.check_cost(what, parameter="n1", memory=mem, seconds=sec, advice=_ANALYTIC_ADVICE)


def _doubled_fisher_power(
    p1: float, p2: float, n1: int, n2: int, alpha: float, alternative: str
) -> float:
    """Power of Fisher's test with the two-sided p taken as twice the smaller one-sided p:
    a lower bound of Boschloo's power as computed here (two-sided = twice the smaller one-sided)."""
    if alternative == "two-sided":
        g, s = _pgrid(n1, n2, "fisher", "greater"), _pgrid(n1, n2, "fisher", "less")
        p = np.minimum(2 * np.minimum(g, s), 1.0)
    else:
        p = _pgrid(n1, n2, "fisher", alternative)
    return float(_reject_prob(p <= alpha * (1 + _TIE), np.array(p1), np.array(p2)))


def rejection_region(
    n1: int, n2: int, test: str = "fisher", alpha: float = 0.05, alternative: str = "two-sided"
) -> np.ndarray:
    """Boolean ``(n1 + 1, n2 + 1)`` array: ``True`` where the table ``x1/n1 vs x2/n2`` rejects.

    Examples
    --------
    >>> from trial_analysis.power import rejection_region
    >>> bool(rejection_region(45, 44, "fisher")[9, 2])  # Zang 2022: p = 0.0496
    True
    """
    n1 = check_n("n1", n1)
    n2 = check_n("n2", n2)
    test = check_choice("test", test, EXACT_TESTS)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    return _pgrid(n1, n2, test, alternative) <= alpha * (1 + _TIE)


def _pmf(n: int, p: np.ndarray) -> np.ndarray:
    """Binomial pmf, shape ``p.shape + (n + 1,)``."""
    return stats.binom.pmf(np.arange(n + 1), n, np.asarray(p, dtype=float)[..., None])


def _reject_prob(region: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """P(reject) for arrays of (p1, p2): ``sum_ij b1_i R_ij b2_j`` (vectorised)."""
    n1, n2 = region.shape[0] - 1, region.shape[1] - 1
    b1 = _pmf(n1, p1)
    b2 = _pmf(n2, p2)
    return np.einsum("...i,ij,...j->...", b1, region.astype(float), b2)


def _size(region: np.ndarray) -> tuple[float, float]:
    """max_p P(reject | p1 = p2 = p): grid of 1001 points, then bounded refinement."""
    grid = np.linspace(0.0, 1.0, _SIZE_GRID)
    curve = _reject_prob(region, grid, grid)
    i = int(np.argmax(curve))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best_p, best = float(grid[i]), float(curve[i])
    if hi > lo:
        res = optimize.minimize_scalar(
            lambda p: -float(_reject_prob(region, np.array(p), np.array(p))),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10},
        )
        if -res.fun > best:
            best_p, best = float(res.x), float(-res.fun)
    return best, best_p


def _test_label(test: str) -> str:
    return {
        "fisher": "Fisher exact",
        "fisher_midp": "Fisher mid-p",
        "chisq": "Pearson chi-square",
        "chisq_yates": "Pearson chi-square with Yates correction",
        "z_pooled": "pooled z",
        "lr": "likelihood ratio G",
        "barnard": "Barnard exact (pooled z)",
        "boschloo": "Boschloo exact",
        "normal_pooled": "normal approximation, pooled",
        "normal_unpooled": "normal approximation, unpooled",
        "normal_cc": "normal approximation, Fleiss continuity correction",
        "arcsine": "arcsine",
    }[test]


@dataclass(frozen=True)
class ExactPower(Result):
    """Exact power and actual size of a binary test (see :func:`exact_power`).

    Attributes
    ----------
    power : float
        P(reject H0) at (p1, p2), summed over the rejection region.
    size : float
        Maximal actual type-I error over the common p (p1 = p2 = p).
    size_at : float
        The common p where the size is attained.
    """

    p1: float
    p2: float
    n1: int
    n2: int
    test: str
    alpha: float
    alternative: str
    power: float
    size: float
    size_at: float
    n_rejecting_tables: int
    title: ClassVar[str] = "Exact power (enumeration of all tables)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "test": self.test,
                    "alternative": self.alternative,
                    "p1": self.p1,
                    "p2": self.p2,
                    "n1": self.n1,
                    "n2": self.n2,
                    "alpha": self.alpha,
                    "power": self.power,
                    "size": self.size,
                    "size_attained_at_p": self.size_at,  # the common p1 = p2 maximising the type-I error
                    "rejecting_tables": self.n_rejecting_tables,
                }
            ]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        out = [
            f"{_test_label(self.test)}: power = sum of Binomial({self.n1}, p1) x "
            f"Binomial({self.n2}, p2) probabilities over the tables with p <= {self.alpha:g}; "
            "no simulation error."
        ]
        if self.size > self.alpha * (1 + 1e-6):
            out.append(
                f"The test is anti-conservative here: actual size {self.size:.4f} exceeds "
                f"alpha = {self.alpha:g}."
            )
        return tuple(out)


def exact_power(
    p1: float,
    p2: float,
    n1: int,
    n2: int,
    test: str = "fisher",
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> ExactPower:
    """Exact power and actual size of a two-arm binary test, by enumeration of all tables.

    Parameters
    ----------
    p1, p2 : float
        True response probabilities of arm 1 (experimental) and arm 2, in (0, 1).
    n1, n2 : int
        Patients per arm (>= 2).
    test : str
        One of ``"fisher"``, ``"fisher_midp"``, ``"chisq"``, ``"chisq_yates"``,
        ``"z_pooled"``, ``"lr"``, ``"barnard"``, ``"boschloo"`` (see
        :func:`trial_analysis.binary.pvalue_grid`).
    alpha : float
        Nominal level in (0, 0.5]: H0 is rejected when ``p <= alpha``.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: H1 p1 > p2.

    Returns
    -------
    ExactPower
        ``.power`` and ``.size`` (maximal actual type-I error over the common p).

    Notes
    -----
    With ``R = {(x1, x2): p(x1, x2) <= alpha}``,

    .. math::

        \\text{power}(p_1, p_2) = \\sum_{(x_1, x_2) \\in R}
        \\binom{n_1}{x_1} p_1^{x_1} (1-p_1)^{n_1-x_1}
        \\binom{n_2}{x_2} p_2^{x_2} (1-p_2)^{n_2-x_2},

    and ``size = max_p power(p, p)``, found on a grid of 1001 points and refined by a
    bounded scalar search next to the best grid point.

    References
    ----------
    .. [1] Fagerland MW, Lydersen S, Laake P. Statistical Analysis of Contingency Tables.
       CRC Press 2017, sec. 4.8 (power and sample size for the 2x2 table).
    .. [2] Chernick MR, Liu CY. The saw-toothed behavior of power versus sample size and
       software solutions. Am Stat 2002;56:149-55.

    Examples
    --------
    Power of a Zang-sized trial (45 vs 44) if the true rates were those observed:

    >>> from trial_analysis.power import exact_power
    >>> r = exact_power(0.20, 0.0455, 45, 44, test="fisher")
    >>> round(r.power, 3) < 0.6 and r.size <= 0.05
    True
    """
    p1 = check_probability("p1", p1)
    p2 = check_probability("p2", p2)
    n1 = check_n("n1", n1)
    n2 = check_n("n2", n2)
    test = check_choice("test", test, EXACT_TESTS)
    mem, sec = grid_cost(n1, n2, test)
    tables = (n1 + 1.0) * (n2 + 1.0)
    limits.check_cost(
        f"{_test_label(test)} power by enumeration at n1 = {n1}, n2 = {n2} ({tables:.2g} tables)",
        parameter="n1/n2",
        memory=mem + 16 * tables,
        seconds=sec + _SECONDS_PER_TABLE_EVAL * _SIZE_GRID * tables,
        advice="use an asymptotic test (CLI --test normal_pooled or chisq) or simulation",
    )
    region = rejection_region(n1, n2, test, alpha, alternative)
    n1, n2 = region.shape[0] - 1, region.shape[1] - 1
    power = float(_reject_prob(region, np.array(p1), np.array(p2)))
    size, at = _size(region)
    return ExactPower(
        p1=p1,
        p2=p2,
        n1=n1,
        n2=n2,
        test=test,
        alpha=float(alpha),
        alternative=alternative,
        power=power,
        size=size,
        size_at=at,
        n_rejecting_tables=int(region.sum()),
    )


# ---------------------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeCurve(Result):
    """Actual type-I error of a test over the common p (see :func:`size_curve`)."""

    n1: int
    n2: int
    test: str
    alpha: float
    alternative: str
    p: np.ndarray = field(repr=False)
    type1: np.ndarray = field(repr=False)
    title: ClassVar[str] = "Actual type-I error over the common p"

    @property
    def size(self) -> float:
        return float(np.max(self.type1))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"p": self.p, "type1_error": self.type1})

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(test=self.test, n1=self.n1, n2=self.n2, alpha=self.alpha, size=self.size)
        return d

    def plot(self, ax: Any = None) -> Any:
        """Line plot of the actual type-I error with the nominal alpha; returns the Figure."""
        fig, ax = _figure_axes(ax)
        ax.plot(self.p, self.type1, lw=1.2, label=f"{_test_label(self.test)}")
        ax.axhline(self.alpha, color="grey", ls="--", lw=0.8, label=f"alpha = {self.alpha:g}")
        ax.set_xlabel("common response probability p")
        ax.set_ylabel("actual type-I error")
        ax.set_title(f"n1 = {self.n1}, n2 = {self.n2}")
        ax.legend(frameon=False)
        return fig


def size_curve(
    n1: int,
    n2: int,
    test: str = "fisher",
    alpha: float = 0.05,
    alternative: str = "two-sided",
    p: Sequence[float] | np.ndarray | None = None,
) -> SizeCurve:
    """Actual type-I error ``P(reject | p1 = p2 = p)`` over a grid of the common ``p``.

    Examples
    --------
    >>> from trial_analysis.power import size_curve
    >>> c = size_curve(45, 44, "fisher")
    >>> bool(c.size <= 0.05)
    True
    """
    region = rejection_region(n1, n2, test, alpha, alternative)
    grid = np.linspace(0.0, 1.0, 201) if p is None else np.asarray(p, dtype=float)
    if grid.ndim != 1 or np.any((grid < 0) | (grid > 1)) or not np.all(np.isfinite(grid)):
        raise ParameterError("p", "a 1-d array of probabilities in [0, 1]", p)
    return SizeCurve(
        n1=region.shape[0] - 1,
        n2=region.shape[1] - 1,
        test=test,
        alpha=float(alpha),
        alternative=alternative,
        p=grid,
        type1=_reject_prob(region, grid, grid),
    )


def _figure_axes(ax: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax

    from .._figures import TrialFigure

    fig = TrialFigure(figsize=(6.0, 4.0), layout="constrained")
    return fig, fig.add_subplot()


def _power_at(p1: float, p2: float, n1: int, n2: int, test: str, alpha: float, alt: str) -> float:
    if test in ANALYTIC_TESTS:
        method = {"normal_pooled": "pooled", "normal_unpooled": "unpooled", "normal_cc": "pooled"}
        return power_two_proportions(
            p1,
            p2,
            n1=n1,
            n2=n2,
            alpha=alpha,
            method=method.get(test, "arcsine"),
            continuity=test == "normal_cc",
            alternative=alt,
        ).power
    region = _pgrid(n1, n2, test, alt) <= alpha * (1 + _TIE)
    return float(_reject_prob(region, np.array(p1), np.array(p2)))


@dataclass(frozen=True)
class PowerCurve(Result):
    """Power against the per-arm sample size for one or more tests (see :func:`power_curve`)."""

    p1: float
    p2: float
    alpha: float
    alternative: str
    ratio: float
    table: pd.DataFrame = field(repr=False)
    target: float = math.nan
    title: ClassVar[str] = "Power curve"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, ax: Any = None) -> Any:
        """Power against n1 (one line per test, exact tests as steps); returns the Figure."""
        fig, ax = _figure_axes(ax)
        for test, g in self.table.groupby("test", sort=False):
            style = "steps-mid" if test in EXACT_TESTS else "default"
            ax.plot(g["n1"], g["power"], drawstyle=style, lw=1.2, label=_test_label(str(test)))
        if not math.isnan(self.target):
            ax.axhline(self.target, color="grey", ls="--", lw=0.8)
        ax.set_xlabel("patients per arm (n1)" if self.ratio == 1 else "n1 (experimental arm)")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.set_title(f"p1 = {self.p1:.4g}, p2 = {self.p2:.4g}, alpha = {self.alpha:g}")
        ax.legend(frameon=False, fontsize="small")
        return fig


def _check_test(test: str) -> str:
    return check_choice("test", test, EXACT_TESTS + ANALYTIC_TESTS)


def power_curve(
    p1: float,
    p2: float,
    n1: Iterable[int],
    test: str | Sequence[str] = "fisher",
    alpha: float = 0.05,
    *,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    target: float | None = None,
) -> PowerCurve:
    """Power over a range of sample sizes ``n1`` (``n2 = ceil(ratio * n1)``) for one or more tests.

    Exact tests (:data:`EXACT_TESTS`) are enumerated; ``"normal_pooled"``,
    ``"normal_unpooled"``, ``"normal_cc"`` and ``"arcsine"`` use the analytic formulas.

    Examples
    --------
    >>> from trial_analysis.power import power_curve
    >>> c = power_curve(0.2, 0.0455, range(40, 101, 20), ["fisher", "normal_pooled"])
    >>> c.to_frame().shape
    (8, 5)
    """
    p1 = check_probability("p1", p1)
    p2 = check_probability("p2", p2)
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    ratio = check_ratio(ratio)
    tests = [test] if isinstance(test, str) else list(test)
    tests = [_check_test(t) for t in tests]
    ns = [check_n("n1", n) for n in n1]
    if not ns:
        raise ParameterError("n1", "a non-empty range of sample sizes", n1)
    check_search_cost(
        f"the exact power curve over n1 = {min(ns)}..{max(ns)}",
        [(n, n2_from_ratio(n, ratio)) for n in ns],
        tests,
    )
    rows = []
    for t in tests:
        for n in ns:
            m = n2_from_ratio(n, ratio)
            rows.append((t, n, m, n + m, _power_at(p1, p2, n, m, t, alpha, alternative)))
    table = pd.DataFrame(rows, columns=["test", "n1", "n2", "n_total", "power"])
    return PowerCurve(
        p1=p1,
        p2=p2,
        alpha=alpha,
        alternative=alternative,
        ratio=ratio,
        table=table,
        target=math.nan if target is None else check_power_target(target, "target"),
    )


# ---------------------------------------------------------------------------------------
# sample size
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSize(Result):
    """Sample size for a target power (see :func:`sample_size`).

    Attributes
    ----------
    n1, n2 : int
        Recommended sizes: for exact tests the smallest ``n1`` from which power stays at or
        above the target for every ``n1`` up to ``n_max`` (saw-tooth safe).
    n1_first, n2_first : int
        The first ``n1`` (scanning upwards) whose power reaches the target.
    n_max : int
        Upper bound of the search (exact tests).
    curve : DataFrame
        ``n1, n2, power, exact`` over the scanned range (exact tests). For Boschloo, sizes at
        which the doubled one-sided Fisher test already reaches the target are not enumerated
        (``exact`` False, ``power`` is that lower bound: Boschloo's p never exceeds Fisher's);
        the reported ``power`` and ``power_first`` are always enumerated.
    """

    p1: float
    p2: float
    test: str
    alpha: float
    alternative: str
    target_power: float
    ratio: float
    n1: int
    n2: int
    power: float
    n1_first: int
    n2_first: int
    power_first: float
    n_max: int | None = None
    curve: pd.DataFrame | None = field(default=None, repr=False)
    title: ClassVar[str] = "Sample size"

    @property
    def n_total(self) -> int:
        return self.n1 + self.n2

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "test": self.test,
                    "p1": self.p1,
                    "p2": self.p2,
                    "alpha": self.alpha,
                    "target_power": self.target_power,
                    "n1_first": self.n1_first,
                    "n2_first": self.n2_first,
                    "power_first": self.power_first,
                    "n1": self.n1,
                    "n2": self.n2,
                    "power": self.power,
                    "n_max": self.n_max,
                }
            ]
        )

    @property
    def notes(self) -> tuple[str, ...]:
        if self.test in ANALYTIC_TESTS:
            return (f"{_test_label(self.test)}; sizes rounded up.",)
        return (
            f"Exact power is saw-toothed in n: n1_first = {self.n1_first} is the first size "
            f"reaching {self.target_power:g}; from n1 = {self.n1} on, power stays >= "
            f"{self.target_power:g} for every n1 up to n_max = {self.n_max} (the search bound).",
        )

    def plot(self, ax: Any = None) -> Any:
        """Power against n1 over the scanned range with both answers marked."""
        if self.curve is None:
            raise AnalysisError("no power curve: the sample size is analytic")
        fig, ax = _figure_axes(ax)
        ax.plot(self.curve["n1"], self.curve["power"], drawstyle="steps-mid", lw=1.2)
        ax.axhline(self.target_power, color="grey", ls="--", lw=0.8)
        ax.axvline(self.n1_first, color="tab:orange", ls=":", label=f"first: {self.n1_first}")
        ax.axvline(self.n1, color="tab:green", ls=":", label=f"stays above: {self.n1}")
        ax.set_xlabel("n1")
        ax.set_ylabel("power")
        ax.legend(frameon=False)
        return fig


def sample_size(
    p1: float,
    p2: float,
    power: float = 0.8,
    alpha: float = 0.05,
    test: str = "fisher",
    ratio: float = 1.0,
    *,
    alternative: str = "two-sided",
    n_max: int | None = None,
) -> SampleSize:
    """Sample size of a two-arm binary comparison for a target power.

    Parameters
    ----------
    p1, p2 : float
        Assumed response probabilities (arm 1 experimental), in (0, 1), different.
    power : float
        Target power in (0, 1).
    alpha : float
        Level in (0, 0.5].
    test : str
        An exact test (:data:`EXACT_TESTS`, power by enumeration) or an analytic
        approximation: ``"normal_pooled"``, ``"normal_unpooled"``, ``"normal_cc"`` (Fleiss
        continuity correction), ``"arcsine"``.
    ratio : float
        Allocation ``n2 / n1``; ``n2 = ceil(ratio * n1)``.
    alternative : {"two-sided", "greater", "less"}
    n_max : int, optional
        Upper bound of the exact search for ``n1`` (default: 1.5 x the continuity-corrected
        normal approximation + 20).

    Returns
    -------
    SampleSize
        ``.n1``, ``.n2`` (saw-tooth safe) and ``.n1_first``, ``.n2_first``.

    Notes
    -----
    For an exact test, power is computed by enumeration for every ``n1`` from a start
    below the normal approximation up to ``n_max``: ``n1_first`` is the first ``n1`` with
    power >= target, ``n1`` the smallest with power >= target at every size from there to
    ``n_max``.

    References
    ----------
    .. [1] Chernick MR, Liu CY. The saw-toothed behavior of power versus sample size and
       software solutions. Am Stat 2002;56:149-55.

    Examples
    --------
    >>> from trial_analysis.power import sample_size
    >>> s = sample_size(0.20, 0.0455, power=0.8, test="fisher")
    >>> s.n1_first <= s.n1
    True
    """
    p1 = check_probability("p1", p1)
    p2 = check_probability("p2", p2)
    if p1 == p2:
        raise ParameterError("p1", "different from p2 (no effect to detect)", p1)
    target = check_power_target(power)
    alpha = check_alpha(alpha)
    ratio = check_ratio(ratio)
    alternative = check_alternative(alternative)
    test = _check_test(test)
    if (alternative == "greater" and p1 < p2) or (alternative == "less" and p1 > p2):
        raise ParameterError(
            "alternative",
            f"the direction of the assumed effect (p1 - p2 = {p1 - p2:g})",
            alternative,
        )
    approx = power_two_proportions(
        p1,
        p2,
        power=target,
        alpha=alpha,
        ratio=ratio,
        continuity=True,
        alternative=alternative,
    )
    if test in ANALYTIC_TESTS:
        method = {"normal_pooled": "pooled", "normal_unpooled": "unpooled", "normal_cc": "pooled"}
        r = power_two_proportions(
            p1,
            p2,
            power=target,
            alpha=alpha,
            ratio=ratio,
            method=method.get(test, "arcsine"),
            continuity=test == "normal_cc",
            alternative=alternative,
        )
        return SampleSize(
            p1,
            p2,
            test,
            alpha,
            alternative,
            target,
            ratio,
            r.n1,
            r.n2,
            r.power,
            r.n1,
            r.n2,
            r.power,
        )
    if n_max is None:
        n_max = math.ceil(1.5 * approx.n1_exact) + 20
    n_max = check_n("n_max", n_max)
    start = max(2, min(n_max, math.floor(0.6 * approx.n1_exact)))
    check_search_cost(
        f"the {_test_label(test)} sample-size search by enumeration for p1 = {p1:g}, p2 = {p2:g} "
        f"(n1 = {start}..{n_max} around the normal approximation {approx.n1})",
        [(n, n2_from_ratio(n, ratio)) for n in range(start, n_max + 1)],
        [test],
    )

    enumerated: dict[int, bool] = {}

    def pw(n: int) -> float:
        m = n2_from_ratio(n, ratio)
        if test == "boschloo":
            # Boschloo's p-value never exceeds Fisher's (Boschloo 1970), one-sided and hence
            # also doubled; where the doubled-Fisher test already reaches the target, so does
            # Boschloo, and its (costly) grid is not needed to decide. Power there is >= the bound.
            lb = _doubled_fisher_power(p1, p2, n, m, alpha, alternative)
            if lb >= target:
                enumerated[n] = False
                return lb
        enumerated[n] = True
        return _power_at(p1, p2, n, m, test, alpha, alternative)

    powers: dict[int, float] = {n: pw(n) for n in range(start, n_max + 1)}
    while start > 2 and powers[start] >= target:  # reached already: look further down
        start -= 1
        powers[start] = pw(start)
    ns = np.arange(start, n_max + 1)
    pv = np.array([powers[n] for n in ns])
    ok = pv >= target
    if not ok.any():
        raise AnalysisError(
            f"the target power {target:g} is not reached with n1 <= n_max = {n_max} "
            f"(power at n_max: {pv[-1]:.4f}); raise `n_max`"
        )
    first = int(ns[np.argmax(ok)])
    # smallest n such that every n' in [n, n_max] has power >= target
    bad = np.nonzero(~ok)[0]
    stable = int(ns[bad[-1] + 1]) if len(bad) else int(ns[0])
    if not ok[-1]:
        raise AnalysisError(
            f"power drops below {target:g} at n_max = {n_max}: no size is safe up to the "
            "bound; raise `n_max`"
        )
    for k in {first, stable}:  # the reported powers are always enumerated exactly
        if not enumerated[k]:
            powers[k] = _power_at(p1, p2, k, n2_from_ratio(k, ratio), test, alpha, alternative)
            enumerated[k] = True
    pv = np.array([powers[n] for n in ns])
    curve = pd.DataFrame(
        {
            "n1": ns,
            "n2": [n2_from_ratio(int(n), ratio) for n in ns],
            "power": pv,
            "exact": [enumerated[int(n)] for n in ns],  # False: a lower bound (Boschloo only)
        }
    )
    return SampleSize(
        p1=p1,
        p2=p2,
        test=test,
        alpha=alpha,
        alternative=alternative,
        target_power=target,
        ratio=ratio,
        n1=stable,
        n2=n2_from_ratio(stable, ratio),
        power=powers[stable],
        n1_first=first,
        n2_first=n2_from_ratio(first, ratio),
        power_first=powers[first],
        n_max=n_max,
        curve=curve,
    )
