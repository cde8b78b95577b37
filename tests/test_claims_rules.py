"""Every generic verdict rule of docs/claims-verdicts.md, on claims files written by the tests.

Each rule is driven to each verdict it can give by changing its parameters or the evidence
(a copy of data/evidence), so that a wrong threshold, a wrong branch or a rule reading the wrong
rows fails here. The shipped audit is also checked against the table the code gave before the
claims became data (tests/fixtures/claims_audit_594bb02.json).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trial_analysis.claims import RULES, audit
from trial_analysis.cli import main
from trial_analysis.errors import AnalysisError, PublishedDataError
from trial_analysis.evidence import CLAIM_RULES, load_claims, load_evidence

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "evidence"
FIXTURE = Path(__file__).parent / "fixtures" / "claims_audit_594bb02.json"

pytestmark = pytest.mark.filterwarnings(
    "ignore::trial_analysis.errors.ApproximationWarning",
    "ignore::trial_analysis.errors.StatisticalWarning",
)

SETS = """
[sets]
controlled = [
    ["controlled", "=", "Y"],
    ["randomised", "=", "Y"],
    ["population", "startswith", "T2DM"],
]
"""


def write_claims(folder: Path, claims: dict[str, tuple[str, str]], sets: str = SETS) -> Path:
    """claims.csv + claims.toml in ``folder``: ``{id: (rule, toml body of [id])}``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"id": cid, "claim": f"claim {cid}", "rule": rule, "testable_as": "", "source": "test"}
        for cid, (rule, _) in claims.items()
    ]
    pd.DataFrame(rows).to_csv(folder / "claims.csv", index=False)
    toml = '[clinic]\nname = "Test clinic"\n' + sets
    for cid, (_, body) in claims.items():
        toml += f"\n[{cid}]\n{body}\n"
    (folder / "claims.toml").write_text(toml, encoding="utf-8")
    return folder


def judge(tmp_path: Path, claims: dict[str, tuple[str, str]], evidence: Path = SHIPPED, **kw):
    """The audit table (indexed by claim id) of claims written to a fresh folder."""
    folder = write_claims(tmp_path / f"claims{len(list(tmp_path.iterdir()))}", claims)
    return audit(load_claims(folder), load_evidence(evidence), **kw).to_frame().set_index("id")


@pytest.fixture()
def ev_copy(tmp_path):
    dst = tmp_path / "evidence"
    shutil.copytree(SHIPPED, dst)
    return dst


def add_outcomes(folder: Path, rows: list[dict]) -> None:
    o = pd.read_csv(folder / "outcomes.csv", dtype=str, keep_default_na=False)
    new = pd.DataFrame([{c: "" for c in o.columns} | {"label": "abstract"} | r for r in rows])
    pd.concat([o, new.astype(str)]).to_csv(folder / "outcomes.csv", index=False)


def p_row(trial: str, outcome: str, finding: str, p: str = "0.01", rel: str = "=") -> dict:
    return {
        "trial_id": trial,
        "outcome": outcome,
        "week": "24",
        "arm": "MSC - control",
        "statistic": "p_value",
        "relation": rel,
        "value": p,
        "finding": finding,
        "source": "test row",
    }


def test_every_rule_is_implemented_and_tested():
    assert (
        set(RULES)
        == set(CLAIM_RULES)
        == {
            "pooled_range",
            "covariate_effect",
            "between_arm_results",
            "findings",
            "longest_significant",
            "trial_conditions",
            "not_testable",
        }
    )


# --------------------------------------------------------------------------- pooled_range
POOLED = 'outcome = "hba1c"\nweeks = [24, 52]\n'


