"""Vetting a PostgreSQL globals dump (`pg_dumpall --globals-only`) before psql applies it.

The dump comes from a storage, which is untrusted: psql runs any meta-command it finds
(`\\! command` runs a shell command on this host) and any SQL statement. So the dump is read by
a small lexer that knows psql's quoting, and it is applied only when it holds nothing but the
statements pg_dumpall writes for roles and tablespaces: the allowed `SET`s, `CREATE`/`ALTER
ROLE`, role memberships, `CREATE`/`ALTER TABLESPACE`, tablespace privileges, comments and
security labels on roles and tablespaces. Anything else (a backslash outside a string, a
psql variable, a block comment, dollar quoting, another statement) refuses the whole dump,
naming the line. What psql receives is rebuilt from the vetted statements alone, one per line,
without the dump's comments.

The `\\restrict KEY` and `\\unrestrict KEY` lines that recent pg_dumpall versions write around
the dump (they put psql in a mode that refuses other meta-commands) are dropped: this vetting
does that job, and an older psql would fail on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from strongbox.errors import ErrorKind, StrongboxError

GLOBALS_REFUSED = "globals-refused"
BY_HAND = (
    "nothing was applied. Restore without restore_globals, or apply the roles by hand after "
    "reading them: zstd -d < globals.sql.zst > globals.sql, then psql -X -f globals.sql"
)
# The SETs pg_dumpall writes at the top, with the only values that keep this lexer right.
_ALLOWED_SETS = {
    "default_transaction_read_only": ("off",),
    "client_encoding": ("utf8",),  # the dump is read as UTF-8
    "standard_conforming_strings": ("on",),  # '...' strings take backslashes literally
}
_RESTRICT = re.compile(r"\\(?:un)?restrict [A-Za-z0-9]+[ \t\r]*(?:\n|$)")
_WORD = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_PUNCTUATION = "(),=.-+"
_SPACE = " \t\r\n\f"


class GlobalsRefusedError(StrongboxError):
    """The globals dump holds something that is not a role or tablespace statement of
    pg_dumpall; it is not applied at all."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word" (keyword or unquoted name), "ident" (quoted name), "string", "number",
    # or "punct"
    value: str  # a word as written, a quoted name or a string's content, unquoted


@dataclass(frozen=True)
class Statement:
    line: int  # where it starts, counting from 1
    text: str  # as written, without its final ';'
    tokens: tuple[Token, ...]

    def word(self, index: int) -> str:
        """The token at `index` upper-cased when it is a word, else ''."""
        if index < len(self.tokens) and self.tokens[index].kind == "word":
            return self.tokens[index].value.upper()
        return ""


def globals_to_apply(globals_sql: bytes, role: str) -> bytes:
    r"""The statements of the globals dump `globals_sql` that psql may apply, one per line,
    without the `CREATE ROLE` and `ALTER ROLE` statements of `role`.

    pg_dumpall writes `ALTER ROLE <name> WITH ... PASSWORD '<hash>'` for every role, the one it
    connected as included; applied to another server, it would give the user Strongbox
    connects as the source server's password, and Strongbox's next login there would fail. So
    the target's user keeps its password and attributes; every other role is created or
    updated. Raises GlobalsRefusedError (see the module) naming the first line that is not
    allowed.

    >>> globals_to_apply(b"-- Roles\nCREATE ROLE app;\nCREATE ROLE postgres;\n", "postgres")
    b'CREATE ROLE app;\n'
    >>> globals_to_apply(b"CREATE ROLE app;\n\\! touch /tmp/x\n", "postgres")
    Traceback (most recent call last):
    ...
    strongbox...GlobalsRefusedError: the globals dump was refused at line 2: ...
    """
    statements = parse(globals_sql)
    for statement in statements:
        _require_allowed(statement)
    return "".join(s.text + ";\n" for s in statements if _role_of(s) != role).encode()


