"""Names and positions of PostgreSQL write-ahead log, as pure functions.

A WAL file name is 24 hex digits: the timeline (8), then the segment number split into a "log"
(8) and a segment within it (8), for the server's segment size (16 MiB unless initdb chose
otherwise). A timeline's history file is `{timeline:08X}.history`. The segment being written is
uploaded as `{name}.partial` until it completes. Names come from a storage or from the server's
tools and are therefore checked here before they become an object key or a file name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024

WalKind = Literal["segment", "partial", "history"]
SEGMENT: WalKind = "segment"
PARTIAL: WalKind = "partial"
HISTORY: WalKind = "history"

_SEGMENT_RE = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial)?$")
_HISTORY_RE = re.compile(r"^([0-9A-F]{8})\.history$")
_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


@dataclass(frozen=True)
class WalName:
    """A parsed WAL file name: a segment (complete or partial) or a history file."""

    name: str
    kind: WalKind
    timeline: int
    # The two halves of the segment number as the name spells them (0 for a history file).
    log: int = 0
    seg: int = 0

    def segment_number(self, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
        """The segment's number counted from LSN 0.

        >>> parse_wal_name("000000010000000200000003").segment_number()
        515
        """
        return self.log * segments_per_log(segment_size) + self.seg

    def start_lsn(self, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
        """The LSN where the segment begins.

        >>> format_lsn(parse_wal_name("000000010000000200000003").start_lsn())
        '2/3000000'
        """
        return self.segment_number(segment_size) * segment_size


def parse_wal_name(name: str) -> WalName:
    """Parse a WAL file name; raises ValueError for anything else (a path, a stray object).

    >>> parse_wal_name("00000002.history").kind
    'history'
    >>> parse_wal_name("000000010000000000000003.partial").kind
    'partial'
    >>> parse_wal_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: not a WAL file name: '../etc/passwd'
    """
    if m := _SEGMENT_RE.match(name):
        kind: WalKind = PARTIAL if m.group(4) else SEGMENT
        timeline = int(m.group(1), 16)
        if timeline == 0:
            raise ValueError(f"not a WAL file name: {name!r}")
        return WalName(name, kind, timeline, int(m.group(2), 16), int(m.group(3), 16))
    if m := _HISTORY_RE.match(name):
        timeline = int(m.group(1), 16)
        if timeline == 0:
            raise ValueError(f"not a WAL file name: {name!r}")
        return WalName(name, HISTORY, timeline)
    raise ValueError(f"not a WAL file name: {name!r}")


# A WAL file's first page: every page of WAL pg_receivewal writes starts with a header whose
# first bytes (the magic number) are never zero.
FIRST_PAGE = 8192


def holds_no_wal(head: bytes) -> bool:
    """Whether a WAL file whose first bytes (up to FIRST_PAGE) are `head` holds no WAL yet:
    pg_receivewal fills a new segment's `.partial` with zeros before it writes the first page.

    >>> holds_no_wal(bytes(FIRST_PAGE)), holds_no_wal(b""), holds_no_wal(b"\\x10\\xd1" + bytes(8))
    (True, True, False)
    """
    return head.count(0) == len(head)


def segments_per_log(segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """
    >>> segments_per_log()
    256
    """
    return 0x100000000 // segment_size


def segment_name(
    timeline: int, segment_number: int, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> str:
    """The WAL file name of a segment.

    >>> segment_name(1, 515)
    '000000010000000200000003'
    """
    per_log = segments_per_log(segment_size)
    return f"{timeline:08X}{segment_number // per_log:08X}{segment_number % per_log:08X}"


def segment_of(lsn: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """The number of the segment holding `lsn`.

    >>> segment_of(parse_lsn("2/3000010"))
    515
    """
    return lsn // segment_size


def parse_lsn(text: str) -> int:
    """An LSN as PostgreSQL prints it ('16/B374D848') to an integer.

    >>> parse_lsn("16/B374D848")
    97500059720
    >>> parse_lsn("x")
    Traceback (most recent call last):
    ...
    ValueError: not an LSN: 'x'
    """
    m = _LSN_RE.match(text.strip())
    if m is None:
        raise ValueError(f"not an LSN: {text!r}")
    return (int(m.group(1), 16) << 32) | int(m.group(2), 16)


def format_lsn(lsn: int) -> str:
    """
    >>> format_lsn(97500059720)
    '16/B374D848'
    """
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


SLOT_PREFIX = "strongbox_"


def slot_name(database: str) -> str:
    """The replication slot of a registered database (a DNS-1123 name, at most 63 characters):
    slot names take lowercase letters, digits and '_' only, at most 63 characters.

    >>> slot_name("prod-eu-1")
    'strongbox_prod_eu_1'
    >>> slot_name("a" * 63) != slot_name("a" * 62 + "b"), len(slot_name("a" * 63))
    (True, 63)
    """
    name = SLOT_PREFIX + re.sub(r"[^a-z0-9_]", "_", database.lower())
    if len(name) <= 63:
        return name
    # Cut names keep a digest of the whole, so that two long names cannot share a slot.
    return name[:54] + "_" + hashlib.sha256(database.encode()).hexdigest()[:8]
