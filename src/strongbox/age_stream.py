"""The age stage of the backup and restore streams: encrypting compressed bytes to recipients on
their way to the storage, and decrypting them on their way back. Nothing is written to disk.

pyrage's streaming functions, `encrypt_io(reader, writer, recipients)` and
`decrypt_io(reader, writer, identities)`, copy a whole stream from a reader to a writer, in
8 KiB reads and 64 KiB (encrypting) or 8 KiB (decrypting) writes. Both streams of Strongbox pull
(the storage pulls the backup stream, the restore tool is fed from an iterator), so each runs
pyrage in a thread of its own between a reader on one side and a small bounded queue on the
other: memory stays at a few MiB. pyrage lets go of the GIL while it works, so the two threads
do run side by side; what costs is every handoff and every copy of the bytes. So pyrage's
writes are gathered as they are, uncopied, and handed over 1 MiB at a time; the consumer joins
them once into what it hands out (benchmarks/age_stage.py measures the stage).

An artifact is ONE age stream, whatever the number of objects it is stored as: the encrypted
stream is cut into objects at `cut_at` stored bytes, so `cat` of the objects in order is what
`age -d` reads (the zstd frames inside may end anywhere; `zstd -d` reads across frames).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from strongbox.errors import ErrorKind, StrongboxError
from strongbox.stream_hashes import StreamHashes

if TYPE_CHECKING:
    # pyrage is imported where it is used: a backup stream without recipients never loads it
    # (its library is about 1 MiB of a stream process's memory).
    from pyrage import x25519

SUFFIX = ".age"
QUEUE_CHUNKS = 4  # of HANDOFF_BYTES each: a few MiB in flight at most
# pyrage writes 64 KiB (encrypting) or 8 KiB (decrypting) at a time; handing its writes over in
# lists of about 1 MiB saves most of the queue operations and thread switches.
HANDOFF_BYTES = 1024 * 1024
PLAIN_CHUNK = 1024 * 1024
DECRYPT_FAILED = "age-decrypt-failed"
_END = object()
_WAIT = 0.5  # seconds between looks at the stop flag while a queue is full or empty
# How long a stream that was given up waits for its pyrage thread: the thread may be blocked in a
# read (a dump program, a storage) that ends on its own soon after, when the program is stopped
# or the read-ahead gives up; it is a daemon thread and never outlives that read.
_JOIN_SECONDS = 5.0


class ObjectStream(Protocol):
    """The stream the storage stores an artifact from, one object after the other (the
    compressed stream of `pipeline.CompressingReader`, or its encrypted form here)."""

    stored_bytes: int
    object_bytes: int

    def read(self, size: int = -1, /) -> bytes: ...

    @property
    def finished(self) -> bool: ...

    def object_sha256(self) -> str: ...

    def next_object(self) -> None: ...

    def sha256(self) -> str: ...


class _Stopped(Exception):
    """The consumer went away; the thread's copy ends."""


class _Handoff:
    """A bounded queue between a pyrage thread and the consumer, that either side can stop."""

    def __init__(self) -> None:
        self.items: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self.stop = threading.Event()
        self._gathered: list[bytes] = []
        self._gathered_bytes = 0

    def put(self, item: object) -> None:
        while not self.stop.is_set():
            try:
                self.items.put(item, timeout=_WAIT)
                return
            except queue.Full:
                continue
        raise _Stopped

    def write(self, data: bytes) -> int:  # pyrage's writer
        # pyrage hands a new bytes object to each write: kept as it is, not copied.
        self._gathered.append(data if isinstance(data, bytes) else bytes(data))
        self._gathered_bytes += len(data)
        if self._gathered_bytes >= HANDOFF_BYTES:
            self._hand_over()
        return len(data)

    def _hand_over(self) -> None:
        pieces, self._gathered, self._gathered_bytes = self._gathered, [], 0
        self.put(pieces)

    def flush(self) -> None:
        pass

    def end(self) -> None:
        """Hand over what is gathered, then the end of the stream."""
        if self._gathered:
            self._hand_over()
        self.put(_END)


