"""Which replica leads: the one that runs the scheduler and the leader-only periodic checks.

On PostgreSQL the leader is the replica holding a session advisory lock, taken with
`pg_try_advisory_lock` on a connection of its own (never one of the pool, which would hand the
lock to whichever request borrowed it next). Standbys try again every few seconds. The lock ends
with its connection: a leader that dies or is killed closes its socket, and one that vanishes
from the network is noticed by the catalog server through TCP keepalives set on that connection,
so a standby takes over within `retry_seconds` of that. The leader checks its connection at the
same pace and stops leading when it is gone. With SQLite there is one process, and it leads.

Slot exactly-once does not rest on this: the catalog's unique (schedule, slot) rows keep it even
for two leaders at once (e.g. for the seconds a cut-off leader needs to notice).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from sqlalchemy import Engine

from strongbox.catalog.db import Catalog, postgresql_connect_defaults

log = logging.getLogger(__name__)

# Key of the scheduler's advisory lock (a fixed number: 0x5342 is "SB"; catalog/db.py has the
# migrations' one). Advisory locks are per database: other catalogs on the server do not share it.
LEADER_LOCK_KEY = 0x5342_0002
RETRY_SECONDS = 5.0
# TCP settings of the lock connection, on both ends. The server's (sent as options) let it drop
# the connection, and so free the lock, about 11 s after the leader's host stopped answering;
# the client's let the leader's own check fail as fast instead of waiting minutes.
KEEPALIVE_IDLE_SECONDS = 5
KEEPALIVE_INTERVAL_SECONDS = 2
KEEPALIVE_COUNT = 3
TCP_USER_TIMEOUT_MS = 10_000


class Leadership(Protocol):
    def is_leader(self) -> bool:
        """Whether this process leads now; leader-only work asks before each step."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class SoleLeader:
    """The single process of an SQLite catalog: always the leader."""

    def __init__(self, on_change: Callable[[bool], None] = lambda leading: None) -> None:
        self._on_change = on_change

    def is_leader(self) -> bool:
        return True

    def start(self) -> None:
        log.info("scheduler leadership: this process leads (one process on an SQLite catalog)")
        self._on_change(True)

    def stop(self) -> None:
        pass


class AdvisoryLockLeader:
    """Leadership by a PostgreSQL advisory lock on a dedicated connection made by `connect`.

    `step()` is one look (try the lock, or check that the connection holding it lives); the
    thread runs it every `retry_seconds`. `on_change(leading)` is called on each change, from
    that thread (or from `start()` for the first look)."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        on_change: Callable[[bool], None] = lambda leading: None,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._connect = connect
        self._on_change = on_change
        self._retry_seconds = retry_seconds
        self._connection: psycopg.Connection[Any] | None = None
        self._leading = False
        self._told_standby = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="strongbox-leadership", daemon=True)

    def is_leader(self) -> bool:
        return self._leading

    def start(self) -> None:
        self.step()  # a first look now, so that a lone replica leads from its start
        self._thread.start()

    def stop(self) -> None:
        """Stop looking and give the lead up (closing the connection frees the lock)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        was_leading = self._leading
        self._leading = False
        self._close()
        if was_leading:
            log.info("scheduler leadership: given up at stop")

    def step(self) -> None:
        try:
            if self._connection is None:
                self._connection = self._connect()
            if self._leading:
                self._connection.execute("SELECT 1")
                return
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)
            ).fetchone()
        except psycopg.Error as exc:
            self._close()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if self._leading:
                self._change(False)
                log.warning(
                    "scheduler leadership: lost, the lock's connection to the catalog failed "
                    "(%s); trying again every %g s",
                    reason,
                    self._retry_seconds,
                )
            else:
                log.warning(
                    "scheduler leadership: cannot reach the catalog to take the lead (%s)", reason
                )
            return
        if row is not None and row[0]:
            log.info("scheduler leadership: this replica leads (advisory lock on the catalog)")
            self._told_standby = False
            self._change(True)
        elif not self._told_standby:
            log.info(
                "scheduler leadership: standby, another replica leads; trying every %g s",
                self._retry_seconds,
            )
            self._told_standby = True

    def _change(self, leading: bool) -> None:
        self._leading = leading
        try:
            self._on_change(leading)
        except Exception:  # a listener's failure must not end the leadership thread
            log.exception("a listener of the scheduler leadership failed")

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):  # already broken: nothing more to free
                connection.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._retry_seconds):
            self.step()


def lock_connection_factory(engine: Engine) -> Callable[[], psycopg.Connection[Any]]:
    """A function that opens a new connection (outside the engine's pool) to the catalog
    `engine` reaches, in autocommit, with the keepalive settings above on both ends."""
    _args, params = engine.dialect.create_connect_args(engine.url)
    params.pop("context", None)  # SQLAlchemy's adapters: this connection uses psycopg's own
    url_text = engine.url.render_as_string(hide_password=False)
    params = {**postgresql_connect_defaults(url_text), **params}
    server_side = (
        f"-c tcp_keepalives_idle={KEEPALIVE_IDLE_SECONDS} "
        f"-c tcp_keepalives_interval={KEEPALIVE_INTERVAL_SECONDS} "
        f"-c tcp_keepalives_count={KEEPALIVE_COUNT} "
        f"-c tcp_user_timeout={TCP_USER_TIMEOUT_MS}"
    )
    given_options = params.get("options")
    params["options"] = f"{given_options} {server_side}" if given_options else server_side
    params |= {
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
        "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
        "keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    }

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(**params, autocommit=True)

    return connect


def leadership_for(
    catalog: Catalog, on_change: Callable[[bool], None] = lambda leading: None
) -> Leadership:
    """The leadership of a replica on `catalog`: the advisory lock on PostgreSQL, else sole."""
    if catalog.is_postgresql:
        return AdvisoryLockLeader(lock_connection_factory(catalog.engine), on_change)
    return SoleLeader(on_change)
