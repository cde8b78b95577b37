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


def test_design_adaptive_rates(capsys):
    """``--pi1/--pi2`` run the rates simulation; its JSON equals the Python call's result."""
    from trial_analysis.power import simulate_adaptive_rates

    args = "design-adaptive --looks 2 --planned 100 200 --pi1 0.35 --pi2 0.2 --cp 0.8"
    args += " --n-min 100 --n-max 400 --n-sims 4000 --seed 2 --json"
    assert main(args.split()) == 0
    out = json.loads(capsys.readouterr().out)
    direct = simulate_adaptive_rates(
        group_sequential(2),
        0.35,
        0.2,
        [100, 200],
        conditional_power=0.8,
        n_min=100,
        n_max=400,
        n_sims=4000,
        seed=2,
    )
    got = out["characteristics"]["table"][0]
    assert got["power"] == pytest.approx(direct.power[0], abs=0)
    assert got["pi1"] == 0.35


@pytest.mark.parametrize(
    "extra",
    ["--pi1 0.3", "--pi1 0.3 --pi2 0.2 --delta 0.3 --sd 1", "--pi1 0.3 --pi2 0.2 --theta 0.1"],
)
def test_design_adaptive_rates_or_means_not_both(extra, capsys):
    assert main(f"design-adaptive --looks 2 --planned 100 200 {extra}".split()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
