"""The key of stored secrets: `strongbox secrets rotate-key` (key file and passphrase), a
rotation that fails half-way, and catalogs made when the key was one SHA-256 of the passphrase.
"Still connects" is shown by backups that need each secret: a PostgreSQL database's password,
and an S3 storage's secret key (a filesystem storage beside it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage
from integration.host_cli import run_cli
from strongbox.catalog.db import Catalog
from strongbox.catalog.models import SecretKeyRecord
from strongbox.config import Settings
from strongbox.errors import StrongboxError
from strongbox.secretbox import (
    KEY_FILE_NAME,
    PENDING_KEY_FILE_NAME,
    ScryptParams,
    SecretBox,
    legacy_passphrase_key,
    read_key_file,
)
from strongbox.services import secret_keys
from strongbox.services.secret_keys import stored_secrets

pytestmark = pytest.mark.integration

OLD_PASSPHRASE = "the-old-passphrase-of-this-test"
NEW_PASSPHRASE = "a-brand-new-passphrase-for-secrets"


@pytest.fixture(scope="module")
def source_db(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("rotated")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 500) AS id", "rotated")
    yield "rotated"
    pg_server.execute("DROP DATABASE rotated")


@pytest.fixture
def setup(
    tmp_path: Path, pg_server: PostgresServer, seaweed: SeaweedServer, s3_bucket: str
) -> dict[str, Any]:
    """What the tests register: two S3 storages, a filesystem one and two databases, so that
    four secrets are stored."""
    return {
        "storages": [
            s3_storage(seaweed, s3_bucket, name="bucket"),
            s3_storage(seaweed, s3_bucket, name="bucket-b", prefix="b"),
            {"type": "filesystem", "name": "disk", "path": str(tmp_path / "backups")},
        ],
        "databases": [
            postgres_database(pg_server, ["rotated"], name="prod"),
            postgres_database(pg_server, ["rotated"], name="copy"),
        ],
    }


def register(data_dir: Path, setup: dict[str, Any], **settings: Any) -> None:
    running, server = start_server(data_dir, **settings)
    try:
        for storage in setup["storages"]:
            running.client.post("/api/v1/backup-storages", json=storage).raise_for_status()
        for database in setup["databases"]:
            running.client.post("/api/v1/databases", json=database).raise_for_status()
    finally:
        stop_server(running, server)


def backup(running: RunningServer, database: str, storage: str) -> dict[str, Any]:
    response = running.client.post(
        f"/api/v1/databases/{database}/backups", json={"storage": storage}
    )
    response.raise_for_status()
    return running.wait_for_backup(database, response.json()["name"])


def assert_everything_connects(data_dir: Path, **settings: Any) -> None:
    """Backups that read each stored secret succeed on a server started on `data_dir`."""
    running, server = start_server(data_dir, **settings)
    try:
        for database, storage in (("prod", "bucket"), ("copy", "bucket-b"), ("prod", "disk")):
            done = backup(running, database, storage)
            assert done["state"] == "succeeded", done
    finally:
        stop_server(running, server)


def catalog_of(data_dir: Path) -> Catalog:
    return Catalog.open(Settings(data_dir=data_dir).resolved_catalog_url())


def stored_tokens(data_dir: Path) -> list[str]:
    catalog = catalog_of(data_dir)
    try:
        with catalog.session() as session:
            return [secret.token for secret in stored_secrets(session)]
    finally:
        catalog.close()


def test_rotate_key_with_a_key_file_replaces_it_and_every_secret_still_connects(
    tmp_path: Path, setup: dict[str, Any], source_db: str
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=None)
    old_key = read_key_file(data_dir)
    result = run_cli("secrets", "rotate-key", STRONGBOX_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 4 stored secrets" in result.stderr
    new_key = read_key_file(data_dir)
    assert new_key != old_key
    assert (data_dir / KEY_FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert not (data_dir / PENDING_KEY_FILE_NAME).exists()
    tokens = stored_tokens(data_dir)
    assert len(tokens) == 4
    assert not any(SecretBox(old_key).opens(token) for token in tokens)
    assert all(SecretBox(new_key).opens(token) for token in tokens)
    assert_everything_connects(data_dir, secret_key=None)


def test_rotate_key_with_a_passphrase_takes_the_new_one_from_stdin(
    tmp_path: Path, setup: dict[str, Any], source_db: str
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=OLD_PASSPHRASE)
    env = {"STRONGBOX_DATA_DIR": str(data_dir), "STRONGBOX_SECRET_KEY": OLD_PASSPHRASE}
    result = run_cli("secrets", "rotate-key", stdin=NEW_PASSPHRASE + "\n", **env)
    assert result.returncode == 0, result.stderr
    assert "set STRONGBOX_SECRET_KEY" in result.stderr
    assert_everything_connects(data_dir, secret_key=NEW_PASSPHRASE)


def test_rotate_key_reads_the_new_passphrase_from_a_file_and_refuses_a_short_one(
    tmp_path: Path, setup: dict[str, Any], source_db: str
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=OLD_PASSPHRASE)
    before = stored_tokens(data_dir)
    env = {"STRONGBOX_DATA_DIR": str(data_dir), "STRONGBOX_SECRET_KEY": OLD_PASSPHRASE}
    short = tmp_path / "short"
    short.write_text("too-short\n")
    refused = run_cli("secrets", "rotate-key", "--new-passphrase-file", str(short), **env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "strongbox: error: the new passphrase must be at least 12 characters (got 9)"
    ]
    assert stored_tokens(data_dir) == before
    new = tmp_path / "new"
    new.write_text(NEW_PASSPHRASE + "\n")
    result = run_cli("secrets", "rotate-key", "--new-passphrase-file", str(new), **env)
    assert result.returncode == 0, result.stderr
    catalog = catalog_of(data_dir)
    try:
        with catalog.session() as session:
            record = session.get(SecretKeyRecord, 1)
            assert record is not None
            assert record.kdf is not None
            box = SecretBox(ScryptParams.from_record(record.kdf).derive(NEW_PASSPHRASE))
            assert all(box.opens(s.token) for s in stored_secrets(session))
    finally:
        catalog.close()


def test_a_key_file_server_refuses_a_new_passphrase(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, {"storages": [], "databases": []}, secret_key=None)
    new = tmp_path / "new"
    new.write_text(NEW_PASSPHRASE)
    result = run_cli(
        "secrets", "rotate-key", "--new-passphrase-file", str(new),
        STRONGBOX_DATA_DIR=str(data_dir),
    )  # fmt: skip
    assert result.returncode == 2
    assert "uses a random key file" in result.stderr


class HalfWayFailure(Exception):
    pass


@pytest.mark.parametrize("passphrase", [None, OLD_PASSPHRASE], ids=["key-file", "passphrase"])
def test_a_rotation_failing_after_half_the_secrets_leaves_the_old_key_opening_everything(
    tmp_path: Path,
    setup: dict[str, Any],
    source_db: str,
    monkeypatch: pytest.MonkeyPatch,
    passphrase: str | None,
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=passphrase)
    before = stored_tokens(data_dir)
    key_file = data_dir / KEY_FILE_NAME
    key_file_before = key_file.read_bytes() if passphrase is None else None
    real_encrypt = SecretBox.encrypt
    calls: list[str] = []

    def encrypt_then_fail(box: SecretBox, plaintext: str) -> str:
        calls.append(plaintext)
        if len(calls) > len(before) // 2:
            raise HalfWayFailure("the disk went away")
        return real_encrypt(box, plaintext)

    monkeypatch.setattr(SecretBox, "encrypt", encrypt_then_fail)
    settings = Settings(data_dir=data_dir, secret_key=passphrase)
    catalog = catalog_of(data_dir)
    try:
        with pytest.raises(HalfWayFailure):
            secret_keys.rotate_key(catalog, settings, None if passphrase is None else "x" * 20)
    finally:
        catalog.close()
    monkeypatch.undo()
    assert len(calls) == len(before) // 2 + 1  # half the secrets were re-encrypted first
    assert stored_tokens(data_dir) == before
    assert (key_file.read_bytes() if passphrase is None else None) == key_file_before
    assert not (data_dir / PENDING_KEY_FILE_NAME).exists()
    assert_everything_connects(data_dir, secret_key=passphrase)


def test_a_key_file_rotation_interrupted_after_its_commit_is_finished_at_start(
    tmp_path: Path, setup: dict[str, Any], source_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=None)

    def crash(source: Path, target: Path) -> None:
        raise HalfWayFailure("stopped before the new key file replaced the old one")

    monkeypatch.setattr(secret_keys, "_replace", crash)
    catalog = catalog_of(data_dir)
    try:
        with pytest.raises(HalfWayFailure):
            secret_keys.rotate_key(catalog, Settings(data_dir=data_dir, secret_key=None), None)
    finally:
        catalog.close()
    monkeypatch.undo()
    pending = (data_dir / PENDING_KEY_FILE_NAME).read_bytes()
    assert all(SecretBox(pending).opens(token) for token in stored_tokens(data_dir))
    assert_everything_connects(data_dir, secret_key=None)
    assert read_key_file(data_dir) == pending
    assert not (data_dir / PENDING_KEY_FILE_NAME).exists()


def make_it_the_old_way(data_dir: Path, passphrase: str) -> list[str]:
    """Turn the catalog into one made before scrypt: every secret under one SHA-256 of the
    passphrase, no `secret_key` row. Returns the secrets' stored values."""
    catalog = catalog_of(data_dir)
    try:
        with catalog.session() as session:
            record = session.get(SecretKeyRecord, 1)
            assert record is not None
            assert record.kdf is not None
            current = SecretBox(ScryptParams.from_record(record.kdf).derive(passphrase))
            legacy = SecretBox(legacy_passphrase_key(passphrase))
            for secret in stored_secrets(session):
                setattr(secret.row, secret.column, legacy.encrypt(current.decrypt(secret.token)))
            session.execute(delete(SecretKeyRecord))
        with catalog.session() as session:
            return [secret.token for secret in stored_secrets(session)]
    finally:
        catalog.close()


