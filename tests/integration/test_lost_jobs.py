"""Lost work is found by its heartbeat, never guessed: a server killed during a backup leaves it
running until its heartbeat is older than STRONGBOX_JOB_LOST_AFTER, then it is failed as
"worker lost" and its objects and multipart upload removed; a server that starts beside one that
runs a backup leaves that backup alone; a cancel reaches the process that runs the job."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.app import ADMIN_TOKEN
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage
from integration.seeds import seed_postgres
from integration.tool_wrappers import PAUSES, pg_bin_with
from integration.waiting import processes_running, wait_for

pytestmark = pytest.mark.integration

LOST_AFTER = "3"  # seconds; the runner beats every second


class ServeProcess:
    """`strongbox serve` as a real process, so that it can be killed like a crashed server."""

    def __init__(self, data_dir: Path, pg_bin_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
        env.update(
            STRONGBOX_DATA_DIR=str(data_dir),
            STRONGBOX_ADMIN_TOKEN=ADMIN_TOKEN,
            STRONGBOX_SECRET_KEY="lost-jobs-test",
            STRONGBOX_PG_BIN_DIR=str(pg_bin_dir),
            STRONGBOX_JOB_LOST_AFTER=LOST_AFTER,
        )
        self.log = open(data_dir.parent / f"serve-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "strongbox", "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("strongbox serve did not start")
            time.sleep(0.1)

    def backup(self, name: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/databases/prod/backups/{name}")
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


def end_processes(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def small(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("small")
    pg_server.execute(
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) FROM generate_series(1, 50000) g", "small"
    )
    yield "small"
    pg_server.execute("DROP DATABASE small WITH (FORCE)")


@pytest.fixture(scope="module")
def big(pg_server: PostgresServer) -> Iterator[str]:
    """Big enough that its dump fills several upload parts before the wrapper pauses it."""
    seed_postgres(pg_server, "lostbig", scale=1.0)
    yield "lostbig"
    pg_server.execute("DROP DATABASE lostbig WITH (FORCE)")


def test_a_backup_of_a_killed_server_fails_as_worker_lost_and_leaves_nothing_in_the_bucket(
    tmp_path: Path, pg_server: PostgresServer, big: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # Parts are 8 MiB: the first 40 MB of the dump put a multipart upload in flight.
    bin_dir = pg_bin_with(tmp_path / "bin", PAUSES.format(first_bytes=40_000_000, seconds=120))
    first = ServeProcess(data, bin_dir)
    try:
        first.client.post(
            "/api/v1/databases", json=postgres_database(pg_server, [big])
        ).raise_for_status()
        first.client.post(
            "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
        ).raise_for_status()
        first.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "cut"}
        ).raise_for_status()
        wait_for(
            "a multipart upload",
            lambda: (
                seaweed.client()
                .list_multipart_uploads(Bucket=s3_bucket, Prefix="prod/cut/")
                .get("Uploads")
            ),
        )
        first.kill()
    finally:
        first.close()

    second = ServeProcess(data, bin_dir)
    try:
        backup = wait_for(
            "the lost backup failing",
            lambda: (b := second.backup("cut"))["state"] != "running" and b,
        )
        assert backup["state"] == "failed"
        assert backup["error"].startswith("worker lost: last heartbeat at ")
        beat = datetime.fromisoformat(
            backup["error"].removeprefix("worker lost: last heartbeat at ")
        )
        assert datetime.fromisoformat(backup["started_at"]).replace(microsecond=0) <= beat
        client = seaweed.client()
        # The leader removes what the lost backup stored right after failing it.
        wait_for(
            "the lost backup's objects removed",
            lambda: (
                client.list_objects_v2(Bucket=s3_bucket, Prefix="prod/cut/").get("Contents") is None
            ),
        )
        assert client.list_multipart_uploads(Bucket=s3_bucket, Prefix="prod/cut/").get(
            "Uploads"
        ) in (None, [])
    finally:
        second.close()
        end_processes(processes_running(str(bin_dir / "pg_dump")))  # the killed server's tool


def test_a_server_that_starts_leaves_another_servers_backup_running_and_a_cancel_stops_it(
    tmp_path: Path, pg_server: PostgresServer, small: str
) -> None:
    data, folder = tmp_path / "data", tmp_path / "backups"
    data.mkdir()
    bin_dir = pg_bin_with(tmp_path / "bin", PAUSES.format(first_bytes=100_000, seconds=120))
    tool = str(bin_dir / "pg_dump")
    first = ServeProcess(data, bin_dir)
    second: ServeProcess | None = None
    try:
        first.client.post(
            "/api/v1/databases", json=postgres_database(pg_server, [small])
        ).raise_for_status()
        first.client.post(
            "/api/v1/backup-storages",
            json={"type": "filesystem", "name": "disk", "path": str(folder)},
        ).raise_for_status()
        first.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "long"}
        ).raise_for_status()
        # The roles dump comes first and is quick: wait for the database's own dump to run.
        wait_for("the dump running", lambda: processes_running(tool))
        running = wait_for(
            "the backup running",
            lambda: (b := first.backup("long"))["progress_bytes"] > 0 and b,
        )

        second = ServeProcess(data, bin_dir)  # on the same catalog, started during the backup
        later = wait_for(
            "a newer heartbeat",
            lambda: (b := second.backup("long"))["heartbeat_at"] != running["heartbeat_at"] and b,
        )
        assert later["state"] == "running"
        assert later["error"] is None

        answer = second.client.post("/api/v1/databases/prod/backups/long/cancel")
        assert answer.status_code == 202
        assert answer.json()["canceled_by"] == "token:admin"
        ended = wait_for(
            "the cancel", lambda: (b := second.backup("long"))["state"] != "running" and b
        )
        assert ended["state"] == "canceled"
        assert ended["canceled_at"] is not None
        assert "pg_dump was canceled" in ended["error"]
        assert processes_running(tool) == []
        assert list(folder.rglob("*")) == []
        again = second.client.post("/api/v1/databases/prod/backups/long/cancel")
        assert again.status_code == 409
    finally:
        end_processes(processes_running(tool))  # only when the test failed before the cancel
        first.close()
        if second is not None:
            second.close()
