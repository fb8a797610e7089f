"""A storage that someone else wrote to: manifests whose names are paths, whose keys point at
another backup's objects, or whose checksums were made to fit a swapped object, and a globals
dump carrying a psql shell command. Restores refuse them and touch nothing; imports list them
as refused."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import mariadb_database
from integration.problems import assert_problem
from integration.seeds import mariadb_fingerprint, pg_fingerprint, seed_mariadb, seed_postgres
from integration.test_restore import back_up, register_bucket, register_pg, wait_for_restore

pytestmark = pytest.mark.integration

DUMP = "tshop.pgdump.zst"


class Bucket:
    """Direct access to the test bucket, as someone holding its keys would have."""

    def __init__(self, seaweed: SeaweedServer, name: str) -> None:
        self.client = seaweed.client()
        self.name = name

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def manifest(self, database: str, backup: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.get(f"{database}/{backup}/manifest.json"))
        return loaded

    def put_manifest(self, manifest: dict[str, Any]) -> None:
        key = f"{manifest['database']}/{manifest['backup']}/manifest.json"
        self.put(key, json.dumps(manifest).encode())

    def copy_backup(self, database: str, source: str, target: str) -> dict[str, Any]:
        """Copy backup `source` to a new folder `target`, with a manifest that keeps every rule
        of the layout there; returns that manifest."""
        manifest = self.manifest(database, source)
        manifest["backup"] = target
        for artifact in manifest["artifacts"]:
            artifact["key"] = f"{database}/{target}/{artifact['name']}"
            self.put(artifact["key"], self.get(f"{database}/{source}/{artifact['name']}"))
        self.put_manifest(manifest)
        return manifest


def dump_of(manifest: dict[str, Any], kind: str = "database") -> dict[str, Any]:
    return next(a for a in manifest["artifacts"] if a["kind"] == kind)


def replace_object(bucket: Bucket, manifest: dict[str, Any], kind: str, data: bytes) -> None:
    """Store `data` as the manifest's artifact of `kind` and make the manifest fit it."""
    artifact = dump_of(manifest, kind)
    stored = zstandard.ZstdCompressor().compress(data)
    bucket.put(artifact["key"], stored)
    artifact.update(
        raw_bytes=len(data), stored_bytes=len(stored), sha256=hashlib.sha256(stored).hexdigest()
    )
    manifest["size_bytes"] = sum(a["raw_bytes"] for a in manifest["artifacts"])
    manifest["stored_bytes"] = sum(a["stored_bytes"] for a in manifest["artifacts"])
    bucket.put_manifest(manifest)


@pytest.fixture
def tshop(pg_server: PostgresServer) -> Iterator[dict[str, Any]]:
    seed_postgres(pg_server, "tshop", scale=0.02)
    yield pg_fingerprint(pg_server, "tshop")
    pg_server.execute("DROP DATABASE IF EXISTS tshop WITH (FORCE)")


@pytest.fixture
def two_backups(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    tshop: dict[str, Any],
) -> Bucket:
    """Backups b1 of tshop and b2 of tshop with one customer renamed; tshop is then as the
    `tshop` fixture made it."""
    register_pg(strongbox, "prod", pg_server, ["tshop"])
    register_bucket(strongbox, seaweed, s3_bucket)
    first = back_up(strongbox, "prod", "b1")
    name = pg_server.query("SELECT name FROM customers WHERE id = 1", "tshop")[0][0]
    pg_server.execute("UPDATE customers SET name = 'renamed' WHERE id = 1", "tshop")
    second = back_up(strongbox, "prod", "b2")
    with pg_server.connect("tshop") as conn:
        conn.execute("UPDATE customers SET name = %s WHERE id = 1", (name,))
    assert dump_of(first)["sha256"] != dump_of(second)["sha256"]
    assert pg_fingerprint(pg_server, "tshop") == tshop
    return Bucket(seaweed, s3_bucket)


def ask_restore(running: RunningServer, **body: Any) -> Any:
    return running.client.post("/api/v1/databases/prod/restores", json=body)


