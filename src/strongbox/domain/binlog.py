"""MySQL/MariaDB binary log files as point-in-time recovery sees them: their names (read from a
server, so checked before they become an object key or a spool path) and what a file holds
(read from its event headers, so untrusted bytes are only ever measured, never executed).

A binlog file is the 4-byte magic `\\xfebin` followed by events; each event starts with a
19-byte header: timestamp (UTC unix seconds), type, server id, event size, next position,
flags (little-endian). A file cut short (the one being written) ends at its last whole event.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

MAGIC = b"\xfebin"
HEADER = struct.Struct("<IBIIIH")
HEADER_SIZE = HEADER.size  # 19
MAX_EVENT_SIZE = 1 << 30  # the server's largest packet: a larger "event" is garbage

# Events that describe the file itself rather than a change: their time is not a change time.
_STOP, _ROTATE, _FORMAT_DESCRIPTION, _HEARTBEAT = 3, 4, 15, 27
_MYSQL_GTID, _MYSQL_PREVIOUS_GTIDS = 33, 35
_MARIADB_CHECKPOINT, _MARIADB_GTID, _MARIADB_GTID_LIST, _MARIADB_START_ENCRYPTION = (
    161,
    162,
    163,
    164,
)
_BOOKKEEPING = frozenset(
    {
        _STOP,
        _ROTATE,
        _FORMAT_DESCRIPTION,
        _HEARTBEAT,
        _MYSQL_PREVIOUS_GTIDS,
        _MARIADB_CHECKPOINT,
        _MARIADB_GTID_LIST,
        _MARIADB_START_ENCRYPTION,
    }
)

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,50}(?:\.[A-Za-z0-9_-]{1,20})*)\.(\d{6,10})$")
PARTIAL_SUFFIX = ".partial"
# Index kinds (`wal_segments.kind`) of a whole binlog file and of the start of the current one.
BINLOG, BINLOG_PARTIAL = "binlog", "binlog-partial"
BINLOG_KINDS = (BINLOG, BINLOG_PARTIAL)


@dataclass(frozen=True, order=True)
class BinlogName:
    """A binlog file's base name, split into its stem and sequence number."""

    stem: str
    number: int
    name: str

    def following(self) -> str:
        """The name of the next file the server writes.

        >>> parse_binlog_name("mariadb-bin.000009").following()
        'mariadb-bin.000010'
        """
        width = len(self.name) - len(self.stem) - 1
        return f"{self.stem}.{self.number + 1:0{width}d}"


def parse_binlog_name(name: str) -> BinlogName:
    """Check a binlog base name (as `SHOW BINARY LOGS` gives it) and split it.

    >>> parse_binlog_name("mariadb-bin.000003")
    BinlogName(stem='mariadb-bin', number=3, name='mariadb-bin.000003')
    >>> parse_binlog_name("../etc.000001")
    Traceback (most recent call last):
    ...
    ValueError: not a binary log file name: '../etc.000001'
    """
    found = _NAME.match(name)
    if found is None:
        raise ValueError(f"not a binary log file name: {name!r}")
    return BinlogName(found.group(1), int(found.group(2)), name)


