"""States of backups, restores and schedule runs, and the moves allowed between them.

Every change of a `state` column goes through `services/state_moves.py`, which asks the machine
here which states may precede the new one and refuses any other move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class JobState(StrEnum):
    """The state of a backup or a restore."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class RunState(StrEnum):
    """The state of one slot of a schedule."""

    STARTED = "started"  # its backup was created (see the backup for how it went)
    WAITING = "waiting"  # queued behind a busy database (on_overlap: queue)
    SKIPPED = "skipped"
    MISSED = "missed"
    FAILED = "failed"  # its backup could not even be created


ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})


@dataclass(frozen=True)
class StateMachine:
    """The legal moves of one kind of row: `moves[current]` are the states it may move to.
    A state with no entry never moves (a final state)."""

    moves: Mapping[str, frozenset[str]]

    def can_move(self, current: str, new: str) -> bool:
        return new in self.moves.get(current, frozenset())

    def sources_of(self, new: str) -> frozenset[str]:
        """The states from which a row may move to `new` (empty when none may)."""
        return frozenset(current for current, targets in self.moves.items() if new in targets)


JOBS = StateMachine(
    {
        JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED, JobState.CANCELED}),
        JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED}),
    }
)

RUNS = StateMachine(
    {
        # A slot's run is recorded `started` before its backup is created, and keeps that state
        # when it is given the backup's name; it becomes `waiting`, `skipped` or `failed` when the
        # database is busy or the backup cannot be created.
        RunState.STARTED: frozenset(
            {RunState.STARTED, RunState.WAITING, RunState.SKIPPED, RunState.FAILED}
        ),
        RunState.WAITING: frozenset({RunState.STARTED, RunState.SKIPPED, RunState.FAILED}),
    }
)


def can_move(current: JobState, new: JobState) -> bool:
    """True when a backup or restore in `current` may move to `new`; final states never move.

    >>> can_move(JobState.QUEUED, JobState.RUNNING)
    True
    >>> can_move(JobState.SUCCEEDED, JobState.FAILED)
    False
    """
    return JOBS.can_move(current, new)


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
