"""Object keys of the artifact layout, built in this one place.

```
{prefix}/{database}/{backup}/manifest.json
{prefix}/{database}/{backup}/{dbname}.pgdump.zst     (or .sql.zst for mysql)
{prefix}/{database}/{backup}/base.tar.zst            (a physical backup: one pg_basebackup tar)
```
"""

from __future__ import annotations

MANIFEST_NAME = "manifest.json"
BASE_BACKUP_NAME = "base.tar.zst"  # the one artifact of a physical backup


def join_key(*parts: str) -> str:
    """Join key parts with '/', skipping empty parts and stray slashes.

    >>> join_key("", "prod", "b1", "manifest.json")
    'prod/b1/manifest.json'
    >>> join_key("/team/backups/", "prod")
    'team/backups/prod'
    """
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def backup_prefix(storage_prefix: str, database: str, backup: str) -> str:
    """The folder of one backup, ending with '/'.

    >>> backup_prefix("team", "prod", "nightly-1")
    'team/prod/nightly-1/'
    """
    return join_key(storage_prefix, database, backup) + "/"


def manifest_key(storage_prefix: str, database: str, backup: str) -> str:
    """
    >>> manifest_key("", "prod", "b1")
    'prod/b1/manifest.json'
    """
    return join_key(storage_prefix, database, backup, MANIFEST_NAME)


def artifact_key(storage_prefix: str, database: str, backup: str, filename: str) -> str:
    """
    >>> artifact_key("x", "prod", "b1", "app.pgdump.zst")
    'x/prod/b1/app.pgdump.zst'
    """
    return join_key(storage_prefix, database, backup, filename)


def search_prefix(storage_prefix: str, database: str | None = None) -> str:
    """The prefix to list for the backups of `database` (of every database when None): it ends
    with '/' unless it is empty (the whole bucket or folder).

    >>> search_prefix("team", "prod")
    'team/prod/'
    >>> search_prefix("team")
    'team/'
    >>> search_prefix("")
    ''
    """
    folder = join_key(storage_prefix, database or "")
    return folder + "/" if folder else ""


PROBE_PREFIX = ".strongbox-probe-"


def probe_key(storage_prefix: str, token: str) -> str:
    """The key of the object a storage check writes and deletes again: a hidden name under the
    prefix, where no backup folder (a DNS-1123 name) can be.

    >>> probe_key("team/backups/", "ab12")
    'team/backups/.strongbox-probe-ab12'
    >>> probe_key("", "ab12")
    '.strongbox-probe-ab12'
    """
    return join_key(storage_prefix, PROBE_PREFIX + token)
