"""Binlog streaming of a MariaDB database for point-in-time recovery: enabling it checks the
server, copies each binlog file into the storage byte for byte, indexes it with its event
times (UTC), opens a window at each logical backup's recorded position, uploads the file being
written every interval, restarts a killed reader without a hole or a duplicate, shows purged
and deleted files as gaps, and stops when turned off."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard
from sqlalchemy import select

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from integration.bodies import folder_storage, mariadb_database
from integration.people import add_user, page_sign_in
from integration.pitr_steps import enable, reader_id, reader_pids
from integration.pitr_steps import status as _status
from integration.pitr_steps import wait as _wait
from integration.problems import assert_problem
from strongbox.catalog.models import WalSegment
from strongbox.domain.binlog import read_binlog
from strongbox.domain.binlog_replay import plan_replay, reader_options
from strongbox.domain.binlog_window import BinlogBase, StoredBinlog
from strongbox.engines.mysql import MySQLEngine

pytestmark = pytest.mark.integration

INTERVAL = 10


@pytest.fixture(scope="module")
def source(mariadb_server_factory: Callable[..., MariaDBServer]) -> Iterator[MariaDBServer]:
    """One server for the module (binary logging on, server id 1)."""
    server = mariadb_server_factory()
    server.execute("CREATE DATABASE shop")
    server.execute("CREATE TABLE shop.marker (id int PRIMARY KEY)")
    yield server
    server.stop()


def _setup(strongbox: RunningServer, source: MariaDBServer, store: Path, db: str) -> None:
    strongbox.client.post(
        "/api/v1/databases", json=mariadb_database(source, ["shop"], name=db)
    ).raise_for_status()
    strongbox.client.post("/api/v1/backup-storages", json=folder_storage(store)).raise_for_status()


def _enable(strongbox: RunningServer, db: str) -> dict[str, Any]:
    return enable(strongbox, db, INTERVAL)


def _streaming(strongbox: RunningServer, db: str) -> None:
    _wait("streaming", lambda: _status(strongbox, db)["state"] == "streaming")


def _index(strongbox: RunningServer, db: str) -> list[WalSegment]:
    with strongbox.embedded.context.catalog.session() as session:
        rows = session.scalars(
            select(WalSegment).where(WalSegment.database == db).order_by(WalSegment.name)
        ).all()
        session.expunge_all()
        return list(rows)


def _whole(strongbox: RunningServer, db: str, name: str) -> WalSegment | None:
    return next((r for r in _index(strongbox, db) if r.name == name and r.kind == "binlog"), None)


def _current(source: MariaDBServer) -> tuple[str, int]:
    file, position = source.query("SHOW MASTER STATUS")[0][:2]
    return str(file), int(position)


def _utc(value: datetime) -> datetime:
    """A time as naive UTC (the server's UTC_TIMESTAMP is naive)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _insert(source: MariaDBServer, *ids: int) -> None:
    for i in ids:
        source.execute(f"INSERT INTO shop.marker VALUES ({i})")


def _stored_bytes(store: Path, db: str, name: str) -> bytes:
    data = (store / db / "pitr" / "binlog" / f"{name}.zst").read_bytes()
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _backup(strongbox: RunningServer, db: str) -> dict[str, Any]:
    accepted = strongbox.client.post(f"/api/v1/databases/{db}/backups", json={"storage": "disk"})
    assert accepted.status_code == 202, accepted.text
    done = strongbox.wait_for_backup(db, accepted.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    return done


def test_enabling_streams_each_binlog_file_whole_and_indexes_its_event_times(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _setup(strongbox, source, store, "maria")
    enabled = _enable(strongbox, "maria")
    assert enabled["enabled"] is True
    assert enabled["state"] in ("starting", "streaming")
    # MariaDB's default binlog_format is MIXED: a warning, not a refusal.
    assert any("binlog_format is MIXED" in w for w in enabled["warnings"]), enabled["warnings"]
    _streaming(strongbox, "maria")

    source.execute("FLUSH BINARY LOGS")  # a file holding only the writes below
    before = source.query("SELECT UTC_TIMESTAMP(6)")[0][0]
    file, _ = _current(source)
    _insert(source, 1, 2, 3)
    after = source.query("SELECT UTC_TIMESTAMP(6)")[0][0]
    source.execute("FLUSH BINARY LOGS")

    row = _wait(f"{file} stored whole", lambda: _whole(strongbox, "maria", file))
    assert row.first_commit_at is not None
    assert row.last_commit_at is not None
    assert before.replace(microsecond=0) <= _utc(row.first_commit_at)
    assert _utc(row.last_commit_at) <= after
    assert row.server_id == 1
    assert row.timeline == 0
    server_copy = (source.data_dir / file).read_bytes()
    assert row.start_lsn == 4
    assert row.end_lsn == len(server_copy)
    assert _stored_bytes(store, "maria", file) == server_copy


def test_the_file_being_written_is_uploaded_within_the_interval(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    _setup(strongbox, source, tmp_path / "store", "current")
    _enable(strongbox, "current")
    _streaming(strongbox, "current")
    _insert(source, 10)
    file, position = _current(source)

    def partial_reaches() -> bool:
        rows = _index(strongbox, "current")
        return any(r.name == f"{file}.partial" and r.end_lsn >= position for r in rows)

    _wait("the partial upload", partial_reaches, timeout=3 * INTERVAL + 10)
    assert (tmp_path / "store" / "current" / "pitr" / "binlog" / f"{file}.partial.zst").exists()


def test_a_logical_backup_opens_a_window_at_its_position_and_retention_keeps_what_it_needs(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _setup(strongbox, source, store, "windows")
    _enable(strongbox, "windows")
    _streaming(strongbox, "windows")
    first = _backup(strongbox, "windows")
    assert first["pitr_base"] is True
    _insert(source, 20)
    written = source.query("SELECT UTC_TIMESTAMP()")[0][0]
    source.execute("FLUSH BINARY LOGS")
    second = _backup(strongbox, "windows")
    assert second["log_position"]["file"] > first["log_position"]["file"]
    _insert(source, 21)
    source.execute("FLUSH BINARY LOGS")

    def both_windows() -> dict[str, Any] | None:
        status = _status(strongbox, "windows")
        names = [w["base_backup"] for w in status["windows"]]
        return status if names == [first["name"], second["name"]] else None

    status = _wait("two windows", both_windows)
    window = status["windows"][0]
    assert window["from"] == first["started_at"]
    assert _utc(datetime.fromisoformat(window["to"])) >= written
    assert status["gaps"] == []
    listed = strongbox.client.get(f"/api/v1/databases/windows/backups/{first['name']}").json()
    assert listed["pitr_ready"] is True

    # Deleting the older backup deletes the binlog files before the newer one's file.
    keep_from = second["log_position"]["file"]
    older = [r.name for r in _index(strongbox, "windows") if r.name < keep_from]
    assert older, "files before the second backup were stored"
    assert strongbox.client.delete(f"/api/v1/databases/windows/backups/{first['name']}").is_success
    left = _index(strongbox, "windows")
    assert left
    assert all(r.name >= keep_from for r in left)
    folder = store / "windows" / "pitr" / "binlog"
    assert sorted(p.name for p in folder.iterdir()) == sorted(r.name + ".zst" for r in left)
    status = _status(strongbox, "windows")
    assert [w["base_backup"] for w in status["windows"]] == [second["name"]]


def test_a_killed_reader_is_restarted_without_a_gap_or_a_duplicate(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _setup(strongbox, source, store, "killed")
    _enable(strongbox, "killed")
    _streaming(strongbox, "killed")
    reader = reader_id(strongbox, "killed")
    source.execute("FLUSH BINARY LOGS")
    file, _ = _current(source)
    _insert(source, 30)
    first_pid = _wait("the reader", lambda: reader_pids(reader))[0]
    os.kill(first_pid, signal.SIGKILL)
    _insert(source, 31)
    _wait("a new reader", lambda: [p for p in reader_pids(reader) if p != first_pid])
    _insert(source, 32)
    source.execute("FLUSH BINARY LOGS")

    row = _wait(f"{file} stored whole", lambda: _whole(strongbox, "killed", file))
    assert _stored_bytes(store, "killed", file) == (source.data_dir / file).read_bytes()
    assert row.end_lsn == (source.data_dir / file).stat().st_size
    assert _status(strongbox, "killed")["gaps"] == []
    names = [r.name for r in _index(strongbox, "killed")]
    assert len(names) == len(set(names))


def test_a_file_purged_before_it_was_uploaded_is_a_gap_with_its_reason(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    _setup(strongbox, source, tmp_path / "store", "purged")
    _enable(strongbox, "purged")
    _streaming(strongbox, "purged")
    file, _ = _current(source)
    _wait(
        "the current file",
        lambda: any(r.name.startswith(file) for r in _index(strongbox, "purged")),
    )
    strongbox.client.put("/api/v1/databases/purged/pitr", json={"enabled": False})
    _insert(source, 40)
    source.execute("FLUSH BINARY LOGS")
    _insert(source, 41)
    source.execute("FLUSH BINARY LOGS")
    now, _ = _current(source)

    def purge() -> bool:
        # The server keeps a file a reader's connection still uses, and notices a closed one
        # only when it next sends an event: purge again until the file is gone.
        source.execute(f"PURGE BINARY LOGS TO '{now}'")
        return file not in [row[0] for row in source.query("SHOW BINARY LOGS")]

    _wait(f"{file} purged", purge)
    _enable(strongbox, "purged")

    try:
        gaps = _wait("the gap", lambda: _status(strongbox, "purged")["gaps"])
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {_status(strongbox, 'purged')}") from None
    assert len(gaps) == 1
    assert gaps[0]["from_lsn"].startswith(file)
    assert "purged it before it was uploaded" in gaps[0]["reason"]
    assert "take a new backup" in gaps[0]["reason"]


def test_a_stored_file_deleted_from_the_storage_is_a_gap(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _setup(strongbox, source, store, "deleted")
    _enable(strongbox, "deleted")
    _streaming(strongbox, "deleted")
    source.execute("FLUSH BINARY LOGS")
    file, _ = _current(source)
    _insert(source, 50)
    source.execute("FLUSH BINARY LOGS")
    _wait(f"{file} stored whole", lambda: _whole(strongbox, "deleted", file))
    assert _status(strongbox, "deleted")["gaps"] == []
    (store / "deleted" / "pitr" / "binlog" / f"{file}.zst").unlink()

    gaps = _status(strongbox, "deleted")["gaps"]
    assert [g for g in gaps if file in g["reason"] and "deleted from the storage" in g["reason"]]


def test_a_user_without_replication_grants_is_refused_with_the_grant_to_run(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    source.execute("CREATE USER IF NOT EXISTS 'plain'@'%' IDENTIFIED BY 'plain-pass'")
    source.execute("GRANT SELECT ON *.* TO 'plain'@'%'")
    body = mariadb_database(source, ["shop"], name="plain")
    body.update(username="plain", password="plain-pass")
    strongbox.client.post("/api/v1/databases", json=body).raise_for_status()
    strongbox.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "store")
    ).raise_for_status()
    put = {"enabled": True, "storage": "disk", "upload_interval_seconds": INTERVAL}
    problem = assert_problem(
        strongbox.client.put("/api/v1/databases/plain/pitr", json=put),
        422,
        "database-binlog-missing",
    )
    assert "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'plain'@'%'" in problem["detail"]
    assert _status(strongbox, "plain")["enabled"] is False


def test_a_server_without_binary_logging_is_refused_saying_it_needs_a_restart(
    strongbox: RunningServer,
    mariadb_server_factory: Callable[..., MariaDBServer],
    tmp_path: Path,
) -> None:
    server = mariadb_server_factory(log_bin=False)
    try:
        strongbox.client.post(
            "/api/v1/databases", json=mariadb_database(server, [], name="nolog")
        ).raise_for_status()
        strongbox.client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path / "store")
        ).raise_for_status()
        put = {"enabled": True, "storage": "disk", "upload_interval_seconds": INTERVAL}
        problem = assert_problem(
            strongbox.client.put("/api/v1/databases/nolog/pitr", json=put),
            422,
            "database-binlog-missing",
        )
        assert "log_bin" in problem["detail"]
        assert "server restart" in problem["detail"]
    finally:
        server.stop()


def test_the_page_shows_the_state_and_disabling_stops_the_reader(
    strongbox: RunningServer, source: MariaDBServer, tmp_path: Path
) -> None:
    _setup(strongbox, source, tmp_path / "store", "paged")
    _enable(strongbox, "paged")
    _streaming(strongbox, "paged")
    reader = reader_id(strongbox, "paged")
    assert _wait("the reader", lambda: reader_pids(reader))
    add_user(strongbox, "watcher", "viewer")
    with page_sign_in(strongbox, "watcher") as page:
        html = page.get("/databases/paged/partials/pitr").text
    assert "data-pitr-state>Streaming<" in html
    assert "not available" not in html

    off = strongbox.client.put("/api/v1/databases/paged/pitr", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["state"] == "disabled"
    assert reader_pids(reader) == []


def _row_insert(source: MariaDBServer, db: str, *ids: int) -> None:
    """Rows logged as row events (binlog_format ROW, as PITR recommends)."""
    with source.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SET SESSION binlog_format = 'ROW'")
        for i in ids:
            cursor.execute(f"INSERT INTO {db}.t VALUES ({i})")


def test_a_binlog_range_is_replayed_into_another_database_up_to_a_utc_time(
    source: MariaDBServer, tmp_path: Path
) -> None:
    source.execute("CREATE DATABASE rsrc")
    source.execute("CREATE DATABASE rcopy")
    source.execute("CREATE DATABASE rother")
    for db in ("rsrc", "rcopy", "rother"):
        source.execute(f"CREATE TABLE {db}.t (id int PRIMARY KEY)")
    source.execute("FLUSH BINARY LOGS")
    file, position = _current(source)
    base_at = datetime.now(UTC)
    _row_insert(source, "rsrc", 1, 2)
    _row_insert(source, "rother", 9)  # another database: not replayed
    source.execute("FLUSH BINARY LOGS")
    _row_insert(source, "rsrc", 3)
    target = source.query("SELECT UTC_TIMESTAMP(6)")[0][0].replace(tzinfo=UTC)
    _wait(
        "the next second",
        lambda: source.query("SELECT UTC_TIMESTAMP() > %s", params=(target,))[0][0],
    )
    time.sleep(1.1)  # C is more than a second after T
    _row_insert(source, "rsrc", 4)
    source.execute("FLUSH BINARY LOGS")
    last, _ = _current(source)

    names = [n for (n, _size) in source.query("SHOW BINARY LOGS") if file <= n < last]
    copies = []
    stored = []
    for name in names:
        copy = tmp_path / name
        copy.write_bytes((source.data_dir / name).read_bytes())
        copies.append(copy)
        c = read_binlog(copy.read_bytes())
        stored.append(
            StoredBinlog(
                name,
                False,
                c.start_position,
                c.end_position,
                c.first_event_at,
                c.last_event_at,
                c.server_id,
            )
        )
    plan = plan_replay(BinlogBase("b", file, position, base_at), stored, target)
    assert plan.files == names
    options = reader_options(plan, "rsrc", "rcopy", mariadb=True)
    engine = MySQLEngine()
    engine.replay_binlog(
        source.connection(), "rcopy", [tmp_path / f for f in plan.files], options, 30
    )

    assert source.query("SELECT id FROM rcopy.t ORDER BY id") == [(1,), (2,), (3,)]
    assert source.query("SELECT id FROM rsrc.t ORDER BY id") == [(1,), (2,), (3,), (4,)]
    assert source.query("SELECT id FROM rother.t") == [(9,)]
    # The replay was not written to the binlog: no change event since the last flush (the
    # server may still add its own checkpoint event there).
    assert _current(source)[0] == last
    assert read_binlog((source.data_dir / last).read_bytes()).first_event_at is None
