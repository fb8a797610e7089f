"""The plan of a binlog replay: the files from the base's position to the target, the stop time
in UTC whatever zone the target was given in, and targets outside the window refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from strongbox.domain.binlog_replay import ReplayPlan, plan_replay, reader_options
from strongbox.domain.binlog_window import BinlogBase, StoredBinlog

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _at(second: int) -> datetime:
    return T0 + timedelta(seconds=second)


FILES = [
    StoredBinlog(f"bin.{n:06d}", n == 3, 4, 900, _at(n * 10), _at(n * 10 + 5), 1) for n in (1, 2, 3)
]
BASE = BinlogBase("b1", "bin.000001", 300, _at(8))


def test_the_stop_is_the_next_whole_second_in_utc_whatever_the_target_s_zone() -> None:
    new_york = _at(21).astimezone(ZoneInfo("America/New_York")).replace(microsecond=250_000)
    plan = plan_replay(BASE, FILES, new_york)
    assert plan.stop_datetime == "2026-11-29 10:00:22"
    assert plan.files == ["bin.000001", "bin.000002"]
    assert plan.start_position == 300


def test_files_after_the_target_are_not_read_and_the_partial_last_one_is() -> None:
    assert plan_replay(BASE, FILES, _at(9)).files == ["bin.000001"]
    assert plan_replay(BASE, FILES, _at(35)).files == ["bin.000001", "bin.000002", "bin.000003"]


@pytest.mark.parametrize(
    ("target", "says"),
    [
        (_at(7), "outside the window of backup 'b1'"),
        (_at(36), "outside the window of backup 'b1'"),
        (datetime(2026, 11, 29, 10, 0, 20), "needs a zone"),
    ],
)
def test_targets_outside_the_window_or_without_a_zone_are_refused(
    target: datetime, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        plan_replay(BASE, FILES, target)


def test_a_hole_ends_what_can_be_replayed() -> None:
    holed = [FILES[0], FILES[2]]
    with pytest.raises(ValueError, match="to 2026-11-29T10:00:15"):
        plan_replay(BASE, holed, _at(31))
    with pytest.raises(ValueError, match="is not stored"):
        plan_replay(BinlogBase("b0", "bin.000009", 4, _at(1)), FILES, _at(2))


def test_names_the_reader_would_misread_are_refused() -> None:
    plan = ReplayPlan("b1", ["bin.000001"], 300, "2026-11-29 10:00:22")
    with pytest.raises(ValueError, match="cannot be given"):
        reader_options(plan, "a->b", "c", mariadb=True)
    assert reader_options(plan, "shop", "shop", mariadb=True)[-1] == "--database=shop"