def no_database(server: PostgresServer, name: str) -> bool:
    return server.query(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'")[0][0] == 0


def test_artifact_names_that_are_paths_are_refused_and_nothing_is_written(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    two_backups: Bucket,
    tshop: dict[str, Any],
) -> None:
    token = secrets.token_hex(4)
    outside = [strongbox.data_dir / f"x-{token}", Path(f"/tmp/strongbox-abs-{token}")]
    for name in (f"../../x-{token}.zst", f"/tmp/strongbox-abs-{token}.zst"):
        manifest = two_backups.manifest("prod", "b1")
        dump_of(manifest)["name"] = name
        two_backups.put_manifest(manifest)
        for body in ({"overwrite": True}, {"database_map": {"tshop": "tshop_new"}}):
            problem = assert_problem(
                ask_restore(strongbox, backup="b1", **body), 422, "backup-manifest-invalid"
            )
            assert "contains '/'" in problem["detail"]
            assert name[:20] in problem["detail"]
    for path in outside:
        assert not path.exists()
    assert pg_fingerprint(pg_server, "tshop") == tshop
    assert no_database(pg_server, "tshop_new")
    assert strongbox.client.get("/api/v1/databases/prod/restores").json()["items"] == []


def test_a_key_pointing_at_another_backups_object_is_refused(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    two_backups: Bucket,
    tshop: dict[str, Any],
) -> None:
    manifest, other = two_backups.manifest("prod", "b1"), two_backups.manifest("prod", "b2")
    for field in ("key", "raw_bytes", "stored_bytes", "sha256"):
        dump_of(manifest)[field] = dump_of(other)[field]
    manifest["size_bytes"], manifest["stored_bytes"] = other["size_bytes"], other["stored_bytes"]
    two_backups.put_manifest(manifest)

    problem = assert_problem(
        ask_restore(strongbox, backup="b1", overwrite=True), 422, "backup-manifest-invalid"
    )
    assert "key is 'prod/b2/tshop.pgdump.zst', but the layout puts it at" in problem["detail"]
    assert pg_fingerprint(pg_server, "tshop") == tshop


def test_a_swapped_object_with_a_matching_checksum_is_refused_by_the_catalog(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    two_backups: Bucket,
    tshop: dict[str, Any],
) -> None:
    manifest, other = two_backups.manifest("prod", "b1"), two_backups.manifest("prod", "b2")
    recorded = dump_of(manifest)["sha256"]
    two_backups.put(dump_of(manifest)["key"], two_backups.get(dump_of(other)["key"]))
    for field in ("raw_bytes", "stored_bytes", "sha256"):
        dump_of(manifest)[field] = dump_of(other)[field]
    manifest["size_bytes"] = sum(a["raw_bytes"] for a in manifest["artifacts"])
    manifest["stored_bytes"] = sum(a["stored_bytes"] for a in manifest["artifacts"])
    two_backups.put_manifest(manifest)

    for body in ({"overwrite": True}, {"database_map": {"tshop": "tshop_new"}, "jobs": 1}):
        problem = assert_problem(
            ask_restore(strongbox, backup="b1", **body), 422, "backup-manifest-mismatch"
        )
        assert (
            f"artifact '{DUMP}': sha256 is '{recorded}' in the catalog and "
            f"'{dump_of(other)['sha256']}' in the storage" in problem["detail"]
        )
    assert pg_fingerprint(pg_server, "tshop") == tshop
    assert no_database(pg_server, "tshop_new")


def test_a_globals_dump_with_a_shell_command_is_refused_before_anything_runs(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    two_backups: Bucket,
    tshop: dict[str, Any],
) -> None:
    owned = Path(f"/tmp/strongbox-owned-{secrets.token_hex(4)}")
    manifest = two_backups.copy_backup("prod", "b1", "crafted")
    real = (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress(two_backups.get(dump_of(manifest, "globals")["key"]))
    )
    # Without pg_dumpall's \restrict line, which would make psql itself refuse the command.
    lines = [line for line in real.splitlines() if b"restrict" not in line]
    crafted = b"\n".join([lines[0], b"\\! touch " + str(owned).encode(), *lines[1:]]) + b"\n"
    replace_object(two_backups, manifest, "globals", crafted)

    imported = strongbox.client.post("/api/v1/backup-storages/bucket/import", json={})
    assert imported.json()["imported"] == ["prod/crafted"], imported.text
    response = ask_restore(
        strongbox,
        backup="crafted",
        restore_globals=True,
        database_map={"tshop": "tshop_crafted"},
    )
    assert response.status_code == 202, response.text
    done = wait_for_restore(strongbox, "prod", response.json()["name"])
    assert done["state"] == "failed"
    assert "the globals dump was refused at line 2" in done["error"]
    assert "meta-command" in done["error"]
    assert "psql -X -f globals.sql" in done["error"]
    assert not owned.exists()
    assert no_database(pg_server, "tshop_crafted")
    assert pg_fingerprint(pg_server, "tshop") == tshop


def test_an_import_lists_every_tampered_manifest_as_refused(
    strongbox: RunningServer, two_backups: Bucket
) -> None:
    bad_name = two_backups.copy_backup("prod", "b1", "bad-name")
    dump_of(bad_name)["name"] = "../../x.pgdump.zst"
    two_backups.put_manifest(bad_name)
    bad_key = two_backups.copy_backup("prod", "b1", "bad-key")
    dump_of(bad_key)["key"] = "prod/b2/tshop.pgdump.zst"
    two_backups.put_manifest(bad_key)
    future = two_backups.copy_backup("prod", "b1", "future")
    future["finished_at"] = "2999-01-01T00:00:00Z"
    two_backups.put_manifest(future)
    elsewhere = two_backups.manifest("prod", "b1")
    two_backups.put("prod/moved/manifest.json", json.dumps(elsewhere).encode())
    two_backups.put("prod/not a name/manifest.json", json.dumps(elsewhere).encode())
    two_backups.copy_backup("prod", "b1", "fine")

    answer = strongbox.client.post("/api/v1/backup-storages/bucket/import", json={}).json()
    assert answer["imported"] == ["prod/fine"]
    assert sorted(answer["skipped"]) == ["prod/b1", "prod/b2"]
    reasons = {r["key"]: r["reason"] for r in answer["refused"]}
    assert sorted(reasons) == [
        "prod/bad-key/manifest.json",
        "prod/bad-name/manifest.json",
        "prod/future/manifest.json",
        "prod/moved/manifest.json",
        "prod/not a name/manifest.json",
    ]
    assert "name contains '/'" in reasons["prod/bad-name/manifest.json"]
    assert "key is 'prod/b2/tshop.pgdump.zst'" in reasons["prod/bad-key/manifest.json"]
    assert "finished_at 2999-01-01" in reasons["prod/future/manifest.json"]
    assert (
        "backup is 'b1', but the manifest lies in the folder of 'moved'"
        in (reasons["prod/moved/manifest.json"])
    )
    assert "{database}/{backup}/manifest.json" in reasons["prod/not a name/manifest.json"]
    for label in ("bad-name", "bad-key", "future", "moved"):
        response = strongbox.client.get(f"/api/v1/databases/prod/backups/{label}")
        assert response.status_code == 404


def test_mariadb_refuses_a_manifest_whose_key_and_checksum_point_at_another_backup(
    strongbox: RunningServer,
    mariadb_server: MariaDBServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    mariadb_shop: Callable[[], dict[str, Any]],
) -> None:
    original = mariadb_shop()
    strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, ["tmshop"]),
    ).raise_for_status()
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "maria", "m1")
    mariadb_server.execute("DELETE FROM customers WHERE id % 2 = 0", "tmshop")
    back_up(strongbox, "maria", "m2")
    changed = mariadb_fingerprint(mariadb_server, "tmshop")
    assert changed != original
    bucket = Bucket(seaweed, s3_bucket)
    manifest, other = bucket.manifest("maria", "m1"), bucket.manifest("maria", "m2")
    bucket.put(dump_of(manifest)["key"], bucket.get(dump_of(other)["key"]))
    for field in ("raw_bytes", "stored_bytes", "sha256"):
        dump_of(manifest)[field] = dump_of(other)[field]
    manifest["size_bytes"], manifest["stored_bytes"] = other["size_bytes"], other["stored_bytes"]
    bucket.put_manifest(manifest)

    refused = strongbox.client.post(
        "/api/v1/databases/maria/restores", json={"backup": "m1", "overwrite": True}
    )
    problem = assert_problem(refused, 422, "backup-manifest-mismatch")
    assert "artifact 'tmshop.sql.zst': stored_bytes is" in problem["detail"]
    assert mariadb_fingerprint(mariadb_server, "tmshop") == changed


