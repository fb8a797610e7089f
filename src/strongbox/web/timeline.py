"""Geometry of the one-week timeline in the schedule form: pure, no I/O, no clock.

One lane per schedule (this one first), a bar per run whose width is the estimated duration,
production hours shaded across all lanes, a tick per local midnight. The template draws it as
inline SVG and lists the same facts as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from strongbox.domain.frequency import WEEKDAYS
from strongbox.domain.production_hours import ProductionHours

WEEK = timedelta(days=7)
LABEL_WIDTH = 150.0
PLOT_WIDTH = 560.0
LANE_HEIGHT = 22.0
TOP = 22.0  # room for the day labels
MIN_BAR = 2.0


@dataclass(frozen=True)
class LaneInput:
    label: str
    runs: list[datetime]  # aware
    current: bool = False  # the schedule being edited


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    title: str


@dataclass(frozen=True)
class Lane:
    label: str
    y: float
    current: bool
    bars: list[Bar]

    @property
    def short_label(self) -> str:
        """The label as it fits left of the plot."""
        return self.label if len(self.label) <= 20 else self.label[:19] + "…"


@dataclass(frozen=True)
class Band:
    x: float
    width: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    width: float
    height: float
    plot_x: float
    plot_width: float
    lanes: list[Lane]
    production: list[Band]
    ticks: list[Tick]
    zone: str


def x_of(moment: datetime, start: datetime, plot_width: float = PLOT_WIDTH) -> float:
    """Horizontal position of `moment` in a week from `start`, clamped to the plot.

    >>> s = datetime(2026, 1, 5, tzinfo=UTC)
    >>> x_of(s, s), x_of(s + timedelta(days=3, hours=12), s), x_of(s + WEEK * 2, s)
    (0.0, 280.0, 560.0)
    """
    share = (moment - start) / WEEK
    return max(0.0, min(1.0, share)) * plot_width


def production_windows(
    hours: ProductionHours, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The production-hours windows that touch [start, end), as aware UTC datetimes, clipped.

    >>> h = ProductionHours(days=["mon"], start="22:00", end="06:00", timezone="UTC")
    >>> [(a.isoformat(), b.isoformat()) for a, b in production_windows(
    ...     h, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC))]
    [('2026-01-05T22:00:00+00:00', '2026-01-06T06:00:00+00:00')]
    """
    zone = ZoneInfo(hours.timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    windows: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if WEEKDAYS[day.weekday()] in hours.days:
            opens = _local(day, hours.start, zone)
            end_day = day + timedelta(days=1) if hours.end <= hours.start else day
            closes = _local(end_day, hours.end, zone)
            lo, hi = max(opens, start), min(closes, end)
            if lo < hi:
                windows.append((lo.astimezone(UTC), hi.astimezone(UTC)))
        day += timedelta(days=1)
    return windows


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    if hour == 24:
        return datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return datetime.combine(day, time(hour, minute), zone)


def build(
    start: datetime,
    lanes: list[LaneInput],
    estimate_seconds: float,
    hours: ProductionHours | None,
    zone: str,
) -> Timeline:
    """The picture of the week from `start`: bars of `estimate_seconds` at every run.

    >>> s = datetime(2026, 1, 5, tzinfo=UTC)
    >>> t = build(s, [LaneInput("nightly", [s + timedelta(hours=2)], True)], 3600, None, "UTC")
    >>> bar = t.lanes[0].bars[0]
    >>> round(bar.x - t.plot_x, 2), round(bar.width, 2), len(t.ticks)
    (6.67, 3.33, 6)
    """
    end = start + WEEK
    tz = ZoneInfo(zone)
    out_lanes = []
    for index, lane in enumerate(lanes):
        bars = []
        for run in lane.runs:
            if not start <= run < end:
                continue
            x = x_of(run, start)
            width = max(MIN_BAR, x_of(run + timedelta(seconds=estimate_seconds), start) - x)
            local = run.astimezone(tz)
            bars.append(Bar(LABEL_WIDTH + x, width, f"{lane.label}: {local:%a %d %b %H:%M}"))
        out_lanes.append(Lane(lane.label, TOP + index * LANE_HEIGHT, lane.current, bars))
    label_room = PLOT_WIDTH - 40  # no day label that would be cut at the right edge
    production = []
    if hours is not None:
        for lo, hi in production_windows(hours, start, end):
            x = x_of(lo, start)
            production.append(Band(LABEL_WIDTH + x, x_of(hi, start) - x))
    ticks = []
    day = start.astimezone(tz).date()
    while True:
        day += timedelta(days=1)
        midnight = datetime.combine(day, time(0, 0), tz)
        if midnight >= end:
            break
        x = x_of(midnight, start)
        ticks.append(Tick(LABEL_WIDTH + x, f"{midnight:%a %d}" if x < label_room else ""))
    height = TOP + max(1, len(lanes)) * LANE_HEIGHT + 4
    return Timeline(
        LABEL_WIDTH + PLOT_WIDTH + 4,
        height,
        LABEL_WIDTH,
        PLOT_WIDTH,
        out_lanes,
        production,
        ticks,
        zone,
    )
