"""The MySQL and MariaDB engine: checks with PyMySQL, backups with `mariadb-dump` (or
`mysqldump`), one SQL dump per database, restores with the `mariadb` (or `mysql`) client.

Every error a person can fix is `refused(...)` with a code from `engines.base`, and its message
names the next step. No message ever contains the password.
"""

from __future__ import annotations

import math
from pathlib import Path

import pymysql

from strongbox.domain.binlog_replay import ReplayPlan
from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.base import (
    UNKNOWN_DATABASE,
    BinlogReplayCommand,
    BinlogServerStatus,
    ConnectionInfo,
    DatabaseSummary,
    DumpCommand,
    DumpLimits,
    ReceiverCommand,
    RestoreCommand,
    ServerInfo,
    StandbyState,
)
from strongbox.engines.common import (
    CREATE_FAILED,
    DATABASE_EXISTS,
    DROP_FAILED,
    require_restore_input,
    safe_file_stems,
)
from strongbox.engines.mysql import binlog_replay, binlog_stream, replica
from strongbox.engines.mysql import properties as mysql_properties
from strongbox.engines.mysql.binlog import require_position_privileges
from strongbox.engines.mysql.client_tools import client_tool, dump_tool
from strongbox.engines.mysql.commands import database_command, restore_command
from strongbox.engines.mysql.connection import (
    SCHEMA_OBJECTS,
    connect,
    database_size,
    fetch_all,
    grantee,
    quote_identifier,
    require_databases,
    schema_exists,
    server_info,
    user_databases,
)
from strongbox.engines.mysql.driver_errors import (
    ER_ACCESS_DENIED,
    ER_DB_CREATE_EXISTS,
    ER_DBACCESS_DENIED,
    ER_KILL_DENIED,
    ER_LOCK_WAIT_TIMEOUT,
    ER_NO_SUCH_THREAD,
    error_parts,
)
from strongbox.errors import refused

# Seconds to connect when planning a restore (the plan reads the server's flavor).
_PLAN_TIMEOUT = 10.0
# Tables that hold rows: MariaDB's system-versioned tables are base tables too.
_BASE_TABLE_TYPES = ("BASE TABLE", "SYSTEM VERSIONED")


