"""Trial folders the toolkit was not written for, built as a user would from the README and docs.

Each ``write_*`` function writes one trial folder (``design.toml``, ``published.csv`` and, for
patient-level trials, seeded synthetic patient data in ``adam/`` or a two-table folder) under a
given directory and returns its path. The patient data are drawn with ``numpy`` from a fixed
seed: no real patient data. ``python tests/_acceptance_trials.py OUT`` writes all of them to
``OUT`` for trying the command line by hand.

Trials
------
``adam2``
    Two-arm ADaM trial with other conventions than the shipped CDISC pilot: arms "Active 10 mg"
    / "Vehicle" in ``TRT01A`` only (no ``TRT01P``), ``FASFL``, CSV and Parquet files, an
    unscheduled visit, missing values, an ADTTE with ``CNSR``.
``dose4``
    Placebo + three doses (SAS transport files), a continuous endpoint by visit (MMRM) and a
    binary responder.
``pubbin``
    Published numbers only: a binary primary given as counts/percentages, a continuous secondary
    as mean ± SD per arm, a between-arm p-value.
``pubtte``
    Published numbers only: a time-to-event primary (hazard ratio with CI, medians per arm).
``tiny``
    Edge case in the documented two-table format: 6 patients per arm, a responder endpoint with
    zero responders in one arm and all responders in the other, a visit with one patient.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

if __package__:
    from ._builders import design_toml, rule, weekly, write_published
else:  # run as a script: python tests/_acceptance_trials.py OUT
    from _builders import design_toml, rule, weekly, write_published

SEED = 20261201
CITATION = "Invented trial for the acceptance tests of trial_analysis"
PUBLICATION = "Invented publication for the acceptance tests of trial_analysis"
ASSUMED = {"endpoints": {"label": "assumed", "reason": "Invented trial for the acceptance tests."}}


def _published(folder: Path, rows: list[tuple]) -> None:
    write_published(
        folder, rows, "Invented for the acceptance tests (tests/_acceptance_trials.py)", "full text"
    )


# ------------------------------------------------------------------------------------------ adam2
ADAM2_DESIGN = design_toml(
    {
        "id": "acc_adam2",
        "title": "A randomised vehicle-controlled trial of an invented topical drug in chronic itch",
        "short_title": "Active 10 mg vs vehicle (acceptance)",
        "citation": CITATION,
        "design": "double-blind, randomised, vehicle-controlled, parallel-group (1:1)",
    },
    [("Active 10 mg", "experimental", 40), ("Vehicle", "control", 40)],
    doses=[
        {"amount": 10.0, "basis": "fixed", "unit": "mg", "per": "day", "route": "topical"}
        | {"arm": "Active 10 mg"}
    ],
    schedule={
        "time_unit": "weeks",
        "follow_up": 12,
        "visits": [
            {"avisitn": v, "label": "Baseline" if t == 0 else f"Week {t}", "time": t}
            for v, t in ((10, 0), (20, 2), (30, 6), (40, 12))
        ],
    },
    parameters=[
        {"code": "ITCHNRS", "label": "Worst itch numeric rating scale", "unit": "points"}
        | {"low": 0.0, "high": 10.0}
    ],
    endpoints=[
        {"id": "itch", "label": "Change in worst itch NRS from baseline to week 12"}
        | {"role": "primary", "type": "continuous", "visit": 40, "parameter": "ITCHNRS"}
        | {"measure": "chg", "population": "FASFL", "method": "mmrm"}
        | {"covariates": ["BASE_ITCHNRS"]},
        {"id": "itch_resp", "label": "Itch NRS improved by >= 4 points at week 12"}
        | {"role": "secondary", "type": "binary", "visit": 40}
        | {"components": rule("ITCHNRS", "chg", "<=", -4.0), "population": "FASFL"}
        | {"method": "fisher"},
        {"id": "flare", "label": "Time to first flare", "role": "secondary"}
        | {"type": "time_to_event", "parameter": "TTFLARE", "population": "FASFL"}
        | {"method": "logrank"},
    ],
    provenance=ASSUMED,
)


def adam2_data(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """ADSL, ADEFF (BDS) and ADTTE of the two-arm ADaM trial."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    n = 40
    ids = [f"ACC-{i:03d}" for i in range(1, 2 * n + 3)]
    arm = ["Active 10 mg"] * n + ["Vehicle"] * n + ["Screen Failure"] * 2
    armn = [1] * n + [0] * n + [np.nan] * 2
    adsl = pd.DataFrame(
        {
            "STUDYID": "ACC-ADAM2",
            "USUBJID": ids,
            "TRT01A": arm,
            "TRT01AN": armn,
            "AGE": rng.integers(18, 80, len(ids)).astype(float),
            "SEX": rng.choice(["M", "F"], len(ids)),
            "FASFL": ["Y"] * (2 * n) + ["N"] * 2,
            "SAFFL": ["Y"] * (2 * n) + ["N"] * 2,
        }
    )
    visits = [(10, "Baseline"), (20, "Week 2"), (30, "Week 6"), (40, "Week 12")]
    effect = {"Active 10 mg": [0, -2.0, -3.0, -3.5], "Vehicle": [0, -0.8, -1.2, -1.5]}
    rows = []
    for sid, a in zip(ids[: 2 * n], arm[: 2 * n], strict=True):
        base = float(np.clip(np.round(rng.normal(7.5, 1.0), 1), 4.0, 10.0))
        subj = rng.normal(0, 0.8)
        last = 4 if rng.random() > 0.15 else int(rng.integers(2, 4))  # ~15% drop out
        for k, (vn, vl) in enumerate(visits[:last]):
            if k == 0:
                aval = base
            else:
                aval = float(
                    np.clip(np.round(base + effect[a][k] + subj + rng.normal(0, 1.0), 1), 0, 10)
                )
            rows.append((sid, vn, vl, aval))
        if rng.random() < 0.1:  # an unscheduled visit between weeks 2 and 6
            rows.append((sid, 25, "Unscheduled 2.1", float(np.clip(np.round(base - 1, 1), 0, 10))))
    m = pd.DataFrame(rows, columns=["USUBJID", "AVISITN", "AVISIT", "AVAL"])
    m.insert(0, "STUDYID", "ACC-ADAM2")
    m["PARAMCD"] = "ITCHNRS"
    m["PARAM"] = "Worst itch NRS (points)"
    base = m.loc[m["AVISITN"] == 10].set_index("USUBJID")["AVAL"]
    m["BASE"] = m["USUBJID"].map(base)
    m["ABLFL"] = np.where(m["AVISITN"] == 10, "Y", "")
    # missing values: a few post-baseline AVAL not done (blank), kept as records
    miss = rng.random(len(m)) < 0.04
    miss &= m["AVISITN"].to_numpy() > 10
    m.loc[miss, "AVAL"] = np.nan
    m["CHG"] = (m["AVAL"] - m["BASE"]).round(1)
    m.loc[m["ABLFL"] == "Y", "CHG"] = np.nan  # CHG blank at baseline, as many sponsors do
    m["ANL01FL"] = np.where(m["AVISIT"].str.startswith("Unscheduled"), "", "Y")
    # ADTTE: time to first flare in days, CNSR = 1 censored
    t_rows = []
    for sid, a in zip(ids[: 2 * n], arm[: 2 * n], strict=True):
        rate = 1 / 60 if a == "Active 10 mg" else 1 / 35
        t = rng.exponential(1 / rate)
        c = rng.uniform(40, 84)
        t_rows.append((sid, float(np.ceil(min(t, c))), int(t > c)))
    adtte = pd.DataFrame(t_rows, columns=["USUBJID", "AVAL", "CNSR"])
    adtte.insert(0, "STUDYID", "ACC-ADAM2")
    adtte["PARAMCD"] = "TTFLARE"
    adtte["PARAM"] = "Time to first flare (days)"
    adtte["AVALU"] = "DAYS"
    return {"adsl": adsl, "adeff": m, "adtte": adtte}


