"""Batched multiple-imputation ANCOVA (``continuous._mi_batch.mi_ancova_batch``) against
``ta.missing.mi_analysis`` on each replicate with the documented seed stream.

``mi_analysis`` is itself checked in ``tests/test_missing.py`` (Rubin's rules against
``mice::pool.scalar``, imputation against the conditional normal law); here every replicate
of a batch must reproduce it. The random draws are identical; the bootstrap REML fits differ
by the optimiser's tolerance only: ``mi_analysis`` stops its BFGS at a gradient of 1e-4, the
batch's Newton steps stop at the same gradient. Measured: estimates, SEs and p-values agree to
1e-6 relative, df to 3e-6; the tests allow 1e-5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trial_analysis import missing
from trial_analysis.continuous._mi_batch import mi_ancova_batch  # also ta.missing.mi_ancova_batch
from trial_analysis.errors import ParameterError

from .test_mmrm_batch import make


def batch(d: pd.DataFrame, **kw) -> pd.DataFrame:
    """``mi_ancova_batch`` on the columns of ``make`` (y, id, visit, arm; replicates in rep,
    baseline in base), ``kw`` the rest (or other columns)."""
    return mi_ancova_batch(
        d, "y", "id", "visit", "arm", **{"replicate": "rep", "baseline": "base"} | kw
    )


def single(d: pd.DataFrame, **kw):
    """``missing.mi_analysis`` on one replicate of ``make``'s columns (y, id, visit, arm, base)."""
    return missing.mi_analysis(d, "y", "id", "visit", "arm", "base", **kw)


def singles(d: pd.DataFrame, method: str, m: int, seed: int, reference="B") -> pd.DataFrame:
    """mi_analysis on each replicate, replicate i seeded by SeedSequence(seed).spawn(R)[i]."""
    labels = pd.unique(d["rep"])
    kids = np.random.SeedSequence(seed).spawn(len(labels))
    rows = []
    for lab, kid in zip(labels, kids, strict=True):
        sub = d[d["rep"] == lab]
        p = single(
            sub, method=method, reference=reference, m=m, seed=np.random.default_rng(kid)
        ).pooled
        rows.append((lab, p.estimate, p.se, p.df, p.p_value, p.ci_low, p.ci_high))
    return pd.DataFrame(
        rows, columns=["replicate", "estimate", "se", "df", "p_value", "ci_low", "ci_high"]
    )


@pytest.mark.parametrize("method", ["mar", "j2r", "cr"])
def test_batch_equals_mi_analysis(method):
    d = make(6, 40, 4, seed=11, drop=0.3, all_missing=1)
    out = batch(d, method=method, m=5, reference="B", seed=123)
    ref = singles(d, method.upper(), 5, 123)
    assert list(out["replicate"]) == list(ref["replicate"])
    assert (out["contrast"] == "A - B").all() and out["converged"].all()
    assert out.attrs["n_single"] == 0  # all fitted in the batch, none handed to the loop
    for col in ("estimate", "se", "df", "p_value", "ci_low", "ci_high"):
        np.testing.assert_allclose(out[col], ref[col], rtol=1e-5, atol=1e-8, err_msg=col)


def test_seed_and_order():
    d = make(4, 30, 3, seed=5, drop=0.3)
    a = batch(d, m=3, reference="B", seed=7)
    b = batch(d, m=3, reference="B", seed=7)
    c = batch(d, m=3, reference="B", seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["estimate"], c["estimate"])
    # the first replicates alone give the same numbers (a replicate's stream is its position)
    head = batch(d[d["rep"] < 2], m=3, reference="B", seed=7)
    pd.testing.assert_frame_equal(
        head, a.iloc[:2].reset_index(drop=True), check_exact=False, rtol=1e-12
    )