def test_pooled_range_all_verdicts(tmp_path):
    """Shipped pooled REML MD -0.48 (95% CI -0.92 to -0.04), k = 2, at weeks 24-52."""
    tab = judge(
        tmp_path,
        {
            "inside": ("pooled_range", POOLED + "range = [-1.0, -0.01]"),
            "overlap": ("pooled_range", POOLED + "range = [-1.5, -0.5]"),
            "outside": ("pooled_range", POOLED + "range = [-3.0, -2.0]"),
            "none": ("pooled_range", 'outcome = "hba1c"\nweeks = [100, 200]\nrange = [-1, 0]'),
        },
    )
    assert tab.loc["inside", "verdict"] == "supported"
    assert tab.loc["overlap", "verdict"] == "partly supported"
    assert tab.loc["outside", "verdict"] == "not supported"
    assert "outside the claimed range" in tab.loc["outside", "reason"]
    assert tab.loc["none", "verdict"] == "not testable with public data"
    assert math.isnan(tab.loc["none", "estimate"])
    # the same pooled numbers whatever the range
    assert tab.loc["inside", "estimate"] == pytest.approx(-0.4790092715, abs=1e-9)
    assert tab.loc["inside", "ci_low"] == tab.loc["outside", "ci_low"]


def test_pooled_range_ci_including_zero_is_not_supported(tmp_path):
    """rho = 0.8 with HKSJ: CI -1.0 to 0.2 includes 0 (the claim's range notwithstanding)."""
    tab = judge(
        tmp_path, {"c": ("pooled_range", POOLED + "range = [-1.5, -0.5]")}, rho=0.8, test="knha"
    )
    assert tab.loc["c", "ci_low"] < 0 < tab.loc["c", "ci_high"]
    assert tab.loc["c", "verdict"] == "not supported"
    assert "includes no difference" in tab.loc["c", "reason"]


def test_pooled_range_sensitivity_and_alternative_inputs(tmp_path):
    tab = judge(
        tmp_path,
        {"c": ("pooled_range", POOLED + 'range = [-1.5, -0.5]\nsensitivity_cell_type = "MSC"')},
    )
    reason = tab.loc["c", "reason"]
    assert "MSC trials only: k = 1, -0.68 (-1.18 to -0.18)" in reason
    # alternatives.csv: Zang 2022 from its published means (-0.80), pooled -0.51 (-1.07 to 0.04)
    assert "Zang 2022 -0.80 instead of -0.68" in reason
    assert "-0.51 (-1.07 to 0.04" in reason


def test_pooled_range_unknown_outcome_is_a_data_error(tmp_path):
    with pytest.raises(PublishedDataError, match="claim c: between-arm effect sizes"):
        judge(
            tmp_path, {"c": ("pooled_range", 'outcome = "fpg"\nweeks = [24, 52]\nrange = [-1, 0]')}
        )


# ----------------------------------------------------------------------- covariate_effect
def test_covariate_effect_needs_min_k(tmp_path):
    """3 trials give an HbA1c difference with an SE at any follow-up (Zang 2022, Skyler 2015,
    Bhansali 2014): not testable below min_k; at min_k the rule refuses (no meta-regression)."""
    body = 'outcome = "hba1c"\ncovariate = "baseline HbA1c"\nmin_k = '
    tab = judge(tmp_path, {"c": ("covariate_effect", body + "4")})
    assert tab.loc["c", "verdict"] == "not testable with public data"
    assert tab.loc["c", "estimate"] == 3
    assert "needs at least 4" in tab.loc["c", "reason"]
    with pytest.raises(AnalysisError, match="claim c: 3 trials"):
        judge(tmp_path, {"c": ("covariate_effect", body + "3")})


def test_covariate_effect_subgroup_rows_make_it_testable(tmp_path, ev_copy):
    add_outcomes(ev_copy, [p_row("zang2022", "hba1c_subgroup", "improved")])
    body = 'outcome = "hba1c"\ncovariate = "baseline HbA1c"\nmin_k = 10'
    with pytest.raises(AnalysisError, match="1 subgroup rows"):
        judge(tmp_path, {"c": ("covariate_effect", body)}, evidence=ev_copy)


# -------------------------------------------------------------------- between_arm_results
HOMA = 'outcomes = ["homa_ir"]\nlabel = "HOMA-IR"\nmin_trials = 2\nif_none = "not supported"\n'


