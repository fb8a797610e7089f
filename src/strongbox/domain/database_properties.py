"""The properties of a database that its dump does not carry, recorded at backup time so that a
restore into a new database creates the same database: PostgreSQL's encoding, locale, settings,
comment and grants; MySQL's default character set and collation.

They are read back from a manifest or the catalog, which anyone who can write to the bucket can
influence, so every value is checked here against a strict pattern before any engine sees it;
engines still quote every value with their driver's quoting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

# Encodings (LATIN1, UTF8, WIN1252...) and MySQL character sets and collations
# (latin1_swedish_ci, utf8mb4_0900_ai_ci): letters, digits and underscores.
_WORD = re.compile(r"[A-Za-z0-9_]{1,64}")
# libc locale names: "C", "C.UTF-8", "en_US.utf8", "de_DE@euro", "sr_RS.UTF-8@latin".
_LOCALE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# ICU locales and builtin locales: "und", "en-US", "und-u-ks-level2", "de@collation=phonebook".
_ICU_LOCALE = re.compile(r"[A-Za-z0-9_.@;=-]{1,128}")
# A setting name, dotted for an extension's or a custom one ("app.tenant").
_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_$]{0,62})*")
MAX_SETTING_VALUE = 8192
MAX_COMMENT = 65536
MAX_SETTINGS = 200
MAX_GRANTS = 1000

# Settings whose value is a list of quoted elements (pg_dump's variable_is_guc_list_quote):
# they are set back element by element, or the whole list would become one element.
GUC_LIST_QUOTE = frozenset(
    {
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
        "unix_socket_directories",
    }
)

# The privileges a database's ACL can hold (aclitem letters).
DATABASE_PRIVILEGES = {"C": "CREATE", "T": "TEMPORARY", "c": "CONNECT"}


def _check(pattern: re.Pattern[str], what: str, allowed: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(
                f"database property {what} {value[:80]!r} is not valid ({allowed}); the backup's "
                "record was altered or is damaged"
            )
        return value

    return AfterValidator(check)


def _check_text(what: str, limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > limit or "\x00" in value:
            raise ValueError(
                f"database property {what} is not valid (at most {limit} characters, no NUL); "
                "the backup's record was altered or is damaged"
            )
        return value

    return AfterValidator(check)


def _check_settings(settings: dict[str, str]) -> dict[str, str]:
    if len(settings) > MAX_SETTINGS:
        raise ValueError(f"database property settings holds more than {MAX_SETTINGS} settings")
    for name, value in settings.items():
        if not _SETTING_NAME.fullmatch(name):
            raise ValueError(
                f"database setting name {name[:80]!r} is not valid (letters, digits, _ and $, "
                "dotted parts); the backup's record was altered or is damaged"
            )
        if len(value) > MAX_SETTING_VALUE or "\x00" in value:
            raise ValueError(
                f"the value of database setting {name} is not valid (at most "
                f"{MAX_SETTING_VALUE} characters, no NUL)"
            )
        if name.lower() in GUC_LIST_QUOTE:
            split_guc_list(value, name)
    return settings


def _check_grants(grants: list[str]) -> list[str]:
    if len(grants) > MAX_GRANTS:
        raise ValueError(f"database property grants holds more than {MAX_GRANTS} entries")
    for item in grants:
        parse_aclitem(item)
    return grants


Encoding = Annotated[str, _check(_WORD, "encoding", "letters, digits and _")]
Locale = Annotated[str, _check(_LOCALE, "locale", "letters, digits and _ . @ -")]
IcuLocale = Annotated[str, _check(_ICU_LOCALE, "ICU locale", "letters, digits and _ . @ ; = -")]
CharsetName = Annotated[str, _check(_WORD, "character set or collation", "letters, digits, _")]


class DatabaseProperties(BaseModel):
    """What `CREATE DATABASE` and the statements after it need to give a new database the
    source's properties. PostgreSQL fills the first group, MySQL/MariaDB the last; a field left
    None is not restored (the target server's default applies), so an old manifest without
    properties restores as before."""

    encoding: Encoding | None = Field(default=None, description="PostgreSQL encoding, e.g. UTF8")
    lc_collate: Locale | None = None
    lc_ctype: Locale | None = None
    locale_provider: Literal["libc", "icu", "builtin"] | None = Field(
        default=None, description="PostgreSQL 15+: where collations come from"
    )
    icu_locale: IcuLocale | None = Field(
        default=None, description="the ICU (or PostgreSQL 17+ builtin) locale"
    )
    settings: Annotated[dict[str, str], AfterValidator(_check_settings)] = Field(
        default_factory=dict, description="ALTER DATABASE ... SET name = value"
    )
    comment: Annotated[str, _check_text("comment", MAX_COMMENT)] | None = None
    grants: Annotated[list[str], AfterValidator(_check_grants)] | None = Field(
        default=None,
        description="the database's ACL as aclitem texts; None: the default privileges",
    )
    character_set: CharsetName | None = Field(default=None, description="MySQL default charset")
    collation: CharsetName | None = Field(default=None, description="MySQL default collation")


@dataclass(frozen=True)
class AclEntry:
    """One aclitem of a database: `grantee` (None: PUBLIC) holds `privileges`, of which those
    in `grantable` it may grant on."""

    grantee: str | None
    privileges: tuple[str, ...]  # "CONNECT", "CREATE", "TEMPORARY", in aclitem order
    grantable: tuple[str, ...]
    grantor: str


def parse_aclitem(text: str) -> AclEntry:
    """One aclitem of a database ACL as PostgreSQL prints it: `grantee=privileges/grantor`,
    an empty grantee for PUBLIC, names in double quotes when they hold other characters than
    letters, digits and `_`, and `*` after a privilege that is grantable. Raises ValueError for
    anything else, or privileges a database cannot have.

    >>> parse_aclitem("=Tc/postgres")
    AclEntry(grantee=None, privileges=('TEMPORARY', 'CONNECT'), grantable=(), grantor='postgres')
    >>> parse_aclitem('"app ""ro"" x"=c*/owner')
    AclEntry(grantee='app "ro" x', privileges=('CONNECT',), grantable=('CONNECT',), grantor='owner')
    """
    grantee, pos = _read_role(text, 0)
    if not text.startswith("=", pos):
        raise ValueError(f"database grant {text[:80]!r} is not an aclitem (grantee=privs/grantor)")
    privileges: list[str] = []
    grantable: list[str] = []
    pos += 1
    while pos < len(text) and text[pos] != "/":
        privilege = DATABASE_PRIVILEGES.get(text[pos])
        if privilege is None or privilege in privileges:
            raise ValueError(
                f"database grant {text[:80]!r} holds {text[pos]!r}, not a database privilege "
                "(C, T or c)"
            )
        privileges.append(privilege)
        pos += 1
        if text.startswith("*", pos):
            grantable.append(privilege)
            pos += 1
    grantor, end = _read_role(text, pos + 1)
    if pos >= len(text) or end != len(text) or not grantor:
        raise ValueError(f"database grant {text[:80]!r} is not an aclitem (grantee=privs/grantor)")
    return AclEntry(grantee or None, tuple(privileges), tuple(grantable), grantor)


def _read_role(text: str, pos: int) -> tuple[str, int]:
    """A role name starting at `pos` (quoted or bare) and the position after it."""
    if not text.startswith('"', pos):
        end = pos
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        return text[pos:end], end
    name: list[str] = []
    pos += 1
    while pos < len(text):
        if text[pos] == '"':
            if text.startswith('"', pos + 1):
                name.append('"')
                pos += 2
                continue
            if not name:
                break
            return "".join(name), pos + 1
        name.append(text[pos])
        pos += 1
    raise ValueError(f"database grant {text[:80]!r} has a badly quoted role name")


def split_guc_list(value: str, name: str = "setting") -> list[str]:
    """The elements of a list setting's value as PostgreSQL stores it: comma-separated, each
    bare or in double quotes (doubled inside). Raises ValueError when it is not such a list.

    >>> split_guc_list('"$user", public')
    ['$user', 'public']
    >>> split_guc_list('""')
    ['']
    >>> split_guc_list('a, "b ""c"" d"')
    ['a', 'b "c" d']
    """
    elements: list[str] = []
    pos, size = 0, len(value)
    while True:
        while pos < size and value[pos].isspace():
            pos += 1
        if pos < size and value[pos] == '"':
            element: list[str] = []
            pos += 1
            while True:
                if pos >= size:
                    raise ValueError(f"the value of database setting {name} has an open quote")
                if value[pos] == '"':
                    if value.startswith('"', pos + 1):
                        element.append('"')
                        pos += 2
                        continue
                    pos += 1
                    break
                element.append(value[pos])
                pos += 1
            elements.append("".join(element))
        else:
            start = pos
            while pos < size and value[pos] != "," and not value[pos].isspace():
                pos += 1
            if pos == start:
                raise ValueError(f"the value of database setting {name} has an empty element")
            elements.append(value[start:pos])
        while pos < size and value[pos].isspace():
            pos += 1
        if pos == size:
            return elements
        if value[pos] != ",":
            raise ValueError(f"the value of database setting {name} is not a list")
        pos += 1