def test_a_catalog_made_with_the_old_key_derivation_is_migrated_at_start(
    tmp_path: Path, setup: dict[str, Any], source_db: str
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=OLD_PASSPHRASE)
    old_tokens = make_it_the_old_way(data_dir, OLD_PASSPHRASE)
    legacy = SecretBox(legacy_passphrase_key(OLD_PASSPHRASE))
    assert len(old_tokens) == 4
    assert all(legacy.opens(t) for t in old_tokens)
    assert_everything_connects(data_dir, secret_key=OLD_PASSPHRASE)
    catalog = catalog_of(data_dir)
    try:
        with catalog.session() as session:
            record = session.get(SecretKeyRecord, 1)
            assert record is not None
            assert record.kdf is not None
            assert record.kdf["name"] == "scrypt"
            assert record.kdf["n"] >= 2**15
            derived = SecretBox(ScryptParams.from_record(record.kdf).derive(OLD_PASSPHRASE))
            tokens = [secret.token for secret in stored_secrets(session)]
    finally:
        catalog.close()
    assert not any(legacy.opens(t) for t in tokens)
    assert all(derived.opens(t) for t in tokens)


def test_an_old_catalog_with_a_wrong_passphrase_is_refused_and_left_unchanged(
    tmp_path: Path, setup: dict[str, Any], source_db: str
) -> None:
    data_dir = tmp_path / "data"
    register(data_dir, setup, secret_key=OLD_PASSPHRASE)
    old_tokens = make_it_the_old_way(data_dir, OLD_PASSPHRASE)
    with pytest.raises(StrongboxError, match="does not open with the current key"):
        start_server(data_dir, secret_key="another-passphrase-entirely")
    assert stored_tokens(data_dir) == old_tokens
    result = run_cli(
        "serve", "--port", "1",
        STRONGBOX_DATA_DIR=str(data_dir), STRONGBOX_SECRET_KEY="another-passphrase-entirely",
        STRONGBOX_ADMIN_TOKEN="x" * 30,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("strongbox: error: the secret key of storage 'bucket' does not")
    assert "set STRONGBOX_SECRET_KEY to the passphrase" in lines[-1]
    assert stored_tokens(data_dir) == old_tokens
