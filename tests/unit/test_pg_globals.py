"""Vetting a globals dump before psql applies it: only pg_dumpall's role and tablespace
statements pass; a meta-command, a psql variable or any other statement refuses the dump."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongbox.engines.postgresql.globals_dump import (
    GLOBALS_REFUSED,
    GlobalsRefusedError,
    globals_to_apply,
)
from strongbox.errors import ErrorKind

# What pg_dumpall 15.20 --globals-only wrote for a cluster with a commented role, a quoted
# role name, memberships, a role setting and a tablespace (password hashes shortened).
PG_DUMPALL = b"""\
--
-- PostgreSQL database cluster dump
--

\\restrict O54M0IIpJ88zu326ftCpKkJmC0yzRDsbVgu6zO5ltwdE8y85y8ZKGfFyDSDSRDu

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE app;
ALTER ROLE app WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS \
PASSWORD 'SCRAM-SHA-256$4096:YMc/ab5e==$XvA3q6=:2dOie4=';
COMMENT ON ROLE app IS E'multi; line
-- not a comment
\\\\! touch /tmp/nope';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS \
PASSWORD 'SCRAM-SHA-256$4096:GK5P==$yhEt=:c2Vz=';
CREATE ROLE "we""ird";
ALTER ROLE "we""ird" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION \
NOBYPASSRLS;

--
-- User Configurations
--

ALTER ROLE app SET work_mem TO '1MB';

--
-- Role memberships
--

GRANT app TO "we""ird" GRANTED BY postgres;
GRANT pg_read_all_data TO app GRANTED BY postgres;

--
-- Tablespaces
--

CREATE TABLESPACE ts1 OWNER app LOCATION '/tmp/tsdir';
ALTER TABLESPACE ts1 SET (random_page_cost=2);
GRANT ALL ON TABLESPACE ts1 TO "we""ird";
COMMENT ON TABLESPACE ts1 IS 'tsc';


\\unrestrict O54M0IIpJ88zu326ftCpKkJmC0yzRDsbVgu6zO5ltwdE8y85y8ZKGfFyDSDSRDu

--
-- PostgreSQL database cluster dump complete
--

