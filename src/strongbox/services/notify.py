"""Sending notifications: find the targets that want an event, and deliver in the background.

Delivery never blocks or fails the work that caused it (a backup, a restore, the scheduler):
`emit` only reads the catalog and queues; each message is tried `ATTEMPTS` times with a pause
that grows, and a message that still fails is logged (without its URL, which holds secrets).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import or_, select

from strongbox import notifier
from strongbox.catalog.models import Backup, NotificationTarget, Restore, Schedule, ScheduleRun
from strongbox.services.context import Context

log = logging.getLogger(__name__)

ATTEMPTS = 3
PAUSES_SECONDS = (2.0, 10.0)  # before the second and the third attempt

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class Notice:
    event: str  # one of schemas.notifications.EVENTS
    database: str | None
    title: str
    body: str


def emit(ctx: Context, notice: Notice) -> int:
    """Queue `notice` for every target that wants its event (global ones, and those of its
    database); returns how many. Never raises: a notification must not fail the caller."""
    try:
        deliveries = _targets_for(ctx, notice)
    except Exception:
        log.exception("could not look up the notification targets for %s", notice.event)
        return 0
    for target, url in deliveries:
        _submit(target, url, notice)
    return len(deliveries)


def _targets_for(ctx: Context, notice: Notice) -> list[tuple[str, str]]:
    statement = select(NotificationTarget)
    if notice.database is None:
        statement = statement.where(NotificationTarget.database.is_(None))
    else:
        statement = statement.where(
            or_(
                NotificationTarget.database.is_(None),
                NotificationTarget.database == notice.database,
            )
        )
    with ctx.catalog.session() as session:
        rows = list(session.scalars(statement))
        return [
            (row.name, ctx.secrets.decrypt(row.url_encrypted))
            for row in rows
            if notice.event in row.events
        ]


def _submit(target: str, url: str, notice: Notice) -> None:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="strongbox-notify")
        pool = _pool
    pool.submit(deliver, target, url, notice)


def deliver(
    target: str, url: str, notice: Notice, pauses: tuple[float, ...] = PAUSES_SECONDS
) -> bool:
    """Try to deliver `notice` to one target up to ATTEMPTS times; True once delivered."""
    for attempt in range(1, ATTEMPTS + 1):
        if notifier.send(url, notice.title, notice.body):
            return True
        if attempt < ATTEMPTS:
            log.warning(
                "notification %s to target %s failed (attempt %d of %d); trying again",
                notice.event,
                target,
                attempt,
                ATTEMPTS,
            )
            time.sleep(pauses[min(attempt - 1, len(pauses) - 1)])
    log.error(
        "notification %s to target %s failed %d times; given up", notice.event, target, ATTEMPTS
    )
    return False


def backup_failed(ctx: Context, backup_id: int, error: str | None) -> None:
    def notice() -> Notice:
        database, name = _names(ctx, Backup, backup_id)
        return Notice(
            "backup_failed",
            database,
            f"Strongbox: backup {database}/{name} failed",
            f"The backup {name} of database {database} failed: {error or 'no reason recorded'}",
        )

    _emit_later(ctx, notice)


def slot_skipped(ctx: Context, run_id: int, reason: str) -> None:
    def notice() -> Notice:
        with ctx.catalog.session() as session:
            run = session.get(ScheduleRun, run_id)
            schedule = session.get(Schedule, run.schedule_id) if run is not None else None
            if schedule is None:
                raise LookupError(f"schedule run {run_id} is gone")
            database, name = schedule.database, schedule.name
        return Notice(
            "slot_skipped",
            database,
            f"Strongbox: a slot of schedule {database}/{name} was skipped",
            f"A slot of schedule {name} of database {database} was skipped: {reason}",
        )

    _emit_later(ctx, notice)


def slots_missed(ctx: Context, schedule_id: int, count: int, reason: str) -> None:
    def notice() -> Notice:
        with ctx.catalog.session() as session:
            schedule = session.get(Schedule, schedule_id)
            if schedule is None:
                raise LookupError(f"schedule {schedule_id} is gone")
            database, name = schedule.database, schedule.name
        slots = "a slot was" if count == 1 else f"{count} slots were"
        return Notice(
            "slot_missed",
            database,
            f"Strongbox: {slots} missed of schedule {database}/{name}",
            f"Of schedule {name} of database {database}, {slots} missed: {reason}",
        )

    _emit_later(ctx, notice)


def restore_ended(ctx: Context, restore_id: int, state: str, error: str | None) -> None:
    """A restore ended `succeeded` (event restore_finished) or `failed` (restore_failed)."""
    if state not in ("succeeded", "failed"):
        return

    def notice() -> Notice:
        database, name = _names(ctx, Restore, restore_id)
        if state == "succeeded":
            return Notice(
                "restore_finished",
                database,
                f"Strongbox: restore {database}/{name} finished",
                f"The restore {name} of a backup of database {database} succeeded.",
            )
        return Notice(
            "restore_failed",
            database,
            f"Strongbox: restore {database}/{name} failed",
            f"The restore {name} of a backup of database {database} failed: "
            f"{error or 'no reason recorded'}",
        )

    _emit_later(ctx, notice)


def _names(ctx: Context, model: type[Backup] | type[Restore], row_id: int) -> tuple[str, str]:
    with ctx.catalog.session() as session:
        found = session.execute(
            select(model.database, model.name).where(model.id == row_id)
        ).first()
        if found is None:
            raise LookupError(f"{model.__tablename__} row {row_id} is gone")
        return found[0], found[1]


def _emit_later(ctx: Context, make: Callable[[], Notice]) -> None:
    """Build the notice (reading the catalog) and emit it; never raises into the caller, whose
    work (a backup, the scheduler) must not fail because of a notification."""
    try:
        emit(ctx, make())
    except Exception:
        log.exception("could not prepare a notification")


def worker_lost(ctx: Context, kind: str, database: str, name: str, detail: str) -> None:
    """A job failed because the worker running it stopped beating (the lost-job check calls
    this where it records the failure)."""
    emit(
        ctx,
        Notice(
            "worker_lost",
            database,
            f"Strongbox: the worker running {kind} {database}/{name} was lost",
            f"The {kind} {name} of database {database} failed: {detail}",
        ),
    )