def test_bad_arguments():
    d = make(2, 20, 3, seed=1)
    with pytest.raises(ParameterError, match="seed"):
        batch(d, reference="B")
    with pytest.raises(ParameterError, match="method"):
        batch(d, method="locf", reference="B", seed=1)
    with pytest.raises(ParameterError, match="replicate"):
        batch(d, replicate="nope", reference="B", seed=1)
    with pytest.raises(ParameterError, match="reference"):
        batch(d, reference="Z", seed=1)


def test_three_arms_each_contrast_equals_mi_analysis():
    """With three arms every non-reference arm is a contrast; the replicate's generator
    serves the contrasts in level order, as ``mi_analysis`` called once per arm would."""
    d = make(3, 45, 3, seed=21, arms=("P", "Q", "R"), drop=0.3)
    out = batch(d, method="j2r", m=4, reference="Q", seed=5)
    assert list(out["contrast"][:2]) == ["P - Q", "R - Q"] and out.attrs["n_single"] == 0
    kids = np.random.SeedSequence(5).spawn(3)
    for r in range(3):
        rng = np.random.default_rng(kids[r])
        sub = d[d["rep"] == r]
        for tr in ("P", "R"):
            p = single(sub, method="J2R", reference="Q", treatment=tr, m=4, seed=rng).pooled
            row = out[(out["replicate"] == r) & (out["contrast"] == f"{tr} - Q")].iloc[0]
            np.testing.assert_allclose(
                [row["estimate"], row["se"], row["df"]], [p.estimate, p.se, p.df], rtol=1e-5
            )


def test_unusual_replicate_goes_to_the_loop_and_chunks_do_not_matter(monkeypatch):
    """A replicate without data at the last visit cannot be analysed there: handed to
    ``mi_analysis`` (which refuses), its row is NaN and not converged, the others untouched;
    the number of bootstrap fits per chunk does not change any number."""
    from trial_analysis.continuous import _mi_batch

    d = make(4, 30, 3, seed=31, drop=0.2)
    d.loc[(d["rep"] == 2) & (d["visit"] == 3), "y"] = np.nan
    kw = dict(method="cr", m=3, reference="B", seed=9)
    out = batch(d, **kw)
    assert out.attrs["n_single"] == 1 and out.attrs["n_failed"] == 1
    assert list(out["converged"]) == [True, True, False, True]
    assert out.loc[2, ["estimate", "se", "df", "p_value"]].isna().all()
    ref = singles(d[d["rep"] != 2], "CR", 3, 9)
    # replicate 3 keeps its own stream (the 4th child) though replicate 2 failed
    kids = np.random.SeedSequence(9).spawn(4)
    p3 = single(
        d[d["rep"] == 3], method="CR", reference="B", m=3, seed=np.random.default_rng(kids[3])
    ).pooled
    np.testing.assert_allclose(out.loc[:1, "estimate"], ref["estimate"][:2], rtol=1e-5)
    assert out.loc[3, "estimate"] == pytest.approx(p3.estimate, rel=1e-5)
    monkeypatch.setattr(_mi_batch, "CHUNK_UNITS", 4)
    small = batch(d, **kw)
    pd.testing.assert_frame_equal(out, small, check_exact=False, rtol=1e-9)


def test_work_is_bounded_before_it_starts():
    from trial_analysis import limits
    from trial_analysis.errors import ResourceLimitError

    d = make(2, 20, 3, seed=1)
    with limits.override(max_seconds=1e-3), pytest.raises(ResourceLimitError, match="m = 20"):
        batch(d, reference="B", seed=1)


def test_replicate_fit_would_refuse_is_not_analysed_by_the_batch():
    """An arm without data at a visit: ``mi_analysis`` refuses (the arm-by-visit mean is not
    estimable), so the batch must not give numbers for that replicate either."""
    d = make(3, 30, 3, seed=31, drop=0.2)
    d.loc[(d["rep"] == 1) & (d["arm"] == "B") & (d["visit"] == 2), "y"] = np.nan
    out = batch(d, method="mar", m=3, reference="B", seed=9)
    assert list(out["converged"]) == [True, False, True]
    assert out.attrs["n_single"] == 1 and np.isnan(out.loc[1, "estimate"])
