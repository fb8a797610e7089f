"""Finding the MySQL and MariaDB client programs (mariadb-dump or mysqldump, mariadb or
mysql) and reading their versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from strongbox.engines.base import CLIENT_MISSING, ServerInfo
from strongbox.engines.tools import find_programs, path_dirs, probe
from strongbox.errors import refused

_MARIADB_TOOL_VERSION = re.compile(r"(?:Distrib|from)\s+(\d+\.\d+\.\d+)-MariaDB")
_MYSQL_TOOL_VERSION = re.compile(r"Ver\s+(\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class DumpTool:
    """A dump program found on this machine."""

    path: str
    version: str  # "10.11.19-MariaDB" or "8.0.36"
    mariadb: bool

    @property
    def name(self) -> str:
        return Path(self.path).name


def parse_tool_version(output: str) -> tuple[str, bool] | None:
    """The version of a dump program from its `--version` output, and whether it is
    MariaDB's; None when the output is neither.

    >>> parse_tool_version("mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu")
    ('10.11.19-MariaDB', True)
    >>> parse_tool_version("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server)")
    ('8.0.36', False)
    """
    mariadb = _MARIADB_TOOL_VERSION.search(output)
    if mariadb:
        return f"{mariadb.group(1)}-MariaDB", True
    mysql = _MYSQL_TOOL_VERSION.search(output)
    return (mysql.group(1), False) if mysql else None


def dump_tool(server: ServerInfo, search_path: str | None) -> DumpTool:
    """The dump program of the server's own vendor when both are installed: each knows its
    server's features (MariaDB sequences and system-versioned tables, MySQL's GTID_PURGED).
    Raises refused(CLIENT_MISSING) when neither is installed."""
    found = _vendor_first(server, ("mariadb-dump", "mysqldump"), search_path)
    if found is None:
        raise refused(
            f"no mariadb-dump nor mysqldump found to back up {server.flavor} {server.version}: "
            "install mariadb-client (or mysql-client)",
            CLIENT_MISSING,
        )
    return found


def client_tool(server: ServerInfo, search_path: str | None) -> DumpTool:
    """The command-line client, of the server's own vendor when both are installed: each
    reads its own dump tool's output (MariaDB's dumps start with a sandbox-mode line that
    Oracle's client rejects). Raises refused(CLIENT_MISSING) when neither is installed."""
    found = _vendor_first(server, ("mariadb", "mysql"), search_path)
    if found is None:
        raise refused(
            f"no mariadb nor mysql client found to restore into {server.flavor} "
            f"{server.version}: install mariadb-client (or mysql-client)",
            CLIENT_MISSING,
        )
    return found


def _vendor_first(
    server: ServerInfo, programs: tuple[str, str], search_path: str | None
) -> DumpTool | None:
    """The first of `programs` (MariaDB's, then MySQL's; the other way round for a MySQL
    server) found first in `search_path` (default PATH) that answers `--version` as one."""
    ordered = list(reversed(programs)) if server.flavor == "MySQL" else list(programs)
    for program in ordered:
        paths = find_programs(program, path_dirs(search_path))
        parsed = probe(paths[0], parse_tool_version) if paths else None
        if parsed is not None:
            return DumpTool(str(paths[0]), *parsed)
    return None


_BINLOG_TOOL_VERSION = re.compile(r"Ver\s+([0-9][0-9.]*)")


def parse_binlog_tool_version(output: str) -> tuple[str, bool] | None:
    """The version of a binlog reader from its `--version` output, and whether it is
    MariaDB's (Oracle's names its server; MariaDB's does not).

    >>> parse_binlog_tool_version("mariadb-binlog Ver 3.5 for debian-linux-gnu at x86_64")
    ('3.5', True)
    >>> parse_binlog_tool_version("mysqlbinlog  Ver 8.0.36 for Linux (MySQL Community Server)")
    ('8.0.36', False)
    """
    found = _BINLOG_TOOL_VERSION.search(output)
    if found is None:
        return None
    return found.group(1), "MySQL Community" not in output and "MySQL Enterprise" not in output


def binlog_tool(server: ServerInfo, search_path: str | None) -> DumpTool:
    """The binlog reader (mariadb-binlog, or mysqlbinlog for a MySQL server when both are
    installed). Raises refused(CLIENT_MISSING) when neither is installed."""
    ordered = (
        ["mysqlbinlog", "mariadb-binlog"]
        if server.flavor == "MySQL"
        else [
            "mariadb-binlog",
            "mysqlbinlog",
        ]
    )
    for program in ordered:
        paths = find_programs(program, path_dirs(search_path))
        parsed = probe(paths[0], parse_binlog_tool_version) if paths else None
        if parsed is not None:
            return DumpTool(str(paths[0]), *parsed)
    raise refused(
        f"no mariadb-binlog nor mysqlbinlog found to stream the binary log of {server.flavor} "
        f"{server.version}: install mariadb-client (or mysql-client)",
        CLIENT_MISSING,
    )
