"""PostgreSQL database properties that `pg_dump` (without --create) leaves out: encoding and
locale, database-level settings, comment and grants. Read at backup time, given back when a
restore creates the database.

Every value comes from a manifest or the catalog and was checked by `DatabaseProperties`; it is
still only ever passed to the server as a quoted identifier or literal.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from strongbox.domain.database_properties import (
    GUC_LIST_QUOTE,
    DatabaseProperties,
    parse_aclitem,
    split_guc_list,
)
from strongbox.engines.base import ConnectionInfo
from strongbox.engines.common import LOCALE_UNAVAILABLE
from strongbox.errors import StrongboxError, refused

# The servers that know LOCALE_PROVIDER and ICU_LOCALE, and BUILTIN_LOCALE.
_PROVIDER_SINCE = 15
_BUILTIN_SINCE = 17
_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin"}

Pg = psycopg.Connection[tuple[Any, ...]]


def read(pg: Pg, name: str, server_major: int) -> DatabaseProperties:
    """The properties of database `name` on a server of `server_major`, from pg_database,
    pg_db_role_setting (settings for every role: setrole = 0) and the shared comments."""
    provider = "d.datlocprovider::text" if server_major >= _PROVIDER_SINCE else "NULL"
    if server_major >= _BUILTIN_SINCE:
        icu = "d.datlocale"
    elif server_major >= _PROVIDER_SINCE:
        icu = "d.daticulocale"
    else:
        icu = "NULL"
    query = sql.SQL(
        "SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, {provider}, {icu},"
        " shobj_description(d.oid, 'pg_database'), d.datacl::text[],"
        " (SELECT s.setconfig FROM pg_db_role_setting s"
        "  WHERE s.setdatabase = d.oid AND s.setrole = 0)"
        " FROM pg_database d WHERE d.datname = %s"
    ).format(provider=sql.SQL(provider), icu=sql.SQL(icu))
    row = pg.execute(query, (name,)).fetchone()
    if row is None:
        return DatabaseProperties()
    encoding, collate, ctype, provider_code, icu_locale, comment, acl, config = row
    settings = dict(item.split("=", 1) for item in (config or []) if "=" in item)
    locale_provider = _PROVIDERS.get(provider_code) if provider_code else None
    return DatabaseProperties(
        encoding=encoding,
        lc_collate=collate,
        lc_ctype=ctype,
        locale_provider=locale_provider,
        # The libc provider's datlocale (17+) repeats datcollate; only the others need it.
        icu_locale=icu_locale if locale_provider in ("icu", "builtin") else None,
        settings=settings,
        comment=comment,
        grants=list(acl) if acl is not None else None,
    )


def create_statement(
    name: str, properties: DatabaseProperties | None, server_major: int
) -> sql.Composed:
    """CREATE DATABASE `name` from template0 with the recorded encoding and locale, for a
    target of `server_major`. Raises refused(LOCALE_UNAVAILABLE) when the source's locale
    provider does not exist on that server."""
    parts: list[sql.Composable] = [
        sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
    ]
    if properties is None:
        return sql.Composed(parts)
    if properties.encoding:
        parts.append(sql.SQL(" ENCODING {}").format(sql.Literal(properties.encoding)))
    if properties.lc_collate:
        parts.append(sql.SQL(" LC_COLLATE {}").format(sql.Literal(properties.lc_collate)))
    if properties.lc_ctype:
        parts.append(sql.SQL(" LC_CTYPE {}").format(sql.Literal(properties.lc_ctype)))
    # A source before 15 had libc only; say so to a newer target whose template0 may be ICU.
    provider = properties.locale_provider or ("libc" if properties.lc_collate else None)
    if provider is None or (provider == "libc" and server_major < _PROVIDER_SINCE):
        return sql.Composed(parts)
    needed = _BUILTIN_SINCE if provider == "builtin" else _PROVIDER_SINCE
    if server_major < needed:
        raise refused(
            f"the source database of {name!r} used the {provider} locale provider, which "
            f"PostgreSQL {server_major} does not have: restore into a server of version "
            f"{needed} or newer, or create the database yourself and restore into it",
            LOCALE_UNAVAILABLE,
        )
    parts.append(sql.SQL(" LOCALE_PROVIDER {}").format(sql.SQL(provider)))
    if properties.icu_locale and provider == "icu":
        parts.append(sql.SQL(" ICU_LOCALE {}").format(sql.Literal(properties.icu_locale)))
    if properties.icu_locale and provider == "builtin":
        parts.append(sql.SQL(" BUILTIN_LOCALE {}").format(sql.Literal(properties.icu_locale)))
    return sql.Composed(parts)


def check_available(
    pg: Pg,
    name: str,
    properties: DatabaseProperties,
    server_major: int,
    conn: ConnectionInfo,
) -> None:
    """Raises refused(LOCALE_UNAVAILABLE) when the server cannot create database `name` with
    the recorded encoding, locale provider or libc locales; touches nothing.

    A libc locale is tried by creating a temporary collation with it in a transaction that is
    rolled back: the server loads the locale as CREATE DATABASE would. When that probe cannot
    run (no TEMPORARY privilege), the check is left to CREATE DATABASE itself."""
    create_statement(name, properties, server_major)
    if properties.encoding is not None:
        row = pg.execute("SELECT pg_char_to_encoding(%s)", (properties.encoding,)).fetchone()
        if row is None or row[0] < 0:
            raise _unavailable(name, properties, conn, f"unknown encoding {properties.encoding!r}")
    wanted = {v for v in (properties.lc_collate, properties.lc_ctype) if v}
    for locale in sorted(wanted - {"C", "POSIX"}):
        probe = sql.SQL(
            "CREATE COLLATION pg_temp.strongbox_locale_probe"
            " (provider = libc, lc_collate = {0}, lc_ctype = {0})"
        ).format(sql.Literal(locale))
        try:
            with pg.transaction():
                pg.execute(probe)
                raise psycopg.Rollback
        except psycopg.errors.InvalidParameterValue as exc:
            raise _unavailable(name, properties, conn, str(exc).splitlines()[0]) from None
        except psycopg.Error:
            return


def locale_refusal(
    name: str, properties: DatabaseProperties | None, conn: ConnectionInfo, text: str
) -> StrongboxError | None:
    """The refusal for a CREATE DATABASE that failed on the recorded encoding or locale (the
    server lacks the locale, or it does not fit the encoding), or None for other failures."""
    if properties is None or not any(
        word in text for word in ("locale", "encoding", "collation", "ICU")
    ):
        return None
    return _unavailable(name, properties, conn, text)


def _unavailable(
    name: str, properties: DatabaseProperties, conn: ConnectionInfo, text: str
) -> StrongboxError:
    wanted = ", ".join(
        f"{label} {value!r}"
        for label, value in (
            ("ENCODING", properties.encoding),
            ("LC_COLLATE", properties.lc_collate),
            ("LC_CTYPE", properties.lc_ctype),
            ("LOCALE_PROVIDER", properties.locale_provider),
            ("ICU_LOCALE", properties.icu_locale),
        )
        if value
    )
    return refused(
        f"the PostgreSQL server at {conn.host}:{conn.port} cannot create database {name!r} "
        f"as the source was ({wanted}): {text}; install that locale on the server's host "
        "(e.g. locale-gen, then restart PostgreSQL), or create the database yourself with a "
        "locale the server has and restore into it (an existing empty database keeps its own "
        "properties)",
        LOCALE_UNAVAILABLE,
    )


def statements_after_restore(name: str, properties: DatabaseProperties) -> list[sql.Composed]:
    """The statements that give database `name` the recorded settings, comment and grants,
    to run after its content is restored: a setting such as `default_transaction_read_only`
    or `role` would otherwise apply to the restore's own sessions.

    Grants: a recorded ACL replaces the default one (PUBLIC's privileges are revoked first,
    then each entry granted; the grantor becomes the restoring user). No recorded ACL means
    the default privileges, which a new database has already."""
    database = sql.Identifier(name)
    statements: list[sql.Composed] = []
    for setting, value in properties.settings.items():
        if setting.lower() in GUC_LIST_QUOTE:
            values = sql.SQL(", ").join(sql.Literal(v) for v in split_guc_list(value, setting))
        else:
            values = sql.Composed([sql.Literal(value)])
        statements.append(
            sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                database, sql.Identifier(*setting.split(".")), values
            )
        )
    if properties.comment is not None:
        statements.append(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                database, sql.Literal(properties.comment)
            )
        )
    if properties.grants is not None:
        statements.append(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
        for item in properties.grants:
            entry = parse_aclitem(item)
            grantee = sql.Identifier(entry.grantee) if entry.grantee else sql.SQL("PUBLIC")
            plain = [p for p in entry.privileges if p not in entry.grantable]
            for privileges, option in ((plain, ""), (list(entry.grantable), " WITH GRANT OPTION")):
                if privileges:
                    statements.append(
                        sql.SQL("GRANT {} ON DATABASE {} TO {}" + option).format(
                            sql.SQL(", ").join(sql.SQL(p) for p in privileges), database, grantee
                        )
                    )
    return statements


def apply_after_restore(pg: Pg, name: str, properties: DatabaseProperties) -> list[str]:
    """Run `statements_after_restore` one by one; each that fails (a grantee role missing on
    the target, a setting this server does not know) is skipped and reported in the warnings
    returned, so that a restore whose content arrived is not failed by them."""
    warnings: list[str] = []
    for statement in statements_after_restore(name, properties):
        try:
            pg.execute(statement)
        except psycopg.Error as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            warnings.append(f"not restored: {statement.as_string(pg)} ({text})")
    return warnings
