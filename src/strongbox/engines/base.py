"""The contract every database engine keeps.

An engine checks a connection, lists databases, and plans the dump commands of a backup; it never
runs the pipeline itself. Errors a person can fix are StrongboxError (REFUSED) with the codes below,
and their messages say how to fix them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

BAD_CREDENTIALS = "database-bad-credentials"
UNREACHABLE = "database-unreachable"
UNKNOWN_DATABASE = "database-unknown-database"
CLIENT_MISSING = "database-client-missing"
CHECK_FAILED = "database-check-failed"


@dataclass(frozen=True)
class ConnectionInfo:
    host: str
    port: int
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ServerInfo:
    version: str  # e.g. "15.20" or "10.11.19-MariaDB"
    major: int  # e.g. 15, or 10 for MariaDB 10.11
    flavor: str  # "PostgreSQL", "MariaDB" or "MySQL"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DumpCommand:
    """One program run whose stdout becomes one artifact."""

    artifact_name: str  # file name in the backup folder, e.g. "app.pgdump.zst"
    kind: str  # "database" or "globals"
    dbname: str | None
    format: str  # "pg_dump-custom" or "sql"
    argv: list[str]
    env: dict[str, str] = field(repr=False)  # extra environment (passwords live here only)
    expected_bytes: int | None = None
    # Reads the log position (binlog file and offset) from the first bytes of the dump, if any.
    position_from_head: Callable[[bytes], dict[str, Any] | None] | None = None


class Engine(Protocol):
    name: str  # "postgresql" or "mysql"

    def check(self, conn: ConnectionInfo, databases: list[str], timeout: float) -> ServerInfo:
        """Connect, and check that each named database exists and that a client tool able to
        dump this server is installed. Raises StrongboxError (REFUSED) with a code above."""
        ...

    def list_databases(self, conn: ConnectionInfo, timeout: float) -> list[str]:
        """The user databases on the server (no templates or system schemas), sorted."""
        ...

    def plan_dump(
        self, conn: ConnectionInfo, databases: list[str], timeout: float
    ) -> tuple[list[DumpCommand], dict[str, str]]:
        """The commands of one logical backup of `databases` (all user databases when empty),
        and the versions of the tools they use (e.g. {"pg_dump": "15.20"})."""
        ...
