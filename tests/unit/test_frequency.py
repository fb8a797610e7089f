from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from strongbox.domain.frequency import (
    DailyFrequency,
    Frequency,
    HourlyFrequency,
    MonthlyFrequency,
    WeeklyFrequency,
    describe,
    parse_frequency,
    to_cron,
    validate_cron,
    validate_timezone,
)
from strongbox.errors import ErrorKind, StrongboxError


class _Request(BaseModel):
    """The shape an API request model embeds a frequency in."""

    frequency: Frequency


def _field_errors(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        _Request.model_validate({"frequency": data})
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


@pytest.mark.parametrize(
    ("data", "cron"),
    [
        ({"every": "hour", "minute": 15}, "15 * * * *"),
        ({"every": "hour", "minute": 0}, "0 * * * *"),
        ({"every": "day", "time": "02:00"}, "0 2 * * *"),
        ({"every": "day", "time": "23:59"}, "59 23 * * *"),
        ({"every": "week", "weekday": "sun", "time": "03:30"}, "30 3 * * 0"),
        ({"every": "week", "weekday": "mon", "time": "00:05"}, "5 0 * * 1"),
        ({"every": "week", "weekday": "sat", "time": "12:00"}, "0 12 * * 6"),
        ({"every": "month", "day": 1, "time": "04:00"}, "0 4 1 * *"),
        ({"every": "month", "day": 30, "time": "04:00"}, "0 4 30 * *"),
        ({"every": "month", "day": 31, "time": "04:00"}, "0 4 L * *"),
    ],
)
def test_each_frequency_becomes_its_cron_line(data: dict[str, Any], cron: str) -> None:
    freq = parse_frequency(data)
    assert to_cron(freq) == cron
    assert validate_cron(cron) == cron


def test_weekdays_and_times_are_normalised() -> None:
    freq = parse_frequency({"every": "week", "weekday": " SUN", "time": "3:30"})
    assert freq == WeeklyFrequency(every="week", weekday="sun", time="03:30")


@pytest.mark.parametrize(
    ("data", "loc", "words"),
    [
        (
            {"every": "day", "time": "25:00"},
            ("frequency", "day", "time"),
            "time must be HH:MM between 00:00 and 23:59 (got '25:00')",
        ),
        (
            {"every": "day", "time": "2pm"},
            ("frequency", "day", "time"),
            "time must be HH:MM between 00:00 and 23:59 (got '2pm')",
        ),
        (
            {"every": "week", "weekday": "funday", "time": "03:30"},
            ("frequency", "week", "weekday"),
            "weekday must be one of mon, tue, wed, thu, fri, sat, sun (got 'funday')",
        ),
        (
            {"every": "month", "day": 32, "time": "04:00"},
            ("frequency", "month", "day"),
            "day must be a day of the month from 1 to 31 (got 32)",
        ),
        (
            {"every": "month", "day": 0, "time": "04:00"},
            ("frequency", "month", "day"),
            "day must be a day of the month from 1 to 31 (got 0)",
        ),
        (
            {"every": "hour", "minute": 60},
            ("frequency", "hour", "minute"),
            "minute must be from 0 to 59 (got 60)",
        ),
    ],
)
def test_a_bad_frequency_names_the_field_and_what_is_allowed(
    data: dict[str, Any], loc: tuple[str, ...], words: str
) -> None:
    assert _field_errors(data) == [(loc, words)]


def test_a_frequency_refuses_unknown_fields() -> None:
    [(loc, _)] = _field_errors({"every": "day", "time": "02:00", "minute": 5})
    assert loc == ("frequency", "day", "minute")


def test_parse_frequency_raises_a_strongbox_error_naming_the_field() -> None:
    with pytest.raises(StrongboxError) as caught:
        parse_frequency({"every": "day", "time": "25:00"})
    error = caught.value
    assert error.kind is ErrorKind.INVALID
    assert error.code == "invalid-frequency"
    assert [e.field for e in error.errors] == ["frequency.time"]
    assert "between 00:00 and 23:59" in error.detail


@pytest.mark.parametrize("data", [{"every": "year"}, {"time": "02:00"}])
def test_parse_frequency_names_every_when_it_is_wrong_or_missing(data: dict[str, Any]) -> None:
    with pytest.raises(StrongboxError) as caught:
        parse_frequency(data)
    assert [e.field for e in caught.value.errors] == ["frequency.every"]
    assert "hour, day, week, month" in caught.value.detail


def test_validate_cron_normalises_whitespace() -> None:
    assert validate_cron("  */15\t8-18  * *  1-5 ") == "*/15 8-18 * * 1-5"


def test_a_six_field_cron_line_is_refused_with_the_five_fields_named() -> None:
    with pytest.raises(StrongboxError) as caught:
        validate_cron("0 0 2 * * *")
    error = caught.value
    assert error.code == "invalid-cron"
    assert [e.field for e in error.errors] == ["cron"]
    assert "has 6 fields, but 5 are needed" in error.detail
    assert "minute hour day-of-month month day-of-week" in error.detail


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("61 * * * *", "bad minute field ('61')"),
        ("0 24 * * *", "bad hour field ('24')"),
        ("0 0 32 * *", "bad day-of-month field ('32')"),
        ("0 0 * 13 *", "bad month field ('13')"),
        ("0 0 * * funday", "bad day-of-week field ('funday')"),
        ("0 0 30 2 *", "never runs: none of the months it allows ('2')"),
        ("@daily", "has 1 field, but 5 are needed"),
        ("", "has 0 fields, but 5 are needed"),
    ],
)
def test_a_bad_cron_line_says_which_field_is_wrong(line: str, words: str) -> None:
    with pytest.raises(StrongboxError) as caught:
        validate_cron(line)
    assert words in caught.value.detail
    assert caught.value.errors[0].field == "cron"


