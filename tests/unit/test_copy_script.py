"""The data-section script reader (`copy_script`): what it hands on, wherever the pieces it is
fed are cut, and what it refuses."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongbox.engines.postgresql import copy_script
from strongbox.engines.postgresql.copy_script import (
    CopyEnd,
    CopyStart,
    Event,
    Rows,
    ScriptError,
    ScriptReader,
    Statement,
)

# What `pg_restore --section=data -f -` printed for a table, a sequence and a large object.
SCRIPT = b"""--
-- PostgreSQL database dump
--

\\restrict X3NuhDbYqFbdaMTGBgX29yYUSHJv7AAvk4hFd6EJgm9JtlQ9cv3xdQhMeWQtz77

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.t (a, b) FROM stdin;
1\tx
2\ta\\\\b\\nc
3\t\\\\.
\\.


SELECT pg_catalog.setval('public.s', 5, true);

BEGIN;

SELECT pg_catalog.lo_open('16396', 131072);
SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');
SELECT pg_catalog.lo_close(0);

COMMIT;

--
-- PostgreSQL database dump complete
--

\\unrestrict X3NuhDbYqFbdaMTGBgX29yYUSHJv7AAvk4hFd6EJgm9JtlQ9cv3xdQhMeWQtz77

"""


def read(pieces: list[bytes]) -> list[Event]:
    reader = ScriptReader()
    events = [event for piece in pieces for event in reader.feed(piece)]
    reader.end()
    return events


def merged(events: list[Event]) -> list[Event]:
    """Consecutive rows joined: the same load, however the rows were cut."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Rows) and out and isinstance(out[-1], Rows):
            out[-1] = Rows(out[-1].data + event.data)
        elif isinstance(event, Rows):
            out.append(Rows(event.data))
        else:
            out.append(event)
    return out


def test_a_script_becomes_setup_for_every_session_rows_and_statements_for_one() -> None:
    assert merged(read([SCRIPT])) == [
        Statement(b"SET statement_timeout = 0;\n", every_session=True),
        Statement(b"SET client_encoding = 'UTF8';\n", every_session=True),
        Statement(b"SELECT pg_catalog.set_config('search_path', '', false);\n", True),
        CopyStart(b"COPY public.t (a, b) FROM stdin;"),
        # A value that is a backslash and a dot is written "\\." and stays a row.
        Rows(b"1\tx\n2\ta\\\\b\\nc\n3\t\\\\.\n"),
        CopyEnd(),
        Statement(b"SELECT pg_catalog.setval('public.s', 5, true);\n", False),
        Statement(b"BEGIN;\n", False),
        Statement(b"SELECT pg_catalog.lo_open('16396', 131072);\n", False),
        Statement(b"SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');\n", False),
        Statement(b"SELECT pg_catalog.lo_close(0);\n", False),
        Statement(b"COMMIT;\n", False),
    ]


def test_rows_are_handed_on_in_whole_lines() -> None:
    events = read([SCRIPT[:400], SCRIPT[400:]])
    for event in events:
        if isinstance(event, Rows):
            assert event.data.endswith(b"\n")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SCRIPT)), max_size=12))
def test_the_same_events_wherever_the_pieces_are_cut(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(SCRIPT)]
    pieces = [SCRIPT[a:b] for a, b in itertools.pairwise(points)]
    assert merged(read(pieces)) == merged(read([SCRIPT]))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=60),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=7),
)
def test_a_long_line_comes_in_pieces_that_join_to_it(
    long_line: int, sizes: list[int], cut: int
) -> None:
    # Each row ends in an escaped backslash and a dot: a piece may start with "\\.\n", which
    # ends the rows only at the start of a line.
    rows = b"".join(b"r" * size + b"\\\\.\n" for size in sizes)
    script = b"COPY public.t (a) FROM stdin;\n" + rows + b"\\.\n"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copy_script, "LONG_LINE", long_line)
        events = read([script[i : i + cut] for i in range(0, len(script), cut)])
    pieces = [event for event in events if isinstance(event, Rows)]
    assert b"".join(piece.data for piece in pieces) == rows
    for piece in pieces:
        # A piece that ends inside a line says so, and only such a piece.
        assert piece.continued == (not piece.data.endswith(b"\n"))
    assert isinstance(events[-1], CopyEnd)


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (b"COPY public.t (a) FROM stdin; SELECT 1;\n1\n\\.\n", "does not fit on its line"),
        (b'COPY public."a\nb" (a) FROM stdin;\n1\n\\.\n', "does not fit on its line"),
        (b"SELECT pg_catalog.setval('x\nCOPY public.t FROM stdin;\n", "inside another"),
        (b"\\! rm -rf /\n", "meta-command"),
        (b"\\restrict key; \\! ls\n", "meta-command"),
        (b"COPY public.t (a) FROM stdin;\n1\n2\n", "inside a table's rows"),
        (b"COPY public.t (a) FROM stdin;\n1\n\\.", "inside a table's rows"),
        (b"SELECT pg_catalog.setval('public.s', 5,\n", "inside a statement"),
    ],
)
def test_what_pg_restore_does_not_write_stops_the_load(script: bytes, why: str) -> None:
    with pytest.raises(ScriptError, match=why) as raised:
        read([script])
    assert raised.value.code == copy_script.UNREADABLE_DATA_SECTION


def test_a_statement_longer_than_any_pg_restore_writes_is_refused_before_it_is_held() -> None:
    reader = ScriptReader()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copy_script, "LONGEST_STATEMENT", 1000)
        with pytest.raises(ScriptError, match="longer than"):
            list(reader.feed(b"SELECT '" + b"x" * 2000))
