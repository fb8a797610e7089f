"""The state machines of backups, restores and schedule runs."""

from __future__ import annotations

from strongbox.domain.states import JOBS, RUNS, JobState, RunState


def test_a_job_moves_only_forward() -> None:
    assert JOBS.can_move(JobState.QUEUED, JobState.RUNNING)
    assert JOBS.can_move(JobState.QUEUED, JobState.FAILED)
    assert JOBS.can_move(JobState.RUNNING, JobState.SUCCEEDED)
    assert not JOBS.can_move(JobState.QUEUED, JobState.SUCCEEDED)
    assert not JOBS.can_move(JobState.RUNNING, JobState.RUNNING)
    assert not JOBS.can_move(JobState.RUNNING, JobState.QUEUED)


def test_a_finished_job_never_moves() -> None:
    for final in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED):
        assert not any(JOBS.can_move(final, other) for other in JobState)


def test_only_a_running_job_can_succeed_and_only_a_queued_one_be_claimed() -> None:
    assert JOBS.sources_of(JobState.SUCCEEDED) == {JobState.RUNNING}
    assert JOBS.sources_of(JobState.RUNNING) == {JobState.QUEUED}
    assert JOBS.sources_of(JobState.FAILED) == {JobState.QUEUED, JobState.RUNNING}
    assert JOBS.sources_of(JobState.QUEUED) == frozenset()


def test_a_run_that_was_skipped_missed_or_failed_never_moves() -> None:
    for final in (RunState.SKIPPED, RunState.MISSED, RunState.FAILED):
        assert not any(RUNS.can_move(final, other) for other in RunState)


def test_a_waiting_run_can_start_and_a_started_one_wait() -> None:
    assert RUNS.can_move(RunState.WAITING, RunState.STARTED)
    assert RUNS.can_move(RunState.STARTED, RunState.WAITING)
    assert not RUNS.can_move(RunState.WAITING, RunState.WAITING)
    assert not RUNS.can_move(RunState.WAITING, RunState.MISSED)
    assert RUNS.sources_of(RunState.MISSED) == frozenset()
