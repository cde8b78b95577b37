"""Reanalysis of a trial's primary composite (binary) endpoint.

``reanalyze(trial, ipd=None, seed=...)`` (the ``trial-analysis reanalyze TRIAL --endpoint
composite`` command) puts together, for the published primary result:

1. the counts behind the published percentages and interval
   (:func:`trial_analysis.consistency.infer_counts`);
2. every test and interval (:func:`trial_analysis.binary.compare`);
3. the fragility index of each test (:func:`trial_analysis.binary.fragility_table`);
4. sensitivity to the patients randomised but not analysed (:func:`missing_sensitivity`) and a
   tipping-point grid over their outcomes (:func:`tipping_point`);
5. a Bayesian reanalysis under four priors (:func:`trial_analysis.bayes.reanalysis`);
6. with patient-level data: the counts from the data, the comparison on them and a Firth
   logistic regression adjusted for baseline HbA1c and insulin dose.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from . import bayes as _bayes
from . import binary as _binary
from ._validate import check_alpha, check_choice, check_conf_level, check_count, check_events
from .binary._exact import TESTS, pvalues
from .binary._intervals import RD_METHODS
from .design import load_design
from .errors import AnalysisError, ParameterError
from .results import SYNTHETIC_NOTE, Result, frame_to_text, to_jsonable

__all__ = [
    "CompositeReanalysis",
    "MissingSensitivity",
    "TippingPoint",
    "missing_sensitivity",
    "reanalyze",
    "tipping_point",
]

DEFAULT_SEED = 20220503
#: Minimal clinically important risk difference for P(RD > MCID) (assumed, see notes).
DEFAULT_MCID = 0.10


def _check_missing(x1, n1, x2, n2, n1_rand, n2_rand):
    x1, n1 = check_events("x1", x1, "n1", n1)
    x2, n2 = check_events("x2", x2, "n2", n2)
    n1_rand = check_count("n1_randomised", n1_rand, minimum=1)
    n2_rand = check_count("n2_randomised", n2_rand, minimum=1)
    if n1_rand < n1:
        raise ParameterError("n1_randomised", f"at least the analysed n1={n1}", n1_rand)
    if n2_rand < n2:
        raise ParameterError("n2_randomised", f"at least the analysed n2={n2}", n2_rand)
    return x1, n1, x2, n2, n1_rand, n2_rand


# ---------------------------------------------------------------------------------------
# missing-outcome sensitivity
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MissingSensitivity(Result):
    """Results under assumptions about the randomised patients without an analysed outcome."""

    table: pd.DataFrame = field(repr=False)
    missing: tuple[int, int]
    test_names: tuple[str, ...]
    ci_method: str
    alpha: float
    title: ClassVar[str] = "Sensitivity to the patients not analysed"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def notes(self) -> tuple[str, ...]:
        m1, m2 = self.missing
        return (
            f"{m1} randomised patient(s) in arm 1 and {m2} in arm 2 have no analysed outcome. "
            "Best case for arm 1 = its missing patients all responders and arm 2's none; worst "
            "case the reverse.",
            f"Risk difference interval: {RD_METHODS[self.ci_method][0]}; p-values two-sided; "
            f"significant = p < {self.alpha:g}.",
        )

    def plot(self):
        """Risk difference and interval under each scenario (Figure)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 0.5 * len(self.table) + 1.5), layout="constrained")
        ax = fig.subplots()
        t = self.table
        y = np.arange(len(t))[::-1]
        ax.errorbar(
            t["rd"],
            y,
            xerr=[t["rd"] - t["ci_low"], t["ci_high"] - t["rd"]],
            fmt="o",
            capsize=3,
        )
        ax.axvline(0, color="grey", ls="--", lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels(
            [
                f"{s}\n{a}/{b} vs {c}/{d}"
                for s, a, b, c, d in t[["scenario", "x1", "n1", "x2", "n2"]].itertuples(index=False)
            ],
            fontsize=7,
        )
        ax.set_xlabel("risk difference (arm 1 - arm 2)")
        ax.set_title(self.title)
        return fig


def missing_sensitivity(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    n1_randomised: int,
    n2_randomised: int,
    *,
    tests: tuple[str, ...] = ("fisher", "chisq", "chisq_yates", "boschloo"),
    ci_method: str = "newcombe",
    conf_level: float = 0.95,
    alpha: float = 0.05,
) -> MissingSensitivity:
    """Re-test under assumptions about the randomised patients who were not analysed.

    Scenarios: as analysed (complete cases); intention to treat with missing = failure
    (non-responder imputation); missing = success; best case for arm 1 (its missing patients
    responders, arm 2's non-responders); worst case for arm 1 (the reverse).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Responders and analysed patients per arm (arm 1 experimental).
    n1_randomised, n2_randomised : int
        Randomised patients per arm.
    tests : tuple of str
        Tests from :data:`trial_analysis.binary.TESTS` to report.
    ci_method : str, default "newcombe"
        Risk-difference interval (``"wald"``, ``"wald_cc"``, ``"newcombe"``, ``"agresti_caffo"``,
        ``"miettinen_nurminen"``).
    conf_level, alpha : float

    Returns
    -------
    MissingSensitivity
        ``to_frame()``: scenario, counts, rd, ci_low, ci_high, ``p_<test>`` for each test.

    References
    ----------
    White IR, et al. (2011). Strategy for intention to treat analysis in randomised trials
    with missing outcome data. BMJ 342:d40.

    Examples
    --------
    Zang 2022: 9/45 vs 2/44 analysed; 45 and 46 randomised.

    >>> from trial_analysis.composite import missing_sensitivity
    >>> t = missing_sensitivity(9, 45, 2, 44, 45, 46).to_frame()
    >>> t.loc[t.scenario == "ITT, missing = failure", ["x2", "n2"]].values.tolist()
    [[2, 46]]
    """
    x1, n1, x2, n2, r1, r2 = _check_missing(x1, n1, x2, n2, n1_randomised, n2_randomised)
    for t in tests:
        check_choice("tests", t, TESTS)
    check_choice("ci_method", ci_method, RD_METHODS)
    conf_level = check_conf_level(conf_level)
    alpha = check_alpha(alpha)
    m1, m2 = r1 - n1, r2 - n2
    scen = [
        ("as analysed (complete cases)", x1, n1, x2, n2),
        ("ITT, missing = failure", x1, r1, x2, r2),
        ("ITT, missing = success", x1 + m1, r1, x2 + m2, r2),
        ("best case for arm 1", x1 + m1, r1, x2, r2),
        ("worst case for arm 1", x1, r1, x2 + m2, r2),
    ]
    fn = RD_METHODS[ci_method][1]
    rows = []
    for name, a, b, c, d in scen:
        rd, lo, hi = (float(v) for v in fn(a, b, c, d, conf_level))
        row: dict[str, Any] = dict(
            scenario=name, x1=a, n1=b, x2=c, n2=d, rd=rd, ci_low=lo, ci_high=hi
        )
        for t in tests:
            row[f"p_{t}"] = float(pvalues(a, b, c, d, t)[0])
        rows.append(row)
    table = pd.DataFrame(rows)
    return MissingSensitivity(table, (m1, m2), tuple(tests), ci_method, alpha)


@dataclass(frozen=True)
class TippingPoint(Result):
    """Every split of the non-analysed patients' outcomes, with the test's p-value."""

    grid: pd.DataFrame = field(repr=False)
    base: tuple[int, int, int, int]
    randomised: tuple[int, int]
    test: str
    alpha: float
    title: ClassVar[str] = "Tipping-point analysis over the non-analysed patients"

    def to_frame(self) -> pd.DataFrame:
        return self.grid.copy()

    @property
    def tipping(self) -> pd.DataFrame:
        """Imputations that reverse the as-analysed conclusion, fewest responders changed first."""
        x1, n1, x2, n2 = self.base
        base_sig = float(pvalues(x1, n1, x2, n2, self.test)[0]) < self.alpha
        g = self.grid[self.grid["significant"] != base_sig]
        return g.sort_values(["k2", "k1"]).reset_index(drop=True)

    @property
    def notes(self) -> tuple[str, ...]:
        _, n1, _, n2 = self.base
        m1, m2 = self.randomised[0] - n1, self.randomised[1] - n2
        g = self.grid
        n_sig = int(g["significant"].sum())
        out = [
            f"k1 of the {m1} non-analysed patients in arm 1 and k2 of the {m2} in arm 2 counted as "
            f"responders; {TEST_LABEL.get(self.test, self.test)}, significant = p < {self.alpha:g}.",
            f"{n_sig} of {len(g)} imputations are significant.",
        ]
        tip = self.tipping
        if len(tip):
            r = tip.iloc[0]
            out.append(
                f"Tipping point: k1 = {int(r.k1)}, k2 = {int(r.k2)} ({int(r.x1)}/{int(r.n1)} vs "
                f"{int(r.x2)}/{int(r.n2)}, p = {r.p_value:.4f}) reverses the as-analysed conclusion."
            )
        else:
            out.append("No imputation of the non-analysed patients reverses the conclusion.")
        return tuple(out)

    def plot(self):
        """Heat map of p-values over (k1, k2) with significant cells marked (Figure)."""
        from matplotlib.figure import Figure

        g = self.grid
        k1 = np.sort(g["k1"].unique())
        k2 = np.sort(g["k2"].unique())
        p = g.pivot(index="k2", columns="k1", values="p_value").reindex(index=k2, columns=k1)
        fig = Figure(figsize=(5, 4), layout="constrained")
        ax = fig.subplots()
        im = ax.imshow(
            p.to_numpy(),
            origin="lower",
            cmap="viridis_r",
            vmin=0,
            vmax=max(0.2, float(np.nanmax(p))),
            aspect="auto",
        )
        for (i, j), v in np.ndenumerate(p.to_numpy()):
            ax.text(
                j,
                i,
                f"{v:.3f}" + ("*" if v < self.alpha else ""),
                ha="center",
                va="center",
                fontsize=7,
                color="w",
            )
        ax.set_xticks(range(len(k1)))
        ax.set_xticklabels(k1)
        ax.set_yticks(range(len(k2)))
        ax.set_yticklabels(k2)
        ax.set_xlabel("responders among arm-1 patients not analysed (k1)")
        ax.set_ylabel("responders among arm-2 patients not analysed (k2)")
        ax.set_title(f"{self.test} p-value (* p < {self.alpha:g})")
        fig.colorbar(im, ax=ax)
        return fig


TEST_LABEL = {k: v[0] for k, v in _binary.TEST_INFO.items()}


def tipping_point(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    n1_randomised: int,
    n2_randomised: int,
    *,
    test: str = "fisher",
    alpha: float = 0.05,
) -> TippingPoint:
    """p-value for every number of responders among the patients not analysed.

    For ``k1 = 0..m1`` and ``k2 = 0..m2`` (``m = randomised - analysed``) the table
    ``(x1 + k1)/n1_randomised`` vs ``(x2 + k2)/n2_randomised`` is tested (vectorised).

    References
    ----------
    Yan X, Lee S, Li N (2009). Missing data handling methods in medical device clinical
    trials. J Biopharm Stat 19:1085-1098 (tipping-point analysis).

    Examples
    --------
    >>> from trial_analysis.composite import tipping_point
    >>> tp = tipping_point(9, 45, 2, 44, 45, 46)
    >>> tp.to_frame()[["k1", "k2", "x2", "n2"]].values.tolist()
    [[0, 0, 2, 46], [0, 1, 3, 46], [0, 2, 4, 46]]
    """
    x1, n1, x2, n2, r1, r2 = _check_missing(x1, n1, x2, n2, n1_randomised, n2_randomised)
    check_choice("test", test, TESTS)
    alpha = check_alpha(alpha)
    k1, k2 = np.meshgrid(np.arange(r1 - n1 + 1), np.arange(r2 - n2 + 1), indexing="ij")
    k1, k2 = k1.ravel(), k2.ravel()
    a, c = x1 + k1, x2 + k2
    p = pvalues(a, r1, c, r2, test)
    grid = pd.DataFrame(
        {
            "k1": k1,
            "k2": k2,
            "x1": a,
            "n1": r1,
            "x2": c,
            "n2": r2,
            "rd": a / r1 - c / r2,
            "p_value": p,
            "significant": p < alpha,
        }
    )
    return TippingPoint(grid, (x1, n1, x2, n2), (r1, r2), test, alpha)


# ---------------------------------------------------------------------------------------
# the whole reanalysis
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompositeReanalysis(Result):
    """Reanalysis of the primary composite endpoint (see :func:`reanalyze`)."""

    trial: str
    counts: pd.DataFrame = field(repr=False)
    comparison: Any = field(repr=False)
    fragility: Any = field(repr=False)
    sensitivity: MissingSensitivity = field(repr=False)
    tipping: TippingPoint = field(repr=False)
    bayes: Any = field(repr=False)
    ipd_comparison: Any = field(default=None, repr=False)
    firth: Any = field(default=None, repr=False)
    synthetic: bool = False
    extra_notes: tuple[str, ...] = ()
    title: str = "Primary composite endpoint: reanalysis"

    def sections(self) -> dict[str, Result | None]:
        """Named sub-results, in the order they are printed."""
        return {
            "comparison": self.comparison,
            "fragility": self.fragility,
            "sensitivity": self.sensitivity,
            "tipping_point": self.tipping,
            "bayes": self.bayes,
            "ipd_comparison": self.ipd_comparison,
            "firth": self.firth,
        }

    def to_frame(self) -> pd.DataFrame:
        """The main table: every test and interval on the inferred published counts."""
        return self.comparison.to_frame()

    @property
    def notes(self) -> tuple[str, ...]:
        out = list(self.extra_notes)
        if self.synthetic:
            out.append(SYNTHETIC_NOTE)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "title": self.title,
            "trial": self.trial,
            "counts_inference": to_jsonable(self.counts),
        }
        for k, v in self.sections().items():
            d[k] = None if v is None else v.to_dict()
        d["notes"] = list(self.notes)
        return d

    def figures(self) -> dict[str, Any]:
        """Named matplotlib Figures for the report."""
        figs = {
            "intervals": self.comparison.plot(),
            "sensitivity": self.sensitivity.plot(),
            "tipping_point": self.tipping.plot(),
            "bayes": self.bayes.plot(),
        }
        if self.ipd_comparison is not None:
            figs["ipd_intervals"] = self.ipd_comparison.plot()
        return figs

    def _repr_html_(self) -> str:
        import html

        parts = [f"<h3>{html.escape(self.title)}</h3>"]
        parts.append(
            Result._repr_html_(_Table(self.counts, "Counts implied by the published numbers"))
        )
        parts += [v._repr_html_() for v in self.sections().values() if v is not None]
        parts += [f"<p><em>Note:</em> {html.escape(n)}</p>" for n in self.notes]
        return "<div class='trial-analysis-result'>" + "".join(parts) + "</div>"

    def __str__(self) -> str:
        parts = [self.title, "=" * len(self.title), ""]
        parts.append(frame_to_text(self.counts, "Counts implied by the published numbers"))
        for v in self.sections().values():
            if v is not None:
                parts += ["", str(v)]
        parts += [""] + [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)