@pytest.fixture
def mariadb_shop(mariadb_server: MariaDBServer) -> Iterator[Callable[[], dict[str, Any]]]:
    def seed() -> dict[str, Any]:
        seed_mariadb(mariadb_server, "tmshop", scale=0.02)
        return mariadb_fingerprint(mariadb_server, "tmshop")

    yield seed
    mariadb_server.execute("DROP DATABASE IF EXISTS tmshop")


def test_a_queued_restore_that_meets_a_tampered_manifest_fails_and_touches_nothing(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    two_backups: Bucket,
    tshop: dict[str, Any],
) -> None:
    from strongbox.catalog.models import Restore
    from strongbox.domain.jobs import JobKind, JobRef
    from strongbox.jobs.runner import Runner

    ctx = strongbox.embedded.context
    manifest = two_backups.manifest("prod", "b1")
    token = secrets.token_hex(4)
    dump_of(manifest)["name"] = f"../../y-{token}.zst"
    two_backups.put_manifest(manifest)
    # As if the manifest was changed between the request and the worker's start.
    with ctx.catalog.session() as session:
        row = Restore(
            name="late",
            database="prod",
            backup="b1",
            target="prod",
            database_map={},
            overwrite=True,
            restore_globals=False,
            parallel_jobs=2,
            state="queued",
            created_at=ctx.clock.now(),
            restored_bytes=0,
            summary=[],
        )
        session.add(row)
        session.flush()
        restore_id = row.id
    assert Runner(ctx).run(JobRef(JobKind.RESTORE, restore_id))

    done = strongbox.client.get("/api/v1/databases/prod/restores/late").json()
    assert done["state"] == "failed"
    assert "breaks the layout's rules" in done["error"]
    assert "name contains '/'" in done["error"]
    assert not (strongbox.data_dir / f"y-{token}").exists()
    assert pg_fingerprint(pg_server, "tshop") == tshop
