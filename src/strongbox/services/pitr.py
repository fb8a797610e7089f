"""Point-in-time recovery of a database: turn its WAL stream on and off, show its state and its
true windows, and tell which bases are PITR-ready.

The stream itself (the receiver and its uploads) runs in `strongbox serve`; this module is the
use case the API, the page and the CLI call, and what the receiver's supervisor reads.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, PitrStream, Restore, WalSegment
from strongbox.domain.backup_methods import PHYSICAL
from strongbox.domain.binlog import BINLOG_KINDS
from strongbox.domain.binlog_window import BinlogWindows
from strongbox.domain.keys import wal_prefix
from strongbox.domain.pitr_state import DISABLED, STARTING
from strongbox.domain.pitr_window import (
    BaseRange,
    PitrWindows,
    SlotLoss,
    StoredWal,
    compute_windows,
    lsn_text,
)
from strongbox.domain.states import ACTIVE_STATES, JobState
from strongbox.domain.wal import parse_lsn, slot_name
from strongbox.engines.base import BinlogStreamingEngine, ConnectionInfo, StreamingEngine
from strongbox.errors import invalid
from strongbox.services import databases, pitr_binlog, storages
from strongbox.services.context import Context
from strongbox.services.schemas import GapOut, PitrOut, PitrUpdate, WindowOut
from strongbox.services.storage_choice import require_storage
from strongbox.services.stored_logs import missing_objects

UNSUPPORTED = "pitr-unsupported"
DEFAULT_INTERVAL = 60


def get(ctx: Context, database: str) -> PitrOut:
    """The stream's settings and state, and the windows and gaps of the stored WAL or binlog
    (the storage is listed, so that an indexed object deleted from it shows as a gap)."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = stream_row(session, database)
        stream = _stream_fields(row)
    if streams_binlog(ctx, database):
        return _binlog_out(stream, pitr_binlog.windows_for(ctx, database))
    found = windows_for(ctx, database)
    return PitrOut(
        **stream,
        latest_restorable_time=found.latest_restorable_time,
        windows=[
            WindowOut(from_=w.start, to=w.end, base_backup=w.base_backup, timeline=w.timeline)
            for w in found.windows
        ],
        gaps=[
            GapOut(
                from_lsn=lsn_text(g.from_lsn) or "0/0",
                to_lsn=lsn_text(g.to_lsn),
                from_=g.start,
                to=g.end,
                reason=g.reason,
            )
            for g in found.gaps
        ],
    )


def _binlog_out(stream: dict[str, Any], found: BinlogWindows) -> PitrOut:
    """The same answer for a binlog stream: positions are `file:offset`, and a window's
    timeline is the id of the server that wrote the binlog."""
    return PitrOut(
        **stream,
        latest_restorable_time=found.latest_restorable_time,
        windows=[
            WindowOut(from_=w.start, to=w.end, base_backup=w.base_backup, timeline=w.timeline)
            for w in found.windows
        ],
        gaps=[
            GapOut(
                from_lsn=g.from_position,
                to_lsn=g.to_position,
                from_=g.start,
                to=g.end,
                reason=g.reason,
            )
            for g in found.gaps
        ],
    )


def streams_binlog(ctx: Context, database: str) -> bool:
    """Whether the database's change log is a MySQL/MariaDB binlog (else PostgreSQL WAL)."""
    with ctx.catalog.session() as session:
        engine = databases.engine_of(ctx, databases.get_row(session, database).engine)
    return isinstance(engine, BinlogStreamingEngine)


def update(ctx: Context, database: str, body: PitrUpdate) -> PitrOut:
    """Turn the stream on (prerequisites checked, slot created if missing, receiver started)
    or off (receiver stopped, slot dropped; the stored WAL and its index are kept)."""
    warnings = _enable(ctx, database, body) if body.enabled else _disable(ctx, database)
    out = get(ctx, database)
    out.warnings = warnings
    return out


