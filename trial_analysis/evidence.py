"""The evidence base: controlled trials of MSC-type cell therapy in type 2 diabetes.

:func:`load_evidence` reads ``data/evidence/`` (``trials.csv``, ``outcomes.csv``,
``meta_analyses.csv``, ``claims.csv``; formats in ``data/evidence/README.md``) and validates it.
:func:`hba1c_effects` turns what each trial reports into between-arm HbA1c effect sizes,
deriving what is not published (SE from an exact p-value, change SDs from baseline and
follow-up SDs with an assumed correlation, means/SDs from medians/IQR), and flagging each
derivation. Missing numbers stay missing.

Overlap: Zang 2022 and its 2023 CGM companion very likely share patients (``overlap_group``
"Zang-PLA-cohort"). By default one study per overlap group is used, the one marked
``include_default = Y`` (Zang 2022, the larger primary report); ``overlap="zang2023"`` picks
the other, ``overlap="all"`` uses both and warns.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._paths import data_dir
from ._validate import check_choice
from .errors import ParameterError, PublishedDataError, StatisticalWarning
from .meta.escalc import (
    EffectSizes,
    change_sd,
    mean_sd_from_median_iqr,
    se_from_p,
)

__all__ = [
    "LABELS",
    "Evidence",
    "derived_counts",
    "hba1c_effects",
    "hba1c_table",
    "is_msc",
    "load_evidence",
    "placebo_changes",
    "select_trials",
]

LABELS = ("abstract", "full text", "secondary", "derived", "registry")
_FILES = {
    "trials": (
        "trial_id",
        "short",
        "year",
        "population",
        "randomised",
        "controlled",
        "overlap_group",
        "include_default",
        "label",
        "url",
    ),
    "outcomes": (
        "trial_id",
        "outcome",
        "week",
        "arm",
        "statistic",
        "relation",
        "value",
        "unit",
        "finding",
        "label",
        "source",
        "note",
    ),
    "meta_analyses": (
        "ma_id",
        "citation",
        "comparison",
        "outcome",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "label",
        "url",
    ),
    "claims": ("id", "claim", "testable_as", "source"),
}


@dataclass(frozen=True, eq=False)
class Evidence:
    """The evidence tables (copies are returned by the accessors; never modified in place)."""

    trials: pd.DataFrame
    outcomes: pd.DataFrame
    meta_analyses: pd.DataFrame
    claims: pd.DataFrame
    source: str

    def __post_init__(self) -> None:
        # lookup tables built once: value() and trial() are called many times by the audit
        o = self.outcomes
        index = {}
        for t, oc, w, a, st, v in zip(
            o.trial_id, o.outcome, o.week, o.arm, o.statistic, o.value, strict=True
        ):
            index[(t, oc, None if np.isnan(w) else float(w), a, st)] = float(v)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_trials", {r.trial_id: r for _, r in self.trials.iterrows()})

    def value(self, trial: str, outcome: str, week: Any, arm: str, statistic: str) -> float:
        """One number (NaN when the row is absent or its value is missing)."""
        wk = None if week is None else float(week)
        return self._index.get((trial, outcome, wk, arm, statistic), float("nan"))  # type: ignore[attr-defined]

    def trial(self, trial_id: str) -> pd.Series:
        """The row of ``trials.csv`` for ``trial_id``."""
        try:
            return self._trials[trial_id]  # type: ignore[attr-defined]
        except KeyError:
            raise ParameterError(
                "trial", "a trial_id in trials.csv: " + ", ".join(self.trials.trial_id), trial_id
            ) from None


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except OSError as exc:
        raise PublishedDataError(f"{path}: cannot read the file ({exc.strerror})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PublishedDataError(f"{path}, row 1: missing column(s) {', '.join(missing)}")
    return df


def _num(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    out = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
    bad = df[col].ne("") & out.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PublishedDataError(
            f"{path}, row {i + 2}, column {col}: expected a number, got {df[col].iloc[i]!r}"
        )
    return out


def load_evidence(path: str | Path | None = None) -> Evidence:
    """Load and validate the evidence tables.

    Parameters
    ----------
    path : str or Path, optional
        Folder with the four CSV files (default: the shipped ``data/evidence``).

    Returns
    -------
    Evidence

    Raises
    ------
    PublishedDataError
        Naming the file, row and column of a malformed entry (unknown label, non-numeric
        value, outcome row of an unknown trial, duplicate number).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> ev = ta.evidence.load_evidence()
    >>> ev.value("zang2022", "hba1c_change", 48, "MSC - control", "p_value")
    0.0081
    """
    folder = Path(path) if path is not None else data_dir() / "evidence"
    tabs = {name: _read(folder / f"{name}.csv", req) for name, req in _FILES.items()}
    t, o, m = tabs["trials"], tabs["outcomes"], tabs["meta_analyses"]
    for name, df in (("trials", t), ("outcomes", o), ("meta_analyses", m)):
        bad = ~df["label"].isin(LABELS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise PublishedDataError(
                f"{folder / (name + '.csv')}, row {i + 2}, column label: expected one of "
                f"{', '.join(LABELS)}, got {df['label'].iloc[i]!r}"
            )
    for col in (
        "year",
        "n_infusions",
        "infusion_interval_weeks",
        "n_randomised",
        "follow_up_weeks",
        "elig_hba1c_min",
        "elig_hba1c_max",
        "elig_duration_max_years",
    ):
        if col in t:
            t[col] = _num(t, col, folder / "trials.csv")
    for col in ("week", "value"):
        o[col] = _num(o, col, folder / "outcomes.csv")
    for col in ("estimate", "ci_low", "ci_high", "i2", "k_studies", "n_participants"):
        if col in m:
            m[col] = _num(m, col, folder / "meta_analyses.csv")
    unknown = ~o.trial_id.isin(t.trial_id)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise PublishedDataError(
            f"{folder / 'outcomes.csv'}, row {i + 2}, column trial_id: "
            f"{o.trial_id.iloc[i]!r} is not in trials.csv"
        )
    key = ["trial_id", "outcome", "week", "arm", "statistic"]
    dup = o.duplicated(key, keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise PublishedDataError(
            f"{folder / 'outcomes.csv'}, row {i + 2}: duplicate number for "
            + "/".join(str(o[c].iloc[i]) for c in key)
        )
    for g, grp in t[t.overlap_group != ""].groupby("overlap_group"):
        if (grp.include_default == "Y").sum() != 1:
            raise PublishedDataError(
                f"{folder / 'trials.csv'}: overlap group {g!r} needs "
                "exactly one member with include_default = Y"
            )
    return Evidence(t, o, m, tabs["claims"], str(folder))


def is_msc(cells: str) -> bool:
    """True for mesenchymal stem/stromal/precursor cells (MSC, MPC), not mononuclear cells."""
    c = str(cells)
    return "MSC" in c or "mesenchymal" in c.lower()


def select_trials(ev: Evidence, overlap: str = "default", msc_only: bool = False) -> list[str]:
    """Randomised controlled T2DM trials to pool, one per overlap group unless ``"all"``.

    Parameters
    ----------
    overlap : str
        ``"default"`` (the member with ``include_default = Y``), a member's ``trial_id`` (use
        it instead), or ``"all"`` (every member: warns, the same patients may count twice).
    msc_only : bool, default False
        Keep only MSC-type cells (MSC, MPC); by default every cell therapy in the data
        (BM-MNC and BM-derived cells too).
    """
    t = ev.trials
    rct = t[
        (t.randomised == "Y")
        & (t.controlled == "Y")
        & (t.population == "T2DM")
        & ~((t.include_default == "N") & (t.overlap_group == ""))
    ]
    if msc_only:
        rct = rct[rct.cells.map(is_msc)]
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


def hba1c_table(
    ev: Evidence | None = None,
    *,
    rho: float = 0.5,
    weeks: tuple[float, float] | None = (24, 52),
    overlap: str = "default",
    zang2022_se: str = "p_value",
    median_method: str = "luo",
    msc_only: bool = False,
) -> pd.DataFrame:
    """Between-arm HbA1c differences (MSC minus control, % points; negative = larger fall).

    Parameters
    ----------
    ev : Evidence, optional
        Default: :func:`load_evidence`.
    rho : float, default 0.5
        Assumed baseline/follow-up correlation for imputed change SDs (always check
        :func:`trial_analysis.meta.rho_sensitivity`).
    weeks : (float, float) or None, default (24, 52)
        Follow-up window (the claims' "6-12 months"); ``None`` takes every trial's longest
        between-arm time point.
    overlap : str
        See :func:`select_trials`.
    zang2022_se : {"p_value", "change_sd"}
        Zang 2022's SE from its exact between-group p = 0.0081 (default; the trial's own
        analysis) or from change SDs imputed with ``rho`` and the randomised n (45/46).
    median_method : {"luo", "wan"}
        Mean from median/IQR (Bhansali 2014).
    msc_only : bool, default False
        See :func:`select_trials`.

    Returns
    -------
    pandas.DataFrame
        One row per selected trial: ``trial_id, study, year, week, yi, sei, derivation,
        label, overlap_group`` (``label`` is ``derived`` for every computed number; ``yi``
        or ``sei`` NaN when the trial does not report enough: never guessed).
    """
    ev = load_evidence() if ev is None else ev
    check_choice("zang2022_se", zang2022_se, ("p_value", "change_sd"))
    if not -1 <= float(rho) <= 1:
        raise ParameterError("rho", "a correlation in [-1, 1]", rho)
    rows = []
    for tid in select_trials(ev, overlap, msc_only):
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
        yi, sei, how = np.nan, np.nan, ""
        d1 = ev.value(tid, "hba1c_change", wk, "MSC", "mean")
        if np.isfinite(d1):
            d2 = ev.value(tid, "hba1c_change", wk, "control", "mean")
            yi = d1 - d2
            how = f"difference of reported mean changes ({d1:g} - ({d2:g}))"
            p = ev.value(tid, "hba1c_change", wk, "MSC - control", "p_value")
            rel = o[(o.statistic == "p_value") & (o.week == wk)].relation
            exact_p = np.isfinite(p) and (rel == "=").all()
            if exact_p and zang2022_se == "p_value":
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
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "trial_id",
            "study",
            "year",
            "week",
            "yi",
            "sei",
            "derivation",
            "label",
            "overlap_group",
        ],
    )


def hba1c_effects(ev: Evidence | None = None, **kwargs: Any) -> EffectSizes:
    """:func:`hba1c_table` as :class:`~trial_analysis.meta.EffectSizes` (measure ``MD``).

    Trials whose SE is missing are kept with ``vi = NaN``; :func:`trial_analysis.meta.rma`
    omits them with a warning that names them.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> es = ta.evidence.hba1c_effects()
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
            "HbA1c difference MSC - control in % points (negative favours MSC); "
            "every value is derived from published numbers (see flags).",
        ),
    )


def placebo_changes(ev: Evidence | None = None) -> pd.DataFrame:
    """Control arms' own HbA1c changes (reported, or from medians) for the claims audit."""
    ev = load_evidence() if ev is None else ev
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


def derived_counts(ev: Evidence | None = None) -> pd.DataFrame:
    """Counts implied by published percentages (e.g. Zang 2023's 43.2% of 37 -> 16).

    Uses :func:`trial_analysis.consistency.infer_counts` with the randomised sizes as the only
    denominators; rows are labelled ``derived``.
    """
    from .consistency import infer_counts

    ev = load_evidence() if ev is None else ev
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
