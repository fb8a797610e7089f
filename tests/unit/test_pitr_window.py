"""The true window: which stored WAL follows which base without a hole, and the gaps."""

from __future__ import annotations

from datetime import UTC, datetime

from strongbox.domain.pitr_window import (
    BaseRange,
    SlotLoss,
    StoredWal,
    compute_windows,
    covers,
)
from strongbox.domain.wal import segment_name

SEG = 1 << 24


def at(second: int) -> datetime:
    return datetime(2026, 11, 29, 10, 0, second, tzinfo=UTC)


def seg(n: int, commit: int | None = None, *, timeline: int = 1) -> StoredWal:
    c = at(commit) if commit is not None else None
    return StoredWal(segment_name(timeline, n), "segment", timeline, n * SEG, (n + 1) * SEG, c, c)


def partial(n: int, written: int, commit: int | None = None) -> StoredWal:
    c = at(commit) if commit is not None else None
    name = segment_name(1, n) + ".partial"
    return StoredWal(name, "partial", 1, n * SEG, n * SEG + written, c, c)


def base(name: str, n: int, stop_second: int, *, timeline: int = 1) -> BaseRange:
    return BaseRange(name, timeline, n * SEG + 40, n * SEG + 4000, at(stop_second))


def test_a_base_whose_range_is_stored_opens_a_window_to_the_last_stored_commit() -> None:
    found = compute_windows([base("b1", 1, 2)], [seg(1, 1), seg(2, 5), partial(3, 900, 7)])
    [window] = found.windows
    assert (window.base_backup, window.start, window.end, window.timeline) == (
        "b1",
        at(2),
        at(7),
        1,
    )
    assert found.latest_restorable_time == at(7)
    assert found.ready_bases == {"b1"}
    assert found.gaps == []


def test_a_base_whose_stop_is_beyond_the_stored_wal_is_not_ready() -> None:
    wal = [seg(1), partial(2, 100)]
    late = BaseRange("b1", 1, SEG + 40, 2 * SEG + 200, at(2))
    found = compute_windows([late], wal)
    assert found.windows == []
    assert found.latest_restorable_time is None
    assert not covers(wal, 1, late.start_lsn, late.stop_lsn)
    assert covers(wal, 1, late.start_lsn, 2 * SEG + 100)


def test_a_window_without_a_commit_after_its_base_ends_at_the_base() -> None:
    [window] = compute_windows([base("b1", 1, 9)], [seg(1, 3)]).windows
    assert (window.start, window.end) == (at(9), at(9))


def test_a_missing_segment_ends_the_window_and_a_later_base_opens_another() -> None:
    wal = [seg(1, 1), seg(2, 4), seg(4, 20), seg(5, 30)]
    found = compute_windows([base("b1", 1, 2), base("b2", 4, 21)], wal)
    assert [(w.base_backup, w.start, w.end) for w in found.windows] == [
        ("b1", at(2), at(4)),
        ("b2", at(21), at(30)),
    ]
    [gap] = found.gaps
    assert (gap.from_lsn, gap.to_lsn, gap.start, gap.end) == (3 * SEG, 4 * SEG, at(4), at(20))
    assert gap.reason == f"segment {segment_name(1, 3)} was never stored"


def test_an_indexed_segment_gone_from_the_storage_is_a_gap_that_says_so() -> None:
    wal = [seg(1, 1), seg(2, 4), seg(3, 8), seg(4, 20)]
    found = compute_windows(
        [base("b1", 1, 2)], wal, missing=frozenset({segment_name(1, 2), segment_name(1, 3)})
    )
    [window] = found.windows
    assert window.end == at(2)  # nothing after the base but before the hole holds a commit
    [gap] = found.gaps
    assert "deleted from the storage" in gap.reason
    assert segment_name(1, 2) in gap.reason
    assert segment_name(1, 3) in gap.reason
    assert (gap.from_lsn, gap.to_lsn) == (2 * SEG, 4 * SEG)


def test_a_whole_segment_replaces_its_partial() -> None:
    wal = [seg(1, 1), partial(2, 50, 3), seg(2, 6), seg(3, 9)]
    found = compute_windows([base("b1", 1, 2)], wal)
    assert found.windows[0].end == at(9)
    assert found.gaps == []


def test_a_later_timeline_is_followed_only_with_its_history_file() -> None:
    history = StoredWal("00000002.history", "history", 2, 0, 0)
    wal = [seg(1, 1), seg(2, 4), seg(2, 9, timeline=2), seg(3, 12, timeline=2)]
    followed = compute_windows([base("b1", 1, 2)], [*wal, history])
    assert followed.windows[0].end == at(12)
    assert followed.gaps == []

    without = compute_windows([base("b1", 1, 2)], wal)
    [gap] = without.gaps
    assert "00000002.history" in gap.reason
    assert without.windows[0].end == at(4)  # the window stops where the history is missing


def test_a_lost_slot_is_a_gap_from_the_end_of_the_stored_wal() -> None:
    loss = SlotLoss("replication slot 'strongbox_prod' is lost", 9 * SEG)
    found = compute_windows([base("b1", 1, 2)], [seg(1, 1), seg(2, 5)], slot_loss=loss)
    [gap] = found.gaps
    assert (gap.from_lsn, gap.to_lsn, gap.start, gap.end) == (3 * SEG, 9 * SEG, at(5), None)
    assert gap.reason == loss.reason


def test_windows_come_oldest_base_first_and_the_latest_time_is_the_latest_end() -> None:
    wal = [seg(n, 10 * n) for n in range(1, 6)]
    found = compute_windows([base("new", 4, 41), base("old", 1, 11)], wal)
    assert [w.base_backup for w in found.windows] == ["old", "new"]
    assert found.latest_restorable_time == at(50)
