"""Slot times of a schedule: the instants at which a cron line fires in a time zone.

Every function takes the time it starts from (`after`, `start`, `at`) and returns aware UTC
datetimes; none reads the clock. cronsim parses the cron line and matches days (`L`, `LW`, `5L`,
`MON#2` ...); the walk over hours and minutes and the time-zone rules are here, because they must
follow Strongbox's contract rather than Debian cron's.

Time zones and daylight saving time (the contract of issue 3):

- A schedule that names hours of the day (the hour field does not start with `*`: every daily,
  weekly and monthly frequency, `30 2 * * *`, `0 1-5 * * *`, `*/15 2 * * *`) follows the wall
  clock of its zone:
  - a local time that does not exist (the spring-forward gap) runs at the first instant after the
    gap: 02:30 on a day when 02:00 jumps to 03:00 runs at 03:00; several slots in one gap run once;
  - a local time that happens twice (fall back) runs once, at its first occurrence (summer time).
- A schedule whose hour field starts with `*` (every hour `15 * * * *`, every n hours `0 */6 * * *`,
  every minute) is an interval, and runs at every real instant whose local time matches: an hourly
  backup runs once in each real hour. On fall back the repeated hour runs twice (02:15 summer time,
  then 02:15 winter time, an hour later); in spring the skipped hour does not run, since no real
  hour is lost. Skipping the repeated hour would leave two hours between backups, which is not what
  a DBA who asked for an hourly backup expects.

cronsim (which mimics Debian cron) gives the same times for lines with fixed minute and hour
fields and for lines whose hour field starts with `*`, except that its hour-by-hour stepping misses
slots in zones whose DST change is 30 minutes (Australia/Lord_Howe). It treats `*/15 2 * * *` (any
minute field starting with `*`) as an interval, against the contract. So here cronsim parses the
line and matches days, and the walk over hours and minutes is Strongbox's own; it is also about
eight times faster, which the analysis of 30 days of an every-minute schedule needs.

Two slots of one schedule never share an instant, but on fall back an hourly schedule has two slots
with the same local wall-clock time: name and key slots by their UTC instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from cronsim import CronSim

from strongbox.domain.frequency import validate_cron, zone_of

MAX_SLOTS = 10_000
SEARCH_YEARS = 50  # like cronsim: a line with no slot in 50 years has none
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY = 86_400
_ONE_DAY = timedelta(days=1)
_ONE_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class _Line:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    match_day: Callable[[date], bool]
    wall_clock: bool  # True: names hours of the day; False: an interval (see the module doc)


@lru_cache(maxsize=512)
def _compile(cron: str) -> _Line:
    line = validate_cron(cron)
    sim = CronSim(line, datetime(2000, 1, 1))
    return _Line(
        minutes=tuple(sorted(sim.minutes)),
        hours=tuple(sorted(sim.hours)),
        months=frozenset(sim.months),
        match_day=sim.match_day,
        wall_clock=not line.split(" ")[1].startswith("*"),
    )


def follows_wall_clock(cron: str) -> bool:
    """True when the cron line names hours of the day, so that DST changes follow the wall clock.

    >>> follows_wall_clock("30 2 * * *"), follows_wall_clock("15 * * * *")
    (True, False)
    """
    return _compile(cron).wall_clock


# ---- public API ------------------------------------------------------------------------------


def iter_slots(cron: str, tz: str, after: datetime) -> Iterator[datetime]:
    """Slot times strictly after `after`, ascending, as aware UTC datetimes.

    Lazy, and ends only when no slot is found within 50 years. Raises `invalid(...)` for a bad cron
    line or time zone, `ValueError` when `after` is naive.
    """
    line, zone = _compile(cron), zone_of(tz)
    start = _epoch(after, "after")
    horizon = _to_local_naive(start, zone).date().toordinal() + 366 * SEARCH_YEARS
    for epoch in _epochs(line, zone, _start_naive(start, zone), horizon):
        if epoch > start:
            yield datetime.fromtimestamp(epoch, UTC)


def next_runs(cron: str, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` slot times strictly after `after` (aware), as aware UTC datetimes.

    Fewer when the line has fewer slots in the next 50 years. See the module doc for DST.

    >>> from datetime import datetime, UTC
    >>> [t.isoformat() for t in next_runs("30 2 * * *", "Europe/Berlin",
    ...                                     datetime(2026, 3, 28, 12, tzinfo=UTC), 2)]
    ['2026-03-29T01:00:00+00:00', '2026-03-30T00:30:00+00:00']
    """
    if count <= 0:
        return []
    runs: list[datetime] = []
    for slot in iter_slots(cron, tz, after):
        runs.append(slot)
        if len(runs) == count:
            break
    return runs


