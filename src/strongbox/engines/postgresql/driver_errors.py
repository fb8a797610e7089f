"""What psycopg's errors mean to a person: each becomes a StrongboxError whose message names
the next step, and never holds the password."""

from __future__ import annotations

import re

import psycopg

from strongbox.engines.base import (
    BAD_CREDENTIALS,
    CHECK_FAILED,
    UNREACHABLE,
    ConnectionInfo,
)
from strongbox.engines.common import scrub
from strongbox.engines.postgresql.libpq import timeout_seconds
from strongbox.engines.tls import tls_error
from strongbox.errors import StrongboxError, refused


def translate(exc: psycopg.Error, conn: ConnectionInfo, timeout: float) -> StrongboxError:
    """The StrongboxError a person can act on for a driver error."""
    text = scrub(str(exc), conn.password)
    where = f"{conn.host}:{conn.port}"
    tls = tls_error(short(text), conn, "PostgreSQL server")
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
    return refused(f"could not check the PostgreSQL server at {where}: {short(text)}", CHECK_FAILED)


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
            f"no answer from {where} within {timeout_seconds(timeout)} s: check the host and "
            "port, and that no firewall drops the connection"
        )
    if "No route to host" in text or "Network is unreachable" in text:
        return f"no network route to {where}: check the host and the network between them"
    return None


def short(text: str) -> str:
    # psycopg prefixes the server's words with 'connection failed: connection to server at
    # "...", port N failed: '; keep the part that says what happened.
    return text.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()


def quote_identifier(identifier: str) -> str:
    """`identifier` as SQL, for messages that show a statement to run.

    >>> quote_identifier("app"), quote_identifier("Ops Team")
    ('app', '"Ops Team"')
    """
    if re.fullmatch(r"[a-z_][a-z0-9_]*", identifier):
        return identifier
    return '"' + identifier.replace('"', '""') + '"'
