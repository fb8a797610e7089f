"""Restoring one database of a backup into its target, in the way that cannot cost a database that
existed before the restore.

- create: a new database is created, filled (streamed, or from a verified local copy for a
  parallel pg_restore) and checked; on failure it is dropped again.
- overwrite, on an engine that can rename databases (PostgreSQL): the backup is restored into a
  side database, checked, and swapped in by renaming in one transaction; the old content is
  dropped only after the swap. Any failure before the swap leaves the target as it was and the
  side database dropped.
- overwrite elsewhere (MySQL/MariaDB), and fill (an existing empty database): the artifact is
  first downloaded, verified and decompressed into the scratch folder, so that nothing read from
  the storage can fail once the target is written; the tool then reads that local copy.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from strongbox import copy_followers, restore_pipeline, scratch
from strongbox.domain.restore_plan import CREATE, FILL, OVERWRITE, PlannedDatabase
from strongbox.domain.side_names import side_names
from strongbox.engines.base import (
    ConnectionInfo,
    EarlyRestoringEngine,
    RestoringEngine,
    SwappingEngine,
)
from strongbox.errors import StrongboxError
from strongbox.services import database_properties
from strongbox.services.context import Context
from strongbox.services.restore_sources import ArtifactSource, Growing, Progress

log = logging.getLogger(__name__)

# Records a fact about the database being restored on the restore's row at once (e.g. the side
# database's name before it exists), so that a person sees it even if the process dies.
Note = Callable[..., None]
# Run on a database once its dump is in, before it is checked (and swapped in): a point-in-time
# restore replays the binlog there. Raises StrongboxError; the target is then handled as after
# a failed fill.
AfterFill = Callable[[str, PlannedDatabase], None]


class TargetRestorer:
    def __init__(
        self,
        ctx: Context,
        source: ArtifactSource,
        engine: RestoringEngine,
        conn: ConnectionInfo,
        *,
        parallel_jobs: int,
        folder: Path,
        progress: Progress,
        after_fill: AfterFill | None = None,
        exact_counts: bool = False,
    ) -> None:
        settings = ctx.settings
        self.after_fill = after_fill
        self.source = source
        self.engine = engine
        self.conn = conn
        self.parallel_jobs = parallel_jobs
        self.exact_counts = exact_counts
        self.folder = folder
        self.progress = progress
        self.timeout = settings.check_timeout_seconds
        self.count_timeout = settings.restore_count_timeout_seconds
        self.stall = settings.stall_timeout_seconds

    @property
    def scratch_root(self) -> Path:
        """The scratch folder a person configured (this restore's folder lies in it)."""
        return self.folder.parent

    # --- before anything is touched ---

    def swaps(self, item: PlannedDatabase) -> bool:
        return item.action == OVERWRITE and isinstance(self.engine, SwappingEngine)

    def needs_local_copy(self, item: PlannedDatabase) -> bool:
        """A parallel pg_restore reads a file; an existing database that is written in place is
        only written from a copy already verified whole on this machine. Where the restore
        starts early, the copy is made while the artifact streams instead (`starts_early`)."""
        if self.starts_early(item):
            return False
        return self.parallel_jobs > 1 or (item.action in (FILL, OVERWRITE) and not self.swaps(item))

    def starts_early(self, item: PlannedDatabase) -> bool:
        """A parallel restore into a new or side database starts as the artifact streams (see
        `EarlyRestoringEngine`): nothing that existed is written before it is verified."""
        return starts_early(self.engine, item, self.parallel_jobs)

    def require_room(self, planned: Iterable[PlannedDatabase]) -> None:
        """Refuse early when the scratch folder cannot hold the largest local copy the restore
        will make (they are made one at a time, each removed after its database)."""
        local = [i for i in planned if self.needs_local_copy(i) or self.starts_early(i)]
        if local:
            largest = max(local, key=lambda i: i.artifact.raw_bytes)
            scratch.require_room(
                self.scratch_root,
                largest.artifact.raw_bytes,
                f"the artifact {largest.artifact.key}",
            )

    # --- one database ---

    def restore(self, index: int, item: PlannedDatabase, note: Note) -> dict[str, Any]:
        """Restore `item`; returns its summary fields (tables, rows, rows_estimated,
        duration_seconds). Raises StrongboxError whose message says what became of the
        target."""
        started = time.monotonic()
        if self.swaps(item):
            assert isinstance(self.engine, SwappingEngine)
            counts = self._beside(self.engine, index, item, note)
        else:
            counts = self._in_place(index, item, note)
        return {**counts, "duration_seconds": round(time.monotonic() - started, 3)}

    def _in_place(self, index: int, item: PlannedDatabase, note: Note) -> dict[str, Any]:
        path = self._download(index, item) if self.needs_local_copy(item) else None
        try:
            note(writing=True)
            if item.action == CREATE:
                self._create(item.target, item)
            try:
                if item.action == OVERWRITE:
                    self.engine.drop_database(self.conn, item.target, self.timeout)
                    self._create(item.target, item)
                self._fill(index, item.target, item, path)
                if self.after_fill is not None:
                    self.after_fill(item.target, item)
                warnings = self._apply_properties(item.target, item)
            except Exception as exc:
                raise self._explain_failure(item, exc) from exc
        finally:
            if path is not None:
                path.unlink(missing_ok=True)
        return {**self.summarize(item.target), "warnings": warnings}

    def _beside(
        self, engine: SwappingEngine, index: int, item: PlannedDatabase, note: Note
    ) -> dict[str, Any]:
        names = side_names(item.target, secrets.token_hex(3))
        path = self._download(index, item) if self.needs_local_copy(item) else None
        try:
            note(side_database=names.side)  # before it exists: a crash must not hide it
            try:
                self._create(names.side, item)
            except Exception as exc:
                note(side_database=None)
                raise _with_state(exc, f"database {item.target} was not changed") from exc
            try:
                self._fill(index, names.side, item, path)
                if self.after_fill is not None:
                    self.after_fill(names.side, item)
                warnings = self._apply_properties(names.side, item)
                counts = {**self.summarize(names.side), "warnings": warnings}
                # From here one of the two names exists (which one, the swap decides).
                note(previous_database=names.aside)
                engine.swap_databases(self.conn, item.target, names.side, names.aside, self.timeout)
            except Exception as exc:
                note(previous_database=None)
                raise self._drop_side(item, names.side, exc, note) from exc
        finally:
            if path is not None:
                path.unlink(missing_ok=True)
        note(side_database=None)
        try:
            engine.drop_database(self.conn, names.aside, self.timeout)
            note(previous_database=None)
        except StrongboxError as exc:
            # The restore itself succeeded; the old content stays visible in the summary.
            log.warning(
                "after the swap, the old %s (%s) was kept: %s", item.target, names.aside, exc
            )
        return counts

    def _create(self, database: str, item: PlannedDatabase) -> None:
        properties = item.artifact.database_properties
        self.engine.create_database(self.conn, database, self.timeout, properties=properties)

    def _apply_properties(self, database: str, item: PlannedDatabase) -> list[str]:
        """Settings, comment and grants go on after the content: a setting such as
        default_transaction_read_only would otherwise hold the restore tool back."""
        return database_properties.apply(self.engine, self.conn, item, database, self.timeout)

    def _download(self, index: int, item: PlannedDatabase) -> Path:
        artifact = item.artifact
        path = scratch.artifact_path(self.folder, index)
        try:
            scratch.require_room(
                self.scratch_root, artifact.raw_bytes, f"the artifact {artifact.key}"
            )
            self.source.download(artifact, path, self.progress)
        except Exception as exc:
            untouched = (
                f"database {item.target} was not changed"
                if item.action != CREATE
                else f"database {item.target} was not created"
            )
            raise _with_state(exc, untouched) from exc
        return path

    def _fill(self, index: int, database: str, item: PlannedDatabase, path: Path | None) -> None:
        artifact = item.artifact
        if self.starts_early(item):
            assert isinstance(self.engine, EarlyRestoringEngine)
            self._fill_early(self.engine, index, database, item)
            return
        command = self.engine.plan_restore(
            self.conn,
            artifact.format,
            database,
            jobs=self.parallel_jobs,
            input_path=str(path) if path is not None else None,
        )
        if path is not None:
            raw = restore_pipeline.feed_from_file(
                path, command, self.stall, artifact.key, self.progress
            )
        else:
            raw = self.source.feed(artifact, command, self.progress)
        self.progress.artifact_done(raw)

    def _fill_early(
        self, engine: EarlyRestoringEngine, index: int, database: str, item: PlannedDatabase
    ) -> None:
        """The artifact downloaded into a local copy while the restore's programs read that
        copy as it grows: schema, then rows in several runs at once (`copy_followers`); once
        the copy is verified whole, the rest (indexes, constraints) from it in parallel."""
        artifact = item.artifact
        copy = scratch.artifact_path(self.folder, index)
        scratch.require_room(self.scratch_root, artifact.raw_bytes, f"the artifact {artifact.key}")
        plan = engine.plan_early_restore(
            self.conn, artifact.format, database, jobs=self.parallel_jobs, input_path=str(copy)
        )
        lists = self.folder / f"lists-{index + 1}"
        lists.mkdir(mode=0o700)

        def download(grew: Callable[[int], None]) -> int:
            return self.source.download(artifact, copy, Growing(self.progress, grew))

        try:
            raw = copy_followers.restore_while_copying(
                copy,
                download,
                plan,
                lambda listing: engine.data_load(
                    self.conn,
                    database,
                    plan,
                    listing,
                    jobs=self.parallel_jobs,
                    folder=lists,
                    stall_seconds=self.stall,
                ),
                self.stall,
            )
            restore_pipeline.feed_from_file(copy, plan.rest, self.stall, artifact.key)
        finally:
            copy.unlink(missing_ok=True)
            shutil.rmtree(lists, ignore_errors=True)
        self.progress.artifact_done(raw)

    def summarize(self, database: str) -> dict[str, Any]:
        """Tables and rows of `database`: the planner's estimate (rows_estimated true), or with
        `exact_counts` every row counted within the count timeout (the estimate when that is
        too long); unknown when neither works. Never raises: a summary is a report, and a
        restore that succeeded stays succeeded without it."""
        if self.exact_counts:
            try:
                counts = self.engine.summarize(self.conn, database, self.count_timeout)
                return _summary(counts.tables, counts.rows, counts.estimated)
            except StrongboxError as exc:
                log.warning("counting the rows of %s failed (%s); using estimates", database, exc)
        try:
            counts = self.engine.estimate_summary(self.conn, database, self.timeout)
        except StrongboxError as again:
            log.warning("estimating the rows of %s failed: %s", database, again)
            return _summary(None, None, None)
        return _summary(counts.tables, counts.rows, counts.estimated)

    # --- failures ---

    def _drop_side(
        self, item: PlannedDatabase, side: str, exc: Exception, note: Note
    ) -> StrongboxError:
        try:
            self.engine.drop_database(self.conn, side, self.timeout)
            note(side_database=None)
            left = f"the unfinished copy {side} was dropped"
        except StrongboxError as drop_error:
            left = f"the unfinished copy {side} could not be dropped ({drop_error}): drop it"
        return _with_state(exc, f"database {item.target} was not changed; {left}")

    def _explain_failure(self, item: PlannedDatabase, exc: Exception) -> StrongboxError:
        if item.action == CREATE:
            try:
                self.engine.drop_database(self.conn, item.target, self.timeout)
                state = f"the new database {item.target} was dropped again"
            except StrongboxError as drop_error:
                state = f"the new database {item.target} is incomplete ({drop_error})"
        elif item.action == FILL:
            state = (
                f"database {item.target} was empty and now holds part of the backup: empty it, "
                "or restore again with overwrite"
            )
        else:
            state = f"database {item.target} was replaced and is incomplete: restore it again"
        return _with_state(exc, state)


def starts_early(engine: RestoringEngine, item: PlannedDatabase, parallel_jobs: int) -> bool:
    """Whether a restore of `item` with `parallel_jobs` starts while its artifact streams: a
    parallel restore into a database made for it (created, or the side database of a swap)."""
    if parallel_jobs < 2 or not isinstance(engine, EarlyRestoringEngine):
        return False
    return item.action == CREATE or (
        item.action == OVERWRITE and isinstance(engine, SwappingEngine)
    )


def planned_commands(
    engine: RestoringEngine,
    conn: ConnectionInfo,
    item: PlannedDatabase,
    parallel_jobs: int,
    copy_placeholder: str,
) -> tuple[str, list[list[str]]]:
    """What a plan shows of restoring `item`: the step, and the tool commands in order."""
    artifact, target = item.artifact, item.target
    if starts_early(engine, item, parallel_jobs):
        assert isinstance(engine, EarlyRestoringEngine)
        plan = engine.plan_early_restore(
            conn, artifact.format, target, jobs=parallel_jobs, input_path=copy_placeholder
        )
        step = (
            f"restore the schema of {artifact.key} into {target} as it streams, then its rows "
            f"through {parallel_jobs} sessions at once, each table's rows shared among them "
            "(the data section printed by pg_restore; a share of the tables per run instead "
            "when a name holds a line break), all reading the local copy as it is written; "
            "once verified, its indexes and constraints from that copy"
        )
        return step, [plan.schema.argv, plan.data_script.argv, plan.rest.argv]
    input_path = copy_placeholder if parallel_jobs > 1 else None
    command = engine.plan_restore(
        conn, artifact.format, target, jobs=parallel_jobs, input_path=input_path
    )
    return f"restore {artifact.key} into {target}", [command.argv]


def _summary(tables: int | None, rows: int | None, estimated: bool | None) -> dict[str, Any]:
    return {"tables": tables, "rows": rows, "rows_estimated": estimated}


def _with_state(exc: Exception, state: str) -> StrongboxError:
    reason = str(exc) if isinstance(exc, StrongboxError) else repr(exc)
    code = exc.code if isinstance(exc, StrongboxError) else "restore-failed"
    return StrongboxError(f"{reason}; {state}", code)
