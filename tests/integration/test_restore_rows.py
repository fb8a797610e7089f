"""A parallel restore through the API loads each table's rows through several sessions at once
(`row_sessions`): the content arrives the same, a session the database ends fails the restore
honestly and leaves nothing behind, and names the script reader does not accept take the
per-table path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.test_restore import back_up, register_bucket, register_pg, restore
from strongbox.engines.postgresql import row_sessions

pytestmark = pytest.mark.integration

SOURCE = """
CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, what text);
INSERT INTO events
SELECT g, timestamptz '2026-01-01' + g * interval '1 second', md5(g::text)
FROM generate_series(1, {rows}) g;
CREATE TABLE {other} (k int PRIMARY KEY, v text);
INSERT INTO {other} SELECT g, repeat('v', g % 50) FROM generate_series(1, 2000) g;
"""
PLAIN = "other"
LINE_BREAK = '"two\nlines"'


def content(server: PostgresServer, dbname: str, other: str) -> list[tuple[object, ...]]:
    return server.query(
        "SELECT (SELECT count(*) FROM events),"
        " (SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM events e),"
        f" (SELECT md5(string_agg(t::text, '|' ORDER BY k)) FROM {other} t)",
        dbname,
    )


def seed(server: PostgresServer, name: str, rows: int, other: str) -> None:
    server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.execute(f"CREATE DATABASE {name}")
    server.execute(SOURCE.format(rows=rows, other=other), name)


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many pieces for a test-sized table (the server runs in this process).
    monkeypatch.setattr(row_sessions, "READ_SIZE", 64 * 1024)


@pytest.fixture
def registered(
    strongbox: RunningServer, pg_server: PostgresServer, seaweed: SeaweedServer, s3_bucket: str
) -> Iterator[None]:
    register_bucket(strongbox, seaweed, s3_bucket)
    yield
    for name in ("rows_src", "rows_copy"):
        pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.usefixtures("small_pieces", "registered")
def test_a_table_is_loaded_by_several_sessions_and_arrives_the_same(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    seed(pg_server, "rows_src", 100_000, PLAIN)
    register_pg(strongbox, "prod", pg_server, ["rows_src"])
    back_up(strongbox, "prod", "b1")
    done = restore(strongbox, "prod", backup="b1", database_map={"rows_src": "rows_copy"}, jobs=2)
    assert done["state"] == "succeeded", done["error"]
    assert content(pg_server, "rows_copy", PLAIN) == content(pg_server, "rows_src", PLAIN)
    # Each session's COPY commits on its own: the table's rows carry both sessions' xids.
    loaders = pg_server.query("SELECT count(DISTINCT xmin::text) FROM events", "rows_copy")
    assert loaders == [(2,)]


@pytest.mark.usefixtures("registered")
def test_a_table_name_with_a_line_break_is_restored_table_by_table(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    seed(pg_server, "rows_src", 20_000, LINE_BREAK)
    register_pg(strongbox, "prod", pg_server, ["rows_src"])
    back_up(strongbox, "prod", "b1")
    done = restore(strongbox, "prod", backup="b1", database_map={"rows_src": "rows_copy"}, jobs=2)
    assert done["state"] == "succeeded", done["error"]
    copied = content(pg_server, "rows_copy", LINE_BREAK)
    assert copied == content(pg_server, "rows_src", LINE_BREAK)
    # One run loaded each table: one xid for all the events.
    loaders = pg_server.query("SELECT count(DISTINCT xmin::text) FROM events", "rows_copy")
    assert loaders == [(1,)]


@pytest.mark.usefixtures("small_pieces", "registered")
def test_a_session_ended_by_the_database_fails_the_restore_and_leaves_nothing(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    seed(pg_server, "rows_src", 500_000, PLAIN)
    before = content(pg_server, "rows_src", PLAIN)
    register_pg(strongbox, "prod", pg_server, ["rows_src"])
    back_up(strongbox, "prod", "b1")
    ended: list[int] = []

    def end_a_loading_session() -> None:
        deadline = time.monotonic() + 120
        while not ended and time.monotonic() < deadline:
            ended.extend(
                pid
                for (pid,) in pg_server.query(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = 'rows_copy' AND query LIKE 'COPY public.events%'"
                )
            )
            time.sleep(0.01)
        for pid in ended[:1]:
            pg_server.execute(f"SELECT pg_terminate_backend({pid})")

    killer = threading.Thread(target=end_a_loading_session)
    killer.start()
    done = restore(strongbox, "prod", backup="b1", database_map={"rows_src": "rows_copy"}, jobs=2)
    killer.join()
    assert ended, "no session loading rows was seen"
    assert done["state"] == "failed"
    assert "loading the rows of public.events failed" in done["error"], done["error"]
    assert "rows_copy was dropped" in done["error"]
    assert pg_server.query("SELECT 1 FROM pg_database WHERE datname = 'rows_copy'") == []
    assert content(pg_server, "rows_src", PLAIN) == before
