"""Carrying out one backup (claimed by the runner): dump every database through the pipeline,
write the manifest, check what is stored, and record the outcome on the backup's row."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import update

from strongbox import __version__, age_stream
from strongbox.catalog.models import Backup, Database
from strongbox.domain.backup_methods import PHYSICAL, UNSUPPORTED, physical_unsupported
from strongbox.domain.keys import artifact_key, backup_prefix, manifest_key
from strongbox.domain.manifest import ArtifactObject, Manifest, ManifestArtifact
from strongbox.domain.states import JobState
from strongbox.engines.base import DumpCommand, PhysicalEngine
from strongbox.errors import IllegalStateMove, StrongboxError, invalid
from strongbox.pipeline import ArtifactResult, PipelineOptions, StoredObject, dump_to_storage
from strongbox.services import (
    age_recipients,
    backup_sources,
    databases,
    notify,
    storages,
    stored_manifests,
)
from strongbox.services.context import Context
from strongbox.services.job_logs import logged
from strongbox.services.load_sampler import LoadSampler
from strongbox.services.state_moves import move_backup
from strongbox.storage.base import BackupStorage
from strongbox.storage.light_open import LightOpen
from strongbox.stream.runner import dump_in_child

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0


class _Progress:
    """Writes bytes-so-far and a heartbeat on the row, at most once a second."""

    def __init__(self, ctx: Context, backup_id: int) -> None:
        self._ctx = ctx
        self._id = backup_id
        self._done_before = 0  # raw bytes of the artifacts already finished
        self._last = 0.0
        self.total = 0  # raw bytes read so far, over all artifacts

    def artifact_done(self, raw_bytes: int) -> None:
        self._done_before += raw_bytes
        self.total = self._done_before

    def __call__(self, raw_bytes: int) -> None:
        self.total = self._done_before + raw_bytes
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        with self._ctx.catalog.session() as session:
            session.execute(
                update(Backup)
                .where(Backup.id == self._id)
                .values(
                    progress_bytes=self._done_before + raw_bytes,
                    heartbeat_at=self._ctx.clock.now(),
                )
            )


@logged("backup", Backup)
def carry_out(ctx: Context, backup_id: int, cancel: threading.Event) -> bool:
    """Carry out the backup `backup_id`, claimed by the caller (the runner), to its end: True
    when it succeeded. Never raises: the outcome is on the row (`canceled` when `cancel` was
    set, and everything it stored is removed then as on a failure)."""
    with ctx.catalog.session() as session:
        row = session.get(Backup, backup_id)
        assert row is not None
        name, database, storage_name = row.name, row.database, row.storage
        started = row.started_at or ctx.clock.now()
    storage: BackupStorage | None = None
    prefix = ""
    try:
        storage, storage_prefix = storages.open_by_name(ctx, storage_name)
        prefix = backup_prefix(storage_prefix, database, name)
        manifest = _take(ctx, backup_id, storage, storage_prefix, started, cancel)
        if cancel.is_set():
            raise StrongboxError("the backup was canceled", "canceled")
        _verify_stored(storage, prefix, manifest)
        location = storages.location_of(ctx, storage_name, prefix)
        _finish(ctx, backup_id, manifest, location)
        return True
    except Exception as exc:
        reason = str(exc) if isinstance(exc, StrongboxError) else f"unexpected error: {exc!r}"
        if not isinstance(exc, StrongboxError):
            log.exception("backup %s/%s failed unexpectedly", database, name)
        # What it stored goes first: a backup is shown failed or canceled once it is clean (or
        # marked for the janitor when the storage refused).
        clean = storage is None or remove_leftovers(storage, prefix)
        _fail(ctx, backup_id, reason, cancel, cleanup_pending=not clean)
        return False


def identity(ctx: Context, backup_id: int) -> tuple[str, str, str]:
    """The backup's database, name and trigger."""
    with ctx.catalog.session() as session:
        row = session.get(Backup, backup_id)
        assert row is not None
        return row.database, row.name, row.trigger


