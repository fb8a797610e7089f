"""How long the next backup of a database is expected to take: from its recent successful
backups, or from its size when it has none. Schedule warnings and the page's timeline use it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from strongbox.domain.wording import format_bytes

# With no history, a backup is assumed to move 20 MB (decimal) of database per second. Strongbox's
# own pipeline does about 125 MB/s on two cores (pg_dump -Fc | zstd, see DESIGN.md), but a first
# estimate must also hold for a busy server, a slow disk or network, a remote worker or a logical
# MySQL dump: a six times slower guess errs towards a warning too many, never one too few.
CONSERVATIVE_THROUGHPUT = 20_000_000.0  # bytes per second
MIN_ESTIMATE_SECONDS = 60.0
HISTORY_SIZE = 10
PERCENTILE = 90


@dataclass(frozen=True)
class DurationEstimate:
    """How long a backup of a database is expected to take, and why (`basis`, a noun phrase
    such as "the 90th percentile of the last 7 successful backups")."""

    seconds: float
    basis: str
    # True when the database's rate limit (`max_rate_mb_per_s`) sets the estimate.
    capped: bool = False


def estimate_duration(
    recent_successful_durations: Sequence[float],
    database_size_bytes: int | None,
    throughput_bytes_per_second: float = CONSERVATIVE_THROUGHPUT,
    max_rate_bytes_per_second: float | None = None,
) -> DurationEstimate:
    """The estimated duration of the next backup of a database.

    `recent_successful_durations` are durations in seconds of the database's successful backups,
    NEWEST FIRST (as `ORDER BY finished_at DESC` gives them); only the first 10 are used, and values
    that are not finite or are negative are ignored. The estimate is their 90th percentile by the
    nearest-rank method (the smallest value that at least 90% of them do not exceed: the 9th of 10
    sorted values, the largest of up to 9). With no history, it is the database size divided by
    `throughput_bytes_per_second`. With a rate limit (`max_rate_bytes_per_second`) and a known
    size, it is never less than the size read at that rate: a backup cannot go faster, whatever
    it did before the limit was set (`capped` then says so). It is never less than one minute.

    >>> estimate_duration([100, 200, 300], None)  # doctest: +NORMALIZE_WHITESPACE
    DurationEstimate(seconds=300, basis='the 90th percentile of the last 3 successful backups',
                     capped=False)
    >>> estimate_duration([], 12_300_000_000).basis
    'the database size (12.3 GB) at a conservative 20 MB/s'
    >>> estimate_duration([5.0], None)
    DurationEstimate(seconds=60.0, basis='the one-minute minimum', capped=False)
    >>> capped = estimate_duration([100], 12_000_000_000, max_rate_bytes_per_second=5_000_000)
    >>> capped.seconds, capped.basis, capped.capped
    (2400.0, 'the database size (12 GB) at its rate limit of 5 MB/s', True)
    """
    usable = [d for d in recent_successful_durations[:HISTORY_SIZE] if math.isfinite(d) and d >= 0]
    if usable:
        ranked = sorted(usable)
        value = ranked[math.ceil(PERCENTILE / 100 * len(ranked)) - 1]
        if len(ranked) == 1:
            basis = "the duration of the last successful backup"
        else:
            basis = f"the {PERCENTILE}th percentile of the last {len(ranked)} successful backups"
    elif database_size_bytes and database_size_bytes > 0 and throughput_bytes_per_second > 0:
        value = database_size_bytes / throughput_bytes_per_second
        basis = (
            f"the database size ({format_bytes(database_size_bytes)}) at a conservative "
            f"{format_bytes(throughput_bytes_per_second)}/s"
        )
    else:
        value, basis = 0.0, ""
    capped = _capped(database_size_bytes, max_rate_bytes_per_second)
    if capped is not None and capped.seconds > value:
        return capped if capped.seconds >= MIN_ESTIMATE_SECONDS else _minimum()
    if value < MIN_ESTIMATE_SECONDS:
        return _minimum()
    return DurationEstimate(value, basis)


def _minimum() -> DurationEstimate:
    return DurationEstimate(MIN_ESTIMATE_SECONDS, "the one-minute minimum")


def _capped(size: int | None, rate: float | None) -> DurationEstimate | None:
    """The database size read at its rate limit, or None without both."""
    if not size or size <= 0 or not rate or rate <= 0:
        return None
    basis = f"the database size ({format_bytes(size)}) at its rate limit of {format_bytes(rate)}/s"
    return DurationEstimate(size / rate, basis, capped=True)


def seconds_left(
    progress_bytes: int,
    expected_bytes: int | None,
    elapsed_seconds: float,
    max_rate_bytes_per_second: float | None,
) -> float | None:
    """How long a running backup still needs: the bytes left at the rate it has read so far,
    never faster than its rate limit; at the limit itself before anything was read. None when
    the size is unknown or nothing tells the rate.

    >>> seconds_left(50_000_000, 100_000_000, 10.0, None)
    10.0
    >>> seconds_left(0, 100_000_000, 0.0, 2_000_000)
    50.0
    >>> seconds_left(10, 100, 0.0, None) is None
    True
    """
    if expected_bytes is None:
        return None
    rates = [progress_bytes / elapsed_seconds] if elapsed_seconds > 0 and progress_bytes else []
    if max_rate_bytes_per_second:
        rates.append(max_rate_bytes_per_second)
    if not rates:
        return None
    return max(0, expected_bytes - progress_bytes) / min(rates)
