"""Sampling what a running backup costs its source: the source's activity counters and the
backup's bytes read, every few seconds in a thread, summarized by `domain.source_load`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from strongbox.domain.source_load import Snapshot, summarize

log = logging.getLogger(__name__)

SAMPLE_EVERY_SECONDS = 2.0


class LoadSampler:
    """Takes a snapshot on entry, every `every` seconds, and on exit; `result()` is then the
    backup's `source_load`. A source that cannot be read ends the sampling, never the backup."""

    def __init__(
        self,
        read_counters: Callable[[], dict[str, int]],
        read_bytes: Callable[[], int],
        every: float = SAMPLE_EVERY_SECONDS,
    ) -> None:
        self._read_counters = read_counters
        self._read_bytes = read_bytes
        self._every = every
        self._snapshots: list[Snapshot] = []
        self._failed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadSampler:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._take()

    def result(self) -> dict[str, Any] | None:
        return summarize(self._snapshots, self._every)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._take()

    def _take(self) -> None:
        if self._failed:
            return
        try:
            counters = self._read_counters()
        except Exception as exc:  # a sample is a nicety: the backup goes on without it
            log.warning("stopped sampling the backup source's activity: %s", exc)
            self._failed = True
            return
        self._snapshots.append(Snapshot(time.monotonic(), counters, self._read_bytes()))
