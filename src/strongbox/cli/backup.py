"""`strongbox backup create|list|show|cancel|delete`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from strongbox.cli.client import ApiClient, CliError
from strongbox.cli.output import human_bytes, print_json, print_record, print_table
from strongbox.cli.progress import follow

app = typer.Typer(help="Backups: take one now, list, show, cancel and delete them.")

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


@app.command("create")
def create(
    database: Annotated[str, typer.Argument(help="the database to back up")],
    storage: Annotated[str, typer.Option(help="the backup storage to write to")],
    name: Annotated[str | None, typer.Option(help="default: backup-YYYYMMDD-HHMM-xxx")] = None,
    method: Annotated[
        str | None,
        typer.Option(help="logical (default) or physical (PostgreSQL: a base for PITR)"),
    ] = None,
    wait: Annotated[bool, typer.Option(help="show progress until the backup ends")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a backup now. With --wait, exits 1 if the backup fails."""
    client = ApiClient()
    body = {"storage": storage, "name": name, "method": method}
    backup = client.post(f"/databases/{database}/backups", {k: v for k, v in body.items() if v})
    if wait:
        backup = follow(
            client,
            f"/databases/{database}/backups/{backup['name']}",
            "progress_bytes",
            show_progress=not as_json,
        )
    _print_one(backup, as_json)
    if backup["state"] in ("failed", "canceled"):
        raise CliError(f"backup {backup['name']} {backup['state']}: {backup['error']}", 1)


@app.command("list")
def list_(database: str, as_json: JsonOpt = False) -> None:
    """List a database's backups, newest first."""
    rows = ApiClient().get_all(f"/databases/{database}/backups")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["size"] = human_bytes(row["size_bytes"])
        row["stored"] = human_bytes(row["stored_bytes"])
        row["duration"] = _duration(row["duration_seconds"])
    print_table(
        rows,
        [
            ("NAME", "name"),
            ("STATE", "state"),
            ("STORAGE", "storage"),
            ("SIZE", "size"),
            ("STORED", "stored"),
            ("STARTED", "started_at"),
            ("DURATION", "duration"),
            ("TRIGGER", "trigger"),
        ],
    )


@app.command("show")
def show(database: str, name: str, as_json: JsonOpt = False) -> None:
    """Show one backup, with its artifacts and checksums."""
    _print_one(ApiClient().get(f"/databases/{database}/backups/{name}"), as_json)


@app.command("delete")
def delete(database: str, name: str) -> None:
    """Delete a backup: its artifacts in the storage, then its record."""
    ApiClient().delete(f"/databases/{database}/backups/{name}")
    print(f"deleted backup {database}/{name}")


@app.command("cancel")
def cancel(
    database: str,
    name: str,
    wait: Annotated[bool, typer.Option(help="wait until the backup has ended")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Cancel a queued or running backup: its dump is stopped, its upload aborted and what it
    stored removed."""
    client = ApiClient()
    backup = client.post(f"/databases/{database}/backups/{name}/cancel", None)
    if wait:
        backup = follow(
            client, f"/databases/{database}/backups/{name}", "progress_bytes", show_progress=False
        )
    _print_one(backup, as_json)


def _print_one(backup: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(backup)
        return
    record = {k: v for k, v in backup.items() if k != "artifacts"}
    record["size_bytes"] = f"{human_bytes(backup['size_bytes'])} ({backup['size_bytes']})"
    print_record(record)
    if backup["artifacts"]:
        print_table(
            backup["artifacts"],
            [("ARTIFACT", "key"), ("STORED BYTES", "stored_bytes"), ("SHA-256", "sha256")],
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@app.command("import")
def import_(
    storage: Annotated[str, typer.Option(help="the backup storage to read manifests from")],
    database: Annotated[str | None, typer.Option(help="only backups of this database")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the backups found in a storage (by their manifests), skipping known ones."""
    body = {"database": database} if database else {}
    result = ApiClient().post(f"/backup-storages/{storage}/import", body)
    if as_json:
        print_json(result)
        return
    print(f"imported {len(result['imported'])}, skipped {len(result['skipped'])} already known")
    for label in result["imported"]:
        print(f"  + {label}")
    for problem in result["unreadable"]:
        print(f"  ! {problem}")
    for refusal in result.get("refused", []):
        print(f"  ! refused {refusal['key']}: {refusal['reason']}")
