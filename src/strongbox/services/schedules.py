"""Create, show, edit and delete schedules; their words, next runs, warnings and runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Database, Schedule, ScheduleRun
from strongbox.domain.analysis import OtherSchedule, analyse
from strongbox.domain.estimate import DurationEstimate, estimate_duration
from strongbox.domain.frequency import describe, parse_frequency, to_cron
from strongbox.domain.names import default_name
from strongbox.domain.pacing import BYTES_PER_MB
from strongbox.domain.production_hours import ProductionHours
from strongbox.domain.slots import next_runs
from strongbox.domain.states import JobState
from strongbox.errors import conflict, not_found
from strongbox.services import databases, hints
from strongbox.services.backups import require_method_fits
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas import (
    EstimateOut,
    LastRun,
    ScheduleCreate,
    ScheduleOut,
    ScheduleRunOut,
    ScheduleUpdate,
    ScheduleWarningOut,
)
from strongbox.services.storage_choice import require_storage

NEXT_RUNS = 5
TRIGGER_PREFIX = "schedule:"


def trigger_of(schedule_name: str) -> str:
    return TRIGGER_PREFIX + schedule_name


def create(
    ctx: Context,
    database: str,
    body: ScheduleCreate,
    *,
    dry_run: bool = False,
    strict: bool = False,
) -> ScheduleOut:
    """Validate, analyse and (unless `dry_run`) save a schedule. With `strict`, warnings are a
    409 instead of part of the answer."""
    now = ctx.clock.now()
    name = body.name or default_name("schedule", now)
    frequency = body.frequency.model_dump() if body.frequency is not None else None
    cron = body.cron if body.cron is not None else to_cron(body.frequency)  # type: ignore[arg-type]
    row = Schedule(
        database=database,
        name=name,
        storage=body.storage,
        cron=cron,
        frequency=frequency,
        timezone=body.timezone,
        retention_copies=body.retention_copies,
        enabled=body.enabled,
        on_overlap=body.on_overlap,
        method=body.method,
        slots_since=now,
        created_at=now,
        updated_at=now,
    )
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        require_method_fits(db_row.engine, body.method)
        require_storage(session, body.storage)
        if _find(session, database, name) is not None:
            raise conflict(
                f"database '{database}' already has a schedule named '{name}'", "name-taken"
            )
        _refuse_twin(session, row)
        out = _to_out(session, ctx, row, db_row, now)
        _refuse_warnings_if_strict(out, strict)
        if not dry_run:
            session.add(row)
    if not dry_run:
        ctx.wake_scheduler()
    return out


def update(
    ctx: Context,
    database: str,
    name: str,
    body: ScheduleUpdate,
    *,
    dry_run: bool = False,
    strict: bool = False,
) -> ScheduleOut:
    now = ctx.clock.now()
    changes = body.model_fields_set
    try:
        out = _apply_update(ctx, database, name, body, changes, now, dry_run, strict)
    except _DryRunDone as done:
        return done.out  # the transaction was rolled back: nothing changed
    ctx.wake_scheduler()
    return out


class _DryRunDone(Exception):
    """Leaves the unit of work (rolling it back) with the would-be schedule."""

    def __init__(self, out: ScheduleOut) -> None:
        super().__init__("dry run")
        self.out = out


def _apply_update(
    ctx: Context,
    database: str,
    name: str,
    body: ScheduleUpdate,
    changes: set[str],
    now: datetime,
    dry_run: bool,
    strict: bool,
) -> ScheduleOut:
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        row = get_row(session, database, name)
        timing_before = (row.cron, row.timezone, row.enabled)
        if body.storage is not None:
            require_storage(session, body.storage)
            row.storage = body.storage
        if body.method is not None:
            require_method_fits(db_row.engine, body.method)
            row.method = body.method
        if body.frequency is not None:
            row.frequency = body.frequency.model_dump()
            row.cron = to_cron(body.frequency)
        elif body.cron is not None:
            row.frequency = None
            row.cron = body.cron
        for field in ("timezone", "retention_copies", "enabled", "on_overlap"):
            value = getattr(body, field)
            if field in changes and value is not None:
                setattr(row, field, value)
        if (row.cron, row.timezone, row.enabled) != timing_before:
            # Slots from before the change (or from the pause) are neither run nor missed.
            row.slots_since = now
        row.updated_at = now
        _refuse_twin(session, row)
        out = _to_out(session, ctx, row, db_row, now)
        _refuse_warnings_if_strict(out, strict)
        if dry_run:
            raise _DryRunDone(out)
        return out


def list_for(ctx: Context, database: str) -> list[ScheduleOut]:
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        rows = session.scalars(
            select(Schedule).where(Schedule.database == database).order_by(Schedule.name)
        ).all()
        return [_to_out(session, ctx, r, db_row, now) for r in rows]


def page_for(ctx: Context, database: str, request: PageRequest) -> Page[ScheduleOut]:
    """The database's schedules, newest first, a page at a time."""
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        statement = select(Schedule).where(Schedule.database == database)
        rows, after = fetch(session, statement, Schedule.created_at, Schedule.id, request)
        items = [_to_out(session, ctx, r, db_row, now) for r in rows]
    return Page[ScheduleOut](items=items, next=after)


def counts(ctx: Context, database: str) -> tuple[int, int]:
    """How many of the database's schedules are enabled, and how many there are."""
    with ctx.catalog.session() as session:
        found = dict(
            session.execute(
                select(Schedule.enabled, func.count())
                .where(Schedule.database == database)
                .group_by(Schedule.enabled)
            ).all()
        )
    enabled = int(found.get(True, 0))
    return enabled, enabled + int(found.get(False, 0))


