"""Jobs whose worker is gone: a running backup or restore whose heartbeat is older than
`STRONGBOX_JOB_LOST_AFTER` is failed with "worker lost: last heartbeat at ...", and a backup's
objects (finished dumps, unfinished multipart uploads) are removed like a failed backup's.

Only the heartbeat decides: a job another live process runs keeps beating and is never touched.
The move is conditional on the heartbeat read, so a beat written in between keeps the job.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from strongbox.catalog.models import Backup, Restore
from strongbox.domain.jobs import is_lost, lost_before, lost_reason
from strongbox.domain.states import JobState
from strongbox.errors import IllegalStateMove
from strongbox.services import backups, notify, restore_rows
from strongbox.services.context import Context
from strongbox.services.state_moves import move_backup, move_restore

log = logging.getLogger(__name__)


def fail_lost(ctx: Context) -> list[str]:
    """Fail every running backup and restore whose heartbeat is stale now; clean the failed
    backups' storage (or leave it pending for the janitor). Returns `kind database/name` of
    each job failed."""
    now = ctx.clock.now()
    cutoff = lost_before(now, ctx.settings.job_lost_after)
    failed = _fail_backups(ctx, cutoff, now) + _fail_restores(ctx, cutoff, now)
    if any(name.startswith("backup ") for name in failed):
        backups.retry_cleanups(ctx)
    return failed


def _fail_backups(ctx: Context, cutoff: datetime, now: datetime) -> list[str]:
    with ctx.catalog.session() as session:
        rows = session.execute(
            select(
                Backup.id, Backup.database, Backup.name, Backup.heartbeat_at, Backup.started_at
            ).where(
                Backup.state == JobState.RUNNING,
                func.coalesce(Backup.heartbeat_at, Backup.started_at) < cutoff,
            )
        ).all()
    failed = []
    for backup_id, database, name, beat, started in rows:
        if not is_lost(beat, started, now, ctx.settings.job_lost_after):
            continue  # the query's rule, checked again by the rule itself
        try:
            with ctx.catalog.session() as session:
                move_backup(
                    session,
                    backup_id,
                    JobState.FAILED,
                    only_if=_same_beat(Backup, beat),
                    error=lost_reason(beat),
                    finished_at=now,
                    cleanup_pending=True,
                )
        except IllegalStateMove:
            continue  # it beat or ended in between: not lost
        log.warning("backup %s/%s failed: %s", database, name, lost_reason(beat))
        notify.worker_lost(ctx, "backup", database, name, lost_reason(beat))
        failed.append(f"backup {database}/{name}")
    return failed


def _fail_restores(ctx: Context, cutoff: datetime, now: datetime) -> list[str]:
    with ctx.catalog.session() as session:
        rows = session.execute(
            select(
                Restore.id,
                Restore.database,
                Restore.name,
                Restore.heartbeat_at,
                Restore.started_at,
                Restore.target,
                Restore.summary,
            ).where(
                Restore.state == JobState.RUNNING,
                func.coalesce(Restore.heartbeat_at, Restore.started_at) < cutoff,
            )
        ).all()
    failed = []
    for restore_id, database, name, beat, started, target, summary in rows:
        if not is_lost(beat, started, now, ctx.settings.job_lost_after):
            continue
        reason = f"{lost_reason(beat)}; {restore_rows.interrupted_state(target, summary)}"
        try:
            with ctx.catalog.session() as session:
                move_restore(
                    session,
                    restore_id,
                    JobState.FAILED,
                    only_if=_same_beat(Restore, beat),
                    error=reason,
                    finished_at=now,
                )
        except IllegalStateMove:
            continue
        log.warning("restore %s/%s failed: %s", database, name, reason)
        notify.worker_lost(ctx, "restore", database, name, reason)
        failed.append(f"restore {database}/{name}")
    return failed


def _same_beat(model: type[Backup] | type[Restore], beat: datetime | None) -> ColumnElement[bool]:
    return model.heartbeat_at.is_(None) if beat is None else model.heartbeat_at == beat
