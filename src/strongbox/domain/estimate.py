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


def estimate_duration(
    recent_successful_durations: Sequence[float],
    database_size_bytes: int | None,
    throughput_bytes_per_second: float = CONSERVATIVE_THROUGHPUT,
) -> DurationEstimate:
    """The estimated duration of the next backup of a database.

    `recent_successful_durations` are durations in seconds of the database's successful backups,
    NEWEST FIRST (as `ORDER BY finished_at DESC` gives them); only the first 10 are used, and values
    that are not finite or are negative are ignored. The estimate is their 90th percentile by the
    nearest-rank method (the smallest value that at least 90% of them do not exceed: the 9th of 10
    sorted values, the largest of up to 9). With no history, it is the database size divided by
    `throughput_bytes_per_second`. It is never less than one minute.

    >>> estimate_duration([100, 200, 300], None)
    DurationEstimate(seconds=300, basis='the 90th percentile of the last 3 successful backups')
    >>> estimate_duration([], 12_300_000_000).basis
    'the database size (12.3 GB) at a conservative 20 MB/s'
    >>> estimate_duration([5.0], None)
    DurationEstimate(seconds=60.0, basis='the one-minute minimum')
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
        return DurationEstimate(MIN_ESTIMATE_SECONDS, "the one-minute minimum")
    if value < MIN_ESTIMATE_SECONDS:
        return DurationEstimate(MIN_ESTIMATE_SECONDS, "the one-minute minimum")
    return DurationEstimate(value, basis)
