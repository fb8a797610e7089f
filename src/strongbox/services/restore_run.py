"""Carrying out one restore: verify, create or replace the targets, feed each artifact to the
restore tool, and record an honest outcome.

The order protects live data: every existing target is only touched after its whole artifact
proved intact; a new database that fails (damaged artifact or tool error) is dropped again.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from strongbox import restore_pipeline
from strongbox.catalog.models import Restore
from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.domain.restore_plan import CREATE, OVERWRITE, PlannedDatabase
from strongbox.domain.states import JobState
from strongbox.engines.base import ConnectionInfo, GlobalsEngine, RestoringEngine
from strongbox.errors import StrongboxError
from strongbox.services import database_properties
from strongbox.services.context import Context
from strongbox.storage.base import BackupStorage

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
MAX_GLOBALS_BYTES = 64 * 1024 * 1024  # roles and tablespaces; read whole to filter them


def jobs_for(engine_name: str, requested: int) -> int:
    """Parallel restore jobs: only PostgreSQL's pg_restore runs in parallel (from a file)."""
    return requested if engine_name == "postgresql" else 1


def globals_of(manifest: Manifest) -> ManifestArtifact | None:
    return next((a for a in manifest.artifacts if a.kind == "globals"), None)


class _Progress:
    def __init__(self, ctx: Context, restore_id: int) -> None:
        self._ctx = ctx
        self._id = restore_id
        self._before = 0
        self._last = 0.0

    def artifact_done(self, raw_bytes: int) -> None:
        self._before += raw_bytes
        self._write(self._before)

    def __call__(self, raw_bytes: int) -> None:
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._write(self._before + raw_bytes)

    def _write(self, total: int) -> None:
        self._last = time.monotonic()
        _set(self._ctx, self._id, restored_bytes=total, heartbeat_at=self._ctx.clock.now())


def run(ctx: Context, restore_id: int) -> None:
    """Run the queued restore `restore_id` to its end. Never raises: the outcome is on the row."""
    from strongbox.services import restores  # the planning side; imported late to avoid a cycle

    if not _claim(ctx, restore_id):
        return
    with ctx.catalog.session() as session:
        row = session.get(Restore, restore_id)
        assert row is not None
        database, backup, target = row.database, row.backup, row.target
        database_map, overwrite = dict(row.database_map), row.overwrite
        restore_globals, requested_jobs = row.restore_globals, row.jobs
    summary: list[dict[str, Any]] = []
    try:
        prepared = restores.prepare(ctx, database, backup, target, database_map, overwrite)
        engine = restores.as_restoring(prepared.engine)
        runner = _Runner(ctx, restore_id, prepared.storage, engine, prepared.target_conn)
        runner.jobs = jobs_for(prepared.manifest.engine, requested_jobs)
        for item in prepared.planned:
            if item.verify_first:
                restore_pipeline.verify(prepared.storage, item.artifact.key, item.artifact.sha256)
        database_properties.check_all(engine, runner.conn, prepared.planned, runner.timeout)
        if restore_globals:
            runner.apply_globals(globals_of(prepared.manifest))
        for item in prepared.planned:
            summary.append(runner.restore_one(item))
            _set(ctx, restore_id, summary=summary + _pending(prepared.planned[len(summary) :]))
        _set(ctx, restore_id, state=JobState.SUCCEEDED, finished_at=ctx.clock.now())
    except Exception as exc:
        reason = str(exc) if isinstance(exc, StrongboxError) else f"unexpected error: {exc!r}"
        if not isinstance(exc, StrongboxError):
            log.exception("restore %s/%s failed unexpectedly", database, backup)
        _set(ctx, restore_id, state=JobState.FAILED, error=reason, finished_at=ctx.clock.now())


