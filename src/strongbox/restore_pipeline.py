"""The restore stream: storage -> SHA-256 check -> zstd decompression -> restore tool.

Nothing is buffered whole. The checksum of the stored object is computed while it streams down;
a mismatch is an error even when the tool already accepted every byte, so the caller can undo
what the tool wrote.
"""

from __future__ import annotations

import hashlib
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import zstandard

from strongbox.engines.base import RestoreCommand
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.process import ToolProcess
from strongbox.storage.base import BackupStorage

CHUNK = 1024 * 1024
READ_AHEAD_CHUNKS = 8  # bounds the memory of the read-ahead to a few MiB
_END = object()
CHECKSUM_MISMATCH = "checksum-mismatch"


class ChecksumMismatchError(StrongboxError):
    """The stored object is not what the manifest says: it was changed or damaged."""


def _mismatch(key: str, expected: str, actual: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(
        f"checksum mismatch for {key}: the manifest says SHA-256 {expected}, the storage gave "
        f"{actual}; the artifact is damaged or was changed, so it was not restored",
        CHECKSUM_MISMATCH,
        ErrorKind.REFUSED,
    )


def _read_ahead(storage: BackupStorage, key: str, expected_sha256: str) -> Iterator[bytes]:
    """The chunks of `key`, read and hashed in a thread of their own, so that downloading and
    hashing overlap with the caller's decompression and writing (a few chunks ahead at most).
    Raises ChecksumMismatchError after the last chunk when the hash differs."""
    ahead: queue.Queue[object] = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def read() -> None:
        sha = hashlib.sha256()
        try:
            with storage.open_read(key) as source:
                while not stop.is_set() and (chunk := source.read(CHUNK)):
                    sha.update(chunk)
                    put(chunk)
            actual = sha.hexdigest()
            put(_mismatch(key, expected_sha256, actual) if actual != expected_sha256 else _END)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    reader = threading.Thread(target=read, name="strongbox-restore-read", daemon=True)
    reader.start()
    try:
        while True:
            item = ahead.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
        reader.join(timeout=30)


def _stream(
    storage: BackupStorage,
    key: str,
    expected_sha256: str,
    sink: Callable[[bytes], object] | None,
    on_raw_bytes: Callable[[int], None] | None = None,
) -> int:
    """Read `key`, hash it, decompress it into `sink` (when given); return the raw byte count.
    Raises ChecksumMismatchError after the last byte when the hash differs."""
    decompressor = zstandard.ZstdDecompressor().decompressobj() if sink is not None else None
    raw = 0
    for chunk in _read_ahead(storage, key, expected_sha256):
        if decompressor is not None and sink is not None:
            data = decompressor.decompress(chunk)
            if data:
                sink(data)
                raw += len(data)
                if on_raw_bytes is not None:
                    on_raw_bytes(raw)
    return raw


def verify(storage: BackupStorage, key: str, expected_sha256: str) -> None:
    """Read the whole object and check its SHA-256; raises ChecksumMismatchError."""
    _stream(storage, key, expected_sha256, None)


def decompress_to_file(
    storage: BackupStorage,
    key: str,
    expected_sha256: str,
    path: Path,
    on_raw_bytes: Callable[[int], None] | None = None,
) -> int:
    """Download, verify and decompress `key` into `path` (for tools that need a seekable file).
    The file is removed again when the checksum does not match. It is not fsynced: it only
    lives for this restore, and a crash fails the restore anyway."""
    try:
        with open(path, "wb") as out:
            raw = _stream(storage, key, expected_sha256, out.write, on_raw_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return raw


def feed_tool(
    storage: BackupStorage,
    key: str,
    expected_sha256: str,
    command: RestoreCommand,
    on_raw_bytes: Callable[[int], None] | None = None,
) -> tuple[int, str]:
    """Stream the decompressed object into the tool's stdin (or run the tool on its file).

    Returns the raw bytes fed and the tool's stderr tail. Raises ToolFailedError when the tool
    fails, ChecksumMismatchError when the object is damaged (the tool may have written some or
    all of it: the caller must undo)."""
    if command.input_path is not None:
        with ToolProcess(command.argv, command.env, stdout=subprocess.DEVNULL) as tool:
            tool.check()
            return 0, tool.stderr_tail()
    with ToolProcess(
        command.argv, command.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    ) as tool:
        raw = 0
        stopped_reading = False
        try:
            raw = _stream(storage, key, expected_sha256, tool.stdin.write, on_raw_bytes)
            tool.stdin.close()
        except BrokenPipeError:
            stopped_reading = True  # the tool's exit status and stderr say why
        except ChecksumMismatchError:
            tool.kill("was stopped: the artifact failed its checksum")
            raise
        tool.check()
        if stopped_reading:
            raise StrongboxError(
                f"{tool.name} stopped reading {key} before its end without reporting an error; "
                "the restore is incomplete",
                "tool-stopped-early",
                ErrorKind.REFUSED,
            )
        return raw, tool.stderr_tail()


def read_decompressed(storage: BackupStorage, key: str, expected_sha256: str) -> bytes:
    """The whole decompressed object, verified (for small objects such as a roles dump)."""
    parts: list[bytes] = []
    _stream(storage, key, expected_sha256, parts.append)
    return b"".join(parts)


def run_with_input(command: RestoreCommand, data: bytes) -> str:
    """Run the tool with `data` on its stdin; returns its stderr tail, raises ToolFailedError."""
    with ToolProcess(
        command.argv, command.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    ) as tool:
        try:
            tool.stdin.write(data)
            tool.stdin.close()
        except BrokenPipeError:
            pass  # the exit status says why
        tool.check()
        return tool.stderr_tail()
