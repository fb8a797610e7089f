"""`strongbox user add|list|set|remove|password`: people who sign in to the page."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from strongbox.cli.client import ApiClient
from strongbox.cli.output import print_json, print_table
from strongbox.cli.secrets_input import secret_or_prompt

app = typer.Typer(help="Users and their roles (admin, operator, viewer).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
PASSWORD_ENV = "STRONGBOX_USER_PASSWORD"  # noqa: S105 - the name of a variable
NEW_PASSWORD_ENV = "STRONGBOX_NEW_PASSWORD"  # noqa: S105 - the name of a variable
Password = Annotated[
    str | None,
    typer.Option(envvar=PASSWORD_ENV, help=f"or set {PASSWORD_ENV}; else asked for"),
]


@app.command("add")
def add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, operator or viewer")],
    password: Password = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user (admins only)."""
    secret = secret_or_prompt(password, "password", "--password", PASSWORD_ENV)
    made = ApiClient().post("/users", {"name": name, "role": role, "password": secret})
    if as_json:
        print_json(made)
        return
    print(f"user '{made['name']}' added with the {made['role']} role", file=sys.stderr)


@app.command("list")
def list_users(as_json: JsonOpt = False) -> None:
    """Every user and their role (admins only)."""
    rows = ApiClient().get_all("/users")
    if as_json:
        print_json(rows)
        return
    print_table(rows, [("Name", "name"), ("Role", "role"), ("Changed", "updated_at")])


@app.command("set")
def set_user(
    name: str,
    role: Annotated[str | None, typer.Option(help="the new role")] = None,
    password: Annotated[
        bool, typer.Option("--password", help="set a new password (asked for)")
    ] = False,
) -> None:
    """Change a user's role or set a new password (admins only)."""
    body: dict[str, Any] = {"role": role}
    if password:
        body["password"] = secret_or_prompt(
            None, "new password", f"--password with {PASSWORD_ENV}", PASSWORD_ENV
        )
    changed = ApiClient().patch(f"/users/{name}", body)
    print(f"user '{changed['name']}' has the {changed['role']} role", file=sys.stderr)


@app.command("remove")
def remove(name: str) -> None:
    """Remove a user and their tokens (admins only)."""
    ApiClient().delete(f"/users/{name}")
    print(f"user '{name}' removed", file=sys.stderr)


@app.command("password")
def password(
    current: Password = None,
    new: Annotated[
        str | None,
        typer.Option(envvar=NEW_PASSWORD_ENV, help=f"or set {NEW_PASSWORD_ENV}; else asked for"),
    ] = None,
) -> None:
    """Change your own password (the token in STRONGBOX_TOKEN says who you are)."""
    body = {
        "current_password": secret_or_prompt(
            current, "current password", "--current", PASSWORD_ENV
        ),
        "new_password": secret_or_prompt(new, "new password", "--new", NEW_PASSWORD_ENV),
    }
    ApiClient().post("/me/password", body)
    print("password changed", file=sys.stderr)
