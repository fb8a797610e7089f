"""`strongbox wal-fetch STAGING WALFILE DESTINATION`: the `restore_command` of an instance a
restore recovers to a point in time. It runs as the instance's OS user, reads no settings and
no secrets, and only copies a WAL file the restore staged (see `services.wal_staging`).

Exit codes, as PostgreSQL reads them: 0 the file was copied; 1 it is not staged (recovery then
ends at the last staged file); 2 a WAL name that is not one (refused, nothing read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strongbox.cli.client import CliError
from strongbox.services.wal_staging import fetch_staged


def wal_fetch(
    staging: Annotated[Path, typer.Argument(help="the folder the restore staged WAL files in")],
    wal_file: Annotated[str, typer.Argument(help="the WAL file PostgreSQL asks for (%f)")],
    destination: Annotated[Path, typer.Argument(help="where PostgreSQL wants it (%p)")],
) -> int:
    """Copy a staged WAL file for PostgreSQL's restore_command (used by point-in-time restores)."""
    try:
        found = fetch_staged(staging, wal_file, destination)
    except ValueError as exc:
        raise CliError(str(exc), 2) from exc
    except OSError as exc:
        raise CliError(f"could not copy {wal_file}: {exc.strerror}", 1) from exc
    if not found:
        typer.echo(f"strongbox: {wal_file} is not staged in {staging}", err=True)
        return 1
    return 0
