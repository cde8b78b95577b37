"""The ``power``, ``sample-size`` and ``simulate`` sub-commands."""

from __future__ import annotations

import json

import pytest

from trial_analysis.cli import main
from trial_analysis.power import exact_power, power_margin, sample_size


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_power_exact_json_matches_api(capsys):
    assert (
        main(
            [
                "power",
                "--p1",
                "0.2",
                "--p2",
                "0.0455",
                "--n1",
                "45",
                "--n2",
                "44",
                "--test",
                "fisher",
                "--json",
            ]
        )
        == 0
    )
    out = _json(capsys)
    assert out["table"][0]["power"] == pytest.approx(exact_power(0.2, 0.0455, 45, 44).power)


def test_power_means_and_plot(tmp_path, capsys):
    png = tmp_path / "curve.png"
    assert (
        main(
            [
                "power",
                "--delta",
                "0.67",
                "--sd",
                "1.05",
                "--n1",
                "45",
                "--rho",
                "0.5",
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    assert "ANCOVA" in capsys.readouterr().out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_sample_size_exact_and_margin(tmp_path, capsys):
    pdf = tmp_path / "n.pdf"
    assert (
        main(
            [
                "sample-size",
                "--p1",
                "0.5",
                "--p2",
                "0.2",
                "--test",
                "fisher",
                "--json",
                "--plot",
                str(pdf),
            ]
        )
        == 0
    )
    row = _json(capsys)["table"][0]
    s = sample_size(0.5, 0.2, test="fisher")
    assert (row["n1"], row["n1_first"]) == (s.n1, s.n1_first)
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert main(["sample-size", "--p1", "0.6", "--p2", "0.65", "--margin", "-0.1", "--json"]) == 0
    assert _json(capsys)["table"][0]["n1"] == power_margin(0.6, 0.65, -0.1, power=0.8).n1


def test_simulate_scenario_with_override_and_grid(capsys, tmp_path):
    from trial_analysis._paths import trial_dir

    f = str(trial_dir("zang2022") / "scenario.toml")
    args = [
        "simulate",
        f,
        "--n-sims",
        "500",
        "--seed",
        "3",
        "--no-progress",
        "--json",
        "--set",
        "arms.n=[30,30]",
        "--set",
        'analyses.1.method="chisq"',
    ]
    assert main(args) == 0
    out = _json(capsys)
    assert out["n"] == [30, 30]
    assert {r["analysis"] for r in out["table"]} >= {"composite_fisher", "hba1c_ancova"}
    png = tmp_path / "g.png"
    assert (
        main(
            [
                "simulate",
                f,
                "--n-sims",
                "300",
                "--no-progress",
                "--set",
                'analyses=[{endpoint="composite", method="fisher"}]',
                "--grid",
                "arms.n=[20,20];[40,40]",
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    assert "[40, 40]" in capsys.readouterr().out
    assert png.exists()


@pytest.mark.parametrize(
    "argv, match",
    [
        (["power", "--p1", "1.2", "--p2", "0.1", "--n1", "40"], r"`p1` must be a probability"),
        (
            ["power", "--p1", "0.2", "--p2", "0.1", "--n1", "1"],
            r"`n1` must be a whole number >= 2, got 1",
        ),
        (["power", "--p1", "0.2", "--p2", "0.1", "--n1", "40", "--alpha", "0.6"], r"`alpha`"),
        (["power", "--p1", "0.2", "--p2", "0.1", "--n1", "40", "--test", "fischer"], r"`--test`"),
        (["power", "--p1", "0.2", "--n1", "40"], r"`--p1/--p2` must be both given"),
        (["power", "--n1", "40"], r"must be given \(the effect"),
        (["power", "--p1", "0.2", "--p2", "0.1", "--n1", "40", "--plot", "x.gif"], r"`--plot`"),
        (
            ["sample-size", "--p1", "0.2", "--p2", "0.1", "--test", "boshloo"],
            r"`test` must be one of",
        ),
        (["simulate", "nope.toml"], r"nope.toml: key '\(file\)'"),
        (
            ["simulate", "data/zang2022/scenario.toml", "--set", "dropout.rte=0.1"],
            r"scenario.toml: key 'dropout.rte'.*did you mean 'rate'",
        ),
    ],
)
def test_errors_are_one_clear_line(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("trial-analysis: error:")
    assert __import__("re").search(match, err), err
