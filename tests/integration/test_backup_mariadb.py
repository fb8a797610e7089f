"""A MariaDB backup through the API restores with the standard tools alone (zstd, mariadb)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import mariadb_database, s3_storage
from integration.seeds import mariadb_fingerprint, seed_mariadb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop(mariadb_server: MariaDBServer) -> Iterator[dict[str, Any]]:
    seed_mariadb(mariadb_server, "shop")
    mariadb_server.execute("ANALYZE TABLE customers, documents", "shop")  # fresh size statistics
    size = mariadb_server.query(
        "SELECT SUM(data_length + index_length) FROM information_schema.tables "
        "WHERE table_schema = 'shop'"
    )[0][0]
    assert size > 50 * 1024 * 1024
    yield mariadb_fingerprint(mariadb_server, "shop")
    mariadb_server.execute("DROP DATABASE shop")


def test_a_backup_into_s3_restores_with_standard_tools(
    strongbox: RunningServer,
    mariadb_server: MariaDBServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, ["shop"], "shopdb"),
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/backup-storages",
        json=s3_storage(seaweed, s3_bucket),
    ).raise_for_status()
    accepted = strongbox.client.post(
        "/api/v1/databases/shopdb/backups", json={"storage": "bucket", "name": "nightly-1"}
    )
    assert accepted.status_code == 202, accepted.text
    backup = strongbox.wait_for_backup("shopdb", "nightly-1")
    assert backup["state"] == "succeeded", backup["error"]
    # Binary logging is on in the test server: the position is recorded for PITR.
    assert backup["log_position"]["file"]
    assert backup["log_position"]["position"] > 0

    client = seaweed.client()
    key = "shopdb/nightly-1/shop.sql.zst"
    manifest = json.loads(
        client.get_object(Bucket=s3_bucket, Key="shopdb/nightly-1/manifest.json")["Body"].read()
    )
    assert manifest["engine"] == "mysql"
    assert manifest["log_position"] == backup["log_position"]
    assert [a["key"] for a in manifest["artifacts"]] == [key]

    dump = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    sql = subprocess.run(["zstd", "-q", "-d", "-c"], input=dump, capture_output=True, check=True)
    mariadb_server.create_database("shop_copy")
    subprocess.run(
        [
            "mariadb",
            "--protocol=TCP",
            "-h",
            mariadb_server.host,
            "-P",
            str(mariadb_server.port),
            "-u",
            mariadb_server.user,
            f"-p{mariadb_server.password}",
            "shop_copy",
        ],
        input=sql.stdout,
        check=True,
        capture_output=True,
    )
    assert mariadb_fingerprint(mariadb_server, "shop_copy") == shop
    mariadb_server.execute("DROP DATABASE shop_copy")
