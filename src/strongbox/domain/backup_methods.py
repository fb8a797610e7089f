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


def is_pitr_base(method: str, engine: str | None) -> bool:
    """Whether a backup taken by `method` of an `engine` server can be the base of
    point-in-time recovery: a physical PostgreSQL backup (WAL is replayed onto the cluster),
    or a MySQL/MariaDB dump (binlog is replayed from the position it records).

    >>> is_pitr_base(PHYSICAL, "postgresql"), is_pitr_base(LOGICAL, "postgresql")
    (True, False)
    >>> is_pitr_base(LOGICAL, "mysql")
    True
    """
    return method == PHYSICAL or engine == "mysql"


def is_pitr_ready(method: str, engine: str | None, log_stored: bool) -> bool:
    """Whether a backup can be recovered to a point in time now: a base whose change log from
    its recorded position on is stored by a stream (`log_stored`, from the index).

    >>> is_pitr_ready(PHYSICAL, "postgresql", True), is_pitr_ready(LOGICAL, "postgresql", True)
    (True, False)
    >>> is_pitr_ready(LOGICAL, "mysql", True), is_pitr_ready(LOGICAL, "mysql", False)
    (True, False)
    """
    return is_pitr_base(method, engine) and log_stored
