"""Pages of backups with 100,000 backups in the catalog: latency of GET /api/v1/backups.

    python benchmarks/backup_pages.py [--backups 100000] [--requests 1000] [--catalog postgresql]

Fills a fresh catalog with backups of 50 databases: an SQLite file (the embedded default), or
with `--catalog postgresql` a database on a throwaway PostgreSQL this script starts and stops
(the test fixtures' class, as `scheduler_scale.py` does). Starts the API in this process, and
times, alternating, requests for the first page (newest 100), for pages deep in the list
(continued by a cursor taken from 90 % down), so that keyset paging is shown to cost the same at
any depth, for a filtered page (state and database) and for one database's newest backups (what
the page's table shows). The machine's load average is printed at the end: figures of a shared
machine need it. There is no reference tool: the aim is the issue's (p99 under 50 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import lib  # noqa: F401  (puts the test fixtures on the path)
import uvicorn
from sqlalchemy import insert

from fixtures.postgres import PostgresServer
from strongbox.api.app import create_app
from strongbox.catalog.models import Backup
from strongbox.config import Settings
from strongbox.server import Embedded

TOKEN = "benchmark-admin-token-0123456789"


def fill(embedded: Embedded, count: int) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows = [
        {
            "name": f"b-{i:07d}",
            "database": f"db-{i % 50:02d}",
            "storage": "main",
            "method": "logical",
            "trigger": "manual",
            "state": "succeeded" if i % 10 else "failed",
            "created_at": start + timedelta(minutes=i),
            "started_at": start + timedelta(minutes=i),
            "finished_at": start + timedelta(minutes=i, seconds=40),
            "size_bytes": 10_000_000 + i,
            "stored_bytes": 3_000_000 + i,
            "progress_bytes": 10_000_000 + i,
            "artifacts": [],
        }
        for i in range(count)
    ]
    with embedded.context.catalog.session() as session:
        for chunk in range(0, len(rows), 10_000):
            session.execute(insert(Backup), rows[chunk : chunk + 10_000])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backups", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--catalog", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    pg = PostgresServer.start() if args.catalog == "postgresql" else None
    try:
        described = run(args, pg)
    finally:
        if pg is not None:
            pg.stop()
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load average", end=" ")
    print(" ".join(f"{n:.1f}" for n in os.getloadavg()), "at the end")
    print(f"{args.backups} backups in {described}; {args.requests} requests, alternating")


def run(args: argparse.Namespace, pg: PostgresServer | None) -> str:
    """Fill the catalog, time the requests and print them; returns what the catalog was."""
    with tempfile.TemporaryDirectory(prefix="strongbox-pages-") as folder:
        extra: dict[str, str] = {}
        described = "an SQLite catalog"
        if pg is not None:
            pg.create_database("catalog")
            extra["catalog_url"] = (
                f"postgresql+psycopg://postgres:{pg.password}@127.0.0.1:{pg.port}/catalog"
            )
            described = f"a PostgreSQL {pg.query('SHOW server_version')[0][0]} catalog"
        settings = Settings(
            data_dir=Path(folder), admin_token=TOKEN, secret_key="benchmark-pages", **extra
        )
        embedded = Embedded.prepare(settings)
        fill(embedded, args.backups)
        if pg is not None:  # fresh statistics, as autovacuum would gather soon after a load
            pg.execute("ANALYZE backups", "catalog")
        config = uvicorn.Config(create_app(embedded.context), port=0, log_level="warning")
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            cursor = ""
            for _ in range(int(args.backups * 0.9 / 500)):  # walk 90 % down for a deep cursor
                params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
                cursor = client.get("/api/v1/backups", params=params).json()["next"]
            kinds = ("first page", "deep page", "filtered", "one database")
            timings: dict[str, list[float]] = {kind: [] for kind in kinds}
            for i in range(args.requests):
                kind = kinds[i % len(kinds)]
                params: dict[str, str] = {}
                if kind == "deep page":
                    params["cursor"] = str(cursor)
                if kind == "filtered":
                    params.update(state="failed", database="db-10")
                if kind == "one database":
                    params.update(database="db-11")
                began = time.perf_counter()
                response = client.get("/api/v1/backups", params=params)
                timings[kind].append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, response.text
                assert response.json()["items"]
        server.should_exit = True
        embedded.stop()
    print(f"{'request':<12} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, values in timings.items():
        print(
            f"{kind:<12} {len(values):>5} {statistics.median(values):>8.1f} "
            f"{percentile(values, 0.99):>8.1f} {max(values):>8.1f}"
        )
    return described


if __name__ == "__main__":
    main()
