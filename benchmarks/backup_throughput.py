"""Backup throughput: Strongbox against the no-upload limit and against the naive pipeline.

    python benchmarks/backup_throughput.py [--size-mb 1500] [--sizes 500,1500] [--rounds 2]

Starts its own throwaway PostgreSQL and SeaweedFS (the test fixtures' classes, never the shared
services), seeds a database with realistic rows (random amounts, timestamps, e-mail addresses,
UUIDs, short text; about 2.5-3:1 with zstd -3), then, alternating over the rounds, times:

  (a) `pg_dump -Fc -Z0 | zstd -3 -T0 > /dev/null`: the no-upload limit,
  (b) `pg_dump -Fc` (its default zlib) streamed into the bucket with boto3's `upload_fileobj`,
  (c) a Strongbox backup into the same bucket through the REST API of a `strongbox serve`
      subprocess, whose resident memory is sampled every 50 ms during the backup.

MB/s is database bytes (pg_database_size) per second for all three, so the figures compare.
With several sizes the database is grown between them and each size gets a fresh Strongbox
process, so that its peak memory can be compared across sizes.

The environment reaches the Strongbox server, so experiments need no code change:
`STRONGBOX_ZSTD_LEVEL=2`, `STRONGBOX_ZSTD_THREADS=1`, `STRONGBOX_UPLOAD_CONCURRENCY=2`,
`MALLOC_ARENA_MAX=2` ...; `--methods c` runs only Strongbox. Results and their reading:
docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import zstandard

REPO = Path(__file__).resolve().parents[1]
# The throwaway-server classes of the test suite are plain classes; reuse them rather than
# maintain a second way of starting PostgreSQL and SeaweedFS.
sys.path.insert(0, str(REPO / "tests"))

from fixtures.ports import free_port  # noqa: E402
from fixtures.postgres import PostgresServer  # noqa: E402
from fixtures.seaweed import SeaweedServer  # noqa: E402
from integration.bodies import s3_storage  # noqa: E402

MB = 1_000_000  # decimal megabytes, as MB/s is usually quoted
DBNAME = "bench"
BUCKET = "bench"
TOKEN = "bench-admin-token-" + secrets.token_hex(8)
ORDERS_PER_BATCH = 100_000  # about 25 MB of table; small enough not to overshoot the target much
SEED_SESSIONS = 2  # one per core: INSERT ... SELECT is CPU-bound in the backend
RSS_INTERVAL = 0.05
# Each poll costs the server about 2.4 ms of CPU, so polling often would slow the backup it
# measures; the backup's end is read from its `finished_at` instead (same machine, same clock).
POLL_INTERVAL = 0.25
BACKUP_TIMEOUT = 1800.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# -- seeding ----------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_uuid uuid NOT NULL,
    email text NOT NULL,
    full_name text NOT NULL,
    country char(2) NOT NULL,
    balance numeric(12, 2) NOT NULL,
    signed_up_at timestamptz(0) NOT NULL
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_uuid uuid NOT NULL,
    customer_email text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    currency char(3) NOT NULL,
    status text NOT NULL,
    quantity int NOT NULL,
    created_at timestamptz(0) NOT NULL,
    shipped_at timestamptz(0),
    tracking_code text,
    note text,
    metadata jsonb NOT NULL
);
"""

