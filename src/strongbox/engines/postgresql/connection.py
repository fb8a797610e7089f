"""Connections to a PostgreSQL server with psycopg, and the small reads every operation starts
with (version, databases, sizes). Driver errors leave this module as StrongboxError."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from strongbox.engines.base import UNKNOWN_DATABASE, ConnectionInfo, ServerInfo
from strongbox.engines.common import require_existing
from strongbox.engines.postgresql.driver_errors import translate
from strongbox.engines.postgresql.libpq import timeout_seconds
from strongbox.engines.tls import libpq_params
from strongbox.errors import refused

# The maintenance database every cluster has; it holds no user data by convention, so "all
# databases" leaves it out (it can still be named explicitly).
MAINTENANCE_DATABASE = "postgres"
_SERVER_VERSION = re.compile(r"^\s*(\d+)((?:\.\d+)*)([a-z]+\d*)?")

Pg = psycopg.Connection[tuple[Any, ...]]


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


@contextmanager
def connect(
    conn: ConnectionInfo,
    timeout: float,
    *,
    dbname: str | None = None,
    avoid: str | None = None,
) -> Iterator[Pg]:
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
            raise translate(exc, conn, timeout) from None


def _open_first(conn: ConnectionInfo, dbnames: Sequence[str], timeout: float) -> Pg:
    """A connection to the first of `dbnames` that exists."""
    for dbname in dbnames[:-1]:
        try:
            return _open(conn, dbname, timeout)
        except psycopg.OperationalError as exc:
            if not _is_missing_database(exc, dbname):
                raise translate(exc, conn, timeout) from None
    return _open_or_refuse(conn, dbnames[-1], timeout)


def _open_or_refuse(conn: ConnectionInfo, dbname: str, timeout: float) -> Pg:
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
        raise translate(exc, conn, timeout) from None


def _is_missing_database(exc: psycopg.Error, dbname: str) -> bool:
    return f'database "{dbname}" does not exist' in str(exc)


def _open(conn: ConnectionInfo, dbname: str, timeout: float) -> Pg:
    tls: dict[str, Any] = libpq_params(conn)
    return psycopg.connect(
        host=conn.host,
        port=conn.port,
        user=conn.username,
        password=conn.password,
        dbname=dbname,
        connect_timeout=timeout_seconds(timeout),
        application_name="strongbox",
        autocommit=True,
        **tls,
    )


def server_info(pg: Pg) -> ServerInfo:
    version, major = parse_server_version(scalar(pg, "SHOW server_version"))
    superuser = scalar(pg, "SHOW is_superuser") == "on"
    return ServerInfo(version, major, "PostgreSQL", details={"superuser": superuser})


def scalar(pg: Pg, query: Any, params: Any = None) -> Any:
    row = pg.execute(query, params).fetchone()
    return row[0] if row else None


def user_databases(pg: Pg) -> list[str]:
    rows = pg.execute(
        "SELECT datname FROM pg_database"
        " WHERE datallowconn AND NOT datistemplate AND datname <> %s",
        (MAINTENANCE_DATABASE,),
    ).fetchall()
    return sorted(row[0] for row in rows)


def require_databases(pg: Pg, conn: ConnectionInfo, names: Sequence[str]) -> None:
    """Raises refused(UNKNOWN_DATABASE) naming the databases that do not exist (or refuse
    connections, as template0 does) and listing those that do."""
    rows = pg.execute("SELECT datname FROM pg_database WHERE datallowconn").fetchall()
    require_existing(
        names,
        {row[0] for row in rows},
        server=f"the PostgreSQL server at {conn.host}:{conn.port}",
        there=lambda: ", ".join(user_databases(pg)) or "none besides the maintenance database",
    )


def database_size(pg: Pg, name: str) -> int | None:
    """The on-disk size, a hint for the upload's part size; None when the user may not read
    it (pg_database_size needs CONNECT on the database)."""
    try:
        size = scalar(pg, "SELECT pg_database_size(%s)", (name,))
    except psycopg.errors.InsufficientPrivilege:
        return None
    return int(size) if size is not None else None
