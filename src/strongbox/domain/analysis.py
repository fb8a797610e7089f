"""Schedule analysis: warnings about a schedule before it runs (issue 3, section 3).

- `overlap_previous_run`: a backup is estimated to take longer than the shortest gap between two
  runs of the schedule, so a run would still be going when the next is due.
- `overlap_other_schedule`: a run would start while a run of another schedule of the same database
  is estimated to be still going (or the other would start while this one is still going).
- `production_hours`: a run's estimated window [start, start + estimate) reaches into the
  database's production hours.

Everything is computed from the arguments (`now` included): no clock, no catalog.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, NamedTuple, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from strongbox.domain.frequency import (
    WEEKDAY_NAMES,
    WEEKDAYS,
    TimeOfDay,
    WeekdayField,
    parse_time_of_day,
    validate_timezone,
    zone_of,
)
from strongbox.domain.slots import next_runs, slot_epochs, wall_clock_instant
from strongbox.errors import StrongboxError

# With no history, a backup is assumed to move 20 MB (decimal) of database per second. Strongbox's
# own pipeline does about 125 MB/s on two cores (pg_dump -Fc | zstd, see DESIGN.md), but a first
# estimate must also hold for a busy server, a slow disk or network, a remote worker or a logical
# MySQL dump: a six times slower guess errs towards a warning too many, never one too few.
CONSERVATIVE_THROUGHPUT = 20_000_000.0  # bytes per second
MIN_ESTIMATE_SECONDS = 60.0
HISTORY_SIZE = 10
PERCENTILE = 90
MAX_TIMES = 5  # times listed in a warning
HORIZON_DAYS = 30
_NEARLY_A_DAY = 23 * 3_600  # a daily run is 23 h after the previous one on a spring-forward day


# ---- the duration estimate -------------------------------------------------------------------


@dataclass(frozen=True)
class DurationEstimate:
    """How long a backup of a database is expected to take, and why (`basis`, a noun phrase
    such as "the 90th percentile of the last 7 successful backups")."""

    seconds: float
    basis: str


def estimate_duration(
    recent_successful_durations: Sequence[float],
    database_size_bytes: int | None,
    throughput_bytes_per_second: float = CONSERVATIVE_THROUGHPUT,
) -> DurationEstimate:
    """The estimated duration of the next backup of a database.

    `recent_successful_durations` are durations in seconds of the database's successful backups,
    NEWEST FIRST (as `ORDER BY finished_at DESC` gives them); only the first 10 are used, and values
    that are not finite or are negative are ignored. The estimate is their 90th percentile by the
    nearest-rank method (the smallest value that at least 90% of them do not exceed: the 9th of 10
    sorted values, the largest of up to 9). With no history, it is the database size divided by
    `throughput_bytes_per_second`. It is never less than one minute.

    >>> estimate_duration([100, 200, 300], None)
    DurationEstimate(seconds=300, basis='the 90th percentile of the last 3 successful backups')
    >>> estimate_duration([], 12_300_000_000).basis
    'the database size (12.3 GB) at a conservative 20 MB/s'
    >>> estimate_duration([5.0], None)
    DurationEstimate(seconds=60.0, basis='the one-minute minimum')
    """
    usable = [d for d in recent_successful_durations[:HISTORY_SIZE] if math.isfinite(d) and d >= 0]
    if usable:
        ranked = sorted(usable)
        value = ranked[math.ceil(PERCENTILE / 100 * len(ranked)) - 1]
        if len(ranked) == 1:
            basis = "the duration of the last successful backup"
        else:
            basis = f"the {PERCENTILE}th percentile of the last {len(ranked)} successful backups"
    elif database_size_bytes and database_size_bytes > 0 and throughput_bytes_per_second > 0:
        value = database_size_bytes / throughput_bytes_per_second
        basis = (
            f"the database size ({format_bytes(database_size_bytes)}) at a conservative "
            f"{format_bytes(throughput_bytes_per_second)}/s"
        )
    else:
        return DurationEstimate(MIN_ESTIMATE_SECONDS, "the one-minute minimum")
    if value < MIN_ESTIMATE_SECONDS:
        return DurationEstimate(MIN_ESTIMATE_SECONDS, "the one-minute minimum")
    return DurationEstimate(value, basis)


# ---- production hours ------------------------------------------------------------------------


def _check_days(days: list[str]) -> list[str]:
    if not days:
        raise PydanticCustomError(
            "days_empty", "days must list at least one of mon, tue, wed, thu, fri, sat, sun"
        )
    return [day for day in WEEKDAYS if day in days]  # week order, no repeats


def _check_end(value: str) -> str:
    try:
        hour, minute = parse_time_of_day(value, allow_end_of_day=True)
    except ValueError as exc:
        raise PydanticCustomError("time_of_day", str(exc)) from None
    return f"{hour:02d}:{minute:02d}"


def _check_zone(value: str) -> str:
    try:
        return validate_timezone(value)
    except StrongboxError as exc:
        raise PydanticCustomError("timezone", exc.detail) from None


class ProductionHours(BaseModel):
    """When a database is busy serving people, e.g. Monday to Friday 08:00 to 20:00 in Berlin.

    `start` and `end` are local times in `timezone` on each of `days`. An `end` earlier than
    `start` is an overnight window that starts on the listed day and ends the next morning
    (`22:00` to `06:00` on `fri` covers Friday 22:00 to Saturday 06:00); `end` may be `24:00` for
    the end of the day (`00:00` to `24:00` is the whole day). `start` and `end` must differ.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: Annotated[list[WeekdayField], AfterValidator(_check_days)] = Field(
        description="days on which production hours start",
        examples=[["mon", "tue", "wed", "thu", "fri"]],
    )
    start: TimeOfDay
    end: Annotated[str, AfterValidator(_check_end)] = Field(
        max_length=5,
        description="local end time, HH:MM (24:00 for midnight); earlier than start for overnight",
        examples=["20:00"],
    )
    timezone: Annotated[str, AfterValidator(_check_zone)] = Field(
        default="UTC", max_length=64, description="IANA time zone name", examples=["Europe/Berlin"]
    )

    @model_validator(mode="after")
    def _start_differs_from_end(self) -> Self:
        if self.start == self.end:
            raise PydanticCustomError(
                "empty_window", "end must differ from start (use 00:00 to 24:00 for the whole day)"
            )
        return self

    def describe(self) -> str:
        """
        >>> ProductionHours(days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="20:00",
        ...                 timezone="Europe/Berlin").describe()
        'Monday to Friday, 08:00 to 20:00 Europe/Berlin'
        """
        return f"{_describe_days(self.days)}, {self.start} to {self.end} {self.timezone}"


