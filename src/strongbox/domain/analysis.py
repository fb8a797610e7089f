"""Schedule analysis: warnings about a schedule before it runs (issue 3, section 3).

- `overlap_previous_run`: a backup is estimated to take longer than the shortest gap between two
  runs of the schedule, so a run would still be going when the next is due.
- `overlap_other_schedule`: a run would start while a run of another schedule of the same database
  is estimated to be still going (or the other would start while this one is still going).
- `production_hours`: a run's estimated window [start, start + estimate) reaches into the
  database's production hours.

Everything is computed from the arguments (`now` included): no clock, no catalog. The estimate
is `domain.estimate`'s, the hours are `domain.production_hours`', the words `domain.wording`'s.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from strongbox.domain.estimate import DurationEstimate
from strongbox.domain.frequency import parse_time_of_day, zone_of
from strongbox.domain.production_hours import ProductionHours, production_windows
from strongbox.domain.slots import next_runs, slot_epochs
from strongbox.domain.wording import format_duration, plural, sentence

MAX_TIMES = 5  # times listed in a warning
HORIZON_DAYS = 30
_NEARLY_A_DAY = 23 * 3_600  # a daily run is 23 h after the previous one on a spring-forward day


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
        busy = production_windows(production_hours, _to_epoch(now), _to_epoch(end + pad))
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
        f"{sentence(context.takes)}, longer than the {format_duration(gap)} between two runs of "
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
        f"{plural(count, 'run')} of this schedule in the next {context.horizon_days} days would "
        f"overlap a backup from schedule '{name}' of the same database. The first starts at "
        f"{context.at(start)}, and {how}; {context.takes}. {advice}"
    )
    return ScheduleWarning(WarningCode.OVERLAP_OTHER_SCHEDULE, message, [_utc(s) for s, _ in first])


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
    if context.estimate.capped:
        advice += (
            " The database's max_rate_mb_per_s sets this estimate: raising it shortens the run, "
            "or a backup_source moves it off this server."
        )
    message = (
        f"{plural(count, 'run')} of the {context.run_count} in the next "
        f"{context.horizon_days} days would reach into production hours ({hours.describe()}): "
        f"the first starts at {context.at(hits[0])} and would run until about "
        f"{context.at(hits[0] + estimate)}; {context.takes}. {advice}"
    )
    return ScheduleWarning(WarningCode.PRODUCTION_HOURS, message, [_utc(s) for s in hits])


def _local_clock(epoch: float, zone: ZoneInfo, *, up: bool) -> str:
    local = datetime.fromtimestamp(epoch, zone)
    minutes = local.hour * 60 + local.minute + (local.second > 0 or local.microsecond > 0)
    minutes = (-(-minutes // 5) * 5 if up else minutes // 5 * 5) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _to_epoch(moment: datetime) -> int:
    return math.floor(moment.timestamp())