class EncryptingReader:
    """The age-encrypted form of `inner`'s bytes (all its objects, as one age stream), cut
    into objects of `cut_at` bytes; hashes what it hands out, as `CompressingReader` does."""

    def __init__(self, inner: ObjectStream, recipients: Sequence[str], cut_at: int | None) -> None:
        from pyrage import x25519

        self._inner = inner
        self._recipients = [x25519.Recipient.from_str(r) for r in recipients]
        self._cut_at = cut_at
        self._handoff = _Handoff()
        self._thread = threading.Thread(target=self._encrypt, name="strongbox-age", daemon=True)
        self._started = False
        self._failure: BaseException | None = None
        self._pending = _Pieces()
        self._done = False
        self._hashes = StreamHashes()
        self.stored_bytes = 0
        self.object_bytes = 0

    # --- the pyrage thread ---

    def _encrypt(self) -> None:
        import pyrage

        try:
            pyrage.encrypt_io(_PlainReader(self), self._handoff, self._recipients)
            self._handoff.end()
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer, which raises it
            with contextlib.suppress(_Stopped):
                self._handoff.put(self._failure or exc)

    def plain(self, size: int) -> bytes:
        """The inner stream's next bytes, across its objects (called by the pyrage thread)."""
        try:
            while True:
                data = self._inner.read(size)
                if data or self._inner.finished:
                    return data
                self._inner.next_object()  # an inner frame ended at its cut; the stream goes on
        except BaseException as exc:
            self._failure = exc  # pyrage reports it as EncryptError; the consumer gets this
            raise

    # --- the consumer ---

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1, /) -> bytes:
        room = self._room()
        want = room if size < 0 else min(size, room)
        while not self._done and self._pending.size < want:
            self._take()
        out = self._pending.take(want)
        self._hashes.update(out)
        self.stored_bytes += len(out)
        self.object_bytes += len(out)
        return out

    def _room(self) -> int:
        if self._cut_at is None:
            return 1 << 62
        return max(0, self._cut_at - self.object_bytes)

    def _take(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()
        item = self._handoff.items.get()
        if item is _END:
            self._done = True
        elif isinstance(item, BaseException):
            self._done = True
            raise item
        else:
            assert isinstance(item, list)
            self._pending.extend(item)

    @property
    def finished(self) -> bool:
        """Every encrypted byte was handed out (looks ahead so that no empty object follows)."""
        while not self._done and not self._pending.size:
            self._take()
        return self._done and not self._pending.size

    def object_sha256(self) -> str:
        return self._hashes.current_object()

    def next_object(self) -> None:
        if self._room() > 0:
            raise RuntimeError("the current object was not read to its end")
        self._hashes.next_object()
        self.object_bytes = 0

    def sha256(self) -> str:
        return self._hashes.whole()

    def close(self) -> None:
        """Stop the pyrage thread (when the stream was not read to its end)."""
        self._handoff.stop.set()
        if self._started:
            self._thread.join(timeout=_JOIN_SECONDS)


class _Pieces:
    """The encrypted bytes handed over and not yet handed out, as pyrage wrote them."""

    def __init__(self) -> None:
        self._pieces: deque[bytes | memoryview] = deque()
        self.size = 0

    def extend(self, pieces: list[bytes]) -> None:
        self._pieces.extend(pieces)
        self.size += sum(map(len, pieces))

    def take(self, size: int) -> bytes:
        """The next `size` bytes (fewer when fewer are held), copied once."""
        taken: list[bytes | memoryview] = []
        left = min(size, self.size)
        self.size -= left
        while left:
            piece = self._pieces.popleft()
            if len(piece) > left:  # the rest of it stays for the next read
                view = memoryview(piece)
                self._pieces.appendleft(view[left:])
                piece = view[:left]
            taken.append(piece)
            left -= len(piece)
        if len(taken) == 1 and isinstance(taken[0], bytes):
            return taken[0]
        return b"".join(taken)


class _PlainReader:
    """pyrage's reader: hands out the inner stream in the small reads pyrage asks for, from
    larger reads of the inner stream."""

    def __init__(self, owner: EncryptingReader) -> None:
        self._owner = owner
        self._buffer = b""
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        if self._at >= len(self._buffer):
            self._buffer, self._at = self._owner.plain(max(size, PLAIN_CHUNK)), 0
        out = self._buffer[self._at : self._at + size] if size >= 0 else self._buffer[self._at :]
        self._at += len(out)
        return out


@contextlib.contextmanager
def encrypting(
    stream: ObjectStream, recipients: Sequence[str], cut_at: int | None
) -> Iterator[ObjectStream]:
    """`stream` as the storage should store it: encrypted to `recipients`, or `stream` itself
    when there are none."""
    if not recipients:
        yield stream
        return
    encrypted = EncryptingReader(stream, recipients, cut_at)
    try:
        yield encrypted
    finally:
        encrypted.close()


def decrypted(
    chunks: Iterator[bytes], identities: Sequence[x25519.Identity], what: str
) -> Iterator[bytes]:
    """The plaintext of the age stream `chunks`, decrypted in memory.

    Raises what `chunks` raises (a checksum mismatch, a stall), and StrongboxError
    (DECRYPT_FAILED) when the identities open none of its recipients' stanzas or the stream is
    damaged or cut short (age authenticates every 64 KiB chunk)."""
    import pyrage

    handoff = _Handoff()
    source = _ChunkReader(chunks)

    def run() -> None:
        try:
            pyrage.decrypt_io(source, handoff, list(identities))
            handoff.end()
        except _Stopped:
            return
        except BaseException as exc:
            with contextlib.suppress(_Stopped):
                handoff.put(source.failure or _decrypt_failed(what, exc))

    thread = threading.Thread(target=run, name="strongbox-age", daemon=True)
    thread.start()
    try:
        while (item := handoff.items.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, list)
            yield b"".join(item)
    finally:
        handoff.stop.set()
        thread.join(timeout=_JOIN_SECONDS)
        close = getattr(chunks, "close", None)
        if close is not None and not thread.is_alive():  # else it is still reading them
            close()


def _decrypt_failed(what: str, exc: BaseException) -> StrongboxError:
    import pyrage

    if isinstance(exc, pyrage.DecryptError):
        reason = f"the identity opens none of its recipients' keys ({exc})"
    else:
        reason = "it is damaged, changed or cut short"
    return StrongboxError(
        f"{what} could not be decrypted with age: {reason}; it was not restored",
        DECRYPT_FAILED,
        ErrorKind.REFUSED,
    )


class _ChunkReader:
    """pyrage's reader over an iterator of chunks; keeps the iterator's own error."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._at = 0
        self.failure: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        if self._at >= len(self._buffer):
            try:
                self._buffer, self._at = next(self._chunks, b""), 0
            except BaseException as exc:
                self.failure = exc
                raise
        out = self._buffer[self._at : self._at + size] if size >= 0 else self._buffer[self._at :]
        self._at += len(out)
        return out


def encrypt_bytes(data: bytes, recipients: Sequence[str]) -> bytes:
    """`data` as one age stream to `recipients` (a stored WAL or binlog file: small enough to
    be held in memory whole, as its compression already is)."""
    import pyrage
    from pyrage import x25519

    return bytes(pyrage.encrypt(data, [x25519.Recipient.from_str(r) for r in recipients]))
