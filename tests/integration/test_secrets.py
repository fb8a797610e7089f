"""After a full flow, no password or secret key appears in any API response or log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage

pytestmark = pytest.mark.integration


def test_secrets_stay_out_of_responses_and_logs(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    pg_server.create_database("secretive")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS id", "secretive")
    responses = []
    storage = s3_storage(seaweed, s3_bucket)
    database = postgres_database(pg_server, ["secretive"])
    client = strongbox.client
    responses.append(client.post("/api/v1/backup-storages", json=storage))
    responses.append(client.post("/api/v1/databases", json=database))
    # Refused attempts echo nothing either.
    responses.append(
        client.post("/api/v1/databases", json={**database, "name": "bad", "password": "wr0ng-pw"})
    )
    responses.append(
        client.post(
            "/api/v1/backup-storages",
            json={**storage, "name": "bad", "secret_access_key": "wr0ng-secret"},
        )
    )
    responses.append(client.post("/api/v1/databases/prod/backups", json={"storage": "bucket"}))
    name = responses[-1].json()["name"]
    assert strongbox.wait_for_backup("prod", name)["state"] == "succeeded"
    responses += [
        client.get("/api/v1/backup-storages"),
        client.get("/api/v1/backup-storages/bucket"),
        client.patch(
            "/api/v1/backup-storages/bucket", json={"secret_access_key": seaweed.secret_key}
        ),
        client.get("/api/v1/databases"),
        client.patch("/api/v1/databases/prod", json={"password": pg_server.password}),
        client.get(f"/api/v1/databases/prod/backups/{name}"),
        client.get("/api/v1/databases/prod/backups"),
    ]
    captured = capfd.readouterr()
    everything = "\n".join([r.text for r in responses] + [caplog.text, captured.out, captured.err])
    assert len(caplog.records) > 0  # the logs were really captured
    for secret in (seaweed.secret_key, pg_server.password, "wr0ng-pw", "wr0ng-secret"):
        assert secret not in everything
    pg_server.execute("DROP DATABASE secretive")


def test_a_forced_storage_removal_keeps_the_artifacts(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    pg_server.create_database("kept")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 100) AS id", "kept")
    folder = tmp_path / "backups"
    client = strongbox.client
    client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "disk", "path": str(folder)}
    ).raise_for_status()
    client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, ["kept"]),
    ).raise_for_status()
    client.post("/api/v1/databases/prod/backups", json={"storage": "disk", "name": "b1"})
    assert strongbox.wait_for_backup("prod", "b1")["state"] == "succeeded"
    refused = client.delete("/api/v1/backup-storages/disk")
    assert refused.status_code == 409
    assert "prod/b1" in refused.json()["detail"]
    assert (
        client.delete("/api/v1/backup-storages/disk", params={"force": "true"}).status_code == 204
    )
    assert client.get("/api/v1/backup-storages").json()["items"] == []
    assert (folder / "prod" / "b1" / "manifest.json").is_file()
    assert (folder / "prod" / "b1" / "kept.pgdump.zst").is_file()
    pg_server.execute("DROP DATABASE kept")
