"""STRONGBOX_LOG_FORMAT=json: `strongbox serve` writes one JSON object per line, and the lines
of a backup carry its kind, database and name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database

pytestmark = pytest.mark.integration

TOKEN = "json-logs-admin-token-0123456789"


@pytest.fixture
def logged_db(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("l_app")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 2000) AS id", "l_app")
    yield "l_app"
    pg_server.execute("DROP DATABASE IF EXISTS l_app WITH (FORCE)")


def test_a_json_server_logs_parseable_lines_with_the_backup_named(
    tmp_path: Path, pg_server: PostgresServer, logged_db: str
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
    env.update(
        STRONGBOX_DATA_DIR=str(tmp_path / "data"),
        STRONGBOX_ADMIN_TOKEN=TOKEN,
        STRONGBOX_SECRET_KEY="json-logs-test",
        STRONGBOX_LOG_FORMAT="json",
    )
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongbox", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, "strongbox serve ended"
                assert time.monotonic() < deadline, "strongbox serve did not start"
                time.sleep(0.1)
            client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b"))
            client.post(
                "/api/v1/databases", json=postgres_database(pg_server, [logged_db])
            ).raise_for_status()
            client.post(
                "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "logged"}
            ).raise_for_status()
            while client.get("/api/v1/databases/prod/backups/logged").json()["state"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline + 60, "the backup did not end"
                time.sleep(0.2)
        finally:
            client.close()
            process.terminate()
            process.wait(timeout=30)
    lines: list[dict[str, Any]] = [
        json.loads(line) for line in log_file.read_text().splitlines() if line.strip()
    ]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    job_lines = [line for line in lines if line.get("kind") == "backup"]
    assert [line["message"] for line in job_lines] == [
        "backup prod/logged starts",
        "backup prod/logged is succeeded",
    ]
    assert all((line["database"], line["name"]) == ("prod", "logged") for line in job_lines)
    # uvicorn's own lines come through the same handler.
    assert any(line["logger"].startswith("uvicorn") for line in lines)
