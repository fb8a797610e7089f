"""Production hours: when a database is busy serving people, as the API takes them, in words,
and as the windows of time they cover."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Self
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
)
from strongbox.domain.slots import wall_clock_instant
from strongbox.errors import StrongboxError


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


def production_windows(hours: ProductionHours, lo: float, hi: float) -> list[tuple[int, int]]:
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


def _local_epoch(day: date, hour: int, minute: int, zone: ZoneInfo) -> int:
    moment = wall_clock_instant(datetime(day.year, day.month, day.day, hour, minute), zone)
    return math.floor(moment.timestamp())
