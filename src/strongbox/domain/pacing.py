"""Reading no faster than a rate: how long to wait before the next read.

The pipeline reads the dump program's stdout; when it waits, the pipe fills and the program
(and the server's COPY or SELECT behind it) waits too, so pacing the reads paces the server.
The clock and the wait are passed in, so that the arithmetic is tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable

BYTES_PER_MB = 1_000_000  # `max_rate_mb_per_s` counts decimal megabytes, as the page's sizes do


def pacing_delay(bytes_so_far: int, elapsed_seconds: float, rate_bytes_per_second: float) -> float:
    """Seconds to wait so that `bytes_so_far` bytes read in `elapsed_seconds` stay at or under
    the rate; 0 when the reader is behind it.

    >>> pacing_delay(10_000_000, 1.0, 5_000_000)
    1.0
    >>> pacing_delay(1_000_000, 3.0, 5_000_000)
    0.0
    """
    due = bytes_so_far / rate_bytes_per_second
    return max(0.0, due - elapsed_seconds)


class Pacer:
    """Keeps the bytes read since the pacer was made at or under a rate.

    `now` is a monotonic clock in seconds; `wait(seconds)` waits (a cancel event's `wait` fits:
    it returns early when the backup is canceled, and the reader then sees the cancel).

    >>> clock = [0.0]
    >>> waits = []
    >>> def wait(s):
    ...     waits.append(s)
    ...     clock[0] += s
    >>> pacer = Pacer(2_000_000, now=lambda: clock[0], wait=wait)
    >>> for _ in range(3):
    ...     pacer.consumed(1_000_000)
    >>> waits, clock[0]
    ([0.5, 0.5, 0.5], 1.5)
    """

    def __init__(
        self,
        rate_bytes_per_second: float,
        *,
        now: Callable[[], float],
        wait: Callable[[float], object],
    ) -> None:
        if rate_bytes_per_second <= 0:
            raise ValueError("a rate must be positive")
        self.rate = rate_bytes_per_second
        self._now = now
        self._wait = wait
        self._started = now()
        self._bytes = 0

    def consumed(self, size: int) -> None:
        """Count `size` bytes just read and wait until reading them was allowed."""
        self._bytes += size
        delay = pacing_delay(self._bytes, self._now() - self._started, self.rate)
        if delay > 0:
            self._wait(delay)
