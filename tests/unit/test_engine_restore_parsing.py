"""The pure parts of the engines' restores: telling real errors of a globals restore from the
expected noise, sparing the connecting role, quoting, and checking a restore's input."""

from __future__ import annotations

import pytest

from strongbox.engines.common import FORMAT_MISMATCH, require_restore_input
from strongbox.engines.mysql import MySQLEngine, quote_identifier
from strongbox.engines.postgresql import PostgresEngine, globals_errors
from strongbox.engines.postgresql.globals_dump import globals_to_apply as strip_role_statements
from strongbox.errors import ErrorKind, StrongboxError

# What psql 15 writes on stderr for `-f -` when roles exist already, and for real failures.
PSQL_STDERR = """\
psql:<stdin>:16: ERROR:  role "app_owner" already exists
psql:<stdin>:18: ERROR:  role "postgres" already exists
psql:<stdin>:20: ERROR:  tablespace "fast" already exists
psql:<stdin>:22: ERROR:  must be superuser to create superusers
psql:<stdin>:24: ERROR:  directory "/srv/fast" does not exist
psql:<stdin>:5: error: invalid command \\restrict
"""


def test_already_exists_errors_are_noise_and_the_others_are_failures() -> None:
    assert globals_errors(PSQL_STDERR) == [
        "psql:<stdin>:22: ERROR:  must be superuser to create superusers",
        'psql:<stdin>:24: ERROR:  directory "/srv/fast" does not exist',
        "psql:<stdin>:5: error: invalid command \\restrict",
    ]


def test_the_engine_answers_the_same_as_the_function() -> None:
    assert PostgresEngine().globals_errors(PSQL_STDERR) == globals_errors(PSQL_STDERR)
    assert not hasattr(MySQLEngine(), "globals_errors")  # no globals there


def test_a_clean_or_noisy_only_globals_restore_has_no_errors() -> None:
    assert globals_errors("") == []
    assert globals_errors('psql:<stdin>:16: ERROR:  role "x" already exists\n') == []


def test_lost_connections_and_fatal_errors_count() -> None:
    stderr = (
        'psql: error: connection to server at "db" (10.0.0.5), port 5432 failed: '
        'FATAL:  password authentication failed for user "postgres"\n'
        "psql:<stdin>:40: FATAL:  terminating connection due to administrator command\n"
    )
    assert len(globals_errors(stderr)) == 2


def test_detail_and_hint_lines_are_not_errors_of_their_own() -> None:
    stderr = (
        'psql:<stdin>:9: ERROR:  role "nope" does not exist\n'
        "DETAIL:  something about it\nHINT:  do this\n"
    )
    assert globals_errors(stderr) == ['psql:<stdin>:9: ERROR:  role "nope" does not exist']


GLOBALS = b'''\
SET default_transaction_read_only = off;
CREATE ROLE app_owner;
ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOLOGIN;
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:abc';
CREATE ROLE postgres_ro;
ALTER ROLE postgres_ro WITH LOGIN;
CREATE ROLE "Strong ""Box""";
ALTER ROLE "Strong ""Box""" WITH LOGIN PASSWORD 'x';
ALTER ROLE postgres SET search_path TO 'app';
GRANT app_owner TO postgres GRANTED BY postgres;
'''


def test_the_connecting_role_keeps_its_password_and_attributes() -> None:
    assert (
        strip_role_statements(GLOBALS, "postgres")
        == b'''\
SET default_transaction_read_only = off;
CREATE ROLE app_owner;
ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOLOGIN;
CREATE ROLE postgres_ro;
ALTER ROLE postgres_ro WITH LOGIN;
CREATE ROLE "Strong ""Box""";
ALTER ROLE "Strong ""Box""" WITH LOGIN PASSWORD 'x';
GRANT app_owner TO postgres GRANTED BY postgres;
'''
    )


def test_a_quoted_role_name_is_matched_unquoted() -> None:
    stripped = strip_role_statements(GLOBALS, 'Strong "Box"')
    assert b"Strong" not in stripped.replace(b"GRANT", b"")
    assert b"ALTER ROLE postgres WITH" in stripped


def test_a_role_absent_from_the_dump_changes_nothing() -> None:
    assert strip_role_statements(GLOBALS, "someone_else") == GLOBALS
    assert strip_role_statements(GLOBALS, "POSTGRES") == GLOBALS  # names are case-sensitive


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("app", "`app`"), ("we ird", "`we ird`"), ("a`b", "`a``b`"), ("``", "``````")],
)
def test_mysql_identifiers_are_quoted_whatever_they_hold(name: str, quoted: str) -> None:
    assert quote_identifier(name) == quoted


def test_an_artifact_of_the_other_engine_is_refused() -> None:
    with pytest.raises(StrongboxError) as caught:
        require_restore_input("PostgreSQL", "sql", "pg_dump-custom", 1)
    assert caught.value.kind is ErrorKind.INVALID
    assert caught.value.code == FORMAT_MISMATCH
    assert "'sql'" in caught.value.detail
    assert "'pg_dump-custom'" in caught.value.detail


def test_jobs_below_one_are_refused() -> None:
    require_restore_input("PostgreSQL", "pg_dump-custom", "pg_dump-custom", 1)
    with pytest.raises(StrongboxError) as caught:
        require_restore_input("PostgreSQL", "pg_dump-custom", "pg_dump-custom", 0)
    assert caught.value.errors[0].field == "jobs"
