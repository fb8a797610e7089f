"""The scheduler at scale on a PostgreSQL catalog, and a backups list in a large catalog.

    python benchmarks/scheduler_scale.py [--schedules 10000] [--sim-hours 24]
        [--real-minutes 3] [--backups 100000] [--requests 1000]

Starts its own throwaway PostgreSQL (the test fixtures' class), makes a catalog on it and fills
it with `--schedules` schedules (one per registered database; mixed frequencies: every 15
minutes, hourly, daily, weekly, monthly; at round and odd minutes; in six time zones). The
executor only records each hand-over and the finished backups are marked succeeded once a
second, so that no slot is skipped for a backup still "running".

1. A simulated day: the scheduler loop's own steps (`SchedulerLoop.step`), with a clock that runs
   at the wall clock's pace while the scheduler works and jumps over each nap instead of
   sleeping. Slot lateness is the backup's `created_at` (the moment it was handed over) minus
   its slot; the CPU seconds of this process per simulated hour are the leader's cost.
2. Real minutes: the same loop in its thread on the system clock.
3. The list: `--backups` backups in the catalog, then `GET /api/v1/databases/{db}/backups`
   `--requests` times through a real HTTP server (uvicorn in this process), for a database
   holding 100 of them (a page's worth) and, a few times, for one holding a large share of them.

Duplicates are hand-overs beyond one per (schedule, slot); the catalog's unique slot rows make
them impossible, and the count proves it. Figures and their reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import lib  # noqa: F401  (puts the test fixtures on the path)
import uvicorn
from sqlalchemy import insert, text

from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from strongbox.api.app import create_app
from strongbox.catalog.models import Backup, Database, Schedule, Storage
from strongbox.config import Settings
from strongbox.domain.jobs import JobRef
from strongbox.scheduler.loop import SchedulerLoop
from strongbox.server import build_context
from strongbox.services import auth, schedule_runs
from strongbox.services.context import Context

TOKEN = "scheduler-scale-admin-token-0123456789"
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Asia/Tokyo",
]


class SimulatedClock:
    """Wall-clock pace while the scheduler works; `skip(seconds)` jumps instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._real = time.monotonic()
        self._skipped = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._real + self._skipped)

    def skip(self, seconds: float) -> None:
        self._skipped += seconds


class RecordingExecutor:
    """Records when each job was handed over (on the scheduler's clock) and runs nothing."""

    def __init__(self, clock: Any) -> None:
        self.handed = 0
        self.handed_at: dict[int, datetime] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def submit(self, job: JobRef) -> None:
        at = self._clock.now()
        with self._lock:
            self.handed += 1
            self.handed_at.setdefault(job.id, at)

    submit_here = submit


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cron_lines(count: int, rng: random.Random) -> list[str]:
    """Mixed frequencies; people pick round minutes more often than odd ones."""
    lines = []
    for _ in range(count):
        minute = rng.choice([0, 0, 0, 15, 30, 45, rng.randrange(60)])
        hour = rng.choice([0, 1, 2, 3, 4, rng.randrange(24)])
        kind = rng.random()
        if kind < 0.02:
            lines.append("*/15 * * * *")
        elif kind < 0.22:
            lines.append(f"{minute} * * * *")
        elif kind < 0.82:
            lines.append(f"{minute} {hour} * * *")
        elif kind < 0.94:
            lines.append(f"{minute} {hour} * * {rng.randrange(7)}")
        else:
            lines.append(f"{minute} {hour} {rng.randrange(1, 29)} * *")
    return lines


def seed_schedules(ctx: Context, count: int, since: datetime, folder: Path) -> None:
    rng = random.Random(12)
    now = datetime.now(UTC)
    with ctx.catalog.session() as session:
        session.add(
            Storage(
                name="disk",
                type="filesystem",
                description="",
                settings={"path": str(folder)},
                created_at=now,
                updated_at=now,
            )
        )
    databases = [
        {
            "name": f"db{i:05d}",
            "engine": "postgresql",
            "host": "db.example",
            "port": 5432,
            "username": "u",
            "password_encrypted": "x",
            "databases": [],
            "description": "",
            "server_version": "15",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    schedules = [
        {
            "database": f"db{i:05d}",
            "name": "s",
            "storage": "disk",
            "cron": cron,
            "frequency": None,
            "timezone": ZONES[i % len(ZONES)],
            "retention_copies": 0,
            "enabled": True,
            "on_overlap": "skip",
            "method": "logical",
            "slots_since": since,
            "created_at": now,
            "updated_at": now,
        }
        for i, cron in enumerate(cron_lines(count, rng))
    ]
    with ctx.catalog.session() as session:
        session.execute(insert(Database), databases)
        session.execute(insert(Schedule), schedules)


def finish_queued(ctx: Context) -> None:
    with ctx.catalog.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE backups SET state = 'succeeded', started_at = created_at,"
                " finished_at = created_at WHERE state = 'queued'"
            )
        )


