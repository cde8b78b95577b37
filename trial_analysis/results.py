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
import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = [
    "COLUMN_LABELS",
    "SYNTHETIC_NOTE",
    "Result",
    "column_label",
    "format_cell",
    "format_ci",
    "format_number",
    "format_p",
    "format_sci",
    "frame_to_text",
    "select_row",
    "to_jsonable",
    "typeset_frame",
    "typographic",
]

SYNTHETIC_NOTE = (
    "SYNTHETIC DATA: individual-level results come from a synthetic cohort matched to the "
    "published aggregates, not from the trial's real patients."
)


_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def _power_of_ten(x: float, digits: int) -> str:
    """``1.5×10⁶``: the mantissa to ``digits`` significant digits, trailing zeros dropped."""
    exp = math.floor(math.log10(abs(x)))
    mant = x / 10**exp
    if round(abs(mant), digits - 1) >= 10:  # 9.9996e5 rounds up to 10×10⁵
        exp, mant = exp + 1, mant / 10
    mant_s = f"{mant:.{digits}g}"
    return f"{mant_s}×10{str(exp).translate(_SUPERSCRIPT)}"


def format_number(x: Any, digits: int = 4) -> str:
    """Format a number as a journal table prints it.

    ``digits`` significant digits for ordinary values (``28.66``, ``0.1545``); integers and
    values from 10,000 up to a million to the unit (no ``1.235e+04``); powers of ten for the
    very large and very small (``2.5×10⁷``, ``1.5×10⁻⁵``); booleans as ``Yes``/``No``;
    NaN and None as ''.

    >>> format_number(0.045454545454545456), format_number(12345.6), format_number(1.5e-5)
    ('0.04545', '12346', '1.5×10⁻⁵')
    """
    if x is None or x is pd.NA:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "Yes" if x else "No"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "∞" if x > 0 else "-∞"
        if x == 0:
            return "0"
        # below 10⁻³ four significant digits would take 7+ decimals: a power of ten instead
        if abs(x) >= 1e6 or abs(x) < 1e-3:
            return _power_of_ten(x, digits)
        if abs(x) >= 10**digits:
            return f"{x:.0f}"
        text = f"{x:.{digits}g}"
        return "0" if text in ("-0", "0") else text
    return str(x)


def format_sci(x: float) -> str:
    """Format a dose-like number with a power of ten: ``1×10⁶``, ``1.5×10⁶``; ordinary ones plain.

    >>> format_sci(1e6), format_sci(1.5e6), format_sci(250.0)
    ('1×10⁶', '1.5×10⁶', '250')
    """
    if x == 0 or not math.isfinite(x) or 1e-3 <= abs(x) < 1e4:
        return format_number(float(x))
    return _power_of_ten(float(x), 3)


def format_p(p: Any) -> str:
    """Format a p-value as journals print it.

    One rule: ``<0.001`` below 0.001; four decimals from 0.001 to 0.1 (where the distance to
    0.05 or 0.01 matters: ``0.0496``, ``0.0580``, ``0.0081``); three decimals from 0.1
    (``0.500``); ``>0.999`` above 0.999.

    >>> format_p(0.0495622), format_p(0.058), format_p(0.2346), format_p(3e-7)
    ('0.0496', '0.0580', '0.235', '<0.001')
    """
    if p is None or p is pd.NA:
        return ""
    p = float(p)
    if math.isnan(p):
        return ""
    if p < 0.001:
        return "<0.001"
    if p > 0.999:
        return ">0.999"
    # the band is chosen on the rounded value: 0.09996 prints 0.100, not 0.1000
    return f"{p:.4f}" if round(p, 4) < 0.1 else f"{p:.3f}"


def _decimals(magnitude: float, digits: int) -> int:
    """Decimals that give ``magnitude`` ``digits`` significant digits (0 to 6)."""
    if not math.isfinite(magnitude) or magnitude == 0:
        return min(digits, 6)
    return max(0, min(6, digits - 1 - math.floor(math.log10(abs(magnitude)))))


def format_ci(estimate: Any, low: Any, high: Any, conf_level: float = 0.95, digits: int = 2) -> str:
    """An estimate with its confidence interval as a journal prints it:
    ``0.20 (95% CI 0.05 to 0.36)``.

    Decimals policy: the precision the interval supports — as many decimals as give the
    interval's width ``digits`` significant digits (Cole, "Too many digits", Arch Dis Child
    2015), the same for the estimate and both limits; "to" between the limits (a hyphen would
    read as a minus sign). An unbounded interval takes the decimals of the estimate at three
    significant digits; a missing limit prints "not estimable", a missing estimate ''.

    >>> format_ci(0.2045, 0.0526, 0.3561)
    '0.20 (95% CI 0.05 to 0.36)'
    >>> format_ci(-0.68, -1.18, -0.18), format_ci(-0.68, -1.18, -0.18, digits=3)
    ('-0.7 (95% CI -1.2 to -0.2)', '-0.68 (95% CI -1.18 to -0.18)')
    >>> format_ci(12.37, -3.2, 27.9, conf_level=0.9)
    '12 (90% CI -3 to 28)'
    >>> format_ci(2.5, 0.81, float("inf"))
    '2.50 (95% CI 0.81 to ∞)'
    """
    vals = [float("nan") if v is None or v is pd.NA else float(v) for v in (estimate, low, high)]
    est, lo, hi = vals
    if math.isnan(est):
        return ""
    level = format_number(100 * float(conf_level), 3) + "% CI"
    if math.isnan(lo) or math.isnan(hi):
        return f"{format_number(est, 3)} ({level} not estimable)"
    width = hi - lo
    dec = _decimals(width, digits) if math.isfinite(width) and width > 0 else _decimals(est, 3)

    def fmt(v: float) -> str:
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        text = f"{v:.{dec}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text

    return f"{fmt(est)} ({level} {fmt(lo)} to {fmt(hi)})"


