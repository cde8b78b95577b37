"""Two-arm binary endpoint: tests, intervals, ``compare``, ``fragility_index``.

Arm 1 is the experimental arm throughout: ``x1`` events out of ``n1`` vs ``x2`` out of ``n2``.

- :func:`compare` — every test and interval of the issue in one tidy table.
- :func:`fragility_index` / :func:`fragility_table` — Walsh et al. (2014) fragility index,
  fragility quotient, reverse fragility index.
- :func:`pvalue_grid` / :func:`pvalues` — p-values of 8 tests for every table (vectorised;
  used by exact power in :mod:`trial_analysis.power`).

The interval formulas live in :mod:`trial_analysis._binary_ci` (asymptotic),
:mod:`trial_analysis._conditional` (Fisher/odds ratio), :mod:`trial_analysis._uncond_ci`
(exact unconditional risk difference) and :mod:`trial_analysis._exact` (p-value grids).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validate import check_alpha, check_choice, check_conf_level, check_events
from ..results import Result, select_row, to_jsonable
from . import _intervals as ci
from ._conditional import cmle, fisher_pvalues, matching_ci
from ._exact import (
    ALTERNATIVES,
    DEFAULT_NUISANCE_POINTS,
    TESTS,
    _lr,
    _pearson,
    pvalue_grid,
    pvalues,
)
from ._uncond_ci import rd_exact_unconditional

__all__ = [
    "ALTERNATIVES",
    "TESTS",
    "AdjustedResult",
    "BinaryComparison",
    "CMHResult",
    "FirthResult",
    "FragilityResult",
    "FragilityTable",
    "MissingSensitivity",
    "TippingPoint",
    "adjusted",
    "cmh",
    "cmh_counts",
    "compare",
    "equivalence",
    "firth_logit",
    "fragility_index",
    "fragility_table",
    "missing_sensitivity",
    "noninferiority",
    "pool_sparse_strata",
    "pvalue_grid",
    "pvalues",
    "tipping_point",
]

COLUMNS = [
    "quantity",
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "statistic",
    "key",
    "reference",
]

_EXACT_CI_MAX_TABLES = 40_000

TEST_INFO = {
    "fisher": ("Fisher exact (two-sided: minimum likelihood)", "Fisher 1935; R fisher.test"),
    "fisher_midp": ("Fisher mid-p", "Lancaster 1961; Fagerland et al. 2017 sec. 4.4.5"),
    "chisq": ("Pearson chi-square", "Pearson 1900; R chisq.test(correct=FALSE)"),
    "chisq_yates": ("Pearson chi-square, Yates-corrected", "Yates 1934; R chisq.test"),
    "z_pooled": ("z test, pooled variance", "R prop.test(correct=FALSE)"),
    "lr": ("Likelihood ratio G", "Fagerland et al. 2017 sec. 4.4.2"),
    "barnard": ("Barnard exact unconditional (pooled z)", "Barnard 1947; scipy barnard_exact"),
    "boschloo": ("Boschloo exact unconditional", "Boschloo 1970; scipy boschloo_exact"),
}


def _rd_rows(x1, n1, x2, n2, cl, exact: bool) -> list[dict[str, Any]]:
    rows = []
    for key, (label, fn, ref) in ci.RD_METHODS.items():
        est, lo, hi = (float(v) for v in fn(x1, n1, x2, n2, cl))
        rows.append(
            dict(method=label, estimate=est, ci_low=lo, ci_high=hi, key=f"rd_{key}", reference=ref)
        )
    est, lo, hi = rd_exact_unconditional(x1, n1, x2, n2, cl) if exact else (math.nan,) * 3
    rows.append(
        dict(
            method="Exact unconditional (Chan-Zhang, score)",
            estimate=float(est),
            ci_low=float(lo),
            ci_high=float(hi),
            key="rd_exact_unconditional",
            reference="Chan & Zhang 1999; R exact2x2 uncondExact2x2",
        )
    )
    for r in rows:
        r["quantity"] = "risk difference"
    return rows


#: the method name of a Katz/Woolf row whose table was corrected for a zero cell
ZERO_CELL_LABEL = "0.5 added to each cell (a zero cell)"


def _ratio_rows(x1, n1, x2, n2, cl) -> list[dict[str, Any]]:
    rows = []
    # Katz and Woolf estimate and interval from one table: the corrected one when a cell is 0
    # (then named so); Koopman and the conditional MLE stay 0 or inf with a limit 0 or inf
    katz_fixed = (x1 == 0) != (x2 == 0)
    woolf_fixed = min(x1, n1 - x1, x2, n2 - x2) == 0 and not (
        (x1 == 0 and x2 == 0) or (x1 == n1 and x2 == n2)
    )
    for key, label, fn, ref in (
        (
            "rr_katz",
            f"Katz log, {ZERO_CELL_LABEL}" if katz_fixed else "Katz log",
            ci.rr_katz,
            "Katz et al. 1978",
        ),
        ("rr_koopman", "Koopman score", ci.rr_koopman, "Koopman 1984"),
    ):
        est, lo, hi = (float(v) for v in fn(x1, n1, x2, n2, cl))
        rows.append(
            dict(
                quantity="relative risk",
                method=label,
                estimate=est,
                ci_low=lo,
                ci_high=hi,
                key=key,
                reference=ref,
            )
        )
    est, lo, hi = (float(v) for v in ci.or_woolf(x1, n1, x2, n2, cl))
    rows.append(
        dict(
            quantity="odds ratio",
            method=f"Woolf logit, {ZERO_CELL_LABEL}" if woolf_fixed else "Woolf logit",
            estimate=est,
            ci_low=lo,
            ci_high=hi,
            key="or_woolf",
            reference="Woolf 1955",
        )
    )
    psi = cmle(x1, n1, x2, n2)
    pv = fisher_pvalues(x1, n1, x2, n2)
    for kind, label, ref in (
        (
            "central",
            "Conditional MLE, central exact CI",
            "R fisher.test conf.int; exact2x2 tsmethod='central'",
        ),
        (
            "minlike",
            "Conditional MLE, minimum-likelihood CI",
            "Fay 2010; exact2x2 tsmethod='minlike'",
        ),
        ("blaker", "Conditional MLE, Blaker CI", "Blaker 2000; exact2x2 tsmethod='blaker'"),
    ):
        lo, hi = matching_ci(x1, n1, x2, n2, cl, kind)
        rows.append(
            dict(
                quantity="odds ratio",
                method=label,
                estimate=psi,
                ci_low=lo,
                ci_high=hi,
                p_value=pv[kind],
                key=f"or_{kind}",
                reference=ref,
            )
        )
    return rows


def _nnt_row(rd_row: dict[str, Any]) -> dict[str, Any]:
    d, lo, hi = rd_row["estimate"], rd_row["ci_low"], rd_row["ci_high"]
    est = math.inf if d == 0 else 1 / d
    # Altman (1998): when the RD interval excludes 0 the NNT interval is (1/hi, 1/lo); when it
    # includes 0 the set is NNTB >= 1/hi together with NNTH >= 1/|lo| (through infinity):
    # ci_low = 1/hi (benefit) and ci_high = 1/lo (negative = harm) are reported as they are.
    with np.errstate(divide="ignore"):
        low = math.inf if hi == 0 else 1 / hi
        high = -math.inf if lo == 0 else 1 / lo
    if lo > 0 or hi < 0:
        low, high = min(low, high), max(low, high)
    return dict(
        quantity="NNT",
        method="1 / RD, Newcombe hybrid score limits",
        estimate=est,
        ci_low=low,
        ci_high=high,
        key="nnt_newcombe",
        reference="Altman 1998 BMJ 317:1309",
    )


@dataclass(frozen=True)
class BinaryComparison(Result):
    """All tests and intervals for ``x1/n1`` vs ``x2/n2`` (see :func:`compare`)."""

    x1: int
    n1: int
    x2: int
    n2: int
    conf_level: float
    alternative: str
    table: pd.DataFrame = field(repr=False, compare=False)
    arm_labels: tuple[str, str] = ("arm 1", "arm 2")
    title: str = "Two proportions: tests and intervals"
    extra_notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, key: str) -> pd.Series:
        """One row by its ``key`` (e.g. ``"rd_wald"``, ``"test_fisher"``, ``"or_blaker"``)."""
        return select_row(self.table, "key", key)

    def p_value(self, test: str) -> float:
        """p-value of one of :data:`TESTS`."""
        return float(self.row(f"test_{test}")["p_value"])

    @property
    def notes(self) -> tuple[str, ...]:
        x1, n1, x2, n2 = self.x1, self.n1, self.x2, self.n2
        out = [
            f"{self.arm_labels[0]}: {x1}/{n1}; {self.arm_labels[1]}: {x2}/{n2}. "
            f"Intervals are two-sided {self.conf_level:.0%}; test p-values are {self.alternative}."
        ]
        cells = (x1, n1 - x1, x2, n2 - x2)
        if x1 + x2 in (0, n1 + n2):
            out.append(
                "No information on a difference (all or no events in both arms): chi-square, z and "
                "G statistics are 0/0 and reported as p = 1 (R returns NaN); odds and risk ratios "
                "are undefined (interval 0 to inf)."
            )
        informative = x1 + x2 not in (0, n1 + n2)
        if (x1 == 0) != (x2 == 0):
            out.append(ci.ZERO_CELL_NOTES["rr_katz"])
        if min(cells) == 0 and informative:
            out.append(ci.ZERO_CELL_NOTES["or_woolf"])
            rr = (x1 == 0) != (x2 == 0)
            out.append(
                ci.ZERO_CELL_NOTES["unbounded"].format(
                    what="risk ratio and the odds ratio" if rr else "odds ratio",
                    which="estimates (Koopman score RR, conditional MLE OR) are"
                    if rr
                    else "estimate (conditional MLE) is",
                )
            )
        if not np.isfinite(self.row("rd_exact_unconditional").ci_low):
            out.append(
                "Chan-Zhang exact interval not computed (exact_unconditional=False, or more than "
                f"{_EXACT_CI_MAX_TABLES} tables by default)."
            )
        out.append(
            f"Barnard/Boschloo: nuisance parameter maximised on {DEFAULT_NUISANCE_POINTS} grid points "
            "with golden-section refinement; two-sided Boschloo = twice the smaller one-sided p (as scipy)."
        )
        out.append(
            "Minimum-likelihood and Blaker confidence sets may not be intervals; the smallest interval "
            "containing the set is reported (as exact2x2)."
        )
        return tuple(out) + tuple(self.extra_notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "counts": {"x1": self.x1, "n1": self.n1, "x2": self.x2, "n2": self.n2},
            "arms": list(self.arm_labels),
            "conf_level": self.conf_level,
            "alternative": self.alternative,
            "table": to_jsonable(self.to_frame()),
            "notes": list(self.notes),
        }

    def plot(self, ax=None):
        """Every interval: risk difference, relative risk and odds ratio panels, one above the
        other (each as tall as its number of methods), so the method names stay legible at a
        page's width.

        Returns a matplotlib ``Figure`` (built without pyplot).
        """
        from .._figures import TrialFigure

        panels = [
            ("risk difference", 0.0, False),
            ("relative risk", 1.0, True),
            ("odds ratio", 1.0, True),
        ]
        counts = [max(1, int((self.table["quantity"] == q).sum())) for q, _, _ in panels]
        fig = TrialFigure(figsize=(6.5, 1.2 + 0.26 * sum(counts) + 0.5 * 3), layout="constrained")
        axes = fig.subplots(3, 1, height_ratios=[c + 1.5 for c in counts])
        for axis, (q, null, logx) in zip(axes, panels, strict=True):
            sub = self.table[self.table["quantity"] == q].reset_index(drop=True)
            y = np.arange(len(sub))[::-1]
            for yi, (_, r) in zip(y, sub.iterrows(), strict=True):
                lo, hi, est = r["ci_low"], r["ci_high"], r["estimate"]
                if logx:
                    lo = max(lo, 1e-3)
                    hi = min(hi, 1e4)
                axis.plot([lo, hi], [yi, yi], color="C0", lw=2)
                if np.isfinite(est) and (not logx or est > 0):
                    axis.plot([est], [yi], "o", color="C1")
            axis.axvline(null, color="grey", ls="--", lw=1)
            if logx:
                axis.set_xscale("log")
            axis.set_yticks(y)
            axis.set_yticklabels(sub["method"], fontsize=8)
            axis.set_ylim(-0.6, len(sub) - 0.4)
            axis.set_title(q, fontsize=9, loc="left")
        fig.suptitle(
            f"{self.arm_labels[0]} {self.x1}/{self.n1} vs {self.arm_labels[1]} {self.x2}/{self.n2}: "
            f"{self.conf_level:.0%} intervals"
        )
        return fig


def compare(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    conf_level: float = 0.95,
    *,
    alternative: str = "two-sided",
    arm_labels: tuple[str, str] = ("arm 1", "arm 2"),
    exact_unconditional: bool | None = None,
) -> BinaryComparison:
    """Compare two independent proportions every way a reviewer would.

    Parameters
    ----------
    x1, n1 : int
        Events and patients in arm 1 (experimental).
    x2, n2 : int
        Events and patients in arm 2 (control).
    conf_level : float, default 0.95
        Level of every (two-sided) interval.
    alternative : {"two-sided", "greater", "less"}
        Alternative of the test p-values (``"greater"``: p1 > p2). The odds-ratio rows always
        carry the two-sided Fisher p-value their interval matches.
    arm_labels : (str, str)
        Names shown in the notes and the plot.
    exact_unconditional : bool, optional
        Compute the Chan-Zhang exact interval (the slowest row). Default: when
        ``(n1 + 1)(n2 + 1) <= 40 000`` (about 200 per arm); otherwise, or with False, that row
        is NaN and a note says so.

    Returns
    -------
    BinaryComparison
        ``to_frame()`` has one row per test or interval with columns ``quantity`` (test / risk
        difference / relative risk / odds ratio / NNT), ``method``, ``estimate``, ``ci_low``,
        ``ci_high``, ``p_value``, ``statistic``, ``key`` and ``reference``.

    Notes
    -----
    Tests: Fisher (two-sided p as R's ``fisher.test``: sum of the tables no more likely than
    the observed one), Fisher mid-p, Pearson chi-square with and without Yates's correction,
    pooled z (``z^2`` equals Pearson's statistic), likelihood-ratio ``G = 2 sum O log(O/E)``,
    Barnard and Boschloo exact unconditional tests (see :func:`pvalue_grid`).

    Risk difference: Wald ``d +/- z sqrt(p1 q1/n1 + p2 q2/n2)`` and its continuity-corrected
    version (both as R's ``prop.test``), Newcombe's hybrid score (method 10), Agresti-Caffo
    (add one success and one failure per arm), Miettinen-Nurminen score, and the Chan-Zhang
    exact unconditional interval. Relative risk: Katz log and Koopman score. Odds ratio: Woolf
    logit; conditional MLE with the central (R ``fisher.test``), minimum-likelihood and Blaker
    intervals, each with the two-sided Fisher p-value it inverts (R exact2x2). NNT: ``1/RD``
    with the Newcombe limits (Altman 1998).

    References
    ----------
    Newcombe RG (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Stat Med 17:873-890.
    Fagerland MW, Lydersen S, Laake P (2017). Statistical Analysis of Contingency Tables. CRC.
    Fay MP (2010). Two-sided exact tests and matching confidence intervals for discrete data.
    R Journal 2(1):53-58. Blaker H (2000). Can J Stat 28:783-798.
    Chan ISF, Zhang Z (1999). Test-based exact confidence intervals for the difference of two
    binomial proportions. Biometrics 55:1202-1209.

    Examples
    --------
    Zang et al. (2022): 9/45 vs 2/44 (counts inferred from the published percentages and CI).

    >>> import trial_analysis as ta
    >>> res = ta.binary.compare(9, 45, 2, 44)
    >>> row = res.row("rd_wald")
    >>> round(float(100 * row.ci_low), 2), round(float(100 * row.ci_high), 2)  # as published
    (2.25, 28.66)
    >>> round(res.p_value("fisher"), 4), round(res.p_value("chisq_yates"), 4)
    (0.0496, 0.0584)
    """
    x1, n1 = check_events("x1", x1, "n1", n1)
    x2, n2 = check_events("x2", x2, "n2", n2)
    conf_level = check_conf_level(conf_level)
    check_choice("alternative", alternative, ALTERNATIVES)
    rows: list[dict[str, Any]] = []
    stat_chisq, sign = _pearson(np.array(x1), np.array(x2), n1, n2, False)
    stat_yates, _ = _pearson(np.array(x1), np.array(x2), n1, n2, True)
    stat_g, _ = _lr(np.array(x1), np.array(x2), n1, n2)
    z = float(sign * np.sqrt(stat_chisq))
    fisher_one = pvalues(x1, n1, x2, n2, "fisher", "greater" if z >= 0 else "less")[0]
    statistics = {
        "chisq": float(stat_chisq),
        "chisq_yates": float(stat_yates),
        "z_pooled": z,
        "lr": float(stat_g),
        "barnard": z,
        "boschloo": float(fisher_one),
    }
    for test in TESTS:
        label, ref = TEST_INFO[test]
        rows.append(
            dict(
                quantity="test",
                method=label,
                p_value=float(pvalues(x1, n1, x2, n2, test, alternative)[0]),
                statistic=statistics.get(test, math.nan),
                key=f"test_{test}",
                reference=ref,
            )
        )
    if exact_unconditional is None:
        exact_unconditional = (n1 + 1) * (n2 + 1) <= _EXACT_CI_MAX_TABLES
    rd_rows = _rd_rows(x1, n1, x2, n2, conf_level, bool(exact_unconditional))
    rows += rd_rows
    rows += _ratio_rows(x1, n1, x2, n2, conf_level)
    rows.append(_nnt_row(next(r for r in rd_rows if r["key"] == "rd_newcombe")))
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for c in ("estimate", "ci_low", "ci_high", "p_value", "statistic"):
        table[c] = table[c].astype(float)
    return BinaryComparison(x1, n1, x2, n2, conf_level, alternative, table, tuple(arm_labels))


# ---------------------------------------------------------------------------------------
# fragility
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FragilityResult(Result):
    """Fragility index of one test (see :func:`fragility_index`)."""

    x1: int
    n1: int
    x2: int
    n2: int
    test: str
    alpha: float
    p_value: float
    significant: bool
    index: int | None
    modified_arm: int
    path: pd.DataFrame = field(repr=False, compare=False)
    title: ClassVar[str] = "Fragility index"

    @property
    def reverse(self) -> bool:
        """True when the result was not significant (reverse fragility index)."""
        return not self.significant

    @property
    def quotient(self) -> float:
        """Fragility quotient: index / total sample size (Ahmed, Fowler & McCredie 2016)."""
        return math.nan if self.index is None else self.index / (self.n1 + self.n2)

    def to_frame(self) -> pd.DataFrame:
        return self.path.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        kind = "reverse fragility index" if self.reverse else "fragility index"
        arm = self.modified_arm
        if self.index is None:
            what = f"no change in arm {arm} crosses alpha = {self.alpha:g}"
        else:
            what = f"{kind} = {self.index} (quotient {self.quotient:.4f})"
        return (
            f"{TEST_INFO[self.test][0]}: p = {self.p_value:.4g}; {what}; outcomes changed in arm "
            f"{arm} (the arm with fewer events), one patient at a time.",
        )


def _fragility_path(x1, n1, x2, n2, significant: bool):
    """Arm to modify and the sequence of tables (Walsh et al. 2014 rule; reverse: Khan 2020)."""
    p1, p2 = x1 / n1, x2 / n2
    # the arm with fewer events; ties: the arm with the lower proportion, then arm 2
    if x1 < x2 or (x1 == x2 and p1 < p2):
        arm, x, n, other = 1, x1, n1, p2
    else:
        arm, x, n, other = 2, x2, n2, p1
    mine = x / n
    if significant:  # towards the other arm's proportion
        step = 1 if mine < other else -1
    else:  # away from it (increase the difference)
        step = -1 if (mine < other or (mine == other and x > 0)) else 1
    stop = n if step > 0 else 0
    xs = np.arange(x + step, stop + step, step) if x != stop else np.array([], dtype=int)
    if arm == 1:
        return arm, xs, np.full(xs.shape, x2)
    return arm, np.full(xs.shape, x1), xs


def fragility_index(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    test: str = "fisher",
    alpha: float = 0.05,
    *,
    alternative: str = "two-sided",
) -> FragilityResult:
    """Fragility index (Walsh et al. 2014) of a two-arm binary comparison, for any test.

    In the arm with fewer events, patients' outcomes are switched one at a time (keeping the
    arm size) until the test's p-value crosses ``alpha``: towards the other arm's proportion
    when ``p < alpha`` (fragility index), away from it otherwise (reverse fragility index,
    Khan et al. 2020). The index is the number of switches; ``None`` if no switch crosses.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and sizes, arm 1 experimental.
    test : str, default "fisher"
        One of :data:`TESTS` (Walsh et al. used Fisher's exact test).
    alpha : float, default 0.05
        Significance level: significant means ``p < alpha``.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    FragilityResult
        ``.index``, ``.quotient`` (index / N), ``.reverse``, ``.p_value``, and ``to_frame()``
        listing every modified table with its p-value.

    References
    ----------
    Walsh M, et al. (2014). The statistical significance of randomized controlled trial
    results is frequently fragile. J Clin Epidemiol 67:622-628.
    Ahmed W, Fowler RA, McCredie VA (2016). Does sample size matter when interpreting the
    fragility index? Crit Care Med 44:e1142-e1143 (fragility quotient FQ = FI / N).
    Khan MS, et al. (2020). Application of the reverse fragility index to statistically
    nonsignificant randomized clinical trial results. JAMA Netw Open 3:e2012469.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ta.binary.fragility_index(9, 45, 2, 44).index  # one more placebo responder
    1
    """
    x1, n1 = check_events("x1", x1, "n1", n1)
    x2, n2 = check_events("x2", x2, "n2", n2)
    check_choice("test", test, TESTS)
    alpha = check_alpha(alpha)
    check_choice("alternative", alternative, ALTERNATIVES)
    p0 = float(pvalues(x1, n1, x2, n2, test, alternative)[0])
    significant = p0 < alpha
    arm, a1, a2 = _fragility_path(x1, n1, x2, n2, significant)
    ps = pvalues(a1, n1, a2, n2, test, alternative) if len(a1) else np.array([])
    crossed = (ps >= alpha) if significant else (ps < alpha)
    index = int(np.argmax(crossed)) + 1 if crossed.any() else None
    path = pd.DataFrame(
        {
            "step": np.arange(0, len(a1) + 1),
            "x1": np.r_[x1, a1].astype(int),
            "n1": n1,
            "x2": np.r_[x2, a2].astype(int),
            "n2": n2,
            "p_value": np.r_[p0, ps],
        }
    )
    path["significant"] = path["p_value"] < alpha
    if index is not None:
        path = path.iloc[: index + 1].reset_index(drop=True)
    return FragilityResult(x1, n1, x2, n2, test, alpha, p0, significant, index, arm, path)


@dataclass(frozen=True)
class FragilityTable(Result):
    """Fragility index of several tests (see :func:`fragility_table`)."""

    results: tuple[FragilityResult, ...]
    title: ClassVar[str] = "Fragility index by test"

    def to_frame(self) -> pd.DataFrame:
        rows = [
            dict(
                test=r.test,
                method=TEST_INFO[r.test][0],
                p_value=r.p_value,
                significant=r.significant,
                kind="reverse" if r.reverse else "fragility",
                index=np.nan if r.index is None else r.index,
                quotient=r.quotient,
                modified_arm=r.modified_arm,
            )
            for r in self.results
        ]
        return pd.DataFrame(rows)

    @property
    def notes(self) -> tuple[str, ...]:
        r = self.results[0]
        return (
            f"{r.x1}/{r.n1} vs {r.x2}/{r.n2}, alpha = {r.alpha:g}. Outcomes switched one patient "
            "at a time in the arm with fewer events (Walsh et al. 2014); 'reverse' when not "
            "significant (Khan et al. 2020). quotient = index / N.",
        )


def fragility_table(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    tests: tuple[str, ...] = TESTS,
    alpha: float = 0.05,
    *,
    alternative: str = "two-sided",
) -> FragilityTable:
    """:func:`fragility_index` for each of ``tests`` (default all 8)."""
    return FragilityTable(
        tuple(fragility_index(x1, n1, x2, n2, t, alpha, alternative=alternative) for t in tests)
    )


from ._adjusted import AdjustedResult, adjusted, pool_sparse_strata  # noqa: E402  (covariate adjustment)
from ._firth import FirthResult, firth_logit  # noqa: E402  (re-export; Firth lives apart)
from ._margin import equivalence, noninferiority  # noqa: E402  (tests against a margin)
from ._missing import (  # noqa: E402  (re-export)
    MissingSensitivity,
    TippingPoint,
    missing_sensitivity,
    tipping_point,
)
from ._stratified import CMHResult, cmh, cmh_counts  # noqa: E402  (stratified 2x2)
