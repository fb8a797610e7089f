"""The command lines of PostgreSQL dumps and restores: pg_dump and pg_dumpall for backups,
pg_restore and psql for restores. Pure: the programs are found elsewhere (`client_tools`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.base import ConnectionInfo, DumpCommand, RestoreCommand, ServerInfo
from strongbox.engines.postgresql.libpq import client_env, connection_args, dbname_argument
from strongbox.engines.postgresql.standby import lock_failure

_GLOBALS_ERROR = re.compile(r"\b(?:ERROR|FATAL|PANIC):|\berror:")


def database_command(
    pg_dump: Path,
    conn: ConnectionInfo,
    env: dict[str, str],
    dbname: str,
    stem: str,
    size: int | None,
    properties: dict[str, DatabaseProperties],
    lock_timeout_seconds: int | None = None,
) -> DumpCommand:
    """`pg_dump -Fc -Z0` of database `dbname` into artifact `<stem>.pgdump.zst`, waiting at
    most `lock_timeout_seconds` for each table's lock."""
    # -Z0: the pipeline compresses with zstd, faster and smaller than pg_dump's zlib.
    argv = [str(pg_dump), "-Fc", "-Z0"]
    if lock_timeout_seconds is not None:
        argv.append(f"--lock-wait-timeout={lock_timeout_seconds}s")
    argv += [*connection_args(conn), "-d", dbname_argument(dbname)]
    return DumpCommand(
        artifact_name=f"{stem}.pgdump.zst",
        kind="database",
        dbname=dbname,
        format="pg_dump-custom",
        argv=argv,
        env=dict(env),
        expected_bytes=size,
        properties=properties.get(dbname),
        explain_failure=(
            lock_failure(lock_timeout_seconds) if lock_timeout_seconds is not None else None
        ),
    )


def globals_command(
    pg_dumpall: Path, conn: ConnectionInfo, env: dict[str, str], server: ServerInfo
) -> DumpCommand:
    """`pg_dumpall --globals-only` (roles and tablespaces) into `globals.sql.zst`."""
    argv = [str(pg_dumpall), "--globals-only", *connection_args(conn)]
    if not server.details.get("superuser"):
        # Password hashes live in pg_authid, which only superusers may read; without this
        # flag pg_dumpall fails for any other user.
        argv.append("--no-role-passwords")
    return DumpCommand(
        artifact_name="globals.sql.zst",
        kind="globals",
        dbname=None,
        format="sql",
        argv=argv,
        env=dict(env),
    )


def restore_command(
    pg_restore: Path,
    conn: ConnectionInfo,
    target: str,
    *,
    jobs: int,
    input_path: str | None,
    timeout: float,
) -> RestoreCommand:
    """`pg_restore --exit-on-error` into `target`, reading `input_path` or, when it is None,
    its stdin; `-j jobs` only with an input file (pg_restore runs in parallel from a seekable
    file only)."""
    argv = [
        str(pg_restore),
        "--exit-on-error",
        *connection_args(conn),
        "-d",
        dbname_argument(target),
    ]
    if input_path is not None:
        # Absolute, so that a relative name starting with "-" is not read as an option.
        input_path = os.path.abspath(input_path)
        if jobs > 1:
            argv += ["-j", str(jobs)]
        argv.append(input_path)
    return RestoreCommand(argv, client_env(conn, timeout), input_path)


def globals_restore_command(
    psql: Path, conn: ConnectionInfo, maintenance: str, timeout: float
) -> RestoreCommand:
    """`psql -X -q -v ON_ERROR_STOP=0 -f -` on database `maintenance`, applying the globals
    dump read on stdin; notices silenced (client_min_messages=warning), so that stderr holds
    errors only."""
    argv = [
        str(psql),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=0",
        *connection_args(conn),
        "-d",
        dbname_argument(maintenance),
        # "-f -" reads stdin like no -f at all, but errors name their line.
        "-f",
        "-",
    ]
    env = client_env(conn, timeout)
    env["PGOPTIONS"] = "-c client_min_messages=warning"
    return RestoreCommand(argv, env)


def globals_errors(stderr_text: str) -> list[str]:
    r"""The lines of psql's stderr, after applying a globals dump, that report a real error.

    The globals restore runs with ON_ERROR_STOP=0 so that a role that already exists on the
    target (the connecting superuser at least) does not stop it; psql then exits 0 whatever
    failed. Its "already exists" errors are expected; any other ERROR (or psql's own
    "error:", such as an unknown meta-command) is a failure the restore must report.

    >>> globals_errors(
    ...     'psql:<stdin>:16: ERROR:  role "postgres" already exists\n'
    ...     'psql:<stdin>:19: ERROR:  must be superuser to create superusers\n'
    ... )
    ['psql:<stdin>:19: ERROR:  must be superuser to create superusers']
    """
    return [
        line.strip()
        for line in stderr_text.splitlines()
        if _GLOBALS_ERROR.search(line) and "already exists" not in line
    ]
