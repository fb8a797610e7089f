"""The PostgreSQL engine: checks with psycopg, backups with `pg_dump -Fc` per database plus
`pg_dumpall --globals-only` for roles and tablespaces, restores with `pg_restore` (databases)
and `psql` (globals).

Every error a person can fix is `refused(...)` with a code from `engines.base`, and its message
names the next step. No message ever contains the password.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.base import (
    UNKNOWN_DATABASE,
    ConnectionInfo,
    DatabaseSummary,
    DataLoad,
    DumpCommand,
    DumpLimits,
    EarlyRestorePlan,
    ReceiverCommand,
    RestoreCommand,
    ServerInfo,
    SlotStatus,
    StandbyState,
    WalContents,
)
from strongbox.engines.common import (
    require_restore_input,
    safe_file_stems,
)
from strongbox.engines.postgresql import (
    databases,
    early_restore,
    physical,
    row_sessions,
    standby,
    wal_receiver,
    waldump,
)
from strongbox.engines.postgresql import properties as postgresql_properties
from strongbox.engines.postgresql import swap as postgresql_swap
from strongbox.engines.postgresql.client_tools import ClientTool, pick_pg_dump, sibling
from strongbox.engines.postgresql.commands import (
    database_command,
    globals_command,
    globals_errors,
    globals_restore_command,
    restore_command,
)
from strongbox.engines.postgresql.connection import (
    MAINTENANCE_DATABASE,
    connect,
    database_size,
    require_databases,
    scalar,
    server_info,
    user_databases,
)
from strongbox.engines.postgresql.globals_dump import globals_to_apply
from strongbox.engines.postgresql.libpq import client_env
from strongbox.errors import refused

# Seconds to connect when planning a restore (the plan reads the server's version).
_PLAN_TIMEOUT = 10.0


class PostgresEngine:
    """The `Engine` and `RestoringEngine` for PostgreSQL.

    `bin_dir` is a preferred folder of client programs (pg_dump, pg_dumpall, pg_restore,
    psql). `search_dirs` replaces the folders searched after it (default:
    `default_search_dirs()`, read at each call); tests use it to control which programs exist.

    Restores use the pg_restore and psql next to the pg_dump that would back up the target
    server (see `choose_pg_dump`): the same installation, of the target's major or newer, so
    it can write into that server. pg_restore reads archives of pg_dumps of its own major and
    older; an archive from a newer pg_dump fails loudly ("unsupported version in file
    header"): point `bin_dir` at that newer installation to restore it.
    """

    name = "postgresql"
    # Also on the engine, where the restore service looks for it (engines without globals
    # have none).
    globals_errors = staticmethod(globals_errors)

    @staticmethod
    def globals_for_target(globals_sql: bytes, conn: ConnectionInfo) -> bytes:
        """The globals dump to apply on the target, vetted (no psql meta-commands, role and
        tablespace statements only: `globals_dump.globals_to_apply`) and without the statements
        of the role Strongbox connects as, whose password would otherwise become the source
        server's. Raises GlobalsRefusedError before anything runs."""
        return globals_to_apply(globals_sql, conn.username)

    def __init__(
        self, bin_dir: Path | None = None, *, search_dirs: Sequence[Path] | None = None
    ) -> None:
        self.bin_dir = bin_dir
        self.search_dirs = list(search_dirs) if search_dirs is not None else None

    def check(self, conn: ConnectionInfo, databases: list[str], timeout: float) -> ServerInfo:
        """Connect, check that each of `databases` exists and that a pg_dump able to dump this
        server is installed, with a pg_dumpall next to it. Raises StrongboxError (REFUSED)
        with BAD_CREDENTIALS, UNREACHABLE, UNKNOWN_DATABASE, CLIENT_MISSING or CHECK_FAILED."""
        with connect(conn, timeout) as pg:
            server = server_info(pg)
            require_databases(pg, conn, databases)
        sibling(self._pick_pg_dump(server), "pg_dumpall", server)
        return server

    def list_databases(self, conn: ConnectionInfo, timeout: float) -> list[str]:
        """The databases that accept connections and are not templates, sorted, without the
        maintenance database "postgres" (by convention it holds no user data; name it
        explicitly to back it up)."""
        with connect(conn, timeout) as pg:
            return user_databases(pg)

    def plan_dump(
        self,
        conn: ConnectionInfo,
        databases: list[str],
        timeout: float,
        limits: DumpLimits = DumpLimits(),
    ) -> tuple[list[DumpCommand], dict[str, str]]:
        """One `pg_dump -Fc -Z0` per database (all user databases when `databases` is empty)
        and one `pg_dumpall --globals-only`, with the versions of both programs.

        Raises refused(UNKNOWN_DATABASE) when a named database is missing or the server has
        no user database, and the errors of `check` otherwise."""
        with connect(conn, timeout) as pg:
            server = server_info(pg)
            names = list(dict.fromkeys(databases)) or user_databases(pg)
            if not names:
                raise refused(
                    f"the PostgreSQL server at {conn.host}:{conn.port} has no user database to "
                    f"back up (only templates and {MAINTENANCE_DATABASE!r}); create one, or "
                    f"name {MAINTENANCE_DATABASE!r} explicitly",
                    UNKNOWN_DATABASE,
                    field_name="databases",
                )
            require_databases(pg, conn, names)
            sizes = {name: database_size(pg, name) for name in names}
            properties = {
                name: postgresql_properties.read(pg, name, server.major) for name in names
            }
        pg_dump = self._pick_pg_dump(server)
        pg_dumpall = sibling(pg_dump, "pg_dumpall", server)
        env = client_env(conn, timeout)
        stems = safe_file_stems(names)
        commands = [globals_command(pg_dumpall.path, conn, env, server)]
        commands += [
            database_command(
                pg_dump.path,
                conn,
                env,
                name,
                stems[name],
                sizes[name],
                properties,
                limits.lock_timeout_seconds,
            )
            for name in names
        ]
        return commands, {"pg_dump": pg_dump.version, "pg_dumpall": pg_dumpall.version}

    def plan_physical(
        self,
        conn: ConnectionInfo,
        timeout: float,
        limits: DumpLimits = DumpLimits(),
    ) -> tuple[DumpCommand, dict[str, str], dict[str, Any]]:
        """One `pg_basebackup` of the whole cluster (see `physical`), the version of the
        program, and the facts of the source. Raises refused(...) naming each missing
        prerequisite with its fix (`physical.check_source`), and the errors of `check`."""
        with connect(conn, timeout) as pg:
            server = server_info(pg)
            source = physical.check_source(pg, conn, server.version)
            size = int(scalar(pg, "SELECT sum(pg_database_size(oid)) FROM pg_database") or 0)
        pg_basebackup = sibling(self._pick_pg_dump(server), "pg_basebackup", server)
        command = physical.basebackup_command(
            pg_basebackup.path,
            conn,
            client_env(conn, timeout),
            size or None,
            limits.max_rate_bytes_per_second,
        )
        return command, {"pg_basebackup": pg_basebackup.version}, source.facts()

    # --- WAL streaming (point-in-time recovery) ---

    def check_streaming(self, conn: ConnectionInfo, slot: str, timeout: float) -> None:
        """Refuses a server that cannot stream its WAL (`wal_receiver.check`), and one whose
        pg_receivewal and pg_waldump are not installed here."""
        with connect(conn, timeout) as pg:
            server = server_info(pg)
            wal_receiver.check(pg, conn, slot)
        wal_receiver.pick_programs(server.major, self.bin_dir)

    def create_slot(self, conn: ConnectionInfo, slot: str, timeout: float) -> None:
        with connect(conn, timeout) as pg:
            wal_receiver.create_slot(pg, slot)

    def drop_slot(self, conn: ConnectionInfo, slot: str, timeout: float) -> None:
        with connect(conn, timeout) as pg:
            wal_receiver.drop_slot(pg, slot)

    def slot_status(self, conn: ConnectionInfo, slot: str, timeout: float) -> SlotStatus:
        with connect(conn, timeout) as pg:
            return wal_receiver.slot_status(pg, slot)

    def receiver_command(
        self, conn: ConnectionInfo, slot: str, spool: Path, timeout: float
    ) -> ReceiverCommand:
        with connect(conn, timeout) as pg:
            server = server_info(pg)
        receiver, waldump = wal_receiver.pick_programs(server.major, self.bin_dir)
        return wal_receiver.receiver_command(receiver, waldump, conn, slot, spool, timeout)

    def read_wal_file(self, reader: Path, path: Path, name: str) -> WalContents:
        return waldump.read_wal_file(reader, path, name)

    def check_standby(
        self, primary: ConnectionInfo, source: ConnectionInfo, timeout: float
    ) -> StandbyState:
        """Raises refused(SOURCE_NOT_STANDBY) unless `source` is in recovery with the system
        identifier of `primary` (see `standby.check_standby`); else its replay lag."""
        return standby.check_standby(primary, source, timeout)

    def activity_counters(self, conn: ConnectionInfo, timeout: float) -> dict[str, int]:
        """`pg_stat_database` transactions and blocks read, summed over the cluster."""
        return standby.activity_counters(conn, timeout)

    # --- restores ---

    def database_state(self, conn: ConnectionInfo, name: str, timeout: float) -> str:
        """See `databases.database_state`."""
        return databases.database_state(conn, name, timeout)

    def create_database(
        self,
        conn: ConnectionInfo,
        name: str,
        timeout: float,
        *,
        properties: DatabaseProperties | None = None,
    ) -> None:
        """See `databases.create_database`."""
        databases.create_database(conn, name, timeout, properties=properties)

    def check_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> None:
        """Raises refused(LOCALE_UNAVAILABLE) when `create_database` could not give `name` the
        recorded encoding and locale (see `postgresql_properties.check_available`)."""
        with connect(conn, timeout) as pg:
            server = server_info(pg)
            postgresql_properties.check_available(pg, name, properties, server.major, conn)

    def apply_properties(
        self, conn: ConnectionInfo, name: str, properties: DatabaseProperties, timeout: float
    ) -> list[str]:
        """The recorded settings (ALTER DATABASE ... SET), comment and grants, each on its
        own; those the server refuses become warnings (see `postgresql_properties`)."""
        with connect(conn, timeout, avoid=name) as pg:
            return postgresql_properties.apply_after_restore(pg, name, properties)

    def drop_database(self, conn: ConnectionInfo, name: str, timeout: float) -> None:
        """See `databases.drop_database`."""
        databases.drop_database(conn, name, timeout)

    def plan_restore(
        self,
        conn: ConnectionInfo,
        artifact_format: str,
        target: str,
        *,
        jobs: int,
        input_path: str | None,
    ) -> RestoreCommand:
        """`pg_restore --exit-on-error` into `target`, reading `input_path` or, when it is
        None, its stdin.

        `-j jobs` only with an input file: pg_restore restores in parallel from a seekable
        file only, so with stdin it restores serially whatever `jobs` says. Owners and
        privileges are restored as dumped: a role missing on the target fails the restore
        ("role ... does not exist"); apply the globals first (`plan_globals_restore`).
        Connects to read the server's version. Raises invalid(FORMAT_MISMATCH) for an
        artifact that is not 'pg_dump-custom', and the errors of `check`."""
        require_restore_input("PostgreSQL", artifact_format, "pg_dump-custom", jobs)
        with connect(conn, _PLAN_TIMEOUT) as pg:
            server = server_info(pg)
        pg_restore = sibling(self._pick_pg_dump(server), "pg_restore", server)
        return restore_command(
            pg_restore.path, conn, target, jobs=jobs, input_path=input_path, timeout=_PLAN_TIMEOUT
        )

    def plan_early_restore(
        self, conn: ConnectionInfo, artifact_format: str, target: str, *, jobs: int, input_path: str
    ) -> EarlyRestorePlan:
        """See `early_restore.plan`: serial runs that read the artifact as it streams (its
        table of contents, the pre-data section, shares of the data section), then
        `pg_restore -j jobs --section=post-data` from the local copy `input_path`. Together the
        sections are the whole archive; entries without a section of their own (grants,
        comments) go with the section before them, as in one run."""
        streamed = self.plan_restore(conn, artifact_format, target, jobs=1, input_path=None)
        from_copy = self.plan_restore(
            conn, artifact_format, target, jobs=jobs, input_path=input_path
        )
        return early_restore.plan(streamed, from_copy)

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
        """Each table's rows shared among `jobs` sessions (`row_sessions`), reading the
        script of one `pg_restore -f -` run; `jobs` runs each loading whole tables
        (`early_restore.data_commands`) when a name in `target` spans lines, which the
        script reader does not accept, or for one job."""
        with connect(conn, _PLAN_TIMEOUT, dbname=target) as pg:
            one_line = row_sessions.names_fit_on_one_line(pg)
        if jobs < 2 or not one_line:
            return DataLoad(early_restore.data_commands(plan, listing, jobs, folder))

        def read_output(script: IO[bytes], stop_reading: Callable[[], None]) -> None:
            row_sessions.load_rows(
                script,
                lambda: row_sessions.session(conn, target, _PLAN_TIMEOUT),
                jobs,
                stall_seconds,
                stop_reading,
            )

        return DataLoad([plan.data_script], read_output)

    def plan_globals_restore(self, conn: ConnectionInfo) -> RestoreCommand:
        """`psql -X -q -v ON_ERROR_STOP=0 -f -` on the maintenance database, applying the
        globals dump (roles, tablespaces) read on stdin.

        Roles that exist already fail with "already exists" and the rest goes on; psql exits
        0 even when other statements fail, so a caller must treat a non-zero exit AND any line
        `globals_errors(stderr)` returns as a failure. Notices are silenced
        (client_min_messages=warning) so that stderr holds errors only. Feed the dump through
        `globals_for_target(dump, conn)`, or the connecting user gets the source
        server's password. Raises the errors of `check`."""
        with connect(conn, _PLAN_TIMEOUT) as pg:
            server = server_info(pg)
            maintenance = str(scalar(pg, "SELECT current_database()"))
        psql = sibling(self._pick_pg_dump(server), "psql", server)
        return globals_restore_command(psql.path, conn, maintenance, _PLAN_TIMEOUT)

    def summarize(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """See `databases.summarize`."""
        return databases.summarize(conn, name, timeout)

    def estimate_summary(self, conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
        """See `databases.estimate_summary`."""
        return databases.estimate_summary(conn, name, timeout)

    def swap_databases(
        self, conn: ConnectionInfo, target: str, side: str, aside: str, timeout: float
    ) -> None:
        """Rename `target` to `aside` and `side` to `target` in one transaction (see
        `postgresql_swap.swap`), from a maintenance database that is neither."""
        with connect(conn, timeout, avoid=target) as pg:
            postgresql_swap.swap(pg, conn, target, side, aside)

    # --- internals ---

    def _pick_pg_dump(self, server: ServerInfo) -> ClientTool:
        return pick_pg_dump(server, self.bin_dir, self.search_dirs)
