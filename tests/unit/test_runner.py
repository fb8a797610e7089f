"""The runner's steps with a fake clock and an in-memory job store: claiming, the heartbeat, a
cancel read with the heartbeat, and when a job counts as lost."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

import pytest

from strongbox.config import Settings
from strongbox.domain.jobs import (
    JobKind,
    JobRef,
    beat_interval,
    is_lost,
    lost_before,
    lost_reason,
)
from strongbox.jobs.runner import CANCELED_REASON, Heartbeat, Runner
from strongbox.process import ToolScope
from strongbox.services.context import Context

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
JOB = JobRef(JobKind.BACKUP, 7)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@dataclass
class Row:
    state: str = "queued"
    owner: str | None = None
    heartbeat_at: datetime | None = None
    cancel_asked: bool = False


@dataclass
class FakeStore:
    """The catalog's conditional updates, in memory: a claim moves queued to running once."""

    rows: dict[JobRef, Row] = field(default_factory=dict)

    def claim(self, job: JobRef, owner: str, now: datetime) -> bool:
        row = self.rows[job]
        if row.state != "queued":
            return False
        row.state, row.owner, row.heartbeat_at = "running", owner, now
        return True

    def beat(self, job: JobRef, now: datetime) -> bool:
        row = self.rows[job]
        if row.state == "running":
            row.heartbeat_at = now
        return row.cancel_asked


def fake_context(clock: FakeClock) -> Context:
    settings = Settings(secret_key="runner-unit-test", job_lost_after=60)
    return cast(Context, SimpleNamespace(clock=clock, settings=settings))


def test_of_two_runners_handed_the_same_job_only_one_claims_and_runs_it() -> None:
    store, clock = FakeStore({JOB: Row()}), FakeClock(T0)
    ran: list[str] = []
    first = Runner(fake_context(clock), "host-a:1", store, lambda job, cancel: ran.append("a"))
    second = Runner(fake_context(clock), "host-b:2", store, lambda job, cancel: ran.append("b"))
    assert first.run(JOB) is True
    assert second.run(JOB) is False
    assert ran == ["a"]
    assert (store.rows[JOB].state, store.rows[JOB].owner) == ("running", "host-a:1")
    assert store.rows[JOB].heartbeat_at == T0


def test_a_job_that_ended_is_not_run_again() -> None:
    store = FakeStore({JOB: Row(state="canceled")})
    ran: list[JobRef] = []
    runner = Runner(fake_context(FakeClock(T0)), "host-a:1", store, lambda j, c: ran.append(j))
    assert runner.run(JOB) is False
    assert ran == []


def test_a_heartbeat_writes_the_clock_time_on_the_running_job() -> None:
    store, clock = FakeStore({JOB: Row(state="running", heartbeat_at=T0)}), FakeClock(T0)
    beat = Heartbeat(store, clock, JOB, 5.0, threading.Event(), ToolScope())
    clock.at = T0 + timedelta(seconds=5)
    beat.step()
    assert store.rows[JOB].heartbeat_at == T0 + timedelta(seconds=5)
    assert not beat.cancel.is_set()


def test_a_cancel_read_with_the_heartbeat_sets_the_event_and_stops_the_tools() -> None:
    store, clock = FakeStore({JOB: Row(state="running")}), FakeClock(T0)
    tools = ToolScope()
    beat = Heartbeat(store, clock, JOB, 5.0, threading.Event(), tools)
    beat.step()
    assert not beat.cancel.is_set()
    assert tools.stopped_because is None
    store.rows[JOB].cancel_asked = True
    beat.step()
    assert beat.cancel.is_set()
    assert tools.stopped_because == CANCELED_REASON


def test_the_work_sees_the_cancel_event_the_runner_made() -> None:
    store = FakeStore({JOB: Row()})
    seen: list[bool] = []
    runner = Runner(
        fake_context(FakeClock(T0)),
        "host-a:1",
        store,
        lambda j, cancel: seen.append(cancel.is_set()),
    )
    runner.run(JOB)
    assert seen == [False]


@pytest.mark.parametrize(
    ("seconds_since_beat", "lost"), [(0, False), (59, False), (60, False), (61, True)]
)
def test_a_job_is_lost_only_once_its_heartbeat_is_older_than_the_limit(
    seconds_since_beat: int, lost: bool
) -> None:
    now = T0 + timedelta(seconds=seconds_since_beat)
    assert is_lost(T0, T0 - timedelta(hours=1), now, 60) is lost
    assert (lost_before(now, 60) > T0) is lost


def test_a_running_job_without_a_heartbeat_counts_from_its_start() -> None:
    assert is_lost(None, T0, T0 + timedelta(seconds=61), 60)
    assert not is_lost(None, T0, T0 + timedelta(seconds=30), 60)


def test_the_lost_reason_names_the_last_heartbeat_in_utc() -> None:
    beat = datetime(2026, 11, 29, 12, 0, 5, 123456, tzinfo=UTC)
    assert lost_reason(beat) == "worker lost: last heartbeat at 2026-11-29T12:00:05Z"


def test_several_beats_fit_in_the_time_after_which_a_job_is_lost() -> None:
    for lost_after in (1.5, 3, 10, 60, 3600):
        assert beat_interval(lost_after) * 3 <= lost_after
        assert beat_interval(lost_after) <= 5


@pytest.mark.parametrize(
    "message",
    [
        {"kind": "backup"},
        {"kind": "backup", "id": "12"},
        {"kind": "backup", "id": 0},
        {"kind": "backup", "id": True},
        {"kind": "shell", "id": 1},
        {"kind": "backup", "id": 1, "argv": ["rm"]},
        ["backup", 1],
    ],
)
def test_a_job_message_from_a_broker_is_checked(message: object) -> None:
    with pytest.raises(ValueError, match="not a job message"):
        JobRef.from_message(message)


def test_a_job_message_carries_only_kind_and_id() -> None:
    job = JobRef(JobKind.RESTORE, 3, queue="dc-east")
    assert job.message() == {"kind": "restore", "id": 3}
    assert JobRef.from_message(job.message()) == JobRef(JobKind.RESTORE, 3)
