"""Audit of a clinic's claims against the controlled-trial evidence, by generic verdict rules.

:func:`audit` takes a :class:`~trial_analysis.evidence.Claims` object (one row per claim, each
naming a verdict rule and its parameters: ``claims.csv`` and ``claims.toml``) and an
:class:`~trial_analysis.evidence.Evidence` object, applies each claim's rule and returns a
:class:`ClaimsAudit`. The rules are generic (nothing here knows a trial or a clinic) and
documented in ``docs/claims-verdicts.md``:

- ``pooled_range``: a pooled between-arm effect over a follow-up window against a claimed range;
- ``covariate_effect``: a subgroup / meta-regression claim on a covariate (needs ``min_k``);
- ``between_arm_results``: significant between-arm improvements in independent trials
  (with a proxy outcome);
- ``findings``: improvements "in some studies" of one cell type, stated in numbers or words;
- ``longest_significant``: durability, the longest follow-up with a significant result;
- ``trial_conditions``: trials (or one trial) meeting stated conditions on ``trials.csv``;
- ``not_testable``: a stated reason.

Every number in the table is computed from the data; nothing is typed in. Verdicts:
``supported``, ``partly supported``, ``not supported``, ``not testable with public data``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .errors import AnalysisError, PublishedDataError, StatisticalWarning, TrialAnalysisWarning
from .evidence import CLAIM_RULES, VERDICTS, Claims, Evidence
from .meta.evidence import (
    comparison_label,
    hba1c_effects,
    hba1c_table,
    placebo_changes,
    select_trials,
)
from .meta.rma import RMAResult, rma
from .results import Result, to_jsonable

__all__ = ["RULES", "VERDICTS", "ClaimsAudit", "audit"]

SUPPORTED, PARTLY, NOT, UNTESTABLE = VERDICTS

COLUMNS = [
    "id",
    "claim",
    "rule",
    "evidence_used",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "verdict",
    "reason",
]


@dataclass(frozen=True, eq=False)
class ClaimsAudit(Result):
    """The claims table (one row per claim) with the evidence behind each verdict.

    Attributes
    ----------
    table : pandas.DataFrame
        ``id, claim, rule, evidence_used, estimate, ci_low, ci_high, pi_low, pi_high, verdict,
        reason``.
    details : dict of str -> pandas.DataFrame
        Supporting tables (``hba1c_effects``, ``placebo_changes``, ``controlled_trials``, ...).
    pooled : RMAResult or None
        The meta-analysis behind the first ``pooled_range`` claim.
    caveats : tuple of str
        Warnings raised while auditing.
    clinic : str
        The clinic's name as the claims file gives it.
    comparison : str
        What the pooled estimate compares (from the pooled studies' cell types, e.g.
        ``"cell therapy (BM-derived, MSC) minus control"``).
    pooled_alternative : RMAResult or None
        The same meta-analysis with the alternative inputs of ``alternatives.csv`` (studies
        whose published changes are flagged inconsistent); ``None`` when no pooled study has
        one.
    """

    table: pd.DataFrame
    details: dict[str, pd.DataFrame] = field(default_factory=dict)
    pooled: RMAResult | None = None
    caveats: tuple[str, ...] = ()
    clinic: str = ""
    comparison: str = ""
    pooled_alternative: RMAResult | None = None
    title: ClassVar[str] = "Clinic claims against the controlled-trial evidence"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        who = f"Claims of {self.clinic}. " if self.clinic else ""
        what = (
            f" Pooled estimates are between-arm differences ({self.comparison}; negative "
            "favours cell therapy)."
            if self.comparison
            else ""
        )
        return (*self.caveats, f"{who}Verdict rules: docs/claims-verdicts.md.{what}")

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["details"] = {k: to_jsonable(v) for k, v in self.details.items()}
        d["clinic"] = self.clinic
        d["comparison"] = self.comparison
        return d


# ------------------------------------------------------------------------------ helpers
def _f(x: float, d: int = 2) -> str:
    return f"{x:.{d}f}"


def _ci(lo: float, hi: float) -> str:
    return f"{_f(lo)} to {_f(hi)}"


def _val(x: Any) -> str:
    """A trials.csv cell as text (numbers without trailing zeros, missing as n/r)."""
    if isinstance(x, float | np.floating):
        return "n/r" if not np.isfinite(x) else f"{x:g}"
    return str(x) if str(x) != "" else "n/r"


@dataclass
class _Ctx:
    claims: Claims
    ev: Evidence
    method: str
    test: str
    rho: float
    overlap: str
    conf_level: float
    caveats: list[str] = field(default_factory=list)
    details: dict[str, pd.DataFrame] = field(default_factory=dict)
    pooled: list[tuple[RMAResult, str, RMAResult | None]] = field(default_factory=list)

    def names(self, ids: Any) -> list[str]:
        return [self.ev.trial(i).short for i in ids]

    def column(self, cid: str, col: str) -> pd.Series:
        if col not in self.ev.trials:
            raise PublishedDataError(
                f"{self.claims.source}, claim {cid}: column {col!r} is not in "
                f"{self.ev.source}/trials.csv"
            )
        return self.ev.trials[col]

    def mask(self, cid: str, clauses: tuple) -> pd.Series:
        """Trials meeting every clause (a missing value never meets one)."""
        keep = pd.Series(True, index=self.ev.trials.index)
        for col, op, val in clauses:
            s = self.column(cid, col)
            num = pd.to_numeric(s.replace("", np.nan), errors="coerce")
            text = s.astype(str)
            present = s.notna() & (text != "") & (text != "nan")
            if op in ("<", "<=", ">", ">=", "between") or (
                op in ("=", "!=") and isinstance(val, int | float)
            ):
                if op == "between":
                    m = num.between(val[0], val[1])
                else:
                    m = {
                        "<": num < val,
                        "<=": num <= val,
                        ">": num > val,
                        ">=": num >= val,
                        "=": num == val,
                        "!=": num != val,
                    }[op]
            elif op == "=":
                m = text == str(val)
            elif op == "!=":
                m = text != str(val)
            elif op == "contains":
                m = text.str.contains(val, regex=False)
            elif op == "startswith":
                m = text.str.startswith(val)
            else:  # "in"
                if all(isinstance(v, int | float) for v in val):
                    m = num.isin(val)
                else:
                    m = text.isin([str(v) for v in val])
            keep &= m.fillna(False).astype(bool) & present
        return keep

    def trial_set(self, cid: str, p: Mapping[str, Any]) -> pd.DataFrame:
        name = p.get("trials", "controlled")
        if name == "all":
            return self.ev.trials
        if name not in self.claims.sets:
            raise PublishedDataError(
                f"{self.claims.source}: claim {cid} uses the trial set {name!r}, which "
                "[sets] in claims.toml does not define"
            )
        return self.ev.trials[self.mask(cid, self.claims.sets[name])]


def _significant(rows: pd.DataFrame) -> pd.Series:
    """p-value rows that show a significant between-arm benefit (p < 0.05 stated or exact)."""
    exact = (rows.relation == "=") & (rows.value < 0.05)
    bound = rows.relation.isin(["<", "<="]) & (rows.value <= 0.05)
    return (rows.statistic == "p_value") & (exact | bound) & (rows.finding == "improved")


def _independent(ev: Evidence, ids: Any) -> int:
    """Trials counted once per overlap group (they may share patients)."""
    return len({ev.trial(i).overlap_group or i for i in set(ids)})


def _ma_text(ev: Evidence, outcome: str) -> str:
    m = ev.meta_analyses
    m = m[(m.outcome == outcome) & (m.comparison == "vs control")]
    return "; ".join(
        f"{r.citation.split(',')[0]} {r.estimate:g} ({r.ci_low:g} to {r.ci_high:g})"
        for r in m.itertuples()
    )


def _note(p: Mapping[str, Any]) -> str:
    return f" {p['note']}" if p.get("note") else ""


def _sig_by_trial(ev: Evidence, trial_ids: Any, outcomes: Any, last_only: bool = False):
    """Significant between-arm results; with ``last_only`` only those at the trial's last
    reported time point for these outcomes."""
    o = ev.outcomes[ev.outcomes.trial_id.isin(trial_ids)]
    rows = o[o.outcome.isin(outcomes)]
    sig = rows[_significant(rows)]
    if last_only:
        last = rows[rows.week > 0].groupby("trial_id").week.max()
        sig = sig[sig.week.to_numpy() == last.reindex(sig.trial_id).to_numpy()]
    return sig


_EFFECTS: dict[str, Callable[..., Any]] = {"hba1c": hba1c_effects}


def _effects(ctx: _Ctx, cid: str, p: Mapping[str, Any], **kw: Any):
    outcome = p["outcome"]
    if outcome not in _EFFECTS:
        raise PublishedDataError(
            f"{ctx.claims.source}: claim {cid}: between-arm effect sizes are built for "
            f"outcome(s) {', '.join(_EFFECTS)}, not {outcome!r}"
        )
    return _EFFECTS[outcome](
        ctx.ev,
        rho=ctx.rho,
        overlap=ctx.overlap,
        population=p.get("population", "T2DM"),
        **kw,
    )


# -------------------------------------------------------------------------------- rules
def _pooled_range(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """Pooled between-arm effect over a follow-up window against a claimed range."""
    claim_lo, claim_hi = p["range"]
    weeks = p["weeks"]
    es = _effects(ctx, cid, p, weeks=weeks)
    usable = np.isfinite(es.yi) & np.isfinite(es.vi)
    pc = placebo_changes(ctx.ev)
    ctx.details.setdefault("placebo_changes", pc)
    ctx.details.setdefault(
        "selected_trials", pd.DataFrame({"trial_id": select_trials(ctx.ev, ctx.overlap)})
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx.details.setdefault(
            f"{p['outcome']}_effects",
            hba1c_table(ctx.ev, rho=ctx.rho, weeks=None, overlap=ctx.overlap),
        )
    falls = "; ".join(f"{r.study} {_f(r.change)} (wk {r.week:g}, {r.how})" for r in pc.itertuples())
    if not usable.any():
        return {
            "evidence_used": "none",
            "verdict": UNTESTABLE,
            "reason": f"no controlled trial reports a between-arm {p['outcome']} difference "
            f"with an SE at weeks {weeks[0]:g}-{weeks[1]:g}." + _note(p),
        }
    kw = {"method": ctx.method, "test": ctx.test, "level": ctx.conf_level}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rma(es, **kw)
    ctx.caveats += [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
    lo, hi = res.ci_low, res.ci_high
    if lo <= 0 <= hi:
        verdict, why = NOT, "the pooled between-arm CI includes no difference"
    elif claim_lo <= lo and hi <= claim_hi:
        verdict, why = SUPPORTED, "the pooled CI lies within the claimed range"
    elif lo <= claim_hi and hi >= claim_lo:
        verdict = PARTLY
        outside = []
        if lo > claim_lo:
            outside.append(f"values from {claim_lo:g} to {_f(lo)} are outside the CI")
        if lo < claim_lo:
            outside.append(f"the CI reaches {_f(lo)}, beyond the claimed {claim_lo:g}")
        if hi > claim_hi:
            outside.append(f"the CI reaches {_f(hi)}, beyond the claimed {claim_hi:g}")
        if hi < claim_hi:
            outside.append(f"values from {_f(hi)} to {claim_hi:g} are outside the CI")
        why = "the CI overlaps the claimed range but " + " and ".join(outside)
    else:
        verdict, why = NOT, "the pooled CI lies outside the claimed range"
    tab = hba1c_table(
        ctx.ev,
        rho=ctx.rho,
        weeks=weeks,
        overlap=ctx.overlap,
        population=p.get("population", "T2DM"),
    )
    comparison = comparison_label(tab.cell_type[usable])
    dropped = [s for s, ok in zip(es.slab, usable, strict=True) if not ok]
    used = ", ".join(f"{s} ({f})" for s, f, ok in zip(es.slab, es.flags, usable, strict=True) if ok)
    extra = ""
    ct = p.get("sensitivity_cell_type")
    if ct:
        sub = _effects(ctx, cid, p, weeks=weeks, cell_type=ct)
        ok = np.isfinite(sub.yi) & np.isfinite(sub.vi)
        if ok.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rm = rma(sub, **kw)
            extra += (
                f" {ct} trials only: k = {rm.k}, {_f(rm.estimate)} ({_ci(rm.ci_low, rm.ci_high)})."
            )
        else:
            extra += f" {ct} trials only: none with an SE."
    alt_tab = hba1c_table(
        ctx.ev,
        rho=ctx.rho,
        weeks=weeks,
        overlap=ctx.overlap,
        population=p.get("population", "T2DM"),
        alternative=True,
    )
    alt_res = None
    if alt_tab.alternative.any():
        ctx.details.setdefault(f"{p['outcome']}_effects_alternative", alt_tab)
        alt_es = _effects(ctx, cid, p, weeks=weeks, alternative=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alt_res = rma(alt_es, **kw)
        who = ", ".join(
            f"{r.study} {_f(r.yi)} instead of {_f(es.yi[list(es.slab).index(r.study)])}"
            for r in alt_tab[alt_tab.alternative].itertuples()
        )
        extra += (
            f" Sensitivity with the alternative inputs of studies whose published changes are "
            f"flagged inconsistent ({who}; alternatives.csv): {_f(alt_res.estimate)} "
            f"({_ci(alt_res.ci_low, alt_res.ci_high)}; PI {_ci(alt_res.pi_low, alt_res.pi_high)})."
        )
    ctx.pooled.append((res, comparison, alt_res))
    reason = (
        f"Claimed range of the between-arm difference: {claim_lo:g} to {claim_hi:g}. Pooled "
        f"{ctx.method}{'+HKSJ' if res.test == 'knha' else ''} MD ({comparison}) "
        f"{_f(res.estimate)} ({ctx.conf_level:.0%} CI {_ci(lo, hi)}; PI "
        f"{_ci(res.pi_low, res.pi_high)}; k = {res.k}, weeks {weeks[0]:g}-{weeks[1]:g}): "
        f"{why}.{extra} Control arms' own changes: {falls}."
        + (f" Not pooled: {', '.join(dropped)} (no SE)." if dropped else "")
        + _note(p)
    )
    return {
        "evidence_used": used,
        "estimate": res.estimate,
        "ci_low": lo,
        "ci_high": hi,
        "pi_low": res.pi_low,
        "pi_high": res.pi_high,
        "verdict": verdict,
        "reason": reason,
    }


def _covariate_effect(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """Subgroup / meta-regression claim: testable only with ``min_k`` trials or subgroup rows."""
    es = _effects(ctx, cid, p, weeks=None)
    ok = np.isfinite(es.yi) & np.isfinite(es.vi)
    k, min_k = int(ok.sum()), p["min_k"]
    pattern = p.get("subgroup_outcomes", "subgroup")
    sub = ctx.ev.outcomes[ctx.ev.outcomes.outcome.str.contains(pattern, regex=False, na=False)]
    if k >= min_k or not sub.empty:
        raise AnalysisError(
            f"claim {cid}: {k} trials with a between-arm {p['outcome']} difference and "
            f"{len(sub)} subgroup rows: the data now allow a test on {p['covariate']}, which "
            "the covariate_effect rule does not fit yet (a meta-regression with moderators); "
            "refusing to give a verdict without it"
        )
    return {
        "evidence_used": ", ".join(np.asarray(es.slab)[ok]) or "none",
        "estimate": float(k),
        "verdict": UNTESTABLE,
        "reason": (
            f"{k} trials give a between-arm {p['outcome']} difference with an SE (any "
            f"follow-up); a meta-regression on {p['covariate']} needs at least {min_k}. No "
            f"trial reports results by {p['covariate']} subgroup." + _note(p)
        ),
    }


def _between_arm_results(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """Significant between-arm improvements in ``min_trials`` independent trials."""
    ev, label = ctx.ev, p["label"]
    t = ctx.trial_set(cid, p)
    o = ev.outcomes[ev.outcomes.trial_id.isin(t.trial_id)]
    direct = o[o.outcome.isin(p["outcomes"])]
    sig = direct[_significant(direct)]
    null = direct[direct.finding == "no difference"]
    prox = o[o.outcome.isin(p.get("proxy", ()))]
    psig = prox[_significant(prox)]
    n_sig = _independent(ev, sig.trial_id)
    if n_sig >= p["min_trials"] and null.empty:
        verdict = SUPPORTED
    elif n_sig >= 1 or not psig.empty:
        verdict = PARTLY
    elif not null.empty:
        verdict = NOT
    else:
        verdict = p["if_none"]
    reported = direct[direct.value.notna() | (direct.finding != "")]
    parts = []
    if reported.empty:
        measured = sorted(
            set(ctx.names(direct[direct.note.str.contains("measured", na=False)].trial_id.unique()))
        )
        parts.append(
            f"No controlled trial in the data reports {label} results (measured but not "
            f"retrieved: {', '.join(measured)})."
            if measured
            else f"As far as the data record, no controlled trial measures {label} or reports "
            "results for it."
        )
    else:
        sig_names = ", ".join(sorted(set(ctx.names(sig.trial_id.unique())))) or "none"
        null_names = ", ".join(sorted(set(ctx.names(null.trial_id.unique())))) or "none"
        parts.append(
            f"{label}: significant between-arm improvement in {n_sig} independent controlled "
            f"trial(s) ({sig_names}); no difference: {null_names}."
        )
    if p.get("proxy"):
        plabel = p.get("proxy_label", ", ".join(p["proxy"]))
        found = []
        for r in psig.itertuples():
            arms = {
                (a, w): ev.value(r.trial_id, r.outcome, w, a, "mean")
                for a in ("MSC", "control")
                for w in (0, r.week)
            }
            unit = o[
                (o.trial_id == r.trial_id) & (o.outcome == r.outcome) & (o.statistic == "mean")
            ]
            unit = unit.unit.iloc[0] if len(unit) else ""
            found.append(
                f"{ev.trial(r.trial_id).short}: {r.outcome} {arms[('MSC', 0)]:g} -> "
                f"{arms[('MSC', r.week)]:g} vs {arms[('control', 0)]:g} -> "
                f"{arms[('control', r.week)]:g} {unit} (cell therapy vs control arm means, "
                f"weeks 0 -> {r.week:g}), between-arm p {r.relation} {r.value:g}"
            )
        parts.append(f"Proxy, {plabel}: {'; '.join(found) or 'no significant result'}.")
    outside = ev.outcomes[
        ~ev.outcomes.trial_id.isin(t.trial_id)
        & ev.outcomes.outcome.isin(p["outcomes"])
        & (ev.outcomes.finding == "improved")
    ]
    if not outside.empty:
        parts.append(
            "Improvements reported only outside the controlled evidence (not counted): "
            + ", ".join(ctx.names(outside.trial_id.unique()))
            + "."
        )
    if p.get("published_pooled"):
        parts.append(
            f"Published pooled {p['published_pooled']} differences vs control: "
            f"{_ma_text(ev, p['published_pooled']) or 'none'}."
        )
    parts.append(
        f"The rule needs at least {p['min_trials']} independent trial(s) with a significant "
        "between-arm improvement and none showing no difference."
    )
    used = [*sig.trial_id.unique(), *null.trial_id.unique(), *psig.trial_id.unique()]
    return {
        "evidence_used": ", ".join(dict.fromkeys(ctx.names(used)))
        or f"outcomes.csv ({', '.join([*p['outcomes'], *p.get('proxy', ())])}): no controlled result",
        "estimate": float(n_sig),
        "verdict": verdict,
        "reason": " ".join(parts) + _note(p),
    }


def _findings(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """Improvement 'in some studies' of a cell type, in numbers or words."""
    ev = ctx.ev
    t = ctx.trial_set(cid, p)
    o = ev.outcomes[ev.outcomes.trial_id.isin(t.trial_id) & ev.outcomes.outcome.isin(p["outcomes"])]
    ct = p.get("cell_type")
    ids = (
        set(t[ctx.column(cid, "cell_type").loc[t.index] == ct].trial_id) if ct else set(t.trial_id)
    )
    pos = o[(o.finding == "improved") & o.trial_id.isin(ids)].trial_id.unique()
    neg = o[(o.finding == "no difference") & o.trial_id.isin(ids)].trial_id.unique()
    other = o[(o.finding == "improved") & ~o.trial_id.isin(ids)].trial_id.unique()
    if len(pos) and not len(neg):
        verdict = SUPPORTED
    elif len(pos) and len(neg):
        verdict = PARTLY
    elif len(neg):
        verdict = NOT
    else:
        verdict = UNTESTABLE

    def names(xs):
        return (
            ", ".join(f"{ev.trial(i).short} ({ev.trial(i).label}, {ev.trial(i).cells})" for i in xs)
            or "none"
        )

    who = f"{ct} trials" if ct else "Trials"
    reason = (
        f"{who} reporting an improvement in {p['label']} vs control: {names(pos)}; reporting "
        f"none: {names(neg)}."
        + (f" Other cell types: {names(other)}." if ct else "")
        + (
            f" Published pooled {p['published_pooled']} vs control: "
            f"{_ma_text(ev, p['published_pooled']) or 'none'}."
            if p.get("published_pooled")
            else ""
        )
        + _note(p)
    )
    return {
        "evidence_used": ", ".join(ctx.names([*pos, *neg, *other])) or "none",
        "estimate": float(len(pos)),
        "verdict": verdict,
        "reason": reason,
    }


def _longest_significant(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """Durability: the longest follow-up with a significant between-arm result."""
    ev = ctx.ev
    t = ctx.trial_set(cid, p)
    sig = _sig_by_trial(ev, t.trial_id, p["outcomes"])
    longest = float(sig.week.max()) if len(sig) else np.nan
    lo, hi = p["weeks"]
    if np.isfinite(longest) and longest >= hi:
        verdict = SUPPORTED
    elif np.isfinite(longest) and longest >= lo:
        verdict = PARTLY
    elif np.isfinite(longest):
        verdict = NOT
    else:
        verdict = UNTESTABLE
    words = ev.outcomes[
        ev.outcomes.trial_id.isin(t.trial_id)
        & (ev.outcomes.finding == "improved")
        & ev.outcomes.value.isna()
        & ev.outcomes.outcome.isin(p.get("wording_outcomes", p["outcomes"]))
    ]
    at = sig[sig.week == longest]
    label = p.get("label", ", ".join(p["outcomes"]))
    reason = (
        f"Longest significant between-arm {label} result with numbers: "
        + (
            f"{longest:g} weeks ({', '.join(sorted(set(ctx.names(at.trial_id.unique()))))})"
            if np.isfinite(longest)
            else "none"
        )
        + f"; the claim spans {lo:g}-{hi:g} weeks. Results stated without numbers (not "
        "counted): "
        + (
            ", ".join(
                f"{ev.trial(i).short} ({w:g} wk, abstract wording only)"
                for i, w in words.groupby("trial_id").week.max().items()
            )
            or "none"
        )
        + "."
        + _note(p)
    )
    return {
        "evidence_used": ", ".join(sorted(set(ctx.names(sig.trial_id.unique())))) or "none",
        "estimate": longest,
        "verdict": verdict,
        "reason": reason,
    }


def _describe(r: pd.Series, cols: Any) -> str:
    return ", ".join(f"{c} {_val(r[c])}" for c in cols)


def _trial_conditions(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """Trials meeting stated conditions (``scope="any"``) or one trial meeting them all
    (``scope="single"``)."""
    ev = ctx.ev
    conds = p["conditions"]
    unrecorded = p.get("unrecorded", ())
    n_parts = len(conds) + len(unrecorded)
    scope = p.get("scope", "any")
    if scope not in ("any", "single"):
        raise PublishedDataError(
            f"{ctx.claims.source}, claim {cid}: scope must be 'any' or 'single'"
        )
    t = ctx.trial_set(cid, p)
    for c in p.get("describe", ()):
        ctx.column(cid, c)
    masks = [ctx.mask(cid, c["where"]) for c in conds]
    parts: list[str] = []
    if scope == "any":
        counts = [int(m.sum()) for m in masks]
        n_met = sum(n > 0 for n in counts)
        for c, m, n in zip(conds, masks, counts, strict=True):
            txt = f"{c['label']}: {n}"
            if n:
                txt += f" ({', '.join(ev.trials[m].short)})"
            elif "near" in c:
                near = ev.trials[ctx.mask(cid, c["near"])]
                cols = c.get("describe", ())
                txt += (
                    " (meeting part of the condition: "
                    + (
                        "; ".join(
                            f"{r.short}" + (f" ({_describe(r, cols)})" if cols else "")
                            for _, r in near.iterrows()
                        )
                        or "none"
                    )
                    + ")"
                )
            parts.append(txt + ".")
        estimate = float(counts[0])
        met_ids = [i for m in masks for i in ev.trials[m].trial_id]
        used = f"trials.csv: {len(t)} trials in the controlled evidence" + (
            f"; meeting a condition: {', '.join(dict.fromkeys(ctx.names(met_ids)))}"
            if met_ids
            else ""
        )
        if n_met == n_parts:
            verdict = SUPPORTED
        elif n_met >= 1:
            verdict = PARTLY
        else:
            verdict = NOT
    else:
        among = p.get("among", "")
        if among == "significant_at_last":
            if "outcomes" not in p:
                raise PublishedDataError(
                    f"{ctx.claims.source}, claim {cid}: among = 'significant_at_last' needs outcomes"
                )
            ids = _sig_by_trial(ev, t.trial_id, p["outcomes"], last_only=True).trial_id.unique()
            what = (
                "Trials with a significant between-arm result at their last time point "
                f"({', '.join(p['outcomes'])})"
            )
        elif among == "":
            ids, what = t.trial_id.unique(), "Trials of the controlled evidence"
        else:
            raise PublishedDataError(
                f"{ctx.claims.source}, claim {cid}: among must be '' or 'significant_at_last'"
            )
        sel = ev.trials[ev.trials.trial_id.isin(ids)]
        best, rows, met_any = 0, [], np.zeros(len(conds), bool)
        for i, r in sel.iterrows():
            met = np.array([bool(m.loc[i]) for m in masks])
            met_any |= met
            best = max(best, int(met.sum()))
            cols = p.get("describe", ())
            rows.append(
                f"{r.short} ("
                + (f"{_describe(r, cols)}; " if cols else "")
                + f"meets {int(met.sum())} of {n_parts}"
                + (
                    ": " + ", ".join(c["label"] for c, ok in zip(conds, met, strict=True) if ok)
                    if met.any()
                    else ""
                )
                + ")"
            )
        parts.append(f"{what}: {'; '.join(rows) or 'none'}.")
        if p.get("outcomes"):
            any_sig = _sig_by_trial(ev, t.trial_id, p["outcomes"])
            o = ev.outcomes[ev.outcomes.outcome.isin(p["outcomes"]) & (ev.outcomes.week > 0)]
        for c, m, ok in zip(conds, masks, met_any, strict=True):
            if ok or not len(rows):
                continue
            others = t[m.loc[t.index]]
            txt = []
            for _, r in others.iterrows():
                if not p.get("outcomes"):
                    txt.append(r.short)
                    continue
                if r.trial_id in set(ids):
                    txt.append(f"{r.short} (significant at its last time point)")
                    continue
                last = o[o.trial_id == r.trial_id].week.max()
                early = any_sig[any_sig.trial_id == r.trial_id].week
                s = f"{r.short} (no significant difference at week {_val(float(last))}"
                if len(early):
                    s += f"; significant only at week {early.min():g}"
                txt.append(s + ")")
            parts.append(
                f"None of them meets '{c['label']}'; trials of the controlled evidence that "
                f"do: {'; '.join(txt) or 'none'}."
            )
        estimate = float(best)
        used = ", ".join(ctx.names(ids)) or "none"
        if not rows:
            verdict = UNTESTABLE
        elif best == n_parts:
            verdict = SUPPORTED
        elif best >= 1:
            verdict = PARTLY
        else:
            verdict = NOT
    if unrecorded:
        parts.append(
            "Not recorded for any trial in the data (counted as not met): "
            + "; ".join(unrecorded)
            + "."
        )
    if p.get("list_by"):
        col = p["list_by"]
        vals = ctx.column(cid, col).loc[t.index]
        named = "; ".join(f"{s}: {v}" for s, v in zip(t.short, vals, strict=True) if str(v))
        unnamed = ", ".join(s for s, v in zip(t.short, vals, strict=True) if not str(v))
        parts.append(
            f"Trials of the controlled evidence by {col}: {named or 'none'}; {col} not "
            f"stated: {unnamed or 'none'}."
        )
    if p.get("describe") and scope == "any":
        cols = p["describe"]
        first = ctx.column(cid, cols[0]).loc[t.index]
        shown = t[first.astype(str).ne("") & first.notna() & first.astype(str).ne("nan")]
        parts.append(
            "In the controlled evidence: "
            + ("; ".join(f"{r.short}: {_describe(r, cols)}" for _, r in shown.iterrows()) or "none")
            + "."
        )
    return {
        "evidence_used": used,
        "estimate": estimate,
        "verdict": verdict,
        "reason": " ".join(parts) + _note(p),
    }


def _not_testable(ctx: _Ctx, cid: str, p: Mapping[str, Any]) -> dict[str, Any]:
    return {"evidence_used": "none", "verdict": UNTESTABLE, "reason": p["reason"] + _note(p)}


#: rule name -> implementation (the names and parameters are the loader's CLAIM_RULES)
RULES: dict[str, Callable[[_Ctx, str, Mapping[str, Any]], dict[str, Any]]] = {
    "pooled_range": _pooled_range,
    "covariate_effect": _covariate_effect,
    "between_arm_results": _between_arm_results,
    "findings": _findings,
    "longest_significant": _longest_significant,
    "trial_conditions": _trial_conditions,
    "not_testable": _not_testable,
}
assert set(RULES) == set(CLAIM_RULES)


def audit(
    claims: Claims,
    evidence: Evidence,
    *,
    method: str = "REML",
    test: str = "z",
    rho: float = 0.5,
    overlap: str = "default",
    conf_level: float = 0.95,
) -> ClaimsAudit:
    """Judge each claim against the controlled-trial evidence by its verdict rule.

    Parameters
    ----------
    claims : Claims
        From :func:`trial_analysis.evidence.load_claims`.
    evidence : Evidence
        From :func:`trial_analysis.evidence.load_evidence`.
    method, test : passed to :func:`trial_analysis.meta.rma` for ``pooled_range`` claims.
    rho : float, default 0.5
        Assumed baseline/follow-up correlation for imputed change SDs.
    overlap : str, default "default"
        Which member of an overlap group to pool (see
        :func:`trial_analysis.meta.evidence.select_trials`).
    conf_level : float, default 0.95
        Confidence level of pooled intervals.

    Returns
    -------
    ClaimsAudit
        ``.table`` (also ``to_frame()``): one row per claim with ``id, claim, rule,
        evidence_used, estimate, ci_low, ci_high, pi_low, pi_high, verdict, reason``.
        ``estimate`` is the pooled MD for ``pooled_range`` and the count or duration the
        rule uses otherwise (``docs/claims-verdicts.md``).

    Examples
    --------
    >>> import trial_analysis as ta
    >>> res = ta.claims.audit(ta.evidence.load_claims(), ta.evidence.load_evidence())
    >>> res.to_frame().verdict.iloc[6], res.clinic
    ('not supported', 'BioGenesis')
    """
    if not isinstance(claims, Claims) or not isinstance(evidence, Evidence):
        raise PublishedDataError(
            "audit(claims, evidence) takes the objects of ta.evidence.load_claims() and "
            "ta.evidence.load_evidence()"
        )
    ctx = _Ctx(claims, evidence, method, test, rho, overlap, conf_level)
    rows = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for r in claims.table.itertuples():
            rule, params = claims.rule(r.id)
            row = RULES[rule](ctx, r.id, params)
            rows.append({"id": r.id, "claim": r.claim, "rule": rule, **row})
    caveats = ctx.caveats + [
        str(w.message)
        for w in caught
        if issubclass(w.category, TrialAnalysisWarning) and "only 2 studies" not in str(w.message)
    ]
    caveats = list(dict.fromkeys(caveats))
    for c in caveats:
        warnings.warn(c, StatisticalWarning, stacklevel=2)
    table = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in table:
            table[c] = np.nan
    table = table[COLUMNS]
    for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        table[c] = table[c].astype(float)
    t = ctx.trial_set("", {}) if "controlled" in claims.sets else evidence.trials
    cols = [
        c for c in ("trial_id", "short", "year", "centre", "cells", "cell_type", "phase") if c in t
    ]
    ctx.details["controlled_trials"] = t[cols].reset_index(drop=True)
    pooled, comparison, alt = ctx.pooled[0] if ctx.pooled else (None, "", None)
    return ClaimsAudit(
        table,
        ctx.details,
        pooled,
        tuple(caveats),
        claims.clinic_name,
        comparison,
        alt,
    )
