"""Binlog files as untrusted bytes and names, and the windows and gaps of stored binlog."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from strongbox.domain.binlog import HEADER, HEADER_SIZE, MAGIC, parse_binlog_name, read_binlog
from strongbox.domain.binlog_window import (
    BinlogBase,
    StoredBinlog,
    compute_binlog_windows,
)
from strongbox.engines.base import ServerInfo
from strongbox.engines.mysql.binlog_stream import (
    _expiry_seconds,
    _renamed_monitor,
    _write_option_file,
)


def _event(at: int, kind: int, position: int, body: bytes = b"", server_id: int = 1) -> bytes:
    size = HEADER_SIZE + len(body)
    return HEADER.pack(at, kind, server_id, size, position + size, 0) + body


def _file(*events: tuple[int, int, bytes]) -> bytes:
    data = MAGIC
    for at, kind, body in events:
        data += _event(at, kind, len(data), body)
    return data


def test_event_times_skip_the_file_s_own_events_and_gtids_are_read() -> None:
    gtid = struct.pack("<QI", 7, 0) + bytes(6)
    # The format description and the rotate event at the end describe the file: no change.
    raw = _file(
        (50, 15, bytes(80)),
        (100, 162, gtid),
        (101, 2, b"x" * 10),
        (102, 16, bytes(8)),
        (999, 4, bytes(8)),
    )
    contents = read_binlog(raw)
    assert contents.first_event_at == datetime.fromtimestamp(100, UTC)
    assert contents.last_event_at == datetime.fromtimestamp(102, UTC)
    assert contents.first_gtid == contents.last_gtid == "0-1-7"
    assert contents.server_id == 1


def test_a_cut_off_last_event_is_left_out_of_the_range() -> None:
    whole = _file((50, 15, bytes(80)), (100, 2, b"y" * 20))
    contents = read_binlog(whole + _event(200, 2, len(whole), b"z" * 30)[:25])
    assert contents.end_position == len(whole)
    assert contents.last_event_at == datetime.fromtimestamp(100, UTC)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"not a binlog", "magic"),
        (MAGIC + HEADER.pack(1, 2, 1, 5, 0, 0), "impossible size"),
        (MAGIC + HEADER.pack(1, 2, 1, 19, 999, 0), "next one is at 999"),
    ],
)
def test_bytes_that_are_not_a_binlog_are_refused(raw: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        read_binlog(raw)


@pytest.mark.parametrize(
    "name", ["../x.000001", "bin.1", "bin 1.000001", "/abs.000001", ".hidden.000001", "bin."]
)
def test_names_that_are_not_binlog_base_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a binary log file name"):
        parse_binlog_name(name)


T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _at(second: int) -> datetime:
    return T0.replace(second=second)


def _stored(n: int, last: int, *, partial: bool = False, server: int = 1) -> StoredBinlog:
    return StoredBinlog(f"bin.{n:06d}", partial, 4, 1000, _at(last - 1), _at(last), server)


def test_a_window_runs_to_the_last_event_before_a_server_id_change() -> None:
    files = [_stored(1, 5), _stored(2, 9), _stored(3, 20, server=2)]
    found = compute_binlog_windows([BinlogBase("b", "bin.000001", 400, _at(2))], files)
    assert [(w.start, w.end, w.timeline) for w in found.windows] == [(_at(2), _at(9), 1)]
    assert len(found.gaps) == 1
    assert "server id changed from 1 to 2" in found.gaps[0].reason


def test_a_gtid_domain_change_between_files_is_a_gap() -> None:
    def file(n: int, last: int, first_gtid: str, last_gtid: str) -> StoredBinlog:
        return StoredBinlog(
            f"bin.{n:06d}", False, 4, 1000, _at(last - 1), _at(last), 1, first_gtid, last_gtid
        )

    files = [
        file(1, 5, "0-1-1", "0-1-4"),
        file(2, 9, "0-1-5", "0-1-9"),
        file(3, 20, "7-1-1", "7-1-2"),
    ]
    found = compute_binlog_windows([BinlogBase("b", "bin.000001", 400, _at(2))], files)
    assert [(w.start, w.end) for w in found.windows] == [(_at(2), _at(9))]
    assert [g.reason.split(" (")[0] for g in found.gaps] == [
        "the GTID domain changed from 0 to 7 at bin.000003"
    ]
    assert found.gaps[0].reason.endswith("take a new backup")


def test_a_whole_file_counts_over_its_partial_and_a_partial_ends_the_window() -> None:
    files = [_stored(1, 5, partial=True), _stored(1, 6), _stored(2, 8, partial=True)]
    found = compute_binlog_windows([BinlogBase("b", "bin.000001", 400, _at(2))], files)
    assert [w.end for w in found.windows] == [_at(8)]
    assert found.gaps == []
    assert found.latest_restorable_time == _at(8)


def test_a_position_beyond_what_is_stored_opens_no_window() -> None:
    files = [_stored(1, 5, partial=True)]
    found = compute_binlog_windows([BinlogBase("b", "bin.000001", 5000, _at(2))], files)
    assert found.windows == []
    assert found.ready_bases == frozenset()


def test_purged_and_deleted_files_are_gaps_with_their_reason_and_the_action() -> None:
    files = [_stored(1, 5, partial=True), _stored(3, 9), _stored(4, 12), _stored(5, 14)]
    found = compute_binlog_windows(
        [BinlogBase("b", "bin.000003", 4, _at(8))], files, missing=frozenset({"bin.000005"})
    )
    reasons = [g.reason for g in found.gaps]
    assert "bin.000001 to bin.000002 was never stored: the server purged it" in reasons[0]
    assert "bin.000005 was deleted from the storage" in reasons[1]
    assert all(r.endswith("take a new backup") for r in reasons)
    assert [(w.start, w.end) for w in found.windows] == [(_at(8), _at(12))]


def test_a_deleted_first_file_is_a_gap_too() -> None:
    files = [_stored(1, 5), _stored(2, 9)]
    found = compute_binlog_windows([], files, missing=frozenset({"bin.000001"}))
    assert [g.from_position for g in found.gaps] == ["bin.000001"]


def test_the_option_file_holds_the_password_escaped_and_only_its_owner_reads_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "client.cnf"
    _write_option_file(path, 'se"cr\\et')
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == '[client]\npassword="se\\"cr\\\\et"\n'


def test_binlog_expiry_reads_seconds_first_and_zero_means_kept() -> None:
    assert _expiry_seconds({"binlog_expire_logs_seconds": "3600", "expire_logs_days": "1"}) == 3600
    assert _expiry_seconds({"expire_logs_days": "0.5"}) == 43200
    assert _expiry_seconds({"expire_logs_days": "0", "binlog_expire_logs_seconds": "0"}) is None


def test_mariadb_10_5_calls_replication_client_binlog_monitor() -> None:
    assert _renamed_monitor(ServerInfo("10.11.19-MariaDB", 10, "MariaDB"))
    assert not _renamed_monitor(ServerInfo("10.4.30-MariaDB", 10, "MariaDB"))
    assert not _renamed_monitor(ServerInfo("8.0.36", 8, "MySQL"))
