"""A PostgreSQL backup through the API lands compressed, checksummed and self-describing, and
restores with the standard tools alone (zstd, pg_restore)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage
from integration.problems import assert_problem
from integration.seeds import pg_fingerprint, seed_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop(pg_server: PostgresServer) -> Iterator[dict[str, Any]]:
    """A seeded database of more than 50 MB, and its fingerprint."""
    seed_postgres(pg_server, "shop")
    size = pg_server.query("SELECT pg_database_size('shop')")[0][0]
    assert size > 50 * 1024 * 1024
    yield pg_fingerprint(pg_server, "shop")
    pg_server.execute("DROP DATABASE shop")


def register(strongbox: RunningServer, pg_server: PostgresServer, databases: list[str]) -> None:
    response = strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, databases),
    )
    assert response.status_code == 201, response.text
    assert response.json()["server_version"].startswith("15")
    assert "password" not in response.json()


def restore_with_standard_tools(
    server: PostgresServer, dump: bytes, target: str, tmp_path: Path
) -> None:
    compressed = tmp_path / f"{target}.pgdump.zst"
    compressed.write_bytes(dump)
    raw = tmp_path / f"{target}.pgdump"
    subprocess.run(["zstd", "-q", "-d", str(compressed), "-o", str(raw)], check=True)
    server.create_database(target)
    subprocess.run(
        [
            str(server.bin_dir / "pg_restore"),
            "--exit-on-error",
            "--no-owner",
            "-h",
            server.host,
            "-p",
            str(server.port),
            "-U",
            server.superuser,
            "-d",
            target,
            str(raw),
        ],
        check=True,
        env={"PGPASSWORD": server.password, "PATH": "/usr/bin:/bin"},
        capture_output=True,
    )


def check_manifest(
    manifest: dict[str, Any], backup: dict[str, Any], files: dict[str, bytes]
) -> None:
    assert manifest["format_version"] == 1
    assert manifest["engine"] == "postgresql"
    assert manifest["server_version"].startswith("15")
    assert manifest["method"] == "logical"
    assert manifest["compression"] == {"algorithm": "zstd", "level": 3}
    assert set(manifest["tool_versions"]) >= {"pg_dump"}
    assert manifest["size_bytes"] == backup["size_bytes"]
    assert manifest["stored_bytes"] == backup["stored_bytes"]
    by_key = {a["key"]: a for a in backup["artifacts"]}
    for artifact in manifest["artifacts"]:
        data = files[artifact["key"]]
        assert hashlib.sha256(data).hexdigest() == artifact["sha256"]
        assert len(data) == artifact["stored_bytes"]
        assert by_key[artifact["key"]]["sha256"] == artifact["sha256"]


def test_a_backup_into_s3_restores_with_standard_tools(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
    tmp_path: Path,
) -> None:
    register(strongbox, pg_server, ["shop"])
    strongbox.client.post(
        "/api/v1/backup-storages",
        json=s3_storage(seaweed, s3_bucket, prefix="team-a"),
    ).raise_for_status()

    accepted = strongbox.client.post("/api/v1/databases/prod/backups", json={"storage": "bucket"})
    assert accepted.status_code == 202, accepted.text
    queued = accepted.json()
    assert queued["state"] in ("queued", "running")
    assert queued["trigger"] == "manual"
    assert queued["name"].startswith("backup-")
    backup = strongbox.wait_for_backup("prod", queued["name"])
    assert backup["state"] == "succeeded", backup["error"]
    assert backup["error"] is None
    assert backup["size_bytes"] > backup["stored_bytes"] > 0
    assert backup["location"] == f"s3://{s3_bucket}/team-a/prod/{queued['name']}/"
    assert backup["started_at"] <= backup["finished_at"]

    client = seaweed.client()
    prefix = f"team-a/prod/{queued['name']}/"
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["Contents"]
    keys = sorted(o["Key"] for o in listed)
    assert keys == sorted(
        [prefix + "manifest.json", prefix + "shop.pgdump.zst", prefix + "globals.sql.zst"]
    )
    files = {k: client.get_object(Bucket=s3_bucket, Key=k)["Body"].read() for k in keys}
    manifest = json.loads(files[prefix + "manifest.json"])
    check_manifest(manifest, backup, files)

    restore_with_standard_tools(pg_server, files[prefix + "shop.pgdump.zst"], "shop_copy", tmp_path)
    assert pg_fingerprint(pg_server, "shop_copy") == shop
    pg_server.execute("DROP DATABASE shop_copy")


def test_a_backup_into_a_folder_restores_with_standard_tools(
    strongbox: RunningServer, pg_server: PostgresServer, shop: dict[str, Any], tmp_path: Path
) -> None:
    register(strongbox, pg_server, ["shop"])
    folder = tmp_path / "backups"
    strongbox.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "disk", "path": str(folder)}
    ).raise_for_status()
    accepted = strongbox.client.post(
        "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "before-upgrade"}
    )
    assert accepted.status_code == 202, accepted.text
    backup = strongbox.wait_for_backup("prod", "before-upgrade")
    assert backup["state"] == "succeeded", backup["error"]

    backup_dir = folder / "prod" / "before-upgrade"
    assert sorted(p.name for p in backup_dir.iterdir()) == [
        "globals.sql.zst",
        "manifest.json",
        "shop.pgdump.zst",
    ]
    files = {a["key"]: (folder / a["key"]).read_bytes() for a in backup["artifacts"]}
    check_manifest(json.loads((backup_dir / "manifest.json").read_text()), backup, files)
    restore_with_standard_tools(
        pg_server, (backup_dir / "shop.pgdump.zst").read_bytes(), "shop_from_disk", tmp_path
    )
    assert pg_fingerprint(pg_server, "shop_from_disk") == shop
    pg_server.execute("DROP DATABASE shop_from_disk")

    # Listing shows it; a second backup while none runs is accepted; names are unique.
    listed = strongbox.client.get("/api/v1/databases/prod/backups").json()["items"]
    assert [b["name"] for b in listed] == ["before-upgrade"]
    assert_problem(
        strongbox.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "before-upgrade"}
        ),
        409,
        "name-taken",
    )

    # Delete removes the artifacts, then the record.
    assert (
        strongbox.client.delete("/api/v1/databases/prod/backups/before-upgrade").status_code == 204
    )
    assert not backup_dir.exists() or list(backup_dir.iterdir()) == []
    assert_problem(strongbox.client.get("/api/v1/databases/prod/backups/before-upgrade"), 404)
