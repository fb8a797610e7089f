from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from strongbox.domain.analysis import OtherSchedule, ScheduleWarning, WarningCode, analyse
from strongbox.domain.estimate import CONSERVATIVE_THROUGHPUT, DurationEstimate, estimate_duration
from strongbox.domain.production_hours import ProductionHours
from strongbox.domain.wording import format_duration

BERLIN = "Europe/Berlin"
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # Monday 2026-01-05 00:00 UTC (01:00 CET), no DST ahead
MARCH = datetime(2026, 3, 2, tzinfo=UTC)  # Monday 2026-03-02: Berlin moves to CEST on 03-29
OFFICE = ProductionHours(
    days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="20:00", timezone=BERLIN
)


def minutes(n: float) -> DurationEstimate:
    return DurationEstimate(n * 60, "the 90th percentile of the last 10 successful backups")


def codes(warnings: list[ScheduleWarning]) -> list[str]:
    return [w.code.value for w in warnings]


def only(warnings: list[ScheduleWarning], code: WarningCode) -> ScheduleWarning:
    [found] = [w for w in warnings if w.code is code]
    return found


# ---- the estimate ----------------------------------------------------------------------------


def test_the_estimate_is_the_nearest_rank_90th_percentile_of_the_last_10() -> None:
    newest_first = [600, 60, 120, 180, 240, 300, 360, 420, 480, 540, 99_999]  # the 11th is ignored
    estimate = estimate_duration(newest_first, 10**12)
    assert estimate.seconds == 540  # the 9th of the 10 sorted values
    assert estimate.basis == "the 90th percentile of the last 10 successful backups"


def test_with_fewer_than_ten_backups_the_90th_percentile_is_the_longest() -> None:
    estimate = estimate_duration([100, 700, 300, 200, 150, 120, 110], None)
    assert estimate == DurationEstimate(700, "the 90th percentile of the last 7 successful backups")


def test_one_backup_is_its_own_estimate() -> None:
    estimate = estimate_duration([125.0], None)
    assert estimate == DurationEstimate(125.0, "the duration of the last successful backup")


def test_without_history_the_size_at_a_conservative_throughput_is_used() -> None:
    estimate = estimate_duration([], 12_300_000_000)
    assert estimate.seconds == pytest.approx(12_300_000_000 / CONSERVATIVE_THROUGHPUT)
    assert estimate.basis == "the database size (12.3 GB) at a conservative 20 MB/s"


@pytest.mark.parametrize(
    ("durations", "size"), [([5.0, 7.0], None), ([], 1_000), ([], None), ([], 0)]
)
def test_the_estimate_is_never_less_than_a_minute(durations: list[float], size: int | None) -> None:
    assert estimate_duration(durations, size) == DurationEstimate(60.0, "the one-minute minimum")


def test_durations_that_are_not_numbers_of_seconds_are_ignored() -> None:
    estimate = estimate_duration([math.nan, -5.0, math.inf, 300.0], None)
    assert estimate == DurationEstimate(300.0, "the duration of the last successful backup")


def test_durations_read_as_words() -> None:
    assert [format_duration(s) for s in (30, 60, 61, 3_600, 3_601, 5_400)] == [
        "30 s",
        "1 min",
        "2 min",
        "1 h",
        "1 h 01 min",
        "1 h 30 min",
    ]


# ---- production hours ------------------------------------------------------------------------


def _hours_error(**fields: Any) -> tuple[tuple[str | int, ...], str]:
    data = {"days": ["mon"], "start": "08:00", "end": "20:00", "timezone": BERLIN} | fields
    with pytest.raises(ValidationError) as caught:
        ProductionHours.model_validate(data)
    first = caught.value.errors()[0]
    return first["loc"], first["msg"]


def test_production_hours_are_normalised() -> None:
    hours = ProductionHours.model_validate(
        {"days": ["FRI", "mon", "mon"], "start": "8:00", "end": "24:00"}
    )
    assert (hours.days, hours.start, hours.end, hours.timezone) == (
        ["mon", "fri"],
        "08:00",
        "24:00",
        "UTC",
    )


