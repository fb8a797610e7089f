"""`strongbox wal-fetch`'s work: copy one WAL file a restore staged, for PostgreSQL's
`restore_command` (see `services.wal_staging` for the staging side).

PostgreSQL runs the restore_command once for every WAL file it replays, so this module imports
nothing but the WAL-name rules: `python -m strongbox wal-fetch` reaches it without loading the
CLI, the catalog or the S3 client, which take seconds per call on a busy host (see
`strongbox.__main__`).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from strongbox.domain.wal import parse_wal_name


def fetch_staged(staging: Path, wal_file: str, destination: Path) -> bool:
    """The `restore_command` side: copy the staged `wal_file` to `destination` atomically (a
    temporary file beside it, then a rename); False when it is not staged. Raises ValueError
    when `wal_file` is not a WAL file name (it is never turned into a path then)."""
    name = parse_wal_name(wal_file).name
    source = staging / name
    if not source.is_file() or source.is_symlink():
        return False
    temporary = destination.with_name(f".{destination.name}.strongbox-tmp")
    try:
        with open(source, "rb") as reader, open(temporary, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return True


def wal_fetch(staging: Path, wal_file: str, destination: Path) -> int:
    """Copy a staged WAL file; the exit code PostgreSQL reads (0 copied, 1 not staged or not
    copied, 2 not a WAL file name), with one line on stderr when it is not 0."""
    try:
        found = fetch_staged(staging, wal_file, destination)
    except ValueError as exc:
        return _fail(str(exc), 2)
    except OSError as exc:
        return _fail(f"could not copy {wal_file}: {exc.strerror}", 1)
    if not found:
        print(f"strongbox: {wal_file} is not staged in {staging}", file=sys.stderr)
        return 1
    return 0


def _fail(message: str, code: int) -> int:
    print(f"strongbox: error: {message}", file=sys.stderr)
    return code
