"""Run simulation chunks on a Dask cluster (optional extra ``dask``).

``dask="local"`` starts a temporary ``LocalCluster(n_workers, processes=True)`` and closes
it afterwards; ``dask="tcp://host:8786"`` connects to a running scheduler; a
``distributed.Client`` is used as given. Results come back in submission order, and each
chunk draws from its own ``SeedSequence(seed, spawn_key=(j, i))``, so the numbers are the
same as with local processes.

Why the temporary cluster is configured (measured with ``benchmarks/simpower.py`` part c, the
ANCOVA sensitivity grid of 10^6 trials in 200 chunks, 2 workers vs ``n_jobs=2``, on a quiet
2-core machine): on Dask's default worker settings the trials cost 1.76x the CPU they cost
in local processes (51 vs 29 us per trial; 1.82x the wall time; 2.4x at 10^5 trials on a
loaded machine); configured as below 0.99x the CPU and 1.05x the wall time. (1) The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``); setting it also switches off glibc's adaptive
mmap threshold, so every numpy temporary above 128 kB is mmap'ed, page-faulted and unmapped
again: the system time of the same chunks was 2.8x (the same variable set for local
processes does the same to them). (2) A fresh worker imports the package (seconds of CPU)
inside its first chunk, where processes forked from the caller have it already. (3) The
statistical profiler samples the task thread every 10 ms (``distributed.worker.profile``);
it is of no use without a dashboard. The cluster of ``dask="local"`` unsets (1), switches
off (3) (:data:`WORKER_CONFIG`) and imports :data:`PRELOAD` at start-up: then the CPU of
the task thread per chunk equals a local process's within the noise of the machine, and
what is left is the worker's own event loop (heartbeats, monitors: ~3 % of a CPU per worker
while idle). A cluster of your own gets the same from ``dask.config.set(WORKER_CONFIG)``
around its creation and ``preload=["trial_analysis.power"]``. Scenarios are small (a few kB
pickled per chunk) and chunks large (``chunk_size`` trials), so shipping and the scheduler's
per-task cost (~1 ms) do not matter.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from .._optional import require
from ..errors import ParameterError

__all__ = ["WORKER_CONFIG", "dask_client", "run_on_dask"]

#: imported by every worker of ``dask="local"`` when it starts
PRELOAD = "trial_analysis.power"

#: Dask settings under which the workers of ``dask="local"`` are started (see module doc).
WORKER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}


class _Session:
    def __init__(self, spec: Any, n_workers: int):
        distributed = require("distributed", "dask", "running simulations on a Dask cluster")
        self._own: list[Any] = []
        if isinstance(spec, distributed.Client):
            self.client = spec
        elif spec == "local":
            import dask

            # A nanny started earlier in this process (any LocalCluster on Dask's defaults)
            # left MALLOC_TRIM_THRESHOLD_ in os.environ, which workers would inherit; this
            # process's own allocator read its environment at start-up and is unaffected.
            trim = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            try:
                with dask.config.set(WORKER_CONFIG):  # the nanny hands its config on
                    cluster = distributed.LocalCluster(
                        n_workers=max(2, n_workers),
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,  # the scheduler's INFO lines drown the bar
                        preload=[PRELOAD],  # imported at start-up, not in the first chunk
                    )
                    self.client = distributed.Client(cluster)
            finally:
                if trim is not None:
                    os.environ["MALLOC_TRIM_THRESHOLD_"] = trim
            self._own = [self.client, cluster]
        elif isinstance(spec, str) and "://" in spec:
            try:
                self.client = distributed.Client(spec, timeout="10s")
            except OSError as exc:
                raise ParameterError(
                    "dask", "the address of a reachable Dask scheduler", spec
                ) from exc
            self._own = [self.client]
        else:
            raise ParameterError(
                "dask",
                "'local', a scheduler address such as 'tcp://host:8786', or a Client",
                spec,
            )

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc: Any) -> None:
        for obj in self._own:
            obj.close()


def dask_client(spec: Any, n_workers: int = 2) -> _Session:
    """Context manager yielding a ``distributed.Client`` for ``spec`` (see module doc)."""
    return _Session(spec, n_workers)


def run_on_dask(
    func: Callable[[Any], Any],
    jobs: Sequence[Any],
    spec: Any,
    n_workers: int,
    on_done: Callable[[int], Any] | None = None,
) -> list[Any]:
    """``[func(job) for job in jobs]`` computed on Dask workers, in the order of ``jobs``."""
    distributed = require("distributed", "dask", "running simulations on a Dask cluster")
    with dask_client(spec, n_workers) as client:
        futures = client.map(func, list(jobs), pure=False)
        for _ in distributed.as_completed(futures):
            if on_done is not None:
                on_done(1)
        return client.gather(futures)