def runs_page(ctx: Context, database: str, name: str, request: PageRequest) -> Page[ScheduleRunOut]:
    """The schedule's slots, newest first, a page at a time."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = get_row(session, database, name)
        statement = select(ScheduleRun).where(ScheduleRun.schedule_id == row.id)
        found, after = fetch(session, statement, ScheduleRun.slot_at, ScheduleRun.id, request)
        items = [_run_out(session, database, run) for run in found]
    return Page[ScheduleRunOut](items=items, next=after)


def get(ctx: Context, database: str, name: str) -> ScheduleOut:
    with ctx.catalog.session() as session:
        db_row = databases.get_row(session, database)
        return _to_out(session, ctx, get_row(session, database, name), db_row, ctx.clock.now())


def delete(ctx: Context, database: str, name: str) -> None:
    """Remove the schedule and its run history; the backups it made are kept."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = get_row(session, database, name)
        for run in session.scalars(select(ScheduleRun).where(ScheduleRun.schedule_id == row.id)):
            session.delete(run)
        session.delete(row)
    ctx.wake_scheduler()


def runs(ctx: Context, database: str, name: str) -> list[ScheduleRunOut]:
    """The schedule's slots, newest first, with what became of each."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = get_row(session, database, name)
        found = session.scalars(
            select(ScheduleRun)
            .where(ScheduleRun.schedule_id == row.id)
            .order_by(ScheduleRun.slot_at.desc())
        ).all()
        return [_run_out(session, database, run) for run in found]


def get_row(session: Session, database: str, name: str) -> Schedule:
    row = _find(session, database, name)
    if row is None:
        raise not_found(
            f"database '{database}' has no schedule named '{name}': "
            f"{hints.list_schedules(database)}",
            "schedule-not-found",
        )
    return row


def estimate_for(session: Session, db_row: Database) -> DurationEstimate:
    durations = [
        (finished - started).total_seconds()
        for started, finished in session.execute(
            select(Backup.started_at, Backup.finished_at)
            .where(Backup.database == db_row.name, Backup.state == JobState.SUCCEEDED)
            .order_by(Backup.finished_at.desc())
            .limit(10)
        ).all()
        if started is not None and finished is not None
    ]
    rate = db_row.max_rate_mb_per_s
    return estimate_duration(
        durations,
        db_row.size_bytes,
        max_rate_bytes_per_second=rate * BYTES_PER_MB if rate is not None else None,
    )


def _to_out(
    session: Session, ctx: Context, row: Schedule, db_row: Database, now: datetime
) -> ScheduleOut:
    frequency = parse_frequency(row.frequency) if row.frequency else None
    estimate = estimate_for(session, db_row)
    others = [
        OtherSchedule(o.name, o.cron, o.timezone)
        for o in session.scalars(
            select(Schedule).where(
                Schedule.database == row.database,
                Schedule.enabled.is_(True),
                Schedule.name != row.name,
            )
        )
    ]
    hours = (
        ProductionHours.model_validate(db_row.production_hours) if db_row.production_hours else None
    )
    warnings = analyse(row.cron, row.timezone, others, estimate, hours, now) if row.enabled else []
    return ScheduleOut(
        name=row.name,
        database=row.database,
        storage=row.storage,
        frequency=row.frequency,
        cron=row.cron,
        timezone=row.timezone,
        description=describe(row.cron, row.timezone, frequency),
        next_runs=next_runs(row.cron, row.timezone, now, NEXT_RUNS) if row.enabled else [],
        last_run=_last_run(session, row),
        retention_copies=row.retention_copies,
        enabled=row.enabled,
        on_overlap=row.on_overlap,
        method=row.method,
        estimated_duration=EstimateOut(seconds=estimate.seconds, basis=estimate.basis),
        warnings=[
            ScheduleWarningOut(code=str(w.code), message=w.message, times=w.times) for w in warnings
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _last_run(session: Session, row: Schedule) -> LastRun | None:
    if row.id is None:
        return None
    run = session.scalars(
        select(ScheduleRun)
        .where(ScheduleRun.schedule_id == row.id)
        .order_by(ScheduleRun.slot_at.desc())
    ).first()
    if run is None:
        return None
    out = _run_out(session, row.database, run)
    return LastRun(name=out.backup, state=out.state, time=out.slot_at, reason=out.reason)


def _run_out(session: Session, database: str, run: ScheduleRun) -> ScheduleRunOut:
    state, reason = run.state, run.reason
    if run.backup is not None and state == "started":
        backup = session.scalars(
            select(Backup).where(Backup.database == database, Backup.name == run.backup)
        ).first()
        state = backup.state if backup is not None else "deleted"
        reason = backup.error if backup is not None else "the backup was deleted since"
    return ScheduleRunOut(slot_at=run.slot_at, state=state, reason=reason, backup=run.backup)


def _find(session: Session, database: str, name: str) -> Schedule | None:
    return session.scalars(
        select(Schedule).where(Schedule.database == database, Schedule.name == name)
    ).first()


def _refuse_twin(session: Session, row: Schedule) -> None:
    twin = session.scalars(
        select(Schedule).where(
            Schedule.database == row.database,
            Schedule.cron == row.cron,
            Schedule.storage == row.storage,
            Schedule.name != row.name,
        )
    ).first()
    if twin is not None:
        raise conflict(
            f"schedule '{twin.name}' of database '{row.database}' already backs up with cron "
            f"'{row.cron}' into '{row.storage}': edit it instead of adding a twin",
            "schedule-duplicate",
        )


def _refuse_warnings_if_strict(out: ScheduleOut, strict: bool) -> None:
    if strict and out.warnings:
        raise conflict(
            "the schedule has warnings and strict=true: "
            + " ".join(f"[{w.code}] {w.message}" for w in out.warnings),
            "schedule-warnings",
        )
