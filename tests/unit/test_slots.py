"""Slot times, with the DST changes of one zone and year written out.

Europe/Berlin in 2026:
- Sunday 2026-03-29, spring forward: at 02:00 CET (01:00 UTC) the clocks jump to 03:00 CEST.
  Local times 02:00 to 02:59 do not exist that day.
- Sunday 2026-10-25, fall back: at 03:00 CEST (01:00 UTC) the clocks go back to 02:00 CET.
  Local times 02:00 to 02:59 happen twice: first in CEST (00:00-00:59 UTC), then in CET
  (01:00-01:59 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import example, given, settings
from hypothesis import strategies as st

from strongbox.domain.slots import (
    follows_wall_clock,
    next_runs,
    slot_epochs,
    slots_between,
    wall_clock_instant,
)
from strongbox.errors import StrongboxError

BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ---- daily at a time of day -----------------------------------------------------------------


def test_daily_0230_runs_at_0300_on_the_day_0230_does_not_exist() -> None:
    runs = next_runs("30 2 * * *", BERLIN, utc(2026, 3, 27, 12), 4)
    assert runs == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST: the first instant after the gap
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
    ]


def test_daily_0230_runs_once_on_the_day_0230_happens_twice() -> None:
    runs = next_runs("30 2 * * *", BERLIN, utc(2026, 10, 23, 12), 4)
    assert runs == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST, the first occurrence; not again at 01:30 UTC
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
        utc(2026, 10, 27, 1, 30),
    ]


def test_between_the_two_0230s_the_next_run_is_the_next_day() -> None:
    # 00:45 UTC is 02:45 CEST: the first 02:30 has passed, the second one does not count.
    assert next_runs("30 2 * * *", BERLIN, utc(2026, 10, 25, 0, 45), 1) == [
        utc(2026, 10, 26, 1, 30)
    ]


def test_several_slots_in_one_gap_run_once() -> None:
    runs = next_runs("0,30 2 * * *", BERLIN, utc(2026, 3, 28, 22), 3)
    assert runs == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 0), utc(2026, 3, 30, 0, 30)]


def test_minutes_of_a_named_hour_follow_the_wall_clock_on_fall_back() -> None:
    runs = slots_between("*/20 2 * * *", BERLIN, utc(2026, 10, 24, 22), utc(2026, 10, 25, 12))
    # Only the first 02:00, 02:20 and 02:40 (CEST); cronsim would run them in CET again.
    assert runs == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 20), utc(2026, 10, 25, 0, 40)]


# ---- hourly --------------------------------------------------------------------------------


def test_hourly_runs_once_in_each_real_hour_across_spring_forward() -> None:
    runs = next_runs("15 * * * *", BERLIN, utc(2026, 3, 28, 23, 30), 3)
    assert runs == [
        utc(2026, 3, 29, 0, 15),  # 01:15 CET
        utc(2026, 3, 29, 1, 15),  # 03:15 CEST: an hour later; 02:15 does not exist, no extra run
        utc(2026, 3, 29, 2, 15),  # 04:15 CEST
    ]


def test_hourly_on_the_hour_has_no_extra_run_at_the_end_of_the_gap() -> None:
    runs = next_runs("0 * * * *", BERLIN, utc(2026, 3, 28, 23, 30), 2)
    assert runs == [utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0)]  # 01:00 CET, 03:00 CEST


def test_hourly_runs_in_the_repeated_hour_twice_across_fall_back() -> None:
    runs = next_runs("15 * * * *", BERLIN, utc(2026, 10, 24, 23, 30), 4)
    assert runs == [
        utc(2026, 10, 25, 0, 15),  # 02:15 CEST
        utc(2026, 10, 25, 1, 15),  # 02:15 CET: same wall-clock time, the next real hour
        utc(2026, 10, 25, 2, 15),  # 03:15 CET
        utc(2026, 10, 25, 3, 15),
    ]
    assert [b - a for a, b in pairwise(runs)] == [timedelta(hours=1)] * 3


def test_every_20_minutes_runs_through_the_repeated_hour_in_real_time() -> None:
    runs = slots_between("*/20 * * * *", BERLIN, utc(2026, 10, 24, 23, 50), utc(2026, 10, 25, 2))
    start = utc(2026, 10, 25, 0, 0)  # 02:00 CEST
    assert runs == [start + timedelta(minutes=20 * i) for i in range(7)]  # ... 02:40 CET, 03:00


def test_hourly_from_inside_the_repeated_hour_finds_the_second_occurrence() -> None:
    # 00:20 UTC is 02:20 CEST; 02:15 CET (01:15 UTC) is still ahead.
    assert next_runs("15 * * * *", BERLIN, utc(2026, 10, 25, 0, 20), 1) == [
        utc(2026, 10, 25, 1, 15)
    ]


def test_which_lines_follow_the_wall_clock() -> None:
    assert follows_wall_clock("30 2 * * *")
    assert follows_wall_clock("*/15 2 * * *")
    assert follows_wall_clock("0 1-5 * * *")
    assert not follows_wall_clock("15 * * * *")
    assert not follows_wall_clock("0 */6 * * *")


# ---- monthly ---------------------------------------------------------------------------------


def test_monthly_day_31_runs_on_the_last_day_of_every_month() -> None:
    runs = next_runs("0 4 L * *", "UTC", utc(2027, 12, 1), 6)
    assert [r.date() for r in runs] == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),  # leap year
        date(2028, 3, 31),
        date(2028, 4, 30),
        date(2028, 5, 31),
    ]
    assert {r.hour for r in runs} == {4}


def test_monthly_day_31_keeps_its_local_time_across_dst() -> None:
    runs = next_runs("0 4 L * *", BERLIN, utc(2026, 2, 1), 3)
    assert runs == [utc(2026, 2, 28, 3), utc(2026, 3, 31, 2), utc(2026, 4, 30, 2)]


def test_monthly_day_30_skips_february() -> None:
    runs = next_runs("0 4 30 * *", "UTC", utc(2026, 1, 1), 3)
    assert [r.date() for r in runs] == [date(2026, 1, 30), date(2026, 3, 30), date(2026, 4, 30)]


# ---- slots between, bounds ----------------------------------------------------


def test_slots_between_excludes_the_start_and_includes_the_end() -> None:
    runs = slots_between("0 * * * *", "UTC", utc(2026, 5, 1, 0), utc(2026, 5, 1, 3))
    assert runs == [utc(2026, 5, 1, 1), utc(2026, 5, 1, 2), utc(2026, 5, 1, 3)]


def test_slots_between_keeps_the_newest_when_there_are_too_many() -> None:
    runs = slots_between("* * * * *", "UTC", utc(2020, 1, 1), utc(2026, 1, 1), limit=10_000)
    assert len(runs) == 10_000
    assert runs[-1] == utc(2026, 1, 1)
    assert runs[0] == utc(2026, 1, 1) - timedelta(minutes=9_999)


def test_slot_epochs_of_a_month_of_minutes() -> None:
    epochs = slot_epochs("* * * * *", BERLIN, utc(2026, 3, 1), utc(2026, 3, 31))
    assert len(epochs) == 30 * 24 * 60


def test_wall_clock_instant_of_a_time_in_the_gap_is_the_end_of_the_gap() -> None:
    zone = ZoneInfo(BERLIN)
    assert wall_clock_instant(datetime(2026, 3, 29, 2, 30), zone) == utc(2026, 3, 29, 1)
    assert wall_clock_instant(datetime(2026, 10, 25, 2, 30), zone) == utc(2026, 10, 25, 0, 30)


def test_a_naive_start_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_runs("0 2 * * *", "UTC", datetime(2026, 1, 1), 1)


def test_no_runs_asked_none_given() -> None:
    assert next_runs("0 2 * * *", "UTC", utc(2026, 1, 1), 0) == []


def test_a_bad_line_or_zone_is_invalid_input() -> None:
    with pytest.raises(StrongboxError, match="5 are needed"):
        next_runs("0 0 2 * * *", "UTC", utc(2026, 1, 1), 1)
    with pytest.raises(StrongboxError, match="unknown time zone"):
        next_runs("0 2 * * *", "Mars/Base", utc(2026, 1, 1), 1)


# ---- properties ------------------------------------------------------------------------------

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight
    "Australia/Lord_Howe",  # a 30-minute DST change
    "Asia/Kolkata",  # no DST, a half-hour offset
    "UTC",
]
MINUTES = ["0", "15", "30", "59", "*/20", "0,30", "*/7", "5-10"]
HOURS = ["*", "*/2", "*/3", "0", "1", "2", "3", "23", "1-3", "2,3", "0,12"]
WEEKDAYS = ["*", "*", "1-5", "0,6"]


@lru_cache
def _transitions(tz: str) -> list[datetime]:
    """The UTC instants at which `tz` changes its offset in 2026 and 2027."""
    zone, out = ZoneInfo(tz), []
    day = utc(2026, 1, 1)
    while day < utc(2028, 1, 1):
        lo, hi = day, day + timedelta(days=1)
        if lo.astimezone(zone).utcoffset() != hi.astimezone(zone).utcoffset():
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(second=0, microsecond=0))
        day += timedelta(days=1)
    return out


@st.composite
def _cases(
    draw: st.DrawFn, before: int = 3 * 86_400, after: int = 86_400
) -> tuple[str, str, datetime]:
    line = " ".join(
        [
            draw(st.sampled_from(MINUTES)),
            draw(st.sampled_from(HOURS)),
            "*",
            "*",
            draw(st.sampled_from(WEEKDAYS)),
        ]
    )
    tz = draw(st.sampled_from(ZONES))
    near = _transitions(tz) or [utc(2026, 3, 29, 1)]
    around = draw(st.sampled_from(near))
    return line, tz, around + timedelta(seconds=draw(st.integers(-before, after)))


def _matcher(line: str) -> CronSim:
    return CronSim(line, datetime(2000, 1, 1))


def _matches(sim: CronSim, local: datetime) -> bool:
    return (
        local.minute in sim.minutes
        and local.hour in sim.hours
        and local.month in sim.months
        and sim.match_day(local.date())
    )


def _brute_force(line: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    """The contract, minute by minute in UTC: a slot is a real minute whose local time matches
    (only its first occurrence for wall-clock lines), or, for wall-clock lines, the first minute
    after a gap in which some local time matches."""
    sim, zone, wall = _matcher(line), ZoneInfo(tz), follows_wall_clock(line)
    out = []
    moment = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    before = (moment - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None, fold=0)
    while moment <= end:
        local = moment.astimezone(zone)
        naive = local.replace(tzinfo=None, fold=0)
        due = _matches(sim, naive) and (not wall or local.fold == 0)
        if wall and not due and naive - before > timedelta(minutes=1):
            gap = before + timedelta(minutes=1)
            while gap < naive and not due:
                due = _matches(sim, gap)
                gap += timedelta(minutes=1)
        if due:
            out.append(moment)
        before = naive
        moment += timedelta(minutes=1)
    return out


@settings(max_examples=60, deadline=None)
@given(_cases(before=86_400, after=0))
@example(("*/20 * * * *", BERLIN, utc(2026, 10, 24, 12)))
@example(("*/7 2 * * *", BERLIN, utc(2026, 10, 24, 12)))
@example(("*/7 2 * * *", BERLIN, utc(2026, 3, 28, 12)))
@example(("30 * * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 6)))
def test_slots_are_exactly_the_contract_s_minutes(case: tuple[str, str, datetime]) -> None:
    line, tz, start = case
    end = start + timedelta(days=1)  # always across a DST change
    assert slots_between(line, tz, start, end) == _brute_force(line, tz, start, end)


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_next_runs_increase_and_each_matches_the_line_in_the_zone(
    case: tuple[str, str, datetime],
) -> None:
    line, tz, after = case
    sim, zone = _matcher(line), ZoneInfo(tz)
    runs = next_runs(line, tz, after, 6)
    assert len(runs) == 6
    assert all(r.tzinfo is UTC for r in runs)
    assert after < runs[0]
    assert all(a < b for a, b in pairwise(runs))
    for run in runs:
        local = run.astimezone(zone).replace(tzinfo=None, fold=0)
        if not _matches(sim, local):
            # Only a wall-clock line may run off its line: at the end of a gap in which it matches.
            assert follows_wall_clock(line)
            just_before = (run - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
            assert local - just_before > timedelta(minutes=1), "not the end of a gap"
            in_gap = just_before + timedelta(minutes=1)
            assert any(
                _matches(sim, in_gap + timedelta(minutes=i))
                for i in range(int((local - in_gap).total_seconds() // 60))
            )
    assert slots_between(line, tz, after, runs[-1]) == runs