def test_between_arm_results_if_none_and_proxy(tmp_path):
    """No HOMA-IR result in the shipped data: the verdict is if_none, or partly with the
    significant GIR proxy of Zang 2022 (p < 0.01)."""
    tab = judge(
        tmp_path,
        {
            "plain": ("between_arm_results", HOMA),
            "untestable": (
                "between_arm_results",
                HOMA.replace('"not supported"', '"not testable with public data"'),
            ),
            "proxy": ("between_arm_results", HOMA + 'proxy = ["gir"]'),
        },
    )
    assert tab.loc["plain", "verdict"] == "not supported"
    assert tab.loc["untestable", "verdict"] == "not testable with public data"
    assert tab.loc["proxy", "verdict"] == "partly supported"
    assert "Zang 2022: gir 3.12 -> 4.76 vs 3.26 -> 3.6" in tab.loc["proxy", "reason"]
    assert (tab.estimate == 0).all()


def test_between_arm_results_counts_independent_trials(tmp_path, ev_copy):
    """Two significant trials of one overlap group count once (partly); two independent
    trials reach min_trials (supported); a trial showing no difference makes it partly."""
    add_outcomes(
        ev_copy,
        [p_row("zang2022", "homa_ir", "improved"), p_row("zang2023", "homa_ir", "improved")],
    )
    tab = judge(tmp_path, {"c": ("between_arm_results", HOMA)}, evidence=ev_copy)
    assert tab.loc["c", "estimate"] == 1 and tab.loc["c", "verdict"] == "partly supported"

    add_outcomes(ev_copy, [p_row("hu2016", "homa_ir", "improved", "0.05", "<")])
    tab = judge(tmp_path, {"c": ("between_arm_results", HOMA)}, evidence=ev_copy)
    assert tab.loc["c", "estimate"] == 2 and tab.loc["c", "verdict"] == "supported"

    add_outcomes(ev_copy, [p_row("skyler2015", "homa_ir", "no difference", "0.3")])
    tab = judge(tmp_path, {"c": ("between_arm_results", HOMA)}, evidence=ev_copy)
    assert tab.loc["c", "verdict"] == "partly supported"
    assert "no difference: Skyler 2015" in tab.loc["c", "reason"]


def test_between_arm_results_not_significant_is_not_counted(tmp_path, ev_copy):
    """p = 0.06 'improved' is not significant; only 'no difference' rows: not supported."""
    add_outcomes(
        ev_copy,
        [
            p_row("zang2022", "homa_ir", "improved", "0.06"),
            p_row("skyler2015", "homa_ir", "no difference", "0.4"),
        ],
    )
    body = HOMA.replace('"not supported"', '"not testable with public data"')
    tab = judge(tmp_path, {"c": ("between_arm_results", body)}, evidence=ev_copy)
    assert tab.loc["c", "estimate"] == 0
    assert tab.loc["c", "verdict"] == "not supported"


def test_between_arm_results_ignores_uncontrolled_series(tmp_path):
    """Liu 2014 and the Malaysia registry report inflammatory improvements: listed, not counted."""
    body = (
        'outcomes = ["inflammatory_markers"]\nlabel = "markers"\nmin_trials = 1\n'
        'if_none = "not testable with public data"'
    )
    tab = judge(tmp_path, {"c": ("between_arm_results", body)})
    assert tab.loc["c", "verdict"] == "not testable with public data"
    assert "not counted): Liu 2014, Malaysia registry 2025" in tab.loc["c", "reason"]