@dataclass(frozen=True)
class _Table(Result):
    """A bare table with a title (for rendering a DataFrame the way results render)."""

    table: pd.DataFrame = field(repr=False)
    title: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def reanalyze(
    trial: str = "zang2022",
    ipd: Any = None,
    seed: int = DEFAULT_SEED,
    *,
    endpoint: str = "composite",
    mcid: float = DEFAULT_MCID,
    alpha: float = 0.05,
    population: str = "ITT",
) -> CompositeReanalysis:
    """Reanalyse a trial's primary composite binary endpoint every way a reviewer would.

    Parameters
    ----------
    trial : str
        Shipped trial name (``"zang2022"``) or a trial folder.
    ipd : IPD, optional
        Patient-level data (``ta.load_ipd`` / ``ta.synthetic_ipd``); adds the comparison on
        the data's counts and a Firth logistic regression adjusted for baseline HbA1c and
        insulin dose.
    seed : int
        Seed of the Monte Carlo checks of the Bayesian reanalysis.
    endpoint : str, default "composite"
        Endpoint id in the design.
    mcid : float, default 0.10
        Minimal clinically important risk difference for ``P(RD > mcid)`` (assumed).
    alpha : float, default 0.05
    population : str, default "ITT"
        Population of the patient-level part.

    Returns
    -------
    CompositeReanalysis
        ``counts`` (the inferred tables), ``comparison``, ``fragility``, ``sensitivity``,
        ``tipping``, ``bayes``, and with ``ipd`` ``ipd_comparison`` and ``firth``;
        ``to_dict()`` holds every table, ``str()`` prints them all, ``figures()`` plots.

    Examples
    --------
    >>> from trial_analysis.composite import reanalyze
    >>> r = reanalyze("zang2022")
    >>> (r.comparison.x1, r.comparison.n1, r.comparison.x2, r.comparison.n2)
    (9, 45, 2, 44)
    """
    from .ipd import IPD

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError("seed", "an int", seed)
    if ipd is not None and not isinstance(ipd, IPD):
        raise ParameterError(
            "ipd", "an IPD (ta.load_ipd(...) or ta.synthetic_ipd(...)) or None", type(ipd).__name__
        )
    alpha = check_alpha(alpha)
    design = load_design(trial)
    try:
        ep = design.endpoint(endpoint)
    except KeyError as exc:
        raise ParameterError("endpoint", "an endpoint id of the design", endpoint) from exc
    if ep.type != "binary":
        raise ParameterError("endpoint", "a binary endpoint", f"{endpoint} ({ep.type})")
    from .consistency import published_counts

    e, c = design.experimental_arm, design.control_arm
    counts = published_counts(trial, endpoint)
    p1, p2, ci, cl = (counts.attrs[k] for k in ("p1", "p2", "ci", "conf_level"))
    notes = []
    if counts.empty:
        raise AnalysisError(
            f"no counts with n1 <= {e.n_randomised}, n2 <= {c.n_randomised} reproduce the published "
            f"{p1} % vs {p2} %" + (f" and CI {ci}" if ci else "")
        )
    tables = counts[["x1", "n1", "x2", "n2"]].drop_duplicates()
    if len(tables) > 1:
        notes.append(
            f"{len(tables)} tables reproduce the published numbers; the one with the largest "
            "denominators is analysed."
        )
        tables = tables.sort_values(["n1", "n2"], ascending=False)
    x1, n1, x2, n2 = (int(v) for v in tables.iloc[0])
    how = f" by the {counts.iloc[0]['method_label']} interval" if "method_label" in counts else ""
    notes.append(
        f"Counts {x1}/{n1} vs {x2}/{n2} inferred from the published {p1:g} % vs {p2:g} %"
        + (f" and {cl:.0%} CI {ci[0]:g} to {ci[1]:g}{how}" if ci else "")
        + f"; randomised {e.n_randomised} vs {c.n_randomised}."
    )
    if (n1, n2) != (e.n_randomised, c.n_randomised):
        notes.append(
            f"{e.n_randomised - n1} {e.name} and {c.n_randomised - n2} {c.name} randomised patients "
            "were not in the published analysis."
        )
    labels = (e.name, c.name)
    comparison = _binary.compare(x1, n1, x2, n2, cl, arm_labels=labels)
    fragility = _binary.fragility_table(x1, n1, x2, n2, alpha=alpha)
    sens = missing_sensitivity(x1, n1, x2, n2, e.n_randomised, c.n_randomised, alpha=alpha)
    tip = tipping_point(x1, n1, x2, n2, e.n_randomised, c.n_randomised, alpha=alpha)
    bayes = _bayes.reanalysis(x1, n1, x2, n2, mcid=mcid, seed=seed)
    notes.append(
        f"Bayesian: MCID {mcid:g} and the sceptical/enthusiastic priors' centre, weight and effect "
        "are assumptions (trial_analysis.bayes.make_prior defaults)."
    )
    ipd_cmp = firth = None
    synthetic = False
    if ipd is not None:
        synthetic = bool(ipd.synthetic)
        ev = ipd.endpoint_values(endpoint, population=population)
        obs = ev.dropna(subset=["value"])
        k = obs.groupby("ARM", sort=False)["value"].agg(["sum", "count"])
        try:
            a, b = int(k.loc[e.name, "sum"]), int(k.loc[e.name, "count"])
            cc, d = int(k.loc[c.name, "sum"]), int(k.loc[c.name, "count"])
        except KeyError as exc:
            raise AnalysisError(
                f"the patient-level data have no evaluable patients in arm {exc}"
            ) from None
        ipd_cmp = _binary.compare(a, b, cc, d, cl, arm_labels=labels)
        syn = (SYNTHETIC_NOTE,) if synthetic else ()
        ipd_cmp = dataclasses.replace(
            ipd_cmp,
            title=f"Patient-level data ({population}, complete cases): tests and intervals",
            extra_notes=syn,
        )
        data = ev.assign(treatment=(ev["ARM"] == e.name).astype(float))
        covs = [v for v in ("BASE_HBA1C", "BASE_INSDOSE") if v in data.columns]
        firth = _binary.firth_logit(data, "value", ["treatment", *covs], conf_level=cl)
        firth = dataclasses.replace(firth, extra_notes=firth.extra_notes + syn)
        notes.append(
            f"Patient-level data: {ipd.source}; {population} population, {len(ev) - len(obs)} "
            "patient(s) with undetermined outcome left out of the comparison and the Firth fit."
        )
    return CompositeReanalysis(
        trial=trial,
        counts=counts,
        comparison=comparison,
        fragility=fragility,
        sensitivity=sens,
        tipping=tip,
        bayes=bayes,
        ipd_comparison=ipd_cmp,
        firth=firth,
        synthetic=synthetic,
        extra_notes=tuple(notes),
        title=f"{design.short_title}: primary composite endpoint reanalysed",
    )
