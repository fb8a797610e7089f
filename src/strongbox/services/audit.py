"""The audit log: who changed what, from where, with which outcome.

Entries are written by the server only (api/audit_trail.py records each request that changes
something, each sign-in and each failed one; the scheduler records the backups it starts); no
route changes or deletes them. An entry keeps
the method, the route and the path asked for, never a request body, so it holds no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from strongbox.catalog.models import AuditEntry
from strongbox.domain.roles import Role
from strongbox.services.context import Context
from strongbox.services.schemas.people import AuditEntryOut, AuditPage

PAGE_MAX = 500
ANONYMOUS = "anonymous"
SCHEDULER = "scheduler"
OUTCOMES = ("succeeded", "refused", "failed")


@dataclass(frozen=True)
class Record:
    actor: str
    token: str | None
    role: str | None
    action: str
    resource: str
    address: str
    status: int


@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    action: str | None = None  # a part of the action, e.g. "/restores" or "DELETE"
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def outcome_of(status: int) -> str:
    """How a request ended, from its HTTP status.

    >>> outcome_of(201), outcome_of(403), outcome_of(429), outcome_of(422)
    ('succeeded', 'refused', 'refused', 'failed')
    """
    if status < 400:
        return "succeeded"
    if status in (401, 403, 429):
        return "refused"
    return "failed"


def record(ctx: Context, entry: Record) -> None:
    with ctx.catalog.session() as session:
        session.add(AuditEntry(**entry_row(entry, ctx.clock.now())))


def entry_row(entry: Record, at: datetime) -> dict[str, Any]:
    """The catalog row of `entry`, written at `at`."""
    return {
        "at": at,
        "actor": entry.actor[:80],
        "token": entry.token,
        "role": entry.role,
        "action": entry.action[:255],
        "resource": entry.resource,
        "address": entry.address[:64],
        "status": entry.status,
        "outcome": outcome_of(entry.status),
    }


def record_scheduled_backup(ctx: Context, database: str, *, status: int) -> None:
    """A backup the scheduler started (202), or could not start: busy (409) or refused (422).
    Recorded as the same action as a backup asked for through the API, by `scheduler`."""
    record(ctx, scheduled_backup(database, status=status))


def scheduled_backup(database: str, *, status: int) -> Record:
    """The entry of a backup the scheduler started or could not start (`record_scheduled_backup`;
    `slot_batches` writes the started ones of a look together)."""
    return Record(
        actor=SCHEDULER,
        token=None,
        role=None,
        action="POST /api/v1/databases/{database}/backups",
        resource=f"/api/v1/databases/{database}/backups",
        address="local",
        status=status,
    )


def query(ctx: Context, filters: Filters, limit: int = 100, before: int | None = None) -> AuditPage:
    """Entries matching the filters, newest first, `limit` at most; `before` continues a
    previous page (its `next_before`)."""
    limit = max(1, min(limit, PAGE_MAX))
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    if filters.actor is not None:
        statement = statement.where(AuditEntry.actor == filters.actor)
    if filters.action is not None:
        statement = statement.where(AuditEntry.action.contains(filters.action, autoescape=True))
    if filters.outcome is not None:
        statement = statement.where(AuditEntry.outcome == filters.outcome)
    if filters.since is not None:
        statement = statement.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEntry.at < filters.until)
    with ctx.catalog.session() as session:
        rows = list(session.scalars(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        entries=[_out(row) for row in rows],
        next_before=rows[-1].id if more else None,
    )


def _out(row: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=row.id,
        at=row.at,
        actor=row.actor,
        token=row.token,
        role=Role(row.role) if row.role else None,
        action=row.action,
        resource=row.resource,
        address=row.address,
        status=row.status,
        outcome=row.outcome,
    )
