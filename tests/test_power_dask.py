"""Simulation on a Dask LocalCluster gives the same numbers as local processes."""

from __future__ import annotations

import pytest

from trial_analysis.power import Scenario, simulate, simulate_grid

pytest.importorskip("distributed")


def _scenario():
    return Scenario.from_dict(
        {
            "arms": {"names": ["UC-MSC", "Placebo"], "n": [30, 30]},
            "endpoints": {
                "composite": {"type": "binary", "rate": {"UC-MSC": 0.4, "Placebo": 0.1}},
                "insulin": {
                    "type": "continuous",
                    "visits": [0, 48],
                    "baseline_mean": 50.0,
                    "change_scale": "pchg",
                    "change": {"UC-MSC": [-25.0], "Placebo": [-15.0]},
                    "sd": [15.0, 30.0],
                    "correlation": {"structure": "cs", "rho": 0.0},
                    "outcome": "pchg",
                },
            },
            "dropout": {"rate": 0.05},
            "analyses": [
                {"name": "f", "endpoint": "composite", "method": "fisher"},
                {"name": "a", "endpoint": "insulin", "method": "ancova"},
            ],
        }
    )


@pytest.mark.slow
def test_local_cluster_two_workers_matches_local_processes():
    from distributed import Client, LocalCluster

    s = _scenario()
    grid = {"arms.n": [[20, 20], [30, 30]], "dropout.rate": [0.0, 0.1]}
    local = simulate_grid(s, grid, n_sims=3_000, seed=7, chunk_size=500, n_jobs=2)
    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        on_dask = simulate_grid(s, grid, n_sims=3_000, seed=7, chunk_size=500, dask=client)
        single = simulate(s, n_sims=3_000, seed=7, chunk_size=500, dask=client)
    assert on_dask.to_frame().equals(local.to_frame())
    assert single.to_frame().equals(simulate(s, n_sims=3_000, seed=7, chunk_size=500).to_frame())


@pytest.mark.slow
def test_local_cluster_workers_start_configured(monkeypatch):
    """dask="local" starts workers without Dask's MALLOC_TRIM_THRESHOLD_ (it disables
    glibc's adaptive mmap threshold: about twice the CPU per chunk measured in
    benchmarks/simpower.py part c), without the stack profiler, with the package imported;
    the caller's own configuration is left as it was."""
    import os
    import sys

    import dask

    from trial_analysis.power._dask import PRELOAD, dask_client

    def probe():
        return (
            os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            dask.config.get("distributed.worker.profile.enabled"),
            PRELOAD in sys.modules,
        )

    # what a LocalCluster on Dask's defaults leaves behind in the caller's environment
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with dask_client("local", 2) as client:
        seen = client.run(probe)
    assert list(seen.values()) == [(None, False, True)] * 2
    assert dask.config.get("distributed.worker.profile.enabled") is True
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"


def test_missing_distributed_gives_clear_message(monkeypatch):
    import sys

    from trial_analysis.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "distributed", None)  # import now fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'trial_analysis\[dask\]'"):
        simulate(_scenario(), n_sims=10, dask="local")
