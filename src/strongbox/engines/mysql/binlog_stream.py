"""Streaming a MySQL/MariaDB server's binary log for point-in-time recovery: the prerequisites,
the server's list of binlog files, and the `mariadb-binlog --read-from-remote-server --raw
--stop-never` command that copies them into a spool folder under their own names.

The password reaches the reader in an option file of mode 0600 in the spool folder (the
reader has no environment variable for it that every version reads, and a command line is
visible to every user of the machine)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pymysql.connections import Connection

from strongbox.domain.binlog import parse_binlog_name
from strongbox.engines.base import BinlogServerStatus, ConnectionInfo, ReceiverCommand, ServerInfo
from strongbox.engines.mysql.client_tools import binlog_tool
from strongbox.engines.mysql.connection import fetch_all, grantee, server_info
from strongbox.engines.tls import mysql_client_args
from strongbox.errors import StrongboxError, refused

BINLOG_MISSING = "database-binlog-missing"
OPTION_FILE = ".strongbox-binlog.cnf"
_SERVER_ID_OPTION = {True: "--stop-never-slave-server-id", False: "--connection-server-id"}
# The binlog must stay on the server for this many upload intervals at least.
EXPIRY_INTERVALS = 5


def check(
    db: Connection[Any], conn: ConnectionInfo, connection_server_id: int, interval: int
) -> list[str]:
    """Refuses (422) a server whose binary log cannot be streamed to `conn.username`, naming
    each missing prerequisite with its fix; returns warnings (a binlog format other than ROW)."""
    server = server_info(db)
    rows = fetch_all(
        db,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN"
        " ('log_bin', 'binlog_format', 'server_id', 'expire_logs_days',"
        " 'binlog_expire_logs_seconds')",
    )
    values = {str(name).lower(): str(value) for name, value in rows}
    if values.get("log_bin", "OFF").upper() != "ON":
        raise refused(
            _prerequisites(
                [
                    "binary logging is off: start the server with log_bin (e.g. log-bin=mysql-bin "
                    "and server_id=1 under [mysqld] in its configuration); this needs a server "
                    "restart"
                ]
            ),
            BINLOG_MISSING,
        )
    missing: list[str] = []
    missing += _missing_grants(db, server)
    server_id = int(values.get("server_id", "0"))
    if server_id == 0:
        missing.append(
            "server_id is 0, so the server refuses binlog readers: set server_id to a unique "
            "non-zero number under [mysqld] and restart the server"
        )
    elif server_id == connection_server_id:
        missing.append(
            f"the server's server_id is {server_id}, the id Strongbox's binlog reader connects "
            "with: set another server_id under [mysqld] and restart the server"
        )
    expiry = _expiry_seconds(values)
    needed = EXPIRY_INTERVALS * interval
    if expiry is not None and expiry < needed:
        missing.append(
            f"the server keeps binlog files {expiry} s only, less than {EXPIRY_INTERVALS} upload "
            f"intervals ({needed} s): run SET GLOBAL binlog_expire_logs_seconds = "
            f"{max(needed, 86400)} (expire_logs_days on older servers) and put it in the "
            "configuration"
        )
    if missing:
        raise refused(_prerequisites(missing), BINLOG_MISSING)
    binlog_format = values.get("binlog_format", "").upper()
    if binlog_format != "ROW":
        return [
            f"binlog_format is {binlog_format or 'unknown'}, not ROW: a replay of statements can "
            "differ from what the server did (non-deterministic functions); run SET GLOBAL "
            "binlog_format = 'ROW' and put it in the configuration"
        ]
    return []


def _prerequisites(missing: list[str]) -> str:
    return "point-in-time recovery needs what this server lacks: " + "; ".join(missing)


def _expiry_seconds(values: dict[str, str]) -> int | None:
    """How long the server keeps binlog files (None: until purged by hand)."""
    seconds = int(float(values.get("binlog_expire_logs_seconds", "0") or 0))
    if seconds:
        return seconds
    days = float(values.get("expire_logs_days", "0") or 0)
    return int(days * 86400) if days else None


def _missing_grants(db: Connection[Any], server: ServerInfo) -> list[str]:
    """The GRANT that gives the user what a binlog reader needs, as the server names it:
    REPLICATION SLAVE to read, and REPLICATION CLIENT (BINLOG MONITOR on MariaDB 10.5 and
    later) to list the binlog files. Only direct grants are seen (not those through roles)."""
    account = grantee(db)
    rows = fetch_all(
        db,
        "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
        (account,),
    )
    held = {str(row[0]).upper() for row in rows}
    monitor = "BINLOG MONITOR" if _renamed_monitor(server) else "REPLICATION CLIENT"
    lacking = [p for p in ("REPLICATION SLAVE", monitor) if p not in held]
    if monitor == "REPLICATION CLIENT" and "SUPER" in held and monitor in lacking:
        lacking.remove(monitor)
    if not lacking:
        return []
    return [
        f"user {account} lacks {' and '.join(lacking)}: run GRANT {', '.join(lacking)} ON *.* "
        f"TO {account}"
    ]


def _renamed_monitor(server: ServerInfo) -> bool:
    """MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR."""
    if server.flavor != "MariaDB":
        return False
    major, minor = (int(p) for p in server.version.split(".")[:2])
    return (major, minor) >= (10, 5)


def status(db: Connection[Any]) -> BinlogServerStatus:
    """The server's binlog files (name and size, oldest first) and its server id. Names are
    checked: they become object keys and spool paths."""
    files = []
    for row in fetch_all(db, "SHOW BINARY LOGS"):
        name, size = str(row[0]), int(row[1])
        try:
            parse_binlog_name(name)
        except ValueError as exc:
            raise StrongboxError(
                f"the server lists a binlog file Strongbox cannot use: {exc}"
            ) from None
        files.append((name, size))
    server_id = int(fetch_all(db, "SELECT @@server_id")[0][0])
    return BinlogServerStatus(tuple(files), server_id)


def reader_command(
    db: Connection[Any],
    conn: ConnectionInfo,
    spool: Path,
    start_file: str,
    connection_server_id: int,
    search_path: str | None,
) -> ReceiverCommand:
    """The reader that copies the binlog from the start of `start_file` (checked) on, each file
    into `spool` under its own name, and waits for more."""
    parse_binlog_name(start_file)
    tool = binlog_tool(server_info(db), search_path)
    options = spool / OPTION_FILE
    _write_option_file(options, conn.password)
    argv = [
        tool.path,
        f"--defaults-extra-file={options}",  # must come first
        "--read-from-remote-server",
        "--raw",
        "--stop-never",
        f"--result-file={spool}/",
        # The server id the reader connects with: MariaDB's reader names the option its own way.
        f"{_SERVER_ID_OPTION[tool.mariadb]}={connection_server_id}",
        "--protocol=TCP",
        "-h",
        conn.host,
        "-P",
        str(conn.port),
        "-u",
        conn.username,
        *mysql_client_args(conn, mariadb=tool.mariadb),
        start_file,
    ]
    return ReceiverCommand(argv, {"TZ": "UTC"}, Path(tool.path))


def _write_option_file(path: Path, password: str) -> None:
    """`[client] password=...` in a file only its owner can read."""
    escaped = (
        password.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f'[client]\npassword="{escaped}"\n')
