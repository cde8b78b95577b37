"""Figures that belong to no single analysis: the design timeline and the CONSORT-style flow.

Each function returns a :class:`matplotlib.figure.Figure` (no pyplot state, nothing shown), so
notebooks display it and the report embeds it as a vector graphic.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.patches import FancyBboxPatch

from ._figures import TrialFigure
from .design import TrialDesign

__all__ = ["FlowBox", "consort_flow", "design_timeline"]


def _short(text: str, n: int = 70) -> str:
    """A legend label of at most ``n`` characters (data-file text can be arbitrarily long)."""
    return text if len(text) <= n else text[: n - 1] + "…"


def design_timeline(design: TrialDesign) -> Figure:
    """Timeline of scheduled administrations (triangles) and visits (circles) to the end of
    follow-up.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> fig = design_timeline(ta.load_design("zang2022"))
    """
    fig = TrialFigure(figsize=(7.0, 1.9))
    ax = fig.add_subplot()
    fu = design.follow_up_weeks
    ax.hlines(0, 0, fu, color="0.5", lw=2)
    ax.plot(
        design.visit_weeks,
        [0] * len(design.visit_weeks),
        "o",
        ms=8,
        mfc="white",
        mec="C0",
        mew=1.5,
        label="visit",
        zorder=3,
    )
    if design.infusion_weeks:  # scheduled administrations (e.g. infusions), when declared
        ax.plot(
            design.infusion_weeks,
            [0.32] * len(design.infusion_weeks),
            "v",
            ms=10,
            color="C3",
            label=_short(
                f"administration ({design.dose})" if design.dose is not None else "administration"
            ),
            zorder=3,
        )
    primary = [e.week for e in design.endpoints if e.role == "primary"]
    for w in primary:
        ax.annotate(
            "primary endpoint",
            (w, 0),
            (w, -0.55),
            ha="center",
            fontsize=8,
            arrowprops={"arrowstyle": "->", "color": "0.3"},
        )
    ax.set_xticks(sorted(set(design.visit_weeks) | {fu}))
    ax.set_xlabel("week")
    ax.set_yticks([])
    ax.set_ylim(-0.8, 0.8)
    ax.set_xlim(-2, fu + 2)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper center", ncol=2, frameon=False, fontsize=8, bbox_to_anchor=(0.5, 1.25))
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class FlowBox:
    """One box of a flow diagram: text lines; ``side`` boxes hang to the right (exclusions)."""

    lines: tuple[str, ...]
    side: tuple[str, ...] = ()


#: text size of the flow diagram's boxes, in points
FLOW_PT = 7.5
#: most arm columns a flow diagram draws, and characters of one line of a box (data-file text
#: is cut there with "…": the layout's work is bounded before it starts)
MAX_FLOW_ARMS = 12
MAX_FLOW_LINE = 200
_PAD = 0.06  # inches between a box's text and its border
_GAP = 0.16  # inches between boxes side by side, and the figure's side margins
_ROW_GAP = 0.32  # inches between boxes one above the other (room for the arrow)
_TITLE_PT = 9.0


class _Measure:
    """Text extents in inches, drawn by the Agg renderer in the figure's font at FLOW_PT."""

    def __init__(self, fig: Figure) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from ._figures import font_families

        self.fig = fig
        self.family = list(font_families())
        self.renderer = FigureCanvasAgg(fig).get_renderer()
        self._cache: dict[tuple[str, float], tuple[float, float]] = {}

    def size(self, text: str, pt: float = FLOW_PT) -> tuple[float, float]:
        """(width, height) in inches of ``text`` (lines separated by newlines)."""
        if (text, pt) not in self._cache:
            t = self.fig.text(0, 0, text, fontsize=pt, family=self.family, parse_math=False)
            b = t.get_window_extent(self.renderer)
            t.remove()
            # 4% wider: glyph widths hinted at another resolution (a 90 dpi PNG) or unhinted
            # (the PDF) differ by a few percent from these
            self._cache[text, pt] = (1.04 * b.width / self.fig.dpi, b.height / self.fig.dpi)
        return self._cache[text, pt]

    def widest(self, lines: Sequence[str]) -> float:
        return max((self.size(line)[0] for line in lines if line), default=0.0)

    def wrap(self, lines: Sequence[str], width: float) -> list[str]:
        """``lines`` re-broken (textwrap: at spaces, words longer than a line cut) so that none
        is wider than ``width`` inches."""
        out: list[str] = []
        for line in lines:
            if self.size(line)[0] <= width or len(line) <= 1:
                out.append(line)
                continue
            # first guess from the line's mean character width, then narrower until it fits
            chars = max(1, int(len(line) * width / self.size(line)[0]))
            while True:
                parts = textwrap.wrap(line, chars) or [line]
                if chars == 1 or self.widest(parts) <= width:
                    break
                chars -= 1
            out += parts
        return out


