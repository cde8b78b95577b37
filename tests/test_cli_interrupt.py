"""Ctrl-C during the command's start-up (issue 20): exit 130 and one line, no traceback.

The console command's entry point is ``trial_analysis.cli:main``. Before ``main`` runs, only
``trial_analysis/__init__.py`` and ``trial_analysis/cli/__init__.py`` execute, and they
import nothing that the interpreter has not loaded already; everything else (argparse,
signal, the exception classes, the sub-commands, numpy, pandas, scipy...) is imported inside
``main``'s handler. Checked three ways, in fresh processes:

* importing ``trial_analysis.cli`` adds no module but the package's two;
* a Ctrl-C raised by each import made during start-up (an import hook raising
  ``KeyboardInterrupt`` when a given module is first imported) gives exit 130 and one line;
* real SIGINTs sent at several moments after the console command starts: once the package's
  code runs, exit 130 and one line; before it (the interpreter's own start-up), no frame of
  the package appears.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCENARIO = str(ROOT / "data" / "zang2022" / "scenario.toml")
LONG = ["simulate", SCENARIO, "--n-sims", "2000000", "--chunk-size", "1000", "--seed", "1"]
INTERRUPTED = "trial-analysis: interrupted\n"


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("TRIAL_ANALYSIS_DEBUG", None)
    return env


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        cwd=ROOT,
    )


def test_importing_the_cli_loads_nothing_else():
    code = (
        "import sys; before = set(sys.modules); import trial_analysis.cli; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    added = set(r.stdout.split())
    assert added <= {"trial_analysis", "trial_analysis.cli", "__future__"}, added


# what start-up imports, in order: the standard library modules main needs, the package's
# foundations, the first sub-command modules and the numerics they bring (later imports
# happen inside the same handler; testing them costs the whole start-up each)
STARTUP_IMPORTS = [
    "signal",
    "argparse",
    "trial_analysis.errors",
    "trial_analysis.cli.design",
    "numpy",
    "pandas",
    "trial_analysis.cli.published",
]

_HOOK = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == {target!r}:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
from trial_analysis.cli import main
sys.exit(main({argv!r}))
"""


@pytest.mark.parametrize("target", STARTUP_IMPORTS)
def test_ctrl_c_at_each_startup_import_is_130_and_one_line(target):
    """A KeyboardInterrupt raised when ``target`` is first imported (as a Ctrl-C arriving
    then would) ends the command with exit 130 and the one line, no traceback."""
    argv = ["reanalyze", "zang2022"]
    r = _python(_HOOK.format(target=target, argv=argv))
    assert r.returncode == 130, (target, r.returncode, r.stderr[-2000:])
    assert r.stderr == INTERRUPTED, (target, r.stderr[-2000:])
    assert r.stdout == ""


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("trial-analysis")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("trial-analysis")
    return [found] if found else [sys.executable, "-m", "trial_analysis"]


def test_real_sigint_at_several_early_moments():
    """SIGINT to the console command 0.05 s to 3 s after it starts. Where the package's
    code was running: exit 130 and one line. Earlier (the interpreter starting, before the
    package's first line), whatever Python does, but never a frame of the package; and the
    late signals (after start-up on any machine) are all answered by ``main``."""
    handled = []
    for delay in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.5, 3.0):
        p = subprocess.Popen(
            [*_command(), *LONG],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=ROOT,
        )
        time.sleep(delay)
        assert p.poll() is None, p.communicate()
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=60)
        if p.returncode == 130 and err == INTERRUPTED:
            handled.append(delay)
            continue
        # not answered by main: the signal landed before the package's code ran
        frames = [line for line in err.splitlines() if line.strip().startswith("File ")]
        package = [f for f in frames if "trial_analysis" + os.sep in f]
        assert not package, (delay, p.returncode, err[-2000:])
    assert {1.5, 3.0} <= set(handled), handled
