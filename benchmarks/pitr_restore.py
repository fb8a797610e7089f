"""Point-in-time restore: Strongbox against pgBackRest, from the same base and the same WAL.

    python benchmarks/pitr_restore.py [--size-mb 1000] [--wal-mb 1000] [--rounds 2]

Starts its own throwaway PostgreSQL and SeaweedFS, seeds the cluster with the logical
benchmark's realistic rows, and has both tools keep the server's WAL at once: pgBackRest through
`archive_mode=on` and `archive_command = pgbackrest archive-push %p` (a restart), Strongbox
through its PITR stream. Each takes a full base (Strongbox: a physical backup; pgBackRest:
`backup --type=full`). Then UPDATEs of the orders table write `--wal-mb` of WAL; after them a
marker row `before` is committed, the target T is read from the server's clock, and a second
later a marker row `after` follows. Once both tools hold the WAL past T, alternating over the
rounds, it times:

  (p) pgBackRest `restore --type=time --target=T --target-action=promote` into an empty data
      folder, then the server started on it until recovery has ended and it is promoted,
  (s) a Strongbox restore with `point_in_time` T into a `new_instance`, through the REST API
      of a `strongbox serve` subprocess, from the request until the restore says succeeded.

Each restored server must hold `before` and not `after`; it is then stopped and removed.
Results and their reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lib.machine import describe_machine
from lib.pgbackrest import PgBackRest
from lib.seeding import DBNAME, MB, seed_to
from lib.servers import BUCKET, Services, StrongboxServer, throwaway_services

from fixtures.instances import instance_python
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer

UPDATE_ROWS = 50_000  # orders updated by one statement: about 15 MB of WAL
PITR = f"/api/v1/databases/{DBNAME}/pitr"
TIMEOUT = 1800.0
NAMES = {"p": "(p) pgBackRest restore --type=time", "s": "(s) Strongbox point_in_time restore"}


def wait(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.25)
    return found


def insert_marker(pg: PostgresServer, label: str) -> datetime:
    pg.execute(f"INSERT INTO pitr_marker VALUES ('{label}')", DBNAME)
    return pg.query("SELECT clock_timestamp()")[0][0]  # type: ignore[no-any-return]


def write_wal(pg: PostgresServer, wal_bytes: int) -> int:
    """UPDATE orders, a slice of rows at a time (wrapping round), until `wal_bytes` of WAL
    have been written; returns the WAL bytes written."""
    with pg.connect(DBNAME) as conn:
        start = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        last_id = conn.execute("SELECT max(id) FROM orders").fetchone()[0]  # type: ignore[index]
        low, written = 1, 0
        while written < wal_bytes:
            conn.execute(
                "UPDATE orders SET status = 'refunded', amount = amount + 1, "
                "shipped_at = clock_timestamp() WHERE id >= %s AND id < %s",
                (low, low + UPDATE_ROWS),
            )
            low = low + UPDATE_ROWS if low + UPDATE_ROWS <= last_id else 1
            row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (start,))
            written = int(row.fetchone()[0])  # type: ignore[index]
    return written


def labels_at(pg: PostgresServer, port: int) -> list[str]:
    """The marker rows of the restored server on `port` (it has the source's roles)."""
    restored = PostgresServer(Path("/nonexistent"), pg.bin_dir, port, pg.password)
    rows = restored.query("SELECT label FROM pitr_marker ORDER BY label", DBNAME)
    return [row[0] for row in rows]


def check_restored(labels: list[str], tool: str) -> None:
    if labels != ["before"]:
        raise RuntimeError(f"{tool} restored markers {labels}, not exactly ['before']")


@contextmanager
def as_postgres_folder(prefix: str) -> Iterator[Path]:
    """A folder under /tmp the server's OS user owns and reaches; removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    shutil.chown(folder, "postgres", "postgres")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pg_ctl(pg: PostgresServer, *args: str) -> None:
    argv = ["runuser", "-u", "postgres", "--", str(pg.bin_dir / "pg_ctl"), *args]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl {' '.join(args)}: {done.stdout}{done.stderr}")


def pgbackrest_restore(pg: PostgresServer, pgbackrest: PgBackRest, target: datetime) -> float:
    """(p): restore, start, wait for the promotion; check the markers; stop and remove."""
    with as_postgres_folder("strongbox-bench-pgbackrest-restore-") as folder:
        data = folder / "data"
        data.mkdir(mode=0o700)
        shutil.chown(data, "postgres", "postgres")
        port = free_port()
        # The copied settings name the source's port, socket folder and archive_command:
        # the restored server gets its own and archives nothing.
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories='{folder}' -c archive_mode=off"
        )
        started = time.monotonic()
        pgbackrest.restore_to_time(data, target.isoformat(sep=" "))
        pg_ctl(pg, "-D", str(data), "-l", str(folder / "server.log"), "-o", options, "start")
        try:
            wait(
                "the pgBackRest copy to be promoted",
                lambda: _promoted(pg, port),
            )
            took = time.monotonic() - started
            check_restored(labels_at(pg, port), "pgBackRest")
        finally:
            pg_ctl(pg, "-D", str(data), "-m", "immediate", "stop")
    return took


def _promoted(pg: PostgresServer, port: int) -> bool:
    restored = PostgresServer(Path("/nonexistent"), pg.bin_dir, port, pg.password)
    try:
        return not restored.query("SELECT pg_is_in_recovery()")[0][0]
    except Exception:  # not accepting connections yet
        return False


def strongbox_restore(
    pg: PostgresServer, server: StrongboxServer, target: datetime, name: str
) -> float:
    """(s): restore into a new instance; check the markers; remove the instance."""
    port = free_port()
    body = {
        "point_in_time": {"time": target.isoformat()},
        "new_instance": {"name": name, "port": port},
    }
    posted = time.time()
    restore = server.post(f"/api/v1/databases/{DBNAME}/restores", body)
    path = f"/api/v1/databases/{DBNAME}/restores/{restore['name']}"
    done = wait(
        "the Strongbox restore",
        lambda: (b := server.client.get(path).json())["state"] not in ("queued", "running") and b,
    )
    try:
        if done["state"] != "succeeded":
            raise RuntimeError(f"the Strongbox restore {done['state']}: {done['error']}")
        # Polled every 0.25 s; the row's own end time is exact (same machine, same clock).
        took = datetime.fromisoformat(done["finished_at"]).timestamp() - posted
        check_restored(labels_at(pg, port), "Strongbox")
        print(f"    ({done['point_in_time']['wal_files']} WAL files staged and replayed)")
    finally:
        server.client.delete(f"/api/v1/databases/{name}")
    return took


def prepare(
    services: Services, args: argparse.Namespace, stack: ExitStack
) -> tuple[PgBackRest, StrongboxServer, datetime]:
    """Seed, start both WAL archives, take both bases, write the WAL and the markers; returns
    (pgBackRest, Strongbox server, T). `stack` removes what it made."""
    pg = services.pg
    python = stack.enter_context(instance_python())
    instances = stack.enter_context(as_postgres_folder("strongbox-bench-instances-"))
    seed_to(pg, args.size_mb * MB)
    pg.execute("CREATE TABLE pitr_marker (label text PRIMARY KEY)", DBNAME)
    pgbackrest = PgBackRest(pg, services.weed, BUCKET)
    stack.callback(pgbackrest.remove)
    pgbackrest.archive_into_repository(pg)
    server = StrongboxServer(
        services,
        {
            "STRONGBOX_INSTANCES_DIR": str(instances),
            "STRONGBOX_WAL_FETCH_PYTHON": python,
            "STRONGBOX_RECOVERY_TIMEOUT_SECONDS": str(TIMEOUT),
        },
    )
    stack.callback(server.stop)
    stack.callback(lambda: server.client.put(PITR, json={"enabled": False}))
    answer = server.client.put(
        PITR, json={"enabled": True, "storage": "seaweed", "upload_interval_seconds": 10}
    )
    if answer.status_code != 200:
        raise RuntimeError(f"PUT pitr: {answer.status_code} {answer.text}")
    wait("the WAL stream", lambda: server.client.get(PITR).json()["state"] == "streaming")
    base = server.post(
        f"/api/v1/databases/{DBNAME}/backups", {"storage": "seaweed", "method": "physical"}
    )
    if (done := server.wait_for_backup(base["name"]))["state"] != "succeeded":
        raise RuntimeError(f"the Strongbox base {done['state']}: {done['error']}")
    # The lib's configuration skips the archive check (for backups without archive_mode);
    # here the archive exists, and the backup waits for its WAL as it would in production.
    pgbackrest.run("backup", "--type=full", "--archive-check")
    written = write_wal(pg, args.wal_mb * MB)
    insert_marker(pg, "before")
    target: datetime = pg.query("SELECT clock_timestamp()")[0][0]
    time.sleep(1.2)
    insert_marker(pg, "after")
    print(f"  {written / MB:,.0f} MB of WAL written after both bases; T = {target.isoformat()}")
    # `check` switches to a new WAL segment and waits until the archive holds the old one.
    pgbackrest.run("check", f"--archive-timeout={TIMEOUT:.0f}")

    def past_target() -> bool:
        latest = server.client.get(PITR).json()["latest_restorable_time"]
        return latest is not None and datetime.fromisoformat(latest) > target + timedelta(seconds=1)

    wait("Strongbox to store the WAL past T", past_target)
    return pgbackrest, server, target


def run(services: Services, args: argparse.Namespace) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {"p": [], "s": []}
    with ExitStack() as stack:
        pgbackrest, server, target = prepare(services, args, stack)
        actions: dict[str, Callable[[int], float]] = {
            "p": lambda _: pgbackrest_restore(services.pg, pgbackrest, target),
            "s": lambda index: strongbox_restore(services.pg, server, target, f"pitr-{index}"),
        }
        for index in range(args.rounds):
            # Alternate which tool goes first, so neither always finds the caches cold.
            for tool in "ps" if index % 2 == 0 else "sp":
                took = actions[tool](index)
                seconds[tool].append(took)
                print(f"  round {index + 1} {NAMES[tool]}: {took:6.1f} s (markers checked)")
    return seconds


def report(args: argparse.Namespace, seconds: dict[str, list[float]]) -> None:
    median = {tool: statistics.median(s) for tool, s in seconds.items()}
    print("\n## Point-in-time restore: seconds, median of rounds (best)\n")
    print("| base | WAL | (p) pgBackRest | (s) Strongbox | s/p |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    cells = " | ".join(f"{median[t]:.1f} ({min(seconds[t]):.1f})" for t in "ps")
    print(
        f"| {args.size_mb:,} MB | {args.wal_mb:,} MB | {cells} | {median['s'] / median['p']:.2f} |"
    )
    print("Aim: s/p <= 1 (no slower than pgBackRest).")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="database size (MB)")
    parser.add_argument("--wal-mb", type=int, default=1000, help="WAL after the bases (MB)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        with throwaway_services() as services:
            describe_machine(services.weed, services.pg)
            report(args, run(services, args))
    except KeyboardInterrupt:
        print("\ninterrupted; the throwaway servers were removed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
