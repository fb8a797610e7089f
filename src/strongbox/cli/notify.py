"""`strongbox notify add|list|edit|remove|test`: notification targets, through the API."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from strongbox.cli.client import ApiClient, CliError
from strongbox.cli.output import print_json, print_record, print_table
from strongbox.cli.secrets_input import secret_or_prompt

app = typer.Typer(help="Notification targets: where Strongbox tells you.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
URL_ENV = "STRONGBOX_NOTIFY_URL"
EventOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        "-e",
        help="backup_failed, slot_skipped, slot_missed, restore_finished, restore_failed, "
        "worker_lost or freshness (repeat); default every event",
    ),
]
DatabaseOpt = Annotated[
    str | None, typer.Option("--database", help="only this database's events; default all")
]


@app.command("add")
def add(
    name: str,
    url: Annotated[
        str | None,
        typer.Option(envvar=URL_ENV, help=f"the apprise URL (it holds secrets: or set {URL_ENV})"),
    ] = None,
    event: EventOpt = None,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a target: an apprise URL (mailto://, slack://, ntfy://, json://...)."""
    body: dict[str, Any] = {
        "name": name,
        "url": secret_or_prompt(url, "apprise URL", "--url", URL_ENV),
        "database": database,
    }
    if event:
        body["events"] = event
    _show(ApiClient().post("/notification-targets", body), as_json)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the targets (their URLs with the secret parts masked)."""
    rows = ApiClient().get_all("/notification-targets")
    if as_json:
        print_json(rows)
        return
    print_table(
        [{**r, "events": ", ".join(r["events"]), "database": r["database"] or "all"} for r in rows],
        [("NAME", "name"), ("URL", "url_hint"), ("EVENTS", "events"), ("DATABASE", "database")],
    )


@app.command("edit")
def edit(
    name: str,
    url: Annotated[str | None, typer.Option(envvar=URL_ENV, help="a new apprise URL")] = None,
    event: EventOpt = None,
    database: DatabaseOpt = None,
    all_databases: Annotated[
        bool, typer.Option("--all-databases", help="every database's events again")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a target; what is left out is kept."""
    body: dict[str, Any] = {}
    if url is not None:
        body["url"] = url
    if event:
        body["events"] = event
    if database is not None and all_databases:
        raise CliError("give --database or --all-databases, not both")
    if database is not None:
        body["database"] = database
    if all_databases:
        body["database"] = None
    _show(ApiClient().patch(f"/notification-targets/{name}", body), as_json)


@app.command("remove")
def remove(name: str) -> None:
    """Remove a target."""
    ApiClient().delete(f"/notification-targets/{name}")
    print(f"removed notification target {name}", file=sys.stderr)


@app.command("test")
def test(name: str) -> None:
    """Send a test message now; exit code 1 when the service did not take it."""
    sent = ApiClient().post(f"/notification-targets/{name}/test", None)
    if not sent["delivered"]:
        raise CliError(sent["detail"], exit_code=1)
    print(sent["detail"], file=sys.stderr)


def _show(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
    else:
        print_record(record)
