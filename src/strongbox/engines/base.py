"""The contract every database engine keeps.

An engine checks a connection, lists databases, and plans the dump commands of a backup; it never
runs the pipeline itself. Errors a person can fix are StrongboxError (REFUSED) with the codes below,
and their messages say how to fix them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from strongbox.domain.binlog_replay import ReplayPlan
from strongbox.domain.database_properties import DatabaseProperties

BAD_CREDENTIALS = "database-bad-credentials"
UNREACHABLE = "database-unreachable"
UNKNOWN_DATABASE = "database-unknown-database"
CLIENT_MISSING = "database-client-missing"
CHECK_FAILED = "database-check-failed"
TLS_FAILED = "database-tls-failed"
SOURCE_NOT_STANDBY = "database-source-not-standby"


@dataclass(frozen=True)
class ConnectionInfo:
    """How to reach a server. `ssl_mode` is one of `engines.tls.SSL_MODES`; `ssl_ca_file` is
    the path of the CA bundle that verify-ca and verify-full check the server against."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    ssl_mode: str = "prefer"
    ssl_ca_file: str | None = None


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
    # What a restore needs to create the same database (encoding, collation, settings...).
    properties: DatabaseProperties | None = None
    # Reads the log position from the program's stderr once it succeeded, if any.
    position_from_stderr: Callable[[bytes], dict[str, Any] | None] | None = None
    # Words for a failure the engine recognises in the program's stderr tail (e.g. a lock it
    # waited too long for), or None to keep the tool's own message.
    explain_failure: Callable[[str], str | None] | None = None
    # Runs in a thread beside the program until the dump ends (the event is set then); it may
    # stop the program with `kill(reason)`, e.g. when it waits too long for a lock.
    guard: Callable[[Callable[[str], None], threading.Event], None] | None = None


@dataclass(frozen=True)
class DumpLimits:
    """What a dump may take from the server: the database's `lock_timeout_seconds`, its
    `max_rate_mb_per_s` in bytes per second, and whether the dump reads a standby or replica
    (whose own log position is not the primary's, so none is recorded)."""

    lock_timeout_seconds: int | None = None
    max_rate_bytes_per_second: float | None = None
    from_standby: bool = False


@dataclass(frozen=True)
class StandbyState:
    """What the check of a backup source found: the source is a standby (replica) of the
    registered server, `lag_seconds` behind it (None when the server cannot tell)."""

    lag_seconds: float | None


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
        self,
        conn: ConnectionInfo,
        databases: list[str],
        timeout: float,
        limits: DumpLimits = DumpLimits(),
    ) -> tuple[list[DumpCommand], dict[str, str]]:
        """The commands of one logical backup of `databases` (all user databases when empty),
        and the versions of the tools they use (e.g. {"pg_dump": "15.20"}); the commands wait
        at most `limits.lock_timeout_seconds` for a lock."""
        ...

    def check_standby(
        self, primary: ConnectionInfo, source: ConnectionInfo, timeout: float
    ) -> StandbyState:
        """Raises refused(SOURCE_NOT_STANDBY) naming why, unless `source` is a standby
        (replica) of the server at `primary`, replicating now; else its lag."""
        ...

    def activity_counters(self, conn: ConnectionInfo, timeout: float) -> dict[str, int]:
        """Cumulative counters of the server's activity, whose deltas over time are its load
        (e.g. {"transactions": ..., "blocks_read": ...}); the names are the same each call."""
        ...


@runtime_checkable
class PhysicalEngine(Protocol):
    """An engine that can also take a physical backup of the whole server."""

    def plan_physical(
        self,
        conn: ConnectionInfo,
        timeout: float,
        limits: DumpLimits = DumpLimits(),
    ) -> tuple[DumpCommand, dict[str, str], dict[str, Any]]:
        """The one command of a physical backup, the versions of the tools it uses, and the
        facts of the source the manifest records. Raises refused(...) naming each missing
        prerequisite with its fix, before anything starts."""
        ...


