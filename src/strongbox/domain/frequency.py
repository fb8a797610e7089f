"""When a schedule runs, as people say it: a frequency (`every` hour, day, week or month) or a
5-field cron line, a time zone, and the same in words.

A frequency is turned into a cron line once (`to_cron`); from then on the cron line and the time
zone are the schedule, and `strongbox.domain.slots` computes its run times.

Validation errors name the field and say what is allowed: a pydantic error for the frequency
models (the API turns it into a problem detail), a `StrongboxError` (`invalid`) for a cron line or a
time zone given on their own.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options  # type: ignore[import-untyped]
from cronsim import CronSim, CronSimError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from strongbox.errors import invalid

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
WEEKDAY_NAMES: dict[str, str] = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
# cron counts the days of the week from Sunday = 0.
CRON_WEEKDAY: dict[str, int] = {day: (i + 1) % 7 for i, day in enumerate(WEEKDAYS)}

CRON_FIELDS = "minute hour day-of-month month day-of-week"
CRON_RULE = f"a cron line has 5 fields: {CRON_FIELDS} (e.g. '30 2 * * *')"
TIMEZONE_RULE = "use an IANA time zone name such as Europe/Berlin, America/New_York or UTC"
_TIME_PATTERN = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
# zoneinfo keys that exist on disk but are not a place's time: the server's own zone, leap-second
# ("right/") and POSIX-rule ("posix/") copies, and tzdata's placeholder zone.
_REFUSED_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_REFUSED_ZONE_PREFIXES = ("right/", "posix/")


# ---- field validators (pydantic errors whose message is the sentence people read) ----------------


def parse_time_of_day(text: str, *, allow_end_of_day: bool = False) -> tuple[int, int]:
    """(hour, minute) of an `HH:MM` text; `24:00` only when `allow_end_of_day`.

    Raises `ValueError` with a readable message.

    >>> parse_time_of_day("02:00")
    (2, 0)
    >>> parse_time_of_day("7:05")
    (7, 5)
    >>> parse_time_of_day("24:00", allow_end_of_day=True)
    (24, 0)
    """
    match = _TIME_PATTERN.match(text.strip())
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    in_day = 0 <= hour <= 23 and 0 <= minute <= 59
    if not (in_day or (allow_end_of_day and (hour, minute) == (24, 0))):
        upper = "24:00" if allow_end_of_day else "23:59"
        raise ValueError(f"time must be HH:MM between 00:00 and {upper} (got {text!r})")
    return hour, minute


def _check_time(value: str) -> str:
    try:
        hour, minute = parse_time_of_day(value)
    except ValueError as exc:
        raise PydanticCustomError("time_of_day", str(exc)) from None
    return f"{hour:02d}:{minute:02d}"


def _check_weekday(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return value.strip().lower()
    raise PydanticCustomError(
        "weekday",
        "weekday must be one of mon, tue, wed, thu, fri, sat, sun (got {got})",
        {"got": repr(value)},
    )


def _check_minute(value: int) -> int:
    if not 0 <= value <= 59:
        raise PydanticCustomError(
            "minute_range", "minute must be from 0 to 59 (got {got})", {"got": value}
        )
    return value


def _check_day(value: int) -> int:
    if not 1 <= value <= 31:
        raise PydanticCustomError(
            "day_range", "day must be a day of the month from 1 to 31 (got {got})", {"got": value}
        )
    return value


TimeOfDay = Annotated[
    str,
    AfterValidator(_check_time),
    Field(
        description="local time of day, HH:MM (00:00 to 23:59)",
        examples=["02:00"],
        max_length=5,
        json_schema_extra={"pattern": r"^([01]?\d|2[0-3]):[0-5]\d$"},
    ),
]
WeekdayField = Annotated[
    Weekday,
    BeforeValidator(_check_weekday),
    Field(description="day of the week: mon, tue, wed, thu, fri, sat or sun"),
]
MinuteField = Annotated[
    int,
    AfterValidator(_check_minute),
    Field(
        description="minute past the hour, 0 to 59", json_schema_extra={"minimum": 0, "maximum": 59}
    ),
]
DayField = Annotated[
    int,
    AfterValidator(_check_day),
    Field(
        description="day of the month, 1 to 31; 31 means the last day of every month, and "
        "months without day 29 or 30 are skipped for those days",
        json_schema_extra={"minimum": 1, "maximum": 31},
    ),
]


# ---- the four frequency shapes ---------------------------------------------------------------


class _FrequencyBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HourlyFrequency(_FrequencyBase):
    """`{"every": "hour", "minute": 15}`: every hour at that minute."""

    every: Literal["hour"]
    minute: MinuteField


class DailyFrequency(_FrequencyBase):
    """`{"every": "day", "time": "02:00"}`."""

    every: Literal["day"]
    time: TimeOfDay


class WeeklyFrequency(_FrequencyBase):
    """`{"every": "week", "weekday": "sun", "time": "03:30"}`."""

    every: Literal["week"]
    weekday: WeekdayField
    time: TimeOfDay


class MonthlyFrequency(_FrequencyBase):
    """`{"every": "month", "day": 1, "time": "04:00"}`.

    Day 31 runs on the last day of every month (cron `L`); days 29 and 30 follow cron and skip the
    months that lack them (February), because one cron line cannot say "the 30th, or the last day of
    February". `describe` says which.
    """

    every: Literal["month"]
    day: DayField
    time: TimeOfDay


Frequency = Annotated[
    HourlyFrequency | DailyFrequency | WeeklyFrequency | MonthlyFrequency,
    Field(discriminator="every"),
]
"""One of the four frequency shapes, chosen by `every`.

