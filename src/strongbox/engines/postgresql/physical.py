"""A physical base backup of a whole PostgreSQL cluster: the prerequisites, checked before
anything starts, and the `pg_basebackup` command whose stdout is the one artifact.

`pg_basebackup -D - -Ft` writes the cluster as one tar to stdout, which the pipeline compresses
and uploads like any dump. The WAL needed to make that copy consistent is fetched at the end
and put in the same tar (`-X fetch`; `-X stream` is not allowed with stdout), so the artifact
alone starts as a cluster at the backup's end point until a WAL stream exists to hold it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from strongbox.domain.keys import BASE_BACKUP_NAME
from strongbox.domain.manifest_checks import BASE, PG_BASEBACKUP_TAR
from strongbox.engines.base import CHECK_FAILED, ConnectionInfo, DumpCommand
from strongbox.engines.common import scrub
from strongbox.engines.postgresql.connection import Pg, scalar
from strongbox.engines.postgresql.driver_errors import quote_identifier, short
from strongbox.engines.postgresql.libpq import connection_args, timeout_seconds
from strongbox.engines.tls import libpq_params
from strongbox.errors import StrongboxError, refused

PHYSICAL_UNSUPPORTED = "database-physical-unsupported"
REPLICATION_MISSING = "database-replication-missing"
TABLESPACES_UNSUPPORTED = "database-tablespaces-unsupported"
WAL_METHOD = "fetch"
# What `pg_basebackup --max-rate` accepts, in kB/s.
_MIN_RATE_KB = 32
_MAX_RATE_KB = 1024 * 1024
# The tablespaces every cluster has; they are inside the data folder, so inside the tar.
BUILT_IN_TABLESPACES = ("pg_default", "pg_global")

# `pg_basebackup -v` on stderr: the WAL range the backup needs to be consistent.
_START = re.compile(rb"write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)")
_END = re.compile(rb"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)")


@dataclass(frozen=True)
class PhysicalSource:
    """What is known of the cluster before its base backup: recorded in the manifest."""

    system_identifier: str
    server_version: str
    tablespaces: list[str] = field(default_factory=lambda: list(BUILT_IN_TABLESPACES))

    def facts(self) -> dict[str, Any]:
        return {
            "system_identifier": self.system_identifier,
            "server_version": self.server_version,
            "tablespaces": self.tablespaces,
            "wal_included": True,
            "wal_method": WAL_METHOD,
        }


def check_source(pg: Pg, conn: ConnectionInfo, server_version: str) -> PhysicalSource:
    """The cluster's identity, once every prerequisite of a base backup holds on `pg` (a
    connection as the backup's user): those of `replication_missing`, no tablespace outside
    the data folder, and a `pg_hba.conf` line that lets the user open a replication
    connection. Raises refused(...) naming each missing one with its exact fix."""
    missing = replication_missing(pg, conn.username)
    others = [
        str(row[0])
        for row in pg.execute(
            "SELECT spcname FROM pg_tablespace WHERE spcname <> ALL(%s) ORDER BY 1",
            (list(BUILT_IN_TABLESPACES),),
        )
    ]
    if others:
        raise refused(
            f"the server has tablespaces outside its data folder ({', '.join(others)}), which a "
            "physical backup streamed as one tar cannot hold; move their objects to pg_default "
            "and drop them, or take a logical backup",
            TABLESPACES_UNSUPPORTED,
        )
    if missing:
        raise refused(_prerequisites(missing), REPLICATION_MISSING)
    system_identifier = identify_system(conn, _prerequisites)
    return PhysicalSource(system_identifier, server_version)


def replication_missing(pg: Pg, user: str, own_slot: str | None = None) -> list[str]:
    """What the server lacks for a replication connection of `user`, each with its exact fix:
    a role with REPLICATION, `wal_level` replica or logical, a free WAL sender (the one that
    serves `own_slot`, when given, counts as free: it is Strongbox's own)."""
    missing: list[str] = []
    if not scalar(
        pg, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user"
    ):
        missing.append(
            f"role {user!r} lacks REPLICATION: run ALTER ROLE {quote_identifier(user)} REPLICATION"
        )
    wal_level = str(scalar(pg, "SHOW wal_level"))
    if wal_level == "minimal":
        missing.append(
            "wal_level is 'minimal': run ALTER SYSTEM SET wal_level = 'replica' and restart "
            "the server"
        )
    senders = int(scalar(pg, "SHOW max_wal_senders"))
    serving = pg.execute(
        "SELECT count(*) FROM pg_stat_replication WHERE pid IS DISTINCT FROM "
        "(SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s)",
        (own_slot,),
    ).fetchone()
    busy = int(serving[0]) if serving else 0
    if senders < 1:
        missing.append(
            "max_wal_senders is 0: run ALTER SYSTEM SET max_wal_senders = 10 and restart the server"
        )
    elif busy >= senders:
        missing.append(
            f"all {senders} WAL senders are in use: run ALTER SYSTEM SET max_wal_senders = "
            f"{senders + 2} and restart the server"
        )
    return missing


def identify_system(conn: ConnectionInfo, prerequisites: Callable[[list[str]], str]) -> str:
    """The system identifier, read over a replication connection: opening one proves that
    `pg_hba.conf` lets the user in, as pg_basebackup and pg_receivewal need. A missing line is
    refused with `prerequisites([the fix])` as the message."""
    tls: dict[str, Any] = libpq_params(conn)
    try:
        with psycopg.connect(
            host=conn.host,
            port=conn.port,
            user=conn.username,
            password=conn.password,
            replication="true",
            connect_timeout=timeout_seconds(10),
            application_name="strongbox",
            autocommit=True,
            **tls,
        ) as rep:
            row = rep.execute("IDENTIFY_SYSTEM").fetchone()
    except psycopg.Error as exc:
        text = short(scrub(str(exc), conn.password))
        if "pg_hba.conf" in text:
            raise refused(
                prerequisites(
                    [
                        "pg_hba.conf has no replication line for this host: add "
                        f"'host replication {conn.username} <Strongbox address>/32 "
                        "scram-sha-256' and run SELECT pg_reload_conf()"
                    ]
                ),
                REPLICATION_MISSING,
            ) from None
        raise refused(
            f"could not open a replication connection to {conn.host}:{conn.port}: {text}",
            CHECK_FAILED,
        ) from None
    # A walsender answers in text that psycopg may hand over as bytes.
    value = row[0] if row else None
    identifier = value.decode() if isinstance(value, bytes) else str(value)
    if not identifier.isdigit():
        raise StrongboxError("IDENTIFY_SYSTEM answered no system identifier", CHECK_FAILED)
    return identifier


def _prerequisites(missing: list[str]) -> str:
    return "a physical backup needs what this server lacks: " + "; ".join(missing)


def basebackup_command(
    pg_basebackup: Path,
    conn: ConnectionInfo,
    env: dict[str, str],
    size: int | None,
    max_rate_bytes_per_second: float | None = None,
) -> DumpCommand:
    """`pg_basebackup -D - -Ft -X fetch --checkpoint=fast -v` into `base.tar.zst`, with
    `--max-rate` when a rate is given; the WAL range comes from its verbose stderr (see
    `wal_range`)."""
    argv = [
        str(pg_basebackup),
        "-D",
        "-",
        "-Ft",
        f"--wal-method={WAL_METHOD}",
        "--checkpoint=fast",
        "--verbose",
        *connection_args(conn),
    ]
    if max_rate_bytes_per_second is not None:
        argv.append(f"--max-rate={max_rate_argument(max_rate_bytes_per_second)}")
    return DumpCommand(
        artifact_name=BASE_BACKUP_NAME,
        kind=BASE,
        dbname=None,
        format=PG_BASEBACKUP_TAR,
        argv=argv,
        env=dict(env),
        expected_bytes=size,
        position_from_stderr=wal_range,
    )


def max_rate_argument(rate_bytes_per_second: float) -> str:
    """The value of `pg_basebackup --max-rate` for a rate: kilobytes (1024 bytes) per second,
    within the 32 kB/s to 1 GB/s the program accepts.

    >>> max_rate_argument(5_000_000)
    '4883k'
    >>> max_rate_argument(1_000)
    '32k'
    """
    kilobytes = round(rate_bytes_per_second / 1024)
    return f"{min(max(kilobytes, _MIN_RATE_KB), _MAX_RATE_KB)}k"


def wal_range(stderr: bytes) -> dict[str, Any] | None:
    """The start and stop LSN and the timeline that `pg_basebackup --verbose` reported, or None
    when it did not report both.

    >>> wal_range(b"pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1\\n"
    ...           b"pg_basebackup: write-ahead log end point: 0/2000100\\n")
    {'start_lsn': '0/2000028', 'stop_lsn': '0/2000100', 'timeline': 1}
    """
    start, end = _START.search(stderr), _END.search(stderr)
    if start is None or end is None:
        return None
    return {
        "start_lsn": start.group(1).decode(),
        "stop_lsn": end.group(1).decode(),
        "timeline": int(start.group(2)),
    }