def _take(
    ctx: Context,
    backup_id: int,
    storage: BackupStorage,
    storage_prefix: str,
    started: datetime,
    cancel: threading.Event | None,
) -> Manifest:
    with ctx.catalog.session() as session:
        row = session.get(Backup, backup_id)
        assert row is not None
        db_row = databases.get_row(session, row.database)
        name, database, method, trigger = row.name, row.database, row.method, row.trigger
        engine_name, wanted = db_row.engine, list(db_row.databases)
        conn = databases.connection_of(ctx, db_row)
        limits = backup_sources.dump_limits(db_row)
        source_address = db_row.backup_source
        recipients = age_recipients.recipients_for(session, row.database, row.storage)
        storage_name = row.storage
    stream_storage = storages.light_open_by_name(ctx, storage_name)
    engine = databases.engine_of(ctx, engine_name)
    timeout = ctx.settings.check_timeout_seconds
    info = engine.check(conn, wanted, timeout)
    physical_facts: dict[str, Any] | None = None
    if method == PHYSICAL:
        if not isinstance(engine, PhysicalEngine):
            raise invalid(physical_unsupported(engine_name), UNSUPPORTED)
        # A base backup is of the primary: the WAL stream and its history are the primary's.
        source = backup_sources.read_from(ctx, engine, conn, None)
        command, tool_versions, physical_facts = engine.plan_physical(conn, timeout, limits)
        commands = [command]
    else:
        source = backup_sources.read_from(ctx, engine, conn, source_address)
        limits = replace(limits, from_standby=source.standby)
        commands, tool_versions = engine.plan_dump(source.conn, wanted, timeout, limits)
    expected = sum(c.expected_bytes or 0 for c in commands) or None
    _set(
        ctx,
        backup_id,
        engine=engine_name,
        server_version=info.version,
        expected_bytes=expected,
        source=source.record(limits),
    )
    _update_server_version(ctx, database, info.version)

    options = PipelineOptions(
        zstd_level=ctx.settings.zstd_level,
        zstd_threads=ctx.settings.zstd_threads,
        stall_timeout_seconds=ctx.settings.stall_timeout_seconds,
        max_rate_bytes_per_second=limits.max_rate_bytes_per_second,
        age_recipients=tuple(recipients),
    )
    progress = _Progress(ctx, backup_id)
    sampler = LoadSampler(
        lambda: engine.activity_counters(source.conn, timeout), lambda: progress.total
    )
    try:
        with sampler:
            artifacts, log_position = _dump_all(
                _Target(storage, stream_storage, storage_prefix),
                commands,
                name,
                database,
                options,
                progress,
                cancel,
            )
    finally:
        _set(ctx, backup_id, source_load=sampler.result())
    if physical_facts is not None:
        log_position = physical_record(physical_facts, log_position, started, ctx)
    manifest = Manifest(
        strongbox_version=__version__,
        backup=name,
        database=database,
        engine=engine_name,
        server_version=info.version,
        method=method,
        trigger=trigger,
        tool_versions=tool_versions,
        started_at=started,
        finished_at=ctx.clock.now(),
        size_bytes=sum(a.raw_bytes for a in artifacts),
        stored_bytes=sum(a.stored_bytes for a in artifacts),
        compression={"algorithm": "zstd", "level": options.zstd_level},
        encryption={"algorithm": "age", "recipients": recipients} if recipients else None,
        log_position=log_position,
        artifacts=artifacts,
    )
    storage.put_bytes(
        manifest_key(storage_prefix, database, name),
        manifest.model_dump_json(indent=2).encode(),
    )
    return manifest


@dataclass(frozen=True)
class _Target:
    """Where a backup's artifacts go: the storage, how its stream process opens it (None: the
    stream runs in this process), and the storage's key prefix."""

    storage: BackupStorage
    light_open: LightOpen | None
    prefix: str

    def dump(
        self,
        command: DumpCommand,
        key: str,
        options: PipelineOptions,
        progress: _Progress,
        cancel: threading.Event | None,
    ) -> ArtifactResult:
        if self.light_open is None:
            return dump_to_storage(
                command, self.storage, key, options, on_raw_bytes=progress, cancel=cancel
            )
        return dump_in_child(
            command, self.light_open, key, options, on_raw_bytes=progress, cancel=cancel
        )


