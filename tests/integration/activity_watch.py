"""Watching a server's sessions while a backup runs: which statements showed up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


class StatementWatch:
    """Calls `sample()` (the statements running now) every 50 ms in a thread until the block
    ends; `seen` holds every statement sampled."""

    def __init__(self, sample: Callable[[], list[str]]) -> None:
        self._sample = sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seen: list[str] = []
        self.errors: list[BaseException] = []

    def __enter__(self) -> StatementWatch:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.seen += self._sample()
            except Exception as exc:
                self.errors.append(exc)
                return
