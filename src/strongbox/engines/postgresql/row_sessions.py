"""A data section loaded by several sessions at once, each table's rows shared among them.

`pg_restore` loads a table's rows through one session, so a restore whose size is mostly one
table takes as long as one backend needs to load it, however many cores the server has. Here
`pg_restore -f -` turns the data section into its script (`copy_script` reads it), and the rows
of each table are handed out in pieces of whole lines to whichever session is free; each opens
its own COPY into the table on the first piece it takes. The rows of a table are independent of
each other (its indexes and constraints come afterwards, in the post-data section), so several
COPYs into one table load the same rows, in another physical order.

Statements that set up a session (encoding, search path) run in every session; the others
(sequence values, large objects) run in the first, in the script's order. Every failure stops
the whole load: a session the database refuses, a script this reader does not accept, a
database that takes nothing for the stall timeout."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Any

import psycopg

from strongbox.engines.base import ConnectionInfo
from strongbox.engines.postgresql.connection import Pg, connect, scalar
from strongbox.engines.postgresql.copy_script import (
    CopyEnd,
    CopyStart,
    Rows,
    ScriptReader,
    Statement,
)
from strongbox.errors import ErrorKind, StrongboxError

ROWS_FAILED = "rows-load-failed"
ROWS_STALLED = "rows-load-stalled"
READ_SIZE = 1024 * 1024  # of the script, at a time
_WAIT = 0.5  # how often a waiting thread looks whether the load was stopped
_CANCEL_SECONDS = 5.0  # to cancel a session's statement once the load failed
_JOIN_SECONDS = 30.0  # for the sessions to end once the load failed and they were canceled


# A name with a line break would put a COPY statement on several lines of the script.
_NAMES_ON_ONE_LINE = """
SELECT NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relname ~ %(breaks)s OR n.nspname ~ %(breaks)s)
   AND NOT EXISTS (SELECT FROM pg_attribute WHERE attnum > 0 AND attname ~ %(breaks)s)
"""


def names_fit_on_one_line(pg: Pg) -> bool:
    """Whether every schema, relation and column name of the connected database is free of
    line breaks, as the script reader needs of the COPY statements."""
    return bool(scalar(pg, _NAMES_ON_ONE_LINE, {"breaks": "[\r\n]"}))


@contextmanager
def session(conn: ConnectionInfo, database: str, timeout: float) -> Iterator[Pg]:
    """A session loading rows into `database`: no statement timeout (a table's share of rows
    takes as long as it takes; a database that takes nothing is the stall timeout's)."""
    with connect(conn, timeout, dbname=database) as pg:
        pg.execute("SET statement_timeout = 0")
        yield pg


@dataclass
class _Table:
    """One table's COPY: its pieces of rows, then one end marker per session."""

    sql: bytes
    pieces: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(maxsize=4))

    @property
    def name(self) -> str:
        target = self.sql[len(b"COPY ") : -len(b" FROM stdin;")]
        return target.split(b" (", 1)[0].decode("utf-8", "replace").strip()


class _LongLine:
    """The pieces of one line too long to hold whole; the session that takes it writes them
    all, so that the line reaches one COPY unbroken."""

    def __init__(self) -> None:
        self.pieces: queue.Queue[Any] = queue.Queue(maxsize=4)


_END = object()  # of a table's rows (one per session), of a long line, of the script


class _Stopped(Exception):
    """Another thread failed: this one stops too."""


class _Load:
    def __init__(
        self, sessions: int, stall_seconds: float, stop_reading: Callable[[], None]
    ) -> None:
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.stall = stall_seconds
        self.inboxes: list[queue.Queue[Any]] = [queue.Queue(maxsize=64) for _ in range(sessions)]
        self._stop_reading = stop_reading
        self._open: list[Pg] = []
        self._lock = threading.Lock()

    def opened(self, pg: Pg) -> None:
        with self._lock:
            self._open.append(pg)
            stopped = self.stop.is_set()
        if stopped:
            raise _Stopped

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if not isinstance(exc, _Stopped):
                self.failures.append(exc)
            if self.stop.is_set():
                return
            self.stop.set()
            sessions = list(self._open)
        self._stop_reading()  # the reader may be waiting for the script: it ends now
        for pg in sessions:  # a session may wait on the database (a lock): it ends now
            with suppress(psycopg.Error):
                pg.cancel_safe(timeout=_CANCEL_SECONDS)

    def put(self, box: queue.Queue[Any], item: object) -> None:
        """Hand `item` on, waiting while the sessions are busy; raises _Stopped when the load
        was stopped, and a stall error when no session took anything for the stall timeout."""
        waited_since = time.monotonic()
        while not self.stop.is_set():
            try:
                box.put(item, timeout=_WAIT)
                return
            except queue.Full:
                if time.monotonic() - waited_since > self.stall:
                    raise StrongboxError(
                        f"the database took no rows for {int(self.stall)} s, so the restore "
                        "was stopped",
                        ROWS_STALLED,
                        ErrorKind.REFUSED,
                    ) from None
        raise _Stopped

    def take(self, box: queue.Queue[Any]) -> Any:
        while not self.stop.is_set():
            try:
                return box.get(timeout=_WAIT)
            except queue.Empty:
                continue
        raise _Stopped


