"""`strongbox token create|list|revoke` through the API, and `strongbox token rotate`, run on
the server's host against its data folder and catalog."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from strongbox.cli.client import ApiClient, CliError
from strongbox.cli.output import print_json, print_table
from strongbox.cli.settings import load_settings
from strongbox.errors import StrongboxError
from strongbox.services import auth

app = typer.Typer(help="API tokens: yours, service tokens, the admin token.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


@app.command("create")
def create(
    name: str,
    role: Annotated[
        str | None, typer.Option(help="admin, operator or viewer; default your own role")
    ] = None,
    days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="expire after this many days")
    ] = None,
    service: Annotated[
        bool, typer.Option(help="a service token, owned by no user (admins only)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make an API token and print it once (it is stored hashed and never shown again)."""
    body: dict[str, Any] = {"name": name, "role": role, "service": service}
    if days is not None:
        body["expires_at"] = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    made = ApiClient().post("/tokens", body)
    if as_json:
        print_json(made)
        return
    print(
        f"token '{made['name']}' ({made['role']}); copy it now, it is not shown again:",
        file=sys.stderr,
    )
    print(made["token"])


@app.command("list")
def list_tokens(as_json: JsonOpt = False) -> None:
    """Your tokens (every token, for an admin), with when each was last used."""
    rows = ApiClient().get_all("/tokens")
    if as_json:
        print_json(rows)
        return
    print_table(
        [{**r, "owner": r["owner"] or "service"} for r in rows],
        [
            ("Name", "name"),
            ("Role", "role"),
            ("Owner", "owner"),
            ("Created", "created_at"),
            ("Expires", "expires_at"),
            ("Last used", "last_used_at"),
        ],
    )


@app.command("revoke")
def revoke(name: str) -> None:
    """Revoke a token: the next request with it is refused."""
    ApiClient().delete(f"/tokens/{name}")
    print(f"token '{name}' revoked", file=sys.stderr)


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
