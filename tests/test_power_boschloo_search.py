"""The Boschloo sample-size search skips sizes by a proven bound; it must equal brute force."""

from __future__ import annotations

import numpy as np
import pytest

from trial_analysis import power as pw
from trial_analysis.power.exact import _doubled_fisher_power


@pytest.mark.slow
@pytest.mark.parametrize(("p1", "p2", "target"), [(0.6, 0.2, 0.8)])
def test_boschloo_sample_size_equals_brute_force(p1, p2, target):
    res = pw.sample_size(p1, p2, power=target, test="boschloo")
    ns = res.curve["n1"].to_numpy()
    brute = pw.power_curve(p1, p2, ns, "boschloo").to_frame()["power"].to_numpy()
    ok = brute >= target
    first = int(ns[np.argmax(ok)])
    bad = np.nonzero(~ok)[0]
    stable = int(ns[bad[-1] + 1]) if len(bad) else int(ns[0])
    assert (res.n1_first, res.n1) == (first, stable)
    assert res.power == pytest.approx(brute[ns == stable][0], rel=1e-12)
    # where the search used the bound, the bound is below the enumerated power
    skipped = ~res.curve["exact"].to_numpy()
    assert skipped.any()
    assert (res.curve["power"].to_numpy()[skipped] <= brute[skipped] + 1e-12).all()


@pytest.mark.parametrize("n", [10, 23, 40])
def test_doubled_fisher_is_a_lower_bound_of_boschloo(n):
    """Boschloo (1970): the test is uniformly more powerful than Fisher's; with two-sided p taken
    as twice the smaller one-sided p for both, the same holds for the doubled tests."""
    for p1, p2 in [(0.3, 0.1), (0.5, 0.5), (0.05, 0.4)]:
        exact = pw.exact_power(p1, p2, n, n + 3, test="boschloo").power
        assert _doubled_fisher_power(p1, p2, n, n + 3, 0.05, "two-sided") <= exact + 1e-12