def load_rows(
    script: IO[bytes],
    open_session: Callable[[], AbstractContextManager[Pg]],
    sessions: int,
    stall_seconds: float,
    stop_reading: Callable[[], None],
) -> None:
    """Run the data-section script read from `script` through `sessions` sessions at once
    (`open_session` opens one on the restored database). Raises the first failure, after
    calling `stop_reading` (which ends the program writing the script)."""
    load = _Load(max(1, sessions), stall_seconds, stop_reading)
    workers = [
        threading.Thread(
            target=_session, args=(load, inbox, open_session), daemon=True, name="rows-session"
        )
        for inbox in load.inboxes
    ]
    for worker in workers:
        worker.start()
    try:
        _hand_out(script, load)
        for inbox in load.inboxes:
            load.put(inbox, _END)
    except BaseException as exc:
        load.fail(exc)
    for worker in workers:
        # Once it failed, a session cut off from its server is not waited for long.
        worker.join(_JOIN_SECONDS if load.stop.is_set() else None)
    if load.failures:
        raise load.failures[0]


def _hand_out(script: IO[bytes], load: _Load) -> None:
    reader = ScriptReader()
    table: _Table | None = None
    long_line: _LongLine | None = None
    for data in iter(lambda: script.read(READ_SIZE), b""):
        for event in reader.feed(data):
            if isinstance(event, Statement):
                for inbox in load.inboxes if event.every_session else load.inboxes[:1]:
                    load.put(inbox, event.sql)
            elif isinstance(event, CopyStart):
                table = _Table(event.sql)
                for inbox in load.inboxes:
                    load.put(inbox, table)
            elif isinstance(event, Rows):
                assert table is not None
                if long_line is None and event.continued:
                    long_line = _LongLine()
                    load.put(table.pieces, long_line)
                if long_line is None:
                    load.put(table.pieces, event.data)
                    continue
                load.put(long_line.pieces, event.data)
                if not event.continued:
                    load.put(long_line.pieces, _END)
                    long_line = None
            elif isinstance(event, CopyEnd):
                assert table is not None
                for _ in load.inboxes:
                    load.put(table.pieces, _END)
    reader.end()


def _session(
    load: _Load, inbox: queue.Queue[Any], open_session: Callable[[], AbstractContextManager[Pg]]
) -> None:
    try:
        with open_session() as pg:
            load.opened(pg)
            while (item := load.take(inbox)) is not _END:
                if isinstance(item, _Table):
                    _copy(pg, item, load)
                else:
                    pg.execute(item)
    except BaseException as exc:  # handed to the caller, which raises it
        load.fail(exc)


def _copy(pg: Pg, table: _Table, load: _Load) -> None:
    """This session's share of `table`: the pieces it takes until its end marker. The COPY is
    opened on the first piece, so a small table is loaded by one session only."""
    try:
        with ExitStack() as stack:
            copy = None
            while (piece := load.take(table.pieces)) is not _END:
                if copy is None:
                    copy = stack.enter_context(pg.cursor().copy(table.sql))
                for part in _parts(piece, load):
                    copy.write(part)
    except psycopg.Error as exc:
        raise StrongboxError(
            f"loading the rows of {table.name} failed: {exc}".strip(),
            ROWS_FAILED,
            ErrorKind.REFUSED,
        ) from None


def _parts(piece: object, load: _Load) -> Iterator[bytes]:
    if isinstance(piece, _LongLine):
        while (part := load.take(piece.pieces)) is not _END:
            yield part
    else:
        assert isinstance(piece, bytes)
        yield piece
