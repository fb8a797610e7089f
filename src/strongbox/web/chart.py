"""Geometry of the chart of backup size and duration over time: pure, no I/O.

Bars are the stored size of each successful backup (left scale), dots joined by a line are its
duration (right scale), oldest on the left. The template draws it as inline SVG with a table as
its text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WIDTH = 640.0
HEIGHT = 180.0
PAD_LEFT = 64.0
PAD_RIGHT = 64.0
PAD_TOP = 12.0
PAD_BOTTOM = 28.0
MAX_POINTS = 30


@dataclass(frozen=True)
class Point:
    name: str
    at: datetime
    size_bytes: int
    duration_seconds: float


@dataclass(frozen=True)
class Column:
    point: Point
    x: float  # bar's left edge
    width: float
    bar_y: float  # top of the size bar
    dot_x: float
    dot_y: float


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    columns: list[Column]
    max_size: int
    max_duration: float
    line: str  # SVG points of the duration line


def build(points: list[Point]) -> Chart | None:
    """The chart of the newest `MAX_POINTS` points (given in any order), or None when empty.

    >>> from datetime import UTC
    >>> c = build([Point("a", datetime(2026, 1, 1, tzinfo=UTC), 100, 10.0),
    ...            Point("b", datetime(2026, 1, 2, tzinfo=UTC), 50, 20.0)])
    >>> [col.point.name for col in c.columns], c.columns[0].bar_y, c.columns[1].dot_y
    (['a', 'b'], 12.0, 12.0)
    """
    if not points:
        return None
    chosen = sorted(points, key=lambda p: p.at)[-MAX_POINTS:]
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    bottom = PAD_TOP + plot_h
    max_size = max(1, max(p.size_bytes for p in chosen))
    max_duration = max(1.0, max(p.duration_seconds for p in chosen))
    step = plot_w / len(chosen)
    width = max(2.0, min(40.0, step * 0.6))
    columns = []
    for index, point in enumerate(chosen):
        center = PAD_LEFT + step * (index + 0.5)
        columns.append(
            Column(
                point=point,
                x=center - width / 2,
                width=width,
                bar_y=bottom - plot_h * point.size_bytes / max_size,
                dot_x=center,
                dot_y=bottom - plot_h * point.duration_seconds / max_duration,
            )
        )
    line = " ".join(f"{c.dot_x:.1f},{c.dot_y:.1f}" for c in columns)
    return Chart(
        WIDTH,
        HEIGHT,
        PAD_TOP,
        bottom,
        PAD_LEFT,
        WIDTH - PAD_RIGHT,
        columns,
        max_size,
        max_duration,
        line,
    )
