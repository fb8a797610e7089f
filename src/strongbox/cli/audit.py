"""`strongbox audit`: who did what, from where, and how it ended (admins only)."""

from __future__ import annotations

from typing import Annotated

import typer

from strongbox.cli.client import ApiClient
from strongbox.cli.output import print_json, print_table


def audit(
    actor: Annotated[str | None, typer.Option(help="a user, or token:<name>")] = None,
    action: Annotated[str | None, typer.Option(help="a part of the action, e.g. /restores")] = None,
    outcome: Annotated[str | None, typer.Option(help="succeeded, refused or failed")] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601 time, e.g. 2026-11-01T00:00Z")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 time")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    before: Annotated[int | None, typer.Option(help="next_before of the page before")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """The audit log, newest first."""
    page = ApiClient().get(
        "/audit",
        actor=actor,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        before=before,
    )
    if as_json:
        print_json(page)
        return
    print_table(
        page["entries"],
        [
            ("When", "at"),
            ("Who", "actor"),
            ("Action", "action"),
            ("Resource", "resource"),
            ("From", "address"),
            ("Outcome", "outcome"),
            ("Status", "status"),
        ],
    )
    if page["next_before"] is not None:
        typer.echo(f"older entries: strongbox audit --before {page['next_before']}", err=True)
