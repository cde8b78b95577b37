"""The report's one vocabulary of analysis populations, defined once.

Every table that rests on patients names its population with these words and the n per arm
(experimental / control): "Complete cases (n = 45 / 44)". Which population a row is follows
from its numbers by rule, not from the analysis' own wording: the n per arm equal to the
randomised numbers is the ITT population; a per-protocol flag declared by the endpoint (or the
data's population) is per protocol; a likelihood or imputation analysis (MMRM, multiple
imputation) of fewer patients is the modified ITT population (those with any post-baseline
value); any other analysis of fewer patients is complete cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["POPULATIONS", "definitions", "population_key", "population_label"]

#: key -> (name, definition)
POPULATIONS = {
    "itt": (
        "ITT (all randomised)",
        "every randomised patient, analysed in the arm randomised to; patients without the "
        "endpoint enter through the model (an MMRM uses every observed visit, valid if data "
        "are missing at random) or through imputation",
    ),
    "mitt": (
        "modified ITT",
        "randomised patients with at least one post-baseline value of the endpoint",
    ),
    "complete": (
        "complete cases",
        "randomised patients with the endpoint observed at its visit (and the baseline and "
        "covariates the model adjusts for); the published analyses of the numbers reproduced "
        "in the audit are complete-case analyses where their denominators fall short of the "
        "randomised numbers",
    ),
    "pp": (
        "per protocol",
        "the patients the data flag as per protocol (PPROTFL): treated and followed as planned",
    ),
}

_PER_PROTOCOL = {"PP", "PPROTFL", "PPS"}
_LIKELIHOOD = ("mmrm", "mi (", "multiple imputation")


def population_key(
    n: Sequence[Any], randomised: Sequence[int], *, declared: str = "", analysis: str = ""
) -> str:
    """The population of a row analysing ``n`` patients per arm (see the module docstring)."""
    if str(declared).upper() in _PER_PROTOCOL:
        return "pp"
    try:
        ns = tuple(int(x) for x in n)
    except (TypeError, ValueError):
        return ""
    if ns == tuple(int(x) for x in randomised):
        return "itt"
    if str(analysis).lower().startswith(_LIKELIHOOD):
        return "mitt"
    return "complete"


def population_label(key: str, n: Sequence[Any] | None = None, *, capital: bool = True) -> str:
    """``Complete cases (n = 45 / 44)``: the population's name with the n per arm."""
    name = POPULATIONS[key][0]
    if capital:
        name = name[0].upper() + name[1:]
    if n is None:
        return name
    ns = f"n = {' / '.join(str(int(x)) for x in n)}"
    return f"{name[:-1]}; {ns})" if name.endswith(")") else f"{name} ({ns})"


def definitions(randomised: Sequence[tuple[str, int]]) -> str:
    """The definitions paragraph: each population once, with the randomised n per arm."""
    arms = ", ".join(f"{name} {n}" for name, n in randomised)
    parts = [
        f"{POPULATIONS[k][0][0].upper() + POPULATIONS[k][0][1:]}: {POPULATIONS[k][1]}."
        for k in POPULATIONS
    ]
    return (
        f"Analysis populations (randomised: {arms}). Every table names the population it "
        "analyses with the n per arm (experimental / control), so that a difference in n "
        "between two analyses of one endpoint is the difference between their populations. "
        + " ".join(parts)
    )
