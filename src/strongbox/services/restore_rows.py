"""Restores as the catalog holds them and the API shows them: found, listed, paged, shown,
and what one cut by a stop left behind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Restore
from strongbox.domain.states import duration_seconds
from strongbox.errors import not_found
from strongbox.services import databases, hints
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas import RestoredDatabase, RestoreOut
from strongbox.services.schemas.restores import NewInstanceOut, PointInTimeOut


def page_for(ctx: Context, database: str, request: PageRequest) -> Page[RestoreOut]:
    """The database's restores, newest first, a page at a time."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        statement = select(Restore).where(Restore.database == database)
        rows, after = fetch(session, statement, Restore.created_at, Restore.id, request)
        return Page[RestoreOut](items=[to_out(r) for r in rows], next=after)


def get(ctx: Context, database: str, name: str) -> RestoreOut:
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = find(session, database, name)
        if row is None:
            raise not_found(
                f"database '{database}' has no restore named '{name}': "
                f"{hints.list_restores(database)}",
                "restore-not-found",
            )
        return to_out(row)


def interrupted_state(server: str, summary: list[dict[str, Any]]) -> str:
    """What a restore cut by a stop left on the registered database `server`, from the facts
    its summary recorded as it went: databases that may be incomplete (created or written in
    place, marked `writing`), and side or old copies of an overwrite beside its target, to drop
    by hand (the rename that swaps them is one transaction, so the target is either the old or
    the new one).

    >>> interrupted_state("prod", [{"target": "app", "action": "overwrite",
    ...     "side_database": "app__sbx_1a2b3c"}])
    "on 'prod': app was not changed, but its unfinished copy app__sbx_1a2b3c may be left: drop it"
    """
    facts = []
    for entry in summary:
        target = entry["target"]
        side, aside = entry.get("side_database"), entry.get("previous_database")
        if side and aside:
            facts.append(
                f"the restore stopped while swapping {target}: either {side} (an unfinished "
                f"copy; {target} was not changed) or {aside} (its old content; {target} was "
                "restored) may be left, whichever exists: drop it"
            )
        elif entry.get("side_database"):
            facts.append(
                f"{target} was not changed, but its unfinished copy {entry['side_database']} "
                "may be left: drop it"
            )
        elif entry.get("previous_database"):
            facts.append(
                f"{target} was restored; its old content may be left as "
                f"{entry['previous_database']}: drop it"
            )
        elif entry.get("writing"):
            facts.append(f"{target} may be incomplete")
    return f"on '{server}': " + ("; ".join(facts) if facts else "no database was being written")


def find(session: Session, database: str, name: str) -> Restore | None:
    return session.scalars(
        select(Restore).where(Restore.database == database, Restore.name == name)
    ).first()


def to_out(row: Restore) -> RestoreOut:
    duration = duration_seconds(row.started_at, row.finished_at)
    return RestoreOut(
        name=row.name,
        database=row.database,
        backup=row.backup,
        target=row.target,
        database_map=dict(row.database_map),
        overwrite=row.overwrite,
        restore_globals=row.restore_globals,
        jobs=row.parallel_jobs,
        exact_counts=row.exact_counts,
        state=row.state,
        error=row.error,
        claimed_by=row.claimed_by,
        heartbeat_at=row.heartbeat_at,
        canceled_by=row.canceled_by,
        canceled_at=row.cancel_requested_at,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=duration,
        restored_bytes=row.restored_bytes,
        expected_bytes=row.expected_bytes,
        summary=[RestoredDatabase(**s) for s in row.summary],
        new_instance=(
            NewInstanceOut.model_validate(row.new_instance) if row.new_instance else None
        ),
        point_in_time=(
            PointInTimeOut.model_validate(row.point_in_time) if row.point_in_time else None
        ),
    )
