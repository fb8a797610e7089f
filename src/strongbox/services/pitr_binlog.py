"""Point-in-time recovery of a MySQL/MariaDB database from its streamed binlog: the connection
id of its reader, its windows and gaps, and deleting binlog no retained backup needs (the
binlog side of `services.pitr`, which the API, page and CLI call)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, PitrStream, WalSegment
from strongbox.domain.backup_methods import LOGICAL
from strongbox.domain.binlog import (
    BINLOG_KINDS,
    BINLOG_PARTIAL,
    PARTIAL_SUFFIX,
    binlog_name_ok,
    parse_binlog_name,
)
from strongbox.domain.binlog_window import (
    BinlogBase,
    BinlogWindows,
    StoredBinlog,
    compute_binlog_windows,
)
from strongbox.domain.keys import binlog_prefix
from strongbox.domain.states import JobState
from strongbox.services import storages
from strongbox.services.context import Context
from strongbox.services.stored_logs import missing_objects

# The reader's server id: high, where people seldom number their servers (a replica using the
# same id would be disconnected by the server each time the reader connects).
READER_IDS = (1 << 31, (1 << 32) - 2)


def reader_id(row: PitrStream | None) -> int:
    """The server id the stream's reader connects with: the one recorded, or a new one."""
    if row is not None and row.connection_server_id is not None:
        return row.connection_server_id
    low, high = READER_IDS
    return low + secrets.randbelow(high - low)


def windows_for(ctx: Context, database: str) -> BinlogWindows:
    """The windows, gaps and latest restorable time of `database`, from its retained logical
    backups' recorded positions and the index of its stored binlog, checked against the
    storages' listings."""
    with ctx.catalog.session() as session:
        rows = index_rows(session, database)
        files = [stored_file(r) for r in rows]
        storage_names = {r.storage for r in rows}
        indexed = {(r.storage, r.key): r.name for r in rows}
        bases = _bases(session, database)
    missing = missing_objects(
        ctx, storage_names, indexed, lambda prefix: binlog_prefix(prefix, database)
    )
    return compute_binlog_windows(bases, files, missing=missing)


def ready_bases(ctx: Context, database: str) -> frozenset[str]:
    with ctx.catalog.session() as session:
        files = [stored_file(r) for r in index_rows(session, database)]
        bases = _bases(session, database)
    return compute_binlog_windows(bases, files).ready_bases


def prune(ctx: Context, database: str) -> int:
    """After a backup is deleted: delete the binlog files entirely before the oldest PITR-ready
    backup's recorded file, objects first, then index rows; nothing while no PITR-ready backup
    remains. Returns how many files were deleted."""
    with ctx.catalog.session() as session:
        files = [stored_file(r) for r in index_rows(session, database)]
        bases = _bases(session, database)
    ready = compute_binlog_windows(bases, files).ready_bases
    kept = [parse_binlog_name(b.file) for b in bases if b.name in ready]
    if not kept:
        return 0
    oldest = min(kept)
    with ctx.catalog.session() as session:
        doomed = []
        for r in index_rows(session, database):
            name = parse_binlog_name(_base_name(r))
            if name.stem == oldest.stem and name.number < oldest.number:
                doomed.append((r.id, r.storage, r.key))
    for row_id, storage_name, key in doomed:
        storage, _ = storages.open_by_name(ctx, storage_name)
        storage.delete_prefix(key)  # the key ends with ".zst": no other object starts with it
        with ctx.catalog.session() as session:
            session.execute(delete(WalSegment).where(WalSegment.id == row_id))
    return len(doomed)


def index_rows(session: Session, database: str) -> list[WalSegment]:
    return list(
        session.scalars(
            select(WalSegment).where(
                WalSegment.database == database, WalSegment.kind.in_(BINLOG_KINDS)
            )
        )
    )


def _base_name(r: WalSegment) -> str:
    return r.name.removesuffix(PARTIAL_SUFFIX) if r.kind == BINLOG_PARTIAL else r.name


def stored_file(r: WalSegment) -> StoredBinlog:
    return StoredBinlog(
        _base_name(r),
        r.kind == BINLOG_PARTIAL,
        r.start_lsn,
        r.end_lsn,
        r.first_commit_at,
        r.last_commit_at,
        r.server_id,
        r.first_gtid,
        r.last_gtid,
    )


def _bases(session: Session, database: str) -> list[BinlogBase]:
    rows = session.scalars(
        select(Backup).where(
            Backup.database == database,
            Backup.method == LOGICAL,
            Backup.state == JobState.SUCCEEDED,
        )
    )
    found = []
    for r in rows:
        base = base_position(r.name, r.log_position, r.started_at or r.created_at)
        if base is not None:
            found.append(base)
    return found


def base_position(name: str, position: dict[str, Any] | None, taken_at: Any) -> BinlogBase | None:
    """A logical backup's binlog position as recorded (None when it has none usable).

    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 11, 29, tzinfo=UTC)
    >>> base_position("b1", {"file": "bin.000002", "position": 385, "gtid": None}, at).position
    385
    >>> base_position("b1", {"file": "../x", "position": 4}, at) is None
    True
    """
    if position is None:
        return None
    file, offset = position.get("file"), position.get("position")
    if not isinstance(file, str) or not binlog_name_ok(file):
        return None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        return None
    return BinlogBase(name, file, offset, taken_at)
