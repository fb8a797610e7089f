"""The engines' restore operations against real throwaway servers: database states, create and
drop, and round trips that pipe a real dump into the planned restore command on a second server
and compare what arrived with what left.

Tools run through `ToolProcess`, as a worker runs them."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from strongbox.engines.base import (
    UNKNOWN_DATABASE,
    ConnectionInfo,
    DatabaseSummary,
    DumpCommand,
    RestoreCommand,
)
from strongbox.engines.common import CREATE_FAILED, DATABASE_EXISTS, FORMAT_MISMATCH
from strongbox.engines.mysql import MySQLEngine, quote_identifier
from strongbox.engines.postgresql import PostgresEngine, globals_errors
from strongbox.engines.postgresql.globals_dump import globals_to_apply
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.process import ToolProcess

pytestmark = pytest.mark.integration

TIMEOUT = 10.0


def run_restore(
    restore: RestoreCommand, dump: DumpCommand | None = None, data: bytes | None = None
) -> tuple[int, str]:
    """Run `restore` reading the stdout of `dump` (a pipe, as the worker streams it), the bytes
    `data`, or its own input file; return its exit status and stderr tail."""
    if dump is not None:
        with (
            ToolProcess(dump.argv, dump.env) as dumping,
            ToolProcess(
                restore.argv, restore.env, stdin=dumping.stdout, stdout=subprocess.DEVNULL
            ) as restoring,
        ):
            dumping.stdout.close()  # the restore holds the pipe now
            code = restoring.wait()
            if code == 0:  # after a failed restore the dump may die of a broken pipe
                dumping.check()
            return code, restoring.stderr_tail()
    stdin = subprocess.PIPE if data is not None else subprocess.DEVNULL
    with ToolProcess(restore.argv, restore.env, stdin=stdin, stdout=subprocess.DEVNULL) as tool:
        if data is not None:
            # It may stop reading at an error; its exit status says so.
            with contextlib.suppress(BrokenPipeError):
                tool.stdin.write(data)
            with contextlib.suppress(BrokenPipeError):
                tool.stdin.close()
        return tool.wait(), tool.stderr_tail()


def run_to_bytes(command: DumpCommand) -> bytes:
    with ToolProcess(command.argv, command.env) as tool:
        out = tool.stdout.read()
        tool.check()
    return out


def refusal(call: Callable[[], object], code: str) -> StrongboxError:
    with pytest.raises(StrongboxError) as caught:
        call()
    assert caught.value.code == code, caught.value.detail
    return caught.value


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_target(pg_server_factory: Callable[[], PostgresServer]) -> PostgresServer:
    """A second server, without the source's roles: restores go there."""
    return pg_server_factory()


PG_SOURCE = '''
CREATE SCHEMA sales;
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, photo bytea);
INSERT INTO customers (name, photo)
SELECT (ARRAY['Zoë', 'Łukasz', '山田', 'Οδυσσέας'])[1 + i % 4] || ' ' || i,
       decode(md5(i::text), 'hex')
FROM generate_series(1, 500) AS i;
CREATE TABLE "Odd ""Name""" (k text PRIMARY KEY);
INSERT INTO "Odd ""Name""" VALUES ('a'), ('b');
CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers (id),
                           amount numeric(10, 2));
INSERT INTO sales.orders (customer_id, amount)
SELECT 1 + i % 500, i * 1.25 FROM generate_series(1, 2000) AS i;
CREATE TABLE sales.events (at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE sales.events_2024 PARTITION OF sales.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sales.events_2025 PARTITION OF sales.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO sales.events SELECT date '2024-06-01' + i, 'e' || i FROM generate_series(1, 300) i;
CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 2000;
CREATE FUNCTION with_tax(amount numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS $$ SELECT round(amount * 1.19, 2) $$;
CREATE SEQUENCE invoice_no START 1000;
SELECT setval('invoice_no', 4242);
'''
# customers, "Odd ""Name""", orders, two partitions (not their parent)
PG_SOURCE_SUMMARY = DatabaseSummary(tables=5, rows=500 + 2 + 2000 + 300)