# ---- warnings --------------------------------------------------------------------------------


class WarningCode(StrEnum):
    OVERLAP_PREVIOUS_RUN = "overlap_previous_run"
    OVERLAP_OTHER_SCHEDULE = "overlap_other_schedule"
    PRODUCTION_HOURS = "production_hours"


@dataclass(frozen=True)
class ScheduleWarning:
    """One warning: a stable `code`, a sentence for people, and the run times involved (UTC)."""

    code: WarningCode
    message: str
    times: list[datetime] = field(default_factory=list)


class OtherSchedule(NamedTuple):
    """Another schedule of the same database (a plain `(name, cron, timezone)` tuple also works)."""

    name: str
    cron: str
    timezone: str


def analyse(
    schedule_cron: str,
    schedule_tz: str,
    other_schedules: Sequence[tuple[str, str, str]],
    estimate: DurationEstimate,
    production_hours: ProductionHours | None,
    now: datetime,
    horizon_days: int = HORIZON_DAYS,
) -> list[ScheduleWarning]:
    """The warnings of a schedule over its runs in (now, now + horizon_days], in code order.

    `other_schedules` are the database's other (enabled) schedules as `(name, cron, timezone)`,
    without this one. `estimate` is the database's `estimate_duration(...)`, used for every run.

    - `overlap_previous_run` when `estimate.seconds` is longer than the shortest gap between two
      consecutive runs (for a schedule with fewer than two runs in the horizon, its next two runs);
      `times` are those two runs.
    - `overlap_other_schedule`, one per other schedule, when a run of this schedule starts while a
      run of the other is estimated to be still going, or the other starts while this one is still
      going (that run of the other schedule would be skipped or delayed just the same): runs
      starting at s and o clash when |s - o| < estimate. `times` are the first clashing runs of
      this schedule.
    - `production_hours` when a run's window [s, s + estimate) intersects production hours;
      `times` are the first such runs.

    Every message says which estimate was used and what to do. 30 days of an every-minute
    schedule (43,200 runs) take tens of milliseconds.
    """
    zone = zone_of(schedule_tz)
    end = now + timedelta(days=horizon_days)
    runs = slot_epochs(schedule_cron, schedule_tz, now, end)
    pair = (
        runs
        if len(runs) >= 2
        else [_to_epoch(t) for t in next_runs(schedule_cron, schedule_tz, now, 2)]
    )
    gap, first_gap = _shortest_gap(pair)
    context = _Context(zone, schedule_tz, estimate, horizon_days, len(runs))

    warnings: list[ScheduleWarning] = []
    if gap is not None and estimate.seconds > gap:
        warnings.append(_previous_run_warning(context, gap, pair[first_gap], pair[first_gap + 1]))
    pad = timedelta(seconds=min(estimate.seconds, 400 * 86_400))  # runs that reach into the horizon
    for name, cron, tz in other_schedules:
        others = slot_epochs(cron, tz, now - pad, end + pad)
        # Suggest clock times only when both run at most daily: "move it to 02:05 or later".
        other_gap, _ = _shortest_gap(others)
        daily = (gap is None or gap >= _NEARLY_A_DAY) and (
            other_gap is None or other_gap >= _NEARLY_A_DAY
        )
        clash = _other_schedule_warning(context, runs, name, others, daily=daily)
        if clash is not None:
            warnings.append(clash)
    if production_hours is not None and runs:
        busy = _production_intervals(production_hours, _to_epoch(now), _to_epoch(end + pad))
        hours_warning = _production_hours_warning(context, runs, busy, production_hours)
        if hours_warning is not None:
            warnings.append(hours_warning)
    return warnings


