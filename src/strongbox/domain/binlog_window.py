"""The true restorable window of a MySQL/MariaDB database: which stored binlog files follow a
logical backup's recorded position without a hole, as a pure function of the backups and the
index of stored binlog files (the sibling of `pitr_window` for PostgreSQL's WAL).

A window opens at a logical backup's start (its dump's snapshot is at its recorded binlog
position) and runs to the last change event stored in the files that follow that position
without a hole. A hole is a file never stored (purged on the server before it was uploaded), a
file whose object is gone from the storage, or a change of the server id that wrote the files
(another server, or one re-created); each ends the windows that reach it and is a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from strongbox.domain.binlog import parse_binlog_name, position_text
from strongbox.domain.pitr_window import Window

NEW_BACKUP = "take a new backup"


@dataclass(frozen=True)
class StoredBinlog:
    """One indexed binlog file as the window sees it; `partial` when only its start (up to
    `end_position`, exclusive) is stored because the server is still writing it."""

    name: str  # the server's base name, e.g. "mariadb-bin.000003"
    partial: bool
    start_position: int
    end_position: int
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    server_id: int | None = None
    first_gtid: str | None = None
    last_gtid: str | None = None


@dataclass(frozen=True)
class BinlogBase:
    """A logical backup as the window sees it: where its dump's snapshot is in the binlog."""

    name: str
    file: str
    position: int
    taken_at: datetime


@dataclass(frozen=True)
class BinlogGap:
    """Binlog from `from_position` to `to_position` (None: up to now) is not stored; the times
    are the last change stored before it and the first stored after it, when known."""

    from_position: str
    to_position: str | None
    start: datetime | None
    end: datetime | None
    reason: str


@dataclass(frozen=True)
class BinlogWindows:
    windows: list[Window] = field(default_factory=list)
    gaps: list[BinlogGap] = field(default_factory=list)
    latest_restorable_time: datetime | None = None
    ready_bases: frozenset[str] = frozenset()


def compute_binlog_windows(
    bases: Iterable[BinlogBase],
    files: Iterable[StoredBinlog],
    *,
    missing: frozenset[str] = frozenset(),
) -> BinlogWindows:
    """The windows (one per backup whose position is stored, oldest first), the gaps, the
    latest restorable time and the names of the PITR-ready backups. `missing` names indexed
    files (as indexed: a partial one with its `.partial` suffix) whose object is gone.

    >>> from datetime import UTC
    >>> t = lambda s: datetime(2026, 11, 29, 10, 0, s, tzinfo=UTC)
    >>> def f(n, c, partial=False):
    ...     return StoredBinlog(f"bin.{n:06d}", partial, 4, 900, c, c, 1)
    >>> stored = [f(1, t(1)), f(2, t(5)), f(4, t(9), True)]
    >>> found = compute_binlog_windows([BinlogBase("b1", "bin.000001", 300, t(2))], stored)
    >>> [(w.base_backup, w.start.second, w.end.second) for w in found.windows]
    [('b1', 2, 5)]
    >>> [(g.from_position, g.to_position) for g in found.gaps]
    [('bin.000002:900', 'bin.000004:4')]
    """
    indexed = list(files)
    usable = _usable(indexed, missing)
    gaps = _gaps(usable, indexed, missing)
    windows: list[Window] = []
    ready: set[str] = set()
    for base in sorted(bases, key=lambda b: (b.taken_at, b.name)):
        reached = _reach(usable, base)
        if reached is None:
            continue
        ready.add(base.name)
        last = max((f.last_event_at for f in reached if f.last_event_at), default=None)
        end = last if last is not None and last > base.taken_at else base.taken_at
        windows.append(Window(base.taken_at, end, base.name, reached[0].server_id or 0))
    latest = max((w.end for w in windows), default=None)
    return BinlogWindows(windows, gaps, latest, frozenset(ready))


def _indexed_name(item: StoredBinlog) -> str:
    return item.name + ".partial" if item.partial else item.name


def _usable(files: list[StoredBinlog], missing: frozenset[str]) -> list[StoredBinlog]:
    """The stored files in sequence order, one per name (whole rather than partial)."""
    chosen: dict[tuple[str, int], StoredBinlog] = {}
    for item in files:
        if _indexed_name(item) in missing:
            continue
        parsed = parse_binlog_name(item.name)
        key = (parsed.stem, parsed.number)
        held = chosen.get(key)
        if held is None or held.partial:
            chosen[key] = item
    return [chosen[k] for k in sorted(chosen)]