def write_adam2(root: Path, seed: int = SEED) -> Path:
    d = Path(root) / "acc_adam2"
    (d / "adam").mkdir(parents=True, exist_ok=True)
    (d / "design.toml").write_text(ADAM2_DESIGN, "utf-8")
    data = adam2_data(seed)
    data["adsl"].to_csv(d / "adam" / "adsl.csv", index=False)
    data["adeff"].to_csv(d / "adam" / "adeff.csv", index=False)
    data["adtte"].to_parquet(d / "adam" / "adtte.parquet", index=False)
    return d


# ------------------------------------------------------------------------------------------ dose4
DOSE4_ARMS = ["Placebo", "Drug 5 mg", "Drug 10 mg", "Drug 20 mg"]
DOSE4_DESIGN = design_toml(
    {
        "id": "acc_dose4",
        "title": "A dose-ranging, placebo-controlled trial of an invented oral drug in hypertension",
        "short_title": "Dose ranging (acceptance)",
        "citation": CITATION,
    },
    [(a, "control" if a == "Placebo" else "experimental", 30) for a in DOSE4_ARMS],
    schedule=weekly([0, 4, 8, 12], 12),
    parameters=[
        {"code": "SBP", "label": "Seated systolic blood pressure", "unit": "mmHg"}
        | {"low": 70.0, "high": 250.0}
    ],
    endpoints=[
        {"id": "sbp", "label": "Change in seated SBP from baseline to week 12"}
        | {"role": "primary", "type": "continuous", "week": 12, "parameter": "SBP"}
        | {"measure": "chg", "method": "mmrm", "covariates": ["BASE_SBP"]},
        {"id": "sbp_resp", "label": "SBP below 140 mmHg at week 12", "role": "secondary"}
        | {"type": "binary", "week": 12, "components": rule("SBP", "value", "<", 140.0)}
        | {"method": "fisher"},
    ],
    provenance=ASSUMED,
)