# Word lists shared by both inserts. Names and domains repeat (as in real data); UUIDs, amounts,
# timestamps and tracking codes are random and are what keeps the ratio near 2.5-3:1, unlike
# pgbench's blank-padded rows (about 100:1).
_WORDS = """
WITH w AS (SELECT
  '{anna,ben,carla,david,emma,felix,greta,hugo,ines,jonas,karla,leon,mia,noah,olga,paul,rosa,
    sven,tina,uwe,vera,yann,zoe,liam,omar,priya,chen,sofia,mateo,aiko}'::text[] AS first,
  '{smith,jones,garcia,muller,rossi,dubois,kowalski,tanaka,silva,novak,jensen,ivanov,kim,
    nguyen,brown,lopez,schmidt,moreau,costa,larsen}'::text[] AS last,
  '{gmail.com,yahoo.com,outlook.com,example.org,mail.de,proton.me,corp.example.com,
    web.de}'::text[] AS domain,
  '{pending,paid,shipped,delivered,cancelled,refunded}'::text[] AS status,
  '{EUR,USD,GBP,CHF,SEK}'::text[] AS cur,
  '{DE,FR,US,GB,IT,ES,PL,NL,SE,JP,BR,IN}'::text[] AS country,
  '{please,leave,at,door,gift,wrap,call,before,delivery,fragile,handle,with,care,second,
    floor,ring,bell,twice,no,invoice,back,entrance,weekend,only,thanks}'::text[] AS word
)
"""

INSERT_ORDERS = (
    _WORDS
    + """
INSERT INTO orders (order_uuid, customer_email, amount, currency, status, quantity, created_at,
                    shipped_at, tracking_code, note, metadata)
SELECT gen_random_uuid(),
  w.first[1 + (random() * 29)::int] || '.' || w.last[1 + (random() * 19)::int]
    || CASE WHEN random() < 0.5 THEN (random() * 99)::int::text ELSE '' END
    || '@' || w.domain[1 + (random() * 7)::int],
  round((random() * random() * 2000)::numeric, 2),
  w.cur[1 + (random() * 4)::int],
  w.status[1 + (random() * 5)::int],
  1 + (random() * random() * 9)::int,
  ts,
  CASE WHEN random() < 0.7 THEN ts + random() * interval '5 days' END,
  CASE WHEN random() < 0.7 THEN upper(substr(md5(random()::text), 1, 12)) END,
  CASE WHEN random() < 0.4 THEN w.word[1 + (random() * 24)::int] || ' '
    || w.word[1 + (random() * 24)::int] || ' ' || w.word[1 + (random() * 24)::int] END,
  jsonb_build_object(
    'channel', (ARRAY['web', 'app', 'phone', 'store'])[1 + (random() * 3)::int],
    'items', 1 + (random() * 4)::int)
FROM w, (SELECT now() - random() * interval '3 years' FROM generate_series(1, %(n)s)) s(ts)
"""
)

INSERT_CUSTOMERS = (
    _WORDS
    + """
INSERT INTO customers (customer_uuid, email, full_name, country, balance, signed_up_at)
SELECT gen_random_uuid(),
  f || '.' || l || (random() * 999)::int || '@' || w.domain[1 + (random() * 7)::int],
  initcap(f) || ' ' || initcap(l),
  w.country[1 + (random() * 11)::int],
  round((random() * 10000 - 2000)::numeric, 2),
  now() - random() * interval '8 years'
FROM w, (SELECT w.first[1 + (random() * 29)::int], w.last[1 + (random() * 19)::int]
         FROM w, generate_series(1, %(n)s)) s(f, l)
"""
)


def database_size(pg: PostgresServer) -> int:
    return int(pg.query(f"SELECT pg_database_size('{DBNAME}')")[0][0])


