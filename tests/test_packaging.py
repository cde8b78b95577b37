"""The data are found from a checkout and from an installed wheel (outside any checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import trial_analysis as ta
from trial_analysis import _paths

ROOT = Path(__file__).resolve().parents[1]


def test_checkout_finds_repository_data():
    assert _paths.data_dir() == ROOT / "data"
    assert "zang2022" in _paths.available_trials()


def test_environment_variable_overrides(tmp_path, monkeypatch):
    (tmp_path / "t1").mkdir()
    (tmp_path / "t1" / "design.toml").write_text(
        (ROOT / "data/zang2022/design.toml").read_text("utf-8"), "utf-8"
    )
    monkeypatch.setenv("TRIAL_ANALYSIS_DATA", str(tmp_path))
    assert _paths.available_trials() == ["t1"]
    assert ta.load_design("t1").id == "zang2022"


@pytest.mark.slow
def test_wheel_carries_data_and_loads_outside_checkout(tmp_path):
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "trial_analysis/_data/zang2022/design.toml" in names
    assert "trial_analysis/_data/zang2022/published.csv" in names
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    code = (
        "import trial_analysis as ta, trial_analysis._paths as p;"
        "d = ta.load_design('zang2022'); pub = ta.load_published('zang2022');"
        "print(p.data_dir()); print(d.arms[0].n_randomised, len(pub))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); " + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data_dir, numbers = out.stdout.strip().splitlines()
    assert Path(data_dir) == site / "trial_analysis" / "_data"
    assert numbers.split()[0] == "45"


# pip name -> conda-forge name(s) where they differ
_CONDA_NAMES = {
    "dask[distributed]": ["dask", "distributed"],
    "build": ["python-build"],
    "jupyter-client": ["jupyter_client"],
}


def _pip_requirements() -> dict[str, str]:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    reqs = list(meta["dependencies"])
    for deps in meta["optional-dependencies"].values():
        reqs += [d for d in deps if not d.startswith("trial_analysis")]
    out = {}
    for r in reqs:
        name, _, bound = r.partition(">=")
        for conda in _CONDA_NAMES.get(name.strip(), [name.strip()]):
            out[conda] = bound.strip()
    return out


def test_environment_yml_matches_pyproject():
    """conda (environment.yml) and pip (pyproject.toml) install the same packages with the same pins."""
    conda = {}
    for line in (ROOT / "environment.yml").read_text("utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("- ") and ">=" in line:
            name, _, bound = line[2:].partition(">=")
            conda[name.strip()] = bound.strip()
    pip = _pip_requirements()
    assert {k: v for k, v in pip.items() if k != "python"} == {
        k: v for k, v in conda.items() if k != "python"
    }
    assert "- -e ." in (ROOT / "environment.yml").read_text("utf-8")  # the package itself, editable
