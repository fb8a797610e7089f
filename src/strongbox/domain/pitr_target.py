"""A restore to a point in time, as pure functions: checking the target against the true
windows (`pitr_window`), choosing the base, and choosing the WAL files to stage.

Times are compared as instants (aware datetimes), so the server's time zone never moves a
target; a time without an offset is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from strongbox.domain.pitr_window import (
    BaseRange,
    Gap,
    PitrWindows,
    StoredWal,
    Window,
    lsn_text,
    wal_chain,
)
from strongbox.domain.wal import HISTORY


class TargetRefused(ValueError):
    """The target cannot be reached from the stored WAL; the message names the windows."""


def utc_text(when: datetime | None) -> str:
    """A time for people, in UTC.

    >>> from datetime import timedelta, timezone
    >>> utc_text(datetime(2026, 11, 29, 5, 15, 3, tzinfo=timezone(timedelta(hours=-5))))
    '2026-11-29T10:15:03Z'
    """
    if when is None:
        return "an unknown time"
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def windows_text(found: PitrWindows) -> str:
    """The valid windows, for a refusal."""
    if not found.windows:
        return (
            "there is no restorable window: take a physical backup while the WAL stream is on, "
            "and wait until its WAL is stored"
        )
    return "the valid windows are " + "; ".join(
        f"{utc_text(w.start)} to {utc_text(w.end)} from base {w.base_backup} "
        f"(timeline {w.timeline})"
        for w in found.windows
    )


def choose_window(found: PitrWindows, target: datetime | None, base: str | None) -> Window:
    """The window a restore to `target` (None: the latest stored commit) recovers in: the one
    of `base` when given, else the newest base's window holding the target. Raises
    TargetRefused naming the valid windows (and the gap, for a target inside one), or
    ValueError for a time without an offset.

    >>> from datetime import timedelta
    >>> t = lambda m: datetime(2026, 11, 29, 10, m, tzinfo=UTC)
    >>> found = PitrWindows([Window(t(0), t(30), "b1", 1), Window(t(10), t(30), "b2", 1)],
    ...     [], t(30), frozenset({"b1", "b2"}))
    >>> choose_window(found, t(20), None).base_backup
    'b2'
    >>> choose_window(found, t(20), "b1").base_backup
    'b1'
    >>> try:
    ...     choose_window(found, t(5), "b2")
    ... except TargetRefused as exc:
    ...     print(str(exc).split(";")[0])
    2026-11-29T10:05:00Z is before the end of base b2 (2026-11-29T10:10:00Z)
    """
    if target is not None and (target.tzinfo is None or target.utcoffset() is None):
        raise ValueError("a point in time needs an explicit offset, e.g. 2026-11-29T10:15:03Z")
    if base is not None and base not in found.ready_bases:
        raise TargetRefused(
            f"backup '{base}' is not a PITR-ready base (a physical backup whose WAL is "
            f"stored); {windows_text(found)}"
        )
    windows = [w for w in found.windows if base is None or w.base_backup == base]
    if not windows:
        raise TargetRefused(windows_text(found))
    if target is None:
        return max(windows, key=lambda w: (w.end, w.start, w.base_backup))
    inside = [w for w in windows if w.start <= target <= w.end]
    if inside:
        return max(inside, key=lambda w: (w.start, w.base_backup))
    raise TargetRefused(f"{_why(found, windows, target)}; {windows_text(found)}")


def _why(found: PitrWindows, windows: list[Window], target: datetime) -> str:
    shown = utc_text(target)
    gap = next((g for g in found.gaps if _inside(g, target)), None)
    if gap is not None:
        return f"{shown} falls in {_gap_text(gap)}"
    latest = found.latest_restorable_time
    behind = [g for g in found.gaps if g.start is not None and g.start < target]
    if behind and (latest is None or target > latest):
        gap = max(behind, key=lambda g: g.from_lsn)
        return f"{shown} lies beyond {_gap_text(gap)}: no base before the gap reaches it"
    if latest is not None and target > latest:
        return (
            f"{shown} is after the last stored commit (latest_restorable_time {utc_text(latest)})"
        )
    earliest = min(windows, key=lambda w: w.start)
    if target < earliest.start:
        ended = utc_text(earliest.start)
        return f"{shown} is before the end of base {earliest.base_backup} ({ended})"
    return f"{shown} is outside every window"


def _gap_text(gap: Gap) -> str:
    return (
        f"a gap of the stored WAL, from {utc_text(gap.start)} to "
        f"{utc_text(gap.end) if gap.end else 'now'} (LSN {lsn_text(gap.from_lsn)} to "
        f"{lsn_text(gap.to_lsn) or 'now'}: {gap.reason})"
    )


def _inside(gap: Gap, target: datetime) -> bool:
    if gap.start is None or target <= gap.start:
        return False
    return gap.end is None or target < gap.end


@dataclass(frozen=True)
class WalToStage:
    """The WAL files a recovery from a base to a target needs, and what it must reach."""

    files: list[StoredWal]  # history files first, then the segments in replay order
    stop_at_target: bool  # False: replay all of them (no commit after the target is among them)
    timeline: str  # recovery_target_timeline
    # The latest commit the stored WAL holds at or before the target (None: none known):
    # the recovery must have replayed at least up to it.
    last_commit_at_least: datetime | None


def wal_to_stage(
    wal: Sequence[StoredWal],
    base: BaseRange,
    target: datetime | None,
    *,
    missing: frozenset[str] = frozenset(),
) -> WalToStage:
    """The files from the base's start segment to the one holding the first commit after
    `target` (the commit recovery stops before; None: to the end of the stored WAL), never
    short of the base's stop LSN, with the history files of the timelines they are on.

    >>> t = lambda s: datetime(2026, 11, 29, 10, 0, s, tzinfo=UTC)
    >>> def seg(n, first, last):
    ...     return StoredWal(f"00000001000000000000000{n}", "segment", 1, n << 24,
    ...         (n + 1) << 24, t(first), t(last))
    >>> wal = [seg(1, 1, 2), seg(2, 3, 5), seg(3, 7, 9), seg(4, 10, 12)]
    >>> base = BaseRange("b", 1, (1 << 24) + 10, (1 << 24) + 900, t(2))
    >>> plan = wal_to_stage(wal, base, t(6))
    >>> [f.name[-1] for f in plan.files], plan.stop_at_target, plan.last_commit_at_least.second
    (['1', '2', '3'], True, 5)
    >>> plan = wal_to_stage(wal, base, None)
    >>> [f.name[-1] for f in plan.files], plan.stop_at_target, plan.last_commit_at_least.second
    (['1', '2', '3', '4'], False, 12)
    """
    chain = wal_chain(wal, base.timeline, base.start_lsn, missing=missing)
    picked: list[StoredWal] = []
    for item in chain:
        picked.append(item)
        past_target = (
            target is not None and item.last_commit_at is not None and item.last_commit_at > target
        )
        if past_target and item.end_lsn >= base.stop_lsn:
            break
    stop = target is not None and any(
        w.last_commit_at is not None and w.last_commit_at > target for w in picked
    )
    timelines = {w.timeline for w in picked}
    histories = [
        w for w in wal if w.kind == HISTORY and w.timeline in timelines and w.name not in missing
    ]
    return WalToStage(
        files=[*sorted(histories, key=lambda w: w.timeline), *picked],
        stop_at_target=stop,
        timeline="latest" if len(timelines) > 1 else str(base.timeline),
        # From the whole chain, not only the files picked: a pick that fell short is caught.
        last_commit_at_least=_last_commit(chain, target),
    )


def _last_commit(files: list[StoredWal], target: datetime | None) -> datetime | None:
    seen: list[datetime] = []
    for w in files:
        for commit in (w.first_commit_at, w.last_commit_at):
            if commit is not None and (target is None or commit <= target):
                seen.append(commit)
    return max(seen, default=None)
