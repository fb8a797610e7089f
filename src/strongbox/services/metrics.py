"""What `/metrics` shows, read from the catalog at each scrape.

Nothing is counted in memory: every replica on one catalog answers the same figures, and a
restart loses nothing. Counts of backups, restores and slots are of the rows in the catalog
(retention deletes backups, so they are gauges, not counters).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Database, PitrStream, Restore, Schedule, ScheduleRun
from strongbox.domain.states import ACTIVE_STATES, JobState, duration_seconds
from strongbox.services import workers
from strongbox.services.context import Context
from strongbox.services.workers import WorkerSeen


@dataclass(frozen=True)
class LastSuccess:
    database: str
    finished_at: datetime
    duration_seconds: float | None
    size_bytes: int | None
    stored_bytes: int | None


@dataclass(frozen=True)
class Heartbeat:
    kind: str  # "backup" or "restore"
    database: str
    name: str
    age_seconds: float


@dataclass(frozen=True)
class PitrLag:
    database: str
    state: str
    lag_seconds: float | None
    last_upload_at: datetime | None


@dataclass
class Snapshot:
    now: datetime
    databases: dict[str, str] = field(default_factory=dict)  # name -> engine
    last_success: list[LastSuccess] = field(default_factory=list)
    backups: Counter[tuple[str, str]] = field(default_factory=Counter)  # (database, state)
    restores: Counter[tuple[str, str]] = field(default_factory=Counter)
    slots: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # db, schedule, state
    jobs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, state)
    dumped_bytes: dict[str, int] = field(default_factory=dict)  # raw bytes of succeeded backups
    stored_bytes: dict[str, int] = field(default_factory=dict)  # what they take in storage
    heartbeats: list[Heartbeat] = field(default_factory=list)
    pitr: list[PitrLag] = field(default_factory=list)
    workers: list[WorkerSeen] = field(default_factory=list)


def snapshot(ctx: Context) -> Snapshot:
    """The figures as the catalog holds them now."""
    found = Snapshot(now=ctx.clock.now())
    with ctx.catalog.session() as session:
        found.databases = dict(session.execute(select(Database.name, Database.engine)).all())
        found.last_success = _last_successes(session)
        for database, state, count in session.execute(
            select(Backup.database, Backup.state, func.count()).group_by(
                Backup.database, Backup.state
            )
        ):
            found.backups[(database, state)] = count
        for database, state, count in session.execute(
            select(Restore.database, Restore.state, func.count()).group_by(
                Restore.database, Restore.state
            )
        ):
            found.restores[(database, state)] = count
        for database, raw, stored in session.execute(
            select(Backup.database, func.sum(Backup.size_bytes), func.sum(Backup.stored_bytes))
            .where(Backup.state == JobState.SUCCEEDED)
            .group_by(Backup.database)
        ):
            found.dumped_bytes[database] = int(raw or 0)
            found.stored_bytes[database] = int(stored or 0)
        found.slots = _slots(session)
        _jobs(session, found)
        found.pitr = [
            PitrLag(r.database, r.state, r.lag_seconds, r.last_upload_at)
            for r in session.scalars(select(PitrStream).where(PitrStream.enabled.is_(True)))
        ]
    found.workers = workers.all_seen(ctx, found.now)
    return found


def _last_successes(session: Session) -> list[LastSuccess]:
    newest = (
        select(Backup.database, func.max(Backup.finished_at).label("at"))
        .where(Backup.state == JobState.SUCCEEDED)
        .group_by(Backup.database)
        .subquery()
    )
    rows = session.scalars(
        select(Backup)
        .join(newest, (Backup.database == newest.c.database) & (Backup.finished_at == newest.c.at))
        .where(Backup.state == JobState.SUCCEEDED)
        .order_by(Backup.database, Backup.id.desc())
    )
    seen: dict[str, LastSuccess] = {}
    for row in rows:
        if row.database in seen or row.finished_at is None:
            continue  # two successes that ended in the same instant: the later row counts
        seen[row.database] = LastSuccess(
            database=row.database,
            finished_at=row.finished_at,
            duration_seconds=duration_seconds(row.started_at, row.finished_at),
            size_bytes=row.size_bytes,
            stored_bytes=row.stored_bytes,
        )
    return list(seen.values())


def _slots(session: Session) -> Counter[tuple[str, str, str]]:
    """Slots of each schedule by what became of them: a started slot has its backup's state
    (`deleted` once retention or a person removed that backup), the others their own."""
    counts: Counter[tuple[str, str, str]] = Counter()
    statement = (
        select(Schedule.database, Schedule.name, ScheduleRun.state, Backup.state, func.count())
        .join(Schedule, Schedule.id == ScheduleRun.schedule_id)
        .outerjoin(
            Backup,
            (Backup.database == Schedule.database) & (Backup.name == ScheduleRun.backup),
        )
        .group_by(Schedule.database, Schedule.name, ScheduleRun.state, Backup.state)
    )
    for database, schedule, run_state, backup_state, count in session.execute(statement):
        state = run_state
        if run_state == "started":
            state = backup_state if backup_state is not None else "deleted"
        counts[(database, schedule, state)] += count
    return counts


def _jobs(session: Session, found: Snapshot) -> None:
    for kind, model in (("backup", Backup), ("restore", Restore)):
        for active in ACTIVE_STATES:
            found.jobs[(kind, str(active))] = 0
        rows = session.execute(
            select(model.database, model.name, model.state, model.heartbeat_at).where(
                model.state.in_(ACTIVE_STATES)
            )
        )
        for database, name, state, heartbeat_at in rows:
            found.jobs[(kind, state)] += 1
            if state == JobState.RUNNING and heartbeat_at is not None:
                age = max(0.0, (found.now - heartbeat_at).total_seconds())
                found.heartbeats.append(Heartbeat(kind, database, name, age))