def _share(total: float, groups: Sequence[tuple[int, float]]) -> list[float]:
    """Widths for groups of equal boxes (count, natural width) filling at most ``total``:
    each gets its natural width when all fit, else the narrow ones keep theirs and the rest
    share what remains equally (water-filling)."""
    widths = [w for _, w in groups]
    if sum(c * w for c, w in groups) <= total:
        return widths
    left, open_ = total, list(range(len(groups)))
    while open_:
        share = left / sum(groups[i][0] for i in open_)
        narrow = [i for i in open_ if groups[i][1] <= share]
        if not narrow:
            for i in open_:
                widths[i] = share
            break
        for i in narrow:
            left -= groups[i][0] * groups[i][1]
            open_.remove(i)
    return widths


def consort_flow(
    top: Sequence[str],
    arms: Sequence[Sequence[FlowBox]],
    *,
    title: str = "",
    width_in: float | None = None,
) -> Figure:
    """A CONSORT-style diagram: shared boxes on top, then one column of boxes per arm.

    Every box is sized to its text as the Agg renderer draws it at :data:`FLOW_PT` in the
    figures' font; when the arm columns and the exclusion boxes beside them are together
    wider than the figure, the width is shared out (:func:`_share`) and the lines that no
    longer fit are wrapped, so no text leaves its box or the figure, whatever the number of
    arms and the length of the arm names and reasons (data-file text, drawn as plain text:
    ``$`` starts no formula). The figure is as tall as its boxes need.

    Parameters
    ----------
    top : sequence of str
        Lines of the boxes shared by all arms (e.g. enrolled, randomised), top to bottom.
    arms : sequence of sequences of FlowBox
        For each arm, its boxes top to bottom (allocated, followed up, analysed).
    title : str
        Printed above the diagram.
    width_in : float, optional
        The figure's width in inches (default the report's text width,
        :data:`trial_analysis._figures.DEFAULT_WIDTH_IN`); print it at this width.

    Examples
    --------
    >>> fig = consort_flow(["Randomised: n = 91"], [[FlowBox(("A", "n = 45"))],
    ...                                            [FlowBox(("B", "n = 46"))]])
    """
    from ._figures import DEFAULT_WIDTH_IN
    from .errors import ParameterError

    if not arms or not all(arms):
        raise ParameterError("arms", "a list of at least one arm, each with at least one box")
    if len(arms) > MAX_FLOW_ARMS:  # work bounded before it starts: one column per arm
        raise ParameterError(
            "arms", f"at most {MAX_FLOW_ARMS} arms for a flow diagram", f"{len(arms)} arms"
        )
    top = [_short(str(line), MAX_FLOW_LINE) for line in top]
    arms = [
        [
            FlowBox(
                tuple(_short(str(t), MAX_FLOW_LINE) for t in fb.lines),
                tuple(_short(str(t), MAX_FLOW_LINE) for t in fb.side),
            )
            for fb in col
        ]
        for col in arms
    ]
    width = DEFAULT_WIDTH_IN if width_in is None else float(width_in)
    fig = TrialFigure(figsize=(width, 4.0))
    # placed by hand, in inches: no layout engine may move it (print_ready adds none)
    fig.set_layout_engine(PlaceHolderLayoutEngine(adjust_compatible=True, colorbar_gridspec=False))
    m = _Measure(fig)
    k = len(arms)
    # exclusion boxes beside the arm columns, on the outer sides (left of the first arm, right
    # of the last), as CONSORT diagrams draw them; with more than two arms there is no room
    # beside them: exclusions go inside the arm's box
    inline = k > 2
    sides = [] if inline else [j for j, col in enumerate(arms) if any(fb.side for fb in col)]
    arm_text = [[list(fb.lines) + (list(fb.side) if inline else []) for fb in col] for col in arms]
    side_text = [[list(fb.side) for fb in arms[j]] for j in sides]
    natural_arm = max(m.widest(b) for col in arm_text for b in col) + 2 * _PAD
    natural_side = max((m.widest(b) for col in side_text for b in col), default=0) + 2 * _PAD
    n_boxes = k + len(sides)
    room = width - _GAP * (n_boxes + 1)
    w_arm, w_side = _share(room, [(k, natural_arm), (len(sides), natural_side)])
    arm_text = [[m.wrap(b, w_arm - 2 * _PAD) for b in col] for col in arm_text]
    side_text = [[m.wrap(b, w_side - 2 * _PAD) for b in col] for col in side_text]
    w_top = min(max(m.widest(top) if top else 0, natural_arm - 2 * _PAD) + 2 * _PAD, room)
    top_text = [m.wrap([line], w_top - 2 * _PAD) for line in top]

    def height(lines: Sequence[str]) -> float:
        return m.size("\n".join(lines) or " ")[1] + 2 * _PAD

    # x of the box centres: [side] arm ... arm [side], the whole row centred
    used = k * w_arm + len(sides) * w_side + _GAP * (n_boxes - 1)
    x = (width - used) / 2
    xs, side_x = [], {}
    for j in range(k):
        if j in sides and (j < k / 2):
            side_x[j] = x + w_side / 2
            x += w_side + _GAP
        xs.append(x + w_arm / 2)
        x += w_arm + _GAP
    for j in sides:
        if j not in side_x:
            side_x[j] = x + w_side / 2
            x += w_side + _GAP

    # rows from the top, in inches
    n_rows = max(len(col) for col in arm_text)
    row_h = [max(height(col[i]) for col in arm_text if i < len(col)) for i in range(n_rows)]
    side_h = [
        max((height(col[i]) for col in side_text if i < len(col) and col[i]), default=0)
        for i in range(n_rows)
    ]
    title_h = m.size(title, _TITLE_PT)[1] + 0.12 if title else 0.0
    y = 0.08 + title_h  # distance from the figure's top
    tops = []
    for lines in top_text:
        tops.append((y, height(lines)))
        y += height(lines) + _ROW_GAP
    rows = []
    for i in range(n_rows):
        rows.append(y)
        gap = max(_ROW_GAP, side_h[i] + 0.12)
        y += row_h[i] + gap
    below = max(0.0, (side_h[-1] - row_h[-1]) / 2)  # a side box beside the last row
    fig_h = y - gap + below + 0.08
    fig.set_size_inches(width, fig_h)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(fig_h, 0)  # inches from the top
    ax.axis("off")
    n_box = iter(range(10**6))

    def box(cx: float, cy: float, w: float, lines: Sequence[str], fc: str = "white") -> None:
        """A box of width ``w`` whose top edge is ``cy`` inches from the figure's top."""
        h = height(lines)
        gid = f"consort-box-{next(n_box)}"
        ax.add_patch(
            FancyBboxPatch(
                (cx - w / 2, cy),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.04",
                fc=fc,
                ec="0.25",
                lw=0.8,
                gid=gid,
            )
        )
        ax.text(
            cx,
            cy + h / 2,
            "\n".join(lines),
            ha="center",
            va="center",
            multialignment="center",
            fontsize=FLOW_PT,
            family=m.family,
            parse_math=False,
            gid=gid,
        )

    def arrow(x0: float, y0: float, x1: float, y1: float, color: str = "black") -> None:
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": color})

    for i, ((ty, th), lines) in enumerate(zip(tops, top_text, strict=True)):
        box(width / 2, ty, w_top, lines)
        if i < len(tops) - 1:
            arrow(width / 2, ty + th, width / 2, tops[i + 1][0])
    if tops:
        ty, th = tops[-1]
        for cx in xs:
            arrow(width / 2, ty + th, cx, rows[0])
    for j, (cx, col) in enumerate(zip(xs, arm_text, strict=True)):
        for i, lines in enumerate(col):
            box(cx, rows[i], w_arm, lines)
            if i < len(col) - 1:
                arrow(cx, rows[i] + height(lines), cx, rows[i + 1])
            if j in sides:
                side = side_text[sides.index(j)][i]
                if side:
                    sx = side_x[j]
                    left = sx < cx
                    if i + 1 < n_rows:  # in the gap below the box, from the arrow down
                        mid, start = (rows[i] + row_h[i] + rows[i + 1]) / 2, cx
                    else:  # beside the last box, from its edge
                        mid = rows[i] + height(lines) / 2
                        start = cx - w_arm / 2 if left else cx + w_arm / 2
                    box(sx, mid - height(side) / 2, w_side, side, fc="0.95")
                    arrow(start, mid, sx + w_side / 2 if left else sx - w_side / 2, mid, "0.4")
    if title:
        ax.text(
            width / 2,
            0.08,
            title,
            ha="center",
            va="top",
            fontsize=_TITLE_PT,
            family=m.family,
            parse_math=False,
        )
    return fig
