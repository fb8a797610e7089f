"""Streaming a PostgreSQL server's WAL for point-in-time recovery: the prerequisites, the
physical replication slot, and the `pg_receivewal` command that writes the stream into a spool
folder (completed segments under their WAL names, the current one as `{name}.partial`)."""

from __future__ import annotations

import time
from pathlib import Path

from strongbox.domain.wal import parse_lsn
from strongbox.engines.base import CLIENT_MISSING, ConnectionInfo, ReceiverCommand, SlotStatus
from strongbox.engines.postgresql.client_tools import (
    ClientTool,
    default_search_dirs,
    find_client_tools,
)
from strongbox.engines.postgresql.connection import Pg, scalar
from strongbox.engines.postgresql.libpq import client_env, connection_args
from strongbox.engines.postgresql.physical import (
    REPLICATION_MISSING,
    identify_system,
    replication_missing,
)
from strongbox.errors import StrongboxError, refused

SLOT_BUSY_TRIES = 20  # a receiver just stopped may hold its slot for a moment


def check(pg: Pg, conn: ConnectionInfo, slot: str) -> None:
    """Refuses (422) a server that cannot stream its WAL to `conn.username` on `slot`, naming
    each missing prerequisite with its fix, and proves the `pg_hba.conf` replication line by
    opening a replication connection. The slot itself, and the WAL sender serving it, count
    as free (enabling again with other settings)."""
    missing = replication_missing(pg, conn.username, slot)
    slots = int(scalar(pg, "SHOW max_replication_slots"))
    row = pg.execute(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name <> %s", (slot,)
    ).fetchone()
    used = int(row[0]) if row else 0
    if used >= slots:
        missing.append(
            f"all {slots} replication slots are taken: run ALTER SYSTEM SET "
            f"max_replication_slots = {slots + 2} and restart the server"
        )
    if missing:
        raise refused(_prerequisites(missing), REPLICATION_MISSING)
    identify_system(conn, _prerequisites)


def _prerequisites(missing: list[str]) -> str:
    return "point-in-time recovery needs what this server lacks: " + "; ".join(missing)


def create_slot(pg: Pg, slot: str) -> None:
    """A physical slot that keeps WAL from now on (reserved at once), unless it exists."""
    pg.execute(
        "SELECT pg_create_physical_replication_slot(%s, true) WHERE NOT EXISTS "
        "(SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
        (slot, slot),
    )


def drop_slot(pg: Pg, slot: str) -> None:
    """Drop the slot if it exists; a receiver that has just stopped may still hold it for a
    moment, so an active slot is waited for."""
    for _ in range(SLOT_BUSY_TRIES):
        active = pg.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
        ).fetchone()
        if active is None:
            return
        if not active[0]:
            pg.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            return
        time.sleep(0.25)
    raise StrongboxError(
        f"replication slot {slot!r} is in use by another receiver; stop it and drop the slot "
        f"with SELECT pg_drop_replication_slot('{slot}')",
        REPLICATION_MISSING,
    )


def slot_status(pg: Pg, slot: str) -> SlotStatus:
    row = pg.execute(
        "SELECT wal_status, restart_lsn::text, pg_current_wal_lsn()::text, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, "
        "current_setting('max_slot_wal_keep_size') = '-1' "
        "FROM pg_replication_slots WHERE slot_name = %s",
        (slot,),
    ).fetchone()
    if row is None:
        return SlotStatus(exists=False)
    wal_status, restart, current, retained, unlimited = row
    return SlotStatus(
        exists=True,
        lost=wal_status == "lost",
        restart_lsn=parse_lsn(restart) if restart else None,
        current_lsn=parse_lsn(current) if current else None,
        retained_bytes=int(retained) if retained is not None else None,
        unlimited_retention=bool(unlimited),
    )


def pick_programs(server_major: int, bin_dir: Path | None) -> tuple[ClientTool, ClientTool]:
    """`pg_receivewal` and `pg_waldump` of the server's major (pg_waldump reads only its own
    major's WAL; it comes with the server package), preferring `bin_dir`."""
    dirs = ([bin_dir] if bin_dir is not None else []) + default_search_dirs()
    for waldump in find_client_tools("pg_waldump", dirs):
        if waldump.major != server_major:
            continue
        receivers = find_client_tools("pg_receivewal", [waldump.path.parent])
        if receivers:
            return receivers[0], waldump
    raise refused(
        f"pg_waldump and pg_receivewal {server_major} are needed to stream WAL of PostgreSQL "
        f"{server_major}: install postgresql-{server_major} (the server package holds "
        "pg_waldump) or point STRONGBOX_PG_BIN_DIR at its bin folder",
        CLIENT_MISSING,
    )


def receiver_command(
    receiver: ClientTool,
    waldump: ClientTool,
    conn: ConnectionInfo,
    slot: str,
    spool: Path,
    timeout: float,
) -> ReceiverCommand:
    """`pg_receivewal --slot=SLOT --no-loop -D SPOOL`: it resumes from the newest file in the
    spool (a `.partial` is written again from its start) or else from the slot, and exits when
    the connection ends, so that its supervisor sees every failure."""
    argv = [
        str(receiver.path),
        f"--slot={slot}",
        "--no-loop",
        "--directory",
        str(spool),
        "--status-interval=1",
        "--verbose",
        *connection_args(conn),
    ]
    return ReceiverCommand(argv, client_env(conn, timeout), waldump.path)
