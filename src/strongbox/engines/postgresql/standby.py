"""A PostgreSQL standby as the source of dumps, and what a backup costs its source.

- `check_standby`: the source must be in recovery (a standby) of the same cluster as the
  registered primary: the same system identifier, which every standby made from the primary
  keeps. Its lag is how long ago the last transaction it replayed was committed, or 0 when it
  has replayed everything it received.
- `activity_counters`: `pg_stat_database` transactions and blocks read, summed over the cluster.
- `lock_failure`: pg_dump's words when `--lock-wait-timeout` ran out, turned into a reason that
  names the table and the lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from strongbox.engines.base import SOURCE_NOT_STANDBY, ConnectionInfo, StandbyState
from strongbox.engines.postgresql.connection import Pg, connect, scalar
from strongbox.errors import refused

_LOCK_QUERY = re.compile(r"Query was: LOCK TABLE (\S{1,600}) IN (ACCESS SHARE) MODE")
_TIMED_OUT = "canceling statement due to statement timeout"

# Seconds behind the primary: 0 when everything received is replayed (an idle primary sends
# nothing, and the last replayed commit may be old without any lag).
_LAG = """
SELECT CASE
    WHEN pg_last_wal_receive_lsn() IS NOT NULL
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
END"""


def system_identifier(pg: Pg) -> str:
    return str(scalar(pg, "SELECT system_identifier FROM pg_control_system()"))


def check_standby(primary: ConnectionInfo, source: ConnectionInfo, timeout: float) -> StandbyState:
    """See `Engine.check_standby`."""
    where = f"{source.host}:{source.port}"
    with connect(primary, timeout) as pg:
        primary_id = system_identifier(pg)
    with connect(source, timeout) as pg:
        in_recovery = bool(scalar(pg, "SELECT pg_is_in_recovery()"))
        source_id = system_identifier(pg)
        lag = scalar(pg, _LAG) if in_recovery else None
    if not in_recovery:
        raise refused(
            f"the backup source {where} is not a standby (pg_is_in_recovery() is false): a "
            "primary there would take the backup's load itself; give the address of a "
            "standby of this server, or remove backup_source to back up the primary",
            SOURCE_NOT_STANDBY,
            field_name="backup_source",
        )
    if source_id != primary_id:
        raise refused(
            f"the backup source {where} is a standby of another cluster (system identifier "
            f"{source_id}, this server's is {primary_id}), so its data is not this server's; "
            "give the address of a standby made from this server",
            SOURCE_NOT_STANDBY,
            field_name="backup_source",
        )
    return StandbyState(lag_seconds=None if lag is None else max(0.0, float(lag)))


def activity_counters(conn: ConnectionInfo, timeout: float) -> dict[str, int]:
    """Transactions (commits and rollbacks) and blocks read from disk, summed over the
    cluster's databases."""
    with connect(conn, timeout) as pg:
        row = pg.execute(
            "SELECT coalesce(sum(xact_commit + xact_rollback), 0), coalesce(sum(blks_read), 0)"
            " FROM pg_stat_database"
        ).fetchone()
    assert row is not None
    return {"transactions": int(row[0]), "blocks_read": int(row[1])}


def lock_failure(timeout_seconds: int) -> Callable[[str], str | None]:
    """A `DumpCommand.explain_failure` for pg_dump run with `--lock-wait-timeout`."""

    def explain(stderr_tail: str) -> str | None:
        """The reason, when pg_dump gave up waiting for a table lock.

        >>> explain = lock_failure(5)
        >>> print(explain("pg_dump: error: query failed: ERROR:  canceling statement due to "
        ...     "statement timeout\\npg_dump: detail: Query was: LOCK TABLE public.t IN ACCESS "
        ...     "SHARE MODE"))  # doctest: +NORMALIZE_WHITESPACE
        pg_dump waited more than 5 s (lock_timeout_seconds) for an ACCESS SHARE lock on table
        public.t: another session holds a conflicting lock on it (an ACCESS EXCLUSIVE lock,
        taken by ALTER TABLE, DROP, TRUNCATE, VACUUM FULL or LOCK TABLE). The backup stopped
        rather than queue behind that session and block the statements after it; let that
        session finish, or raise lock_timeout_seconds
        """
        found = _LOCK_QUERY.search(stderr_tail)
        if found is None or _TIMED_OUT not in stderr_tail:
            return None
        table, mode = found.group(1), found.group(2)
        return (
            f"pg_dump waited more than {timeout_seconds} s (lock_timeout_seconds) for an {mode} "
            f"lock on table {table}: another session holds a conflicting lock on it (an ACCESS "
            "EXCLUSIVE lock, taken by ALTER TABLE, DROP, TRUNCATE, VACUUM FULL or LOCK TABLE). "
            "The backup stopped rather than queue behind that session and block the statements "
            "after it; let that session finish, or raise lock_timeout_seconds"
        )

    return explain
