"""The command lines of MySQL and MariaDB dumps and restores. Pure: the programs are found
elsewhere (`client_tools`). The password reaches them in MYSQL_PWD only."""

from __future__ import annotations

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.base import ConnectionInfo, DumpCommand, RestoreCommand
from strongbox.engines.mysql.binlog import binlog_position_from_head, position_option
from strongbox.engines.mysql.client_tools import DumpTool
from strongbox.engines.mysql.replica import lock_guard
from strongbox.engines.tls import mysql_client_args

# The client's largest packet (its maximum), so that no row of a dump is too long for the
# client; the server's own max_allowed_packet still applies.
_CLIENT_MAX_PACKET = 1024 * 1024 * 1024


def database_command(
    tool: DumpTool,
    conn: ConnectionInfo,
    dbname: str,
    stem: str,
    size: int,
    log_bin: bool,
    properties: DatabaseProperties,
    lock_timeout_seconds: int | None = None,
) -> DumpCommand:
    """The dump of `dbname` into `<stem>.sql.zst`, recording the binlog position when
    `log_bin`, its metadata-lock waits bounded by `lock_timeout_seconds` (`lock_guard`)."""
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
        guard=(
            lock_guard(conn, dbname, lock_timeout_seconds)
            if lock_timeout_seconds is not None
            else None
        ),
    )


def restore_command(tool: DumpTool, conn: ConnectionInfo, target: str) -> RestoreCommand:
    """The client `tool` in batch mode, reading an SQL dump on stdin into `target` (see
    `MySQLEngine.plan_restore`)."""
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
