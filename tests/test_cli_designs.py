"""The ``design-sequential``, ``design-adaptive`` and ``design-multiarm`` sub-commands."""

from __future__ import annotations

import json

import pytest

from tests.fixtures import designs_from_r as R
from tests.fixtures import multiplicity_from_r as M
from trial_analysis.cli import main
from trial_analysis.power import group_sequential


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_design_sequential_json_matches_rpact(capsys):
    """The CLI's table is the API's design (checked against rpact in test_power_designs)."""
    ref = next(
        r
        for r in R.GROUP_SEQUENTIAL
        if r["kwargs"] == "dict(k=5, alpha=0.025, beta=0.2, futility='obrien-fleming')"
    )
    rc = main(
        [
            "design-sequential",
            "--looks",
            "5",
            "--futility",
            "obrien-fleming",
            "--means",
            "0.5",
            "1.2",
            "--json",
        ]
    )
    assert rc == 0
    out = _json(capsys)
    rows = out["design"]["table"]
    assert [round(r["z_efficacy"], 6) for r in rows] == [
        round(c, 6) for c in ref["critical_values"]
    ]
    assert out["sample_size"]["n_max"] == pytest.approx(ref["n_max_means"], rel=1e-6)


def test_design_sequential_text_and_spending_spec(capsys):
    assert (
        main(
            ["design-sequential", "--looks", "3", "--spending", "hsd:-4", "--rates", "0.4", "0.25"]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "Hwang-Shih-DeCani (gamma = -4)" in text
    d = group_sequential(3, spending=("hsd", -4))
    assert f"{d.critical_values[0]:.4g}" in text


def test_design_adaptive_exact_and_simulated(capsys):
    args = [
        "design-adaptive",
        "--looks",
        "2",
        "--planned",
        "100",
        "200",
        "--delta",
        "0.3",
        "--sd",
        "1",
        "--cp",
        "0.9",
        "--n-min",
        "100",
        "--n-max",
        "400",
    ]
    assert main([*args, "--n-sims", "0", "--json"]) == 0
    exact = _json(capsys)["characteristics"]["table"][0]["power"]
    assert main([*args, "--n-sims", "20000", "--seed", "2", "--json"]) == 0
    sim = _json(capsys)["characteristics"]["table"][0]
    assert abs(sim["power"] - exact) < 4 * sim["power_mcse"]


def test_design_multiarm(capsys):
    assert (
        main(
            [
                "design-multiarm",
                "--delta",
                "0.5",
                "0.5",
                "0.5",
                "--sd",
                "1",
                "--n",
                "60",
                "--n-control",
                "60",
                "--json",
            ]
        )
        == 0
    )
    assert _json(capsys)["disjunctive"] == pytest.approx(
        M.MULTIARM_POWER[0]["dunnett_disjunctive"], abs=1e-8
    )


def test_bad_spec_is_a_clear_error(capsys):
    assert main(["design-sequential", "--spending", "hsd:x"]) == 2
    assert "`--spending` must be" in capsys.readouterr().err
    assert main(["design-sequential", "--looks", "11"]) == 2
    assert "at most 10 analyses" in capsys.readouterr().err
