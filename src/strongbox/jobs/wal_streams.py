"""The WAL receivers of `strongbox serve`: one supervised thread per database whose
point-in-time recovery is on. Each starts `pg_receivewal` on the database's slot (or, for
MySQL/MariaDB, `mariadb-binlog` where the stored binlog ends), stores each file as it completes
and the partial one every upload interval, restarts the receiver with a growing pause when it
dies, and records the stream's state.

The server starts them with itself and calls `sync()` whenever a stream is turned on or off, and
every `WAL_RESYNC_SECONDS` (a stream turned on through another replica). Only the scheduler
leader runs receivers: two replicas reading one slot (or one binlog) would fight over it or
store every file twice. A replica that stops leading stops its receivers; the new leader
resumes each stream from its slot or from the last stored binlog position.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from strongbox.errors import StrongboxError
from strongbox.services import binlog_streaming, pitr, wal_streaming
from strongbox.services.context import Context
from strongbox.services.wal_uploads import StreamBroken

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how often the spool is looked at for completed segments
OBSERVE_SECONDS = 10.0  # how often the slot is read (at most; and at every partial upload)
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


class WalStreams:
    """Starts, stops and keeps in step the receivers of the enabled streams, while `leads`."""

    def __init__(self, ctx: Context, leads: Callable[[], bool] = lambda: True) -> None:
        self._ctx = ctx
        self._leads = leads
        self._lock = threading.Lock()
        self._running: dict[str, _Supervisor] = {}

    def start(self) -> None:
        self.sync()

    def sync(self, changed: str | None = None) -> None:
        """Start a receiver for each enabled stream that has none, stop those of disabled
        ones (returning once they have ended), and start the one of `changed` afresh (its
        stream was just turned on again: its slot may be new)."""
        with self._lock:
            wanted = pitr.enabled_streams(self._ctx) if self._leads() else set()
            for database in list(self._running):
                if database == changed or database not in wanted:
                    self._running.pop(database).stop()
            for database in sorted(wanted):
                if database not in self._running:
                    supervisor = _Supervisor(self._ctx, database)
                    self._running[database] = supervisor
                    supervisor.start()

    def stop(self) -> None:
        with self._lock:
            for supervisor in self._running.values():
                supervisor.stop()
            self._running.clear()


class _Supervisor:
    def __init__(self, ctx: Context, database: str) -> None:
        self._ctx = ctx
        self._database = database
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"strongbox-wal-{database}", daemon=True
        )
        self._receiver: Receiver | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        receiver = self._receiver
        if receiver is not None:
            receiver.process.kill("was stopped")
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        failures, backoff = 0, BACKOFF_FIRST
        last_failure: str | None = None
        while not self._stop.is_set():
            pause = backoff
            try:
                self._receiver = _open(self._ctx, self._database)
                with self._receiver.process:  # leaving it stops and reaps the receiver
                    if self._run(self._receiver, failures, last_failure):
                        failures, backoff, last_failure = 0, BACKOFF_FIRST, None
                if self._stop.is_set():
                    break
                tail = self._receiver.process.stderr_tail()[-500:]
                name = self._receiver.process.name
                raise StrongboxError(f"{name} ended: {tail or 'no message'}")
            except StreamBroken as exc:  # a person must act: look again now and then
                self._record(failures, last_failure, broken_because=str(exc))
                pause = BACKOFF_MAX
            except StrongboxError as exc:
                failures, last_failure = failures + 1, str(exc)
                log.warning("WAL stream of %s (restarting): %s", self._database, exc)
                self._record(failures, last_failure)
                backoff = min(BACKOFF_MAX, backoff * 2)
            self._stop.wait(pause)

    def _run(self, receiver: Receiver, failures: int, last: str | None) -> bool:
        """Store and observe until the receiver ends or the stream stops; True when anything
        was stored (the receiver works, so earlier failures no longer count)."""
        ctx, interval = self._ctx, receiver.upload_interval_seconds
        next_partial = time.monotonic() + min(interval, POLL_SECONDS * 2)
        next_observe = time.monotonic()
        stored_any = False
        while not self._stop.wait(POLL_SECONDS):
            alive = receiver.process.poll() is None
            now = time.monotonic()
            partial = now >= next_partial or not alive
            if _store(ctx, receiver, partial=partial) > 0:
                stored_any, failures, last = True, 0, None
            if partial:
                next_partial = now + interval
            if partial or now >= next_observe:
                _observe(ctx, receiver, failures, last)
                next_observe = now + OBSERVE_SECONDS
            if not alive:
                break
        else:
            _store(ctx, receiver, partial=True)  # stopping: keep what arrived
        return stored_any

    def _record(self, failures: int, last: str | None, broken_because: str | None = None) -> None:
        try:
            wal_streaming.record(self._ctx, self._database, failures, last, None, broken_because)
        except Exception:  # recording must not end the supervisor
            log.exception("could not record the WAL stream state of %s", self._database)


Receiver = wal_streaming.Receiver | binlog_streaming.BinlogReceiver


def _open(ctx: Context, database: str) -> Receiver:
    if pitr.streams_binlog(ctx, database):
        return binlog_streaming.open_reader(ctx, database)
    return wal_streaming.open_receiver(ctx, database)


def _store(ctx: Context, receiver: Receiver, *, partial: bool) -> int:
    if isinstance(receiver, binlog_streaming.BinlogReceiver):
        return binlog_streaming.store(ctx, receiver, partial=partial)
    return wal_streaming.store(ctx, receiver, partial=partial)


def _observe(ctx: Context, receiver: Receiver, failures: int, last: str | None) -> None:
    if isinstance(receiver, binlog_streaming.BinlogReceiver):
        binlog_streaming.observe(ctx, receiver, failures, last)
    else:
        wal_streaming.observe(ctx, receiver, failures, last)
