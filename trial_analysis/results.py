"""The result-object convention every analysis follows.

An analysis returns a frozen dataclass that inherits :class:`Result`. It implements
:meth:`Result.to_frame` (a tidy :class:`pandas.DataFrame`); the mixin supplies a readable
``__str__``, ``_repr_html_`` for Jupyter and ``to_dict()`` for ``--json``. Results never
print; tables and figures for reports are built from ``to_frame()``.

Results computed from synthetic data carry ``synthetic=True`` in their notes so that every
table says so (see :data:`SYNTHETIC_NOTE`).
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = [
    "SYNTHETIC_NOTE",
    "Result",
    "format_number",
    "format_p",
    "format_sci",
    "frame_to_text",
    "select_row",
    "to_jsonable",
]

SYNTHETIC_NOTE = (
    "SYNTHETIC DATA: individual-level results come from a synthetic cohort matched to the "
    "published aggregates, not from the trial's real patients."
)


def format_number(x: Any, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits; integers stay integers; NaN -> ''."""
    if x is None:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-4):
            return f"{x:.{digits - 1}e}"
        return f"{x:.{digits}g}"
    return str(x)


def format_sci(x: float) -> str:
    """Format a large dose-like number as ``1×10^6`` / ``1.5×10^6`` (plain text, no exponent glyphs).

    >>> format_sci(1e6), format_sci(1.5e6), format_sci(250.0)
    ('1×10^6', '1.5×10^6', '250')
    """
    if x == 0 or not math.isfinite(x) or 1e-3 <= abs(x) < 1e4:
        return format_number(float(x))
    exp = math.floor(math.log10(abs(x)))
    mant = x / 10**exp
    mant_s = f"{mant:.3g}"
    return f"{mant_s}×10^{exp}"


def format_p(p: Any) -> str:
    """Format a p-value as journals do: ``<0.0001`` below 1e-4, else 4 decimals."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    p = float(p)
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _formatted(df: pd.DataFrame, digits: int) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if col in ("p_value", "p", "pvalue") or str(col).endswith("_p"):
            out[col] = out[col].map(format_p)
        elif pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(lambda v: format_number(v, digits))
        else:
            out[col] = out[col].map(
                lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
    return out


def frame_to_text(
    df: pd.DataFrame, title: str = "", notes: tuple[str, ...] = (), digits: int = 4
) -> str:
    """Render a tidy table as plain text with a title line and notes underneath."""
    body = _formatted(df, digits).to_string(index=False) if len(df) else "(empty table)"
    parts = [title, "=" * len(title)] if title else []
    parts.append(body)
    parts += [f"Note: {n}" for n in notes]
    return "\n".join(parts)


def select_row(table: pd.DataFrame, column: str, value: Any) -> pd.Series:
    """The first row of ``table`` whose ``column`` equals ``value``; ``KeyError`` naming the
    values there are otherwise (the ``row`` lookup of every tidy result).

    >>> t = pd.DataFrame({"key": ["a", "b"], "estimate": [1.0, 2.0]})
    >>> float(select_row(t, "key", "b")["estimate"])
    2.0
    """
    hit = table[table[column] == value]
    if hit.empty:
        raise KeyError(
            f"no row {value!r}; the {column} values are " + ", ".join(map(str, table[column]))
        )
    return hit.iloc[0]


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON-friendly Python (NaN -> None)."""
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return None if math.isnan(f) else (f if math.isfinite(f) else ("inf" if f > 0 else "-inf"))
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


class Result:
    """Mixin for frozen-dataclass results.

    Subclasses set ``title`` (class attribute or field) and implement :meth:`to_frame`; they may
    override :attr:`notes` (caveats printed under the table) and :meth:`to_dict`.
    """

    # Subclasses define ``title`` (a ClassVar or a field); it is not declared here so that a
    # dataclass field named ``title`` keeps its place among the required fields.
    digits: ClassVar[int] = 4

    @property
    def _title(self) -> str:
        return str(getattr(self, "title", ""))

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def notes(self) -> tuple[str, ...]:
        return ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: title, the tidy table as records, and notes."""
        return {
            "title": self._title,
            "table": to_jsonable(self.to_frame()),
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        return frame_to_text(self.to_frame(), self._title, self.notes, self.digits)

    def _repr_html_(self) -> str:
        table = _formatted(self.to_frame(), self.digits).to_html(index=False, border=0)
        head = f"<h4>{html.escape(self._title)}</h4>" if self._title else ""
        notes = "".join(f"<p><em>Note:</em> {html.escape(n)}</p>" for n in self.notes)
        return f"<div class='trial-analysis-result'>{head}{table}{notes}</div>"
