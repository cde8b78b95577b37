"""Do published means, SDs, changes and p-values fit together?

Checks that need no patient data, each returning structured :class:`Finding` objects
(``id, quantity, reported, recomputed, discrepancy, verdict, explanation``):

- :func:`grim` / :func:`grimmer` — can a mean (and SD) of ``n`` granular values be what was
  reported? (Brown & Heathers 2017; Anaya 2016.)
- :func:`change_arithmetic` — is a reported mean change the difference of the reported means?
- :func:`rho_sensitivity` — the pre-post correlation ρ (never published) as a parameter: the
  between-group p-value of the change (or ANCOVA) as a function of ρ, and the range of ρ
  consistent with a reported p-value; :func:`within_group_rho` does the same for a
  within-arm paired test.
- :func:`audit_summaries` — all of the above for a shipped trial's published numbers
  (``ta.consistency.audit_summaries("zang2022")``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_choice, check_count, check_finite, check_positive, check_probability
from ..errors import ParameterError
from ..results import Result, to_jsonable

__all__ = [
    "VERDICTS",
    "ArmSummary",
    "Finding",
    "RhoSensitivityResult",
    "SummaryAudit",
    "audit_summaries",
    "change_arithmetic",
    "default_denominators",
    "grim",
    "grimmer",
    "rho_sensitivity",
    "within_group_rho",
]

#: Verdicts a finding can carry.
VERDICTS = ("consistent", "inconsistent", "conditional", "not informative")


# --------------------------------------------------------------------------- findings
@dataclass(frozen=True)
class Finding(Result):
    """One consistency check of published numbers.

    Attributes
    ----------
    id : str
        Stable identifier, e.g. ``"hba1c_change_arithmetic_UC-MSC"``.
    quantity : str
        What was checked, in words.
    reported : str
        The published number(s) as printed.
    recomputed : str
        What the arithmetic or test gives.
    discrepancy : float
        ``reported - recomputed`` where both are numbers (NaN when not applicable).
    verdict : str
        One of :data:`VERDICTS`: ``consistent``, ``inconsistent``, ``conditional`` (holds only
        under a stated assumption, e.g. a range of ρ), ``not informative`` (the check cannot
        discriminate, e.g. GRIM with n >= 10^decimals).
    explanation : str
        Why, in a sentence or two, with the assumption used.
    """

    id: str
    quantity: str
    reported: str
    recomputed: str
    discrepancy: float
    verdict: str
    explanation: str
    title: ClassVar[str] = "Consistency finding"

    def __post_init__(self) -> None:
        check_choice("verdict", self.verdict, VERDICTS)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "id": self.id,
                    "quantity": self.quantity,
                    "reported": self.reported,
                    "recomputed": self.recomputed,
                    "discrepancy": self.discrepancy,
                    "verdict": self.verdict,
                    "explanation": self.explanation,
                }
            ]
        )

    @property
    def consistent(self) -> bool:
        return self.verdict == "consistent"


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


def _decimals(value: Any, decimals: int | None, name: str) -> tuple[Decimal, int]:
    """The reported value as a Decimal and its number of decimals (strings keep zeros)."""
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except ArithmeticError:
            raise ParameterError(name, "a number written as reported, e.g. '5.20'", value) from None
        if not d.is_finite():
            raise ParameterError(name, "a finite number", value)
        places = max(0, -d.as_tuple().exponent)  # type: ignore[operator]
    else:
        v = check_finite(name, value)
        d = Decimal(repr(v))
        places = max(0, -d.as_tuple().exponent)  # type: ignore[operator]
    if decimals is not None:
        places = check_count("decimals", decimals)
    return d, places


# --------------------------------------------------------------------------- GRIM / GRIMMER
def _grim_sums(m: Decimal, places: int, n: int, unit: Decimal) -> list[int]:
    """Integer sums S (in units of ``unit``) with mean S*unit/n within rounding of m."""
    half = Decimal(5) / Decimal(10) ** (places + 1)
    lo = math.floor((m - half) * n / unit)
    hi = math.ceil((m + half) * n / unit)
    return [s for s in range(lo, hi + 1) if abs(Decimal(s) * unit / n - m) <= half]


def grim(
    mean: float | str,
    n: int,
    *,
    decimals: int | None = None,
    items: int = 1,
    granularity: float | str = 1,
    percent: bool = False,
    id: str = "grim",
    quantity: str = "mean",
) -> Finding:
    """GRIM test: can ``n`` values on a grid of ``granularity`` have the reported mean?

    Parameters
    ----------
    mean : float or str
        Reported mean (a string keeps trailing zeros: ``"5.20"``); with ``percent=True``
        a percentage of ``n`` (a share x/n).
    n : int
        Sample size.
    decimals : int, optional
        Decimals of the reported mean; default: those written.
    items : int, default 1
        Number of integer items averaged per subject (a scale score).
    granularity : float or str, default 1
        Step of the measured values (1 for integers, ``"0.1"`` for HbA1c in % to one decimal).
    percent : bool
        Treat ``mean`` as a percentage of ``n`` (binary data).
    id, quantity : str
        Labels of the returned finding.

    Returns
    -------
    Finding
        ``consistent`` when some sum gives the mean after rounding (either way at exact
        halves), ``inconsistent`` otherwise, ``not informative`` when the grid of possible means
        is finer than the reporting precision (``n * items >= 10**decimals / granularity``).

    Notes
    -----
    A mean of ``N = n * items`` values on a grid of step ``g`` is ``S g / N`` for an integer
    ``S``; the reported mean ``m`` (``d`` decimals) is consistent when
    ``|S g / N - m| <= 0.5 * 10^-d`` for some ``S``.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in
    the reporting of results in psychology. *Soc Psychol Personal Sci* 2017;8:363-369.

    Examples
    --------
    >>> from trial_analysis.consistency import grim
    >>> grim("5.19", 28).verdict
    'inconsistent'
    """
    m, places = _decimals(mean, decimals, "mean")
    k = check_count("n", n, minimum=1)
    it = check_count("items", items, minimum=1)
    g = (
        Decimal(str(check_positive("granularity", float(granularity))))
        if not isinstance(granularity, str)
        else Decimal(granularity)
    )
    g = g.normalize()
    if percent:
        m = m / 100
        places += 2
        g, it = Decimal(1), 1
    total = k * it
    sums = _grim_sums(m, places, total, g)
    shown = f"{mean}{'%' if percent else ''} (n = {k}{f', {it} items' if it > 1 else ''})"
    step = 10 ** (-places)
    # means are spaced g/N apart; if that is no wider than the reporting step, every
    # reportable value is reachable and the test cannot fail
    informative = float(g) / total > step
    if sums:
        s = sums[0]
        val = float(Decimal(s) * g / total) * (100 if percent else 1)
        rec = f"{s}/{total}" + (f" x {g}" if g != 1 else "") + f" = {val:.{places + 2}g}"
        verdict = "consistent" if informative else "not informative"
        why = (
            f"a sum of {s} over {total} values gives the reported mean after rounding"
            if informative
            else f"with n = {total}, means are spaced {float(g) / total:.3g} apart, finer than "
            f"the reporting precision {step:g}: GRIM cannot detect an error"
        )
        return Finding(
            id, quantity, shown, rec, float(m) * (100 if percent else 1) - val, verdict, why
        )
    near = round(float(m) * total / float(g))
    val = near * float(g) / total * (100 if percent else 1)
    why = (
        f"no count x out of {total} gives {mean}% after rounding"
        if percent
        else f"no integer sum over {total} values on a grid of {g} rounds to the reported mean"
    )
    return Finding(
        id,
        quantity,
        shown,
        f"nearest possible: {val:.{places + 2}g}",
        float(m) * (100 if percent else 1) - val,
        "inconsistent",
        why,
    )


def grimmer(
    mean: float | str,
    sd: float | str,
    n: int,
    *,
    decimals_mean: int | None = None,
    decimals_sd: int | None = None,
    granularity: float | str = 1,
    id: str = "grimmer",
    quantity: str = "mean and SD",
) -> Finding:
    """GRIMMER test: are a reported mean and (sample) SD of ``n`` granular values possible?

    Parameters
    ----------
    mean, sd : float or str
        Reported mean and SD (strings keep trailing zeros).
    n : int
        Sample size (>= 2).
    decimals_mean, decimals_sd : int, optional
        Reporting precision; default: the decimals written.
    granularity : float or str, default 1
        Step of the measured values.
    id, quantity : str
        Labels of the returned finding.

    Returns
    -------
    Finding
        ``inconsistent`` when no (sum, sum of squares) pair reproduces both numbers.

    Notes
    -----
    With values ``k_i g`` (integers ``k_i``), sum ``S = Σ k_i`` and ``Q = Σ k_i²`` are
    integers, ``S`` must pass GRIM, and the sample SD fixes
    ``Q = (n - 1) (sd/g)² + S²/n`` within the rounding interval of ``sd``. Because
    ``k² ≡ k (mod 2)``, ``Q`` must have the parity of ``S`` (Anaya 2016). The test is
    necessary, not sufficient: a pair passing it may still be impossible.

    References
    ----------
    Anaya J. The GRIMMER test: a method for testing the validity of reported measures of
    variability. *PeerJ Preprints* 2016;4:e2400v1.

    Examples
    --------
    Five integers with mean 3.00 and SD 1.12 need a sum of squares Q = 50 (even) while the sum
    15 is odd:

    >>> from trial_analysis.consistency import grimmer
    >>> grimmer("3.00", "1.12", 5).verdict
    'inconsistent'
    """
    m, pm = _decimals(mean, decimals_mean, "mean")
    s, ps = _decimals(sd, decimals_sd, "sd")
    k = check_count("n", n, minimum=2)
    g = (
        Decimal(granularity)
        if isinstance(granularity, str)
        else Decimal(str(check_positive("granularity", float(granularity))))
    )
    shown = f"mean {mean}, SD {sd} (n = {k})"
    sums = _grim_sums(m, pm, k, g)
    if not sums:
        return Finding(
            id,
            quantity,
            shown,
            "no possible sum",
            math.nan,
            "inconsistent",
            "the mean already fails GRIM, so no SD can be consistent",
        )
    half = Decimal(5) / Decimal(10) ** (ps + 1)
    s_lo, s_hi = max(s - half, Decimal(0)) / g, (s + half) / g
    found = None
    for S in sums:
        base = Decimal(S) ** 2 / k
        q_lo = (k - 1) * s_lo**2 + base
        q_hi = (k - 1) * s_hi**2 + base
        q = math.ceil(q_lo)
        if (q - S) % 2:
            q += 1
        if q <= q_hi:
            found = (S, q)
            break
    if found is None:
        return Finding(
            id,
            quantity,
            shown,
            "no integer sum of squares of the parity of the sum",
            math.nan,
            "inconsistent",
            "for every sum compatible with the mean, no integer sum of squares with the parity "
            "of the sum gives the reported SD after rounding (GRIMMER)",
        )
    S, q = found
    sd_val = float(g) * math.sqrt(max((q - S**2 / k) / (k - 1), 0.0))
    # Q of the right parity is spaced 2 apart, so possible SDs are ~ g²/((n-1) sd) apart;
    # when that is no wider than the reporting step, the test cannot fail.
    informative = float(g) ** 2 / ((k - 1) * max(float(s), 1e-12)) > 10 ** (-ps)
    return Finding(
        id,
        quantity,
        shown,
        f"sum {S}, sum of squares {q}: SD {sd_val:.{ps + 2}f}",
        float(s) - sd_val,
        "consistent" if informative else "not informative",
        "an integer sum and sum of squares (same parity) reproduce both numbers"
        if informative
        else f"with n = {k} the possible SDs are spaced more finely than the reporting "
        "precision: GRIMMER cannot detect an error",
    )


# --------------------------------------------------------------------------- change arithmetic
def change_arithmetic(
    baseline_mean: float,
    followup_mean: float,
    reported_change: float,
    *,
    decimals: int = 2,
    id: str = "change_arithmetic",
    quantity: str = "mean change",
) -> Finding:
    """Is a reported mean change the difference of the reported follow-up and baseline means?

    The two means are rounded to ``decimals``, so their difference is uncertain by
    ``10^-decimals``; with the reported change's own rounding, a discrepancy above
    ``1.5 x 10^-decimals`` cannot be rounding.

    Notes
    -----
    The mean of within-patient changes equals the difference of the arm's means only when all
    three are computed on the same patients. A larger discrepancy means another analysis set
    (e.g. patients with both visits), a model-based (adjusted) change, or a misprint.

    Examples
    --------
    Zang 2022, UC-MSC: 9.02 -> 7.52 but "decreased 1.31 %":

    >>> from trial_analysis.consistency import change_arithmetic
    >>> change_arithmetic(9.02, 7.52, -1.31).verdict
    'inconsistent'
    """
    b = check_finite("baseline_mean", baseline_mean)
    f = check_finite("followup_mean", followup_mean)
    c = check_finite("reported_change", reported_change)
    d = check_count("decimals", decimals)
    diff = f - b
    tol = 1.5 * 10**-d + 1e-12
    disc = c - diff
    ok = abs(disc) <= tol
    rel = 100 * c / b if b else math.nan
    why = (
        f"difference of the means {diff:+.{d}f} agrees with the reported change within "
        f"rounding (±{tol:.{d + 1}f})"
        if ok
        else f"the reported change {c:+.{d}f} differs from the difference of the reported means "
        f"({f:.{d}f} - {b:.{d}f} = {diff:+.{d}f}) by {disc:+.{d}f}, more than rounding "
        f"(±{tol:.{d + 1}f}) allows; not a relative change either ({rel:+.1f} % of baseline). "
        "The change was likely computed on another analysis set (e.g. patients with both "
        "visits) or model-adjusted, or one number is misprinted."
    )
    return Finding(
        id,
        quantity,
        f"{c:+.{d}f}",
        f"{f:.{d}f} - {b:.{d}f} = {diff:+.{d}f}",
        disc,
        "consistent" if ok else "inconsistent",
        why,
    )


# --------------------------------------------------------------------------- rho sensitivity
@dataclass(frozen=True)
class ArmSummary:
    """Published summaries of one arm: baseline and follow-up mean/SD, n, reported change."""

    name: str
    mean_base: float
    sd_base: float
    mean_follow: float
    sd_follow: float
    n: int
    change: float | None = None

    def __post_init__(self) -> None:
        for k in ("mean_base", "mean_follow"):
            check_finite(k, getattr(self, k))
        for k in ("sd_base", "sd_follow"):
            check_positive(k, getattr(self, k))
        check_count("n", self.n, minimum=2)
        if self.change is not None:
            check_finite("change", self.change)

    def sd_change(self, rho: np.ndarray | float) -> np.ndarray:
        """SD of within-patient change: ``sqrt(sb² + sf² - 2 ρ sb sf)``."""
        return np.sqrt(
            np.maximum(
                self.sd_base**2
                + self.sd_follow**2
                - 2 * np.asarray(rho) * self.sd_base * self.sd_follow,
                0.0,
            )
        )

    def mean_change(self, reading: str) -> float:
        if reading == "reported":
            if self.change is None:
                raise ParameterError("change", f"the reported change of arm {self.name!r}", None)
            return float(self.change)
        return self.mean_follow - self.mean_base


READINGS = {
    "means": "change = difference of the reported means",
    "reported": "change = the reported mean change",
    "ancova": "ANCOVA of follow-up on baseline, from the reported means",
}


ANALYSIS_SETS = {
    "means": "assumes the baseline and follow-up means describe the same patients (the n given)",
    "reported": "assumes the published changes are means of within-patient changes in the n "
    "patients with both visits",
    "ancova": "assumes the baseline and follow-up means describe the same patients and a "
    "common slope in both arms",
}


def _p_between(a1: ArmSummary, a2: ArmSummary, rho: np.ndarray, reading: str, equal_var: bool):
    """Two-sided p of the between-arm comparison at each ρ (vectorised)."""
    rho = np.asarray(rho, dtype=float)
    n1, n2 = a1.n, a2.n
    if reading == "ancova":
        # ANCOVA (follow-up ~ arm + baseline) from summaries with within-arm correlation rho:
        # within-arm sums of squares and products, common slope b = Sbf / Sbb,
        # effect = (f1 - f2) - b (b1 - b2), residual variance (Sff - Sbf^2/Sbb) / (N - 3),
        # se^2 = s^2 (1/n1 + 1/n2 + (b1 - b2)^2 / Sbb) -- what lm() gives on such data.
        sbb = (n1 - 1) * a1.sd_base**2 + (n2 - 1) * a2.sd_base**2
        sff = (n1 - 1) * a1.sd_follow**2 + (n2 - 1) * a2.sd_follow**2
        sbf = rho * ((n1 - 1) * a1.sd_base * a1.sd_follow + (n2 - 1) * a2.sd_base * a2.sd_follow)
        db = a1.mean_base - a2.mean_base
        est = (a1.mean_follow - a2.mean_follow) - sbf / sbb * db
        s2 = np.maximum(sff - sbf**2 / sbb, 1e-300) / (n1 + n2 - 3)
        se = np.sqrt(s2 * (1 / n1 + 1 / n2 + db**2 / sbb))
        return est, 2 * stats.t.sf(np.abs(est / se), n1 + n2 - 3)
    est = a1.mean_change(reading) - a2.mean_change(reading)
    s1, s2 = a1.sd_change(rho), a2.sd_change(rho)
    v1, v2 = s1**2 / n1, s2**2 / n2
    if equal_var:
        df = n1 + n2 - 2
        se = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df * (1 / n1 + 1 / n2))
    else:
        se = np.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    with np.errstate(divide="ignore"):
        t = np.abs(est) / se
    return np.full_like(rho, est), 2 * stats.t.sf(t, df)


def _level_set(fun: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, grid: np.ndarray):
    """Intervals of ρ (within the grid's range) where ``lo <= fun(ρ) <= hi``.

    Breakpoints are the roots of ``fun - lo`` and ``fun - hi`` bracketed by sign changes on the
    grid (refined by Brent's method), so a narrow band crossed between two grid points is not
    missed; between breakpoints membership is decided at the midpoint.
    """
    vals = fun(grid)
    points = [float(grid[0]), float(grid[-1])]
    for target in (lo, hi):
        d = vals - target
        for i in np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0):
            points.append(
                optimize.brentq(
                    lambda r, t=target: float(fun(np.array([r]))[0]) - t,
                    grid[i],
                    grid[i + 1],
                    xtol=1e-12,
                )
            )
        points += [float(g) for g in grid[d == 0]]
    points = np.unique(points)
    mids = (points[:-1] + points[1:]) / 2
    mv = fun(mids)
    inside = (mv >= lo) & (mv <= hi)
    intervals: list[tuple[float, float]] = []
    for k in np.flatnonzero(inside):
        a, b = float(points[k]), float(points[k + 1])
        if intervals and intervals[-1][1] == a:
            intervals[-1] = (intervals[-1][0], b)
        else:
            intervals.append((a, b))
    return intervals


@dataclass(frozen=True)
class RhoSensitivityResult(Result):
    """Between-arm p-value as a function of the unknown pre-post correlation ρ."""

    arm1: ArmSummary
    arm2: ArmSummary
    reported_p: float
    p_decimals: int
    equal_var: bool
    curves: pd.DataFrame = field(repr=False)
    intervals: dict[str, list[tuple[float, float]]]
    title: ClassVar[str] = "Pre-post correlation consistent with the reported between-group p"

    def to_frame(self) -> pd.DataFrame:
        a, b = self.arm1, self.arm2
        rows = []
        for reading, ivs in self.intervals.items():
            if reading == "ancova":
                diff = (
                    f"{a.mean_follow - b.mean_follow:+.2f} - slope(ρ) x "
                    f"({a.mean_base - b.mean_base:+.2f})"
                )
            else:
                diff = f"{a.mean_change(reading) - b.mean_change(reading):+.2f}"
            rows.append(
                {
                    "reading": reading,
                    "description": READINGS[reading],
                    "difference": diff,
                    "n1": a.n,
                    "n2": b.n,
                    "rho_ranges": "; ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi in ivs) or "none",
                }
            )
        return pd.DataFrame(rows)

    @property
    def notes(self) -> tuple[str, ...]:
        h = 0.5 * 10**-self.p_decimals
        return (
            f"A p reported as {self.reported_p:g} is taken to lie in "
            f"[{self.reported_p - h:g}, {self.reported_p + h:g}]. ρ = correlation between "
            "baseline and follow-up within an arm (the same in both arms); "
            f"{'Student' if self.equal_var else 'Welch'} t for the change.",
            "'means' assumes the baseline and follow-up means describe the same patients (the "
            "n given); 'reported' uses the published changes, which come from patients with "
            "both measurements; 'ancova' adjusts the follow-up means for baseline.",
        )

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["intervals"] = to_jsonable({k: [list(v) for v in iv] for k, iv in self.intervals.items()})
        return d

    def findings(self, prefix: str = "rho", quantity: str = "between-group p") -> list[Finding]:
        out = []
        for reading, ivs in self.intervals.items():
            p = self.curves.loc[self.curves.reading == reading, "p_value"]
            rng_txt = "; ".join(f"{lo:.3f} to {hi:.3f}" for lo, hi in ivs)
            out.append(
                Finding(
                    f"{prefix}_{reading}",
                    f"{quantity} ({READINGS[reading]}; n = {self.arm1.n}/{self.arm2.n})",
                    f"p = {self.reported_p:g}",
                    f"p ranges {p.min():.2g} to {p.max():.2g} over ρ in [-1, 1]",
                    math.nan,
                    "conditional" if ivs else "inconsistent",
                    (
                        f"reproduced only for ρ in {rng_txt}"
                        if ivs
                        else "no correlation in [-1, 1] reproduces the reported p"
                    )
                    + f"; {ANALYSIS_SETS[reading]}",
                )
            )
        return out

    def plot(self, ax: Any = None) -> Any:
        """Figure: p against ρ for each reading, with the reported p marked."""

        from .._figures import TrialFigure

        fig = None
        if ax is None:
            fig = TrialFigure(figsize=(6.5, 4))
            ax = fig.subplots()
        for i, (reading, sub) in enumerate(self.curves.groupby("reading", sort=False)):
            ax.plot(sub["rho"], sub["p_value"], color=f"C{i}", label=READINGS[reading])
            for lo, hi in self.intervals[reading]:
                ax.axvspan(lo, hi, color=f"C{i}", alpha=0.15)
        ax.axhline(
            self.reported_p, color="k", ls="--", lw=1, label=f"reported p = {self.reported_p:g}"
        )
        ax.set_yscale("log")
        # near ρ = ±1 the p-values fall to 1e-70 and flatten the interesting region: show
        # 1e-6 .. 1 (the reported p and the 0.05 line), clipping smaller p at the axis
        ax.set_ylim(1e-6, 1.5)
        ax.axhline(0.05, color="0.5", ls=":", lw=1, label="p = 0.05")
        ax.set_xlabel("pre-post correlation ρ")
        ax.set_ylabel("two-sided p-value")
        ax.set_title(self.title)
        ax.legend(frameon=False, fontsize=8)
        return fig if fig is not None else ax.figure


def rho_sensitivity(
    arm1: ArmSummary,
    arm2: ArmSummary,
    reported_p: float,
    *,
    p_decimals: int | None = None,
    readings: Sequence[str] | None = None,
    equal_var: bool = True,
    rho: Sequence[float] | None = None,
) -> RhoSensitivityResult:
    """Range of the pre-post correlation ρ that reproduces a reported between-arm p-value.

    Parameters
    ----------
    arm1, arm2 : ArmSummary
        Baseline and follow-up mean/SD, n and (optionally) the reported change of each arm.
    reported_p : float
        The published p-value (e.g. 0.0081).
    p_decimals : int, optional
        Decimals of the reported p (default: those of ``repr(reported_p)``).
    readings : sequence of {"means", "reported", "ancova"}
        Which analyses to try (default all that the data allow): a t-test of the change
        computed from the means, of the reported changes, and an ANCOVA from the summaries.
    equal_var : bool, default True
        Student or Welch t for the changes.
    rho : sequence of float, optional
        Grid for the curves; default 801 points in [-0.999, 0.999].

    Returns
    -------
    RhoSensitivityResult
        ``intervals`` (reading -> list of (ρ_low, ρ_high)), ``curves`` (long table of
        ``reading, rho, estimate, p_value``), ``plot()``, ``findings()``.

    Notes
    -----
    SD of change: ``s_c = sqrt(s_b² + s_f² - 2 ρ s_b s_f)`` in each arm. ANCOVA from summaries:
    within-arm sums of squares ``S_bb = Σ (n_i - 1) s_bi²``, ``S_ff``, and products
    ``S_bf = ρ Σ (n_i - 1) s_bi s_fi``; slope ``S_bf / S_bb``; estimate ``Δf - slope Δb``;
    ``s² = (S_ff - S_bf² / S_bb) / (N - 3)``; ``se² = s² (1/n1 + 1/n2 + Δb² / S_bb)``;
    ``N - 3`` df. These equal R's ``lm(follow ~ arm + base)`` on data with exactly these
    summaries (checked in ``tests/reference/continuous_summaries.R``).

    References
    ----------
    Follmann D, et al. Variance imputation for overviews of clinical trials with continuous
    response. *J Clin Epidemiol* 1992;45:769-773. Higgins JPT, et al. *Cochrane Handbook*
    v6.4, section 6.5.2.8 (imputing a change-from-baseline SD from a correlation).
    """
    if not isinstance(arm1, ArmSummary) or not isinstance(arm2, ArmSummary):
        raise ParameterError("arm1/arm2", "ArmSummary objects", (type(arm1), type(arm2)))
    p = check_probability("reported_p", reported_p)
    _, places = _decimals(reported_p, p_decimals, "reported_p")
    if readings is None:
        readings = ["means"]
        if arm1.change is not None and arm2.change is not None:
            readings.append("reported")
        readings.append("ancova")
    for r in readings:
        check_choice("readings", r, READINGS)
    grid = np.linspace(-0.999, 0.999, 801) if rho is None else np.asarray(rho, dtype=float).ravel()
    if grid.size < 2 or np.any(np.abs(grid) >= 1) or np.any(np.diff(grid) <= 0):
        raise ParameterError("rho", "an increasing grid of correlations in (-1, 1)", rho)
    h = 0.5 * 10**-places
    frames, intervals = [], {}
    for r in readings:
        est, pv = _p_between(arm1, arm2, grid, r, equal_var)
        frames.append(pd.DataFrame({"reading": r, "rho": grid, "estimate": est, "p_value": pv}))
        intervals[r] = _level_set(
            lambda g, r=r: _p_between(arm1, arm2, g, r, equal_var)[1], p - h, p + h, grid
        )
    return RhoSensitivityResult(
        arm1=arm1,
        arm2=arm2,
        reported_p=p,
        p_decimals=places,
        equal_var=bool(equal_var),
        curves=pd.concat(frames, ignore_index=True),
        intervals=intervals,
    )


def within_group_rho(
    arm: ArmSummary,
    relation: str,
    bound: float,
    reading: str = "means",
    rho: Sequence[float] | None = None,
) -> list[tuple[float, float]]:
    """Ranges of ρ for which a paired t-test of the arm's change gives ``p <relation> bound``.

    ``t = mean_change / (s_c / sqrt(n))`` on ``n - 1`` df with ``s_c`` from ρ as in
    :func:`rho_sensitivity`. Returns ``[]`` when no ρ in (-1, 1) satisfies the relation.

    Examples
    --------
    Zang 2022 placebo, 8.89 ± 1.11 -> 8.19 ± 1.02, "p > 0.05" with n = 44:

    >>> from trial_analysis.consistency.summaries import ArmSummary, within_group_rho
    >>> within_group_rho(ArmSummary("Placebo", 8.89, 1.11, 8.19, 1.02, 44), ">", 0.05)
    []
    """
    check_choice("relation", relation, ("<", ">", "<=", ">="))
    b = check_probability("bound", bound)
    check_choice("reading", reading, ("means", "reported"))
    grid = np.linspace(-0.999, 0.999, 801) if rho is None else np.asarray(rho, dtype=float)
    mc = arm.mean_change(reading)

    def pfun(g: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            t = abs(mc) / (arm.sd_change(g) / math.sqrt(arm.n))
        return 2 * stats.t.sf(t, arm.n - 1)

    if relation in ("<", "<="):
        return _level_set(pfun, 0.0, b, grid)
    return _level_set(pfun, b, 1.0, grid)


# --------------------------------------------------------------------------- trial audit
@dataclass(frozen=True)
class SummaryAudit(Result):
    """Every summary-statistic consistency finding for one trial."""

    trial: str
    findings: tuple[Finding, ...]
    denominators: tuple[int, int]
    denominator_source: str
    rho: RhoSensitivityResult | None = field(default=None, repr=False)
    sd_curve: Any = field(default=None, repr=False)
    rho_by_endpoint: dict[str, RhoSensitivityResult] = field(default_factory=dict, repr=False)
    sd_by_endpoint: dict[str, Any] = field(default_factory=dict, repr=False)
    title: ClassVar[str] = "Published-number audit: means, SDs, changes and p-values"

    def to_frame(self) -> pd.DataFrame:
        if not self.findings:
            return pd.DataFrame(
                columns=[
                    "id",
                    "quantity",
                    "reported",
                    "recomputed",
                    "discrepancy",
                    "verdict",
                    "explanation",
                ]
            )
        return pd.concat([f.to_frame() for f in self.findings], ignore_index=True)

    @property
    def notes(self) -> tuple[str, ...]:
        n1, n2 = self.denominators
        return (
            f"Denominators n = {n1}/{n2} ({self.denominator_source}); pass n1=, n2= to change them.",
        )

    def figures(self) -> dict[str, Any]:
        """Named matplotlib Figures: the ρ curve and the SD sensitivity curve."""
        out = {}
        if self.rho is not None:
            out["rho_curve"] = self.rho.plot()
        if self.sd_curve is not None:
            out["sd_curve"] = self.sd_curve.plot()
        return out

    def __getitem__(self, id: str) -> Finding:
        for f in self.findings:
            if f.id == id:
                return f
        raise KeyError(f"no finding {id!r}; ids: {[f.id for f in self.findings]}")


def _adjustment_finding(a1: ArmSummary, a2: ArmSummary, endpoint: str, name: str) -> Finding:
    """Could baseline-adjusted (ANCOVA LS-mean) changes explain the reported changes?

    In ``follow = α_arm + β base``, the LS-mean change of arm i at the overall baseline mean
    ``x̄`` is ``raw_i - (β - 1)(x̄_i - x̄)``; solving for β in each arm gives the slope each
    reported change would need. One common β in [0, 1.5] would make adjustment a plausible
    explanation.
    """
    xbar = (a1.n * a1.mean_base + a2.n * a2.mean_base) / (a1.n + a2.n)
    betas = []
    for a in (a1, a2):
        raw, rep = a.mean_follow - a.mean_base, float(a.change)  # type: ignore[arg-type]
        dx = a.mean_base - xbar
        betas.append(1 + (raw - rep) / dx if dx else math.nan)
    ok = all(math.isfinite(b) and 0 <= b <= 1.5 for b in betas) and abs(betas[0] - betas[1]) < 0.2
    txt = ", ".join(f"{a.name} {b:.2f}" for a, b in zip((a1, a2), betas, strict=True))
    return Finding(
        f"{endpoint}_change_adjustment",
        f"{name}: reported changes as baseline-adjusted (ANCOVA) means (n = {a1.n}/{a2.n})",
        f"{a1.change:+.2f} / {a2.change:+.2f}",
        f"slope of follow-up on baseline needed: {txt}",
        betas[0] - betas[1],
        "consistent" if ok else "inconsistent",
        (
            "a common slope in [0, 1.5] reproduces both reported changes"
            if ok
            else "adjusting the changes to a common baseline would need implausible or "
            "different slopes in the two arms, so adjustment does not explain the reported "
            "changes"
        ),
    )


def _check_trial(trial: Any) -> Any:
    from ..trial import Trial

    if not isinstance(trial, Trial):
        raise ParameterError(
            "trial", "a Trial (ta.load_trial(name or folder))", type(trial).__name__
        )
    return trial


def default_denominators(
    trial: Any, experimental: str | None = None, endpoint: str | None = None
) -> tuple[int, int, str]:
    """Analysed denominators ``(n1, n2, source)`` of ``experimental`` vs the control arm.

    The endpoint's own published ``n`` per arm (statistic ``n`` of its ``level`` or
    ``change`` quantity at its week) when ``endpoint`` is given and both arms have one; else
    those implied by the primary binary endpoint's published percentages and CI
    (:func:`~trial_analysis.consistency.published_counts`) when they are unique; else the
    randomised sizes.

    Parameters
    ----------
    trial : Trial
        From :func:`trial_analysis.load_trial`.
    experimental : str, optional
        Experimental arm (default the design's first).
    endpoint : str, optional
        A continuous endpoint whose published per-arm ``n`` are preferred.
    """
    from ..errors import AnalysisError, ResourceLimitError
    from ..published import published_value
    from .counts import published_counts

    trial = _check_trial(trial)
    design = trial.design
    e = design.arm(experimental) if experimental else design.experimental_arm
    c = design.control_arm
    if endpoint is not None:
        ep = design.endpoint(endpoint)
        for role in ("level", "change"):
            q = ep.published_quantity(role)
            try:
                n = [published_value(trial.published, q, a.name, ep.week, "n") for a in (e, c)]
            except KeyError:
                continue
            if all(v >= 1 and v == int(v) for v in n):
                return int(n[0]), int(n[1]), f"published n of {q!r} at week {ep.week:g}"
    binary = [ep for ep in design.endpoints if ep.type == "binary"]
    binary.sort(key=lambda ep: ep.role != "primary")
    for ep in binary[:1]:
        try:
            cand = published_counts(trial, ep.id, experimental=e.name)
        except (AnalysisError, ParameterError, ResourceLimitError):  # too large: as unknown
            break
        pairs = cand[["n1", "n2"]].drop_duplicates()
        if len(pairs) == 1:
            n1, n2 = (int(v) for v in pairs.iloc[0])
            return n1, n2, "inferred from the primary endpoint's published percentages and CI"
    return e.n_randomised, c.n_randomised, "randomised sizes (analysed denominators unknown)"


def _label(design: Any, code: str) -> str:
    try:
        return design.parameter(code).label
    except KeyError:
        return code


def _half_unit(pub: pd.DataFrame, q: str, arm: str, week: Any, stat: str) -> float:
    """Half a unit of the last printed digit of a published number (0 when unknown)."""
    from ..published import published_decimals

    d = published_decimals(pub, q, arm, week, stat)
    return 0.0 if d is None else 0.5 * 10.0**-d


def _week_p_finding(pub, lq, cq, e, c, week, n1, n2, ep_id, name) -> Finding | None:
    """The published between-arm p of an endpoint given as mean ± SD per arm at its week only,
    against Student's and Welch's t from those summaries over the rounding of the means and SDs
    (the p-value is monotone in the difference and the SDs: its range is reached at the corners
    of the rounding box)."""
    from ..published import published_value

    try:
        m1, s1, m2, s2 = (
            published_value(pub, lq, a, week, st) for a in (e, c) for st in ("mean", "sd")
        )
    except KeyError:
        return None
    prow = None
    for q in (cq, lq):
        if q is None:
            continue
        hit = pub.loc[
            (pub.quantity == q)
            & (pub.arm == f"{e} vs {c}")
            & (pub.statistic == "p_value")
            & (pub.week == week).fillna(False)
        ]
        if len(hit):
            prow, pq = hit.iloc[0], q
            break
    if prow is None:
        return None
    h = {
        k: _half_unit(pub, lq, a, week, st)
        for k, (a, st) in {
            "m1": (e, "mean"),
            "s1": (e, "sd"),
            "m2": (c, "mean"),
            "s2": (c, "sd"),
        }.items()
    }
    diff = abs(m1 - m2)
    lo_d, hi_d = max(diff - h["m1"] - h["m2"], 0.0), diff + h["m1"] + h["m2"]
    ps = []
    for eq in (True, False):
        for d, a, b in ((hi_d, s1 - h["s1"], s2 - h["s2"]), (lo_d, s1 + h["s1"], s2 + h["s2"])):
            t = stats.ttest_ind_from_stats(
                d, max(a, 1e-12), n1, 0.0, max(b, 1e-12), n2, equal_var=eq
            )
            ps.append(float(t.pvalue))
    p_lo, p_hi = min(ps), max(ps)
    v, rel = float(prow["value"]), str(prow["relation"])
    hp = _half_unit(pub, pq, f"{e} vs {c}", week, "p_value") if rel == "=" else 0.0
    if rel == "=":
        ok = p_lo <= v + hp and v - hp <= p_hi
    elif rel.startswith("<"):
        ok = p_lo < v
    else:
        ok = p_hi > v
    return Finding(
        f"{ep_id}_between_p_week",
        f"{name} between-group p at week {week} (t-test from the published means, SDs and "
        f"n = {n1}/{n2})",
        f"p {rel} {v:g}",
        f"p = {p_lo:.3g} to {p_hi:.3g}",
        math.nan,
        "consistent" if ok else "inconsistent",
        "Student and Welch t over the rounding of the printed means and SDs"
        + (
            ""
            if ok
            else "; no reading within rounding gives the published p (another test, "
            "another n, adjusted analysis, or an error)"
        ),
    )


def audit_summaries(
    trial: Any,
    n1: int | None = None,
    n2: int | None = None,
    *,
    experimental: str | None = None,
    endpoints: Sequence[str] | None = None,
    equal_var: bool = True,
) -> SummaryAudit:
    """Every summary-statistic consistency finding of a trial's published continuous endpoints.

    Driven by the design: for each continuous endpoint, the ``published.csv`` quantities it
    declares (``published = {level = ..., change = ...}``; default ``change`` = the endpoint id)
    are read and every check their numbers allow is run:

    - with per-arm means and SDs at baseline and at the endpoint's week (``level``): GRIM and
      GRIMMER at the parameter's declared ``resolution``; the reported mean change (``change``)
      against the difference of the means; whether baseline adjustment explains reported
      changes; the pre-post correlations ρ reproducing a published within-group and the
      between-group p-value;
    - with per-arm mean changes but no SD: the largest common SD for which a published
      between-group "p < bound" holds, and (for percentages) whether the number can be a share
      of the analysed patients (GRIM).

    Parameters
    ----------
    trial : Trial
        From :func:`trial_analysis.load_trial`.
    n1, n2 : int, optional
        Denominators of the continuous endpoints (often unpublished); default
        :func:`default_denominators`.
    experimental : str, optional
        The experimental arm compared with the control (default the design's first).
    endpoints : sequence of str, optional
        Endpoint ids to audit (default every continuous endpoint).
    equal_var : bool
        Student (default) or Welch t in the ρ and SD analyses.

    Returns
    -------
    SummaryAudit
        ``findings`` (tuple of :class:`Finding`), ``to_frame()`` one row per finding,
        ``figures()`` (ρ curve, SD curve), ``audit["<id>"]`` to fetch a finding.

    Examples
    --------
    >>> import trial_analysis as ta
    >>> audit = ta.consistency.audit_summaries(ta.load_trial("zang2022"))
    >>> audit["hba1c_change_arithmetic_UC-MSC"].verdict
    'inconsistent'
    """
    from ..continuous import sd_sensitivity
    from ..published import published_value

    trial = _check_trial(trial)
    design, pub = trial.design, trial.published
    e = (design.arm(experimental) if experimental else design.experimental_arm).name
    c = design.control_arm.name
    if n1 is None or n2 is None:
        one = endpoints[0] if endpoints is not None and len(endpoints) == 1 else None
        d1, d2, src = default_denominators(trial, e, endpoint=one)
        n1 = d1 if n1 is None else n1
        n2 = d2 if n2 is None else n2
        if src.startswith("inferred") and (n1, n2) != (d1, d2):
            src = "user-supplied"
    else:
        src = "user-supplied"
    n1 = check_count("n1", n1, minimum=2)
    n2 = check_count("n2", n2, minimum=2)
    findings: list[Finding] = []
    rho_res: dict[str, RhoSensitivityResult] = {}
    sd_res: dict[str, Any] = {}

    def val(q: str | None, arm: str, week: int | None, stat: str) -> float | None:
        if q is None:
            return None
        try:
            return published_value(pub, q, arm, week, stat)
        except KeyError:
            return None

    def row(q: str | None, arm: str, week: int | None, stat: str) -> pd.Series | None:
        if q is None or pub.empty:
            return None
        m = (pub.quantity == q) & (pub.arm == arm) & (pub.statistic == stat)
        m &= pub.week.isna() if week is None else (pub.week == week).fillna(False)
        return pub.loc[m].iloc[0] if m.any() else None

    eps = [ep for ep in design.endpoints if ep.type == "continuous"]
    if endpoints is not None:
        eps = [ep for ep in eps if ep.id in endpoints]
    base_week = min(design.visit_weeks) if design.visit_weeks else 0
    for ep in eps:
        lq, cq = ep.published_quantity("level"), ep.published_quantity("change")
        w, name = ep.week, _label(design, ep.parameter)
        res = design.parameter(ep.parameter).resolution if ep.parameter else None
        arms: dict[str, ArmSummary] = {}
        for arm, n in ((e, n1), (c, n2)):
            vals = [
                val(lq, arm, wk, s)
                for wk, s in ((base_week, "mean"), (base_week, "sd"), (w, "mean"), (w, "sd"))
            ]
            if any(v is None for v in vals):
                continue
            change = val(cq, arm, w, "mean")
            arms[arm] = ArmSummary(arm, vals[0], vals[1], vals[2], vals[3], n, change)
            if change is not None:
                findings.append(
                    change_arithmetic(
                        vals[0],
                        vals[2],
                        change,
                        id=f"{ep.id}_change_arithmetic_{arm}",
                        quantity=f"{name} mean change, {arm}",
                    )
                )
            if res is None:
                continue
            # GRIM / GRIMMER at the parameter's measurement grid
            g = f"{res:g}"
            for wk, (mv, sv) in ((base_week, (vals[0], vals[1])), (w, (vals[2], vals[3]))):
                findings.append(
                    grim(
                        f"{mv:.2f}",
                        n,
                        granularity=g,
                        id=f"{ep.id}_grim_{arm}_w{wk}",
                        quantity=f"{name} mean, {arm}, week {wk} (values to {g})",
                    )
                )
                findings.append(
                    grimmer(
                        f"{mv:.2f}",
                        f"{sv:.2f}",
                        n,
                        granularity=g,
                        id=f"{ep.id}_grimmer_{arm}_w{wk}",
                        quantity=f"{name} mean and SD, {arm}, week {wk} (values to {g})",
                    )
                )
        if len(arms) < 2:  # only the endpoint's week: its between-arm p against a t-test
            f = _week_p_finding(pub, lq, cq, e, c, w, n1, n2, ep.id, name)
            if f is not None:
                findings.append(f)
        if len(arms) == 2 and all(a.change is not None for a in arms.values()):
            findings.append(_adjustment_finding(arms[e], arms[c], ep.id, name))
        if len(arms) == 2:
            a1, a2 = arms[e], arms[c]
            for arm, n in ((a1, n1), (a2, n2)):
                r = row(lq, arm.name, w, "p_value_within")
                if r is None:
                    continue
                rel, bound = str(r["relation"]), float(r["value"])
                for reading in ("means", "reported") if arm.change is not None else ("means",):
                    ivs = within_group_rho(arm, rel, bound, reading=reading)
                    txt = "; ".join(f"{lo:.3f} to {hi:.3f}" for lo, hi in ivs)
                    full = ivs and ivs[0][0] <= -0.99 and ivs[-1][1] >= 0.99
                    findings.append(
                        Finding(
                            f"{ep.id}_within_p_{arm.name}_{reading}",
                            f"{name} within-group p, {arm.name} (paired t, n = {n}; "
                            f"{READINGS[reading]})",
                            f"p {rel} {bound:g}",
                            f"holds for ρ in {txt}" if ivs else "holds for no ρ in [-1, 1]",
                            math.nan,
                            "consistent" if full else ("conditional" if ivs else "inconsistent"),
                            (
                                "holds whatever the pre-post correlation"
                                if full
                                else f"needs a pre-post correlation in {txt}"
                                if ivs
                                else "a paired t-test cannot give this p with these means, SDs "
                                "and n for any correlation; another test, another n, or an error"
                            ),
                        )
                    )
            pr = row(cq, f"{e} vs {c}", w, "p_value")
            if pr is not None and pr["relation"] == "=":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    rr = rho_sensitivity(a1, a2, float(pr["value"]), equal_var=equal_var)
                rho_res[ep.id] = rr
                findings += rr.findings(f"{ep.id}_between_p_rho", f"{name} between-group p")
            continue
        # ---- change means without SDs
        m1, m2 = val(cq, e, w, "mean"), val(cq, c, w, "mean")
        if m1 is None or m2 is None:
            continue
        unit = _unit(pub, cq)
        sdr = sd_sensitivity(m1, m2, n1, n2, equal_var=equal_var, quantity=f"{ep.label} ({unit})")
        sd_res[ep.id] = sdr
        pr = row(cq, f"{e} vs {c}", w, "p_value")
        if pr is not None:
            findings.append(
                Finding(
                    f"{ep.id}_p_sd_requirement",
                    f"{ep.label}, between-group p (t-test, n = {n1}/{n2}, SD unpublished)",
                    f"{m1:g} {unit} vs {m2:g} {unit}, p {pr['relation']} {pr['value']:g}",
                    f"p < {pr['value']:g} iff SD < {sdr.sd_max:.3g}",
                    math.nan,
                    "conditional",
                    f"the claim holds only if the SD is below {sdr.sd_max:.3g} in both arms "
                    "(equal SDs); no SD is published",
                )
            )
        if unit != "%":
            continue
        # a percentage could be a share of patients: GRIM on x/n
        e_n = max(n1, n2, *(a.n_randomised for a in design.arms))
        for arm, m, n in ((e, m1, n1), (c, m2, n2)):
            f = grim(
                f"{m:.2f}",
                n,
                percent=True,
                id=f"{ep.id}_share_grim_{arm}",
                quantity=f"{ep.label}: {m:g} % read as a share of {n} patients",
            )
            possible = [
                k
                for k in range(1, e_n + 1)
                if grim(f"{m:.2f}", k, percent=True).verdict == "consistent"
            ]
            expl = (
                f"{f.explanation}. Denominators up to {e_n} giving {m:g} %: "
                f"{', '.join(map(str, possible)) or 'none'}"
                + (
                    f"; so it is not a share of all {n} analysed patients (at most of a subset) "
                    "and is read here as a mean percentage"
                    if f.verdict == "inconsistent"
                    else ""
                )
            )
            findings.append(
                Finding(f.id, f.quantity, f.reported, f.recomputed, f.discrepancy, f.verdict, expl)
            )
    return SummaryAudit(
        trial=trial.id,
        findings=tuple(findings),
        denominators=(n1, n2),
        denominator_source=src,
        rho=next(iter(rho_res.values()), None),
        sd_curve=next(iter(sd_res.values()), None),
        rho_by_endpoint=rho_res,
        sd_by_endpoint=sd_res,
    )


def _unit(pub: pd.DataFrame, quantity: str | None) -> str:
    m = (pub["quantity"] == quantity) & (pub["statistic"] == "mean")
    u = pub.loc[m, "unit"].dropna()
    return str(u.iloc[0]) if len(u) else ""
