"""Effect sizes from an evidence base (an :class:`~trial_analysis.evidence.Evidence` object).

:func:`hba1c_table` turns what each trial reports into between-arm HbA1c effect sizes
(cell therapy minus control), deriving what is not published (an SE from an exact p-value,
change SDs from baseline and follow-up SDs with an assumed correlation, means/SDs from
medians/IQR) and flagging each derivation; missing numbers stay missing. Which studies are
pooled follows the data: one study per overlap group (the member marked ``include_default =
Y`` unless ``overlap`` names another), and an optional filter on ``cell_type``. A study listed
in ``alternatives.csv`` (its reported changes are flagged inconsistent) can enter with its
alternative input for a sensitivity analysis (``alternative=True``).

Every function takes the evidence object; none reads a file (load with
:func:`trial_analysis.evidence.load_evidence`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_choice
from ..errors import ParameterError, StatisticalWarning
from ..evidence import Evidence
from .escalc import EffectSizes, change_sd, mean_sd_from_median_iqr, se_from_p

__all__ = [
    "comparison_label",
    "derived_counts",
    "hba1c_effects",
    "hba1c_table",
    "placebo_changes",
    "select_trials",
]

_TABLE_COLUMNS = [
    "trial_id",
    "study",
    "year",
    "week",
    "yi",
    "sei",
    "derivation",
    "label",
    "overlap_group",
    "cell_type",
    "alternative",
]


def _cell_types(ev: Evidence) -> pd.Series:
    if "cell_type" not in ev.trials:
        raise ParameterError(
            "cell_type", f"a cell_type column in {ev.source}/trials.csv", "no such column"
        )
    return ev.trials.cell_type


def comparison_label(cell_types: Any) -> str:
    """The comparison a pooled estimate describes, from the pooled studies' cell types.

    ``"MSC minus control"`` when every study used one cell type, ``"cell therapy (BM-derived,
    MSC) minus control"`` when they differ: a label never claims more than the studies hold.
    """
    kinds = sorted({str(c) for c in cell_types if str(c)})
    if len(kinds) == 1:
        return f"{kinds[0]} minus control"
    if not kinds:
        return "cell therapy minus control"
    return f"cell therapy ({', '.join(kinds)}) minus control"


def select_trials(
    ev: Evidence,
    overlap: str = "default",
    cell_type: str | None = None,
    *,
    population: str = "T2DM",
) -> list[str]:
    """Randomised controlled trials to pool, one per overlap group unless ``"all"``.

    Parameters
    ----------
    ev : Evidence
    overlap : str
        ``"default"`` (the member with ``include_default = Y``), a member's ``trial_id`` (use
        it instead), or ``"all"`` (every member: warns, the same patients may count twice).
    cell_type : str, optional
        Keep only trials whose ``cell_type`` is this (e.g. ``"MSC"``); by default every cell
        therapy in the data.
    population : str, default "T2DM"
        The ``population`` value of the trials to pool.
    """
    t = ev.trials
    rct = t[
        (t.randomised == "Y")
        & (t.controlled == "Y")
        & (t.population == population)
        & ~((t.include_default == "N") & (t.overlap_group == ""))
    ]
    if cell_type is not None:
        rct = rct[_cell_types(ev).loc[rct.index] == cell_type]
    groups = set(rct.overlap_group) - {""}
    members = set(rct[rct.overlap_group != ""].trial_id)
    if overlap not in ("default", "all") and overlap not in members:
        raise ParameterError(
            "overlap",
            "'default', 'all' or an overlap-group member (" + ", ".join(sorted(members)) + ")",
            overlap,
        )
    if overlap == "all" and groups:
        warnings.warn(
            "overlap='all': studies of the same overlap group ("
            + ", ".join(sorted(groups))
            + ") are pooled together and may count the "
            "same patients twice",
            StatisticalWarning,
            stacklevel=2,
        )
    keep = []
    for _, r in rct.iterrows():
        if r.overlap_group == "" or overlap == "all":
            keep.append(r.trial_id)
        elif overlap == "default":
            if r.include_default == "Y":
                keep.append(r.trial_id)
        else:
            grp = rct[rct.overlap_group == r.overlap_group].trial_id
            if overlap in set(grp):
                if r.trial_id == overlap:
                    keep.append(r.trial_id)
            elif r.include_default == "Y":
                keep.append(r.trial_id)
    return keep


def _change_sd_arm(ev, tid, arm, w0, w1, rho):
    sd0 = ev.value(tid, "hba1c", w0, arm, "sd")
    sd1 = ev.value(tid, "hba1c", w1, arm, "sd")
    return change_sd(sd0, sd1, rho)


def _alternative(ev: Evidence, tid: str, wk: float) -> pd.Series | None:
    a = ev.alternatives
    row = a[(a.trial_id == tid) & (a.outcome == "hba1c_change") & (a.week == wk)]
    return None if row.empty else row.iloc[0]


def hba1c_table(
    ev: Evidence,
    *,
    rho: float = 0.5,
    weeks: tuple[float, float] | None = (24, 52),
    overlap: str = "default",
    se_from: str = "p_value",
    median_method: str = "luo",
    cell_type: str | None = None,
    alternative: bool = False,
    population: str = "T2DM",
) -> pd.DataFrame:
    """Between-arm HbA1c differences (cell therapy minus control, % points; negative = larger fall).

    Parameters
    ----------
    ev : Evidence
        From :func:`trial_analysis.evidence.load_evidence`.
    rho : float, default 0.5
        Assumed baseline/follow-up correlation for imputed change SDs (always check
        :func:`trial_analysis.meta.rho_sensitivity`).
    weeks : (float, float) or None, default (24, 52)
        Follow-up window; ``None`` takes every trial's longest between-arm time point.
    overlap : str
        See :func:`select_trials`.
    se_from : {"p_value", "change_sd"}
        For any study reporting both an exact between-group p-value and baseline/follow-up
        SDs: the SE from the exact p-value (default; the trial's own analysis, normal
        approximation, :func:`~trial_analysis.meta.se_from_p`) or from change SDs imputed with
        ``rho`` and the randomised n (Cochrane Handbook 6.5.2.8).
    median_method : {"luo", "wan"}
        Mean from median/IQR (Luo 2018; SD from Wan 2014).
    cell_type : str, optional
        See :func:`select_trials`.
    alternative : bool, default False
        Sensitivity analysis: a study listed in the evidence's ``alternatives`` table for
        ``hba1c_change`` at the chosen week enters with its alternative input (``use =
        "means"``: the difference of the published baseline and follow-up means instead of
        the reported mean changes); its SE follows ``se_from`` as for the primary input.
    population : str, default "T2DM"
        See :func:`select_trials`.

    Returns
    -------
    pandas.DataFrame
        One row per selected trial: ``trial_id, study, year, week, yi, sei, derivation,
        label, overlap_group, cell_type, alternative`` (``label`` is ``derived`` for every
        computed number; ``yi`` or ``sei`` NaN when the trial does not report enough: never
        guessed; ``alternative`` True where the alternative input was used).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ev = ta.evidence.load_evidence()
    >>> tab = ta.meta.evidence.hba1c_table(ev)
    >>> round(float(tab.yi.iloc[0]), 2), tab.study.iloc[0]
    (-0.68, 'Zang 2022')
    """
    check_choice("se_from", se_from, ("p_value", "change_sd"))
    check_choice("median_method", median_method, ("luo", "wan"))
    if not -1 <= float(rho) <= 1:
        raise ParameterError("rho", "a correlation in [-1, 1]", rho)
    rows = []
    for tid in select_trials(ev, overlap, cell_type, population=population):
        tr = ev.trial(tid)
        o = ev.outcomes[
            (ev.outcomes.trial_id == tid) & ev.outcomes.outcome.isin(["hba1c", "hba1c_change"])
        ]
        numeric = o[o.value.notna() & (o.statistic != "p_value")]
        if numeric.empty:
            continue  # no HbA1c numbers (findings only, or not reported)
        wk_all = sorted(set(numeric.week.dropna()) - {0})
        if weeks is not None:
            wk_all = [w for w in wk_all if weeks[0] <= w <= weeks[1]]
        if not wk_all:
            continue
        wk = wk_all[-1]
        yi, sei, how, used_alt = np.nan, np.nan, "", False
        d1 = ev.value(tid, "hba1c_change", wk, "MSC", "mean")
        alt = _alternative(ev, tid, wk) if alternative else None
        if np.isfinite(d1):
            d2 = ev.value(tid, "hba1c_change", wk, "control", "mean")
            yi = d1 - d2
            how = f"difference of reported mean changes ({d1:g} - ({d2:g}))"
            if alt is not None:  # use == "means" (the loader admits no other)
                m1 = ev.value(tid, "hba1c", wk, "MSC", "mean") - ev.value(
                    tid, "hba1c", 0, "MSC", "mean"
                )
                m2 = ev.value(tid, "hba1c", wk, "control", "mean") - ev.value(
                    tid, "hba1c", 0, "control", "mean"
                )
                if np.isfinite(m1) and np.isfinite(m2):
                    yi, used_alt = m1 - m2, True
                    how = (
                        f"alternative input: difference of the published baseline and "
                        f"week-{wk:g} means ({m1:.2f} - ({m2:.2f})) instead of the reported "
                        f"changes ({d1:g} - ({d2:g})): {alt.reason}"
                    )
            p = ev.value(tid, "hba1c_change", wk, "MSC - control", "p_value")
            rel = o[(o.statistic == "p_value") & (o.week == wk)].relation
            exact_p = np.isfinite(p) and (rel == "=").all()
            if exact_p and se_from == "p_value":
                sei = se_from_p(yi, p, study=tr.short)
                how += f"; SE from exact p = {p:g} (normal approximation)"
            elif np.isfinite(ev.value(tid, "hba1c", 0, "MSC", "sd")):
                sc1 = _change_sd_arm(ev, tid, "MSC", 0, wk, rho)
                sc2 = _change_sd_arm(ev, tid, "control", 0, wk, rho)
                n1 = ev.value(tid, "n", 0, "MSC", "n")
                n2 = ev.value(tid, "n", 0, "control", "n")
                sei = float(np.sqrt(sc1**2 / n1 + sc2**2 / n2))
                how += (
                    f"; change SDs imputed from baseline/week-{wk:g} SDs with rho = {rho:g}"
                    f", randomised n {n1:g}/{n2:g}"
                )
            else:
                how += "; no SD, SE or exact p-value reported: SE missing"
        elif np.isfinite(ev.value(tid, "hba1c_change", wk, "MPC - placebo", "md")):
            yi = ev.value(tid, "hba1c_change", wk, "MPC - placebo", "md")
            sei = ev.value(tid, "hba1c_change", wk, "MPC - placebo", "se")
            how = "reported placebo-adjusted LS-mean difference +/- SE (most favourable dose)"
        elif np.isfinite(ev.value(tid, "hba1c", wk, "MSC", "median")):
            ch, sd_ch, ns = [], [], []
            for arm in ("MSC", "control"):
                n = ev.value(tid, "n", 0, arm, "n")
                ms = [
                    mean_sd_from_median_iqr(
                        ev.value(tid, "hba1c", w, arm, "median"),
                        ev.value(tid, "hba1c", w, arm, "q1"),
                        ev.value(tid, "hba1c", w, arm, "q3"),
                        n,
                        method=median_method,
                    )
                    for w in (0, wk)
                ]
                ch.append(ms[1][0] - ms[0][0])
                sd_ch.append(change_sd(ms[0][1], ms[1][1], rho))
                ns.append(n)
            yi = ch[0] - ch[1]
            sei = float(np.sqrt(sd_ch[0] ** 2 / ns[0] + sd_ch[1] ** 2 / ns[1]))
            how = (
                f"means/SDs imputed from medians/IQR ({median_method.title()}/Wan), change "
                f"SDs with rho = {rho:g}"
            )
        rows.append(
            {
                "trial_id": tid,
                "study": tr.short,
                "year": tr.year,
                "week": wk,
                "yi": float(yi),
                "sei": float(sei),
                "derivation": how,
                "label": "derived",
                "overlap_group": tr.overlap_group,
                "cell_type": str(tr.get("cell_type", "")),
                "alternative": used_alt,
            }
        )
    return pd.DataFrame(rows, columns=_TABLE_COLUMNS)


def hba1c_effects(ev: Evidence, **kwargs: Any) -> EffectSizes:
    """:func:`hba1c_table` as :class:`~trial_analysis.meta.EffectSizes` (measure ``MD``).

    Trials whose SE is missing are kept with ``vi = NaN``; :func:`trial_analysis.meta.rma`
    omits them with a warning that names them. The note says which comparison the studies
    make (:func:`comparison_label` of their cell types).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> es = ta.meta.evidence.hba1c_effects(ta.evidence.load_evidence())
    >>> es.slab
    ('Zang 2022', 'Bhansali 2014')
    """
    tab = hba1c_table(ev, **kwargs)
    return EffectSizes(
        "MD",
        tab.yi.to_numpy(float),
        tab.sei.to_numpy(float) ** 2,
        tuple(tab.study),
        tuple(tab.derivation),
        (
            f"HbA1c difference, {comparison_label(tab.cell_type)}, in % points (negative "
            "favours cell therapy); every value is derived from published numbers (see flags).",
        ),
    )


def placebo_changes(ev: Evidence) -> pd.DataFrame:
    """Control arms' own HbA1c changes (reported, or from medians) for the claims audit."""
    rows = []
    o = ev.outcomes
    ch = o[(o.outcome == "hba1c_change") & (o.arm == "control") & (o.statistic == "mean")]
    for _, r in ch.iterrows():
        rows.append(
            {
                "trial_id": r.trial_id,
                "study": ev.trial(r.trial_id).short,
                "week": r.week,
                "change": r.value,
                "how": "reported mean change",
                "label": r.label,
            }
        )
    med = o[(o.outcome == "hba1c") & (o.arm == "control") & (o.statistic == "median")]
    for tid, g in med.groupby("trial_id"):
        g = g.sort_values("week")
        if len(g) >= 2:
            rows.append(
                {
                    "trial_id": tid,
                    "study": ev.trial(tid).short,
                    "week": g.week.iloc[-1],
                    "change": g.value.iloc[-1] - g.value.iloc[0],
                    "how": "difference of medians",
                    "label": "derived",
                }
            )
    return pd.DataFrame(rows)


