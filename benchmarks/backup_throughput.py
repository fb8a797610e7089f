"""Backup throughput: Strongbox against the no-upload limit and against the naive pipeline.

    python benchmarks/backup_throughput.py [--size-mb 1500] [--sizes 500,1500] [--rounds 2]
        [--in-a-row 10]

Starts its own throwaway PostgreSQL and SeaweedFS (the test fixtures' classes, never the shared
services), seeds a database with realistic rows (random amounts, timestamps, e-mail addresses,
UUIDs, short text; about 2.5-3:1 with zstd -3), then, alternating over the rounds, times:

  (a) `pg_dump -Fc -Z0 | zstd -3 -T0 > /dev/null`: the no-upload limit,
  (b) `pg_dump -Fc` (its default zlib) streamed into the bucket with boto3's `upload_fileobj`,
  (c) a Strongbox backup into the same bucket through the REST API of a `strongbox serve`
      subprocess, whose resident memory is sampled every 50 ms during the backup,
  (e) the same Strongbox backup into a storage with an age recipient: compressed, then
      encrypted with age (the price of client-side encryption, next to (c)).

MB/s is database bytes (pg_database_size) per second for all three, so the figures compare.
With several sizes the database is grown between them and each size gets a fresh Strongbox
process, so that its peak memory can be compared across sizes. `--in-a-row N` then runs N more
Strongbox backups of the largest size in that same process, to show whether memory rises over
time.

The environment reaches the Strongbox server, so experiments need no code change:
`STRONGBOX_ZSTD_LEVEL=2`, `STRONGBOX_ZSTD_THREADS=1`, `STRONGBOX_UPLOAD_CONCURRENCY=2`,
`MALLOC_ARENA_MAX=2` ...; `--methods c` runs only Strongbox. Results and their reading:
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import boto3
from lib.machine import (
    ServerAndStreamSampler,
    describe_machine,
    machine_busy_cpu,
    proc_status_kib,
)
from lib.seeding import DBNAME, MB, sample_ratio, seed_to
from lib.servers import BUCKET, Services, StrongboxServer, pg_dump_argv, pg_env, throwaway_services
from pyrage import x25519

from integration.bodies import s3_storage


@dataclass
class Run:
    seconds: float
    cpu: dict[str, float]
    peak_rss_kib: int = 0
    peak_anon_kib: int = 0
    peak_stream_kib: int = 0  # the largest stream process
    peak_sum_kib: int = 0  # the server and its stream processes together
    stream_cpu: float = 0.0
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
    # The stream processes are reaped by the server, so their CPU arrived with the dump
    # tools' in its children's time: it is Strongbox's.
    if result.stream_cpu:
        cpu["strongbox"] = cpu.get("strongbox", 0.0) + result.stream_cpu
        cpu["dump tools"] = max(0.0, cpu.get("dump tools", 0.0) - result.stream_cpu)
    result.cpu = cpu
    return result


# -- the three methods ------------------------------------------------------------------------


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


def strongbox_method(server: StrongboxServer, storage: str = "seaweed") -> Run:
    """(c) one backup through the API, polled until it ends; then deleted. (e) the same into
    `storage` `seaweed-age`, whose backups are encrypted to an age recipient."""
    with ServerAndStreamSampler(server.pid) as sampler:
        posted = time.time()
        backup = server.post(f"/api/v1/databases/{DBNAME}/backups", {"storage": storage})
        done = server.wait_for_backup(backup["name"])
    if done["state"] != "succeeded":
        raise RuntimeError(f"the Strongbox backup {done['state']}: {done['error']}")
    finished = datetime.fromisoformat(done["finished_at"]).timestamp()
    server.client.delete(f"/api/v1/databases/{DBNAME}/backups/{done['name']}")
    return Run(
        # From the request to the moment the row said succeeded, without polling latency.
        seconds=finished - posted,
        cpu={},
        peak_rss_kib=sampler.peak_kib,
        peak_anon_kib=sampler.peak_anon_kib,
        peak_stream_kib=sampler.peak_stream_kib,
        peak_sum_kib=sampler.peak_sum_kib,
        stream_cpu=sampler.stream_cpu,
        raw_bytes=int(done["size_bytes"]),
        stored_bytes=int(done["stored_bytes"]),
    )


# -- the run ----------------------------------------------------------------------------------

METHODS = {
    "a": "(a) pg_dump -Z0 | zstd -3 -T0 > /dev/null",
    "b": "(b) pg_dump -Fc | boto3 upload_fileobj",
    "c": "(c) Strongbox (API, into SeaweedFS)",
    "e": "(e) Strongbox, encrypted with age",
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
    in_a_row: list[Run] = field(default_factory=list)

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


def run_size(
    services: Services, target_mb: int, rounds: int, methods: str, in_a_row: int = 0
) -> SizeResult:
    print(f"\n== database of about {target_mb} MB")
    db_bytes = seed_to(services.pg, target_mb * MB)
    result = SizeResult(target_mb, db_bytes, sample_ratio(services.pg))
    print(
        f"  pg_database_size {db_bytes / MB:,.0f} MB; "
        f"zstd -3 ratio of a 1% sample: {result.sample_ratio:.2f}"
    )
    if set("ce") & set(methods):
        # A fresh server per size: its peak is not inherited from a bigger backup before.
        services.strongbox = StrongboxServer(services)
        time.sleep(1.0)  # let start-up settle before reading the idle footprint
        result.idle_rss_kib = services.strongbox.rss_kib()
        result.idle_anon_kib = proc_status_kib(services.strongbox.pid, "RssAnon")
    actions: dict[str, Callable[[], Run | None]] = {
        "a": lambda: limit_method(services),
        "b": lambda: naive_method(services),
        "c": lambda: strongbox_method(services.strongbox) if services.strongbox else None,
        "e": lambda: (
            strongbox_method(services.strongbox, AGE_STORAGE) if services.strongbox else None
        ),
    }
    if "e" in methods and services.strongbox is not None:
        add_age_storage(services.strongbox, services)
    order = [m for m in "abce" if m in methods]
    try:
        for index in range(rounds):
            # Rotate the order each round so no method always runs first (cold) or last.
            turn = order[index % len(order) :] + order[: index % len(order)]
            for method in turn:
                run = measured(services, actions[method])
                result.runs.setdefault(method, []).append(run)
                print(f"  round {index + 1} {METHODS[method]}: {describe(run, db_bytes)}")
        strongbox = services.strongbox
        for index in range(in_a_row if strongbox is not None else 0):
            run = measured(services, lambda: strongbox_method(strongbox))
            result.in_a_row.append(run)
            print(f"  in a row {index + 1}/{in_a_row} {METHODS['c']}: {describe(run, db_bytes)}")
        if services.strongbox is not None:
            result.hwm_kib = services.strongbox.hwm_kib()
    finally:
        if services.strongbox is not None:
            services.strongbox.stop()
            services.strongbox = None
    return result


AGE_STORAGE = "seaweed-age"


def add_age_storage(server: StrongboxServer, services: Services) -> None:
    """The storage of (e): the same bucket under another prefix, with a fresh age recipient
    (the identity is thrown away: the benchmark never restores)."""
    recipient = str(x25519.Identity.generate().to_public())
    weed = services.weed
    server.post(
        "/api/v1/backup-storages",
        s3_storage(
            weed,
            BUCKET,
            AGE_STORAGE,
            region=weed.region,
            prefix="age",
            age_recipients=[recipient],
        ),
    )


def describe(run: Run, db_bytes: int) -> str:
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in run.cpu.items() if v >= 0.05)
    text = f"{run.seconds:6.1f} s {db_bytes / MB / run.seconds:6.1f} MB/s  cpu s: {cpu}"
    if run.peak_rss_kib:
        ratio = run.raw_bytes / run.stored_bytes
        text += (
            f"; peak RSS server {run.peak_rss_kib / 1024:.0f} MiB"
            f" (anon {run.peak_anon_kib / 1024:.0f}), stream process"
            f" {run.peak_stream_kib / 1024:.0f}, sum {run.peak_sum_kib / 1024:.0f};"
            f" dump ratio {ratio:.2f}"
        )
    return text


def report(results: list[SizeResult]) -> None:
    report_speed(results)
    report_memory(results)
    report_cpu(results)


def report_speed(results: list[SizeResult]) -> None:
    print("\n## Throughput: MB/s = pg_database_size / wall time; median of rounds (best)\n")
    print(
        "| database | dump (raw) | (a) limit | (b) naive | (c) Strongbox | (e) with age "
        "| c/a | c/b | e/c |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        speed = {m: f"{r.mbps(m):.1f} ({r.best_mbps(m):.1f})" for m in r.runs}
        ratios = [
            f"{r.mbps(x) / r.mbps(y):.2f} ({r.best_mbps(x) / r.best_mbps(y):.2f})"
            if {x, y} <= set(r.runs)
            else "-"
            for x, y in (("c", "a"), ("c", "b"), ("e", "c"))
        ]
        first = r.runs.get("c", r.runs.get("e"))
        raw = f"{first[0].raw_bytes / MB:,.0f} MB" if first else "-"
        cells = " | ".join([*(speed.get(m, "-") for m in "abce"), *ratios])
        print(f"| {r.db_bytes / MB:,.0f} MB | {raw} | {cells} |")
    print("\nAims: c/a >= 0.8, c/b >= 3.2, e/c >= 0.9 (age costs at most 10 %).")
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
    print("\n## Strongbox memory (MiB): the `strongbox serve` process and its stream processes\n")
    print(
        "| database | server idle VmRSS | server peak VmRSS, each backup | stream process peak "
        "VmRSS, each | server + stream peak, each | server idle / peak RssAnon | VmHWM |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if "c" not in r.runs:
            continue
        peak_anon = max(run.peak_anon_kib for run in r.runs["c"]) / 1024
        each = ", ".join(f"{run.peak_rss_kib / 1024:.0f}" for run in r.runs["c"])
        streams = ", ".join(f"{run.peak_stream_kib / 1024:.0f}" for run in r.runs["c"])
        sums = ", ".join(f"{run.peak_sum_kib / 1024:.0f}" for run in r.runs["c"])
        print(
            f"| {r.db_bytes / MB:,.0f} MB | {r.idle_rss_kib / 1024:.0f} | {each} | {streams} "
            f"| {sums} | {r.idle_anon_kib / 1024:.0f} / {peak_anon:.0f} "
            f"| {r.hwm_kib / 1024:.0f} |"
        )
    for r in results:
        if r.in_a_row:
            each = ", ".join(f"{run.peak_rss_kib / 1024:.0f}" for run in r.in_a_row)
            sums = ", ".join(f"{run.peak_sum_kib / 1024:.0f}" for run in r.in_a_row)
            print(
                f"\n{len(r.in_a_row)} backups in a row of {r.db_bytes / MB:,.0f} MB in the same "
                f"server, peak VmRSS of the server (MiB): {each}; of the server and its stream "
                f"process together: {sums}"
            )
    print("\nAims: the server within 15 MB of idle, the stream process at most 64 MB, the sum")
    print("the same at every size and not rising over backups in a row. VmRSS sampled every")
    print("50 ms; pg_dump runs in its own process and is not counted.")


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1500, help="database size (MB)")
    parser.add_argument(
        "--sizes", help="comma-separated sizes in MB, ascending (overrides --size-mb)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds per size")
    parser.add_argument(
        "--in-a-row",
        type=int,
        default=0,
        help="Strongbox backups run in a row after the rounds of the largest size",
    )
    parser.add_argument(
        "--methods", default="abce", help="which of a, b, c, e to run (for experiments)"
    )
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(",")) if args.sizes else [args.size_mb]
    if set(args.methods) - set("abce") or not args.methods:
        parser.error("--methods takes letters among a, b, c, e")
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
            results = [
                run_size(
                    services,
                    size,
                    args.rounds,
                    args.methods,
                    args.in_a_row if size == args.sizes[-1] else 0,
                )
                for size in args.sizes
            ]
            report(results)
    except KeyboardInterrupt:
        print("\ninterrupted; the throwaway servers were removed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
