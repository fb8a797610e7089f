"""The runs of schedules, the scheduler's steps: turn due slots into backups exactly once per
(schedule, slot), record each slot's run (started, waiting, skipped, missed or failed), and apply
a schedule's retention after its backup succeeded. The schedules themselves are `schedules`.

`run_due(ctx, now)` and `next_due(ctx, now)` are the steps of the scheduler loop; tests call them
with a clock of their own. Exactly-once rests on the catalog's unique index on
(schedule, slot): of two schedulers on one catalog, only one inserts a slot's run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from strongbox.catalog.models import Backup, Schedule, ScheduleRun
from strongbox.domain.retention import RetainedBackup, choose_deletions
from strongbox.domain.slots import next_runs, slots_between
from strongbox.domain.states import JobState, RunState
from strongbox.errors import StrongboxError
from strongbox.services import audit, backups, notify, slot_batches
from strongbox.services.busy import busy_with
from strongbox.services.context import Context
from strongbox.services.schedules import TRIGGER_PREFIX, trigger_of
from strongbox.services.schemas import BackupCreate
from strongbox.services.slot_batches import backup_name_for, newest_slot, next_slot
from strongbox.services.state_moves import move_run

log = logging.getLogger(__name__)

STARTED = RunState.STARTED
WAITING = RunState.WAITING
SKIPPED = RunState.SKIPPED
MISSED = RunState.MISSED
FAILED = RunState.FAILED
MAX_MISSED_RECORDED = 500  # after a long downtime, older missed slots are summed up in one
WAITING_POLL = timedelta(seconds=2)


def run_due(ctx: Context, now: datetime) -> None:
    """Start what is due at `now`: each enabled schedule's newest due slot (older ones since the
    last look are `missed`), then runs that waited for a busy database. The common case goes in
    bulk (`slot_batches`); the rest one by one, each saying what happened to it."""
    due = []
    for schedule_id, cron, tz, baseline in _enabled_baselines(ctx):
        upcoming = next_slot(cron, tz, baseline)
        if upcoming is not None and upcoming <= now:
            due.append(schedule_id)  # nothing due for most schedules at most looks: kept cheap
    try:
        left = slot_batches.hand_over(ctx, due, now)
    except Exception:  # the one-by-one way still starts what it can
        log.exception("the bulk hand-over of %d due slots failed", len(due))
        left = due
    for schedule_id in left:
        try:
            _handle(ctx, schedule_id, now)
        except Exception:  # one broken schedule must not stop the others
            log.exception("scheduling of schedule %s failed", schedule_id)
    _start_waiting(ctx)


def next_due(ctx: Context, now: datetime) -> datetime | None:
    """When the scheduler should look again: the earliest next slot of any enabled schedule (or
    shortly, while a run waits for its database)."""
    return next_look(ctx, now).at


@dataclass(frozen=True)
class NextLook:
    """When to look again, and the schedules whose slot falls due then."""

    at: datetime | None
    schedule_ids: tuple[int, ...] = ()


def next_look(ctx: Context, now: datetime) -> NextLook:
    """`next_due`, with the schedules due at that time."""
    with ctx.catalog.session() as session:
        if session.scalars(select(ScheduleRun.id).where(ScheduleRun.state == WAITING)).first():
            return NextLook(now + WAITING_POLL)
    earliest: datetime | None = None
    expected: list[int] = []
    for schedule_id, cron, tz, baseline in _enabled_baselines(ctx):
        upcoming = next_slot(cron, tz, baseline)
        if upcoming is not None and upcoming <= now:
            # Due but not taken (its step failed): the next slot after now, as before.
            after_now = next_runs(cron, tz, now, 1)
            upcoming = after_now[0] if after_now else None
        if upcoming is None or (earliest is not None and upcoming > earliest):
            continue
        if earliest is None or upcoming < earliest:
            earliest, expected = upcoming, []
        expected.append(schedule_id)
    return NextLook(earliest, tuple(expected))


class Looks:
    """The scheduler loop's two steps with a look-ahead: the previous look's `next_look` names
    the schedules due at the wake, and they are handed over first, before the scan of every
    enabled schedule (which takes a while with thousands of them, and would make each slot that
    much late). The scan follows and finds anything else due; the bulk hand-over reads each
    schedule from the catalog again, so a schedule changed in between is no risk."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._expected = NextLook(None)

    def run_due(self, now: datetime) -> None:
        expected, self._expected = self._expected, NextLook(None)
        if expected.at is not None and expected.at <= now and expected.schedule_ids:
            try:
                slot_batches.hand_over(self._ctx, expected.schedule_ids, now)
            except Exception:  # the scan below starts them
                log.exception("the hand-over of the expected slots failed")
        run_due(self._ctx, now)

    def next_due(self, now: datetime) -> datetime | None:
        self._expected = next_look(self._ctx, now)
        return self._expected.at


