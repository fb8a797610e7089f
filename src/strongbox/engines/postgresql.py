"""PostgreSQL: checks with psycopg, backups with `pg_dump -Fc` per database plus
`pg_dumpall --globals-only` for roles and tablespaces, restores with `pg_restore` (databases)
and `psql` (globals).

Every error a person can fix is `refused(...)` with a code from `engines.base`, and its message
names the next step. No message ever contains the password.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines import postgresql_properties, postgresql_swap
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
from strongbox.engines.pg_globals import globals_to_apply
from strongbox.engines.tls import libpq_env, libpq_params, tls_error
from strongbox.errors import StrongboxError, refused

# The maintenance database every cluster has; it holds no user data by convention, so "all
# databases" leaves it out (it can still be named explicitly).
MAINTENANCE_DATABASE = "postgres"
DEBIAN_CLIENT_DIRS = Path("/usr/lib/postgresql")
_TOOL_VERSION_TIMEOUT = 10.0  # seconds for `pg_dump --version`
_TOOL_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)((?:\.\d+)*)([a-z]+\d*)?")
_SERVER_VERSION = re.compile(r"^\s*(\d+)((?:\.\d+)*)([a-z]+\d*)?")
# Seconds to connect when planning a restore (the plan reads the server's version).
_PLAN_TIMEOUT = 10.0
# Identifiers are cut to NAMEDATALEN - 1 bytes; a longer name would be created shortened.
_MAX_NAME_BYTES = 63
# DROP DATABASE ... WITH (FORCE) exists since PostgreSQL 13.
_DROP_FORCE_SINCE = 13
_GLOBALS_ERROR = re.compile(r"\b(?:ERROR|FATAL|PANIC):|\berror:")


# --- pure helpers (unit tested without I/O) ---------------------------------------------------


def parse_tool_version(output: str) -> tuple[str, int] | None:
    """The version and major of a PostgreSQL client program from its `--version` output, or
    None when the output is not a PostgreSQL program's.

    >>> parse_tool_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")
    ('15.20', 15)
    >>> parse_tool_version("pg_dump (PostgreSQL) 17beta1")
    ('17beta1', 17)
    >>> parse_tool_version("bash: pg_dump: command not found") is None
    True
    """
    found = _TOOL_VERSION.search(output)
    if found is None:
        return None
    return found.group(1) + found.group(2) + (found.group(3) or ""), int(found.group(1))


def parse_server_version(setting: str) -> tuple[str, int]:
    """The version and major from the `server_version` setting.

    Before PostgreSQL 10 the major was two numbers (9.6); it is reported as 9 here, which only
    matters for servers that no supported pg_dump treats differently.

    >>> parse_server_version("15.20 (Debian 15.20-0+deb12u1)")
    ('15.20', 15)
    >>> parse_server_version("16beta2")
    ('16beta2', 16)
    """
    found = _SERVER_VERSION.match(setting)
    if found is None:
        raise ValueError(f"not a PostgreSQL version: {setting!r}")
    return found.group(1) + found.group(2) + (found.group(3) or ""), int(found.group(1))


def dbname_argument(name: str) -> str:
    """The value of `pg_dump -d` that names exactly database `name`.

    libpq reads a dbname containing "=" or starting with a URI scheme as a connection string,
    so such a name is wrapped in a quoted `dbname='...'` connection string.

    >>> dbname_argument("app")
    'app'
    >>> dbname_argument("a=b")
    "dbname='a=b'"
    >>> dbname_argument("it's")
    "it's"
    """
    if "=" not in name and not name.startswith(("postgresql://", "postgres://")):
        return name
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"dbname='{escaped}'"


@dataclass(frozen=True)
class ClientTool:
    """A PostgreSQL client program found on this machine."""

    path: Path
    version: str
    major: int


def choose_pg_dump(
    found: Sequence[ClientTool], server_major: int, preferred_dir: Path | None = None
) -> ClientTool | None:
    """The pg_dump to back up a server of `server_major`, or None when none is recent enough.

    pg_dump reads servers of its own major and older only. A suitable one in `preferred_dir`
    wins (the person chose it). Otherwise the lowest suitable major wins, not the newest:
    the archive format of a newer pg_dump can be unreadable to the server's own pg_restore
    ("unsupported version in file header"), so a matching pg_dump keeps the backup
    restorable with the tools that come with the server. Ties go to the first found.
    """
    suitable = [tool for tool in found if tool.major >= server_major]
    if not suitable:
        return None
    preferred = [
        t for t in suitable if preferred_dir is not None and t.path.parent == preferred_dir
    ]
    if preferred:
        return preferred[0]
    return min(suitable, key=lambda tool: tool.major)


def client_missing_message(
    server_version: str, server_major: int, found: Sequence[ClientTool]
) -> str:
    """Why no pg_dump fits, and what to install: "pg_dump 16 or newer is needed to back up
    PostgreSQL 16.2; found pg_dump 15.20: install postgresql-client-16"."""
    seen = ", ".join(f"pg_dump {tool.version}" for tool in found) or "no pg_dump"
    return (
        f"pg_dump {server_major} or newer is needed to back up PostgreSQL {server_version}; "
        f"found {seen}: install postgresql-client-{server_major}"
    )


