"""Production overhead: what a running Strongbox backup costs an application's transactions.

    python benchmarks/production_overhead.py [--size-mb 300] [--seconds 60] [--clients 4]

Starts its own throwaway PostgreSQL primary, a hot standby of it (`pg_basebackup -R`) and
SeaweedFS (the test fixtures' classes), seeds a database with realistic rows for Strongbox to
back up, and a pgbench database for the application, then runs a steady pgbench read-write load
(`--clients` clients, as fast as they can: the TPS it loses is what the backup took) for
`--seconds` in each phase. With `--load-fraction F` the load is instead fixed at F times the TPS
of a first 10 s saturated run (`pgbench -R`), so that the server has headroom as a production
server has; the TPS then holds while the latency shows the cost. The phases:

  baseline          no backup
  primary           Strongbox backups back to back, unlimited, read from the primary
  primary capped    the same with `max_rate_mb_per_s` at a quarter of the unlimited rate
  standby           the same, unlimited, with `backup_source` the standby
  standby capped    from the standby, capped

and reports the TPS and p95 latency of each (from pgbench's per-transaction log) and the TPS
loss against the baseline, with the backups' read rate and what Strongbox measured on their
source (`source_load`). Every server shares the same cores, the standby included: a standby
on its own machine takes the dump's CPU off the primary's machine entirely. Results and their
reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.machine import describe_machine, machine_busy_cpu
from lib.seeding import DBNAME, MB, seed_to
from lib.servers import StrongboxServer, pg_env, throwaway_services

from fixtures.postgres import PostgresServer, wait_until_replayed

PGBENCH_DB = "app"
PGBENCH_SCALE = 10  # 1,000,000 accounts, about 150 MB: the hot set stays in memory


@dataclass
class BackupRun:
    raw_bytes: int
    seconds: float
    source_load: dict[str, Any] | None


@dataclass
class Phase:
    name: str
    tps: float
    p95_ms: float
    mean_ms: float
    busy_cpu: float  # CPU seconds of the whole machine per second
    backups: list[BackupRun] = field(default_factory=list)

    @property
    def backup_mb_per_s(self) -> float | None:
        if not self.backups:
            return None
        return sum(b.raw_bytes for b in self.backups) / MB / sum(b.seconds for b in self.backups)


def pgbench(pg: PostgresServer, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [
            str(pg.bin_dir / "pgbench"),
            "-h",
            pg.host,
            "-p",
            str(pg.port),
            "-U",
            pg.superuser,
            *args,
            PGBENCH_DB,
        ],
        env=pg_env(pg),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def saturated_tps(pg: PostgresServer, clients: int) -> float:
    out = pgbench(pg, "-c", str(clients), "-j", "2", "-T", "10")
    line = next(x for x in out.splitlines() if x.startswith("tps = "))
    return float(line.split()[2])


def steady_load(
    pg: PostgresServer, clients: int, rate: float | None, seconds: int
) -> dict[str, float]:
    """TPS, mean and p95 latency (ms) of `seconds` of pgbench, at `rate` transactions/s or as
    fast as the clients go."""
    throttle = ["-R", f"{rate:.0f}"] if rate else []
    with tempfile.TemporaryDirectory(prefix="strongbox-pgbench-") as folder:
        pgbench(
            pg,
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            *throttle,
            "-l",
            "--log-prefix",
            "tx",
            cwd=Path(folder),
        )
        latencies: list[float] = []
        for log in Path(folder).glob("tx*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                # client, transaction, latency (us), script, epoch s, epoch us[, lag]
                if len(fields) >= 6 and fields[2] != "skipped":
                    latencies.append(int(fields[2]) / 1000)
    latencies.sort()
    return {
        "tps": len(latencies) / seconds,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "mean_ms": statistics.fmean(latencies),
    }


class BackupLoop:
    """Strongbox backups one after the other until stopped; each is deleted once it ended, so
    the bucket does not grow."""

    def __init__(self, server: StrongboxServer) -> None:
        self.server = server
        self.runs: list[BackupRun] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BackupLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            queued = self.server.post(f"/api/v1/databases/{DBNAME}/backups", {"storage": "seaweed"})
            body = self.server.wait_for_backup(queued["name"])
            if body["state"] != "succeeded":
                self.errors.append(f"{body['name']}: {body['state']}: {body['error']}")
                return
            self.runs.append(
                BackupRun(body["size_bytes"], body["duration_seconds"], body["source_load"])
            )
            self.server.client.delete(f"/api/v1/databases/{DBNAME}/backups/{body['name']}")


def run_phase(
    name: str,
    pg: PostgresServer,
    server: StrongboxServer | None,
    args: argparse.Namespace,
    rate: float | None,
) -> Phase:
    busy_before, started = machine_busy_cpu(), time.monotonic()
    if server is None:
        load = steady_load(pg, args.clients, rate, args.seconds)
        runs: list[BackupRun] = []
    else:
        with BackupLoop(server) as loop:
            time.sleep(1)  # the first backup is running when the load starts
            load = steady_load(pg, args.clients, rate, args.seconds)
        if loop.errors:
            raise RuntimeError(f"a backup failed: {loop.errors[0]}")
        runs = loop.runs
    busy = (machine_busy_cpu() - busy_before) / (time.monotonic() - started)
    phase = Phase(name, load["tps"], load["p95_ms"], load["mean_ms"], busy, runs)
    read = f", backups read {phase.backup_mb_per_s:.1f} MB/s" if runs else ""
    print(
        f"  {name}: {phase.tps:.1f} TPS, p95 {phase.p95_ms:.1f} ms, mean {phase.mean_ms:.1f} ms"
        f", {len(runs)} backups{read}"
    )
    return phase


def set_limits(server: StrongboxServer, **changes: Any) -> None:
    response = server.client.patch(f"/api/v1/databases/{DBNAME}", json=changes)
    if response.status_code != 200:
        raise RuntimeError(f"PATCH {DBNAME}: {response.status_code} {response.text}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=300, help="size of the backed-up database")
    parser.add_argument("--seconds", type=int, default=60, help="length of each phase")
    parser.add_argument("--clients", type=int, default=4, help="pgbench clients")
    parser.add_argument(
        "--load-fraction",
        type=float,
        default=0.0,
        help="fix the load at this share of the saturated TPS (default 0: saturated)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with throwaway_services() as services:
        pg = services.pg
        describe_machine(services.weed, pg)
        db_bytes = seed_to(pg, args.size_mb * MB)
        pg.create_database(PGBENCH_DB)
        pgbench(pg, "-i", "-q", "-s", str(PGBENCH_SCALE))
        standby = PostgresServer.start_standby_of(pg)
        try:
            wait_until_replayed(pg, standby)
            server = StrongboxServer(services)
            try:
                phases = measure(pg, standby, server, args)
            finally:
                server.stop()
        finally:
            standby.stop()
    report(db_bytes, phases)
    return 0


def measure(
    pg: PostgresServer, standby: PostgresServer, server: StrongboxServer, args: argparse.Namespace
) -> list[Phase]:
    rate: float | None = None
    if args.load_fraction:
        most = saturated_tps(pg, args.clients)
        rate = most * args.load_fraction
        print(f"  saturated: {most:.0f} TPS; steady load: {rate:.0f} TPS")
    phases = [run_phase("baseline", pg, None, args, rate)]
    phases.append(run_phase("primary", pg, server, args, rate))
    quarter = round((phases[-1].backup_mb_per_s or 4.0) / 4, 1)
    set_limits(server, max_rate_mb_per_s=quarter)
    phases.append(run_phase(f"primary capped {quarter} MB/s", pg, server, args, rate))
    set_limits(
        server,
        max_rate_mb_per_s=None,
        backup_source={"host": standby.host, "port": standby.port},
    )
    phases.append(run_phase("standby", pg, server, args, rate))
    set_limits(server, max_rate_mb_per_s=quarter)
    phases.append(run_phase(f"standby capped {quarter} MB/s", pg, server, args, rate))
    return phases


def report(db_bytes: int, phases: list[Phase]) -> None:
    base = phases[0]
    print(f"\nbacked-up database: {db_bytes / MB:,.0f} MB (pg_database_size)")
    print(
        f"{'phase':<28} {'TPS':>8} {'loss':>7} {'p95 ms':>8} {'mean ms':>8} {'CPU/s':>6}"
        f" {'backups':>7} {'read MB/s':>9} {'source tx/s':>11}"
    )
    for phase in phases:
        loss = (base.tps - phase.tps) / base.tps * 100
        read = f"{phase.backup_mb_per_s:.1f}" if phase.backup_mb_per_s else "-"
        measured = [
            b.source_load["average"].get("transactions_per_s")
            for b in phase.backups
            if b.source_load
        ]
        source = (
            f"{statistics.fmean(m for m in measured if m is not None):.0f}" if measured else "-"
        )
        print(
            f"{phase.name:<28} {phase.tps:8.1f} {loss:6.1f}% {phase.p95_ms:8.1f}"
            f" {phase.mean_ms:8.1f} {phase.busy_cpu:6.2f} {len(phase.backups):7d} {read:>9}"
            f" {source:>11}"
        )
    print("aims: capped, at most 10 % TPS loss; from a standby, no loss beyond noise")


if __name__ == "__main__":
    sys.exit(main())
