"""A backup's stream runs in a process of its own: it holds no secret on its command line or in
its environment, and when it dies mid-backup the backup fails with the reason, its multipart
upload is aborted, nothing is left in the bucket and the dump tool does not linger."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage

pytestmark = pytest.mark.integration

DB = "streamkill"


@pytest.fixture
def slow_source(pg_server: PostgresServer) -> Iterator[str]:
    """About 20 MB of random bytes, read at 2 MB/s: a backup that lasts many seconds."""
    pg_server.create_database(DB)
    pg_server.execute(
        "CREATE TABLE blocks AS SELECT g AS id, "
        "(SELECT decode(string_agg(md5(random()::text || g || i), ''), 'hex') "
        " FROM generate_series(1, 64) AS i) AS payload "
        "FROM generate_series(1, 20000) AS g",
        DB,
    )
    yield DB
    pg_server.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def processes() -> Iterator[tuple[int, int, bytes]]:
    """(pid, parent pid, command line) of every process still readable."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), int(stat.rsplit(")", 1)[1].split()[1]), cmdline


def stream_children() -> list[int]:
    me = os.getpid()
    return [
        p for p, parent, cmd in processes() if parent == me and b"strongbox.stream_child" in cmd
    ]


def dumps_of(dbname: str) -> list[int]:
    return [p for p, _, cmd in processes() if b"pg_dump" in cmd and dbname.encode() in cmd]


def wait_until(check: Any, what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def test_a_killed_stream_process_fails_the_backup_and_aborts_its_upload(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    slow_source: str,
) -> None:
    client = strongbox.client
    client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [slow_source], max_rate_mb_per_s=2),
    ).raise_for_status()
    client.post("/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)).raise_for_status()
    client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "doomed"}
    ).raise_for_status()

    s3 = seaweed.client()

    def uploads() -> list[Any]:
        listed = s3.list_multipart_uploads(Bucket=s3_bucket, Prefix="prod/doomed/")
        return list(listed.get("Uploads", []))

    # The database's dump (the roles' dump before it is too small for a multipart upload).
    wait_until(uploads, "a multipart upload in progress")
    [child] = stream_children()
    seen = Path(f"/proc/{child}/cmdline").read_bytes() + Path(f"/proc/{child}/environ").read_bytes()
    assert seaweed.secret_key.encode() not in seen
    assert pg_server.password.encode() not in seen
    assert dumps_of(slow_source)
    os.kill(child, signal.SIGKILL)

    backup = strongbox.wait_for_backup("prod", "doomed")
    assert backup["state"] == "failed"
    assert "stream process ended without a result (killed by signal 9)" in backup["error"]
    wait_until(lambda: not uploads(), "the upload to be aborted")
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="prod/doomed/")
    assert listed.get("KeyCount", 0) == 0
    wait_until(lambda: not dumps_of(slow_source), "pg_dump to end")
    assert stream_children() == []
