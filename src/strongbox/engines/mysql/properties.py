"""MySQL/MariaDB schema properties that a single-database dump leaves out: the default character
set and collation (each table's own are in its CREATE TABLE). Read at backup time, given back
when a restore creates the schema.

The names come from a manifest or the catalog and were checked by `DatabaseProperties` (letters,
digits, `_`); they are still passed to the server as escaped string literals.
"""

from __future__ import annotations

from typing import Any

from pymysql.connections import Connection

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.base import ConnectionInfo
from strongbox.engines.common import LOCALE_UNAVAILABLE
from strongbox.errors import StrongboxError, refused

# Without recorded properties (backups made before they were), as before: utf8mb4 with the
# server's default utf8mb4 collation.
DEFAULT_CHARACTER_SET = "utf8mb4"
# Server errors that mean "this server lacks that character set or collation".
ER_COLLATION_CHARSET_MISMATCH = 1253
ER_UNKNOWN_CHARACTER_SET = 1115
ER_UNKNOWN_COLLATION = 1273
CHARSET_ERRORS = frozenset(
    {ER_COLLATION_CHARSET_MISMATCH, ER_UNKNOWN_CHARACTER_SET, ER_UNKNOWN_COLLATION}
)


def read(db: Connection[Any], name: str) -> DatabaseProperties:
    """The default character set and collation of schema `name`."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME"
            " FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (name,),
        )
        row = cursor.fetchone()
    if row is None:
        return DatabaseProperties()
    return DatabaseProperties(character_set=row[0], collation=row[1])


def create_options(db: Connection[Any], properties: DatabaseProperties | None) -> str:
    """The CHARACTER SET and COLLATE clauses of CREATE DATABASE, as escaped literals."""
    if properties is None or properties.character_set is None:
        return f" CHARACTER SET {DEFAULT_CHARACTER_SET}"
    options = f" CHARACTER SET {db.escape(properties.character_set)}"
    if properties.collation is not None:
        options += f" COLLATE {db.escape(properties.collation)}"
    return options


def check_available(
    db: Connection[Any], name: str, properties: DatabaseProperties, conn: ConnectionInfo
) -> None:
    """Raises refused(LOCALE_UNAVAILABLE) when the server lacks the recorded character set, or
    the collation of that character set."""
    if properties.character_set is None:
        return
    with db.cursor() as cursor:
        if properties.collation is None:
            cursor.execute(
                "SELECT 1 FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = %s",
                (properties.character_set,),
            )
        else:
            cursor.execute(
                "SELECT 1 FROM information_schema.COLLATIONS"
                " WHERE CHARACTER_SET_NAME = %s AND COLLATION_NAME = %s",
                (properties.character_set, properties.collation),
            )
        found = cursor.fetchone()
    if found is None:
        raise _unavailable(name, properties, conn, "this server does not have it")


def charset_refusal(
    name: str,
    properties: DatabaseProperties | None,
    conn: ConnectionInfo,
    code: int | None,
    text: str,
) -> StrongboxError | None:
    """The refusal for a CREATE DATABASE that failed because the server lacks the recorded
    character set or collation, or None for other failures."""
    if properties is None or code not in CHARSET_ERRORS:
        return None
    return _unavailable(name, properties, conn, text)


def _unavailable(
    name: str, properties: DatabaseProperties, conn: ConnectionInfo, text: str
) -> StrongboxError:
    return refused(
        f"the server at {conn.host}:{conn.port} cannot create database {name!r} with the "
        f"source's CHARACTER SET {properties.character_set!r} COLLATE {properties.collation!r}: "
        f"{text}; restore into a server that has them, or create the database yourself with a "
        "character set and collation this server has and restore into it (an existing empty "
        "database keeps its own)",
        LOCALE_UNAVAILABLE,
    )
