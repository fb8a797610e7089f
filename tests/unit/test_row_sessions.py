"""Where `row_sessions` sends each part of a data-section script, with sessions that record
what they are given instead of a database."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
import pytest

from strongbox.engines.postgresql import copy_script, row_sessions
from strongbox.engines.postgresql.connection import Pg
from strongbox.errors import StrongboxError

SETUP = [
    b"SET client_encoding = 'UTF8';\n",
    b"SELECT pg_catalog.set_config('search_path', '', false);\n",
]
BIG_ROWS = [f"{i}\trow {i}\n".encode() for i in range(400)]
LONG_ROW = b"x" * 300 + b"\t" + b"y" * 300 + b"\n"
SCRIPT = b"".join(
    [
        b"--\n-- comment\n--\n\n",
        *SETUP,
        b"COPY public.big (id, t) FROM stdin;\n",
        *BIG_ROWS,
        b"\\.\n\n",
        b"SELECT pg_catalog.setval('public.s', 5, true);\n",
        b"COPY public.long (v) FROM stdin;\n",
        LONG_ROW,
        b"1\tshort\n",
        b"\\.\n\n",
        b"BEGIN;\nSELECT pg_catalog.lo_open('16396', 131072);\nCOMMIT;\n",
    ]
)


class Together:
    """Holds each arriving session until two have arrived (or 5 s passed)."""

    def __init__(self) -> None:
        self._arrived = 0
        self._lock = threading.Lock()
        self._two = threading.Event()

    def arrive(self) -> None:
        with self._lock:
            self._arrived += 1
            if self._arrived >= 2:
                self._two.set()
        self._two.wait(timeout=5)


class Session:
    """What one session was given: ("sql", statement) and ("copy", statement, [writes]).
    Sessions given `together` hold their first piece of rows until another session took one
    too (or 5 s passed): a session as fast as these could otherwise take every piece."""

    def __init__(self, fail_on: bytes | None = None, together: Together | None = None) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.fail_on = fail_on
        self.together = together
        self.pause = 0.0

    def execute(self, sql: bytes) -> None:
        self.log.append(("sql", sql))

    def cursor(self) -> Session:
        return self

    @contextmanager
    def copy(self, sql: bytes) -> Iterator[Session]:
        self.log.append(("copy", sql, []))
        yield self

    def write(self, data: bytes) -> None:
        time.sleep(self.pause)  # gives the other sessions the next pieces
        if self.together is not None:
            self.together.arrive()
            self.together = None
        if self.fail_on is not None and self.fail_on in data:
            raise psycopg.errors.CheckViolation("new row violates check constraint")
        self.log[-1][2].append(bytes(data))

    def cancel_safe(self, timeout: float) -> None:
        pass


def run(sessions: list[Session], stall: float = 30) -> threading.Event:
    handed = iter(sessions)
    lock = threading.Lock()
    stopped = threading.Event()

    @contextmanager
    def open_session() -> Iterator[Pg]:
        with lock:
            session = next(handed)
        yield cast(Pg, session)

    row_sessions.load_rows(io.BytesIO(SCRIPT), open_session, len(sessions), stall, stopped.set)
    return stopped


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_sessions, "READ_SIZE", 97)
    monkeypatch.setattr(copy_script, "LONG_LINE", 64)


def test_every_session_is_set_up_before_its_rows_and_the_rest_goes_to_the_first() -> None:
    sessions = [Session() for _ in range(3)]
    stopped = run(sessions)
    assert not stopped.is_set()
    for session in sessions:
        setup = [entry[1] for entry in session.log if entry[0] == "sql" and entry[1] in SETUP]
        assert setup == SETUP
        first_copy = next((i for i, e in enumerate(session.log) if e[0] == "copy"), None)
        if first_copy is not None:
            assert all(e[1] in SETUP for e in session.log[:first_copy])
    others = [e[1] for s in sessions for e in s.log if e[0] == "sql" and e[1] not in SETUP]
    assert others == [
        b"SELECT pg_catalog.setval('public.s', 5, true);\n",
        b"BEGIN;\n",
        b"SELECT pg_catalog.lo_open('16396', 131072);\n",
        b"COMMIT;\n",
    ]
    assert [e[1] for e in sessions[0].log if e[0] == "sql" and e[1] not in SETUP] == others


def test_each_row_reaches_exactly_one_session_whole_and_a_big_table_several() -> None:
    together = Together()
    sessions = [Session(together=together) for _ in range(3)]
    for session in sessions:
        session.pause = 0.002
    run(sessions)
    loaded: dict[bytes, Counter[bytes]] = {}
    loaders: Counter[bytes] = Counter()
    for session in sessions:
        for entry in session.log:
            if entry[0] != "copy":
                continue
            data = b"".join(entry[2])
            assert data.endswith(b"\n")  # whole lines only
            loaded.setdefault(entry[1], Counter()).update(data.splitlines(keepends=True))
            loaders[entry[1]] += 1
    assert loaded[b"COPY public.big (id, t) FROM stdin;"] == Counter(BIG_ROWS)
    assert loaded[b"COPY public.long (v) FROM stdin;"] == Counter([LONG_ROW, b"1\tshort\n"])
    assert loaders[b"COPY public.big (id, t) FROM stdin;"] >= 2


def test_a_refused_row_stops_the_load_and_the_script_and_names_the_table() -> None:
    sessions = [Session(fail_on=b"row 250\n"), Session(fail_on=b"row 250\n")]
    with pytest.raises(StrongboxError) as failed:
        run(sessions)
    assert failed.value.code == row_sessions.ROWS_FAILED
    assert "public.big" in failed.value.detail
    assert "check constraint" in failed.value.detail


def test_a_script_the_reader_refuses_stops_the_load_without_running_it() -> None:
    ran = [Session(), Session()]
    handed = iter(ran)
    stopped = threading.Event()

    @contextmanager
    def open_session() -> Iterator[Pg]:
        yield cast(Pg, next(handed))

    script = io.BytesIO(b"SET a = 1;\n\\! echo hi\nSELECT 1;\n")
    with pytest.raises(StrongboxError) as failed:
        row_sessions.load_rows(script, open_session, 2, 30, stopped.set)
    assert failed.value.code == copy_script.UNREADABLE_DATA_SECTION
    assert stopped.is_set()
    assert all(entry[1] != b"SELECT 1;\n" for session in ran for entry in session.log)