@dataclass(frozen=True)
class RestoreCommand:
    """One program run that reads one artifact (decompressed) and writes it into a database.

    With `input_path` None the program reads the artifact on its stdin (streaming); otherwise it
    reads that file (PostgreSQL parallel restore needs a seekable file)."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    input_path: str | None = None


@dataclass(frozen=True)
class DatabaseSummary:
    tables: int
    rows: int
    estimated: bool = False  # rows is the planner's estimate, not an exact count


@runtime_checkable
class RestoringEngine(Protocol):
    """What restores need of an engine, beyond `Engine`."""

    def database_state(self, conn: ConnectionInfo, name: str, timeout: float) -> str:
        """'absent', 'empty' (exists, no user table, view or routine) or 'nonempty'."""
        ...

    def create_database(
        self,
        conn: ConnectionInfo,
        name: str,
        timeout: float,
        *,
        properties: DatabaseProperties | None = None,
    ) -> None:
        """Create an empty database `name`, with the encoding, collation or character set of
        `properties` when given (else the server's defaults); raises StrongboxError if it
        cannot, refused(LOCALE_UNAVAILABLE) when the server lacks what `properties` names."""
        ...

    def check_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> None:
        """Raises refused(LOCALE_UNAVAILABLE) when `create_database` could not give `name`
        the encoding, collation or character set of `properties`; changes nothing."""
        ...

    def apply_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> list[str]:
        """Give the restored database `name` the rest of `properties` (settings, comment,
        grants), after its content is in. Returns a warning for each that could not be given
        (e.g. a grantee role missing on this server); raises StrongboxError only when the
        server cannot be reached."""
        ...

    def drop_database(self, conn: ConnectionInfo, name: str, timeout: float) -> None:
        """Drop database `name` if it exists, ending other sessions on it first."""
        ...

    def plan_restore(
        self,
        conn: ConnectionInfo,
        artifact_format: str,
        target: str,
        *,
        jobs: int,
        input_path: str | None,
    ) -> RestoreCommand:
        """The command that restores an artifact of `artifact_format` ('pg_dump-custom' or 'sql')
        into the existing database `target`, stopping at the first error."""
        ...

    def plan_globals_restore(self, conn: ConnectionInfo) -> RestoreCommand | None:
        """The command that applies a globals dump (roles) read on stdin, or None when the
        engine has no globals. Errors of objects that already exist must not stop it."""
        ...

    def summarize(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """Tables and exact row count of database `name` (user schemas only)."""
        ...

    def estimate_summary(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """Tables of database `name` and the planner's estimate of their rows (`estimated`
        true): quick whatever the size, for when an exact count takes too long."""
        ...


@dataclass(frozen=True)
class EarlyRestorePlan:
    """A parallel restore that starts while the artifact streams. `listing`, `schema` and the
    data runs (`EarlyRestoringEngine.data_load` of `data`) each read the artifact on stdin
    from its start, as far as they need: `listing` prints its table of contents, `schema`
    creates its objects, the data runs load the rows, several at once. `rest` reads the whole
    verified local copy afterwards with several jobs (indexes, constraints)."""

    listing: RestoreCommand
    schema: RestoreCommand
    data: RestoreCommand
    rest: RestoreCommand
    # The data section printed as a script on stdout, for the rows to be loaded by several
    # sessions (`EarlyRestoringEngine.data_load`).
    data_script: RestoreCommand


@dataclass(frozen=True)
class DataLoad:
    """The runs that load the rows, at once, each reading the artifact on stdin from its
    start. With `read_output`, the first run's stdout is read by it, given a callable that
    stops that run (when what it wrote could not be used)."""

    commands: list[RestoreCommand]
    read_output: Callable[[IO[bytes], Callable[[], None]], None] | None = None


@runtime_checkable
class EarlyRestoringEngine(RestoringEngine, Protocol):
    """An engine whose parallel restore can start before the artifact is complete on disk:
    PostgreSQL, whose `pg_restore -j` needs a seekable file only for the post-data section."""

    def plan_early_restore(
        self, conn: ConnectionInfo, artifact_format: str, target: str, *, jobs: int, input_path: str
    ) -> EarlyRestorePlan:
        """The runs that together restore the artifact into `target`, `rest` reading the local
        copy `input_path` with `jobs` processes."""
        ...

    def data_load(
        self,
        conn: ConnectionInfo,
        target: str,
        plan: EarlyRestorePlan,
        listing: str,
        *,
        jobs: int,
        folder: Path,
        stall_seconds: float,
    ) -> DataLoad:
        """How `plan.data` loads the rows into `target` (whose schema is restored) with up to
        `jobs` sessions at once; `listing` is what `plan.listing` printed, files the runs need
        are written in `folder`."""
        ...


@runtime_checkable
class SwappingEngine(RestoringEngine, Protocol):
    """An engine that can rename databases, so an overwrite restores beside the target and
    swaps names at the end: PostgreSQL."""

    def swap_databases(
        self, conn: ConnectionInfo, target: str, side: str, aside: str, timeout: float
    ) -> None:
        """Rename `target` to `aside` and `side` to `target`, both or neither, after ending the
        sessions on them. Raises StrongboxError when it cannot; then nothing was renamed."""
        ...


@runtime_checkable
class GlobalsEngine(RestoringEngine, Protocol):
    """An engine whose backups carry globals (roles): PostgreSQL."""

    def globals_for_target(self, globals_sql: bytes, conn: ConnectionInfo) -> bytes:
        """The globals dump made safe to apply with `conn` (e.g. without the connecting role)."""
        ...

    def globals_errors(self, stderr_text: str) -> list[str]:
        """The real errors in the globals tool's stderr ('already exists' is not one)."""
        ...