def pg_fingerprint(server: PostgresServer, dbname: str) -> dict[str, Any]:
    """A content checksum of every user table, the sequence, the view and the function."""
    tables = server.query(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname IN ('public', 'sales') ORDER BY 1, 2",
        dbname,
    )
    result: dict[str, Any] = {}
    for schema, table in tables:
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            " FROM ONLY {}.{} AS t"
        ).format(sql.Identifier(schema), sql.Identifier(table))
        result[f"{schema}.{table}"] = tuple(server.query(query, dbname)[0])
    result["invoice_no"] = server.query("SELECT last_value FROM invoice_no", dbname)[0][0]
    result["view"] = server.query("SELECT count(*) FROM sales.big_orders", dbname)[0][0]
    result["function"] = str(server.query("SELECT with_tax(100)", dbname)[0][0])
    return result


def pg_dump_command(server: PostgresServer, dbname: str) -> DumpCommand:
    commands, _ = PostgresEngine().plan_dump(server.connection(), [dbname], TIMEOUT)
    return commands[1]


def pg_globals_command(server: PostgresServer) -> DumpCommand:
    commands, _ = PostgresEngine().plan_dump(server.connection(), [], TIMEOUT)
    return commands[0]


@pytest.fixture(scope="module")
def pg_source(pg_server: PostgresServer) -> str:
    name = pg_server.create_database("restore_src")
    pg_server.execute(PG_SOURCE, name)
    return name


def test_pg_database_state_tells_absent_empty_and_nonempty(pg_server: PostgresServer) -> None:
    engine, conn = PostgresEngine(), pg_server.connection()
    name = "state db=x"
    assert engine.database_state(conn, name, TIMEOUT) == "absent"
    engine.create_database(conn, name, TIMEOUT)
    try:
        assert engine.database_state(conn, name, TIMEOUT) == "empty"
        pg_server.execute("CREATE SCHEMA nothing_inside; CREATE TYPE mood AS ENUM ('ok')", name)
        assert engine.database_state(conn, name, TIMEOUT) == "empty"
        for create, drop in [
            ("CREATE TABLE t (a int)", "DROP TABLE t"),
            ("CREATE VIEW nothing_inside.v AS SELECT 1 AS one", "DROP VIEW nothing_inside.v"),
            ("CREATE SEQUENCE s", "DROP SEQUENCE s"),
            ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "DROP FUNCTION f"),
            ("CREATE MATERIALIZED VIEW m AS SELECT 1 AS one", "DROP MATERIALIZED VIEW m"),
        ]:
            pg_server.execute(create, name)
            assert engine.database_state(conn, name, TIMEOUT) == "nonempty", create
            pg_server.execute(drop, name)
            assert engine.database_state(conn, name, TIMEOUT) == "empty", drop
    finally:
        engine.drop_database(conn, name, TIMEOUT)
    assert engine.database_state(conn, name, TIMEOUT) == "absent"


def test_pg_a_database_with_only_an_extension_is_empty(pg_server: PostgresServer) -> None:
    # pg_trgm ships with Debian's postgresql-15 package, which scripts/setup.sh installs.
    engine, conn = PostgresEngine(), pg_server.connection()
    name = pg_server.create_database("state_ext")
    try:
        pg_server.execute("CREATE EXTENSION pg_trgm", name)  # its functions land in public
        assert engine.database_state(conn, name, TIMEOUT) == "empty"
    finally:
        engine.drop_database(conn, name, TIMEOUT)


def test_pg_create_refuses_a_database_that_exists(
    pg_server: PostgresServer, pg_source: str
) -> None:
    error = refusal(
        lambda: PostgresEngine().create_database(pg_server.connection(), pg_source, TIMEOUT),
        DATABASE_EXISTS,
    )
    assert error.kind is ErrorKind.REFUSED
    assert "overwrite" in error.detail


def test_pg_create_without_createdb_says_to_grant_it(pg_server: PostgresServer) -> None:
    pg_server.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'no_create') THEN"
        " CREATE ROLE no_create LOGIN PASSWORD 'no-create-pw'; END IF; END $$"
    )
    conn = ConnectionInfo(pg_server.host, pg_server.port, "no_create", "no-create-pw")
    error = refusal(
        lambda: PostgresEngine().create_database(conn, "not_made", TIMEOUT), CREATE_FAILED
    )
    assert error.kind is ErrorKind.REFUSED
    assert "ALTER ROLE no_create CREATEDB" in error.detail
    assert "no-create-pw" not in error.detail


