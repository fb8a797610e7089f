"""Due slots handed over in bulk: the common case of a scheduler look, done for many schedules
in one catalog transaction (their runs, their backups and the audit entries), then handed to the
executor.

The common case is a schedule whose newest slot is its only due one, within the catch-up window,
whose database is free and whose logical backup can be queued as it stands. A look at a round
hour finds a thousand of them at once; one at a time, seven short transactions each, the last
was handed over a quarter of a minute late. Everything else goes the one-by-one way of
`schedule_runs`, which records and says what happened to each: missed slots before the newest,
a busy database, a physical backup (its prerequisites are checked on the server), a database or
a storage that is gone, a backup name that is taken, a second schedule of one database in the
same look.

Exactly once still rests on the catalog: the runs are inserted with their (schedule, slot)
conflicts ignored, and only the schedules whose run this transaction inserted get a backup. Any
other refusal of the catalog (another request queued a backup of one of the databases since the
look) undoes the whole batch, and its schedules go the one-by-one way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongbox.catalog.models import (
    AuditEntry,
    Backup,
    Database,
    Schedule,
    ScheduleRun,
    Storage,
)
from strongbox.domain.jobs import JobKind, JobRef
from strongbox.domain.slots import next_runs
from strongbox.domain.states import JobState, RunState
from strongbox.services import audit
from strongbox.services.busy import busy_databases
from strongbox.services.context import Context
from strongbox.services.schedules import trigger_of
from strongbox.services.schemas import BackupCreate

log = logging.getLogger(__name__)

BATCH = 500  # schedules per transaction: well under SQLite's limit of bound parameters
PHYSICAL = "physical"


@dataclass(frozen=True)
class DueSlot:
    """A schedule whose newest slot is due, with what its backup needs."""

    schedule_id: int
    database: str
    storage: str
    backup: str  # the backup's name, from the schedule's name and the slot
    method: str
    trigger: str
    slot: datetime
    queue: str | None


def hand_over(ctx: Context, schedule_ids: Sequence[int], now: datetime) -> list[int]:
    """Start the newest due slot of each of `schedule_ids` that the common case covers, in
    batches; answers the ids left for the one-by-one way, in the order given."""
    left: list[int] = []
    for start in range(0, len(schedule_ids), BATCH):
        chunk = schedule_ids[start : start + BATCH]
        try:
            taken = _hand_over_batch(ctx, chunk, now)
        except IntegrityError:
            log.info("a batch of %d due slots met a concurrent change; one by one", len(chunk))
            taken = set()
        left += [schedule_id for schedule_id in chunk if schedule_id not in taken]
    return left


def _hand_over_batch(ctx: Context, schedule_ids: Sequence[int], now: datetime) -> set[int]:
    """The ids whose slot this batch took: started here, or taken by another scheduler."""
    with ctx.catalog.session() as session:
        slots = _common_case(session, _due_slots(ctx, session, schedule_ids, now))
        if not slots:
            return set()
        at = ctx.clock.now()
        inserted = _insert_runs(session, slots, at)
        mine = [slot for slot in slots if slot.schedule_id in inserted]
        backup_ids = _insert_backups(session, mine, at)
        _insert_audit(session, mine, at)
    # After the commit: a job handed over before its row is visible would find nothing. A
    # queued backup whose hand-over fails here is handed over again at the next start.
    for slot in mine:
        job = JobRef(JobKind.BACKUP, backup_ids[slot.database], slot.queue)
        try:
            ctx.executor.submit(job)
        except Exception:
            log.exception("could not hand over backup %s/%s", slot.database, slot.backup)
    # The slots not inserted were taken by another scheduler: nothing is left to do for them.
    return {slot.schedule_id for slot in slots}


def _due_slots(
    ctx: Context, session: Session, schedule_ids: Sequence[int], now: datetime
) -> list[DueSlot]:
    """The schedules whose newest slot is their only due one and within the catch-up window."""
    rows = session.execute(
        select(
            Schedule.id,
            Schedule.database,
            Schedule.name,
            Schedule.storage,
            Schedule.method,
            Schedule.cron,
            Schedule.timezone,
            Schedule.slots_since,
            newest_slot(),
            Database.worker_queue,
        )
        .join(Database, Database.name == Schedule.database)  # a database gone: one by one
        .where(Schedule.id.in_(schedule_ids), Schedule.enabled.is_(True))
    ).all()
    found = []
    for schedule_id, database, name, storage, method, cron, tz, since, last, queue in rows:
        baseline = max(since, last) if last is not None else since
        slot = next_slot(cron, tz, baseline)
        if slot is None or slot > now or now - slot > ctx.settings.catch_up_window:
            continue  # not due (another scheduler took it), or too late to catch up
        following = next_slot(cron, tz, slot)
        if following is not None and following <= now:
            continue  # missed slots to record before the newest
        backup = backup_name_for(name, slot)
        try:
            BackupCreate.model_validate({"storage": storage, "name": backup, "method": method})
        except ValidationError:
            continue  # the one-by-one way says what is wrong with it
        found.append(
            DueSlot(schedule_id, database, storage, backup, method, trigger_of(name), slot, queue)
        )
    return found


def _common_case(session: Session, slots: list[DueSlot]) -> list[DueSlot]:
    """The slots whose backup can be queued as it stands: logical, the storage there, the name
    free, the database free and not wanted twice in this batch."""
    if not slots:
        return []
    names = {slot.database for slot in slots}
    busy = busy_databases(session, names)
    storages = set(
        session.scalars(select(Storage.name).where(Storage.name.in_({s.storage for s in slots})))
    )
    taken = {
        (database, name)
        for database, name in session.execute(
            select(Backup.database, Backup.name).where(
                tuple_(Backup.database, Backup.name).in_([(s.database, s.backup) for s in slots])
            )
        )
    }
    chosen: list[DueSlot] = []
    for slot in slots:
        if (
            slot.method == PHYSICAL
            or slot.database in busy
            or slot.storage not in storages
            or (slot.database, slot.backup) in taken
        ):
            continue
        busy.add(slot.database)  # a second schedule of it in this look goes one by one
        chosen.append(slot)
    return chosen


def _insert_runs(session: Session, slots: list[DueSlot], at: datetime) -> set[int]:
    """Insert each slot's run, started, naming its backup; answers the schedules whose run this
    statement inserted (a run that exists was another scheduler's)."""
    rows = [
        {
            "schedule_id": slot.schedule_id,
            "slot_at": slot.slot,
            "state": RunState.STARTED,
            "reason": None,
            "backup": slot.backup,
            "created_at": at,
        }
        for slot in slots
    ]
    statement = (
        _dialect_insert(session, _table(ScheduleRun))
        .on_conflict_do_nothing(index_elements=["schedule_id", "slot_at"])
        .returning(_table(ScheduleRun).c.schedule_id)
    )
    # Many parameter sets for one statement: the driver sends them in few round trips, and the
    # statement is compiled once for every look (a VALUES list of its own would not be).
    return set(session.execute(statement, rows).scalars())


def _insert_backups(session: Session, slots: list[DueSlot], at: datetime) -> dict[str, int]:
    """Insert the queued backups; answers each database's new backup id."""
    if not slots:
        return {}
    rows = [
        {
            "name": slot.backup,
            "database": slot.database,
            "storage": slot.storage,
            "method": slot.method,
            "trigger": slot.trigger,
            "state": JobState.QUEUED,
            "created_at": at,
            "progress_bytes": 0,
            "artifacts": [],
        }
        for slot in slots
    ]
    table = _table(Backup)
    inserted = session.execute(insert(table).returning(table.c.database, table.c.id), rows)
    return dict(inserted.all())


def _insert_audit(session: Session, slots: Iterable[DueSlot], at: datetime) -> None:
    """The audit entries the one-by-one way writes for a started backup (`audit`)."""
    rows: list[dict[str, Any]] = [
        audit.entry_row(audit.scheduled_backup(slot.database, status=202), at) for slot in slots
    ]
    if rows:
        session.execute(insert(_table(AuditEntry)), rows)


def _table(model: Any) -> Table:
    """The model's table: inserting into it skips the ORM's work per row, which a batch of
    plain rows does not need."""
    return cast(Table, model.__table__)


def _dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT that can ignore conflicts, in the catalog's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def newest_slot() -> Any:
    """A schedule's newest recorded slot, as a correlated subquery on `Schedule`: slots after it
    (or after the schedule's `slots_since`) are the ones not taken yet. It is an index look-up
    per schedule, so its cost does not grow with the history of runs."""
    return (
        select(func.max(ScheduleRun.slot_at))
        .where(ScheduleRun.schedule_id == Schedule.id)
        .scalar_subquery()
    )


@lru_cache(maxsize=65_536)
def next_slot(cron: str, tz: str, after: datetime) -> datetime | None:
    """The first slot strictly after `after`. Cached: between two slots of a schedule every
    look asks the same question, and a cron walk costs far more than a dictionary look-up (the
    answer for a slot is the next look's question once that slot is taken)."""
    upcoming = next_runs(cron, tz, after, 1)
    return upcoming[0] if upcoming else None


def backup_name_for(schedule: str, slot: datetime) -> str:
    """`{schedule}-{yyyymmdd-hhmm}`, from the slot's UTC time (local times repeat at fall-back).

    >>> from datetime import UTC
    >>> backup_name_for("nightly", datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
    'nightly-20261124-0200'
    """
    return f"{schedule}-{slot:%Y%m%d-%H%M}"
