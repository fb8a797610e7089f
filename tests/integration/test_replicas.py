"""Two `strongbox serve` processes on one PostgreSQL catalog: one leads the scheduler, a schedule
due every minute gives exactly one backup per slot, and after the leader is killed (-9) the other
takes the lead and runs the next slot. Real minutes pass: `serve` reads the wall clock."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.catalogs import PostgresCatalog
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.host_cli import STRONGBOX

pytestmark = pytest.mark.integration

TOKEN = "replica-test-admin-token-0123456789"
LEADS = "scheduler leadership: this replica leads"
STANDBY = "scheduler leadership: standby"
# A run's state is its backup's once one was made; "started" is the moment before.
BUSY = ("started", "queued", "running", "waiting")


class Replica:
    """One `strongbox serve` process; its log (stderr) goes to a file the test reads."""

    def __init__(self, tmp_path: Path, name: str, catalog_url: str) -> None:
        self.name = name
        self.port = free_port()
        self.log_file = tmp_path / f"{name}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
        env = {
            "STRONGBOX_DATA_DIR": str(tmp_path / f"{name}-data"),
            "STRONGBOX_CATALOG_URL": catalog_url,
            "STRONGBOX_ADMIN_TOKEN": TOKEN,
            "STRONGBOX_SECRET_KEY": "replicas share this passphrase",
            "STRONGBOX_CHECK_TIMEOUT_SECONDS": "5",
        }
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [str(STRONGBOX), "serve", "--port", str(self.port)],
                env={**environment, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"{self.name} stopped:\n{self.log()}"
            assert time.monotonic() < deadline, f"{self.name} never logged {text!r}:\n{self.log()}"
            time.sleep(0.2)

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.client.get("/api/v1/databases").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, f"{self.name} stopped:\n{self.log()}"
            assert time.monotonic() < deadline, f"{self.name} did not start:\n{self.log()}"
            time.sleep(0.2)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def replicas(tmp_path: Path, postgres_catalog: PostgresCatalog) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    try:
        for name in ("first", "second"):
            started.append(Replica(tmp_path, name, postgres_catalog.url))
        yield started
    finally:
        for replica in started:
            replica.stop()


@pytest.fixture
def small_db(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("replicated")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS id", "replicated")
    yield "replicated"
    pg_server.execute("DROP DATABASE replicated WITH (FORCE)")


def runs_by_slot(replica: Replica) -> dict[str, list[dict[str, Any]]]:
    answer = replica.client.get("/api/v1/databases/prod/schedules/minutely/runs")
    assert answer.status_code == 200, answer.text
    by_slot: dict[str, list[dict[str, Any]]] = {}
    for run in answer.json()["items"]:
        by_slot.setdefault(run["slot_at"], []).append(run)
    return by_slot


def wait_for_slots(replica: Replica, count: int, timeout: float) -> dict[str, list[Any]]:
    """Wait until `count` slots have a finished run (each slot's backup done)."""
    deadline = time.monotonic() + timeout
    while True:
        by_slot = runs_by_slot(replica)
        done = [s for s, runs in by_slot.items() if all(r["state"] not in BUSY for r in runs)]
        if len(done) >= count:
            return by_slot
        assert time.monotonic() < deadline, f"{len(done)} slots done of {count}: {by_slot}"
        time.sleep(0.5)


def test_one_leader_takes_each_slot_once_and_a_standby_takes_over_after_kill_9(
    replicas: list[Replica],
    small_db: str,
    pg_server: PostgresServer,
    postgres_catalog: PostgresCatalog,
    tmp_path: Path,
) -> None:
    first, second = replicas
    # Both start together on the empty catalog; exactly one of them leads.
    for replica in replicas:
        replica.wait_until_serving()
    deadline = time.monotonic() + 30
    while not any(LEADS in r.log() for r in replicas):
        assert time.monotonic() < deadline, "no replica leads"
        time.sleep(0.2)
    leader, standby = (first, second) if LEADS in first.log() else (second, first)
    standby.wait_for_log(STANDBY, timeout=30)
    assert LEADS not in standby.log()

    standby.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "backups")
    ).raise_for_status()
    standby.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [small_db])
    ).raise_for_status()
    created = standby.client.post(
        "/api/v1/databases/prod/schedules",
        json={"name": "minutely", "storage": "disk", "cron": "* * * * *"},
    )
    assert created.status_code == 201, created.text

    # A slot under the first leader (a schedule made on the standby is seen by the leader).
    before_kill = wait_for_slots(leader, 1, timeout=150)
    leader.kill()
    killed_at = datetime.now(UTC)

    # The standby leads within 30 s and runs the next slot after the kill.
    standby.wait_for_log(LEADS, timeout=30)
    deadline = time.monotonic() + 150
    while True:
        by_slot = wait_for_slots(standby, 1, timeout=150)
        after_kill = [s for s in by_slot if datetime.fromisoformat(s) > killed_at]
        finished = [s for s in after_kill if by_slot[s][0]["state"] not in BUSY]
        if finished:
            break
        assert time.monotonic() < deadline, f"no slot after the kill ran: {by_slot}"
        time.sleep(0.5)

    # Exactly one run per slot, each with its own succeeded backup; none lost at the handover
    # but the slot whose backup the killed leader was running, if any.
    assert all(len(runs) == 1 for runs in by_slot.values()), by_slot
    assert set(before_kill) <= set(by_slot)
    backups = standby.client.get("/api/v1/databases/prod/backups").json()["items"]
    scheduled = sorted(b["name"] for b in backups if b["trigger"] == "schedule:minutely")
    assert len(scheduled) == len(set(scheduled))
    for slot in [*before_kill, finished[0]]:
        [run] = by_slot[slot]
        assert run["state"] == "succeeded", run
        assert run["backup"] in scheduled
    # The catalog's password is in no log line of either replica.
    for replica in replicas:
        assert postgres_catalog.server.password not in replica.log()