# ------------------------------------------------------------------------------- findings
def test_findings_all_verdicts(tmp_path):
    """C-peptide: Hu 2016 (WJ-MSC) improved; beta-cell function: Zang 2022 no difference;
    Wu 2014 (BM-MNC) improved."""
    tab = judge(
        tmp_path,
        {
            "conflict": (
                "findings",
                'outcomes = ["c_peptide", "beta_cell_function"]\nlabel = "x"\ncell_type = "MSC"',
            ),
            "support": ("findings", 'outcomes = ["c_peptide"]\nlabel = "x"\ncell_type = "MSC"'),
            "none": ("findings", 'outcomes = ["beta_cell_function"]\nlabel = "x"'),
            "absent": ("findings", 'outcomes = ["no_such_outcome"]\nlabel = "x"'),
            "other_type": (
                "findings",
                'outcomes = ["c_peptide_auc_change", "c_peptide"]\nlabel = "x"\ncell_type = "BM-MNC"',
            ),
        },
    )
    assert tab.loc["conflict", "verdict"] == "partly supported"
    assert tab.loc["support", "verdict"] == "supported"
    assert tab.loc["support", "estimate"] == 1
    assert "Other cell types: Wu 2014" in tab.loc["support", "reason"]
    assert tab.loc["none", "verdict"] == "not supported"
    assert tab.loc["absent", "verdict"] == "not testable with public data"
    assert tab.loc["other_type", "verdict"] == "supported"
    assert (
        "BM-MNC trials reporting an improvement in x vs control: Wu 2014"
        in (tab.loc["other_type", "reason"])
    )


# --------------------------------------------------------------------- longest_significant
GLYC = 'outcomes = ["hba1c", "hba1c_change", "composite", "insulin_reduction"]\n'


def test_longest_significant_all_verdicts(tmp_path):
    """Longest significant between-arm glycaemic result with numbers: 52 weeks (Bhansali 2014
    composite, p = 0.002)."""
    tab = judge(
        tmp_path,
        {
            "partly": ("longest_significant", GLYC + "weeks = [26, 78]"),
            "support": ("longest_significant", GLYC + "weeks = [12, 52]"),
            "short": ("longest_significant", GLYC + "weeks = [60, 100]"),
            "none": ("longest_significant", 'outcomes = ["homa_ir"]\nweeks = [26, 78]'),
        },
    )
    assert (tab.loc[["partly", "support", "short"], "estimate"] == 52).all()
    assert tab.loc["partly", "verdict"] == "partly supported"
    assert tab.loc["support", "verdict"] == "supported"
    assert tab.loc["short", "verdict"] == "not supported"
    assert "52 weeks (Bhansali 2014)" in tab.loc["short", "reason"]
    assert tab.loc["none", "verdict"] == "not testable with public data"


def test_longest_significant_words_are_not_counted(tmp_path):
    """Hu 2016's 156-week C-peptide improvement is stated without numbers: listed only."""
    tab = judge(
        tmp_path,
        {
            "c": (
                "longest_significant",
                GLYC + 'weeks = [26, 78]\nwording_outcomes = ["c_peptide"]',
            )
        },
    )
    assert tab.loc["c", "estimate"] == 52
    assert "Hu 2016 (156 wk, abstract wording only)" in tab.loc["c", "reason"]


# ------------------------------------------------------------------------ trial_conditions
def cond(label: str, where: str, cid: str = "c") -> str:
    return f'\n[[{cid}.conditions]]\nlabel = "{label}"\nwhere = {where}\n'


def test_trial_conditions_any(tmp_path):
    iv = cond("IV", '[["route", "contains", "IV"], ["controlled", "=", "Y"]]')
    p3 = cond("phase III", '[["phase", "contains", "III"]]')
    cases = {}
    for name, body in {
        "both": iv + cond("UC", '[["cells", "contains", "UC-MSC"]]'),
        "one": iv + p3,
        "neither": p3,
    }.items():
        write_claims(tmp_path / name, {"c": ("trial_conditions", body)})
        cases[name] = (
            audit(load_claims(tmp_path / name), load_evidence()).to_frame().set_index("id").loc["c"]
        )
    assert cases["both"].verdict == "supported"
    assert cases["one"].verdict == "partly supported"
    assert cases["neither"].verdict == "not supported"
    assert "phase III: 0." in cases["one"].reason
    # estimate: trials meeting the first condition (IV in trials.csv: 8 rows, any design)
    t = pd.read_csv(SHIPPED / "trials.csv", dtype=str, keep_default_na=False)
    n_iv = int((t.route.str.contains("IV") & (t.controlled == "Y")).sum())
    assert cases["one"].estimate == n_iv