def slot_epochs(
    cron: str, tz: str, start: datetime, end: datetime, *, limit: int | None = None
) -> list[int]:
    """Slot times in (start, end] as UTC epoch seconds, ascending: the fast form for analysis.

    Stops after `limit` slots when one is given (the oldest `limit` are returned).
    """
    line, zone = _compile(cron), zone_of(tz)
    return _between(line, zone, _epoch(start, "start"), _epoch(end, "end"), limit)


def slots_between(
    cron: str, tz: str, start: datetime, end: datetime, *, limit: int = MAX_SLOTS
) -> list[datetime]:
    """Slot times in (start, end], ascending, as aware UTC datetimes: the scheduler's missed slots.

    At most `limit` slots: when there are more, the NEWEST `limit` are returned (the newest slot is
    the one a catch-up runs; older ones are only recorded as missed). The span is searched
    backwards from `end` in windows growing eightfold, so a long downtime costs about as much as
    a short one for an evenly spread line.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    line, zone = _compile(cron), zone_of(tz)
    lo_bound, hi = _epoch(start, "start"), _epoch(end, "end")
    span = 3_600.0
    while True:
        lo = max(lo_bound, hi - span)
        epochs = _between(line, zone, lo, hi, None)
        if len(epochs) >= limit or lo == lo_bound:
            return [datetime.fromtimestamp(e, UTC) for e in epochs[-limit:]]
        span *= 8


def wall_clock_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant (aware UTC) of a naive local time, by the wall-clock rule of the module doc.

    A time in a spring-forward gap gives the first instant after the gap; a repeated time gives its
    first occurrence.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> wall_clock_instant(datetime(2026, 3, 29, 2, 30), ZoneInfo("Europe/Berlin")).isoformat()
    '2026-03-29T01:00:00+00:00'
    """
    naive = local.replace(tzinfo=None, fold=0)
    first, second = _offsets(zone, naive)
    if first >= second:  # an ordinary time, or the first occurrence of a repeated one
        return naive.replace(tzinfo=zone).astimezone(UTC)
    naive_epoch = (naive - datetime(1970, 1, 1)) // timedelta(seconds=1)
    return datetime.fromtimestamp(_gap_end(zone, naive_epoch - second, naive_epoch - first), UTC)


# ---- the walk --------------------------------------------------------------------------------


def _epoch(moment: datetime, name: str) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (got the naive {moment.isoformat()})")
    return moment.timestamp()


