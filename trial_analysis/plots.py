"""Figures that belong to no single analysis: the design timeline and the CONSORT-style flow.

Each function returns a :class:`matplotlib.figure.Figure` (no pyplot state, nothing shown), so
notebooks display it and the report embeds it as a vector graphic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
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


def consort_flow(
    top: Sequence[str], arms: Sequence[Sequence[FlowBox]], *, title: str = ""
) -> Figure:
    """A CONSORT-style diagram: shared boxes on top, then one column of boxes per arm.

    Parameters
    ----------
    top : sequence of str
        Lines of the boxes shared by all arms (e.g. enrolled, randomised), top to bottom.
    arms : sequence of sequences of FlowBox
        For each arm, its boxes top to bottom (allocated, followed up, analysed).
    """
    n_rows = len(top) + max(len(a) for a in arms)
    fig = TrialFigure(figsize=(7.0, 1.05 * n_rows + 0.4))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, n_rows)
    ax.axis("off")

    def box(x: float, y: float, text: str, w: float, fc: str = "white") -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - 0.32), w, 0.64, boxstyle="round,pad=0.02", fc=fc, ec="0.25", lw=0.8
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5, wrap=True)

    y = n_rows - 0.55
    for i, line in enumerate(top):
        box(0.5, y, line, 0.44)
        if i < len(top) - 1:
            ax.annotate("", (0.5, y - 0.68), (0.5, y - 0.33), arrowprops={"arrowstyle": "->"})
        y -= 1
    k = len(arms)
    # arm columns in the middle, exclusion boxes on the outer sides (left of the first arm,
    # right of the last), as CONSORT diagrams draw them
    # with more than two arms there is no room beside them: exclusions go inside the box
    inline = k > 2
    if inline:
        xs = [(j + 0.5) / k for j in range(k)]
        w_arm = 0.88 / k
    else:
        xs = [0.5] if k == 1 else [0.32 + 0.36 * j / (k - 1) for j in range(k)]
        w_arm = min(0.24, 0.8 / k)
    for x in xs:
        ax.annotate("", (x, y + 0.33), (0.5, y + 0.68), arrowprops={"arrowstyle": "->"})
    for j, (x, column) in enumerate(zip(xs, arms, strict=True)):
        yy = y
        for i, fb in enumerate(column):
            lines = list(fb.lines) + (list(fb.side) if inline else [])
            box(x, yy, "\n".join(lines), w_arm)
            if fb.side and not inline:
                sx = 0.085 if j < k / 2 else 0.915
                box(sx, yy - 0.5, "\n".join(fb.side), 0.15, fc="0.95")
                ax.annotate(
                    "",
                    (sx + (0.08 if sx < 0.5 else -0.08), yy - 0.5),
                    (x, yy - 0.5),
                    arrowprops={"arrowstyle": "->", "color": "0.4"},
                )
            if i < len(column) - 1:
                ax.annotate("", (x, yy - 0.68), (x, yy - 0.33), arrowprops={"arrowstyle": "->"})
            yy -= 1
    if title:
        ax.set_title(title, fontsize=9)
    return fig
