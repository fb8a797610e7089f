"""Backups that go wrong end `failed` with a readable reason, and leave nothing in the storage."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage
from integration.problems import assert_problem
from integration.seeds import seed_postgres
from integration.tool_wrappers import DIES_MIDWAY, PAUSES, STALLS, pg_bin_with

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mid(pg_server: PostgresServer) -> Iterator[str]:
    """A database of about 15 MB: big enough to be cut midway."""
    seed_postgres(pg_server, "mid", scale=0.3)
    yield "mid"
    pg_server.execute("DROP DATABASE mid")


def server_with_pg_dump(tmp_path: Path, body: str, **settings: Any) -> tuple[RunningServer, Any]:
    bin_dir = pg_bin_with(tmp_path / "bin", body)
    return start_server(tmp_path / "data", pg_bin_dir=bin_dir, **settings)


def register(running: RunningServer, pg: PostgresServer, storage: dict[str, Any]) -> None:
    running.client.post(
        "/api/v1/databases",
        json=postgres_database(pg, ["mid"]),
    ).raise_for_status()
    running.client.post("/api/v1/backup-storages", json=storage).raise_for_status()


def objects_under(seaweed: SeaweedServer, bucket: str, prefix: str) -> list[str]:
    listed = seaweed.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def wait_until_running_with_bytes(running: RunningServer, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = running.client.get(f"/api/v1/databases/prod/backups/{name}").json()
        if body["state"] == "running" and body["progress_bytes"] > 0:
            return body
        assert body["state"] in ("queued", "running"), body
        time.sleep(0.1)
    raise AssertionError("the backup never showed progress")


def age_recipients(encrypted: bool) -> list[str]:
    return [str(x25519.Identity.generate().to_public())] if encrypted else []


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "age"])
def test_a_dump_tool_that_dies_midway_fails_the_backup_and_leaves_no_object(
    tmp_path: Path,
    pg_server: PostgresServer,
    mid: str,
    seaweed: SeaweedServer,
    s3_bucket: str,
    encrypted: bool,
) -> None:
    running, server = server_with_pg_dump(tmp_path, DIES_MIDWAY)
    try:
        storage = s3_storage(seaweed, s3_bucket, age_recipients=age_recipients(encrypted))
        register(running, pg_server, storage)
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "cut"}
        ).raise_for_status()
        backup = running.wait_for_backup("prod", "cut")
        assert backup["state"] == "failed"
        assert "pg_dump exited with status 1" in backup["error"]
        assert "connection to server was lost" in backup["error"]  # the tool's stderr tail
        assert backup["finished_at"] is not None
        assert objects_under(seaweed, s3_bucket, "prod/cut/") == []
        uploads = seaweed.client().list_multipart_uploads(Bucket=s3_bucket, Prefix="prod/cut/")
        assert uploads.get("Uploads", []) == []
    finally:
        stop_server(running, server)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "age"])
def test_a_stalled_dump_is_stopped_and_failed(
    tmp_path: Path, pg_server: PostgresServer, mid: str, encrypted: bool
) -> None:
    running, server = server_with_pg_dump(tmp_path, STALLS, stall_timeout_seconds=2)
    folder = tmp_path / "backups"
    try:
        disk = {"type": "filesystem", "name": "disk", "path": str(folder)}
        register(running, pg_server, disk | {"age_recipients": age_recipients(encrypted)})
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "stuck"}
        ).raise_for_status()
        backup = running.wait_for_backup("prod", "stuck", timeout=60)
        assert backup["state"] == "failed"
        assert "stalled" in backup["error"]
        assert list(folder.rglob("*")) == []  # not even a temp file
    finally:
        stop_server(running, server)


def test_one_backup_at_a_time_per_database(
    tmp_path: Path, pg_server: PostgresServer, mid: str
) -> None:
    running, server = server_with_pg_dump(tmp_path, PAUSES.format(first_bytes=100_000, seconds=3))
    try:
        register(
            running,
            pg_server,
            {"type": "filesystem", "name": "disk", "path": str(tmp_path / "b")},
        )
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "first"}
        ).raise_for_status()
        second = running.client.post("/api/v1/databases/prod/backups", json={"storage": "disk"})
        problem = assert_problem(second, 409, "backup-in-progress")
        assert "first" in problem["detail"]
        # Deleting a running backup is refused too.
        assert_problem(running.client.delete("/api/v1/databases/prod/backups/first"), 409)
        assert running.wait_for_backup("prod", "first")["state"] == "succeeded"
        again = running.client.post("/api/v1/databases/prod/backups", json={"storage": "disk"})
        assert again.status_code == 202
        assert running.wait_for_backup("prod", again.json()["name"])["state"] == "succeeded"
    finally:
        stop_server(running, server)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"storage": "disk", "name": "Bad Name"}, "body.name"),
        ({"storage": "nowhere"}, "body.storage"),
        ({"storage": "disk", "method": "incremental"}, "body.method"),
        ({}, "body.storage"),
        ({"storage": "disk", "when": "now"}, "body.when"),
    ],
)
def test_bad_backup_input_names_the_field(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    mid: str,
    tmp_path: Path,
    body: dict[str, Any],
    field: str,
) -> None:
    register(
        strongbox, pg_server, {"type": "filesystem", "name": "disk", "path": str(tmp_path / "b")}
    )
    problem = assert_problem(
        strongbox.client.post("/api/v1/databases/prod/backups", json=body), 422
    )
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert strongbox.client.get("/api/v1/databases/prod/backups").json()["items"] == []


@pytest.fixture(scope="module")
def big(pg_server: PostgresServer) -> Iterator[str]:
    """A database of about 55 MB, whose compressed dump spans several upload parts."""
    seed_postgres(pg_server, "big")
    yield "big"
    pg_server.execute("DROP DATABASE big")


def test_losing_the_s3_server_mid_upload_fails_the_backup_and_leaves_no_object(
    tmp_path: Path, pg_server: PostgresServer, big: str
) -> None:
    own = SeaweedServer.create()  # not the shared one: this test stops it
    running = server = None
    try:
        bucket = own.create_bucket("lost-midway")
        # 30 MB of dump flow (more than one 8 MiB part once compressed), then a pause in
        # which the S3 server goes away.
        running, server = server_with_pg_dump(
            tmp_path, PAUSES.format(first_bytes=30_000_000, seconds=6), cleanup_retry_seconds=1
        )
        running.client.post(
            "/api/v1/databases",
            json=postgres_database(pg_server, [big]),
        ).raise_for_status()
        running.client.post(
            "/api/v1/backup-storages", json=s3_storage(own, bucket)
        ).raise_for_status()
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "lost"}
        ).raise_for_status()
        wait_until_running_with_bytes(running, "lost")
        time.sleep(1.5)  # the dump reaches its pause
        own.stop()
        backup = running.wait_for_backup("prod", "lost", timeout=120)
        assert backup["state"] == "failed"
        assert backup["error"]
        assert backup["stored_bytes"] is None
        # A dump finished before the loss (globals) could not be removed then; once the
        # server is back, the janitor removes it and aborts the incomplete upload.
        own.start()
        deadline = time.monotonic() + 30
        while objects_under(own, bucket, "prod/lost/"):
            assert time.monotonic() < deadline, "the failed backup's objects were never removed"
            time.sleep(0.5)
        uploads = own.client().list_multipart_uploads(Bucket=bucket, Prefix="prod/lost/")
        assert uploads.get("Uploads", []) == []
        assert running.client.delete("/api/v1/databases/prod/backups/lost").status_code == 204
    finally:
        if running is not None:
            stop_server(running, server)
        own.stop()
        own.remove()


def stream_processes() -> list[int]:
    """The pids of the backup stream processes this test process (which runs the server) started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"strongbox.stream.child" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_stream_process_killed_midway_fails_the_backup_and_leaves_no_upload(
    tmp_path: Path, pg_server: PostgresServer, big: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    # 30 MB of dump flow (more than one 8 MiB part once compressed), then a long pause in
    # which the stream process is killed with its multipart upload open.
    running, server = server_with_pg_dump(
        tmp_path, PAUSES.format(first_bytes=30_000_000, seconds=120)
    )
    try:
        running.client.post(
            "/api/v1/databases", json=postgres_database(pg_server, [big])
        ).raise_for_status()
        running.client.post(
            "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
        ).raise_for_status()
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "killed"}
        ).raise_for_status()
        wait_until_running_with_bytes(running, "killed")
        deadline = time.monotonic() + 60
        while (
            not seaweed.client()
            .list_multipart_uploads(Bucket=s3_bucket, Prefix="prod/killed/")
            .get("Uploads")
        ):
            assert time.monotonic() < deadline, "the dump's multipart upload never started"
            time.sleep(0.2)
        (child,) = stream_processes()
        os.kill(child, signal.SIGKILL)
        backup = running.wait_for_backup("prod", "killed", timeout=120)
        assert backup["state"] == "failed"
        assert "the stream process was killed by SIGKILL" in backup["error"]
        assert "the backup is not kept" in backup["error"]
        assert objects_under(seaweed, s3_bucket, "prod/killed/") == []
        uploads = seaweed.client().list_multipart_uploads(Bucket=s3_bucket, Prefix="prod/killed/")
        assert uploads.get("Uploads", []) == []
        assert stream_processes() == []
    finally:
        stop_server(running, server)
