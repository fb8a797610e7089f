"""What the engine kinds declare reaches the API: a database registered without a port is
looked for on its engine's default port."""

from __future__ import annotations

import pytest

from fixtures.app import RunningServer
from integration.problems import assert_problem

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("engine", "port"), [("postgresql", 5432), ("mysql", 3306)])
def test_a_database_without_a_port_is_looked_for_on_its_engines_default_port(
    strongbox: RunningServer, engine: str, port: int
) -> None:
    # 127.0.0.2: a loopback address the throwaway servers, bound to 127.0.0.1, do not listen on.
    body = {"name": "noport", "engine": engine, "host": "127.0.0.2", "username": "u"}
    response = strongbox.client.post("/api/v1/databases", json=body)
    problem = assert_problem(response, 422, "database-unreachable")
    assert f"127.0.0.2:{port}" in problem["detail"]
