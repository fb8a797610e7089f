"""Backups read from a PostgreSQL standby (`backup_source`): the dump runs there and never on
the primary, restores go to the primary, and a source that is not a standby of the same
cluster is refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer, wait_until_replayed
from integration.activity_watch import StatementWatch
from integration.bodies import folder_storage, postgres_database
from integration.problems import assert_problem
from integration.seeds import pg_fingerprint, seed_postgres
from integration.test_restore import restore

pytestmark = pytest.mark.integration

# The dump's statements, as pg_stat_activity shows them.
_DUMP_STATEMENTS = (
    "SELECT query FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' AND query LIKE 'COPY %TO stdout%'"
)


@pytest.fixture(scope="module")
def pair(pg_standby_pair: tuple[PostgresServer, PostgresServer]) -> dict[str, Any]:
    """The primary with a seeded database, replayed on the standby; and its fingerprint."""
    primary, standby = pg_standby_pair
    seed_postgres(primary, "shop", scale=0.2)
    wait_until_replayed(primary, standby)
    return {"primary": primary, "standby": standby, "shop": pg_fingerprint(primary, "shop")}


def statements(server: PostgresServer) -> list[str]:
    return [str(row[0]) for row in server.query(_DUMP_STATEMENTS)]


def test_a_backup_from_the_standby_restores_the_primarys_content_without_touching_it(
    strongbox: RunningServer, pair: dict[str, Any], tmp_path: Path
) -> None:
    primary, standby = pair["primary"], pair["standby"]
    source = {"host": standby.host, "port": standby.port}
    created = strongbox.client.post(
        "/api/v1/databases",
        # A rate cap makes the dump last long enough to be seen on the standby.
        json=postgres_database(primary, ["shop"], backup_source=source, max_rate_mb_per_s=2),
    )
    assert created.status_code == 201, created.text
    registered = created.json()["backup_source"]
    assert (registered["host"], registered["port"]) == (standby.host, standby.port)
    assert registered["lag_seconds"] >= 0
    strongbox.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "backups")
    ).raise_for_status()

    with (
        StatementWatch(lambda: statements(primary)) as on_primary,
        StatementWatch(lambda: statements(standby)) as on_standby,
    ):
        strongbox.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "disk", "name": "off-primary"}
        ).raise_for_status()
        backup = strongbox.wait_for_backup("prod", "off-primary")
    assert backup["state"] == "succeeded", backup["error"]
    assert not on_primary.errors
    assert not on_standby.errors
    assert on_primary.seen == []
    assert any("customers" in s for s in on_standby.seen), on_standby.seen
    assert backup["source"]["kind"] == "standby"
    assert (backup["source"]["host"], backup["source"]["port"]) == (standby.host, standby.port)
    assert backup["source"]["lag_seconds"] >= 0
    load = backup["source_load"]
    assert load["samples"], load
    assert {"transactions_per_s", "blocks_read_per_s", "backup_read_mb_per_s"} <= set(
        load["average"]
    )
    assert load["average"]["backup_read_mb_per_s"] > 0

    done = restore(strongbox, "prod", backup="off-primary", database_map={"shop": "shop_copy"})
    assert done["state"] == "succeeded", done["error"]
    assert pg_fingerprint(primary, "shop_copy") == pair["shop"]
    primary.execute("DROP DATABASE shop_copy")


def test_the_primary_itself_is_refused_as_its_backup_source(
    strongbox: RunningServer, pair: dict[str, Any]
) -> None:
    primary = pair["primary"]
    refused = strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(
            primary, ["shop"], backup_source={"host": primary.host, "port": primary.port}
        ),
    )
    problem = assert_problem(refused, 422, "database-source-not-standby")
    assert "not a standby" in problem["detail"]
    assert strongbox.client.get("/api/v1/databases").json()["items"] == []


def test_a_standby_of_another_cluster_is_refused(
    strongbox: RunningServer, pair: dict[str, Any], pg_server: PostgresServer
) -> None:
    primary, standby = pair["primary"], pair["standby"]
    # One login that both clusters accept, so that only their identity differs.
    for server in (primary, pg_server):
        server.execute("CREATE ROLE twin LOGIN SUPERUSER PASSWORD 'twin-secret'")
    wait_until_replayed(primary, standby)
    try:
        refused = strongbox.client.post(
            "/api/v1/databases",
            json=postgres_database(
                pg_server,
                [],
                username="twin",
                password="twin-secret",
                backup_source={"host": standby.host, "port": standby.port},
            ),
        )
        problem = assert_problem(refused, 422, "database-source-not-standby")
        assert "another cluster" in problem["detail"]
    finally:
        for server in (primary, pg_server):
            server.execute("DROP ROLE twin")


def test_a_source_set_later_is_checked_and_null_removes_it(
    strongbox: RunningServer, pair: dict[str, Any]
) -> None:
    primary, standby = pair["primary"], pair["standby"]
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(primary, ["shop"])
    ).raise_for_status()
    wrong = strongbox.client.patch(
        "/api/v1/databases/prod",
        json={"backup_source": {"host": primary.host, "port": primary.port}},
    )
    assert_problem(wrong, 422, "database-source-not-standby")
    assert strongbox.client.get("/api/v1/databases/prod").json()["backup_source"] is None
    changed = strongbox.client.patch(
        "/api/v1/databases/prod",
        json={"backup_source": {"host": standby.host, "port": standby.port}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["backup_source"]["port"] == standby.port
    removed = strongbox.client.patch("/api/v1/databases/prod", json={"backup_source": None})
    assert removed.json()["backup_source"] is None
