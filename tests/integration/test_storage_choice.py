"""A backup and a schedule refuse the same way a storage that is not registered."""

from __future__ import annotations

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.bodies import postgres_database
from integration.problems import assert_problem, fields_of

pytestmark = pytest.mark.integration


def test_backups_and_schedules_refuse_an_unknown_storage_alike(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    client = strongbox.client
    client.post(
        "/api/v1/databases", json=postgres_database(pg_server, ["postgres"])
    ).raise_for_status()
    backup = client.post("/api/v1/databases/prod/backups", json={"storage": "ghost"})
    schedule = client.post(
        "/api/v1/databases/prod/schedules", json={"storage": "ghost", "cron": "0 2 * * *"}
    )
    by_backup = assert_problem(backup, 422, "storage-not-found")
    by_schedule = assert_problem(schedule, 422, "storage-not-found")
    assert fields_of(by_backup) == fields_of(by_schedule) == {"body.storage"}
    assert by_backup["detail"] == by_schedule["detail"]
    assert "`strongbox storage add`" in by_backup["detail"]
    assert "`strongbox storage list`" in by_backup["detail"]
    assert client.get("/api/v1/databases/prod/backups").json()["items"] == []
