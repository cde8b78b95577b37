"""The Kaplan–Meier figure: step curves with censoring marks, optional confidence bands, and
the numbers-at-risk table under the time axis, with the data source printed on the figure.

The figure is a :class:`matplotlib.figure.Figure` built without pyplot (no global state,
nothing shown): Jupyter displays it inline and the report embeds it as a vector graphic.
Why by hand: lifelines' ``add_at_risk_counts`` needs lifelines fitters and pyplot axes, and
matplotlib has no at-risk table; the layout below is a few text calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from .._figures import TrialFigure
from ..errors import ParameterError
from ..results import format_number

if TYPE_CHECKING:  # pragma: no cover
    from .kaplan_meier import KaplanMeier

__all__ = ["km_plot"]


def _plain(text: Any) -> str:
    """Text from data shown as text: matplotlib would read ``$...$`` as mathtext markup."""
    return str(text).replace("$", r"\$")


def _nice_ticks(tmax: float, n: int = 6) -> np.ndarray:
    """Round time ticks from 0 to at least ``tmax`` (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if tmax <= 0:
        return np.array([0.0])
    raw = tmax / n
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(0.0, tmax + step * 0.999, step)


def km_plot(
    km: KaplanMeier,
    *,
    times: Any = None,
    ci: bool = True,
    censor_marks: bool = True,
    labels: dict | None = None,
    time_label: str = "Time",
    title: str | None = None,
    source: str | None = None,
    show_median: bool = True,
) -> Figure:
    """Kaplan–Meier curves with the numbers-at-risk table under them.

    Parameters
    ----------
    km : KaplanMeier
        From :func:`~trial_analysis.survival.kaplan_meier`.
    times : array-like, optional
        Times of the at-risk table (and of the axis ticks); default: round ticks up to the
        last follow-up time.
    ci : bool
        Shade each curve's pointwise confidence band (``km.conf_type``, ``km.conf_level``).
    censor_marks : bool
        Mark censoring times with ``+`` on the curve.
    labels : dict, optional
        Display name per group label (default: the labels themselves).
    time_label : str
        Axis label, with the unit (e.g. ``"Months since randomisation"``).
    title : str, optional
    source : str, optional
        Data-source line printed under the figure. Default: ``km.source`` (set by
        ``kaplan_meier(source=...)`` or by a reconstruction); when neither is given the figure
        says the source was not stated rather than implying patient-level data.
    show_median : bool
        Append the median and its CI to each legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import trial_analysis as ta
    >>> km = ta.survival.kaplan_meier([1, 3, 4, 6, 2, 5, 7, 8], [1, 1, 0, 1, 1, 0, 1, 0],
    ...                               ["A", "A", "A", "A", "B", "B", "B", "B"], source="toy data")
    >>> fig = km.plot(time_label="Months")
    >>> len(fig.axes)
    2
    """
    tab = km.table
    tmax = float(tab["time"].max())
    if times is None:
        ticks = _nice_ticks(tmax)
    else:
        ticks = np.sort(np.atleast_1d(np.asarray(times, dtype=float)))
        if ticks.size == 0 or not np.all(np.isfinite(ticks)) or ticks[0] < 0:
            raise ParameterError("times", "finite at-risk times >= 0", times)
    labels = dict(labels or {})
    src = source if source is not None else getattr(km, "source", None)
    src_line = f"Data: {_plain(src)}" if src else "Data source not stated."
    k = len(km.levels)
    # heights in inches: the curve panel, one line per group in the table, the footer
    table_h = 0.35 + 0.22 * k
    foot_h = 0.55
    curve_h = 3.4
    gap = 0.65  # tick labels and the axis label between the curves and the table
    height = curve_h + table_h + foot_h + gap + 0.1
    fig = TrialFigure(figsize=(7.0, height))
    left, width = 0.2, 0.76
    ax = fig.add_axes((left, (table_h + foot_h + gap) / height, width, (curve_h - 0.3) / height))
    at = fig.add_axes((left, foot_h / height, width, table_h / height), sharex=ax)
    at_risk = km.at_risk(ticks)
    for i, g in enumerate(km.levels):
        r = tab[tab["group"] == g]
        color = f"C{i % 10}"
        t = np.concatenate([[0.0], r["time"].to_numpy()])
        s = np.concatenate([[1.0], r["survival"].to_numpy()])
        name = _plain(labels.get(g, g))
        if show_median:
            row = km.summary[km.summary["group"] == g].iloc[0]
            med = format_number(float(row["median"]), 3) or "not reached"
            lo = format_number(float(row["ci_low"]), 3) or "NE"
            hi = format_number(float(row["ci_high"]), 3) or "NE"
            name = f"{name}: median {med} ({lo} to {hi})"
        ax.step(t, s, where="post", color=color, lw=1.6, label=name)
        if ci:
            lo_c = np.concatenate([[1.0], r["ci_low"].to_numpy()])
            hi_c = np.concatenate([[1.0], r["ci_high"].to_numpy()])
            ok = np.isfinite(lo_c) & np.isfinite(hi_c)
            ax.fill_between(t[ok], lo_c[ok], hi_c[ok], step="post", color=color, alpha=0.15, lw=0)
        if censor_marks:
            c = (r["n_censor"] > 0).to_numpy()
            ax.plot(
                r["time"].to_numpy()[c],
                r["survival"].to_numpy()[c],
                "+",
                color=color,
                ms=6,
                mew=1.0,
            )
        y = k - 1 - i
        nr = at_risk[at_risk["group"] == g]["n_risk"].to_numpy()
        for x, n in zip(ticks, nr, strict=True):
            at.text(x, y, str(int(n)), ha="center", va="center", fontsize=8, color=color)
        at.text(
            -0.02,
            y,
            _plain(labels.get(g, g)),
            transform=at.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=8,
            color=color,
        )
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(-0.01 * ticks[-1], ticks[-1] * 1.02)
    ax.set_xticks(ticks)
    ax.tick_params(labelbottom=True)
    ax.set_xlabel(_plain(time_label))
    ax.set_ylabel("Survival probability")
    ax.grid(alpha=0.25, lw=0.5)
    for sp in ("top", "right"):
        ax.spines[sp].set_visible(False)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    if title:
        ax.set_title(_plain(title), fontsize=10)
    at.set_ylim(-0.6, k - 0.4)
    at.set_yticks([])
    at.tick_params(labelbottom=False, bottom=False)
    for sp in at.spines.values():
        sp.set_visible(False)
    at.text(
        -0.02,
        k - 0.35,
        "Number at risk",
        transform=at.get_yaxis_transform(),
        ha="right",
        va="bottom",
        fontsize=8,
        weight="bold",
    )
    ci_txt = f"; shaded: {km.conf_level:.0%} {km.conf_type} CI" if ci else ""
    cens_txt = "; + censored" if censor_marks else ""
    fig.text(
        0.02, 0.12 / height, f"{src_line}{cens_txt}{ci_txt}", fontsize=7, color="0.3", wrap=True
    )
    return fig
