"""The findings page: what holds and what does not, computed from a results table.

The input is the generic results table of a reanalysis — one row per analysis with columns
``endpoint, comparison, analysis, method, estimate, ci_low, ci_high, p_value, data_source``
(``data_source`` one of ``published``, ``patient-level``, ``synthetic``, ``reconstructed``), the frame
``ta.reanalyze(trial).to_frame()`` returns. Nothing is typed for a trial: each finding is the
outcome of a rule applied to the rows, so another trial's table gives its own findings.

Rules, for each endpoint and comparison:

``primary``
    The pre-specified analysis (``primary[endpoint]``: a method name such as ``"fisher"``,
    matched case-insensitively in ``method`` then ``analysis``; default the first row with a
    p-value, preferring published numbers): its estimate, interval and p-value, and whether it
    is significant at ``alpha`` — or, given ``claims[endpoint]`` (did the paper report it as
    significant?), whether the paper's claim holds.
``robustness``
    Over every test on the primary analysis's data source (at the endpoint's visit, when the
    table marks ``endpoint_visit``): significant under all of them,
    none of them, or depending on the test (the smallest and largest p-value, named).
``sources``
    When the endpoint was analysed both from published numbers and from patient-level data:
    whether the two reach the same conclusion; a synthetic cohort that contradicts a
    published result is flagged as a property of the cohort's assumptions, not evidence.

And across endpoints, ``multiplicity``: Holm's step-down adjustment of the pre-specified
analyses of the primary endpoints (family: each comparison of an endpoint whose design ``role``
is ``primary``, ``roles[endpoint]``; without ``roles`` every endpoint's), the pre-specified
analyses of the other endpoints (secondary, exploratory, ...) counted apart and not adjusted,
and the count of all p-values in the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import ParameterError
from ..reanalysis import COLUMNS as _ENGINE_COLUMNS
from ..reanalysis import SOURCES as _ENGINE_SOURCES
from ..reanalysis import primary_index
from ..results import column_label, format_ci, format_p
from .content import Bold, Callout, Heading, Para, Ref, Run, Section, TableBlock

__all__ = ["COLUMNS", "DATA_SOURCES", "Finding", "findings", "findings_section"]

#: the engine's tidy table (``Reanalysis.to_frame()``); ``primary`` and ``endpoint_visit``
#: (False: a by-visit model's row at another visit, left out of the robustness count) optional
COLUMNS = tuple(_ENGINE_COLUMNS)
DATA_SOURCES = _ENGINE_SOURCES

_SOURCE_WORDS = {
    "published": "the published numbers",
    "patient-level": "the patient-level data",
    "synthetic": "the synthetic cohort",
    "reconstructed": "the patients reconstructed from the digitised published curve",
}


@dataclass(frozen=True)
class Finding:
    """One computed finding.

    Attributes
    ----------
    endpoint, comparison : str
        ``comparison`` is '' for a finding across endpoints.
    rule : str
        ``primary``, ``robustness``, ``sources`` or ``multiplicity``.
    verdict : str
        ``holds``, ``does not hold``, ``significant``, ``not significant``,
        ``depends on the test``, ``agree``, ``contradict`` or ``survives`` / ``does not survive``.
    text : str
        The sentence printed, with its numbers.
    """

    endpoint: str
    comparison: str
    rule: str
    verdict: str
    text: str


def _check_frame(frame: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError("frame", "a pandas DataFrame (a reanalysis' to_frame())", frame)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ParameterError(
            "frame", "a results table with columns " + ", ".join(COLUMNS), f"missing {missing}"
        )
    bad = sorted(set(frame["data_source"].astype(str)) - set(DATA_SOURCES))
    if bad:
        rows = frame.index[~frame["data_source"].astype(str).isin(DATA_SOURCES)].tolist()
        raise ParameterError(
            "frame['data_source']",
            "one of " + ", ".join(DATA_SOURCES),
            f"{bad[0]!r} in row {rows[0]}",
        )
    # the engine's ``primary`` mark (the pre-specified analysis at the endpoint's visit) is kept
    marks = [c for c in ("primary", "endpoint_visit") if c in frame.columns]
    out = frame.loc[:, list(COLUMNS) + marks].copy()
    for c in marks:
        out[c] = out[c].fillna(c == "endpoint_visit").astype(bool)
    for c in ("estimate", "ci_low", "ci_high", "p_value"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    for c in ("endpoint", "comparison", "analysis", "method", "data_source"):
        out[c] = out[c].fillna("").astype(str)
    return out.reset_index(drop=True)


def p_text(p: float) -> str:
    """``p = 0.0496``, ``p < 0.001``, ``p > 0.999``."""
    s = format_p(p)
    return f"p {s[0]} {s[1:]}" if s[:1] in "<>" else f"p = {s}"


def _named(row: pd.Series) -> str:
    """How a row is named in a sentence: its method, with the analysis when it adds to it."""
    method, analysis = row["method"].strip(), row["analysis"].strip()
    if not method:
        return analysis
    if not analysis or method.lower() in analysis.lower():
        return method
    return f"{method}, {analysis}"


def _estimate(row: pd.Series, conf_level: float) -> str:
    if math.isnan(row["estimate"]):
        return ""
    return f"{row['analysis'] or 'estimate'} {format_ci(row['estimate'], row['ci_low'], row['ci_high'], conf_level)}"


def _primary_row(rows: pd.DataFrame, method: str | None) -> pd.Series | None:
    tested = rows[rows["p_value"].notna()]
    if tested.empty:
        return None
    if "primary" in tested.columns and tested["primary"].astype(bool).any():
        # the engine marks the pre-specified analysis at the endpoint's visit
        return tested[tested["primary"].astype(bool)].iloc[0]
    # a frame without the engine's ``primary`` column: the engine's own rule for the method
    hit = primary_index(tested, method)
    if hit is not None:
        return tested.loc[hit]
    published = tested[tested["data_source"] == "published"]
    return (published if len(published) else tested).iloc[0]


def _reach(subject: str) -> str:
    return "reaches" if subject.endswith("cohort") else "reach"


def _significant(p: float, alpha: float) -> bool:
    return bool(p < alpha)


def findings(
    frame: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    primary: Mapping[str, str] | None = None,
    claims: Mapping[str, bool] | None = None,
    alpha: float = 0.05,
    conf_level: float = 0.95,
    roles: Mapping[str, str] | None = None,
) -> tuple[Finding, ...]:
    """Apply the findings rules (module docstring) to a results table.

    Parameters
    ----------
    frame : DataFrame
        Columns :data:`COLUMNS`; ``data_source`` in :data:`DATA_SOURCES`.
    labels : mapping, optional
        Printed name of each endpoint id (default a readable form of the id).
    primary : mapping, optional
        Pre-specified method of each endpoint (``"fisher"``, ``"ancova"``).
    claims : mapping, optional
        Whether the paper reported each endpoint's comparison as significant.
    alpha, conf_level : float
    roles : mapping, optional
        Each endpoint's design role (``"primary"``, ``"secondary"``, ...): the multiplicity
        family is the primary endpoints' comparisons. Default: every endpoint is primary.

    Returns
    -------
    tuple of Finding
        In endpoint order (as the frame lists them), the multiplicity finding last.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"endpoint": ["e", "e"], "comparison": ["A vs B"] * 2,
    ...     "analysis": ["risk difference"] * 2, "method": ["Fisher exact", "Chi-square, Yates"],
    ...     "estimate": [0.18, 0.18], "ci_low": [0.01, -0.01], "ci_high": [0.35, 0.37],
    ...     "p_value": [0.0496, 0.058], "data_source": ["published"] * 2})
    >>> [x.verdict for x in findings(f, claims={"e": True})]
    ['holds', 'depends on the test', 'survives']
    """
    from .._validate import check_alpha, check_conf_level

    alpha = check_alpha(alpha)
    conf_level = check_conf_level(conf_level)
    df = _check_frame(frame)
    labels = dict(labels or {})
    primary = dict(primary or {})
    claims = dict(claims or {})
    out: list[Finding] = []
    primaries: list[tuple[str, str, float]] = []
    for (ep, comp), rows in df.groupby(["endpoint", "comparison"], sort=False):
        name = labels.get(ep) or column_label(ep)
        where = f"{name} ({comp})" if comp else name
        head = _primary_row(rows, primary.get(ep))
        if head is None:
            out.append(
                Finding(ep, comp, "primary", "not tested", f"{where}: no analysis gives a p-value.")
            )
            continue
        primaries.append((ep, comp, float(head["p_value"])))
        sig = _significant(head["p_value"], alpha)
        est = _estimate(head, conf_level)
        said = (
            f"{where}: the {'pre-specified' if primary.get(ep) else 'primary'} analysis "
            f"({head['method'] or head['analysis']}, from {_SOURCE_WORDS[head['data_source']]}) gives "
            + (f"{est}, " if est else "")
            + p_text(head["p_value"])
        )
        if ep in claims:
            claimed = bool(claims[ep])
            verdict = "holds" if claimed == sig else "does not hold"
            said += (
                f"; the paper reported it as {'significant' if claimed else 'not significant'}, "
                f"which {'holds' if claimed == sig else 'does not hold'} at α = {alpha:g}."
            )
        else:
            verdict = "significant" if sig else "not significant"
            said += f": {verdict} at α = {alpha:g}."
        out.append(Finding(ep, comp, "primary", verdict, said))

        same = rows[(rows["data_source"] == head["data_source"]) & rows["p_value"].notna()]
        if "endpoint_visit" in same.columns:  # a by-visit model's other visits test other things
            same = same[same["endpoint_visit"]]
        n = len(same)
        if n > 1:
            lo, hi = same.loc[same["p_value"].idxmin()], same.loc[same["p_value"].idxmax()]
            k = int((same["p_value"] < alpha).sum())
            src = _SOURCE_WORDS[head["data_source"]]
            if 0 < k < n:
                verdict = "depends on the test"
                said = (
                    f"{where}: significance depends on the test — {k} of {n} tests on {src} "
                    f"give p < {alpha:g}, from {p_text(lo['p_value'])} ({_named(lo)}) to "
                    f"{p_text(hi['p_value'])} ({_named(hi)})."
                )
            elif k == n:
                verdict = "holds"
                said = (
                    f"{where}: significant under all {n} tests on {src} (largest "
                    f"{p_text(hi['p_value'])}, {_named(hi)})."
                )
            else:
                verdict = "not significant"
                said = (
                    f"{where}: not significant under any of the {n} tests on {src} (smallest "
                    f"{p_text(lo['p_value'])}, {_named(lo)})."
                )
            out.append(Finding(ep, comp, "robustness", verdict, said))

        others = rows[(rows["data_source"] != head["data_source"]) & rows["p_value"].notna()]
        if len(others):
            other = _primary_row(others, primary.get(ep))
            assert other is not None  # others has p-values
            other_sig = _significant(other["p_value"], alpha)
            src = _SOURCE_WORDS[other["data_source"]]
            if other_sig == sig:
                verdict = "agree"
                said = (
                    f"{where}: {src} {_reach(src)} the same conclusion ({_named(other)}, "
                    f"{p_text(other['p_value'])})."
                )
            else:
                verdict = "contradict"
                said = (
                    f"{where}: {src} {_reach(src)} the opposite conclusion ({_named(other)}, "
                    f"{p_text(other['p_value'])}, against {p_text(head['p_value'])})."
                )
                if other["data_source"] == "synthetic" or head["data_source"] == "synthetic":
                    said += (
                        " The synthetic cohort is generated from assumed parameters: this "
                        "disagreement describes those assumptions, not the trial's patients."
                    )
            out.append(Finding(ep, comp, "sources", verdict, said))

    if primaries:
        out.append(_multiplicity(df, primaries, labels, alpha, roles))
    return tuple(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _others_text(
    others: list[tuple[str, str, float]],
    labels: Mapping[str, str],
    roles: Mapping[str, str],
    alpha: float,
) -> str:
    """The sentence on the pre-specified analyses outside the primary family (unadjusted)."""
    if not others:
        return ""
    eps = list(dict.fromkeys(ep for ep, _, _ in others))
    kinds = ", ".join(dict.fromkeys(roles.get(ep) or "secondary" for ep in eps))
    nominal = list(
        dict.fromkeys(labels.get(ep) or column_label(ep) for ep, _, p in others if p < alpha)
    )
    return (
        f" The pre-specified analyses of {_plural(len(eps), 'non-primary endpoint')} ({kinds}; "
        f"{_plural(len(others), 'comparison')}) are outside the primary family and not "
        "adjusted"
        + (
            f"; nominally significant: {', '.join(nominal)}."
            if nominal
            else "; none is nominally significant."
        )
    )


def _multiplicity(
    df: pd.DataFrame,
    tested: list[tuple[str, str, float]],
    labels: Mapping[str, str],
    alpha: float,
    roles: Mapping[str, str] | None,
) -> Finding:
    # Holm's step-down adjustment from statsmodels (the well-kept implementation)
    from statsmodels.stats.multitest import multipletests

    if roles is None:  # a table without the design: every endpoint's analysis is primary
        primaries, others, roles = tested, [], {}
    else:
        primaries = [x for x in tested if roles.get(x[0]) == "primary"]
        others = [x for x in tested if roles.get(x[0]) != "primary"]
    rest = _others_text(others, labels, roles, alpha)
    ps = [p for _, _, p in primaries]
    n_all = int(df["p_value"].notna().sum())
    m = len(ps)
    n_eps = len(dict.fromkeys(ep for ep, _, _ in primaries))
    if m == 0:
        text = (
            "Multiplicity: no primary endpoint has a tested analysis; the table holds "
            f"{n_all} p-values in all, none of them confirmatory." + rest
        )
        return Finding("", "", "multiplicity", "not tested", text)
    if m == 1:
        p = primaries[0][2]
        text = (
            f"Multiplicity: one primary comparison; the table holds {n_all} p-values in all, "
            "the others are sensitivity analyses and are not adjusted." + rest
        )
        return Finding(
            "", "", "multiplicity", "survives" if p < alpha else "does not survive", text
        )
    reject, adj, _, _ = multipletests(ps, alpha=alpha, method="holm")
    n_comp = {ep: sum(1 for e, _, _ in primaries if e == ep) for ep, _, _ in primaries}

    def name(ep: str, comp: str) -> str:  # the comparison too when the endpoint has several
        label = labels.get(ep) or column_label(ep)
        return f"{label} ({comp})" if n_comp[ep] > 1 and comp else label

    kept = [name(ep, comp) for (ep, comp, _), r in zip(primaries, reject, strict=True) if r]
    lost = [
        f"{name(ep, comp)}, Holm-adjusted {p_text(a)}"
        if n_comp[ep] > 1 and comp
        else f"{name(ep, comp)} (Holm-adjusted {p_text(a)})"
        for (ep, comp, p), r, a in zip(primaries, reject, adj, strict=True)
        if p < alpha and not r
    ]
    over = f" ({_plural(n_eps, 'primary endpoint')})" if roles and n_eps != m else ""
    text = (
        f"Multiplicity: {m} primary comparisons{over}, adjusted by Holm's step-down method at "
        f"α = {alpha:g}; the table holds {n_all} p-values in all (the others are sensitivity "
        "analyses, not adjusted). "
        + (
            f"Significant after adjustment: {', '.join(kept)}."
            if kept
            else "None is significant after adjustment."
        )
        + (f" Significant only before adjustment: {', '.join(lost)}." if lost else "")
        + rest
    )
    return Finding("", "", "multiplicity", "survives" if kept else "does not survive", text)


def findings_section(
    frame: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    primary: Mapping[str, str] | None = None,
    claims: Mapping[str, bool] | None = None,
    sections: Mapping[str, str] | None = None,
    alpha: float = 0.05,
    conf_level: float = 0.95,
    key: str = "findings",
    title: str = "Key findings",
    roles: Mapping[str, str] | None = None,
) -> Section:
    """The findings page: one paragraph per finding (linked to the section that shows the
    endpoint, ``sections[endpoint]`` = a section key), the table of primary analyses, and the
    analysis strategy (which analysis is primary, which are sensitivity analyses).

    Cross-references are checked when the report is resolved: a section key the report does
    not contain is a :class:`~trial_analysis.errors.ReportError`.
    """
    df = _check_frame(frame)
    found = findings(
        df,
        labels=labels,
        primary=primary,
        claims=claims,
        alpha=alpha,
        conf_level=conf_level,
        roles=roles,
    )
    labels = dict(labels or {})
    sections = dict(sections or {})
    s = Section(key, title)
    n_ep = df["endpoint"].nunique()
    sources = [x for x in DATA_SOURCES if (df["data_source"] == x).any()]
    s.add(
        Para(
            f"Computed from the results table ({len(df)} analyses of {n_ep} endpoint"
            f"{'s' if n_ep != 1 else ''}; data: {', '.join(sources)}) by fixed rules: the "
            "primary analysis of each endpoint, its robustness to the choice of test, the "
            "agreement of the data sources and multiplicity."
        )
    )
    if "synthetic" in sources:
        s.add(
            Callout(
                (
                    Bold("Synthetic data. "),
                    "Findings that compare data sources use the synthetic cohort, generated "
                    "from the published aggregates and assumed parameters: they show what the "
                    "assumptions imply, not what the trial's patients showed.",
                ),
                "synthetic",
            )
        )
    for f in found:
        runs: list[Run] = [Bold(f.verdict.capitalize() + ". "), f.text]
        if f.endpoint in sections:
            runs += [" See ", Ref(sections[f.endpoint]), "."]
        s.add(Para(tuple(runs)))

    rows = []
    for (ep, comp), g in df.groupby(["endpoint", "comparison"], sort=False):
        head = _primary_row(g, (primary or {}).get(ep))
        if head is None:
            continue
        rows.append(
            {
                "Endpoint": labels.get(ep) or column_label(ep),
                "Comparison": comp,
                "Analysis": _named(head),
                "Estimate (CI)": format_ci(
                    head["estimate"], head["ci_low"], head["ci_high"], conf_level
                ),
                "p": format_p(head["p_value"]),
                "Data": head["data_source"],
                "Other tests": str(int(g["p_value"].notna().sum()) - 1),
            }
        )
    if rows:
        used = sorted({r["Data"] for r in rows}, key=DATA_SOURCES.index)
        s.add(
            TableBlock(
                pd.DataFrame(rows),
                "Primary analysis of each endpoint; the other analyses of the endpoint are "
                "sensitivity analyses.",
                label=f"{key}-primary",
                source=" and ".join(used) if len(used) > 1 else used[0],
                col_widths=(3, 2.2, 3, 3.4, 1.1, 1.6, 1.6),
            )
        )
    s.add(Heading("Analysis strategy", 3))
    for ep in dict.fromkeys(df["endpoint"]):
        name = labels.get(ep) or column_label(ep)
        declared = (primary or {}).get(ep)
        s.add(
            Para(
                f"{name}: "
                + (
                    f"the pre-specified analysis ({declared}) is primary"
                    if declared
                    else "no analysis is pre-specified; the first test on the published "
                    "numbers is taken as primary"
                )
                + "; every other analysis of the endpoint is a sensitivity analysis."
            )
        )
    return s
