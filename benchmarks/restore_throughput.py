"""Restore throughput: Strongbox from SeaweedFS against plain pg_restore from a local file.

    python benchmarks/restore_throughput.py [--size-mb 1000] [--rounds 2] [--jobs 2]
        [--exact-counts]

Starts its own throwaway PostgreSQL and SeaweedFS, seeds a database with realistic rows (the
backup benchmark's seeding), takes one dump of it for each side, then, alternating over the
rounds, times:

  (a) `pg_restore -j N` of a local, uncompressed custom-format dump (`pg_dump -Fc -Z0`) into a
      new database: the no-download limit;
  (b) a Strongbox restore of a Strongbox backup of the same database, from SeaweedFS, into a new
      database, through the REST API of a `strongbox serve` subprocess (`jobs` N), whose resident
      memory is sampled every 50 ms. Rows are the planner's estimate unless `--exact-counts`
      asks the restore to count them (`exact_counts`).

MB/s is the source database's bytes (pg_database_size) per second for both.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lib.machine import RssSampler, describe_machine
from lib.seeding import DBNAME, MB, seed_to
from lib.servers import Services, StrongboxServer, pg_dump_argv, pg_env, throwaway_services

RESTORE_TIMEOUT = 1800.0


@dataclass
class Timing:
    seconds: float
    peak_rss_kib: int = 0


def drop(services: Services, name: str) -> None:
    services.pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plain_restore(services: Services, dump: Path, jobs: int) -> Timing:
    """(a) pg_restore -j N from the local uncompressed dump into a new database."""
    pg = services.pg
    drop(services, "plain_copy")
    pg.create_database("plain_copy")
    started = time.monotonic()
    subprocess.run(
        [
            str(pg.bin_dir / "pg_restore"),
            "--exit-on-error",
            "-j",
            str(jobs),
            "-h",
            pg.host,
            "-p",
            str(pg.port),
            "-U",
            pg.superuser,
            "--no-password",
            "-d",
            "plain_copy",
            str(dump),
        ],
        env=pg_env(pg),
        check=True,
    )
    return Timing(time.monotonic() - started)


def strongbox_restore(
    services: Services, server: StrongboxServer, backup: str, jobs: int, exact_counts: bool
) -> Timing:
    """(b) a Strongbox restore through the API, polled until it ends."""
    drop(services, "strongbox_copy")
    with RssSampler(server.pid) as sampler:
        started = time.monotonic()
        restore = server.post(
            f"/api/v1/databases/{DBNAME}/restores",
            {
                "backup": backup,
                "database_map": {DBNAME: "strongbox_copy"},
                "jobs": jobs,
                "exact_counts": exact_counts,
            },
        )
        deadline = time.monotonic() + RESTORE_TIMEOUT
        while True:
            body = server.client.get(
                f"/api/v1/databases/{DBNAME}/restores/{restore['name']}"
            ).json()
            if body["state"] not in ("queued", "running"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"restore {restore['name']} did not end")
            time.sleep(0.05)
        seconds = time.monotonic() - started
    if body["state"] != "succeeded":
        raise RuntimeError(f"the Strongbox restore {body['state']}: {body['error']}")
    return Timing(seconds, sampler.peak_kib)


def take_backup(server: StrongboxServer) -> str:
    backup = server.post(f"/api/v1/databases/{DBNAME}/backups", {"storage": "seaweed"})
    body = server.wait_for_backup(backup["name"])
    if body["state"] != "succeeded":
        raise RuntimeError(f"the backup ended {body['state']}: {body['error']}")
    return str(body["name"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="database size (MB)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (alternating a, b)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel restore jobs for both")
    parser.add_argument(
        "--exact-counts", action="store_true", help="Strongbox counts every row afterwards"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with throwaway_services() as services:
        describe_machine(services.weed, services.pg)
        db_bytes = seed_to(services.pg, args.size_mb * MB)
        server = StrongboxServer(services)
        with tempfile.TemporaryDirectory(prefix="strongbox-restore-bench-") as scratch:
            dump = Path(scratch) / "bench.pgdump"
            with dump.open("wb") as out:
                subprocess.run(
                    pg_dump_argv(services.pg, "-Fc", "-Z0"),
                    stdout=out,
                    env=pg_env(services.pg),
                    check=True,
                )
            dump_bytes = dump.stat().st_size
            backup = take_backup(server)
            plain: list[Timing] = []
            ours: list[Timing] = []
            try:
                for number in range(1, args.rounds + 1):
                    plain.append(plain_restore(services, dump, args.jobs))
                    ours.append(
                        strongbox_restore(services, server, backup, args.jobs, args.exact_counts)
                    )
                    print(
                        f"  round {number}: plain {plain[-1].seconds:.1f} s, "
                        f"Strongbox {ours[-1].seconds:.1f} s "
                        f"(peak RSS {ours[-1].peak_rss_kib / 1024:.0f} MiB)"
                    )
            finally:
                server.stop()
        report(db_bytes, dump_bytes, plain, ours, args.jobs)
    return 0


def report(
    db_bytes: int, dump_bytes: int, plain: list[Timing], ours: list[Timing], jobs: int
) -> None:
    a = statistics.median(t.seconds for t in plain)
    b = statistics.median(t.seconds for t in ours)
    peak = max(t.peak_rss_kib for t in ours) / 1024
    print(f"\ndatabase: {db_bytes / MB:,.0f} MB (pg_database_size)")
    rate_a, rate_b = db_bytes / MB / a, db_bytes / MB / b
    print(f"(a) pg_restore -j {jobs}, local uncompressed dump: {a:7.1f} s, {rate_a:6.1f} MB/s")
    print(f"(b) Strongbox restore from SeaweedFS, jobs {jobs}: {b:7.1f} s, {rate_b:6.1f} MB/s")
    print(f"local dump file: {dump_bytes / MB:,.0f} MB")
    print(f"b/a time ratio: {b / a:.2f} (aim: at most 1.15)")
    print(f"Strongbox peak resident memory during the restore: {peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