def test_trial_conditions_unrecorded_part_is_not_met(tmp_path):
    """One condition met plus one part no trial records: partly, never supported."""
    body = 'unrecorded = ["a repeat round"]' + cond("IV", '[["route", "contains", "IV"]]')
    tab = judge(tmp_path, {"c": ("trial_conditions", body)})
    assert tab.loc["c", "verdict"] == "partly supported"
    assert "counted as not met): a repeat round" in tab.loc["c", "reason"]


SINGLE = 'scope = "single"\namong = "significant_at_last"\n' + GLYC


def test_trial_conditions_single(tmp_path):
    """Trials significant at their last time point: Zang 2022 (eligibility HbA1c 7.0-12.0%,
    duration <= 20 y, insulin-treated) and Bhansali 2014 (composite at week 52)."""

    def hba1c(cid):
        return cond(
            "HbA1c 7-10", '[["elig_hba1c_min", "<=", 7.0], ["elig_hba1c_max", ">=", 10.0]]', cid
        )

    tab = judge(
        tmp_path,
        {
            "all": (
                "trial_conditions",
                SINGLE
                + hba1c("all")
                + cond("15 y", '[["elig_duration_max_years", ">=", 15]]', "all"),
            ),
            "some": (
                "trial_conditions",
                SINGLE
                + hba1c("some")
                + cond("no insulin", '[["background_insulin", "=", "N"]]', "some"),
            ),
            "no": (
                "trial_conditions",
                SINGLE + cond("HbA1c from 5", '[["elig_hba1c_min", "<=", 5]]', "no"),
            ),
            "empty": (
                "trial_conditions",
                'scope = "single"\namong = "significant_at_last"\noutcomes = ["homa_ir"]'
                + hba1c("empty"),
            ),
        },
    )
    assert tab.loc["all", "verdict"] == "supported" and tab.loc["all", "estimate"] == 2
    assert tab.loc["some", "verdict"] == "partly supported" and tab.loc["some", "estimate"] == 1
    assert "Zang 2022 (meets 1 of 2" in tab.loc["some", "reason"]
    assert (
        "Skyler 2015 (no significant difference at week 12; significant only at week 8)"
        in (tab.loc["some", "reason"])
    )
    assert tab.loc["no", "verdict"] == "not supported" and tab.loc["no", "estimate"] == 0
    assert tab.loc["empty", "verdict"] == "not testable with public data"


def test_trial_conditions_bad_scope_and_column(tmp_path):
    with pytest.raises(PublishedDataError, match="scope must be"):
        judge(
            tmp_path,
            {"c": ("trial_conditions", 'scope = "most"' + cond("x", '[["year", ">", 1]]'))},
        )
    with pytest.raises(PublishedDataError, match="column 'colour' is not in"):
        judge(tmp_path, {"c": ("trial_conditions", cond("x", '[["colour", "=", "red"]]'))})


# ---------------------------------------------------------------------------- not_testable
def test_not_testable_gives_its_reason(tmp_path):
    tab = judge(
        tmp_path, {"c": ("not_testable", 'reason = "No public data on this."\nnote = "N."')}
    )
    assert tab.loc["c", "verdict"] == "not testable with public data"
    assert tab.loc["c", "reason"] == "No public data on this. N."


# ------------------------------------------------------------------------ trial sets, loader
def test_named_trial_set_changes_the_evidence(tmp_path):
    """The same rule over every row of trials.csv counts the uncontrolled series too."""
    body = 'outcomes = ["inflammatory_markers"]\nlabel = "m"\nmin_trials = 1\nif_none = "not supported"'
    tab = judge(
        tmp_path,
        {
            "rct": ("between_arm_results", body),
            "any": ("findings", 'outcomes = ["inflammatory_markers"]\nlabel = "m"\ntrials = "all"'),
        },
    )
    assert tab.loc["rct", "verdict"] == "not supported"
    assert tab.loc["any", "verdict"] == "supported" and tab.loc["any", "estimate"] == 2


