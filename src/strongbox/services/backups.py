"""Take, list, show and delete backups; mark backups that a stopped server left behind."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Restore
from strongbox.domain.backup_methods import (
    PHYSICAL,
    UNSUPPORTED,
    is_pitr_base,
    is_pitr_ready,
    physical_unsupported,
)
from strongbox.domain.estimate import seconds_left
from strongbox.domain.jobs import JobKind
from strongbox.domain.keys import PITR_FOLDER, backup_prefix
from strongbox.domain.manifest_checks import BASE
from strongbox.domain.names import default_name
from strongbox.domain.pacing import BYTES_PER_MB
from strongbox.domain.states import ACTIVE_STATES, JobState, duration_seconds
from strongbox.engines.base import PhysicalEngine
from strongbox.engines.registry import kind_of
from strongbox.errors import StrongboxError, conflict, invalid, not_found
from strongbox.services import backup_run, databases, hints, job_rows, pitr, storages
from strongbox.services.busy import refuse_if_busy
from strongbox.services.context import Context
from strongbox.services.schemas import (
    ArtifactOut,
    BackupCreate,
    BackupOut,
    BackupSourceUsed,
    SourceLoad,
)
from strongbox.services.storage_choice import require_storage

log = logging.getLogger(__name__)


def create(
    ctx: Context, database: str, body: BackupCreate, *, trigger: str = "manual"
) -> BackupOut:
    """Queue a backup of `database` and hand it to the executor; answers the queued backup.

    Refused with 409 when the name is taken or another backup of the database is in progress.
    """
    if body.method == PHYSICAL:
        _check_physical(ctx, database)
    if body.name == PITR_FOLDER:
        raise invalid(
            f"a backup may not be named '{PITR_FOLDER}': that folder beside the backups holds "
            "the streamed WAL; choose another name",
            "backup-name-reserved",
            field_name="body.name",
        )
    now = ctx.clock.now()
    name = body.name or default_name("backup", now)
    try:
        with ctx.catalog.session() as session:
            databases.get_row(session, database)
            require_storage(session, body.storage)
            if _find(session, database, name) is not None:
                raise conflict(
                    f"database '{database}' already has a backup named '{name}'", "name-taken"
                )
            _refuse_if_busy(session, database)
            row = Backup(
                name=name,
                database=database,
                storage=body.storage,
                method=body.method,
                trigger=trigger,
                state=JobState.QUEUED,
                created_at=now,
                progress_bytes=0,
                artifacts=[],
            )
            session.add(row)
            session.flush()
            backup_id = row.id
            out = to_out(row, now)
    except IntegrityError:
        # Lost a race with another request: the catalog's unique indexes said no.
        with ctx.catalog.session() as session:
            _refuse_if_busy(session, database)
        raise conflict(
            f"database '{database}' already has a backup named '{name}'", "name-taken"
        ) from None
    job_rows.enqueue(ctx, JobKind.BACKUP, backup_id, database)
    return out


def _check_physical(ctx: Context, database: str) -> None:
    """Refuses (422) a physical backup of an engine kind that writes no base artifact, and one
    of a server that lacks a prerequisite (each named with its fix), before anything is queued.
    """
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        engine_name = db_row.engine
        conn = databases.connection_of(ctx, db_row)
    require_method_fits(engine_name, PHYSICAL)
    engine = databases.engine_of(ctx, engine_name)
    assert isinstance(engine, PhysicalEngine)  # its kind writes a base artifact
    engine.plan_physical(conn, ctx.settings.check_timeout_seconds)


def require_method_fits(engine: str, method: str) -> None:
    """Refuses (422) a physical backup of an engine kind that writes no base artifact."""
    kind = kind_of(engine)
    if method == PHYSICAL and BASE not in kind.artifact_formats:
        raise invalid(physical_unsupported(kind.label), UNSUPPORTED, field_name="body.method")


def list_for(ctx: Context, database: str) -> list[BackupOut]:
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        rows = session.scalars(
            select(Backup)
            .where(Backup.database == database)
            .order_by(Backup.created_at.desc(), Backup.id.desc())
        )
        ready, now = pitr.ready_bases(ctx, database), ctx.clock.now()
        return [to_out(r, now, ready) for r in rows]


def get(ctx: Context, database: str, name: str) -> BackupOut:
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        ready = pitr.ready_bases(ctx, database)
        return to_out(get_row(session, database, name), ctx.clock.now(), ready)


def delete(ctx: Context, database: str, name: str) -> None:
    """Delete the backup's artifacts, then its record. Refused while it is in progress."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = get_row(session, database, name)
        if row.state in ACTIVE_STATES:
            raise conflict(
                f"backup '{name}' is {row.state}; wait for it to end before deleting it",
                "backup-in-progress",
            )
        _refuse_if_read(session, database, name)
        storage_name, method, engine = row.storage, row.method, row.engine
    storage, prefix = storages.open_by_name(ctx, storage_name)
    storage.delete_prefix(backup_prefix(prefix, database, name))
    with ctx.catalog.session() as session:
        session.delete(get_row(session, database, name))
    if is_pitr_base(method, engine):
        pruned = pitr.prune_wal(ctx, database)
        if pruned:
            log.info("deleted %d log files of %s older than its oldest base", pruned, database)