def globals_errors(stderr_text: str) -> list[str]:
    r"""The lines of psql's stderr, after applying a globals dump, that report a real error.

    The globals restore runs with ON_ERROR_STOP=0 so that a role that already exists on the
    target (the connecting superuser at least) does not stop it; psql then exits 0 whatever
    failed. Its "already exists" errors are expected; any other ERROR (or psql's own
    "error:", such as an unknown meta-command) is a failure the restore must report.

    >>> globals_errors(
    ...     'psql:<stdin>:16: ERROR:  role "postgres" already exists\n'
    ...     'psql:<stdin>:19: ERROR:  must be superuser to create superusers\n'
    ... )
    ['psql:<stdin>:19: ERROR:  must be superuser to create superusers']
    """
    return [
        line.strip()
        for line in stderr_text.splitlines()
        if _GLOBALS_ERROR.search(line) and "already exists" not in line
    ]


# --- finding client programs ------------------------------------------------------------------


def default_search_dirs() -> list[Path]:
    """Where client programs are looked for after the preferred folder: Debian's versioned
    folders (/usr/lib/postgresql/N/bin, newest first), then PATH."""
    versioned = sorted(
        (d for d in DEBIAN_CLIENT_DIRS.glob("*/bin") if d.parent.name.isdigit()),
        key=lambda d: int(d.parent.name),
        reverse=True,
    )
    on_path = [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return versioned + on_path


def find_client_tools(program: str, dirs: Iterable[Path]) -> list[ClientTool]:
    """Every runnable `program` in `dirs`, in that order, with its version."""
    tools: list[ClientTool] = []
    seen: set[Path] = set()
    for folder in dirs:
        path = folder / program
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        real = path.resolve()
        # Debian's pg_wrapper picks a version per call from the arguments and environment, so
        # the version it reports need not be the one that would run; the real programs it
        # wraps are in /usr/lib/postgresql/N/bin, which is searched anyway.
        if real in seen or real.name == "pg_wrapper":
            continue
        seen.add(real)
        tool = _probe(path)
        if tool is not None:
            tools.append(tool)
    return tools


def _probe(path: Path) -> ClientTool | None:
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=_TOOL_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parsed = parse_tool_version(done.stdout) if done.returncode == 0 else None
    return ClientTool(path, *parsed) if parsed else None


# --- the engine -------------------------------------------------------------------------------


class PostgresEngine:
    """The `Engine` and `RestoringEngine` for PostgreSQL.

    `bin_dir` is a preferred folder of client programs (pg_dump, pg_dumpall, pg_restore,
    psql). `search_dirs` replaces the folders searched after it (default:
    `default_search_dirs()`, read at each call); tests use it to control which programs exist.

    Restores use the pg_restore and psql next to the pg_dump that would back up the target
    server (see `choose_pg_dump`): the same installation, of the target's major or newer, so
    it can write into that server. pg_restore reads archives of pg_dumps of its own major and
    older; an archive from a newer pg_dump fails loudly ("unsupported version in file
    header"): point `bin_dir` at that newer installation to restore it.
    """

    name = "postgresql"
    # Also on the engine, where the restore service looks for it (engines without globals
    # have none).
    globals_errors = staticmethod(globals_errors)

    @staticmethod
    def globals_for_target(globals_sql: bytes, conn: ConnectionInfo) -> bytes:
        """The globals dump to apply on the target, vetted (no psql meta-commands, role and
        tablespace statements only: `pg_globals.globals_to_apply`) and without the statements
        of the role Strongbox connects as, whose password would otherwise become the source
        server's. Raises GlobalsRefusedError before anything runs."""
        return globals_to_apply(globals_sql, conn.username)

    def __init__(
        self, bin_dir: Path | None = None, *, search_dirs: Sequence[Path] | None = None
    ) -> None:
        self.bin_dir = bin_dir
        self.search_dirs = list(search_dirs) if search_dirs is not None else None

    def check(self, conn: ConnectionInfo, databases: list[str], timeout: float) -> ServerInfo:
        """Connect, check that each of `databases` exists and that a pg_dump able to dump this
        server is installed, with a pg_dumpall next to it. Raises StrongboxError (REFUSED)
        with BAD_CREDENTIALS, UNREACHABLE, UNKNOWN_DATABASE, CLIENT_MISSING or CHECK_FAILED."""
        with self._connect(conn, timeout) as pg:
            server = _server_info(pg)
            _require_databases(pg, conn, databases)
        self._sibling(self._pick_pg_dump(server), "pg_dumpall", server)
        return server

    def list_databases(self, conn: ConnectionInfo, timeout: float) -> list[str]:
        """The databases that accept connections and are not templates, sorted, without the
        maintenance database "postgres" (by convention it holds no user data; name it
        explicitly to back it up)."""
        with self._connect(conn, timeout) as pg:
            return _user_databases(pg)

    def plan_dump(
        self, conn: ConnectionInfo, databases: list[str], timeout: float
    ) -> tuple[list[DumpCommand], dict[str, str]]:
        """One `pg_dump -Fc -Z0` per database (all user databases when `databases` is empty)
        and one `pg_dumpall --globals-only`, with the versions of both programs.

        Raises refused(UNKNOWN_DATABASE) when a named database is missing or the server has
        no user database, and the errors of `check` otherwise."""
        with self._connect(conn, timeout) as pg:
            server = _server_info(pg)
            names = list(dict.fromkeys(databases)) or _user_databases(pg)
            if not names:
                raise refused(
                    f"the PostgreSQL server at {conn.host}:{conn.port} has no user database to "
                    f"back up (only templates and {MAINTENANCE_DATABASE!r}); create one, or "
                    f"name {MAINTENANCE_DATABASE!r} explicitly",
                    UNKNOWN_DATABASE,
                    field_name="databases",
                )
            _require_databases(pg, conn, names)
            sizes = {name: _database_size(pg, name) for name in names}
            properties = {
                name: postgresql_properties.read(pg, name, server.major) for name in names
            }
        pg_dump = self._pick_pg_dump(server)
        pg_dumpall = self._sibling(pg_dump, "pg_dumpall", server)
        env = _client_env(conn, timeout)
        stems = safe_file_stems(names)
        commands = [_globals_command(pg_dumpall.path, conn, env, server)]
        commands += [
            _database_command(pg_dump.path, conn, env, name, stems[name], sizes[name], properties)
            for name in names
        ]
        return commands, {"pg_dump": pg_dump.version, "pg_dumpall": pg_dumpall.version}

    # --- restores ---

    def database_state(self, conn: ConnectionInfo, name: str, timeout: float) -> str:
        """'absent', 'empty' or 'nonempty'.

        Non-empty: a table, partitioned table, view, materialized view, sequence, foreign table
        or function (any routine) in a schema that is not the system's (pg_catalog,
        information_schema, pg_toast, other sessions' pg_temp_N). Extensions and the objects
        that belong to them do not count: they hold no user data, and a database made from a
        template with extensions installed has them from its first moment. Nor do types,
        domains or empty schemas. Raises refused(CHECK_FAILED) when the database exists but
        refuses connections (ALLOW_CONNECTIONS false) or the user may not connect to it."""
        try:
            with self._connect(conn, timeout, dbname=name) as pg:
                nonempty = _scalar(pg, _HAS_USER_OBJECTS)
        except StrongboxError as exc:
            if exc.code == UNKNOWN_DATABASE:
                return "absent"
            raise
        return "nonempty" if nonempty else "empty"

    def create_database(
        self,
        conn: ConnectionInfo,
        name: str,
        timeout: float,
        *,
        properties: DatabaseProperties | None = None,
    ) -> None:
        """CREATE DATABASE from template0, owned by the connecting user, with the encoding,
        LC_COLLATE, LC_CTYPE and locale provider of `properties` (else the server's defaults).

        template0 rather than the default template1: objects added to template1 would clash
        with those of the dump, and template1 cannot be copied while anyone (the maintenance
        connection when "postgres" is gone) is connected to it. Raises refused(DATABASE_EXISTS)
        when it exists, refused(CREATE_FAILED) when the user may not create databases or the
        name is too long, refused(LOCALE_UNAVAILABLE) when the server lacks the locale (or it
        does not fit the encoding), and the connection errors of `check`."""
        where = f"{conn.host}:{conn.port}"
        if len(name.encode()) > _MAX_NAME_BYTES:
            raise refused(
                f"database name {name!r} is longer than PostgreSQL's {_MAX_NAME_BYTES} bytes: "
                "choose a shorter name",
                CREATE_FAILED,
            )
        with self._connect(conn, timeout) as pg:
            server = _server_info(pg)
            statement = postgresql_properties.create_statement(name, properties, server.major)
            try:
                pg.execute(statement)
            except psycopg.errors.DuplicateDatabase:
                raise refused(
                    f"database {name!r} already exists on the PostgreSQL server at {where}: "
                    "restore into it with overwrite, or choose another name",
                    DATABASE_EXISTS,
                ) from None
            except psycopg.errors.InsufficientPrivilege:
                raise refused(
                    f"user {conn.username!r} may not create databases on the PostgreSQL server "
                    f"at {where}: run ALTER ROLE {_quote(conn.username)} CREATEDB, or restore "
                    "into a database that exists",
                    CREATE_FAILED,
                ) from None
            except psycopg.Error as exc:
                text = _short(scrub(str(exc), conn.password))
                locale = postgresql_properties.locale_refusal(name, properties, conn, text)
                raise locale or refused(
                    f"could not create database {name!r} on the PostgreSQL server at {where}: "
                    f"{text}",
                    CREATE_FAILED,
                ) from None

    def check_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> None:
        """Raises refused(LOCALE_UNAVAILABLE) when `create_database` could not give `name` the
        recorded encoding and locale (see `postgresql_properties.check_available`)."""
        with self._connect(conn, timeout) as pg:
            server = _server_info(pg)
            postgresql_properties.check_available(pg, name, properties, server.major, conn)

    def apply_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> list[str]:
        """The recorded settings (ALTER DATABASE ... SET), comment and grants, each on its
        own; those the server refuses become warnings (see `postgresql_properties`)."""
        with self._connect(conn, timeout, avoid=name) as pg:
            return postgresql_properties.apply_after_restore(pg, name, properties)

    def drop_database(self, conn: ConnectionInfo, name: str, timeout: float) -> None:
        """DROP DATABASE IF EXISTS ... WITH (FORCE), which ends the other sessions on it
        (before PostgreSQL 13, which lacks FORCE, they are ended with pg_terminate_backend).
        Raises refused(DROP_FAILED) when the user may not drop it (only its owner or a
        superuser may) or a session cannot be ended (a prepared transaction, a replication
        slot), and the connection errors of `check`."""
        where = f"{conn.host}:{conn.port}"
        with self._connect(conn, timeout, avoid=name) as pg:
            server = _server_info(pg)
            statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
            try:
                if server.major >= _DROP_FORCE_SINCE:
                    pg.execute(statement + sql.SQL(" WITH (FORCE)"))
                else:
                    pg.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    )
                    pg.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                raise refused(
                    f"user {conn.username!r} may not drop database {name!r} on the PostgreSQL "
                    f"server at {where}: only its owner or a superuser may; make the user its "
                    "owner, or restore into a new database",
                    DROP_FAILED,
                ) from None
            except psycopg.Error as exc:
                raise refused(
                    f"could not drop database {name!r} on the PostgreSQL server at {where}: "
                    f"{_short(scrub(str(exc), conn.password))}",
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
        """`pg_restore --exit-on-error` into `target`, reading `input_path` or, when it is
        None, its stdin.

        `-j jobs` only with an input file: pg_restore restores in parallel from a seekable
        file only, so with stdin it restores serially whatever `jobs` says. Owners and
        privileges are restored as dumped: a role missing on the target fails the restore
        ("role ... does not exist"); apply the globals first (`plan_globals_restore`).
        Connects to read the server's version. Raises invalid(FORMAT_MISMATCH) for an
        artifact that is not 'pg_dump-custom', and the errors of `check`."""
        require_restore_input("PostgreSQL", artifact_format, "pg_dump-custom", jobs)
        with self._connect(conn, _PLAN_TIMEOUT) as pg:
            server = _server_info(pg)
        pg_restore = self._sibling(self._pick_pg_dump(server), "pg_restore", server)
        argv = [
            str(pg_restore.path),
            "--exit-on-error",
            *_connection_args(conn),
            "-d",
            dbname_argument(target),
        ]
        if input_path is not None:
            # Absolute, so that a relative name starting with "-" is not read as an option.
            input_path = os.path.abspath(input_path)
            if jobs > 1:
                argv += ["-j", str(jobs)]
            argv.append(input_path)
        return RestoreCommand(argv, _client_env(conn, _PLAN_TIMEOUT), input_path)

    def plan_globals_restore(self, conn: ConnectionInfo) -> RestoreCommand:
        """`psql -X -q -v ON_ERROR_STOP=0 -f -` on the maintenance database, applying the
        globals dump (roles, tablespaces) read on stdin.

        Roles that exist already fail with "already exists" and the rest goes on; psql exits
        0 even when other statements fail, so a caller must treat a non-zero exit AND any line
        `globals_errors(stderr)` returns as a failure. Notices are silenced
        (client_min_messages=warning) so that stderr holds errors only. Feed the dump through
        `globals_for_target(dump, conn)`, or the connecting user gets the source
        server's password. Raises the errors of `check`."""
        with self._connect(conn, _PLAN_TIMEOUT) as pg:
            server = _server_info(pg)
            maintenance = str(_scalar(pg, "SELECT current_database()"))
        psql = self._sibling(self._pick_pg_dump(server), "psql", server)
        argv = [
            str(psql.path),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=0",
            *_connection_args(conn),
            "-d",
            dbname_argument(maintenance),
            # "-f -" reads stdin like no -f at all, but errors name their line.
            "-f",
            "-",
        ]
        env = _client_env(conn, _PLAN_TIMEOUT)
        env["PGOPTIONS"] = "-c client_min_messages=warning"
        return RestoreCommand(argv, env)

    def summarize(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """The tables of `name` outside the system schemas (plain tables and partitions, not
        partitioned parents, which hold no rows of their own, nor extensions' tables) and
        their exact row count: `count(*)` of each (`FROM ONLY`, so inherited rows count once),
        in one read-only snapshot. Each count must finish within `timeout`. Raises
        refused(UNKNOWN_DATABASE) when the database does not exist."""
        with self._connect(conn, timeout, dbname=name) as pg:
            pg.read_only = True
            pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with pg.transaction():
                tables = pg.execute(_USER_TABLES).fetchall()
                rows = 0
                for schema, table in tables:
                    count = sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                    rows += int(_scalar(pg, count))
        return DatabaseSummary(tables=len(tables), rows=rows)

    def estimate_summary(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """The tables `summarize` counts, with the planner's row estimate (after ANALYZE)."""
        with self._connect(conn, timeout, dbname=name) as pg:
            return postgresql_swap.estimate(pg, _USER_TABLES)

    def swap_databases(
        self, conn: ConnectionInfo, target: str, side: str, aside: str, timeout: float
    ) -> None:
        """Rename `target` to `aside` and `side` to `target` in one transaction (see
        `postgresql_swap.swap`), from a maintenance database that is neither."""
        with self._connect(conn, timeout, avoid=target) as pg:
            postgresql_swap.swap(pg, conn, target, side, aside)

    # --- internals ---

    @contextmanager
    def _connect(
        self,
        conn: ConnectionInfo,
        timeout: float,
        *,
        dbname: str | None = None,
        avoid: str | None = None,
    ) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A connection to `dbname`, by default to the maintenance database ("postgres", or
        "template1" where it was dropped or is `avoid`, the database about to be dropped), with
        statements limited to `timeout`. Driver errors become StrongboxError; a `dbname` that
        does not exist is refused(UNKNOWN_DATABASE)."""
        if dbname is not None:
            pg = _open_or_refuse(conn, dbname, timeout)
        else:
            candidates = [d for d in (MAINTENANCE_DATABASE, "template1") if d != avoid]
            pg = _open_first(conn, candidates, timeout)
        with pg:
            try:
                pg.execute(
                    "SELECT set_config('statement_timeout', %s, false)",
                    (str(max(1, int(timeout * 1000))),),
                )
                yield pg
            except psycopg.Error as exc:
                raise _translate(exc, conn, timeout) from None

    def _pick_pg_dump(self, server: ServerInfo) -> ClientTool:
        dirs = [self.bin_dir] if self.bin_dir is not None else []
        dirs += self.search_dirs if self.search_dirs is not None else default_search_dirs()
        found = find_client_tools("pg_dump", dirs)
        chosen = choose_pg_dump(found, server.major, self.bin_dir)
        if chosen is None:
            raise refused(
                client_missing_message(server.version, server.major, found),
                CLIENT_MISSING,
            )
        return chosen

    @staticmethod
    def _sibling(tool: ClientTool, program: str, server: ServerInfo) -> ClientTool:
        """`program` from the same folder as `tool`, so both come from one installation."""
        found = find_client_tools(program, [tool.path.parent])
        if not found:
            raise refused(
                f"{program} is missing next to {tool.path}: install "
                f"postgresql-client-{server.major}",
                CLIENT_MISSING,
            )
        return found[0]


def _open_first(
    conn: ConnectionInfo, dbnames: Sequence[str], timeout: float
) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection to the first of `dbnames` that exists."""
    for dbname in dbnames[:-1]:
        try:
            return _open(conn, dbname, timeout)
        except psycopg.OperationalError as exc:
            if not _is_missing_database(exc, dbname):
                raise _translate(exc, conn, timeout) from None
    return _open_or_refuse(conn, dbnames[-1], timeout)


def _open_or_refuse(
    conn: ConnectionInfo, dbname: str, timeout: float
) -> psycopg.Connection[tuple[Any, ...]]:
    try:
        return _open(conn, dbname, timeout)
    except psycopg.Error as exc:
        if _is_missing_database(exc, dbname):
            raise refused(
                f"database {dbname!r} not found on the PostgreSQL server at "
                f"{conn.host}:{conn.port}",
                UNKNOWN_DATABASE,
                field_name="databases",
            ) from None
        raise _translate(exc, conn, timeout) from None


def _is_missing_database(exc: psycopg.Error, dbname: str) -> bool:
    return f'database "{dbname}" does not exist' in str(exc)


def _open(conn: ConnectionInfo, dbname: str, timeout: float) -> psycopg.Connection[tuple[Any, ...]]:
    tls: dict[str, Any] = libpq_params(conn)
    return psycopg.connect(
        host=conn.host,
        port=conn.port,
        user=conn.username,
        password=conn.password,
        dbname=dbname,
        connect_timeout=_timeout_seconds(timeout),
        application_name="strongbox",
        autocommit=True,
        **tls,
    )


def _timeout_seconds(timeout: float) -> int:
    # libpq takes whole seconds and treats anything below 2 as 2.
    return max(2, math.ceil(timeout))


def _server_info(pg: psycopg.Connection[tuple[Any, ...]]) -> ServerInfo:
    version, major = parse_server_version(_scalar(pg, "SHOW server_version"))
    superuser = _scalar(pg, "SHOW is_superuser") == "on"
    return ServerInfo(version, major, "PostgreSQL", details={"superuser": superuser})


def _scalar(pg: psycopg.Connection[tuple[Any, ...]], query: Any, params: Any = None) -> Any:
    row = pg.execute(query, params).fetchone()
    return row[0] if row else None


def _user_databases(pg: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
    rows = pg.execute(
        "SELECT datname FROM pg_database"
        " WHERE datallowconn AND NOT datistemplate AND datname <> %s",
        (MAINTENANCE_DATABASE,),
    ).fetchall()
    return sorted(row[0] for row in rows)


def _require_databases(
    pg: psycopg.Connection[tuple[Any, ...]], conn: ConnectionInfo, names: Sequence[str]
) -> None:
    """Raises refused(UNKNOWN_DATABASE) naming the databases that do not exist (or refuse
    connections, as template0 does) and listing those that do."""
    rows = pg.execute("SELECT datname FROM pg_database WHERE datallowconn").fetchall()
    existing = {row[0] for row in rows}
    missing = [name for name in names if name not in existing]
    if not missing:
        return
    there = ", ".join(_user_databases(pg)) or "none besides the maintenance database"
    plural = "s" if len(missing) > 1 else ""
    raise refused(
        f"database{plural} {', '.join(repr(m) for m in missing)} not found on the PostgreSQL "
        f"server at {conn.host}:{conn.port}; the databases there are: {there}",
        UNKNOWN_DATABASE,
        field_name="databases",
    )


def _database_size(pg: psycopg.Connection[tuple[Any, ...]], name: str) -> int | None:
    """The on-disk size, a hint for the upload's part size; None when the user may not read
    it (pg_database_size needs CONNECT on the database)."""
    try:
        size = _scalar(pg, "SELECT pg_database_size(%s)", (name,))
    except psycopg.errors.InsufficientPrivilege:
        return None
    return int(size) if size is not None else None


# The queries below run in the database itself. User schemas are all but information_schema and
# those named "pg_...", a prefix reserved for the system (pg_catalog, pg_toast, the pg_temp_N of
# other sessions' temporary tables). Objects that belong to an extension (pg_depend 'e') are
# the extension's, not the user's.

# Whether a user object exists (see `database_state`).
_HAS_USER_OBJECTS = """
SELECT EXISTS (
    SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
) OR EXISTS (
    SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
)"""

# The tables whose rows `summarize` counts.
_USER_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2"""


def _quote(identifier: str) -> str:
    """`identifier` as SQL, for messages that show a statement to run."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", identifier):
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def _client_env(conn: ConnectionInfo, timeout: float) -> dict[str, str]:
    # The password goes in the environment, never in argv, which any local user can read.
    return {
        "PGPASSWORD": conn.password,
        "PGCONNECT_TIMEOUT": str(_timeout_seconds(timeout)),
        "PGAPPNAME": "strongbox",
        **libpq_env(conn),
    }


def _connection_args(conn: ConnectionInfo) -> list[str]:
    # --no-password: fail at once rather than wait for a prompt nobody can answer.
    return ["-h", conn.host, "-p", str(conn.port), "-U", conn.username, "--no-password"]


def _database_command(
    pg_dump: Path,
    conn: ConnectionInfo,
    env: dict[str, str],
    dbname: str,
    stem: str,
    size: int | None,
    properties: dict[str, DatabaseProperties],
) -> DumpCommand:
    # -Z0: the pipeline compresses with zstd, faster and smaller than pg_dump's zlib.
    argv = [str(pg_dump), "-Fc", "-Z0", *_connection_args(conn), "-d", dbname_argument(dbname)]
    return DumpCommand(
        artifact_name=f"{stem}.pgdump.zst",
        kind="database",
        dbname=dbname,
        format="pg_dump-custom",
        argv=argv,
        env=dict(env),
        expected_bytes=size,
        properties=properties.get(dbname),
    )


def _globals_command(
    pg_dumpall: Path, conn: ConnectionInfo, env: dict[str, str], server: ServerInfo
) -> DumpCommand:
    argv = [str(pg_dumpall), "--globals-only", *_connection_args(conn)]
    if not server.details.get("superuser"):
        # Password hashes live in pg_authid, which only superusers may read; without this
        # flag pg_dumpall fails for any other user.
        argv.append("--no-role-passwords")
    return DumpCommand(
        artifact_name="globals.sql.zst",
        kind="globals",
        dbname=None,
        format="sql",
        argv=argv,
        env=dict(env),
    )


def _translate(exc: psycopg.Error, conn: ConnectionInfo, timeout: float) -> StrongboxError:
    """The StrongboxError a person can act on for a driver error."""
    text = scrub(str(exc), conn.password)
    where = f"{conn.host}:{conn.port}"
    tls = tls_error(_short(text), conn, "PostgreSQL server")
    if tls is not None:
        return tls
    if "password authentication failed" in text or "no password supplied" in text:
        return refused(
            f"the PostgreSQL server at {where} refused the login of user {conn.username!r}: "
            "the user name or password is wrong; check both",
            BAD_CREDENTIALS,
            field_name="password",
        )
    if re.search(r'role ".*" does not exist', text):
        return refused(
            f"the PostgreSQL server at {where} has no user {conn.username!r}; check the user name",
            BAD_CREDENTIALS,
            field_name="username",
        )
    unreachable = _unreachable_reason(text, conn, timeout)
    if unreachable:
        return refused(unreachable, UNREACHABLE, field_name="host")
    if "no pg_hba.conf entry" in text:
        return refused(
            f"the PostgreSQL server at {where} does not accept user {conn.username!r} from this "
            "machine: add a matching 'host' line to its pg_hba.conf and reload it",
            CHECK_FAILED,
        )
    return refused(
        f"could not check the PostgreSQL server at {where}: {_short(text)}", CHECK_FAILED
    )


def _unreachable_reason(text: str, conn: ConnectionInfo, timeout: float) -> str | None:
    where = f"{conn.host}:{conn.port}"
    if "failed to resolve host" in text or "could not translate host name" in text:
        return f"cannot resolve the host name {conn.host!r}: check the host"
    if "Connection refused" in text:
        return (
            f"nothing accepts connections at {where}: check the host and port, that PostgreSQL "
            "is running and listens on that address (listen_addresses), and that no firewall "
            "blocks the port"
        )
    if "timeout expired" in text or "timed out" in text:
        return (
            f"no answer from {where} within {_timeout_seconds(timeout)} s: check the host and "
            "port, and that no firewall drops the connection"
        )
    if "No route to host" in text or "Network is unreachable" in text:
        return f"no network route to {where}: check the host and the network between them"
    return None


def _short(text: str) -> str:
    # psycopg prefixes the server's words with 'connection failed: connection to server at
    # "...", port N failed: '; keep the part that says what happened.
    return text.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()
