"""Batched multiple-imputation ANCOVA (``continuous._mi_batch.mi_ancova_batch``) against
``ta.missing.mi_analysis`` on each replicate with the documented seed stream.

``mi_analysis`` is itself checked in ``tests/test_missing.py`` (Rubin's rules against
``mice::pool.scalar``, imputation against the conditional normal law); here every replicate
of a batch must reproduce it. The random draws are identical; the bootstrap REML fits differ
by the optimiser's tolerance only: ``mi_analysis`` stops its BFGS at a gradient of 1e-4, the
batch solves each draw to 1e-8 relative. Measured: estimates, SEs, df and p-values agree to
3e-7 relative; the tests allow 1e-5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trial_analysis import missing
from trial_analysis.continuous._mi_batch import mi_ancova_batch  # also ta.missing.mi_ancova_batch
from trial_analysis.errors import ParameterError

from .test_mmrm_batch import make


def singles(d: pd.DataFrame, method: str, m: int, seed: int, reference="B") -> pd.DataFrame:
    """mi_analysis on each replicate, replicate i seeded by SeedSequence(seed).spawn(R)[i]."""
    labels = pd.unique(d["rep"])
    kids = np.random.SeedSequence(seed).spawn(len(labels))
    rows = []
    for lab, kid in zip(labels, kids, strict=True):
        sub = d[d["rep"] == lab]
        p = missing.mi_analysis(
            sub,
            "y",
            "id",
            "visit",
            "arm",
            "base",
            method=method,
            reference=reference,
            m=m,
            seed=np.random.default_rng(kid),
        ).pooled
        rows.append((lab, p.estimate, p.se, p.df, p.p_value, p.ci_low, p.ci_high))
    return pd.DataFrame(
        rows, columns=["replicate", "estimate", "se", "df", "p_value", "ci_low", "ci_high"]
    )


@pytest.mark.parametrize("method", ["mar", "j2r", "cr"])
def test_batch_equals_mi_analysis(method):
    d = make(6, 40, 4, seed=11, drop=0.3, all_missing=1)
    out = mi_ancova_batch(
        d,
        "y",
        "id",
        "visit",
        "arm",
        replicate="rep",
        baseline="base",
        method=method,
        m=5,
        reference="B",
        seed=123,
    )
    ref = singles(d, method.upper(), 5, 123)
    assert list(out["replicate"]) == list(ref["replicate"])
    assert (out["contrast"] == "A - B").all() and out["converged"].all()
    assert out.attrs["n_single"] == 0  # all fitted in the batch, none handed to the loop
    for col in ("estimate", "se", "df", "p_value", "ci_low", "ci_high"):
        np.testing.assert_allclose(out[col], ref[col], rtol=1e-5, atol=1e-8, err_msg=col)


def test_seed_and_order():
    d = make(4, 30, 3, seed=5, drop=0.3)
    a = mi_ancova_batch(
        d, "y", "id", "visit", "arm", replicate="rep", baseline="base", m=3, reference="B", seed=7
    )
    b = mi_ancova_batch(
        d, "y", "id", "visit", "arm", replicate="rep", baseline="base", m=3, reference="B", seed=7
    )
    c = mi_ancova_batch(
        d, "y", "id", "visit", "arm", replicate="rep", baseline="base", m=3, reference="B", seed=8
    )
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["estimate"], c["estimate"])
    # the first replicates alone give the same numbers (a replicate's stream is its position)
    head = mi_ancova_batch(
        d[d["rep"] < 2],
        "y",
        "id",
        "visit",
        "arm",
        replicate="rep",
        baseline="base",
        m=3,
        reference="B",
        seed=7,
    )
    pd.testing.assert_frame_equal(
        head, a.iloc[:2].reset_index(drop=True), check_exact=False, rtol=1e-12
    )


def test_bad_arguments():
    d = make(2, 20, 3, seed=1)
    with pytest.raises(ParameterError, match="seed"):
        mi_ancova_batch(
            d, "y", "id", "visit", "arm", replicate="rep", baseline="base", reference="B"
        )
    with pytest.raises(ParameterError, match="method"):
        mi_ancova_batch(
            d,
            "y",
            "id",
            "visit",
            "arm",
            replicate="rep",
            baseline="base",
            method="locf",
            reference="B",
            seed=1,
        )
    with pytest.raises(ParameterError, match="replicate"):
        mi_ancova_batch(
            d, "y", "id", "visit", "arm", replicate="nope", baseline="base", reference="B", seed=1
        )
    with pytest.raises(ParameterError, match="reference"):
        mi_ancova_batch(
            d, "y", "id", "visit", "arm", replicate="rep", baseline="base", reference="Z", seed=1
        )
