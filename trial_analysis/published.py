"""Published aggregates of a trial as a tidy table, one row per number, each with its source.

Columns of ``published.csv`` (documented in ``data/README.md``):

``quantity, arm, week, statistic, relation, value, unit, conf_level, label, source, note``

``relation`` is ``=`` for exact values and ``<``/``>`` for bounds such as "p < 0.05";
``label`` is the provenance (``abstract``, ``full text``, ``registry``, ``secondary``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from . import limits
from ._paths import trial_dir
from .errors import PublishedDataError

__all__ = ["COLUMNS", "load_published", "published_decimals", "published_value"]

COLUMNS = (
    "quantity",
    "arm",
    "week",
    "statistic",
    "relation",
    "value",
    "unit",
    "conf_level",
    "label",
    "source",
    "note",
)
REQUIRED = ("quantity", "arm", "week", "statistic", "value", "unit", "source")
RELATIONS = ("=", "<", ">", "<=", ">=")
LABELS = ("abstract", "full text", "registry", "secondary")
# the text columns and their documented length limits (docs/limits.md): names by
# max_label_length; the quoted source and the note by max_csv_field alone (checked while
# parsing; the report bounds what it prints). No control character in any of them (a line
# break is already refused as a quote never closed).
_TEXT_LIMITS = {
    "quantity": "max_label_length",
    "arm": "max_label_length",
    "statistic": "max_label_length",
    "unit": "max_label_length",
    "source": None,
    "note": None,
}


@contextlib.contextmanager
def _field_limit(cap: int) -> Iterator[None]:
    """``csv.field_size_limit`` is process-wide: set it for one parse, then restore it."""
    old = csv.field_size_limit(cap)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _resolve(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.is_dir():
        return p / "published.csv"
    if p.suffix == ".csv" or p.exists():
        return p
    return trial_dir(str(name_or_path)) / "published.csv"


def load_published(name_or_path: str | Path) -> pd.DataFrame:
    """Load the published aggregates of a trial.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped trial's name (``"zang2022"``), a ``published.csv`` path, or its folder.

    Returns
    -------
    pandas.DataFrame
        One row per published number with columns :data:`COLUMNS`; ``week`` is a nullable
        integer, ``value`` and ``conf_level`` are floats. ``df.attrs`` holds ``source_file``,
        ``sha256`` and ``decimals`` (per row, the decimals the value was printed with: "44.1"
        has 1, "20" 0; see :func:`published_decimals`).

    Raises
    ------
    PublishedDataError
        Naming the file, the row (as a spreadsheet shows it, header = row 1) and the column.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> pub = ta.load_published("zang2022")
    >>> ta.published_value(pub, "composite", "UC-MSC", 48, "percent")
    20.0
    """
    path = _resolve(name_or_path)
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PublishedDataError(f"{file}: cannot read the file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PublishedDataError(
            f"{file}: not UTF-8 text (undecodable byte at offset {exc.start})"
        ) from None
    field_cap = int(limits.get("max_csv_field"))
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        with _field_limit(field_cap):
            header = reader.fieldnames or []
            rows = []
            ends = []  # physical line on which each record ends
            for rec in reader:
                rows.append(rec)
                ends.append(reader.reader.line_num)
    except csv.Error as exc:
        line = reader.reader.line_num
        if "field larger than field limit" in str(exc):
            raise PublishedDataError(
                f"{file}, line {line}: a field is longer than max_csv_field = "
                f"{limits.format_bytes(field_cap)} (usually a quote that is never closed; "
                "a documented limit, see docs/limits.md)"
            ) from None
        if "unexpected end of data" in str(exc):
            start = (ends[-1] if ends else 1) + 1  # the record the open quote belongs to
            raise PublishedDataError(
                f'{file}, row {len(rows) + 2}: a quote (") opened on line {start} is never '
                f"closed, which would merge lines {start}-{line} into one field"
            ) from None
        raise PublishedDataError(f"{file}, line {line}: not valid CSV ({exc})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PublishedDataError(
            f"{file}, row 1: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise PublishedDataError(
            f"{file}, row 1: unknown column(s) {', '.join(unknown)}; expected {', '.join(COLUMNS)}"
        )
    records = []
    decimals: list[int | None] = []  # digits printed after the decimal point, per row
    for i, rec in enumerate(rows, start=2):
        spanning = [c for c, v in rec.items() if isinstance(v, str) and ("\n" in v or "\r" in v)]
        if spanning:
            # No field of published.csv holds a line break: a record spanning lines is an
            # unbalanced quote that swallowed the following rows (a quote-aware parse would
            # otherwise merge them silently into one text field).
            last = ends[i - 2]
            first = last - sum(rec[c].count("\n") for c in spanning)
            raise PublishedDataError(
                f"{file}, row {i}, column {spanning[0]}: the field spans lines {first}-{last}; "
                f'a quote (") is not closed, which merges {last - first} following line(s) '
                "into this row"
            )
        if None in rec:  # more fields than the header
            raise PublishedDataError(
                f"{file}, row {i}: {len(rec[None])} field(s) more than the {len(header)} "
                "columns of the header (an unquoted comma?)"
            )

        def bad(col: str, expected: str, rec=rec, i=i) -> PublishedDataError:
            return PublishedDataError(
                f"{file}, row {i}, column {col}: expected {expected}, got {rec.get(col)!r}"
            )

        out = {c: (rec.get(c) or "").strip() for c in COLUMNS}
        for c, lim in _TEXT_LIMITS.items():
            problem = limits.text_problem(out[c], lim)
            if problem:
                raise PublishedDataError(f"{file}, row {i}, column {c}: expected {problem}")
        for c in ("quantity", "arm", "statistic", "source"):
            if not out[c]:
                raise bad(c, "a non-empty value")
        decimals.append(_decimals(out["value"]))
        try:
            out["value"] = float(out["value"])
            if not math.isfinite(out["value"]):
                raise ValueError
        except ValueError:
            raise bad("value", "a finite number") from None
        try:
            out["week"] = int(out["week"]) if out["week"] else pd.NA
            if out["week"] is not pd.NA and out["week"] < 0:
                raise ValueError
        except ValueError:
            raise bad("week", "a whole number of weeks >= 0 or blank") from None
        try:
            out["conf_level"] = float(out["conf_level"]) if out["conf_level"] else math.nan
            if not (math.isnan(out["conf_level"]) or 0 < out["conf_level"] < 1):
                raise ValueError
        except ValueError:
            raise bad("conf_level", "a number in (0, 1), e.g. 0.95, or blank") from None
        out["relation"] = out["relation"] or "="
        if out["relation"] not in RELATIONS:
            raise bad("relation", "one of " + " ".join(RELATIONS))
        out["label"] = out["label"] or "abstract"
        if out["label"] not in LABELS:
            raise bad("label", "one of " + ", ".join(LABELS))
        records.append(out)
    if not records:
        raise PublishedDataError(f"{file}: no data rows")
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    df["week"] = df["week"].astype("Int64")
    df.attrs["source_file"] = file
    df.attrs["decimals"] = decimals
    df.attrs["sha256"] = hashlib.sha256(data).hexdigest()
    return df


def _decimals(text: str) -> int | None:
    """Decimals of a number as printed ("44.1" -> 1, "20" -> 0; None for "1e-4")."""
    t = text.strip().lstrip("+-")
    if not t or "e" in t.lower():
        return None
    return len(t.split(".", 1)[1]) if "." in t else 0


def _match(df: pd.DataFrame, quantity: str, arm: str, week: int | None, statistic: str) -> Any:
    m = (df["quantity"] == quantity) & (df["arm"] == arm) & (df["statistic"] == statistic)
    m &= df["week"].isna() if week is None else (df["week"] == week).fillna(False)
    return m


def published_decimals(
    df: pd.DataFrame, quantity: str, arm: str, week: int | None, statistic: str
) -> int | None:
    """Decimals the matching published number was printed with (``None`` when unknown).

    The precision of a published percentage is that of its text: "44.1 %" stands for
    [44.05, 44.15], "4.55 %" for [4.545, 4.555].
    """
    dec = df.attrs.get("decimals")
    hits = df.index[_match(df, quantity, arm, week, statistic)]
    if dec is None or len(hits) != 1 or not 0 <= int(hits[0]) < len(dec):
        return None
    return dec[int(hits[0])]


def published_value(
    df: pd.DataFrame, quantity: str, arm: str, week: int | None, statistic: str
) -> float:
    """The single published number matching the four keys (``week=None`` for blank weeks).

    Raises ``KeyError`` listing what exists when there is no exact match.
    """
    hits = df.loc[_match(df, quantity, arm, week, statistic), "value"]
    if len(hits) != 1:
        have = df.loc[df["quantity"] == quantity, ["arm", "week", "statistic"]].drop_duplicates()
        raise KeyError(
            f"{len(hits)} published rows for ({quantity!r}, {arm!r}, {week!r}, {statistic!r}); "
            f"rows for {quantity!r}: {have.to_dict(orient='records')}"
        )
    return float(hits.iloc[0])
