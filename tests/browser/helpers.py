"""Set-up through the API for browser tests whose subject is another part of the page."""

from __future__ import annotations

from typing import Any

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage

BERLIN_OFFICE_HOURS = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "08:00",
    "end": "20:00",
    "timezone": "Europe/Berlin",
}


def add_s3_storage(web: RunningServer, seaweed: SeaweedServer, bucket: str, name: str) -> None:
    web.client.post(
        "/api/v1/backup-storages",
        json=s3_storage(seaweed, bucket, name),
    ).raise_for_status()


def add_pg_database(
    web: RunningServer,
    pg: PostgresServer,
    name: str,
    dbname: str,
    *,
    rows: int = 50,
    production_hours: dict[str, Any] | None = None,
) -> None:
    """Create `dbname` on the server with a table of `rows` rows and register it as `name`."""
    pg.create_database(dbname)
    pg.execute(
        "CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);"
        f"INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, {rows}) AS i",
        dbname,
    )
    web.client.post(
        "/api/v1/databases",
        json=postgres_database(pg, [dbname], name, production_hours=production_hours),
    ).raise_for_status()


def back_up(web: RunningServer, database: str, storage: str, name: str) -> None:
    web.client.post(
        f"/api/v1/databases/{database}/backups", json={"storage": storage, "name": name}
    ).raise_for_status()
    done = web.wait_for_backup(database, name)
    assert done["state"] == "succeeded", done["error"]
