"""Counts and denominators implied by published percentages and a confidence interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import limits
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
    """Every ``(x, n)`` with ``n_min <= n <= n_max`` whose percentage matches ``p``.

    Only the few ``x`` next to ``n p / 100`` can match, so each ``n`` costs O(1 + n h / 50)
    instead of O(n): the same candidates, in the same order (by ``n``, then ``x``), as
    testing every ``x = 0..n``.
    """
    half = 0.5 * 10.0 ** (-decimals) + 1e-9
    out: list[tuple[int, int]] = []
    width = math.ceil(n_max * 2 * half / 100) + 4  # x values tested per n
    block = max(1, 1_000_000 // width)  # bounds the (n, x) block to ~1e6 cells
    for b0 in range(n_min, n_max + 1, block):
        n = np.arange(b0, min(b0 + block, n_max + 1))
        lo = np.floor(n * (p - half) / 100.0).astype(np.int64) - 1
        x = lo[:, None] + np.arange(width)[None, :]
        nn = np.broadcast_to(n[:, None], x.shape)
        ok = (x >= 0) & (x <= nn)
        ok &= _matches(100.0 * x / nn, p, decimals)
        out += list(zip(x[ok].tolist(), nn[ok].tolist(), strict=True))
    return out


def _decimals(decimals: Any) -> tuple[int, int, int, int]:
    """``(p1, p2, ci_low, ci_high)`` decimals from one int or a sequence of 2 or 4."""
    if isinstance(decimals, (int, np.integer)) and not isinstance(decimals, bool):
        d = check_count("decimals", decimals, minimum=0)
        return d, d, d, d
    if isinstance(decimals, (str, bytes)) or not isinstance(decimals, Sequence):
        raise ParameterError(
            "decimals", "an int or a sequence (p1, p2) or (p1, p2, ci_low, ci_high)", decimals
        )
    if len(decimals) not in (2, 4):
        raise ParameterError(
            "decimals", "2 values (p1, p2) or 4 (p1, p2, ci_low, ci_high)", decimals
        )
    d = [check_count(f"decimals[{i}]", v, minimum=0) for i, v in enumerate(decimals)]
    if len(d) == 2:
        d += [max(d), max(d)]
    return d[0], d[1], d[2], d[3]


def _expected_candidates(p: float, n_min: int, n_max: int, decimals: int) -> float:
    """Upper estimate of ``len(_candidates(...))`` from the arithmetic, before enumerating."""
    half = 0.5 * 10.0 ** (-decimals)
    span = n_max - n_min + 1.0
    return span * (1.0 + (n_min + n_max) * half / 100.0)


# Rough cost per candidate pair and interval method (2-core reference machine, see
# docs/limits.md): the Miettinen-Nurminen limits are found by bisection of a score equation.
_SECONDS_PER_PAIR = {
    "wald": 3e-7,
    "wald_cc": 3e-7,
    "newcombe": 5e-7,
    "agresti_caffo": 3e-7,
    "miettinen_nurminen": 9e-5,
}
_BYTES_PER_CANDIDATE = 120  # an (x, n) tuple in a list
_BYTES_PER_ROW = 200  # a row of the returned table (7 to 11 columns) with pandas overhead
_PAIR_BLOCK = 200_000  # pairs evaluated at once: bounds the working memory


def _check_cost(n_pairs: float, methods: Sequence[str] | None, n_text: str) -> None:
    seconds = n_pairs * (sum(_SECONDS_PER_PAIR[m] for m in methods) if methods else 1e-7)
    advice = (
        "narrow the search with n1_min/n2_min (e.g. the analysed denominators are rarely "
        "below the randomised sizes minus the dropouts)"
    )
    if methods and "miettinen_nurminen" in methods:
        advice += " or leave out methods='miettinen_nurminen' (the costly one)"
    limits.check_cost(
        f"count inference over {n_text} ({n_pairs:.2g} candidate pairs)",
        parameter="n1_max/n2_max",
        # the table of candidates when no interval is given; the matches only otherwise
        memory=_BYTES_PER_ROW * (n_pairs if not methods else _PAIR_BLOCK),
        seconds=seconds,
        advice=advice,
    )


def infer_counts(
    p1: float,
    p2: float,
    n1_max: int,
    n2_max: int,
    ci: Sequence[float] | None = None,
    decimals: int | Sequence[int] = 2,
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
    decimals : int or sequence of int, default 2
        Decimals shown in the publication: a value ``r`` stands for ``[r - h, r + h]``,
        ``h = 0.5 * 10**-decimals``. One number for all, or each number's own precision:
        ``(p1, p2)`` or ``(p1, p2, ci_low, ci_high)`` ("20 %" has 0 decimals, "4.55 %" 2;
        without interval precisions the limits take the larger of the two).
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
    dec = _decimals(decimals)
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

    n_text = f"n1 = {n1_min}..{n1_max}, n2 = {n2_min}..{n2_max}"
    tried = list(methods) if ci is not None else None
    # the candidate lists themselves first (O(n) each), then the exact number of pairs
    limits.check_cost(
        f"listing the denominators {n_text}",
        parameter="n1_max/n2_max",
        memory=_BYTES_PER_CANDIDATE
        * (
            _expected_candidates(p1, n1_min, n1_max, dec[0])
            + _expected_candidates(p2, n2_min, n2_max, dec[1])
        ),
        seconds=1e-7 * (n1_max - n1_min + n2_max - n2_min + 2),
        advice="give the largest plausible denominators (usually the randomised sizes)",
    )
    c1 = _candidates(p1, n1_min, n1_max, dec[0])
    c2 = _candidates(p2, n2_min, n2_max, dec[1])
    _check_cost(float(len(c1)) * len(c2), tried, n_text)
    attrs = {
        "p1": p1,
        "p2": p2,
        "n1_range": (n1_min, n1_max),
        "n2_range": (n2_min, n2_max),
        "decimals": dec if ci is not None else dec[:2],
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

    def pairs(i0: int, i1: int) -> pd.DataFrame:
        """The candidate pairs of the rows ``i0:i1`` of ``c1`` with every row of ``c2``."""
        b1 = a1[i0:i1]
        x1 = np.repeat(b1[:, 0], len(a2))
        n1 = np.repeat(b1[:, 1], len(a2))
        x2 = np.tile(a2[:, 0], len(b1))
        n2 = np.tile(a2[:, 1], len(b1))
        return pd.DataFrame(
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
        base = pairs(0, len(a1))
        base.attrs.update(attrs)
        return base
    # evaluated in blocks of c1 rows (bounded memory); the matches are collected per method
    # in the order of the full cross product, so the table is the same as in one pass
    step = max(1, _PAIR_BLOCK // len(a2))
    found: dict[str, list[pd.DataFrame]] = {m: [] for m in methods}
    for i0 in range(0, len(a1), step):
        base = pairs(i0, i0 + step)
        x1, n1, x2, n2 = (base[c].to_numpy() for c in ("x1", "n1", "x2", "n2"))
        for m in methods:
            label, fn, _ref = RD_METHODS[m]
            _, lo, hi = fn(x1, n1, x2, n2, conf_level)
            ok = _matches(100 * lo, lo_pub, dec[2]) & _matches(100 * hi, hi_pub, dec[3])
            if ok.any():
                part = base.loc[ok].copy()
                part["method"] = m
                part["method_label"] = label
                part["ci_low"] = 100 * lo[ok]
                part["ci_high"] = 100 * hi[ok]
                found[m].append(part)
    parts = [pd.concat(found[m]) for m in methods if found[m]]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    df.attrs.update(attrs)
    return df


def published_counts(trial: Any, endpoint: str, *, experimental: str | None = None) -> pd.DataFrame:
    """Counts implied by a trial's published percentages (and CI) of a binary endpoint.

    Reads the endpoint's published percentages per arm (the ``percent`` quantity the design
    declares for it, default the endpoint id) and, when published, the CI of their difference,
    and runs :func:`infer_counts` with the randomised sizes as upper bounds — or, where the
    endpoint's analysed patients per arm are published (statistic ``n``), exactly those — at
    the precision the numbers were printed with ("44.1" has 1 decimal). The one place where a
    trial's published binary results become counts.

    Parameters
    ----------
    trial : Trial
        From :func:`trial_analysis.load_trial`.
    endpoint : str
        A binary endpoint id of the design.
    experimental : str, optional
        The experimental arm compared with the control (default the design's first).

    Returns
    -------
    pandas.DataFrame
        As :func:`infer_counts`; ``attrs`` holds ``p1``, ``p2``, ``ci``, ``conf_level``,
        ``trial``, ``endpoint`` and ``arms``.

    Raises
    ------
    ParameterError
        If ``endpoint`` is not a binary endpoint of the design.
    AnalysisError
        If the trial did not publish the endpoint's percentages.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> t = ta.load_trial("zang2022")
    >>> published_counts(t, "composite")[["x1", "n1", "x2", "n2", "method"]].values.tolist()
    [[9, 45, 2, 44, 'wald']]
    """
    from ..errors import AnalysisError, ResourceLimitError
    from ..published import published_decimals, published_value
    from ..trial import Trial

    if not isinstance(trial, Trial):
        raise ParameterError(
            "trial", "a Trial (ta.load_trial(name or folder))", type(trial).__name__
        )
    design, pub = trial.design, trial.published
    try:
        ep = design.endpoint(endpoint)
    except KeyError:
        raise ParameterError("endpoint", "an endpoint id of the design", endpoint) from None
    if ep.type != "binary":
        raise ParameterError("endpoint", "a binary endpoint", f"{endpoint} ({ep.type})")
    e = design.arm(experimental) if experimental else design.experimental_arm
    c = design.control_arm
    q = ep.published_quantity("percent")
    try:
        p1 = published_value(pub, q, e.name, ep.week, "percent")
        p2 = published_value(pub, q, c.name, ep.week, "percent")
    except KeyError as exc:
        raise AnalysisError(
            f"{trial.id}: no published percentages for {endpoint!r}: {exc}"
        ) from None
    both = f"{e.name} - {c.name}"
    try:
        ci = (
            published_value(pub, q, both, ep.week, "ci_low"),
            published_value(pub, q, both, ep.week, "ci_high"),
        )
        m = (pub["quantity"] == q) & (pub["statistic"] == "ci_low") & (pub["arm"] == both)
        cl = float(pub.loc[m, "conf_level"].iloc[0])
        cl = cl if np.isfinite(cl) else 0.95
    except KeyError:
        ci, cl = None, 0.95
    design = trial.design
    # each number at the precision it was printed with ("20 %" is 19.5-20.5, "4.55 %"
    # 4.545-4.555); a number of unknown precision takes the most decimals of the others
    printed = [published_decimals(pub, q, a, ep.week, "percent") for a in (e.name, c.name)]
    if ci is not None:
        printed += [published_decimals(pub, q, both, ep.week, s) for s in ("ci_low", "ci_high")]
    known = [d for d in printed if d is not None]
    fallback = max(known) if known else 2
    decimals = [fallback if d is None else d for d in printed]
    # published analysed denominators (statistic "n" of the endpoint per arm) fix n exactly
    sizes = {}
    for a in (e, c):
        try:
            n = published_value(pub, q, a.name, ep.week, "n")
        except KeyError:
            n = None
        ok = n is not None and n == int(n) and 1 <= n <= a.n_randomised
        sizes[a.name] = (int(n), int(n)) if ok else (1, a.n_randomised)
    (n1_min, n1_max), (n2_min, n2_max) = sizes[e.name], sizes[c.name]
    try:
        out = infer_counts(
            p1,
            p2,
            n1_max,
            n2_max,
            ci=ci,
            decimals=decimals,
            n1_min=n1_min,
            n2_min=n2_min,
            conf_level=cl,
        )
    except ResourceLimitError as exc:
        raise ResourceLimitError(
            f"{design.source_file}: the counts behind the published {endpoint!r} percentages "
            f"are searched up to the randomised sizes (arms.n_randomised = {e.n_randomised}, "
            f"{c.n_randomised}): {exc}",
            parameter="arms.n_randomised",
            limit=exc.limit,
        ) from None
    out.attrs.update(
        p1=p1,
        p2=p2,
        ci=ci,
        conf_level=cl,
        trial=trial.id,
        endpoint=endpoint,
        arms=(e.name, c.name),
    )
    return out