@dataclass(frozen=True)
class _Context:
    zone: ZoneInfo
    tz: str
    estimate: DurationEstimate
    horizon_days: int
    run_count: int

    def at(self, epoch: float) -> str:
        return f"{datetime.fromtimestamp(epoch, self.zone):%Y-%m-%d %H:%M} {self.tz}"

    @property
    def takes(self) -> str:
        return (
            "a backup of this database is estimated to take "
            f"{format_duration(self.estimate.seconds)} (based on {self.estimate.basis})"
        )


def _shortest_gap(runs: Sequence[int]) -> tuple[int | None, int]:
    if len(runs) < 2:
        return None, 0
    gaps = [later - earlier for earlier, later in pairwise(runs)]
    shortest = min(gaps)
    return shortest, gaps.index(shortest)


def _previous_run_warning(context: _Context, gap: int, first: int, second: int) -> ScheduleWarning:
    message = (
        f"{_sentence(context.takes)}, longer than the {format_duration(gap)} between two runs of "
        f"this schedule ({context.at(first)} and {context.at(second)}), so a run would still be "
        "going when the next one is due, and the next one would be skipped or queued. Leave "
        f"at least {format_duration(context.estimate.seconds)} between runs, or make the backup "
        "faster."
    )
    return ScheduleWarning(WarningCode.OVERLAP_PREVIOUS_RUN, message, [_utc(first), _utc(second)])


def _other_schedule_warning(
    context: _Context, runs: Sequence[int], name: str, others: Sequence[int], *, daily: bool
) -> ScheduleWarning | None:
    estimate = context.estimate.seconds
    count, last = 0, len(others)
    first: list[tuple[int, int]] = []  # (this run, the other run it clashes with), the first few
    for start in runs:
        index = bisect_right(others, start)
        if index > 0 and start - others[index - 1] < estimate:
            other = others[index - 1]
        elif index < last and others[index] - start < estimate:
            other = others[index]
        else:
            continue
        count += 1
        if len(first) < MAX_TIMES:
            first.append((start, other))
    if not count:
        return None
    start, other = first[0]
    if other == start:
        how = f"'{name}' would start a backup at the same time"
    elif other < start:
        how = f"the run of '{name}' that started at {context.at(other)} would still be going"
    else:
        how = f"it would still be going when '{name}' starts at {context.at(other)}"
    if daily:
        later = _local_clock(other + estimate, context.zone, up=True)
        earlier = _local_clock(other - estimate, context.zone, up=False)
        advice = (
            f"Move this schedule to {later} or later, or to {earlier} or earlier ({context.tz}), "
            f"or move '{name}'."
        )
    else:
        advice = (
            f"Leave at least {format_duration(estimate)} between the runs of this schedule and "
            f"those of '{name}', or keep only one of the two schedules."
        )
    message = (
        f"{_count(count, 'run')} of this schedule in the next {context.horizon_days} days would "
        f"overlap a backup from schedule '{name}' of the same database. The first starts at "
        f"{context.at(start)}, and {how}; {context.takes}. {advice}"
    )
    return ScheduleWarning(WarningCode.OVERLAP_OTHER_SCHEDULE, message, [_utc(s) for s, _ in first])


