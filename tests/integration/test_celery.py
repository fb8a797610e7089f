"""Celery as the executor, on the machine's Redis: `strongbox worker` processes run the backups
a server enqueued; a database pinned to a queue is dumped only by a worker of that queue; a
worker killed during a backup is found by its heartbeat and the backup failed as "worker lost".
The same runs once on the machine's RabbitMQ (an amqp:// broker URL)."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.tool_wrappers import PAUSES, pg_bin_with
from integration.waiting import files_under, processes_running, wait_for

pytestmark = pytest.mark.integration

SECRET_KEY = "test-secret-key"  # the in-process server's (fixtures/app.py)
LOST_AFTER = 3.0


# The machine's RabbitMQ, on its default virtual host: each test names a queue of its own, and
# removes it at its end (a virtual host of its own would need the server's admin tool).
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def broker_url() -> str:
    """The machine's Redis, on a database number of its own so that parallel runs do not share
    queues (the queue names are unique too)."""
    return f"redis://127.0.0.1:6379/{random.randint(1, 15)}"


class Worker:
    """`strongbox worker` as a real process on the server's catalog."""

    def __init__(self, data_dir: Path, broker: str, queues: str, pg_bin_dir: Path | None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
        env.update(
            STRONGBOX_DATA_DIR=str(data_dir),
            STRONGBOX_SECRET_KEY=SECRET_KEY,
            STRONGBOX_EXECUTOR="celery",
            STRONGBOX_BROKER_URL=broker,
            STRONGBOX_JOB_LOST_AFTER=str(LOST_AFTER),
        )
        if pg_bin_dir is not None:
            env["STRONGBOX_PG_BIN_DIR"] = str(pg_bin_dir)
        self.log_path = data_dir.parent / f"worker-{queues}-{secrets.token_hex(3)}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "strongbox", "worker", "--queues", queues],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for("the worker ready", lambda: b"ready." in self.log_path.read_bytes(), 60)

    @property
    def owner_part(self) -> str:
        return f":{self.process.pid}:"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def small(pg_server: PostgresServer) -> Iterator[str]:
    name = f"cel_{secrets.token_hex(3)}"
    pg_server.create_database(name)
    pg_server.execute(
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) FROM generate_series(1, 50000) g", name
    )
    yield name
    pg_server.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def celery_server(tmp_path: Path) -> Iterator[tuple[RunningServer, str]]:
    broker = broker_url()
    running, server = start_server(
        tmp_path / "data", executor="celery", broker_url=broker, job_lost_after=LOST_AFTER
    )
    yield running, broker
    stop_server(running, server)


def backup_of(running: RunningServer, database: str, name: str) -> dict[str, Any]:
    answer = running.client.get(f"/api/v1/databases/{database}/backups/{name}")
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def workers_listed(running: RunningServer) -> list[dict[str, Any]]:
    answer = running.client.get("/api/v1/workers")
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def listed_worker(running: RunningServer, worker: Worker) -> dict[str, Any] | None:
    """The row of `worker` in GET /api/v1/workers, None when it is not there."""
    found = [w for w in workers_listed(running) if worker.owner_part in w["name"]]
    return found[0] if found else None


def test_workers_run_the_servers_backups_and_a_pinned_database_only_on_its_queue(
    tmp_path: Path,
    pg_server: PostgresServer,
    small: str,
    celery_server: tuple[RunningServer, str],
) -> None:
    running, broker = celery_server
    queue = f"q-{secrets.token_hex(4)}"
    client = running.client
    client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [small], name="free")
    ).raise_for_status()
    pinned = client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [small], name="pinned", worker_queue=queue),
    )
    pinned.raise_for_status()
    assert pinned.json()["worker_queue"] == queue
    assert client.get("/api/v1/databases/free").json()["worker_queue"] is None
    client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b")).raise_for_status()

    general = Worker(running.data_dir, broker, "default", None)
    near: Worker | None = None
    try:
        for database in ("pinned", "free"):
            client.post(
                f"/api/v1/databases/{database}/backups", json={"storage": "disk", "name": "b1"}
            ).raise_for_status()
        done = running.wait_for_backup("free", "b1")
        assert done["state"] == "succeeded", done
        assert general.owner_part in done["claimed_by"]
        # No worker takes the queue the database is pinned to: its backup waits.
        assert backup_of(running, "pinned", "b1")["state"] == "queued"

        near = Worker(running.data_dir, broker, queue, None)
        done = running.wait_for_backup("pinned", "b1")
        assert done["state"] == "succeeded", done
        assert near.owner_part in done["claimed_by"]

        # Unpinned again: its next backup goes to the default queue.
        client.patch("/api/v1/databases/pinned", json={"worker_queue": None}).raise_for_status()
        client.post(
            "/api/v1/databases/pinned/backups", json={"storage": "disk", "name": "b2"}
        ).raise_for_status()
        done = running.wait_for_backup("pinned", "b2")
        assert done["state"] == "succeeded", done
        assert general.owner_part in done["claimed_by"]
        # Both workers and the server beat; a worker that stops cleanly leaves the list.
        seen = listed_worker(running, near)
        assert seen is not None
        assert (seen["kind"], seen["queues"], seen["lost"]) == ("worker", [queue], False)
        assert [w["kind"] for w in workers_listed(running)].count("serve") == 1
        near.close()
        assert listed_worker(running, near) is None
    finally:
        general.close()
        if near is not None:
            near.close()