class _Runner:
    def __init__(
        self,
        ctx: Context,
        restore_id: int,
        storage: BackupStorage,
        engine: RestoringEngine,
        conn: ConnectionInfo,
    ) -> None:
        self.ctx = ctx
        self.storage = storage
        self.engine = engine
        self.conn = conn
        self.timeout = ctx.settings.check_timeout_seconds
        self.progress = _Progress(ctx, restore_id)
        self.jobs = 1

    def apply_globals(self, artifact: ManifestArtifact | None) -> None:
        command = self.engine.plan_globals_restore(self.conn)
        if artifact is None or command is None or not isinstance(self.engine, GlobalsEngine):
            return
        if artifact.raw_bytes > MAX_GLOBALS_BYTES:
            raise StrongboxError(
                f"the globals dump {artifact.key} holds {artifact.raw_bytes} bytes, more than "
                f"the {MAX_GLOBALS_BYTES} a roles dump can reasonably be; restore it by hand",
                "globals-too-large",
            )
        data = restore_pipeline.read_decompressed(self.storage, artifact.key, artifact.sha256)
        safe = self.engine.globals_for_target(data, self.conn)
        stderr = restore_pipeline.run_with_input(command, safe)
        problems = self.engine.globals_errors(stderr)
        if problems:
            raise StrongboxError(
                "restoring roles failed: " + "; ".join(problems[:5]),
                "globals-restore-failed",
            )

    def restore_one(self, item: PlannedDatabase) -> dict[str, Any]:
        started = time.monotonic()
        properties = item.artifact.database_properties
        if item.action == OVERWRITE:
            self.engine.drop_database(self.conn, item.target, self.timeout)
        if item.action in (CREATE, OVERWRITE):
            self.engine.create_database(self.conn, item.target, self.timeout, properties=properties)
        try:
            raw = self._feed(item)
            warnings = database_properties.apply(self.engine, self.conn, item, self.timeout)
        except Exception as exc:
            raise self._explain_failure(item, exc) from exc
        self.progress.artifact_done(raw)
        counts = self.engine.summarize(self.conn, item.target, self.timeout)
        return {
            "source": item.source,
            "target": item.target,
            "action": item.action,
            "tables": counts.tables,
            "rows": counts.rows,
            "warnings": warnings,
            "duration_seconds": round(time.monotonic() - started, 3),
        }

    def _feed(self, item: PlannedDatabase) -> int:
        artifact = item.artifact
        if self.jobs <= 1:
            command = self.engine.plan_restore(
                self.conn, artifact.format, item.target, jobs=1, input_path=None
            )
            raw, _stderr = restore_pipeline.feed_tool(
                self.storage, artifact.key, artifact.sha256, command, self.progress
            )
            return raw
        # Parallel pg_restore needs a seekable file: decompressed on this worker's disk, next to
        # the catalog, and removed afterwards.
        folder = self.ctx.settings.data_dir / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix="restore-") as scratch:
            path = Path(scratch) / artifact.name.removesuffix(".zst")
            raw = restore_pipeline.decompress_to_file(
                self.storage, artifact.key, artifact.sha256, path, self.progress
            )
            command = self.engine.plan_restore(
                self.conn, artifact.format, item.target, jobs=self.jobs, input_path=str(path)
            )
            restore_pipeline.feed_tool(self.storage, artifact.key, artifact.sha256, command)
        return raw

    def _explain_failure(self, item: PlannedDatabase, exc: Exception) -> StrongboxError:
        reason = str(exc) if isinstance(exc, StrongboxError) else repr(exc)
        if item.action == CREATE:
            try:
                self.engine.drop_database(self.conn, item.target, self.timeout)
                state = f"the new database {item.target} was dropped again"
            except StrongboxError as drop_error:
                state = f"the new database {item.target} is incomplete ({drop_error})"
        else:
            state = f"database {item.target} was replaced and is incomplete: restore it again"
        code = exc.code if isinstance(exc, StrongboxError) else "restore-failed"
        return StrongboxError(f"{reason}; {state}", code)


def _pending(items: list[PlannedDatabase]) -> list[dict[str, Any]]:
    return [{"source": i.source, "target": i.target, "action": i.action} for i in items]


def _claim(ctx: Context, restore_id: int) -> bool:
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        result = session.execute(
            update(Restore)
            .where(Restore.id == restore_id, Restore.state == JobState.QUEUED)
            .values(state=JobState.RUNNING, started_at=now, heartbeat_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _set(ctx: Context, restore_id: int, **values: Any) -> None:
    with ctx.catalog.session() as session:
        session.execute(update(Restore).where(Restore.id == restore_id).values(**values))
