"""The `trial-analysis` console command: help, version, design summary, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import trial_analysis as ta
from trial_analysis.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: trial-analysis" in out
    for cmd in ("design", "published"):
        assert cmd in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"trial-analysis {ta.__version__}"


def test_design_summary(capsys):
    code, out, _ = run(capsys, "design", "zang2022")
    assert code == 0
    assert "NCT02302599" in out
    assert "UC-MSC (experimental): n = 45 randomised" in out
    assert "Placebo (control): n = 46 randomised" in out
    assert "at weeks 0, 4, 8" in out
    assert "I = infusion" in out  # the timeline
    assert "HbA1c < 7.0% and daily insulin reduced by >= 50%" in out


def test_design_json_and_table(capsys):
    code, out, _ = run(capsys, "design", "zang2022", "--json")
    data = json.loads(out)
    assert code == 0 and data["sha256"] == ta.load_design("zang2022").sha256
    assert any(r["item"] == "Visit weeks" and r["provenance"] == "assumed" for r in data["items"])
    code, out, _ = run(capsys, "design", "zang2022", "--table")
    assert "Visit weeks" in out and "assumed" in out


def test_published_json(capsys):
    code, out, _ = run(capsys, "published", "zang2022", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {
        "quantity": "composite",
        "arm": "Placebo",
        "statistic": "percent",
        "value": 4.55,
    }.items() <= next(
        r for r in rows if r["quantity"] == "composite" and r["arm"] == "Placebo"
    ).items()


def test_error_is_one_clear_line_exit_2(capsys, tmp_path):
    bad = tmp_path / "design.toml"
    bad.write_text("[trial\n", encoding="utf-8")
    code, _out, err = run(capsys, "design", str(bad))
    assert code == 2
    assert err.startswith("trial-analysis: error: ") and "expected valid TOML" in err
    assert "Traceback" not in err


def test_console_script_entry_point():
    exe = shutil.which("trial-analysis", path=str(Path(sys.executable).parent))
    assert exe, "console script trial-analysis is not installed"
    res = subprocess.run([exe, "design", "zang2022"], capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "NCT02302599" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "trial_analysis", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.stdout.strip() == f"trial-analysis {ta.__version__}"
