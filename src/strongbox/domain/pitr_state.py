"""Which state a WAL stream is in, from what its supervisor last saw: a pure choice, so that
every state can be tested without a server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STARTING, STREAMING, LAGGING, BROKEN, DISABLED = (
    "starting",
    "streaming",
    "lagging",
    "broken",
    "disabled",
)
PITR_STATES = (STARTING, STREAMING, LAGGING, BROKEN, DISABLED)

# The receiver is broken, not merely restarting, after this many failed starts in a row.
FAILURES_BEFORE_BROKEN = 5
# A slot that holds more WAL than this, not yet stored, is lagging: it fills the server's disk.
RETAINED_BYTES_LIMIT = 1024**3
# Stored WAL older than this many upload intervals (at least LAG_FLOOR_SECONDS) is lagging.
LAG_INTERVALS = 3
LAG_FLOOR_SECONDS = 60.0


@dataclass(frozen=True)
class StreamObservation:
    """What the supervisor saw on its last pass."""

    enabled: bool
    upload_interval_seconds: int
    last_upload_at: datetime | None
    failures: int = 0
    last_failure: str | None = None
    broken_because: str | None = None  # what a person must fix (a slot gone, diverged WAL)
    pending_wal: bool = False  # the server has WAL beyond what is stored
    retained_bytes: int | None = None  # WAL the slot keeps on the server
    unlimited_retention: bool = False  # max_slot_wal_keep_size is -1


def lag_seconds(seen: StreamObservation, now: datetime) -> float | None:
    """How old the newest stored WAL is while the server has more: 0 when all is stored.

    >>> from datetime import UTC
    >>> up = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    >>> lag_seconds(StreamObservation(True, 60, up, pending_wal=True), up.replace(minute=2))
    120.0
    """
    if seen.last_upload_at is None:
        return None
    if not seen.pending_wal:
        return 0.0
    return max(0.0, (now - seen.last_upload_at).total_seconds())


def choose_state(seen: StreamObservation, now: datetime) -> tuple[str, str | None]:
    """The state and its `error` (the reason when broken, the warning when lagging).

    >>> from datetime import UTC
    >>> now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    >>> choose_state(StreamObservation(True, 60, None), now)
    ('starting', None)
    >>> choose_state(StreamObservation(True, 60, now, broken_because="slot gone"), now)
    ('broken', 'slot gone')
    """
    if not seen.enabled:
        return DISABLED, None
    if seen.broken_because is not None:
        return BROKEN, seen.broken_because
    if seen.failures >= FAILURES_BEFORE_BROKEN:
        return BROKEN, (
            f"the log receiver failed {seen.failures} times in a row; it is tried again with a "
            f"growing pause; last error: {seen.last_failure or 'unknown'}"
        )
    if seen.last_upload_at is None:
        return STARTING, None
    advice = (
        "; set max_slot_wal_keep_size on the server so that a stalled stream cannot fill its disk"
        if seen.unlimited_retention
        else ""
    )
    if seen.retained_bytes is not None and seen.retained_bytes > RETAINED_BYTES_LIMIT:
        held = seen.retained_bytes / 1024**3
        return LAGGING, (
            f"the replication slot holds {held:.1f} GiB of WAL on the server that is not stored "
            f"yet (more than {RETAINED_BYTES_LIMIT // 1024**3} GiB){advice}"
        )
    lag = lag_seconds(seen, now) or 0.0
    limit = max(LAG_FLOOR_SECONDS, LAG_INTERVALS * seen.upload_interval_seconds)
    if lag > limit:
        return LAGGING, (
            f"the newest stored WAL is {lag:.0f} s old while the server has more (more than "
            f"{limit:.0f} s){advice}"
        )
    return STREAMING, None
