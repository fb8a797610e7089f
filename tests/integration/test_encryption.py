"""Backups encrypted to age recipients: the bucket holds age, not zstd; the standard `age` tool
opens it; a restore needs the identity of a recipient, is refused without it (or with another)
before anything is touched, and the identity is found nowhere afterwards."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration import test_backup_objects as plain_objects
from integration.bodies import mariadb_database, postgres_database, s3_storage
from integration.problems import assert_problem, fields_of
from integration.seeds import mariadb_fingerprint, pg_fingerprint, seed_mariadb, seed_postgres
from integration.test_cli import cli
from integration.test_restore import wait_for_restore

pytestmark = pytest.mark.integration

# The plain several-objects case's server (2 parts per object) and database, shared.
small_objects = plain_objects.small_objects
noise = plain_objects.noise
NOISE = plain_objects.DB

AGE_HEADER = b"age-encryption.org/v1\n"


class Key:
    """An age key pair made by the standard age-keygen."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / f"{name}.txt"
        subprocess.run(["age-keygen", "-o", str(self.path)], check=True, capture_output=True)
        self.identity = self.path.read_text()
        self.secret = next(
            line for line in self.identity.splitlines() if line.startswith("AGE-SECRET-KEY-1")
        )
        self.recipient = subprocess.run(
            ["age-keygen", "-y", str(self.path)], check=True, capture_output=True, text=True
        ).stdout.strip()


def stored(seaweed: SeaweedServer, bucket: str, key: str) -> bytes:
    return bytes(seaweed.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def decrypted_with_standard_tools(data: bytes, key: Key) -> bytes:
    """`age -d -i key.txt | zstd -d`, as the README says."""
    age = subprocess.run(
        ["age", "-d", "-i", str(key.path)], input=data, capture_output=True, check=True
    )
    return subprocess.run(
        ["zstd", "-q", "-d", "-c"], input=age.stdout, capture_output=True, check=True
    ).stdout


def assert_not_zstd(data: bytes) -> None:
    assert data.startswith(AGE_HEADER)
    check = subprocess.run(["zstd", "-q", "-t"], input=data, capture_output=True)
    assert check.returncode != 0


def post_restore(running: RunningServer, database: str, **body: Any) -> Any:
    return running.client.post(f"/api/v1/databases/{database}/restores", json=body)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Key, Key, Key]:
    return Key(tmp_path, "team"), Key(tmp_path, "escrow"), Key(tmp_path, "stranger")


