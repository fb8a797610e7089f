"""`strongbox restore DB --backup NAME ...` (or `--time T` / `--latest` to a point in time),
`strongbox restore list DB` and `strongbox restore cancel DB NAME`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from strongbox.cli.age_options import IdentityOpt, read_identity
from strongbox.cli.client import ApiClient, CliError
from strongbox.cli.output import console, print_json, print_record, print_table
from strongbox.cli.progress import follow


def restore(
    database: Annotated[
        str, typer.Argument(help="the database whose backup to restore ('list' lists restores)")
    ],
    list_of: Annotated[
        str | None,
        typer.Argument(help="with 'list' or 'cancel': the database", show_default=False),
    ] = None,
    restore_name: Annotated[
        str | None, typer.Argument(help="with 'cancel': the restore", show_default=False)
    ] = None,
    backup: Annotated[str | None, typer.Option(help="the backup to restore")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="registered database to restore into (default: DB)")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="source=target database name (repeat)"),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace target databases holding data")] = False,
    restore_globals: Annotated[bool, typer.Option(help="PostgreSQL: restore roles first")] = False,
    jobs: Annotated[
        int, typer.Option(help="PostgreSQL: sessions loading rows at once, pg_restore jobs")
    ] = 2,
    exact_counts: Annotated[
        bool,
        typer.Option(help="count every table's rows afterwards (default: the planner's estimate)"),
    ] = False,
    name: Annotated[str | None, typer.Option(help="default: restore-YYYYMMDD-HHMM-xxx")] = None,
    new_instance: Annotated[
        str | None,
        typer.Option(help="PostgreSQL physical backup: start it as a new instance of this name"),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="with --new-instance: its port on 127.0.0.1")
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(help="with PITR: recover to this time, with its offset"),
    ] = None,
    latest: Annotated[
        bool, typer.Option(help="with PITR: recover to the last stored commit")
    ] = False,
    base: Annotated[
        str | None, typer.Option(help="with --time/--latest: the base backup to start from")
    ] = None,
    identity: IdentityOpt = None,
    wait: Annotated[bool, typer.Option(help="show progress until the restore ends")] = False,
    dry_run: Annotated[bool, typer.Option(help="print the plan and do nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Restore a backup into the same database or another one; or `restore list DB`, or
    `restore cancel DB NAME` (its tool is stopped; the target is left as after a failure)."""
    client = ApiClient()
    if database == "cancel":
        if not list_of or not restore_name:
            raise CliError(
                "restore cancel needs the database and the restore: "
                "strongbox restore cancel DB NAME"
            )
        _print_restore(client.post(f"/databases/{list_of}/restores/{restore_name}/cancel", None))
        return
    if restore_name is not None:
        raise CliError(f"unexpected argument '{restore_name}'")
    if database == "list":
        if not list_of:
            raise CliError("restore list needs the database: strongbox restore list DB")
        _list(client, list_of, as_json)
        return
    if list_of is not None:
        raise CliError(f"unexpected argument '{list_of}'")
    point_in_time = _point_in_time(time, latest, base, backup)
    if not backup and point_in_time is None:
        raise CliError("--backup is required: the name of the backup to restore")
    if new_instance is not None:
        if port is None:
            raise CliError("--new-instance needs --port: the new instance's port on 127.0.0.1")
        if to or map_ or overwrite or restore_globals or exact_counts:
            raise CliError(
                "--new-instance restores the whole cluster: leave out --to, --map, --overwrite, "
                "--restore-globals and --exact-counts"
            )
        body: dict[str, Any] = {
            "backup": backup,
            "new_instance": {"name": new_instance, "port": port},
            "name": name,
            "point_in_time": point_in_time,
        }
    elif port is not None:
        raise CliError("--port goes with --new-instance")
    else:
        body = {
            "backup": backup,
            "target": to,
            "database_map": _parse_map(map_ or []),
            "overwrite": overwrite,
            "restore_globals": restore_globals,
            "jobs": jobs,
            "exact_counts": exact_counts,
            "name": name,
            "point_in_time": point_in_time,
        }
    body["identity"] = read_identity(identity)
    body = {k: v for k, v in body.items() if v is not None}
    path = f"/databases/{database}/restores"
    if dry_run:
        plan = client.post(path, body, dry_run="true")
        print_json(plan) if as_json else _print_plan(plan)
        return
    started = client.post(path, body)
    if wait:
        started = follow(
            client,
            f"/databases/{database}/restores/{started['name']}",
            "restored_bytes",
            show_progress=not as_json,
        )
    if as_json:
        print_json(started)
    else:
        _print_restore(started)
    if started["state"] == "failed":
        raise CliError(f"restore {started['name']} failed: {started['error']}", 1)


