"""Builders of test data shared by the test modules (and scripts/ that reuse their trials).

- :func:`design_toml`: the text of a ``design.toml`` (format 1) from its arms, schedule,
  parameters and endpoints, as a user would write it (one ``[[arms]]`` table per arm...).
- :func:`write_published`: a ``published.csv`` from rows of the eight leading columns.
- :func:`write_lung_adam`: R's ``survival::lung`` as ADSL + ADTTE files (arm = sex).
- :func:`rpact_sample_size_survival`, :func:`rpact_power_survival`: our call for one row of
  the rpact fixtures of ``tests/fixtures/survival_from_r.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

DATA = Path(__file__).parent / "fixtures" / "survival_data"

PUB_COLS = ["quantity", "arm", "week", "statistic", "relation", "value", "unit", "conf_level"]


# ----------------------------------------------------------------------------------- design.toml
def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, Sequence):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML value for {v!r}")


def _table(header: str, fields: Mapping[str, Any]) -> str:
    return "\n".join([header, *(f"{_key(k)} = {_value(v)}" for k, v in fields.items())])


def design_toml(
    trial: Mapping[str, Any],
    arms: Sequence[tuple[str, str, int]],
    endpoints: Sequence[Mapping[str, Any]],
    *,
    schedule: Mapping[str, Any],
    parameters: Sequence[Mapping[str, Any]] = (),
    doses: Sequence[Mapping[str, Any]] = (),
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The ``design.toml`` text: ``[trial]``, one ``[[arms]]`` per ``(name, role,
    n_randomised)``, ``[[doses]]``, ``[schedule]``, ``[[parameters]]``, ``[[endpoints]]`` (a
    nested mapping or a list of them an inline table) and ``[provenance."<section>"]``."""
    parts = ["format_version = 1", _table("[trial]", trial)]
    parts += [_table("[[arms]]", {"name": n, "role": r, "n_randomised": k}) for n, r, k in arms]
    parts += [_table("[[doses]]", d) for d in doses]
    parts.append(_table("[schedule]", schedule))
    parts += [_table("[[parameters]]", p) for p in parameters]
    parts += [_table("[[endpoints]]", e) for e in endpoints]
    parts += [_table(f"[provenance.{json.dumps(s)}]", f) for s, f in (provenance or {}).items()]
    return "\n\n".join(parts) + "\n"


# a once-daily tablet (the dose of most test designs) and the overall-survival endpoint
TABLET = {"amount": 1, "basis": "fixed", "unit": "tablet", "per": "day"}
OVERALL_SURVIVAL = {
    "id": "os",
    "label": "Overall survival",
    "role": "primary",
    "type": "time_to_event",
    "parameter": "OS",
    "method": "logrank",
}


def weekly(visit_weeks: Sequence[int], follow_up_weeks: int) -> dict[str, Any]:
    """A ``[schedule]`` by week numbers."""
    return {"visit_weeks": list(visit_weeks), "follow_up_weeks": follow_up_weeks}


def rule(parameter: str, measure: str, operator: str, threshold: float) -> list[dict[str, Any]]:
    """The ``components`` of a binary endpoint with one comparison."""
    return [
        {"parameter": parameter, "measure": measure, "operator": operator, "threshold": threshold}
    ]


# -------------------------------------------------------------------------------- published.csv
def write_published(folder: Path, rows: Sequence[tuple], source: str, label: str) -> None:
    """``published.csv`` of ``rows`` (quantity, arm, week, statistic, relation, value, unit,
    conf_level), every row with the same ``label`` and ``source`` and an empty note."""
    pub = pd.DataFrame(rows, columns=PUB_COLS)
    pub["label"] = label
    pub["source"] = source
    pub["note"] = ""
    pub.to_csv(Path(folder) / "published.csv", index=False)


# ----------------------------------------------------------------------------------- patient data
def write_lung_adam(folder: Path, arms: Mapping[int, str], **adsl: Any) -> pd.DataFrame:
    """R's ``survival::lung`` as ``adam/adsl.csv`` (``TRT01P`` by ``sex`` through ``arms``,
    ``SAFFL``, and the columns ``adsl`` maps to lung columns) and ``adam/adtte.csv`` (PARAMCD
    OS, AVAL = time in days, CNSR = 1 - event); returns the lung table with ``USUBJID``."""
    lung = pd.read_csv(DATA / "lung.csv")
    lung.insert(0, "USUBJID", [f"S{i:03d}" for i in range(len(lung))])
    extra = {col: lung[src] for col, src in adsl.items()}
    sl = pd.DataFrame({"USUBJID": lung["USUBJID"], "TRT01P": lung["sex"].map(arms), "SAFFL": "Y"})
    tte = {"USUBJID": lung["USUBJID"], "PARAMCD": "OS", "PARAM": "Overall survival (days)"}
    tte |= {"AVAL": lung["time"], "CNSR": 1 - lung["event"]}
    (Path(folder) / "adam").mkdir(parents=True, exist_ok=True)
    sl.assign(**extra).to_csv(Path(folder) / "adam" / "adsl.csv", index=False)
    pd.DataFrame(tte).to_csv(Path(folder) / "adam" / "adtte.csv", index=False)
    return lung


# ------------------------------------------------------------------------------- rpact fixtures
def rpact_sample_size_survival(c: Mapping[str, Any]):
    """``ta.power.sample_size_survival`` for one ``SAMPLE_SIZE_SURVIVAL`` row (R:
    getSampleSizeSurvival(alpha, beta, sided = 1, ...): our two-sided alpha is twice rpact's
    one-sided, our ratio n2/n1 the inverse of rpact's allocationRatioPlanned)."""
    import trial_analysis as ta

    return ta.power.sample_size_survival(
        c["hr"],
        c["power"],
        2 * c["alpha"],
        median_control=c["median_control"],
        accrual_time=c["accrual_time"],
        follow_up_time=c["follow_up_time"],
        ratio=1 / c["allocation_ratio"],
        dropout_rate=c["dropout_rate"],
        dropout_time=c["dropout_time"],
        method=c["method"].lower(),
    )


def rpact_power_survival(c: Mapping[str, Any]):
    """``ta.power.power_survival`` for one ``POWER_SURVIVAL`` row (R: getPowerSurvival(alpha,
    sided = 1, ...), the same conventions)."""
    import trial_analysis as ta

    return ta.power.power_survival(
        c["hr"],
        c["events"],
        2 * c["alpha"],
        ratio=1 / c["allocation_ratio"],
        n=c["n"],
        median_control=c["median_control"],
        accrual_time=c["accrual_time"],
    )
