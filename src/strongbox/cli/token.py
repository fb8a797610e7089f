"""`strongbox token rotate`: run on the server's host, against its data folder and catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strongbox.cli.client import CliError
from strongbox.cli.settings import load_settings
from strongbox.errors import StrongboxError
from strongbox.services import auth

app = typer.Typer(help="The admin API token.", no_args_is_help=True)


@app.command()
def rotate(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="the server's data folder (default STRONGBOX_DATA_DIR)"),
    ] = None,
) -> None:
    """Replace the admin token with a new one and print it. The old token stops working at
    once, in a running server too, and so do web sessions signed in with it."""
    settings = load_settings(data_dir=data_dir)
    try:
        setup = auth.rotate_admin_token_of(settings)
    except StrongboxError as exc:
        raise CliError(exc.detail) from None
    where = f" (also saved to {setup.file})" if setup.file is not None else ""
    print(f"new admin token{where}; the old one no longer works:", file=sys.stderr)
    print(setup.token)
