"""Carrying out one restore (claimed by the runner): check the scratch folder has room, apply
the roles, restore each database (see `restore_steps` for how an existing one is protected),
and record an honest outcome and summary on the restore's row.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import update

from strongbox import restore_pipeline, scratch
from strongbox.catalog.models import Restore
from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.restore_plan import PlannedDatabase
from strongbox.domain.states import JobState
from strongbox.engines.base import GlobalsEngine
from strongbox.errors import IllegalStateMove, StrongboxError
from strongbox.restore_pipeline import Identities
from strongbox.services import (
    binlog_replays,
    database_properties,
    held_identities,
    new_instances,
    notify,
    physical_transfer,
    pitr_restores,
    restore_inputs,
    restore_keys,
)
from strongbox.services.context import Context
from strongbox.services.instance_build import PitrRecovery
from strongbox.services.job_logs import logged
from strongbox.services.restore_inputs import Prepared
from strongbox.services.restore_sources import ArtifactSource, StoredArtifacts
from strongbox.services.restore_steps import TargetRestorer
from strongbox.services.state_moves import move_restore
from strongbox.storage.base import BackupStorage

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
MAX_GLOBALS_BYTES = 64 * 1024 * 1024  # roles and tablespaces; read whole to filter them


class _Progress:
    def __init__(self, ctx: Context, restore_id: int) -> None:
        self._ctx = ctx
        self._id = restore_id
        self._before = 0
        self._last = 0.0

    def artifact_done(self, raw_bytes: int) -> None:
        self._before += raw_bytes
        self._write(self._before)

    def heartbeat(self, _bytes: int = 0) -> None:
        """Only the heartbeat (while a local copy downloads, before any byte is fed)."""
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = time.monotonic()
            _set(self._ctx, self._id, heartbeat_at=self._ctx.clock.now())

    def __call__(self, raw_bytes: int) -> None:
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._write(self._before + raw_bytes)

    def _write(self, total: int) -> None:
        self._last = time.monotonic()
        _set(self._ctx, self._id, restored_bytes=total, heartbeat_at=self._ctx.clock.now())


@logged("restore", Restore)
def carry_out(ctx: Context, restore_id: int, cancel: threading.Event) -> bool:
    """Carry out the restore `restore_id`, claimed by the caller (the runner), to its end: True
    when it succeeded. Never raises: the outcome is on the row. When `cancel` is set (its
    tools are stopped by the runner) it ends `canceled`, through the same steps as a failure,
    so the target is left as the restore-safety rules say. The age identities of an encrypted
    backup are the ones this process holds for it in memory (`held_identities.take`)."""
    identities = held_identities.take(restore_id)
    with ctx.catalog.session() as session:
        row = session.get(Restore, restore_id)
        assert row is not None
        database, backup, target = row.database, row.backup, row.target
        database_map, overwrite = dict(row.database_map), row.overwrite
        restore_globals, requested_jobs = row.restore_globals, row.parallel_jobs
        exact_counts = row.exact_counts
        into_new_instance = row.new_instance is not None
        point_in_time = row.point_in_time
    try:
        if into_new_instance:
            new_instances.run(ctx, restore_id, identities)
            _stop_if_canceled(cancel)
            _end(ctx, restore_id, JobState.SUCCEEDED)
            return True
        prepared = restore_inputs.prepare(ctx, database, backup, target, database_map, overwrite)
        held_identities.require(identities, restore_keys.recipients_of(prepared.manifest.artifacts))
        engine = restore_inputs.as_restoring(prepared.engine)
        summary = _Summary(ctx, restore_id, prepared.planned)
        root = scratch.prepare_root(ctx.settings.resolved_scratch_dir())
        with (
            scratch.restore_folder(root, restore_id) as folder,
            _sources(
                ctx,
                database,
                prepared,
                _pitr(ctx, restore_id, prepared, point_in_time),
                identities,
            ) as (
                source,
                planned,
            ),
        ):
            replay = binlog_replays.prepare(
                ctx, restore_id, point_in_time, prepared, folder, identities
            )
            restorer = TargetRestorer(
                ctx,
                source,
                engine,
                prepared.target_conn,
                parallel_jobs=restore_inputs.parallel_jobs_for(
                    prepared.manifest.engine, requested_jobs
                ),
                folder=folder,
                progress=_Progress(ctx, restore_id),
                after_fill=replay.apply if replay is not None else None,
                exact_counts=exact_counts,
            )
            restorer.require_room(planned)
            database_properties.check_all(
                engine, prepared.target_conn, planned, ctx.settings.check_timeout_seconds
            )
            if restore_globals:
                _apply_globals(
                    ctx,
                    restorer,
                    prepared.storage,
                    restore_inputs.globals_of(prepared.manifest),
                    identities,
                )
            for index, item in enumerate(planned):
                _stop_if_canceled(cancel)
                facts = restorer.restore(index, item, summary.noter(index))
                if replay is not None:
                    facts["warnings"] = [*facts["warnings"], *replay.warnings_for(item.source)]
                summary.done(index, facts)
            if replay is not None and point_in_time is not None:
                replay.report(point_in_time)
        _stop_if_canceled(cancel)
        _end(ctx, restore_id, JobState.SUCCEEDED)
        return True
    except Exception as exc:
        reason = str(exc) if isinstance(exc, StrongboxError) else f"unexpected error: {exc!r}"
        if not isinstance(exc, StrongboxError):
            log.exception("restore %s/%s failed unexpectedly", database, backup)
        with contextlib.suppress(IllegalStateMove):  # ended elsewhere; the move logged it
            if cancel.is_set():  # the reason says what the restore left on the target
                _end(ctx, restore_id, JobState.CANCELED, error=reason)
            else:
                _end(ctx, restore_id, JobState.FAILED, error=reason)
        return False


def _stop_if_canceled(cancel: threading.Event) -> None:
    """Between steps: a canceled restore goes no further (its tools are already stopped)."""
    if cancel.is_set():
        raise StrongboxError("the restore was canceled", "canceled")


@contextlib.contextmanager
def _sources(
    ctx: Context,
    database: str,
    prepared: Prepared,
    pitr: PitrRecovery | None,
    identities: Identities,
) -> Iterator[tuple[ArtifactSource, list[PlannedDatabase]]]:
    """Where the dumps come from: the stored artifacts, or for a physical backup a temporary
    instance recovered from its base, or to its point in time (removed on the way out)."""
    if prepared.base is None:
        yield (
            StoredArtifacts(prepared.storage, ctx.settings.stall_timeout_seconds, identities),
            prepared.planned,
        )
        return
    with physical_transfer.recovered_source(
        ctx,
        database,
        prepared.storage,
        prepared.manifest,
        prepared.base,
        prepared.planned,
        prepared.engine,
        pitr=pitr,
        identities=identities,
    ) as found:
        yield found


def _pitr(
    ctx: Context, restore_id: int, prepared: Prepared, facts: dict[str, Any] | None
) -> PitrRecovery | None:
    """The WAL recovery of a physical base's temporary instance (a logical MySQL/MariaDB base
    replays its binlog instead: `binlog_replays`)."""
    if facts is None or prepared.base is None:
        return None
    return pitr_restores.recovery_for_row(ctx, restore_id, facts)


class _Summary:
    """The restore's per-database summary, written on its row whenever a fact changes."""

    def __init__(self, ctx: Context, restore_id: int, planned: list[PlannedDatabase]) -> None:
        self._ctx = ctx
        self._id = restore_id
        self._entries = _pending(planned)

    def noter(self, index: int) -> Callable[..., None]:
        def note(**facts: Any) -> None:
            self._update(index, facts)

        return note

    def done(self, index: int, facts: dict[str, Any]) -> None:
        self._update(index, {**facts, "writing": None})

    def _update(self, index: int, facts: dict[str, Any]) -> None:
        entry = self._entries[index]
        for key, value in facts.items():
            if value is None and key in _TRANSIENT:
                entry.pop(key, None)
            else:
                entry[key] = value
        _set(self._ctx, self._id, summary=[dict(e) for e in self._entries])


