"""A background thread that runs one step every `interval` seconds until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(
        self,
        name: str,
        interval: float,
        step: Callable[[], object],
        when: Callable[[], bool] = lambda: True,
    ) -> None:
        """`when` gates each step, e.g. `leadership.is_leader` for a leader-only check."""
        self._interval = interval
        self._step = step
        self._when = when
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            if not self._when():
                continue
            try:
                self._step()
            except Exception:  # a failing step must not end the thread; it runs again later
                log.exception("periodic task %s failed", self._thread.name)
