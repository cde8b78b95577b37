"""The report's planning-by-simulation block (report/simulation.py)."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

import trial_analysis as ta
from trial_analysis.errors import TrialAnalysisWarning
from trial_analysis.power import load_scenario, simulate
from trial_analysis.power.scenario import ContinuousEndpoint
from trial_analysis.report import simulation
from trial_analysis.report.build import ReportContext
from trial_analysis.report.content import Section

from .test_acceptance_trials import DOSE4_SCENARIO as ACCEPTANCE_SCENARIO


def _ctx(trial):
    t = ta.load_trial(trial)
    return ReportContext(str(trial), t.design, t.published, trial_obj=t), t


def test_table_is_the_simulation_of_the_continuous_analyses(monkeypatch):
    """Each row's power is ``simulate``'s on the scenario restricted to its continuous
    endpoints (same seed); the type I error the null scenario's; every analysis of a
    continuous endpoint has a row, the binary ones none."""
    monkeypatch.setattr(simulation, "N_SIMS", 200)
    ctx, t = _ctx("zang2022")
    s = Section("planning", "Planning the next trial")
    assert simulation.simulation_block(ctx, s)
    table = next(b for b in s.blocks if getattr(b, "caption", "").startswith("Power by simul"))
    assert table.source == "simulated"
    scen = load_scenario(t.folder / "scenario.toml")
    keep = [a for a in scen.analyses if isinstance(scen.endpoints[a.endpoint], ContinuousEndpoint)]
    assert {"mmrm", "ancova", "mi"} <= {a.method for a in keep}
    scen = dataclasses.replace(scen, analyses=tuple(keep))
    alt = simulate(scen, n_sims=200, seed=ctx.seed).to_frame()
    null = simulate(scen, n_sims=200, seed=ctx.seed, null=True).to_frame()
    f = table.frame
    assert len(f) == len(keep)
    assert [float(x) for x in f["Power"]] == pytest.approx(list(alt["power"]), abs=5e-4)
    assert [float(x) for x in f["Type I error"]] == pytest.approx(
        list(null["type1_error"]), abs=5e-4
    )
    assert any("jump to reference" in str(x) for x in f["Analysis"])
    assert str(t.folder / "scenario.toml") in ctx.inputs or any(
        k.endswith("scenario.toml") for k in ctx.inputs
    )


def test_no_block_without_a_scenario_file(tmp_path):
    folder = tmp_path / "trial"
    shutil.copytree(ta.load_trial("zang2022").folder, folder)
    (folder / "scenario.toml").unlink()
    ctx, _ = _ctx(folder)
    s = Section("planning", "Planning the next trial")
    assert not simulation.simulation_block(ctx, s)
    assert not s.blocks


def test_a_bad_scenario_file_is_a_warning_not_a_failure(tmp_path):
    folder = tmp_path / "trial"
    shutil.copytree(ta.load_trial("zang2022").folder, folder)
    (folder / "scenario.toml").write_text("format_version = 2\n[arms]\nnames = 3\n")
    ctx, _ = _ctx(folder)
    s = Section("planning", "Planning the next trial")
    with pytest.warns(TrialAnalysisWarning, match="scenario file was not simulated"):
        assert not simulation.simulation_block(ctx, s)
    assert not s.blocks


# the acceptance trials' four-arm scenario (trial folder written beside it there) with an
# MMRM and a J2R MI analysis added
DOSE4_SCENARIO = (
    ACCEPTANCE_SCENARIO.replace('trial = "./acc_dose4"\n', "")
    + """\
[[analyses]]
name = "sbp_mmrm"
endpoint = "sbp"
method = "mmrm"
[[analyses]]
name = "sbp_mi_j2r"
endpoint = "sbp"
method = "mi"
imputation = "j2r"
m = 5
"""
)


def test_an_unseen_four_arm_trial(tmp_path, monkeypatch):
    """A trial the project never shipped (four arms, ADaM files, its own scenario): one row
    per analysis and comparison, named by the trial's arms and endpoint labels."""
    from ._acceptance_trials import write_dose4

    monkeypatch.setattr(simulation, "N_SIMS", 60)
    folder = write_dose4(tmp_path)
    (folder / "scenario.toml").write_text(DOSE4_SCENARIO, "utf-8")
    ctx, _ = _ctx(folder)
    s = Section("planning", "Planning the next trial")
    assert simulation.simulation_block(ctx, s)
    f = next(b for b in s.blocks if getattr(b, "caption", "").startswith("Power by simul")).frame
    assert len(f) == 9  # ANCOVA, MMRM and MI, three doses each
    assert set(f["Comparison"]) == {f"Drug {d} mg vs Placebo" for d in (5, 10, 20)}
    assert any(k.endswith("scenario.toml") for k in ctx.inputs)
