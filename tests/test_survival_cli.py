"""``trial-analysis reconstruct``: the command line front end of ta.survival.reconstruct."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import trial_analysis as ta
from trial_analysis.cli import main

D = Path(__file__).parent / "fixtures" / "survival_data"
CURVE, RISK = str(D / "recon_sim_ph_curve.csv"), str(D / "recon_sim_ph_at_risk.csv")


def test_writes_the_same_cohort_as_the_function(tmp_path, capsys):
    out, fig = tmp_path / "ipd.csv", tmp_path / "km.svg"
    code = main(
        [
            "reconstruct",
            CURVE,
            RISK,
            "--events",
            "control=180",
            "--events",
            "experimental=141",
            "--out",
            str(out),
            "--plot",
            str(fig),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Guyot" in text and "wrote 500 reconstructed patients" in text
    got = pd.read_csv(out)
    want = ta.survival.reconstruct(
        pd.read_csv(CURVE), pd.read_csv(RISK), {"control": 180, "experimental": 141}
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert fig.read_text().lstrip().startswith("<?xml")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_json(capsys):
    assert main(["reconstruct", CURVE, RISK, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {r["arm"] for r in d["fit"]["table"]} == {"control", "experimental"}


def test_bad_input_is_one_clear_message(tmp_path, capsys):
    assert main(["reconstruct", str(tmp_path / "none.csv"), RISK]) == 2
    assert "`curve` must be an existing CSV file" in capsys.readouterr().err
    assert main(["reconstruct", CURVE, RISK, "--events", "placebo=3"]) == 2
    assert "--events" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("arm,time,survival\nA,0,1\nA,x,0.5\n")
    assert main(["reconstruct", str(bad), RISK]) == 2
    assert "row 3, column time" in capsys.readouterr().err
