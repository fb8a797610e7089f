"""PostgreSQL: checks with psycopg, backups with `pg_dump -Fc` per database plus
`pg_dumpall --globals-only` for roles and tablespaces.

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

from strongbox.engines.base import (
    BAD_CREDENTIALS,
    CHECK_FAILED,
    CLIENT_MISSING,
    UNKNOWN_DATABASE,
    UNREACHABLE,
    ConnectionInfo,
    DumpCommand,
    ServerInfo,
)
from strongbox.engines.common import safe_file_stems, scrub
from strongbox.errors import StrongboxError, refused

# The maintenance database every cluster has; it holds no user data by convention, so "all
# databases" leaves it out (it can still be named explicitly).
MAINTENANCE_DATABASE = "postgres"
DEBIAN_CLIENT_DIRS = Path("/usr/lib/postgresql")
_TOOL_VERSION_TIMEOUT = 10.0  # seconds for `pg_dump --version`
_TOOL_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)((?:\.\d+)*)([a-z]+\d*)?")
_SERVER_VERSION = re.compile(r"^\s*(\d+)((?:\.\d+)*)([a-z]+\d*)?")


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
    """The `Engine` for PostgreSQL.

    `bin_dir` is a preferred folder of client programs (pg_dump, pg_dumpall). `search_dirs`
    replaces the folders searched after it (default: `default_search_dirs()`, read at each
    call); tests use it to control which programs exist.
    """

    name = "postgresql"

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
        pg_dump = self._pick_pg_dump(server)
        pg_dumpall = self._sibling(pg_dump, "pg_dumpall", server)
        env = _client_env(conn, timeout)
        stems = safe_file_stems(names)
        commands = [_globals_command(pg_dumpall.path, conn, env, server)]
        commands += [
            _database_command(pg_dump.path, conn, env, name, stems[name], sizes[name])
            for name in names
        ]
        return commands, {"pg_dump": pg_dump.version, "pg_dumpall": pg_dumpall.version}

    # --- internals ---

    @contextmanager
    def _connect(
        self, conn: ConnectionInfo, timeout: float
    ) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A connection to the maintenance database ("postgres", or "template1" where it was
        dropped), with statements limited to `timeout`. Driver errors become StrongboxError."""
        try:
            pg = _open(conn, MAINTENANCE_DATABASE, timeout)
        except psycopg.OperationalError as exc:
            if f'database "{MAINTENANCE_DATABASE}" does not exist' not in str(exc):
                raise _translate(exc, conn, timeout) from None
            try:
                pg = _open(conn, "template1", timeout)
            except psycopg.Error as exc2:
                raise _translate(exc2, conn, timeout) from None
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


def _open(conn: ConnectionInfo, dbname: str, timeout: float) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(
        host=conn.host,
        port=conn.port,
        user=conn.username,
        password=conn.password,
        dbname=dbname,
        connect_timeout=_timeout_seconds(timeout),
        application_name="strongbox",
        autocommit=True,
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


def _client_env(conn: ConnectionInfo, timeout: float) -> dict[str, str]:
    # The password goes in the environment, never in argv, which any local user can read.
    return {
        "PGPASSWORD": conn.password,
        "PGCONNECT_TIMEOUT": str(_timeout_seconds(timeout)),
        "PGAPPNAME": "strongbox",
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
