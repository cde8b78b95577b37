"""Print the measured agreement of trial_analysis.survival with its references.

    .venv/bin/python scripts/survival_agreement.py

1. The reconstruction round trip of tests/test_survival_reconstruct.py (4 data sets digitised
   with noise by tests/reference/survival.R, with and without the published events): the
   worst relative HR and median errors, S at the table times, log-rank z, events, numbers at
   risk, against R's numbers on the original patients.
2. Guyot et al. (2012)'s head-and-neck example against the published results.
3. Cox, KM, log-rank and rpact fixtures: the largest differences from R.
4. A trial folder that ships only a digitised curve (tests/test_survival_trial.py, R's noisy
   digitisation of the simulated ``sim_ph`` trial) through ``ta.reanalyze``: HR, medians and
   log-rank p of the reconstruction against R on the original patients, the diagnostics and
   the verdicts of the published-number audit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trial_analysis as ta  # noqa: E402
from tests._builders import rpact_power_survival, rpact_sample_size_survival  # noqa: E402
from tests.fixtures import survival_from_r as R  # noqa: E402

D = ROOT / "tests" / "fixtures" / "survival_data"


def round_trip() -> None:
    worst = dict.fromkeys(("hr", "median", "S", "z", "events", "at_risk", "mean_abs_diff"), 0.0)
    for ref in R.RECONSTRUCT:
        nm = ref["name"]
        curve = pd.read_csv(D / f"recon_{nm}_curve.csv")
        risk = pd.read_csv(D / f"recon_{nm}_at_risk.csv")
        orig = pd.read_csv(D / f"recon_{nm}_ipd.csv")
        for tot in (None, dict(zip(ref["arms"], ref["total_events"], strict=True))):
            ipd = ta.survival.reconstruct(curve, risk, tot)
            x = ipd.assign(x=(ipd["arm"] == ref["arms"][1]).astype(float))
            hr = ta.survival.cox(x, "time", "event", ["x"], lr_ci=False).hazard_ratio[0]
            km = ta.survival.kaplan_meier(ipd["time"], ipd["event"], ipd["arm"])
            km0 = ta.survival.kaplan_meier(orig["time"], orig["event"], orig["arm"])
            t = np.unique(risk["time"])
            s_diff = km.survival_at(t)["survival"] - km0.survival_at(t)["survival"]
            z = np.sqrt(ta.survival.logrank(ipd["time"], ipd["event"], ipd["arm"]).chisq)
            ev = ipd.groupby("arm")["event"].sum().to_numpy() / np.array(ref["total_events"])
            fit = ipd.attrs["fit"].table
            vals = {
                "hr": abs(hr / ref["hr"] - 1),
                "median": np.max(np.abs(km.summary["median"] / np.array(ref["median"]) - 1)),
                "S": np.max(np.abs(s_diff)),
                "z": abs(z - stats.norm.isf(ref["logrank_p"] / 2)),
                "events": np.max(np.abs(ev - 1)),
                "at_risk": fit["at_risk_max_diff"].max(),
                "mean_abs_diff": fit["mean_abs_diff"].max(),
            }
            for k, v in vals.items():
                worst[k] = max(worst[k], float(v))
    print("reconstruction round trip (8 runs), worst:")
    print(
        f"  HR {worst['hr']:.2%}, medians {worst['median']:.2%}, S at table times "
        f"{worst['S']:.4f}, log-rank z {worst['z']:.3f}, events {worst['events']:.2%}, "
        f"numbers at risk {worst['at_risk']:.0f}, mean |S_rec - S_dig| {worst['mean_abs_diff']:.4f}"
    )


def guyot_example() -> None:
    d = ROOT / "tests" / "fixtures" / "guyot2012"
    ipd = ta.survival.reconstruct(
        pd.read_csv(d / "head_and_neck_curve.csv"),
        pd.read_csv(d / "head_and_neck_at_risk.csv"),
        percent=True,
    )
    r = ta.survival.analyse_time_to_event(ipd, reference="radiotherapy").to_frame()
    hr = r[r["measure"] == "hazard ratio (Wald CI)"].iloc[0]
    med = r[r["measure"] == "median"].set_index("group")["estimate"]
    print("Guyot 2012 head-and-neck example (published: HR 0.68 (0.52-0.89), medians 24.4 / 14.9):")
    print(
        f"  reconstructed HR {hr['estimate']:.3f} ({hr['ci_low']:.3f}-{hr['ci_high']:.3f}), "
        f"medians {med['radiotherapy + cetuximab']:g} / {med['radiotherapy']:g}"
    )


def fixtures() -> None:
    worst = 0.0
    for ref in R.POWER_SURVIVAL:
        p = rpact_power_survival(ref)
        worst = max(worst, abs(p.power - ref["power"]))
    w_ss = 0.0
    for c in R.SAMPLE_SIZE_SURVIVAL:
        s = rpact_sample_size_survival(c)
        w_ss = max(w_ss, abs(s.events_exact / c["events"] - 1), abs(s.n_exact / c["n"] - 1))
    print(
        f"rpact: sample size (events, patients) worst relative difference {w_ss:.1e}; "
        f"power worst absolute difference {worst:.1e}"
    )


def digitised_trial() -> None:
    import tempfile

    from tests.test_survival_trial import REF, write_trial

    with tempfile.TemporaryDirectory() as d:
        r = ta.reanalyze(write_trial(Path(d) / "trial"))["os"]
    f = r.analysis.to_frame()
    hr = f.loc[f["measure"] == "hazard ratio (Wald CI)"].iloc[0]
    med = r.analysis.km.summary.set_index("group")["median"]
    fit = r.reconstruction.to_frame()
    print(
        f"digitised trial via ta.reanalyze: HR {hr['estimate']:.4f} vs R {REF['hr']:.4f} "
        f"({100 * (hr['estimate'] / REF['hr'] - 1):+.1f}%); medians {med['Placebo']:.2f} / "
        f"{med['Drug']:.2f} vs R {REF['median'][0]:.2f} / {REF['median'][1]:.2f}; log-rank p "
        f"{r.analysis.logrank.p_value:.2g} vs R {REF['logrank_p']:.2g}; max |S_rec - S_dig| "
        f"{fit['max_abs_diff'].max():.4f}; at-risk max diff {fit['at_risk_max_diff'].max():g}; "
        f"audit: {(r.published_checks['verdict'] == 'consistent').sum()} of "
        f"{len(r.published_checks)} consistent"
    )


if __name__ == "__main__":
    round_trip()
    guyot_example()
    fixtures()
    digitised_trial()