def seed_to(pg: PostgresServer, target_bytes: int) -> int:
    """Grow the database to at least `target_bytes`, in batches from two sessions at once,
    then vacuum it; returns pg_database_size."""
    if not pg.query(f"SELECT 1 FROM pg_database WHERE datname = '{DBNAME}'"):
        pg.create_database(DBNAME)
        pg.execute(SCHEMA, DBNAME)
    started = time.monotonic()
    errors: list[BaseException] = []

    def grow() -> None:
        try:
            with pg.connect(DBNAME) as conn:
                while database_size(pg) < target_bytes:
                    conn.execute(INSERT_ORDERS, {"n": ORDERS_PER_BATCH})
                    conn.execute(INSERT_CUSTOMERS, {"n": ORDERS_PER_BATCH // 10})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=grow) for _ in range(SEED_SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    # A freshly inserted row makes its first reader set hint bits and write the page back;
    # vacuuming first gives every method the steady state a production database is in.
    pg.execute("VACUUM (FREEZE, ANALYZE)", DBNAME)
    pg.execute("CHECKPOINT")
    size = database_size(pg)
    time.sleep(0.5)  # let the seeding sessions' backends be reaped before the first timing
    print(f"  seeded to {size / MB:,.0f} MB in {time.monotonic() - started:.0f} s")
    return size


def sample_ratio(pg: PostgresServer) -> float:
    """zstd -3 ratio of a 1% sample of both tables in COPY text form (what pg_dump writes)."""
    raw = bytearray()
    with pg.connect(DBNAME) as conn:
        for table in ("orders", "customers"):
            query = f"COPY (SELECT * FROM {table} TABLESAMPLE SYSTEM (1)) TO STDOUT"
            with conn.cursor().copy(query) as copy:
                for data in copy:
                    raw += data
    compressed = zstandard.ZstdCompressor(level=3).compress(bytes(raw))
    return len(raw) / len(compressed)


# -- measuring processes ---------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has already waited for."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # Fields 14-17 of proc(5) (utime, stime, cutime, cstime); index 0 here is field 3.
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def machine_busy_cpu() -> float:
    """CPU seconds all cores of the machine have been busy since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def own_cpu() -> tuple[float, float]:
    """(this process, its waited-for children) CPU seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def proc_status_kib(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


class RssSampler:
    """Samples one process's VmRSS every RSS_INTERVAL in a thread; `peak_kib` is the highest.

    Sampling the resident set (rather than reading VmHWM alone) gives the peak of each backup,
    not of the process's whole life. `peak_anon_kib` is the highest RssAnon: the private heap,
    without the shared-library pages that VmRSS also counts."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_kib = 0
        self.peak_anon_kib = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, proc_status_kib(self._pid, "VmRSS"))
            self.peak_anon_kib = max(self.peak_anon_kib, proc_status_kib(self._pid, "RssAnon"))
            self._stop.wait(RSS_INTERVAL)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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


@dataclass
class Run:
    seconds: float
    cpu: dict[str, float]
    peak_rss_kib: int = 0
    peak_anon_kib: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0


def measured(services: Services, action: Callable[[], Run | None]) -> Run:
    """Time `action` and attribute the CPU used meanwhile to postgres, dump tools, the client
    (this process or Strongbox) and the S3 server."""
    backends = services.postgres_children()
    before, busy_before = services.cpu_snapshot(), machine_busy_cpu()
    started = time.monotonic()
    result = action()
    seconds = time.monotonic() - started
    services.settle(backends)
    after, busy_after = services.cpu_snapshot(), machine_busy_cpu()
    cpu = {k: after[k] - before.get(k, 0.0) for k in after}
    # Whatever else ran on the machine meanwhile (other people's work): a large figure here
    # means the run was disturbed and its time is not to be trusted.
    cpu["others"] = max(0.0, (busy_after - busy_before) - sum(cpu.values()))
    if result is None:
        return Run(seconds, cpu)
    # An action that knows when its work really ended (a Strongbox backup) has set `seconds`.
    result.seconds = result.seconds or seconds
    result.cpu = cpu
    return result


# -- the three methods ------------------------------------------------------------------------


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


def limit_method(services: Services) -> None:
    """(a) pg_dump -Fc -Z0 | zstd -3 -T0 > /dev/null."""
    dump = subprocess.list2cmdline(pg_dump_argv(services.pg, "-Fc", "-Z0"))
    subprocess.run(
        ["bash", "-c", f"set -o pipefail; {dump} | zstd -3 -T0 -q > /dev/null"],
        env=pg_env(services.pg),
        check=True,
    )


def naive_method(services: Services) -> None:
    """(b) pg_dump -Fc (default compression) into upload_fileobj with the default config."""
    weed = services.weed
    # A plain client, as a script would make one: default TransferConfig (8 MiB parts,
    # 10 threads) and boto3's default checksums.
    client = boto3.client(
        "s3",
        endpoint_url=weed.endpoint_url,
        region_name=weed.region,
        aws_access_key_id=weed.access_key,
        aws_secret_access_key=weed.secret_key,
    )
    key = f"naive/{DBNAME}-{secrets.token_hex(4)}.pgdump"
    dump = subprocess.Popen(
        pg_dump_argv(services.pg, "-Fc"), stdout=subprocess.PIPE, env=pg_env(services.pg)
    )
    assert dump.stdout is not None
    try:
        client.upload_fileobj(dump.stdout, BUCKET, key)
    finally:
        dump.stdout.close()
        code = dump.wait()
    if code != 0:
        raise RuntimeError(f"pg_dump exited with status {code}")
    client.delete_object(Bucket=BUCKET, Key=key)
    client.close()


class StrongboxServer:
    """`strongbox serve` as a subprocess, so that its memory is its own and can be sampled."""

    def __init__(self, services: Services) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="strongbox-bench-"))
        self.port = free_port()
        self.log_file = self.root / "server.log"
        env = {
            **os.environ,
            "STRONGBOX_DATA_DIR": str(self.root / "data"),
            "STRONGBOX_ADMIN_TOKEN": TOKEN,
            "STRONGBOX_SECRET_KEY": secrets.token_urlsafe(24),
            "STRONGBOX_PG_BIN_DIR": str(services.pg.bin_dir),
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
        self._post(
            "/api/v1/backup-storages",
            s3_storage(weed, BUCKET, "seaweed", region=weed.region),
        )
        self._post(
            "/api/v1/databases",
            {
                "name": DBNAME,
                "engine": "postgresql",
                "host": pg.host,
                "port": pg.port,
                "username": pg.superuser,
                "password": pg.password,
                "databases": [DBNAME],
            },
        )

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
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

    def backup(self) -> Run:
        """(c) one backup through the API, polled until it ends; then deleted."""
        with RssSampler(self.pid) as sampler:
            posted = time.time()
            backup = self._post(f"/api/v1/databases/{DBNAME}/backups", {"storage": "seaweed"})
            done = self._wait(backup["name"])
        if done["state"] != "succeeded":
            raise RuntimeError(f"the Strongbox backup {done['state']}: {done['error']}")
        finished = datetime.fromisoformat(done["finished_at"]).timestamp()
        self.client.delete(f"/api/v1/databases/{DBNAME}/backups/{done['name']}")
        return Run(
            # From the request to the moment the row said succeeded, without polling latency.
            seconds=finished - posted,
            cpu={},
            peak_rss_kib=sampler.peak_kib,
            peak_anon_kib=sampler.peak_anon_kib,
            raw_bytes=int(done["size_bytes"]),
            stored_bytes=int(done["stored_bytes"]),
        )

    def _wait(self, name: str) -> dict[str, Any]:
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


# -- the run ----------------------------------------------------------------------------------

METHODS = {
    "a": "(a) pg_dump -Z0 | zstd -3 -T0 > /dev/null",
    "b": "(b) pg_dump -Fc | boto3 upload_fileobj",
    "c": "(c) Strongbox (API, into SeaweedFS)",
}


@dataclass
class SizeResult:
    target_mb: int
    db_bytes: int
    sample_ratio: float
    idle_rss_kib: int = 0
    idle_anon_kib: int = 0
    hwm_kib: int = 0
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def median_seconds(self, method: str) -> float:
        return statistics.median(r.seconds for r in self.runs[method])

    def mbps(self, method: str) -> float:
        return self.db_bytes / MB / self.median_seconds(method)

    def best_mbps(self, method: str) -> float:
        # The fastest round is the least disturbed one on a machine shared with others.
        return self.db_bytes / MB / min(r.seconds for r in self.runs[method])

    def disturbed(self, method: str) -> int:
        """Rounds during which other processes used more than a tenth of the machine."""
        cores = os.cpu_count() or 1
        return sum(r.cpu.get("others", 0.0) > 0.1 * cores * r.seconds for r in self.runs[method])


def run_size(services: Services, target_mb: int, rounds: int, methods: str) -> SizeResult:
    print(f"\n== database of about {target_mb} MB")
    db_bytes = seed_to(services.pg, target_mb * MB)
    result = SizeResult(target_mb, db_bytes, sample_ratio(services.pg))
    print(
        f"  pg_database_size {db_bytes / MB:,.0f} MB; "
        f"zstd -3 ratio of a 1% sample: {result.sample_ratio:.2f}"
    )
    if "c" in methods:
        # A fresh server per size: its peak is not inherited from a bigger backup before.
        services.strongbox = StrongboxServer(services)
        time.sleep(1.0)  # let start-up settle before reading the idle footprint
        result.idle_rss_kib = services.strongbox.rss_kib()
        result.idle_anon_kib = proc_status_kib(services.strongbox.pid, "RssAnon")
    actions: dict[str, Callable[[], Run | None]] = {
        "a": lambda: limit_method(services),
        "b": lambda: naive_method(services),
        "c": lambda: services.strongbox.backup() if services.strongbox else None,
    }
    order = [m for m in "abc" if m in methods]
    try:
        for index in range(rounds):
            # Rotate the order each round so no method always runs first (cold) or last.
            turn = order[index % len(order) :] + order[: index % len(order)]
            for method in turn:
                run = measured(services, actions[method])
                result.runs.setdefault(method, []).append(run)
                print(f"  round {index + 1} {METHODS[method]}: {describe(run, db_bytes)}")
        if services.strongbox is not None:
            result.hwm_kib = services.strongbox.hwm_kib()
    finally:
        if services.strongbox is not None:
            services.strongbox.stop()
            services.strongbox = None
    return result


def describe(run: Run, db_bytes: int) -> str:
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in run.cpu.items() if v >= 0.05)
    text = f"{run.seconds:6.1f} s {db_bytes / MB / run.seconds:6.1f} MB/s  cpu s: {cpu}"
    if run.peak_rss_kib:
        ratio = run.raw_bytes / run.stored_bytes
        text += (
            f"; peak RSS {run.peak_rss_kib / 1024:.0f} MiB"
            f" (anon {run.peak_anon_kib / 1024:.0f}); dump ratio {ratio:.2f}"
        )
    return text


def report(results: list[SizeResult]) -> None:
    report_speed(results)
    report_memory(results)
    report_cpu(results)


def report_speed(results: list[SizeResult]) -> None:
    print("\n## Throughput: MB/s = pg_database_size / wall time; median of rounds (best)\n")
    print("| database | dump (raw) | (a) limit | (b) naive | (c) Strongbox | c/a | c/b |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        speed = {m: f"{r.mbps(m):.1f} ({r.best_mbps(m):.1f})" for m in r.runs}
        ratios = [
            f"{r.mbps('c') / r.mbps(m):.2f} ({r.best_mbps('c') / r.best_mbps(m):.2f})"
            if {"c", m} <= set(r.runs)
            else "-"
            for m in "ab"
        ]
        raw = f"{r.runs['c'][0].raw_bytes / MB:,.0f} MB" if "c" in r.runs else "-"
        cells = " | ".join([*(speed.get(m, "-") for m in "abc"), *ratios])
        print(f"| {r.db_bytes / MB:,.0f} MB | {raw} | {cells} |")
    print("\nAims: c/a >= 0.8, c/b >= 3.")
    for r in results:
        noisy = {m: r.disturbed(m) for m in r.runs if r.disturbed(m)}
        if noisy:
            print(
                f"{r.db_bytes / MB:,.0f} MB: rounds disturbed by other processes (> 10% of "
                f"the machine): {noisy}; trust the best figures more than the medians."
            )


def report_memory(results: list[SizeResult]) -> None:
    if not any("c" in r.runs for r in results):
        return
    print("\n## Strongbox server memory (MiB; the `strongbox serve` process only)\n")
    print(
        "| database | idle VmRSS | peak VmRSS, each backup in turn | idle RssAnon "
        "| peak RssAnon | VmHWM |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if "c" not in r.runs:
            continue
        peak_anon = max(run.peak_anon_kib for run in r.runs["c"]) / 1024
        each = ", ".join(f"{run.peak_rss_kib / 1024:.0f}" for run in r.runs["c"])
        print(
            f"| {r.db_bytes / MB:,.0f} MB | {r.idle_rss_kib / 1024:.0f} | {each} "
            f"| {r.idle_anon_kib / 1024:.0f} | {peak_anon:.0f} | {r.hwm_kib / 1024:.0f} |"
        )
    print("\nAim: peak under 150 MB and flat across sizes. VmRSS sampled every 50 ms;")
    print("pg_dump runs in its own process and is not counted.")


CPU_PARTS = {
    "postgres": ("postgres",),
    "pg_dump/zstd": ("dump tools",),
    "client": ("benchmark", "strongbox"),
    "S3 server": ("s3 server",),
}


def report_cpu(results: list[SizeResult]) -> None:
    print("\n## CPU seconds per GB of database (mean of rounds)\n")
    header = " | ".join(CPU_PARTS)
    print(f"| database | method | {header} | total | others on the machine |")
    print("| ---: | --- |" + " ---: |" * (len(CPU_PARTS) + 2))
    for r in results:
        gb = r.db_bytes / 1e9
        for method, runs in r.runs.items():
            parts = [
                statistics.mean(sum(run.cpu.get(k, 0.0) for k in keys) for run in runs) / gb
                for keys in CPU_PARTS.values()
            ]
            others = statistics.mean(run.cpu.get("others", 0.0) for run in runs) / gb
            cells = " | ".join(f"{v:.2f}" for v in parts)
            print(
                f"| {r.db_bytes / MB:,.0f} MB | ({method}) | {cells} | {sum(parts):.2f} "
                f"| {others:.2f} |"
            )
    print("\nclient: this script for (b) (boto3), the Strongbox process for (c).")
    print("'others' is CPU used meanwhile by unrelated processes: high means a disturbed run.")


def describe_machine(weed: SeaweedServer, pg: PostgresServer) -> None:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = proc_meminfo_gib()
    pg_version = pg.query("SHOW server_version")[0][0]
    zstd = subprocess.run(["zstd", "-V"], capture_output=True, text=True).stdout.strip()
    weed_version = subprocess.run(
        [str(weed.weed), "version"], capture_output=True, text=True
    ).stdout.strip()
    print(f"machine: {os.cpu_count()} cores, {model.group(1) if model else '?'}, {mem:.0f} GiB")
    print(f"python {platform.python_version()}; PostgreSQL {pg_version}; {zstd}")
    print(
        f"python-zstandard {zstandard.__version__} "
        f"(libzstd {'.'.join(map(str, zstandard.ZSTD_VERSION))}); boto3 {boto3.__version__}"
    )
    print(f"SeaweedFS: {weed_version}")
    strongbox_env = {k: v for k, v in os.environ.items() if k.startswith(("STRONGBOX_", "MALLOC_"))}
    print(f"Strongbox settings from the environment: {strongbox_env or 'defaults'}")


def proc_meminfo_gib() -> float:
    text = Path("/proc/meminfo").read_text()
    found = re.search(r"^MemTotal:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 / 1024 if found else 0.0


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1500, help="database size (MB)")
    parser.add_argument(
        "--sizes", help="comma-separated sizes in MB, ascending (overrides --size-mb)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds per size")
    parser.add_argument(
        "--methods", default="abc", help="which of a, b, c to run (for experiments)"
    )
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(",")) if args.sizes else [args.size_mb]
    if set(args.methods) - set("abc") or not args.methods:
        parser.error("--methods takes letters among a, b, c")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM as Ctrl-C (and Ctrl-C even when started in the background, where it is ignored
    # by default), so that `finally` blocks stop and remove the servers either way.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        with throwaway_services() as services:
            describe_machine(services.weed, services.pg)
            results = [run_size(services, size, args.rounds, args.methods) for size in args.sizes]
            report(results)
    except KeyboardInterrupt:
        print("\ninterrupted; the throwaway servers were removed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
