"""What PyMySQL's errors mean to a person: each becomes a StrongboxError whose message names
the next step, and never holds the password."""

from __future__ import annotations

import pymysql

from strongbox.engines.base import (
    BAD_CREDENTIALS,
    CHECK_FAILED,
    UNKNOWN_DATABASE,
    UNREACHABLE,
    ConnectionInfo,
)
from strongbox.engines.common import scrub
from strongbox.engines.tls import tls_error
from strongbox.errors import StrongboxError, refused

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


def error_parts(exc: pymysql.Error, conn: ConnectionInfo) -> tuple[int | None, str]:
    """The error number (None for non-server errors) and message, without the password."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return code, scrub(text, conn.password)


def translate(exc: pymysql.Error, conn: ConnectionInfo, timeout: float) -> StrongboxError:
    """The StrongboxError a person can act on for a driver error."""
    code, text = error_parts(exc, conn)
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
