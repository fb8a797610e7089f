"""The freshness check: run periodically, it tells once when a watched database has had no
successful backup for its `freshness_hours`, and once when it has one again.

The breach is kept in the catalog (`databases.freshness_breached_at`) and changed by a
conditional UPDATE, so that a restart does not tell it again and, with several replicas on one
catalog, only the one whose UPDATE changed the row sends the notification.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from strongbox.catalog.models import Backup, Database
from strongbox.domain.freshness import FreshnessChange, change
from strongbox.domain.states import JobState
from strongbox.domain.wording import format_duration
from strongbox.services import notify
from strongbox.services.context import Context


def check(ctx: Context) -> list[tuple[str, FreshnessChange]]:
    """One pass over the watched databases; returns the changes told."""
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        last = dict(
            session.execute(
                select(Backup.database, func.max(Backup.finished_at))
                .where(Backup.state == JobState.SUCCEEDED)
                .group_by(Backup.database)
            ).all()
        )
        watched = session.execute(
            select(
                Database.name,
                Database.freshness_hours,
                Database.freshness_breached_at,
                Database.created_at,
            ).where(Database.freshness_hours.is_not(None))
        ).all()
    told = []
    for name, hours, breached_at, created_at in watched:
        found = change(hours, last.get(name), created_at, breached_at is not None, now)
        if hours is None or found is None or not _claim(ctx, name, breached_at, found, now):
            continue
        _tell(ctx, name, hours, last.get(name), found, now)
        told.append((name, found))
    return told


def _claim(
    ctx: Context, name: str, breached_at: datetime | None, found: FreshnessChange, now: datetime
) -> bool:
    """Record the change if nobody did in between; True when this caller recorded it."""
    new = now if found == FreshnessChange.BREACHED else None
    with ctx.catalog.session() as session:
        condition = (
            Database.freshness_breached_at.is_(None)
            if breached_at is None
            else Database.freshness_breached_at == breached_at
        )
        result = session.execute(
            update(Database)
            .where(Database.name == name, condition)
            .values(freshness_breached_at=new)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _tell(
    ctx: Context,
    name: str,
    hours: float,
    last: datetime | None,
    found: FreshnessChange,
    now: datetime,
) -> None:
    limit = format_duration(hours * 3600)
    if found == FreshnessChange.BREACHED:
        since = (
            f"the last one ended {format_duration((now - last).total_seconds())} ago"
            if last is not None
            else "it never had one"
        )
        title = f"Strongbox: {name} has no recent backup"
        body = f"Database {name} has had no successful backup for more than {limit}: {since}."
    else:
        title = f"Strongbox: {name} is backed up again"
        body = f"Database {name} has a successful backup within {limit} again."
    notify.emit(ctx, notify.Notice("freshness", name, title, body))
