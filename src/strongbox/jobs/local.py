"""The embedded executor: a pool of worker threads inside `strongbox serve`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class LocalExecutor:
    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="strongbox-worker")
        self._futures: set[Future[None]] = set()

    def submit(self, job: Callable[[], None]) -> None:
        future = self._pool.submit(self._run, job)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # jobs record their own outcome; this is a last line of defence
            log.exception("a job raised instead of recording its failure")

    def idle(self) -> bool:
        return not self._futures

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
