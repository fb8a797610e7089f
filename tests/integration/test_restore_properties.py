"""A restored database is the same database: a restore into a new database gives it the source's
encoding, collation and ctype, settings, comment and grants (PostgreSQL), or default character
set and collation (MariaDB), besides the same content."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import mariadb_database
from integration.test_cli import cli
from integration.test_restore import back_up, register_bucket, register_pg, restore
from strongbox.domain.database_properties import DatabaseProperties
from strongbox.engines.common import LOCALE_UNAVAILABLE
from strongbox.engines.mysql import MySQLEngine
from strongbox.engines.postgresql import PostgresEngine
from strongbox.errors import StrongboxError

pytestmark = pytest.mark.integration

NAMES = ["Zoë", "Ångström", "Renée", "façade", "naïve ½"]


def pg_properties(server: PostgresServer, name: str) -> dict[str, Any]:
    row = server.query(
        "SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,"
        " shobj_description(d.oid, 'pg_database'), d.datacl::text[],"
        " (SELECT s.setconfig FROM pg_db_role_setting s"
        "  WHERE s.setdatabase = d.oid AND s.setrole = 0)"
        f" FROM pg_database d WHERE d.datname = '{name}'"
    )[0]
    return {
        "encoding": row[0],
        "collate": row[1],
        "ctype": row[2],
        "comment": row[3],
        # The order of ACL entries follows the order of the grants; the set is what counts.
        "acl": sorted(row[4] or []),
        "settings": sorted(row[5] or []),
    }


def pg_content(server: PostgresServer, name: str) -> list[Any]:
    # octet_length proves the bytes: 'Zoë' is 3 bytes in LATIN1, 4 in UTF8.
    return server.query("SELECT id, name, octet_length(name) FROM people ORDER BY id", name)


def make_pg_source(server: PostgresServer) -> None:
    server.execute("DROP ROLE IF EXISTS props_reader; CREATE ROLE props_reader")
    server.execute(
        "CREATE DATABASE props_latin TEMPLATE template0 ENCODING 'LATIN1'"
        " LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    server.execute("ALTER DATABASE props_latin SET work_mem = '7MB'")
    server.execute('ALTER DATABASE props_latin SET search_path = "$user", public, "We, ird"')
    server.execute("ALTER DATABASE props_latin SET strongbox_test.label = 'it''s, fine'")
    server.execute("COMMENT ON DATABASE props_latin IS 'Shop data in Latin-1, don''t drop'")
    server.execute("REVOKE TEMPORARY ON DATABASE props_latin FROM PUBLIC")
    server.execute("GRANT CONNECT ON DATABASE props_latin TO props_reader")
    server.execute("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)", "props_latin")
    with server.connect("props_latin") as conn:
        for number, name in enumerate(NAMES):
            conn.execute("INSERT INTO people VALUES (%s, %s)", (number, name))
    # A second database whose collation differs from the server's default ('C').
    server.execute(
        "CREATE DATABASE props_utf TEMPLATE template0 ENCODING 'UTF8'"
        " LC_COLLATE 'C.utf8' LC_CTYPE 'C.utf8'"
    )
    server.execute("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)", "props_utf")
    server.execute("INSERT INTO people VALUES (1, '山田')", "props_utf")


def drop_pg_source(server: PostgresServer, *names: str) -> None:
    for name in names:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.execute("DROP ROLE IF EXISTS props_reader")


def test_a_postgresql_database_comes_back_with_its_encoding_locale_settings_comment_and_grants(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    make_pg_source(pg_server)
    source = {name: pg_properties(pg_server, name) for name in ("props_latin", "props_utf")}
    content = {name: pg_content(pg_server, name) for name in ("props_latin", "props_utf")}
    assert source["props_latin"]["encoding"] == "LATIN1"
    assert source["props_utf"]["collate"] == "C.utf8"
    register_pg(strongbox, "prod", pg_server, ["props_latin", "props_utf"])
    register_bucket(strongbox, seaweed, s3_bucket)
    backup = back_up(strongbox, "prod", "same")
    recorded = next(a for a in backup["artifacts"] if a["dbname"] == "props_latin")
    assert recorded["database_properties"]["encoding"] == "LATIN1"

    done = restore(
        strongbox,
        "prod",
        backup="same",
        database_map={"props_latin": "props_latin_copy", "props_utf": "props_utf_copy"},
    )

    assert done["state"] == "succeeded", done["error"]
    assert [s["warnings"] for s in done["summary"]] == [[], []]
    for name in ("props_latin", "props_utf"):
        assert pg_properties(pg_server, f"{name}_copy") == source[name]
        assert pg_content(pg_server, f"{name}_copy") == content[name]
    latin = pg_properties(pg_server, "props_latin_copy")
    assert "work_mem=7MB" in latin["settings"]
    assert 'search_path="$user", public, "We, ird"' in latin["settings"]
    assert "props_reader=c/postgres" in latin["acl"]
    assert latin["comment"] == "Shop data in Latin-1, don't drop"
    # A new session gets the setting back.
    assert pg_server.query("SHOW work_mem", "props_latin_copy") == [("7MB",)]
    drop_pg_source(pg_server, "props_latin", "props_utf", "props_latin_copy", "props_utf_copy")


def test_an_overwrite_swaps_in_a_database_with_the_source_properties_and_content(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    make_pg_source(pg_server)
    source = pg_properties(pg_server, "props_latin")
    content = pg_content(pg_server, "props_latin")
    register_pg(strongbox, "prod", pg_server, ["props_latin"])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "before-changes")
    # The live database drifts after the backup: other content, setting and comment.
    pg_server.execute("ALTER DATABASE props_latin SET work_mem = '9MB'")
    pg_server.execute("COMMENT ON DATABASE props_latin IS 'changed'")
    pg_server.execute("INSERT INTO people VALUES (99, 'late')", "props_latin")

    done = restore(strongbox, "prod", backup="before-changes", overwrite=True)

    assert done["state"] == "succeeded", done["error"]
    assert done["summary"][0]["action"] == "overwrite"
    # The side database was given the properties before it took the target's name.
    assert pg_properties(pg_server, "props_latin") == source
    assert pg_content(pg_server, "props_latin") == content
    leftovers = pg_server.query("SELECT datname FROM pg_database WHERE datname LIKE '%__sbx_%'")
    assert leftovers == []
    drop_pg_source(pg_server, "props_latin", "props_utf")


def test_a_grantee_missing_on_the_target_is_a_warning_and_the_rest_comes_back(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    pg_server_factory: Callable[[], PostgresServer],
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    fresh = pg_server_factory()
    make_pg_source(pg_server)
    source = pg_properties(pg_server, "props_latin")
    register_pg(strongbox, "prod", pg_server, ["props_latin"])
    register_pg(strongbox, "fresh", fresh, [])
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "prod", "roles-elsewhere")

    # Through the CLI, which shows the warnings below the summary.
    shown = cli(
        strongbox, "restore", "prod", "--backup", "roles-elsewhere", "--to", "fresh", "--wait"
    )

    assert shown.returncode == 0, shown.stderr
    assert "warning: props_latin: not restored: GRANT CONNECT" in shown.stdout
    [done] = strongbox.client.get("/api/v1/databases/prod/restores").json()["items"]
    assert done["state"] == "succeeded", done["error"]
    [warning] = done["summary"][0]["warnings"]
    assert "GRANT CONNECT" in warning
    assert "props_reader" in warning
    copy = pg_properties(fresh, "props_latin")
    assert copy["acl"] == [a for a in source["acl"] if not a.startswith("props_reader=")]
    assert {k: v for k, v in copy.items() if k != "acl"} == {
        k: v for k, v in source.items() if k != "acl"
    }
    assert pg_content(fresh, "props_latin") == pg_content(pg_server, "props_latin")
    drop_pg_source(pg_server, "props_latin", "props_utf")


def record_properties(
    running: RunningServer,
    seaweed: SeaweedServer,
    backup: dict[str, Any],
    dbname: str,
    **changes: Any,
) -> None:
    """Change the properties recorded for `dbname` in both the manifest and the catalog, as a
    backup imported from an altered bucket would have them."""
    bucket, _, prefix = backup["location"].removeprefix("s3://").partition("/")
    client = seaweed.client()
    key = f"{prefix}manifest.json"
    manifest = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    for artifact in manifest["artifacts"]:
        if artifact["dbname"] == dbname:
            artifact["database_properties"].update(changes)
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    with sqlite3.connect(running.data_dir / "catalog.sqlite3") as catalog:
        [(raw,)] = catalog.execute(
            "SELECT artifacts FROM backups WHERE name = ?", (backup["name"],)
        ).fetchall()
        artifacts = json.loads(raw)
        for artifact in artifacts:
            if artifact["dbname"] == dbname:
                artifact["database_properties"].update(changes)
        catalog.execute(
            "UPDATE backups SET artifacts = ? WHERE name = ?",
            (json.dumps(artifacts), backup["name"]),
        )


def test_a_locale_missing_for_one_database_fails_the_restore_before_any_is_created(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    make_pg_source(pg_server)
    register_pg(strongbox, "prod", pg_server, ["props_latin", "props_utf"])
    register_bucket(strongbox, seaweed, s3_bucket)
    backup = back_up(strongbox, "prod", "elsewhere")
    # The second database's locale is one this server lacks.
    record_properties(strongbox, seaweed, backup, "props_utf", lc_ctype="xx_XX.UTF-8")

    done = restore(
        strongbox,
        "prod",
        backup="elsewhere",
        database_map={"props_latin": "props_latin_copy", "props_utf": "props_utf_copy"},
    )

    assert done["state"] == "failed"
    assert "xx_XX.UTF-8" in done["error"]
    assert "install that locale" in done["error"]
    created = pg_server.query(
        "SELECT datname FROM pg_database WHERE datname IN ('props_latin_copy', 'props_utf_copy')"
    )
    assert created == []
    drop_pg_source(pg_server, "props_latin", "props_utf")


def test_a_locale_the_target_lacks_refuses_the_create_and_names_it(
    pg_server: PostgresServer,
) -> None:
    engine = PostgresEngine(pg_server.bin_dir)
    properties = DatabaseProperties(encoding="UTF8", lc_collate="xx_XX.UTF-8", lc_ctype="C")
    with pytest.raises(StrongboxError) as caught:
        engine.create_database(pg_server.connection(), "props_nowhere", 10.0, properties=properties)
    assert caught.value.code == LOCALE_UNAVAILABLE
    assert "xx_XX.UTF-8" in caught.value.detail
    assert "create the database yourself" in caught.value.detail
    gone = pg_server.query("SELECT count(*) FROM pg_database WHERE datname = 'props_nowhere'")
    assert gone == [(0,)]


def test_a_missing_locale_or_encoding_is_found_before_anything_is_created(
    pg_server: PostgresServer,
) -> None:
    engine = PostgresEngine(pg_server.bin_dir)
    conn = pg_server.connection()
    present = DatabaseProperties(encoding="UTF8", lc_collate="C.utf8", lc_ctype="C")
    engine.check_properties(conn, "props_new", present, 10.0)
    for properties, named in [
        (DatabaseProperties(encoding="UTF8", lc_collate="C", lc_ctype="xx_XX.UTF-8"), "xx_XX"),
        (DatabaseProperties(encoding="KLINGON8", lc_collate="C", lc_ctype="C"), "KLINGON8"),
    ]:
        with pytest.raises(StrongboxError) as caught:
            engine.check_properties(conn, "props_new", properties, 10.0)
        assert caught.value.code == LOCALE_UNAVAILABLE
        assert named in caught.value.detail
    # The probe leaves no collation and no database behind.
    assert pg_server.query(
        "SELECT count(*) FROM pg_collation WHERE collname LIKE 'strongbox%'"
    ) == [(0,)]
    gone = pg_server.query("SELECT count(*) FROM pg_database WHERE datname = 'props_new'")
    assert gone == [(0,)]


def test_a_missing_mariadb_character_set_or_collation_is_found_before_anything_is_created(
    mariadb_server: MariaDBServer,
) -> None:
    engine = MySQLEngine()
    conn = mariadb_server.connection()
    present = DatabaseProperties(character_set="latin1", collation="latin1_swedish_ci")
    engine.check_properties(conn, "props_new", present, 10.0)
    for properties in [
        DatabaseProperties(character_set="latin1", collation="latin1_klingon_ci"),
        DatabaseProperties(character_set="utf8mb4", collation="latin1_swedish_ci"),
        DatabaseProperties(character_set="klingon8"),
    ]:
        with pytest.raises(StrongboxError) as caught:
            engine.check_properties(conn, "props_new", properties, 10.0)
        assert caught.value.code == LOCALE_UNAVAILABLE
        assert str(properties.character_set) in caught.value.detail
    assert maria_properties_or_none(mariadb_server, "props_new") is None


def maria_properties(server: MariaDBServer, name: str) -> tuple[str, str]:
    rows = server.query(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME"
        " FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
        None,
        [name],
    )
    return rows[0][0], rows[0][1]


def maria_content(server: MariaDBServer, name: str) -> list[Any]:
    # HEX proves the stored bytes: 'ë' is one byte (EB) in latin1.
    return server.query("SELECT id, name, HEX(name) FROM people ORDER BY id", name)


def test_a_latin1_mariadb_schema_comes_back_latin1(
    strongbox: RunningServer,
    mariadb_server: MariaDBServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    mariadb_server.execute(
        "CREATE DATABASE props_latin DEFAULT CHARSET latin1 COLLATE latin1_swedish_ci"
    )
    # The table takes the schema's default character set.
    mariadb_server.execute(
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL)", "props_latin"
    )
    with mariadb_server.connect("props_latin") as conn, conn.cursor() as cursor:
        for number, name in enumerate(NAMES):
            cursor.execute("INSERT INTO people VALUES (%s, %s)", (number, name))
    content = maria_content(mariadb_server, "props_latin")
    assert content[0][2] == "5A6FEB"  # 'Zoë' in latin1
    strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, ["props_latin"]),
    ).raise_for_status()
    register_bucket(strongbox, seaweed, s3_bucket)
    back_up(strongbox, "maria", "latin")

    done = restore(strongbox, "maria", backup="latin", database_map={"props_latin": "props_copy"})

    assert done["state"] == "succeeded", done["error"]
    assert maria_properties(mariadb_server, "props_copy") == ("latin1", "latin1_swedish_ci")
    assert maria_content(mariadb_server, "props_copy") == content
    # A table created later in the copy gets the schema's default, as in the source.
    mariadb_server.execute("CREATE TABLE later (name VARCHAR(5))", "props_copy")
    charset = mariadb_server.query(
        "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = 'props_copy' AND TABLE_NAME = 'later'"
    )
    assert charset == [("latin1",)]
    mariadb_server.execute("DROP DATABASE props_latin")
    mariadb_server.execute("DROP DATABASE props_copy")


def test_a_collation_the_mariadb_target_lacks_refuses_the_create_and_names_it(
    mariadb_server: MariaDBServer,
) -> None:
    properties = DatabaseProperties(character_set="latin1", collation="latin1_klingon_ci")
    with pytest.raises(StrongboxError) as caught:
        MySQLEngine().create_database(
            mariadb_server.connection(), "props_nowhere", 10.0, properties=properties
        )
    assert caught.value.code == LOCALE_UNAVAILABLE
    assert "latin1_klingon_ci" in caught.value.detail
    assert maria_properties_or_none(mariadb_server, "props_nowhere") is None


def maria_properties_or_none(server: MariaDBServer, name: str) -> tuple[str, str] | None:
    found = server.query(
        "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", None, [name]
    )
    return maria_properties(server, name) if found else None
