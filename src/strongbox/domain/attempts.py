"""Limits on failed sign-in attempts per client address (clock passed in, memory only).

A client that failed `max_failures` times within the last `window_seconds` is refused until the
oldest of those failures is older than the window; the answer says when to try again. Only
failures count: a person who signs in right is never slowed down, and a success forgets the
address's failures. Memory stays bounded: old failures are forgotten as time passes, and past
`max_clients` addresses the one seen longest ago is dropped.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

MAX_FAILURES = 10
WINDOW_SECONDS = 300.0
MAX_CLIENTS = 10_000


class FailureLimiter:
    """Thread-safe; every method takes the current time `now` in seconds (any monotonic or epoch
    clock, the same for all calls).

    >>> limiter = FailureLimiter(max_failures=2, window_seconds=60)
    >>> limiter.record_failure("10.0.0.1", 0.0); limiter.record_failure("10.0.0.1", 10.0)
    >>> limiter.retry_after("10.0.0.1", 20.0), limiter.retry_after("10.0.0.2", 20.0)
    (40, None)
    >>> limiter.retry_after("10.0.0.1", 60.0) is None
    True
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float) -> int | None:
        """Whole seconds (at least 1) until `client` may try again, or None when it may now."""
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window_seconds - now))

    def record_failure(self, client: str, now: float) -> None:
        with self._lock:
            times = self._recent(client, now)
            times.append(now)
            while len(times) > self.max_failures:
                times.popleft()
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def record_success(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> deque[float]:
        """The client's failures within the window (older ones are dropped)."""
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times
