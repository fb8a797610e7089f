"""Connections to a MySQL or MariaDB server with PyMySQL, and the small reads operations
start with (version, schemas, sizes, the connected account). Driver errors leave this module
as StrongboxError."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pymysql
from pymysql.connections import Connection

from strongbox.engines.base import ConnectionInfo, ServerInfo
from strongbox.engines.common import require_existing
from strongbox.engines.mysql.driver_errors import translate
from strongbox.engines.tls import pymysql_options

SYSTEM_SCHEMAS = frozenset({"information_schema", "performance_schema", "mysql", "sys"})
_SERVER_VERSION = re.compile(r"^(?:5\.5\.5-)?(\d+)\.(\d+)\.(\d+)")


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


def quote_identifier(name: str) -> str:
    """`name` as a MySQL identifier, whatever characters it holds.

    >>> quote_identifier("app")
    '`app`'
    >>> quote_identifier("we`ird")
    '`we``ird`'
    """
    return "`" + name.replace("`", "``") + "`"


@contextmanager
def connect(conn: ConnectionInfo, timeout: float) -> Iterator[Connection[Any]]:
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
        raise translate(exc, conn, timeout) from None
    with db:
        try:
            yield db
        except pymysql.Error as exc:
            raise translate(exc, conn, timeout) from None


def fetch_all(db: Connection[Any], query: str, params: Sequence[Any] | None = None) -> list[Any]:
    with db.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def server_info(db: Connection[Any]) -> ServerInfo:
    raw, log_bin = fetch_all(db, "SELECT VERSION(), @@log_bin")[0]
    version, major, flavor = parse_server_version(raw)
    return ServerInfo(version, major, flavor, details={"log_bin": bool(log_bin)})


def user_databases(db: Connection[Any]) -> list[str]:
    rows = fetch_all(db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    return sorted(row[0] for row in rows if row[0].lower() not in SYSTEM_SCHEMAS)


def require_databases(db: Connection[Any], conn: ConnectionInfo, names: Sequence[str]) -> None:
    """Raises refused(UNKNOWN_DATABASE) naming the databases that do not exist (or that the
    user may not see) and listing those that do."""
    schemas = fetch_all(db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    require_existing(
        names,
        {row[0] for row in schemas},
        server=f"the server at {conn.host}:{conn.port} (or user {conn.username!r} may not see it)",
        there=lambda: ", ".join(user_databases(db)) or "none",
    )


# Whether schema %s holds an object (see `database_state`); the server compares names as it
# does in statements (exactly, or ignoring case under lower_case_table_names).
SCHEMA_OBJECTS = (
    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
    " UNION ALL SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
    " UNION ALL SELECT 1 FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"
    " LIMIT 1"
)


def schema_exists(db: Connection[Any], name: str) -> bool:
    return bool(
        fetch_all(db, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    )


def grantee(db: Connection[Any]) -> str:
    """The connected account as GRANT spells it: 'user'@'host'."""
    user, _, host = str(fetch_all(db, "SELECT CURRENT_USER()")[0][0]).rpartition("@")
    return f"'{user}'@'{host}'"


def database_size(db: Connection[Any], name: str) -> int:
    """Data plus index bytes of the database's tables, a hint for the upload's part size."""
    rows = fetch_all(
        db,
        "SELECT COALESCE(SUM(data_length + index_length), 0)"
        " FROM information_schema.TABLES WHERE table_schema = %s",
        (name,),
    )
    return int(rows[0][0])
