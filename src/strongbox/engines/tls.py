"""TLS of database connections: what each `ssl_mode` means to psycopg, PyMySQL and the client
programs of both engines, and the readable error for a failed handshake.

The modes are libpq's (without `allow`):

| ssl_mode    | TLS                                   | certificate checked                     |
| ----------- | ------------------------------------- | --------------------------------------- |
| disable     | never                                 | no                                      |
| prefer      | if the server offers it               | no                                      |
| require     | always                                | no                                      |
| verify-ca   | always                                | signed by the CA in `ssl_ca`            |
| verify-full | always                                | as verify-ca, and it names the host     |

The verify modes need `ssl_ca` and the others take none (`ssl_ca_rule`), so a CA given with a
mode that would not use it never looks like verification that is not happening.
"""

from __future__ import annotations

import re
import ssl
from typing import Any

from strongbox.engines.base import TLS_FAILED, ConnectionInfo
from strongbox.errors import StrongboxError, refused

SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
VERIFYING_MODES = frozenset({"verify-ca", "verify-full"})
DEFAULT_SSL_MODE = "prefer"


def ssl_ca_rule(ssl_mode: str, has_ca: bool) -> str | None:
    """Why `ssl_mode` and a CA (given or not) do not go together, or None when they do.

    >>> ssl_ca_rule("verify-full", True) is None, ssl_ca_rule("prefer", False) is None
    (True, True)
    >>> ssl_ca_rule("verify-ca", False)[:34]
    'ssl_mode verify-ca needs ssl_ca: g'
    """
    if ssl_mode in VERIFYING_MODES and not has_ca:
        return (
            f"ssl_mode {ssl_mode} needs ssl_ca: give the certificate (PEM) of the CA that signed "
            "the server's certificate"
        )
    if ssl_mode not in VERIFYING_MODES and has_ca:
        return (
            f"ssl_ca is used only to verify the server (ssl_mode verify-ca or verify-full), not "
            f"with ssl_mode {ssl_mode}: set ssl_mode verify-full, or leave ssl_ca out"
        )
    return None


def _ca_path(conn: ConnectionInfo) -> str | None:
    return conn.ssl_ca_file if conn.ssl_mode in VERIFYING_MODES else None


# --- PostgreSQL -------------------------------------------------------------------------------


def libpq_params(conn: ConnectionInfo) -> dict[str, str]:
    """Connection parameters for psycopg.

    >>> libpq_params(ConnectionInfo("h", 5432, "u", "", ssl_mode="verify-ca", ssl_ca_file="/c"))
    {'sslmode': 'verify-ca', 'sslrootcert': '/c'}
    """
    params = {"sslmode": conn.ssl_mode}
    ca = _ca_path(conn)
    if ca is not None:
        params["sslrootcert"] = ca
    return params


def libpq_env(conn: ConnectionInfo) -> dict[str, str]:
    """The same for pg_dump, pg_dumpall, pg_restore and psql, as libpq environment variables.

    >>> libpq_env(ConnectionInfo("h", 5432, "u", "", ssl_mode="require"))
    {'PGSSLMODE': 'require'}
    """
    names = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT"}
    return {names[key]: value for key, value in libpq_params(conn).items()}


# --- MySQL and MariaDB ------------------------------------------------------------------------


def pymysql_options(conn: ConnectionInfo) -> dict[str, Any]:
    """Keyword arguments for `pymysql.connect`.

    Without TLS options PyMySQL prefers TLS without checking the certificate, which is `prefer`.
    Given an SSLContext it requires TLS and fails when the server offers none.
    """
    if conn.ssl_mode == "disable":
        return {"ssl_disabled": True}
    if conn.ssl_mode == "prefer":
        return {}
    context = ssl.create_default_context(cafile=_ca_path(conn))
    # Python 3.13 adds X.509 strict checks by default, which the certificates servers make for
    # themselves often fail; libpq and the client programs do not apply them either.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.check_hostname = conn.ssl_mode == "verify-full"
    if conn.ssl_mode not in VERIFYING_MODES:
        context.verify_mode = ssl.CERT_NONE
    return {"ssl": context}


_ORACLE_SSL_MODES = {
    "disable": "DISABLED",
    "prefer": "PREFERRED",
    "require": "REQUIRED",
    "verify-ca": "VERIFY_CA",
    "verify-full": "VERIFY_IDENTITY",
}


