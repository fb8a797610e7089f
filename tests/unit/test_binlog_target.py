"""Checking a MySQL/MariaDB point-in-time target against the binlog windows and choosing the
base (pure): a time in another zone is the same instant, targets before a base, after the
last stored event or across a gap are refused with the windows named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from strongbox.domain.binlog_target import choose_binlog_window
from strongbox.domain.binlog_window import BinlogBase, StoredBinlog, compute_binlog_windows
from strongbox.domain.pitr_target import TargetRefused

NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def at(second: int) -> datetime:
    return datetime(2026, 11, 29, 10, 0, second, tzinfo=UTC)


def stored(n: int, first: int, last: int, *, partial: bool = False) -> StoredBinlog:
    return StoredBinlog(f"bin.{n:06d}", partial, 4, 1000, at(first), at(last), 1)


B1 = BinlogBase("b1", "bin.000001", 300, at(2))
B2 = BinlogBase("b2", "bin.000002", 300, at(6))
FILES = [stored(1, 1, 5), stored(2, 6, 9), stored(3, 10, 14)]


def test_the_newest_base_whose_window_holds_the_target_is_chosen_whatever_its_zone() -> None:
    found = compute_binlog_windows([B1, B2], FILES)
    assert choose_binlog_window(found, at(8), None).base_backup == "b2"
    assert choose_binlog_window(found, at(4), None).base_backup == "b1"
    in_new_york = at(8).astimezone(NEW_YORK_WINTER)
    assert choose_binlog_window(found, in_new_york, "b1").base_backup == "b1"
    latest = choose_binlog_window(found, None, None)
    assert (latest.base_backup, latest.end) == ("b2", at(14))


def test_targets_outside_the_windows_are_refused_naming_them() -> None:
    found = compute_binlog_windows([B1, B2], FILES)
    with pytest.raises(TargetRefused) as before:
        choose_binlog_window(found, at(3), "b2")
    assert "is before backup b2" in str(before.value)
    assert "from backup b1" in str(before.value)
    assert "from backup b2" in str(before.value)
    with pytest.raises(TargetRefused) as after:
        choose_binlog_window(found, at(20), None)
    assert "after the last stored event (latest_restorable_time 2026-11-29T10:00:14Z)" in str(
        after.value
    )
    with pytest.raises(TargetRefused, match="not a PITR-ready base"):
        choose_binlog_window(found, at(8), "nope")
    with pytest.raises(ValueError, match="explicit offset"):
        choose_binlog_window(found, at(8).replace(tzinfo=None), None)


def test_a_target_in_or_beyond_a_purged_file_is_refused_naming_the_gap() -> None:
    files = [stored(1, 1, 5, partial=True), stored(3, 10, 14)]
    found = compute_binlog_windows([B1, BinlogBase("b3", "bin.000003", 4, at(10))], files)
    with pytest.raises(TargetRefused) as inside:
        choose_binlog_window(found, at(7), None)
    assert "falls in a gap of the stored binlog" in str(inside.value)
    assert "bin.000002" in str(inside.value)
    with pytest.raises(TargetRefused) as beyond:
        choose_binlog_window(found, at(12), "b1")
    assert "lies beyond a gap" in str(beyond.value)
    # From the base after the gap, the same time is restorable.
    assert choose_binlog_window(found, at(12), None).base_backup == "b3"


def test_no_window_says_what_to_do() -> None:
    with pytest.raises(TargetRefused, match="take a logical backup while the binlog stream"):
        choose_binlog_window(compute_binlog_windows([], FILES), at(8), None)
