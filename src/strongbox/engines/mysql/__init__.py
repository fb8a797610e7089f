"""MySQL and MariaDB, one package: the kind's declaration (`KIND`) and the engine behind it.

Modules: `engine` (the Engine), `connection` (PyMySQL connections and the reads operations
start with), `driver_errors` (what PyMySQL's errors mean to a person), `client_tools` (finding
the dump program and the client), `commands` (their command lines), `binlog` (the log
position a dump records) and `properties` (a schema's character set and collation).
"""

from __future__ import annotations

from strongbox.domain.manifest_checks import DATABASE, SQL
from strongbox.engines.kind import EngineKind, EngineOptions
from strongbox.engines.mysql.binlog import (
    binlog_position_from_head,
    missing_position_privileges,
    position_option,
)
from strongbox.engines.mysql.client_tools import DumpTool, parse_tool_version
from strongbox.engines.mysql.connection import (
    SYSTEM_SCHEMAS,
    parse_server_version,
    quote_identifier,
)
from strongbox.engines.mysql.engine import MySQLEngine

__all__ = [
    "KIND",
    "SYSTEM_SCHEMAS",
    "DumpTool",
    "MySQLEngine",
    "binlog_position_from_head",
    "missing_position_privileges",
    "parse_server_version",
    "parse_tool_version",
    "position_option",
    "quote_identifier",
]


def _make(_options: EngineOptions) -> MySQLEngine:
    return MySQLEngine()


KIND = EngineKind(
    name="mysql",
    label="MySQL/MariaDB",
    default_port=3306,
    # One SQL dump per database; users and grants are not dumped.
    artifact_formats={DATABASE: SQL},
    # The client reads one stream: a restore runs one job whatever was asked.
    parallel_restore=False,
    make=_make,
)
