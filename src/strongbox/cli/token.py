"""`strongbox token rotate`: run on the server's host, against its data folder and catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strongbox.catalog.db import Catalog
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
    catalog_file = settings.data_dir / "catalog.sqlite3"
    if settings.catalog_url is None and not catalog_file.exists():
        raise CliError(
            f"no Strongbox catalog in {settings.data_dir}: run this on the server's host with "
            "STRONGBOX_DATA_DIR (or --data-dir) set to its data folder"
        )
    catalog = Catalog.open(settings.resolved_catalog_url())
    try:
        setup = auth.rotate_admin_token(catalog, settings.data_dir)
    except StrongboxError as exc:
        raise CliError(exc.detail) from None
    finally:
        catalog.close()
    where = f" (also saved to {setup.file})" if setup.file is not None else ""
    print(f"new admin token{where}; the old one no longer works:", file=sys.stderr)
    print(setup.token)
