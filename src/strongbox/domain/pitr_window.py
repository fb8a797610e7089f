"""The true restorable window of a database: which stored WAL follows which base backup without
a hole, as a pure function of the bases and the index of stored WAL files.

A base is PITR-ready when the stored WAL covers its range (start LSN to stop LSN, on its
timeline). A window opens at a PITR-ready base's stop time and runs to the last commit stored
in the WAL that follows the base without a hole; a hole (a segment never stored, an indexed
object gone from the storage, a later timeline whose history file is missing) ends it, and is
reported as a gap. Times are the commit times recorded in the WAL, so nothing is a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from strongbox.domain.wal import (
    HISTORY,
    PARTIAL,
    format_lsn,
    parse_wal_name,
    segment_name,
    segment_of,
)


@dataclass(frozen=True)
class StoredWal:
    """One indexed WAL file as the window sees it; `end_lsn` is exclusive."""

    name: str
    kind: str  # "segment", "partial" or "history"
    timeline: int
    start_lsn: int
    end_lsn: int
    first_commit_at: datetime | None = None
    last_commit_at: datetime | None = None


@dataclass(frozen=True)
class BaseRange:
    """A physical base backup as the window sees it."""

    name: str
    timeline: int
    start_lsn: int
    stop_lsn: int
    stop_time: datetime


@dataclass(frozen=True)
class Window:
    """Any time from `start` to `end` (inclusive) can be recovered from `base_backup`."""

    start: datetime
    end: datetime
    base_backup: str
    timeline: int


@dataclass(frozen=True)
class Gap:
    """WAL from `from_lsn` to `to_lsn` (None: up to now) is not stored; the times are the last
    commit stored before it and the first stored after it, when known."""

    from_lsn: int
    to_lsn: int | None
    start: datetime | None
    end: datetime | None
    reason: str


@dataclass(frozen=True)
class SlotLoss:
    """The server removed WAL that the stream had not received (a slot `lost` or dropped):
    everything after the stored WAL up to `to_lsn` (None when unknown) is gone."""

    reason: str
    to_lsn: int | None = None


@dataclass(frozen=True)
class PitrWindows:
    windows: list[Window] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    latest_restorable_time: datetime | None = None
    ready_bases: frozenset[str] = frozenset()


def compute_windows(
    bases: Iterable[BaseRange],
    wal: Iterable[StoredWal],
    *,
    missing: frozenset[str] = frozenset(),
    slot_loss: SlotLoss | None = None,
) -> PitrWindows:
    """The windows (one per PITR-ready base, oldest base first), the gaps, the latest
    restorable time (the end of the latest window) and the names of the PITR-ready bases.

    `missing` names indexed files whose object is no longer in the storage: they count as not
    stored, and the gap says so.

    >>> from datetime import UTC
    >>> t = lambda s: datetime(2026, 11, 29, 10, 0, s, tzinfo=UTC)
    >>> def seg(n, c):
    ...     return StoredWal(segment_name(1, n), "segment", 1, n << 24, (n + 1) << 24, c, c)
    >>> wal = [seg(1, t(1)), seg(2, t(5)), seg(4, t(9))]
    >>> base = BaseRange("b1", 1, (1 << 24) + 40, (1 << 24) + 400, t(2))
    >>> found = compute_windows([base], wal)
    >>> [(w.base_backup, w.start.second, w.end.second) for w in found.windows]
    [('b1', 2, 5)]
    >>> [(format_lsn(g.from_lsn), g.reason) for g in found.gaps]
    [('0/3000000', 'segment 000000010000000000000003 was never stored')]
    """
    wal = list(wal)
    files = _usable(wal, missing)
    histories = _timelines_with_history(wal, missing)
    gaps = _gaps(files, histories, missing)
    if slot_loss is not None:
        gaps.append(_slot_gap(files, slot_loss))
    windows: list[Window] = []
    ready: set[str] = set()
    for base in sorted(bases, key=lambda b: (b.stop_time, b.name)):
        reach = _reach(files, base.timeline, base.start_lsn, histories)
        if reach is None or reach.end_lsn < base.stop_lsn:
            continue
        ready.add(base.name)
        last = max((c for c in reach.commits if c is not None), default=None)
        end = last if last is not None and last > base.stop_time else base.stop_time
        windows.append(Window(base.stop_time, end, base.name, base.timeline))
    latest = max((w.end for w in windows), default=None)
    return PitrWindows(windows, gaps, latest, frozenset(ready))


def covers(wal: Iterable[StoredWal], timeline: int, start_lsn: int, stop_lsn: int) -> bool:
    """Whether the stored WAL holds everything from `start_lsn` to `stop_lsn` on `timeline`.

    >>> whole = StoredWal("000000010000000000000002", "segment", 1, 2 << 24, 3 << 24)
    >>> covers([whole], 1, (2 << 24) + 40, (2 << 24) + 900)
    True
    >>> covers([whole], 1, (2 << 24) + 40, (3 << 24) + 10)
    False
    """
    wal = list(wal)
    histories = _timelines_with_history(wal, frozenset())
    reach = _reach(_usable(wal, frozenset()), timeline, start_lsn, histories)
    return reach is not None and reach.end_lsn >= stop_lsn


@dataclass(frozen=True)
class _Reach:
    end_lsn: int
    commits: tuple[datetime | None, ...]


def _usable(wal: Iterable[StoredWal], missing: frozenset[str]) -> dict[int, list[StoredWal]]:
    """Per timeline, the stored segments (a partial only where its segment is not stored
    whole), in LSN order; history files are left out."""
    by_timeline: dict[int, dict[int, StoredWal]] = {}
    for item in wal:
        if item.kind == HISTORY or item.name in missing:
            continue
        slots = by_timeline.setdefault(item.timeline, {})
        number = segment_of(item.start_lsn)
        held = slots.get(number)
        if held is None or held.kind == PARTIAL:
            slots[number] = item
    return {tl: [slots[n] for n in sorted(slots)] for tl, slots in by_timeline.items()}


def _timelines_with_history(wal: Iterable[StoredWal], missing: frozenset[str]) -> set[int]:
    return {w.timeline for w in wal if w.kind == HISTORY and w.name not in missing}


def _reach(
    files: dict[int, list[StoredWal]], timeline: int, lsn: int, histories: set[int]
) -> _Reach | None:
    """How far the stored WAL runs without a hole from `lsn` on `timeline` (see `_chain`);
    None when `lsn` itself is not stored."""
    chain = _chain(files, timeline, lsn, histories)
    if chain is None:
        return None
    return _Reach(chain[-1].end_lsn, tuple(w.last_commit_at for w in chain))


def wal_chain(
    wal: Iterable[StoredWal], timeline: int, lsn: int, *, missing: frozenset[str] = frozenset()
) -> list[StoredWal]:
    """The stored WAL files a recovery from `lsn` on `timeline` replays, in order, up to the
    first hole (history files left out); empty when `lsn` itself is not stored.

    >>> seg = lambda n: StoredWal(segment_name(1, n), "segment", 1, n << 24, (n + 1) << 24)
    >>> [w.name[-2:] for w in wal_chain([seg(1), seg(2), seg(3), seg(5)], 1, (2 << 24) + 8)]
    ['02', '03']
    """
    wal = list(wal)
    histories = _timelines_with_history(wal, missing)
    return _chain(_usable(wal, missing), timeline, lsn, histories) or []


def _chain(
    files: dict[int, list[StoredWal]], timeline: int, lsn: int, histories: set[int]
) -> list[StoredWal] | None:
    """The files from the one holding `lsn` on `timeline` to the first hole, following a later
    timeline whose history file is stored and whose first stored segment starts inside what
    is already reached; None when `lsn` itself is not stored."""
    chain: list[StoredWal] = []
    for item in files.get(timeline, []):
        if not chain:
            if item.start_lsn <= lsn < item.end_lsn:
                chain.append(item)
            continue
        if item.start_lsn != chain[-1].end_lsn:
            break
        chain.append(item)
    if not chain:
        return None
    end = chain[-1].end_lsn
    later = sorted(tl for tl in files if tl > timeline and tl in histories)
    for tl in later:
        first = files[tl][0]
        if first.start_lsn <= end:
            switched = _chain(files, tl, first.start_lsn, histories)
            if switched is not None and switched[-1].end_lsn > end:
                return [*chain, *switched]
    return chain


def _gaps(
    files: dict[int, list[StoredWal]], histories: set[int], missing: frozenset[str]
) -> list[Gap]:
    gaps: list[Gap] = []
    for timeline, items in sorted(files.items()):
        for at, (before, after) in enumerate(pairwise(items)):
            if after.start_lsn > before.end_lsn:
                gaps.append(
                    Gap(
                        before.end_lsn,
                        after.start_lsn,
                        max(
                            (w.last_commit_at for w in items[: at + 1] if w.last_commit_at),
                            default=None,
                        ),
                        min(
                            (w.first_commit_at for w in items[at + 1 :] if w.first_commit_at),
                            default=None,
                        ),
                        _missing_reason(timeline, before.end_lsn, after.start_lsn, missing),
                    )
                )
        if timeline > 1 and timeline not in histories and any(tl < timeline for tl in files):
            first = items[0]
            gaps.append(
                Gap(
                    first.start_lsn,
                    first.start_lsn,
                    None,
                    first.first_commit_at,
                    f"timeline {timeline} begins without its history file "
                    f"{timeline:08X}.history, so WAL cannot be followed onto it",
                )
            )
    return gaps


def _missing_reason(timeline: int, start: int, stop: int, missing: frozenset[str]) -> str:
    numbers = range(segment_of(start), segment_of(stop - 1) + 1)
    names = [segment_name(timeline, n) for n in numbers]
    deleted = [n for n in names if n in missing]
    if deleted:
        return (
            f"segment {_span(deleted)} was deleted from the storage: it is indexed, but its "
            "object is gone"
        )
    return f"segment {_span(names)} was never stored"


def _span(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"


def _slot_gap(files: dict[int, list[StoredWal]], loss: SlotLoss) -> Gap:
    tails = [items[-1] for items in files.values() if items]
    last = max(tails, key=lambda w: (w.timeline, w.end_lsn), default=None)
    from_lsn = last.end_lsn if last is not None else 0
    start = last.last_commit_at if last is not None else None
    return Gap(from_lsn, loss.to_lsn, start, None, loss.reason)


def lsn_text(lsn: int | None) -> str | None:
    """An LSN for people and the API, or None."""
    return None if lsn is None else format_lsn(lsn)


def wal_name_ok(name: str) -> bool:
    """Whether `name` is a WAL file name (for names read back from a storage listing)."""
    try:
        parse_wal_name(name)
    except ValueError:
        return False
    return True
