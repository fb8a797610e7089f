"""The two ways a backup is taken, and what each means for a restore and for point-in-time
recovery.

A logical backup is a dump per database (pg_dump, mysqldump). A physical backup is a copy of a
whole PostgreSQL cluster (pg_basebackup) with the WAL that makes it consistent: it starts as a
cluster at its end point, and is the base that point-in-time recovery replays WAL onto.
"""

from __future__ import annotations

LOGICAL, PHYSICAL = "logical", "physical"
METHODS = (LOGICAL, PHYSICAL)
UNSUPPORTED = "backup-method-unsupported"
PHYSICAL_NOT_RESTORABLE = "backup-physical-not-restorable"


def physical_unsupported(engine_label: str) -> str:
    """Why a server of `engine_label` cannot take a physical backup, and what to do instead."""
    return (
        f"method 'physical' is PostgreSQL only, for now; a {engine_label} database is backed up "
        "with method 'logical' (the default)"
    )


def physical_restore_refused(backup: str) -> str:
    """Why a physical backup's roles are not restored, and what to do instead."""
    return (
        f"backup {backup!r} is physical: its roles are in the cluster it copies, not in a "
        "globals dump, so restore_globals does not apply; restore it into a new instance with "
        '"new_instance": {"name": ..., "port": ...} to get them, or extract it by hand with: '
        "zstd -d < base.tar.zst | tar -x -C DIR"
    )


def is_pitr_base(method: str) -> bool:
    """Whether a backup taken by `method` can be the base of point-in-time recovery."""
    return method == PHYSICAL


def is_pitr_ready(method: str, wal_stored: bool) -> bool:
    """Whether a backup can be recovered to a point in time now: a base whose WAL range (start
    to stop LSN, on its timeline) is stored by a WAL stream (`wal_stored`, from the index).

    >>> is_pitr_ready(PHYSICAL, True), is_pitr_ready(LOGICAL, True), is_pitr_ready(PHYSICAL, False)
    (True, False, False)
    """
    return is_pitr_base(method) and wal_stored
