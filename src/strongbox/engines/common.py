"""Small helpers shared by the engines."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence

from strongbox.engines.base import UNKNOWN_DATABASE
from strongbox.errors import invalid, refused

# Codes of the errors of restore operations (besides those in engines.base).
DATABASE_EXISTS = "database-exists"
CREATE_FAILED = "database-create-failed"
DROP_FAILED = "database-drop-failed"
FORMAT_MISMATCH = "artifact-format-mismatch"
# The target server lacks the source database's locale, collation or character set.
LOCALE_UNAVAILABLE = "database-locale-unavailable"

_SAFE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def safe_file_stems(names: Iterable[str]) -> dict[str, str]:
    """A file-name stem for each database name: only [A-Za-z0-9_.-], no leading dot, and no
    two names sharing a stem.

    Names that are already safe keep their exact spelling; a name that had to change and then
    clashes gets "-2", "-3"... so the mapping does not depend on which other names exist
    except when they clash.

    >>> safe_file_stems(["app", "my db", "my_db", "..", "ünï"])
    {'app': 'app', 'my db': 'my_db-2', 'my_db': 'my_db', '..': '_..', 'ünï': '_n_'}
    """
    unique = list(dict.fromkeys(names))
    cleaned = {name: _clean_stem(name) for name in unique}
    taken = {stem for name, stem in cleaned.items() if stem == name}
    stems: dict[str, str] = {}
    for name in unique:
        stem = cleaned[name]
        if stem != name:
            stem = _first_free(stem, taken)
            taken.add(stem)
        stems[name] = stem
    return stems


def _clean_stem(name: str) -> str:
    stem = _SAFE_CHARS.sub("_", name) or "_"
    # A leading dot would make a hidden file, and "." or ".." a path step.
    return "_" + stem if stem.startswith(".") else stem


def _first_free(stem: str, taken: set[str]) -> str:
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def scrub(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` masked (drivers may echo connection strings)."""
    return text.replace(secret, "***") if secret else text


def require_restore_input(engine: str, artifact_format: str, expected: str, jobs: int) -> None:
    """Raises invalid(FORMAT_MISMATCH) unless `artifact_format` is what `engine` restores, and
    invalid() when `jobs` is below 1.

    >>> require_restore_input("MySQL", "pg_dump-custom", "sql", 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    strongbox.errors.StrongboxError: a 'pg_dump-custom' artifact cannot be restored into MySQL...
    """
    if artifact_format != expected:
        raise invalid(
            f"a {artifact_format!r} artifact cannot be restored into {engine}, which takes "
            f"{expected!r} artifacts: restore it into a server of the engine that made it",
            FORMAT_MISMATCH,
        )
    if jobs < 1:
        raise invalid(f"parallel jobs must be 1 or more, not {jobs}", field_name="jobs")


def require_existing(
    names: Sequence[str], existing: Collection[str], *, server: str, there: Callable[[], str]
) -> None:
    """Raises refused(UNKNOWN_DATABASE) naming those of `names` not in `existing`, found
    missing on `server` (e.g. "the PostgreSQL server at db:5432"), with `there()`, the
    databases that are there, for the person to pick from."""
    missing = [name for name in names if name not in existing]
    if not missing:
        return
    plural = "s" if len(missing) > 1 else ""
    raise refused(
        f"database{plural} {', '.join(repr(m) for m in missing)} not found on {server}; the "
        f"databases there are: {there()}",
        UNKNOWN_DATABASE,
        field_name="databases",
    )