def _production_intervals(hours: ProductionHours, lo: float, hi: float) -> list[tuple[int, int]]:
    """The production windows [start, end) as epochs, ascending, covering (lo, hi)."""
    zone = ZoneInfo(hours.timezone)
    first_day = datetime.fromtimestamp(lo, zone).date() - timedelta(days=1)
    last_day = datetime.fromtimestamp(hi, zone).date() + timedelta(days=1)
    start_h, start_m = parse_time_of_day(hours.start)
    end_h, end_m = parse_time_of_day(hours.end, allow_end_of_day=True)
    overnight = (end_h, end_m) <= (start_h, start_m)
    wanted = {WEEKDAYS.index(day) for day in hours.days}
    out: list[tuple[int, int]] = []
    day = first_day
    while day <= last_day:
        if day.weekday() in wanted:
            begins = _local_epoch(day, start_h, start_m, zone)
            end_day = day + timedelta(days=1) if overnight or end_h == 24 else day
            ends = _local_epoch(end_day, 0 if end_h == 24 else end_h, end_m, zone)
            if ends > begins:
                out.append((begins, ends))
        day += timedelta(days=1)
    return out


def _production_hours_warning(
    context: _Context, runs: Sequence[int], busy: Sequence[tuple[int, int]], hours: ProductionHours
) -> ScheduleWarning | None:
    estimate = context.estimate.seconds
    ends = [e for _, e in busy]
    count, last = 0, len(busy)
    hits: list[int] = []  # the first few
    for start in runs:
        index = bisect_right(ends, start)  # the first window that ends after the run starts
        if index < last and busy[index][0] < start + estimate:
            count += 1
            if len(hits) < MAX_TIMES:
                hits.append(start)
    if not count:
        return None
    start_h, start_m = parse_time_of_day(hours.start)
    end_h, end_m = parse_time_of_day(hours.end, allow_end_of_day=True)
    start_min, end_min = start_h * 60 + start_m, end_h * 60 + end_m
    off_minutes = start_min - end_min if end_min < start_min else 24 * 60 - (end_min - start_min)
    if estimate > off_minutes * 60:
        advice = (
            f"The estimate is longer than the {format_duration(off_minutes * 60)} between the end "
            "and the start of production hours, so runs on production days always reach into "
            "them: make the backup faster, or run it only on days without production hours."
        )
    else:
        latest = (start_min - math.ceil(estimate / 60)) % (24 * 60) // 5 * 5
        advice = (
            f"Start it between {end_h % 24:02d}:{end_m:02d} and "
            f"{latest // 60:02d}:{latest % 60:02d} ({hours.timezone}) so that it ends before "
            f"{hours.start}."
        )
    message = (
        f"{_count(count, 'run')} of the {context.run_count} in the next "
        f"{context.horizon_days} days would reach into production hours ({hours.describe()}): "
        f"the first starts at {context.at(hits[0])} and would run until about "
        f"{context.at(hits[0] + estimate)}; {context.takes}. {advice}"
    )
    return ScheduleWarning(WarningCode.PRODUCTION_HOURS, message, [_utc(s) for s in hits])


# ---- words -----------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """A duration in words, rounded up to the second below a minute, else to the minute.

    >>> format_duration(45), format_duration(60), format_duration(3_601), format_duration(7_200)
    ('45 s', '1 min', '1 h 01 min', '2 h')
    """
    if seconds < 60:
        return f"{math.ceil(seconds)} s"
    minutes = math.ceil(seconds / 60 - 1e-9)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d} min"


def format_bytes(size: float) -> str:
    """A size in decimal units with three significant digits.

    >>> format_bytes(12_345_678_901), format_bytes(20_000_000), format_bytes(999)
    ('12.3 GB', '20 MB', '999 B')
    """
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _describe_days(days: Sequence[str]) -> str:
    indexes = sorted(WEEKDAYS.index(day) for day in days)
    names = [WEEKDAY_NAMES[WEEKDAYS[i]] for i in indexes]
    if len(indexes) == 7:
        return "every day"
    if len(indexes) >= 3 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{names[0]} to {names[-1]}"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _local_clock(epoch: float, zone: ZoneInfo, *, up: bool) -> str:
    local = datetime.fromtimestamp(epoch, zone)
    minutes = local.hour * 60 + local.minute + (local.second > 0 or local.microsecond > 0)
    minutes = (-(-minutes // 5) * 5 if up else minutes // 5 * 5) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _local_epoch(day: date, hour: int, minute: int, zone: ZoneInfo) -> int:
    return _to_epoch(wall_clock_instant(datetime(day.year, day.month, day.day, hour, minute), zone))


def _to_epoch(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
