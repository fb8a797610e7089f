"""`strongbox wal-fetch STAGING WALFILE DESTINATION`: the `restore_command` of an instance a
restore recovers to a point in time. It runs as the instance's OS user, reads no settings and
no secrets, and only copies a WAL file the restore staged (see `services.wal_staging`).

Exit codes, as PostgreSQL reads them: 0 the file was copied; 1 it is not staged (recovery then
ends at the last staged file); 2 a WAL name that is not one (refused, nothing read).
`python -m strongbox wal-fetch`, the form the restore_command uses, runs the same work without
loading the CLI (`strongbox.staged_wal`); this command gives it its help and its place in
`strongbox --help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strongbox import staged_wal


def wal_fetch(
    staging: Annotated[Path, typer.Argument(help="the folder the restore staged WAL files in")],
    wal_file: Annotated[str, typer.Argument(help="the WAL file PostgreSQL asks for (%f)")],
    destination: Annotated[Path, typer.Argument(help="where PostgreSQL wants it (%p)")],
) -> int:
    """Copy a staged WAL file for PostgreSQL's restore_command (used by point-in-time restores)."""
    return staged_wal.wal_fetch(staging, wal_file, destination)
