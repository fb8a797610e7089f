"""Roles: every route of the API and the page has a rule, and each role is allowed exactly what
the rules say, with a 403 naming the role needed for the rest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.people import client_with, service_token
from integration.problems import assert_problem
from integration.seeds import pg_fingerprint, seed_postgres
from strongbox.api import access as api_access
from strongbox.api.app import create_app
from strongbox.domain.roles import Role, needed_role, rule_for
from strongbox.web import access as page_access

pytestmark = pytest.mark.integration

ROLES = ("viewer", "operator", "admin")


def _route_methods(running: RunningServer) -> Iterator[tuple[str, str]]:
    app = create_app(running.embedded.context)
    for route, path in api_access.route_templates(app):
        if isinstance(route, Mount):  # the static files
            continue
        assert isinstance(route, Route), route
        for method in sorted((route.methods or set()) - {"HEAD"}):  # HEAD is checked as GET
            yield method, path


def test_every_route_of_the_api_and_the_page_has_a_role_rule(strongbox: RunningServer) -> None:
    missing = []
    for method, path in _route_methods(strongbox):
        api = path.startswith("/api/")
        rules = api_access.RULES if api else page_access.RULES
        public = api_access.PUBLIC if api else page_access.PUBLIC
        if (method, path) not in public and rule_for(rules, method, path) is None:
            missing.append(f"{method} {path}")
    assert missing == [], "add a rule to api/access.py or web/access.py for these routes"


def test_a_route_without_a_rule_would_be_found_and_is_for_admins_only() -> None:
    assert rule_for(api_access.RULES, "POST", "/api/v1/databases/{database}/forget") is None
    assert rule_for(page_access.RULES, "GET", "/databases/{database}/secrets") is None


def test_pitr_routes_added_later_need_viewer_to_read_and_operator_to_change() -> None:
    for path in ("/api/v1/databases/{db}/pitr", "/api/v1/databases/{db}/pitr/window"):
        assert needed_role(api_access.RULES, "GET", path) == Role.VIEWER
        assert needed_role(api_access.RULES, "PUT", path) == Role.OPERATOR
        assert needed_role(api_access.RULES, "DELETE", path) == Role.OPERATOR


@pytest.fixture
def role_clients(strongbox: RunningServer) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        role: client_with(strongbox, service_token(strongbox, f"as-{role}", role)) for role in ROLES
    }
    yield clients
    for client in clients.values():
        client.close()


def _call(client: httpx.Client, method: str, path: str) -> httpx.Response:
    concrete = path.replace("{database}", "nosuch").replace("{name}", "nosuch")
    body = None if method in ("GET", "DELETE") else {}
    return client.request(method, concrete, json=body)


def test_each_role_is_refused_exactly_the_operations_above_it_with_the_role_needed(
    strongbox: RunningServer, role_clients: dict[str, httpx.Client]
) -> None:
    spec = httpx.get(f"{strongbox.url}/api/v1/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            needed = Role(operation["x-required-role"])
            for role, client in role_clients.items():
                response = _call(client, method.upper(), path)
                where = f"{role}: {method.upper()} {path}"
                if Role(role).covers(needed):
                    assert response.status_code != 403, f"{where} refused: {response.text}"
                else:
                    body = assert_problem(response, 403, "forbidden")
                    assert body["required_role"] == needed.value, where
                    assert needed.value in body["detail"], where
                checked += 1
    assert checked >= 3 * 30


@pytest.fixture
def shop(tmp_path: Path, pg_server: PostgresServer) -> Iterator[RunningServer]:
    seed_postgres(pg_server, "shop", scale=0.2)
    running, server = start_server(tmp_path / "data")
    running.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "backups")
    ).raise_for_status()
    running.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, ["shop"])
    ).raise_for_status()
    yield running
    stop_server(running, server)
    # The session's server is shared with other modules, which seed a "shop" of their own.
    for name in ("shop", "shop_copy"):
        pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _wait(client: httpx.Client, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        body: dict[str, Any] = client.get(url).json()
        if body["state"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, f"{url} still {body['state']}"
        time.sleep(0.2)


def test_an_operator_backs_up_and_restores_into_a_new_database_but_not_over_one(
    shop: RunningServer, pg_server: PostgresServer
) -> None:
    with (
        client_with(shop, service_token(shop, "oncall", "operator")) as operator,
        client_with(shop, service_token(shop, "intern", "viewer")) as viewer,
    ):
        _operator_and_viewer(shop, pg_server, operator, viewer)


def _operator_and_viewer(
    shop: RunningServer, pg_server: PostgresServer, operator: httpx.Client, viewer: httpx.Client
) -> None:
    started = operator.post(
        "/api/v1/databases/prod/backups", json={"name": "b1", "storage": "disk"}
    )
    assert started.status_code == 202, started.text
    assert _wait(operator, "/api/v1/databases/prod/backups/b1")["state"] == "succeeded"

    over = operator.post(
        "/api/v1/databases/prod/restores", json={"backup": "b1", "overwrite": True}
    )
    assert assert_problem(over, 403, "forbidden")["required_role"] == "admin"
    roles = operator.post(
        "/api/v1/databases/prod/restores",
        json={"backup": "b1", "database_map": {"shop": "shop_r"}, "restore_globals": True},
    )
    assert assert_problem(roles, 403, "forbidden")["required_role"] == "admin"
    assert viewer.post("/api/v1/databases/prod/backups", json={}).status_code == 403

    made = operator.post(
        "/api/v1/databases/prod/restores",
        json={"backup": "b1", "database_map": {"shop": "shop_copy"}, "name": "r1"},
    )
    assert made.status_code == 202, made.text
    assert _wait(operator, "/api/v1/databases/prod/restores/r1")["state"] == "succeeded"
    assert pg_fingerprint(pg_server, "shop_copy") == pg_fingerprint(pg_server, "shop")

    assert viewer.get("/api/v1/databases/prod/restores/r1").json()["state"] == "succeeded"
    schedule = {"storage": "disk", "cron": "0 3 * * *", "name": "nightly"}
    assert operator.post("/api/v1/databases/prod/schedules", json=schedule).status_code == 201
    gone = operator.delete("/api/v1/databases/prod/backups/b1")
    assert assert_problem(gone, 403)["required_role"] == "admin"
    assert operator.delete("/api/v1/backup-storages/disk").status_code == 403
    assert shop.client.delete("/api/v1/databases/prod/backups/b1").status_code == 204
