"""Schemathesis against a real server: no request it can make, valid or not, ends in a 5xx, and
every answer is one the OpenAPI document describes (status code, content type, headers, body).

The server has a SeaweedFS storage, a throwaway PostgreSQL database (its own cluster: the fuzzer
may restore over it or register more databases), a succeeded backup and a schedule, so that the
nested resources exist; the stateful phase follows the links Schemathesis infers from the
responses and path parameters (a created storage, database or schedule is then read, changed and
deleted). The run is bounded (examples per operation, one worker) and deterministic (fixed seed,
deterministic generation), and takes about a minute on two cores.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
RUN_TIMEOUT_SECONDS = 480


def _seed(strongbox: RunningServer, seaweed: SeaweedServer, postgres: PostgresServer) -> str:
    """Register a storage `bucket`, a database `prod` with a succeeded backup, a schedule
    `nightly` and a restore `copied`; the backup's name is returned."""
    client = strongbox.client
    postgres.create_database("app")
    postgres.execute("CREATE TABLE items (id int PRIMARY KEY, label text)", dbname="app")
    postgres.execute(
        "INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 50) i",
        "app",
    )
    bucket = seaweed.create_bucket("fuzz")
    created = client.post("/api/v1/backup-storages", json=s3_storage(seaweed, bucket))
    assert created.status_code == 201, created.text
    created = client.post("/api/v1/databases", json=postgres_database(postgres, ["app"]))
    assert created.status_code == 201, created.text
    backup = client.post("/api/v1/databases/prod/backups", json={"storage": "bucket"})
    assert backup.status_code == 202, backup.text
    done = strongbox.wait_for_backup("prod", backup.json()["name"])
    assert done["state"] == "succeeded", done
    schedule = {"name": "nightly", "storage": "bucket", "cron": "30 2 * * *"}
    created = client.post("/api/v1/databases/prod/schedules", json=schedule)
    assert created.status_code == 201, created.text
    restore = {"backup": done["name"], "name": "copied", "database_map": {"app": "app_copy"}}
    created = client.post("/api/v1/databases/prod/restores", json=restore)
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 120
    while client.get("/api/v1/databases/prod/restores/copied").json()["state"] != "succeeded":
        assert time.monotonic() < deadline, "the seeded restore did not succeed"
        time.sleep(0.2)
    return str(done["name"])


def _config(backup: str) -> str:
    """Schemathesis' configuration: names of existing resources that path parameters and body
    fields draw from most of the time, so that nested resources are reached and not only 404s;
    the rest of the time they are generated from the document as usual."""
    return f"""
[dictionaries.databases]
values = ["prod"]

[dictionaries.names]
values = ["bucket", "prod", "nightly", "copied", "{backup}"]

[dictionaries.storages]
values = ["bucket"]

[dictionaries.backups]
values = ["{backup}"]

[parameters]
"path.database" = {{ dictionary = "databases", probability = 0.8 }}
"path.name" = {{ dictionary = "names", probability = 0.6 }}
"body.storage" = {{ dictionary = "storages", probability = 0.8 }}
"body.backup" = {{ dictionary = "backups", probability = 0.8 }}
"body.target" = {{ dictionary = "databases", probability = 0.5 }}
"""


def test_no_request_ends_in_a_5xx_or_an_answer_the_document_does_not_describe(
    strongbox: RunningServer,
    seaweed: SeaweedServer,
    pg_server_factory: Callable[[], PostgresServer],
    tmp_path: Path,
) -> None:
    backup = _seed(strongbox, seaweed, pg_server_factory())
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(backup))
    schemathesis = Path(sys.executable).parent / "schemathesis"
    argv = [
        str(schemathesis),
        "--config-file",
        str(config),
        "run",
        f"{strongbox.url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {strongbox.token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--mode",
        "all",
        "--max-examples",
        "15",
        "--seed",
        "20261129",
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    run = subprocess.run(
        argv,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    report = run.stdout[-20_000:] + run.stderr[-5_000:]
    print(report)  # shown with -rP: what was covered, and the warnings
    assert run.returncode == 0, report
    assert "Stateful" in run.stdout, report  # the stateful phase ran, not only single calls
