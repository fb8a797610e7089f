"""The limits reach the dump programs' command lines: pg_dump's lock wait, pg_basebackup's
rate; a pg_dump lock timeout is reworded to name the table and the limit."""

from __future__ import annotations

from pathlib import Path

from strongbox.engines.base import ConnectionInfo
from strongbox.engines.postgresql.commands import database_command
from strongbox.engines.postgresql.physical import basebackup_command
from strongbox.engines.postgresql.standby import lock_failure

CONN = ConnectionInfo("db", 5432, "backup", "secret")

PG_DUMP_LOCK_TIMEOUT = (
    "pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\n"
    "pg_dump: detail: Query was: LOCK TABLE public.orders IN ACCESS SHARE MODE"
)


def test_pg_dump_waits_at_most_the_lock_timeout() -> None:
    command = database_command(Path("/bin/pg_dump"), CONN, {}, "app", "app", None, {}, 60)
    assert "--lock-wait-timeout=60s" in command.argv
    assert command.argv.index("--lock-wait-timeout=60s") < command.argv.index("-d")


def test_a_lock_timeout_names_the_table_and_the_setting() -> None:
    command = database_command(Path("/bin/pg_dump"), CONN, {}, "app", "app", None, {}, 7)
    assert command.explain_failure is not None
    reason = command.explain_failure(PG_DUMP_LOCK_TIMEOUT)
    assert reason is not None
    assert "more than 7 s (lock_timeout_seconds)" in reason
    assert "ACCESS SHARE lock on table public.orders" in reason


def test_other_failures_keep_the_tools_words() -> None:
    explain = lock_failure(7)
    assert explain("pg_dump: error: connection to server failed") is None
    # A statement timeout on another query is not a lock wait.
    assert explain("ERROR:  canceling statement due to statement timeout") is None


def test_pg_basebackup_gets_the_rate_limit_in_kilobytes() -> None:
    command = basebackup_command(Path("/bin/pg_basebackup"), CONN, {}, None, 8_192_000)
    assert "--max-rate=8000k" in command.argv
    unlimited = basebackup_command(Path("/bin/pg_basebackup"), CONN, {}, None)
    assert not any(a.startswith("--max-rate") for a in unlimited.argv)