@pytest.fixture
def eshop(pg_server: PostgresServer) -> Iterator[dict[str, Any]]:
    seed_postgres(pg_server, "eshop", scale=0.1)
    yield pg_fingerprint(pg_server, "eshop")
    for name in ("eshop", "eshop_age", "eshop_tools", "eshop_none"):
        pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_encrypted_postgresql_backup_needs_a_recipients_identity_and_keeps_it_nowhere(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    eshop: dict[str, Any],
    keys: tuple[Key, Key, Key],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    team, escrow, stranger = keys
    client = strongbox.client
    bad = client.post(
        "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket, age_recipients=["age1x"])
    )
    assert fields_of(assert_problem(bad, 422)) == {"body.age_recipients.0"}
    client.post(
        "/api/v1/backup-storages",
        json=s3_storage(seaweed, s3_bucket, age_recipients=[escrow.recipient]),
    ).raise_for_status()
    db = client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, ["eshop"]) | {"age_recipients": [team.recipient]},
    )
    assert db.status_code == 201, db.text
    assert client.get("/api/v1/databases/prod").json()["age_recipients"] == [team.recipient]
    assert client.get("/api/v1/backup-storages/bucket").json()["age_recipients"] == [
        escrow.recipient
    ]
    client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "sealed"}
    ).raise_for_status()
    backup = strongbox.wait_for_backup("prod", "sealed")
    assert backup["state"] == "succeeded", backup["error"]

    # The bucket: age, to both recipients (the storage's and the database's), checksummed.
    manifest = json.loads(stored(seaweed, s3_bucket, "prod/sealed/manifest.json"))
    both = [escrow.recipient, team.recipient]
    assert manifest["encryption"] == {"algorithm": "age", "recipients": both}
    key = "prod/sealed/eshop.pgdump.zst.age"
    artifact = next(a for a in manifest["artifacts"] if a["key"] == key)
    assert artifact["encrypted_to"] == both
    # The roles dump (password hashes) too.
    assert {a["name"] for a in manifest["artifacts"]} == {
        "eshop.pgdump.zst.age",
        "globals.sql.zst.age",
    }
    assert_not_zstd(stored(seaweed, s3_bucket, "prod/sealed/globals.sql.zst.age"))
    data = stored(seaweed, s3_bucket, key)
    assert_not_zstd(data)
    assert hashlib.sha256(data).hexdigest() == artifact["sha256"]

    # The standard tools alone: age -d | zstd -d | pg_restore.
    dump = tmp_path / "eshop.pgdump"
    dump.write_bytes(decrypted_with_standard_tools(data, team))
    pg_server.create_database("eshop_tools")
    subprocess.run(
        [
            str(pg_server.bin_dir / "pg_restore"),
            "--exit-on-error",
            "--no-owner",
            *("-h", pg_server.host, "-p", str(pg_server.port), "-U", pg_server.superuser),
            *("-d", "eshop_tools", str(dump)),
        ],
        check=True,
        env={"PGPASSWORD": pg_server.password, "PATH": "/usr/bin:/bin"},
        capture_output=True,
    )
    assert pg_fingerprint(pg_server, "eshop_tools") == eshop

    # Refused before anything is touched: no identity, another one; neither target is written.
    pg_server.execute("UPDATE customers SET name = 'changed' WHERE id = 1", "eshop")
    changed = pg_fingerprint(pg_server, "eshop")
    for body, code in (
        ({}, "age-identity-missing"),
        ({"identity": stranger.identity}, "age-identity-wrong"),
        ({"identity": "AGE-SECRET-KEY-1NOTAKEY"}, "age-identity-invalid"),
    ):
        for target in ({"overwrite": True}, {"database_map": {"eshop": "eshop_none"}}):
            refused = post_restore(strongbox, "prod", backup="sealed", **target, **body)
            problem = assert_problem(refused, 422, code)
            assert fields_of(problem) == {"body.identity"}
            if code != "age-identity-invalid":
                assert team.recipient in problem["detail"]
                assert escrow.recipient in problem["detail"]
    assert client.get("/api/v1/databases/prod/restores").json()["items"] == []
    assert pg_fingerprint(pg_server, "eshop") == changed
    assert pg_server.query("SELECT count(*) FROM pg_database WHERE datname = 'eshop_none'") == [
        (0,)
    ]

    # The escrow key (the storage's recipient) opens it as well as the team's, streamed or
    # from a local copy (parallel pg_restore), into a new database and over the live one.
    answer = post_restore(
        strongbox,
        "prod",
        backup="sealed",
        database_map={"eshop": "eshop_age"},
        jobs=1,
        identity=escrow.identity,
    )
    assert answer.status_code == 202, answer.text
    done = wait_for_restore(strongbox, "prod", answer.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    assert pg_fingerprint(pg_server, "eshop_age") == eshop
    over = cli(
        strongbox,
        *("restore", "prod", "--backup", "sealed", "--overwrite", "--jobs", "2"),
        *("--identity", str(team.path), "--wait", "--json"),
    )
    assert over.returncode == 0, over.stderr
    assert pg_fingerprint(pg_server, "eshop") == eshop

    # The identity is in no catalog row, no answer, no log line, no audit entry.
    catalog = (strongbox.data_dir / "catalog.sqlite3").read_bytes()
    answers = client.get("/api/v1/databases/prod/restores").text + client.get("/api/v1/audit").text
    for key_ in (team, escrow, stranger):
        assert key_.secret.encode() not in catalog
        assert key_.secret not in answers
        assert key_.secret not in caplog.text


def test_an_encrypted_mariadb_backup_restores_with_the_identity_and_with_standard_tools(
    strongbox: RunningServer,
    mariadb_server: MariaDBServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    keys: tuple[Key, Key, Key],
) -> None:
    team, _escrow, stranger = keys
    seed_mariadb(mariadb_server, "eshop", scale=0.05)
    source = mariadb_fingerprint(mariadb_server, "eshop")
    client = strongbox.client
    client.post("/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)).raise_for_status()
    client.post(
        "/api/v1/databases", json=mariadb_database(mariadb_server, ["eshop"], name="shopdb")
    ).raise_for_status()
    assert client.get("/api/v1/databases/shopdb").json()["age_recipients"] == []
    added = cli(strongbox, "db", "edit", "shopdb", "--age-recipient", team.recipient, "--json")
    assert added.returncode == 0, added.stderr
    client.post(
        "/api/v1/databases/shopdb/backups", json={"storage": "bucket", "name": "sealed"}
    ).raise_for_status()
    backup = strongbox.wait_for_backup("shopdb", "sealed")
    assert backup["state"] == "succeeded", backup["error"]

    data = stored(seaweed, s3_bucket, "shopdb/sealed/eshop.sql.zst.age")
    assert_not_zstd(data)
    sql = decrypted_with_standard_tools(data, team)
    mariadb_server.create_database("eshop_tools")
    subprocess.run(
        [
            "mariadb",
            "--protocol=TCP",
            *("-h", mariadb_server.host, "-P", str(mariadb_server.port)),
            *("-u", mariadb_server.user, f"-p{mariadb_server.password}", "eshop_tools"),
        ],
        input=sql,
        check=True,
        capture_output=True,
    )
    assert mariadb_fingerprint(mariadb_server, "eshop_tools") == source

    refused = post_restore(
        strongbox, "shopdb", backup="sealed", overwrite=True, identity=stranger.identity
    )
    assert team.recipient in assert_problem(refused, 422, "age-identity-wrong")["detail"]
    missing = cli(strongbox, "restore", "shopdb", "--backup", "sealed", "--overwrite")
    assert missing.returncode == 2
    assert team.recipient in missing.stderr

    mariadb_server.execute("DELETE FROM customers WHERE id % 2 = 0", "eshop")
    answer = post_restore(
        strongbox, "shopdb", backup="sealed", overwrite=True, identity=team.identity
    )
    assert answer.status_code == 202, answer.text
    done = wait_for_restore(strongbox, "shopdb", answer.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    assert mariadb_fingerprint(mariadb_server, "eshop") == source
    for name in ("eshop", "eshop_tools"):
        mariadb_server.execute(f"DROP DATABASE IF EXISTS {name}")


def test_an_encrypted_artifact_in_several_objects_is_one_age_stream_that_restores(
    small_objects: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    noise: tuple[Any, ...],
    keys: tuple[Key, Key, Key],
) -> None:
    team = keys[0]
    client = small_objects.client
    client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [NOISE]) | {"age_recipients": [team.recipient]},
    ).raise_for_status()
    client.post("/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)).raise_for_status()
    client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "big"}
    ).raise_for_status()
    backup = small_objects.wait_for_backup("prod", "big")
    assert backup["state"] == "succeeded", backup["error"]

    [dump] = [a for a in backup["artifacts"] if a["kind"] == "database"]
    assert dump["key"] == f"prod/big/{NOISE}.pgdump.zst.age"
    assert len(dump["objects"]) >= 3
    parts = [stored(seaweed, s3_bucket, o["key"]) for o in dump["objects"]]
    for part, listed in zip(parts, dump["objects"], strict=True):
        assert hashlib.sha256(part).hexdigest() == listed["sha256"]
    whole = b"".join(parts)
    assert hashlib.sha256(whole).hexdigest() == dump["sha256"]
    assert_not_zstd(whole)
    assert len(decrypted_with_standard_tools(whole, team)) == dump["raw_bytes"]

    answer = post_restore(
        small_objects,
        "prod",
        backup="big",
        database_map={NOISE: "noise_copy"},
        identity=team.identity,
    )
    assert answer.status_code == 202, answer.text
    done = wait_for_restore(small_objects, "prod", answer.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    assert plain_objects.fingerprint(pg_server, "noise_copy") == noise
