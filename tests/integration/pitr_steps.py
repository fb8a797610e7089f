"""Steps shared by the point-in-time tests: register a source and a folder storage, turn the
WAL stream on, read its state, take a physical base, find the binlog reader, and wait with a
deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from strongbox.catalog.models import PitrStream

DEADLINE = 90.0


def wait(what: str, check: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def setup(strongbox: RunningServer, source: PostgresServer, store: Path, db: str) -> None:
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(source, ["shop"], name=db)
    ).raise_for_status()
    strongbox.client.post("/api/v1/backup-storages", json=folder_storage(store)).raise_for_status()


def enable(strongbox: RunningServer, db: str, interval: int = 10) -> dict[str, Any]:
    answer = strongbox.client.put(
        f"/api/v1/databases/{db}/pitr",
        json={"enabled": True, "storage": "disk", "upload_interval_seconds": interval},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def status(strongbox: RunningServer, db: str) -> dict[str, Any]:
    answer = strongbox.client.get(f"/api/v1/databases/{db}/pitr")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def physical_backup(strongbox: RunningServer, db: str) -> dict[str, Any]:
    accepted = strongbox.client.post(
        f"/api/v1/databases/{db}/backups", json={"storage": "disk", "method": "physical"}
    )
    assert accepted.status_code == 202, accepted.text
    done = strongbox.wait_for_backup(db, accepted.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    return done


def reader_pids(reader_id: int) -> list[int]:
    """The pids of the binlog readers connecting with server id `reader_id`."""
    pids = []
    flag = f"--stop-never-slave-server-id={reader_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"mariadb-binlog") and flag in argv:
            pids.append(int(entry.name))
    return pids


def reader_id(strongbox: RunningServer, db: str) -> int:
    """The server id the binlog reader of `db` connects with."""
    with strongbox.embedded.context.catalog.session() as session:
        row = session.scalars(select(PitrStream).where(PitrStream.database == db)).one()
        assert row.connection_server_id is not None
        return row.connection_server_id
