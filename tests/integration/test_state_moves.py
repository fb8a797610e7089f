"""The services refuse a state change the state machine does not allow, on the real catalog, and
leave the row as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from strongbox.catalog.models import Backup, Restore, Schedule, ScheduleRun
from strongbox.config import Settings
from strongbox.domain.jobs import JobKind, JobRef
from strongbox.domain.states import JobState, RunState
from strongbox.errors import IllegalStateMove
from strongbox.jobs.runner import Runner
from strongbox.server import build_context
from strongbox.services.context import Context
from strongbox.services.state_moves import move_backup, move_restore, move_run

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return build_context(Settings(data_dir=tmp_path, secret_key="state-moves-test"))


def add_backup(ctx: Context, state: JobState) -> int:
    row = Backup(
        name=f"b-{state}",
        database="prod",
        storage="s3",
        method="logical",
        trigger="manual",
        state=state,
        created_at=T0,
        finished_at=T0 if state not in (JobState.QUEUED, JobState.RUNNING) else None,
    )
    with ctx.catalog.session() as session:
        session.add(row)
        session.flush()
        return row.id


def add_restore(ctx: Context, state: JobState) -> int:
    row = Restore(
        name=f"r-{state}",
        database="prod",
        backup="b",
        target="staging",
        database_map={},
        overwrite=False,
        restore_globals=False,
        parallel_jobs=1,
        state=state,
        error="it broke" if state == JobState.FAILED else None,
        created_at=T0,
    )
    with ctx.catalog.session() as session:
        session.add(row)
        session.flush()
        return row.id


def add_run(ctx: Context, state: RunState) -> int:
    with ctx.catalog.session() as session:
        schedule = Schedule(
            database="prod",
            name="nightly",
            storage="s3",
            cron="0 2 * * *",
            frequency=None,
            timezone="UTC",
            retention_copies=0,
            enabled=True,
            on_overlap="skip",
            slots_since=T0,
            created_at=T0,
            updated_at=T0,
        )
        session.add(schedule)
        session.flush()
        run = ScheduleRun(schedule_id=schedule.id, slot_at=T0, state=state, created_at=T0)
        session.add(run)
        session.flush()
        return run.id


def state_of(ctx: Context, model: type[Backup] | type[Restore], row_id: int) -> str:
    with ctx.catalog.session() as session:
        row = session.get(model, row_id)
        assert row is not None
        return row.state


def test_a_succeeded_backup_cannot_be_set_running(ctx: Context) -> None:
    backup_id = add_backup(ctx, JobState.SUCCEEDED)
    with (
        pytest.raises(IllegalStateMove, match="from 'succeeded' to 'running'"),
        ctx.catalog.session() as session,
    ):
        move_backup(session, backup_id, JobState.RUNNING, started_at=T0)
    assert state_of(ctx, Backup, backup_id) == JobState.SUCCEEDED


def test_a_worker_does_not_run_a_backup_that_already_succeeded(ctx: Context) -> None:
    backup_id = add_backup(ctx, JobState.SUCCEEDED)
    # Its claim is refused: nothing runs, nothing changes.
    assert not Runner(ctx).run(JobRef(JobKind.BACKUP, backup_id))
    with ctx.catalog.session() as session:
        row = session.get(Backup, backup_id)
        assert row is not None
        assert (row.state, row.started_at, row.error) == (JobState.SUCCEEDED, None, None)


def test_a_failed_restore_cannot_be_set_succeeded(ctx: Context) -> None:
    restore_id = add_restore(ctx, JobState.FAILED)
    with (
        pytest.raises(IllegalStateMove, match="only 'running' may become 'succeeded'"),
        ctx.catalog.session() as session,
    ):
        move_restore(session, restore_id, JobState.SUCCEEDED)
    assert state_of(ctx, Restore, restore_id) == JobState.FAILED
    # A worker handed it anyway does not touch it.
    assert not Runner(ctx).run(JobRef(JobKind.RESTORE, restore_id))
    assert state_of(ctx, Restore, restore_id) == JobState.FAILED


def test_a_missed_run_cannot_be_started(ctx: Context) -> None:
    run_id = add_run(ctx, RunState.MISSED)
    with (
        pytest.raises(IllegalStateMove, match="from 'missed' to 'started'"),
        ctx.catalog.session() as session,
    ):
        move_run(session, run_id, RunState.STARTED, backup="nightly-20261124-1000")
    with ctx.catalog.session() as session:
        run = session.get(ScheduleRun, run_id)
        assert run is not None
        assert (run.state, run.backup) == (RunState.MISSED, None)


def test_a_move_of_a_row_that_does_not_exist_is_refused(ctx: Context) -> None:
    with (
        pytest.raises(IllegalStateMove, match="does not exist"),
        ctx.catalog.session() as session,
    ):
        move_backup(session, 4242, JobState.FAILED)
