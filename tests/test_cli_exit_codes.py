"""The command line never shows a traceback (issue #20): each bad input gives one line on
stderr and the documented exit code (0 ok, 1 validation failed, 2 usage or input error,
3 internal error, 130 interrupted), checked before the expensive work where possible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trial_analysis.cli import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    main,
)

SCENARIO = str(Path(__file__).parents[1] / "data" / "zang2022" / "scenario.toml")


def _run(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("trial-analysis: error: "), err
    return lines[0]


def test_exit_code_constants():
    assert (EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED) == (0, 1, 2, 130)


@pytest.fixture
def files(tmp_path):
    """Bad inputs written once per test: paths by name."""
    f = {}
    f["empty_csv"] = tmp_path / "empty.csv"
    f["empty_csv"].write_text("")
    f["binary_csv"] = tmp_path / "binary.csv"
    f["binary_csv"].write_bytes(b"yi,vi\n\x00\x01\x02\xff\xfe")
    f["text_csv"] = tmp_path / "text.csv"
    f["text_csv"].write_text("yi,vi\n0.1,0.01\nabc,0.02\n")
    f["header_csv"] = tmp_path / "header.csv"
    f["header_csv"].write_text("yi,vi\n")
    f["cols_csv"] = tmp_path / "cols.csv"
    f["cols_csv"].write_text("effect,var\n0.1,0.01\n")
    f["latin1_csv"] = tmp_path / "latin1.csv"
    f["latin1_csv"].write_bytes(b"study,yi,vi\ncaf\xe9,0.1,0.01\n")
    f["latin1_toml"] = tmp_path / "s.toml"
    f["latin1_toml"].write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    f["dir"] = tmp_path / "adir"
    f["dir"].mkdir()
    f["file"] = tmp_path / "afile"
    f["file"].write_text("x")
    return f


CASES = [
    # (argv with {name} placeholders, exit code, regex the one line must match)
    (
        ["power", "--p1", "0.3", "--p2", "0.2", "--n1", "100000", "--test", "fisher"],
        2,
        r"power by enumeration at n1 = 100000.*needs about .* GB of memory.*--test normal_pooled",
    ),
    (
        ["sample-size", "--p1", "0.5", "--p2", "0.52"],
        2,
        r"sample-size search by enumeration for p1 = 0.5, p2 = 0.52.*normal_cc",
    ),
    (
        ["simulate", SCENARIO, "--n-sims", str(10**12), "--no-progress"],
        2,
        r"simulating n_sims = 1000000000000 trials.*(days|years) of computing.*use fewer replicates",
    ),
    (
        ["simulate", SCENARIO, "--chunk-size", str(10**9), "--n-sims", str(10**9), "--no-progress"],
        2,
        r"a simulation chunk of chunk_size = 1000000000 trials.*use a smaller chunk_size",
    ),
    (
        ["simulate", SCENARIO, "--set", "arms.n=[1000000000,100]", "--no-progress"],
        2,
        r"key 'arms.n\[0\]': expected at most max_arm_size = 1,000,000",
    ),
    (["simulate", SCENARIO, "--n-jobs", "0"], 2, r"`--n-jobs` must be a whole number >= 1, got 0"),
    (["simulate", SCENARIO, "--n-sims", "0"], 2, r"`--n-sims` must be a whole number >= 1"),
    (["simulate", "{latin1_toml}"], 2, r"expected UTF-8 text, got 'undecodable byte at offset"),
    (["meta", "{empty_csv}"], 2, r"`data` must be a CSV with a header and one row per study"),
    (["meta", "{binary_csv}"], 2, r"`data` must be a CSV text file \(this file is binary\)"),
    (["meta", "{text_csv}"], 2, r"a finite number in every row of column yi.*row 3: 'abc'"),
    (["meta", "{header_csv}"], 2, r"at least one study row.*has a header only"),
    (["meta", "{cols_csv}"], 2, r"columns yi and vi \(or sei\).*has effect, var"),
    (["meta", "{latin1_csv}"], 2, r"a UTF-8 CSV file.*undecodable byte at offset"),
    (
        ["report", "zang2022", "--format", "html", "-o", "{tmp}/x.pdf"],
        2,
        r"`--format` must be the format of the -o extension '.pdf' \(pdf\); a HTML report would",
    ),
    (
        ["report", "zang2022", "-o", "{tmp}/x.txt"],
        2,
        r"`-o/--output` must be a file name ending in .pdf or .html \(or give --format\)",
    ),
    (["report", "zang2022", "-o", "{dir}"], 2, r"it is a folder; give a file name"),
    (["report", "zang2022", "-o", "{file}/r.pdf"], 2, r"afile is a file, not a folder"),
    (
        ["report", "zang2022", "--ipd", "{tmp}/nope", "-o", "{tmp}/r.pdf"],
        2,
        r"`--ipd` must be an existing folder or file, or 'synthetic'",
    ),
    (
        ["report", "{tmp}/no_trial_here", "-o", "{tmp}/r.pdf"],
        2,
        r"no design.toml there \(the folder does not exist\)",
    ),
    (["design", "{dir}"], 2, r"adir/design.toml: key '\(file\)': expected a readable design file"),
]


@pytest.mark.parametrize("argv, code, pattern", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code(
    argv, code, pattern, files, tmp_path, capsys, monkeypatch
):
    import re

    from trial_analysis.report import build

    def no_build(*a, **k):
        raise AssertionError("the report was built before the output was checked")

    monkeypatch.setattr(build, "build_report", no_build)
    names = {k: str(v) for k, v in files.items()} | {"tmp": str(tmp_path)}
    argv = [a.format(**names) for a in argv]
    got, _out, err = _run(capsys, argv)
    line = _one_line_error(err)
    assert got == code, err
    assert re.search(pattern, line), line


def test_validation_failure_is_exit_1(tmp_path, capsys):
    bad = tmp_path / "ipd"
    bad.mkdir()
    (bad / "subjects.csv").write_text("USUBJID,ARM\n1,UC-MSC\n1,UC-MSC\n")
    (bad / "measurements.csv").write_text("USUBJID,PARAMCD,AVISITN,AVAL\n1,HBA1C,0,abc\n")
    code, out, err = _run(capsys, ["validate", str(bad), "--design", "zang2022"])
    assert code == EXIT_INVALID, (out, err)
    assert "Traceback" not in out + err


def test_internal_error_is_exit_3_and_one_line(capsys, monkeypatch):
    from trial_analysis.cli import design as cmd

    def bug(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cmd, "run", bug)
    monkeypatch.delenv("TRIAL_ANALYSIS_DEBUG", raising=False)
    code, _out, err = _run(capsys, ["design", "zang2022"])
    line = _one_line_error(err)
    assert code == 3
    assert "internal error (ZeroDivisionError: division by zero)" in line
    assert "TRIAL_ANALYSIS_DEBUG=1 shows the traceback" in line
    monkeypatch.setenv("TRIAL_ANALYSIS_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["design", "zang2022"])


@pytest.mark.parametrize(
    "exc, pattern",
    [
        (KeyboardInterrupt(), None),
        (MemoryError(), r"out of memory; .*docs/limits.md"),
        (OSError(28, "No space left on device", "/full/r.pdf"), r"/full/r.pdf: No space left"),
        (IsADirectoryError(21, "Is a directory", "out"), r"out: Is a directory"),
    ],
)
def test_exceptions_map_to_codes(exc, pattern, capsys, monkeypatch):
    from trial_analysis.cli import design as cmd

    def raise_(args):
        raise exc

    monkeypatch.setattr(cmd, "run", raise_)
    code, _out, err = _run(capsys, ["design", "zang2022"])
    assert "Traceback" not in err
    if pattern is None:
        assert code == EXIT_INTERRUPTED and err.strip() == "trial-analysis: interrupted"
    else:
        import re

        assert code == EXIT_USAGE
        assert re.search(pattern, _one_line_error(err))


def test_sigterm_during_a_simulation_is_130_and_leaves_no_temp(tmp_path):
    """A real process: SIGTERM while simulating, then a one-line message and exit 130."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("TRIAL_ANALYSIS_DEBUG", None)
    argv = [SCENARIO, "--n-sims", "2000000", "--chunk-size", "1000", "--seed", "1"]
    code = (
        "import sys, trial_analysis.cli as cli; print('ready', flush=True); "
        f"sys.exit(cli.main(['simulate', *{argv!r}]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "ready"  # imports done (however loaded the machine)
    time.sleep(1.5)  # main() has installed its handler and is simulating
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "trial-analysis: interrupted"
    assert not list(tmp_path.rglob("*.tmp"))


def test_report_of_an_own_trial_folder_without_synthetic_model(tmp_path, capsys, monkeypatch):
    """`trial-analysis report path/to/trial` for a folder with design.toml and published.csv
    only, given relative: builds without patient data and says so."""
    import shutil

    from trial_analysis._paths import trial_dir
    from trial_analysis.report import sections

    full = sections.sections_for
    monkeypatch.setattr(
        sections,
        "sections_for",
        lambda ctx: [s for s in full(ctx) if s[0] in ("design", "reproducibility")],
    )
    own = tmp_path / "trials" / "mine"
    own.mkdir(parents=True)
    for f in ("design.toml", "published.csv"):
        shutil.copy(trial_dir("zang2022") / f, own / f)
    monkeypatch.chdir(tmp_path)
    code, _out, err = _run(capsys, ["report", "trials/mine", "--format", "html", "--quiet"])
    assert code == EXIT_OK, err
    out = tmp_path / "reports" / "mine_reanalysis.html"  # named after the folder
    html = out.read_text(encoding="utf-8")
    assert "reanalyses the trial from its" in html and "published aggregates" in html
    assert "SYNTHETIC" not in html and "Participant flow" not in html


def test_cli_default_seed_equals_the_report_default():
    from trial_analysis.cli import report as cli_report
    from trial_analysis.report import build

    assert cli_report.DEFAULT_SEED == build.DEFAULT_SEED


def test_cli_start_up_is_light():
    """`import trial_analysis.cli` loads no numerics, so Ctrl-C at start-up reaches main()'s
    handler within milliseconds; the top-level names still resolve on first use."""
    code = (
        "import sys, trial_analysis.cli, trial_analysis as ta;"
        "heavy = [m for m in ('pandas', 'scipy', 'numpy', 'matplotlib') if m in sys.modules];"
        "print(heavy); print(ta.load_design.__module__, ta.TrialDesign.__name__)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = res.stdout.splitlines()
    assert lines[0] == "[]", res.stdout
    assert lines[1] == "trial_analysis.design TrialDesign"
