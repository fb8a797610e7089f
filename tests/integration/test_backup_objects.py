"""An artifact larger than one object may hold is stored as several objects in sequence: each a
whole zstd stream, listed in the manifest in order with its checksum, restored in order, and
whose concatenation restores with zstd alone.

S3's limit of 10,000 parts per object is lowered to 2 for this server only, so a database of
some 20 MB spans three objects of at most 16 MiB (cut after 8 MiB)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage
from integration.test_restore import wait_for_restore

pytestmark = pytest.mark.integration

DB = "noise"


@pytest.fixture
def small_objects(tmp_path: Path) -> Iterator[RunningServer]:
    running, server = start_server(tmp_path / "data", test_parts_per_object=2)
    yield running
    stop_server(running, server)


def fingerprint(server: PostgresServer, dbname: str) -> tuple[Any, ...]:
    rows = server.query(
        "SELECT count(*), md5(string_agg(md5(payload), '' ORDER BY id)) FROM blocks", dbname
    )
    return tuple(rows[0])


@pytest.fixture
def noise(pg_server: PostgresServer) -> Iterator[tuple[Any, ...]]:
    """About 20 MB of random bytes: zstd cannot make them smaller than one object."""
    pg_server.create_database(DB)
    pg_server.execute(
        "CREATE TABLE blocks AS SELECT g AS id, "
        "(SELECT decode(string_agg(md5(random()::text || g || i), ''), 'hex') "
        " FROM generate_series(1, 64) AS i) AS payload "
        "FROM generate_series(1, 20000) AS g",
        DB,
    )
    yield fingerprint(pg_server, DB)
    for name in (DB, "noise_copy"):
        pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_large_artifact_is_stored_as_objects_that_restore_in_order(
    small_objects: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    noise: tuple[Any, ...],
    tmp_path: Path,
) -> None:
    client = small_objects.client
    client.post("/api/v1/databases", json=postgres_database(pg_server, [DB])).raise_for_status()
    client.post("/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)).raise_for_status()
    client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "big"}
    ).raise_for_status()
    backup = small_objects.wait_for_backup("prod", "big")
    assert backup["state"] == "succeeded", backup["error"]

    s3 = seaweed.client()
    manifest = json.loads(
        s3.get_object(Bucket=s3_bucket, Key="prod/big/manifest.json")["Body"].read()
    )
    [dump] = [a for a in manifest["artifacts"] if a["kind"] == "database"]
    objects = dump["objects"]
    assert len(objects) >= 3
    assert [o["key"] for o in objects] == [dump["key"]] + [
        f"{dump['key']}.{n:05d}" for n in range(2, len(objects) + 1)
    ]
    stored = []
    for listed in objects:
        body = s3.get_object(Bucket=s3_bucket, Key=listed["key"])["Body"].read()
        assert len(body) == listed["stored_bytes"] <= 16 * 1024 * 1024
        assert hashlib.sha256(body).hexdigest() == listed["sha256"]
        # Each object is a whole zstd stream on its own.
        subprocess.run(["zstd", "-q", "-t"], input=body, check=True)
        stored.append(body)
    whole = b"".join(stored)
    assert hashlib.sha256(whole).hexdigest() == dump["sha256"]
    [shown] = [a for a in backup["artifacts"] if a["kind"] == "database"]
    assert shown["objects"] == objects

    # Concatenated, the objects are the dump for zstd and pg_restore alone.
    raw = subprocess.run(["zstd", "-q", "-d", "-c"], input=whole, capture_output=True, check=True)
    assert len(raw.stdout) == dump["raw_bytes"]
    (tmp_path / "noise.pgdump").write_bytes(raw.stdout)
    listing = subprocess.run(
        [str(pg_server.bin_dir / "pg_restore"), "--list", str(tmp_path / "noise.pgdump")],
        capture_output=True,
        check=True,
        text=True,
    )
    assert "TABLE DATA public blocks" in listing.stdout

    response = client.post(
        "/api/v1/databases/prod/restores",
        json={"backup": "big", "database_map": {DB: "noise_copy"}},
    )
    assert response.status_code == 202, response.text
    done = wait_for_restore(small_objects, "prod", response.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    assert fingerprint(pg_server, "noise_copy") == noise
