"""A restore of a MySQL/MariaDB database to a point in time, as pure functions: checking the
target against the true binlog windows (`binlog_window`) and choosing the base (the sibling of
`pitr_target` for PostgreSQL's WAL, with the same refusals and the same `TargetRefused`).

Times are compared as instants (aware datetimes), so the server's time zone never moves a
target; a time without an offset is refused rather than guessed.
"""

from __future__ import annotations

from datetime import datetime

from strongbox.domain.binlog_window import BinlogGap, BinlogWindows
from strongbox.domain.pitr_target import TargetRefused, utc_text
from strongbox.domain.pitr_window import Window


def binlog_windows_text(found: BinlogWindows) -> str:
    """The valid windows, for a refusal."""
    if not found.windows:
        return (
            "there is no restorable window: take a logical backup while the binlog stream is "
            "on, and wait until the binlog after it is stored"
        )
    return "the valid windows are " + "; ".join(
        f"{utc_text(w.start)} to {utc_text(w.end)} from backup {w.base_backup}"
        for w in found.windows
    )


def choose_binlog_window(found: BinlogWindows, target: datetime | None, base: str | None) -> Window:
    """The window a restore to `target` (None: the last stored event) replays in: the one of
    `base` when given, else the newest backup's window holding the target. Raises
    TargetRefused naming the valid windows (and the gap, for a target in or beyond one), or
    ValueError for a time without an offset.

    >>> from datetime import UTC
    >>> t = lambda m: datetime(2026, 11, 29, 10, m, tzinfo=UTC)
    >>> found = BinlogWindows([Window(t(0), t(30), "b1", 1), Window(t(10), t(30), "b2", 1)],
    ...     [], t(30), frozenset({"b1", "b2"}))
    >>> choose_binlog_window(found, t(20), None).base_backup
    'b2'
    >>> choose_binlog_window(found, t(20), "b1").base_backup
    'b1'
    >>> choose_binlog_window(found, None, None).base_backup
    'b2'
    >>> try:
    ...     choose_binlog_window(found, t(5), "b2")
    ... except TargetRefused as exc:
    ...     print(str(exc).split(";")[0])
    2026-11-29T10:05:00Z is before backup b2 (taken from 2026-11-29T10:10:00Z)
    """
    if target is not None and (target.tzinfo is None or target.utcoffset() is None):
        raise ValueError("a point in time needs an explicit offset, e.g. 2026-11-29T10:15:03Z")
    if base is not None and base not in found.ready_bases:
        raise TargetRefused(
            f"backup '{base}' is not a PITR-ready base (a succeeded logical backup whose "
            f"binlog position and the binlog after it are stored); {binlog_windows_text(found)}"
        )
    windows = [w for w in found.windows if base is None or w.base_backup == base]
    if not windows:
        raise TargetRefused(binlog_windows_text(found))
    if target is None:
        return max(windows, key=lambda w: (w.end, w.start, w.base_backup))
    inside = [w for w in windows if w.start <= target <= w.end]
    if inside:
        return max(inside, key=lambda w: (w.start, w.base_backup))
    raise TargetRefused(f"{_why(found, windows, target)}; {binlog_windows_text(found)}")


def _why(found: BinlogWindows, windows: list[Window], target: datetime) -> str:
    """Why no window of `windows` holds `target`.

    >>> from datetime import UTC
    >>> t = lambda m: datetime(2026, 11, 29, 10, m, tzinfo=UTC)
    >>> gap = BinlogGap("bin.000002:900", "bin.000004:4", t(12), t(20), "purged")
    >>> found = BinlogWindows([Window(t(10), t(12), "b1", 1)], [gap], t(12), frozenset({"b1"}))
    >>> _why(found, found.windows, t(15))  # doctest: +ELLIPSIS
    '2026-11-29T10:15:00Z falls in a gap of the stored binlog, ... bin.000002:900 to ...'
    >>> _why(found, found.windows, t(25))  # doctest: +ELLIPSIS
    '2026-11-29T10:25:00Z lies beyond a gap ...: no backup before the gap reaches it'
    """
    shown = utc_text(target)
    gap = next((g for g in found.gaps if _inside(g, target)), None)
    if gap is not None:
        return f"{shown} falls in {_gap_text(gap)}"
    reach = max(w.end for w in windows)
    if target > reach:
        # A gap that cuts these windows short, before the target.
        cutting = [
            g
            for g in found.gaps
            if g.start is not None and g.start < target and (g.end is None or g.end > reach)
        ]
        if cutting:
            gap = min(cutting, key=lambda g: g.start or target)
            return f"{shown} lies beyond {_gap_text(gap)}: no backup before the gap reaches it"
        latest = utc_text(found.latest_restorable_time)
        return f"{shown} is after the last stored event (latest_restorable_time {latest})"
    earliest = min(windows, key=lambda w: w.start)
    if target < earliest.start:
        taken = utc_text(earliest.start)
        return f"{shown} is before backup {earliest.base_backup} (taken from {taken})"
    return f"{shown} is outside every window"


def _gap_text(gap: BinlogGap) -> str:
    return (
        f"a gap of the stored binlog, from {utc_text(gap.start)} to "
        f"{utc_text(gap.end) if gap.end else 'now'} (position {gap.from_position} to "
        f"{gap.to_position or 'now'}: {gap.reason})"
    )


def _inside(gap: BinlogGap, target: datetime) -> bool:
    if gap.start is None or target <= gap.start:
        return False
    return gap.end is None or target < gap.end
