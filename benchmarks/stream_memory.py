"""Peak resident memory of a backup's stream process.

    python benchmarks/stream_memory.py [--mb 300] [--data rows|base64] [--runs 2]
        [--concurrency N] [--zstd-threads N]

Starts the stream process as the server does (`stream.runner.dump_in_child`) with the S3
storage's own opener, into a throwaway SeaweedFS over http (the test fixture's class), and feeds
it a dump program's output: `--data rows` is tab-separated rows like a table's COPY data (order
numbers, UUIDs, e-mail addresses, amounts, timestamps; about 3:1 with zstd -3, as a real dump),
`--data base64` base64 text of random bytes (about 1.3:1, so parts fill faster: a harder case).
The rows are generated once (32 MiB) and written as often as `--mb` asks; zstd's window is far
smaller than 32 MiB, so the repetition does not make them compress better.

Every 10 ms it reads the process's VmHWM (its peak resident set since it started, which the
kernel keeps, so no short peak is missed between samples) and its CPU seconds; the last reading
before the process ends is its figure. Settings are the command line's, not the environment's:
the stream process gets them from its job, as from the server. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lib.machine import own_cpu_of, proc_status_kib, stream_processes
from lib.servers import BUCKET

from fixtures.seaweed import SeaweedServer
from strongbox.config import Settings
from strongbox.domain.partsize import MIB, part_plan
from strongbox.pipeline import PipelineOptions
from strongbox.storage.s3.client import S3Settings
from strongbox.storage.s3.light import light_open
from strongbox.stream.runner import dump_in_child

BLOCK_BYTES = 32 * MIB
SAMPLE_SECONDS = 0.01
WORDS = [
    "ready",
    "packed",
    "shipped",
    "delayed",
    "returned",
    "gift",
    "priority",
    "fragile",
    "express",
    "bulk",
]


@dataclass(frozen=True)
class Command:
    """A dump as `dump_in_child` takes it (`pipeline.StreamCommand`)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expected_bytes: int | None = None
    position_from_head: None = None
    position_from_stderr: None = None
    explain_failure: None = None
    guard: None = None


def rows_block(size: int) -> bytes:
    """Rows of an orders table as pg_dump's COPY writes them, `size` bytes or a little more."""
    rng = random.Random(42)
    lines: list[str] = []
    total = 0
    order = 1_000_000
    while total < size:
        order += 1
        line = (
            f"{order}\t{uuid.UUID(int=rng.getrandbits(128), version=4)}\t"
            f"user{rng.randrange(10**6)}@example.com\t{rng.randrange(100, 99999) / 100:.2f}\t"
            f"{rng.choice(('EUR', 'USD', 'GBP'))}\t{rng.choice(WORDS)}\t{rng.randrange(1, 9)}\t"
            f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} "
            f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+00\t"
            f"{rng.getrandbits(60):012X}\t{rng.choice(WORDS)} {rng.choice(WORDS)}\n"
        )
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


def base64_block(size: int) -> bytes:
    return base64.encodebytes(random.Random(42).randbytes(size * 3 // 4))


class PeakSampler:
    """The stream process's VmHWM and CPU seconds, read until it ends."""

    def __init__(self) -> None:
        self.hwm_kib = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in stream_processes(os.getpid()):
                self.hwm_kib = max(self.hwm_kib, proc_status_kib(pid, "VmHWM"))
                self.cpu = max(self.cpu, own_cpu_of(pid))
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=300, help="MiB the dump program writes")
    parser.add_argument("--data", choices=("rows", "base64"), default="rows")
    parser.add_argument("--runs", type=int, default=2)
    defaults = Settings.model_fields
    parser.add_argument(
        "--concurrency",
        type=int,
        default=defaults["upload_concurrency"].default,
        help="upload threads (default: STRONGBOX_UPLOAD_CONCURRENCY's)",
    )
    parser.add_argument(
        "--zstd-threads",
        type=int,
        default=defaults["zstd_threads"].default,
        help="0: one per core (default: STRONGBOX_ZSTD_THREADS's)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="strongbox-stream-memory-"))
    weed = SeaweedServer.create()
    try:
        weed.create_bucket(BUCKET)
        block = work / "block"
        make_block = rows_block if args.data == "rows" else base64_block
        block.write_bytes(make_block(BLOCK_BYTES))
        copies = max(1, round(args.mb * MIB / block.stat().st_size))
        argv = ["sh", "-c", f'for i in $(seq {copies}); do cat "$0"; done', str(block)]
        settings = S3Settings(
            endpoint_url=weed.endpoint_url,
            bucket=BUCKET,
            region=weed.region,
            access_key_id=weed.access_key,
            secret_access_key=weed.secret_key,
            force_path_style=True,
        )
        plan = part_plan(None, concurrency=args.concurrency)
        print(
            f"{args.data}: {copies * block.stat().st_size / MIB:.0f} MiB, part "
            f"{plan.part_size / MIB:g} MiB, concurrency {args.concurrency}, zstd threads "
            f"{args.zstd_threads or 'one per core'}; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        peaks = []
        for run in range(1, args.runs + 1):
            storage = light_open(settings, args.concurrency, 10_000)
            options = PipelineOptions(zstd_threads=args.zstd_threads)
            started = time.monotonic()
            with PeakSampler() as sampler:
                result = dump_in_child(Command(argv), storage, f"probe/run{run}.zst", options)
            seconds = time.monotonic() - started
            peaks.append(sampler.hwm_kib / 1024)
            print(
                f"run {run}: peak VmHWM {sampler.hwm_kib / 1024:.1f} MiB, "
                f"{result.raw_bytes / MIB / seconds:.0f} MiB/s raw, "
                f"ratio {result.raw_bytes / result.stored_bytes:.2f}, "
                f"{sampler.cpu:.1f} CPU-s, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        print(f"median peak {statistics.median(peaks):.1f} MiB")
    finally:
        weed.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