def _dump_all(
    target: _Target,
    commands: list[DumpCommand],
    name: str,
    database: str,
    options: PipelineOptions,
    progress: _Progress,
    cancel: threading.Event | None,
) -> tuple[list[ManifestArtifact], dict[str, Any] | None]:
    """Every command through the pipeline: the artifacts and the first log position."""
    artifacts: list[ManifestArtifact] = []
    log_position: dict[str, Any] | None = None
    encrypted_to = list(options.age_recipients) or None
    for command in commands:
        file_name = command.artifact_name + (age_stream.SUFFIX if encrypted_to else "")
        key = artifact_key(target.prefix, database, name, file_name)
        result = target.dump(command, key, options, progress, cancel)
        progress.artifact_done(result.raw_bytes)
        log_position = log_position or result.log_position
        artifacts.append(
            ManifestArtifact(
                name=file_name,
                key=key,
                kind=command.kind,
                dbname=command.dbname,
                format=command.format,
                raw_bytes=result.raw_bytes,
                stored_bytes=result.stored_bytes,
                sha256=result.sha256,
                database_properties=command.properties,
                log_position=result.log_position,
                objects=_objects(result.objects),
                encrypted_to=encrypted_to,
            )
        )
    return artifacts, log_position


def _objects(stored: tuple[StoredObject, ...]) -> list[ArtifactObject] | None:
    """The manifest's list of an artifact's objects; none when it is one object."""
    if len(stored) < 2:
        return None
    return [ArtifactObject(key=o.key, stored_bytes=o.stored_bytes, sha256=o.sha256) for o in stored]


def physical_record(
    facts: dict[str, Any], wal: dict[str, Any] | None, started: datetime, ctx: Context
) -> dict[str, Any]:
    """What a physical backup records as its log position: the WAL range pg_basebackup
    reported, the source's facts, and the start and stop times. A run whose range was not
    reported is not trusted as a base."""
    if wal is None:
        raise StrongboxError(
            "pg_basebackup ended without reporting its WAL start and end points, so the backup "
            "cannot be placed in the server's history; it is not kept",
            "backup-physical-unplaced",
        )
    return {
        **wal,
        **facts,
        "start_time": started.isoformat(),
        "stop_time": ctx.clock.now().isoformat(),
    }


def _verify_stored(storage: BackupStorage, prefix: str, manifest: Manifest) -> None:
    """Every object of every artifact is listed in the storage with the size that was hashed
    while streaming."""
    sizes = {o.key: o.size for o in storage.list(prefix)}
    for artifact in manifest.artifacts:
        for key, sent in _object_sizes(artifact):
            if sizes.get(key) != sent:
                raise StrongboxError(
                    f"the storage holds {sizes.get(key)} bytes for {key} after the upload, but "
                    f"{sent} were sent; the backup is not trustworthy",
                    "storage-verify-failed",
                )


def _object_sizes(artifact: ManifestArtifact) -> list[tuple[str, int]]:
    if artifact.objects is None:
        return [(artifact.key, artifact.stored_bytes)]
    return [(o.key, o.stored_bytes) for o in artifact.objects]


def _finish(ctx: Context, backup_id: int, manifest: Manifest, location: str) -> None:
    with ctx.catalog.session() as session:
        move_backup(
            session,
            backup_id,
            JobState.SUCCEEDED,
            finished_at=ctx.clock.now(),
            **stored_manifests.catalog_values(manifest, location),
        )


def _fail(
    ctx: Context, backup_id: int, reason: str, cancel: threading.Event, *, cleanup_pending: bool
) -> None:
    state = JobState.CANCELED if cancel.is_set() else JobState.FAILED
    try:
        with ctx.catalog.session() as session:
            move_backup(
                session,
                backup_id,
                state,
                error=reason,
                finished_at=ctx.clock.now(),
                cleanup_pending=cleanup_pending,
            )
    except IllegalStateMove:  # already ended elsewhere (logged by the move)
        if cleanup_pending:
            _set(ctx, backup_id, cleanup_pending=True)
    else:
        if state == JobState.FAILED:
            notify.backup_failed(ctx, backup_id, reason)


def remove_leftovers(storage: BackupStorage, prefix: str) -> bool:
    """Remove whatever a failed backup left under `prefix` (finished dumps of other databases,
    incomplete uploads), so that nothing looks like a backup; False when the storage refused."""
    try:
        storage.delete_prefix(prefix)
    except Exception as exc:
        log.warning("could not remove what a failed backup left under %s: %s", prefix, exc)
        return False
    return True


def _set(ctx: Context, backup_id: int, **values: Any) -> None:
    with ctx.catalog.session() as session:
        session.execute(update(Backup).where(Backup.id == backup_id).values(**values))


def _update_server_version(ctx: Context, database: str, version: str) -> None:
    with ctx.catalog.session() as session:
        session.execute(
            update(Database).where(Database.name == database).values(server_version=version)
        )
