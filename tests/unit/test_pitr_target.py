"""Checking a point-in-time target against the windows, choosing the base, and choosing the WAL
files to stage (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from strongbox.domain.pitr_target import TargetRefused, choose_window, wal_to_stage
from strongbox.domain.pitr_window import BaseRange, StoredWal, compute_windows
from strongbox.domain.wal import segment_name

NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def at(second: int) -> datetime:
    return datetime(2026, 11, 29, 10, 0, second, tzinfo=UTC)


def seg(n: int, first: int | None, last: int | None, timeline: int = 1) -> StoredWal:
    return StoredWal(
        segment_name(timeline, n),
        "segment",
        timeline,
        n << 24,
        (n + 1) << 24,
        at(first) if first is not None else None,
        at(last) if last is not None else None,
    )


# Two bases on timeline 1: b1 ends at 0:02 in segment 1, b2 ends at 0:06 in segment 3.
B1 = BaseRange("b1", 1, (1 << 24) + 10, (1 << 24) + 900, at(2))
B2 = BaseRange("b2", 1, (3 << 24) + 10, (3 << 24) + 900, at(6))
WAL = [seg(1, 1, 2), seg(2, 3, 5), seg(3, 6, 8), seg(4, 9, 12), seg(5, 13, 15)]


def test_the_newest_base_whose_window_holds_the_target_is_chosen() -> None:
    found = compute_windows([B1, B2], WAL)
    assert choose_window(found, at(4), None).base_backup == "b1"  # before b2's end
    assert choose_window(found, at(10), None).base_backup == "b2"
    assert choose_window(found, at(10), "b1").base_backup == "b1"
    assert choose_window(found, None, None).base_backup == "b2"


def test_a_target_is_compared_as_an_instant_whatever_its_offset() -> None:
    found = compute_windows([B1, B2], WAL)
    same = at(10).astimezone(NEW_YORK_WINTER)
    assert same.hour == 5
    assert choose_window(found, same, None).base_backup == "b2"
    with pytest.raises(ValueError, match="explicit offset"):
        choose_window(found, datetime(2026, 11, 29, 10, 0, 10), None)


def test_targets_outside_the_windows_are_refused_with_the_windows_named() -> None:
    found = compute_windows([B1, B2], WAL)
    with pytest.raises(TargetRefused, match="before the end of base b2") as before:
        choose_window(found, at(4), "b2")
    assert "from base b1" in str(before.value)
    assert "from base b2" in str(before.value)
    with pytest.raises(TargetRefused, match="after the last stored commit"):
        choose_window(found, at(16), None)
    with pytest.raises(TargetRefused, match="before the end of base b1"):
        choose_window(found, at(1), None)
    with pytest.raises(TargetRefused, match="not a PITR-ready base"):
        choose_window(found, at(10), "b9")


def test_a_target_in_or_beyond_a_gap_is_refused_naming_the_gap() -> None:
    holed = [w for w in WAL if w.name != segment_name(1, 4)]
    found = compute_windows([B1, B2], holed, missing=frozenset())
    assert [w.end for w in found.windows] == [at(8), at(8)]
    with pytest.raises(TargetRefused, match="falls in a gap") as inside:
        choose_window(found, at(10), None)
    assert segment_name(1, 4) in str(inside.value)
    with pytest.raises(TargetRefused, match="lies beyond a gap"):
        choose_window(found, at(14), None)
    assert choose_window(found, at(7), None).base_backup == "b2"  # before the gap it works


def test_no_window_at_all_says_how_to_get_one() -> None:
    with pytest.raises(TargetRefused, match="take a physical backup"):
        choose_window(compute_windows([], []), at(1), None)


def test_the_wal_staged_runs_from_the_base_to_the_first_commit_after_the_target() -> None:
    plan = wal_to_stage(WAL, B2, at(10))
    assert [w.name for w in plan.files] == [segment_name(1, n) for n in (3, 4)]
    assert plan.stop_at_target is True
    assert plan.last_commit_at_least == at(9)
    assert plan.timeline == "1"
    # One second before a segment's first commit: that segment holds the commit after it.
    plan = wal_to_stage(WAL, B1, at(8))
    assert [w.name for w in plan.files] == [segment_name(1, n) for n in (1, 2, 3, 4)]
    assert plan.last_commit_at_least == at(8)


def test_latest_stages_all_of_the_continuous_wal_and_replays_it_all() -> None:
    plan = wal_to_stage(WAL, B2, None)
    assert [w.name for w in plan.files] == [segment_name(1, n) for n in (3, 4, 5)]
    assert plan.stop_at_target is False
    assert plan.last_commit_at_least == at(15)
    # A target at the last stored commit: no commit follows it, so all of it is replayed.
    plan = wal_to_stage(WAL, B2, at(15))
    assert plan.stop_at_target is False
    assert plan.last_commit_at_least == at(15)


def test_the_wal_never_stops_short_of_the_base_and_takes_the_history_it_crosses() -> None:
    # A commit after the target inside the base's own first segment: still up to its stop LSN.
    base = BaseRange("b", 1, (1 << 24) + 10, (2 << 24) + 100, at(4))
    plan = wal_to_stage(WAL, base, at(1))
    assert [w.name for w in plan.files] == [segment_name(1, 1), segment_name(1, 2)]
    history = StoredWal("00000002.history", "history", 2, 0, 0)
    switched = [seg(1, 1, 2), seg(2, 3, 5), seg(2, 5, 6, timeline=2), seg(3, 7, 9, timeline=2)]
    switched.append(history)
    plan = wal_to_stage(switched, B1, None)
    assert [w.name for w in plan.files] == [
        "00000002.history",
        segment_name(1, 1),
        segment_name(1, 2),
        segment_name(2, 2),
        segment_name(2, 3),
    ]
    assert plan.timeline == "latest"
