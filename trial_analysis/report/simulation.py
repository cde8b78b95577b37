"""The report's planning-by-simulation block: the trial folder's scenario file simulated, each
simulated trial analysed by the planned analyses of its continuous endpoints (MMRM, ANCOVA,
multiple imputation), with power, type I error, bias, coverage and failures.

Sections only call analyses and render their results (see :mod:`.sections`).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import pandas as pd

from ..errors import TrialAnalysisError, TrialAnalysisWarning
from .build import ReportContext
from .content import Para, Section, table_from

__all__ = ["N_SIMS", "simulation_block"]

#: simulated trials per run (and as many under the null): Monte Carlo SE of a power of 0.8
#: is 0.013; about 4 s of CPU per run for the shipped trials
N_SIMS = 1000

_IMPUTATION = {"mar": "missing at random", "j2r": "jump to reference", "cr": "copy reference"}


def _label(a: Any) -> str:
    if a.method == "mmrm":
        return f"MMRM, {a.covariance} covariance, {a.df.replace('_', '-').title()} df"
    if a.method == "ancova":
        return "ANCOVA at the last visit, completers"
    if a.method == "mi":
        return f"MI under {_IMPUTATION[a.imputation]} (m = {a.m}), ANCOVA"
    return a.method


def simulation_block(ctx: ReportContext, s: Section) -> bool:
    """Add the block to ``s`` when the trial folder has a ``scenario.toml`` with analyses of
    continuous endpoints; return whether it did."""
    from ..power import load_scenario, simulate
    from ..power.scenario import ContinuousEndpoint

    folder = getattr(ctx.trial_obj, "folder", None)
    path = None if folder is None else folder / "scenario.toml"
    if path is None or not path.is_file():
        return False
    try:
        scen = load_scenario(path)
        keep = tuple(
            a for a in scen.analyses if isinstance(scen.endpoints[a.endpoint], ContinuousEndpoint)
        )
        if not keep:
            return False
        scen = dataclasses.replace(scen, analyses=keep)
        alt = simulate(scen, n_sims=N_SIMS, seed=ctx.seed).to_frame()
        null = simulate(scen, n_sims=N_SIMS, seed=ctx.seed, null=True).to_frame()
    except TrialAnalysisError as exc:  # a bad or too costly scenario: the report goes on
        warnings.warn(
            f"the trial's scenario file was not simulated for the planning section: {exc}",
            TrialAnalysisWarning,
            stacklevel=2,
        )
        return False
    ctx.add_input(path)
    labels = {e.id: e.label for e in ctx.design.endpoints}
    by_name = {a.name: a for a in keep}
    rows = []
    for (_, r), (_, r0) in zip(alt.iterrows(), null.iterrows(), strict=True):
        a = by_name[r["analysis"]]
        rows.append(
            {
                "endpoint": labels.get(a.endpoint, a.endpoint),
                "analysis": _label(a),
                "comparison": r["comparison"],
                "Power": r["power"],
                "Power MC SE": r["mc_se"],
                "Type I error": r0["type1_error"],
                "Bias": r["bias"],
                "Coverage": r["coverage"],
                "Failed": int(r["n_failed"]),
            }
        )
    n = ", ".join(f"{k} {v}" for k, v in scen.n_by_arm.items())
    s.add(
        Para(
            f"Analysed as the trial will be: the trial's scenario file (scenario.toml: {n} "
            f"patients per arm, {scen.dropout.mechanism} dropout, endpoint models from published "
            f"and assumed values) simulated {N_SIMS:,} times with seed {ctx.seed}, each "
            "simulated trial analysed by every planned analysis of a continuous endpoint, all "
            "replicates fitted together (batched MMRM; multiple imputation with exact "
            "posterior draws). The type I error comes from the same scenario with no effect, "
            f"{N_SIMS:,} more trials."
        )
    )
    s.add(
        table_from(
            pd.DataFrame(rows),
            "Power by simulation of the planned analyses, with the Monte Carlo SE of the "
            "power, the type I error, and the bias and coverage of the estimate.",
            notes=(
                "Bias and coverage are against the effect each analysis targets: the "
                "scenario's effect had every patient stayed, and for jump-to-reference and "
                "copy-reference imputation the effect their assumption implies for the "
                "dropouts. Rubin's variance under those two is known to be conservative "
                "(type I error below alpha, coverage above the nominal level). Failed: "
                "simulated trials the analysis could not fit.",
            ),
            source="simulated",
        )
    )
    return True
