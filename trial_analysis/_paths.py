"""Locate the trial data shipped with the package.

Decision: ``data/`` at the repository root is the single home of the data files (the product
brief fixes the layout). A wheel carries a copy at ``trial_analysis/_data`` (hatch
``force-include`` in pyproject.toml). :func:`data_dir` looks there first, then at the checkout's
``data/`` (editable installs and running from source). ``TRIAL_ANALYSIS_DATA`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TrialAnalysisError

__all__ = ["available_trials", "data_dir", "trial_dir"]

_PKG = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The folder holding one sub-folder per shipped trial (``zang2022/``, ``evidence/``...)."""
    env = os.environ.get("TRIAL_ANALYSIS_DATA")
    candidates = [Path(env)] if env else [_PKG / "_data", _PKG.parent / "data"]
    for c in candidates:
        if (c / "README.md").is_file() or any(c.glob("*/design.toml")):
            return c
    raise TrialAnalysisError(
        "Cannot find the trial_analysis data folder; looked in "
        + ", ".join(str(c) for c in candidates)
        + ". Reinstall the package or set TRIAL_ANALYSIS_DATA."
    )


def available_trials() -> list[str]:
    """Names of the trials shipped with the package (folders with a ``design.toml``)."""
    return sorted(p.parent.name for p in data_dir().glob("*/design.toml"))


def is_shipped(path: str | Path) -> bool:
    """Whether ``path`` lies inside the package's ``data/`` (a shipped trial's files)."""
    try:
        return Path(path).resolve().is_relative_to(data_dir().resolve())
    except Exception:
        return False


def display_path(path: str | Path, folder: str | Path | None = None) -> str:
    """A path as outputs print it: relative to the repository (``data/zang2022/design.toml``)
    for shipped data; inside the trial ``folder`` (when given), from that folder
    (``my_trial/adam``); relative to the working folder when inside it, else from the trial
    folder's parent — never an absolute path of this machine."""
    p = Path(path).resolve()
    if is_shipped(p):
        return str(Path("data") / p.relative_to(data_dir().resolve()))
    if folder is not None:
        f = Path(folder).resolve()
        if p.is_relative_to(f):
            return str(Path(f.name) / p.relative_to(f))
    cwd = Path.cwd().resolve()
    if p.is_relative_to(cwd):
        return str(p.relative_to(cwd))
    return str(Path(*p.parts[-3:]))


def patient_data_dir(folder: Path) -> Path | None:
    """The real patient-level data a trial folder ships (ADaM files in ``adam/``), if any."""
    d = folder / "adam"
    return d if d.is_dir() else None


def trial_dir(name: str | Path) -> Path:
    """The data folder of a trial: a shipped trial's name (``trial_dir("zang2022")``), or the
    path, relative or absolute, of a user's trial folder holding a ``design.toml`` (or of
    that ``design.toml`` itself)."""
    p = Path(name)
    if p.is_file() and p.suffix == ".toml":
        p = p.parent
    if (p / "design.toml").is_file():
        return p
    if len(p.parts) > 1 or p.is_absolute():  # a path, not a shipped trial's name
        raise TrialAnalysisError(
            f"Trial folder {str(name)!r}: no design.toml there"
            + ("" if p.exists() else " (the folder does not exist)")
            + ". A trial folder holds design.toml and published.csv (docs/design-format.md)."
        )
    d = data_dir() / str(name)
    if not (d / "design.toml").is_file():
        raise TrialAnalysisError(
            f"Unknown trial {name!r}: no {d / 'design.toml'}. Shipped trials: "
            + ", ".join(available_trials())
            + ". To use your own, pass the path of a design.toml."
        )
    return d
