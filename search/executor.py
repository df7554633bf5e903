"""Where trials run: in this process, or on Dask workers (a LocalCluster of N processes, or a scheduler address).

The evaluator is sent to every worker once (scattered), so each trial ships only its knob values.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from .errors import SearchError
from .store import Trial


def _evaluate(evaluator, values: Mapping[str, Any], origin: str) -> Trial:
    return evaluator(values, origin=origin)


class InlineExecutor:
    """Runs each trial when it is submitted; ``wait`` hands back the finished ones."""

    def __init__(self, evaluator):
        self.evaluator = evaluator
        self.done: list[Trial] = []
        self.workers = 1

    @property
    def inflight(self) -> int:
        return len(self.done)

    def submit(self, values: Mapping[str, Any], origin: str) -> None:
        self.done.append(self.evaluator(values, origin=origin))

    def wait(self) -> Iterator[Trial]:
        done, self.done = self.done, []
        yield from done

    def close(self) -> None:
        pass


class DaskExecutor:
    """Trials as Dask futures; ``wait`` yields those that finished first."""

    def __init__(self, evaluator, workers: int = 2, scheduler: str | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:  # pragma: no cover - dask is a hard dependency
            raise SearchError(f"parallel trials need dask.distributed ({e})") from None
        self.cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="20s")
            else:
                # one thread per worker process: N workers on N cores, not N x (torch's own thread pool)
                one = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=40, env=one)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as e:
            raise SearchError(f"cannot reach the Dask scheduler {scheduler or '(local cluster)'}: {e}") from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)
        self.ev = self.client.scatter(evaluator, broadcast=True)
        self.futures: set = set()

    @property
    def inflight(self) -> int:
        return len(self.futures)

    def submit(self, values: Mapping[str, Any], origin: str) -> None:
        self.futures.add(self.client.submit(_evaluate, self.ev, dict(values), origin, pure=False))

    def wait(self) -> Iterator[Trial]:
        from distributed import wait
        done, _ = wait(list(self.futures), return_when="FIRST_COMPLETED")
        for f in done:
            self.futures.discard(f)
            yield f.result()

    def close(self) -> None:
        for f in self.futures:
            f.cancel()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make(evaluator: Any, workers: int, scheduler: str | None) -> InlineExecutor | DaskExecutor:
    """Dask when a scheduler is named or more than one worker is asked for; else in this process."""
    if scheduler or workers > 1:
        return DaskExecutor(evaluator, workers, scheduler)
    return InlineExecutor(evaluator)