def _enable(ctx: Context, database: str, body: PitrUpdate) -> list[str]:
    """Returns the warnings of the check (what works but is not recommended)."""
    assert body.storage is not None  # the request model requires it when enabling
    engine, conn = _streaming_engine(ctx, database)
    with ctx.catalog.session() as session:
        require_storage(session, body.storage)
        reader = pitr_binlog.reader_id(stream_row(session, database))
    timeout = ctx.settings.check_timeout_seconds
    warnings: list[str] = []
    slot: str | None = None
    if isinstance(engine, BinlogStreamingEngine):
        interval = body.upload_interval_seconds
        warnings = engine.check_binlog_streaming(conn, reader, interval, timeout)
    else:
        slot = slot_name(database)
        engine.check_streaming(conn, slot, timeout)
        engine.create_slot(conn, slot, timeout)
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        row = stream_row(session, database)
        if row is None:
            row = PitrStream(database=database, created_at=now)
            session.add(row)
        fresh = not row.enabled or row.storage != body.storage
        row.enabled = True
        row.storage = body.storage
        row.upload_interval_seconds = body.upload_interval_seconds
        row.slot_name = slot
        row.connection_server_id = reader if slot is None else None
        row.slot_gap = None
        row.slot_gap_to_lsn = None
        # The receiver starts afresh: `starting` until it has stored a file (of this
        # stream: a new one, or one that now writes to another storage).
        row.state, row.error = STARTING, None
        if fresh:
            row.last_upload_at, row.lag_seconds = None, None
        row.updated_at = now
    ctx.pitr_changed(database)
    return warnings


def _disable(ctx: Context, database: str) -> list[str]:
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        row = stream_row(session, database)
        if row is None or not row.enabled:
            return []
        row.enabled = False
        row.state, row.error, row.lag_seconds = DISABLED, None, None
        row.updated_at = ctx.clock.now()
        slot = row.slot_name or slot_name(database)
        conn = databases.connection_of(ctx, db_row)
        engine = databases.engine_of(ctx, db_row.engine)
    ctx.pitr_changed(database)  # the receiver has stopped when this returns
    shutil.rmtree(spool_of(ctx, database), ignore_errors=True)
    if isinstance(engine, StreamingEngine):
        engine.drop_slot(conn, slot, ctx.settings.check_timeout_seconds)
    return []


def _streaming_engine(
    ctx: Context, database: str
) -> tuple[StreamingEngine | BinlogStreamingEngine, ConnectionInfo]:
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        conn = databases.connection_of(ctx, db_row)
        engine = databases.engine_of(ctx, db_row.engine)
    if not isinstance(engine, StreamingEngine | BinlogStreamingEngine):
        raise invalid(
            f"point-in-time recovery is not available for {db_row.engine} databases; it works "
            "for PostgreSQL and MySQL/MariaDB databases",
            UNSUPPORTED,
            field_name="body.enabled",
        )
    return engine, conn


def spool_of(ctx: Context, database: str) -> Path:
    """The spool folder of a database's stream (a registered name, never one from outside)."""
    return ctx.settings.resolved_spool_dir() / database


def enabled_streams(ctx: Context) -> set[str]:
    """The databases whose stream is on."""
    with ctx.catalog.session() as session:
        return set(session.scalars(select(PitrStream.database).where(PitrStream.enabled.is_(True))))


@dataclass(frozen=True)
class WalState:
    """The index of a database's stored WAL (rows detached from the catalog), its retained
    physical bases, the indexed files gone from their storage, and the windows they make."""

    rows: list[WalSegment]
    bases: list[BaseRange]
    missing: frozenset[str]
    found: PitrWindows


def windows_for(ctx: Context, database: str) -> PitrWindows:
    """The windows, gaps and latest restorable time of `database`, from its retained physical
    bases and the index of its stored WAL, checked against the storages' listings."""
    return wal_state(ctx, database).found


def wal_state(ctx: Context, database: str) -> WalState:
    """What `windows_for` answers, with the index and the bases it was computed from."""
    with ctx.catalog.session() as session:
        rows = _index_rows(session, database)
        wal = [stored_wal(r) for r in rows]
        storage_names = {r.storage for r in rows}
        indexed = {(r.storage, r.key): r.name for r in rows}
        bases = _bases(session, database)
        row = stream_row(session, database)
        loss = (
            SlotLoss(row.slot_gap, row.slot_gap_to_lsn)
            if row is not None and row.slot_gap
            else None
        )
        for item in rows:
            session.expunge(item)
    missing = missing_objects(
        ctx, storage_names, indexed, lambda prefix: wal_prefix(prefix, database)
    )
    found = compute_windows(bases, wal, missing=missing, slot_loss=loss)
    return WalState(rows, bases, missing, found)


def ready_bases(ctx: Context, database: str) -> frozenset[str]:
    """Names of the database's PITR-ready bases (their WAL range, or the binlog from their
    recorded position, is in the index)."""
    if streams_binlog(ctx, database):
        return pitr_binlog.ready_bases(ctx, database)
    with ctx.catalog.session() as session:
        wal = [stored_wal(r) for r in _index_rows(session, database)]
        bases = _bases(session, database)
    return compute_windows(bases, wal).ready_bases