def dose4_data(seed: int = SEED) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    n = 30
    arms = np.repeat(DOSE4_ARMS, n)
    ids = [f"D4-{i:03d}" for i in range(1, len(arms) + 1)]
    adsl = pd.DataFrame(
        {
            "STUDYID": "ACC-DOSE4",
            "USUBJID": ids,
            "TRT01P": arms,
            "TRT01PN": np.repeat([0, 5, 10, 20], n).astype(float),
            "ITTFL": "Y",
            "SAFFL": "Y",
            "AGE": rng.integers(30, 75, len(ids)).astype(float),
            "SEX": rng.choice(["M", "F"], len(ids)),
        }
    )
    drop = {"Placebo": 0.0, "Drug 5 mg": -4.0, "Drug 10 mg": -7.0, "Drug 20 mg": -10.0}
    rows = []
    for sid, a in zip(ids, arms, strict=True):
        base = float(np.round(rng.normal(152, 8)))
        u = rng.normal(0, 5)
        last = 4 if rng.random() > 0.1 else int(rng.integers(2, 4))
        for w in [0, 4, 8, 12][:last]:
            frac = w / 12
            val = (
                base
                if w == 0
                else np.round(base - 3 * frac + drop[a] * frac + u + rng.normal(0, 6))
            )
            rows.append((sid, float(w), f"Week {w}" if w else "Baseline", float(val)))
    m = pd.DataFrame(rows, columns=["USUBJID", "AVISITN", "AVISIT", "AVAL"])
    m.insert(0, "STUDYID", "ACC-DOSE4")
    m["PARAMCD"] = "SBP"
    m["PARAM"] = "Systolic blood pressure (mmHg)"
    m["BASE"] = m["USUBJID"].map(m.loc[m["AVISITN"] == 0].set_index("USUBJID")["AVAL"])
    m["CHG"] = m["AVAL"] - m["BASE"]
    m["ABLFL"] = np.where(m["AVISITN"] == 0, "Y", "")
    return {"adsl": adsl, "advs": m}


def write_dose4(root: Path, seed: int = SEED) -> Path:
    import pyreadstat

    d = Path(root) / "acc_dose4"
    (d / "adam").mkdir(parents=True, exist_ok=True)
    (d / "design.toml").write_text(DOSE4_DESIGN, "utf-8")
    for name, df in dose4_data(seed).items():
        pyreadstat.write_xport(df, str(d / "adam" / f"{name}.xpt"), table_name=name.upper())
    return d


