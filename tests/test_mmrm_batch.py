"""Batched REML fits (``ta.mmrm.fit_batch``) against the single fit ``ta.mmrm.fit``.

``mmrm.fit`` is itself checked against R (``tests/test_mmrm.py``: nlme::gls, emmeans,
pbkrtest); here every replicate of a batch must reproduce it: estimates and SEs to 1e-6
(relative to max(1, |value|)) and df to 1e-4, the issue's tolerances. Measured on these data
sets: estimates and SEs agree to 1e-8, Satterthwaite df to 7e-8, Kenward-Roger df to 2e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trial_analysis import mmrm
from trial_analysis.continuous.mmrm import _batch
from trial_analysis.errors import AnalysisError, DataValidationError, ParameterError


def make(
    n_rep: int,
    n: int,
    T: int,
    seed: int,
    *,
    rho: float = 0.6,
    arms: tuple[str, ...] = ("A", "B"),
    drop: float = 0.15,
    intermittent: float = 0.05,
    all_missing: int = 0,
) -> pd.DataFrame:
    """Replicate trials: AR(1)-like correlation ``rho`` with rising SDs, monotone dropout,
    intermittent missing visits, and ``all_missing`` subjects per replicate without any
    outcome (their rows stay, with NaN)."""
    rng = np.random.default_rng(seed)
    sd = np.linspace(0.7, 1.2, T)
    lag = np.abs(np.subtract.outer(range(T), range(T)))
    chol = np.linalg.cholesky(rho**lag * np.outer(sd, sd))
    frames = []
    for r in range(n_rep):
        a = np.array(arms)[np.arange(n) % len(arms)]
        b = rng.normal(9, 1, n)
        trend = -0.4 * (a == arms[0])[:, None] * np.arange(1, T + 1) / T
        y = 8 + 0.5 * (b[:, None] - 9) + trend + rng.standard_normal((n, T)) @ chol.T
        last = np.where(rng.random(n) < drop, rng.integers(1, T, n), T)
        keep = (np.arange(T)[None] < last[:, None]) & (rng.random((n, T)) > intermittent)
        keep[:all_missing] = False
        i, t = np.indices((n, T)).reshape(2, -1)
        frames.append(
            pd.DataFrame(
                {
                    "rep": r,
                    "id": [f"s{k}" for k in i],
                    "arm": a[i],
                    "visit": t + 1,
                    "base": b[i],
                    "y": np.where(keep[i, t], y[i, t], np.nan),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def worst_difference(d: pd.DataFrame, out: pd.DataFrame, **kw) -> dict[str, float]:
    """Largest relative difference per column between the batch and one fit per replicate."""
    worst = {"estimate": 0.0, "se": 0.0, "df": 0.0}
    for r, sub in d.groupby("rep"):
        single = mmrm.fit(sub, "y", "id", "visit", "arm", **kw).contrasts
        mine = out[out["replicate"] == r]
        m = mine.merge(single, on=["visit", "contrast"], suffixes=("_b", ""))
        assert len(m) == len(single) == len(mine)
        for col in worst:
            rel = np.abs(m[col + "_b"] - m[col]) / np.maximum(1.0, np.abs(m[col]))
            worst[col] = max(worst[col], float(rel.max()))
    return worst


@pytest.mark.parametrize("covariance", ["unstructured", "cs", "ar1h", "toeph"])
@pytest.mark.parametrize("rho", [0.5, 0.97])
def test_batch_equals_single_fit(covariance, rho):
    """Several covariances, moderate and near-singular (rho 0.97) correlation, monotone and
    intermittent missingness, a baseline covariate."""
    d = make(5, 36, 4, seed=11 + int(100 * rho), rho=rho)
    out = mmrm.fit_batch(
        d, "y", "id", "visit", "arm", replicate="rep", baseline="base", covariance=covariance
    )
    assert out["converged"].all()
    assert list(out.columns[:4]) == ["replicate", "visit", "contrast", "estimate"]
    w = worst_difference(d, out, baseline="base", covariance=covariance)
    assert w["estimate"] < 1e-6 and w["se"] < 1e-6, w
    assert w["df"] < 1e-4, w


def test_near_singular_covariance_and_empty_subjects_unstructured():
    """Correlation 0.995 between neighbouring visits (Sigma close to the boundary of
    positive definiteness) with two subjects per replicate that have no outcome at all:
    every replicate converges in the batch and equals ``fit`` (measured: estimates 1e-8,
    SEs 1e-7, df 1.4e-6)."""
    d = make(6, 36, 5, seed=41, rho=0.995, all_missing=2)
    out = mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep", baseline="base")
    assert out["converged"].all() and out.attrs["n_refit"] == 0
    w = worst_difference(d, out, baseline="base")
    assert w["estimate"] < 1e-6 and w["se"] < 1e-6 and w["df"] < 1e-4, w


def test_three_arms_no_baseline_reference_and_empty_subjects():
    """Three arms with a reference that is not the first level, no baseline, and subjects
    with every visit missing (they drop out of the likelihood in both fits)."""
    d = make(4, 45, 5, seed=3, arms=("P", "Q", "R"), all_missing=3)
    out = mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep", reference="Q")
    assert set(out["contrast"]) == {"P - Q", "R - Q"}
    assert len(out) == 4 * 5 * 2
    w = worst_difference(d, out, reference="Q")
    assert w["estimate"] < 1e-6 and w["se"] < 1e-6 and w["df"] < 1e-4, w


def test_default_reference_is_that_of_fit():
    """``fit`` takes the arm named like a control (here Placebo, the second level) by default."""
    d = make(2, 30, 3, seed=4, arms=("Drug", "Placebo"))
    out = mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep")
    assert set(out["contrast"]) == {"Drug - Placebo"}
    w = worst_difference(d, out)
    assert w["estimate"] < 1e-6 and w["se"] < 1e-6 and w["df"] < 1e-4, w


def test_kenward_roger_equals_single_fit():
    d = make(3, 30, 4, seed=5)
    out = mmrm.fit_batch(
        d, "y", "id", "visit", "arm", replicate="rep", baseline="base", df="kenward-roger"
    )
    w = worst_difference(d, out, baseline="base", df="kenward-roger")
    assert w["estimate"] < 1e-6 and w["se"] < 1e-6 and w["df"] < 1e-4, w


def test_blocks_do_not_change_results(monkeypatch):
    """Replicates are fitted in blocks of ``BLOCK``; the split must not matter."""
    d = make(7, 30, 4, seed=8)
    whole = mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep", baseline="base")
    monkeypatch.setattr(_batch, "BLOCK", 3)
    split = mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep", baseline="base")
    pd.testing.assert_frame_equal(whole, split, rtol=1e-10)


def test_replicate_the_batch_cannot_fit_is_refitted_or_failed():
    """A replicate with no data in one arm at a visit goes to ``fit`` (which drops nothing
    and fails here: the contrast is not estimable); a replicate whose arm B never has data
    after visit 1 likewise. Both are counted, their rows NaN and not converged; the other
    replicates are untouched."""
    d = make(3, 30, 4, seed=9)
    d.loc[(d["rep"] == 1) & (d["arm"] == "B") & (d["visit"] == 3), "y"] = np.nan
    out = mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep", baseline="base")
    assert out.attrs["n_refit"] == 1 and out.attrs["n_failed"] == 1
    bad = out[out["replicate"] == 1]
    assert not bad["converged"].any() and bad["estimate"].isna().all()
    good = out[out["replicate"] != 1]
    assert good["converged"].all()
    w = worst_difference(d[d["rep"] != 1], good, baseline="base")
    assert w["estimate"] < 1e-6


def test_input_not_modified():
    d = make(2, 20, 3, seed=1)
    before = d.copy()
    mmrm.fit_batch(d, "y", "id", "visit", "arm", replicate="rep")
    pd.testing.assert_frame_equal(d, before)


@pytest.fixture
def small():
    return make(2, 20, 3, seed=2)


def test_errors_parameters(small):
    call = mmrm.fit_batch
    with pytest.raises(ParameterError, match="data"):
        call(small.to_dict(), "y", "id", "visit", "arm", replicate="rep")
    with pytest.raises(ParameterError, match="replicate"):
        call(small, "y", "id", "visit", "arm", replicate="nope")
    with pytest.raises(ParameterError, match="baseline"):
        call(small, "y", "id", "visit", "arm", replicate="rep", baseline="nope")
    with pytest.raises(ParameterError, match="different columns"):
        call(small, "y", "id", "visit", "arm", replicate="id")
    with pytest.raises(ParameterError, match="reference"):
        call(small, "y", "id", "visit", "arm", replicate="rep", reference="Z")
    with pytest.raises(ParameterError, match="df"):
        call(small, "y", "id", "visit", "arm", replicate="rep", df="between-within")
    with pytest.raises(ParameterError, match="covariance"):
        call(small, "y", "id", "visit", "arm", replicate="rep", covariance="banded")


def test_errors_data(small):
    call = mmrm.fit_batch
    d = small.assign(y=small["y"].astype(str))
    with pytest.raises(DataValidationError, match="numeric"):
        call(d, "y", "id", "visit", "arm", replicate="rep")
    d = pd.concat([small, small.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="more than one row"):
        call(d, "y", "id", "visit", "arm", replicate="rep")
    d = small.copy()
    d.loc[(d["id"] == "s0") & (d["visit"] == 2), "arm"] = "B"
    d.loc[d["id"] == "s0", "y"] = 1.0
    with pytest.raises(DataValidationError, match="more than one arm"):
        call(d, "y", "id", "visit", "arm", replicate="rep")
    d = small.copy()
    d.loc[d.index[0], "rep"] = np.nan
    d.loc[d.index[0], "y"] = 1.0
    with pytest.raises(DataValidationError, match="missing"):
        call(d, "y", "id", "visit", "arm", replicate="rep")
    with pytest.raises(AnalysisError, match="nothing to fit"):
        call(small.assign(y=np.nan), "y", "id", "visit", "arm", replicate="rep")
    with pytest.raises(AnalysisError, match="only one level"):
        call(small.assign(arm="A"), "y", "id", "visit", "arm", replicate="rep")
    with pytest.raises(AnalysisError, match="2 visits"):
        call(small[small["visit"] == 1], "y", "id", "visit", "arm", replicate="rep")
