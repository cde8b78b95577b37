"""Multiple-imputation ANCOVA of many replicate trials at once (for power by simulation).

:func:`mi_ancova_batch` gives, for every replicate of a long data frame, the numbers of
:func:`trial_analysis.missing.mi_analysis` on that replicate alone: imputation under MAR,
jump-to-reference or copy-reference (the MMRM imputation model, approximate Bayesian
bootstrap draws of its parameters, conditional normal draws of the missing visits), ANCOVA at
the last visit on baseline, Rubin's rules with the Barnard-Rubin df.

Seed rule: ``numpy.random.SeedSequence(seed).spawn(R)`` gives one child per replicate, the
replicates taken in order of first appearance in ``data``; replicate ``i`` uses
``numpy.random.default_rng(child_i)`` exactly as ``mi_analysis(..., seed=that generator)``
would, and with more than two arms the contrasts (non-reference arms in level order) draw
from that one generator in turn. A replicate's numbers therefore depend on ``seed`` and its
position only, not on the other replicates' data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validate import CONTROL_ARM_RE, check_choice, check_conf_level, check_count
from ..errors import AnalysisError, ParameterError

__all__ = ["mi_ancova_batch"]

_COLUMNS = [
    "replicate",
    "contrast",
    "estimate",
    "se",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "converged",
]


def replicate_generators(seed: Any, n_replicates: int) -> list[np.random.Generator]:
    """One generator per replicate: ``default_rng(SeedSequence(seed).spawn(n)[i])``."""
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise ParameterError("seed", "a non-negative int (imputation is random)", seed)
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(n_replicates)]


def mi_ancova_batch(
    data: pd.DataFrame,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    *,
    replicate: str,
    baseline: str,
    method: str = "j2r",
    m: int = 20,
    reference: Any = None,
    seed: int | None = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Multiple imputation and ANCOVA at the last visit for every replicate trial of ``data``.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per replicate, subject and visit (subjects without any observed
        outcome keep their rows, with NaN outcome); replicates told apart by ``replicate``.
        Not modified.
    outcome, subject, visit, arm, baseline : str
        Columns, as for :func:`trial_analysis.missing.mi_analysis`.
    replicate : str
        Column naming the replicate each row belongs to.
    method : {"mar", "j2r", "cr"}
        Imputation assumption (case-insensitive).
    m : int
        Imputations per replicate (>= 2).
    reference : arm level, optional
        The control arm; default the arm named like a control, else the first level (the
        rule of :func:`trial_analysis.mmrm.fit`).
    seed : int
        Seeds every replicate's stream (module docstring: ``SeedSequence(seed).spawn``).
    conf_level : float
        Level of the pooled t interval.

    Returns
    -------
    DataFrame
        One row per replicate x contrast (``"<arm> - <reference>"``): ``replicate, contrast,
        estimate, se, df, p_value, ci_low, ci_high, converged``; a replicate whose imputation
        model cannot be fitted has NaN numbers and ``converged`` False. ``attrs`` holds
        ``n_replicates`` and ``n_failed``.

    Notes
    -----
    Each row equals ``mi_analysis(sub, ..., method=method.upper(), reference=reference,
    treatment=arm_level, at_visit=last_visit, m=m, seed=rng_i)`` on the replicate's rows
    ``sub`` with ``rng_i`` its generator (``tests/test_mi_batch.py``).

    Examples
    --------
    >>> out = mi_ancova_batch(sims, "y", "id", "week", "arm", replicate="rep",
    ...                       baseline="base", method="j2r", reference="Placebo",
    ...                       m=20, seed=1)  # doctest: +SKIP
    """
    from .missing import METHODS, mi_analysis
    from .mmrm import _levels

    meth = check_choice("method", method.upper() if isinstance(method, str) else method, METHODS)
    m = check_count("m", m, minimum=2)
    conf_level = check_conf_level(conf_level)
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data",
            "a pandas DataFrame (one row per replicate, subject and visit)",
            type(data).__name__,
        )
    named = (
        ("outcome", outcome),
        ("subject", subject),
        ("visit", visit),
        ("arm", arm),
        ("replicate", replicate),
        ("baseline", baseline),
    )
    for pname, col in named:
        if not isinstance(col, str) or col not in data.columns:
            raise ParameterError(
                pname, f"a column of data ({', '.join(map(str, data.columns))})", col
            )
    if len({c for _, c in named}) != len(named):
        raise ParameterError(
            "outcome/subject/visit/arm/replicate/baseline",
            "different columns",
            [c for _, c in named],
        )
    arms = _levels(data[arm], sort=False)
    if len(arms) < 2:
        raise AnalysisError(f"the analysis compares arms: `{arm}` has only one level ({arms!r})")
    if reference is None:
        named_control = [a for a in arms if CONTROL_ARM_RE.search(str(a))]
        reference = named_control[0] if len(named_control) == 1 else arms[0]
    elif reference not in arms:
        raise ParameterError("reference", f"one of the arm levels {arms!r}", reference)
    visits = _levels(data.loc[data[outcome].notna(), visit], sort=True)
    if not visits:
        raise AnalysisError(f"no observed values of {outcome!r}: nothing to analyse")
    last = visits[-1]
    treatments = [a for a in arms if a != reference]
    if data[replicate].isna().any():
        raise ParameterError("replicate", "a column without missing values", replicate)
    labels = pd.unique(data[replicate])
    rngs = replicate_generators(seed, len(labels))
    codes = pd.Categorical(data[replicate], categories=labels).codes
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    arm_cat = pd.Categorical(data[arm], categories=arms)
    rows = []
    n_failed = 0
    for i, lab in enumerate(labels):
        sub = data.iloc[order[bounds[i] : bounds[i + 1]]].copy()
        sub[arm] = arm_cat[order[bounds[i] : bounds[i + 1]]]
        failed = False
        for tr in treatments:
            rec = {"replicate": lab, "contrast": f"{tr} - {reference}"}
            try:
                p = mi_analysis(
                    sub,
                    outcome,
                    subject,
                    visit,
                    arm,
                    baseline,
                    method=meth,
                    reference=reference,
                    treatment=tr,
                    at_visit=last,
                    m=m,
                    seed=rngs[i],
                    conf_level=conf_level,
                ).pooled
                rec.update(
                    estimate=p.estimate,
                    se=p.se,
                    df=p.df,
                    p_value=p.p_value,
                    ci_low=p.ci_low,
                    ci_high=p.ci_high,
                    converged=True,
                )
            except (AnalysisError, ParameterError) as exc:
                if isinstance(exc, ParameterError) and getattr(exc, "parameter", None) not in (
                    "at_visit",
                    "estimates/variances",
                    "variances",
                ):
                    raise
                failed = True
                rec.update(
                    estimate=np.nan,
                    se=np.nan,
                    df=np.nan,
                    p_value=np.nan,
                    ci_low=np.nan,
                    ci_high=np.nan,
                    converged=False,
                )
            rows.append(rec)
        n_failed += failed
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out["replicate"] = out["replicate"].infer_objects()
    out.attrs.update(n_replicates=len(labels), n_failed=n_failed)
    return out
