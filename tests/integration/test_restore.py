"""Restores through the API: into a new database, into another server, over the original; with
checksums proven before live data is touched, and tool errors reported, never hidden."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import mariadb_database, postgres_database, s3_storage
from integration.problems import assert_problem
from integration.seeds import mariadb_fingerprint, pg_fingerprint, seed_mariadb, seed_postgres

pytestmark = pytest.mark.integration


def wait_for_restore(running: RunningServer, database: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        body = running.client.get(f"/api/v1/databases/{database}/restores/{name}").json()
        if body["state"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, f"restore {name} still {body['state']}"
        time.sleep(0.2)


def register_pg(running: RunningServer, name: str, server: PostgresServer, dbs: list[str]) -> None:
    running.client.post(
        "/api/v1/databases",
        json=postgres_database(server, dbs, name=name),
    ).raise_for_status()


def register_bucket(running: RunningServer, seaweed: SeaweedServer, bucket: str) -> None:
    running.client.post(
        "/api/v1/backup-storages",
        json=s3_storage(seaweed, bucket),
    ).raise_for_status()


def back_up(running: RunningServer, database: str, name: str) -> dict[str, Any]:
    running.client.post(
        f"/api/v1/databases/{database}/backups", json={"storage": "bucket", "name": name}
    ).raise_for_status()
    backup = running.wait_for_backup(database, name)
    assert backup["state"] == "succeeded", backup["error"]
    return backup


def restore(running: RunningServer, database: str, **body: Any) -> dict[str, Any]:
    response = running.client.post(f"/api/v1/databases/{database}/restores", json=body)
    assert response.status_code == 202, response.text
    return wait_for_restore(running, database, response.json()["name"])


@pytest.fixture(scope="module")
def shop(pg_server: PostgresServer) -> Iterator[dict[str, Any]]:
    seed_postgres(pg_server, "rshop", scale=0.2)
    yield pg_fingerprint(pg_server, "rshop")
    pg_server.execute("DROP DATABASE IF EXISTS rshop WITH (FORCE)")


@pytest.fixture(scope="module")
def second_pg(pg_server_factory: Callable[[], PostgresServer]) -> PostgresServer:
    return pg_server_factory()


def test_postgresql_round_trips_into_a_new_database_and_another_server(
    strongbox_on_each_catalog: RunningServer,
    pg_server: PostgresServer,
    second_pg: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    # The representative flow of the API (register, back up, restore twice, list) on both
    # kinds of catalog.
    strongbox = strongbox_on_each_catalog
    register_pg(strongbox, "prod", pg_server, ["rshop"])
    register_pg(strongbox, "standby", second_pg, [])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "b1")

    same = restore(
        strongbox, "prod", backup="b1", database_map={"rshop": "rshop_copy"}, exact_counts=True
    )
    assert same["state"] == "succeeded", same["error"]
    assert same["exact_counts"] is True
    assert same["summary"][0]["target"] == "rshop_copy"
    assert same["summary"][0]["action"] == "create"
    assert same["summary"][0]["tables"] == 3
    assert same["summary"][0]["rows"] == sum(v[0] for k, v in shop.items() if "." in k)
    assert same["summary"][0]["rows_estimated"] is False
    assert same["restored_bytes"] > 0
    assert pg_fingerprint(pg_server, "rshop_copy") == shop

    other = restore(strongbox, "prod", backup="b1", target="standby", jobs=1)
    assert other["state"] == "succeeded", other["error"]
    assert pg_fingerprint(second_pg, "rshop") == shop
    # Without exact_counts the rows are the planner's estimate, and say so.
    exact = sum(v[0] for k, v in shop.items() if "." in k)
    assert other["exact_counts"] is False
    assert other["summary"][0]["rows_estimated"] is True
    assert other["summary"][0]["tables"] == 3
    assert abs(other["summary"][0]["rows"] - exact) <= exact * 0.1

    listed = strongbox.client.get("/api/v1/databases/prod/restores").json()["items"]
    assert [r["name"] for r in listed] == [other["name"], same["name"]]
    pg_server.execute("DROP DATABASE rshop_copy")
    second_pg.execute("DROP DATABASE rshop")


def test_estimated_rows_come_without_analyze_also_for_a_table_without_an_index(
    strongbox: RunningServer, pg_server: PostgresServer, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    # A restore does not ANALYZE (it would read every table while the requester waits): the
    # estimate is the row count an index build leaves, or the live rows the statistics counted
    # while a table without an index was loaded.
    pg_server.execute("DROP DATABASE IF EXISTS heaps WITH (FORCE)")
    pg_server.execute("CREATE DATABASE heaps")
    pg_server.execute(
        "CREATE TABLE heap AS SELECT g AS n, md5(g::text) AS t FROM generate_series(1, 30000) g;"
        " CREATE TABLE keyed (id int PRIMARY KEY, t text);"
        " INSERT INTO keyed SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
        "heaps",
    )
    register_pg(strongbox, "prod", pg_server, ["heaps"])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "b1")
    try:
        for jobs, target in ((1, "heaps_one"), (2, "heaps_two")):
            done = restore(
                strongbox, "prod", backup="b1", database_map={"heaps": target}, jobs=jobs
            )
            assert done["state"] == "succeeded", done["error"]
            summary = done["summary"][0]
            assert (summary["tables"], summary["rows_estimated"]) == (2, True)
            assert abs(summary["rows"] - 50000) <= 5000, summary
            analyzed = pg_server.query(
                "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL", target
            )
            assert analyzed == [(0,)]
    finally:
        for name in ("heaps", "heaps_one", "heaps_two"):
            pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_overwrite_puts_the_original_content_back(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    register_pg(strongbox, "prod", pg_server, ["rshop"])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "before")
    pg_server.execute("DELETE FROM sales.orders WHERE id % 2 = 0", "rshop")
    pg_server.execute("UPDATE customers SET name = 'changed' WHERE id < 100", "rshop")
    pg_server.execute("DROP VIEW big_spenders; DROP TABLE documents", "rshop")
    pg_server.execute("SELECT setval('invoice_no', 1)", "rshop")

    refused = strongbox.client.post("/api/v1/databases/prod/restores", json={"backup": "before"})
    problem = assert_problem(refused, 409, "target-not-empty")
    assert "rshop" in problem["detail"]

    done = restore(strongbox, "prod", backup="before", overwrite=True)
    assert done["state"] == "succeeded", done["error"]
    assert done["summary"][0]["action"] == "overwrite"
    assert pg_fingerprint(pg_server, "rshop") == shop


def flip_a_byte(seaweed: SeaweedServer, bucket: str, key: str) -> None:
    client = seaweed.client()
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))


def test_a_corrupt_artifact_never_touches_the_live_database_and_leaves_no_new_one(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    register_pg(strongbox, "prod", pg_server, ["rshop"])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "good")
    flip_a_byte(seaweed, s3_bucket, "prod/good/rshop.pgdump.zst")

    over = restore(strongbox, "prod", backup="good", overwrite=True)
    assert over["state"] == "failed"
    assert "checksum mismatch" in over["error"]
    assert pg_fingerprint(pg_server, "rshop") == shop  # the live database is untouched

    for jobs in (1, 2):
        new = restore(
            strongbox, "prod", backup="good", database_map={"rshop": "rshop_bad"}, jobs=jobs
        )
        assert new["state"] == "failed"
        assert "checksum mismatch" in new["error"]
        exists = pg_server.query("SELECT count(*) FROM pg_database WHERE datname = 'rshop_bad'")
        assert exists[0][0] == 0


def test_a_missing_role_fails_the_restore_with_the_tools_message_and_globals_fix_it(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    pg_server_factory: Callable[[], PostgresServer],
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    fresh = pg_server_factory()
    pg_server.execute("DROP ROLE IF EXISTS api_owner; CREATE ROLE api_owner LOGIN")
    pg_server.create_database("api_owned")
    pg_server.execute(
        "CREATE TABLE t AS SELECT generate_series(1, 100) AS id; ALTER TABLE t OWNER TO api_owner",
        "api_owned",
    )
    register_pg(strongbox, "prod", pg_server, ["api_owned"])
    register_pg(strongbox, "fresh", fresh, [])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "with-role")

    failed = restore(strongbox, "prod", backup="with-role", target="fresh", jobs=1)
    assert failed["state"] == "failed"
    assert "pg_restore" in failed["error"]
    assert 'role "api_owner" does not exist' in failed["error"]
    assert "dropped again" in failed["error"]
    assert fresh.query("SELECT count(*) FROM pg_database WHERE datname = 'api_owned'")[0][0] == 0

    fixed = restore(strongbox, "prod", backup="with-role", target="fresh", restore_globals=True)
    assert fixed["state"] == "succeeded", fixed["error"]
    owner = fresh.query("SELECT tableowner FROM pg_tables WHERE tablename = 't'", "api_owned")
    assert owner[0][0] == "api_owner"
    assert fresh.query("SELECT count(*) FROM t", "api_owned")[0][0] == 100
    pg_server.execute("DROP DATABASE api_owned")
    pg_server.execute("DROP ROLE api_owner")


def test_refusals_are_clear(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    mariadb_server: MariaDBServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    register_pg(strongbox, "prod", pg_server, ["rshop"])
    register_bucket(strongbox, seaweed, s3_bucket)
    strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, []),
    ).raise_for_status()
    back_up(strongbox, "prod", "ok")
    post = lambda body: strongbox.client.post("/api/v1/databases/prod/restores", json=body)  # noqa: E731

    assert_problem(post({"backup": "ok"}), 409, "target-not-empty")
    assert_problem(post({"backup": "nope"}), 422, "backup-not-found")
    mismatch = assert_problem(post({"backup": "ok", "target": "maria"}), 422, "engine-mismatch")
    assert "postgresql" in mismatch["detail"]
    assert_problem(post({"backup": "ok", "target": "ghost"}), 422, "database-not-found")
    assert_problem(
        post({"backup": "ok", "database_map": {"other": "x"}}), 422, "unknown-source-database"
    )
    assert_problem(post({"backup": "ok", "jobs": 0}), 422)
    # A backup that did not succeed cannot be restored.
    pg_server.create_database("vanishing")
    strongbox.client.patch("/api/v1/databases/prod", json={"databases": ["vanishing"]})
    pg_server.execute("DROP DATABASE vanishing")
    strongbox.client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "broken"}
    )
    assert strongbox.wait_for_backup("prod", "broken")["state"] == "failed"
    assert_problem(post({"backup": "broken"}), 409, "backup-not-restorable")


def test_dry_run_shows_the_plan_and_does_nothing(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    register_pg(strongbox, "prod", pg_server, ["rshop"])
    register_bucket(strongbox, seaweed, s3_bucket)
    backup = back_up(strongbox, "prod", "plan-me")
    response = strongbox.client.post(
        "/api/v1/databases/prod/restores",
        params={"dry_run": "true"},
        json={"backup": "plan-me", "overwrite": True, "database_map": {}},
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    artifact = next(a for a in backup["artifacts"] if a["dbname"] == "rshop")
    assert plan["artifacts"][0]["sha256"] == artifact["sha256"]
    assert plan["artifacts"][0]["action"] == "overwrite"
    assert plan["artifacts"][0]["verify_before_writing"] is True
    assert any("side database next to rshop" in s and "swap" in s for s in plan["steps"])
    # A parallel restore into the side database starts as the artifact streams (the schema,
    # then the rows through several sessions from the data section's script), and builds the
    # rest from the verified local copy with two jobs.
    schema, data, rest = plan["commands"]
    assert schema[0].endswith("pg_restore")
    assert schema[1] == "--section=pre-data"
    assert data[1:] == ["--section=data", "-f", "-"]  # a script: it connects nowhere
    assert "-j" not in schema
    assert "-j" not in data
    assert rest[1] == "--section=post-data"
    assert rest[rest.index("-j") + 1] == "2"
    assert any("as it streams" in s for s in plan["steps"])
    assert pg_server.password not in response.text
    assert strongbox.client.get("/api/v1/databases/prod/restores").json()["items"] == []
    assert pg_fingerprint(pg_server, "rshop") == shop


def test_mariadb_round_trip_into_a_new_database(
    strongbox: RunningServer,
    mariadb_server: MariaDBServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    seed_mariadb(mariadb_server, "mshop", scale=0.1)
    original = mariadb_fingerprint(mariadb_server, "mshop")
    strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, ["mshop"]),
    ).raise_for_status()
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "maria", "m1")
    done = restore(strongbox, "maria", backup="m1", database_map={"mshop": "mshop_copy"})
    assert done["state"] == "succeeded", done["error"]
    assert mariadb_fingerprint(mariadb_server, "mshop_copy") == original
    # Over the original after damage.
    mariadb_server.execute("DELETE FROM customers WHERE id < 100", "mshop")
    mariadb_server.execute("DROP VIEW big_spenders", "mshop")
    over = restore(strongbox, "maria", backup="m1", overwrite=True)
    assert over["state"] == "succeeded", over["error"]
    assert mariadb_fingerprint(mariadb_server, "mshop") == original
    mariadb_server.execute("DROP DATABASE mshop_copy")
    mariadb_server.execute("DROP DATABASE mshop")


def test_a_new_catalog_imports_backups_from_the_storage_and_restores_one(
    tmp_path: Path,
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    shop: dict[str, Any],
) -> None:
    register_pg(strongbox, "prod", pg_server, ["rshop"])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "old-one")

    fresh, server = start_server(tmp_path / "fresh-data")
    try:
        register_pg(fresh, "prod", pg_server, ["rshop"])
        register_bucket(fresh, seaweed, s3_bucket)
        first = fresh.client.post("/api/v1/backup-storages/bucket/import", json={}).json()
        assert first == {
            "imported": ["prod/old-one"],
            "skipped": [],
            "unreadable": [],
            "refused": [],
        }
        again = fresh.client.post(
            "/api/v1/backup-storages/bucket/import", json={"database": "prod"}
        ).json()
        assert again["skipped"] == ["prod/old-one"]
        imported = fresh.client.get("/api/v1/databases/prod/backups/old-one").json()
        assert imported["state"] == "succeeded"
        # The import records what the backup itself recorded, from the same manifest.
        taken = strongbox.client.get("/api/v1/databases/prod/backups/old-one").json()
        recorded = (
            "size_bytes",
            "stored_bytes",
            "progress_bytes",
            "location",
            "server_version",
            "log_position",
            "artifacts",
            "method",
            "trigger",
            "started_at",
        )
        assert {k: imported[k] for k in recorded} == {k: taken[k] for k in recorded}
        done = restore(fresh, "prod", backup="old-one", database_map={"rshop": "rshop_imported"})
        assert done["state"] == "succeeded", done["error"]
        assert pg_fingerprint(pg_server, "rshop_imported") == shop
        pg_server.execute("DROP DATABASE rshop_imported")
    finally:
        stop_server(fresh, server)


def test_at_start_only_a_restore_whose_heartbeat_is_stale_is_failed_as_worker_lost(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    from strongbox.catalog.models import Restore
    from strongbox.config import Settings
    from strongbox.server import Embedded

    settings = Settings(data_dir=tmp_path / "data", secret_key="k", admin_token="t" * 24)
    first = Embedded.prepare(settings)
    now = first.context.clock.now()
    with first.context.catalog.session() as session:
        for name, beat in (("r1", now - timedelta(seconds=120)), ("r2", now)):
            session.add(
                Restore(
                    name=name,
                    database="prod",
                    backup="b1",
                    target="standby",
                    database_map={},
                    overwrite=False,
                    restore_globals=False,
                    parallel_jobs=1,
                    state="running",
                    created_at=beat,
                    started_at=beat,
                    heartbeat_at=beat,
                    restored_bytes=0,
                    summary=[
                        {"source": "app", "target": "app", "action": "create", "writing": True}
                    ],
                )
            )
    first.stop()
    second = Embedded.prepare(settings)
    try:
        with second.context.catalog.session() as session:
            lost, alive = session.query(Restore).order_by(Restore.name).all()
            assert lost.state == "failed"
            assert lost.error.startswith("worker lost: last heartbeat at ")
            assert "standby" in lost.error
            assert "app may be incomplete" in lost.error
            # Another process's restore, beating: a start does not touch it.
            assert (alive.state, alive.error) == ("running", None)
    finally:
        second.stop()
