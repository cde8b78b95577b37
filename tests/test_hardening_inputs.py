"""Careless and hostile inputs (issue #20): design and published-table bounds, strict CSV
quoting, atomic writes with stale-temp sweeping, trial folders given by path."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

import trial_analysis as ta
from trial_analysis import _io, limits
from trial_analysis._paths import trial_dir
from trial_analysis.errors import DesignError, PublishedDataError, TrialAnalysisError
from trial_analysis.published import COLUMNS

SHIPPED = trial_dir("zang2022")
HEADER = ",".join(COLUMNS)
ROW = "hba1c,A,0,mean,=,1,%,,abstract,src,"


# ---- design.toml ----------------------------------------------------------------------------


def _design(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "design.toml"
    f.write_text(text, encoding="utf-8")
    return f


def _shipped() -> str:
    return (SHIPPED / "design.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "old, new, pattern",
    [
        (
            "n_randomised = 45",
            "n_randomised = 1000000000",
            r"key 'arms\[0\]\.n_randomised': expected at most max_arm_size = 1,000,000 "
            r"\(a documented limit, see docs/limits.md\), got 1000000000",
        ),
        (
            "follow_up_weeks = 48",
            "follow_up_weeks = 1000000000",
            r"key 'schedule.follow_up_weeks': expected at most max_follow_up_weeks = 2,600",
        ),
    ],
)
def test_design_sizes_beyond_the_limits(tmp_path, old, new, pattern):
    f = _design(tmp_path, _shipped().replace(old, new, 1))
    with pytest.raises(DesignError, match=pattern):
        ta.load_design(f)


def test_design_arm_size_limit_can_be_raised(tmp_path):
    f = _design(tmp_path, _shipped().replace("n_randomised = 45", "n_randomised = 2000000", 1))
    with limits.override(max_arm_size=5_000_000):
        assert ta.load_design(f).arms[0].n_randomised == 2_000_000


@pytest.mark.parametrize("key", ["parameters", "eligibility"])
def test_design_array_of_tables_given_as_a_number(tmp_path, key):
    text = re.sub(rf"\[\[{key}\]\]\n(?:[^\[\n].*\n|\n)*", "", _shipped())
    assert f"[[{key}]]" not in text
    f = _design(tmp_path, f"{key} = 5\n" + text)
    with pytest.raises(
        DesignError, match=rf"key '{key}': expected an array of tables \[\[{key}\]\], got 5"
    ):
        ta.load_design(f)


# ---- published.csv --------------------------------------------------------------------------


def _published(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "published.csv"
    f.write_text(body, encoding="utf-8")
    return f


def test_unbalanced_quote_is_an_error_not_a_merged_row(tmp_path):
    """An unclosed quote used to swallow the following rows into one text field (30 of 31)."""
    rows = [ROW] * 3 + ['hba1c,A,0,mean,=,1,%,,abstract,"src never closed,'] + [ROW] * 4
    rows += ['hba1c,A,0,mean,=,1,%,,abstract,src 2",']  # a stray quote closes the field
    f = _published(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(PublishedDataError) as exc:
        ta.load_published(f)
    msg = str(exc.value)
    assert "row 5, column source: the field spans lines 5-10" in msg
    assert 'a quote (") is not closed, which merges 5 following line(s) into this row' in msg


def test_quote_never_closed_until_the_end_of_the_file(tmp_path):
    rows = [ROW] * 3 + ['hba1c,A,0,mean,=,1,%,,abstract,"src never closed,'] + [ROW] * 4
    f = _published(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(PublishedDataError) as exc:
        ta.load_published(f)
    assert str(exc.value).endswith(
        'published.csv, row 5: a quote (") opened on line 5 is never closed, which would '
        "merge lines 5-9 into one field"
    )


def test_extra_fields_are_an_error(tmp_path):
    f = _published(tmp_path, HEADER + "\n" + ROW + "\n" + ROW + ",1,2\n")
    with pytest.raises(PublishedDataError, match=r"row 3: 2 field\(s\) more than the 11 columns"):
        ta.load_published(f)


def test_field_over_the_limit(tmp_path):
    big = "x" * (128 * 1024 + 1)
    f = _published(tmp_path, HEADER + "\n" + ROW.replace("src", big) + "\n")
    with pytest.raises(
        PublishedDataError, match=r"line 2: a field is longer than max_csv_field = 128 KB"
    ):
        ta.load_published(f)
    with limits.override(max_csv_field="1M"):
        assert len(ta.load_published(f)) == 1


def test_field_limit_is_restored_after_a_parse(tmp_path):
    import csv

    before = csv.field_size_limit()
    f = _published(tmp_path, HEADER + "\n" + ROW.replace("src", "x" * 200_000) + "\n")
    with pytest.raises(PublishedDataError):
        ta.load_published(f)
    assert csv.field_size_limit() == before


@pytest.mark.parametrize(
    "row, pattern",
    [
        (
            "hba1c,A,0,mean,=,1,%,5,abstract,src,",
            r"row 2, column conf_level: expected a number in \(0, 1\), e.g. 0.95, or blank, got '5'",
        ),
        (
            "hba1c,A,-4,mean,=,1,%,,abstract,src,",
            r"row 2, column week: expected a whole number of weeks >= 0 or blank, got '-4'",
        ),
    ],
)
def test_published_values_out_of_range(tmp_path, row, pattern):
    with pytest.raises(PublishedDataError, match=pattern):
        ta.load_published(_published(tmp_path, HEADER + "\n" + row + "\n"))


def test_a_quoted_field_with_a_comma_still_loads(tmp_path):
    f = _published(tmp_path, HEADER + "\n" + ROW.replace("src", '"a, b ""c"""') + "\n")
    assert ta.load_published(f).source.iloc[0] == 'a, b "c"'