# ----------------------------------------------------------------------------------------- pubbin
PUBBIN_DESIGN = design_toml(
    {
        "id": "acc_pubbin",
        "title": "An invented published two-arm trial of a vaccine adjuvant",
        "short_title": "Adjuvant vs control (acceptance)",
        "citation": PUBLICATION,
    },
    [("Adjuvant", "experimental", 120), ("Control", "control", 118)],
    schedule=weekly([0, 8], 8),
    parameters=[{"code": "TITRE", "label": "Log2 antibody titre", "unit": "log2"}],
    endpoints=[
        {"id": "seroconv", "label": "Seroconversion at week 8", "role": "primary"}
        | {"type": "binary", "week": 8, "components": rule("TITRE", "chg", ">=", 2.0)}
        | {"method": "chisq"},
        {"id": "titre", "label": "Log2 antibody titre at week 8", "role": "secondary"}
        | {"type": "continuous", "week": 8, "parameter": "TITRE", "measure": "value"}
        | {"published": {"level": "titre"}},
    ],
)

# seroconversion 76/117 (65.0%) vs 51/116 (44.0%) analysed; titre mean ± SD (n) per arm
PUBBIN_COUNTS = (76, 117, 51, 116)
PUBBIN_TITRE = {"Adjuvant": (7.4, 1.9, 116), "Control": (6.6, 2.1, 113)}
PUBBIN_ROWS = [
    ("randomised", "Adjuvant", "", "n", "=", 120, "patients", ""),
    ("randomised", "Control", "", "n", "=", 118, "patients", ""),
    ("seroconv", "Adjuvant", 8, "n", "=", 117, "patients", ""),  # analysed
    ("seroconv", "Adjuvant", 8, "percent", "=", "65.0", "%", ""),  # 76/117
    ("seroconv", "Control", 8, "n", "=", 116, "patients", ""),
    ("seroconv", "Control", 8, "percent", "=", "44.0", "%", ""),  # 51/116
    ("seroconv", "Adjuvant vs Control", 8, "p_value", "=", 0.0012, "", ""),
    ("titre", "Adjuvant", 8, "mean", "=", 7.4, "log2", ""),
    ("titre", "Adjuvant", 8, "sd", "=", 1.9, "log2", ""),
    ("titre", "Adjuvant", 8, "n", "=", 116, "patients", ""),
    ("titre", "Control", 8, "mean", "=", 6.6, "log2", ""),
    ("titre", "Control", 8, "sd", "=", 2.1, "log2", ""),
    ("titre", "Control", 8, "n", "=", 113, "patients", ""),
    ("titre", "Adjuvant vs Control", 8, "p_value", "=", 0.003, "", ""),
]


def write_pubbin(root: Path) -> Path:
    d = Path(root) / "acc_pubbin"
    d.mkdir(parents=True, exist_ok=True)
    (d / "design.toml").write_text(PUBBIN_DESIGN, "utf-8")
    _published(d, PUBBIN_ROWS)
    return d


# ----------------------------------------------------------------------------------------- pubtte
PUBTTE_DESIGN = design_toml(
    {
        "id": "acc_pubtte",
        "title": "An invented published two-arm oncology trial (progression-free survival)",
        "short_title": "Drug X vs standard care (acceptance)",
        "citation": PUBLICATION,
    },
    [("Drug X", "experimental", 150), ("Standard care", "control", 149)],
    schedule={"time_unit": "months", "follow_up": 36}
    | {"visits": [{"avisitn": 0, "label": "Randomisation", "time": 0}]},
    endpoints=[
        {"id": "pfs", "label": "Progression-free survival", "role": "primary"}
        | {"type": "time_to_event", "parameter": "PFS", "method": "logrank"}
    ],
)

PUBTTE_ROWS = [
    ("randomised", "Drug X", "", "n", "=", 150, "patients", ""),
    ("randomised", "Standard care", "", "n", "=", 149, "patients", ""),
    ("pfs", "Drug X", "", "median", "=", 11.2, "months", ""),
    ("pfs", "Standard care", "", "median", "=", 7.9, "months", ""),
    ("pfs", "Drug X", "", "events", "=", 98, "patients", ""),
    ("pfs", "Standard care", "", "events", "=", 117, "patients", ""),
    ("pfs", "Drug X vs Standard care", "", "hazard_ratio", "=", 0.68, "", ""),
    ("pfs", "Drug X vs Standard care", "", "ci_low", "=", 0.52, "", 0.95),
    ("pfs", "Drug X vs Standard care", "", "ci_high", "=", 0.89, "", 0.95),
    ("pfs", "Drug X vs Standard care", "", "p_value", "=", 0.004, "", ""),
]