def test_a_worker_killed_during_a_backup_is_found_by_its_heartbeat(
    tmp_path: Path,
    pg_server: PostgresServer,
    small: str,
    celery_server: tuple[RunningServer, str],
) -> None:
    running, broker = celery_server
    queue = f"q-{secrets.token_hex(4)}"
    folder = tmp_path / "b"
    bin_dir = pg_bin_with(tmp_path / "bin", PAUSES.format(first_bytes=100_000, seconds=120))
    tool = str(bin_dir / "pg_dump")
    running.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [small], name="far", worker_queue=queue),
    ).raise_for_status()
    running.client.post("/api/v1/backup-storages", json=folder_storage(folder)).raise_for_status()
    worker = Worker(running.data_dir, broker, queue, bin_dir)
    try:
        running.client.post(
            "/api/v1/databases/far/backups", json={"storage": "disk", "name": "cut"}
        ).raise_for_status()
        wait_for("the dump running", lambda: backup_of(running, "far", "cut")["progress_bytes"])
        alive = listed_worker(running, worker)
        assert alive is not None
        assert alive["queues"] == [queue]
        worker.kill()
        failed = wait_for(
            "the lost backup failing",
            lambda: (b := backup_of(running, "far", "cut"))["state"] != "running" and b,
        )
        assert failed["state"] == "failed"
        assert failed["error"].startswith("worker lost: last heartbeat at ")
        assert failed["heartbeat_at"] is not None
        # The server removes what the lost backup stored right after failing it.
        wait_for("the lost backup's files removed", lambda: files_under(folder) == [])
        # The killed worker never left: it stays listed, lost, its heartbeat ageing.
        lost = wait_for(
            "the worker lost", lambda: (w := listed_worker(running, worker))["lost"] and w
        )
        later = wait_for(
            "its heartbeat older",
            lambda: (
                (w := listed_worker(running, worker))["heartbeat_age_seconds"]
                > lost["heartbeat_age_seconds"]
                and w
            ),
        )
        assert later["heartbeat_at"] == lost["heartbeat_at"]
    finally:
        worker.close()
        for pid in processes_running(tool):  # the killed worker's orphaned tool
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def delete_queue(broker: str, queue: str) -> None:
    """Remove `queue` from the broker (a durable queue outlives its consumers)."""
    from kombu import Connection

    with Connection(broker) as connection:
        connection.default_channel.queue_delete(queue)


def test_a_worker_on_rabbitmq_runs_a_backup(
    tmp_path: Path, pg_server: PostgresServer, small: str
) -> None:
    queue = f"q-{secrets.token_hex(4)}"
    running, server = start_server(
        tmp_path / "data", executor="celery", broker_url=RABBITMQ_URL, job_lost_after=LOST_AFTER
    )
    worker: Worker | None = None
    try:
        assert running.client.get("/readyz").json()["checks"]["broker"] == "ok"
        client = running.client
        client.post(
            "/api/v1/databases",
            json=postgres_database(pg_server, [small], name="rabbit", worker_queue=queue),
        ).raise_for_status()
        client.post(
            "/api/v1/backup-storages", json=folder_storage(tmp_path / "b")
        ).raise_for_status()
        worker = Worker(running.data_dir, RABBITMQ_URL, queue, None)
        client.post(
            "/api/v1/databases/rabbit/backups", json={"storage": "disk", "name": "over-amqp"}
        ).raise_for_status()
        done = running.wait_for_backup("rabbit", "over-amqp")
        assert done["state"] == "succeeded", done
        assert worker.owner_part in done["claimed_by"]
        seen = listed_worker(running, worker)
        assert seen is not None
        assert seen["queues"] == [queue]
    finally:
        if worker is not None:
            worker.close()
        stop_server(running, server)
        delete_queue(RABBITMQ_URL, queue)