def _to_local_naive(epoch: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(epoch, zone).replace(tzinfo=None)


def _start_naive(epoch: float, zone: ZoneInfo) -> datetime:
    """The local time to start the walk from for slots after `epoch`.

    Inside a repeated hour, slots of earlier wall-clock times can still lie ahead (their second
    occurrence), so the walk starts one repeat earlier there.
    """
    naive = _to_local_naive(epoch, zone).replace(fold=0)
    first, second = _offsets(zone, naive)
    return naive - timedelta(seconds=max(0, first - second))


def _between(line: _Line, zone: ZoneInfo, lo: float, hi: float, limit: int | None) -> list[int]:
    """Slot epochs in (lo, hi], ascending, at most `limit`."""
    out: list[int] = []
    if hi <= lo:
        return out
    last_day = _to_local_naive(hi, zone).date().toordinal() + 1
    for epoch in _epochs(line, zone, _start_naive(lo, zone), last_day):
        if epoch > hi:
            break
        if epoch > lo:
            out.append(epoch)
            if limit is not None and len(out) >= limit:
                break
    return out


def _epochs(line: _Line, zone: ZoneInfo, start: datetime, last_ordinal: int) -> Iterator[int]:
    """Instants (UTC epoch seconds) of the slots whose local time is at or after `start`'s minute,
    on days up to `last_ordinal`; strictly ascending."""
    previous = -1 << 62
    for epoch in _raw_epochs(line, zone, start, last_ordinal):
        if epoch > previous:  # several slots in one spring-forward gap share its end
            previous = epoch
            yield epoch


def _raw_epochs(line: _Line, zone: ZoneInfo, start: datetime, last_ordinal: int) -> Iterator[int]:
    # Non-decreasing. Hours whose UTC offset is steady (nearly all) take the fast path: one offset
    # for the hour. Only hours that touch a DST change look at each slot.
    deferred: list[int] = []  # second occurrences in a repeated hour, due after the repeat ends
    day = start.date()
    first_day = True
    while day.toordinal() <= last_ordinal:
        if day.month in line.months and line.match_day(day):
            base = (day.toordinal() - _EPOCH_ORDINAL) * _DAY
            for hour in line.hours:
                if first_day and hour < start.hour:
                    continue
                hour_start = datetime(day.year, day.month, day.day, hour)
                steady = _steady_offset(zone, hour_start)
                for minute in line.minutes:
                    if first_day and hour == start.hour and minute < start.minute:
                        continue
                    naive_epoch = base + hour * 3_600 + minute * 60
                    if steady is not None:
                        if deferred:
                            yield from deferred
                            deferred.clear()
                        yield naive_epoch - steady
                        continue
                    first, second = _offsets(zone, hour_start.replace(minute=minute))
                    if first > second:  # a repeated local time
                        yield naive_epoch - first
                        if not line.wall_clock:
                            deferred.append(naive_epoch - second)
                        continue
                    if deferred:
                        yield from deferred
                        deferred.clear()
                    if first == second:
                        yield naive_epoch - first
                    elif line.wall_clock:  # a local time in a spring-forward gap
                        yield _gap_end(zone, naive_epoch - second, naive_epoch - first)
        first_day = False
        day += _ONE_DAY
    yield from deferred


def _offsets(zone: ZoneInfo, naive: datetime) -> tuple[int, int]:
    """UTC offsets in seconds of a naive local time read as its first and second occurrence.

    Equal for an ordinary time; first > second for a repeated time (fall back); first < second
    for a time in a gap (spring forward), per PEP 495.
    """
    first = zone.utcoffset(naive)
    second = zone.utcoffset(naive.replace(fold=1))
    assert first is not None
    assert second is not None
    return int(first.total_seconds()), int(second.total_seconds())


def _steady_offset(zone: ZoneInfo, hour_start: datetime) -> int | None:
    """The UTC offset (seconds) of the local hour from `hour_start`, if it has no DST change.

    The offsets at both ends of the hour are compared; two changes that cancel out within one hour
    would go unseen, and tzdata has none.
    """
    a, b = _offsets(zone, hour_start)
    c, d = _offsets(zone, hour_start + _ONE_HOUR)
    return a if a == b == c == d else None


def _gap_end(zone: ZoneInfo, before: int, after: int) -> int:
    """The instant a spring-forward gap ends: the smallest epoch in (before, after] with the new
    offset, where `before` is still on the old offset and `after` already on the new one."""
    old = zone.utcoffset(datetime.fromtimestamp(before, zone))
    while after - before > 1:
        middle = (before + after) // 2
        if zone.utcoffset(datetime.fromtimestamp(middle, zone)) == old:
            before = middle
        else:
            after = middle
    return after
