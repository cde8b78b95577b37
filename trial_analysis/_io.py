"""Writing output files: atomically, checked before the work, no temporary file left behind.

Foundation module (imports nothing of the package but ``errors``): loaders, the report
builder and the command line all write through :func:`atomic_write`.

* The data go to a temporary file beside the target, named ``.<target>.<pid>.<random>.tmp``,
  which is renamed onto the target when complete: a reader sees the old file or the new one,
  never a partial one, also with two writers at once.
* The temporary file is removed on every exit path Python sees (an exception, Ctrl-C,
  SIGTERM through the CLI's handler). A process killed outright (SIGKILL, power loss) cannot
  clean up; the next write to the same target removes such leftovers: temporary files of
  that pattern whose process is gone (or that are older than a day).
* :func:`check_writable` tells *before* an expensive build whether the target can be written
  (not a folder, folder exists or can be made, writable).
* Tables written for spreadsheets never carry a live formula (OWASP "CSV Injection"): a text
  cell beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  (:data:`FORMULA_TRIGGERS`) is written to a workbook as an explicit string cell with Excel's
  quote prefix (:func:`xlsx_text_cells`: the text reads back exactly as typed) and to a CSV
  file with a leading ``'`` (:func:`csv_safe`), which :func:`unescape_formula_text` removes
  when the package reads the file back. Numbers stay numbers.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .errors import TrialAnalysisError

__all__ = [
    "FORMULA_TRIGGERS",
    "OutputPathError",
    "atomic_write",
    "check_writable",
    "csv_safe",
    "escape_formula_text",
    "sweep_stale_temps",
    "unescape_formula_text",
    "xlsx_text_cells",
]

_STALE_AGE = 86400.0  # seconds: a temp file this old is stale whatever its pid says


class OutputPathError(TrialAnalysisError, OSError):
    """An output file cannot be written (a folder, a read-only place, a full disk ...)."""


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _temp_re(path: Path) -> re.Pattern[str]:
    return re.compile(re.escape(_temp_prefix(path)) + r"(\d+)\.[A-Za-z0-9_]+\.tmp")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep it
    return True


def sweep_stale_temps(path: str | Path) -> list[Path]:
    """Remove leftover temporary files of ``path`` (pattern above) whose writer is gone.

    A temporary file of a writer that is still running is kept (a concurrent write).
    Returns the files removed.
    """
    path = Path(path)
    pat = _temp_re(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        m = pat.fullmatch(e.name)
        if not m:
            continue
        try:
            old = now - e.stat(follow_symlinks=False).st_mtime > _STALE_AGE
            if old or not _alive(int(m.group(1))):
                os.unlink(e.path)
                removed.append(Path(e.path))
        except OSError:
            continue
    return removed


def _describe(exc: OSError, path: Path) -> str:
    reason = exc.strerror or str(exc)
    return f"cannot write {path}: {reason}"


def check_writable(path: str | Path) -> Path:
    """Raise :class:`OutputPathError` unless ``path`` can be written; returns it as a Path.

    Checked without touching an existing target: ``path`` must not be a folder, its folder
    must exist or be creatable, and a temporary file must be creatable there.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder; give a file name")
    if not path.name or path.name in (".", ".."):
        raise OutputPathError(f"cannot write {path!s}: not a file name")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"cannot write {path}: {parent} is a file, not a folder") from None
    except OSError as exc:
        raise OutputPathError(_describe(exc, path)) from None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=parent
        )
    except OSError as exc:
        raise OutputPathError(_describe(exc, path)) from None
    os.close(fd)
    os.unlink(tmp)
    if path.exists() and not os.access(path, os.W_OK) and not os.access(parent, os.W_OK):
        raise OutputPathError(f"cannot write {path}: permission denied")
    return path


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename onto ``path``: never a half-written file.

    The temporary file sits in the destination folder so the rename is atomic; it is removed
    if ``write`` fails or is interrupted. Stale temporary files of ``path`` left by a killed
    writer are removed first. An unwritable target raises :class:`OutputPathError`.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_temps(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise OutputPathError(_describe(exc, path)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp_path, path)
    except OSError as exc:
        other = exc.filename is not None and Path(exc.filename) not in (tmp_path, path)
        if isinstance(exc, TrialAnalysisError) or other:
            raise  # not about the output (e.g. a missing input file read by ``write``)
        raise OutputPathError(_describe(exc, path)) from None
    finally:
        with contextlib.suppress(OSError):
            if tmp_path.exists():
                tmp_path.unlink()
    return path


# ------------------------------------------------------------------------------------------
# Spreadsheet formula injection (OWASP "CSV Injection")
# ------------------------------------------------------------------------------------------
#: First characters that make Excel, LibreOffice or Google Sheets read a text cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# a trigger, or quotes before one: escaped with one more quote, so that the escape is lossless
# (a text that really begins with "'=" is written "''=" and reads back as "'=")
_ESCAPABLE = re.compile(r"'*[=+\-@\t\r]")


def escape_formula_text(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if _ESCAPABLE.match(text) else text


def unescape_formula_text(text: str) -> str:
    """Undo :func:`escape_formula_text` (one leading ``'`` before a trigger is removed)."""
    if text.startswith("'") and _ESCAPABLE.match(text, 1):
        return text[1:]
    return text


def _escape_cell(v: object) -> object:
    return escape_formula_text(v) if isinstance(v, str) else v


def csv_safe(frame):  # -> pandas.DataFrame (pandas imported by the caller)
    """A copy of ``frame`` whose text cells cannot run as formulas when a spreadsheet opens
    the CSV: :func:`escape_formula_text` on every string cell; numbers, dates, booleans and
    missing values are untouched."""
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or str(col.dtype) in ("string", "str"):
            out[c] = col.map(_escape_cell, na_action="ignore")
    return out


def xlsx_text_cells(worksheet) -> None:
    """Make every text cell of an openpyxl ``worksheet`` a string cell, never a formula.

    openpyxl stores a string beginning with ``=`` as a formula (``data_type == "f"``); here it
    becomes a string cell again, and every text beginning with a formula trigger also gets
    Excel's quote prefix (shown as typed, kept as text when the cell is edited). The text
    itself is unchanged (reading the workbook back gives the cell as written), except a text
    that already begins with quotes before a trigger, which gets one more quote as in a CSV
    file, so that :func:`unescape_formula_text` on reading is lossless for both formats.
    """
    for row in worksheet.iter_rows():
        for cell in row:
            v = cell.value
            if isinstance(v, str):
                if v[:1] == "'":
                    v = cell.value = escape_formula_text(v)
                if cell.data_type == "f":
                    cell.data_type = "s"
                if v[:1] in FORMULA_TRIGGERS:
                    cell.quotePrefix = True
