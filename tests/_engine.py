"""Test helpers: the engine's result for one endpoint of a trial (its first experimental arm)."""

from __future__ import annotations

import trial_analysis as ta


def endpoint_result(endpoint, trial, ipd=None, seed=20220503, n1=None, n2=None):
    """``ta.reanalyze(trial, endpoint)[endpoint]``; with ``n1``/``n2`` the continuous family
    is called directly with those denominators for the summary-level tests."""
    if n1 is None and n2 is None:
        return ta.reanalyze(trial, endpoint, ipd=ipd, seed=seed)[endpoint]
    t = ta.load_trial(trial)
    return ta.reanalysis.analyse_continuous(
        t, t.design.endpoint(endpoint), t.design.experimental_arm, ipd=ipd, seed=seed, n1=n1, n2=n2
    )


def reanalyze_hba1c(trial, ipd=None, seed=20220503, **kw):
    return endpoint_result("hba1c", trial, ipd, seed, **kw)


def reanalyze_insulin(trial, ipd=None, seed=20220503, **kw):
    return endpoint_result("insulin", trial, ipd, seed, **kw)
