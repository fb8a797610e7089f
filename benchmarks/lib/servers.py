"""Throwaway PostgreSQL and SeaweedFS servers of a benchmark's own, and `strongbox serve` as a
subprocess registered with both."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import postgres_database, s3_storage
from lib.machine import CLK_TCK, own_cpu, proc_cpu, proc_status_kib
from lib.seeding import DBNAME

BUCKET = "bench"
TOKEN = "bench-admin-token-" + secrets.token_hex(8)
# Each poll costs the server about 2.4 ms of CPU, so polling often would slow the backup it
# measures; the backup's end is read from its `finished_at` instead (same machine, same clock).
POLL_INTERVAL = 0.25
BACKUP_TIMEOUT = 1800.0


@dataclass
class Services:
    pg: PostgresServer
    weed: SeaweedServer
    strongbox: StrongboxServer | None = None

    def postmaster_pid(self) -> int:
        return int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])

    def postgres_children(self) -> set[int]:
        path = Path(f"/proc/{self.postmaster_pid()}/task/{self.postmaster_pid()}/children")
        return {int(pid) for pid in path.read_text().split()}

    def settle(self, before: set[int]) -> None:
        """Wait until the backends that served an action have exited and been reaped, so
        that their CPU is in the postmaster's cutime and not attributed to the next run."""
        deadline = time.monotonic() + 5
        while self.postgres_children() - before and time.monotonic() < deadline:
            time.sleep(0.01)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds so far per part. Finished backends are reaped by the postmaster and
        counted in its cutime, pg_dump/zstd by whoever started them."""
        me, kids = own_cpu()
        snap = {
            "postgres": proc_cpu(self.postmaster_pid()),
            # The fixture keeps its process private; its pid is all that is read here.
            "s3 server": proc_cpu(self.weed._process.pid) if self.weed._process else 0.0,
            "benchmark": me,
            "dump tools": kids,
        }
        if self.strongbox is not None:
            pid = self.strongbox.pid
            snap["strongbox"] = proc_cpu(pid) - self.strongbox.children_cpu()
            snap["dump tools"] += self.strongbox.children_cpu()
        return snap


def pg_dump_argv(pg: PostgresServer, *options: str) -> list[str]:
    # Over TCP with a password, as Strongbox connects, with the server's own pg_dump.
    return [
        str(pg.bin_dir / "pg_dump"),
        *options,
        "-h",
        pg.host,
        "-p",
        str(pg.port),
        "-U",
        pg.superuser,
        "--no-password",
        "-d",
        DBNAME,
    ]


def pg_env(pg: PostgresServer) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": pg.password}


class StrongboxServer:
    """`strongbox serve` as a subprocess, so that its memory is its own and can be sampled."""

    def __init__(self, services: Services, settings: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="strongbox-bench-"))
        self.port = free_port()
        self.log_file = self.root / "server.log"
        env = {
            **os.environ,
            "STRONGBOX_DATA_DIR": str(self.root / "data"),
            "STRONGBOX_ADMIN_TOKEN": TOKEN,
            "STRONGBOX_SECRET_KEY": secrets.token_urlsafe(24),
            "STRONGBOX_PG_BIN_DIR": str(services.pg.bin_dir),
            **(settings or {}),
        }
        strongbox = Path(sys.executable).parent / "strongbox"
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [str(strongbox), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Its own session: a Ctrl-C reaches only this script, which then stops it.
                start_new_session=True,
            )
        self.pid = self.process.pid
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
        try:
            self._wait_ready()
            self._register(services)
        except BaseException:
            self.stop()  # the caller never gets the object, so it could not stop the server
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"strongbox serve exited:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/api/v1/backup-storages").status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"strongbox serve did not answer:\n{self.log_tail()}")

    def _register(self, services: Services) -> None:
        weed, pg = services.weed, services.pg
        self.post(
            "/api/v1/backup-storages",
            s3_storage(weed, BUCKET, "seaweed", region=weed.region),
        )
        self.post("/api/v1/databases", postgres_database(pg, [DBNAME], name=DBNAME))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
        return dict(response.json())

    def children_cpu(self) -> float:
        """CPU of the children Strongbox has reaped (pg_dump, pg_dumpall)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[13]) + int(fields[14])) / CLK_TCK

    def rss_kib(self) -> int:
        return proc_status_kib(self.pid, "VmRSS")

    def hwm_kib(self) -> int:
        return proc_status_kib(self.pid, "VmHWM")

    def wait_for_backup(self, name: str) -> dict[str, Any]:
        """The backup `name` once it has ended (succeeded, failed or canceled)."""
        deadline = time.monotonic() + BACKUP_TIMEOUT
        while time.monotonic() < deadline:
            body = dict(self.client.get(f"/api/v1/databases/{DBNAME}/backups/{name}").json())
            if body["state"] not in ("queued", "running"):
                return body
            time.sleep(POLL_INTERVAL)
        raise RuntimeError(f"backup {name} did not end within {BACKUP_TIMEOUT:.0f} s")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_services() -> Iterator[Services]:
    """PostgreSQL and SeaweedFS of our own, removed at the end whatever happens."""
    pg = PostgresServer.start()
    try:
        weed = SeaweedServer.create()
        try:
            weed.create_bucket(BUCKET)
            yield Services(pg, weed)
        finally:
            weed.remove()
    finally:
        pg.stop()
