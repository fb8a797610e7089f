"""Physical backups and point-in-time recovery of a database with age recipients: the base, the
WAL segments and the binlog files are stored as age (not zstd), each index row records its
recipients, and a restore to a time T with a recipient's identity holds exactly the marker
rows committed up to T; without the identity, or with another one, it is refused before
anything is made, naming the recipients. The identity is never in the catalog."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, mariadb_database
from integration.pitr_steps import enable, physical_backup, setup, status, wait
from integration.problems import assert_problem, fields_of
from integration.test_encryption import AGE_HEADER, Key, assert_not_zstd
from integration.test_restore import wait_for_restore
from strongbox.catalog.models import WalSegment

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rows(box: RunningServer, database: str) -> list[WalSegment]:
    with box.embedded.context.catalog.session() as session:
        rows = list(session.scalars(select(WalSegment).where(WalSegment.database == database)))
        session.expunge_all()
    return rows


def _stored_change_log(store: Path, folder: str) -> dict[str, bytes]:
    """The stored objects of the change log (relative key -> bytes), in the folder storage."""
    return {
        str(path.relative_to(store)): path.read_bytes()
        for path in (store / folder).rglob("*")
        if path.is_file()
    }


def _refusals(box: RunningServer, database: str, body: dict[str, Any], keys: list[Key]) -> None:
    """No identity, then another one: 422 on body.identity naming the recipients."""
    stranger = keys[-1]
    for extra, code in (
        ({}, "age-identity-missing"),
        ({"identity": stranger.identity}, "age-identity-wrong"),
    ):
        answer = box.client.post(f"/api/v1/databases/{database}/restores", json=body | extra)
        problem = assert_problem(answer, 422, code)
        assert fields_of(problem) == {"body.identity"}
        for key in keys[:-1]:
            assert key.recipient in problem["detail"]
    assert box.client.get(f"/api/v1/databases/{database}/restores").json()["items"] == []


def _pg_insert(source: PostgresServer, label: str) -> datetime:
    source.execute(
        f"SET synchronous_commit = on; INSERT INTO marker (label) VALUES ('{label}')", "shop"
    )
    return source.query("SELECT clock_timestamp()")[0][0]


def _pg_checksum(server: PostgresServer, labels: list[str]) -> str:
    listed = ", ".join(f"'{label}'" for label in labels)
    rows = server.query(
        "SELECT md5(string_agg(m::text, '|' ORDER BY m.label)) FROM marker m "
        f"WHERE m.label IN ({listed})",
        "shop",
    )
    return str(rows[0][0])


def test_an_encrypted_physical_base_and_wal_restore_to_t_with_the_identity_only(
    pg_server_factory: Callable[..., PostgresServer],
    wal_fetch_python: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    team, escrow, stranger = Key(tmp_path, "team"), Key(tmp_path, "escrow"), Key(tmp_path, "x")
    source = pg_server_factory()
    source.execute("CREATE DATABASE shop")
    source.execute(
        "CREATE TABLE marker (label text PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
        "shop",
    )
    instances = Path(tempfile.mkdtemp(prefix="strongbox-instances-", dir="/tmp"))
    instances.chmod(0o755)
    box, server = start_server(
        tmp_path / "data",
        instances_dir=instances,
        recovery_timeout_seconds=90,
        wal_fetch_python=wal_fetch_python,
    )
    store = tmp_path / "store"
    try:
        setup(box, source, store, "prod")
        enable(box, "prod")
        wait("streaming", lambda: status(box, "prod")["state"] == "streaming")
        # Recipients given while the stream runs: every file stored from now on is encrypted.
        keyed = box.client.patch(
            "/api/v1/databases/prod", json={"age_recipients": [team.recipient, escrow.recipient]}
        )
        assert keyed.status_code == 200, keyed.text
        keyed_at = datetime.now(UTC)
        a_at = _pg_insert(source, "A")
        base = physical_backup(box, "prod")
        _pg_insert(source, "B")
        t = source.query("SELECT clock_timestamp()")[0][0]
        time.sleep(1.2)
        c_at = _pg_insert(source, "C")

        def c_stored() -> bool:
            latest = status(box, "prod")["latest_restorable_time"]
            return latest is not None and datetime.fromisoformat(latest) >= c_at - timedelta(
                seconds=0.5
            )

        wait("C stored", c_stored)
        assert a_at < t

        # The base: age, its manifest naming the recipients, its SHA-256 of the stored bytes.
        folder = store / "prod" / base["name"]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["encryption"] == {
            "algorithm": "age",
            "recipients": [team.recipient, escrow.recipient],
        }
        (artifact,) = manifest["artifacts"]
        assert artifact["name"].endswith(".tar.zst.age")
        assert artifact["encrypted_to"] == [team.recipient, escrow.recipient]
        stored_base = (store / artifact["key"]).read_bytes()
        assert_not_zstd(stored_base)

        # The WAL: each file stored after the recipients were given is age, its row names its
        # recipients; every indexed object exists, and nothing else is in the WAL folder.
        rows = _rows(box, "prod")
        objects = _stored_change_log(store, "prod/pitr/wal")
        assert set(objects) == {r.key for r in rows}
        later = [r for r in rows if r.stored_at.replace(tzinfo=UTC) > keyed_at]
        assert later
        for row in later:
            assert row.encrypted_to == [team.recipient, escrow.recipient]
            assert row.key.endswith(".zst.age")
            assert objects[row.key].startswith(AGE_HEADER)
        for row in rows:
            assert row.key.endswith(".age") == bool(row.encrypted_to)

        # Refused before anything is made, naming the recipients.
        body = {
            "point_in_time": {"time": t.isoformat()},
            "new_instance": {"name": "sealed", "port": _free_port()},
        }
        _refusals(box, "prod", body, [team, escrow, stranger])
        assert list(instances.iterdir()) == []
        assert box.client.get("/api/v1/databases/sealed").status_code == 404

        # With the escrow key: exactly A and B, as the source holds them.
        accepted = box.client.post(
            "/api/v1/databases/prod/restores", json=body | {"identity": escrow.identity}
        )
        assert accepted.status_code == 202, accepted.text
        done = wait_for_restore(box, "prod", accepted.json()["name"])
        assert done["state"] == "succeeded", done["error"]
        port = body["new_instance"]["port"]  # type: ignore[index]
        copy = PostgresServer(Path("/nonexistent"), source.bin_dir, port, source.password)
        labels = [r[0] for r in copy.query("SELECT label FROM marker ORDER BY label", "shop")]
        assert labels == ["A", "B"]
        assert _pg_checksum(copy, ["A", "B"]) == _pg_checksum(source, ["A", "B"])
        assert done["point_in_time"]["target_reached"] is True
        assert box.client.delete("/api/v1/databases/sealed").status_code == 204

        catalog = (box.data_dir / "catalog.sqlite3").read_bytes()
        answers = box.client.get("/api/v1/databases/prod/restores").text
        for key in (team, escrow, stranger):
            assert key.secret.encode() not in catalog
            assert key.secret not in answers
            assert key.secret not in caplog.text
    finally:
        box.client.put("/api/v1/databases/prod/pitr", json={"enabled": False})
        stop_server(box, server)
        shutil.rmtree(instances, ignore_errors=True)
        source.stop()


def _maria_now(source: MariaDBServer) -> datetime:
    with source.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        cursor.execute("SELECT NOW(6)")
        found: datetime = cursor.fetchone()[0]  # type: ignore[index]
    return found.replace(tzinfo=UTC)


def _maria_insert(source: MariaDBServer, label: str) -> datetime:
    source.execute(
        "INSERT INTO shop.marker (label, note) VALUES (%s, %s)", params=(label, f"row {label}")
    )
    return _maria_now(source)


def test_encrypted_binlog_files_replay_to_t_with_the_identity_only(
    mariadb_server_factory: Callable[..., MariaDBServer], tmp_path: Path
) -> None:
    team, stranger = Key(tmp_path, "team"), Key(tmp_path, "x")
    source = mariadb_server_factory(binlog_format="ROW")
    source.execute("CREATE DATABASE shop")
    source.execute(
        "CREATE TABLE shop.marker (label varchar(20) PRIMARY KEY, note text,"
        " at datetime(6) DEFAULT NOW(6))"
    )
    box, server = start_server(tmp_path / "data")
    store = tmp_path / "store"
    try:
        box.client.post(
            "/api/v1/databases",
            json=mariadb_database(source, ["shop"], name="maria")
            | {"age_recipients": [team.recipient]},
        ).raise_for_status()
        box.client.post("/api/v1/backup-storages", json=folder_storage(store)).raise_for_status()
        enable(box, "maria")
        wait("streaming", lambda: status(box, "maria")["state"] == "streaming")
        _maria_insert(source, "A")
        accepted = box.client.post("/api/v1/databases/maria/backups", json={"storage": "disk"})
        assert accepted.status_code == 202, accepted.text
        backup = box.wait_for_backup("maria", accepted.json()["name"])
        assert backup["state"] == "succeeded", backup["error"]
        _maria_insert(source, "B")
        t = _maria_now(source)
        time.sleep(1.2)
        c_at = _maria_insert(source, "C")
        source.execute("FLUSH BINARY LOGS")

        def c_stored() -> bool:
            latest = status(box, "maria")["latest_restorable_time"]
            return latest is not None and datetime.fromisoformat(latest) >= c_at.replace(
                microsecond=0
            )

        wait("C stored", c_stored)

        rows = _rows(box, "maria")
        objects = _stored_change_log(store, "maria/pitr/binlog")
        assert rows
        assert set(objects) == {r.key for r in rows}
        for row in rows:
            assert row.encrypted_to == [team.recipient]
            assert_not_zstd(objects[row.key])
            assert hashlib.sha256(objects[row.key]).hexdigest() == row.sha256

        body = {"point_in_time": {"time": t.isoformat()}, "database_map": {"shop": "shop_t"}}
        _refusals(box, "maria", body, [team, stranger])
        assert source.query("SHOW DATABASES LIKE 'shop_t'") == []

        accepted = box.client.post(
            "/api/v1/databases/maria/restores", json=body | {"identity": team.identity}
        )
        assert accepted.status_code == 202, accepted.text
        done = wait_for_restore(box, "maria", accepted.json()["name"])
        assert done["state"] == "succeeded", done["error"]
        restored = source.query("SELECT label, note, at FROM shop_t.marker ORDER BY label")
        expected = source.query("SELECT label, note, at FROM shop.marker ORDER BY label")
        assert [r[0] for r in restored] == ["A", "B"]
        assert restored == [r for r in expected if r[0] in ("A", "B")]
        assert team.secret.encode() not in (box.data_dir / "catalog.sqlite3").read_bytes()
    finally:
        box.client.put("/api/v1/databases/maria/pitr", json={"enabled": False})
        stop_server(box, server)
        source.stop()