def test_an_unknown_time_zone_is_refused_with_an_example_of_a_good_one() -> None:
    with pytest.raises(StrongboxError) as caught:
        validate_timezone("Mars/Olympus_Mons")
    error = caught.value
    assert error.code == "invalid-timezone"
    assert [e.field for e in error.errors] == ["timezone"]
    assert "unknown time zone 'Mars/Olympus_Mons'" in error.detail
    assert "IANA" in error.detail
    assert "Europe/Berlin" in error.detail


@pytest.mark.parametrize(
    "name", ["", "localtime", "right/Europe/Berlin", "../etc/passwd", "Europe"]
)
def test_names_that_are_not_a_place_s_time_zone_are_refused(name: str) -> None:
    with pytest.raises(StrongboxError):
        validate_timezone(name)


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert validate_timezone(name) == name


@pytest.mark.parametrize(
    ("freq", "tz", "words"),
    [
        (HourlyFrequency(every="hour", minute=15), "UTC", "Every hour at minute 15 (UTC)"),
        (
            DailyFrequency(every="day", time="02:00"),
            "Europe/Berlin",
            "Every day at 02:00 (Europe/Berlin)",
        ),
        (
            WeeklyFrequency(every="week", weekday="sun", time="03:30"),
            "Europe/Berlin",
            "Every week on Sunday at 03:30 (Europe/Berlin)",
        ),
        (
            MonthlyFrequency(every="month", day=1, time="04:00"),
            "UTC",
            "Every month on day 1 at 04:00 (UTC)",
        ),
        (
            MonthlyFrequency(every="month", day=31, time="04:00"),
            "UTC",
            "Every month on day 31, or the last day of shorter months, at 04:00 (UTC)",
        ),
        (
            MonthlyFrequency(every="month", day=30, time="04:00"),
            "UTC",
            "Every month on day 30 at 04:00 (UTC); February is skipped, as it has no day 30",
        ),
        (
            MonthlyFrequency(every="month", day=29, time="04:00"),
            "UTC",
            "Every month on day 29 at 04:00 (UTC); February is skipped except in leap years",
        ),
    ],
)
def test_a_frequency_is_described_in_words(freq: Frequency, tz: str, words: str) -> None:
    assert describe(to_cron(freq), tz, freq) == words


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("0 2 * * *", "At 02:00 (Europe/Berlin)"),
        ("30 14 * * 1-5", "At 14:30, Monday through Friday (Europe/Berlin)"),
        ("0 4 L * *", "At 04:00, on the last day of the month (Europe/Berlin)"),
    ],
)
def test_a_cron_line_is_described_in_24_hour_words(line: str, words: str) -> None:
    assert describe(line, "Europe/Berlin", None) == words
