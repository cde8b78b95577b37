"""The report's content model: renderer-neutral blocks built from result objects.

Section functions (:mod:`.sections`) return :class:`Section` objects made of these blocks; the
PDF (:mod:`.pdf`) and HTML (:mod:`.html`) renderers lay them out. Tables and figures are
numbered by the renderer, in order of appearance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..results import Result, _formatted

__all__ = ["Callout", "FigureBlock", "Heading", "Para", "Section", "TableBlock", "table_from"]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    """A paragraph; ``text`` may use ``<b>``, ``<i>`` and ``<br/>`` only."""

    text: str


@dataclass(frozen=True)
class Callout:
    """A boxed statement; ``kind`` is ``synthetic`` (prominent), ``warning`` or ``info``."""

    text: str
    kind: str = "info"


@dataclass(frozen=True)
class TableBlock:
    """A numbered table: an already formatted frame of strings, a caption and notes."""

    frame: pd.DataFrame
    caption: str
    notes: tuple[str, ...] = ()
    col_widths: tuple[float, ...] | None = None  # relative widths, renderer scales them


@dataclass(frozen=True)
class FigureBlock:
    figure: Figure
    caption: str
    width: float = 1.0  # fraction of the text width


Block = Heading | Para | Callout | TableBlock | FigureBlock


@dataclass
class Section:
    """A top-level report section (a TOC entry)."""

    key: str
    title: str
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> Section:
        self.blocks.extend(blocks)
        return self


def table_from(
    obj: Result | pd.DataFrame,
    caption: str,
    *,
    digits: int = 4,
    columns: list[str] | None = None,
    notes: tuple[str, ...] = (),
) -> TableBlock:
    """Format a result's ``to_frame()`` (or a DataFrame) as a report table with its notes."""
    if isinstance(obj, Result):
        frame, notes = obj.to_frame(), tuple(obj.notes) + tuple(notes)
    else:
        frame = obj
    if columns is not None:
        frame = frame[columns]
    return TableBlock(_formatted(frame.reset_index(drop=True), digits), caption, notes)
