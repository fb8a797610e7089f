"""One MySQL/MariaDB database's binlog reader, as its supervisor in `strongbox serve` drives it
(the sibling of `wal_streaming`): start `mariadb-binlog` where the stored binlog ends, store
each file once the server has moved on to a later one and the spool copy has the server's size,
store the file being written as `{name}.partial` every upload interval, and record the state.

A restarted reader (or Strongbox) starts again at the beginning of the first file not stored
whole, and that file is fetched whole again: the stored partial object of it is replaced, so
no event is lost and none is stored twice. A whole file stored already is compared with the
server's: other content means the server's binlog diverged (reset or re-created), which
breaks the stream for a person to look at.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import PitrStream, WalSegment
from strongbox.domain.binlog import (
    BINLOG,
    BINLOG_KINDS,
    BINLOG_PARTIAL,
    PARTIAL_SUFFIX,
    BinlogContents,
    BinlogName,
    parse_binlog_name,
    read_binlog,
)
from strongbox.domain.keys import binlog_key
from strongbox.engines.base import BinlogServerStatus, BinlogStreamingEngine, ConnectionInfo
from strongbox.errors import StrongboxError
from strongbox.process import ToolProcess
from strongbox.services import databases, pitr, storages, stored_logs
from strongbox.services.context import Context
from strongbox.services.wal_streaming import SLOT_PROBLEM, record_seen
from strongbox.services.wal_uploads import WAL_DIVERGED, StreamBroken

log = logging.getLogger(__name__)


@dataclass
class BinlogReceiver:
    database: str
    storage: str
    folder: Path
    engine: BinlogStreamingEngine
    process: ToolProcess
    conn: ConnectionInfo
    upload_interval_seconds: int


def open_reader(ctx: Context, database: str) -> BinlogReceiver:
    """Store what an earlier reader left complete in the spool, then start `mariadb-binlog`
    at the first file not stored whole (or the server's oldest when nothing is stored; the
    server's oldest still there when that file was purged meanwhile: a gap)."""
    with ctx.catalog.session() as session:
        row = pitr.stream_row(session, database)
        if row is None or not row.enabled or row.connection_server_id is None:
            raise StrongboxError(f"point-in-time recovery of {database!r} is off", SLOT_PROBLEM)
        storage, interval, reader_id = (
            row.storage,
            row.upload_interval_seconds,
            row.connection_server_id,
        )
        db_row = databases.get_row(session, database)
        conn = databases.connection_of(ctx, db_row)
        engine = databases.engine_of(ctx, db_row.engine)
    if not isinstance(engine, BinlogStreamingEngine):
        raise StrongboxError(f"{db_row.engine} has no binary log to stream", SLOT_PROBLEM)
    timeout = ctx.settings.check_timeout_seconds
    folder = pitr.spool_of(ctx, database)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = engine.binlog_status(conn, timeout)
    _store_completed(ctx, database, storage, folder, status)
    for path in _spooled(folder):  # what is left is incomplete: it is fetched whole again
        path[1].unlink(missing_ok=True)
    start = start_file(_stored_names(ctx, database, storage), status)
    command = engine.binlog_reader_command(conn, folder, start, reader_id, timeout)
    process = ToolProcess(command.argv, command.env, stdout=subprocess.DEVNULL)
    return BinlogReceiver(database, storage, folder, engine, process, conn, interval)


def start_file(stored: list[tuple[BinlogName, bool]], status: BinlogServerStatus) -> str:
    """Where the reader starts: the first file after the stored ones (the last stored one
    when only its start is stored), or the server's oldest when that one is gone.

    >>> from strongbox.engines.base import BinlogServerStatus
    >>> server = BinlogServerStatus((("b.000004", 9), ("b.000005", 9)), 1)
    >>> start_file([(parse_binlog_name("b.000004"), False)], server)
    'b.000005'
    >>> start_file([(parse_binlog_name("b.000004"), True)], server)
    'b.000004'
    >>> start_file([(parse_binlog_name("b.000001"), False)], server)  # 2 and 3 were purged
    'b.000004'
    """
    listed = [parse_binlog_name(name) for name, _ in status.files]
    if not listed:
        raise StrongboxError("the server lists no binary log file (is binary logging off?)")
    if not stored:
        return listed[0].name
    last, partial = max(stored)
    wanted = last.name if partial else last.following()
    if any(n.name == wanted for n in listed):
        return wanted
    later = [n for n in listed if (n.stem, n.number) > (last.stem, last.number)]
    # None later: the server's log was reset; the names come again and are compared.
    chosen = later[0] if later else listed[-1]
    log.warning("binlog file %s is no longer on the server; streaming from %s", wanted, chosen)
    return chosen.name


def store(ctx: Context, receiver: BinlogReceiver, *, partial: bool) -> int:
    """Store the completed files of the spool, and the one being written when `partial`;
    returns how many were stored."""
    spooled = _spooled(receiver.folder)
    if len(spooled) < 2 and not partial:
        return 0  # the server moves on to a new file before one is complete
    timeout = ctx.settings.check_timeout_seconds
    status = receiver.engine.binlog_status(receiver.conn, timeout)
    stored = _store_completed(ctx, receiver.database, receiver.storage, receiver.folder, status)
    if partial:
        left = _spooled(receiver.folder)
        if left:
            name, path = left[-1]
            if store_file(ctx, receiver.database, receiver.storage, name.name, path, partial=True):
                stored += 1
    return stored


def _spooled(folder: Path) -> list[tuple[BinlogName, Path]]:
    found = []
    for path in folder.iterdir():
        try:
            found.append((parse_binlog_name(path.name), path))
        except ValueError:
            continue  # the option file, snapshots: not binlog files
    return sorted(found)


def _store_completed(
    ctx: Context, database: str, storage: str, folder: Path, status: BinlogServerStatus
) -> int:
    sizes = dict(status.files)
    names = [name for name, _ in status.files]
    stored = 0
    for name, path in _spooled(folder):
        size = sizes.get(name.name)
        later = size is not None and names.index(name.name) < len(names) - 1
        if not later or path.stat().st_size != size:
            continue
        if store_file(ctx, database, storage, name.name, path, partial=False):
            stored += 1
        path.unlink(missing_ok=True)
    return stored


def store_file(
    ctx: Context, database: str, storage_name: str, name: str, path: Path, *, partial: bool
) -> bool:
    """Store one binlog file (the whole of its events read so far when `partial`) and index it;
    False when the whole file is stored already with the same content."""
    raw = path.read_bytes()  # one fixed copy: the file may still grow
    try:
        contents = read_binlog(raw)
    except ValueError as exc:
        raise StrongboxError(f"binlog file {name} in the spool is unreadable: {exc}") from None
    if not partial and contents.end_position != len(raw):
        raise StrongboxError(f"binlog file {name} ends inside an event: it is not whole")
    raw = raw[: contents.end_position]
    indexed = name + PARTIAL_SUFFIX if partial else name
    storage, prefix = storages.open_by_name(ctx, storage_name)
    with ctx.catalog.session() as session:
        existing = _row(session, database, storage_name, indexed)
        if existing is not None:
            session.expunge(existing)
    if existing is not None and not partial:
        copy = stored_logs.stored_copy(
            storage, existing, raw, lambda: _same_facts(existing, contents)
        )
        if copy is stored_logs.StoredCopy.SAME:
            return False
        if copy is stored_logs.StoredCopy.OTHER:
            raise StreamBroken(
                f"binlog file {name} is already stored with other content: the server's binary log "
                "diverged from the stored one (was it reset or re-created?); disable and enable "
                "point-in-time recovery to start a new stream, and take a new backup",
                WAL_DIVERGED,
            )
    sealed = stored_logs.seal(
        ctx, database, storage_name, binlog_key(prefix, database, indexed), raw
    )
    stored_logs.drop_moved(storage, existing.key if existing is not None else None, sealed.key)
    storage.put_bytes(sealed.key, sealed.data)
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        row = _row(session, database, storage_name, indexed)
        if row is None:
            row = WalSegment(database=database, storage=storage_name, name=indexed)
            session.add(row)
        row.kind = BINLOG_PARTIAL if partial else BINLOG
        row.timeline = 0
        row.start_lsn, row.end_lsn = contents.start_position, contents.end_position
        row.first_commit_at, row.last_commit_at = contents.first_event_at, contents.last_event_at
        row.server_id = contents.server_id
        row.first_gtid, row.last_gtid = contents.first_gtid, contents.last_gtid
        row.key = sealed.key
        row.sha256 = sealed.sha256
        row.size_bytes, row.stored_bytes = len(raw), len(sealed.data)
        row.encrypted_to = sealed.encrypted_to
        row.stored_at = now
        stream = session.scalars(select(PitrStream).where(PitrStream.database == database)).first()
        if stream is not None:
            stream.last_upload_at = now
    if not partial:
        _drop_partial(ctx, database, storage_name, name + PARTIAL_SUFFIX)
    return True


def _same_facts(row: WalSegment, contents: BinlogContents) -> bool:
    return (row.start_lsn, row.end_lsn, row.first_gtid, row.last_gtid, row.server_id) == (
        contents.start_position,
        contents.end_position,
        contents.first_gtid,
        contents.last_gtid,
        contents.server_id,
    )


def _drop_partial(ctx: Context, database: str, storage_name: str, indexed: str) -> None:
    with ctx.catalog.session() as session:
        row = _row(session, database, storage_name, indexed)
        if row is None:
            return
        key = row.key
    storage, _ = storages.open_by_name(ctx, storage_name)
    storage.delete_prefix(key)  # the key ends with .zst(.age): no other object starts with it
    with ctx.catalog.session() as session:
        row = _row(session, database, storage_name, indexed)
        if row is not None:
            session.delete(row)


def _row(session: Session, database: str, storage: str, name: str) -> WalSegment | None:
    return session.scalars(
        select(WalSegment).where(
            WalSegment.database == database,
            WalSegment.storage == storage,
            WalSegment.name == name,
        )
    ).first()


def _stored_names(ctx: Context, database: str, storage: str) -> list[tuple[BinlogName, bool]]:
    """The indexed binlog files of the stream's storage, and whether each is partial."""
    with ctx.catalog.session() as session:
        rows = session.execute(
            select(WalSegment.name, WalSegment.kind).where(
                WalSegment.database == database,
                WalSegment.storage == storage,
                WalSegment.kind.in_(BINLOG_KINDS),
            )
        ).all()
    found = []
    for name, kind in rows:
        base = name.removesuffix(PARTIAL_SUFFIX) if kind == BINLOG_PARTIAL else name
        found.append((parse_binlog_name(base), kind == BINLOG_PARTIAL))
    return found


def observe(
    ctx: Context, receiver: BinlogReceiver, failures: int, last_failure: str | None
) -> None:
    """Read the server's binlog list and record the stream's state and lag: binlog is pending
    while the server has a later file, or more of the current one, than is stored."""
    status = receiver.engine.binlog_status(receiver.conn, ctx.settings.check_timeout_seconds)
    with ctx.catalog.session() as session:
        rows = session.execute(
            select(WalSegment.name, WalSegment.kind, WalSegment.end_lsn).where(
                WalSegment.database == receiver.database,
                WalSegment.storage == receiver.storage,
                WalSegment.kind.in_(BINLOG_KINDS),
            )
        ).all()
    ends: dict[str, int] = {}
    for name, kind, end in rows:
        base = name.removesuffix(PARTIAL_SUFFIX) if kind == BINLOG_PARTIAL else name
        ends[base] = max(end, ends.get(base, 0))
    pending = any(ends.get(name, 0) < size for name, size in status.files[-1:])
    record_seen(ctx, receiver.database, failures, last_failure, pending=pending)
