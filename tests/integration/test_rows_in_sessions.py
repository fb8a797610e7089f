"""A data section loaded by several sessions at once (`row_sessions`), on a real PostgreSQL: the
rows arrive whole and the same, a table's rows are shared among the sessions, and a session the
database refuses or keeps waiting stops the whole load."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.postgres import PostgresServer
from strongbox.engines.postgresql import row_sessions
from strongbox.errors import StrongboxError
from strongbox.process import ToolProcess

pytestmark = pytest.mark.integration

SOURCE = r"""
CREATE TABLE big (id int, t text);
INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
CREATE TABLE odd (v text);
INSERT INTO odd VALUES (E'tab\there'), (E'two\nlines'), (E'back\\slash'), (E'\\.'), ('\.'),
    ('Zoë 山田'), (NULL), ('');
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
INSERT INTO no_columns DEFAULT VALUES;
CREATE TABLE long_value (v text);
INSERT INTO long_value SELECT string_agg(md5(g::text), E'\t') FROM generate_series(1, 100000) g;
CREATE SEQUENCE invoice_no;
SELECT setval('invoice_no', 4242);
SELECT lo_from_bytea(0, 'a large object'::bytea);
ALTER TABLE big ADD PRIMARY KEY (id);
"""
TABLES = ("big", "odd", "no_columns", "long_value")


def pg_env(server: PostgresServer) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": server.password}


def pg_tool(server: PostgresServer, name: str, *args: str) -> list[str]:
    return [
        str(server.bin_dir / name),
        "-h",
        server.host,
        "-p",
        str(server.port),
        "-U",
        server.superuser,
        "--no-password",
        *args,
    ]


@pytest.fixture(scope="module")
def archive(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pg_server.execute("DROP DATABASE IF EXISTS rows_source WITH (FORCE)")
    pg_server.create_database("rows_source")
    pg_server.execute(SOURCE, "rows_source")
    path = tmp_path_factory.mktemp("rows") / "source.pgdump"
    subprocess.run(
        pg_tool(pg_server, "pg_dump", "-Fc", "-f", str(path), "rows_source"),
        env=pg_env(pg_server),
        check=True,
    )
    yield path
    pg_server.execute("DROP DATABASE IF EXISTS rows_source WITH (FORCE)")


@pytest.fixture
def target(pg_server: PostgresServer, archive: Path) -> Iterator[str]:
    """A new database holding the archive's schema, before its rows."""
    pg_server.execute("DROP DATABASE IF EXISTS rows_target WITH (FORCE)")
    pg_server.create_database("rows_target")
    subprocess.run(
        pg_tool(pg_server, "pg_restore", "--section=pre-data", "-d", "rows_target", str(archive)),
        env=pg_env(pg_server),
        check=True,
    )
    yield "rows_target"
    pg_server.execute("DROP DATABASE IF EXISTS rows_target WITH (FORCE)")


class Script:
    """`pg_restore --section=data -f -` of the archive, as the restore runs it."""

    def __init__(self, server: PostgresServer, archive: Path) -> None:
        argv = [str(server.bin_dir / "pg_restore"), "--section=data", "-f", "-", str(archive)]
        self.tool = ToolProcess(argv, pg_env(server))
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.tool.kill("was stopped")


def load(server: PostgresServer, archive: Path, target: str, stall: float = 60) -> Script:
    script = Script(server, archive)
    with script.tool:
        row_sessions.load_rows(
            script.tool.stdout,
            lambda: row_sessions.session(server.connection(), target, 10),
            2,
            stall,
            script.stop,
        )
        script.tool.check()
    return script


def content(server: PostgresServer, dbname: str) -> dict[str, object]:
    found: dict[str, object] = {
        table: server.query(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f" FROM {table} AS t",
            dbname,
        )[0]
        for table in TABLES
    }
    found["invoice_no"] = server.query("SELECT last_value FROM invoice_no", dbname)[0][0]
    found["large objects"] = server.query(
        "SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata", dbname
    )
    return found


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many pieces even for a test-sized table, so that both sessions take some.
    monkeypatch.setattr(row_sessions, "READ_SIZE", 64 * 1024)


def test_the_rows_arrive_whole_and_a_big_table_is_shared_among_the_sessions(
    pg_server: PostgresServer, archive: Path, target: str
) -> None:
    script = load(pg_server, archive, target)
    assert not script.stopped.is_set()
    assert content(pg_server, target) == content(pg_server, "rows_source")
    # Each session's COPY is its own transaction: rows from both carry two xmins.
    loaders = pg_server.query("SELECT count(DISTINCT xmin::text) FROM big", target)[0][0]
    assert loaders == 2
    # The post-data section (the primary key) builds over the shared rows.
    subprocess.run(
        pg_tool(pg_server, "pg_restore", "--section=post-data", "-d", target, str(archive)),
        env=pg_env(pg_server),
        check=True,
    )


def test_a_session_the_database_refuses_stops_the_load_and_the_script(
    pg_server: PostgresServer, archive: Path, target: str
) -> None:
    # Rows beyond 150,000 break a rule the archive does not know: one session's COPY fails.
    pg_server.execute("ALTER TABLE big ADD CONSTRAINT small_ids CHECK (id <= 150000)", target)
    with pytest.raises(StrongboxError) as failed:
        load(pg_server, archive, target)
    assert failed.value.code == row_sessions.ROWS_FAILED
    assert "public.big" in failed.value.detail
    assert "small_ids" in failed.value.detail


def test_a_database_that_takes_no_rows_stops_the_load_after_the_stall_timeout(
    pg_server: PostgresServer, archive: Path, target: str
) -> None:
    with pg_server.connect(target) as holder:
        holder.autocommit = False
        holder.execute("LOCK TABLE big IN ACCESS EXCLUSIVE MODE")
        script = Script(pg_server, archive)
        with script.tool, pytest.raises(StrongboxError) as stalled:
            row_sessions.load_rows(
                script.tool.stdout,
                lambda: row_sessions.session(pg_server.connection(), target, 10),
                2,
                1.0,
                script.stop,
            )
        # While the lock is still held: the sessions were canceled, not left waiting on it.
        waiting = pg_server.query(
            "SELECT count(*) FROM pg_stat_activity"
            f" WHERE datname = '{target}' AND query LIKE 'COPY%' AND state = 'active'"
        )
        holder.rollback()
    assert stalled.value.code == row_sessions.ROWS_STALLED
    assert script.stopped.is_set()
    assert waiting == [(0,)]


def test_names_with_line_breaks_are_told_apart(pg_server: PostgresServer) -> None:
    pg_server.execute("DROP DATABASE IF EXISTS rows_names WITH (FORCE)")
    pg_server.create_database("rows_names")
    try:
        with pg_server.connect("rows_names") as pg:
            pg.execute("CREATE TABLE plain (a int)")
            assert row_sessions.names_fit_on_one_line(pg)
            pg.execute('CREATE TABLE "two\nlines" (a int)')
            assert not row_sessions.names_fit_on_one_line(pg)
            pg.execute('DROP TABLE "two\nlines"')
            pg.execute('ALTER TABLE plain ADD COLUMN "b\rc" int')
            assert not row_sessions.names_fit_on_one_line(pg)
    finally:
        pg_server.execute("DROP DATABASE IF EXISTS rows_names WITH (FORCE)")