@dataclass(frozen=True)
class SlotStatus:
    """A replication slot as the server reports it; `exists` False when it is gone."""

    exists: bool
    lost: bool = False  # wal_status 'lost': the server removed WAL the slot still needed
    restart_lsn: int | None = None
    current_lsn: int | None = None  # the server's current write position
    retained_bytes: int | None = None  # WAL the slot keeps on the server
    unlimited_retention: bool = False  # max_slot_wal_keep_size = -1


@dataclass(frozen=True)
class WalContents:
    """What a WAL file holds: its LSN range (end exclusive: for a partial file, the end of its
    last complete record) and the times of its first and last commit records (UTC)."""

    start_lsn: int
    end_lsn: int
    first_commit_at: datetime | None
    last_commit_at: datetime | None


@dataclass(frozen=True)
class ReceiverCommand:
    """The WAL receiver's command line and environment (the password lives there only), and
    the program that reads the files it writes."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    wal_reader: Path


@runtime_checkable
class StreamingEngine(Protocol):
    """An engine whose change log can be streamed for point-in-time recovery."""

    def check_streaming(self, conn: ConnectionInfo, slot: str, timeout: float) -> None:
        """Raises refused(...) naming each missing prerequisite of a stream on `slot` with its
        fix (the slot and its WAL sender, if they exist, count as free)."""
        ...

    def create_slot(self, conn: ConnectionInfo, slot: str, timeout: float) -> None:
        """Create the replication slot `slot` unless it exists (keeping WAL from now on)."""
        ...

    def drop_slot(self, conn: ConnectionInfo, slot: str, timeout: float) -> None:
        """Drop the slot if it exists."""
        ...

    def slot_status(self, conn: ConnectionInfo, slot: str, timeout: float) -> SlotStatus: ...

    def receiver_command(
        self, conn: ConnectionInfo, slot: str, spool: Path, timeout: float
    ) -> ReceiverCommand:
        """The command that streams the change log from `slot` into the folder `spool`."""
        ...

    def read_wal_file(self, reader: Path, path: Path, name: str) -> WalContents:
        """What the file at `path`, called `name` (checked), holds, read with `reader`."""
        ...


@dataclass(frozen=True)
class BinlogServerStatus:
    """A MySQL/MariaDB server's binlog files as `SHOW BINARY LOGS` lists them (name and size,
    oldest first; the last is the one being written) and its server id."""

    files: tuple[tuple[str, int], ...]
    server_id: int


@dataclass(frozen=True)
class BinlogReplayCommand:
    """A binlog replay: the reader (`reader`, run with `reader_env`) piped into the client."""

    reader: list[str]
    reader_env: dict[str, str]
    client: RestoreCommand


@runtime_checkable
class BinlogReplayingEngine(Protocol):
    """An engine that replays stored binlog files onto a restored logical backup."""

    def plan_binlog_replay(
        self,
        conn: ConnectionInfo,
        plan: ReplayPlan,
        source_db: str,
        target_db: str,
        files: list[Path],
        timeout: float,
    ) -> BinlogReplayCommand:
        """The programs that replay `plan`'s events of `source_db` into `target_db`."""
        ...

    def run_binlog_replay(self, command: BinlogReplayCommand) -> None:
        """Raises ToolFailedError when the reader or the client fails."""
        ...


@runtime_checkable
class BinlogStreamingEngine(Protocol):
    """An engine whose binary log can be streamed for point-in-time recovery."""

    def check_binlog_streaming(
        self, conn: ConnectionInfo, connection_server_id: int, interval: int, timeout: float
    ) -> list[str]:
        """Raises refused(...) naming each missing prerequisite with its fix; returns warnings
        (what works but is not recommended)."""
        ...

    def binlog_status(self, conn: ConnectionInfo, timeout: float) -> BinlogServerStatus: ...

    def binlog_reader_command(
        self,
        conn: ConnectionInfo,
        spool: Path,
        start_file: str,
        connection_server_id: int,
        timeout: float,
    ) -> ReceiverCommand:
        """The command that copies the binlog from the start of `start_file` on into `spool`."""
        ...
