"""Jobs as data: what a service hands an executor (a kind and a row id, never a closure), and
the pure rules of the runner's heartbeat (when to beat, when a job counts as lost)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    BACKUP = "backup"
    RESTORE = "restore"


DEFAULT_QUEUE = "default"

# A process that runs jobs and has been silent this long is forgotten (its row removed by the
# leader), so that the list of workers does not grow with every restart. Long past any lost job.
WORKER_FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class JobRef:
    """One job to run: the kind of row and its id. `queue` only routes it (the worker queue
    its database is pinned to, None for the default queue); it does not travel with the job.

    >>> JobRef.from_message({"kind": "backup", "id": 12})
    JobRef(kind=<JobKind.BACKUP: 'backup'>, id=12, queue=None)
    """

    kind: JobKind
    id: int
    queue: str | None = None

    def message(self) -> dict[str, Any]:
        """What travels to a worker: the kind and the id, nothing else."""
        return {"kind": str(self.kind), "id": self.id}

    @classmethod
    def from_message(cls, message: object) -> JobRef:
        """The job a message names; ValueError for anything but a known kind and a positive id
        (a message comes from a broker: it is not trusted).

        >>> JobRef.from_message({"kind": "drop", "id": 1})
        Traceback (most recent call last):
        ...
        ValueError: not a job message: {'kind': 'drop', 'id': 1}
        """
        if isinstance(message, dict) and set(message) == {"kind", "id"}:
            kind, row_id = message["kind"], message["id"]
            if kind in set(JobKind) and type(row_id) is int and row_id > 0:
                return cls(JobKind(kind), row_id)
        raise ValueError(f"not a job message: {message!r}")


def beat_interval(lost_after: float) -> float:
    """How often a running job writes its heartbeat: several beats fit in the time after which
    it counts as lost, and never less often than every 5 s.

    >>> beat_interval(60)
    5.0
    >>> beat_interval(3)
    1.0
    """
    return min(5.0, lost_after / 3)


def is_lost(
    heartbeat_at: datetime | None, started_at: datetime | None, now: datetime, lost_after: float
) -> bool:
    """True when a running job's last sign of life (its heartbeat, else its start) is older
    than `lost_after` seconds at `now`.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> is_lost(t, t, t + timedelta(seconds=60), 60), is_lost(t, t, t + timedelta(seconds=61), 60)
    (False, True)
    """
    last = heartbeat_at or started_at
    if last is None:
        return False
    return now - last > timedelta(seconds=lost_after)


def lost_before(now: datetime, lost_after: float) -> datetime:
    """The heartbeat time before which a running job counts as lost (for a query)."""
    return now - timedelta(seconds=lost_after)


def lost_reason(heartbeat_at: datetime | None) -> str:
    """The error of a job failed because its worker stopped beating.

    >>> from datetime import UTC
    >>> lost_reason(datetime(2026, 1, 1, 2, 3, 4, tzinfo=UTC))
    'worker lost: last heartbeat at 2026-01-01T02:03:04Z'
    """
    if heartbeat_at is None:
        return "worker lost: no heartbeat recorded"
    stamp = heartbeat_at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"worker lost: last heartbeat at {stamp}"
