"""Print the glucose means and SDs by visit and arm, the visit-to-visit correlations and the
dropout of the CDISC pilot ADaM data that data/cdiscpilot01/scenario.toml writes down.

Run once from the repository root (the numbers are copied into the scenario with comments):

    python data/cdiscpilot01/scenario_inputs.py
"""

from __future__ import annotations

import numpy as np

import trial_analysis as ta

VISITS = [0, 4, 8, 12]  # AVISITN: baseline, week 2, week 8, week 24 (the scenario's schedule)


def main() -> None:
    trial = ta.load_trial("cdiscpilot01")
    ipd = ta.load_ipd(trial.folder / "adam", design=trial.design)
    a = ipd.analysis_set("GLUC", visits=VISITS[1:], population="SAFFL")
    wide = a.pivot_table(index=["USUBJID", "ARM"], columns="AVISITN", values="AVAL")
    base = a.groupby("USUBJID")["BASE"].first()
    wide.insert(0, 0, base.reindex(wide.index.get_level_values("USUBJID")).to_numpy())
    print("visits (AVISITN)", VISITS)
    for arm, g in wide.groupby(level="ARM", sort=False):
        m = g[VISITS]
        print(f"{arm}: n = {len(m)}")
        print("  mean", np.round(m.mean().to_numpy(), 3).tolist())
        print("  sd  ", np.round(m.std().to_numpy(), 3).tolist())
        print("  observed at each visit", m.notna().sum().to_list())
    r = wide[VISITS].corr().to_numpy()
    print("pooled correlation (pairwise complete)")
    print(np.round(r, 2))
    lag1 = np.mean([r[i, i + 1] for i in range(len(VISITS) - 1)])
    print("mean lag-1 correlation", round(float(lag1), 3))


if __name__ == "__main__":
    main()
