"""A trial as the analyses see it: its design, its published numbers and its data folder.

:func:`load_trial` is the one place where a trial *name* or *folder* becomes objects; the
reanalysis engine, the report and the CLI take the :class:`Trial` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._paths import patient_data_dir, trial_dir
from .design import TrialDesign, load_design
from .errors import ParameterError, TrialAnalysisError
from .published import COLUMNS as PUBLISHED_COLUMNS
from .published import load_published

__all__ = ["Trial", "load_digitised", "load_trial", "resolve_ipd"]


@dataclass(frozen=True, eq=False)
class Trial:
    """A trial's design and published numbers, loaded once.

    Attributes
    ----------
    design : TrialDesign
    published : pandas.DataFrame
        The tidy published aggregates (``published.csv``); empty (with its columns) for a trial
        that ships none.
    folder : Path or None
        The trial's data folder (for the synthetic model and shipped patient data).
    """

    design: TrialDesign
    published: pd.DataFrame = field(repr=False)
    folder: Path | None = None

    @property
    def id(self) -> str:
        return self.design.id

    @property
    def has_synthetic_model(self) -> bool:
        """Whether the folder holds a generative model for a synthetic cohort."""
        return self.folder is not None and (self.folder / "synthetic_model.toml").is_file()

    @property
    def patient_data_folder(self) -> Path | None:
        """The real patient-level data the trial ships (ADaM files in ``adam/``), if any."""
        return None if self.folder is None else patient_data_dir(self.folder)

    @property
    def has_patient_data(self) -> bool:
        return self.patient_data_folder is not None

    @property
    def input_files(self) -> tuple[Path, ...]:
        """The files the design and published table were read from."""
        out = [Path(self.design.source_file)]
        if "source_file" in self.published.attrs:
            out.append(Path(self.published.attrs["source_file"]))
        for ep in self.design.endpoints:  # digitised published curves (time-to-event)
            if ep.digitised is not None and self.folder is not None:
                for rel in (ep.digitised.curve, ep.digitised.at_risk):
                    if (self.folder / rel).is_file():
                        out.append(self.folder / rel)
        return tuple(dict.fromkeys(out))


def _folder_of(trial: str | Path) -> Path:
    p = Path(trial).expanduser()
    if p.is_file() and p.name == "design.toml":
        return p.parent.resolve()
    if p.is_dir() and (p / "design.toml").is_file():
        return p.resolve()
    return trial_dir(str(trial))


def _published_of(folder: Path | None) -> pd.DataFrame:
    if folder is not None and (folder / "published.csv").is_file():
        return load_published(folder)
    return pd.DataFrame(columns=list(PUBLISHED_COLUMNS))


def load_trial(trial: str | Path | TrialDesign | Trial) -> Trial:
    """Load a trial by shipped name, folder (relative or absolute), ``design.toml`` path or design.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> t = ta.load_trial("zang2022")
    >>> t.design.arm_names, len(t.published) > 0
    (('UC-MSC', 'Placebo'), True)
    """
    if isinstance(trial, Trial):
        return trial
    if isinstance(trial, TrialDesign):
        folder = Path(trial.source_file).parent if trial.source_file else None
        return Trial(trial, _published_of(folder), folder)
    if not isinstance(trial, (str, Path)):
        raise ParameterError(
            "trial", "a trial name, a trial folder, a TrialDesign or a Trial", type(trial).__name__
        )
    folder = _folder_of(trial)
    return Trial(load_design(folder / "design.toml"), _published_of(folder), folder)


def _name_or_folder(trial: Trial) -> str:
    """The shipped name when the trial is a shipped one (records read ``synthetic:<name>``)."""
    try:
        if trial_dir(trial.id).resolve() == trial.folder:
            return trial.id
    except TrialAnalysisError:
        pass
    return str(trial.folder)


def default_ipd(trial: Trial, *, synthetic: bool = False) -> Path | str | None:
    """What ``ipd=None`` means for ``trial``: the real patient data it ships (a folder), else,
    with ``synthetic=True`` (the report's default), ``"synthetic"`` when it has a generative
    model, else ``None`` (published numbers only; the engine's default)."""
    if trial.patient_data_folder is not None:
        return trial.patient_data_folder
    if synthetic and trial.has_synthetic_model:
        return "synthetic"
    return None


def resolve_ipd(trial: Trial, ipd: Any, *, seed: int | None = None) -> Any:
    """Patient-level data for ``trial``: ``None`` (the engine's default, :func:`default_ipd`:
    the real patient data the trial ships, if any);
    ``False`` (none: published numbers only); ``"synthetic"`` (the trial's synthetic cohort,
    from its generative model: its synthetic_model.toml, else its design and published
    aggregates); a folder or file of patient data; or an ``IPD``."""
    if ipd is None:
        ipd = default_ipd(trial)
        if ipd is None:
            return None
    if ipd is False:
        return None
    from .ipd import IPD

    if isinstance(ipd, IPD):
        return ipd
    if isinstance(ipd, str) and ipd == "synthetic":
        if trial.folder is None:
            raise ParameterError("ipd", f"patient data ({trial.id} has no trial folder)", ipd)
        # Without a synthetic_model.toml the model comes from the design and published.csv
        # (synthetic.model_for says which aggregates are missing, if any).
        from .synthetic import synthetic_ipd

        return synthetic_ipd(_name_or_folder(trial), seed=seed)
    if isinstance(ipd, (str, Path)):
        from .ipd import load_ipd

        return load_ipd(ipd, design=trial.design)
    raise ParameterError("ipd", "None, False, 'synthetic', a path or an IPD", type(ipd).__name__)


#: rows of a digitised curve or numbers-at-risk file read at most (work bounded before it starts)
MAX_DIGITISED_ROWS = 1_000_000


def load_digitised(trial: Trial, endpoint: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The digitised published Kaplan–Meier figure a time-to-event endpoint declares
    (``digitised = {curve, at_risk, total_events}`` in the design): ``(curve, at_risk,
    total_events)`` as read from the trial folder, each frame with ``attrs["source_file"]``.
    Content is checked by :func:`trial_analysis.survival.reconstruct`; here only the files,
    their columns and the arm names (the design's).

    Raises
    ------
    DesignError
        The endpoint declares no digitised curve, or a file is missing or outside the folder.
    DataValidationError
        A missing column or an arm the design does not have, naming file, row and column.
    """
    from .errors import DataValidationError, DesignError, Problem

    ep = trial.design.endpoint(endpoint)
    dig = ep.digitised
    file = trial.design.source_file
    key = f"endpoints.{ep.id}.digitised"
    if dig is None or trial.folder is None:
        raise DesignError(file, key, "a digitised curve declared for this endpoint")
    folder = trial.folder.resolve()
    frames = []
    for name, rel, cols in (
        ("curve", dig.curve, ("arm", "time", "survival")),
        ("at_risk", dig.at_risk, ("arm", "time", "n_risk")),
    ):
        path = (folder / rel).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise DesignError(file, f"{key}.{name}", f"an existing file in {folder}", rel)
        try:
            df = pd.read_csv(path, dtype=str, nrows=MAX_DIGITISED_ROWS + 1)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DataValidationError(
                [Problem(str(path), None, None, None, f"not a readable CSV file ({exc})")]
            ) from None
        if len(df) > MAX_DIGITISED_ROWS:
            raise DataValidationError(
                [Problem(str(path), None, None, None, f"more than {MAX_DIGITISED_ROWS:,} rows")]
            )
        df.columns = [str(c).strip() for c in df.columns]
        problems = [
            Problem(str(path), 1, c, None, "required column missing")
            for c in cols
            if c not in df.columns
        ]
        if not problems:
            bad = ~df["arm"].isin(trial.design.arm_names)
            names = ", ".join(trial.design.arm_names)
            problems = [
                Problem(str(path), int(i) + 2, "arm", df["arm"].iloc[i], f"not an arm ({names})")
                for i in bad.to_numpy().nonzero()[0][:20]
            ]
        if problems:
            raise DataValidationError(problems)
        df.attrs["source_file"] = str(path)
        frames.append(df)
    return frames[0], frames[1], dict(dig.total_events)
