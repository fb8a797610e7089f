"""Object keys of the artifact layout, built in this one place.

```
{prefix}/{database}/{backup}/manifest.json
{prefix}/{database}/{backup}/{dbname}.pgdump.zst     (or .sql.zst for mysql)
{prefix}/{database}/{backup}/base.tar.zst            (a physical backup: one pg_basebackup tar)
{prefix}/{database}/pitr/wal/{walfile}.zst          (a WAL segment, `.partial` or `.history` file)
{prefix}/{database}/pitr/binlog/{binlogfile}.zst    (a MySQL/MariaDB binlog file, or its `.partial`)
```

Each of these ends with `.age` after `.zst` when it is encrypted to age recipients.
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


PITR_FOLDER = "pitr"  # beside the backup folders: no backup may take this name
WAL_SUFFIX = ".zst"


def wal_prefix(storage_prefix: str, database: str) -> str:
    """The folder of a database's streamed WAL, ending with '/'.

    >>> wal_prefix("team", "prod")
    'team/prod/pitr/wal/'
    """
    return join_key(storage_prefix, database, PITR_FOLDER, "wal") + "/"


def wal_key(storage_prefix: str, database: str, wal_file: str) -> str:
    """The object of one WAL file (its name checked by `domain.wal.parse_wal_name` first).

    >>> wal_key("", "prod", "000000010000000000000003")
    'prod/pitr/wal/000000010000000000000003.zst'
    """
    return wal_prefix(storage_prefix, database) + wal_file + WAL_SUFFIX


def binlog_prefix(storage_prefix: str, database: str) -> str:
    """The folder of a database's streamed binlog files, ending with '/'.

    >>> binlog_prefix("team", "shop")
    'team/shop/pitr/binlog/'
    """
    return join_key(storage_prefix, database, PITR_FOLDER, "binlog") + "/"


def binlog_key(storage_prefix: str, database: str, binlog_file: str) -> str:
    """The object of one binlog file (its name checked by `domain.binlog.parse_binlog_name`
    first; a partial one ends with `.partial`).

    >>> binlog_key("", "shop", "mariadb-bin.000003")
    'shop/pitr/binlog/mariadb-bin.000003.zst'
    """
    return binlog_prefix(storage_prefix, database) + binlog_file + WAL_SUFFIX


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