def parse(globals_sql: bytes) -> list[Statement]:
    """The statements of a globals dump, as psql would split them. Raises GlobalsRefusedError
    for anything this lexer does not read exactly as psql does, or that psql would run as a
    meta-command or expand as a variable."""
    try:
        text = globals_sql.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = globals_sql[: exc.start].count(b"\n") + 1
        raise _refused(line, "it is not UTF-8 text") from None
    return _Lexer(text).statements()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.found: list[Statement] = []
        self.tokens: list[Token] = []
        self.start = 0  # where the pending statement starts
        self.start_line = 1

    def statements(self) -> list[Statement]:
        while self.pos < len(self.text):
            self._step()
        if self.tokens:
            raise _refused(self.start_line, "its last statement does not end with ';'")
        return self.found

    def _step(self) -> None:
        text, i = self.text, self.pos
        char = text[i]
        if char in _SPACE:
            self._advance(1)
        elif text.startswith("--", i):
            if self.tokens:
                raise _refused(self.line, "a comment inside a statement")
            end = text.find("\n", i)
            self._advance((len(text) if end < 0 else end) - i)
        elif char == ";":
            if not self.tokens:
                raise _refused(self.line, "an empty statement (';' alone)")
            self.found.append(Statement(self.start_line, text[self.start : i], tuple(self.tokens)))
            self.tokens = []
            self._advance(1)
        elif char == "\\":
            self._meta_command()
        else:
            if not self.tokens:
                self.start, self.start_line = i, self.line
            self.tokens.append(self._token())

    def _meta_command(self) -> None:
        at_line_start = self.pos == 0 or self.text[self.pos - 1] == "\n"
        found = _RESTRICT.match(self.text, self.pos)
        if found and at_line_start and not self.tokens:
            self._advance(found.end() - self.pos)  # dropped: see the module's docstring
            return
        raise _refused(self.line, "a backslash outside a string: a psql meta-command")

    def _token(self) -> Token:
        text, i = self.text, self.pos
        char = text[i]
        if char in "Ee" and text.startswith("'", i + 1):
            self._advance(1)
            return Token("string", self._quoted("'", escapes=True))
        if char == "'":
            return Token("string", self._quoted("'", escapes=False))
        if char == '"':
            name = self._quoted('"', escapes=False)
            if not name:
                raise _refused(self.line, "an empty quoted name")
            return Token("ident", name)
        for kind, pattern in (("word", _WORD), ("number", _NUMBER)):
            found = pattern.match(text, i)
            if found:
                self._advance(found.end() - i)
                return Token(kind, found.group())
        if char in _PUNCTUATION:
            self._advance(1)
            return Token("punct", char)
        reason = {
            "/": "a '/': block comments and operators are not in a globals dump",
            "$": "a '$': dollar quoting is not in a globals dump",
            ":": "a ':' outside a string: a psql variable",
        }.get(char, f"the character {char!r} outside a string")
        raise _refused(self.line, reason)

    def _quoted(self, quote: str, *, escapes: bool) -> str:
        """The content of the string or quoted name starting at the quote at `pos`; a doubled
        quote stands for one. In E'...' strings a backslash escapes the next character;
        elsewhere a backslash in a string is refused (pg_dumpall writes those as E'...')."""
        text, first_line = self.text, self.line
        i = self.pos + 1
        parts: list[str] = []
        while True:
            if i >= len(text):
                raise _refused(first_line, f"a {quote} that is never closed")
            char = text[i]
            if char == quote:
                if text.startswith(quote, i + 1):
                    parts.append(quote)
                    i += 2
                    continue
                break
            if char == "\\" and quote == "'":
                if not escapes:
                    raise _refused(
                        self.line + text.count("\n", self.pos, i),
                        "a backslash in a '...' string (pg_dumpall writes those as E'...')",
                    )
                parts.append(text[i : i + 2])
                i += 2
                continue
            if char == "\0":
                raise _refused(self.line, "a NUL character")
            parts.append(char)
            i += 1
        self._advance(i + 1 - self.pos)
        return "".join(parts)

    def _advance(self, count: int) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count


def _require_allowed(statement: Statement) -> None:
    """Raises GlobalsRefusedError unless `statement` is one of the kinds pg_dumpall
    --globals-only writes."""
    reason = _why_not_allowed(statement)
    if reason is not None:
        raise _refused(statement.line, f"{reason}: {_head(statement)}")


