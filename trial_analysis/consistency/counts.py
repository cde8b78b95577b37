"""Counts and denominators implied by published percentages and a confidence interval."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validate import check_choice, check_conf_level, check_count, check_finite
from ..binary._intervals import RD_METHODS
from ..errors import ParameterError

__all__ = ["infer_counts", "published_counts"]

COLUMNS = ["x1", "n1", "x2", "n2", "p1", "p2", "difference"]


def _matches(value: np.ndarray, target: float, decimals: int) -> np.ndarray:
    # A reported number r with d decimals stands for anything in [r - h, r + h], h = 0.5e-d
    # (either rounding direction at the half-way point); 1e-9 absorbs binary floating error.
    half = 0.5 * 10.0 ** (-decimals)
    return np.abs(value - target) <= half + 1e-9


def _candidates(p: float, n_min: int, n_max: int, decimals: int) -> list[tuple[int, int]]:
    n = np.arange(n_min, n_max + 1)
    out = []
    for nn in n:
        x = np.arange(nn + 1)
        ok = _matches(100.0 * x / nn, p, decimals)
        out += [(int(xx), int(nn)) for xx in x[ok]]
    return out


def infer_counts(
    p1: float,
    p2: float,
    n1_max: int,
    n2_max: int,
    ci: Sequence[float] | None = None,
    decimals: int = 2,
    *,
    n1_min: int = 1,
    n2_min: int = 1,
    conf_level: float = 0.95,
    methods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Enumerate the counts ``(x1, n1, x2, n2)`` that reproduce published percentages.

    Every ``x/n`` with ``n_min <= n <= n_max`` whose percentage rounds to the published one
    is a candidate; when the published confidence interval of the difference ``p1 - p2`` is
    given, each candidate pair is kept only with the interval methods that reproduce both
    limits after rounding.

    Parameters
    ----------
    p1, p2 : float
        Published percentages (0-100) in arm 1 (experimental) and arm 2 (control).
    n1_max, n2_max : int
        Largest possible denominators (usually the randomised sizes).
    ci : (float, float), optional
        Published confidence interval of ``p1 - p2`` in percentage points.
    decimals : int, default 2
        Decimals shown in the publication: a value ``r`` stands for ``[r - h, r + h]``,
        ``h = 0.5 * 10**-decimals`` (the same for percentages and interval limits).
    n1_min, n2_min : int, default 1
        Smallest denominators to consider.
    conf_level : float, default 0.95
        Level of the published interval.
    methods : sequence of str, optional
        Interval methods to try; default all of ``"wald"``, ``"wald_cc"``, ``"newcombe"``,
        ``"agresti_caffo"``, ``"miettinen_nurminen"`` (see :mod:`trial_analysis.binary`).

    Returns
    -------
    pandas.DataFrame
        One row per candidate (``x1, n1, x2, n2, p1, p2, difference`` in %), and with ``ci``
        one row per candidate and reproducing method (columns ``method, method_label,
        ci_low, ci_high``, limits in percentage points). Empty when nothing fits.
        ``df.attrs`` records the search (ranges, decimals, methods tried, candidate count).

    Notes
    -----
    A percentage alone rarely fixes the denominator (20 % is 1/5, 2/10, ..., 9/45); the
    interval's width depends on ``n1`` and ``n2`` and usually pins them down. Half-way
    roundings are accepted in both directions, so the search never wrongly rejects.

    References
    ----------
    Brown NJL, Heathers JAJ (2017). The GRIM test. Soc Psychol Personal Sci 8:363-369
    (the idea of testing reported numbers for arithmetic consistency).

    Examples
    --------
    Zang et al. (2022): 20 % vs 4.55 %, 95 % CI 2.25-28.66 %, randomised 45 and 46.

    >>> from trial_analysis.consistency import infer_counts
    >>> infer_counts(20, 4.55, 45, 46, ci=(2.25, 28.66))[["x1", "n1", "x2", "n2", "method"]]
       x1  n1  x2  n2 method
    0   9  45   2  44   wald
    """
    p1 = check_finite("p1", p1)
    p2 = check_finite("p2", p2)
    for name, v in (("p1", p1), ("p2", p2)):
        if not 0 <= v <= 100:
            raise ParameterError(name, "a percentage between 0 and 100", v)
    n1_max = check_count("n1_max", n1_max, minimum=1)
    n2_max = check_count("n2_max", n2_max, minimum=1)
    n1_min = check_count("n1_min", n1_min, minimum=1)
    n2_min = check_count("n2_min", n2_min, minimum=1)
    if n1_min > n1_max:
        raise ParameterError("n1_min", f"at most n1_max={n1_max}", n1_min)
    if n2_min > n2_max:
        raise ParameterError("n2_min", f"at most n2_max={n2_max}", n2_min)
    decimals = check_count("decimals", decimals, minimum=0)
    conf_level = check_conf_level(conf_level)
    if methods is None:
        methods = list(RD_METHODS)
    methods = [check_choice("methods", m, RD_METHODS) for m in methods]
    if ci is not None:
        if isinstance(ci, (str, bytes)) or len(ci) != 2:
            raise ParameterError("ci", "a pair (low, high) in percentage points", ci)
        lo_pub, hi_pub = (check_finite("ci", v) for v in ci)
        if lo_pub > hi_pub:
            raise ParameterError("ci", "a pair with low <= high", ci)

    c1 = _candidates(p1, n1_min, n1_max, decimals)
    c2 = _candidates(p2, n2_min, n2_max, decimals)
    attrs = {
        "p1": p1,
        "p2": p2,
        "n1_range": (n1_min, n1_max),
        "n2_range": (n2_min, n2_max),
        "decimals": decimals,
        "n_candidates": len(c1) * len(c2),
        "methods_tried": list(methods) if ci is not None else [],
    }
    cols = COLUMNS + (["method", "method_label", "ci_low", "ci_high"] if ci is not None else [])
    if not c1 or not c2:
        df = pd.DataFrame(columns=cols)
        df.attrs.update(attrs)
        return df
    a1 = np.array(c1)
    a2 = np.array(c2)
    x1 = np.repeat(a1[:, 0], len(a2))
    n1 = np.repeat(a1[:, 1], len(a2))
    x2 = np.tile(a2[:, 0], len(a1))
    n2 = np.tile(a2[:, 1], len(a1))
    base = pd.DataFrame(
        {
            "x1": x1,
            "n1": n1,
            "x2": x2,
            "n2": n2,
            "p1": 100 * x1 / n1,
            "p2": 100 * x2 / n2,
            "difference": 100 * (x1 / n1 - x2 / n2),
        }
    )
    if ci is None:
        base.attrs.update(attrs)
        return base
    parts = []
    for m in methods:
        label, fn, _ref = RD_METHODS[m]
        _, lo, hi = fn(x1, n1, x2, n2, conf_level)
        ok = _matches(100 * lo, lo_pub, decimals) & _matches(100 * hi, hi_pub, decimals)
        if ok.any():
            part = base.loc[ok].copy()
            part["method"] = m
            part["method_label"] = label
            part["ci_low"] = 100 * lo[ok]
            part["ci_high"] = 100 * hi[ok]
            parts.append(part)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    df.attrs.update(attrs)
    return df