def test_pg_a_name_longer_than_63_bytes_is_refused_not_cut(pg_server: PostgresServer) -> None:
    error = refusal(
        lambda: PostgresEngine().create_database(pg_server.connection(), "é" * 32, TIMEOUT),
        CREATE_FAILED,
    )
    assert "63 bytes" in error.detail


def test_pg_drop_ends_the_sessions_on_the_database(pg_server: PostgresServer) -> None:
    engine, conn = PostgresEngine(), pg_server.connection()
    name = pg_server.create_database("drop me")
    with pg_server.connect(name) as session:
        session.execute("CREATE TABLE t (a int)")
        engine.drop_database(conn, name, TIMEOUT)
        with pytest.raises(psycopg.OperationalError):
            session.execute("SELECT 1")
    assert engine.database_state(conn, name, TIMEOUT) == "absent"
    engine.drop_database(conn, name, TIMEOUT)  # absent already: nothing to do


def test_pg_summarize_counts_tables_and_exact_rows(
    pg_server: PostgresServer, pg_source: str
) -> None:
    engine = PostgresEngine()
    assert engine.summarize(pg_server.connection(), pg_source, TIMEOUT) == PG_SOURCE_SUMMARY
    refusal(lambda: engine.summarize(pg_server.connection(), "nope", TIMEOUT), UNKNOWN_DATABASE)


def test_pg_plan_restore_uses_the_dump_folder_and_parallel_jobs_only_from_a_file(
    pg_server: PostgresServer,
) -> None:
    engine, conn = PostgresEngine(), pg_server.connection()
    dump_folder = Path(pg_dump_command(pg_server, "postgres").argv[0]).parent

    streamed = engine.plan_restore(conn, "pg_dump-custom", "a=b", jobs=4, input_path=None)
    assert Path(streamed.argv[0]) == dump_folder / "pg_restore"
    assert streamed.argv[1] == "--exit-on-error"
    assert "--no-owner" not in streamed.argv
    assert "-j" not in streamed.argv  # pg_restore cannot run parallel from stdin
    assert streamed.argv[-2:] == ["-d", "dbname='a=b'"]
    assert streamed.input_path is None
    assert pg_server.password not in streamed.argv
    assert streamed.env["PGPASSWORD"] == pg_server.password

    from_file = engine.plan_restore(conn, "pg_dump-custom", "app", jobs=2, input_path="x.dump")
    assert from_file.input_path == str(Path("x.dump").absolute())
    assert from_file.argv[-3:] == ["-j", "2", from_file.input_path]
    one_job = engine.plan_restore(conn, "pg_dump-custom", "app", jobs=1, input_path="/d/x.dump")
    assert "-j" not in one_job.argv

    globals_restore = engine.plan_globals_restore(conn)
    assert Path(globals_restore.argv[0]) == dump_folder / "psql"
    assert "ON_ERROR_STOP=0" in globals_restore.argv
    assert globals_restore.argv[-4:] == ["-d", "postgres", "-f", "-"]

    error = refusal(
        lambda: engine.plan_restore(conn, "sql", "app", jobs=1, input_path=None), FORMAT_MISMATCH
    )
    assert error.kind is ErrorKind.INVALID


def test_pg_a_dump_restores_on_another_server_streamed_and_in_parallel(
    pg_server: PostgresServer, pg_source: str, pg_target: PostgresServer, tmp_path: Path
) -> None:
    engine, target = PostgresEngine(), pg_target.connection()
    dump = pg_dump_command(pg_server, pg_source)
    expected = pg_fingerprint(pg_server, pg_source)

    engine.create_database(target, "streamed", TIMEOUT)
    restore = engine.plan_restore(target, "pg_dump-custom", "streamed", jobs=2, input_path=None)
    code, stderr = run_restore(restore, dump)
    assert code == 0, stderr
    assert engine.summarize(target, "streamed", TIMEOUT) == PG_SOURCE_SUMMARY
    assert pg_fingerprint(pg_target, "streamed") == expected

    archive = tmp_path / "src.pgdump"
    archive.write_bytes(run_to_bytes(dump))
    engine.create_database(target, "parallel", TIMEOUT)
    restore = engine.plan_restore(
        target, "pg_dump-custom", "parallel", jobs=2, input_path=str(archive)
    )
    assert "-j" in restore.argv
    code, stderr = run_restore(restore)
    assert code == 0, stderr
    assert engine.summarize(target, "parallel", TIMEOUT) == PG_SOURCE_SUMMARY
    assert pg_fingerprint(pg_target, "parallel") == expected
    assert engine.database_state(target, "parallel", TIMEOUT) == "nonempty"


