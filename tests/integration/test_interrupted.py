"""A server killed during a backup marks it failed on the next start, and cleans its storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fixtures.app import ADMIN_TOKEN
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from integration.bodies import postgres_database
from integration.tool_wrappers import PAUSES, pg_bin_with

pytestmark = pytest.mark.integration


class ServeProcess:
    """`strongbox serve` as a real process, so that it can be killed like a crashed server."""

    def __init__(self, data_dir: Path, pg_bin_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
        env.update(
            STRONGBOX_DATA_DIR=str(data_dir),
            STRONGBOX_ADMIN_TOKEN=ADMIN_TOKEN,
            STRONGBOX_SECRET_KEY="interrupted-test",
            STRONGBOX_PG_BIN_DIR=str(pg_bin_dir),
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

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def slow_bin(tmp_path: Path) -> Path:
    return pg_bin_with(tmp_path / "bin", PAUSES.format(first_bytes=100_000, seconds=60))


@pytest.fixture
def small(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("small")
    pg_server.execute(
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) FROM generate_series(1, 50000) g", "small"
    )
    yield "small"
    pg_server.execute("DROP DATABASE small WITH (FORCE)")


def test_a_backup_cut_by_a_crash_is_failed_on_restart_and_its_leftovers_removed(
    tmp_path: Path, pg_server: PostgresServer, small: str, slow_bin: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    folder = tmp_path / "backups"
    first = ServeProcess(data, slow_bin)
    try:
        first.client.post(
            "/api/v1/databases",
            json=postgres_database(pg_server, [small]),
        ).raise_for_status()
        first.client.post(
            "/api/v1/backup-storages",
            json={"type": "filesystem", "name": "disk", "path": str(folder)},
        ).raise_for_status()
        first.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "cut"}
        ).raise_for_status()
        deadline = time.monotonic() + 30
        while not list(folder.rglob(".incomplete-*")):  # the dump is being written
            assert time.monotonic() < deadline, "the backup never started writing"
            time.sleep(0.1)
        first.kill()
    finally:
        first.close()

    second = ServeProcess(data, slow_bin)
    try:
        backup = second.client.get("/api/v1/databases/prod/backups/cut").json()
        assert backup["state"] == "failed"
        assert backup["error"] == "interrupted: the server stopped during the backup"
        assert list(folder.rglob("*")) == []
    finally:
        second.close()