def test_production_hours_may_run_overnight() -> None:
    hours = ProductionHours(days=["fri"], start="22:00", end="06:00", timezone="UTC")
    assert hours.end == "06:00"


@pytest.mark.parametrize(
    ("fields", "loc", "words"),
    [
        ({"start": "25:00"}, ("start",), "between 00:00 and 23:59"),
        ({"end": "24:30"}, ("end",), "between 00:00 and 24:00"),
        ({"days": ["funday"]}, ("days", 0), "one of mon, tue, wed, thu, fri, sat, sun"),
        ({"days": []}, ("days",), "at least one of mon"),
        ({"timezone": "Mars/Base"}, ("timezone",), "IANA time zone name such as Europe/Berlin"),
        ({"end": "08:00"}, (), "end must differ from start"),
        ({"lunch": "12:00"}, ("lunch",), "Extra inputs are not permitted"),
    ],
)
def test_bad_production_hours_name_the_field(
    fields: dict[str, Any], loc: tuple[str | int, ...], words: str
) -> None:
    found_loc, message = _hours_error(**fields)
    assert found_loc == loc
    assert words in message


# ---- overlap_previous_run --------------------------------------------------------------------


def test_a_backup_longer_than_the_gap_between_runs_overlaps_the_previous_run() -> None:
    warnings = analyse("0 * * * *", "UTC", [], DurationEstimate(3_601, "x"), None, MONDAY)
    warning = only(warnings, WarningCode.OVERLAP_PREVIOUS_RUN)
    assert warning.times == [MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=2)]
    assert "1 h 01 min (based on x)" in warning.message
    assert "longer than the 1 h between two runs" in warning.message


def test_a_backup_as_long_as_the_gap_does_not_overlap() -> None:
    assert analyse("0 * * * *", "UTC", [], DurationEstimate(3_600, "x"), None, MONDAY) == []


def test_the_shortest_gap_of_a_daily_schedule_is_on_the_spring_forward_day() -> None:
    # 02:30 CET on Sat 2026-03-28 (01:30 UTC) to 03:00 CEST on Sun 2026-03-29 (01:00 UTC) is
    # 23 h 30 min, and so is the next gap, to 02:30 CEST on Monday (00:30 UTC).
    now = datetime(2026, 3, 20, tzinfo=UTC)
    warnings = analyse("30 2 * * *", BERLIN, [], minutes(23 * 60 + 31), None, now)
    warning = only(warnings, WarningCode.OVERLAP_PREVIOUS_RUN)
    assert warning.times == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    ]
    assert "23 h 30 min between two runs" in warning.message
    assert analyse("30 2 * * *", BERLIN, [], minutes(23 * 60 + 30), None, now) == []


def test_a_monthly_schedule_is_measured_on_its_next_two_runs() -> None:
    # Only 2026-03-31 is within 30 days of MARCH; the gap to 04-30 is 30 days.
    assert analyse("0 4 L * *", "UTC", [], minutes(30 * 24 * 60), None, MARCH) == []
    warnings = analyse("0 4 L * *", "UTC", [], minutes(30 * 24 * 60 + 1), None, MARCH)
    assert only(warnings, WarningCode.OVERLAP_PREVIOUS_RUN).times == [
        datetime(2026, 3, 31, 4, tzinfo=UTC),
        datetime(2026, 4, 30, 4, tzinfo=UTC),
    ]


# ---- overlap_other_schedule ------------------------------------------------------------------

NIGHTLY = OtherSchedule("nightly", "0 1 * * *", BERLIN)


def test_a_run_that_starts_while_another_schedule_s_run_is_going_is_reported() -> None:
    warnings = analyse("30 1 * * *", BERLIN, [NIGHTLY], minutes(31), None, MONDAY)
    warning = only(warnings, WarningCode.OVERLAP_OTHER_SCHEDULE)
    assert codes(warnings) == ["overlap_other_schedule"]
    first = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)  # 01:30 CET
    assert warning.times == [first + timedelta(days=i) for i in range(5)]
    assert "30 runs of this schedule in the next 30 days" in warning.message
    assert "schedule 'nightly'" in warning.message
    assert "the run of 'nightly' that started at 2026-01-05 01:00 Europe/Berlin" in warning.message
    assert "(based on the 90th percentile of the last 10 successful backups)" in warning.message
    assert "Move this schedule to 01:35 or later, or to 00:25 or earlier" in warning.message


