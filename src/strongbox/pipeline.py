"""The backup stream: dump program stdout -> zstd -> [age] -> SHA-256 -> storage upload.

Nothing is buffered whole and nothing touches the local disk: the storage pulls bytes from a
`CompressingReader`, which pulls from the dump program's stdout. The reader raises when the dump
program fails, so the storage aborts its upload and no partial object becomes visible.

An artifact larger than one object may hold (`BackupStorage.cut_at`) is stored as several
objects in sequence: at the cut the zstd frame is ended and the next object starts a new one,
so each object is a whole zstd stream and their concatenation is the artifact.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

import zstandard

from strongbox import age_stream
from strongbox.age_stream import ObjectStream
from strongbox.domain.pacing import Pacer
from strongbox.domain.partsize import continuation_key
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.process import TOOL_FAILED, ToolFailedError, ToolProcess
from strongbox.storage.base import BackupStorage
from strongbox.stream_hashes import StreamHashes

READ_CHUNK = 1024 * 1024
HEAD_BYTES = 256 * 1024
ZSTD_JOB_SIZE = 512 * 1024  # zstd's smallest job: the least memory per worker

CANCELED = "canceled"
# Reads this large (upload parts) get their whole buffer at once (`_reserve`).
RESERVE_FROM = 1024 * 1024


class StreamCommand(Protocol):
    """What the stream needs of a dump (`engines.base.DumpCommand`, which the stream process
    does not import: it would bring the engines' models with it)."""

    @property
    def argv(self) -> list[str]: ...
    @property
    def env(self) -> dict[str, str]: ...
    @property
    def expected_bytes(self) -> int | None: ...
    @property
    def position_from_head(self) -> Callable[[bytes], dict[str, Any] | None] | None: ...
    @property
    def position_from_stderr(self) -> Callable[[bytes], dict[str, Any] | None] | None: ...
    @property
    def explain_failure(self) -> Callable[[str], str | None] | None: ...
    @property
    def guard(self) -> Callable[[Callable[[str], None], threading.Event], None] | None: ...


class CanceledError(StrongboxError):
    """The job was canceled while its stream ran."""


@dataclass(frozen=True)
class PipelineOptions:
    zstd_level: int = 3
    zstd_threads: int = 0  # 0: one per core
    stall_timeout_seconds: float = 300.0
    # The database's `max_rate_mb_per_s` in bytes per second: reads are paced to it.
    max_rate_bytes_per_second: float | None = None
    # Age recipients the stored bytes are encrypted to (`age_stream`); none: stored as compressed.
    age_recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredObject:
    """One object of an artifact: its key, size and the SHA-256 of its bytes."""

    key: str
    stored_bytes: int
    sha256: str


@dataclass(frozen=True)
class ArtifactResult:
    raw_bytes: int
    stored_bytes: int
    sha256: str  # of the whole artifact: every object's bytes in order
    log_position: dict[str, Any] | None
    objects: tuple[StoredObject, ...]  # in order; the first under the artifact's key


class CompressingReader:
    """A non-seekable reader of the zstd-compressed form of `source`, hashing what it hands out.

    `tool` is checked when `source` ends: a tool that failed turns the end of the stream into a
    ToolFailedError, so the consumer never mistakes a truncated dump for a whole one.

    With `cut_at`, the stream of one object ends (its frame closed) once about that many bytes
    were handed out for it; `next_object()` then starts the next object's frame.

    `hashed=False` leaves the hashing to a stage after this one (age encryption: what is stored,
    and so checksummed, is its output); `sha256()` and `object_sha256()` then refuse.
    """

    def __init__(
        self,
        source: IO[bytes],
        tool: ToolProcess,
        options: PipelineOptions,
        *,
        on_raw_bytes: Callable[[int], None] | None = None,
        position_from_head: Callable[[bytes], dict[str, Any] | None] | None = None,
        cancel: threading.Event | None = None,
        pacer: Pacer | None = None,
        cut_at: int | None = None,
        hashed: bool = True,
    ) -> None:
        threads = -1 if options.zstd_threads == 0 else options.zstd_threads
        # 512 KiB jobs instead of zstd's default (several MiB per worker at level 3) keep the
        # multi-threaded buffers small: 6 MiB for two workers, 10 with 1 MiB jobs; the ratio
        # and speed measured the same (docs/performance.md).
        parameters = zstandard.ZstdCompressionParameters.from_level(
            options.zstd_level, threads=threads, job_size=ZSTD_JOB_SIZE
        )
        self._compressor = zstandard.ZstdCompressor(compression_params=parameters)
        self._compress = self._compressor.compressobj()
        self._cut_at = cut_at
        self._object_ended = False
        self._hashes = StreamHashes() if hashed else None
        self.object_bytes = 0
        self._source = source
        self._tool = tool
        self._pending = bytearray()
        self._done = False
        self._on_raw_bytes = on_raw_bytes
        self._position_from_head = position_from_head
        self._head = bytearray()
        self._cancel = cancel
        self._pacer = pacer
        self.raw_bytes = 0
        self.stored_bytes = 0
        self.log_position: dict[str, Any] | None = None
        self.last_progress = time.monotonic()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1, /) -> bytes:
        # What is handed out is gathered in a BytesIO, whose value is its own buffer: one copy
        # of the data however large the read (an upload part is 5 MiB), while `_pending` holds
        # at most what one pull compressed.
        out = io.BytesIO()
        if size >= RESERVE_FROM:
            _reserve(out, size)
        while size < 0 or out.tell() < size:
            if self._pending:
                wanted = len(self._pending) if size < 0 else size - out.tell()
                self._hand_out(out, min(wanted, len(self._pending)))
            elif self._done or self._object_ended:
                break
            else:
                self._pull()
        out.truncate(out.tell())  # what was reserved and not filled (the stream's last part)
        return out.getvalue()

    def _hand_out(self, out: io.BytesIO, count: int) -> None:
        with memoryview(self._pending) as view, view[:count] as piece:
            out.write(piece)
            if self._hashes is not None:
                self._hashes.update(piece)
        del self._pending[:count]
        self.stored_bytes += count
        self.object_bytes += count

    @property
    def finished(self) -> bool:
        """The dump ended and every byte of it was handed out."""
        return self._done and not self._pending

    def object_sha256(self) -> str:
        return self._hashed().current_object()

    def _hashed(self) -> StreamHashes:
        if self._hashes is None:
            raise RuntimeError("this stream is not hashed: a later stage hashes what is stored")
        return self._hashes

    def next_object(self) -> None:
        """Start the next object, after the current one was read to its end."""
        if not self._object_ended or self._pending:
            raise RuntimeError("the current object was not read to its end")
        self._compress = self._compressor.compressobj()
        self._object_ended = False
        if self._hashes is not None:
            self._hashes.next_object()
        self.object_bytes = 0

    def _pull(self) -> None:
        if self._cut_at is not None and self.object_bytes + len(self._pending) >= self._cut_at:
            # End this object's frame; what the compressor still held goes into it.
            self._pending += self._compress.flush()
            self._object_ended = True
            return
        if self._cancel is not None and self._cancel.is_set():
            self._tool.kill("was canceled")
            raise CanceledError("the backup was canceled", CANCELED, ErrorKind.CONFLICT)
        chunk = self._source.read1(READ_CHUNK)  # type: ignore[attr-defined]
        if not chunk:
            self._finish()
            return
        self.last_progress = time.monotonic()
        self.raw_bytes += len(chunk)
        self._watch_head(chunk)
        self._pending += self._compress.compress(chunk)
        if self._on_raw_bytes is not None:
            self._on_raw_bytes(self.raw_bytes)
        if self._pacer is not None:
            self._pacer.consumed(len(chunk))
            self.last_progress = time.monotonic()  # a paced wait is not a stall

    def _watch_head(self, chunk: bytes) -> None:
        if self._position_from_head is None or len(self._head) >= HEAD_BYTES:
            return
        self._head += chunk[: HEAD_BYTES - len(self._head)]
        if len(self._head) >= HEAD_BYTES:
            self._read_position()

    def _read_position(self) -> None:
        if self._position_from_head is not None and self.log_position is None:
            self.log_position = self._position_from_head(bytes(self._head))

    def _finish(self) -> None:
        # The dump ended: it counts only if the tool says it succeeded. One stopped because the
        # job was canceled (the stream process stops it at once) ended by the cancel.
        try:
            self._tool.check()
        except ToolFailedError as exc:
            if self._cancel is not None and self._cancel.is_set():
                raise CanceledError(
                    f"the backup was canceled: {exc}", CANCELED, ErrorKind.CONFLICT
                ) from exc
            raise
        self._read_position()
        self._pending += self._compress.flush()
        self._done = True

    def sha256(self) -> str:
        return self._hashed().whole()


