"""Backups listed a page at a time: one database's, or every database's with filters (for
dashboards), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from strongbox.catalog.models import Backup
from strongbox.domain.backup_methods import is_pitr_base
from strongbox.services import databases, pitr
from strongbox.services.backups import to_out
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas import BackupOut


@dataclass(frozen=True)
class BackupFilters:
    state: str | None = None
    database: str | None = None
    storage: str | None = None
    since: datetime | None = None  # created at or after


def page_for(ctx: Context, database: str, page: PageRequest) -> Page[BackupOut]:
    """The database's backups, newest first (404 for an unknown database)."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
    return page_all(ctx, BackupFilters(database=database), page)


def page_all(ctx: Context, filters: BackupFilters, page: PageRequest) -> Page[BackupOut]:
    """Backups of every database matching the filters, newest first. A filter naming a
    database or storage that does not exist simply matches nothing: backups outlive both."""
    statement = select(Backup)
    if filters.state is not None:
        statement = statement.where(Backup.state == filters.state)
    if filters.database is not None:
        statement = statement.where(Backup.database == filters.database)
    if filters.storage is not None:
        statement = statement.where(Backup.storage == filters.storage)
    if filters.since is not None:
        statement = statement.where(Backup.created_at >= filters.since)
    with ctx.catalog.session() as session:
        rows, after = fetch(session, statement, Backup.created_at, Backup.id, page)
        # Only databases with a PITR base on this page need their WAL index read.
        with_bases = {r.database for r in rows if is_pitr_base(r.method, r.engine)}
        ready = {name: pitr.ready_bases(ctx, name) for name in sorted(with_bases)}
        now = ctx.clock.now()
        items = [to_out(r, now, ready.get(r.database, frozenset())) for r in rows]
    return Page[BackupOut](items=items, next=after)
