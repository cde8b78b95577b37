"""The reconstruction notebook (notebooks/06_...) runs top to bottom in a fresh kernel and its
key numbers are those of the library on the same inputs. (tests/test_notebooks.py compares the
other notebooks' key numbers with the Zang 2022 PDF, which has no time-to-event endpoint; it
leaves this one to this module: ``CHECKED_ELSEWHERE`` there.)"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import trial_analysis as ta

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks" / "06_reconstruct_a_published_km_curve.ipynb"

pytest.importorskip("papermill")
nbformat = pytest.importorskip("nbformat")
pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_committed_without_outputs():
    from tests.tools.check_notebooks import dirty_cells

    assert dirty_cells(NB) == []


def test_runs_and_key_numbers_match_the_library(tmp_path):
    import papermill as pm

    out = tmp_path / NB.name
    pm.execute_notebook(
        str(NB),
        str(out),
        parameters={"output_dir": str(tmp_path), "n_sims": 50},
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
    )
    book = nbformat.read(out, as_version=4)
    cell = next(c for c in book.cells if "key-numbers" in c.metadata.get("tags", []))
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    key = json.loads(text.strip().splitlines()[-1])
    d = ROOT / "tests" / "fixtures" / "survival_data"
    ipd = ta.survival.reconstruct(
        pd.read_csv(d / "recon_lung_sex_curve.csv"),
        pd.read_csv(d / "recon_lung_sex_at_risk.csv"),
        total_events={"female": 53, "male": 112},
    )
    km = ta.survival.kaplan_meier(ipd["time"], ipd["event"], ipd["arm"])
    fit = ta.survival.cox(
        ipd.assign(male=(ipd["arm"] == "male").astype(float)),
        "time",
        "event",
        ["male"],
        lr_ci=False,
    )
    assert key["hr_reconstructed"] == round(float(fit.hazard_ratio[0]), 3)
    assert key["median_female"] == float(km.summary.set_index("group").loc["female", "median"])
    # figures were produced as images (inline display without pyplot)
    images = [
        o for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 2
