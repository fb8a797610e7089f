"""`strongbox schedule create|list|show|edit|pause|resume|remove|runs`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from strongbox.cli.client import ApiClient, CliError
from strongbox.cli.output import console, print_json, print_record, print_table

app = typer.Typer(help="Scheduled backups: when, where, how many copies to keep.")

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
Every = Annotated[str | None, typer.Option("--every", help="hour, day, week or month")]
At = Annotated[str | None, typer.Option("--at", help="time of day HH:MM (day, week, month)")]
Minute = Annotated[int | None, typer.Option("--minute", help="minute of the hour (hour)")]
On = Annotated[str | None, typer.Option("--on", help="weekday: mon..sun (week)")]
Day = Annotated[int | None, typer.Option("--day", help="day of the month 1-31 (month)")]
Cron = Annotated[str | None, typer.Option("--cron", help="a 5-field cron line instead")]
Tz = Annotated[str | None, typer.Option("--tz", help="IANA time zone, e.g. Europe/Berlin")]
Keep = Annotated[int | None, typer.Option("--keep", help="successful copies to keep (0 = all)")]
Overlap = Annotated[str | None, typer.Option("--on-overlap", help="skip or queue")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="show the result, save nothing")]
Strict = Annotated[bool, typer.Option("--strict", help="refuse a schedule with warnings")]


def frequency_of(
    every: str | None, at: str | None, minute: int | None, on: str | None, day: int | None
) -> dict[str, Any] | None:
    """The API's frequency object from the CLI's options; None when --every is absent."""
    if every is None:
        if any(v is not None for v in (at, minute, on, day)):
            raise CliError("--at, --minute, --on and --day go with --every")
        return None
    if every == "hour":
        return {"every": "hour", "minute": minute if minute is not None else 0}
    if at is None:
        raise CliError(f"--every {every} needs --at HH:MM")
    if every == "day":
        return {"every": "day", "time": at}
    if every == "week":
        if on is None:
            raise CliError("--every week needs --on mon|tue|wed|thu|fri|sat|sun")
        return {"every": "week", "weekday": on, "time": at}
    if every == "month":
        return {"every": "month", "day": day if day is not None else 1, "time": at}
    raise CliError(f"--every takes hour, day, week or month, not '{every}'")


@app.command("create")
def create(
    database: str,
    storage: Annotated[str, typer.Option(help="backup storage to write to")],
    every: Every = None,
    at: At = None,
    minute: Minute = None,
    on: On = None,
    day: Day = None,
    cron: Cron = None,
    tz: Tz = None,
    keep: Keep = None,
    on_overlap: Overlap = None,
    name: Annotated[str | None, typer.Option(help="default: schedule-YYYYMMDD-HHMM-xxx")] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    as_json: JsonOpt = False,
) -> None:
    """Schedule backups of a database, e.g. --every day --at 02:00 --tz Europe/Berlin --keep 7."""
    frequency = frequency_of(every, at, minute, on, day)
    if (frequency is None) == (cron is None):
        raise CliError("give either --every (with --at, --minute, --on, --day) or --cron")
    body = {
        "name": name,
        "storage": storage,
        "frequency": frequency,
        "cron": cron,
        "timezone": tz,
        "retention_copies": keep,
        "on_overlap": on_overlap,
    }
    params = {"dry_run": "true" if dry_run else None, "strict": "true" if strict else None}
    result = ApiClient().post(
        f"/databases/{database}/schedules",
        {k: v for k, v in body.items() if v is not None},
        **params,
    )
    show_one(result, as_json, saved=not dry_run)


@app.command("list")
def list_(database: str, as_json: JsonOpt = False) -> None:
    """A database's schedules at a glance: words, next and last run, warnings."""
    rows = ApiClient().get_all(f"/databases/{database}/schedules")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["next"] = row["next_runs"][0] if row["next_runs"] else "paused"
        last = row["last_run"]
        row["last"] = f"{last['state']} {last['time']}" if last else "-"
        row["warn"] = ", ".join(w["code"] for w in row["warnings"]) or "-"
        row["keep"] = row["retention_copies"] or "all"
    print_table(
        rows,
        [
            ("NAME", "name"),
            ("WHEN", "description"),
            ("STORAGE", "storage"),
            ("KEEP", "keep"),
            ("NEXT RUN (UTC)", "next"),
            ("LAST RUN", "last"),
            ("WARNINGS", "warn"),
        ],
    )


