"""Resource names: DNS-1123 labels, and readable default names."""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME_RULE = (
    "a name is 1 to 63 lowercase letters, digits or '-', starts with a letter "
    "and does not end with '-'"
)
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


def is_valid_name(name: str) -> bool:
    """True when `name` is a DNS-1123 label that starts with a letter.

    >>> is_valid_name("nightly-eu")
    True
    >>> is_valid_name("Nightly")
    False
    >>> is_valid_name("1st")
    False
    """
    return bool(NAME_PATTERN.match(name))


def default_name(prefix: str, now: datetime, suffix: str | None = None) -> str:
    """A readable name such as `backup-20261124-0215-k3f`.

    The random suffix keeps two names made in the same minute apart.

    >>> from datetime import datetime, UTC
    >>> default_name("backup", datetime(2026, 11, 24, 2, 15, tzinfo=UTC), "k3f")
    'backup-20261124-0215-k3f'
    """
    if suffix is None:
        suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(3))
    return f"{prefix}-{now:%Y%m%d-%H%M}-{suffix}"
