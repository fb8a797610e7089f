from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from integration.bodies import mariadb_database, postgres_database
from integration.problems import assert_problem, fields_of

pytestmark = pytest.mark.integration


def pg_body(server: PostgresServer, **overrides: Any) -> dict[str, Any]:
    return {**postgres_database(server, [], description="the main cluster"), **overrides}


def maria_body(server: MariaDBServer, **overrides: Any) -> dict[str, Any]:
    return {**mariadb_database(server, [], "shopdb"), **overrides}


def test_a_postgresql_database_is_checked_and_saved_with_its_version(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    response = strongbox.client.post("/api/v1/databases", json=pg_body(pg_server))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["engine"] == "postgresql"
    assert body["server_version"].startswith("15.")
    assert body["databases"] == []
    assert "password" not in body
    assert pg_server.password not in strongbox.client.get("/api/v1/databases").text
    assert pg_server.password.encode() not in (strongbox.data_dir / "catalog.sqlite3").read_bytes()


def test_a_mariadb_database_is_checked_and_saved_with_its_version(
    strongbox: RunningServer, mariadb_server: MariaDBServer
) -> None:
    response = strongbox.client.post("/api/v1/databases", json=maria_body(mariadb_server))
    assert response.status_code == 201, response.text
    assert "MariaDB" in response.json()["server_version"]


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_wrong_password_is_refused_with_a_fix(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    mariadb_server: MariaDBServer,
    engine: str,
) -> None:
    body = (
        pg_body(pg_server, password="not-the-password")
        if engine == "postgresql"
        else maria_body(mariadb_server, password="not-the-password")
    )
    response = strongbox.client.post("/api/v1/databases", json=body)
    problem = assert_problem(response, 422, "database-bad-credentials")
    assert "not-the-password" not in response.text
    assert "password" in problem["detail"]
    assert strongbox.client.get("/api/v1/databases").json()["items"] == []


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_an_unreachable_host_is_refused(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    mariadb_server: MariaDBServer,
    engine: str,
    port: int,
) -> None:
    body = (
        pg_body(pg_server, port=port)
        if engine == "postgresql"
        else maria_body(mariadb_server, port=port)
    )
    problem = assert_problem(
        strongbox.client.post("/api/v1/databases", json=body), 422, "database-unreachable"
    )
    assert str(port) in problem["detail"]


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_an_unknown_database_name_is_refused_naming_it(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    mariadb_server: MariaDBServer,
    engine: str,
) -> None:
    body = (
        pg_body(pg_server, databases=["no_such_db"])
        if engine == "postgresql"
        else maria_body(mariadb_server, databases=["no_such_db"])
    )
    problem = assert_problem(
        strongbox.client.post("/api/v1/databases", json=body), 422, "database-unknown-database"
    )
    assert "no_such_db" in problem["detail"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "Prod!"}, "body.name"),
        ({"engine": "oracle"}, "body.engine"),
        ({"port": 70000}, "body.port"),
        ({"port": "five"}, "body.port"),
        ({"host": ""}, "body.host"),
        ({"databases": "app"}, "body.databases"),
        ({"username": None}, "body.username"),
        ({"superpower": True}, "body.superpower"),
        ({"worker_queue": "Near DC"}, "body.worker_queue"),
        ({"worker_queue": "q" * 64}, "body.worker_queue"),
    ],
)
def test_bad_database_input_names_the_field(
    strongbox: RunningServer, pg_server: PostgresServer, overrides: dict[str, Any], field: str
) -> None:
    problem = assert_problem(
        strongbox.client.post("/api/v1/databases", json=pg_body(pg_server, **overrides)), 422
    )
    assert field in fields_of(problem), problem


def test_a_database_is_pinned_to_a_worker_queue_and_unpinned_again(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    created = strongbox.client.post(
        "/api/v1/databases", json=pg_body(pg_server, worker_queue="dc-east")
    )
    assert created.status_code == 201, created.text
    assert created.json()["worker_queue"] == "dc-east"
    assert strongbox.client.get("/api/v1/databases/prod").json()["worker_queue"] == "dc-east"
    kept = strongbox.client.patch("/api/v1/databases/prod", json={"description": "x"})
    assert kept.json()["worker_queue"] == "dc-east"
    moved = strongbox.client.patch("/api/v1/databases/prod", json={"worker_queue": "dc-west"})
    assert moved.json()["worker_queue"] == "dc-west"
    unpinned = strongbox.client.patch("/api/v1/databases/prod", json={"worker_queue": None})
    assert unpinned.json()["worker_queue"] is None
    refused = strongbox.client.patch("/api/v1/databases/prod", json={"worker_queue": "A B"})
    assert "body.worker_queue" in fields_of(assert_problem(refused, 422))


def test_patch_checks_the_connection_and_keeps_the_password(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    strongbox.client.post("/api/v1/databases", json=pg_body(pg_server)).raise_for_status()
    changed = strongbox.client.patch("/api/v1/databases/prod", json={"description": "new words"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "new words"
    refused = strongbox.client.patch("/api/v1/databases/prod", json={"password": "wrong"})
    assert_problem(refused, 422, "database-bad-credentials")
    unknown = strongbox.client.patch("/api/v1/databases/prod", json={"databases": ["nope"]})
    assert_problem(unknown, 422, "database-unknown-database")
    # Nothing of the refused changes was kept.
    assert strongbox.client.get("/api/v1/databases/prod").json()["databases"] == []
    assert strongbox.client.patch("/api/v1/databases/prod", json={}).status_code == 200


def test_get_and_delete_of_an_unknown_database_are_404(strongbox: RunningServer) -> None:
    assert_problem(strongbox.client.get("/api/v1/databases/ghost"), 404, "database-not-found")
    assert_problem(strongbox.client.delete("/api/v1/databases/ghost"), 404)
    assert_problem(strongbox.client.get("/api/v1/databases/ghost/backups"), 404)
    assert_problem(
        strongbox.client.post("/api/v1/databases/ghost/backups", json={"storage": "x"}), 404
    )


def test_delete_removes_the_database(strongbox: RunningServer, pg_server: PostgresServer) -> None:
    strongbox.client.post("/api/v1/databases", json=pg_body(pg_server)).raise_for_status()
    assert strongbox.client.delete("/api/v1/databases/prod").status_code == 204
    assert strongbox.client.get("/api/v1/databases").json()["items"] == []


def test_unknown_names_say_where_each_entry_point_lists_them(strongbox: RunningServer) -> None:
    client = strongbox.client
    database = assert_problem(client.get("/api/v1/databases/ghost"), 404)["detail"]
    storage = assert_problem(client.get("/api/v1/backup-storages/ghost"), 404)["detail"]
    for detail, page, command, call in (
        (database, "Databases page", "`strongbox db list`", "GET /api/v1/databases"),
        (storage, "Settings > Backup Storages", "`strongbox storage list`", "GET /api/v1/backup-"),
    ):
        assert page in detail, detail
        assert command in detail, detail
        assert call in detail, detail
