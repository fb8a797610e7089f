"""Both engines against real throwaway servers: checks, errors a person can fix, database lists,
and dump plans whose commands really run and produce valid dumps."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fixtures.mariadb import MariaDBServer
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer, server_bin_dir
from strongbox.engines.base import (
    BAD_CREDENTIALS,
    CLIENT_MISSING,
    UNKNOWN_DATABASE,
    UNREACHABLE,
    ConnectionInfo,
    DumpCommand,
)
from strongbox.engines.mysql import MySQLEngine
from strongbox.engines.postgresql import PostgresEngine
from strongbox.engines.registry import ENGINE_NAMES, engine_for
from strongbox.errors import ErrorKind, StrongboxError

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
HEAD_BYTES = 64 * 1024  # what the pipeline hands to position_from_head


def run_dump(command: DumpCommand) -> bytes:
    """Run a planned command the way a worker does (argv, extra env) and return its stdout."""
    done = subprocess.run(
        command.argv,
        env={**os.environ, **command.env},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def refusal(call: Callable[[], object], code: str) -> StrongboxError:
    with pytest.raises(StrongboxError) as caught:
        call()
    assert caught.value.kind is ErrorKind.REFUSED
    assert caught.value.code == code, caught.value.detail
    return caught.value


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes them) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_the_registry_knows_both_engines() -> None:
    assert ENGINE_NAMES == ("postgresql", "mysql")
    assert isinstance(engine_for("postgresql"), PostgresEngine)
    assert isinstance(engine_for("mysql"), MySQLEngine)
    with_folder = engine_for("postgresql", pg_bin_dir=Path("/opt/pg"))
    assert isinstance(with_folder, PostgresEngine)
    assert with_folder.bin_dir == Path("/opt/pg")
    with pytest.raises(StrongboxError) as caught:
        engine_for("oracle")
    assert caught.value.code == "unknown-engine"
    assert caught.value.errors[0].field == "engine"


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(pg_server_factory: Callable[[], PostgresServer]) -> PostgresServer:
    """A server of its own, so that the list of databases is exactly what this module made."""
    server = pg_server_factory()
    server.create_database("app")
    server.execute(
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;",
        "app",
    )
    server.create_database("my db=x")
    server.execute("CREATE TABLE t (a int)", "my db=x")
    server.execute("CREATE DATABASE closed ALLOW_CONNECTIONS false")
    server.execute("CREATE DATABASE tmpl IS_TEMPLATE true")
    return server


@pytest.fixture(scope="module")
def bare_pg(pg_server_factory: Callable[[], PostgresServer]) -> PostgresServer:
    """A server with no user database, whose maintenance database "postgres" was dropped."""
    server = pg_server_factory()
    server.execute("DROP DATABASE postgres", "template1")
    return server


def test_pg_check_reports_the_server(pg: PostgresServer) -> None:
    info = PostgresEngine().check(pg.connection(), ["app"], TIMEOUT)
    assert info.flavor == "PostgreSQL"
    assert info.version == pg.query("SHOW server_version")[0][0].split()[0]
    assert info.major == int(info.version.split(".")[0])
    assert info.details == {"superuser": True}


def test_pg_wrong_password_is_bad_credentials_without_the_password(pg: PostgresServer) -> None:
    conn = replace(pg.connection(), password="not-the-password-42")
    error = refusal(lambda: PostgresEngine().check(conn, [], TIMEOUT), BAD_CREDENTIALS)
    assert error.errors[0].field == "password"
    assert "not-the-password-42" not in str(error)
    assert pg.password not in str(error)
    assert "'postgres'" in error.detail


def test_pg_a_port_nothing_listens_on_is_unreachable_at_once() -> None:
    port = free_port()
    conn = ConnectionInfo("127.0.0.1", port, "postgres", "pw")
    started = time.monotonic()
    error = refusal(lambda: PostgresEngine().check(conn, [], TIMEOUT), UNREACHABLE)
    assert time.monotonic() - started < 2
    assert f"127.0.0.1:{port}" in error.detail
    assert "listen_addresses" in error.detail
    assert error.errors[0].field == "host"


def test_pg_a_server_that_never_answers_is_unreachable_after_the_timeout(
    silent_port: int,
) -> None:
    conn = ConnectionInfo("127.0.0.1", silent_port, "postgres", "pw")
    started = time.monotonic()
    error = refusal(lambda: PostgresEngine().check(conn, [], 2), UNREACHABLE)
    assert time.monotonic() - started < 6
    assert "no answer" in error.detail


def test_pg_an_unknown_host_is_unreachable() -> None:
    conn = ConnectionInfo("no-such-host.invalid", 5432, "postgres", "pw")
    error = refusal(lambda: PostgresEngine().check(conn, [], TIMEOUT), UNREACHABLE)
    assert "no-such-host.invalid" in error.detail


def test_pg_an_unknown_database_is_named_with_the_ones_there(pg: PostgresServer) -> None:
    error = refusal(
        lambda: PostgresEngine().check(pg.connection(), ["app", "nope"], TIMEOUT),
        UNKNOWN_DATABASE,
    )
    assert "'nope'" in error.detail
    assert "app, my db=x" in error.detail
    assert error.errors[0].field == "databases"


def test_pg_list_databases_leaves_out_templates_closed_ones_and_postgres(
    pg: PostgresServer,
) -> None:
    assert PostgresEngine().list_databases(pg.connection(), TIMEOUT) == ["app", "my db=x"]


def test_pg_plan_dump_runs_and_makes_valid_archives(pg: PostgresServer, tmp_path: Path) -> None:
    commands, tools = PostgresEngine().plan_dump(pg.connection(), [], TIMEOUT)

    assert [(c.artifact_name, c.kind, c.dbname, c.format) for c in commands] == [
        ("globals.sql.zst", "globals", None, "sql"),
        ("app.pgdump.zst", "database", "app", "pg_dump-custom"),
        ("my_db_x.pgdump.zst", "database", "my db=x", "pg_dump-custom"),
    ]
    assert set(tools) == {"pg_dump", "pg_dumpall"}
    assert tools["pg_dump"].split(".")[0] == str(pg_major(pg))
    for command in commands:
        assert pg.password not in command.argv
        assert command.env["PGPASSWORD"] == pg.password
        assert "--no-password" in command.argv
    assert "--no-role-passwords" not in commands[0].argv  # a superuser may read pg_authid

    assert b"CREATE ROLE postgres" in run_dump(commands[0])
    for command in commands[1:]:
        assert command.argv[1:3] == ["-Fc", "-Z0"]
        assert command.expected_bytes is not None
        assert command.expected_bytes > 0
        archive = tmp_path / command.artifact_name
        archive.write_bytes(run_dump(command))
        listing = subprocess.run(
            [str(Path(command.argv[0]).parent / "pg_restore"), "--list", str(archive)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert listing.returncode == 0, listing.stderr
        assert "TABLE public" in listing.stdout


def test_pg_plan_dump_of_named_databases_dumps_only_those(pg: PostgresServer) -> None:
    commands, _ = PostgresEngine().plan_dump(pg.connection(), ["app", "app"], TIMEOUT)
    assert [c.dbname for c in commands] == [None, "app"]


def test_pg_a_plain_user_dumps_globals_without_role_passwords(pg: PostgresServer) -> None:
    pg.execute("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; GRANT pg_read_all_data TO reader")
    conn = ConnectionInfo(pg.host, pg.port, "reader", "reader-pw")
    engine = PostgresEngine()

    assert engine.check(conn, ["app"], TIMEOUT).details == {"superuser": False}
    commands, _ = engine.plan_dump(conn, ["app"], TIMEOUT)
    assert "--no-role-passwords" in commands[0].argv
    assert b"CREATE ROLE reader" in run_dump(commands[0])
    assert run_dump(commands[1]).startswith(b"PGDMP")


def test_pg_without_the_postgres_database_checks_through_template1(bare_pg: PostgresServer) -> None:
    engine = PostgresEngine()
    assert engine.check(bare_pg.connection(), [], TIMEOUT).flavor == "PostgreSQL"
    assert engine.list_databases(bare_pg.connection(), TIMEOUT) == []


def test_pg_a_server_without_user_databases_has_nothing_to_dump(bare_pg: PostgresServer) -> None:
    error = refusal(
        lambda: PostgresEngine().plan_dump(bare_pg.connection(), [], TIMEOUT), UNKNOWN_DATABASE
    )
    assert "no user database" in error.detail


def pg_major(server: PostgresServer) -> int:
    return int(server.query("SHOW server_version_num")[0][0]) // 10000


def fake_pg_dump(folder: Path, version: str) -> Path:
    """A program that answers `--version` like an older pg_dump would."""
    folder.mkdir(parents=True, exist_ok=True)
    for program in ("pg_dump", "pg_dumpall"):
        path = folder / program
        path.write_text(f"#!/bin/sh\necho '{program} (PostgreSQL) {version}'\n")
        path.chmod(0o755)
    return folder


def test_pg_a_pg_dump_older_than_the_server_is_client_missing(
    pg: PostgresServer, tmp_path: Path
) -> None:
    major = pg_major(pg)
    old = fake_pg_dump(tmp_path / "old", f"{major - 1}.11")
    engine = PostgresEngine(search_dirs=[old])

    error = refusal(lambda: engine.check(pg.connection(), [], TIMEOUT), CLIENT_MISSING)
    version = pg.query("SHOW server_version")[0][0].split()[0]
    assert error.detail == (
        f"pg_dump {major} or newer is needed to back up PostgreSQL {version}; "
        f"found pg_dump {major - 1}.11: install postgresql-client-{major}"
    )
    refusal(lambda: engine.plan_dump(pg.connection(), ["app"], TIMEOUT), CLIENT_MISSING)


def test_pg_no_pg_dump_at_all_is_client_missing(pg: PostgresServer, tmp_path: Path) -> None:
    engine = PostgresEngine(search_dirs=[tmp_path])
    error = refusal(lambda: engine.check(pg.connection(), [], TIMEOUT), CLIENT_MISSING)
    assert "found no pg_dump" in error.detail


def test_pg_the_preferred_folder_is_used_when_its_pg_dump_fits(
    pg: PostgresServer, tmp_path: Path
) -> None:
    real = server_bin_dir()
    old = fake_pg_dump(tmp_path / "old", f"{pg_major(pg) - 1}.11")
    engine = PostgresEngine(bin_dir=real, search_dirs=[old])
    commands, _ = engine.plan_dump(pg.connection(), ["app"], TIMEOUT)
    assert [Path(c.argv[0]).parent for c in commands] == [real, real]


# --- MariaDB ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maria(mariadb_server_factory: Callable[..., MariaDBServer]) -> MariaDBServer:
    """A server of its own (binary logging on), so that the database list is exact."""
    server = mariadb_server_factory()
    server.create_database("app")
    for statement in [
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), photo BLOB)",
        "INSERT INTO items VALUES (1, 'Zoë', x'00ff10'), (2, '山田', NULL)",
        "CREATE TRIGGER items_bi BEFORE INSERT ON items FOR EACH ROW SET NEW.name = TRIM(NEW.name)",
        "CREATE PROCEDURE count_items() SELECT COUNT(*) FROM items",
    ]:
        server.execute(statement, "app")
    server.create_database("we ird")
    server.execute("CREATE TABLE t (a INT)", "we ird")
    return server


@pytest.fixture(scope="module")
def maria_no_binlog(mariadb_server_factory: Callable[..., MariaDBServer]) -> MariaDBServer:
    server = mariadb_server_factory(log_bin=False)
    server.create_database("app")
    server.execute("CREATE TABLE t (a INT)", "app")
    return server


def test_mariadb_check_reports_the_server(maria: MariaDBServer) -> None:
    info = MySQLEngine().check(maria.connection(), ["app"], TIMEOUT)
    raw = maria.query("SELECT VERSION()")[0][0]
    assert info.flavor == "MariaDB"
    assert raw.startswith(info.version.removesuffix("-MariaDB"))
    assert info.version.endswith("-MariaDB")
    assert info.major == int(raw.split(".")[0])
    assert info.details == {"log_bin": True}


def test_mariadb_wrong_password_is_bad_credentials_without_the_password(
    maria: MariaDBServer,
) -> None:
    conn = replace(maria.connection(), password="not-the-password-42")
    error = refusal(lambda: MySQLEngine().check(conn, [], TIMEOUT), BAD_CREDENTIALS)
    assert error.errors[0].field == "password"
    assert "not-the-password-42" not in str(error)
    assert maria.password not in str(error)


def test_mariadb_a_port_nothing_listens_on_is_unreachable_at_once() -> None:
    port = free_port()
    conn = ConnectionInfo("127.0.0.1", port, "strongbox", "pw")
    started = time.monotonic()
    error = refusal(lambda: MySQLEngine().check(conn, [], TIMEOUT), UNREACHABLE)
    assert time.monotonic() - started < 2
    assert f"127.0.0.1:{port}" in error.detail
    assert error.errors[0].field == "host"


def test_mariadb_a_server_that_never_answers_is_unreachable_after_the_timeout(
    silent_port: int,
) -> None:
    conn = ConnectionInfo("127.0.0.1", silent_port, "strongbox", "pw")
    started = time.monotonic()
    error = refusal(lambda: MySQLEngine().check(conn, [], 1.5), UNREACHABLE)
    assert time.monotonic() - started < 5
    assert "no answer" in error.detail


def test_mariadb_an_unknown_host_is_unreachable() -> None:
    conn = ConnectionInfo("no-such-host.invalid", 3306, "strongbox", "pw")
    error = refusal(lambda: MySQLEngine().check(conn, [], TIMEOUT), UNREACHABLE)
    assert "no-such-host.invalid" in error.detail


def test_mariadb_an_unknown_database_is_named_with_the_ones_there(maria: MariaDBServer) -> None:
    error = refusal(
        lambda: MySQLEngine().check(maria.connection(), ["nope", "app"], TIMEOUT),
        UNKNOWN_DATABASE,
    )
    assert "'nope'" in error.detail
    assert "app, we ird" in error.detail


def test_mariadb_list_databases_leaves_out_system_schemas(maria: MariaDBServer) -> None:
    assert MySQLEngine().list_databases(maria.connection(), TIMEOUT) == ["app", "we ird"]


def test_mariadb_plan_dump_runs_and_records_the_binlog_position(maria: MariaDBServer) -> None:
    commands, tools = MySQLEngine().plan_dump(maria.connection(), [], TIMEOUT)

    assert [(c.artifact_name, c.dbname, c.kind, c.format) for c in commands] == [
        ("app.sql.zst", "app", "database", "sql"),
        ("we_ird.sql.zst", "we ird", "database", "sql"),
    ]
    assert list(tools) == ["mariadb-dump"]
    assert tools["mariadb-dump"].endswith("-MariaDB")
    app = commands[0]
    assert "--master-data=2" in app.argv
    assert app.argv[-2:] == ["--", "app"]
    assert maria.password not in app.argv
    assert app.env == {"MYSQL_PWD": maria.password}
    assert app.expected_bytes is not None
    assert app.expected_bytes > 0

    dump = run_dump(app)
    assert b"CREATE TABLE `items`" in dump
    assert b"CREATE DATABASE" not in dump  # restorable under any database name
    assert b"0x00FF10" in dump  # --hex-blob
    assert b"TRIGGER" in dump
    assert b"PROCEDURE `count_items`" in dump
    assert app.position_from_head is not None
    position = app.position_from_head(dump[:HEAD_BYTES])
    binlogs = [row[0] for row in maria.query("SHOW BINARY LOGS")]
    assert position is not None
    assert position["file"] in binlogs
    assert position["position"] > 0
    assert b"CREATE TABLE `t`" in run_dump(commands[1])


def test_mariadb_a_dump_restores_into_a_database_of_another_name(maria: MariaDBServer) -> None:
    commands, _ = MySQLEngine().plan_dump(maria.connection(), ["app"], TIMEOUT)
    dump = run_dump(commands[0])
    maria.create_database("app_copy")
    restored = subprocess.run(
        [
            "mariadb",
            "--protocol=TCP",
            *("-h", maria.host, "-P", str(maria.port), "-u", maria.user),
            "app_copy",
        ],
        input=dump,
        env={**os.environ, "MYSQL_PWD": maria.password},
        capture_output=True,
        check=False,
    )
    try:
        assert restored.returncode == 0, restored.stderr.decode(errors="replace")
        assert maria.query("SELECT name FROM items ORDER BY id", "app_copy") == [
            ("Zoë",),
            ("山田",),
        ]
    finally:
        maria.execute("DROP DATABASE app_copy")


def test_mariadb_needs_no_reload_privilege_to_record_the_position(maria: MariaDBServer) -> None:
    maria.execute("CREATE USER 'dumper'@'%' IDENTIFIED BY 'dumper-pw'")
    maria.execute("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON *.* TO 'dumper'@'%'")
    conn = ConnectionInfo(maria.host, maria.port, "dumper", "dumper-pw")
    engine = MySQLEngine()

    assert engine.check(conn, ["app"], TIMEOUT).details == {"log_bin": True}
    commands, _ = engine.plan_dump(conn, ["app"], TIMEOUT)
    assert commands[0].position_from_head is not None
    position = commands[0].position_from_head(run_dump(commands[0])[:HEAD_BYTES])
    assert position is not None
    assert position["position"] > 0


def test_mariadb_without_binlog_dumps_without_a_position(maria_no_binlog: MariaDBServer) -> None:
    engine = MySQLEngine()
    assert engine.check(maria_no_binlog.connection(), [], TIMEOUT).details == {"log_bin": False}
    commands, _ = engine.plan_dump(maria_no_binlog.connection(), [], TIMEOUT)
    assert [c.dbname for c in commands] == ["app"]
    assert not any(a.startswith(("--master-data", "--source-data")) for a in commands[0].argv)
    assert commands[0].position_from_head is None
    assert b"CREATE TABLE `t`" in run_dump(commands[0])


def test_mariadb_no_dump_program_is_client_missing(maria: MariaDBServer, tmp_path: Path) -> None:
    engine = MySQLEngine(search_path=str(tmp_path))
    error = refusal(lambda: engine.check(maria.connection(), [], TIMEOUT), CLIENT_MISSING)
    assert "install mariadb-client" in error.detail
    refusal(lambda: engine.plan_dump(maria.connection(), ["app"], TIMEOUT), CLIENT_MISSING)
