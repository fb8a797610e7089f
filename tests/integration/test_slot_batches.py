"""Many slots due in one look, on both catalogs: the common case goes over in bulk (a few
statements for hundreds of slots), each slot still becomes exactly one backup handed over once,
and the cases the bulk way leaves alone (a busy database, two schedules of one database, missed
slots before the newest) are recorded as the one-by-one way records them.

The databases are catalog rows only (nothing is dumped): what is measured here is the scheduler's
hand-over, with an executor that records what it was handed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, insert, select

from strongbox.catalog.models import AuditEntry, Backup, Database, Schedule, ScheduleRun, Storage
from strongbox.config import Settings
from strongbox.domain.jobs import JobRef
from strongbox.server import build_context
from strongbox.services import schedule_runs
from strongbox.services.context import Context

SINCE = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)
LOOK = datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)  # the 10:00 slot of every schedule is due
SLOT = "20261124-1000"


class RecordingExecutor:
    """Records the jobs handed over; runs nothing."""

    def __init__(self) -> None:
        self.jobs: list[JobRef] = []
        self._lock = threading.Lock()

    def submit(self, job: JobRef) -> None:
        with self._lock:
            self.jobs.append(job)

    submit_here = submit


class FixedClock:
    def now(self) -> datetime:
        return LOOK


def make_context(data_dir: Path, catalog_url: str) -> tuple[Context, RecordingExecutor]:
    ctx = build_context(
        Settings(data_dir=data_dir, catalog_url=catalog_url, secret_key="slot-batches-test")
    )
    ctx.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    recorder = RecordingExecutor()
    ctx.executor = recorder  # type: ignore[assignment]
    ctx.clock = FixedClock()
    return ctx, recorder


@pytest.fixture
def contexts(tmp_path: Path, catalog_url: str) -> Iterator[list[tuple[Context, RecordingExecutor]]]:
    """Two schedulers on one catalog, each with a data folder of its own."""
    made = [make_context(tmp_path / f"data{i}", catalog_url) for i in (1, 2)]
    yield made
    for ctx, _recorder in made:
        ctx.catalog.close()


def seed(ctx: Context, databases: int, *, hourly_since: datetime = SINCE) -> None:
    """`databases` databases with an hourly schedule at :00 each (queue `q-N` for every fifth);
    the schedules' slots start at `hourly_since`."""
    now = LOOK
    with ctx.catalog.session() as session:
        session.add(
            Storage(
                name="disk",
                type="filesystem",
                description="",
                settings={"path": str(ctx.settings.data_dir / "store")},
                created_at=now,
                updated_at=now,
            )
        )
    database_rows = [
        {
            "name": f"db{i:04d}",
            "engine": "postgresql",
            "host": "db.example",
            "port": 5432,
            "username": "u",
            "password_encrypted": "x",
            "databases": [],
            "description": "",
            "server_version": "15",
            "worker_queue": f"q-{i}" if i % 5 == 0 else None,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(databases)
    ]
    schedule_rows = [
        schedule_row(f"db{i:04d}", "hourly", "0 * * * *", hourly_since) for i in range(databases)
    ]
    with ctx.catalog.session() as session:
        session.execute(insert(Database), database_rows)
        session.execute(insert(Schedule), schedule_rows)


def schedule_row(database: str, name: str, cron: str, since: datetime) -> dict[str, object]:
    return {
        "database": database,
        "name": name,
        "storage": "disk",
        "cron": cron,
        "frequency": None,
        "timezone": "UTC",
        "retention_copies": 0,
        "enabled": True,
        "on_overlap": "skip",
        "method": "logical",
        "slots_since": since,
        "created_at": LOOK,
        "updated_at": LOOK,
    }


def statements_during(ctx: Context) -> list[str]:
    """A list that fills with every statement the catalog runs from now on."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(ctx.catalog.engine, "before_cursor_execute", count)
    return seen


def test_hundreds_of_due_slots_go_over_in_a_few_statements_each_exactly_once(
    contexts: list[tuple[Context, RecordingExecutor]],
) -> None:
    (ctx, recorder), _ = contexts
    seed(ctx, 300)
    seen = statements_during(ctx)

    schedule_runs.run_due(ctx, LOOK)

    # One by one it took seven transactions and a dozen statements a slot.
    assert len(seen) < 40, f"{len(seen)} statements for 300 slots"
    with ctx.catalog.session() as session:
        made = session.execute(
            select(Backup.id, Backup.database, Backup.name, Backup.state, Backup.trigger)
        ).all()
        runs = session.execute(select(ScheduleRun.state, ScheduleRun.backup)).all()
        audits = session.execute(select(AuditEntry.actor, AuditEntry.status)).all()
    assert sorted((d, n, s, t) for _i, d, n, s, t in made) == [
        (f"db{i:04d}", f"hourly-{SLOT}", "queued", "schedule:hourly") for i in range(300)
    ]
    assert sorted(runs) == sorted(("started", f"hourly-{SLOT}") for _ in range(300))
    assert audits == [("scheduler", 202)] * 300
    # Each backup handed over once, to its database's queue.
    queue_of = {d: (f"q-{int(d[2:])}" if int(d[2:]) % 5 == 0 else None) for _i, d, *_ in made}
    assert sorted((j.kind, j.id, j.queue) for j in recorder.jobs) == sorted(
        ("backup", i, queue_of[d]) for i, d, *_ in made
    )

    schedule_runs.run_due(ctx, LOOK + timedelta(seconds=30))  # the same slots: nothing new
    assert len(recorder.jobs) == 300


def test_two_schedulers_looking_at_once_hand_each_slot_over_once(
    contexts: list[tuple[Context, RecordingExecutor]],
) -> None:
    (first, one), (second, two) = contexts
    seed(first, 400)
    barrier = threading.Barrier(2)

    def look(ctx: Context) -> None:
        barrier.wait()
        schedule_runs.run_due(ctx, LOOK)

    threads = [threading.Thread(target=look, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with first.catalog.session() as session:
        made = session.scalars(select(Backup.id)).all()
        runs = session.scalars(select(ScheduleRun.state)).all()
    assert len(made) == 400
    assert runs == ["started"] * 400
    handed = [job.id for job in one.jobs + two.jobs]
    assert sorted(handed) == sorted(made)


def test_what_the_bulk_way_leaves_alone_is_recorded_one_by_one(
    contexts: list[tuple[Context, RecordingExecutor]],
) -> None:
    (ctx, recorder), _ = contexts
    seed(ctx, 20)
    with ctx.catalog.session() as session:
        # db0001: a second schedule due at the same slot; db0002: a backup already queued;
        # db0003: a schedule whose slots started three hours ago (two missed before 10:00).
        session.execute(
            insert(Schedule),
            [
                schedule_row("db0001", "also", "0 * * * *", SINCE),
                schedule_row("db0003", "behind", "0 * * * *", SINCE - timedelta(hours=2)),
            ],
        )
        session.add(
            Backup(
                name="manual",
                database="db0002",
                storage="disk",
                method="logical",
                trigger="manual",
                state="queued",
                created_at=LOOK,
                progress_bytes=0,
                artifacts=[],
            )
        )

    schedule_runs.run_due(ctx, LOOK)

    with ctx.catalog.session() as session:
        rows = session.execute(
            select(Schedule.database, Schedule.name, ScheduleRun.state, ScheduleRun.reason)
            .join(Schedule, Schedule.id == ScheduleRun.schedule_id)
            .order_by(Schedule.database, Schedule.name, ScheduleRun.slot_at)
        ).all()
        queued = session.scalars(select(Backup.database).where(Backup.trigger != "manual")).all()
    by_schedule: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for database, name, state, reason in rows:
        by_schedule.setdefault((database, name), []).append((state, reason))
    # Of db0001's two schedules one started and the other was skipped, naming the first's backup.
    first, second = by_schedule[("db0001", "also")], by_schedule[("db0001", "hourly")]
    assert sorted([first[0][0], second[0][0]]) == ["skipped", "started"]
    skipped = first if first[0][0] == "skipped" else second
    assert f"-{SLOT}' of database 'db0001' is queued" in (skipped[0][1] or "")
    # db0002 was busy with its manual backup.
    assert by_schedule[("db0002", "hourly")] == [
        ("skipped", "backup 'manual' of database 'db0002' is queued (on_overlap: skip)")
    ]
    # db0003's schedule that is behind recorded its two missed slots, one by one, after the
    # bulk way had started db0003's other schedule: so its newest slot found the database busy.
    assert [state for state, _ in by_schedule[("db0003", "behind")]] == [
        "missed",
        "missed",
        "skipped",
    ]
    assert [state for state, _ in by_schedule[("db0003", "hourly")]] == ["started"]
    assert sorted(queued) == [f"db{i:04d}" for i in range(20) if i != 2]
    assert len(recorder.jobs) == 19


def test_the_slots_a_look_expects_are_handed_over_before_every_schedule_is_scanned(
    contexts: list[tuple[Context, RecordingExecutor]],
) -> None:
    (ctx, recorder), _ = contexts
    seed(ctx, 50)
    looks = schedule_runs.Looks(ctx)
    before = LOOK - timedelta(minutes=10)
    assert looks.next_due(before) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    seen = statements_during(ctx)
    scans_at_first_hand_over: list[int] = []
    submit = recorder.submit

    def noting(job: JobRef) -> None:
        if not scans_at_first_hand_over:
            scans_at_first_hand_over.append(sum(1 for s in seen if _scans_every_schedule(s)))
        submit(job)

    recorder.submit = noting  # type: ignore[method-assign]

    looks.run_due(LOOK)

    assert scans_at_first_hand_over == [0]
    assert sum(1 for s in seen if _scans_every_schedule(s)) == 1  # the scan still follows
    assert len(recorder.jobs) == 50


def _scans_every_schedule(statement: str) -> bool:
    """The scheduler's scan: every enabled schedule with its newest slot, not a chosen few."""
    flat = " ".join(statement.lower().split())
    return "max(schedule_runs.slot_at)" in flat and "schedules.id in" not in flat


def test_a_schedule_whose_database_is_gone_is_left_to_the_one_by_one_way(
    contexts: list[tuple[Context, RecordingExecutor]],
) -> None:
    (ctx, recorder), _ = contexts
    seed(ctx, 3)
    with ctx.catalog.session() as session:
        session.execute(delete(Database).where(Database.name == "db0001"))

    schedule_runs.run_due(ctx, LOOK)

    with ctx.catalog.session() as session:
        runs = dict(
            session.execute(
                select(Schedule.database, ScheduleRun.state).join(
                    Schedule, Schedule.id == ScheduleRun.schedule_id
                )
            ).all()
        )
        failed = session.scalar(select(ScheduleRun.reason).where(ScheduleRun.state == "failed"))
        made = sorted(session.scalars(select(Backup.database)))
    assert runs == {"db0000": "started", "db0001": "failed", "db0002": "started"}
    assert "db0001" in (failed or "")
    assert made == ["db0000", "db0002"]
    assert len(recorder.jobs) == 2
