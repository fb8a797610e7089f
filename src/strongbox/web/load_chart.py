"""Geometry of the small chart of what a backup cost its source: pure, no I/O.

Two lines over the backup's run, each on its own scale: the backup's read rate (MB/s) and the
source's busiest rate (transactions/s for PostgreSQL, statements/s for MySQL/MariaDB). The
template draws it as inline SVG with a table of the samples as its text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 640.0
HEIGHT = 120.0
PAD_X = 56.0
PAD_TOP = 10.0
PAD_BOTTOM = 22.0
BACKUP_RATE = "backup_read_mb_per_s"
# The rate shown for the source, the first the engine reports.
SOURCE_RATES = ("transactions_per_s", "questions_per_s")
UNITS = {"transactions_per_s": "transactions/s", "questions_per_s": "statements/s"}


@dataclass(frozen=True)
class Series:
    label: str
    peak: float
    points: str  # SVG polyline points


@dataclass(frozen=True)
class LoadChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    seconds: float  # the run's length, at the right edge
    backup: Series
    source: Series | None


def build(load: dict[str, Any] | None) -> LoadChart | None:
    """The chart of a backup's `source_load` (as the API shows it), or None without samples.

    >>> c = build({"samples": [
    ...     {"elapsed_seconds": 2, "backup_read_mb_per_s": 4.0, "transactions_per_s": 10.0},
    ...     {"elapsed_seconds": 4, "backup_read_mb_per_s": 2.0, "transactions_per_s": 30.0}]})
    >>> c.backup.points, c.source.label, c.source.peak
    ('320.0,10.0 584.0,54.0', 'transactions/s', 30.0)
    """
    samples = (load or {}).get("samples") or []
    if not samples:
        return None
    seconds = max(float(s.get("elapsed_seconds", 0.0)) for s in samples) or 1.0
    bottom = HEIGHT - PAD_BOTTOM
    left, right = PAD_X, WIDTH - PAD_X

    def series(key: str, label: str) -> Series:
        values = [(float(s["elapsed_seconds"]), float(s.get(key, 0.0))) for s in samples]
        peak = max(v for _, v in values)
        scale = peak or 1.0
        first = [(0.0, values[0][1])] if len(values) == 1 else []
        points = " ".join(
            f"{left + (right - left) * t / seconds:.1f},"
            f"{bottom - (bottom - PAD_TOP) * v / scale:.1f}"
            for t, v in first + values
        )
        return Series(label, peak, points)

    source_key = next((k for k in SOURCE_RATES if k in samples[0]), None)
    return LoadChart(
        WIDTH,
        HEIGHT,
        left,
        right,
        PAD_TOP,
        bottom,
        seconds,
        series(BACKUP_RATE, "backup read MB/s"),
        series(source_key, UNITS[source_key]) if source_key else None,
    )