# Facts that only matter while they are true: a database being written in place, a side
# database or the old content that exists (read by `restore_rows.interrupted_state`).
_TRANSIENT = ("writing", "side_database", "previous_database")


def _apply_globals(
    ctx: Context,
    restorer: TargetRestorer,
    storage: BackupStorage,
    artifact: ManifestArtifact | None,
    identities: Identities,
) -> None:
    engine, conn = restorer.engine, restorer.conn
    command = engine.plan_globals_restore(conn)
    if artifact is None or command is None or not isinstance(engine, GlobalsEngine):
        return
    if artifact.raw_bytes > MAX_GLOBALS_BYTES:
        raise StrongboxError(
            f"the globals dump {artifact.key} holds {artifact.raw_bytes} bytes, more than "
            f"the {MAX_GLOBALS_BYTES} a roles dump can reasonably be; restore it by hand",
            "globals-too-large",
        )
    data = restore_pipeline.read_decompressed(
        storage,
        artifact.object_keys(),
        artifact.sha256,
        ctx.settings.stall_timeout_seconds,
        identities if artifact.encrypted_to else None,
    )
    safe = engine.globals_for_target(data, conn)
    stderr = restore_pipeline.run_with_input(command, safe)
    problems = engine.globals_errors(stderr)
    if problems:
        raise StrongboxError(
            "restoring roles failed: " + "; ".join(problems[:5]),
            "globals-restore-failed",
        )


def _pending(items: list[PlannedDatabase]) -> list[dict[str, Any]]:
    return [{"source": i.source, "target": i.target, "action": i.action} for i in items]


def _end(ctx: Context, restore_id: int, state: JobState, **values: Any) -> None:
    with ctx.catalog.session() as session:
        move_restore(session, restore_id, state, finished_at=ctx.clock.now(), **values)
    notify.restore_ended(ctx, restore_id, state, values.get("error"))


def _set(ctx: Context, restore_id: int, **values: Any) -> None:
    with ctx.catalog.session() as session:
        session.execute(update(Restore).where(Restore.id == restore_id).values(**values))
