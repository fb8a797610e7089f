"""A physical base backup: pg_basebackup of the whole cluster, streamed into one object whose
tar, extracted with the standard tools alone, starts as a cluster holding the source's data;
its prerequisites refused before anything starts, each with its fix."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, mariadb_database, postgres_database
from integration.problems import assert_problem
from integration.seeds import pg_fingerprint, seed_postgres
from strongbox.domain.wal import parse_lsn

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def source(pg_server_factory: Callable[..., PostgresServer]) -> Iterator[PostgresServer]:
    """A cluster of its own (a physical backup copies every database of it), seeded small."""
    server = pg_server_factory()
    seed_postgres(server, "shop", scale=0.05)
    yield server
    server.stop()


def _backup(strongbox: RunningServer, **body: Any) -> dict[str, Any]:
    accepted = strongbox.client.post(
        "/api/v1/databases/prod/backups", json={"storage": "disk", **body}
    )
    assert accepted.status_code == 202, accepted.text
    return strongbox.wait_for_backup("prod", accepted.json()["name"])


def test_a_physical_backup_starts_as_a_cluster_equal_to_the_source(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(source, ["shop"])
    ).raise_for_status()
    strongbox.client.post("/api/v1/backup-storages", json=folder_storage(store)).raise_for_status()

    backup = _backup(strongbox, method="physical")
    assert backup["state"] == "succeeded", backup["error"]
    assert backup["method"] == "physical"
    assert backup["pitr_base"] is True
    assert backup["pitr_ready"] is False  # no WAL stream holds its range yet
    assert [a["name"] for a in backup["artifacts"]] == ["base.tar.zst"]

    folder = store / "prod" / backup["name"]
    assert sorted(p.name for p in folder.iterdir()) == ["base.tar.zst", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["method"] == "physical"
    assert set(manifest["tool_versions"]) == {"pg_basebackup"}
    [artifact] = manifest["artifacts"]
    assert (artifact["kind"], artifact["format"]) == ("base", "pg_basebackup-tar")
    stored = (folder / "base.tar.zst").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == artifact["sha256"]

    position = manifest["log_position"]
    assert position == backup["log_position"]
    assert parse_lsn(position["start_lsn"]) <= parse_lsn(position["stop_lsn"])
    assert position["timeline"] == 1
    assert position["start_time"] <= position["stop_time"]
    identifier = source.query("SELECT system_identifier FROM pg_control_system()")[0][0]
    assert position["system_identifier"] == str(identifier)
    assert position["server_version"] == manifest["server_version"]
    assert position["tablespaces"] == ["pg_default", "pg_global"]
    assert position["wal_included"] is True

    # Written after the backup: the copy, which ends at the backup's end point, lacks it.
    source.execute("CREATE TABLE after_backup (id int)", "shop")
    base_tar = tmp_path / "base.tar"
    subprocess.run(
        ["zstd", "-q", "-d", str(folder / "base.tar.zst"), "-o", str(base_tar)], check=True
    )
    copy = PostgresServer.start_from_base(base_tar, source.password, source.bin_dir)
    try:
        assert pg_fingerprint(copy, "shop") == pg_fingerprint(source, "shop")
        assert copy.query("SELECT to_regclass('after_backup')", "shop") == [(None,)]
        copied = copy.query("SELECT system_identifier FROM pg_control_system()")[0][0]
        assert copied == identifier
    finally:
        copy.stop()
        source.execute("DROP TABLE after_backup", "shop")

    restore = strongbox.client.post(
        "/api/v1/databases/prod/restores",
        json={"backup": backup["name"], "restore_globals": True},
    )
    problem = assert_problem(restore, 422, "backup-physical-not-restorable")
    assert "zstd -d < base.tar.zst | tar -x -C DIR" in problem["detail"]

    logical = _backup(strongbox)
    assert logical["state"] == "succeeded", logical["error"]
    assert (logical["method"], logical["pitr_base"], logical["pitr_ready"]) == (
        "logical",
        False,
        False,
    )


def test_a_role_without_replication_is_refused_with_the_fix(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    source.execute("CREATE ROLE lowly LOGIN NOREPLICATION PASSWORD 'lowly-password'")
    try:
        body = postgres_database(source, ["shop"], username="lowly", password="lowly-password")
        strongbox.client.post("/api/v1/databases", json=body).raise_for_status()
        strongbox.client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path)
        ).raise_for_status()
        refused = strongbox.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "method": "physical"}
        )
        problem = assert_problem(refused, 422, "database-replication-missing")
        assert "ALTER ROLE lowly REPLICATION" in problem["detail"]
        assert strongbox.client.get("/api/v1/databases/prod/backups").json()["items"] == []
    finally:
        source.execute("DROP ROLE lowly")


def test_a_physical_backup_of_mysql_is_refused(
    strongbox: RunningServer, mariadb_server: MariaDBServer, tmp_path: Path
) -> None:
    strongbox.client.post(
        "/api/v1/databases", json=mariadb_database(mariadb_server, [])
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path)
    ).raise_for_status()
    refused = strongbox.client.post(
        "/api/v1/databases/maria/backups", json={"storage": "disk", "method": "physical"}
    )
    problem = assert_problem(refused, 422, "backup-method-unsupported")
    assert "PostgreSQL only" in problem["detail"]
    assert strongbox.client.get("/api/v1/databases/maria/backups").json()["items"] == []
    schedule = strongbox.client.post(
        "/api/v1/databases/maria/schedules",
        json={"storage": "disk", "cron": "0 2 * * *", "method": "physical"},
    )
    assert_problem(schedule, 422, "backup-method-unsupported")


def test_no_replication_line_in_pg_hba_is_refused_with_the_fix(
    strongbox: RunningServer, source: PostgresServer, tmp_path: Path
) -> None:
    hba = source.data_dir / "pg_hba.conf"
    before = hba.read_text()
    kept = [line for line in before.splitlines() if "replication" not in line.split("#")[0]]
    hba.write_text("\n".join(kept) + "\n")
    source.execute("SELECT pg_reload_conf()")
    try:
        strongbox.client.post(
            "/api/v1/databases", json=postgres_database(source, ["shop"])
        ).raise_for_status()
        strongbox.client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path)
        ).raise_for_status()
        refused = strongbox.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "method": "physical"}
        )
        problem = assert_problem(refused, 422, "database-replication-missing")
        assert "host replication postgres" in problem["detail"]
        assert "pg_reload_conf()" in problem["detail"]
    finally:
        hba.write_text(before)
        source.execute("SELECT pg_reload_conf()")