def _why_not_allowed(s: Statement) -> str | None:
    first, second = s.word(0), s.word(1)
    if first == "SET":
        return _set_problem(s)
    if (first, second) in (("CREATE", "ROLE"), ("CREATE", "TABLESPACE")):
        return None if _is_name(s, 2) else "a name must follow"
    if (first, second) == ("ALTER", "ROLE"):
        if _is_name(s, 2) and s.word(3) in ("WITH", "SET", "RESET", "IN"):
            return None
        return "only ALTER ROLE name WITH / SET / RESET / IN DATABASE is allowed"
    if (first, second) == ("ALTER", "TABLESPACE"):
        if _is_name(s, 2) and s.word(3) in ("SET", "RESET", "OWNER"):
            return None
        return "only ALTER TABLESPACE name SET / RESET / OWNER TO is allowed"
    if first == "COMMENT" or (first, second) == ("SECURITY", "LABEL"):
        return _comment_problem(s)
    if first in ("GRANT", "REVOKE"):
        return _grant_problem(s)
    return "not a role or tablespace statement of pg_dumpall --globals-only"


def _set_problem(s: Statement) -> str | None:
    name = s.tokens[1].value.lower() if len(s.tokens) > 1 else ""
    allowed = _ALLOWED_SETS.get(name)
    if allowed is None or len(s.tokens) != 4 or (s.word(2) != "TO" and s.tokens[2].value != "="):
        return "only SET of " + ", ".join(_ALLOWED_SETS) + " is allowed"
    if s.tokens[3].value.lower() not in allowed:
        return f"{name} must be {' or '.join(allowed)}"
    return None


def _comment_problem(s: Statement) -> str | None:
    # COMMENT ON ROLE|TABLESPACE name IS '...' and SECURITY LABEL [FOR p] ON ... IS '...'
    words = [t.value.upper() if t.kind == "word" else t.kind for t in s.tokens]
    on = 1 if words[0] == "COMMENT" else (4 if words[2:3] == ["FOR"] else 2)
    if (
        words[on : on + 1] == ["ON"]
        and words[on + 1 : on + 2] in (["ROLE"], ["TABLESPACE"])
        and _is_name(s, on + 2)
        and words[on + 3 :] == ["IS", "string"]
    ):
        return None
    return "only comments and labels on roles and tablespaces are allowed"


def _grant_problem(s: Statement) -> str | None:
    # Role memberships (GRANT a, b TO c ...) and privileges on tablespaces.
    words = [t.value.upper() if t.kind == "word" else "" for t in s.tokens]
    target = "TO" if s.word(0) == "GRANT" else "FROM"
    if target not in words:
        return f"it has no {target}"
    before = words[: words.index(target)]
    if "ON" not in before:
        return None if s.word(0) == "GRANT" else "only privileges on tablespaces may be revoked"
    if before[before.index("ON") + 1 : before.index("ON") + 2] == ["TABLESPACE"]:
        return None
    return "only role memberships and privileges on tablespaces are allowed"


def _is_name(s: Statement, index: int) -> bool:
    return index < len(s.tokens) and s.tokens[index].kind in ("word", "ident")


def _role_of(s: Statement) -> str | None:
    """The role a CREATE ROLE or ALTER ROLE statement is about (unquoted names fold to lower
    case, as PostgreSQL does), else None."""
    if s.word(0) in ("CREATE", "ALTER") and s.word(1) == "ROLE" and _is_name(s, 2):
        name = s.tokens[2]
        return name.value if name.kind == "ident" else name.value.lower()
    return None


def _head(s: Statement) -> str:
    first_line = s.text.split("\n", 1)[0]
    return first_line if len(first_line) <= 80 else first_line[:77] + "..."


def _refused(line: int, reason: str) -> GlobalsRefusedError:
    return GlobalsRefusedError(
        f"the globals dump was refused at line {line}: {reason}; {BY_HAND}",
        GLOBALS_REFUSED,
        ErrorKind.REFUSED,
    )
