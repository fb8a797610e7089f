"""The databases of a PostgreSQL server as a restore sees them: whether one holds anything, creating
and dropping one, and counting (or estimating) its rows. `PostgresEngine` delegates here."""

from __future__ import annotations

import psycopg
from psycopg import sql

from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.base import UNKNOWN_DATABASE, ConnectionInfo, DatabaseSummary
from strongbox.engines.common import CREATE_FAILED, DATABASE_EXISTS, DROP_FAILED, scrub
from strongbox.engines.postgresql import properties as postgresql_properties
from strongbox.engines.postgresql.connection import connect, scalar, server_info
from strongbox.engines.postgresql.driver_errors import quote_identifier, short
from strongbox.errors import StrongboxError, refused

# Identifiers are cut to NAMEDATALEN - 1 bytes; a longer name would be created shortened.
_MAX_NAME_BYTES = 63
# DROP DATABASE ... WITH (FORCE) exists since PostgreSQL 13.
_DROP_FORCE_SINCE = 13


def database_state(conn: ConnectionInfo, name: str, timeout: float) -> str:
    """'absent', 'empty' or 'nonempty'.

    Non-empty: a table, partitioned table, view, materialized view, sequence, foreign table
    or function (any routine) in a schema that is not the system's (pg_catalog,
    information_schema, pg_toast, other sessions' pg_temp_N). Extensions and the objects
    that belong to them do not count: they hold no user data, and a database made from a
    template with extensions installed has them from its first moment. Nor do types,
    domains or empty schemas. Raises refused(CHECK_FAILED) when the database exists but
    refuses connections (ALLOW_CONNECTIONS false) or the user may not connect to it."""
    try:
        with connect(conn, timeout, dbname=name) as pg:
            nonempty = scalar(pg, _HAS_USER_OBJECTS)
    except StrongboxError as exc:
        if exc.code == UNKNOWN_DATABASE:
            return "absent"
        raise
    return "nonempty" if nonempty else "empty"


def create_database(
    conn: ConnectionInfo,
    name: str,
    timeout: float,
    *,
    properties: DatabaseProperties | None = None,
) -> None:
    """CREATE DATABASE from template0, owned by the connecting user, with the encoding,
    LC_COLLATE, LC_CTYPE and locale provider of `properties` (else the server's defaults).

    template0 rather than the default template1: objects added to template1 would clash
    with those of the dump, and template1 cannot be copied while anyone (the maintenance
    connection when "postgres" is gone) is connected to it. Raises refused(DATABASE_EXISTS)
    when it exists, refused(CREATE_FAILED) when the user may not create databases or the
    name is too long, refused(LOCALE_UNAVAILABLE) when the server lacks the locale (or it
    does not fit the encoding), and the connection errors of `check`."""
    where = f"{conn.host}:{conn.port}"
    if len(name.encode()) > _MAX_NAME_BYTES:
        raise refused(
            f"database name {name!r} is longer than PostgreSQL's {_MAX_NAME_BYTES} bytes: "
            "choose a shorter name",
            CREATE_FAILED,
        )
    with connect(conn, timeout) as pg:
        server = server_info(pg)
        statement = postgresql_properties.create_statement(name, properties, server.major)
        try:
            pg.execute(statement)
        except psycopg.errors.DuplicateDatabase:
            raise refused(
                f"database {name!r} already exists on the PostgreSQL server at {where}: "
                "restore into it with overwrite, or choose another name",
                DATABASE_EXISTS,
            ) from None
        except psycopg.errors.InsufficientPrivilege:
            raise refused(
                f"user {conn.username!r} may not create databases on the PostgreSQL server "
                f"at {where}: run ALTER ROLE {quote_identifier(conn.username)} CREATEDB, or "
                "restore into a database that exists",
                CREATE_FAILED,
            ) from None
        except psycopg.Error as exc:
            text = short(scrub(str(exc), conn.password))
            locale = postgresql_properties.locale_refusal(name, properties, conn, text)
            raise locale or refused(
                f"could not create database {name!r} on the PostgreSQL server at {where}: {text}",
                CREATE_FAILED,
            ) from None


def drop_database(conn: ConnectionInfo, name: str, timeout: float) -> None:
    """DROP DATABASE IF EXISTS ... WITH (FORCE), which ends the other sessions on it
    (before PostgreSQL 13, which lacks FORCE, they are ended with pg_terminate_backend).
    Raises refused(DROP_FAILED) when the user may not drop it (only its owner or a
    superuser may) or a session cannot be ended (a prepared transaction, a replication
    slot), and the connection errors of `check`."""
    where = f"{conn.host}:{conn.port}"
    with connect(conn, timeout, avoid=name) as pg:
        server = server_info(pg)
        statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        try:
            if server.major >= _DROP_FORCE_SINCE:
                pg.execute(statement + sql.SQL(" WITH (FORCE)"))
            else:
                pg.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                pg.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            raise refused(
                f"user {conn.username!r} may not drop database {name!r} on the PostgreSQL "
                f"server at {where}: only its owner or a superuser may; make the user its "
                "owner, or restore into a new database",
                DROP_FAILED,
            ) from None
        except psycopg.Error as exc:
            raise refused(
                f"could not drop database {name!r} on the PostgreSQL server at {where}: "
                f"{short(scrub(str(exc), conn.password))}",
                DROP_FAILED,
            ) from None


def summarize(conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
    """The tables of `name` outside the system schemas (plain tables and partitions, not
    partitioned parents, which hold no rows of their own, nor extensions' tables) and
    their exact row count: `count(*)` of each (`FROM ONLY`, so inherited rows count once),
    in one read-only snapshot. Each count must finish within `timeout`. Raises
    refused(UNKNOWN_DATABASE) when the database does not exist."""
    with connect(conn, timeout, dbname=name) as pg:
        pg.read_only = True
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with pg.transaction():
            tables = pg.execute(_USER_TABLES).fetchall()
            rows = 0
            for schema, table in tables:
                count = sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                rows += int(scalar(pg, count))
    return DatabaseSummary(tables=len(tables), rows=rows)


def estimate_summary(conn: ConnectionInfo, name: str, timeout: float) -> DatabaseSummary:
    """The tables `summarize` counts, and the sum of their rows as the server knows them
    without reading a table (`_ESTIMATED_ROWS`). No ANALYZE: on a large database it reads a
    sample of every table while the person who asked for the restore waits, and autovacuum
    analyzes freshly loaded tables soon after."""
    with connect(conn, timeout, dbname=name) as pg:
        found = pg.execute(_ESTIMATED_ROWS).fetchone()
    tables, rows = found if found is not None else (0, 0)
    return DatabaseSummary(tables=int(tables), rows=int(rows), estimated=True)


# The queries below run in the database itself. User schemas are all but information_schema and
# those named "pg_...", a prefix reserved for the system (pg_catalog, pg_toast, the pg_temp_N of
# other sessions' temporary tables). Objects that belong to an extension (pg_depend 'e') are
# the extension's, not the user's.

# Whether a user object exists (see `database_state`).
_HAS_USER_OBJECTS = """
SELECT EXISTS (
    SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
) OR EXISTS (
    SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
)"""

# The tables whose rows `summarize` counts.
_USER_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2"""

# The tables of `_USER_TABLES` and their rows: `pg_class.reltuples`, which building an index
# sets (a restore builds them last), or the live rows the statistics counted while the rows
# were loaded (a table without an index), whichever is larger.
_ESTIMATED_ROWS = """
SELECT count(*), coalesce(sum(greatest(c.reltuples, s.n_live_tup, 0)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')"""