class MySQLEngine:
    """The `Engine` for MariaDB and MySQL.

    `search_path` is where dump programs are looked for (default: PATH at each call); tests
    use it to control which programs exist.
    """

    name = "mysql"

    def __init__(self, *, search_path: str | None = None) -> None:
        self.search_path = search_path

    def check(self, conn: ConnectionInfo, databases: list[str], timeout: float) -> ServerInfo:
        """Connect, check that each of `databases` exists, that a dump program is installed
        and, when binary logging is on, that the user may record the binlog position.
        Raises StrongboxError (REFUSED) with BAD_CREDENTIALS, UNREACHABLE, UNKNOWN_DATABASE,
        CLIENT_MISSING or CHECK_FAILED (a missing privilege, named with the GRANT to run)."""
        with connect(conn, timeout) as db:
            server = server_info(db)
            require_databases(db, conn, databases)
            if server.details["log_bin"]:
                require_position_privileges(db, server)
        dump_tool(server, self.search_path)
        return server

    def list_databases(self, conn: ConnectionInfo, timeout: float) -> list[str]:
        """The databases the user can see, without the system schemas (information_schema,
        performance_schema, mysql, sys), sorted."""
        with connect(conn, timeout) as db:
            return user_databases(db)

    def plan_dump(
        self,
        conn: ConnectionInfo,
        databases: list[str],
        timeout: float,
        limits: DumpLimits = DumpLimits(),
    ) -> tuple[list[DumpCommand], dict[str, str]]:
        """One dump per database (all user databases when `databases` is empty), and the
        version of the dump program.

        Each dump names the database as its single positional argument (not --databases), so
        it holds no CREATE DATABASE/USE and restores into a database of any name. When binary
        logging is on, --master-data=2 (--source-data=2 for MySQL 8.0.26+) writes the position
        as a comment and `position_from_head` reads it back; on MySQL that needs the RELOAD
        and REPLICATION CLIENT privileges, which `check` verifies.

        The password goes to the program in MYSQL_PWD: a process's environment is readable
        only by its own user and root (/proc/PID/environ is 0400), unlike argv, which `ps`
        shows to everyone, and it leaves no file to clean up. (MySQL 8 documents MYSQL_PWD as
        deprecated but still honours it; MariaDB supports it.)

        From a replica (`limits.from_standby`) no position is recorded: the replica's own
        binlog position is not the primary's.
        """
        with connect(conn, timeout) as db:
            server = server_info(db)
            names = list(dict.fromkeys(databases)) or user_databases(db)
            if not names:
                raise refused(
                    f"the {server.flavor} server at {conn.host}:{conn.port} has no user "
                    "database to back up (only system schemas)",
                    UNKNOWN_DATABASE,
                    field_name="databases",
                )
            require_databases(db, conn, names)
            log_bin = bool(server.details["log_bin"]) and not limits.from_standby
            if log_bin:
                require_position_privileges(db, server)
            sizes = {name: database_size(db, name) for name in names}
            properties = {name: mysql_properties.read(db, name) for name in names}
        tool = dump_tool(server, self.search_path)
        stems = safe_file_stems(names)
        commands = [
            database_command(
                tool,
                conn,
                name,
                stems[name],
                sizes[name],
                log_bin,
                properties[name],
                limits.lock_timeout_seconds,
            )
            for name in names
        ]
        return commands, {tool.name: tool.version}

    def check_standby(
        self, primary: ConnectionInfo, source: ConnectionInfo, timeout: float
    ) -> StandbyState:
        """Raises refused(SOURCE_NOT_STANDBY) unless `source` replicates from `primary`, both
        threads running (see `replica.check_standby`); else its lag."""
        return replica.check_standby(primary, source, timeout)

    def activity_counters(self, conn: ConnectionInfo, timeout: float) -> dict[str, int]:
        """The `Questions` and `Innodb_rows_read` status counters."""
        return replica.activity_counters(conn, timeout)

    # --- restores ---

    def database_state(self, conn: ConnectionInfo, name: str, timeout: float) -> str:
        """'absent' when no schema `name` exists (or the user may not see it), 'nonempty' when
        it holds a table, view, sequence, stored routine or event, else 'empty'."""
        with connect(conn, timeout) as db:
            if not schema_exists(db, name):
                return "absent"
            objects = fetch_all(db, SCHEMA_OBJECTS, (name, name, name))
        return "nonempty" if objects else "empty"

    def create_database(
        self,
        conn: ConnectionInfo,
        name: str,
        timeout: float,
        *,
        properties: DatabaseProperties | None = None,
    ) -> None:
        """CREATE DATABASE `name` with the default character set and collation of
        `properties`, or without them CHARACTER SET utf8mb4 (the server's default utf8mb4
        collation). Raises refused(DATABASE_EXISTS) when it exists, refused(CREATE_FAILED) when
        the user may not create it or the server refuses the name, refused(LOCALE_UNAVAILABLE)
        when the server lacks the character set or collation, and the connection errors of
        `check`."""
        where = f"{conn.host}:{conn.port}"
        with connect(conn, timeout) as db:
            options = mysql_properties.create_options(db, properties)
            try:
                # The name is a quoted identifier, the options escaped literals.
                fetch_all(db, f"CREATE DATABASE {quote_identifier(name)}{options}")
            except pymysql.Error as exc:
                code, text = error_parts(exc, conn)
                unavailable = mysql_properties.charset_refusal(name, properties, conn, code, text)
                if unavailable is not None:
                    raise unavailable from None
                if code == ER_DB_CREATE_EXISTS:
                    raise refused(
                        f"database {name!r} already exists on the server at {where}: restore "
                        "into it with overwrite, or choose another name",
                        DATABASE_EXISTS,
                    ) from None
                if code in (ER_DBACCESS_DENIED, ER_ACCESS_DENIED):
                    raise refused(
                        f"user {conn.username!r} may not create database {name!r} on the server "
                        f"at {where}: run GRANT ALL ON {quote_identifier(name)}.* TO "
                        f"{grantee(db)}, or restore into a database that exists",
                        CREATE_FAILED,
                    ) from None
                raise refused(
                    f"could not create database {name!r} on the server at {where}: {text}",
                    CREATE_FAILED,
                ) from None

    def check_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> None:
        """Raises refused(LOCALE_UNAVAILABLE) when the server lacks the recorded character set
        or collation."""
        with connect(conn, timeout) as db:
            mysql_properties.check_available(db, name, properties, conn)

    def apply_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> list[str]:
        """Nothing: a schema's character set and collation are given when it is created."""
        return []

    def drop_database(self, conn: ConnectionInfo, name: str, timeout: float) -> None:
        """DROP DATABASE IF EXISTS, after ending the other sessions whose default database it
        is (KILL; those the user may not kill are left, and the drop then waits for them).
        The drop waits at most `timeout` for locks others hold. Raises refused(DROP_FAILED)
        when the user may not drop it or another session kept it locked, and the connection
        errors of `check`."""
        where = f"{conn.host}:{conn.port}"
        with connect(conn, timeout) as db:
            sessions = fetch_all(
                db,
                "SELECT ID FROM information_schema.PROCESSLIST"
                " WHERE DB = %s AND ID <> CONNECTION_ID()",
                (name,),
            )
            for (session,) in sessions:
                try:
                    fetch_all(db, f"KILL CONNECTION {int(session)}")
                except pymysql.Error as exc:
                    # Gone already, or another user's session this one may not end.
                    if error_parts(exc, conn)[0] not in {ER_NO_SUCH_THREAD, ER_KILL_DENIED}:
                        raise
            fetch_all(db, f"SET SESSION lock_wait_timeout = {max(1, math.ceil(timeout))}")
            try:
                fetch_all(db, f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
            except pymysql.Error as exc:
                code, text = error_parts(exc, conn)
                if code in (ER_DBACCESS_DENIED, ER_ACCESS_DENIED):
                    hint = (
                        f"run GRANT DROP ON {quote_identifier(name)}.* TO {grantee(db)}, or "
                        "restore into a new database"
                    )
                elif code == ER_LOCK_WAIT_TIMEOUT:
                    hint = (
                        "another session holds a lock on it (a long transaction?): end that "
                        "session and try again"
                    )
                else:
                    hint = text
                raise refused(
                    f"could not drop database {name!r} on the server at {where}: {hint}",
                    DROP_FAILED,
                ) from None

    def plan_restore(
        self,
        conn: ConnectionInfo,
        artifact_format: str,
        target: str,
        *,
        jobs: int,
        input_path: str | None,
    ) -> RestoreCommand:
        """The `mariadb` client (`mysql` for a MySQL server when both are installed) in batch
        mode, reading the SQL dump on stdin into `target`.

        In batch mode the client stops at the first failing statement and exits 1 (unless
        told --force, which this never is); a stream cut in the middle of a statement ends
        in a syntax error, so it fails too. --binary-mode keeps the dump's bytes as they are
        (no \\-commands, NUL bytes allowed) and the MariaDB client is told not to echo the
        failing statement, which holds row data, into stderr. `jobs` and `input_path` are
        ignored beyond their checks: the client reads one stream. Connects to read the
        server's flavor. Raises invalid(FORMAT_MISMATCH) for an artifact that is not 'sql',
        refused(CLIENT_MISSING) without a client, and the errors of `check`."""
        require_restore_input("MySQL", artifact_format, "sql", jobs)
        with connect(conn, _PLAN_TIMEOUT) as db:
            server = server_info(db)
        return restore_command(client_tool(server, self.search_path), conn, target)

    def plan_globals_restore(self, conn: ConnectionInfo) -> None:
        """None: the dumps hold no users or grants to restore."""

    def summarize(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """The base tables of `name` (not views or sequences) and their exact row count,
        COUNT(*) of each, in one consistent snapshot (InnoDB). Each count must finish within
        `timeout`. Raises refused(UNKNOWN_DATABASE) when the database does not exist."""
        with connect(conn, timeout) as db:
            require_databases(db, conn, [name])
            # Closing the connection ends the transaction, also after an error.
            fetch_all(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            tables = fetch_all(
                db,
                "SELECT TABLE_NAME FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN %s ORDER BY TABLE_NAME",
                (name, _BASE_TABLE_TYPES),
            )
            rows = 0
            for (table,) in tables:
                where = f"{quote_identifier(name)}.{quote_identifier(table)}"
                # Both names are quoted identifiers, never values.
                rows += int(fetch_all(db, f"SELECT COUNT(*) FROM {where}")[0][0])  # noqa: S608
            fetch_all(db, "COMMIT")
        return DatabaseSummary(tables=len(tables), rows=rows)

    def estimate_summary(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """The tables `summarize` counts, with the server's row estimate
        (information_schema.TABLES.TABLE_ROWS, which InnoDB keeps from index statistics)."""
        with connect(conn, timeout) as db:
            require_databases(db, conn, [name])
            tables, rows = fetch_all(
                db,
                "SELECT COUNT(*), COALESCE(SUM(TABLE_ROWS), 0) FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN %s",
                (name, _BASE_TABLE_TYPES),
            )[0]
        return DatabaseSummary(tables=int(tables), rows=int(rows), estimated=True)

    def check_binlog_streaming(
        self, conn: ConnectionInfo, connection_server_id: int, interval: int, timeout: float
    ) -> list[str]:
        """See `binlog_stream.check`."""
        with connect(conn, timeout) as db:
            return binlog_stream.check(db, conn, connection_server_id, interval)

    def binlog_status(self, conn: ConnectionInfo, timeout: float) -> BinlogServerStatus:
        """See `binlog_stream.status`."""
        with connect(conn, timeout) as db:
            return binlog_stream.status(db)

    def binlog_reader_command(
        self,
        conn: ConnectionInfo,
        spool: Path,
        start_file: str,
        connection_server_id: int,
        timeout: float,
    ) -> ReceiverCommand:
        """See `binlog_stream.reader_command`."""
        with connect(conn, timeout) as db:
            return binlog_stream.reader_command(
                db, conn, spool, start_file, connection_server_id, self.search_path
            )

    def replay_binlog(
        self,
        conn: ConnectionInfo,
        target: str,
        files: list[Path],
        options: list[str],
        timeout: float,
    ) -> None:
        """See `binlog_replay.replay`."""
        binlog_replay.replay(conn, target, files, options, timeout, self.search_path)

    def plan_binlog_replay(
        self,
        conn: ConnectionInfo,
        plan: ReplayPlan,
        source_db: str,
        target_db: str,
        files: list[Path],
        timeout: float,
    ) -> BinlogReplayCommand:
        """See `binlog_replay.plan`."""
        return binlog_replay.plan(
            conn, plan, source_db, target_db, files, timeout, self.search_path
        )

    def run_binlog_replay(self, command: BinlogReplayCommand) -> None:
        """See `binlog_replay.run`."""
        binlog_replay.run(command)
