"""Tests against a margin: non-inferiority (one one-sided test) and equivalence (TOST).

One result object and one Wald/t implementation shared by every family:
:func:`trial_analysis.binary.noninferiority` / :func:`~trial_analysis.binary.equivalence`
(score tests from counts, Wald tests on an adjusted or stratified estimate) and
:func:`trial_analysis.continuous._tost.tost` (means, ANCOVA and MMRM contrasts).

A non-inferiority test of ``alternative="greater"`` (higher is better) tests
``H0: effect <= margin`` against ``H1: effect > margin``; ``"less"`` the mirror image. The
two one-sided tests (TOST, Schuirmann 1987) of equivalence test ``H0: effect <= low`` and
``H0: effect >= high`` each at level ``alpha``; equivalence is shown when both reject, i.e.
when the ``1 - 2 alpha`` interval lies inside ``(low, high)``. Ratios are tested on the log
scale.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ._validate import check_alpha, check_choice, check_finite, check_positive
from .errors import ParameterError
from .results import SYNTHETIC_NOTE, Result, select_row

__all__ = ["SIDES", "MarginResult", "combine_margins", "margin_result", "wald_margin"]

SIDES = ("greater", "less")
COLUMNS = [
    "test",
    "hypothesis",
    "margin",
    "estimate",
    "statistic",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "rejected",
]


@dataclass(frozen=True, eq=False)
class MarginResult(Result):
    """Non-inferiority or equivalence test (see :func:`trial_analysis.binary.noninferiority`,
    :func:`trial_analysis.binary.equivalence`, :func:`trial_analysis.continuous._tost.tost`).

    ``to_frame()``: one row per one-sided test (``test`` = ``"lower"`` / ``"upper"``) with the
    hypothesis, margin, estimate, statistic, df (NaN for z tests), one-sided p-value, the
    ``1 - 2 alpha`` interval and whether H0 is rejected at ``alpha``. ``p_value`` is the
    largest one-sided p (the TOST p-value); ``conclusion`` is True when every H0 is rejected.

    Several experimental arms against one control (:func:`combine_margins`): the table has a
    ``comparison`` column, one block of rows per arm; ``p_value`` and ``conclusion`` are those
    of the intersection-union test that *every* arm meets the margin (the largest p; no
    multiplicity adjustment is needed for it, Berger 1982), and ``estimate``, ``ci_low``,
    ``ci_high`` are NaN (read them per arm from the table).
    """

    table: pd.DataFrame = field(repr=False)
    kind: str  # "non-inferiority" or "equivalence"
    effect: str
    method: str
    estimate: float
    ci_low: float
    ci_high: float
    alpha: float
    p_value: float
    conclusion: bool
    synthetic: bool = False
    comparisons: tuple[str, ...] = ()
    title: ClassVar[str] = "Test against a margin"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, test: str, comparison: str | None = None) -> pd.Series:
        """The ``"lower"`` or ``"upper"`` one-sided test (of one ``comparison`` when the
        result holds several arms)."""
        table = self.table
        if "comparison" in table.columns:
            if comparison is None and len(self.comparisons) > 1:
                raise ParameterError("comparison", f"one of {list(self.comparisons)!r}", comparison)
            if comparison is not None:
                table = table[table["comparison"] == comparison]
                if table.empty:
                    raise ParameterError(
                        "comparison", f"one of {list(self.comparisons)!r}", comparison
                    )
        return select_row(table, "test", test)

    @property
    def notes(self) -> tuple[str, ...]:
        lev = 1 - 2 * self.alpha
        verdict = "shown" if self.conclusion else "not shown"
        if len(self.comparisons) > 1:
            shown = self.table.groupby("comparison", sort=False)["rejected"].all()
            out = [
                f"{self.kind.capitalize()} of the {self.effect} ({self.method}) of "
                f"{len(self.comparisons)} comparisons, each at one-sided alpha = "
                f"{self.alpha:g}: shown for "
                + (", ".join(c for c in self.comparisons if shown[c]) or "none")
                + f". Every comparison at once (intersection-union, largest p = "
                f"{self.p_value:.4g}): {verdict}.",
            ]
            if self.synthetic:
                out.append(SYNTHETIC_NOTE)
            return tuple(out)
        out = [
            f"{self.kind.capitalize()} of the {self.effect} ({self.method}): {verdict} at "
            f"one-sided alpha = {self.alpha:g} (p = {self.p_value:.4g}); estimate "
            f"{self.estimate:.4g}, {lev:.0%} interval {self.ci_low:.4g} to {self.ci_high:.4g}.",
        ]
        if self.kind == "equivalence":
            out.append(
                "Two one-sided tests (Schuirmann 1987): the p-value is the larger of the two; "
                "equivalence when the interval lies inside the margins."
            )
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)


def hypothesis_text(side: str, margin: float, effect: str) -> str:
    return f"H0: {effect} {'<=' if side == 'greater' else '>='} {margin:g}"


def check_margins(
    kind: str, margin: float | tuple[float, float], log: bool, alternative: str | None
) -> list[tuple[str, float]]:
    """``[(side, margin), ...]``: one test for non-inferiority, two (lower, upper) for TOST."""
    if kind == "non-inferiority":
        side = check_choice("alternative", alternative, SIDES)
        m = check_positive("margin", margin) if log else check_finite("margin", margin)
        return [(side, float(m))]
    if not isinstance(margin, (tuple, list)) or len(margin) != 2:
        raise ParameterError("margins", "a pair (low, high)", margin)
    low, high = margin
    low = check_positive("low", low) if log else check_finite("low", low)
    high = check_positive("high", high) if log else check_finite("high", high)
    if not low < high:
        raise ParameterError("high", f"greater than low = {low:g}", high)
    return [("greater", float(low)), ("less", float(high))]


def margin_result(
    kind: str,
    effect: str,
    method: str,
    estimate: float,
    tests: list[tuple[str, float]],
    statistic: Callable[[float], float],
    pvalue: Callable[[float, str], float],
    ci: tuple[float, float],
    alpha: float,
    df: float = math.nan,
    synthetic: bool = False,
) -> MarginResult:
    """Assemble a :class:`MarginResult` from a statistic at a margin and its one-sided p."""
    rows = []
    for side, m in tests:
        t = float(statistic(m))
        p = float(pvalue(t, side))
        rows.append(
            dict(
                test="lower" if side == "greater" else "upper",
                hypothesis=hypothesis_text(side, m, effect),
                margin=m,
                estimate=estimate,
                statistic=t,
                df=df,
                p_value=p,
                ci_low=ci[0],
                ci_high=ci[1],
                rejected=bool(p < alpha),
            )
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    p_all = float(table["p_value"].max())
    return MarginResult(
        table=table,
        kind=kind,
        effect=effect,
        method=method,
        estimate=float(estimate),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        alpha=alpha,
        p_value=p_all,
        conclusion=bool(table["rejected"].all()),
        synthetic=synthetic,
    )


def combine_margins(results: list[MarginResult], labels: list[str]) -> MarginResult:
    """One :class:`MarginResult` for several experimental arms against one control: each
    result's rows under its ``comparison`` label; the overall p-value and conclusion are the
    intersection-union test of every comparison (the largest p; all rejected)."""
    if len(results) == 1:
        r = results[0]
        table = r.table.copy()
        table.insert(0, "comparison", labels[0])
        return dataclasses.replace(r, table=table, comparisons=tuple(labels))
    parts = []
    for r, lab in zip(results, labels, strict=True):
        t = r.table.copy()
        t.insert(0, "comparison", lab)
        parts.append(t)
    table = pd.concat(parts, ignore_index=True)
    first = results[0]
    return MarginResult(
        table=table,
        kind=first.kind,
        effect=first.effect,
        method=first.method,
        estimate=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        alpha=first.alpha,
        p_value=float(table["p_value"].max()),
        conclusion=bool(table["rejected"].all()),
        synthetic=any(r.synthetic for r in results),
        comparisons=tuple(labels),
    )


def one_sided_p(t: float, side: str, df: float = math.nan) -> float:
    """``P(T >= t)`` for ``"greater"``, ``P(T <= t)`` for ``"less"`` (normal, or t with df)."""
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    return float(dist.sf(t) if side == "greater" else dist.cdf(t))


def wald_margin(
    estimate: float,
    se: float,
    margin: float | tuple[float, float],
    *,
    kind: str = "non-inferiority",
    alternative: str | None = "greater",
    df: float | None = None,
    log: bool = False,
    alpha: float = 0.025,
    effect: str = "difference",
    method: str = "Wald",
    synthetic: bool = False,
) -> MarginResult:
    """Wald z (or t with ``df``) test of an estimate against a margin, or TOST.

    ``statistic = (g(estimate) - g(margin)) / se`` with ``g = log`` for ratios (``se`` is
    then the SE of the log estimate); the interval ``g^{-1}(g(est) -/+ q se)`` with ``q`` the
    ``1 - alpha`` quantile of the normal (or t) distribution.
    """
    alpha = check_alpha(alpha)
    estimate = check_positive("estimate", estimate) if log else check_finite("estimate", estimate)
    se = check_positive("se", se)
    dfv = math.nan if df is None else check_positive("df", df)
    tests = check_margins(kind, margin, log, alternative)
    g = math.log if log else (lambda v: v)
    centre = g(estimate)
    q = float(stats.norm.isf(alpha) if math.isnan(dfv) else stats.t.isf(alpha, dfv))
    lo, hi = centre - q * se, centre + q * se
    if log:
        lo, hi = math.exp(lo), math.exp(hi)
    return margin_result(
        kind,
        effect,
        method,
        estimate,
        tests,
        lambda m: (centre - g(m)) / se,
        lambda t, side: one_sided_p(t, side, dfv),
        (lo, hi),
        alpha,
        df=dfv,
        synthetic=synthetic,
    )
