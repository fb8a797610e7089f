"""Reading what a WAL file holds with `pg_waldump` (from the server package): its LSN range and
the times of its first and last commit records, for the index of stored WAL.

pg_waldump prints commit times in the local time zone of its process, so it always runs with
TZ=UTC, and a time printed in any other zone is refused rather than misread. A file is read
alone in a private folder under its segment name (a `.partial` copy without its suffix, which
pg_waldump does not take), so that no neighbour in the spool is read instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from strongbox.domain.wal import (
    DEFAULT_SEGMENT_SIZE,
    PARTIAL,
    SEGMENT,
    parse_lsn,
    parse_wal_name,
)
from strongbox.engines.base import WalContents
from strongbox.errors import StrongboxError

WAL_UNREADABLE = "wal-unreadable"
READ_TIMEOUT = 300.0  # seconds for one 16 MiB segment, generous on a busy machine

_COMMIT = re.compile(
    rb"desc: COMMIT(?:_PREPARED \d+:)? "
    rb"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))? ([A-Za-z+\-0-9]+)"
)
_RECORD_END = re.compile(rb"invalid record length at ([0-9A-F]+/[0-9A-F]+)")
_LAST_GOOD = re.compile(rb"error in WAL record at ([0-9A-F]+/[0-9A-F]+)")


def read_wal_file(pg_waldump: Path, path: Path, name: str) -> WalContents:
    """What the WAL file at `path` (named `name`: a segment or a partial) holds. Raises
    StrongboxError(WAL_UNREADABLE) when pg_waldump cannot read it as WAL."""
    wal = parse_wal_name(name)
    if wal.kind not in (SEGMENT, PARTIAL):
        raise ValueError(f"{name!r} holds no WAL records")
    segment = name.removesuffix(".partial")
    with tempfile.TemporaryDirectory(prefix="strongbox-waldump-") as folder:
        copy = Path(folder) / segment
        shutil.copyfile(path, copy)
        done = subprocess.run(
            [str(pg_waldump), "--rmgr=Transaction", str(copy)],
            capture_output=True,
            env={"TZ": "UTC", "PATH": "/usr/bin:/bin", "LC_ALL": "C"},
            timeout=READ_TIMEOUT,
            check=False,
        )
    start = wal.start_lsn()
    return parse_waldump(done.stdout, done.stderr, done.returncode, start, wal.kind == PARTIAL)


def parse_waldump(
    stdout: bytes, stderr: bytes, returncode: int, start_lsn: int, partial: bool
) -> WalContents:
    """The contents of one file from pg_waldump's output.

    A partial file ends where its records end ("invalid record length at X"); a complete
    segment ends at the segment's end. pg_waldump may stop with an error at a record that
    runs on into the next segment, which it does not have: the records before it stand.

    >>> out = (b"rmgr: Transaction len (rec/tot): 34/34, tx: 725, lsn: 0/02000068, "
    ...        b"prev 0/02000028, desc: COMMIT 2026-11-29 15:42:37.9755 UTC\\n")
    >>> err = (b"pg_waldump: error: error in WAL record at 0/2000068: invalid record "
    ...        b"length at 0/2000090: wanted 24, got 0\\n")
    >>> got = parse_waldump(out, err, 1, 0x2000000, partial=True)
    >>> hex(got.end_lsn), got.last_commit_at.isoformat()
    ('0x2000090', '2026-11-29T15:42:37.975500+00:00')
    """
    end = start_lsn + DEFAULT_SEGMENT_SIZE
    if returncode != 0:
        last_good = _LAST_GOOD.search(stderr)
        if last_good is None:
            raise StrongboxError(
                "pg_waldump could not read the WAL file: "
                + stderr.decode("utf-8", "replace").strip()[-500:],
                WAL_UNREADABLE,
            )
        if partial:
            record_end = _RECORD_END.search(stderr)
            # Without the end of the last record, only its start is known to be held.
            end = parse_lsn((record_end or last_good).group(1).decode())
    commits = [_commit_time(m) for m in _COMMIT.finditer(stdout)]
    return WalContents(
        start_lsn=start_lsn,
        end_lsn=max(start_lsn, end),
        first_commit_at=min(commits, default=None),
        last_commit_at=max(commits, default=None),
    )


def _commit_time(found: re.Match[bytes]) -> datetime:
    """A commit time as pg_waldump printed it, with TZ=UTC.

    >>> m = _COMMIT.search(b"desc: COMMIT 2026-11-29 15:42:36 UTC; inval")
    >>> _commit_time(m).isoformat()
    '2026-11-29T15:42:36+00:00'
    """
    when, fraction, zone = found.group(1), found.group(2) or b"", found.group(3)
    if zone != b"UTC":
        raise StrongboxError(
            f"pg_waldump printed a commit time in zone {zone.decode()!r}, not UTC",
            WAL_UNREADABLE,
        )
    base = datetime.strptime(when.decode(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return base.replace(microsecond=int(fraction.decode().ljust(6, "0")) if fraction else 0)
