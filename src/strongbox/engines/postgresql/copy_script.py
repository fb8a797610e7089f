"""The data section of a custom-format archive as `pg_restore -f -` prints it, read piece by
piece into what a session must do: statements to run, and each table's rows between a
`COPY ... FROM stdin;` line and the `\\.` line that ends them.

What reaches a database from here is what `pg_restore` itself would send, in the same order;
the only choice made here is where one piece ends, and it is made strictly. A line that starts
a COPY must be the whole statement on one line, and the rows end only at a line that is
exactly `\\.`, which no row can be (COPY's text format writes a backslash in a value as `\\\\`).
Anything else this reader does not expect in a data section (a psql meta-command other than
the `\\restrict` guards, a COPY line
inside another statement, a script that ends inside a statement or inside rows) stops the
restore rather than being guessed at: row values must never be run as statements."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from strongbox.errors import ErrorKind, StrongboxError

UNREADABLE_DATA_SECTION = "unreadable-data-section"

# A line of rows longer than this is handed on in pieces (`Rows.continued`), so that a single
# huge value never has to be held whole.
LONG_LINE = 1024 * 1024

# Outside rows nothing pg_restore writes comes near this (a large object's data is written
# a few kB per statement); more is not held in memory.
LONGEST_STATEMENT = 64 * 1024 * 1024

_END_OF_ROWS = b"\\.\n"
# `\restrict KEY` ... `\unrestrict KEY` around a script (since PostgreSQL 17.6, 16.10, 15.14,
# 14.19, 13.22): psql refuses other meta-commands in between. The only ones accepted here.
_PSQL_GUARD = re.compile(rb"\\(?:un)?restrict [A-Za-z0-9]+\Z")
_COPY = b"COPY "
_FROM_STDIN = b" FROM stdin;"
# Statements that set up a session (`SET ...`, the search_path): every session loading rows
# needs them, or it would read the rows in another encoding or search path.
_SESSION_SETUP = (b"SET ", b"SELECT pg_catalog.set_config(")


@dataclass(frozen=True)
class Statement:
    """One statement; `every_session` when each session loading rows must run it too."""

    sql: bytes
    every_session: bool


@dataclass(frozen=True)
class CopyStart:
    """A `COPY ... FROM stdin;` statement: the rows that follow are this table's."""

    sql: bytes


@dataclass(frozen=True)
class Rows:
    """Whole lines of rows, or with `continued` the first pieces of one long line whose rest
    follows in the next Rows (they must reach the same session)."""

    data: bytes
    continued: bool = False


@dataclass(frozen=True)
class CopyEnd:
    """The table's rows are complete."""


Event = Statement | CopyStart | Rows | CopyEnd


class ScriptError(StrongboxError):
    def __init__(self, message: str) -> None:
        super().__init__(
            f"the archive's data section is not what pg_restore writes for one: {message}; "
            "the restore was stopped before running it",
            UNREADABLE_DATA_SECTION,
            ErrorKind.REFUSED,
        )


class ScriptReader:
    """Reads the script in pieces of any size (`feed`), then `end`."""

    def __init__(self) -> None:
        self._in_rows = False
        self._mid_line = False  # in rows: the next byte continues a long line already handed on
        self._statement = bytearray()
        self._rest = b""

    def feed(self, data: bytes) -> Iterator[Event]:
        buffer = self._rest + data if self._rest else data
        self._rest = b""
        at = 0
        while at < len(buffer):
            if self._in_rows:
                moved = yield from self._rows(buffer, at)
                if moved is None:
                    break
                at = moved
                continue
            newline = buffer.find(b"\n", at)
            if newline < 0:
                break
            yield from self._line(buffer[at:newline])
            at = newline + 1
        self._rest = buffer[at:]
        if not self._in_rows and len(self._rest) + len(self._statement) > LONGEST_STATEMENT:
            raise ScriptError("a statement is longer than any pg_restore writes")

    def end(self) -> None:
        """Raises ScriptError when the script ended inside rows or inside a statement."""
        if self._in_rows:
            raise ScriptError("it ends inside a table's rows")
        if self._statement or self._rest.strip():
            raise ScriptError("it ends inside a statement")

    def _rows(self, buffer: bytes, at: int) -> Generator[Event, None, int | None]:
        """Rows from `at`: up to the end-of-rows line, else up to the last whole line, else a
        long line's piece. Returns where they stopped, or None when what is left must wait
        for more (part of a line, or of the end-of-rows line)."""
        if not self._mid_line and buffer.startswith(_END_OF_ROWS, at):
            yield CopyEnd()
            self._in_rows = False
            return at + len(_END_OF_ROWS)
        end = buffer.find(b"\n" + _END_OF_ROWS, at)
        if end < 0:
            end = buffer.rfind(b"\n", at)
        if end >= 0:
            yield Rows(buffer[at : end + 1])
            self._mid_line = False
            return end + 1
        # Longer than the end-of-rows line too: what could still become it is held back.
        if len(buffer) - at > max(LONG_LINE, len(_END_OF_ROWS)):
            yield Rows(buffer[at:], continued=True)
            self._mid_line = True
            return len(buffer)
        return None

    def _line(self, line: bytes) -> Iterator[Event]:
        if line.startswith(_COPY):
            if self._statement:
                raise ScriptError("a COPY line stands inside another statement")
            if not line.endswith(_FROM_STDIN):
                raise ScriptError("a COPY statement does not fit on its line")
            yield CopyStart(line)
            self._in_rows = True
            return
        if line.startswith(b"\\"):
            if _PSQL_GUARD.match(line):
                return  # tells psql alone to run no meta-command in between; none is run here
            raise ScriptError("it holds a psql meta-command")
        if not self._statement and (not line.strip() or line.startswith(b"--")):
            return
        self._statement += line + b"\n"
        if line.rstrip().endswith(b";"):
            sql = bytes(self._statement)
            self._statement.clear()
            yield Statement(sql, sql.startswith(_SESSION_SETUP))