def lateness_since(
    ctx: Context, start: datetime, recorder: RecordingExecutor
) -> tuple[list[float], int]:
    """Seconds from each slot (at or after `start`) to the hand-over of its backup to the
    executor, and the number of (schedule, slot) pairs that got a backup."""
    with ctx.catalog.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT b.id, r.slot_at FROM schedule_runs r"
                " JOIN schedules s ON s.id = r.schedule_id"
                " JOIN backups b ON b.database = s.database AND b.name = r.backup"
                " WHERE r.slot_at >= :start"
            ),
            {"start": start},
        ).all()
    lateness = [
        (recorder.handed_at[backup_id] - slot).total_seconds()
        for backup_id, slot in rows
        if backup_id in recorder.handed_at
    ]
    return lateness, len(rows)


def run_counts(ctx: Context) -> dict[str, int]:
    with ctx.catalog.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT state, count(*) FROM schedule_runs GROUP BY state")
        ).all()
    return dict(rows)


def report_slots(label: str, lateness: list[float], slots: int, handed: int, hours: float) -> None:
    print(
        f"{label}: {slots} slots handed over, {handed} hand-overs, duplicates {handed - slots}; "
        f"lateness p50 {percentile(lateness, 0.5):.3f} s, p99 {percentile(lateness, 0.99):.3f} s,"
        f" max {max(lateness, default=float('nan')):.3f} s over {hours:.2f} h"
    )


def simulated_day(ctx: Context, hours: float) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(seconds=1)
    clock = SimulatedClock(start)
    ctx.clock = clock
    recorder = RecordingExecutor(clock)
    ctx.executor = recorder  # type: ignore[assignment]
    looks = schedule_runs.Looks(ctx)  # as `strongbox serve` wires them
    loop = SchedulerLoop(clock, next_due=looks.next_due, run_due=looks.run_due)
    end = start + timedelta(hours=hours)
    cpu0, wall0, steps = cpu_seconds(), time.monotonic(), 0
    while clock.now() < end:
        nap = loop.step()
        steps += 1
        # The finisher stands for the workers, which run elsewhere: its time is not the
        # scheduler's, so the simulated clock wakes the loop exactly when its nap ends.
        finishing = time.monotonic()
        finish_queued(ctx)
        clock.skip(nap - (time.monotonic() - finishing))
    cpu = cpu_seconds() - cpu0
    wall = time.monotonic() - wall0
    lateness, slots = lateness_since(ctx, start, recorder)
    report_slots("simulated", lateness, slots, recorder.handed, hours)
    print(
        f"simulated: {steps} steps in {wall:.1f} s of wall time; this process's CPU "
        f"{cpu:.1f} s = {cpu / hours:.1f} CPU-s per simulated hour "
        f"({cpu / hours / 36:.2f} % of a core); runs by state {run_counts(ctx)}"
    )


