"""The scheduler's thread inside `strongbox serve`.

It runs only while this replica leads (`leadership.py`). It sleeps until the earliest due time
that its `next_due` function reports, then calls `run_due` (both from
`services/schedule_runs.py`).
Sleeping on an Event (not a busy poll) lets `wake()` cut the sleep short when schedules change,
and a bounded nap makes it robust to the wall clock jumping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from strongbox.clock import Clock

log = logging.getLogger(__name__)

MAX_NAP_SECONDS = 60.0


class SchedulerLoop:
    def __init__(
        self,
        clock: Clock,
        next_due: Callable[[datetime], datetime | None],
        run_due: Callable[[datetime], None],
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        self._clock = clock
        self._next_due = next_due
        self._run_due = run_due
        self._leads = leads
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="strongbox-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def wake(self) -> None:
        """Re-read the due times now (call after a schedule changed)."""
        self._wake.set()

    def step(self) -> float:
        """Run what is due now; return how long to sleep before the next look (for tests too).
        A replica that does not lead runs nothing (its leadership wakes it when it takes over)."""
        if not self._leads():
            return MAX_NAP_SECONDS
        now = self._clock.now()
        try:
            self._run_due(now)
            due = self._next_due(now)
        except Exception:
            log.exception("the scheduler step failed; trying again shortly")
            return 5.0
        if due is None:
            return MAX_NAP_SECONDS
        # From the clock after the look, not before it: a look over many schedules takes a
        # while, and a nap counted from its start would wake that much after the next slot.
        return max(0.0, min(MAX_NAP_SECONDS, (due - self._clock.now()).total_seconds()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            nap = self.step()
            self._wake.wait(nap)
            self._wake.clear()