"""


def refusal(dump: bytes) -> str:
    with pytest.raises(GlobalsRefusedError) as caught:
        globals_to_apply(dump, "postgres")
    assert caught.value.code == GLOBALS_REFUSED
    assert caught.value.kind == ErrorKind.REFUSED
    assert "psql -X -f globals.sql" in caught.value.detail  # how to do it by hand
    return caught.value.detail


def test_a_real_dump_passes_without_comments_meta_lines_or_the_connecting_role() -> None:
    applied = globals_to_apply(PG_DUMPALL, "postgres").decode()
    assert applied.splitlines()[:4] == [
        "SET default_transaction_read_only = off;",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        "CREATE ROLE app;",
    ]
    assert "restrict" not in applied
    assert "-- Roles" not in applied
    assert "ROLE postgres" not in applied
    assert 'GRANT app TO "we""ird" GRANTED BY postgres;\n' in applied
    # The comment's text, backslashes and all, stays inside its string.
    assert "COMMENT ON ROLE app IS E'multi; line\n-- not a comment\n\\\\! touch /tmp/nope';\n" in (
        applied
    )
    assert applied.endswith("COMMENT ON TABLESPACE ts1 IS 'tsc';\n")


@pytest.mark.parametrize(
    "line",
    [
        b"\\! touch /tmp/owned",
        b"  \\! touch /tmp/owned",
        b"CREATE ROLE x; \\! touch /tmp/owned",
        b"\\restrict abc \\! touch /tmp/owned",
        b"\\restrict abc; \\! touch /tmp/owned",
        b"\\o /etc/cron.d/x",
        b"\\i /etc/passwd",
        b"\\set x `touch /tmp/owned`",
    ],
)
def test_a_meta_command_anywhere_outside_a_string_refuses_the_dump(line: bytes) -> None:
    dump = b"CREATE ROLE app;\n" + line + b"\nCREATE ROLE other;\n"
    detail = refusal(dump)
    assert "line 2" in detail
    assert "meta-command" in detail


def test_a_backslash_in_a_plain_string_is_refused_as_pg_dumpall_never_writes_one() -> None:
    assert "a backslash in a '...' string" in refusal(b"COMMENT ON ROLE a IS 'x\\';\n")


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        (b"DROP ROLE app;", "not a role or tablespace statement"),
        (b"CREATE DATABASE x;", "not a role or tablespace statement"),
        (b"COPY t FROM PROGRAM 'touch /tmp/x';", "not a role or tablespace statement"),
        (b"SELECT 1;", "not a role or tablespace statement"),
        (b"ALTER SYSTEM SET archive_command = 'x';", "not a role or tablespace"),
        (b"ALTER ROLE app RENAME TO postgres2;", "only ALTER ROLE name WITH"),
        (b"ALTER TABLESPACE ts RENAME TO t2;", "only ALTER TABLESPACE"),
        (b"GRANT ALL ON DATABASE app TO x;", "only role memberships"),
        (b"GRANT EXECUTE ON FUNCTION f() TO x;", "only role memberships"),
        (b"REVOKE app FROM x;", "only privileges on tablespaces"),
        (b"COMMENT ON DATABASE app IS 'x';", "only comments and labels"),
        (b"COMMENT ON ROLE app IS 'x', 'y';", "only comments and labels"),
        (b"SET session_authorization = app;", "only SET of"),
        (b"SET standard_conforming_strings = off;", "must be on"),
        (b"SET client_encoding = 'SJIS';", "must be utf8"),
        (b"CREATE ROLE :evil;", "psql variable"),
        (b"CREATE ROLE $$x$$;", "dollar quoting"),
        (b"CREATE ROLE a /* x */;", "block comments"),
        (b"CREATE ROLE a -- x\n;", "comment inside a statement"),
        (b"CREATE ROLE a", "does not end with ';'"),
        (b"CREATE ROLE 'a;", "never closed"),
        (b'CREATE ROLE "";', "empty quoted name"),
        (b";", "empty statement"),
        (b"CREATE ROLE a\x00;", "outside a string"),
        (b"COMMENT ON ROLE a IS '\xff';", "not UTF-8"),
    ],
)
def test_anything_but_pg_dumpalls_role_statements_refuses_the_dump(
    statement: bytes, why: str
) -> None:
    detail = refusal(b"-- Roles\n\nCREATE ROLE app;\n" + statement + b"\n")
    assert "line 4" in detail
    assert why in detail


def test_the_line_named_is_where_the_statement_starts_after_multi_line_strings() -> None:
    dump = b"COMMENT ON ROLE a IS 'one\ntwo\nthree';\nCREATE ROLE b;\nDROP ROLE a;\n"
    assert "line 5" in refusal(dump)


def test_the_connecting_role_is_spared_when_quoted_and_only_it() -> None:
    dump = b'CREATE ROLE "Strong ""Box""";\nALTER ROLE "Strong ""Box""" WITH LOGIN;\n'
    dump += b"CREATE ROLE Strong;\n"
    assert globals_to_apply(dump, 'Strong "Box"') == b"CREATE ROLE Strong;\n"
    # An unquoted name is folded to lower case, as the server does.
    assert globals_to_apply(dump, "strong") == dump.replace(b"CREATE ROLE Strong;\n", b"")


def pg_dumpall_literal(text: str) -> str:
    """A string literal as pg_dumpall writes one (appendStringLiteralConn, standard strings)."""
    if "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + text.replace("'", "''") + "'"


# Text pg_dumpall can write: UTF-8 (no lone surrogates) without NUL.
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200))
def test_any_comment_pg_dumpall_can_write_passes_whole(comment: str) -> None:
    statement = f"COMMENT ON ROLE app IS {pg_dumpall_literal(comment)}"
    dump = f"CREATE ROLE app;\n{statement};\n".encode()
    assert globals_to_apply(dump, "postgres") == dump


@given(
    st.lists(
        st.sampled_from(
            [
                "CREATE ROLE app;",
                "ALTER ROLE app WITH LOGIN PASSWORD 'a;b';",
                "COMMENT ON ROLE app IS E'x\\\\y\n\\\\! z';",
                "GRANT app TO b GRANTED BY postgres;",
                "-- a comment \\! here",
                "",
            ]
        ),
        max_size=8,
    ),
    st.integers(min_value=0, max_value=8),
    st.sampled_from(["\\! touch /tmp/x", "\\copy t to '/tmp/x'", "x \\gexec"]),
)
def test_a_meta_command_between_any_statements_is_always_refused(
    lines: list[str], where: int, meta: str
) -> None:
    lines.insert(min(where, len(lines)), meta)
    with pytest.raises(GlobalsRefusedError):
        globals_to_apply("\n".join(lines).encode() + b"\n", "postgres")


@given(st.binary(max_size=300))
def test_any_input_is_refused_or_comes_out_as_a_fixed_point(data: bytes) -> None:
    try:
        applied = globals_to_apply(data, "postgres")
    except GlobalsRefusedError:
        return
    assert globals_to_apply(applied, "postgres") == applied
