"""Scenarios with interim analyses (``[sequential]``): simulate applies the design's bounds.

Reference: the per-look exit probabilities of the design (checked against rpact in
test_power_designs) at the drift of the ANCOVA z statistic; the simulation must agree within
4 Monte Carlo standard errors plus 0.005 (the t-to-z conversion of the p-values and the
estimated covariate slope move the per-look probabilities by about 1e-3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trial_analysis.errors import ScenarioError
from trial_analysis.power import Scenario, group_sequential, simulate
from trial_analysis.power.sequential import _run


def _scenario(delta: float, **seq):
    return Scenario.from_dict(
        {
            "arms": {"names": ["A", "B"], "n": [300, 300], "control": "B"},
            "endpoints": {
                "hba1c": {
                    "type": "continuous",
                    "visits": [0, 48],
                    "mean": {"A": [9.0, 8.0 + delta], "B": [9.0, 8.0]},
                    "sd": 1.05,
                    "correlation": {"structure": "cs", "rho": 0.5},
                },
            },
            "analyses": [
                {
                    "name": "a",
                    "endpoint": "hba1c",
                    "method": "ancova",
                    "alternative": "less",
                    "alpha": 0.025,
                },
            ],
            "sequential": {"looks": 3, "futility": "obrien-fleming"} | seq,
        }
    )


@pytest.mark.parametrize("delta", [0.0, -0.25])
def test_per_look_rejections_match_the_design(delta):
    n = 4_000
    r = simulate(_scenario(delta), n_sims=n, seed=3, chunk_size=1_000).table
    d = group_sequential(3, 0.025, 0.2, futility="obrien-fleming")
    sd_resid = 1.05 * math.sqrt(1 - 0.5**2)  # sd 1.05, baseline correlation 0.5
    drift = -delta / (sd_resid * math.sqrt(2 / 300))
    t = np.asarray(d.information_rates)
    lower = np.r_[np.asarray(d.futility_bounds)[:2], -math.inf]
    up, _ = _run(t, drift, np.asarray(d.critical_values), lower, 1)
    per_look = r[r["analysis"].str.startswith("a: look")]["power"].to_numpy()
    for got, want in zip(per_look, up, strict=True):
        assert abs(got - want) <= 4 * math.sqrt(max(want * (1 - want), 1e-4) / n) + 0.005
    total = float(r.loc[r["analysis"] == "a", "power"].iloc[0])
    assert abs(total - up.sum()) <= 4 * math.sqrt(up.sum() * (1 - up.sum()) / n) + 0.005
    assert r.loc[r["analysis"] == "a", "n_expected"].iloc[0] < 600


def test_bad_sequential_table():
    with pytest.raises(ScenarioError, match=r"key 'sequential\.looks'"):
        _scenario(0.0, looks=12)
    with pytest.raises(ScenarioError, match=r"key 'sequential\.lookz'"):
        _scenario(0.0, lookz=3)


def test_interim_mmrm_and_mi_with_complete_data_reject_as_ancova():
    """With complete data an unstructured MMRM (visit x arm, visit x baseline) is OLS visit by
    visit: at every look, on the same first t_j n patients, it gives the ANCOVA's p-values
    (1e-5), so the design's bounds reject the same trials at the same looks. MI has nothing
    to impute; Rubin's rules keep the estimate and SE but the Barnard-Rubin df,
    nu (nu + 1) / (nu + 3), is below the ANCOVA's nu: slightly fewer rejections at look 1,
    never more (all patients at look 1 instead of the first half would give far more), and
    the trials that go on may be rejected at look 2."""
    raw = {
        "arms": {"names": ["A", "B"], "n": [24, 24], "control": "B"},
        "endpoints": {
            "y": {
                "type": "continuous",
                "visits": [0, 12, 24],
                "mean": {"A": [9.0, 8.4, 8.0], "B": [9.0, 8.9, 8.9]},
                "sd": 1.0,
                "correlation": {"structure": "cs", "rho": 0.5},
            }
        },
        "analyses": [
            {"name": m, "endpoint": "y", "method": m, "alternative": "less", "alpha": 0.025}
            for m in ("ancova", "mmrm")
        ]
        + [
            {
                "name": "mi",
                "endpoint": "y",
                "method": "mi",
                "imputation": "j2r",
                "m": 2,
                "alternative": "less",
                "alpha": 0.025,
            }
        ],
        "sequential": {"looks": 2},
    }
    t = simulate(Scenario.from_dict(raw), n_sims=300, seed=5).table.set_index("analysis")
    for look in ("", ": look 1", ": look 2"):
        want = t.loc["ancova" + look, "rejections"]
        assert 0 < want < 300
        assert t.loc["mmrm" + look, "rejections"] == want
        got = t.loc["mi" + look, "rejections"]
        assert want - 6 <= got <= want if look == ": look 1" else abs(got - want) <= 6
    assert t.loc["mmrm", "n_expected"] == t.loc["ancova", "n_expected"] < 48


def test_interim_survival_analyses_are_refused():
    with pytest.raises(ScenarioError, match=r"key 'sequential'.*survival"):
        Scenario.from_dict(
            {
                "arms": {"names": ["A", "B"], "n": [50, 50]},
                "endpoints": {
                    "t": {
                        "type": "time_to_event",
                        "median": {"A": 12, "B": 8},
                        "accrual_time": 12,
                        "events": 60,
                    }
                },
                "analyses": [{"endpoint": "t", "method": "logrank"}],
                "sequential": {"looks": 2},
            }
        )