def _enabled_baselines(ctx: Context) -> list[tuple[int, str, str, datetime]]:
    """(id, cron, zone, baseline) of every enabled schedule in one query: slots after the
    baseline (its newest recorded slot, or when its slots start) are the ones not yet taken.
    The newest slot is looked up per schedule in the (schedule, slot) index, so the cost does
    not grow with the history of runs."""
    with ctx.catalog.session() as session:
        rows = session.execute(
            select(
                Schedule.id, Schedule.cron, Schedule.timezone, Schedule.slots_since, newest_slot()
            ).where(Schedule.enabled.is_(True))
        ).all()
    return [
        (schedule_id, cron, tz, max(since, last) if last is not None else since)
        for schedule_id, cron, tz, since, last in rows
    ]


def backup_finished(ctx: Context, database: str, backup: str, trigger: str, state: str) -> None:
    """After a scheduled backup ends: on success, apply the schedule's retention."""
    if not trigger.startswith(TRIGGER_PREFIX) or state != JobState.SUCCEEDED:
        return
    schedule_name = trigger.removeprefix(TRIGGER_PREFIX)
    with ctx.catalog.session() as session:
        schedule = session.scalars(
            select(Schedule).where(Schedule.database == database, Schedule.name == schedule_name)
        ).first()
        if schedule is None or schedule.retention_copies == 0:
            return
        keep = schedule.retention_copies
        made = [
            RetainedBackup(name, row_state, finished)
            for name, row_state, finished in session.execute(
                select(Backup.name, Backup.state, Backup.finished_at).where(
                    Backup.database == database, Backup.trigger == trigger
                )
            ).all()
        ]
    for name in choose_deletions(made, keep):
        try:
            backups.delete(ctx, database, name)
            log.info("retention of schedule %s deleted backup %s/%s", schedule_name, database, name)
        except StrongboxError as exc:
            log.warning("retention could not delete backup %s/%s: %s", database, name, exc)


def _handle(ctx: Context, schedule_id: int, now: datetime) -> None:
    with ctx.catalog.session() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None or not schedule.enabled:
            return
        last = session.scalar(
            select(func.max(ScheduleRun.slot_at)).where(ScheduleRun.schedule_id == schedule_id)
        )
        cron, tz, since = schedule.cron, schedule.timezone, schedule.slots_since
    baseline = max(since, last) if last is not None else since
    due = slots_between(cron, tz, baseline, now, limit=MAX_MISSED_RECORDED + 1)
    if not due:
        return
    newest, older = due[-1], due[:-1]
    reason = "the server was not running at this time"
    missed = [s for s in older if _record(ctx, schedule_id, s, MISSED, reason) is not None]
    if now - newest <= ctx.settings.catch_up_window:
        _start_slot(ctx, schedule_id, newest)
    else:
        reason = (
            f"the server was not running at this time, and it is more than "
            f"{ctx.settings.catch_up_window} ago (STRONGBOX_CATCH_UP_WINDOW) to catch up"
        )
        if _record(ctx, schedule_id, newest, MISSED, reason) is not None:
            missed.append(newest)
    if missed:  # one notification for the slots this pass found missed, not one each
        notify.slots_missed(ctx, schedule_id, len(missed), reason)


