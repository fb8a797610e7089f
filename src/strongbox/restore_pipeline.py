"""The restore stream: storage -> SHA-256 check -> [age] -> zstd decompression -> restore tool
(or a local file that a tool reads afterwards).

Nothing is buffered whole. The checksum of the stored object is computed while it streams down;
a mismatch is an error even when the tool already accepted every byte, so the caller can undo
what the tool wrote. Every stream is watched: a storage that sends nothing, or a tool that reads
nothing, for `stall_seconds` fails the restore as stalled (the same watchdog as backups).
"""

from __future__ import annotations

import hashlib
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import zstandard
from pyrage import x25519

from strongbox import age_stream
from strongbox.engines.base import RestoreCommand
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.pipeline import StallWatchdog
from strongbox.process import ToolProcess
from strongbox.storage.base import BackupStorage

CHUNK = 1024 * 1024
READ_AHEAD_CHUNKS = 8  # bounds the memory of the read-ahead to a few MiB
_END = object()
# An artifact's key, or the keys of its objects in order (`ManifestArtifact.object_keys()`).
ArtifactKeys = str | Sequence[str]
CHECKSUM_MISMATCH = "checksum-mismatch"
STALLED = "restore-stalled"
SCRATCH_WRITE_FAILED = "scratch-write-failed"

OnBytes = Callable[[int], None]
# The age identities that open an encrypted artifact; None for an artifact stored unencrypted.
Identities = Sequence[x25519.Identity] | None


class ChecksumMismatchError(StrongboxError):
    """The stored object is not what the manifest says: it was changed or damaged."""


class StalledError(StrongboxError):
    """No byte came from the storage for longer than the stall timeout."""


class Flow:
    """When a byte last moved through a restore stream (read for the stall watchdog)."""

    def __init__(self) -> None:
        self.last_progress = time.monotonic()

    def moved(self) -> None:
        self.last_progress = time.monotonic()


def object_keys(key: ArtifactKeys) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


def key_label(key: ArtifactKeys) -> str:
    """How messages name an artifact: its key, or its first object's and how many follow.

    >>> key_label(["p/a.sql.zst", "p/a.sql.zst.00002"])
    'p/a.sql.zst (and 1 more object)'
    """
    keys = object_keys(key)
    more = len(keys) - 1
    return keys[0] if not more else f"{keys[0]} (and {more} more object{'s' if more > 1 else ''})"