# ---- trial folders by path ------------------------------------------------------------------


def test_trial_folder_relative_and_absolute(tmp_path, monkeypatch):
    d = tmp_path / "trials" / "mine"
    d.mkdir(parents=True)
    (d / "design.toml").write_text(_shipped(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert trial_dir("trials/mine") == Path("trials/mine")
    assert trial_dir(d) == d
    assert trial_dir(d / "design.toml") == d
    assert ta.load_design("trials/mine").id == "zang2022"


def test_trial_path_without_design_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrialAnalysisError, match=r"empty'?: no design.toml there\. A trial folder"):
        trial_dir(tmp_path / "empty")
    with pytest.raises(
        TrialAnalysisError, match=r"no design.toml there \(the folder does not exist\)"
    ):
        trial_dir(tmp_path / "missing")
    with pytest.raises(TrialAnalysisError, match=r"Unknown trial 'nosuchtrial'.*Shipped trials"):
        trial_dir("nosuchtrial")


# ---- atomic writes ------------------------------------------------------------------------


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_failure_mid_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    out = tmp_path / "report.html"
    out.write_text("old report", encoding="utf-8")

    def half(tmp: Path) -> None:
        tmp.write_text("half of the new one", encoding="utf-8")
        raise RuntimeError("the build failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        _io.atomic_write(out, half)
    assert out.read_text(encoding="utf-8") == "old report"
    assert _temps(tmp_path) == []


def test_interrupt_mid_write_keeps_the_old_file(tmp_path):
    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")

    def interrupted(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write(out, interrupted)
    assert out.read_bytes() == b"old" and _temps(tmp_path) == []


def test_disk_full_is_an_output_path_error(tmp_path):
    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")

    def full(tmp: Path) -> None:
        raise OSError(28, "No space left on device", str(tmp))

    with pytest.raises(_io.OutputPathError, match=r"cannot write .*r.pdf: No space left on device"):
        _io.atomic_write(out, full)
    assert out.read_bytes() == b"old" and _temps(tmp_path) == []


def test_missing_input_read_by_the_writer_is_not_blamed_on_the_output(tmp_path):
    def reads(tmp: Path) -> None:
        (tmp_path / "no-such-input.csv").read_text()

    with pytest.raises(FileNotFoundError) as exc:
        _io.atomic_write(tmp_path / "out.txt", reads)
    assert not isinstance(exc.value, _io.OutputPathError)


def test_success_writes_with_the_usual_mode(tmp_path):
    out = tmp_path / "sub" / "r.txt"
    _io.atomic_write(out, lambda tmp: tmp.write_text("new", encoding="utf-8"))
    assert out.read_text(encoding="utf-8") == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert _temps(out.parent) == []


def _dead_pid() -> int:
    pid = 2**22 - 7
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_stale_temps_of_killed_writers_are_swept_on_the_next_write(tmp_path):
    """SIGKILL during a write left a hidden 0-byte temp beside the target."""
    out = tmp_path / "report.pdf"
    dead = tmp_path / f".report.pdf.{_dead_pid()}.abc123.tmp"
    live = tmp_path / f".report.pdf.{os.getppid()}.def456.tmp"  # a writer still running
    old = tmp_path / f".report.pdf.{os.getppid()}.old999.tmp"
    other = tmp_path / f".other.pdf.{_dead_pid()}.abc123.tmp"  # another target's: not ours
    for p in (dead, live, old, other):
        p.write_bytes(b"")
    day_ago = time.time() - 2 * 86400
    os.utime(old, (day_ago, day_ago))
    _io.atomic_write(out, lambda tmp: tmp.write_bytes(b"new"))
    assert out.read_bytes() == b"new"
    assert _temps(tmp_path) == sorted([live.name, other.name])


def test_sweep_returns_what_it_removed(tmp_path):
    dead = tmp_path / f".x.csv.{_dead_pid()}.q1.tmp"
    dead.write_bytes(b"")
    assert _io.sweep_stale_temps(tmp_path / "x.csv") == [dead]
    assert _io.sweep_stale_temps(tmp_path / "nowhere" / "x.csv") == []


def test_check_writable(tmp_path):
    assert _io.check_writable(tmp_path / "new" / "r.pdf") == tmp_path / "new" / "r.pdf"
    assert (tmp_path / "new").is_dir() and _temps(tmp_path / "new") == []
    with pytest.raises(_io.OutputPathError, match=r"it is a folder; give a file name"):
        _io.check_writable(tmp_path)
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(_io.OutputPathError, match=r"afile is a file, not a folder"):
        _io.check_writable(f / "r.pdf")
    with pytest.raises(_io.OutputPathError, match=r"it is a folder"):
        _io.atomic_write(tmp_path, lambda tmp: None)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(_io.OutputPathError, match="Permission denied"):
            _io.check_writable(ro / "r.pdf")
    finally:
        ro.chmod(0o700)


def test_output_path_error_is_both_kinds():
    assert issubclass(_io.OutputPathError, TrialAnalysisError)
    assert issubclass(_io.OutputPathError, OSError)


def test_sigkill_mid_write_leaves_a_temp_that_the_next_write_removes(tmp_path):
    """A writer killed outright cannot clean up; the next run's write sweeps its temp file."""
    import signal
    import subprocess
    import sys

    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")
    code = (
        "import sys, time; from pathlib import Path; from trial_analysis._io import atomic_write\n"
        "def slow(tmp):\n"
        "    tmp.write_bytes(b'partial'); print('writing', flush=True); time.sleep(60)\n"
        f"atomic_write(Path({str(out)!r}), slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = _temps(tmp_path)
    assert len(left) == 1 and left[0].startswith(f".r.pdf.{proc.pid}.")
    assert out.read_bytes() == b"old"  # the reader still sees the old file
    _io.atomic_write(out, lambda tmp: tmp.write_bytes(b"new"))
    assert out.read_bytes() == b"new" and _temps(tmp_path) == []
