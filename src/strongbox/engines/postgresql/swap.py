"""PostgreSQL operations of an overwrite restore done beside its target: swapping a side database
in by renaming, and estimating rows when an exact count takes too long.

Both take an open maintenance (or database) connection from `PostgresEngine`, which turns
driver errors into StrongboxError.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from psycopg import sql

from strongbox.engines.base import ConnectionInfo
from strongbox.engines.common import scrub
from strongbox.errors import refused

log = logging.getLogger(__name__)

SWAP_FAILED = "database-swap-failed"
SWAP_ATTEMPTS = 3  # a new session can slip in between ending the sessions and the rename

Connection = psycopg.Connection[tuple[Any, ...]]


def swap(pg: Connection, conn: ConnectionInfo, target: str, side: str, aside: str) -> None:
    """In ONE transaction: end the sessions on `target` and `side`, rename `target` to `aside`
    and `side` to `target`. ALTER DATABASE ... RENAME is transactional, so both renames commit
    together or not at all: no moment exists, even if this process dies, in which the target
    name is missing or points at a half-done state. A rename waits (up to 5 s, PostgreSQL's own
    limit) for ended sessions to go; one that connected again meanwhile makes it fail with
    ObjectInUse, and the swap is tried again. Raises refused(SWAP_FAILED) when it cannot be
    done; then nothing was renamed."""
    where = f"{conn.host}:{conn.port}"
    rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            with pg.transaction():
                pg.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname IN (%s, %s) AND pid <> pg_backend_pid()",
                    (target, side),
                )
                pg.execute(rename.format(sql.Identifier(target), sql.Identifier(aside)))
                pg.execute(rename.format(sql.Identifier(side), sql.Identifier(target)))
            return
        except psycopg.errors.ObjectInUse as exc:
            if attempt == SWAP_ATTEMPTS:
                raise refused(
                    f"could not swap the restored copy {side!r} in for {target!r} on the "
                    f"PostgreSQL server at {where}: sessions kept connecting to them "
                    f"({_short(exc, conn)}); stop the clients and restore again",
                    SWAP_FAILED,
                ) from None
            time.sleep(0.5 * attempt)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise refused(
                f"user {conn.username!r} may not rename database {target!r} on the PostgreSQL "
                f"server at {where} ({_short(exc, conn)}): only its owner or a superuser may; "
                "make the user its owner",
                SWAP_FAILED,
            ) from None


def _short(exc: psycopg.Error, conn: ConnectionInfo) -> str:
    return scrub(str(exc), conn.password).strip().splitlines()[0]
