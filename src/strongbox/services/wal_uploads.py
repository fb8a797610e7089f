"""Storing what the WAL receiver wrote to its spool folder: each completed segment and history
file once (zstd, then age when the stream has recipients; SHA-256 of the stored bytes, an
index row, then removed from the spool), and the segment being written as `{name}.partial`
(its object and index row replaced each time, both removed when the whole segment is stored).

A file already stored under the same name with the same content is not stored twice (a
restart between the upload and the removal from the spool); one with other content is
refused and kept in the spool, since two different WAL files of one name mean the server's
history diverged (a restored or re-created cluster), which a person must look at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import PitrStream, WalSegment
from strongbox.domain.keys import wal_key
from strongbox.domain.wal import (
    FIRST_PAGE,
    HISTORY,
    PARTIAL,
    SEGMENT,
    WalName,
    holds_no_wal,
    parse_wal_name,
)
from strongbox.engines.base import StreamingEngine, WalContents
from strongbox.errors import StrongboxError
from strongbox.services import storages, stored_logs
from strongbox.services.context import Context
from strongbox.storage.base import BackupStorage

log = logging.getLogger(__name__)

WAL_DIVERGED = "pitr-wal-diverged"


class StreamBroken(StrongboxError):
    """The stream cannot go on by restarting its receiver (its slot is gone, or the server's
    WAL differs from the stored WAL): a person must act, as the message says."""


@dataclass(frozen=True)
class Spool:
    """A database's stream as its uploads see it."""

    database: str
    storage: str
    folder: Path
    engine: StreamingEngine
    reader: Path  # the program that reads WAL files (pg_waldump)


def upload_ready(ctx: Context, spool: Spool, *, partial: bool) -> int:
    """Store every completed file in the spool, in name order (history files first), and the
    partial one when `partial`; returns how many files were stored."""
    names = []
    for path in spool.folder.iterdir():
        try:
            names.append(parse_wal_name(path.name))
        except ValueError:
            continue  # pg_receivewal's temporary files and anything else: not WAL
    stored = 0
    for wal in sorted(names, key=lambda w: (w.kind != HISTORY, w.name)):
        if wal.kind == PARTIAL and not partial:
            continue
        try:
            raw = (spool.folder / wal.name).read_bytes()
        except FileNotFoundError:  # the partial completed (renamed) meanwhile
            continue
        if wal.kind == PARTIAL and holds_no_wal(raw[:FIRST_PAGE]):
            continue  # being prepared by the receiver: nothing arrived in it yet
        if store_file(ctx, spool, wal, raw):
            stored += 1
        if wal.kind != PARTIAL:
            (spool.folder / wal.name).unlink(missing_ok=True)
    return stored


def drop_unwritten_partials(spool: Path) -> list[str]:
    """Remove the `.partial` files of `spool` that hold no WAL yet, and return their names.
    A receiver stopped while it filled a new segment's file with zeros leaves it shorter than
    a segment, and the next pg_receivewal refuses to start on it; nothing was received into it,
    so the next receiver fetches that segment from the slot again. Only while no receiver
    writes into `spool`."""
    dropped = []
    for path in sorted(spool.glob("*.partial")):
        with path.open("rb") as wal:
            head = wal.read(FIRST_PAGE)
        if holds_no_wal(head):
            path.unlink()
            dropped.append(path.name)
    return dropped


def store_file(ctx: Context, spool: Spool, wal: WalName, raw: bytes) -> bool:
    """Store one WAL file (encrypted when the stream has age recipients: `stored_logs.seal`)
    and index it; False when it was stored already (same content). Raises StreamBroken when a
    file of that name is stored with other content."""
    storage, prefix = storages.open_by_name(ctx, spool.storage)
    contents = _contents(spool, wal, raw)
    with ctx.catalog.session() as session:
        existing = _row(session, spool, wal.name)
        if existing is not None:
            session.expunge(existing)
    if existing is not None and wal.kind != PARTIAL:
        copy = stored_logs.stored_copy(
            storage, existing, raw, lambda: _same_facts(existing, contents)
        )
        if copy is stored_logs.StoredCopy.SAME:
            return False
        if copy is stored_logs.StoredCopy.OTHER:
            raise StreamBroken(
                f"WAL file {wal.name} is already stored with other content: the server's WAL "
                "history diverged from the stored one (was it restored or re-created?); the new "
                f"file stays in {spool.folder}; disable and enable point-in-time recovery to "
                "start a new stream, and take a new base backup",
                WAL_DIVERGED,
            )
    sealed = stored_logs.seal(
        ctx, spool.database, spool.storage, wal_key(prefix, spool.database, wal.name), raw
    )
    stored_logs.drop_moved(storage, existing.key if existing is not None else None, sealed.key)
    storage.put_bytes(sealed.key, sealed.data)
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        row = _row(session, spool, wal.name)
        if row is None:
            row = WalSegment(database=spool.database, storage=spool.storage, name=wal.name)
            session.add(row)
        row.kind = wal.kind
        row.timeline = wal.timeline
        row.start_lsn, row.end_lsn = contents.start_lsn, contents.end_lsn
        row.first_commit_at, row.last_commit_at = contents.first_commit_at, contents.last_commit_at
        row.key = sealed.key
        row.sha256 = sealed.sha256
        row.size_bytes, row.stored_bytes = len(raw), len(sealed.data)
        row.encrypted_to = sealed.encrypted_to
        row.stored_at = now
        stream = session.scalars(
            select(PitrStream).where(PitrStream.database == spool.database)
        ).first()
        if stream is not None:
            stream.last_upload_at = now
    if wal.kind == SEGMENT:
        _drop_partial(ctx, spool, wal.name + ".partial", storage)
    return True


def _same_facts(row: WalSegment, contents: WalContents) -> bool:
    return (row.start_lsn, row.end_lsn, row.first_commit_at, row.last_commit_at) == (
        contents.start_lsn,
        contents.end_lsn,
        contents.first_commit_at,
        contents.last_commit_at,
    )


def _contents(spool: Spool, wal: WalName, raw: bytes) -> WalContents:
    if wal.kind == HISTORY:
        # A history file holds no records; it is placed at the start of its timeline.
        return WalContents(0, 0, None, None)
    snapshot = spool.folder / f".{wal.name}.reading"
    snapshot.write_bytes(raw)  # the partial keeps growing: read one fixed copy
    try:
        return spool.engine.read_wal_file(spool.reader, snapshot, wal.name)
    finally:
        snapshot.unlink(missing_ok=True)


def _drop_partial(ctx: Context, spool: Spool, name: str, storage: BackupStorage) -> None:
    with ctx.catalog.session() as session:
        row = _row(session, spool, name)
        if row is None:
            return
        key = row.key
    storage.delete_prefix(key)  # the key ends with .zst(.age): no other object starts with it
    with ctx.catalog.session() as session:
        row = _row(session, spool, name)
        if row is not None:
            session.delete(row)


def _row(session: Session, spool: Spool, name: str) -> WalSegment | None:
    return session.scalars(
        select(WalSegment).where(
            WalSegment.database == spool.database,
            WalSegment.storage == spool.storage,
            WalSegment.name == name,
        )
    ).first()