def binlog_name_ok(name: str) -> bool:
    try:
        parse_binlog_name(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class BinlogContents:
    """What a binlog file (or the start of one) holds: the positions of its first event and
    just after its last whole event, the times of its first and last change events (UTC), the
    server id of its format description (the server that wrote the file), and its first and
    last GTIDs when the server writes them."""

    start_position: int
    end_position: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    server_id: int | None
    first_gtid: str | None = None
    last_gtid: str | None = None


def read_binlog(data: bytes) -> BinlogContents:
    """Read the event headers of a binlog file's bytes; raises ValueError when they are not a
    binlog file (no magic, or an event whose header contradicts its place in the file).

    >>> def event(ts, kind, size, pos):
    ...     return HEADER.pack(ts, kind, 7, size, pos, 0) + bytes(size - HEADER_SIZE)
    >>> raw = MAGIC + event(100, 15, 30, 34) + event(200, 2, 25, 59) + event(300, 16, 20, 79)
    >>> c = read_binlog(raw + b"\\x01\\x02")  # a cut-off tail is left out
    >>> c.start_position, c.end_position, c.server_id
    (4, 79, 7)
    >>> c.first_event_at.timestamp(), c.last_event_at.timestamp()
    (200.0, 300.0)
    """
    if not data.startswith(MAGIC):
        raise ValueError("not a binary log file: it does not start with the binlog magic")
    position = len(MAGIC)
    first: datetime | None = None
    last: datetime | None = None
    server_id: int | None = None
    gtids: list[str] = []
    while position + HEADER_SIZE <= len(data):
        stamp, kind, origin, size, next_position, _flags = HEADER.unpack_from(data, position)
        if size < HEADER_SIZE or size > MAX_EVENT_SIZE:
            raise ValueError(f"event at position {position} has an impossible size {size}")
        if position + size > len(data):
            break  # the event being written: not whole yet
        if next_position not in (0, position + size):
            raise ValueError(
                f"event at position {position} says the next one is at {next_position}, "
                f"not {position + size}"
            )
        if kind == _FORMAT_DESCRIPTION and server_id is None:
            server_id = origin
        if kind not in _BOOKKEEPING and stamp:
            at = datetime.fromtimestamp(stamp, UTC)
            first = at if first is None else min(first, at)
            last = at if last is None else max(last, at)
        gtid = _gtid(kind, origin, data[position + HEADER_SIZE : position + size])
        if gtid is not None:
            gtids.append(gtid)
        position += size
    return BinlogContents(
        len(MAGIC),
        position,
        first,
        last,
        server_id,
        gtids[0] if gtids else None,
        gtids[-1] if gtids else None,
    )


def _gtid(kind: int, origin: int, body: bytes) -> str | None:
    """A GTID event's GTID: MariaDB's `domain-server-sequence`, MySQL's `uuid:number`.

    >>> _gtid(162, 1, struct.pack("<QI", 42, 0) + bytes(10))
    '0-1-42'
    """
    if kind == _MARIADB_GTID and len(body) >= 12:
        sequence, domain = struct.unpack_from("<QI", body)
        return f"{domain}-{origin}-{sequence}"
    if kind == _MYSQL_GTID and len(body) >= 25:
        sid, number = body[1:17].hex(), struct.unpack_from("<q", body, 17)[0]
        uuid = f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"
        return f"{uuid}:{number}"
    return None


QUERY_EVENT = 2
# Query events' post-header: thread id, execution time, database length, error code, status
# variables length.
_QUERY_HEAD = struct.Struct("<IIBHH")
_STATEMENT_CHANGES = (b"INSERT", b"UPDATE", b"DELETE", b"REPLACE", b"LOAD")


def statement_change(kind: int, body: bytes, database: str) -> bool:
    """Whether an event (its type and the bytes after its header) is a row change logged as
    an SQL statement (binlog_format STATEMENT or MIXED) that may touch `database`: its default
    database is `database`, or its text names it. A replay applies such a change by its
    default database, and as a statement rather than as the rows it changed.

    >>> def query(db, text):
    ...     return _QUERY_HEAD.pack(1, 0, len(db), 0, 0) + db + bytes(1) + text
    >>> statement_change(2, query(b"shop", b"insert into marker values (1)"), "shop")
    True
    >>> statement_change(2, query(b"", b"UPDATE shop.marker SET n = 1"), "shop")
    True
    >>> statement_change(2, query(b"ledger", b"INSERT INTO marker VALUES (1)"), "shop")
    False
    >>> statement_change(2, query(b"shop", b"CREATE TABLE t (id int)"), "shop")
    False
    """
    if kind != QUERY_EVENT or len(body) < _QUERY_HEAD.size:
        return False
    _thread, _took, db_length, _error, status_length = _QUERY_HEAD.unpack_from(body)
    db_start = _QUERY_HEAD.size + status_length
    default = body[db_start : db_start + db_length]
    text = body[db_start + db_length + 1 :]
    if not text.lstrip()[:8].upper().startswith(_STATEMENT_CHANGES):
        return False
    name = database.encode()
    return default == name or name in text


def position_text(name: str, position: int | None) -> str:
    """A binlog position for people and the API.

    >>> position_text("mariadb-bin.000003", 385)
    'mariadb-bin.000003:385'
    """
    return name if position is None else f"{name}:{position}"