@pytest.mark.parametrize(
    ("rule", "body", "match"),
    [
        ("no_such_rule", "", "column rule: expected one of pooled_range"),
        ("findings", 'label = "x"', r"missing parameter\(s\) outcomes"),
        (
            "pooled_range",
            'outcome = "hba1c"\nweeks = [24, 52]\nrange = [-1, 0]\ntrials = "all"',
            r"unknown parameter\(s\) trials",
        ),
        ("findings", 'outcomes = ["a"]\nlabel = "x"\ncolour = 1', r"unknown parameter\(s\) colour"),
        ("findings", 'outcomes = []\nlabel = "x"', "expected a non-empty list of strings"),
        ("findings", 'outcomes = ["a"]\nlabel = "x"\ntrials = "mine"', "'all' or a set of"),
        ("pooled_range", 'outcome = "hba1c"\nweeks = [52, 24]\nrange = [-1, 0]', "low <= high"),
        ("between_arm_results", HOMA.replace('"not supported"', '"maybe"'), "one of 'supported'"),
        ("trial_conditions", cond("x", '[["year", "~", 1]]'), "op must be one of"),
        ("trial_conditions", cond("x", '[["year", "between", [3]]]'), "'between' needs"),
        ("trial_conditions", cond("x", '[["year", "<", "old"]]'), "needs a number"),
    ],
)
def test_loader_names_the_bad_entry(tmp_path, rule, body, match):
    write_claims(tmp_path, {"c": (rule, body)})
    with pytest.raises(PublishedDataError, match=match) as err:
        load_claims(tmp_path)
    assert "claims." in str(err.value)


def test_cli_claims_from_another_claims_file(tmp_path, capsys):
    write_claims(tmp_path, {"X1": ("not_testable", 'reason = "Nothing to test."')})
    assert main(["claims", "--claims", str(tmp_path / "claims.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clinic"] == "Test clinic"
    assert [(r["id"], r["verdict"]) for r in out["table"]] == [
        ("X1", "not testable with public data")
    ]


def test_loader_rejects_toml_without_csv_row_and_bad_toml(tmp_path):
    write_claims(tmp_path, {"C1": ("not_testable", 'reason = "r"')})
    with (tmp_path / "claims.toml").open("a") as f:
        f.write('\n[C9]\nreason = "r"\n')
    with pytest.raises(PublishedDataError, match=r"C9 have no row in claims.csv"):
        load_claims(tmp_path)
    (tmp_path / "claims.toml").write_text("[C1\n")
    with pytest.raises(PublishedDataError, match="not valid TOML"):
        load_claims(tmp_path)


# ------------------------------------------------------------------ same as before the move
def test_same_verdicts_and_numbers_as_before():
    """The shipped claims give the verdicts and numbers of the code that had one function per
    claim (commit 594bb02), for three option sets. The fixture was written at that commit by
    ``git archive 594bb02 | tar -x -C old && cd old && python -c "import json, trial_analysis
    as ta; ..."`` with ``ta.claims.audit_report(**options).to_frame().to_dict("records")`` for
    ``{}``, ``{"overlap": "zang2023"}`` and ``{"rho": 0.8, "test": "knha"}`` (NaN as null).

    One documented change: C4's estimate is now the count the rule uses (0 trials with a
    significant result) where the old code left it empty. Reasons were reworded (generic
    rules), so only verdicts and numbers are compared.
    """
    before = json.loads(FIXTURE.read_text(encoding="utf-8"))
    options = {
        "default": {},
        "overlap_zang2023": {"overlap": "zang2023"},
        "rho0.8_hksj": {"rho": 0.8, "test": "knha"},
    }
    for key, opts in options.items():
        now = audit(load_claims(), load_evidence(), **opts).to_frame()
        old = pd.DataFrame(before[key])
        old.loc[old.id == "C4", "estimate"] = 0.0
        assert list(now.id) == list(old.id)
        assert list(now.verdict) == list(old.verdict), key
        assert list(now.claim) == list(old.claim)
        for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            pd.testing.assert_series_equal(
                now[col].reset_index(drop=True),
                old[col].astype(float).reset_index(drop=True),
                check_names=False,
                rtol=1e-9,
                atol=1e-9,
            )
