"""Forest and funnel plots of a pooled model (matplotlib Figures; nothing is shown).

Both take an :class:`~trial_analysis.meta.RMAResult` and return a
:class:`matplotlib.figure.Figure` built without pyplot, so notebooks display it and the report
embeds it as a vector graphic.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import stats

from .._figures import TrialFigure
from ..errors import ParameterError
from ..results import format_number
from .rma import RMAResult

__all__ = ["forest_plot", "funnel_plot"]

_RATIO = ("RR", "OR")


def _check(res: object) -> RMAResult:
    if not isinstance(res, RMAResult):
        raise ParameterError(
            "res", "an RMAResult from rma(), rma_mh() or rma_peto()", type(res).__name__
        )
    return res


def forest_plot(
    res: RMAResult,
    *,
    xlabel: str | None = None,
    show_pi: bool = True,
    ratio_scale: bool | None = None,
    title: str | None = None,
) -> Figure:
    """Forest plot: one row per study (square sized by weight, CI whiskers), the pooled
    diamond, and the prediction interval as a bar under the diamond.

    Parameters
    ----------
    res : RMAResult
    xlabel : str, optional
        Axis label (default: the measure).
    show_pi : bool, default True
        Draw the prediction interval (random-effects models with k >= 2).
    ratio_scale : bool, optional
        Plot RR/OR on the ratio scale (log axis); default True for those measures.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Text columns give each study's estimate with its CI and its weight (%).
    """
    res = _check(res)
    ratio = res.measure in _RATIO if ratio_scale is None else ratio_scale
    tr = np.exp if ratio else (lambda x: x)
    k = res.k
    z = stats.norm.ppf(1 - (1 - res.level) / 2)
    se = np.sqrt(res.vi)
    lo, hi = res.yi - z * se, res.yi + z * se
    w = res.weights
    has_pi = show_pi and res.method not in ("FE", "MH", "Peto") and np.isfinite(res.pi_low)
    n_rows = k + 2 + (1 if has_pi else 0)
    height = 1.2 + 0.32 * n_rows
    fig = TrialFigure(figsize=(8.0, height))
    # margins in inches so that tick labels, the axis label and the heterogeneity line below
    # them never overlap, whatever the number of studies
    bottom, top = 0.8, 0.3
    ax = fig.add_axes((0.27, bottom / height, 0.43, 1 - (bottom + top) / height))
    ys = np.arange(k, 0, -1) + 1.0
    sizes = 20 + 180 * w / np.nanmax(w)
    ax.hlines(ys, tr(lo), tr(hi), color="0.2", lw=1)
    ax.scatter(tr(res.yi), ys, s=sizes, marker="s", color="0.25", zorder=3)
    yd = 0.6
    diamond = Polygon(
        [
            (tr(res.ci_low), yd),
            (tr(res.estimate), yd + 0.3),
            (tr(res.ci_high), yd),
            (tr(res.estimate), yd - 0.3),
        ],
        closed=True,
        color="C0",
        zorder=3,
    )
    ax.add_patch(diamond)
    if has_pi:
        ax.hlines(yd - 0.55, tr(res.pi_low), tr(res.pi_high), color="C3", lw=2.5)
    ax.axvline(tr(0.0), color="0.5", ls="--", lw=0.8)
    ax.set_yticks([])
    ax.set_ylim(yd - 1.0, k + 1.7)
    if ratio:
        ax.set_xscale("log")
    ax.set_xlabel(
        xlabel
        or {
            "RR": "Risk ratio",
            "OR": "Odds ratio",
            "RD": "Risk difference",
            "MD": "Mean difference",
            "SMD": "Standardised mean difference",
        }.get(res.measure, "Effect size")
    )
    for sp in ("top", "right", "left"):
        ax.spines[sp].set_visible(False)
    tf = ax.get_yaxis_transform()

    def txt(x, y, s, **kw):
        ax.text(x, y, s, transform=tf, va="center", fontsize=9, clip_on=False, **kw)

    label = {"FE": "Fixed effect", "MH": "Mantel-Haenszel", "Peto": "Peto"}.get(
        res.method, f"Random effects ({res.method}{', HKSJ' if res.test == 'knha' else ''})"
    )
    txt(-0.62, k + 1.45, "Study", weight="bold")
    txt(1.05, k + 1.45, f"Estimate [{res.level:.0%} CI]", weight="bold")
    txt(1.62, k + 1.45, "Weight", weight="bold", ha="right")
    for y, s, e, a, b, ww in zip(ys, res.slab, res.yi, lo, hi, w, strict=True):
        txt(-0.62, y, s)
        txt(1.05, y, f"{tr(e):.2f} [{tr(a):.2f}, {tr(b):.2f}]")
        txt(1.62, y, f"{ww:.1f}%", ha="right")
    txt(-0.62, yd, label, weight="bold")
    txt(
        1.05,
        yd,
        f"{tr(res.estimate):.2f} [{tr(res.ci_low):.2f}, {tr(res.ci_high):.2f}]",
        weight="bold",
    )
    if has_pi:
        txt(-0.62, yd - 0.55, "Prediction interval", color="C3")
        txt(1.05, yd - 0.55, f"[{tr(res.pi_low):.2f}, {tr(res.pi_high):.2f}]", color="C3")
    het = (
        f"Heterogeneity: τ² = {format_number(res.tau2, 3)}, I² = {res.i2:.0f}%, "
        f"Q = {res.q:.2f} (df = {max(res.k - 1, 0)}, p = {res.q_p:.3g})"
    )
    fig.text(0.02, 0.08 / height, het, fontsize=8.5, color="0.3")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def funnel_plot(
    res: RMAResult,
    *,
    contours: tuple[float, ...] = (0.10, 0.05, 0.01),
    xlabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """Contour-enhanced funnel plot: effect against standard error (inverted axis).

    Shaded regions mark where a study's two-sided p-value against 0 falls below each level
    in ``contours`` (Peters et al. 2008); the dashed triangle is the pseudo 95% region
    around the pooled estimate.

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced
    meta-analysis funnel plots. *J Clin Epidemiol* 61:991-996.
    """
    res = _check(res)
    if not all(0 < c < 1 for c in contours):
        raise ParameterError("contours", "significance levels in (0, 1)", contours)
    se = np.sqrt(res.vi)
    smax = float(se.max()) * 1.1
    s = np.linspace(0, smax, 100)
    fig = TrialFigure(figsize=(6.0, 4.5))
    ax = fig.add_subplot()
    levels = sorted(contours, reverse=True)
    shades = np.linspace(0.92, 0.7, len(levels))
    zs = [stats.norm.isf(c / 2) for c in levels]
    xmax = max(float(np.max(np.abs(res.yi) + 0.1 * smax)), zs[-1] * smax * 1.05)
    ax.fill_betweenx(s, -xmax, xmax, color="white", zorder=0)
    for zc, shade, lev in zip(zs, shades, levels, strict=True):
        ax.fill_betweenx(s, zc * s, xmax, color=str(shade), zorder=1, label=f"p < {lev:g}")
        ax.fill_betweenx(s, -xmax, -zc * s, color=str(shade), zorder=1)
    z95 = stats.norm.ppf(0.975)
    ax.plot(res.estimate - z95 * s, s, "k--", lw=0.8, zorder=2)
    ax.plot(res.estimate + z95 * s, s, "k--", lw=0.8, zorder=2)
    ax.axvline(res.estimate, color="k", lw=0.8, zorder=2)
    ax.scatter(res.yi, se, color="C0", edgecolor="k", zorder=3, s=30)
    ax.set_ylim(smax, 0)
    ax.set_xlim(-xmax, xmax)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(xlabel or ("log " + res.measure if res.measure in _RATIO else res.measure))
    ax.legend(loc="lower right", fontsize=8, title="contours", title_fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