def mysql_client_args(conn: ConnectionInfo, *, mariadb: bool) -> list[str]:
    """Options of the client programs (mariadb-dump, mariadb; mysqldump, mysql).

    MariaDB's programs (10.x) verify the chain when given --ssl-ca and, with
    --ssl-verify-server-cert, the host name too. They have no way to demand TLS without checking
    the certificate, so `require` gets --ssl (TLS when offered): Strongbox's own connection, made
    just before each program runs, is the one that refuses a server without TLS. Oracle's
    programs take --ssl-mode.

    >>> conn = ConnectionInfo("h", 3306, "u", "", ssl_mode="verify-full", ssl_ca_file="/c")
    >>> mysql_client_args(conn, mariadb=True)
    ['--ssl', '--ssl-ca=/c', '--ssl-verify-server-cert']
    >>> mysql_client_args(conn, mariadb=False)
    ['--ssl-mode=VERIFY_IDENTITY', '--ssl-ca=/c']
    >>> mysql_client_args(ConnectionInfo("h", 3306, "u", "", ssl_mode="disable"), mariadb=True)
    ['--skip-ssl']
    """
    ca = _ca_path(conn)
    ca_args = [f"--ssl-ca={ca}"] if ca is not None else []
    if not mariadb:
        return [f"--ssl-mode={_ORACLE_SSL_MODES[conn.ssl_mode]}", *ca_args]
    if conn.ssl_mode == "disable":
        return ["--skip-ssl"]
    verify = ["--ssl-verify-server-cert"] if conn.ssl_mode == "verify-full" else []
    return ["--ssl", *ca_args, *verify]


# --- failed handshakes ------------------------------------------------------------------------

# What the drivers say (libpq through psycopg, Python's ssl module through PyMySQL), and the
# problem it names. The first match wins.
_PROBLEMS = (
    (
        re.compile(r"does not match host name|[Hh]ostname mismatch|IP address mismatch"),
        "hostname mismatch: the server's certificate does not name host {host!r}; connect with "
        "a host name the certificate names, or use ssl_mode verify-ca",
    ),
    (
        re.compile(r"certificate has expired|certificate is not yet valid"),
        "the server's certificate is expired or not yet valid: renew it on the server",
    ),
    (
        re.compile(
            r"certificate verify failed|CERTIFICATE_VERIFY_FAILED|unable to get local issuer"
            r"|self[- ]signed certificate"
        ),
        "unknown CA: the server's certificate is not signed by the CA in ssl_ca; give the "
        "certificate of the CA that signed it",
    ),
    (
        re.compile(r"does not support SSL|doesn't support it|server does not support it"),
        "the server does not offer TLS, which ssl_mode {mode} requires: turn TLS on in the "
        "server, or choose ssl_mode prefer",
    ),
    (
        re.compile(r"SSL error|\[SSL"),
        "the TLS handshake failed ({text}): check the server's TLS settings and ssl_mode",
    ),
)


def tls_problem(text: str, conn: ConnectionInfo) -> str | None:
    """The certificate or TLS problem an error message reports, in words a person can act on,
    or None when the error is not about TLS.

    >>> conn = ConnectionInfo("db", 5432, "u", "", ssl_mode="verify-full", ssl_ca_file="/c")
    >>> tls_problem('server certificate for "x" does not match host name "db"', conn)[:17]
    'hostname mismatch'
    >>> tls_problem("SSL error: certificate verify failed", conn)[:10]
    'unknown CA'
    >>> tls_problem("password authentication failed", conn) is None
    True
    """
    for pattern, problem in _PROBLEMS:
        if pattern.search(text):
            return problem.format(host=conn.host, mode=conn.ssl_mode, text=text.strip())
    return None


def tls_error(text: str, conn: ConnectionInfo, server: str) -> StrongboxError | None:
    """refused(TLS_FAILED) for a driver error about TLS, or None. `server` names the kind of
    server in the message ("PostgreSQL server")."""
    problem = tls_problem(text, conn)
    if problem is None:
        return None
    fields = {"unknown CA": "ssl_ca", "hostname mismatch": "host"}
    field = next((f for start, f in fields.items() if problem.startswith(start)), "ssl_mode")
    return refused(
        f"TLS with the {server} at {conn.host}:{conn.port} failed (ssl_mode {conn.ssl_mode}): "
        f"{problem}",
        TLS_FAILED,
        field_name=field,
    )