def _point_in_time(
    time: str | None, latest: bool, base: str | None, backup: str | None
) -> dict[str, Any] | None:
    """The request's point_in_time, or None; bad combinations are refused here."""
    if time is not None and latest:
        raise CliError("give --time or --latest, not both")
    if time is None and not latest:
        if base is not None:
            raise CliError("--base goes with --time or --latest")
        return None
    if backup is not None:
        raise CliError("--backup does not go with --time/--latest: name the base with --base")
    if time is not None:
        try:
            when = datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            raise CliError(f"--time takes 2026-11-29T10:15:03Z, not '{time}'") from None
        if when.tzinfo is None:
            raise CliError(f"--time needs an offset (Z or +01:00): '{time}' has none")
    found: dict[str, Any] = {"time": time} if time is not None else {"latest": True}
    if base is not None:
        found["base_backup"] = base
    return found


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise CliError(f"--map takes source=target, not '{pair}'")
        mapping[source] = target
    return mapping


def _list(client: ApiClient, database: str, as_json: bool) -> None:
    rows = client.get_all(f"/databases/{database}/restores")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["into"] = ", ".join(f"{s['target']}" for s in row["summary"]) + f" on {row['target']}"
    print_table(
        rows,
        [
            ("NAME", "name"),
            ("STATE", "state"),
            ("BACKUP", "backup"),
            ("INTO", "into"),
            ("STARTED", "started_at"),
            ("ERROR", "error"),
        ],
    )


def _print_plan(plan: dict[str, Any]) -> None:
    console.print(f"Plan: restore backup {plan['backup']} ({plan['engine']}) into {plan['target']}")
    pit = plan.get("point_in_time")
    if pit:
        console.print(
            f"Point in time: {pit['time'] or 'the latest stored commit'} from base "
            f"{pit['base_backup']} (window {pit['window_from']} to {pit['window_to']}); "
            f"{pit['wal_file_count']} {'binlog' if pit.get('start_positions') else 'WAL'} "
            f"files, {pit['wal_bytes']} bytes",
            markup=False,
            highlight=False,
        )
        for source, start in (pit.get("start_positions") or {}).items():
            console.print(
                f"  {source}: replayed from {start} up to {pit['stop_datetime']}",
                markup=False,
                highlight=False,
            )
    for number, step in enumerate(plan["steps"], 1):
        console.print(f"  {number}. {step}")
    console.print("Artifacts:")
    print_table(
        plan["artifacts"],
        [("KEY", "key"), ("BYTES", "stored_bytes"), ("SHA-256", "sha256"), ("ACTION", "action")],
    )
    console.print("Commands:")
    for command in plan["commands"]:
        console.print("  " + " ".join(command), markup=False, highlight=False)
    if plan.get("settings"):
        console.print("Settings of the new instance:")
        for line in plan["settings"]:
            console.print("  " + line, markup=False, highlight=False)


def _rows(entry: dict[str, Any]) -> Any:
    """Rows as counted, or "about N" for the planner's estimate."""
    rows = entry.get("rows")
    return f"about {rows}" if rows is not None and entry.get("rows_estimated") else rows


def _print_restore(restore: dict[str, Any]) -> None:
    print_record({k: v for k, v in restore.items() if k != "summary"})
    if restore["summary"]:
        print_table(
            [{**entry, "rows": _rows(entry)} for entry in restore["summary"]],
            [
                ("SOURCE", "source"),
                ("TARGET", "target"),
                ("ACTION", "action"),
                ("TABLES", "tables"),
                ("ROWS", "rows"),
                ("SECONDS", "duration_seconds"),
            ],
        )
    for entry in restore["summary"]:
        for warning in entry.get("warnings") or []:
            console.print(f"warning: {entry['target']}: {warning}", markup=False, highlight=False)