def test_a_run_that_starts_when_the_other_schedule_s_run_has_ended_is_fine() -> None:
    assert analyse("30 1 * * *", BERLIN, [NIGHTLY], minutes(30), None, MONDAY) == []


def test_a_run_still_going_when_another_schedule_starts_is_reported() -> None:
    warnings = analyse("45 0 * * *", BERLIN, [NIGHTLY], minutes(16), None, MONDAY)
    warning = only(warnings, WarningCode.OVERLAP_OTHER_SCHEDULE)
    # The first run is 00:45 CET on Tuesday: Monday's was before now (23:45 UTC on Sunday).
    assert "still be going when 'nightly' starts at 2026-01-06 01:00" in warning.message
    assert analyse("45 0 * * *", BERLIN, [NIGHTLY], minutes(15), None, MONDAY) == []


def test_schedules_in_different_zones_are_compared_as_instants() -> None:
    # 01:00 in Berlin is midnight UTC in winter: the two start together until DST begins
    # (01:00 on 2026-03-29 is still CET; from 03-30, 01:00 CEST is 23:00 UTC).
    other = ("utc-nightly", "0 0 * * *", "UTC")
    warnings = analyse("0 1 * * *", BERLIN, [other], minutes(5), None, MARCH)
    warning = only(warnings, WarningCode.OVERLAP_OTHER_SCHEDULE)
    assert "27 runs" in warning.message  # 2026-03-03 to 03-29
    assert "'utc-nightly' would start a backup at the same time" in warning.message


def test_a_run_of_another_schedule_started_before_now_still_counts() -> None:
    now = MONDAY + timedelta(hours=1, minutes=10)
    other = ("early", "0 1 * * *", "UTC")
    warnings = analyse("20 1 * * *", "UTC", [other], minutes(30), None, now)
    assert only(warnings, WarningCode.OVERLAP_OTHER_SCHEDULE).times[0] == datetime(
        2026, 1, 5, 1, 20, tzinfo=UTC
    )


def test_frequent_schedules_get_spacing_advice_rather_than_clock_times() -> None:
    other = ("every-5", "*/5 * * * *", "UTC")
    warnings = analyse("2 * * * *", "UTC", [other], minutes(3), None, MONDAY)
    warning = only(warnings, WarningCode.OVERLAP_OTHER_SCHEDULE)
    assert "Leave at least 3 min between the runs of this schedule and those of 'every-5'" in (
        warning.message
    )
    assert analyse("2 * * * *", "UTC", [other], minutes(2), None, MONDAY) == []


# ---- production_hours ------------------------------------------------------------------------


def test_a_run_reaching_into_production_hours_is_reported_on_production_days_only() -> None:
    warnings = analyse("0 7 * * *", BERLIN, [], minutes(61), OFFICE, MONDAY)
    warning = only(warnings, WarningCode.PRODUCTION_HOURS)
    assert codes(warnings) == ["production_hours"]
    # Monday to Friday 07:00 CET; not Saturday or Sunday.
    assert warning.times == [datetime(2026, 1, d, 6, tzinfo=UTC) for d in (5, 6, 7, 8, 9)]
    assert "22 runs of the 30 in the next 30 days" in warning.message
    assert "Monday to Friday, 08:00 to 20:00 Europe/Berlin" in warning.message
    assert "would run until about 2026-01-05 08:01 Europe/Berlin" in warning.message
    assert "Start it between 20:00 and 06:55 (Europe/Berlin)" in warning.message


def test_a_run_that_ends_as_production_hours_start_is_fine() -> None:
    assert analyse("0 7 * * *", BERLIN, [], minutes(60), OFFICE, MONDAY) == []