def _mismatch(key: str, expected: str, actual: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(
        f"checksum mismatch for {key}: the manifest says SHA-256 {expected}, the storage gave "
        f"{actual}; the artifact is damaged or was changed, so it was not restored",
        CHECKSUM_MISMATCH,
        ErrorKind.REFUSED,
    )


def _read_ahead(
    storage: BackupStorage, key: ArtifactKeys, expected_sha256: str, stall_seconds: float
) -> Iterator[bytes]:
    """The chunks of `key`, read and hashed in a thread of their own, so that downloading and
    hashing overlap with the caller's decompression and writing (a few chunks ahead at most).
    Raises ChecksumMismatchError after the last chunk when the hash differs, and StalledError
    when the storage sends nothing for `stall_seconds`."""
    ahead: queue.Queue[object] = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
    stop = threading.Event()
    label = key_label(key)

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
            for object_key in object_keys(key):  # an artifact's objects, in order
                with storage.open_read(object_key) as source:
                    while not stop.is_set() and (chunk := source.read(CHUNK)):
                        sha.update(chunk)
                        put(chunk)
            actual = sha.hexdigest()
            put(_mismatch(label, expected_sha256, actual) if actual != expected_sha256 else _END)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    reader = threading.Thread(target=read, name="strongbox-restore-read", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = ahead.get(timeout=stall_seconds)
            except queue.Empty:
                raise StalledError(
                    f"reading {label} from the storage stalled: no data for {int(stall_seconds)} "
                    "s, so the restore was stopped",
                    STALLED,
                    ErrorKind.REFUSED,
                ) from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
        reader.join(timeout=30)


def _decompressed(
    storage: BackupStorage,
    key: ArtifactKeys,
    expected_sha256: str,
    stall_seconds: float,
    flow: Flow,
    identities: Identities = None,
) -> Iterator[bytes]:
    """The decompressed bytes of `key`, verified at the end (see `_read_ahead`); decrypted
    first with `identities` when the artifact is encrypted with age (`age_stream`)."""
    # Across frames: an artifact in several objects is one zstd frame per object.
    decompressor = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)
    chunks = _read_ahead(storage, key, expected_sha256, stall_seconds)
    if identities is not None:
        chunks = age_stream.decrypted(chunks, identities, key_label(key))
    for chunk in chunks:
        flow.moved()
        data = decompressor.decompress(chunk)
        if data:
            yield data


def verified_chunks(
    storage: BackupStorage,
    key: ArtifactKeys,
    expected_sha256: str,
    stall_seconds: float,
    identities: Identities = None,
) -> Iterator[bytes]:
    """The decompressed bytes of `key`, streamed; raises ChecksumMismatchError after the last
    chunk when the stored bytes differ from `expected_sha256` (the consumer must read to the
    end and undo what it made of the bytes on that error)."""
    return _decompressed(storage, key, expected_sha256, stall_seconds, Flow(), identities)


def download(
    storage: BackupStorage,
    key: ArtifactKeys,
    expected_sha256: str,
    path: Path,
    stall_seconds: float,
    on_raw_bytes: OnBytes | None = None,
    identities: Identities = None,
) -> int:
    """Download, verify and decompress `key` into the new file `path` (0600); returns its size.
    The file is removed again on any error (checksum mismatch, storage error, stall, full
    disk). It is not fsynced: it only lives for this restore, and a crash fails the restore."""
    chunks = _decompressed(storage, key, expected_sha256, stall_seconds, Flow(), identities)
    return _write_new_file(chunks, path, what=key_label(key), on_raw_bytes=on_raw_bytes)


def _write_new_file(
    chunks: Iterable[bytes], path: Path, *, what: str, on_raw_bytes: OnBytes | None
) -> int:
    raw = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as out:
            for data in chunks:
                out.write(data)
                raw += len(data)
                if on_raw_bytes is not None:
                    out.flush()  # the count may be read as "this much can be read back"
                    on_raw_bytes(raw)
    except OSError as exc:  # the local disk: full, or the folder gone
        path.unlink(missing_ok=True)
        raise StrongboxError(
            f"could not write the local copy of {what} into the scratch folder: {exc.strerror}",
            SCRATCH_WRITE_FAILED,
            ErrorKind.REFUSED,
        ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return raw


def feed_from_storage(
    storage: BackupStorage,
    key: ArtifactKeys,
    expected_sha256: str,
    command: RestoreCommand,
    stall_seconds: float,
    on_raw_bytes: OnBytes | None = None,
    identities: Identities = None,
) -> int:
    """Stream the decompressed object into the tool's stdin; returns the raw bytes fed.

    Raises ToolFailedError when the tool fails or stalls, ChecksumMismatchError when the object
    is damaged, StalledError when the storage stalls (the tool may have written some or all of
    it: the caller must undo and remove the copy)."""
    flow = Flow()
    chunks = _decompressed(storage, key, expected_sha256, stall_seconds, flow, identities)
    return _feed(chunks, command, stall_seconds, flow, key_label(key), on_raw_bytes)


def feed_from_file(
    path: Path,
    command: RestoreCommand,
    stall_seconds: float,
    what: str,
    on_raw_bytes: OnBytes | None = None,
) -> int:
    """Restore the verified local copy `path` of artifact `what`: the tool reads it itself when
    its command names an input file (parallel pg_restore), else it is streamed into the tool's
    stdin. Returns the raw bytes fed (the file's size). Raises ToolFailedError when the tool
    fails or stalls."""
    if command.input_path is not None:
        # The tool reads the file on its own: there is no stream here to watch.
        with ToolProcess(command.argv, command.env, stdout=subprocess.DEVNULL) as tool:
            tool.check()
        size = path.stat().st_size
        if on_raw_bytes is not None:
            on_raw_bytes(size)
        return size
    flow = Flow()
    return _feed(_file_chunks(path, flow), command, stall_seconds, flow, what, on_raw_bytes)


def _file_chunks(path: Path, flow: Flow) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            flow.moved()
            yield chunk


def _feed(
    chunks: Iterable[bytes],
    command: RestoreCommand,
    stall_seconds: float,
    flow: Flow,
    what: str,
    on_raw_bytes: OnBytes | None,
) -> int:
    with ToolProcess(
        command.argv, command.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    ) as tool:
        raw = 0
        stopped_reading = False
        with StallWatchdog(flow, tool, stall_seconds):
            try:
                for data in chunks:
                    tool.stdin.write(data)
                    flow.moved()
                    raw += len(data)
                    if on_raw_bytes is not None:
                        on_raw_bytes(raw)
                tool.stdin.close()
            except BrokenPipeError:
                stopped_reading = True  # the tool's exit status and stderr say why
            except StrongboxError as exc:  # a damaged or stalled download
                tool.kill(f"was stopped: {exc.code}")
                raise
        tool.check()
        if stopped_reading:
            raise StrongboxError(
                f"{tool.name} stopped reading {what} before its end without reporting an error; "
                "the restore is incomplete",
                "tool-stopped-early",
                ErrorKind.REFUSED,
            )
        return raw


def _tool_chunks(
    argv: list[str], env: dict[str, str], stall_seconds: float, flow: Flow
) -> Iterator[bytes]:
    """The stdout of a dump program in chunks, watched for stalls; raises ToolFailedError after
    the last chunk when the program failed."""
    with ToolProcess(argv, env) as dump, StallWatchdog(flow, dump, stall_seconds):
        while chunk := dump.stdout.read(CHUNK):
            flow.moved()
            yield chunk
        dump.check()


def feed_from_tool(
    argv: list[str],
    env: dict[str, str],
    command: RestoreCommand,
    stall_seconds: float,
    what: str,
    on_raw_bytes: OnBytes | None = None,
) -> int:
    """Stream the stdout of the dump program `argv` (e.g. pg_dump of a database of a recovered
    instance) into the restore tool's stdin; returns the bytes fed. Raises ToolFailedError when
    either program fails or stalls (the caller must undo what the tool wrote)."""
    flow = Flow()
    chunks = _tool_chunks(argv, env, stall_seconds, flow)
    return _feed(chunks, command, stall_seconds, flow, what, on_raw_bytes)


def download_from_tool(
    argv: list[str],
    env: dict[str, str],
    path: Path,
    stall_seconds: float,
    on_raw_bytes: OnBytes | None = None,
) -> int:
    """Write the stdout of the dump program `argv` into the new file `path` (0600); returns its
    size. The file is removed again on any error."""
    return _write_new_file(
        _tool_chunks(argv, env, stall_seconds, Flow()),
        path,
        what=argv[0],
        on_raw_bytes=on_raw_bytes,
    )


def read_decompressed(
    storage: BackupStorage,
    key: ArtifactKeys,
    expected_sha256: str,
    stall_seconds: float,
    identities: Identities = None,
) -> bytes:
    """The whole decompressed object, verified (for small objects such as a roles dump)."""
    chunks = _decompressed(storage, key, expected_sha256, stall_seconds, Flow(), identities)
    return b"".join(chunks)


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
