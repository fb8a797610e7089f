"""How the PostgreSQL client programs and libpq are told where to connect: arguments,
environment (the password lives there only) and timeouts."""

from __future__ import annotations

import math

from strongbox.engines.base import ConnectionInfo
from strongbox.engines.tls import libpq_env


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


def timeout_seconds(timeout: float) -> int:
    # libpq takes whole seconds and treats anything below 2 as 2.
    return max(2, math.ceil(timeout))


def client_env(conn: ConnectionInfo, timeout: float) -> dict[str, str]:
    # The password goes in the environment, never in argv, which any local user can read.
    return {
        "PGPASSWORD": conn.password,
        "PGCONNECT_TIMEOUT": str(timeout_seconds(timeout)),
        "PGAPPNAME": "strongbox",
        **libpq_env(conn),
    }


def connection_args(conn: ConnectionInfo) -> list[str]:
    # --no-password: fail at once rather than wait for a prompt nobody can answer.
    return ["-h", conn.host, "-p", str(conn.port), "-U", conn.username, "--no-password"]
