"""Documented, overridable limits: work is bounded before it starts.

Every entry point that can be asked for an unbounded amount of work (exact enumeration of
2x2 tables, a sample-size search, a Monte Carlo simulation, count inference, a file field)
estimates what it needs from its arguments and calls :func:`check_cost` or
:func:`check_limit` *before* allocating anything. A refusal is a
:class:`~trial_analysis.errors.ResourceLimitError` naming the parameter, the estimate, the
limit, how to raise it and what to do instead.

The limits and their defaults are listed in :data:`LIMITS` (and in ``docs/limits.md``).
Override one

* for a process, with the environment variable ``TRIAL_ANALYSIS_<NAME>`` (upper case), e.g.
  ``TRIAL_ANALYSIS_MAX_MEMORY=16G trial-analysis power ...``;
* in Python, for a block, with :func:`override`::

      >>> from trial_analysis import limits
      >>> with limits.override(max_memory="16G"):
      ...     limits.get("max_memory") == 16 * 1024**3
      True

  An override holds for the code that runs inside the ``with`` block *in the same thread*
  (or asyncio task): it is kept in a :class:`contextvars.ContextVar`, so that two threads
  overriding the same limit at once never see each other's value, and no override outlives
  its block whatever order the threads leave theirs. A thread started inside the block
  starts with the environment and the defaults; to hand it the block's limits, run its
  target in a copy of the context (``contextvars.copy_context().run(target)``), as
  ``concurrent.futures`` users do for any context variable.

The memory and time estimates are deliberately rough (cost per table or per simulated patient
measured on a 2-core reference machine, see ``docs/limits.md``): they separate "seconds" from
"days", not 10 s from 20 s.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError, ResourceLimitError

__all__ = [
    "LIMITS",
    "Limit",
    "check_cost",
    "check_limit",
    "format_bytes",
    "format_seconds",
    "get",
    "override",
    "text_problem",
]


@dataclass(frozen=True)
class Limit:
    """One limit: its default, its unit (``bytes``, ``seconds`` or ``count``) and its meaning."""

    name: str
    default: float
    unit: str
    doc: str

    @property
    def env(self) -> str:
        return "TRIAL_ANALYSIS_" + self.name.upper()


_GIB = 1024**3

LIMITS: dict[str, Limit] = {
    lim.name: lim
    for lim in (
        Limit(
            "max_memory",
            2 * _GIB,
            "bytes",
            "estimated memory one computation may allocate (p-value grids, simulation chunks, "
            "count candidates)",
        ),
        Limit(
            "max_seconds",
            900.0,
            "seconds",
            "estimated run time of one computation (exact power and sample-size searches, "
            "simulations, count inference)",
        ),
        Limit(
            "max_csv_field",
            128 * 1024,
            "bytes",
            "longest field of a published.csv (a longer one is almost always a broken quote)",
        ),
        Limit(
            "max_arm_size",
            1_000_000,
            "count",
            "patients per arm in a design (arms.n_randomised) or a scenario (arms.n)",
        ),
        Limit(
            "max_follow_up_weeks",
            2600,
            "count",
            "weeks of follow-up in a design (schedule.follow_up_weeks; 2600 weeks = 50 years)",
        ),
        Limit(
            "max_title_length",
            300,
            "count",
            "characters of a trial's title and short title (design.toml trial.title, "
            "trial.short_title)",
        ),
        Limit(
            "max_label_length",
            200,
            "count",
            "characters of a name, label, code or unit of a design (arm names, visit, "
            "parameter, endpoint and variable labels, ids ...), a published.csv quantity, "
            "arm, statistic or unit",
        ),
        Limit(
            "max_text_length",
            5000,
            "count",
            "characters of a free text of a design (citation, descriptions, eligibility "
            "text, provenance sources and reasons, addresses) or a published.csv source "
            "or note",
        ),
    )
}

# the active override layers of the current thread / task, innermost last (immutable tuples:
# a layer added by one thread is never seen, nor removed, by another)
_overrides: contextvars.ContextVar[tuple[dict[str, float], ...]] = contextvars.ContextVar(
    "trial_analysis_limit_overrides", default=()
)

_SUFFIX = {"": 1, "K": 1024, "M": 1024**2, "G": _GIB, "T": 1024**4}
_TIME = {"": 1, "S": 1, "MIN": 60, "H": 3600, "D": 86400}


def _parse(lim: Limit, value: Any) -> float:
    """A limit value: a number, or for bytes ``"512M"``/``"16G"``, for time ``"2h"``/``"30min"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
    else:
        text = str(value).strip().upper().replace(" ", "")
        m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:E[+-]?[0-9]+)?)([A-Z]*?)I?B?", text)
        table = _SUFFIX if lim.unit == "bytes" else _TIME if lim.unit == "seconds" else {"": 1}
        if not m or m.group(2) not in table:
            raise ParameterError(
                lim.name,
                f"a number of {lim.unit}"
                + (" (suffix K, M, G or T allowed)" if lim.unit == "bytes" else "")
                + (" (suffix s, min, h or d allowed)" if lim.unit == "seconds" else ""),
                value,
            )
        v = float(m.group(1)) * table[m.group(2)]
    if not math.isfinite(v) or v <= 0:
        raise ParameterError(lim.name, f"a positive number of {lim.unit}", value)
    return v


