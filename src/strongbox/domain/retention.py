"""Retention copies: which backups of a schedule to delete after a new one succeeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from strongbox.domain.states import JobState


@dataclass(frozen=True)
class RetainedBackup:
    """A backup made by the schedule, as retention sees it. `state` is a backup state
    (`succeeded`, `failed` ...) or a run state (`skipped`, `missed`)."""

    name: str
    state: str
    finished_at: datetime | None


def choose_deletions(backups: Sequence[RetainedBackup], keep: int) -> list[str]:
    """Names of the successful backups to delete so that the `keep` newest remain, oldest first.

    Only successful backups (with a `finished_at`) count and are ever returned: failed, canceled,
    skipped, missed, queued and running ones neither count towards `keep` nor get deleted.
    `keep == 0` keeps everything. The newest successful backup is never returned, whatever `keep`
    says. Newest means the latest `finished_at` (ties broken by name, so the choice is stable).
    Raises `ValueError` for a negative `keep`.

    >>> from datetime import datetime, UTC
    >>> day = lambda d: datetime(2026, 5, d, tzinfo=UTC)
    >>> choose_deletions([RetainedBackup("b1", "succeeded", day(1)),
    ...                   RetainedBackup("b2", "failed", day(2)),
    ...                   RetainedBackup("b3", "succeeded", day(3)),
    ...                   RetainedBackup("b4", "succeeded", day(4))], keep=2)
    ['b1']
    """
    if keep < 0:
        raise ValueError(f"keep must be 0 (keep all) or a positive number of copies (got {keep})")
    if keep == 0:
        return []
    successes = sorted(
        (b for b in backups if b.state == JobState.SUCCEEDED and b.finished_at is not None),
        key=lambda b: (b.finished_at, b.name),
        reverse=True,
    )
    return [b.name for b in reversed(successes[max(keep, 1) :])]