def test_a_run_that_starts_as_production_hours_end_is_fine() -> None:
    assert analyse("0 20 * * *", BERLIN, [], minutes(600), OFFICE, MONDAY) == []
    assert codes(analyse("59 19 * * *", BERLIN, [], minutes(60), OFFICE, MONDAY)) == [
        "production_hours"
    ]


def test_a_weekend_run_that_spills_into_monday_is_reported() -> None:
    # Sunday 23:30 UTC for 8 h ends Monday 07:30 UTC = 08:30 CET.
    warnings = analyse("30 23 * * 0", "UTC", [], minutes(8 * 60), OFFICE, MONDAY)
    assert only(warnings, WarningCode.PRODUCTION_HOURS).times[0] == datetime(
        2026, 1, 11, 23, 30, tzinfo=UTC
    )
    assert analyse("30 23 * * 0", "UTC", [], minutes(7 * 60), OFFICE, MONDAY) == []


def test_overnight_production_hours_start_on_the_listed_day() -> None:
    # Friday 22:00 to Saturday 06:00 UTC: Saturday's 05:00 run reaches into it, Friday's does not.
    night = ProductionHours(days=["fri"], start="22:00", end="06:00", timezone="UTC")
    warnings = analyse("0 5 * * *", "UTC", [], minutes(30), night, MONDAY)
    warning = only(warnings, WarningCode.PRODUCTION_HOURS)
    assert {t.weekday() for t in warning.times} == {5}  # Saturdays
    assert analyse("30 6 * * *", "UTC", [], minutes(30), night, MONDAY) == []


def test_a_backup_longer_than_the_time_outside_production_hours_says_so() -> None:
    warnings = analyse("0 20 * * *", BERLIN, [], minutes(13 * 60), OFFICE, MONDAY)
    assert "longer than the 12 h between the end and the start" in warnings[-1].message


# ---- all together, and fast ------------------------------------------------------------------


def test_all_three_warnings_come_in_code_order() -> None:
    warnings = analyse("0 * * * *", BERLIN, [NIGHTLY], minutes(90), OFFICE, MONDAY)
    assert codes(warnings) == ["overlap_previous_run", "overlap_other_schedule", "production_hours"]


def test_30_days_of_an_every_minute_schedule_are_analysed_quickly() -> None:
    others = [("also-every-minute", "* * * * *", "UTC")]
    started = time.perf_counter()
    warnings = analyse("* * * * *", BERLIN, others, minutes(5), OFFICE, MONDAY)
    elapsed = time.perf_counter() - started
    assert len(warnings) == 3
    assert elapsed < 1.0  # about 50 ms on the development machine; loose against slow CI


def test_a_rate_limit_sets_the_estimate_when_it_is_slower_than_the_history() -> None:
    estimate = estimate_duration([600.0], 36_000_000_000, max_rate_bytes_per_second=10_000_000)
    assert estimate.capped
    assert estimate.seconds == 3_600.0
    assert "rate limit of 10 MB/s" in estimate.basis


def test_a_rate_limit_faster_than_the_history_changes_nothing() -> None:
    estimate = estimate_duration([600.0], 1_000_000_000, max_rate_bytes_per_second=10_000_000)
    assert not estimate.capped
    assert estimate.seconds == 600.0


def test_a_capped_run_reaching_into_production_hours_says_the_cap_is_why() -> None:
    hours = ProductionHours(days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="20:00")
    uncapped = estimate_duration([], 36_000_000_000)  # 30 min at the conservative 20 MB/s
    assert analyse("0 2 * * *", "UTC", [], uncapped, hours, MONDAY) == []
    capped = estimate_duration([], 36_000_000_000, max_rate_bytes_per_second=1_000_000)  # 10 h
    warnings = analyse("0 2 * * *", "UTC", [], capped, hours, MONDAY)
    assert [w.code for w in warnings] == [WarningCode.PRODUCTION_HOURS]
    assert "at its rate limit of 1 MB/s" in warnings[0].message
    assert "max_rate_mb_per_s" in warnings[0].message
