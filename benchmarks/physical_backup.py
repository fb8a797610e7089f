"""Physical backup throughput: Strongbox against the no-upload limit and against pgBackRest.

    python benchmarks/physical_backup.py [--size-mb 1000] [--rounds 2]

Starts its own throwaway PostgreSQL and SeaweedFS (plain http for Strongbox, https for
pgBackRest, which speaks nothing else), seeds the cluster with the logical benchmark's realistic
rows, then, alternating over the rounds, times:

  (a) `pg_basebackup -D - -Ft -X fetch --checkpoint=fast | zstd -3 -T0 > /dev/null`: the limit,
  (b) pgBackRest `backup --type=full` into the same bucket (`compress-type=zst`,
      `process-max=2`; needs `apt-get install pgbackrest`),
  (c) a Strongbox physical backup through the REST API of a `strongbox serve` subprocess.

Then the WAL lag: PITR enabled with `--interval` seconds, a physical base, and `pgbench` at
`--tps` transactions/s for `--lag-seconds`, sampling how far the last stored commit
(`latest_restorable_time`) trails the clock every second (aim: at most the interval + 5 s).

MB/s is the cluster's bytes (the sum of pg_database_size) per second for all three.
Results and their reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime

from lib.machine import RssSampler, describe_machine
from lib.pgbackrest import PgBackRest
from lib.seeding import DBNAME, MB, seed_to
from lib.servers import BUCKET, Services, StrongboxServer, pg_env, throwaway_services
from lib.wal_lag import measure_lag

METHODS = {
    "a": "(a) pg_basebackup -Ft | zstd -3 -T0 > /dev/null",
    "b": "(b) pgBackRest backup --type=full",
    "c": "(c) Strongbox physical backup",
}


def cluster_bytes(services: Services) -> int:
    return int(services.pg.query("SELECT sum(pg_database_size(datname)) FROM pg_database")[0][0])


def limit_method(services: Services) -> None:
    """(a) pg_basebackup of the whole cluster as one tar on stdout, compressed, thrown away."""
    pg = services.pg
    basebackup = subprocess.list2cmdline(
        [
            str(pg.bin_dir / "pg_basebackup"),
            "-D",
            "-",
            "-Ft",
            "-X",
            "fetch",
            "--checkpoint=fast",
            "-h",
            pg.host,
            "-p",
            str(pg.port),
            "-U",
            pg.superuser,
            "--no-password",
        ]
    )
    subprocess.run(
        ["bash", "-c", f"set -o pipefail; {basebackup} | zstd -3 -T0 -q > /dev/null"],
        env=pg_env(pg),
        check=True,
    )


def strongbox_method(server: StrongboxServer, peaks: list[int]) -> float:
    """(c) one physical backup through the API, polled until it ends, then deleted; returns
    the seconds from the request to the moment the row said succeeded."""
    with RssSampler(server.pid) as sampler:
        posted = time.time()
        backup = server.post(
            f"/api/v1/databases/{DBNAME}/backups", {"storage": "seaweed", "method": "physical"}
        )
        done = server.wait_for_backup(backup["name"])
    if done["state"] != "succeeded":
        raise RuntimeError(f"the Strongbox backup {done['state']}: {done['error']}")
    peaks.append(sampler.peak_kib)
    server.client.delete(f"/api/v1/databases/{DBNAME}/backups/{done['name']}")
    return datetime.fromisoformat(done["finished_at"]).timestamp() - posted


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def run(services: Services, args: argparse.Namespace) -> None:
    size_mb, rounds = args.size_mb, args.rounds
    seed_to(services.pg, size_mb * MB)
    size = cluster_bytes(services)
    print(f"\n== cluster of {size / MB:,.0f} MB")
    pgbackrest = PgBackRest(services.pg, services.weed, BUCKET)
    services.strongbox = StrongboxServer(services)
    strongbox = services.strongbox
    peaks: list[int] = []
    actions: dict[str, Callable[[], float]] = {
        "a": lambda: timed(lambda: limit_method(services)),
        "b": lambda: timed(pgbackrest.backup_full),
        "c": lambda: strongbox_method(strongbox, peaks),
    }
    seconds: dict[str, list[float]] = {m: [] for m in actions}
    try:
        for index in range(rounds):
            # Rotate the order each round so no method always runs first (cold) or last.
            order = "abc"[index % 3 :] + "abc"[: index % 3]
            for method in order:
                took = actions[method]()
                seconds[method].append(took)
                print(
                    f"  round {index + 1} {METHODS[method]}: {took:6.1f} s "
                    f"{size / MB / took:6.1f} MB/s"
                )
        if args.lag_seconds:
            lag = measure_lag(services.pg, strongbox, args.interval, args.lag_seconds, args.tps)
            print(f"\n## WAL lag under pgbench at {args.tps} tx/s\n\n{lag.describe()}")
    finally:
        services.strongbox = None
        strongbox.stop()
        pgbackrest.remove()
    report(size, seconds, peaks)


def report(size: int, seconds: dict[str, list[float]], peaks: list[int]) -> None:
    mbps = {m: size / MB / statistics.median(s) for m, s in seconds.items()}
    best = {m: size / MB / min(s) for m, s in seconds.items()}
    print("\n## Physical backup: MB/s of cluster, median of rounds (best)\n")
    print("| cluster | (a) limit | (b) pgBackRest | (c) Strongbox | c/a | c/b |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    cells = " | ".join(f"{mbps[m]:.1f} ({best[m]:.1f})" for m in "abc")
    print(
        f"| {size / MB:,.0f} MB | {cells} | {mbps['c'] / mbps['a']:.2f} "
        f"| {mbps['c'] / mbps['b']:.2f} |"
    )
    print(f"\nStrongbox server peak VmRSS per backup (MiB): {[p // 1024 for p in peaks]}")
    print("Aim: c/b >= 1 (at least as fast as pgBackRest).")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="database size (MB)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds")
    parser.add_argument("--interval", type=int, default=10, help="PITR upload interval (s)")
    parser.add_argument("--lag-seconds", type=int, default=60, help="0: no lag measurement")
    parser.add_argument("--tps", type=int, default=200, help="pgbench transactions/s")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        with throwaway_services() as services:
            describe_machine(services.weed, services.pg)
            run(services, args)
    except KeyboardInterrupt:
        print("\ninterrupted; the throwaway servers were removed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
