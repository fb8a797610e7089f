"""Continuous WAL streaming: enabling it checks the server, streams WAL from a slot into the
storage, indexes each file with its commit times (UTC, whatever the server's zone), makes
physical bases PITR-ready, and shows the true windows and gaps; a killed receiver is
restarted without a hole, a slot dropped from outside breaks the stream visibly, and turning
it off drops the slot."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard
from sqlalchemy import select

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.pitr_steps import enable as _enable
from integration.pitr_steps import physical_backup as _backup
from integration.pitr_steps import setup as _setup
from integration.pitr_steps import status as _status
from integration.pitr_steps import wait as _wait
from integration.problems import assert_problem
from strongbox.catalog.models import WalSegment
from strongbox.domain.wal import parse_lsn

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def source(pg_server_factory: Callable[..., PostgresServer]) -> Iterator[PostgresServer]:
    """One cluster for the module (its default pg_hba.conf has replication lines)."""
    server = pg_server_factory()
    server.execute("CREATE DATABASE shop")
    server.execute("CREATE TABLE marker (id int, at timestamptz DEFAULT clock_timestamp())", "shop")
    yield server
    server.stop()


def _index(strongbox: RunningServer, db: str) -> list[WalSegment]:
    with strongbox.embedded.context.catalog.session() as session:
        rows = session.scalars(
            select(WalSegment).where(WalSegment.database == db).order_by(WalSegment.name)
        ).all()
        session.expunge_all()
        return list(rows)


def _commit_marker(source: PostgresServer, value: int) -> tuple[datetime, datetime, str]:
    """Insert one marker row; the server's clock before and after its commit, and the WAL
    file holding the commit."""
    before = source.query("SELECT clock_timestamp()")[0][0]
    source.execute(f"INSERT INTO marker (id) VALUES ({value})", "shop")
    after, walfile = source.query(
        "SELECT clock_timestamp(), pg_walfile_name(pg_current_wal_insert_lsn())"
    )[0]
    return before, after, walfile


def _segment(strongbox: RunningServer, db: str, name: str) -> WalSegment | None:
    return next((r for r in _index(strongbox, db) if r.name == name), None)


def _receiver_pids(slot: str, server: PostgresServer) -> list[int]:
    """The pg_receivewal processes streaming `slot` of `server` (other test runs on the machine
    may stream a slot of the same name from their own servers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        port = [b"-p", str(server.port).encode()]
        if (
            argv
            and argv[0].endswith(b"pg_receivewal")
            and f"--slot={slot}".encode() in argv
            and any(argv[i : i + 2] == port for i in range(len(argv) - 1))
        ):
            pids.append(int(entry.name))
    return pids


def test_streamed_wal_is_indexed_with_its_commit_times_and_opens_a_window(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _setup(strongbox, source, store, "prod")
    enabled = _enable(strongbox, "prod")
    assert enabled["enabled"] is True
    assert enabled["state"] in ("starting", "streaming")
    assert source.query(
        "SELECT slot_type FROM pg_replication_slots WHERE slot_name = 'strongbox_prod'"
    ) == [("physical",)]
    _wait("streaming", lambda: _status(strongbox, "prod")["state"] == "streaming")

    before, after, walfile = _commit_marker(source, 1)
    source.execute("SELECT pg_switch_wal()")
    row = _wait("the segment in the index", lambda: _segment(strongbox, "prod", walfile))
    assert row.kind == "segment"
    assert row.first_commit_at is not None
    assert row.last_commit_at is not None
    assert before <= row.last_commit_at <= after
    stored = store / "prod" / "pitr" / "wal" / f"{walfile}.zst"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == row.sha256
    assert row.key.endswith(f"prod/pitr/wal/{walfile}.zst")

    base = _backup(strongbox, "prod")
    ready = _wait(
        "the base to become PITR-ready",
        lambda: strongbox.client.get(f"/api/v1/databases/prod/backups/{base['name']}").json()[
            "pitr_ready"
        ],
    )
    assert ready is True

    # No switch: the partial segment carries this commit within the upload interval.
    before, after, _ = _commit_marker(source, 2)

    def reached() -> dict[str, Any] | None:
        status = _status(strongbox, "prod")
        latest = status["latest_restorable_time"]
        return status if latest and datetime.fromisoformat(latest) >= before else None

    status = _wait("the last commit in the window", reached)
    latest = datetime.fromisoformat(status["latest_restorable_time"])
    assert before <= latest <= after
    [window] = status["windows"]
    assert window["base_backup"] == base["name"]
    assert window["timeline"] == 1
    assert datetime.fromisoformat(window["from"]) == datetime.fromisoformat(
        base["log_position"]["stop_time"]
    )
    assert datetime.fromisoformat(window["to"]) == latest
    assert status["gaps"] == []
    assert set(status) == {
        "enabled",
        "storage",
        "upload_interval_seconds",
        "state",
        "error",
        "lag_seconds",
        "last_upload_at",
        "latest_restorable_time",
        "windows",
        "gaps",
        "warnings",
    }
    assert status["warnings"] == []
    assert any(r.kind == "partial" for r in _index(strongbox, "prod"))

    # Off: the slot is dropped, the stored WAL and its index stay.
    off = strongbox.client.put("/api/v1/databases/prod/pitr", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["state"] == "disabled"
    assert source.query("SELECT count(*) FROM pg_replication_slots")[0][0] == 0
    assert stored.exists()
    assert _segment(strongbox, "prod", walfile) is not None
    assert _receiver_pids("strongbox_prod", source) == []


def test_a_killed_receiver_is_restarted_without_a_gap_or_a_duplicate(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    _setup(strongbox, source, tmp_path / "store", "killed")
    _enable(strongbox, "killed")
    _wait("streaming", lambda: _status(strongbox, "killed")["state"] == "streaming")
    _commit_marker(source, 10)
    [first] = _wait("the receiver", lambda: _receiver_pids("strongbox_killed", source))
    os.kill(first, signal.SIGKILL)  # mid-segment: the partial one is being written
    _commit_marker(source, 11)
    restarted = _wait(
        "a new receiver",
        lambda: [p for p in _receiver_pids("strongbox_killed", source) if p != first],
    )
    assert restarted
    _, _, walfile = _commit_marker(source, 12)
    source.execute("SELECT pg_switch_wal()")
    row = _wait("the segment after the restart", lambda: _segment(strongbox, "killed", walfile))
    assert row.kind == "segment"
    segments = [r for r in _index(strongbox, "killed") if r.kind == "segment"]
    names = [r.name for r in segments]
    assert len(names) == len(set(names))
    ranges = sorted((r.start_lsn, r.end_lsn) for r in segments)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert _status(strongbox, "killed")["gaps"] == []

    # A file of a stored name with other content: the stored one stays, the stream breaks.
    stored = tmp_path / "store" / "killed" / "pitr" / "wal" / f"{walfile}.zst"
    raw = bytearray(zstandard.ZstdDecompressor().decompressobj().decompress(stored.read_bytes()))
    raw[-1] ^= 0xFF
    stray = strongbox.data_dir / "spool" / "killed" / walfile
    stray.write_bytes(bytes(raw))
    status = _wait("broken", lambda: (s := _status(strongbox, "killed"))["state"] == "broken" and s)
    assert f"WAL file {walfile} is already stored with other content" in status["error"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == row.sha256
    assert stray.read_bytes() == bytes(raw)
    strongbox.client.put("/api/v1/databases/killed/pitr", json={"enabled": False})


def test_a_deleted_segment_is_a_gap_that_splits_the_window(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _setup(strongbox, source, store, "holes")
    _enable(strongbox, "holes")
    _wait("streaming", lambda: _status(strongbox, "holes")["state"] == "streaming")
    first = _backup(strongbox, "holes")
    _, last_before_gap, _ = _commit_marker(source, 19)
    source.execute("SELECT pg_switch_wal()")
    _, _, doomed = _commit_marker(source, 20)
    source.execute("SELECT pg_switch_wal()")
    _wait("the doomed segment", lambda: _segment(strongbox, "holes", doomed))
    _commit_marker(source, 21)
    source.execute("SELECT pg_switch_wal()")
    second = _backup(strongbox, "holes")
    _wait(
        "two windows",
        lambda: len(_status(strongbox, "holes")["windows"]) == 2,
    )

    (store / "holes" / "pitr" / "wal" / f"{doomed}.zst").unlink()
    status = _status(strongbox, "holes")
    [gap] = status["gaps"]
    assert doomed in gap["reason"]
    assert "deleted from the storage" in gap["reason"]
    windows = {w["base_backup"]: w for w in status["windows"]}
    assert set(windows) == {first["name"], second["name"]}
    # The first window ends at the last commit before the hole; the second starts at the
    # second base, after it.
    first_to = datetime.fromisoformat(windows[first["name"]]["to"])
    assert first_to == datetime.fromisoformat(gap["from"])
    assert first_to <= last_before_gap
    assert windows[second["name"]]["from"] == second["log_position"]["stop_time"].replace(
        "+00:00", "Z"
    ) or datetime.fromisoformat(windows[second["name"]]["from"]) == datetime.fromisoformat(
        second["log_position"]["stop_time"]
    )
    assert datetime.fromisoformat(gap["to"]) < datetime.fromisoformat(
        windows[second["name"]]["from"]
    )

    # Deleting the oldest base deletes the WAL entirely before the next base's start, the
    # hole's index row with it; the rest stays.
    assert strongbox.client.delete(f"/api/v1/databases/holes/backups/{first['name']}").is_success
    start = parse_lsn(second["log_position"]["start_lsn"])
    left = _index(strongbox, "holes")
    assert left
    assert all(r.end_lsn > start for r in left if r.kind != "history")
    assert _segment(strongbox, "holes", doomed) is None
    wal_folder = store / "holes" / "pitr" / "wal"
    assert sorted(p.name for p in wal_folder.iterdir()) == sorted(r.name + ".zst" for r in left)
    status = _status(strongbox, "holes")
    assert status["gaps"] == []
    assert [w["base_backup"] for w in status["windows"]] == [second["name"]]

    # With no PITR-ready base left, no WAL is deleted.
    assert strongbox.client.delete(f"/api/v1/databases/holes/backups/{second['name']}").is_success
    assert len(_index(strongbox, "holes")) == len(left)
    strongbox.client.put("/api/v1/databases/holes/pitr", json={"enabled": False})


def test_a_slot_dropped_from_outside_breaks_the_stream_with_the_reason(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    _setup(strongbox, source, tmp_path / "store", "dropped")
    _enable(strongbox, "dropped")
    _wait("streaming", lambda: _status(strongbox, "dropped")["state"] == "streaming")

    def drop() -> bool:
        try:
            source.execute(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                "WHERE slot_name = 'strongbox_dropped' AND active_pid IS NOT NULL"
            )
            source.execute("SELECT pg_drop_replication_slot('strongbox_dropped')")
        except Exception:  # the receiver took it again in between: try again
            return False
        return True

    _wait("the slot to be dropped", drop)
    status = _wait(
        "broken",
        lambda: (s := _status(strongbox, "dropped"))["state"] == "broken" and s,
    )
    assert "strongbox_dropped" in status["error"]
    assert "dropped outside Strongbox" in status["error"]
    assert "pitr enable dropped" in status["error"]
    assert any("dropped outside Strongbox" in g["reason"] for g in status["gaps"])
    [warning] = strongbox.client.get("/api/v1/databases/dropped").json()["warnings"]
    assert warning.startswith("point-in-time recovery is broken: ")
    # Enabling again makes a new slot and the stream recovers.
    _enable(strongbox, "dropped")
    _wait("streaming again", lambda: _status(strongbox, "dropped")["state"] == "streaming")
    strongbox.client.put("/api/v1/databases/dropped/pitr", json={"enabled": False})


def test_missing_prerequisites_and_bad_requests_are_refused_with_the_fix(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    source.execute("CREATE ROLE plain LOGIN NOREPLICATION PASSWORD 'plain-password'")
    try:
        body = postgres_database(
            source, ["shop"], name="plain", username="plain", password="plain-password"
        )
        strongbox.client.post("/api/v1/databases", json=body).raise_for_status()
        strongbox.client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path)
        ).raise_for_status()
        put = {"enabled": True, "storage": "disk", "upload_interval_seconds": 60}
        problem = assert_problem(
            strongbox.client.put("/api/v1/databases/plain/pitr", json=put), 422
        )
        assert "run ALTER ROLE plain REPLICATION" in problem["detail"]

        source.execute("ALTER ROLE plain REPLICATION")
        hba = source.data_dir / "pg_hba.conf"
        original = hba.read_text()
        hba.write_text(
            "".join(line for line in original.splitlines(True) if "replication" not in line)
        )
        source.execute("SELECT pg_reload_conf()")
        try:
            problem = assert_problem(
                strongbox.client.put("/api/v1/databases/plain/pitr", json=put), 422
            )
            assert "host replication plain" in problem["detail"]
            assert "pg_reload_conf()" in problem["detail"]
        finally:
            hba.write_text(original)
            source.execute("SELECT pg_reload_conf()")
        assert source.query("SELECT count(*) FROM pg_replication_slots")[0][0] == 0

        too_short = {**put, "upload_interval_seconds": 5}
        problem = assert_problem(
            strongbox.client.put("/api/v1/databases/plain/pitr", json=too_short), 422
        )
        assert "upload_interval_seconds" in str(problem)
        unknown = {**put, "storage": "nowhere"}
        assert_problem(
            strongbox.client.put("/api/v1/databases/plain/pitr", json=unknown),
            422,
            "storage-not-found",
        )
        assert_problem(strongbox.client.put("/api/v1/databases/ghost/pitr", json=put), 404)
        reserved = strongbox.client.post(
            "/api/v1/databases/plain/backups", json={"storage": "disk", "name": "pitr"}
        )
        assert "backup-name-reserved" in reserved.text
        assert reserved.status_code == 422
    finally:
        source.execute("DROP ROLE plain")


def test_a_server_in_new_york_indexes_the_same_utc_commit_times(
    source: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        strongbox, server = start_server(tmp_path / "data")
        try:
            _setup(strongbox, source, tmp_path / "store", "ny")
            _enable(strongbox, "ny")
            _wait("streaming", lambda: _status(strongbox, "ny")["state"] == "streaming")
            before, after, walfile = _commit_marker(source, 30)
            source.execute("SELECT pg_switch_wal()")
            row = _wait("the segment", lambda: _segment(strongbox, "ny", walfile))
            assert row.last_commit_at is not None
            assert before <= row.last_commit_at <= after
            strongbox.client.put("/api/v1/databases/ny/pitr", json={"enabled": False})
        finally:
            stop_server(strongbox, server)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_restarted_strongbox_resumes_from_the_slot_without_a_gap(
    source: PostgresServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    strongbox, server = start_server(data)
    try:
        _setup(strongbox, source, tmp_path / "store", "resumed")
        _enable(strongbox, "resumed")
        _wait("streaming", lambda: _status(strongbox, "resumed")["state"] == "streaming")
        _commit_marker(source, 40)
    finally:
        stop_server(strongbox, server)
    # Written while Strongbox is down: the slot keeps it.
    before, after, while_down = _commit_marker(source, 41)
    source.execute("SELECT pg_switch_wal()")
    strongbox, server = start_server(data)
    try:
        row = _wait(
            "the segment written while down", lambda: _segment(strongbox, "resumed", while_down)
        )
        assert row.last_commit_at is not None
        assert before <= row.last_commit_at <= after
        _, _, later = _commit_marker(source, 42)
        source.execute("SELECT pg_switch_wal()")
        _wait("a segment after the restart", lambda: _segment(strongbox, "resumed", later))
        assert _status(strongbox, "resumed")["gaps"] == []
        strongbox.client.put("/api/v1/databases/resumed/pitr", json={"enabled": False})
    finally:
        stop_server(strongbox, server)


def test_a_partial_file_cut_short_while_it_was_prepared_does_not_stop_the_stream(
    source: PostgresServer, tmp_path: Path
) -> None:
    # pg_receivewal fills a new segment's file with zeros before it writes any WAL into it; a
    # receiver stopped meanwhile leaves a short file of zeros, which a new pg_receivewal
    # refuses ("should be 0 or 16777216 bytes") and a reader cannot read.
    data = tmp_path / "data"
    strongbox, server = start_server(data)
    try:
        _setup(strongbox, source, tmp_path / "store", "padded")
        _enable(strongbox, "padded")
        _wait("streaming", lambda: _status(strongbox, "padded")["state"] == "streaming")
        _, _, current = _commit_marker(source, 50)
    finally:
        stop_server(strongbox, server)
    # The next segment's file, the newest in the spool: the next receiver starts there.
    timeline_and_log, segment = current[:16], int(current[16:24], 16)
    cut_short = data / "spool" / "padded" / f"{timeline_and_log}{segment + 1:08X}.partial"
    cut_short.write_bytes(bytes(3 * 1024 * 1024))
    before, after, while_down = _commit_marker(source, 51)
    source.execute("SELECT pg_switch_wal()")
    strongbox, server = start_server(data)
    try:
        row = _wait(
            "the segment written while down", lambda: _segment(strongbox, "padded", while_down)
        )
        assert row.last_commit_at is not None
        assert before <= row.last_commit_at <= after
        assert _status(strongbox, "padded")["state"] == "streaming"
        assert _status(strongbox, "padded")["gaps"] == []
        strongbox.client.put("/api/v1/databases/padded/pitr", json={"enabled": False})
    finally:
        stop_server(strongbox, server)
