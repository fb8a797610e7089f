"""One database's WAL receiver, as its supervisor in `strongbox serve` drives it: start it on
the stream's slot, store what it wrote, and record the stream's state."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass

from sqlalchemy import func, select

from strongbox.catalog.models import WalSegment
from strongbox.domain.pitr_state import StreamObservation, choose_state, lag_seconds
from strongbox.engines.base import ConnectionInfo, SlotStatus, StreamingEngine
from strongbox.errors import StrongboxError
from strongbox.process import ToolProcess
from strongbox.services import databases, pitr
from strongbox.services.context import Context
from strongbox.services.wal_uploads import (
    Spool,
    StreamBroken,
    drop_unwritten_partials,
    upload_ready,
)

SLOT_PROBLEM = "pitr-slot-unusable"

log = logging.getLogger(__name__)


@dataclass
class Receiver:
    spool: Spool
    process: ToolProcess
    conn: ConnectionInfo
    slot: str
    upload_interval_seconds: int


def open_receiver(ctx: Context, database: str) -> Receiver:
    """Start `pg_receivewal` on the stream's slot into the database's spool folder. Raises
    StreamBroken when the slot was dropped or lost (recorded as a gap), StrongboxError when the
    server or the programs cannot be reached."""
    with ctx.catalog.session() as session:
        row = pitr.stream_row(session, database)
        if row is None or not row.enabled or row.slot_name is None:
            raise StrongboxError(f"point-in-time recovery of {database!r} is off", SLOT_PROBLEM)
        storage, slot, interval = row.storage, row.slot_name, row.upload_interval_seconds
        db_row = databases.get_row(session, database)
        conn = databases.connection_of(ctx, db_row)
        engine = databases.engine_of(ctx, db_row.engine)
    if not isinstance(engine, StreamingEngine):
        raise StrongboxError(f"{db_row.engine} cannot stream its change log", SLOT_PROBLEM)
    timeout = ctx.settings.check_timeout_seconds
    _refuse_unusable_slot(ctx, database, slot, engine.slot_status(conn, slot, timeout))
    folder = pitr.spool_of(ctx, database)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in drop_unwritten_partials(folder):
        log.info("WAL stream of %s: removed %s, never written into", database, name)
    command = engine.receiver_command(conn, slot, folder, timeout)
    process = ToolProcess(command.argv, command.env, stdout=subprocess.DEVNULL)
    spool = Spool(database, storage, folder, engine, command.wal_reader)
    return Receiver(spool, process, conn, slot, interval)


def _refuse_unusable_slot(ctx: Context, database: str, slot: str, status: SlotStatus) -> None:
    if status.exists and not status.lost:
        return
    if status.lost:
        reason = (
            f"replication slot {slot!r} is lost (wal_status 'lost'): the server removed WAL "
            "before it was streamed (max_slot_wal_keep_size was exceeded)"
        )
    else:
        reason = (
            f"replication slot {slot!r} was dropped outside Strongbox: WAL the server writes "
            "now is not kept for the stream"
        )
    with ctx.catalog.session() as session:
        row = pitr.stream_row(session, database)
        if row is not None:
            row.slot_gap = reason
            row.slot_gap_to_lsn = status.current_lsn
    raise StreamBroken(
        f"{reason}; enable point-in-time recovery again (PUT /api/v1/databases/{database}/pitr "
        f"or strongbox pitr enable {database}) to make a new slot, then take a physical backup",
        SLOT_PROBLEM,
    )


def store(ctx: Context, receiver: Receiver, *, partial: bool) -> int:
    """Store what the receiver wrote (the partial segment too when `partial`)."""
    return upload_ready(ctx, receiver.spool, partial=partial)


def observe(ctx: Context, receiver: Receiver, failures: int, last_failure: str | None) -> None:
    """Read the slot and record the stream's state, lag and warning."""
    engine, timeout = receiver.spool.engine, ctx.settings.check_timeout_seconds
    status = engine.slot_status(receiver.conn, receiver.slot, timeout)
    _refuse_unusable_slot(ctx, receiver.spool.database, receiver.slot, status)
    record(ctx, receiver.spool.database, failures, last_failure, status)


def record(
    ctx: Context,
    database: str,
    failures: int,
    last_failure: str | None,
    status: SlotStatus | None = None,
    broken_because: str | None = None,
) -> None:
    """Write the state `choose_state` gives for what was seen on the stream's row."""
    with ctx.catalog.session() as session:
        stored_end = session.scalar(
            select(func.max(WalSegment.end_lsn)).where(WalSegment.database == database)
        )
    current = status.current_lsn if status is not None else None
    pending = current is not None and current > (stored_end or 0)
    record_seen(
        ctx,
        database,
        failures,
        last_failure,
        pending=pending,
        broken_because=broken_because,
        retained_bytes=status.retained_bytes if status is not None else None,
        unlimited_retention=status.unlimited_retention if status is not None else False,
    )


def record_seen(
    ctx: Context,
    database: str,
    failures: int,
    last_failure: str | None,
    *,
    pending: bool,
    broken_because: str | None = None,
    retained_bytes: int | None = None,
    unlimited_retention: bool = False,
) -> None:
    """Write the state `choose_state` gives for what was seen (of any engine's stream)."""
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        row = pitr.stream_row(session, database)
        if row is None or not row.enabled:
            return
        seen = StreamObservation(
            enabled=True,
            upload_interval_seconds=row.upload_interval_seconds,
            last_upload_at=row.last_upload_at,
            failures=failures,
            last_failure=last_failure,
            broken_because=broken_because,
            pending_wal=pending,
            retained_bytes=retained_bytes,
            unlimited_retention=unlimited_retention,
        )
        row.state, row.error = choose_state(seen, now)
        row.lag_seconds = lag_seconds(seen, now)
        row.updated_at = now