In pydantic's error locations the tag follows the field, e.g. `("frequency", "day", "time")`;
drop the element after `frequency` when it is one of `FREQUENCY_TAGS` to get the field people know.
"""
FREQUENCY_TAGS = frozenset({"hour", "day", "week", "month"})
_FREQUENCY_ADAPTER: TypeAdapter[Frequency] = TypeAdapter(Frequency)


def parse_frequency(data: object) -> Frequency:
    """The frequency in `data` (a mapping such as `{"every": "day", "time": "02:00"}`).

    Raises `invalid(..., "invalid-frequency", field_name="frequency.<field>")` naming the first bad
    field, for callers outside a pydantic request model (CLI flags, services).

    >>> parse_frequency({"every": "week", "weekday": "SUN", "time": "3:30"})
    WeeklyFrequency(every='week', weekday='sun', time='03:30')
    """
    try:
        return _FREQUENCY_ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        if loc and loc[0] in FREQUENCY_TAGS:
            loc = loc[1:]
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["every"]
            message = "every must be one of hour, day, week, month"
        elif first["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}: remove it, or check its spelling"
        elif first["type"] == "missing":
            message = f"{loc[-1]} is required for this frequency"
        else:
            message = first["msg"]
        field_name = ".".join(["frequency", *loc])
        raise invalid(
            f"{field_name}: {message}", "invalid-frequency", field_name=field_name
        ) from None


def to_cron(freq: Frequency) -> str:
    """The 5-field cron line of a frequency.

    >>> to_cron(DailyFrequency(every="day", time="02:00"))
    '0 2 * * *'
    >>> to_cron(WeeklyFrequency(every="week", weekday="sun", time="03:30"))
    '30 3 * * 0'
    >>> to_cron(HourlyFrequency(every="hour", minute=15))
    '15 * * * *'
    >>> to_cron(MonthlyFrequency(every="month", day=31, time="04:00"))
    '0 4 L * *'
    """
    if isinstance(freq, HourlyFrequency):
        return f"{freq.minute} * * * *"
    hour, minute = parse_time_of_day(freq.time)
    if isinstance(freq, DailyFrequency):
        return f"{minute} {hour} * * *"
    if isinstance(freq, WeeklyFrequency):
        return f"{minute} {hour} * * {CRON_WEEKDAY[freq.weekday]}"
    day = "L" if freq.day == 31 else str(freq.day)
    return f"{minute} {hour} {day} * *"


# ---- cron lines and time zones ---------------------------------------------------------------


def validate_cron(line: str) -> str:
    """The cron line with its whitespace normalised, if it is a valid 5-field line.

    Raises `invalid(..., "invalid-cron", field_name="cron")` with a message that names the bad
    field. Day names (`sun`), month names (`jan`), ranges, lists, steps, `L`, `LW`, `5L` and `MON#2`
    are accepted (cronsim's syntax); seconds (a 6th field) and `@daily`-style macros are not.

    >>> validate_cron("  30  2 * *   *  ")
    '30 2 * * *'
    """
    normal = " ".join(line.split())
    fields = normal.split(" ") if normal else []
    if len(fields) != 5:
        raise invalid(
            f"the cron line {normal!r} has {len(fields)} field{'s' if len(fields) != 1 else ''}, "
            f"but 5 are needed: {CRON_FIELDS} (e.g. '30 2 * * *')",
            "invalid-cron",
            field_name="cron",
        )
    try:
        sim = CronSim(normal, datetime(2000, 1, 1))
    except (CronSimError, ValueError, IndexError, AssertionError) as exc:
        raise invalid(
            _cron_error_message(normal, str(exc)), "invalid-cron", field_name="cron"
        ) from None
    try:
        next(sim)
    except StopIteration:
        raise invalid(
            f"the cron line {normal!r} never runs (no date matches it in 50 years)",
            "invalid-cron",
            field_name="cron",
        ) from None
    return normal


def _cron_error_message(line: str, reason: str) -> str:
    # cronsim says "Bad day-of-month" and the like; name the field and its text.
    fields = line.split(" ")
    if reason.lower() == "bad day-of-month" and _parses(" ".join([*fields[:3], "*", "*"])):
        return (
            f"the cron line {line!r} never runs: none of the months it allows ({fields[3]!r}) "
            f"has the day of the month it asks for ({fields[2]!r})"
        )
    for index, name in enumerate(CRON_FIELDS.split(" ")):
        if reason.lower() == f"bad {name}":
            return f"the cron line {line!r} has a bad {name} field ({fields[index]!r}); {CRON_RULE}"
    return f"the cron line {line!r} is not valid ({reason}); {CRON_RULE}"


def _parses(line: str) -> bool:
    try:
        CronSim(line, datetime(2000, 1, 1))
    except (CronSimError, ValueError, IndexError, AssertionError):
        return False
    return True


def validate_timezone(name: str) -> str:
    """The IANA time zone name, if zoneinfo knows it.

    Raises `invalid(..., "invalid-timezone", field_name="timezone")` otherwise.

    >>> validate_timezone("Europe/Berlin")
    'Europe/Berlin'
    """
    key = name.strip()
    refused = key in _REFUSED_ZONES or key.startswith(_REFUSED_ZONE_PREFIXES)
    try:
        if not refused:
            ZoneInfo(key)
            return key
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        pass
    raise invalid(
        f"unknown time zone {name!r}: {TIMEZONE_RULE}", "invalid-timezone", field_name="timezone"
    )


def zone_of(name: str) -> ZoneInfo:
    """The `ZoneInfo` of a time zone name; raises like `validate_timezone`."""
    return ZoneInfo(validate_timezone(name))


# ---- in words ---------------------------------------------------------------------------------


def describe(cron: str, tz: str, freq: Frequency | None = None) -> str:
    """The schedule in words, ending with its time zone in brackets.

    With a frequency, the words come from it (and `cron` is not read); otherwise from the cron
    line, through cron-descriptor in the 24-hour format.

    >>> describe("0 2 * * *", "Europe/Berlin", DailyFrequency(every="day", time="02:00"))
    'Every day at 02:00 (Europe/Berlin)'
    >>> describe("0 4 L * *", "UTC", MonthlyFrequency(every="month", day=31, time="04:00"))
    'Every month on day 31, or the last day of shorter months, at 04:00 (UTC)'
    >>> describe("*/15 8-18 * * 1-5", "UTC")
    'Every 15 minutes, between 08:00 and 18:59, Monday through Friday (UTC)'
    """
    if freq is None:
        return f"{_describe_cron(validate_cron(cron))} ({tz})"
    if isinstance(freq, HourlyFrequency):
        return f"Every hour at minute {freq.minute} ({tz})"
    if isinstance(freq, DailyFrequency):
        return f"Every day at {freq.time} ({tz})"
    if isinstance(freq, WeeklyFrequency):
        return f"Every week on {WEEKDAY_NAMES[freq.weekday]} at {freq.time} ({tz})"
    if freq.day == 31:
        return f"Every month on day 31, or the last day of shorter months, at {freq.time} ({tz})"
    words = f"Every month on day {freq.day} at {freq.time} ({tz})"
    if freq.day == 30:
        return f"{words}; February is skipped, as it has no day 30"
    if freq.day == 29:
        return f"{words}; February is skipped except in leap years"
    return words


@lru_cache(maxsize=512)
def _describe_cron(line: str) -> str:
    # cron-descriptor reads its bundled translation file for each description: cache the words.
    options = Options(locale_code="en_US", use_24hour_time_format=True)
    try:
        return str(ExpressionDescriptor(line, options).get_description())
    except Exception:  # the words are a courtesy: never fail a schedule over them
        return f"Cron {line}"