def published_counts(trial: str = "zang2022", endpoint: str = "composite") -> pd.DataFrame:
    """Counts implied by a trial's published percentages (and CI) of a binary endpoint.

    Reads the endpoint's published percentages per arm and, when published, the CI of their
    difference (``published.csv``), and runs :func:`infer_counts` with the randomised sizes as
    upper bounds. The one place where a trial's published binary results become counts.

    Parameters
    ----------
    trial : str
        Shipped trial name or trial folder.
    endpoint : str
        A binary endpoint id of the design.

    Returns
    -------
    pandas.DataFrame
        As :func:`infer_counts`; ``attrs`` holds ``p1``, ``p2``, ``ci``, ``conf_level``,
        ``trial`` and ``endpoint``.

    Raises
    ------
    ParameterError
        If ``endpoint`` is not a binary endpoint of the design.
    AnalysisError
        If the trial did not publish the endpoint's percentages.

    Examples
    --------
    >>> published_counts("zang2022")[["x1", "n1", "x2", "n2", "method"]].values.tolist()
    [[9, 45, 2, 44, 'wald']]
    """
    from pathlib import Path

    from ..design import load_design
    from ..errors import AnalysisError
    from ..published import load_published, published_value

    design = load_design(trial)
    try:
        ep = design.endpoint(endpoint)
    except KeyError:
        raise ParameterError("endpoint", "an endpoint id of the design", endpoint) from None
    if ep.type != "binary":
        raise ParameterError("endpoint", "a binary endpoint", f"{endpoint} ({ep.type})")
    pub = load_published(Path(design.source_file).parent)
    e, c = design.experimental_arm, design.control_arm
    try:
        p1 = published_value(pub, endpoint, e.name, ep.week, "percent")
        p2 = published_value(pub, endpoint, c.name, ep.week, "percent")
    except KeyError as exc:
        raise AnalysisError(f"{trial}: no published percentages for {endpoint!r}: {exc}") from None
    both = f"{e.name} - {c.name}"
    try:
        ci = (
            published_value(pub, endpoint, both, ep.week, "ci_low"),
            published_value(pub, endpoint, both, ep.week, "ci_high"),
        )
        m = (pub["quantity"] == endpoint) & (pub["statistic"] == "ci_low")
        cl = float(pub.loc[m, "conf_level"].iloc[0])
        cl = cl if np.isfinite(cl) else 0.95
    except KeyError:
        ci, cl = None, 0.95
    out = infer_counts(p1, p2, e.n_randomised, c.n_randomised, ci=ci, conf_level=cl)
    out.attrs.update(p1=p1, p2=p2, ci=ci, conf_level=cl, trial=str(trial), endpoint=endpoint)
    return out
