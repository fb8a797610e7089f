"""Backups read from a MariaDB replica (`backup_source`): the dump runs there and never on the
primary, restores go to the primary, and a source that is not a replica of this server is
refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer, wait_until_replicated
from integration.activity_watch import StatementWatch
from integration.bodies import folder_storage, mariadb_database
from integration.problems import assert_problem
from integration.seeds import mariadb_fingerprint, seed_mariadb
from integration.test_restore import restore

pytestmark = pytest.mark.integration

# mariadb-dump reads each table with this mark, which no other statement carries.
_DUMP_STATEMENTS = (
    "SELECT INFO FROM information_schema.PROCESSLIST"
    " WHERE ID <> CONNECTION_ID() AND INFO LIKE CONCAT('%', '/*!40001 SQL_NO_CACHE */', '%')"
)


@pytest.fixture(scope="module")
def pair(mariadb_replica_pair: tuple[MariaDBServer, MariaDBServer]) -> dict[str, Any]:
    """The primary with a seeded database, applied on the replica; and its fingerprint."""
    primary, replica = mariadb_replica_pair
    seed_mariadb(primary, "shop", scale=0.2)
    wait_until_replicated(primary, replica)
    return {"primary": primary, "replica": replica, "shop": mariadb_fingerprint(primary, "shop")}


def statements(server: MariaDBServer) -> list[str]:
    return [str(row[0]) for row in server.query(_DUMP_STATEMENTS)]


def test_a_backup_from_the_replica_restores_the_primarys_content_without_touching_it(
    strongbox: RunningServer, pair: dict[str, Any], tmp_path: Path
) -> None:
    primary, replica = pair["primary"], pair["replica"]
    source = {"host": replica.host, "port": replica.port}
    created = strongbox.client.post(
        "/api/v1/databases",
        # A rate cap makes the dump last long enough to be seen on the replica.
        json=mariadb_database(primary, ["shop"], backup_source=source, max_rate_mb_per_s=2),
    )
    assert created.status_code == 201, created.text
    assert created.json()["backup_source"]["lag_seconds"] >= 0
    strongbox.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "backups")
    ).raise_for_status()

    with (
        StatementWatch(lambda: statements(primary)) as on_primary,
        StatementWatch(lambda: statements(replica)) as on_replica,
    ):
        strongbox.client.post(
            "/api/v1/databases/maria/backups", json={"storage": "disk", "name": "off-primary"}
        ).raise_for_status()
        backup = strongbox.wait_for_backup("maria", "off-primary")
    assert backup["state"] == "succeeded", backup["error"]
    assert not on_primary.errors
    assert not on_replica.errors
    assert on_primary.seen == []
    assert any("customers" in s or "documents" in s for s in on_replica.seen), on_replica.seen
    assert backup["source"]["kind"] == "standby"
    assert backup["source"]["port"] == replica.port
    assert backup["source"]["lag_seconds"] >= 0
    # The replica's own binlog position is not the primary's: none is recorded.
    assert backup["log_position"] is None
    load = backup["source_load"]
    assert load["samples"], load
    assert {"questions_per_s", "rows_read_per_s", "backup_read_mb_per_s"} <= set(load["average"])

    done = restore(strongbox, "maria", backup="off-primary", database_map={"shop": "shop_copy"})
    assert done["state"] == "succeeded", done["error"]
    assert mariadb_fingerprint(primary, "shop_copy") == pair["shop"]
    primary.execute("DROP DATABASE shop_copy")


def test_the_primary_itself_is_refused_as_its_backup_source(
    strongbox: RunningServer, pair: dict[str, Any]
) -> None:
    primary = pair["primary"]
    refused = strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(
            primary, ["shop"], backup_source={"host": primary.host, "port": primary.port}
        ),
    )
    problem = assert_problem(refused, 422, "database-source-not-standby")
    assert "not a replica" in problem["detail"]


def test_a_replica_of_another_server_is_refused(
    strongbox: RunningServer, pair: dict[str, Any], mariadb_server: MariaDBServer
) -> None:
    primary, replica = pair["primary"], pair["replica"]
    # One login that both servers accept, so that only what the replica follows differs.
    for server in (primary, mariadb_server):
        server.execute("CREATE USER 'twin'@'%' IDENTIFIED BY 'twin-secret'")
        server.execute("GRANT ALL ON *.* TO 'twin'@'%'")
    wait_until_replicated(primary, replica)
    try:
        refused = strongbox.client.post(
            "/api/v1/databases",
            json=mariadb_database(
                mariadb_server,
                [],
                username="twin",
                password="twin-secret",
                backup_source={"host": replica.host, "port": replica.port},
            ),
        )
        problem = assert_problem(refused, 422, "database-source-not-standby")
        assert "replicates from another server" in problem["detail"]
    finally:
        for server in (primary, mariadb_server):
            server.execute("DROP USER 'twin'@'%'")