def retry_cleanups(ctx: Context) -> int:
    """Remove the objects of failed backups whose storage could not be cleaned when they failed
    (it was down); returns how many backups are clean now. The janitor calls this periodically."""
    with ctx.catalog.session() as session:
        pending = session.execute(
            select(Backup.id, Backup.database, Backup.name, Backup.storage).where(
                Backup.cleanup_pending.is_(True)
            )
        ).all()
    cleaned = 0
    for backup_id, database, name, storage_name in pending:
        try:
            storage, prefix = storages.open_by_name(ctx, storage_name)
        except StrongboxError as exc:  # the storage record is gone: nothing left to reach
            log.warning("cannot clean up backup %s/%s: %s", database, name, exc)
            continue
        if backup_run.remove_leftovers(storage, backup_prefix(prefix, database, name)):
            with ctx.catalog.session() as session:
                session.execute(
                    update(Backup).where(Backup.id == backup_id).values(cleanup_pending=False)
                )
            cleaned += 1
    return cleaned


def get_row(session: Session, database: str, name: str) -> Backup:
    row = _find(session, database, name)
    if row is None:
        raise not_found(
            f"database '{database}' has no backup named '{name}': {hints.list_backups(database)}",
            "backup-not-found",
        )
    return row


def _find(session: Session, database: str, name: str) -> Backup | None:
    return session.scalars(
        select(Backup).where(Backup.database == database, Backup.name == name)
    ).first()


def _refuse_if_read(session: Session, database: str, name: str) -> None:
    """Refuse (409) while a queued or running restore reads backup `name`: deleting it would
    pull the artifact from under the restore. Retention meets the same refusal, keeps the
    backup, and deletes it at its next pass."""
    reader = session.scalars(
        select(Restore).where(
            Restore.database == database,
            Restore.backup == name,
            Restore.state.in_(ACTIVE_STATES),
        )
    ).first()
    if reader is not None:
        raise conflict(
            f"backup '{name}' is being read by restore '{reader.name}' ({reader.state}); "
            "wait for that restore to end before deleting the backup",
            "backup-in-use",
        )


def _refuse_if_busy(session: Session, database: str) -> None:
    busy = session.scalars(
        select(Backup).where(Backup.database == database, Backup.state.in_(ACTIVE_STATES))
    ).first()
    if busy is not None:
        raise conflict(
            f"backup '{busy.name}' of database '{database}' is {busy.state}; one backup at a "
            "time per database: wait for it to end",
            "backup-in-progress",
        )
    refuse_if_busy(session, database)  # a restore from or into it


def to_out(row: Backup, now: datetime, pitr_ready: frozenset[str] = frozenset()) -> BackupOut:
    """The backup as shown at `now`; `pitr_ready` names the database's bases whose WAL is
    stored."""
    duration = duration_seconds(row.started_at, row.finished_at)
    return BackupOut(
        name=row.name,
        database=row.database,
        storage=row.storage,
        method=row.method,
        trigger=row.trigger,
        state=row.state,
        error=row.error,
        claimed_by=row.claimed_by,
        heartbeat_at=row.heartbeat_at,
        canceled_by=row.canceled_by,
        canceled_at=row.cancel_requested_at,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=duration,
        size_bytes=row.size_bytes,
        stored_bytes=row.stored_bytes,
        progress_bytes=row.progress_bytes,
        expected_bytes=row.expected_bytes,
        location=row.location,
        server_version=row.server_version,
        log_position=row.log_position,
        pitr_base=is_pitr_base(row.method, row.engine),
        pitr_ready=is_pitr_ready(row.method, row.engine, row.name in pitr_ready),
        artifacts=[ArtifactOut(**a) for a in row.artifacts],
        seconds_left=_seconds_left(row, now),
        source=BackupSourceUsed.model_validate(row.source) if row.source else None,
        source_load=SourceLoad.model_validate(row.source_load) if row.source_load else None,
    )


def _seconds_left(row: Backup, now: datetime) -> float | None:
    if row.state != JobState.RUNNING or row.started_at is None:
        return None
    rate = (row.source or {}).get("max_rate_mb_per_s")
    elapsed = (now - row.started_at).total_seconds()
    return seconds_left(
        row.progress_bytes,
        row.expected_bytes,
        elapsed,
        float(rate) * BYTES_PER_MB if rate is not None else None,
    )
