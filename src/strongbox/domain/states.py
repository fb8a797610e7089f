"""States of backups (and later restores) and the moves allowed between them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})
FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED})

_ALLOWED = {
    JobState.QUEUED: {JobState.RUNNING, JobState.FAILED, JobState.CANCELED},
    JobState.RUNNING: {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED},
}


def can_move(current: JobState, new: JobState) -> bool:
    """True when a job in `current` may move to `new`; final states never move.

    >>> can_move(JobState.QUEUED, JobState.RUNNING)
    True
    >>> can_move(JobState.SUCCEEDED, JobState.FAILED)
    False
    """
    return new in _ALLOWED.get(current, set())


def duration_seconds(started: datetime | None, finished: datetime | None) -> float | None:
    """How long a job ran, once it has both ends.

    >>> from datetime import UTC
    >>> duration_seconds(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    60.0
    >>> duration_seconds(None, None) is None
    True
    """
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()
