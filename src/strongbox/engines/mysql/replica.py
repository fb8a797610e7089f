"""A MariaDB (or MySQL) replica as the source of dumps, and what a backup costs its source.

- `check_standby`: the source must replicate, both threads running, from the registered
  server: its source's server id is the registered server's `server_id` (and not its own).
  The lag is `Seconds_Behind_Master`.
- `activity_counters`: the `Questions` and `Innodb_rows_read` status counters.
- `lock_guard`: mariadb-dump has no option for its session's `lock_wait_timeout`, so a guard
  watches the dump's session in the process list and ends it, with a reason naming the table,
  when it has waited longer than the limit for a metadata lock.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import pymysql
from pymysql.connections import Connection

from strongbox.engines.base import SOURCE_NOT_STANDBY, ConnectionInfo, StandbyState
from strongbox.engines.mysql.connection import connect, fetch_all
from strongbox.errors import StrongboxError, refused

log = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 1.0
# mariadb-dump reads each table with this comment in its SELECT, which tells its session
# apart from the application's.
_DUMP_SELECT_MARK = "/*!40001 SQL_NO_CACHE */"
_FROM_TABLE = re.compile(r"FROM\s+(`(?:[^`]|``){1,200}`)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _status(db: Connection[Any]) -> dict[str, Any] | None:
    """The replica status as a column -> value map, or None when the server replicates from
    nowhere."""
    with db.cursor() as cursor:
        try:
            cursor.execute("SHOW REPLICA STATUS")
        except pymysql.err.ProgrammingError:  # before MariaDB 10.5.1 and MySQL 8.0.22
            cursor.execute("SHOW SLAVE STATUS")
        row = cursor.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cursor.description or ()]
    return dict(zip(names, row, strict=True))


def _field(status: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in status:
            return status[name]
    return None


def check_standby(primary: ConnectionInfo, source: ConnectionInfo, timeout: float) -> StandbyState:
    """See `Engine.check_standby`."""
    where = f"{source.host}:{source.port}"
    with connect(primary, timeout) as db:
        primary_id, primary_port = (int(v) for v in fetch_all(db, "SELECT @@server_id, @@port")[0])
    with connect(source, timeout) as db:
        own_id = int(fetch_all(db, "SELECT @@server_id")[0][0])
        status = _status(db)
    if status is None or own_id == primary_id:
        raise refused(
            f"the backup source {where} is not a replica (it replicates from no server): "
            "give the address of a replica of this server, or remove backup_source to back "
            "up the primary",
            SOURCE_NOT_STANDBY,
            field_name="backup_source",
        )
    master_id = _field(status, "Master_Server_Id", "Source_Server_Id")
    master_port = _field(status, "Master_Port", "Source_Port")
    # Server ids are only unique within one replication topology, so the port is compared too.
    if (master_id, master_port) != (primary_id, primary_port):
        raise refused(
            f"the backup source {where} replicates from another server (server id "
            f"{master_id} on port {master_port}; this server is id {primary_id} on port "
            f"{primary_port}), so its data is not this server's; give the address of a "
            "replica of this server",
            SOURCE_NOT_STANDBY,
            field_name="backup_source",
        )
    io = _field(status, "Slave_IO_Running", "Replica_IO_Running")
    sql = _field(status, "Slave_SQL_Running", "Replica_SQL_Running")
    if io != "Yes" or sql != "Yes":
        raise refused(
            f"the backup source {where} is a replica of this server but its replication is "
            f"stopped (IO thread: {io}, SQL thread: {sql}), so it falls behind: run START "
            "REPLICA (START SLAVE) there, or remove backup_source to back up the primary",
            SOURCE_NOT_STANDBY,
            field_name="backup_source",
        )
    lag = _field(status, "Seconds_Behind_Master", "Seconds_Behind_Source")
    return StandbyState(lag_seconds=None if lag is None else float(lag))


def activity_counters(conn: ConnectionInfo, timeout: float) -> dict[str, int]:
    """The server's statements (`Questions`) and InnoDB rows read since it started."""
    with connect(conn, timeout) as db:
        rows = fetch_all(
            db,
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Innodb_rows_read')",
        )
    values = {str(name): int(value) for name, value in rows}
    return {"questions": values.get("Questions", 0), "rows_read": values.get("Innodb_rows_read", 0)}


def lock_guard(
    conn: ConnectionInfo, dbname: str, timeout_seconds: int
) -> Callable[[Callable[[str], None], threading.Event], None]:
    """A `DumpCommand.guard` that ends the dump of `dbname` once its session has waited more
    than `timeout_seconds` for a metadata lock: the session is killed on the server (a query
    waiting for a lock does not notice its client leaving) and the program is stopped with a
    reason that names the table and the statement that holds or awaits the lock."""

    def guard(kill: Callable[[str], None], stop: threading.Event) -> None:
        while not stop.wait(LOCK_POLL_SECONDS):
            try:
                reason = _stop_if_waited_too_long(conn, dbname, timeout_seconds, kill)
            except StrongboxError as exc:
                # The dump itself reports a server that went away; the guard only watches.
                log.warning("the lock guard of the dump of %s could not look: %s", dbname, exc)
                continue
            if reason is not None:
                return

    return guard


def _stop_if_waited_too_long(
    conn: ConnectionInfo, dbname: str, limit: int, kill: Callable[[str], None]
) -> str | None:
    with connect(conn, 10.0) as db:
        sessions = fetch_all(
            db,
            "SELECT ID, TIME, STATE, INFO FROM information_schema.PROCESSLIST"
            " WHERE DB = %s AND ID <> CONNECTION_ID()",
            (dbname,),
        )
        for session_id, waited, state, info in sessions:
            text = str(info or "")
            if _DUMP_SELECT_MARK not in text or "lock" not in str(state or "").lower():
                continue
            if int(waited or 0) < limit:
                return None
            reason = _lock_reason(dbname, text, str(state), limit, sessions, int(session_id))
            # The program is stopped with the reason first: killed on the server first, the
            # dump would exit on its own with "lost connection" and that would be the reason.
            kill(reason)
            fetch_all(db, f"KILL CONNECTION {int(session_id)}")
            return reason
    return None


def _lock_reason(
    dbname: str, info: str, state: str, limit: int, sessions: list[Any], dump_id: int
) -> str:
    found = _FROM_TABLE.search(info)
    table = found.group(1) if found else "a table"
    holders = [
        f"session {int(sid)} running {_clean(str(text))[:80]!r}"
        for sid, _, _, text in sessions
        if sid != dump_id and text and _DUMP_SELECT_MARK not in str(text)
    ]
    by = f" ({'; '.join(holders[:3])})" if holders else ""
    return (
        f"waited more than {limit} s (lock_timeout_seconds) for the metadata lock on table "
        f"{table} of database {dbname!r} ({_clean(state)}): DDL such as ALTER TABLE holds or "
        f"awaits it{by}. The backup stopped rather than queue behind it and block the "
        "statements after it; let that statement finish, or raise lock_timeout_seconds"
    )


def _clean(text: str) -> str:
    """A database's answer, on one line, for a message."""
    return _CONTROL.sub(" ", text).strip()