def derived_counts(ev: Evidence) -> pd.DataFrame:
    """Counts implied by published percentages (e.g. 43.2% of 37 -> 16).

    Uses :func:`trial_analysis.consistency.infer_counts` with the randomised sizes as the only
    denominators; rows are labelled ``derived``.
    """
    from ..consistency import infer_counts

    o = ev.outcomes
    pct = o[(o.statistic == "percent") & o.arm.isin(["MSC", "control"])]
    rows = []
    for (tid, outc, wk), _ in pct.groupby(["trial_id", "outcome", "week"]):
        p1 = ev.value(tid, outc, wk, "MSC", "percent")
        p2 = ev.value(tid, outc, wk, "control", "percent")
        n1 = int(ev.value(tid, "n", 0, "MSC", "n"))
        n2 = int(ev.value(tid, "n", 0, "control", "n"))
        dec = max(_decimals(p1), _decimals(p2))
        cand = infer_counts(p1, p2, n1, n2, decimals=dec, n1_min=1, n2_min=1)
        full = cand[(cand.n1 == n1) & (cand.n2 == n2)]
        if len(full) == 1:
            x1, x2, how = int(full.x1.iloc[0]), int(full.x2.iloc[0]), f"x/n with n = {n1}/{n2}"
        else:
            x1 = x2 = np.nan
            how = "not reproducible with the randomised denominators"
        rows.append(
            {
                "trial_id": tid,
                "outcome": outc,
                "week": wk,
                "x1": x1,
                "n1": n1,
                "x2": x2,
                "n2": n2,
                "p1": p1,
                "p2": p2,
                "how": how,
                "label": "derived",
            }
        )
    return pd.DataFrame(rows)


def _decimals(x: float) -> int:
    s = f"{x:.6f}".rstrip("0").rstrip(".")
    return len(s.split(".")[1]) if "." in s else 0
