"""Sensitivity of a two-arm binary comparison to randomised patients without an outcome.

:func:`missing_sensitivity` re-tests under the usual imputations (complete cases, missing =
failure, missing = success, best and worst case); :func:`tipping_point` tests every split of
the missing patients' outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validate import check_alpha, check_choice, check_conf_level, check_count, check_events
from ..errors import ParameterError
from ..results import Result
from ._exact import TESTS, pvalues
from ._intervals import RD_METHODS

__all__ = ["MissingSensitivity", "TippingPoint", "missing_sensitivity", "tipping_point"]


def _test_label(test: str) -> str:
    from . import TEST_INFO  # the package's test table (imported late: the package imports us)

    return TEST_INFO[test][0] if test in TEST_INFO else test


def _check_missing(x1, n1, x2, n2, n1_rand, n2_rand):
    x1, n1 = check_events("x1", x1, "n1", n1)
    x2, n2 = check_events("x2", x2, "n2", n2)
    n1_rand = check_count("n1_randomised", n1_rand, minimum=1)
    n2_rand = check_count("n2_randomised", n2_rand, minimum=1)
    if n1_rand < n1:
        raise ParameterError("n1_randomised", f"at least the analysed n1={n1}", n1_rand)
    if n2_rand < n2:
        raise ParameterError("n2_randomised", f"at least the analysed n2={n2}", n2_rand)
    return x1, n1, x2, n2, n1_rand, n2_rand


# ---------------------------------------------------------------------------------------
# missing-outcome sensitivity
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MissingSensitivity(Result):
    """Results under assumptions about the randomised patients without an analysed outcome."""

    table: pd.DataFrame = field(repr=False)
    missing: tuple[int, int]
    test_names: tuple[str, ...]
    ci_method: str
    alpha: float
    title: ClassVar[str] = "Sensitivity to the patients not analysed"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        m1, m2 = self.missing
        return (
            f"{m1} randomised patient(s) in arm 1 and {m2} in arm 2 have no analysed outcome. "
            "Best case for arm 1 = its missing patients all responders and arm 2's none; worst "
            "case the reverse.",
            f"Risk difference interval: {RD_METHODS[self.ci_method][0]}; p-values two-sided; "
            f"significant = p < {self.alpha:g}.",
        )

    def plot(self):
        """Risk difference and interval under each scenario (Figure)."""
        from .._figures import TrialFigure

        fig = TrialFigure(figsize=(7, 0.5 * len(self.table) + 1.5), layout="constrained")
        ax = fig.subplots()
        t = self.table
        y = np.arange(len(t))[::-1]
        ax.errorbar(
            t["rd"],
            y,
            xerr=[t["rd"] - t["ci_low"], t["ci_high"] - t["rd"]],
            fmt="o",
            capsize=3,
        )
        ax.axvline(0, color="grey", ls="--", lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels(
            [
                f"{s}\n{a}/{b} vs {c}/{d}"
                for s, a, b, c, d in t[["scenario", "x1", "n1", "x2", "n2"]].itertuples(index=False)
            ],
            fontsize=7,
        )
        ax.set_xlabel("risk difference (arm 1 - arm 2)")
        ax.set_title(self.title)
        return fig


def missing_sensitivity(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    n1_randomised: int,
    n2_randomised: int,
    *,
    tests: tuple[str, ...] = ("fisher", "chisq", "chisq_yates", "boschloo"),
    ci_method: str = "newcombe",
    conf_level: float = 0.95,
    alpha: float = 0.05,
) -> MissingSensitivity:
    """Re-test under assumptions about the randomised patients who were not analysed.

    Scenarios: as analysed (complete cases); intention to treat with missing = failure
    (non-responder imputation); missing = success; best case for arm 1 (its missing patients
    responders, arm 2's non-responders); worst case for arm 1 (the reverse).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Responders and analysed patients per arm (arm 1 experimental).
    n1_randomised, n2_randomised : int
        Randomised patients per arm.
    tests : tuple of str
        Tests from :data:`trial_analysis.binary.TESTS` to report.
    ci_method : str, default "newcombe"
        Risk-difference interval (``"wald"``, ``"wald_cc"``, ``"newcombe"``, ``"agresti_caffo"``,
        ``"miettinen_nurminen"``).
    conf_level, alpha : float

    Returns
    -------
    MissingSensitivity
        ``to_frame()``: scenario, counts, rd, ci_low, ci_high, ``p_<test>`` for each test.

    References
    ----------
    White IR, et al. (2011). Strategy for intention to treat analysis in randomised trials
    with missing outcome data. BMJ 342:d40.

    Examples
    --------
    Zang 2022: 9/45 vs 2/44 analysed; 45 and 46 randomised.

    >>> from trial_analysis.binary import missing_sensitivity
    >>> t = missing_sensitivity(9, 45, 2, 44, 45, 46).to_frame()
    >>> t.loc[t.scenario == "ITT, missing = failure", ["x2", "n2"]].values.tolist()
    [[2, 46]]
    """
    x1, n1, x2, n2, r1, r2 = _check_missing(x1, n1, x2, n2, n1_randomised, n2_randomised)
    for t in tests:
        check_choice("tests", t, TESTS)
    check_choice("ci_method", ci_method, RD_METHODS)
    conf_level = check_conf_level(conf_level)
    alpha = check_alpha(alpha)
    m1, m2 = r1 - n1, r2 - n2
    scen = [
        ("as analysed (complete cases)", x1, n1, x2, n2),
        ("ITT, missing = failure", x1, r1, x2, r2),
        ("ITT, missing = success", x1 + m1, r1, x2 + m2, r2),
        ("best case for arm 1", x1 + m1, r1, x2, r2),
        ("worst case for arm 1", x1, r1, x2 + m2, r2),
    ]
    fn = RD_METHODS[ci_method][1]
    rows = []
    for name, a, b, c, d in scen:
        rd, lo, hi = (float(v) for v in fn(a, b, c, d, conf_level))
        row: dict[str, Any] = dict(
            scenario=name, x1=a, n1=b, x2=c, n2=d, rd=rd, ci_low=lo, ci_high=hi
        )
        for t in tests:
            row[f"p_{t}"] = float(pvalues(a, b, c, d, t)[0])
        rows.append(row)
    table = pd.DataFrame(rows)
    return MissingSensitivity(table, (m1, m2), tuple(tests), ci_method, alpha)


@dataclass(frozen=True)
class TippingPoint(Result):
    """Every split of the non-analysed patients' outcomes, with the test's p-value."""

    grid: pd.DataFrame = field(repr=False)
    base: tuple[int, int, int, int]
    randomised: tuple[int, int]
    test: str
    alpha: float
    title: ClassVar[str] = "Tipping-point analysis over the non-analysed patients"

    def to_frame(self) -> pd.DataFrame:
        return self.grid.copy()

    @property
    def tipping(self) -> pd.DataFrame:
        """Imputations that reverse the as-analysed conclusion, fewest responders changed first."""
        x1, n1, x2, n2 = self.base
        base_sig = float(pvalues(x1, n1, x2, n2, self.test)[0]) < self.alpha
        g = self.grid[self.grid["significant"] != base_sig]
        return g.sort_values(["k2", "k1"]).reset_index(drop=True)

    @property
    def notes(self) -> tuple[str, ...]:
        _, n1, _, n2 = self.base
        m1, m2 = self.randomised[0] - n1, self.randomised[1] - n2
        g = self.grid
        n_sig = int(g["significant"].sum())
        out = [
            f"k1 of the {m1} non-analysed patients in arm 1 and k2 of the {m2} in arm 2 counted as "
            f"responders; {_test_label(self.test)}, significant = p < {self.alpha:g}.",
            f"{n_sig} of {len(g)} imputations are significant.",
        ]
        tip = self.tipping
        if len(tip):
            r = tip.iloc[0]
            out.append(
                f"Tipping point: k1 = {int(r.k1)}, k2 = {int(r.k2)} ({int(r.x1)}/{int(r.n1)} vs "
                f"{int(r.x2)}/{int(r.n2)}, p = {r.p_value:.4f}) reverses the as-analysed conclusion."
            )
        else:
            out.append("No imputation of the non-analysed patients reverses the conclusion.")
        return tuple(out)

    def plot(self):
        """Heat map of p-values over (k1, k2) with significant cells marked (Figure)."""
        from .._figures import TrialFigure

        g = self.grid
        k1 = np.sort(g["k1"].unique())
        k2 = np.sort(g["k2"].unique())
        p = g.pivot(index="k2", columns="k1", values="p_value").reindex(index=k2, columns=k1)
        fig = TrialFigure(figsize=(5, 4), layout="constrained")
        ax = fig.subplots()
        im = ax.imshow(
            p.to_numpy(),
            origin="lower",
            cmap="viridis_r",
            vmin=0,
            vmax=max(0.2, float(np.nanmax(p))),
            aspect="auto",
        )
        for (i, j), v in np.ndenumerate(p.to_numpy()):
            ax.text(
                j,
                i,
                f"{v:.3f}" + ("*" if v < self.alpha else ""),
                ha="center",
                va="center",
                fontsize=7,
                color="w",
            )
        ax.set_xticks(range(len(k1)))
        ax.set_xticklabels(k1)
        ax.set_yticks(range(len(k2)))
        ax.set_yticklabels(k2)
        ax.set_xlabel("responders among arm-1 patients not analysed (k1)")
        ax.set_ylabel("responders among arm-2 patients not analysed (k2)")
        ax.set_title(f"{self.test} p-value (* p < {self.alpha:g})")
        fig.colorbar(im, ax=ax)
        return fig


def tipping_point(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    n1_randomised: int,
    n2_randomised: int,
    *,
    test: str = "fisher",
    alpha: float = 0.05,
) -> TippingPoint:
    """p-value for every number of responders among the patients not analysed.

    For ``k1 = 0..m1`` and ``k2 = 0..m2`` (``m = randomised - analysed``) the table
    ``(x1 + k1)/n1_randomised`` vs ``(x2 + k2)/n2_randomised`` is tested (vectorised).

    References
    ----------
    Yan X, Lee S, Li N (2009). Missing data handling methods in medical device clinical
    trials. J Biopharm Stat 19:1085-1098 (tipping-point analysis).

    Examples
    --------
    >>> from trial_analysis.binary import tipping_point
    >>> tp = tipping_point(9, 45, 2, 44, 45, 46)
    >>> tp.to_frame()[["k1", "k2", "x2", "n2"]].values.tolist()
    [[0, 0, 2, 46], [0, 1, 3, 46], [0, 2, 4, 46]]
    """
    x1, n1, x2, n2, r1, r2 = _check_missing(x1, n1, x2, n2, n1_randomised, n2_randomised)
    check_choice("test", test, TESTS)
    alpha = check_alpha(alpha)
    k1, k2 = np.meshgrid(np.arange(r1 - n1 + 1), np.arange(r2 - n2 + 1), indexing="ij")
    k1, k2 = k1.ravel(), k2.ravel()
    a, c = x1 + k1, x2 + k2
    p = pvalues(a, r1, c, r2, test)
    grid = pd.DataFrame(
        {
            "k1": k1,
            "k2": k2,
            "x1": a,
            "n1": r1,
            "x2": c,
            "n2": r2,
            "rd": a / r1 - c / r2,
            "p_value": p,
            "significant": p < alpha,
        }
    )
    return TippingPoint(grid, (x1, n1, x2, n2), (r1, r2), test, alpha)


# ---------------------------------------------------------------------------------------
# the whole reanalysis
# ---------------------------------------------------------------------------------------