@app.command("show")
def show(database: str, name: str, as_json: JsonOpt = False) -> None:
    """One schedule with its next runs and warnings."""
    show_one(ApiClient().get(f"/databases/{database}/schedules/{name}"), as_json)


@app.command("edit")
def edit(
    database: str,
    name: str,
    storage: Annotated[str | None, typer.Option()] = None,
    every: Every = None,
    at: At = None,
    minute: Minute = None,
    on: On = None,
    day: Day = None,
    cron: Cron = None,
    tz: Tz = None,
    keep: Keep = None,
    on_overlap: Overlap = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a schedule; options left out keep their value."""
    frequency = frequency_of(every, at, minute, on, day)
    body = {
        "storage": storage,
        "frequency": frequency,
        "cron": cron,
        "timezone": tz,
        "retention_copies": keep,
        "on_overlap": on_overlap,
    }
    params = {"dry_run": "true" if dry_run else None, "strict": "true" if strict else None}
    result = ApiClient().patch(
        f"/databases/{database}/schedules/{name}",
        {k: v for k, v in body.items() if v is not None},
        **params,
    )
    show_one(result, as_json, saved=not dry_run)


@app.command("pause")
def pause(database: str, name: str) -> None:
    """Stop a schedule from running until resumed (slots meanwhile are not run)."""
    ApiClient().patch(f"/databases/{database}/schedules/{name}", {"enabled": False})
    print(f"paused schedule {database}/{name}")


@app.command("resume")
def resume(database: str, name: str) -> None:
    """Let a paused schedule run again, from its next slot on."""
    result = ApiClient().patch(f"/databases/{database}/schedules/{name}", {"enabled": True})
    first = result["next_runs"][0] if result["next_runs"] else "-"
    print(f"resumed schedule {database}/{name}; next run {first} UTC")


@app.command("remove")
def remove(database: str, name: str) -> None:
    """Delete a schedule; the backups it made are kept."""
    ApiClient().delete(f"/databases/{database}/schedules/{name}")
    print(f"removed schedule {database}/{name}")


@app.command("runs")
def runs(database: str, name: str, as_json: JsonOpt = False) -> None:
    """The schedule's slots, newest first, with what became of each and why."""
    rows = ApiClient().get_all(f"/databases/{database}/schedules/{name}/runs")
    if as_json:
        print_json(rows)
        return
    print_table(
        rows,
        [("SLOT (UTC)", "slot_at"), ("STATE", "state"), ("BACKUP", "backup"), ("REASON", "reason")],
    )


def show_one(schedule: dict[str, Any], as_json: bool, *, saved: bool = True) -> None:
    if as_json:
        print_json(schedule)
        return
    if not saved:
        console.print("[bold]Dry run:[/bold] nothing was saved.")
    record = {
        k: v
        for k, v in schedule.items()
        if k not in ("warnings", "next_runs", "estimated_duration", "frequency")
    }
    record["estimated duration"] = (
        f"{schedule['estimated_duration']['seconds']:.0f} s "
        f"({schedule['estimated_duration']['basis']})"
    )
    print_record(record)
    if schedule["next_runs"]:
        console.print("Next runs (UTC): " + ", ".join(schedule["next_runs"]))
    for warning in schedule["warnings"]:
        console.print(f"[yellow]warning[/yellow] [{warning['code']}] {warning['message']}")
