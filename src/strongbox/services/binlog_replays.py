"""Carrying out the binlog side of a point-in-time restore of a MySQL/MariaDB database: the
target checked again (the stored binlog may have changed since it was asked), the files
fetched into the restore's private scratch folder and verified against the SHA-256 the index
recorded before any target is written, each restored database replayed once its base is in
(`TargetRestorer`'s `after_fill`), and the outcome written on the restore's row.

The index's names become local file names only once they pass `parse_binlog_name`; nothing
read from the storage names a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from strongbox import restore_pipeline, scratch
from strongbox.catalog.models import Restore, WalSegment
from strongbox.domain.binlog import (
    HEADER,
    HEADER_SIZE,
    MAGIC,
    QUERY_EVENT,
    parse_binlog_name,
    statement_change,
)
from strongbox.domain.pitr_target import utc_text
from strongbox.domain.restore_plan import PlannedDatabase
from strongbox.engines.base import BinlogReplayingEngine, ConnectionInfo
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.restore_pipeline import Identities
from strongbox.services import binlog_restores, pitr, pitr_binlog, pitr_restores, storages
from strongbox.services.binlog_restores import BinlogChoice
from strongbox.services.context import Context
from strongbox.storage.base import BackupStorage

if TYPE_CHECKING:
    from strongbox.services.restore_inputs import Prepared

BAD_BINLOG = "binlog-fetch-failed"
REPLAY_FAILED = "binlog-replay-failed"
REREAD_ATTEMPTS = 3


class BinlogReplay:
    """The verified local binlog files of one restore, and the replay of each database."""

    def __init__(
        self,
        ctx: Context,
        restore_id: int,
        choice: BinlogChoice,
        engine: BinlogReplayingEngine,
        conn: ConnectionInfo,
        files: dict[str, Path],
    ) -> None:
        self._ctx = ctx
        self._id = restore_id
        self.choice = choice
        self._engine = engine
        self._conn = conn
        self._files = files
        self._warnings: dict[str, list[str]] = {}

    def warnings_for(self, source: str) -> list[str]:
        """What the replay of `source` could not promise (changes logged as statements)."""
        return self._warnings.get(source, [])

    def apply(self, database: str, item: PlannedDatabase) -> None:
        """Replay the events of `item.source` from its dump's position up to the target into
        `database` (which just received that dump). Raises StrongboxError."""
        plan = self.choice.plans.get(item.source)
        if plan is None:
            raise StrongboxError(
                f"base {self.choice.base} records no binlog position for {item.source}: it "
                "cannot be replayed",
                REPLAY_FAILED,
            )
        files = [self._files[name] for name in plan.files]
        stop = int(self.choice.until.replace(microsecond=0).timestamp()) + 1
        statements = sum(
            statement_changes(
                path, item.source, plan.start_position if index == 0 else len(MAGIC), stop
            )
            for index, path in enumerate(files)
        )
        if statements:
            self._warnings[item.source] = [
                f"{statements} changes of {item.source} in the replayed binlog were logged as "
                "SQL statements (binlog_format was not ROW when they were written): each was "
                "replayed only "
                f"if its default database was {item.source}, and as a statement, not as the "
                "rows it changed; compare the restored data, and set binlog_format=ROW"
            ]
        timeout = self._ctx.settings.check_timeout_seconds
        command = self._engine.plan_binlog_replay(
            self._conn, plan, item.source, database, files, timeout
        )
        try:
            self._engine.run_binlog_replay(command)
        except StrongboxError as exc:
            raise StrongboxError(
                f"replaying the binlog of {item.source} into {database} failed: {exc.detail}",
                REPLAY_FAILED,
            ) from exc

    def report(self, facts: dict[str, Any]) -> None:
        """Write the outcome of a replay that went through on the restore's row."""
        latest = self.choice.request.latest
        found = {
            **facts,
            "target_reached": True,
            "last_replayed_commit_at": utc_text(self.choice.until) if latest else None,
            "wal_files": len(self.choice.rows),
        }
        with self._ctx.catalog.session() as session:
            session.execute(
                update(Restore).where(Restore.id == self._id).values(point_in_time=found)
            )


