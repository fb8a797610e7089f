"""The WAL lag of a Strongbox PITR stream under a steady pgbench write load: how far the last
commit actually stored (`latest_restorable_time`) trails the clock, sampled every second."""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime

from fixtures.postgres import PostgresServer
from lib.seeding import DBNAME
from lib.servers import StrongboxServer, pg_env

PGBENCH_DB = "pgbench"
POLL_SECONDS = 1.0


@dataclass
class LagResult:
    interval: int
    samples: list[float]

    def describe(self) -> str:
        median = statistics.median(self.samples)
        return (
            f"upload interval {self.interval} s: lag median {median:.1f} s, "
            f"max {max(self.samples):.1f} s over {len(self.samples)} samples "
            f"(aim: at most {self.interval + 5} s)"
        )


def _pgbench(pg: PostgresServer, *args: str) -> subprocess.Popen[bytes]:
    argv = [str(pg.bin_dir / "pgbench"), "-h", pg.host, "-p", str(pg.port), "-U", pg.superuser]
    return subprocess.Popen(
        [*argv, *args, PGBENCH_DB],
        env=pg_env(pg),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(what: str, check: object, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.5)


def measure_lag(
    pg: PostgresServer, server: StrongboxServer, interval: int, seconds: int, rate: int
) -> LagResult:
    """Enable PITR into the benchmark's bucket, take a physical base, then run pgbench at `rate`
    transactions/s for `seconds` and sample now - latest_restorable_time every second."""
    pg.execute(f"CREATE DATABASE {PGBENCH_DB}")
    _pgbench(pg, "-i", "-q", "-s", "5").wait()
    pitr = f"/api/v1/databases/{DBNAME}/pitr"
    answer = server.client.put(
        pitr, json={"enabled": True, "storage": "seaweed", "upload_interval_seconds": interval}
    )
    if answer.status_code != 200:
        raise RuntimeError(f"PUT pitr: {answer.status_code} {answer.text}")
    base = server.post(
        f"/api/v1/databases/{DBNAME}/backups", {"storage": "seaweed", "method": "physical"}
    )
    server.wait_for_backup(base["name"])
    _wait(
        "a restorable time",
        lambda: server.client.get(pitr).json()["latest_restorable_time"] is not None,
    )
    load = _pgbench(pg, "-c", "2", "-j", "2", "-R", str(rate), "-T", str(seconds + 10))
    samples: list[float] = []
    try:
        time.sleep(10)  # the load settles; the lag before it is not the steady one
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            latest = server.client.get(pitr).json()["latest_restorable_time"]
            samples.append(time.time() - datetime.fromisoformat(latest).timestamp())
            time.sleep(POLL_SECONDS)
    finally:
        load.wait()
        server.client.put(pitr, json={"enabled": False})
    return LagResult(interval, samples)