def _limit(name: str) -> Limit:
    if name not in LIMITS:
        raise ParameterError("limit", "one of " + ", ".join(LIMITS), name)
    return LIMITS[name]


def get(name: str) -> float:
    """Current value of a limit: innermost :func:`override` of this thread, else the
    environment, else default."""
    lim = _limit(name)
    for layer in reversed(_overrides.get()):
        if name in layer:
            return layer[name]
    env = os.environ.get(lim.env)
    if env:
        return _parse(lim, env)
    return float(lim.default)


@contextlib.contextmanager
def override(**values: Any) -> Iterator[None]:
    """Raise or lower limits inside a ``with`` block (values as in the environment variables).

    Thread-safe: the override is seen by the code of this block in this thread (or asyncio
    task) only, nested blocks win over outer ones, and leaving the block restores what was
    in force before it (see the module docstring for threads started inside the block).
    """
    layer = {k: _parse(_limit(k), v) for k, v in values.items()}
    token = _overrides.set((*_overrides.get(), layer))
    try:
        yield
    finally:
        _overrides.reset(token)


def format_bytes(n: float) -> str:
    """``74 GB``-style size (binary units, as the memory of a machine is quoted)."""
    for unit, f in (("TB", 1024**4), ("GB", _GIB), ("MB", 1024**2), ("KB", 1024)):
        if n >= f:
            v = n / f
            return f"{v:.0f} {unit}" if v >= 10 else f"{v:.1f} {unit}"
    return f"{n:.0f} bytes"


def format_seconds(s: float) -> str:
    """``40 s``, ``12 min``, ``3.5 h``, ``140 days``, ``3e+04 years``."""
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    if s < 3 * 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365 * 86400):.2g} years"


def _how(lim: Limit) -> str:
    return f"{lim.env} or trial_analysis.limits.override({lim.name}=...); see docs/limits.md"


def check_cost(
    what: str,
    *,
    parameter: str,
    memory: float = 0.0,
    seconds: float = 0.0,
    advice: str = "",
) -> None:
    """Refuse ``what`` if its estimated ``memory`` (bytes) or ``seconds`` exceed the limits.

    ``what`` reads as the subject of "needs about ...", e.g. ``"exact Fisher power at
    n1 = 100000, n2 = 100000 (1.0e+10 tables)"``; ``advice`` says what to do instead.
    """
    tail = f"; {advice}" if advice else ""
    for name, need, fmt, noun in (
        ("max_memory", memory, format_bytes, "of memory"),
        ("max_seconds", seconds, format_seconds, "of computing"),
    ):
        lim = LIMITS[name]
        cap = get(name)
        if need > cap:
            raise ResourceLimitError(
                f"{what} needs about {fmt(need)} {noun}, above the limit {name} = {fmt(cap)}"
                f"{tail} (to allow it, raise the limit: {_how(lim)})",
                parameter=parameter,
                limit=name,
            )


def check_limit(name: str, parameter: str, value: float, what: str, advice: str = "") -> None:
    """Refuse a size ``value`` (of ``parameter``) above the count/bytes limit ``name``."""
    lim = _limit(name)
    cap = get(name)
    if value > cap:
        shown = format_bytes(cap) if lim.unit == "bytes" else f"{cap:,.0f}"
        tail = f"; {advice}" if advice else ""
        raise ResourceLimitError(
            f"{what}: {parameter} = {value:,.0f} is above the limit {name} = {shown}{tail} "
            f"(to allow it, raise the limit: {_how(lim)})",
            parameter=parameter,
            limit=name,
        )


# C0 controls, DEL and C1 controls: never in a name or a title; in a free text only tab, line
# feed and carriage return (a text written on Windows) are allowed
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_SPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(text: str, limit: str | None, *, multiline: bool = False) -> str | None:
    """What is wrong with a text field read from a data file, or ``None``.

    The text must be at most :func:`get` ``(limit)`` characters (``limit`` one of
    ``max_title_length``, ``max_label_length``, ``max_text_length``; ``None``: no length
    check, e.g. where a byte limit was applied while parsing) and hold no control
    character (``U+0000``-``U+001F``, ``U+007F``-``U+009F``), except tab and line breaks when
    ``multiline``. The answer completes "expected ...", e.g. ``"a text of at most 300
    characters (limit max_title_length ...)"``; the caller names the file and key.
    """
    if limit is not None and len(text) > (cap := get(limit)):
        lim = _limit(limit)
        return (
            f"a text of at most {cap:,.0f} characters (limit {limit}; to allow more: "
            f"{_how(lim)}), got {len(text):,} characters starting {text[:40]!r}"
        )
    bad = (_CONTROL_BUT_SPACE if multiline else _CONTROL).search(text)
    if bad:
        allowed = " (tab and line breaks are allowed here)" if multiline else ""
        return (
            f"a text without control characters{allowed}, got U+{ord(bad.group()):04X} at "
            f"character {bad.start() + 1} of {text[:40]!r}"
        )
    return None