def statement_changes(path: Path, database: str, start: int, stop: int) -> int:
    """How many row changes of `database` logged as statements (`statement_change`) the local
    binlog file `path` holds from
    position `start` up to the first event stamped at or after `stop` (unix seconds). Only
    event headers and the start of query events are read."""
    found = 0
    position = max(start, len(MAGIC))
    with open(path, "rb") as file:
        while True:
            file.seek(position)
            header = file.read(HEADER_SIZE)
            if len(header) < HEADER_SIZE:
                return found
            stamp, kind, _origin, size, _next, _flags = HEADER.unpack(header)
            if size < HEADER_SIZE or stamp >= stop:
                return found
            if kind == QUERY_EVENT and statement_change(kind, file.read(min(size, 4096)), database):
                found += 1
            position += size


def prepare(
    ctx: Context,
    restore_id: int,
    facts: dict[str, Any] | None,
    prepared: Prepared,
    folder: Path,
    identities: Identities = None,
) -> BinlogReplay | None:
    """For a point-in-time restore of a logical MySQL/MariaDB backup: the target checked
    again and its binlog files fetched and verified into `folder`; None for any other
    restore. Raises StrongboxError (the target no longer reachable, a checksum mismatch, no
    room) before any target is written."""
    if facts is None or prepared.base is not None:
        return None
    engine = prepared.engine
    if not isinstance(engine, BinlogReplayingEngine):
        return None
    with ctx.catalog.session() as session:
        row = session.get(Restore, restore_id)
        assert row is not None
        database, backup = row.database, row.backup
    choice = binlog_restores.choose(ctx, database, pitr_restores.from_row(facts), None)
    if choice.base != backup:
        raise StrongboxError(
            f"the restore was planned from base {backup}, and its target is now reached from "
            f"{choice.base}: start the restore again",
            binlog_restores.TARGET_UNREACHABLE,
            ErrorKind.CONFLICT,
        )
    storage, _prefix = storages.open_by_name(ctx, choice.storage)
    files = fetch(ctx, database, choice, storage, folder / "binlog", identities)
    return BinlogReplay(ctx, restore_id, choice, engine, prepared.target_conn, files)


def fetch(
    ctx: Context,
    database: str,
    choice: BinlogChoice,
    storage: BackupStorage,
    into: Path,
    identities: Identities = None,
) -> dict[str, Path]:
    """Download, verify, decrypt (an encrypted file, with `identities`) and decompress each
    chosen file into `into` (made 0700) under its checked binlog name; returns name -> local
    file."""
    into.mkdir(mode=0o700)
    scratch.require_room(
        into, sum(r.size_bytes for r in choice.rows), f"the {len(choice.rows)} binlog files"
    )
    files: dict[str, Path] = {}
    for row in choice.rows:
        name = _local_name(row)
        path = into / name
        _download(ctx, database, choice.storage, storage, row, name, path, identities)
        with open(path, "rb") as head:
            if head.read(len(MAGIC)) != MAGIC:
                raise StrongboxError(
                    f"the stored {name} is not a binlog file (no binlog magic); the restore "
                    "was stopped before anything was written",
                    BAD_BINLOG,
                )
        files[name] = path
    return files


def _local_name(row: WalSegment) -> str:
    stored = pitr_binlog.stored_file(row)
    try:
        return parse_binlog_name(stored.name).name
    except ValueError as exc:
        raise StrongboxError(
            f"the binlog index holds {row.name!r}, which is not a binlog file name; the "
            "restore was stopped before anything was written",
            BAD_BINLOG,
        ) from exc


def _download(
    ctx: Context,
    database: str,
    storage_name: str,
    storage: BackupStorage,
    row: WalSegment,
    name: str,
    path: Path,
    identities: Identities,
) -> None:
    """Download `row` to `path`. The start of the file being written is replaced in the
    storage as the stream goes on (a longer start, then the whole file): when its bytes no
    longer match, the index is read again and the newer entry fetched."""
    stall = ctx.settings.stall_timeout_seconds
    for _attempt in range(REREAD_ATTEMPTS):
        try:
            size = restore_pipeline.download(
                storage,
                row.key,
                row.sha256,
                path,
                stall,
                identities=identities if row.encrypted_to else None,
            )
        except StrongboxError:
            fresh = pitr.current_entry(ctx, database, storage_name, name)
            if fresh is None or (fresh.key, fresh.sha256) == (row.key, row.sha256):
                raise
            row = fresh
            continue
        if size != row.size_bytes:
            path.unlink(missing_ok=True)
            raise StrongboxError(
                f"the stored {name} holds {size} bytes, the index recorded {row.size_bytes}; "
                "the restore was stopped before anything was written",
                BAD_BINLOG,
            )
        return
    raise StrongboxError(
        f"the stored {name} kept changing while it was fetched: try again", BAD_BINLOG
    )
