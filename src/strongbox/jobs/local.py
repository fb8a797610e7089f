"""The embedded executor: a pool of worker threads inside `strongbox serve`, each running the
jobs it is handed through the one runner."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from strongbox.domain.jobs import JobRef

log = logging.getLogger(__name__)


class LocalExecutor:
    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="strongbox-worker")
        self._futures: set[Future[None]] = set()
        self._run: Callable[[JobRef], object] | None = None

    def bind(self, run: Callable[[JobRef], object]) -> None:
        """Give the executor the runner's `run` (made after the context that holds this)."""
        self._run = run

    def submit(self, job: JobRef) -> None:
        future = self._pool.submit(self._run_one, job)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def submit_here(self, job: JobRef) -> None:
        self.submit(job)

    def _run_one(self, job: JobRef) -> None:
        assert self._run is not None, "the executor was not bound to a runner"
        try:
            self._run(job)
        except Exception:  # the runner records the outcome; this is a last line of defence
            log.exception("%s %d raised instead of recording its outcome", job.kind, job.id)

    def idle(self) -> bool:
        return not self._futures

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
