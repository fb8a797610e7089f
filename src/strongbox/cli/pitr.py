"""`strongbox pitr enable|status|disable`: point-in-time recovery of a database."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from strongbox.cli.client import ApiClient
from strongbox.cli.output import print_json, print_record, print_table

app = typer.Typer(help="Point-in-time recovery: stream a database's WAL, show its true window.")

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


@app.command("enable")
def enable(
    database: Annotated[str, typer.Argument(help="the database whose WAL to stream")],
    storage: Annotated[str, typer.Option(help="the backup storage to store the WAL in")],
    interval: Annotated[
        int, typer.Option(help="seconds between uploads of the segment being written")
    ] = 60,
    as_json: JsonOpt = False,
) -> None:
    """Turn point-in-time recovery on: the server's prerequisites are checked, a replication
    slot is created and the WAL is streamed into the storage."""
    body = {"enabled": True, "storage": storage, "upload_interval_seconds": interval}
    _print(ApiClient().put(f"/databases/{database}/pitr", body), as_json)


@app.command("status")
def status(database: str, as_json: JsonOpt = False) -> None:
    """Show the stream's state and lag, the restorable windows and the gaps."""
    _print(ApiClient().get(f"/databases/{database}/pitr"), as_json)


@app.command("disable")
def disable(database: str, as_json: JsonOpt = False) -> None:
    """Turn point-in-time recovery off: the receiver stops and the slot is dropped; the stored
    WAL and its index are kept."""
    _print(ApiClient().put(f"/databases/{database}/pitr", {"enabled": False}), as_json)


def _print(pitr: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(pitr)
        return
    print_record({k: v for k, v in pitr.items() if k not in ("windows", "gaps")})
    if pitr["windows"]:
        print_table(
            pitr["windows"],
            [("FROM", "from"), ("TO", "to"), ("BASE BACKUP", "base_backup"), ("TL", "timeline")],
        )
    else:
        print("no window yet: take a backup (physical for PostgreSQL) once the stream is running")
    if pitr["gaps"]:
        print_table(
            pitr["gaps"],
            [("GAP FROM", "from_lsn"), ("TO", "to_lsn"), ("AFTER", "from"), ("REASON", "reason")],
        )
