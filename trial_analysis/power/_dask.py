"""Run simulation chunks on a Dask cluster (optional extra ``dask``).

``dask="local"`` starts a temporary ``LocalCluster(n_workers, processes=True)`` and closes
it afterwards; ``dask="tcp://host:8786"`` connects to a running scheduler; a
``distributed.Client`` is used as given. Results come back in submission order, and each
chunk draws from its own ``SeedSequence(seed, spawn_key=(j, i))``, so the numbers are the
same as with local processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from .._optional import require
from ..errors import ParameterError

__all__ = ["dask_client", "run_on_dask"]


class _Session:
    def __init__(self, spec: Any, n_workers: int):
        distributed = require("distributed", "dask", "running simulations on a Dask cluster")
        self._own: list[Any] = []
        if isinstance(spec, distributed.Client):
            self.client = spec
        elif spec == "local":
            cluster = distributed.LocalCluster(
                n_workers=max(2, n_workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,  # the scheduler's INFO lines drown the progress bar
            )
            self.client = distributed.Client(cluster)
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
