"""Giving a restored database the source's settings, comment and grants once its content is in.

Only databases the restore created (new, or dropped and recreated) get them: an existing empty
database a person prepared keeps the properties that person gave it.
"""

from __future__ import annotations

from collections.abc import Sequence

from strongbox.domain.restore_plan import CREATE, OVERWRITE, PlannedDatabase
from strongbox.engines.base import ConnectionInfo, RestoringEngine


def apply(
    engine: RestoringEngine,
    conn: ConnectionInfo,
    item: PlannedDatabase,
    database: str,
    timeout: float,
) -> list[str]:
    """The warnings of giving `database` (the target, or the side database an overwrite fills
    before it is swapped in) the properties recorded with `item`'s artifact; none when the
    backup recorded none, or the target existed before the restore. Renaming keeps them."""
    properties = item.artifact.database_properties
    if properties is None or item.action not in (CREATE, OVERWRITE):
        return []
    return engine.apply_properties(conn, database, properties, timeout)


def check_all(
    engine: RestoringEngine,
    conn: ConnectionInfo,
    planned: Sequence[PlannedDatabase],
    timeout: float,
) -> None:
    """Raises refused(LOCALE_UNAVAILABLE) when any database the restore will create cannot
    get its recorded encoding, locale, character set or collation on the target server; run
    before the first database is touched, so that a restore of several does not stop halfway."""
    for item in planned:
        properties = item.artifact.database_properties
        if properties is not None and item.action in (CREATE, OVERWRITE):
            engine.check_properties(conn, item.target, properties, timeout)
