"""The evidence data set (data/evidence) and the derivations built on it.

Reference: shared/reference/evidence.md (every stored number must appear there or, for Zang
2022's registry eligibility, in zang2022.md) and its [DER] arithmetic.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trial_analysis as ta
from trial_analysis.errors import ParameterError, PublishedDataError, StatisticalWarning
from trial_analysis.evidence import LABELS, load_evidence
from trial_analysis.meta.evidence import (
    derived_counts,
    hba1c_effects,
    hba1c_table,
    placebo_changes,
    select_trials,
)

pytestmark = pytest.mark.filterwarnings("ignore::trial_analysis.errors.ApproximationWarning")

REF = Path(__file__).resolve().parents[2] / "shared" / "reference"
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "evidence"


@pytest.fixture(scope="module")
def ev():
    return load_evidence()


def _reference_text() -> str:
    files = [REF / "evidence.md", REF / "zang2022.md"]
    if not all(f.is_file() for f in files):
        pytest.skip("shared/reference not available")
    text = " ".join(f.read_text(encoding="utf-8") for f in files)
    return text.replace("−", "-")


def _numbers(text: str) -> set[float]:
    return {float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)}


def test_every_stored_number_is_in_the_reference(ev):
    """No invented numbers: each value in the data appears in evidence.md or zang2022.md."""
    known = _numbers(_reference_text())
    checks = [
        ("outcomes", ev.outcomes, ["value"]),
        (
            "meta_analyses",
            ev.meta_analyses,
            ["estimate", "ci_low", "ci_high", "i2", "k_studies", "n_participants"],
        ),
        (
            "trials",
            ev.trials,
            [
                "year",
                "n_infusions",
                "n_randomised",
                "elig_hba1c_min",
                "elig_hba1c_max",
                "elig_duration_max_years",
            ],
        ),
    ]
    for name, df, cols in checks:
        for col in cols:
            for i, v in df[col].items():
                if np.isfinite(v):
                    assert abs(v) in known, f"{name}.csv row {i + 2}, {col} = {v} not in source"


def test_labels_and_sources(ev):
    for df in (ev.trials, ev.outcomes, ev.meta_analyses):
        assert set(df.label) <= set(LABELS)
    assert ev.outcomes.source.str.contains("http").all()
    assert ev.trials.url.str.startswith("http").all()
    # missing stays missing: unreported SDs are NaN rows with a note, never a number
    sd = ev.outcomes[(ev.outcomes.outcome == "hba1c_change") & (ev.outcomes.statistic == "sd")]
    assert sd.value.isna().all() and sd.note.str.contains("not reported").all()


def test_overlap_flag(ev):
    grp = ev.trials[ev.trials.overlap_group == "Zang-PLA-cohort"]
    assert set(grp.trial_id) == {"zang2022", "zang2023"}
    assert list(grp[grp.include_default == "Y"].trial_id) == ["zang2022"]


def test_select_trials_respects_overlap(ev):
    default = select_trials(ev)
    assert "zang2022" in default and "zang2023" not in default
    assert "hu2012" not in default  # not randomised
    alt = select_trials(ev, "zang2023")
    assert "zang2023" in alt and "zang2022" not in alt
    with pytest.warns(StatisticalWarning, match="count the same patients twice"):
        both = select_trials(ev, "all")
    assert {"zang2022", "zang2023"} <= set(both)
    with pytest.raises(ParameterError, match="overlap"):
        select_trials(ev, "skyler2015")
    assert "wu2014" not in select_trials(ev, cell_type="MSC")


def test_zang2022_difference_and_se_from_p(ev):
    """evidence.md [DER]: -1.31 - (-0.63) = -0.68; SE from p = 0.0081 (two-sided, normal):
    0.68 / qnorm(1 - 0.0081/2)."""
    tab = hba1c_table(ev).set_index("trial_id")
    assert tab.loc["zang2022", "yi"] == pytest.approx(-0.68)
    assert tab.loc["zang2022", "sei"] == pytest.approx(0.68 / stats.norm.isf(0.0081 / 2))
    assert tab.loc["zang2022", "label"] == "derived"
    assert "p = 0.0081" in tab.loc["zang2022", "derivation"]


def test_zang2022_change_sd_path(ev):
    """Cochrane 6.5.2.8 with rho: SD_c = sqrt(b^2 + f^2 - 2 rho b f), randomised n 45/46."""
    rho = 0.6
    tab = hba1c_table(ev, rho=rho, se_from="change_sd").set_index("trial_id")
    s1 = np.sqrt(1.27**2 + 1.07**2 - 2 * rho * 1.27 * 1.07)
    s2 = np.sqrt(1.11**2 + 1.02**2 - 2 * rho * 1.11 * 1.02)
    assert tab.loc["zang2022", "sei"] == pytest.approx(np.sqrt(s1**2 / 45 + s2**2 / 46))


def test_zang2023_difference_without_se(ev):
    """evidence.md [DER]: 48 wk difference -1.36 - (-0.51) = -0.85; no SD: SE missing."""
    tab = hba1c_table(ev, overlap="zang2023").set_index("trial_id")
    assert tab.loc["zang2023", "yi"] == pytest.approx(-0.85)
    assert np.isnan(tab.loc["zang2023", "sei"])
    with pytest.warns(StatisticalWarning, match="omitted: row 1 \\('Zang 2023'\\)"):
        res = ta.meta.rma(hba1c_effects(ev, overlap="zang2023"))
    assert res.k == 1  # Bhansali only; and a single-study warning is also raised


def test_skyler_outside_window_and_ci(ev):
    """Skyler 2015 is a 12-week trial: outside 6-12 months; with all weeks it enters with
    -0.3 +/- 0.25 (evidence.md [DER] CI -0.79 to +0.19)."""
    assert "skyler2015" not in set(hba1c_table(ev).trial_id)
    tab = hba1c_table(ev, weeks=None).set_index("trial_id")
    lo = tab.loc["skyler2015", "yi"] - stats.norm.ppf(0.975) * tab.loc["skyler2015", "sei"]
    hi = tab.loc["skyler2015", "yi"] + stats.norm.ppf(0.975) * tab.loc["skyler2015", "sei"]
    assert (round(lo, 2), round(hi, 2)) == (-0.79, 0.19)


def test_bhansali_imputation_and_rho(ev):
    """Medians/IQR -> means/SDs (Luo eq. 15 / Wan eq. 16), change SDs with rho."""
    t5 = hba1c_table(ev, rho=0.5).set_index("trial_id")
    t9 = hba1c_table(ev, rho=0.9).set_index("trial_id")
    m = lambda med, a, b, n: (0.7 + 0.39 / n) * (a + b) / 2 + (0.3 - 0.39 / n) * med  # noqa: E731
    d1 = m(7.1, 6.6, 7.5, 11) - m(6.9, 6.4, 7.2, 11)
    d2 = m(7.0, 6.9, 7.5, 10) - m(6.9, 6.2, 7.0, 10)
    assert t5.loc["bhansali2014", "yi"] == pytest.approx(d1 - d2)
    assert t9.loc["bhansali2014", "sei"] < t5.loc["bhansali2014", "sei"]
    assert t9.loc["zang2022", "sei"] == t5.loc["zang2022", "sei"]  # p-value path: no rho


def test_rho_sensitivity_table(ev):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sens = ta.meta.rho_sensitivity(lambda r: hba1c_effects(ev, rho=r), method="REML")
    tab = sens.to_frame()
    assert list(tab.rho) == [0.0, 0.25, 0.5, 0.75, 0.9]
    assert tab.estimate.nunique() == 5  # the imputed correlation moves the pooled estimate
    assert any("only 2 studies" in c for c in sens.notes)
    with pytest.raises(ParameterError, match="rhos"):
        ta.meta.rho_sensitivity(lambda r: hba1c_effects(ev, rho=r), rhos=(1.5,))


def test_derived_counts(ev):
    """evidence.md [DER]: Zang 2023 22/37 vs 10/36 (9 wk) and 16/37 vs 4/36 (48 wk); Zang 2022
    20% = 9/45, but 4.55% is not x/46 (it is 2/44): left missing."""
    d = derived_counts(ev).set_index(["trial_id", "week"])
    assert tuple(d.loc[("zang2023", 48), ["x1", "x2"]]) == (16, 4)
    assert tuple(d.loc[("zang2023", 9), ["x1", "x2"]]) == (22, 10)
    assert np.isnan(d.loc[("zang2022", 48), "x2"])
    assert (d.label == "derived").all()


def test_placebo_changes(ev):
    pc = placebo_changes(ev).set_index(["trial_id", "week"])
    assert pc.loc[("zang2022", 48), "change"] == -0.63
    assert pc.loc[("zang2023", 48), "change"] == -0.51
    assert pc.loc[("bhansali2014", 52), "change"] == pytest.approx(0.1)


# --- malformed data ------------------------------------------------------------------------


@pytest.fixture()
def copy(tmp_path):
    dst = tmp_path / "evidence"
    shutil.copytree(SHIPPED, dst)
    return dst


def _edit(path: Path, fn) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(path, index=False)


def test_bad_label_names_row(copy):
    _edit(
        copy / "outcomes.csv", lambda d: d.__setitem__("label", d.label.where(d.index != 3, "blog"))
    )
    with pytest.raises(PublishedDataError, match=r"outcomes.csv, row 5, column label.*'blog'"):
        load_evidence(copy)


def test_non_numeric_value_names_row(copy):
    _edit(
        copy / "outcomes.csv", lambda d: d.__setitem__("value", d.value.where(d.index != 0, "n/r"))
    )
    with pytest.raises(PublishedDataError, match=r"row 2, column value: expected a number"):
        load_evidence(copy)


def test_unknown_trial_and_duplicates(copy):
    _edit(
        copy / "outcomes.csv",
        lambda d: d.__setitem__("trial_id", d.trial_id.where(d.index != 0, "nobody2020")),
    )
    with pytest.raises(PublishedDataError, match=r"'nobody2020' is not in trials\.csv"):
        load_evidence(copy)


def test_duplicate_number(copy):
    df = pd.read_csv(copy / "outcomes.csv", dtype=str, keep_default_na=False)
    pd.concat([df, df.iloc[[2]]]).to_csv(copy / "outcomes.csv", index=False)
    with pytest.raises(PublishedDataError, match="duplicate number"):
        load_evidence(copy)


def test_overlap_group_needs_one_default(copy):
    _edit(
        copy / "trials.csv",
        lambda d: d.__setitem__(
            "include_default", d.include_default.where(d.trial_id != "zang2023", "Y")
        ),
    )
    with pytest.raises(PublishedDataError, match="exactly one member"):
        load_evidence(copy)


def test_loader_does_not_share_state(ev):
    a = load_evidence()
    a.outcomes.loc[0, "value"] = 999.0
    assert load_evidence().outcomes.loc[0, "value"] != 999.0