def test_pg_a_role_missing_on_the_target_fails_the_restore_until_globals_are_restored(
    pg_server: PostgresServer, pg_target: PostgresServer
) -> None:
    pg_server.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_owner') THEN"
        " CREATE ROLE app_owner; END IF; END $$"
    )
    source = pg_server.create_database("owned")
    pg_server.execute(
        "CREATE TABLE ledger (id int PRIMARY KEY); INSERT INTO ledger VALUES (1), (2);"
        "ALTER TABLE ledger OWNER TO app_owner",
        source,
    )
    engine, target = PostgresEngine(), pg_target.connection()
    dump = pg_dump_command(pg_server, source)

    engine.create_database(target, "owned", TIMEOUT)
    restore = engine.plan_restore(target, "pg_dump-custom", "owned", jobs=1, input_path=None)
    code, stderr = run_restore(restore, dump)
    assert code != 0
    assert 'role "app_owner" does not exist' in stderr

    # The restore service drops the half-made database, restores the globals, and retries.
    engine.drop_database(target, "owned", TIMEOUT)
    globals_sql = globals_to_apply(run_to_bytes(pg_globals_command(pg_server)), "postgres")
    assert b"CREATE ROLE app_owner;" in globals_sql
    assert b"ALTER ROLE postgres" not in globals_sql
    for _ in range(2):  # the second time every role exists already: noise, not failure
        code, stderr = run_restore(engine.plan_globals_restore(target), data=globals_sql)
        assert code == 0, stderr
        assert globals_errors(stderr) == [], stderr
    assert 'role "app_owner" already exists' in stderr

    engine.create_database(target, "owned", TIMEOUT)  # the target's password still works
    code, stderr = run_restore(restore, dump)
    assert code == 0, stderr
    assert pg_target.query("SELECT tableowner FROM pg_tables WHERE tablename = 'ledger'", "owned")[
        0
    ] == ("app_owner",)
    assert engine.summarize(target, "owned", TIMEOUT) == DatabaseSummary(tables=1, rows=2)


def test_pg_a_globals_error_other_than_already_exists_is_reported(
    pg_target: PostgresServer,
) -> None:
    code, stderr = run_restore(
        PostgresEngine().plan_globals_restore(pg_target.connection()),
        data=b"CREATE ROLE postgres;\nCREATE ROLE bad IN ROLE nope;\nCREATE ROLE fine_one;\n",
    )
    assert code == 0  # psql goes on with ON_ERROR_STOP=0 ...
    errors = globals_errors(stderr)  # ... so the caller reads its stderr
    assert len(errors) == 1, stderr
    assert 'ERROR:  role "nope" does not exist' in errors[0]
    assert pg_target.query("SELECT 1 FROM pg_roles WHERE rolname = 'fine_one'") == [(1,)]


# --- MariaDB ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maria_target(mariadb_server_factory: Callable[..., MariaDBServer]) -> MariaDBServer:
    return mariadb_server_factory(log_bin=False)


MARIADB_SOURCE = [
    """CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL,
        photo BLOB) DEFAULT CHARSET = utf8mb4""",
    """INSERT INTO customers (name, photo)
        SELECT CONCAT(ELT(1 + seq MOD 4, 'Zoë', 'Łukasz', '山田', 'Οδυσσέας'), ' ', seq),
               UNHEX(MD5(seq)) FROM seq_1_to_500""",
    "CREATE TABLE `odd ``name``` (k VARCHAR(10) PRIMARY KEY)",
    "INSERT INTO `odd ``name``` VALUES ('a'), ('b')",
    "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(10, 2))",
    "INSERT INTO orders SELECT seq, 1 + seq MOD 500, seq * 1.25 FROM seq_1_to_2000",
    "CREATE SEQUENCE invoice_no START WITH 1000",
    "SELECT SETVAL(invoice_no, 4242)",
    "CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 2000",
    """CREATE FUNCTION with_tax(amount DECIMAL(10, 2)) RETURNS DECIMAL(10, 2) DETERMINISTIC
        RETURN ROUND(amount * 1.19, 2)""",
    "CREATE PROCEDURE count_orders() SELECT COUNT(*) FROM orders",
    "CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.amount = NEW.amount",
]
MARIADB_SOURCE_SUMMARY = DatabaseSummary(tables=3, rows=500 + 2 + 2000)


