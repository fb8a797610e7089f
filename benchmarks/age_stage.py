"""The age stage alone: CPU per MiB of pyrage by itself, of the stage as it was, and as it is.

    python benchmarks/age_stage.py [--mib 128] [--rounds 3] [--baseline 6e1a82e]

No database, no storage: random bytes (compressed data looks random) in memory, one process.
Alternating over the rounds, in rotating order, it times with `time.process_time()` (the CPU of
every thread of the process, which a busy machine disturbs far less than the wall time) and
`time.perf_counter()`:

  encryption  pyrage   `pyrage.encrypt_io` from a reader to a writer that drops the bytes,
                       in one thread: the cost of age itself, the floor of the stage;
              before   `age_stream.EncryptingReader` as it was at `--baseline` (read from git),
                       read 8 MiB at a time as the S3 upload reads it, with its SHA-256;
              now      the same with the working tree's `age_stream`;
  decryption  pyrage   `pyrage.decrypt_io` of that stream in one thread;
              before   `age_stream.decrypted` at `--baseline`, fed 1 MiB chunks as a restore's
                       download is;
              now      the same with the working tree's.

Figures are MiB of the stream (the compressed data, not the database) per CPU-second and per
second, medians over the rounds. Results and their reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import pyrage
from pyrage import x25519

from strongbox import age_stream

MIB = 1024 * 1024
UPLOAD_READ = 8 * MIB  # what the S3 upload asks the stream for at a time (one part)
DOWNLOAD_CHUNK = MIB  # what a restore's download hands on at a time
REPOSITORY = Path(__file__).resolve().parent.parent


class RandomStream:
    """An `ObjectStream` of `mib` MiB of random bytes, as one object (the compressed dump)."""

    def __init__(self, block: bytes, mib: int) -> None:
        self._block = block
        self._left = mib * MIB
        self._at = 0
        self.stored_bytes = 0
        self.object_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        size = min(len(self._block) if size < 0 else size, self._left)
        if self._at + size > len(self._block):
            self._at = 0
        out = self._block[self._at : self._at + size]
        self._at += size
        self._left -= size
        return out

    @property
    def finished(self) -> bool:
        return self._left == 0

    def next_object(self) -> None:
        raise AssertionError("one object only")

    def object_sha256(self) -> str:
        return ""

    def sha256(self) -> str:
        return ""


class Dropped:
    """A writer that drops what it is given."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def stage_at(revision: str) -> types.ModuleType:
    """`strongbox.age_stream` as it was at `revision`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/strongbox/age_stream.py"],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "age_stream_before.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"age_stream_at_{revision}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def encrypt_with(
    stage: types.ModuleType, block: bytes, mib: int, recipient: str
) -> Callable[[], None]:
    def run() -> None:
        with stage.encrypting(RandomStream(block, mib), [recipient], None) as stream:
            while stream.read(UPLOAD_READ):
                pass
            stream.sha256()

    return run


def decrypt_with(
    stage: types.ModuleType, chunks: list[bytes], identity: x25519.Identity
) -> Callable[[], None]:
    def run() -> None:
        for _ in stage.decrypted(iter(chunks), [identity], "benchmark"):
            pass

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=128, help="MiB of stream per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default="6e1a82e", help="git revision of the stage before")
    args = parser.parse_args()

    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    block = os.urandom(16 * MIB)
    before = stage_at(args.baseline)

    encrypted = io.BytesIO()
    pyrage.encrypt_io(RandomStream(block, args.mib), encrypted, [identity.to_public()])
    whole = encrypted.getvalue()
    chunks = [whole[i : i + DOWNLOAD_CHUNK] for i in range(0, len(whole), DOWNLOAD_CHUNK)]
    del encrypted

    def pyrage_encrypts() -> None:
        pyrage.encrypt_io(RandomStream(block, args.mib), Dropped(), [identity.to_public()])

    def pyrage_decrypts() -> None:
        pyrage.decrypt_io(io.BytesIO(whole), Dropped(), [identity])

    cases: dict[str, Callable[[], None]] = {
        "encryption: pyrage alone": pyrage_encrypts,
        f"encryption: stage at {args.baseline}": encrypt_with(before, block, args.mib, recipient),
        "encryption: stage now": encrypt_with(age_stream, block, args.mib, recipient),
        "decryption: pyrage alone": pyrage_decrypts,
        f"decryption: stage at {args.baseline}": decrypt_with(before, chunks, identity),
        "decryption: stage now": decrypt_with(age_stream, chunks, identity),
    }
    per_cpu: dict[str, list[float]] = {name: [] for name in cases}
    per_wall: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    print(f"{args.mib} MiB per run, {args.rounds} rounds; load average {os.getloadavg()}")
    for round_number in range(args.rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            cpu, wall = time.process_time(), time.perf_counter()
            cases[name]()
            per_cpu[name].append(args.mib / (time.process_time() - cpu))
            per_wall[name].append(args.mib / (time.perf_counter() - wall))
        print(f"round {round_number + 1} done; load average {os.getloadavg()}", file=sys.stderr)
    print(f"{'case':<32} {'MiB/CPU-s':>10} {'MiB/s':>8}")
    for name in names:
        cpu_figure = statistics.median(per_cpu[name])
        wall_figure = statistics.median(per_wall[name])
        print(f"{name:<32} {cpu_figure:>10.0f} {wall_figure:>8.0f}")


if __name__ == "__main__":
    main()
