"""Is a database busy? What is running on it right now: the rule "one job at a time per
database" (a queued or running backup of it, or a restore from or into it)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Restore
from strongbox.domain.states import ACTIVE_STATES
from strongbox.errors import StrongboxError, conflict


def busy_with(session: Session, database: str) -> str | None:
    """A sentence naming a queued or running backup of `database`, or restore from or into it;
    None when the database is free."""
    backup = session.scalars(
        select(Backup).where(Backup.database == database, Backup.state.in_(ACTIVE_STATES))
    ).first()
    if backup is not None:
        return f"backup '{backup.name}' of database '{database}' is {backup.state}"
    restore = session.scalars(
        select(Restore).where(
            or_(Restore.database == database, Restore.target == database),
            Restore.state.in_(ACTIVE_STATES),
        )
    ).first()
    if restore is not None:
        return (
            f"restore '{restore.name}' of backup '{restore.database}/{restore.backup}' into "
            f"'{restore.target}' is {restore.state}"
        )
    return None


def busy_databases(session: Session, names: set[str]) -> set[str]:
    """Which of `names` are busy by the rule of `busy_with`, in two queries for all of them
    (the scheduler's bulk hand-over asks for hundreds at once)."""
    backing_up = session.scalars(
        select(Backup.database).where(Backup.database.in_(names), Backup.state.in_(ACTIVE_STATES))
    ).all()
    restoring = session.execute(
        select(Restore.database, Restore.target).where(
            or_(Restore.database.in_(names), Restore.target.in_(names)),
            Restore.state.in_(ACTIVE_STATES),
        )
    ).all()
    return names & ({*backing_up} | {name for pair in restoring for name in pair})


def refuse_if_busy(session: Session, *databases: str) -> None:
    for database in dict.fromkeys(databases):
        reason = busy_with(session, database)
        if reason is not None:
            error: StrongboxError = conflict(
                f"{reason}; one job at a time per database: wait for it to end",
                "database-busy",
            )
            raise error
