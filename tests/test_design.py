"""Design loading: the shipped Zang 2022 design, user files, overrides and every error path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import trial_analysis as ta
from trial_analysis._paths import trial_dir

SHIPPED = trial_dir("zang2022") / "design.toml"


def test_zang2022_arms_dose_schedule():
    d = ta.load_design("zang2022")
    assert isinstance(d, ta.TrialDesign)
    assert [(a.name, a.n_randomised) for a in d.arms] == [("UC-MSC", 45), ("Placebo", 46)]
    assert d.n_randomised == 91
    assert d.infusion_weeks == (0, 4, 8)
    assert d.follow_up_weeks == 48
    assert d.visit_weeks[0] == 0 and d.visit_weeks[-1] == 48
    assert set(d.infusion_weeks) <= set(d.visit_weeks)
    assert d.cell_dose(70.0) == pytest.approx(7.0e7)
    assert d.cell_dose(52.5) == pytest.approx(5.25e7)
    assert d.registration == "NCT02302599"
    assert d.control_arm.name == "Placebo" and d.experimental_arm.name == "UC-MSC"


def test_zang2022_endpoints_define_the_composite():
    d = ta.load_design("zang2022")
    comp = d.endpoint("composite")
    assert comp.role == "primary" and comp.type == "binary" and comp.week == 48
    assert [(c.parameter, c.measure, c.operator, c.threshold) for c in comp.components] == [
        ("HBA1C", "value", "<", 7.0),
        ("INSDOSE", "pchg", "<=", -50.0),
    ]
    assert {e.id for e in d.endpoints} == {"composite", "insulin", "hba1c", "gir"}
    with pytest.raises(KeyError, match="no endpoint 'fpg'"):
        d.endpoint("fpg")


def test_every_unpublished_value_is_labelled_with_a_reason():
    d = ta.load_design("zang2022")
    assert d.provenance_of("schedule.visit_weeks").label == "assumed"
    assert d.provenance_of("schedule.visit_weeks").reason
    assert d.provenance_of("dose.amount_per_kg").label == "secondary"
    assert "1.5" in d.provenance_of("dose").reason  # the registry's conflicting dose is named
    assert d.provenance_of("arms").label == "published"
    labels = d.to_frame().set_index("item")["provenance"]
    assert (labels != "").all()


def test_cell_dose_rejects_bad_weight():
    d = ta.load_design("zang2022")
    with pytest.raises(ta.ParameterError, match=r"`weight_kg` must be a number > 0, got -3"):
        d.cell_dose(-3)


def test_overrides_change_values_and_mark_them_user():
    d = ta.load_design(
        "zang2022",
        overrides={
            "dose.amount_per_kg": 1.5e6,
            "arms.Placebo.n_randomised": 44,
            "schedule.visit_weeks": [0, 9, 48],
        },
    )
    assert d.cell_dose(70) == pytest.approx(1.05e8)
    assert d.arm("Placebo").n_randomised == 44
    assert d.visit_weeks == (0, 9, 48)
    assert d.provenance["dose.amount_per_kg"].label == "user"
    # the shipped file is untouched
    assert ta.load_design("zang2022").cell_dose(70) == pytest.approx(7.0e7)


def test_override_of_unknown_key_is_an_error():
    with pytest.raises(
        ta.DesignError, match=r"key 'dose.amount_per_kgg': expected an existing design key"
    ):
        ta.load_design("zang2022", overrides={"dose.amount_per_kgg": 1.0})


def test_override_is_validated():
    with pytest.raises(
        ta.DesignError, match=r"dose.amount_per_kg': expected a positive number, got -1"
    ):
        ta.load_design("zang2022", overrides={"dose.amount_per_kg": -1.0})


def test_user_design_file_by_path_and_folder(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8").replace('id = "zang2022"', 'id = "mytrial"')
    f = tmp_path / "design.toml"
    f.write_text(text, encoding="utf-8")
    assert ta.load_design(f).id == "mytrial"
    assert ta.load_design(tmp_path).id == "mytrial"
    assert ta.load_design(str(f)).source_file == str(f)


def _write(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, old
    f = tmp_path / "design.toml"
    f.write_text(text.replace(old, new, count), encoding="utf-8")
    return f


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        # missing key
        (
            "n_randomised = 45\n",
            "",
            r"key 'arms\[0\].n_randomised': expected a int \(required key is missing\)",
        ),
        # wrong type
        (
            "n_randomised = 45",
            'n_randomised = "45"',
            r"key 'arms\[0\].n_randomised': expected a int, got '45'",
        ),
        (
            "follow_up_weeks = 48",
            "follow_up_weeks = 48.5",
            r"key 'schedule.follow_up_weeks': expected a int, got 48.5",
        ),
        # negative dose
        (
            "amount_per_kg = 1.0e6",
            "amount_per_kg = -1.0e6",
            r"key 'dose.amount_per_kg': expected a positive number, got -1000000.0",
        ),
        # visit after follow-up end
        (
            "visit_weeks = [0, 4, 8, 12, 24, 36, 48]",
            "visit_weeks = [0, 4, 8, 12, 24, 36, 48, 52]",
            r"key 'schedule.visit_weeks': expected weeks within follow-up \(<= follow_up_weeks = 48\)",
        ),
        (
            "infusion_weeks = [0, 4, 8]",
            "infusion_weeks = [0, 8, 4]",
            r"key 'schedule.infusion_weeks': expected strictly increasing weeks",
        ),
        # unknown endpoint field
        (
            'role = "primary"\n',
            'role = "primary"\nalpha = 0.05\n',
            r"key 'endpoints\[0\].alpha': expected one of the known fields .*, got 'unknown field'",
        ),
        # unknown section
        (
            "format_version = 1",
            "format_version = 1\n[extra]\na = 1",
            r"key 'extra': expected one of the top-level sections",
        ),
        # bad enumerations
        (
            'role = "control"',
            'role = "comparator"',
            r"key 'arms\[1\].role': expected one of experimental, control, got 'comparator'",
        ),
        (
            'operator = "<", threshold = 7.0',
            'operator = "<<", threshold = 7.0',
            r"components\[0\].operator': expected one of <, <=, >, >=",
        ),
        (
            'type = "binary"',
            'type = "ordinal"',
            r"key 'endpoints\[0\].type': expected one of binary, continuous, time_to_event, got 'ordinal'",
        ),
        (
            "week = 48\ncomponents",
            "week = 50\ncomponents",
            r"key 'endpoints\[0\].week': expected a week in 1..48",
        ),
        (
            'parameter = "GIR"\nmeasure',
            'parameter = "GLUCOSE"\nmeasure',
            r"parameter': expected a declared parameter code",
        ),
        # provenance rules
        (
            'label = "assumed"\nreason = "The visit',
            'label = "assumed"\nsource = "The visit',
            r"schedule.visit_weeks.reason': expected a reason for an assumed value",
        ),
        (
            '[provenance."arms"]\nlabel = "published"',
            '[provenance."arms"]\nlabel = "guessed"',
            r"provenance.arms.label': expected one of published",
        ),
        # not TOML
        ("[trial]", "[trial", r"key '\(file\)': expected valid TOML"),
    ],
)
def test_malformed_design_raises_one_design_error(tmp_path, old, new, pattern):
    f = _write(tmp_path, old, new)
    before = f.read_bytes()
    with pytest.raises(ta.DesignError, match=pattern) as exc:
        ta.load_design(f)
    assert str(f) in str(exc.value)  # names the file
    assert isinstance(exc.value, ta.TrialAnalysisError)
    assert f.read_bytes() == before  # loading never modifies the file


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(ta.DesignError, match="expected a readable design file"):
        ta.load_design(tmp_path / "nope.toml")
    f = tmp_path / "design.toml"
    f.write_bytes(b'[trial]\nid = "\xff"\n')
    with pytest.raises(
        ta.DesignError, match="expected UTF-8 text, got 'undecodable byte at offset 14'"
    ):
        ta.load_design(f)


def test_unknown_trial_name_lists_shipped_trials():
    with pytest.raises(
        ta.TrialAnalysisError, match=re.escape("Shipped trials: cdiscpilot01, zang2022")
    ):
        ta.load_design("nonexistent_trial")


def test_design_result_protocol():
    d = ta.load_design("zang2022")
    s = str(d)
    assert "UC-MSC (experimental): n = 45" in s and "Placebo (control): n = 46" in s
    assert "I = infusion" in d.timeline()
    html = d._repr_html_()
    assert "<table" in html and "assumed" in html
    js = d.to_dict()
    assert js["table"][0]["item"] == "Design"