def _reserve(out: io.BytesIO, size: int) -> None:
    """Give `out` a buffer of `size` bytes before it is written from its start. Grown write by
    write, it is moved as it passes the size from which blocks get pages of their own
    (`malloc_arenas.LARGE_BLOCK`), holding both copies for a moment: 2 MiB more at the peak of
    a stream process (measured)."""
    out.seek(size - 1)
    out.write(b"\0")
    out.seek(0)


class Progressing(Protocol):
    """Anything that records when its last byte moved (`time.monotonic()`)."""

    last_progress: float


class StallWatchdog:
    """Kills the tool when the reader has seen no new byte for `timeout` seconds.

    A dump (or restore) blocked on a lock or a dead network would otherwise hang "running" for
    hours. `reader` is the CompressingReader of a backup, or the flow of a restore.
    """

    def __init__(self, reader: Progressing, tool: ToolProcess, timeout: float) -> None:
        self._reader = reader
        self._tool = tool
        self._timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> StallWatchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        interval = min(5.0, self._timeout / 4)
        while not self._stop.wait(interval):
            idle = time.monotonic() - self._reader.last_progress
            if idle > self._timeout:
                self._tool.kill(f"stalled: no data for {int(idle)} s, so it was stopped")
                return


def dump_to_storage(
    command: StreamCommand,
    storage: BackupStorage,
    key: str,
    options: PipelineOptions,
    *,
    on_raw_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    on_started: Callable[[ToolProcess], None] | None = None,
) -> ArtifactResult:
    """Run `command` and store its compressed output under `key`.

    Returns sizes and checksums once every object is durably stored: the first under `key`, the
    next ones (when the storage's `cut_at` is reached) under `continuation_key(key, 2...)`.
    Raises ToolFailedError when the dump fails or stalls, CanceledError when `cancel` is set, or
    the storage's error; in every such case no incomplete upload is left, and the objects
    already complete are the caller's to remove (with the backup's folder). `on_started` is
    told of the dump program once it runs.
    """
    with ToolProcess(command.argv, command.env) as tool:
        if on_started is not None:
            on_started(tool)
        reader = CompressingReader(
            tool.stdout,
            tool,
            options,
            on_raw_bytes=on_raw_bytes,
            position_from_head=command.position_from_head,
            cancel=cancel,
            pacer=_pacer(options, cancel),
            cut_at=storage.cut_at,
            hashed=not options.age_recipients,  # the age stage hashes what is stored
        )
        with (
            StallWatchdog(reader, tool, options.stall_timeout_seconds),
            _Guard(command, tool),
            age_stream.encrypting(reader, options.age_recipients, storage.cut_at) as stored,
        ):
            try:
                objects = _store_objects(stored, storage, key, command.expected_bytes)
            except ToolFailedError as exc:
                raise _explained(command, tool, exc) from exc
        log_position = reader.log_position
        if command.position_from_stderr is not None:
            log_position = command.position_from_stderr(tool.stderr_tail().encode())
    return ArtifactResult(
        raw_bytes=reader.raw_bytes,
        stored_bytes=stored.stored_bytes,
        sha256=stored.sha256(),
        log_position=log_position,
        objects=objects,
    )


