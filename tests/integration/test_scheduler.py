"""The scheduler against real PostgreSQL and SeaweedFS, with a clock the test moves: slots become
real backups exactly once, overlaps are skipped or queued, downtime is caught up once, and
retention keeps the configured number of copies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import s3_storage
from integration.tool_wrappers import PAUSES, counting, pg_bin_with
from strongbox.config import Settings
from strongbox.server import build_context
from strongbox.services import audit, backups, databases, schedule_runs, schedules, storages
from strongbox.services.context import Context
from strongbox.services.schemas import (
    BackupCreate,
    DatabaseCreate,
    ScheduleCreate,
)
from strongbox.storage.s3.kind import S3StorageCreate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


def make_context(
    data_dir: Path, clock: ManualClock, catalog_url: str | None = None, **settings: Any
) -> Context:
    ctx = build_context(
        Settings(
            data_dir=data_dir,
            catalog_url=catalog_url,
            secret_key="scheduler-test",
            check_timeout_seconds=5,
            **settings,
        )
    )
    ctx.clock = clock
    return ctx


@pytest.fixture(scope="module")
def small_db(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("sched")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 2000) AS id", "sched")
    yield "sched"
    pg_server.execute("DROP DATABASE sched WITH (FORCE)")


def register(ctx: Context, pg: PostgresServer, seaweed: SeaweedServer, bucket: str) -> None:
    storages.create(
        ctx,
        S3StorageCreate(**s3_storage(seaweed, bucket)),
    )
    databases.create(
        ctx,
        DatabaseCreate(
            name="prod",
            engine="postgresql",
            host=pg.host,
            port=pg.port,
            username=pg.superuser,
            password=pg.password,
            databases=["sched"],
        ),
    )


def wait_idle(ctx: Context, database: str = "prod", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    # The worker is done only when its job (and the retention after it) has returned.
    while not ctx.executor.idle() or any(  # type: ignore[attr-defined]
        b.state in ("queued", "running") for b in backups.list_for(ctx, database)
    ):
        assert time.monotonic() < deadline, "backups did not finish"
        time.sleep(0.1)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = make_context(tmp_path / "data", ManualClock(T0))
    yield context
    context.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    context.catalog.close()


@pytest.fixture
def ctx_on_each_catalog(tmp_path: Path, catalog_url: str) -> Iterator[Context]:
    """The context of `ctx`, once on an SQLite catalog and once on a PostgreSQL one."""
    context = make_context(tmp_path / "data", ManualClock(T0), catalog_url)
    yield context
    context.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    context.catalog.close()


def test_a_due_slot_becomes_a_real_backup_named_after_the_schedule(
    ctx_on_each_catalog: Context,
    pg_server: PostgresServer,
    small_db: str,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    ctx = ctx_on_each_catalog
    register(ctx, pg_server, seaweed, s3_bucket)
    schedules.create(
        ctx, "prod", ScheduleCreate(name="minutely", storage="bucket", cron="* * * * *")
    )
    assert schedule_runs.next_due(ctx, T0) == datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
    schedule_runs.run_due(ctx, T0)  # nothing due yet
    assert backups.list_for(ctx, "prod") == []

    ctx.clock.set(T0 + timedelta(seconds=40))  # type: ignore[attr-defined]
    schedule_runs.run_due(ctx, ctx.clock.now())
    wait_idle(ctx)
    made = backups.list_for(ctx, "prod")
    assert [(b.name, b.trigger, b.state) for b in made] == [
        ("minutely-20261124-1001", "schedule:minutely", "succeeded")
    ]
    keys = [o["Key"] for o in seaweed.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert "prod/minutely-20261124-1001/sched.pgdump.zst" in keys
    runs = schedules.runs(ctx, "prod", "minutely")
    assert [(r.state, r.backup) for r in runs] == [("succeeded", "minutely-20261124-1001")]
    assert schedules.get(ctx, "prod", "minutely").last_run.name == "minutely-20261124-1001"  # type: ignore[union-attr]
    # Running the step again at the same time creates nothing more.
    schedule_runs.run_due(ctx, ctx.clock.now())
    assert len(backups.list_for(ctx, "prod")) == 1
    # The audit log names the scheduler as who started it.
    started = audit.query(ctx, audit.Filters(actor="scheduler")).entries
    assert [(e.action, e.resource, e.outcome) for e in started] == [
        ("POST /api/v1/databases/{database}/backups", "/api/v1/databases/prod/backups", "succeeded")
    ]


def step_together(ctx: Context, barrier: threading.Barrier, now: datetime) -> None:
    barrier.wait()  # both schedulers look at the same moment
    schedule_runs.run_due(ctx, now)


def test_two_schedulers_on_one_catalog_create_each_slot_once(
    tmp_path: Path,
    catalog_url: str,
    pg_server: PostgresServer,
    small_db: str,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    clock = ManualClock(T0)
    first = make_context(tmp_path / "data", clock, catalog_url)
    # A second server on the same catalog, with a data folder of its own.
    second = make_context(tmp_path / "data2", clock, catalog_url)
    try:
        register(first, pg_server, seaweed, s3_bucket)
        schedules.create(
            first, "prod", ScheduleCreate(name="minutely", storage="bucket", cron="* * * * *")
        )
        for minute in range(1, 4):
            clock.set(T0 + timedelta(minutes=minute))
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=step_together, args=(c, barrier, clock.now()))
                for c in (first, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wait_idle(first)
        names = sorted(b.name for b in backups.list_for(first, "prod"))
        assert names == [
            "minutely-20261124-1001",
            "minutely-20261124-1002",
            "minutely-20261124-1003",
        ]
        assert len(schedules.runs(first, "prod", "minutely")) == 3
    finally:
        for context in (first, second):
            context.executor.shutdown(wait=True)  # type: ignore[attr-defined]
            context.catalog.close()


def test_a_slot_during_a_running_backup_is_skipped_and_no_second_dump_starts(
    tmp_path: Path, pg_server: PostgresServer, small_db: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    starts = tmp_path / "dump-starts.log"
    bin_dir = pg_bin_with(
        tmp_path / "bin", counting(PAUSES.format(first_bytes=1000, seconds=4), starts)
    )
    clock = ManualClock(T0)
    ctx = make_context(tmp_path / "data", clock, pg_bin_dir=bin_dir)
    try:
        register(ctx, pg_server, seaweed, s3_bucket)
        schedules.create(
            ctx, "prod", ScheduleCreate(name="minutely", storage="bucket", cron="* * * * *")
        )
        backups.create(ctx, "prod", BackupCreate(storage="bucket", name="long-manual"))
        clock.set(T0 + timedelta(seconds=40))
        schedule_runs.run_due(ctx, clock.now())
        runs = schedules.runs(ctx, "prod", "minutely")
        assert [r.state for r in runs] == ["skipped"]
        assert "long-manual" in (runs[0].reason or "")
        wait_idle(ctx)
        assert [b.name for b in backups.list_for(ctx, "prod")] == ["long-manual"]
        assert starts.read_text().count("started") == 1
    finally:
        ctx.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        ctx.catalog.close()


def test_on_overlap_queue_starts_the_run_right_after_the_blocking_backup(
    tmp_path: Path, pg_server: PostgresServer, small_db: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    bin_dir = pg_bin_with(tmp_path / "bin", PAUSES.format(first_bytes=1000, seconds=3))
    clock = ManualClock(T0)
    ctx = make_context(tmp_path / "data", clock, pg_bin_dir=bin_dir)
    try:
        register(ctx, pg_server, seaweed, s3_bucket)
        schedules.create(
            ctx,
            "prod",
            ScheduleCreate(name="queued", storage="bucket", cron="* * * * *", on_overlap="queue"),
        )
        backups.create(ctx, "prod", BackupCreate(storage="bucket", name="long-manual"))
        clock.set(T0 + timedelta(seconds=40))
        schedule_runs.run_due(ctx, clock.now())
        assert [r.state for r in schedules.runs(ctx, "prod", "queued")] == ["waiting"]
        assert schedule_runs.next_due(ctx, clock.now()) == clock.now() + timedelta(seconds=2)
        # The next slot comes while one run already waits: at most one waits, so it is skipped.
        clock.set(T0 + timedelta(seconds=100))
        schedule_runs.run_due(ctx, clock.now())
        assert [r.state for r in schedules.runs(ctx, "prod", "queued")] == ["skipped", "waiting"]
        deadline = time.monotonic() + 30
        while backups.get(ctx, "prod", "long-manual").state != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        schedule_runs.run_due(ctx, clock.now())
        wait_idle(ctx)
        assert backups.get(ctx, "prod", "queued-20261124-1001").state == "succeeded"
    finally:
        ctx.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        ctx.catalog.close()


def test_after_a_downtime_one_catch_up_runs_and_older_slots_are_missed(
    ctx: Context, pg_server: PostgresServer, small_db: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    register(ctx, pg_server, seaweed, s3_bucket)
    schedules.create(
        ctx, "prod", ScheduleCreate(name="minutely", storage="bucket", cron="* * * * *")
    )
    schedules.create(
        ctx,
        "prod",
        ScheduleCreate(name="daily", storage="bucket", frequency={"every": "day", "time": "02:00"}),  # type: ignore[arg-type]
    )
    # The server was down from T0 to 10:10:05 on the next day.
    ctx.clock.set(T0 + timedelta(days=1, minutes=9, seconds=35))  # type: ignore[attr-defined]
    schedule_runs.run_due(ctx, ctx.clock.now())
    wait_idle(ctx)
    minutely = schedules.runs(ctx, "prod", "minutely")
    assert minutely[0].state == "succeeded"
    assert minutely[0].backup == "minutely-20261125-1010"
    assert {r.state for r in minutely[1:]} == {"missed"}
    assert len(minutely) == schedule_runs.MAX_MISSED_RECORDED + 1  # a long downtime is capped
    assert "not running" in (minutely[1].reason or "")
    daily = schedules.runs(ctx, "prod", "daily")
    # 02:00 was eight hours ago: beyond the one-hour catch-up window, so only recorded.
    assert [(r.state, r.slot_at.hour) for r in daily] == [("missed", 2)]
    assert "STRONGBOX_CATCH_UP_WINDOW" in (daily[0].reason or "")
    assert [b.name for b in backups.list_for(ctx, "prod")] == ["minutely-20261125-1010"]


def test_retention_keeps_exactly_the_two_newest_in_the_catalog_and_the_bucket(
    ctx: Context, pg_server: PostgresServer, small_db: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    register(ctx, pg_server, seaweed, s3_bucket)
    schedules.create(
        ctx,
        "prod",
        ScheduleCreate(name="keep2", storage="bucket", cron="* * * * *", retention_copies=2),
    )
    backups.create(ctx, "prod", BackupCreate(storage="bucket", name="manual-one"))
    wait_idle(ctx)
    for minute in range(1, 5):
        ctx.clock.set(T0 + timedelta(minutes=minute))  # type: ignore[attr-defined]
        schedule_runs.run_due(ctx, ctx.clock.now())
        wait_idle(ctx)
    names = sorted(b.name for b in backups.list_for(ctx, "prod"))
    assert names == ["keep2-20261124-1003", "keep2-20261124-1004", "manual-one"]
    listed = seaweed.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    folders = sorted({o["Key"].split("/")[1] for o in listed})
    assert folders == ["keep2-20261124-1003", "keep2-20261124-1004", "manual-one"]
    states = [r.state for r in schedules.runs(ctx, "prod", "keep2")]
    assert states == ["succeeded", "succeeded", "deleted", "deleted"]


def test_a_physical_schedule_takes_physical_backups(
    ctx: Context, pg_server: PostgresServer, small_db: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    register(ctx, pg_server, seaweed, s3_bucket)
    made = schedules.create(
        ctx,
        "prod",
        ScheduleCreate(name="base", storage="bucket", cron="* * * * *", method="physical"),
    )
    assert made.method == "physical"
    ctx.clock.set(T0 + timedelta(seconds=40))  # type: ignore[attr-defined]
    schedule_runs.run_due(ctx, ctx.clock.now())
    wait_idle(ctx)
    [backup] = backups.list_for(ctx, "prod")
    assert (backup.method, backup.state, backup.pitr_base) == ("physical", "succeeded", True)
    keys = [o["Key"] for o in seaweed.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert "prod/base-20261124-1001/base.tar.zst" in keys
