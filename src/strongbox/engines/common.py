"""Small helpers shared by the engines."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