def _store_objects(
    reader: ObjectStream, storage: BackupStorage, key: str, expected_bytes: int | None
) -> tuple[StoredObject, ...]:
    objects: list[StoredObject] = []
    while True:
        object_key = key if not objects else continuation_key(key, len(objects) + 1)
        storage.put_stream(object_key, reader, expected_bytes)
        objects.append(StoredObject(object_key, reader.object_bytes, reader.object_sha256()))
        if reader.finished:
            return tuple(objects)
        reader.next_object()


def _pacer(options: PipelineOptions, cancel: threading.Event | None) -> Pacer | None:
    if options.max_rate_bytes_per_second is None:
        return None
    # Waiting on the cancel event ends the wait as soon as the backup is canceled.
    wait = cancel.wait if cancel is not None else time.sleep
    return Pacer(options.max_rate_bytes_per_second, now=time.monotonic, wait=wait)


class _Guard:
    """Runs the command's `guard` (see `DumpCommand`) beside the tool until the dump ends."""

    def __init__(self, command: StreamCommand, tool: ToolProcess) -> None:
        self._guard = command.guard
        self._tool = tool
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Guard:
        if self._guard is not None:
            guard = self._guard
            self._thread = threading.Thread(
                target=guard, args=(self._tool.kill, self._stop), daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _explained(command: StreamCommand, tool: ToolProcess, exc: ToolFailedError) -> StrongboxError:
    """The tool's failure in the words of `command.explain_failure`, when it recognises it."""
    if command.explain_failure is None or tool.killed_because is not None:
        return exc
    reason = command.explain_failure(tool.stderr_tail())
    if reason is None:
        return exc
    return ToolFailedError(reason, TOOL_FAILED, ErrorKind.REFUSED)