def write_pubtte(root: Path) -> Path:
    d = Path(root) / "acc_pubtte"
    d.mkdir(parents=True, exist_ok=True)
    (d / "design.toml").write_text(PUBTTE_DESIGN, "utf-8")
    _published(d, PUBTTE_ROWS)
    return d


# ------------------------------------------------------------------------------------------- tiny
TINY_DESIGN = design_toml(
    {
        "id": "acc_tiny",
        "title": "An invented pilot trial with six patients per arm",
        "short_title": "Tiny pilot (acceptance)",
        "citation": CITATION,
    },
    [("Treated", "experimental", 6), ("Untreated", "control", 6)],
    schedule=weekly([0, 4, 8, 12], 12),
    parameters=[
        {"code": "SCORE", "label": "Symptom score", "unit": "points", "low": 0.0, "high": 100.0}
    ],
    endpoints=[
        {"id": "resp", "label": "Symptom score below 20 at week 8", "role": "primary"}
        | {"type": "binary", "week": 8, "components": rule("SCORE", "value", "<", 20.0)}
        | {"method": "fisher"},
        {"id": "score", "label": "Change in symptom score from baseline to week 8"}
        | {"role": "secondary", "type": "continuous", "week": 8, "parameter": "SCORE"}
        | {"measure": "chg", "method": "ancova", "covariates": ["BASE_SCORE"]},
    ],
)


def tiny_data(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Two-table data: 6 + 6, every treated patient responds at week 8, no untreated one does;
    week 12 has one patient."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    n = 6
    ids = [f"T-{i:02d}" for i in range(1, 2 * n + 1)]
    arms = ["Treated"] * n + ["Untreated"] * n
    subjects = pd.DataFrame(
        {
            "STUDYID": "acc_tiny",
            "USUBJID": ids,
            "ARM": arms,
            "AGE": rng.integers(20, 60, 2 * n).astype(float),
            "SEX": rng.choice(["M", "F"], 2 * n),
            "RANDFL": "Y",
            "SAFFL": "Y",
            "ITTFL": "Y",
            "PPROTFL": "Y",
            "DCSREAS": "",
        }
    )
    rows = []
    for i, (sid, a) in enumerate(zip(ids, arms, strict=True)):
        base = float(np.round(rng.uniform(40, 60)))
        w4 = float(np.round(base - rng.uniform(5, 15)))
        w8 = (
            float(np.round(rng.uniform(5, 18)))
            if a == "Treated"
            else float(np.round(rng.uniform(25, 50)))
        )
        rows += [(sid, 0, base), (sid, 4, w4), (sid, 8, w8)]
        if i == 0:
            rows.append((sid, 12, float(np.round(w8 + 1))))
    m = pd.DataFrame(rows, columns=["USUBJID", "AVISITN", "AVAL"])
    m.insert(1, "PARAMCD", "SCORE")
    m["BASE"] = m["USUBJID"].map(m.loc[m["AVISITN"] == 0].set_index("USUBJID")["AVAL"])
    m["CHG"] = m["AVAL"] - m["BASE"]
    m["PCHG"] = (100 * m["CHG"] / m["BASE"]).round(2)
    return {"subjects": subjects, "measurements": m}


def write_tiny(root: Path, seed: int = SEED) -> Path:
    d = Path(root) / "acc_tiny"
    (d / "ipd").mkdir(parents=True, exist_ok=True)
    (d / "design.toml").write_text(TINY_DESIGN, "utf-8")
    for name, df in tiny_data(seed).items():
        df.to_csv(d / "ipd" / f"{name}.csv", index=False)
    return d


WRITERS = {
    "adam2": write_adam2,
    "dose4": write_dose4,
    "pubbin": write_pubbin,
    "pubtte": write_pubtte,
    "tiny": write_tiny,
}


def write_all(root: Path) -> dict[str, Path]:
    return {k: f(Path(root)) for k, f in WRITERS.items()}


if __name__ == "__main__":
    for k, p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "acceptance_trials")).items():
        print(k, p)
