from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongbox.domain.retention import RetainedBackup, choose_deletions

START = datetime(2026, 5, 1, 2, tzinfo=UTC)


def backup(name: str, state: str = "succeeded", day: int = 0) -> RetainedBackup:
    finished = None if state in ("skipped", "missed", "queued", "running") else START
    return RetainedBackup(name, state, finished and START + timedelta(days=day))


def test_the_oldest_successes_beyond_keep_are_deleted_oldest_first() -> None:
    backups = [backup(f"b{d}", day=d) for d in (3, 1, 4, 2, 5)]
    assert choose_deletions(backups, keep=2) == ["b1", "b2", "b3"]


def test_failed_runs_between_successes_neither_count_nor_go() -> None:
    backups = [
        backup("ok-1", day=1),
        backup("failed-2", "failed", day=2),
        backup("ok-3", day=3),
        backup("skipped-4", "skipped"),
        backup("missed-5", "missed"),
        backup("failed-6", "failed", day=6),
        backup("canceled-7", "canceled", day=7),
    ]
    assert choose_deletions(backups, keep=2) == []
    assert choose_deletions(backups, keep=1) == ["ok-1"]


def test_keep_zero_keeps_everything() -> None:
    assert choose_deletions([backup(f"b{d}", day=d) for d in range(10)], keep=0) == []


def test_with_no_successes_nothing_is_deleted() -> None:
    backups = [backup("f1", "failed", day=1), backup("s2", "skipped"), backup("r3", "running")]
    assert choose_deletions(backups, keep=1) == []


def test_a_negative_keep_is_refused() -> None:
    with pytest.raises(ValueError, match="keep must be 0"):
        choose_deletions([backup("b1")], keep=-1)


def test_equal_finish_times_are_ordered_by_name() -> None:
    backups = [backup("b"), backup("a"), backup("c")]
    assert choose_deletions(backups, keep=1) == ["a", "b"]


_STATES = st.sampled_from(["succeeded", "failed", "canceled", "skipped", "missed", "running"])


@given(st.lists(st.tuples(_STATES, st.integers(0, 100)), max_size=30), st.integers(0, 10))
def test_only_successes_go_and_the_newest_success_always_stays(
    rows: list[tuple[str, int]], keep: int
) -> None:
    backups = [backup(f"b{i}", state, day) for i, (state, day) in enumerate(rows)]
    doomed = choose_deletions(backups, keep)
    by_name = {b.name: b for b in backups}
    successes = [b for b in backups if b.state == "succeeded"]
    assert all(by_name[name].state == "succeeded" for name in doomed)
    if successes:
        newest = max(successes, key=lambda b: (b.finished_at, b.name))
        assert newest.name not in doomed
    if keep:
        assert len(successes) - len(doomed) == min(keep, len(successes))
    else:
        assert doomed == []
