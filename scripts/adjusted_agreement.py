"""Print the measured agreement of the issue-18 second-part analyses with their R references.

    .venv/bin/python scripts/adjusted_agreement.py

1. ``ta.mmrm.fit(covariates=..., weights=..., vcov="empirical")`` against nlme::gls + emmeans,
   the first-principles Satterthwaite df and the sandwich / Bell-McCaffrey df written from the
   gls pieces (tests/reference/adjusted2.R section 1).
2. Three-arm ``ta.binary.adjusted`` / ``cmh`` / ``noninferiority`` (section 2).
3. ``ta.power.power_margin_rr`` against rpact (section 3).
4. The engine's adjusted and stratified rows of the CDISC pilot's responder endpoint against
   tests/reference/adam_adjusted.R.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trial_analysis as ta  # noqa: E402
from tests.fixtures import adam_adjusted_from_r as A  # noqa: E402
from tests.fixtures import adjusted2_from_r as F  # noqa: E402


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def ab(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def main() -> None:
    R = F.MMRM_COV
    d = pd.read_csv(ROOT / "tests/fixtures/mmrm_data/covariates.csv")
    d["arm"] = pd.Categorical(d["arm"], categories=["Placebo", "Low", "High"])
    args = ("y", "subject", "visit", "arm")
    kw = dict(baseline="base", covariates=["age", "region"])
    m = ta.mmrm.fit(d, *args, **kw)
    p = ta.mmrm.fit(d, *args, **kw, weights="proportional")
    e = ta.mmrm.fit(d, *args, **kw, vcov="empirical")
    print("1. MMRM with covariates vs nlme::gls (UN, REML)")
    print(f"   coefficients      max abs diff {ab(m.coef.estimate, R['coef']):.2e}")
    print(f"   coefficient SEs   max rel diff {rel(m.coef.se, R['coef_se']):.2e}")
    print(f"   Satterthwaite df  max rel diff {rel(m.coef.df, R['coef_df']):.2e}")
    print(f"   REML loglik       ours - nlme  {m.loglik - R['loglik']:.2e}")
    print(f"   LS-means equal    max abs diff {ab(m.lsmeans.estimate, R['lsmeans_equal']):.2e}")
    print(
        f"   LS-means prop.    max abs diff {ab(p.lsmeans.estimate, R['lsmeans_proportional']):.2e}"
    )
    print(f"   contrast SEs      max rel diff {rel(m.contrasts.se, R['contrast_se']):.2e}")
    print(f"   sandwich SEs      max rel diff {rel(e.coef.se, R['empirical_coef_se']):.2e}")
    print(f"   Bell-McCaffrey df max rel diff {rel(e.coef.df, R['empirical_coef_df']):.2e}")

    G = F.KARM_GCOMP
    t3 = pd.read_csv(ROOT / "tests/fixtures/adjusted_data/trial3.csv")
    t3["arm"] = pd.Categorical(t3["arm"], categories=["Placebo", "Low", "High"])
    a = ta.binary.adjusted(t3, "y", "arm", ["age", "hba1c"], strata="region", effect="all")
    g = ta.binary.adjusted(
        t3, "y", "arm", ["age", "hba1c"], strata="region", effect="all", variance="ge2011"
    )
    print("2. Three arms")
    print(
        f"   g-computation estimates  max rel diff {rel(a.to_frame().estimate, G['estimate']):.2e}"
    )
    print(f"   Ye 2023 (stratified) SEs max rel diff {rel(a.to_frame().se, G['se_car']):.2e}")
    print(f"   Ge 2011 SEs              max rel diff {rel(g.to_frame().se, G['se_ge']):.2e}")
    c = ta.binary.cmh(t3, "y", "arm", "region").to_frame()
    worst = 0.0
    for arm in ("Low", "High"):
        t = c[c["comparison"] == f"{arm} vs Placebo"].set_index("key")
        ref = F.KARM_CMH[arm]
        got = [t.loc["test_cmh", "statistic"], t.loc["test_cmh", "p_value"]]
        got += [t.loc["test_cmh_cc", "p_value"], t.loc["or_mh", "estimate"]]
        got += [t.loc["rd_mh_sato", "se"]]
        worst = max(
            worst, rel(got, [ref["statistic"], ref["p"], ref["p_cc"], ref["or_mh"], ref["rd_se"]])
        )
    print(f"   CMH, MH OR, MH RD SE     max rel diff {worst:.2e}")
    mm = F.KARM_MARGIN
    x1 = [mm["Low"]["x1"], mm["High"]["x1"]]
    n1 = [mm["Low"]["n1"], mm["High"]["n1"]]
    rd = ta.binary.noninferiority(x1, n1, mm["x2"], mm["n2"], -0.1, method="fm")
    zr = [mm["Low"]["z_rd"], mm["High"]["z_rd"]]
    print(f"   FM score z per arm       max rel diff {rel(rd.to_frame().statistic, zr):.2e}")

    print("3. power_margin_rr vs rpact")
    ws = max(
        rel(
            [
                ta.power.power_margin_rr(
                    r["p1"],
                    r["p2"],
                    r["rr0"],
                    power=r["power"],
                    alpha=r["alpha"],
                    ratio=r["ratio"],
                ).n1_exact
            ],
            [r["n1"]],
        )
        for r in F.RR_MARGIN_SIZE
    )
    wp = max(
        rel(
            [
                ta.power.power_margin_rr(
                    r["p1"], r["p2"], r["rr0"], n1=r["n1"], n2=r["n2"], alpha=r["alpha"]
                ).power
            ],
            [r["power"]],
        )
        for r in F.RR_MARGIN_POWER
    )
    print(f"   n1 (5 designs) max rel diff {ws:.2e}; power (3 designs) max rel diff {wp:.2e}")

    print("4. Engine, CDISC pilot responder endpoint, vs glm / mantelhaen.test / rma.mh")
    R4 = A.CHOL_RESPONDER
    res = ta.reanalyze("cdiscpilot01", "chol_responder")
    worst = 0.0
    for key, arm in (("low", "Xanomeline Low Dose"), ("high", "Xanomeline High Dose")):
        r = next(x for x in res.of("chol_responder") if x.arms[0] == arm)
        adj = r.adjusted.to_frame()
        st = r.stratified.to_frame().set_index("key")
        ref = R4[key]
        worst = max(
            worst,
            rel(adj.estimate, ref["strata_estimate"]),
            rel(adj.se, ref["strata_se"]),
            rel(adj.p_value, ref["strata_p"]),
            rel(
                [st.loc["test_cmh", "p_value"], st.loc["test_cmh_cc", "p_value"]],
                [ref["cmh_p"], ref["cmh_cc_p"]],
            ),
            rel([st.loc["rd_mh_sato", "estimate"]], [ref["rd_mh"]]),
        )
    print(f"   g-computation (+ pooled sites), CMH p, MH RD  max rel diff {worst:.2e}")


if __name__ == "__main__":
    main()
