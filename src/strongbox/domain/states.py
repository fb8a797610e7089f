"""States of backups (and later restores) and the moves allowed between them."""

from __future__ import annotations

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
