"""Canceling a running backup or restore, on both engines: the tool is stopped where the job
runs, the upload aborted and nothing left in the storage; a canceled restore leaves the target
as after a failure (a side database dropped, the existing target untouched)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import folder_storage, mariadb_database, postgres_database, s3_storage
from integration.seeds import seed_mariadb, seed_postgres
from integration.tool_wrappers import READS_NOTHING, pg_bin_with
from integration.waiting import processes_running, wait_for
from strongbox.domain.jobs import JobKind, JobRef
from strongbox.jobs.runner import Runner

pytestmark = pytest.mark.integration

ADMIN = "token:admin"  # the canceled_by of the admin token the test server is started with


def job(running: RunningServer, path: str) -> dict[str, Any]:
    answer = running.client.get(path)
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def cancel_and_wait(running: RunningServer, path: str) -> dict[str, Any]:
    answer = running.client.post(f"{path}/cancel")
    assert answer.status_code == 202, answer.text
    assert answer.json()["canceled_by"] == ADMIN
    ended = wait_for("the cancel", lambda: (b := job(running, path))["state"] != "running" and b)
    assert ended["state"] == "canceled", ended
    assert "canceled" in ended["error"]  # what stopped, and what it left
    assert ended["canceled_by"] == ADMIN
    assert ended["canceled_at"] is not None
    assert ended["finished_at"] is not None
    return ended


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # Beats every second: a cancel reaches the job within a second.
    running, uvicorn_server = start_server(tmp_path / "data", job_lost_after=3)
    yield running
    stop_server(running, uvicorn_server)


@pytest.fixture(scope="module")
def pg_source(pg_server: PostgresServer) -> Iterator[str]:
    seed_postgres(pg_server, "cancelpg", scale=0.3)
    yield "cancelpg"
    pg_server.execute("DROP DATABASE cancelpg WITH (FORCE)")


@pytest.fixture(scope="module")
def maria_source(mariadb_server: MariaDBServer) -> Iterator[str]:
    seed_mariadb(mariadb_server, "cancelmaria", scale=0.3)
    yield "cancelmaria"
    mariadb_server.execute("DROP DATABASE IF EXISTS cancelmaria")


def backup_is_canceled_leaving_nothing(
    running: RunningServer, database: str, tool: str, seaweed: SeaweedServer, bucket: str
) -> None:
    path = f"/api/v1/databases/{database}/backups/cut"
    running.client.post(
        f"/api/v1/databases/{database}/backups", json={"storage": "bucket", "name": "cut"}
    ).raise_for_status()
    # The roles dump comes first and is quick: wait for the database's own dump to run.
    wait_for("the dump running", lambda: processes_running(tool))
    cancel_and_wait(running, path)
    assert processes_running(tool) == []
    client = seaweed.client()
    assert client.list_objects_v2(Bucket=bucket, Prefix=f"{database}/cut/").get("Contents") is None
    uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=f"{database}/cut/")
    assert uploads.get("Uploads") in (None, [])
    assert running.client.post(f"{path}/cancel").status_code == 409  # it has ended


def test_a_postgres_backup_canceled_while_it_dumps_stops_pg_dump_and_leaves_nothing(
    server: RunningServer,
    pg_server: PostgresServer,
    pg_source: str,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    # The rate cap keeps the dump running long enough to be canceled midway.
    server.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [pg_source], name="pgcut", max_rate_mb_per_s=1),
    ).raise_for_status()
    server.client.post(
        "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
    ).raise_for_status()
    backup_is_canceled_leaving_nothing(server, "pgcut", f"{pg_source}", seaweed, s3_bucket)


def test_a_mariadb_backup_canceled_while_it_dumps_stops_mariadb_dump_and_leaves_nothing(
    server: RunningServer,
    mariadb_server: MariaDBServer,
    maria_source: str,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    server.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, [maria_source], name="mariacut", max_rate_mb_per_s=1),
    ).raise_for_status()
    server.client.post(
        "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
    ).raise_for_status()
    backup_is_canceled_leaving_nothing(server, "mariacut", maria_source, seaweed, s3_bucket)


class HeldJobs:
    """An executor that only keeps what it is handed: the jobs stay queued."""

    def __init__(self) -> None:
        self.jobs: list[JobRef] = []

    def submit(self, job: JobRef) -> None:
        self.jobs.append(job)


def test_a_queued_backup_canceled_is_never_claimed(
    server: RunningServer, pg_server: PostgresServer, pg_source: str, tmp_path: Path
) -> None:
    server.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [pg_source], name="pgq")
    ).raise_for_status()
    server.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "b")
    ).raise_for_status()
    ctx = server.embedded.context
    held = HeldJobs()
    ctx.executor = held
    server.client.post(
        "/api/v1/databases/pgq/backups", json={"storage": "disk", "name": "q"}
    ).raise_for_status()
    path = "/api/v1/databases/pgq/backups/q"
    assert job(server, path)["state"] == "queued"
    ended = cancel_and_wait(server, path)
    assert ended["started_at"] is None
    assert [j.kind for j in held.jobs] == [JobKind.BACKUP]
    assert Runner(ctx).run(held.jobs[0]) is False  # handed over late: its claim is refused
    assert job(server, path)["state"] == "canceled"
    assert list((tmp_path / "b").rglob("*")) == []


def test_a_postgres_overwrite_restore_canceled_drops_its_side_database_and_keeps_the_target(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    pg_server.create_database("cancelpgr")
    pg_server.execute(
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 20000) g",
        "cancelpgr",
    )
    content = "SELECT count(*), md5(string_agg(h, ',' ORDER BY id)) FROM t"
    before = pg_server.query(content, "cancelpgr")
    # pg_restore that reads nothing and never ends: the restore runs until it is canceled.
    bin_dir = pg_bin_with(tmp_path / "bin", READS_NOTHING, program="pg_restore")
    running, uvicorn_server = start_server(tmp_path / "data", pg_bin_dir=bin_dir, job_lost_after=3)
    try:
        running.client.post(
            "/api/v1/databases", json=postgres_database(pg_server, ["cancelpgr"], name="pgr")
        ).raise_for_status()
        running.client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path / "b")
        ).raise_for_status()
        running.client.post(
            "/api/v1/databases/pgr/backups", json={"storage": "disk", "name": "b"}
        ).raise_for_status()
        assert running.wait_for_backup("pgr", "b")["state"] == "succeeded"
        running.client.post(
            "/api/v1/databases/pgr/restores",
            json={"backup": "b", "name": "r", "overwrite": True, "jobs": 1},
        ).raise_for_status()
        tool = str(bin_dir / "pg_restore")
        wait_for("pg_restore running", lambda: processes_running(tool))
        ended = cancel_and_wait(running, "/api/v1/databases/pgr/restores/r")
        assert processes_running(tool) == []
        assert [entry["side_database"] for entry in ended["summary"]] == [None]
        assert "cancelpgr was not changed" in ended["error"]
        left = pg_server.query("SELECT datname FROM pg_database WHERE datname LIKE 'cancelpgr%'")
        assert [row[0] for row in left] == ["cancelpgr"]
        assert pg_server.query(content, "cancelpgr") == before
    finally:
        stop_server(running, uvicorn_server)
        pg_server.execute("DROP DATABASE cancelpgr WITH (FORCE)")


def test_a_mariadb_restore_into_a_new_database_canceled_drops_that_database(
    server: RunningServer, mariadb_server: MariaDBServer, tmp_path: Path
) -> None:
    seed_mariadb(mariadb_server, "cancelmr", scale=1.0)
    try:
        server.client.post(
            "/api/v1/databases", json=mariadb_database(mariadb_server, ["cancelmr"], name="mr")
        ).raise_for_status()
        server.client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path / "b")
        ).raise_for_status()
        server.client.post(
            "/api/v1/databases/mr/backups", json={"storage": "disk", "name": "b"}
        ).raise_for_status()
        assert server.wait_for_backup("mr", "b")["state"] == "succeeded"
        server.client.post(
            "/api/v1/databases/mr/restores",
            json={"backup": "b", "name": "r", "database_map": {"cancelmr": "cancelmr_copy"}},
        ).raise_for_status()
        path = "/api/v1/databases/mr/restores/r"
        wait_for("the restore writing", lambda: job(server, path)["restored_bytes"] > 0)
        cancel_and_wait(server, path)
        assert processes_running("cancelmr_copy") == []
        found = mariadb_server.query("SHOW DATABASES LIKE 'cancelmr_copy'")
        assert list(found) == []
    finally:
        mariadb_server.execute("DROP DATABASE IF EXISTS cancelmr")
        mariadb_server.execute("DROP DATABASE IF EXISTS cancelmr_copy")
