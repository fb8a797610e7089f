"""PostgreSQL, one package: the kind's declaration (`KIND`) and the engine behind it.

Modules: `engine` (the Engine), `connection` (psycopg connections and the reads every
operation starts with), `driver_errors` (what psycopg's errors mean to a person),
`client_tools` (finding pg_dump and its siblings), `physical` (the checks and command of a
physical base backup), `commands` and `libpq` (the command lines of
dumps and restores), `properties` (a database's encoding, settings and grants), `swap`
(overwrite by renaming) and `globals_dump` (vetting a roles dump before psql applies it).
"""

from __future__ import annotations

from strongbox.domain.manifest_checks import (
    BASE,
    DATABASE,
    GLOBALS,
    PG_BASEBACKUP_TAR,
    PG_CUSTOM,
    SQL,
)
from strongbox.engines.kind import EngineKind, EngineOptions
from strongbox.engines.postgresql.client_tools import (
    ClientTool,
    choose_pg_dump,
    client_missing_message,
    default_search_dirs,
    find_client_tools,
    parse_tool_version,
)
from strongbox.engines.postgresql.commands import globals_errors
from strongbox.engines.postgresql.connection import MAINTENANCE_DATABASE, parse_server_version
from strongbox.engines.postgresql.engine import PostgresEngine
from strongbox.engines.postgresql.libpq import dbname_argument

__all__ = [
    "KIND",
    "MAINTENANCE_DATABASE",
    "ClientTool",
    "PostgresEngine",
    "choose_pg_dump",
    "client_missing_message",
    "dbname_argument",
    "default_search_dirs",
    "find_client_tools",
    "globals_errors",
    "parse_server_version",
    "parse_tool_version",
]


def _make(options: EngineOptions) -> PostgresEngine:
    return PostgresEngine(options.pg_bin_dir)


KIND = EngineKind(
    name="postgresql",
    label="PostgreSQL",
    default_port=5432,
    # Each database as a pg_dump custom archive; roles and tablespaces as SQL; a physical
    # backup as one pg_basebackup tar of the whole cluster.
    artifact_formats={DATABASE: PG_CUSTOM, GLOBALS: SQL, BASE: PG_BASEBACKUP_TAR},
    # pg_restore -j restores in parallel from a local copy of the archive.
    parallel_restore=True,
    make=_make,
)