def current_entry(ctx: Context, database: str, storage: str, staged: str) -> WalSegment | None:
    """The index's entry for WAL file `staged` in `storage` now: the whole segment when it is
    stored, else its newest partial; detached from the catalog."""
    with ctx.catalog.session() as session:
        rows = list(
            session.scalars(
                select(WalSegment).where(
                    WalSegment.database == database,
                    WalSegment.storage == storage,
                    WalSegment.name.in_([staged, f"{staged}.partial"]),
                )
            )
        )
        for row in rows:
            session.expunge(row)
    return min(rows, key=lambda r: r.name != staged, default=None)


def _index_rows(session: Session, database: str) -> list[WalSegment]:
    return list(
        session.scalars(
            select(WalSegment).where(
                WalSegment.database == database, WalSegment.kind.not_in(BINLOG_KINDS)
            )
        )
    )


def stored_wal(r: WalSegment) -> StoredWal:
    return StoredWal(
        r.name, r.kind, r.timeline, r.start_lsn, r.end_lsn, r.first_commit_at, r.last_commit_at
    )


def _bases(session: Session, database: str) -> list[BaseRange]:
    rows = session.scalars(
        select(Backup).where(
            Backup.database == database,
            Backup.method == PHYSICAL,
            Backup.state == JobState.SUCCEEDED,
        )
    )
    return [base for r in rows if (base := base_range(r.name, r.log_position)) is not None]


def base_range(name: str, position: dict[str, Any] | None) -> BaseRange | None:
    """A physical backup's WAL range from its recorded log position (None when incomplete)."""
    if position is None:
        return None
    try:
        return BaseRange(
            name,
            int(position["timeline"]),
            parse_lsn(str(position["start_lsn"])),
            parse_lsn(str(position["stop_lsn"])),
            datetime.fromisoformat(str(position["stop_time"])),
        )
    except (KeyError, TypeError, ValueError):
        return None


def stream_row(session: Session, database: str) -> PitrStream | None:
    return session.scalars(select(PitrStream).where(PitrStream.database == database)).first()


def _stream_fields(row: PitrStream | None) -> dict[str, Any]:
    if row is None:
        return {
            "enabled": False,
            "storage": None,
            "upload_interval_seconds": DEFAULT_INTERVAL,
            "state": DISABLED,
            "error": None,
            "lag_seconds": None,
            "last_upload_at": None,
        }
    return {
        "enabled": row.enabled,
        "storage": row.storage,
        "upload_interval_seconds": row.upload_interval_seconds,
        "state": row.state if row.enabled else DISABLED,
        "error": row.error,
        "lag_seconds": row.lag_seconds,
        "last_upload_at": row.last_upload_at,
    }


def prune_wal(ctx: Context, database: str) -> int:
    """After a base is deleted: delete the WAL entirely before the oldest PITR-ready base left
    (its start LSN, on its timeline or an older one), objects first, then index rows; nothing
    while no PITR-ready base remains. Returns how many files were deleted. For a MySQL/MariaDB
    database: the binlog files before the oldest PITR-ready backup's recorded file."""
    if streams_binlog(ctx, database):
        return pitr_binlog.prune(ctx, database)
    with ctx.catalog.session() as session:
        wal = [stored_wal(r) for r in _index_rows(session, database)]
        bases = _bases(session, database)
        # A base a queued or running restore reads keeps its WAL, PITR-ready or not yet.
        in_use = set(
            session.scalars(
                select(Restore.backup).where(
                    Restore.database == database, Restore.state.in_(ACTIVE_STATES)
                )
            )
        )
    ready = compute_windows(bases, wal).ready_bases
    kept = [b for b in bases if b.name in ready or b.name in in_use]
    if not kept:
        return 0
    oldest = min(kept, key=lambda b: (b.stop_time, b.name))
    with ctx.catalog.session() as session:
        doomed = [
            (r.id, r.storage, r.key)
            for r in _index_rows(session, database)
            if r.kind != "history"
            and r.timeline <= oldest.timeline
            and r.end_lsn <= oldest.start_lsn
        ]
    for row_id, storage_name, key in doomed:
        storage, _ = storages.open_by_name(ctx, storage_name)
        # The key ends with ".zst" and no other object's key starts with it.
        storage.delete_prefix(key)
        with ctx.catalog.session() as session:
            session.execute(delete(WalSegment).where(WalSegment.id == row_id))
    return len(doomed)