def real_minutes(ctx: Context, minutes: float) -> None:
    from strongbox.clock import SystemClock

    ctx.clock = SystemClock()
    recorder = RecordingExecutor(ctx.clock)
    ctx.executor = recorder  # type: ignore[assignment]
    start = datetime.now(UTC)
    with ctx.catalog.engine.begin() as connection:  # only slots from now on
        # The simulated day ran ahead of the wall clock: its runs would hide today's slots.
        connection.execute(text("DELETE FROM schedule_runs"))
        connection.execute(text("DELETE FROM backups"))
        connection.execute(text("UPDATE schedules SET slots_since = :now"), {"now": start})
    stop = threading.Event()

    def finisher() -> None:
        while not stop.wait(1.0):
            finish_queued(ctx)

    looks = schedule_runs.Looks(ctx)
    loop = SchedulerLoop(ctx.clock, next_due=looks.next_due, run_due=looks.run_due)
    finishing = threading.Thread(target=finisher, daemon=True)
    cpu0 = cpu_seconds()
    finishing.start()
    loop.start()
    time.sleep(minutes * 60)
    loop.stop()
    stop.set()
    finishing.join()
    cpu = cpu_seconds() - cpu0
    hours = minutes / 60
    lateness, slots = lateness_since(ctx, start, recorder)
    report_slots("real", lateness, slots, recorder.handed, hours)
    print(
        f"real: this process's CPU {cpu:.1f} s = {cpu / hours:.1f} CPU-s per hour "
        f"({cpu / hours / 36:.2f} % of a core), the once-a-second finisher included"
    )


def seed_backups(ctx: Context, total: int, big_share: float) -> tuple[str, str, int]:
    """`total` succeeded backups: a share of them in one database, the rest 100 a database.
    Returns (a database with 100, the big one, its count)."""
    now = datetime.now(UTC)
    big = int(total * big_share)
    rows: list[dict[str, Any]] = []

    def row(database: str, index: int) -> dict[str, Any]:
        at = now - timedelta(minutes=index)
        return {
            "name": f"b-{index:07d}",
            "database": database,
            "storage": "disk",
            "method": "logical",
            "trigger": "manual",
            "state": "succeeded",
            "created_at": at,
            "started_at": at,
            "finished_at": at,
            "size_bytes": 1000,
            "stored_bytes": 300,
            "progress_bytes": 1000,
            "artifacts": [],
        }

    rows = [row("db00000", i) for i in range(big)]
    rest = total - big
    for i in range(rest):
        rows.append(row(f"db{1 + i // 100:05d}", i))
    with ctx.catalog.engine.begin() as connection:
        for first in range(0, len(rows), 5000):
            connection.execute(insert(Backup), rows[first : first + 5000])
        connection.execute(text("ANALYZE backups"))
    return "db00001", "db00000", big


def list_latency(ctx: Context, total: int, requests: int, big_requests: int) -> None:
    small, big, big_count = seed_backups(ctx, total, big_share=0.5)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:
        for database, count, label in (
            (small, requests, "a database with 100 backups"),
            (big, big_requests, f"the database with {big_count} backups"),
        ):
            seconds = []
            for _ in range(count):
                began = time.perf_counter()
                answer = client.get(f"/api/v1/databases/{database}/backups")
                seconds.append(time.perf_counter() - began)
                answer.raise_for_status()
            print(
                f"list ({total} backups in the catalog), {label}: {len(answer.json()['items'])} "
                f"items a page, "
                f"{count} requests, p50 {percentile(seconds, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(seconds, 0.99) * 1000:.1f} ms, "
                f"mean {statistics.mean(seconds) * 1000:.1f} ms"
            )
    server.should_exit = True
    thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--sim-hours", type=float, default=24.0)
    parser.add_argument("--real-minutes", type=float, default=3.0)
    parser.add_argument("--backups", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--big-requests", type=int, default=5)
    args = parser.parse_args()

    pg = PostgresServer.start()
    folder = Path(tempfile.mkdtemp(prefix="strongbox-bench-"))
    try:
        pg.create_database("catalog")
        url = f"postgresql+psycopg://postgres:{pg.password}@127.0.0.1:{pg.port}/catalog"
        print(f"PostgreSQL {pg.query('SHOW server_version')[0][0]}; {args.schedules} schedules")
        ctx = build_context(
            Settings(
                data_dir=folder / "data",
                catalog_url=url,
                secret_key="scheduler-scale",
                admin_token=TOKEN,
            )
        )
        auth.ensure_admin_token(ctx)
        seed_schedules(ctx, args.schedules, datetime.now(UTC) - timedelta(minutes=1), folder)
        if args.sim_hours > 0:
            simulated_day(ctx, args.sim_hours)
        if args.real_minutes > 0:
            real_minutes(ctx, args.real_minutes)
        if args.backups > 0:
            with ctx.catalog.engine.begin() as connection:
                connection.execute(text("DELETE FROM backups"))
            list_latency(ctx, args.backups, args.requests, args.big_requests)
        ctx.catalog.close()
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
