"""The `.partial` files a stopped receiver leaves in a spool (`wal_uploads`)."""

from __future__ import annotations

from pathlib import Path

from strongbox.domain.wal import FIRST_PAGE
from strongbox.services.wal_uploads import drop_unwritten_partials

HEADER = b"\x10\xd1\x05\x00\x01\x00\x00\x00"  # a WAL page's first bytes (magic, info, timeline)


def test_only_partial_files_that_hold_no_wal_yet_are_removed(tmp_path: Path) -> None:
    cut_short = tmp_path / "000000010000000000000003.partial"
    cut_short.write_bytes(bytes(3 * 1024 * 1024))  # stopped while filling it with zeros
    empty = tmp_path / "000000010000000000000004.partial"
    empty.write_bytes(b"")
    written = tmp_path / "000000010000000000000002.partial"
    written.write_bytes(HEADER + bytes(FIRST_PAGE * 4))
    complete = tmp_path / "000000010000000000000001"
    complete.write_bytes(bytes(FIRST_PAGE))  # not a partial: the uploads judge it

    dropped = drop_unwritten_partials(tmp_path)

    assert dropped == [cut_short.name, empty.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == [complete.name, written.name]