def _record(
    ctx: Context, schedule_id: int, slot: datetime, state: RunState, reason: str | None
) -> ScheduleRun | None:
    """Insert the run of (schedule, slot); None when it exists (another scheduler was first)."""
    run = ScheduleRun(
        schedule_id=schedule_id,
        slot_at=slot,
        state=state,
        reason=reason,
        created_at=ctx.clock.now(),
    )
    try:
        with ctx.catalog.session() as session:
            session.add(run)
    except IntegrityError:
        return None
    return run


def _start_slot(ctx: Context, schedule_id: int, slot: datetime) -> None:
    run = _record(ctx, schedule_id, slot, STARTED, None)
    if run is None:
        return
    with ctx.catalog.session() as session:
        schedule = session.get(Schedule, schedule_id)
        assert schedule is not None
        database, on_overlap = schedule.database, schedule.on_overlap
        blocker = busy_with(session, database)
        already_waiting = session.scalars(
            select(ScheduleRun.id).where(
                ScheduleRun.schedule_id == schedule_id, ScheduleRun.state == WAITING
            )
        ).first()
    if blocker is None:
        _start_backup(ctx, run.id)
    elif on_overlap == "queue" and already_waiting is None:
        _set_run(ctx, run.id, WAITING, f"waiting: {blocker}")
    elif on_overlap == "queue":
        _set_run(ctx, run.id, SKIPPED, f"{blocker}, and an earlier run already waits for it")
    else:
        _set_run(ctx, run.id, SKIPPED, f"{blocker} (on_overlap: skip)")


def _start_waiting(ctx: Context) -> None:
    with ctx.catalog.session() as session:
        waiting = session.execute(
            select(ScheduleRun.id, Schedule.database)
            .join(Schedule, Schedule.id == ScheduleRun.schedule_id)
            .where(ScheduleRun.state == WAITING)
        ).all()
    for run_id, database in waiting:
        with ctx.catalog.session() as session:
            if busy_with(session, database) is not None:
                continue
        _start_backup(ctx, run_id)


def _start_backup(ctx: Context, run_id: int) -> None:
    with ctx.catalog.session() as session:
        run = session.get(ScheduleRun, run_id)
        assert run is not None
        schedule = session.get(Schedule, run.schedule_id)
        assert schedule is not None
        database, storage, name = schedule.database, schedule.storage, schedule.name
        method = schedule.method
        slot = run.slot_at
    backup_name = backup_name_for(name, slot)
    try:
        backups.create(
            ctx,
            database,
            # Validated: the stored method is a row of this catalog, checked when it was set.
            BackupCreate.model_validate(
                {"storage": storage, "name": backup_name, "method": method}
            ),
            trigger=trigger_of(name),
        )
    except StrongboxError as exc:
        # E.g. another job started in between, or the storage was removed.
        busy = exc.code in _BUSY_CODES
        audit.record_scheduled_backup(ctx, database, status=409 if busy else 422)
        _set_run(ctx, run_id, SKIPPED if busy else FAILED, str(exc))
        return
    audit.record_scheduled_backup(ctx, database, status=202)
    with ctx.catalog.session() as session:
        move_run(session, run_id, STARTED, reason=None, backup=backup_name)


_BUSY_CODES = frozenset({"backup-in-progress", "database-busy"})


def _set_run(ctx: Context, run_id: int, state: RunState, reason: str | None) -> None:
    with ctx.catalog.session() as session:
        move_run(session, run_id, state, reason=reason)
    if state == SKIPPED:
        notify.slot_skipped(ctx, run_id, reason or "")
