"""MySQL and MariaDB: checks with pymysql, backups with `mariadb-dump` (or `mysqldump`), one
SQL dump per database, restores with the `mariadb` (or `mysql`) client.

Every error a person can fix is `refused(...)` with a code from `engines.base`, and its message
names the next step. No message ever contains the password.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines import mysql_properties
from strongbox.engines.base import (
    BAD_CREDENTIALS,
    CHECK_FAILED,
    CLIENT_MISSING,
    UNKNOWN_DATABASE,
    UNREACHABLE,
    ConnectionInfo,
    DatabaseSummary,
    DumpCommand,
    RestoreCommand,
    ServerInfo,
)
from strongbox.engines.common import (
    CREATE_FAILED,
    DATABASE_EXISTS,
    DROP_FAILED,
    require_restore_input,
    safe_file_stems,
    scrub,
)
from strongbox.engines.tls import mysql_client_args, pymysql_options, tls_error
from strongbox.errors import StrongboxError, refused

SYSTEM_SCHEMAS = frozenset({"information_schema", "performance_schema", "mysql", "sys"})
_TOOL_VERSION_TIMEOUT = 10.0  # seconds for `mariadb-dump --version`
# pymysql error numbers (client errors are 2xxx, server errors 1xxx).
ER_DB_CREATE_EXISTS = 1007
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
ER_NO_SUCH_THREAD = 1094
ER_KILL_DENIED = 1095
ER_LOCK_WAIT_TIMEOUT = 1205
ER_HOST_NOT_PRIVILEGED = 1130
CR_CONN_HOST_ERROR = 2003
CR_SERVER_LOST = 2013

_SERVER_VERSION = re.compile(r"^(?:5\.5\.5-)?(\d+)\.(\d+)\.(\d+)")
_MARIADB_TOOL_VERSION = re.compile(r"(?:Distrib|from)\s+(\d+\.\d+\.\d+)-MariaDB")
_MYSQL_TOOL_VERSION = re.compile(r"Ver\s+(\d+\.\d+\.\d+)")
_BINLOG_POSITION = re.compile(
    r"CHANGE (?:MASTER|REPLICATION SOURCE) TO\s+(?:MASTER|SOURCE)_LOG_FILE\s*=\s*'([^']+)'"
    # The ";" proves the number is whole when the head was cut just after it.
    r"\s*,\s*(?:MASTER|SOURCE)_LOG_POS\s*=\s*(\d+)\s*;"
)
# MariaDB: "-- SET GLOBAL gtid_slave_pos='0-1-3';"; MySQL:
# "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'uuid:1-5';"
_MARIADB_GTID = re.compile(r"SET GLOBAL gtid_(?:slave|replica)_pos\s*=\s*'([^']*)'")
_MYSQL_GTID = re.compile(r"SET @@GLOBAL\.GTID_PURGED\s*=\s*(?:/\*!\d+ '\+'\*/\s*)?'([^']*)'")
# Oracle's mysqldump renamed --master-data to --source-data in 8.0.26.
_SOURCE_DATA_SINCE = (8, 0, 26)
# Seconds to connect when planning a restore (the plan reads the server's flavor).
_PLAN_TIMEOUT = 10.0
# The client's largest packet (its maximum), so that no row of a dump is too long for the
# client; the server's own max_allowed_packet still applies.
_CLIENT_MAX_PACKET = 1024 * 1024 * 1024
# Tables that hold rows: MariaDB's system-versioned tables are base tables too.
_BASE_TABLE_TYPES = ("BASE TABLE", "SYSTEM VERSIONED")


# --- pure helpers (unit tested without I/O) ---------------------------------------------------


def parse_server_version(raw: str) -> tuple[str, int, str]:
    """The short version, major and flavor from `SELECT VERSION()`.

    >>> parse_server_version("10.11.19-MariaDB-0+deb12u1-log")
    ('10.11.19-MariaDB', 10, 'MariaDB')
    >>> parse_server_version("8.0.36-0ubuntu0.22.04.1")
    ('8.0.36', 8, 'MySQL')
    """
    found = _SERVER_VERSION.match(raw)
    if found is None:
        raise ValueError(f"not a MySQL or MariaDB version: {raw!r}")
    number = ".".join(found.groups())
    if "mariadb" in raw.lower():
        return f"{number}-MariaDB", int(found.group(1)), "MariaDB"
    return number, int(found.group(1)), "MySQL"


@dataclass(frozen=True)
class DumpTool:
    """A dump program found on this machine."""

    path: str
    version: str  # "10.11.19-MariaDB" or "8.0.36"
    mariadb: bool

    @property
    def name(self) -> str:
        return Path(self.path).name


def parse_tool_version(output: str) -> tuple[str, bool] | None:
    """The version of a dump program from its `--version` output, and whether it is
    MariaDB's; None when the output is neither.

    >>> parse_tool_version("mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu")
    ('10.11.19-MariaDB', True)
    >>> parse_tool_version("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server)")
    ('8.0.36', False)
    """
    mariadb = _MARIADB_TOOL_VERSION.search(output)
    if mariadb:
        return f"{mariadb.group(1)}-MariaDB", True
    mysql = _MYSQL_TOOL_VERSION.search(output)
    return (mysql.group(1), False) if mysql else None


def quote_identifier(name: str) -> str:
    """`name` as a MySQL identifier, whatever characters it holds.

    >>> quote_identifier("app")
    '`app`'
    >>> quote_identifier("we`ird")
    '`we``ird`'
    """
    return "`" + name.replace("`", "``") + "`"


def position_option(tool: DumpTool) -> str:
    """The option that writes the binlog position as a comment at the head of the dump.

    >>> position_option(DumpTool("mariadb-dump", "10.11.19-MariaDB", True))
    '--master-data=2'
    >>> position_option(DumpTool("mysqldump", "8.4.0", False))
    '--source-data=2'
    """
    if not tool.mariadb:
        parts = tuple(int(p) for p in tool.version.split(".")[:3])
        if parts >= _SOURCE_DATA_SINCE:
            return "--source-data=2"
    return "--master-data=2"


def binlog_position_from_head(head: bytes) -> dict[str, Any] | None:
    """The binlog position a dump was taken at, read from its first bytes.

    Returns {"file": str, "position": int, "gtid": str | None}, or None when the head holds no
    `CHANGE MASTER TO` (or `CHANGE REPLICATION SOURCE TO`) line. The GTID is only found when
    the tool writes it near the top (MySQL, older MariaDB); MariaDB 10.11 writes it at the end.
    """
    text = head.decode("utf-8", errors="replace")
    position = _BINLOG_POSITION.search(text)
    if position is None:
        return None
    gtid = _MARIADB_GTID.search(text) or _MYSQL_GTID.search(text)
    return {
        "file": position.group(1),
        "position": int(position.group(2)),
        "gtid": gtid.group(1) if gtid else None,
    }


def missing_position_privileges(flavor: str, privileges: set[str]) -> list[str]:
    """The privileges the user lacks for a dump that records the binlog position.

    MariaDB's dump reads the position from a consistent snapshot and needs nothing extra.
    MySQL's takes FLUSH TABLES WITH READ LOCK (RELOAD) and reads SHOW MASTER STATUS
    (REPLICATION CLIENT, or SUPER).

    >>> missing_position_privileges("MySQL", {"SELECT", "RELOAD"})
    ['REPLICATION CLIENT']
    >>> missing_position_privileges("MariaDB", {"SELECT"})
    []
    """
    if flavor == "MariaDB":
        return []
    missing = [] if "RELOAD" in privileges else ["RELOAD"]
    if not privileges & {"REPLICATION CLIENT", "SUPER"}:
        missing.append("REPLICATION CLIENT")
    return missing


# --- the engine -------------------------------------------------------------------------------


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
        with self._connect(conn, timeout) as db:
            server = _server_info(db)
            _require_databases(db, conn, databases)
            if server.details["log_bin"]:
                _require_position_privileges(db, server)
        self._dump_tool(server)
        return server

    def list_databases(self, conn: ConnectionInfo, timeout: float) -> list[str]:
        """The databases the user can see, without the system schemas (information_schema,
        performance_schema, mysql, sys), sorted."""
        with self._connect(conn, timeout) as db:
            return _user_databases(db)

    def plan_dump(
        self, conn: ConnectionInfo, databases: list[str], timeout: float
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
        """
        with self._connect(conn, timeout) as db:
            server = _server_info(db)
            names = list(dict.fromkeys(databases)) or _user_databases(db)
            if not names:
                raise refused(
                    f"the {server.flavor} server at {conn.host}:{conn.port} has no user "
                    "database to back up (only system schemas)",
                    UNKNOWN_DATABASE,
                    field_name="databases",
                )
            _require_databases(db, conn, names)
            log_bin = bool(server.details["log_bin"])
            if log_bin:
                _require_position_privileges(db, server)
            sizes = {name: _database_size(db, name) for name in names}
            properties = {name: mysql_properties.read(db, name) for name in names}
        tool = self._dump_tool(server)
        stems = safe_file_stems(names)
        commands = [
            _database_command(tool, conn, name, stems[name], sizes[name], log_bin, properties[name])
            for name in names
        ]
        return commands, {tool.name: tool.version}

    # --- restores ---

    def database_state(self, conn: ConnectionInfo, name: str, timeout: float) -> str:
        """'absent' when no schema `name` exists (or the user may not see it), 'nonempty' when
        it holds a table, view, sequence, stored routine or event, else 'empty'."""
        with self._connect(conn, timeout) as db:
            if not _schema_exists(db, name):
                return "absent"
            objects = _rows(db, _SCHEMA_OBJECTS, (name, name, name))
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
        with self._connect(conn, timeout) as db:
            options = mysql_properties.create_options(db, properties)
            try:
                # The name is a quoted identifier, the options escaped literals.
                _rows(db, f"CREATE DATABASE {quote_identifier(name)}{options}")
            except pymysql.Error as exc:
                code, text = _error_parts(exc, conn)
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
                        f"{_grantee(db)}, or restore into a database that exists",
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
        with self._connect(conn, timeout) as db:
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
        with self._connect(conn, timeout) as db:
            sessions = _rows(
                db,
                "SELECT ID FROM information_schema.PROCESSLIST"
                " WHERE DB = %s AND ID <> CONNECTION_ID()",
                (name,),
            )
            for (session,) in sessions:
                try:
                    _rows(db, f"KILL CONNECTION {int(session)}")
                except pymysql.Error as exc:
                    # Gone already, or another user's session this one may not end.
                    if _error_parts(exc, conn)[0] not in {ER_NO_SUCH_THREAD, ER_KILL_DENIED}:
                        raise
            _rows(db, f"SET SESSION lock_wait_timeout = {max(1, math.ceil(timeout))}")
            try:
                _rows(db, f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
            except pymysql.Error as exc:
                code, text = _error_parts(exc, conn)
                if code in (ER_DBACCESS_DENIED, ER_ACCESS_DENIED):
                    hint = (
                        f"run GRANT DROP ON {quote_identifier(name)}.* TO {_grantee(db)}, or "
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
        with self._connect(conn, _PLAN_TIMEOUT) as db:
            server = _server_info(db)
        tool = self._client_tool(server)
        argv = [
            tool.path,
            "--batch",
            "--binary-mode",
            "--default-character-set=utf8mb4",
            f"--max-allowed-packet={_CLIENT_MAX_PACKET}",
        ]
        if tool.mariadb:
            argv.append("--skip-print-query-on-error")
        argv += ["--protocol=TCP", "-h", conn.host, "-P", str(conn.port), "-u", conn.username]
        argv += [*mysql_client_args(conn, mariadb=tool.mariadb), "--", target]
        return RestoreCommand(argv, {"MYSQL_PWD": conn.password})

    def plan_globals_restore(self, conn: ConnectionInfo) -> None:
        """None: the dumps hold no users or grants to restore."""

    def summarize(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """The base tables of `name` (not views or sequences) and their exact row count,
        COUNT(*) of each, in one consistent snapshot (InnoDB). Each count must finish within
        `timeout`. Raises refused(UNKNOWN_DATABASE) when the database does not exist."""
        with self._connect(conn, timeout) as db:
            _require_databases(db, conn, [name])
            # Closing the connection ends the transaction, also after an error.
            _rows(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            tables = _rows(
                db,
                "SELECT TABLE_NAME FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN %s ORDER BY TABLE_NAME",
                (name, _BASE_TABLE_TYPES),
            )
            rows = 0
            for (table,) in tables:
                where = f"{quote_identifier(name)}.{quote_identifier(table)}"
                # Both names are quoted identifiers, never values.
                rows += int(_rows(db, f"SELECT COUNT(*) FROM {where}")[0][0])  # noqa: S608
            _rows(db, "COMMIT")
        return DatabaseSummary(tables=len(tables), rows=rows)

    def estimate_summary(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """The tables `summarize` counts, with the server's row estimate
        (information_schema.TABLES.TABLE_ROWS, which InnoDB keeps from index statistics)."""
        with self._connect(conn, timeout) as db:
            _require_databases(db, conn, [name])
            tables, rows = _rows(
                db,
                "SELECT COUNT(*), COALESCE(SUM(TABLE_ROWS), 0) FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN %s",
                (name, _BASE_TABLE_TYPES),
            )[0]
        return DatabaseSummary(tables=int(tables), rows=int(rows), estimated=True)

    # --- internals ---

    @contextmanager
    def _connect(self, conn: ConnectionInfo, timeout: float) -> Iterator[Connection[Any]]:
        """A connection with no default database, reads and writes limited to `timeout`.
        Driver errors become StrongboxError."""
        try:
            db = pymysql.connect(
                host=conn.host,
                port=conn.port,
                user=conn.username,
                # As UTF-8 bytes, like the command-line clients send it (PyMySQL would encode a
                # str as latin-1, and fail on any other character).
                password=conn.password.encode(),
                connect_timeout=timeout,
                read_timeout=timeout,
                write_timeout=timeout,
                charset="utf8mb4",
                autocommit=True,
                **pymysql_options(conn),
            )
        except pymysql.Error as exc:
            raise _translate(exc, conn, timeout) from None
        with db:
            try:
                yield db
            except pymysql.Error as exc:
                raise _translate(exc, conn, timeout) from None

    def _dump_tool(self, server: ServerInfo) -> DumpTool:
        """The dump program of the server's own vendor when both are installed: each knows its
        server's features (MariaDB sequences and system-versioned tables, MySQL's GTID_PURGED)."""
        programs = ["mariadb-dump", "mysqldump"]
        if server.flavor == "MySQL":
            programs.reverse()
        for program in programs:
            path = shutil.which(program, path=self.search_path)
            tool = _probe(path) if path else None
            if tool is not None:
                return tool
        raise refused(
            f"no mariadb-dump nor mysqldump found to back up {server.flavor} {server.version}: "
            "install mariadb-client (or mysql-client)",
            CLIENT_MISSING,
        )

    def _client_tool(self, server: ServerInfo) -> DumpTool:
        """The command-line client, of the server's own vendor when both are installed: each
        reads its own dump tool's output (MariaDB's dumps start with a sandbox-mode line
        that Oracle's client rejects)."""
        programs = ["mariadb", "mysql"]
        if server.flavor == "MySQL":
            programs.reverse()
        for program in programs:
            path = shutil.which(program, path=self.search_path)
            tool = _probe(path) if path else None
            if tool is not None:
                return tool
        raise refused(
            f"no mariadb nor mysql client found to restore into {server.flavor} "
            f"{server.version}: install mariadb-client (or mysql-client)",
            CLIENT_MISSING,
        )


def _probe(path: str) -> DumpTool | None:
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=_TOOL_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parsed = parse_tool_version(done.stdout) if done.returncode == 0 else None
    return DumpTool(path, *parsed) if parsed else None


def _rows(db: Connection[Any], query: str, params: Sequence[Any] | None = None) -> list[Any]:
    with db.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def _server_info(db: Connection[Any]) -> ServerInfo:
    raw, log_bin = _rows(db, "SELECT VERSION(), @@log_bin")[0]
    version, major, flavor = parse_server_version(raw)
    return ServerInfo(version, major, flavor, details={"log_bin": bool(log_bin)})


def _user_databases(db: Connection[Any]) -> list[str]:
    rows = _rows(db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    return sorted(row[0] for row in rows if row[0].lower() not in SYSTEM_SCHEMAS)


def _require_databases(db: Connection[Any], conn: ConnectionInfo, names: Sequence[str]) -> None:
    """Raises refused(UNKNOWN_DATABASE) naming the databases that do not exist (or that the
    user may not see) and listing those that do."""
    existing = {row[0] for row in _rows(db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")}
    missing = [name for name in names if name not in existing]
    if not missing:
        return
    there = ", ".join(_user_databases(db)) or "none"
    plural = "s" if len(missing) > 1 else ""
    raise refused(
        f"database{plural} {', '.join(repr(m) for m in missing)} not found on the server at "
        f"{conn.host}:{conn.port} (or user {conn.username!r} may not see it); the databases "
        f"there are: {there}",
        UNKNOWN_DATABASE,
        field_name="databases",
    )


def _require_position_privileges(db: Connection[Any], server: ServerInfo) -> None:
    """Raises refused(CHECK_FAILED) with the GRANT to run when the user may not record the
    binlog position. Only direct grants are seen (not those through roles)."""
    account = str(_rows(db, "SELECT CURRENT_USER()")[0][0])
    user, _, host = account.rpartition("@")
    grantee = f"'{user}'@'{host}'"
    rows = _rows(
        db,
        "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
        (grantee,),
    )
    missing = missing_position_privileges(server.flavor, {row[0] for row in rows})
    if missing:
        raise refused(
            f"binary logging is on, so each dump records the binlog position for "
            f"point-in-time recovery, which needs the {' and '.join(missing)} privilege"
            f"{'s' if len(missing) > 1 else ''}: run GRANT {', '.join(missing)} ON *.* TO "
            f"{grantee}",
            CHECK_FAILED,
            field_name="username",
        )


# Whether schema %s holds an object (see `database_state`); the server compares names as it
# does in statements (exactly, or ignoring case under lower_case_table_names).
_SCHEMA_OBJECTS = (
    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
    " UNION ALL SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
    " UNION ALL SELECT 1 FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"
    " LIMIT 1"
)


def _schema_exists(db: Connection[Any], name: str) -> bool:
    return bool(
        _rows(db, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    )


def _grantee(db: Connection[Any]) -> str:
    """The connected account as GRANT spells it: 'user'@'host'."""
    user, _, host = str(_rows(db, "SELECT CURRENT_USER()")[0][0]).rpartition("@")
    return f"'{user}'@'{host}'"


def _error_parts(exc: pymysql.Error, conn: ConnectionInfo) -> tuple[int | None, str]:
    """The error number (None for non-server errors) and message, without the password."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return code, scrub(text, conn.password)


def _database_size(db: Connection[Any], name: str) -> int:
    """Data plus index bytes of the database's tables, a hint for the upload's part size."""
    rows = _rows(
        db,
        "SELECT COALESCE(SUM(data_length + index_length), 0)"
        " FROM information_schema.TABLES WHERE table_schema = %s",
        (name,),
    )
    return int(rows[0][0])


def _database_command(
    tool: DumpTool,
    conn: ConnectionInfo,
    dbname: str,
    stem: str,
    size: int,
    log_bin: bool,
    properties: DatabaseProperties,
) -> DumpCommand:
    argv = [
        tool.path,
        "--single-transaction",
        "--routines",
        "--events",
        "--triggers",
        "--hex-blob",
        "--default-character-set=utf8mb4",
        # TCP even for "localhost", which the client would otherwise read as the local socket.
        "--protocol=TCP",
        "-h",
        conn.host,
        "-P",
        str(conn.port),
        "-u",
        conn.username,
        *mysql_client_args(conn, mariadb=tool.mariadb),
    ]
    if log_bin:
        argv.append(position_option(tool))
    # "--" so that a database named like an option is still read as the database.
    argv += ["--", dbname]
    return DumpCommand(
        artifact_name=f"{stem}.sql.zst",
        kind="database",
        dbname=dbname,
        format="sql",
        argv=argv,
        env={"MYSQL_PWD": conn.password},
        expected_bytes=size,
        position_from_head=binlog_position_from_head if log_bin else None,
        properties=properties,
    )


def _translate(exc: pymysql.Error, conn: ConnectionInfo, timeout: float) -> StrongboxError:
    """The StrongboxError a person can act on for a driver error."""
    code, text = _error_parts(exc, conn)
    where = f"{conn.host}:{conn.port}"
    tls = tls_error(text, conn, "server")
    if tls is not None:
        return tls
    if code == ER_ACCESS_DENIED:
        return refused(
            f"the server at {where} refused the login of user {conn.username!r}: the user name "
            "or password is wrong, or the user may not connect from this machine; check both",
            BAD_CREDENTIALS,
            field_name="password",
        )
    if code == ER_HOST_NOT_PRIVILEGED:
        return refused(
            f"the server at {where} does not let user {conn.username!r} connect from this "
            "machine: create the user for this machine's address (or '%')",
            BAD_CREDENTIALS,
            field_name="username",
        )
    if code == ER_BAD_DB:
        return refused(f"{text} on the server at {where}", UNKNOWN_DATABASE, field_name="databases")
    unreachable = _unreachable_reason(code, text, conn, timeout)
    if unreachable:
        return refused(unreachable, UNREACHABLE, field_name="host")
    return refused(f"could not check the server at {where}: {text}", CHECK_FAILED)


def _unreachable_reason(
    code: int | None, text: str, conn: ConnectionInfo, timeout: float
) -> str | None:
    where = f"{conn.host}:{conn.port}"
    if code not in (CR_CONN_HOST_ERROR, CR_SERVER_LOST):
        return None
    if "Name or service not known" in text or "name resolution" in text or "nodename" in text:
        return f"cannot resolve the host name {conn.host!r}: check the host"
    if "timed out" in text:
        return (
            f"no answer from {where} within {timeout:g} s: check the host and port, and that no "
            "firewall drops the connection"
        )
    if code == CR_CONN_HOST_ERROR:
        return (
            f"nothing accepts connections at {where}: check the host and port, that the server "
            "is running and listens on that address (bind-address), and that no firewall blocks "
            "the port"
        )
    return None