# Typographic symbols for the ASCII spellings code and data files use (a copy editor's pass:
# ``<`` and ``&`` alone stay as typed).
_SYMBOLS = (
    (re.compile(r"<="), "≤"),
    (re.compile(r">="), "≥"),
    (re.compile(r"!="), "≠"),
    (re.compile(r"\+/-"), "±"),
    (re.compile(r"\btau\^2\b|\btau2\b"), "τ²"),
    (re.compile(r"\bI\^2\b"), "I²"),
    (re.compile(r"\bkg/m2\b"), "kg/m²"),
    (re.compile(r"×?\s?10\^(-?\d+)"), None),  # ×10^6 -> ×10⁶
)


def typographic(text: str) -> str:
    """Replace ASCII spellings by their symbols: ``<=`` ≤, ``>=`` ≥, ``tau^2`` τ², ``I^2`` I²,
    ``kg/m2`` kg/m², ``10^6`` 10⁶.

    >>> typographic("20 <= age, 24.0 kg/m2, 1x10^6, tau^2")
    '20 ≤ age, 24.0 kg/m², 1x10⁶, τ²'
    """
    for pattern, repl in _SYMBOLS:
        if repl is None:
            text = pattern.sub(
                lambda m: m.group(0).split("10^")[0] + "10" + m.group(1).translate(_SUPERSCRIPT),
                text,
            )
        else:
            text = pattern.sub(repl, text)
    return text


# Human column labels (with units where the column has one) for the tidy frames results return;
# a column not listed keeps its name with underscores as spaces and a capital first letter.
COLUMN_LABELS: dict[str, str] = {
    "estimate": "Estimate",
    "se": "SE",
    "ci_low": "95% CI lower",
    "ci_high": "95% CI upper",
    "pi_low": "95% PI lower",
    "pi_high": "95% PI upper",
    "p_value": "p",
    "p": "p",
    "q_p": "p (Q test)",
    "tau2": "τ²",
    "i2": "I² (%)",
    "k": "Studies",
    "n1": "n (experimental)",
    "n2": "n (control)",
    "x1": "Events (experimental)",
    "x2": "Events (control)",
    "k1": "Events added (experimental)",
    "k2": "Events added (control)",
    "n1_new": "n (experimental, new)",
    "n2_new": "n (control, new)",
    "n1_first": "First n reaching target (experimental)",
    "n2_first": "First n reaching target (control)",
    "n_max": "Largest n searched",
    "p1": "Proportion (experimental)",
    "p2": "Proportion (control)",
    "p_fisher": "p (Fisher)",
    "p_chisq": "p (χ²)",
    "p_chisq_yates": "p (χ², Yates)",
    "p_boschloo": "p (Boschloo)",
    "rd": "Risk difference",
    "odds_ratio": "Odds ratio",
    "method_label": "Interval",
    "modified_arm": "Arm modified",
    "prob_gt_null": "P(effect > 0)",
    "mc_prob_gt_null": "P(effect > 0), Monte Carlo",
    "prob_gt_mcid": "P(effect > MCID)",
    "mcse": "Monte Carlo SE",
    "mc_se": "Monte Carlo SE",
    "power_at_estimate": "Power at the estimate",
    "p_power_above_80": "P(power > 80%)",
    "power_first": "Power at first n",
    "target_power": "Target power",
    "nominal_alpha": "Nominal α",
    "alpha": "α",
    "critical_value": "Critical value (z)",
    "cumulative_alpha_spent": "Cumulative α spent",
    "cumulative_power": "Cumulative power",
    "information_rate": "Information fraction",
    "rejection_probability_h1": "P(reject | H1)",
    "rho_ranges": "ρ ranges",
    "significant": "Significant",
    "quotient": "Fragility quotient",
    "week": "Week",
    "id": "ID",
}


def column_label(name: Any) -> str:
    """The printed label of a tidy-frame column (:data:`COLUMN_LABELS`, else a readable name).

    >>> column_label("ci_low"), column_label("prob_gt_mcid"), column_label("explanation")
    ('95% CI lower', 'P(effect > MCID)', 'Explanation')
    """
    key = str(name)
    if key in COLUMN_LABELS:
        return COLUMN_LABELS[key]
    text = key.replace("_", " ").strip()
    return typographic(text[:1].upper() + text[1:]) if text.islower() else typographic(text)


def _is_p_column(col: Any) -> bool:
    col = str(col)
    return col in ("p_value", "p", "pvalue", "q_p") or col.endswith("_p") or col.startswith("p_")


def format_cell(v: Any, digits: int = 4, p_value: bool = False) -> str:
    """One table cell as text: numbers by :func:`format_number` (or :func:`format_p`),
    tuples and lists joined with commas, booleans Yes/No, missing values empty, symbols
    typeset (:func:`typographic`)."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return ", ".join(format_cell(x, digits, p_value) for x in v)
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return ""
    if isinstance(v, (bool, np.bool_, int, np.integer, float, np.floating)):
        if p_value and not isinstance(v, (bool, np.bool_)):
            return format_p(v)
        return format_number(v, digits)
    return typographic(str(v))


def typeset_frame(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A frame of printed strings with human column labels: the form tables take in reports
    and notebooks (p-value columns by :func:`format_p`, the rest by :func:`format_cell`)."""
    out = pd.DataFrame(
        {
            column_label(c): [format_cell(v, digits, _is_p_column(c)) for v in df[c]]
            for c in df.columns
        },
        index=range(len(df)),
    )
    return out


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