def _follows(before: StoredBinlog, after: StoredBinlog) -> bool:
    first, second = parse_binlog_name(before.name), parse_binlog_name(after.name)
    return (
        not before.partial
        and first.stem == second.stem
        and second.number == first.number + 1
        and before.server_id == after.server_id
        and not _domain_changed(before, after)
    )


def gtid_domain(gtid: str | None) -> int | None:
    """The replication domain of a MariaDB GTID (`domain-server-sequence`); None for none, or
    for a MySQL GTID (`uuid:number`), which has no domain.

    >>> gtid_domain("0-1-42"), gtid_domain("3e11fa47-71ca-11e1-9e33-c80aa9429562:23")
    (0, None)
    """
    parts = (gtid or "").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0])


def _domain_changed(before: StoredBinlog, after: StoredBinlog) -> bool:
    """The GTID domain of the last transaction before and the first after differ (a server
    re-created with another gtid_domain_id): the files may not continue each other."""
    old, new = gtid_domain(before.last_gtid), gtid_domain(after.first_gtid)
    return old is not None and new is not None and old != new


def reach_from(files: list[StoredBinlog], base: BinlogBase) -> list[StoredBinlog] | None:
    """The stored files (none of them `missing`) a replay from `base`'s position reads, in
    order, up to the first hole; None when the position itself is not stored."""
    return _reach(_usable(files, frozenset()), base)


def _reach(usable: list[StoredBinlog], base: BinlogBase) -> list[StoredBinlog] | None:
    """The files from the base's position on without a hole; None when its position itself
    is not stored."""
    start = next((i for i, f in enumerate(usable) if f.name == base.file), None)
    if start is None or usable[start].end_position < base.position:
        return None
    reached = [usable[start]]
    for before, after in pairwise(usable[start:]):
        if not _follows(before, after):
            break
        reached.append(after)
    return reached


def _gaps(
    usable: list[StoredBinlog], indexed: list[StoredBinlog], missing: frozenset[str]
) -> list[BinlogGap]:
    gone = sorted(f.name for f in indexed if _indexed_name(f) in missing)
    gaps = []
    for before, after in pairwise(usable):
        if _follows(before, after):
            continue
        gaps.append(
            BinlogGap(
                position_text(before.name, before.end_position),
                position_text(after.name, after.start_position),
                before.last_event_at,
                after.first_event_at,
                _reason(before, after, gone),
            )
        )
    head = usable[0] if usable else None
    before_head = [n for n in gone if head is not None and n < head.name]
    if before_head:
        gaps.append(
            BinlogGap(
                before_head[0],
                position_text(head.name, head.start_position) if head else None,
                None,
                head.first_event_at if head else None,
                _deleted(before_head),
            )
        )
    tail = usable[-1] if usable else None
    after_tail = [n for n in gone if tail is None or n > tail.name]
    if after_tail:
        gaps.append(
            BinlogGap(
                position_text(tail.name, tail.end_position) if tail else after_tail[0],
                None,
                tail.last_event_at if tail else None,
                None,
                _deleted(after_tail),
            )
        )
    return gaps


def _reason(before: StoredBinlog, after: StoredBinlog, gone: list[str]) -> str:
    if _domain_changed(before, after) and not before.partial:
        return (
            f"the GTID domain changed from {gtid_domain(before.last_gtid)} to "
            f"{gtid_domain(after.first_gtid)} at {after.name} (another or a re-created server "
            f"writes the binary log); {NEW_BACKUP}"
        )
    if before.server_id != after.server_id and not before.partial:
        return (
            f"the server id changed from {before.server_id} to {after.server_id} at "
            f"{after.name} (another or a re-created server writes the binary log); {NEW_BACKUP}"
        )
    first, last = parse_binlog_name(before.name), parse_binlog_name(after.name)
    between = [n for n in gone if before.name <= n < after.name]
    if between:
        return _deleted(between)
    if before.partial and last.number == first.number + 1:
        return (
            f"the end of {before.name} was never stored (the server purged it before it was "
            f"uploaded); {NEW_BACKUP}"
        )
    width = len(before.name) - len(first.stem) - 1
    names = [f"{first.stem}.{n:0{width}d}" for n in range(first.number + 1, last.number)]
    if before.partial:
        names.insert(0, before.name)
    return (
        f"binlog file {_span(names)} was never stored: the server purged it before it was "
        f"uploaded; {NEW_BACKUP}"
    )


def _span(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"


def _deleted(names: list[str]) -> str:
    return (
        f"binlog file {_span(names)} was deleted from the storage: it is indexed, but its object "
        f"is gone; {NEW_BACKUP}"
    )
