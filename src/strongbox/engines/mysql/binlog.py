"""The binary log position a dump records (for point-in-time recovery): the dump option that
writes it, reading it back from the dump's first bytes, and the privileges it needs."""

from __future__ import annotations

import re
from typing import Any

from pymysql.connections import Connection

from strongbox.engines.base import CHECK_FAILED, ServerInfo
from strongbox.engines.mysql.client_tools import DumpTool
from strongbox.engines.mysql.connection import fetch_all
from strongbox.errors import refused

_BINLOG_POSITION = re.compile(
    r"CHANGE (?:MASTER|REPLICATION SOURCE) TO\s+(?:MASTER|SOURCE)_LOG_FILE\s*=\s*'([^']+)'"
    # The ";" proves the number is whole when the head was cut just after it.
    r"\s*,\s*(?:MASTER|SOURCE)_LOG_POS\s*=\s*(\d+)\s*;"
)
# MariaDB: "-- SET GLOBAL gtid_slave_pos='0-1-3';"; MySQL:
# "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'uuid:1-5';"
_MARIADB_GTID = re.compile(r"SET GLOBAL gtid_(?:slave|replica)_pos\s*=\s*'([^']*)'")
_MYSQL_GTID = re.compile(r"SET @@GLOBAL\.GTID_PURGED\s*=\s*(?:/\*!\d+ '\+'\*/\s*)?'([^']*)'")
# Oracle's mysqldump renamed --master-data to --source-data in 8.0.26.
_SOURCE_DATA_SINCE = (8, 0, 26)


def position_option(tool: DumpTool) -> str:
    """The option that writes the binlog position as a comment at the head of the dump.

    >>> position_option(DumpTool("mariadb-dump", "10.11.19-MariaDB", True))
    '--master-data=2'
    >>> position_option(DumpTool("mysqldump", "8.4.0", False))
    '--source-data=2'
    """
    if not tool.mariadb:
        parts = tuple(int(p) for p in tool.version.split(".")[:3])
        if parts >= _SOURCE_DATA_SINCE:
            return "--source-data=2"
    return "--master-data=2"


def binlog_position_from_head(head: bytes) -> dict[str, Any] | None:
    """The binlog position a dump was taken at, read from its first bytes.

    Returns {"file": str, "position": int, "gtid": str | None}, or None when the head holds no
    `CHANGE MASTER TO` (or `CHANGE REPLICATION SOURCE TO`) line. The GTID is only found when
    the tool writes it near the top (MySQL, older MariaDB); MariaDB 10.11 writes it at the end.
    """
    text = head.decode("utf-8", errors="replace")
    position = _BINLOG_POSITION.search(text)
    if position is None:
        return None
    gtid = _MARIADB_GTID.search(text) or _MYSQL_GTID.search(text)
    return {
        "file": position.group(1),
        "position": int(position.group(2)),
        "gtid": gtid.group(1) if gtid else None,
    }


def missing_position_privileges(flavor: str, privileges: set[str]) -> list[str]:
    """The privileges the user lacks for a dump that records the binlog position.

    MariaDB's dump reads the position from a consistent snapshot and needs nothing extra.
    MySQL's takes FLUSH TABLES WITH READ LOCK (RELOAD) and reads SHOW MASTER STATUS
    (REPLICATION CLIENT, or SUPER).

    >>> missing_position_privileges("MySQL", {"SELECT", "RELOAD"})
    ['REPLICATION CLIENT']
    >>> missing_position_privileges("MariaDB", {"SELECT"})
    []
    """
    if flavor == "MariaDB":
        return []
    missing = [] if "RELOAD" in privileges else ["RELOAD"]
    if not privileges & {"REPLICATION CLIENT", "SUPER"}:
        missing.append("REPLICATION CLIENT")
    return missing


def require_position_privileges(db: Connection[Any], server: ServerInfo) -> None:
    """Raises refused(CHECK_FAILED) with the GRANT to run when the user may not record the
    binlog position. Only direct grants are seen (not those through roles)."""
    account = str(fetch_all(db, "SELECT CURRENT_USER()")[0][0])
    user, _, host = account.rpartition("@")
    grantee = f"'{user}'@'{host}'"
    rows = fetch_all(
        db,
        "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
        (grantee,),
    )
    missing = missing_position_privileges(server.flavor, {row[0] for row in rows})
    if missing:
        raise refused(
            f"binary logging is on, so each dump records the binlog position for "
            f"point-in-time recovery, which needs the {' and '.join(missing)} privilege"
            f"{'s' if len(missing) > 1 else ''}: run GRANT {', '.join(missing)} ON *.* TO "
            f"{grantee}",
            CHECK_FAILED,
            field_name="username",
        )