def mariadb_fingerprint(server: MariaDBServer, database: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for table in ("customers", "odd `name`", "orders"):
        rows = server.query(f"SELECT * FROM {quote_identifier(table)} ORDER BY 1", database)
        result[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    result["invoice_no"] = server.query("SELECT next_not_cached_value FROM invoice_no", database)
    result["view"] = server.query("SELECT COUNT(*) FROM big_orders", database)
    result["function"] = server.query("SELECT with_tax(100)", database)
    result["routines"] = server.query(
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES"
        " WHERE ROUTINE_SCHEMA = %s ORDER BY 2",
        params=(database,),
    )
    result["triggers"] = server.query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
        params=(database,),
    )
    return result


@pytest.fixture(scope="module")
def maria_source(mariadb_server: MariaDBServer) -> str:
    name = mariadb_server.create_database("restore_src")
    with mariadb_server.connect(name) as conn, conn.cursor() as cursor:
        for statement in MARIADB_SOURCE:
            cursor.execute(statement)
    return name


def mariadb_dump_command(server: MariaDBServer, database: str) -> DumpCommand:
    commands, _ = MySQLEngine().plan_dump(server.connection(), [database], TIMEOUT)
    return commands[0]


def test_mariadb_database_state_tells_absent_empty_and_nonempty(
    mariadb_server: MariaDBServer,
) -> None:
    engine, conn = MySQLEngine(), mariadb_server.connection()
    name = "state `db`"
    assert engine.database_state(conn, name, TIMEOUT) == "absent"
    engine.create_database(conn, name, TIMEOUT)
    try:
        assert engine.database_state(conn, name, TIMEOUT) == "empty"
        assert engine.database_state(conn, name.upper(), TIMEOUT) == "absent"
        for create, drop in [
            ("CREATE TABLE t (a INT)", "DROP TABLE t"),
            ("CREATE VIEW v AS SELECT 1 AS one", "DROP VIEW v"),
            ("CREATE SEQUENCE s", "DROP SEQUENCE s"),
            ("CREATE PROCEDURE p() SELECT 1", "DROP PROCEDURE p"),
            ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1", "DROP EVENT e"),
        ]:
            mariadb_server.execute(create, name)
            assert engine.database_state(conn, name, TIMEOUT) == "nonempty", create
            mariadb_server.execute(drop, name)
            assert engine.database_state(conn, name, TIMEOUT) == "empty", drop
        charset = mariadb_server.query(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA"
            " WHERE SCHEMA_NAME = %s",
            params=(name,),
        )
        assert charset == [("utf8mb4",)]
    finally:
        engine.drop_database(conn, name, TIMEOUT)
    assert engine.database_state(conn, name, TIMEOUT) == "absent"


def test_mariadb_create_refuses_a_database_that_exists(
    mariadb_server: MariaDBServer, maria_source: str
) -> None:
    error = refusal(
        lambda: MySQLEngine().create_database(mariadb_server.connection(), maria_source, TIMEOUT),
        DATABASE_EXISTS,
    )
    assert "overwrite" in error.detail


def test_mariadb_create_without_the_privilege_says_what_to_grant(
    mariadb_server: MariaDBServer,
) -> None:
    mariadb_server.execute("CREATE USER IF NOT EXISTS 'weak'@'%' IDENTIFIED BY 'weak-pw'")
    conn = ConnectionInfo(mariadb_server.host, mariadb_server.port, "weak", "weak-pw")
    error = refusal(lambda: MySQLEngine().create_database(conn, "not_made", TIMEOUT), CREATE_FAILED)
    assert "GRANT ALL ON `not_made`.* TO 'weak'@'%'" in error.detail
    assert "weak-pw" not in error.detail


def test_mariadb_drop_ends_the_sessions_on_the_database(mariadb_server: MariaDBServer) -> None:
    engine, conn = MySQLEngine(), mariadb_server.connection()
    name = mariadb_server.create_database("drop me")
    with mariadb_server.connect(name) as session, session.cursor() as cursor:
        cursor.execute("CREATE TABLE t (a INT)")
        cursor.execute("START TRANSACTION")
        cursor.execute("SELECT * FROM t FOR UPDATE")  # a lock the drop would wait for
        engine.drop_database(conn, name, TIMEOUT)
    assert engine.database_state(conn, name, TIMEOUT) == "absent"
    engine.drop_database(conn, name, TIMEOUT)  # absent already: nothing to do


def test_mariadb_summarize_counts_base_tables_and_exact_rows(
    mariadb_server: MariaDBServer, maria_source: str
) -> None:
    engine = MySQLEngine()
    summary = engine.summarize(mariadb_server.connection(), maria_source, TIMEOUT)
    assert summary == MARIADB_SOURCE_SUMMARY  # not the view, not the sequence
    refusal(
        lambda: engine.summarize(mariadb_server.connection(), "nope", TIMEOUT), UNKNOWN_DATABASE
    )


def test_mariadb_plan_restore_streams_into_the_client(mariadb_server: MariaDBServer) -> None:
    engine, conn = MySQLEngine(), mariadb_server.connection()
    restore = engine.plan_restore(conn, "sql", "-app", jobs=4, input_path=None)
    assert Path(restore.argv[0]).name == "mariadb"
    assert "--binary-mode" in restore.argv
    assert "--default-character-set=utf8mb4" in restore.argv
    assert "--force" not in restore.argv
    assert restore.argv[-2:] == ["--", "-app"]
    assert restore.input_path is None
    assert mariadb_server.password not in restore.argv
    assert restore.env == {"MYSQL_PWD": mariadb_server.password}
    assert engine.plan_globals_restore(conn) is None
    error = refusal(
        lambda: engine.plan_restore(conn, "pg_dump-custom", "app", jobs=1, input_path=None),
        FORMAT_MISMATCH,
    )
    assert error.kind is ErrorKind.INVALID


def test_mariadb_a_dump_restores_on_another_server(
    mariadb_server: MariaDBServer, maria_source: str, maria_target: MariaDBServer
) -> None:
    engine, target = MySQLEngine(), maria_target.connection()
    engine.create_database(target, "copy", TIMEOUT)
    restore = engine.plan_restore(target, "sql", "copy", jobs=1, input_path=None)
    code, stderr = run_restore(restore, mariadb_dump_command(mariadb_server, maria_source))
    assert code == 0, stderr
    assert engine.summarize(target, "copy", TIMEOUT) == MARIADB_SOURCE_SUMMARY
    assert mariadb_fingerprint(maria_target, "copy") == mariadb_fingerprint(
        mariadb_server, maria_source
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda dump: dump[: dump.index(b"INSERT INTO `orders`") + 60], id="cut"),
        pytest.param(
            lambda dump: dump.replace(b"CREATE TABLE `orders`", b"CREATE TABLE `orders` ((", 1),
            id="syntax-error",
        ),
    ],
)
def test_mariadb_a_broken_dump_stops_the_client_with_an_error(
    mariadb_server: MariaDBServer,
    maria_source: str,
    maria_target: MariaDBServer,
    damage: Callable[[bytes], bytes],
) -> None:
    engine, target = MySQLEngine(), maria_target.connection()
    dump = run_to_bytes(mariadb_dump_command(mariadb_server, maria_source))
    engine.create_database(target, "broken", TIMEOUT)
    try:
        restore = engine.plan_restore(target, "sql", "broken", jobs=1, input_path=None)
        code, stderr = run_restore(restore, data=damage(dump))
        assert code != 0
        assert "ERROR 1064" in stderr
        assert "INSERT INTO" not in stderr  # the failing statement (row data) is not echoed
        # It stopped at the error: the routines, dumped last, never came.
        assert maria_target.query("SHOW FUNCTION STATUS WHERE Db = 'broken'") == []
    finally:
        engine.drop_database(target, "broken", TIMEOUT)
