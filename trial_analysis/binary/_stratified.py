"""Stratified 2 x 2 tables: Cochran-Mantel-Haenszel test, Mantel-Haenszel effects,
homogeneity tests and stratified intervals for the risk difference.

Stratum ``k`` has ``a_k`` events of ``n1_k`` experimental patients and ``c_k`` of ``n0_k``
controls (``b_k = n1_k - a_k``, ``d_k = n0_k - c_k``, ``N_k = n1_k + n0_k``,
``m1_k = a_k + c_k``). Formulas (R equivalents checked in ``tests/reference/adjusted.R``):

- CMH (``stats::mantelhaen.test``): ``(|sum(a - E a)| - 1/2)^2 / sum Var a`` with
  ``E a = n1 m1 / N``, ``Var a = n1 n0 m1 m0 / (N^2 (N - 1))``; the 1/2 only with the
  continuity correction and only when ``|sum(a - E a)| >= 1/2`` (as R).
- MH odds ratio ``sum(a d / N) / sum(b c / N)`` with the Robins-Breslow-Greenland (1986)
  variance of its log; MH risk ratio ``sum(a n0 / N) / sum(c n1 / N)`` with the
  Greenland-Robins (1985) variance; MH risk difference ``sum(w_k d_k) / sum(w_k)``,
  ``w_k = n1 n0 / N``, with the Sato (1989) variance (valid in sparse strata; metafor's
  ``rma.mh``) and the Greenland-Robins (1985) variance (large strata).
- Breslow-Day (1980) homogeneity of the odds ratios around the MH OR, with Tarone's (1985)
  correction, on the strata whose four margins are positive (df = their number - 1).
- Stratified Newcombe (Yan & Su 2010): in each arm, stratum Wilson intervals at the level
  ``2 Phi(z*) - 1`` with ``z* = z sqrt(sum w^2 v) / sum(w sqrt(v))``, ``v_k = p_k q_k / n_k``,
  combined as ``sum w_k L_k`` and ``sum w_k U_k`` (CMH weights ``w``, normalised); then
  ``d -/+ z sqrt(lam_1 l_1 (1 - l_1) + lam_0 u_0 (1 - u_0))`` (and the mirror image for the
  upper limit) with ``lam_a = sum w_k^2 / n_ak`` and ``l_a``, ``u_a`` the arms' stratified
  Wilson limits (as tern ``prop_diff_strat_nc``; checked against tern's own test values).
- Stratified Miettinen-Nurminen: the score ``Z(delta) = sum w_k (d_k - delta) /
  sqrt(sum w_k^2 v~_k(delta))`` with ``v~_k`` the stratum's variance at the constrained MLE
  under ``p1 - p0 = delta`` times ``N_k / (N_k - 1)`` (Miettinen & Nurminen 1985, with CMH
  weights); interval ``{delta: |Z(delta)| <= z}``, p-value at ``delta = 0``.

statsmodels' ``StratifiedTable`` has the CMH test and MH odds ratio but neither the continuity
correction of R, the RD/RR variances, Tarone's correction nor the stratified score intervals;
the few closed forms are written here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_conf_level, check_count
from ..errors import AnalysisError, DataValidationError, ParameterError, Problem
from ..results import SYNTHETIC_NOTE, Result, select_row
from ._adjusted import (
    COMPARISON,
    _binary_outcome,
    _columns,
    _comparison_rows,
    _wald_on_row,
    arm_codes,
)
from ._intervals import _bisect, constrained_mle_rd, wilson, z_crit

__all__ = ["CMHResult", "cmh", "cmh_counts"]

COLUMNS = [
    "quantity",
    "method",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "df",
    "p_value",
    "key",
]


@dataclass(frozen=True, eq=False)
class CMHResult(Result):
    """Stratified 2 x 2 analysis (see :func:`cmh`).

    ``to_frame()``: one row per test or estimate (``key``): ``test_cmh``, ``test_cmh_cc``,
    ``test_breslow_day``, ``test_tarone``, ``rd_mh_sato``, ``rd_mh_gr``, ``rd_newcombe``,
    ``rd_mn``, ``rr_mh``, ``or_mh``, with the ``comparison`` (``"<arm> vs <control>"``).
    Ratio ``se`` values are of the log. With more than two arms the rows of every
    experimental arm against the control follow each other; ``parts`` holds each
    comparison's own two-arm result and ``strata`` has a ``comparison`` column.
    """

    table: pd.DataFrame = field(repr=False)
    strata: pd.DataFrame = field(repr=False)
    conf_level: float
    arm_labels: tuple[str, str]
    dropped: tuple[str, ...] = ()
    synthetic: bool = False
    comparisons: tuple[str, ...] = ()
    parts: tuple = field(default=(), repr=False)
    title: ClassVar[str] = "Stratified analysis: Cochran-Mantel-Haenszel"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, key: str, comparison: str | None = None) -> pd.Series:
        """The row ``key`` of one ``comparison`` (needed with more than two arms)."""
        return select_row(_comparison_rows(self, comparison), "key", key)

    def noninferiority(
        self,
        margin: float,
        key: str = "rd_mh_sato",
        *,
        alternative="greater",
        alpha=0.025,
        comparison: str | None = None,
    ):
        """Wald test of a Mantel-Haenszel estimate (``key``: ``rd_mh_sato``, ``rd_mh_gr``,
        ``rr_mh``, ``or_mh``) against a non-inferiority margin on its scale (ratios on the
        log scale with the row's SE); ``key="rd_mn"``: the stratified Miettinen-Nurminen
        score test with CMH weights at the margin, with its inverted ``1 - 2 alpha`` interval.
        See :func:`trial_analysis.binary.noninferiority`. With more than two arms: one block
        per ``comparison`` (all unless one is named)."""
        return self._by_comparison(margin, key, alternative, alpha, comparison)

    def equivalence(
        self, low: float, high: float, key: str = "rd_mh_sato", *, alpha=0.05, comparison=None
    ):
        """Two one-sided tests (TOST) of a Mantel-Haenszel estimate (Wald) or of the
        stratified MN score (``key="rd_mn"``) at ``(low, high)``."""
        return self._by_comparison((low, high), key, None, alpha, comparison)

    def _by_comparison(self, margin, key, alternative, alpha, comparison):
        if not self.parts:
            _comparison_rows(self, comparison)  # checks the name
            return self._margin(margin, key, alternative, alpha)
        from .._margins import combine_margins

        names = list(self.comparisons)
        if comparison is not None:
            _comparison_rows(self, comparison)
            return self.parts[names.index(comparison)]._margin(margin, key, alternative, alpha)
        return combine_margins(
            [p._margin(margin, key, alternative, alpha) for p in self.parts], names
        )

    def _wald_row(self, key: str) -> pd.Series:
        if key not in ("rd_mh_sato", "rd_mh_gr", "rr_mh", "or_mh"):
            raise ParameterError(
                "key", "one of 'rd_mh_sato', 'rd_mh_gr', 'rr_mh', 'or_mh', 'rd_mn'", key
            )
        return self.row(key)

    def _margin(self, margin, key, alternative, alpha):
        if key != "rd_mn":
            return _wald_on_row(self, self._wald_row(key), key, margin, alternative, alpha)
        return _stratified_mn_margin(self, margin, alternative, alpha)

    @property
    def notes(self) -> tuple[str, ...]:
        e, c = self.arm_labels
        if self.parts:
            n_strata = max(len(p.strata) for p in self.parts)
            e = "each of " + ", ".join(p.arm_labels[0] for p in self.parts)
        else:
            n_strata = len(self.strata)
        out = [
            f"{e} vs {c} over {n_strata} strata; estimates experimental - control "
            f"(ratios experimental / control); {self.conf_level:.0%} intervals; stratified "
            "intervals use CMH weights n1 n0 / N. Ratio SEs are of the log.",
        ]
        if self.dropped:
            out.append(
                "Strata with fewer than 2 patients carry no information and were left out: "
                + ", ".join(self.dropped)
                + "."
            )
        ratios = self.table.loc[self.table["quantity"].isin(["risk ratio", "odds ratio"])]
        est = ratios["estimate"].to_numpy(float)
        if ((est == 0) | np.isinf(est)).any():
            out.append(
                "A Mantel-Haenszel ratio of 0 or inf: an arm has no events (or, for the odds "
                "ratio, no non-events) in every stratum, so the ratio is unbounded and has no "
                "Wald interval (as R mantelhaen.test: an infinite estimate, no interval)."
            )
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)


def _stratified_mn_margin(res: CMHResult, margin, alternative, alpha):
    """Stratified MN score test (CMH weights) at a margin of the risk difference, or TOST."""
    from .._margins import check_margins, margin_result, one_sided_p
    from .._validate import check_alpha

    alpha = check_alpha(alpha)
    kind = "non-inferiority" if alternative is not None else "equivalence"
    tests = check_margins(kind, margin, False, alternative)
    st = res.strata
    x1, n1, x0, n0, w = (st[c].to_numpy(dtype=float) for c in ("x1", "n1", "x2", "n2", "weight"))
    for _, m in tests:
        if not -1 < m < 1:
            raise ParameterError("margin", "a difference of proportions in (-1, 1)", m)

    def zf(t):
        return _mn_z(x1, n1, x0, n0, w, t)

    q = z_crit(1 - 2 * alpha)
    est = float(np.sum(w * (x1 / n1 - x0 / n0)))
    eps = 1e-12
    lo = _bisect(lambda t: zf(t) <= q, np.array(-1 + eps), np.array(est))
    hi = _bisect(lambda t: zf(t) < -q, np.array(est), np.array(1 - eps))
    lo = -1.0 if zf(np.array(-1 + eps)) <= q else float(lo)
    hi = 1.0 if zf(np.array(1 - eps)) >= -q else float(hi)
    return margin_result(
        kind,
        "risk difference",
        "stratified Miettinen-Nurminen score, CMH weights",
        est,
        tests,
        lambda m: float(zf(np.array(m))),
        lambda t, side: one_sided_p(t, side),
        (lo, hi),
        alpha,
        synthetic=res.synthetic,
    )


def _strat_wilson(x, n, w, conf_level):
    """Yan & Su (2010) stratified Wilson interval of one arm (tern ``prop_strat_wilson``)."""
    p = x / n
    v = p * (1 - p) / n
    z = z_crit(conf_level)
    s = np.sum(np.sqrt(w * w * v))
    # every stratum at 0 or 1: no variance to pool, the plain z is used
    zs = z if s == 0 else z * math.sqrt(np.sum(w * w * v)) / s
    lev = 2 * stats.norm.cdf(zs) - 1
    lo, hi = wilson(x, n, lev)
    return float(np.sum(w * p)), float(np.sum(w * lo)), float(np.sum(w * hi))


def _mn_z(x1, n1, x0, n0, w, delta):
    """Stratified Miettinen-Nurminen score at ``delta`` (arrays over strata; delta scalar/array)."""
    delta = np.asarray(delta, dtype=float)
    d = (x1 / n1 - x0 / n0)[..., :]
    pt1, pt0 = constrained_mle_rd(x1, n1, x0, n0, delta[..., None])
    nn = n1 + n0
    v = (pt1 * (1 - pt1) / n1 + pt0 * (1 - pt0) / n0) * nn / (nn - 1)
    num = np.sum(w * (d - delta[..., None]), axis=-1)
    den = np.sqrt(np.sum(w * w * v, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / den
    return np.where(den > 0, z, np.where(num == 0, 0.0, np.copysign(np.inf, num)))


def _breslow_day(a, n1, n0, m1, psi):
    """Breslow-Day statistic, Tarone-corrected statistic and df (strata with positive margins)."""
    N = n1 + n0
    ok = (n1 > 0) & (n0 > 0) & (m1 > 0) & (m1 < N)
    a, n1, n0, m1 = a[ok], n1[ok], n0[ok], m1[ok]
    lo, hi = np.maximum(0, m1 - n0), np.minimum(n1, m1)
    if psi == 1:
        at = n1 * m1 / (n1 + n0)
    else:
        # (1 - psi) t^2 + (n0 - m1 + psi (n1 + m1)) t - psi n1 m1 = 0, root in [lo, hi]
        qa = 1 - psi
        qb = n0 - m1 + psi * (n1 + m1)
        qc = -psi * n1 * m1
        disc = np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0.0))
        r1, r2 = (-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)
        at = np.where((r1 >= lo - 1e-9) & (r1 <= hi + 1e-9), r1, r2)
    var = 1 / (1 / at + 1 / (n1 - at) + 1 / (m1 - at) + 1 / (n0 - m1 + at))
    bd = float(np.sum((a - at) ** 2 / var))
    tarone = bd - float(np.sum(a - at)) ** 2 / float(np.sum(var))
    return bd, tarone, int(ok.sum()) - 1


def cmh_counts(
    x1: Sequence[int],
    n1: Sequence[int],
    x2: Sequence[int],
    n2: Sequence[int],
    conf_level: float = 0.95,
    *,
    labels: Sequence[Any] | None = None,
    arm_labels: tuple[str, str] = ("arm 1", "arm 2"),
    synthetic: bool = False,
) -> CMHResult:
    """:func:`cmh` from stratum counts: ``x1[k]`` events of ``n1[k]`` (experimental) and
    ``x2[k]`` of ``n2[k]`` (control) in stratum ``k``.

    Examples
    --------
    Penicillin and rabbits (Cochran 1954; R's ``?mantelhaen.test``): cured, immediate vs
    delayed treatment, five dose strata.

    >>> import trial_analysis as ta
    >>> r = ta.binary.cmh_counts([0, 3, 6, 5, 2], [6, 6, 6, 6, 2], [0, 0, 2, 6, 5], [5, 6, 6, 6, 5])
    >>> round(float(r.row("test_cmh_cc").statistic), 4), round(float(r.row("or_mh").estimate), 4)
    (3.9286, 7.0)
    """
    conf_level = check_conf_level(conf_level)
    arrs = []
    for name, v in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2)):
        vals = np.atleast_1d(np.asarray(v))
        if vals.ndim != 1:
            raise ParameterError(name, "a one-dimensional sequence of counts", v)
        arrs.append(np.array([check_count(f"{name}[{i}]", c) for i, c in enumerate(vals)], float))
    x1a, n1a, x2a, n2a = arrs
    if not (len(x1a) == len(n1a) == len(x2a) == len(n2a)):
        raise ParameterError(
            "x1/n1/x2/n2", "sequences of equal length (one entry per stratum)", None
        )
    if np.any(x1a > n1a) or np.any(x2a > n2a):
        k = int(np.flatnonzero((x1a > n1a) | (x2a > n2a))[0])
        raise ParameterError(f"x1/x2[{k}]", "events <= patients in each stratum", (x1a[k], x2a[k]))
    labels = [str(s) for s in (labels if labels is not None else range(1, len(x1a) + 1))]
    N = n1a + n2a
    keep = N >= 2
    dropped = tuple(lab for lab, k in zip(labels, keep, strict=True) if not k)
    a, n1v, c, n0 = x1a[keep], n1a[keep], x2a[keep], n2a[keep]
    labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    if len(a) == 0:
        raise AnalysisError("no stratum has 2 or more patients: nothing to analyse")
    # strata with one arm empty carry no comparison: they contribute 0 everywhere below except
    # the stratified Wilson/MN sums, so they are left out of those with a note
    both = (n1v > 0) & (n0 > 0)
    if not both.any():
        raise AnalysisError("no stratum has patients in both arms")
    dropped += tuple(lab for lab, k in zip(labels, both, strict=True) if not k)
    a, n1v, c, n0 = a[both], n1v[both], c[both], n0[both]
    labels = [lab for lab, k in zip(labels, both, strict=True) if k]
    b, d = n1v - a, n0 - c
    N = n1v + n0
    m1, m0 = a + c, b + d
    z = z_crit(conf_level)
    rows: list[dict[str, Any]] = []

    # CMH test (mantelhaen.test)
    delta = float(np.sum(a - n1v * m1 / N))
    var_a = float(np.sum(n1v * n0 * m1 * m0 / (N * N * (N - 1))))
    for cc in (False, True):
        yates = 0.5 if cc and abs(delta) >= 0.5 else 0.0
        stat = (abs(delta) - yates) ** 2 / var_a if var_a > 0 else math.nan
        rows.append(
            dict(
                quantity="test",
                method="Cochran-Mantel-Haenszel" + (", continuity-corrected" if cc else ""),
                statistic=stat,
                df=1.0,
                p_value=float(stats.chi2.sf(stat, 1)) if var_a > 0 else math.nan,
                key="test_cmh_cc" if cc else "test_cmh",
            )
        )
    # MH odds ratio, RBG variance
    R, S = a * d / N, b * c / N
    P, Q = (a + d) / N, (b + c) / N
    sr, ss = float(R.sum()), float(S.sum())
    psi = sr / ss if ss > 0 else math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        var_lor = (
            np.sum(P * R) / (2 * sr**2)
            + np.sum(P * S + Q * R) / (2 * sr * ss)
            + np.sum(Q * S) / (2 * ss**2)
        )
    # MH risk ratio, Greenland-Robins variance
    rn, rd_ = a * n0 / N, c * n1v / N
    srn, srd = float(rn.sum()), float(rd_.sum())
    rr = srn / srd if srd > 0 else math.inf
    # an arm without events in every stratum: RR 0 or inf, no variance (as R: NaN interval)
    num_lrr = float(np.sum((n1v * n0 * m1 - a * c * N) / N**2))
    var_lrr = num_lrr / (srn * srd) if srn > 0 and srd > 0 else math.nan
    # MH risk difference: Sato and Greenland-Robins variances
    w = n1v * n0 / N
    sw = float(w.sum())
    dk = a / n1v - c / n0
    rdm = float(np.sum(w * dk) / sw)
    p_s = np.sum((n1v**2 * c - n0**2 * a + n1v * n0 * (n0 - n1v) / 2) / N**2)
    q_s = np.sum((a * (n0 - c) + c * (n1v - a)) / (2 * N))
    var_sato = float((rdm * p_s + q_s) / sw**2)
    var_gr = float(np.sum((a * b * n0**3 + c * d * n1v**3) / (n1v * n0 * N**2)) / sw**2)

    def wald(est, var, log, quantity, method, key):
        se = math.sqrt(var) if var > 0 and math.isfinite(var) else math.nan
        centre = math.log(est) if log and 0 < est < math.inf else (est if not log else math.nan)
        lo, hi = centre - z * se, centre + z * se
        p = float(2 * stats.norm.sf(abs(centre / se))) if se > 0 else math.nan
        if log:
            lo, hi = math.exp(lo), math.exp(hi)
        return dict(
            quantity=quantity,
            method=method,
            estimate=est,
            se=se,
            ci_low=lo,
            ci_high=hi,
            statistic=centre / se if se > 0 else math.nan,
            p_value=p,
            key=key,
        )

    rows.append(
        wald(
            rdm, var_sato, False, "risk difference", "Mantel-Haenszel, Sato variance", "rd_mh_sato"
        )
    )
    rows.append(
        wald(
            rdm,
            var_gr,
            False,
            "risk difference",
            "Mantel-Haenszel, Greenland-Robins variance",
            "rd_mh_gr",
        )
    )
    # stratified Newcombe (Yan & Su 2010) with CMH weights
    wn = w / sw
    e1, l1, u1 = _strat_wilson(a, n1v, wn, conf_level)
    e0, l0, u0 = _strat_wilson(c, n0, wn, conf_level)
    dd = e1 - e0
    # Yan & Su (2010): the variance of each arm's weighted proportion, sum w^2 / n times
    # p(1 - p), evaluated at the stratified Wilson limits (tern prop_diff_strat_nc)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam1 = float(np.sum(np.where(n1v > 0, wn**2 / n1v, 0.0)))
        lam0 = float(np.sum(np.where(n0 > 0, wn**2 / n0, 0.0)))
    rows.append(
        dict(
            quantity="risk difference",
            method="Stratified Newcombe (Yan & Su), CMH weights",
            estimate=dd,
            ci_low=dd - z * math.sqrt(lam1 * l1 * (1 - l1) + lam0 * u0 * (1 - u0)),
            ci_high=dd + z * math.sqrt(lam0 * l0 * (1 - l0) + lam1 * u1 * (1 - u1)),
            key="rd_newcombe",
        )
    )
    # stratified Miettinen-Nurminen, CMH weights

    def zf(t):
        return _mn_z(a, n1v, c, n0, wn, t)

    eps = 1e-12
    lo = _bisect(lambda t: zf(t) <= z, np.array(-1 + eps), np.array(rdm))
    hi = _bisect(lambda t: zf(t) < -z, np.array(rdm), np.array(1 - eps))
    lo = -1.0 if zf(np.array(-1 + eps)) <= z else float(lo)
    hi = 1.0 if zf(np.array(1 - eps)) >= -z else float(hi)
    z0 = float(zf(np.array(0.0)))
    rows.append(
        dict(
            quantity="risk difference",
            method="Stratified Miettinen-Nurminen score, CMH weights",
            estimate=rdm,
            ci_low=lo,
            ci_high=hi,
            statistic=z0,
            p_value=float(2 * stats.norm.sf(abs(z0))),
            key="rd_mn",
        )
    )
    rows.append(
        wald(rr, var_lrr, True, "risk ratio", "Mantel-Haenszel, Greenland-Robins variance", "rr_mh")
    )
    rows.append(
        wald(
            psi,
            float(var_lor),
            True,
            "odds ratio",
            "Mantel-Haenszel, Robins-Breslow-Greenland variance",
            "or_mh",
        )
    )
    if 0 < psi < math.inf:
        bd, ta_, hdf = _breslow_day(a, n1v, n0, m1, psi)
    else:
        bd = ta_ = math.nan
        hdf = 0
    for stat, label, key in (
        (bd, "Breslow-Day", "test_breslow_day"),
        (ta_, "Breslow-Day-Tarone", "test_tarone"),
    ):
        rows.append(
            dict(
                quantity="homogeneity of odds ratios",
                method=label,
                statistic=stat,
                df=float(hdf),
                p_value=float(stats.chi2.sf(stat, hdf))
                if hdf > 0 and math.isfinite(stat)
                else math.nan,
                key=key,
            )
        )
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for col in COLUMNS[2:-1]:
        table[col] = table[col].astype(float)
    strata_tab = pd.DataFrame(
        {
            "stratum": labels,
            "x1": a.astype(int),
            "n1": n1v.astype(int),
            "x2": c.astype(int),
            "n2": n0.astype(int),
            "weight": wn,
        }
    )
    comparison = f"{arm_labels[0]} vs {arm_labels[1]}"
    table[COMPARISON] = comparison
    return CMHResult(
        table,
        strata_tab,
        conf_level,
        tuple(arm_labels),
        dropped,
        bool(synthetic),
        comparisons=(comparison,),
    )


def cmh(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    strata: str | Sequence[str],
    *,
    experimental: Any = None,
    conf_level: float = 0.95,
    synthetic: bool | None = None,
    reference: Any = None,
) -> CMHResult:
    """Cochran-Mantel-Haenszel test and stratified effects of a binary endpoint.

    Parameters
    ----------
    data : DataFrame
        One row per patient. Not modified.
    outcome : str
        Binary outcome (0/1 or bool).
    arm : str
        Two arms; 1 is experimental for 0/1 arms, else give ``experimental``.
    strata : str or sequence of str
        Stratification column(s); several columns are crossed.
    experimental : optional
        Level of the experimental arm (two arms) when ``arm`` is not 0/1 and no level is
        named like a control.
    reference : optional
        The control arm's level. With more than two arms every other arm is compared with it
        (default: the one level named like a control), each comparison on the patients of its
        two arms; one block of rows per comparison.
    conf_level : float
        Level of the intervals.
    synthetic : bool, optional
        Mark as synthetic data; default ``data.attrs["synthetic"]``.

    Returns
    -------
    CMHResult
        ``to_frame()`` columns ``quantity, method, estimate, se, ci_low, ci_high, statistic,
        df, p_value, key``: the CMH statistic and p-value with and without continuity
        correction, MH RD (Sato and Greenland-Robins variances), stratified Newcombe and
        Miettinen-Nurminen intervals, MH RR and OR, Breslow-Day and Tarone tests.
        ``strata`` lists the stratum tables and CMH weights.

    Notes
    -----
    See the module docstring for every formula. Strata with fewer than 2 patients, or with
    one arm empty, carry no comparison and are left out (R's ``mantelhaen.test`` stops
    instead); a note lists them.

    References
    ----------
    .. [1] Mantel N, Haenszel W. J Natl Cancer Inst 1959;22:719-748.
    .. [2] Robins J, Breslow N, Greenland S. Estimators of the Mantel-Haenszel variance
       consistent in both sparse data and large-strata limiting models. Biometrics
       1986;42:311-323.
    .. [3] Greenland S, Robins JM. Estimation of a common effect parameter from sparse
       follow-up data. Biometrics 1985;41:55-68.
    .. [4] Sato T. On the variance estimator for the Mantel-Haenszel risk difference.
       Biometrics 1989;45:1323-1324.
    .. [5] Breslow NE, Day NE. Statistical Methods in Cancer Research I. IARC 1980;
       Tarone RE. On heterogeneity tests based on efficient scores. Biometrika 1985;72:91-95.
    .. [6] Yan X, Su XG. Stratified Wilson and Newcombe confidence intervals for multiple
       binomial proportions. Stat Biopharm Res 2010;2:329-335.
    .. [7] Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med
       1985;4:213-226.

    Examples
    --------
    >>> import pandas as pd
    >>> import trial_analysis as ta
    >>> d = pd.DataFrame({"y": [1, 0, 1, 1, 0, 0, 1, 0], "arm": [1, 1, 0, 1, 0, 0, 1, 0],
    ...                   "site": ["A", "A", "A", "A", "B", "B", "B", "B"]})
    >>> float(ta.binary.cmh(d, "y", "arm", "site").row("test_cmh").df)
    1.0
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            "data", "a pandas DataFrame (one row per patient)", type(data).__name__
        )
    for pname, col in (("outcome", outcome), ("arm", arm)):
        if not isinstance(col, str) or col not in data.columns:
            raise ParameterError(
                pname, f"a column of data ({', '.join(map(str, data.columns))})", col
            )
    strat = _columns("strata", strata, data)
    if not strat:
        raise ParameterError("strata", "one or more column names", strata)
    if synthetic is None:
        synthetic = bool(getattr(data, "attrs", {}).get("synthetic", False))
    data = data.reset_index(drop=True)
    y = _binary_outcome(data, outcome)
    code, arms = arm_codes(data, arm, experimental, reference)
    for c in strat:
        if data[c].isna().any():
            r = int(np.flatnonzero(data[c].isna().to_numpy())[0])
            raise DataValidationError([Problem("data", r + 2, c, None, "stratum is missing")])
    joint = (
        data[list(strat)].astype(str).agg("/".join, axis=1) if len(strat) > 1 else data[strat[0]]
    )
    codes, uniq = pd.factorize(joint, sort=True)
    k = len(uniq)
    parts = []
    for j in range(1, len(arms)):
        keep = (code == 0) | (code == j)
        a = (code[keep] == j).astype(float)
        yy, cc = y[keep], codes[keep]
        present = np.unique(cc)  # strata with a patient in one of the two arms
        x1 = np.bincount(cc, weights=yy * a, minlength=k)[present]
        n1 = np.bincount(cc, weights=a, minlength=k)[present]
        x2 = np.bincount(cc, weights=yy * (1 - a), minlength=k)[present]
        n2 = np.bincount(cc, weights=1 - a, minlength=k)[present]
        parts.append(
            cmh_counts(
                x1.astype(int),
                n1.astype(int),
                x2.astype(int),
                n2.astype(int),
                conf_level,
                labels=[str(uniq[i]) for i in present],
                arm_labels=(arms[j], arms[0]),
                synthetic=bool(synthetic),
            )
        )
    if len(parts) == 1:
        return parts[0]
    names = tuple(p.comparisons[0] for p in parts)
    strata_tab = pd.concat(
        [p.strata.assign(**{COMPARISON: nm}) for p, nm in zip(parts, names, strict=True)],
        ignore_index=True,
    )
    return CMHResult(
        pd.concat([p.table for p in parts], ignore_index=True),
        strata_tab,
        conf_level,
        (", ".join(arms[1:]), arms[0]),
        tuple(f"{d} ({nm})" for p, nm in zip(parts, names, strict=True) for d in p.dropped),
        bool(synthetic),
        comparisons=names,
        parts=tuple(parts),
    )
