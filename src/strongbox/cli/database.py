"""`strongbox db add|list|show|edit|remove`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from strongbox.cli.age_options import AgeRecipientOpt, NoAgeRecipientsOpt, recipients_change
from strongbox.cli.client import ApiClient
from strongbox.cli.output import print_json, print_record, print_table
from strongbox.cli.pem_files import read_pem
from strongbox.cli.secrets_input import secret_or_prompt
from strongbox.cli.source_address import parse_backup_source

app = typer.Typer(help="Databases (database servers) to back up.")

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
PASSWORD_ENV = "STRONGBOX_DB_PASSWORD"  # noqa: S105 - a variable name
SslModeOpt = Annotated[
    str | None,
    typer.Option("--ssl-mode", help="disable, prefer (default), require, verify-ca or verify-full"),
]
SslCaOpt = Annotated[
    Path | None,
    typer.Option("--ssl-ca", help="PEM file of the CA that signed the server's certificate"),
]
MaxRateOpt = Annotated[
    float | None,
    typer.Option(
        "--max-rate-mb-per-s", help="read the dump no faster than this many MB/s (default: no cap)"
    ),
]
LockTimeoutOpt = Annotated[
    int | None,
    typer.Option(
        "--lock-timeout-seconds",
        help="fail a dump that waits longer than this for a table lock (default 60)",
    ),
]
FreshnessOpt = Annotated[
    float | None,
    typer.Option(
        "--freshness-hours",
        help="notify when no backup succeeded for this many hours (event freshness)",
    ),
]
BackupSourceOpt = Annotated[
    str | None,
    typer.Option(
        "--backup-source",
        help="HOST:PORT of a standby or replica of this server for dumps to read instead",
    ),
]

WorkerQueueOpt = Annotated[
    str | None,
    typer.Option(
        "--worker-queue",
        help="the worker queue its backups and restores run on (strongbox worker --queues)",
    ),
]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="name of the database in Strongbox")],
    engine: Annotated[str, typer.Option(help="postgresql or mysql (mysql covers MariaDB)")],
    host: Annotated[str, typer.Option()],
    username: Annotated[str, typer.Option()],
    port: Annotated[int | None, typer.Option(help="default 5432 or 3306")] = None,
    password: Annotated[
        str | None, typer.Option(envvar=PASSWORD_ENV, help=f"or set {PASSWORD_ENV}")
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", "-d", help="a database on the server (repeat); default all"),
    ] = None,
    description: Annotated[str, typer.Option()] = "",
    ssl_mode: SslModeOpt = None,
    ssl_ca: SslCaOpt = None,
    max_rate_mb_per_s: MaxRateOpt = None,
    lock_timeout_seconds: LockTimeoutOpt = None,
    backup_source: BackupSourceOpt = None,
    age_recipient: AgeRecipientOpt = None,
    freshness_hours: FreshnessOpt = None,
    worker_queue: WorkerQueueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a database; Strongbox tests the connection (and the backup source) before saving."""
    body: dict[str, Any] = {
        "name": name,
        "engine": engine,
        "host": host,
        "port": port,
        "username": username,
        "password": secret_or_prompt(password, "database password", "--password", PASSWORD_ENV),
        "databases": database or [],
        "description": description,
        "ssl_mode": ssl_mode,
        "ssl_ca": read_pem(ssl_ca, "--ssl-ca"),
        "max_rate_mb_per_s": max_rate_mb_per_s,
        "lock_timeout_seconds": lock_timeout_seconds,
        "backup_source": parse_backup_source(backup_source),
        "age_recipients": list(age_recipient) if age_recipient else None,
        "freshness_hours": freshness_hours,
        "worker_queue": worker_queue,
    }
    show_one(
        ApiClient().post("/databases", {k: v for k, v in body.items() if v is not None}), as_json
    )


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the databases."""
    rows = ApiClient().get_all("/databases")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["address"] = f"{row['host']}:{row['port']}"
        row["dbs"] = ", ".join(row["databases"]) or "all"
    print_table(
        rows,
        [
            ("NAME", "name"),
            ("ENGINE", "engine"),
            ("VERSION", "server_version"),
            ("ADDRESS", "address"),
            ("DATABASES", "dbs"),
        ],
    )


@app.command("show")
def show(name: str, as_json: JsonOpt = False) -> None:
    """Show one database (never its password)."""
    show_one(ApiClient().get(f"/databases/{name}"), as_json)


@app.command("edit")
def edit(
    name: str,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    username: Annotated[str | None, typer.Option()] = None,
    password: Annotated[
        str | None, typer.Option(envvar=PASSWORD_ENV, help=f"or set {PASSWORD_ENV}")
    ] = None,
    database: Annotated[list[str] | None, typer.Option("--database", "-d")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    ssl_mode: SslModeOpt = None,
    ssl_ca: SslCaOpt = None,
    max_rate_mb_per_s: MaxRateOpt = None,
    no_max_rate: Annotated[
        bool, typer.Option("--no-max-rate", help="remove the read rate cap")
    ] = False,
    lock_timeout_seconds: LockTimeoutOpt = None,
    backup_source: BackupSourceOpt = None,
    no_backup_source: Annotated[
        bool, typer.Option("--no-backup-source", help="back up the server itself again")
    ] = False,
    age_recipient: AgeRecipientOpt = None,
    no_age_recipients: NoAgeRecipientsOpt = False,
    freshness_hours: FreshnessOpt = None,
    no_freshness: Annotated[
        bool, typer.Option("--no-freshness", help="stop watching how old the last backup is")
    ] = False,
    worker_queue: WorkerQueueOpt = None,
    no_worker_queue: Annotated[
        bool, typer.Option("--no-worker-queue", help="run its jobs on the default queue again")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a database; options left out keep their value (a --ssl-mode that verifies
    nothing drops the CA)."""
    changes = {
        "host": host,
        "port": port,
        "username": username,
        "password": password,
        "databases": database,
        "description": description,
        "ssl_mode": ssl_mode,
        "ssl_ca": read_pem(ssl_ca, "--ssl-ca"),
        "max_rate_mb_per_s": max_rate_mb_per_s,
        "lock_timeout_seconds": lock_timeout_seconds,
        "backup_source": parse_backup_source(backup_source),
        "freshness_hours": freshness_hours,
        "worker_queue": worker_queue,
    }
    body: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    # null removes a setting; the flags say so explicitly.
    if no_max_rate:
        body["max_rate_mb_per_s"] = None
    if no_backup_source:
        body["backup_source"] = None
    recipients_change(body, age_recipient, no_age_recipients)
    if no_freshness:
        body["freshness_hours"] = None
    if no_worker_queue:
        body["worker_queue"] = None
    show_one(ApiClient().patch(f"/databases/{name}", body), as_json)


@app.command("remove")
def remove(name: str) -> None:
    """Remove a database record; its backups are kept."""
    ApiClient().delete(f"/databases/{name}")
    print(f"removed database {name}")


def show_one(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
    else:
        print_record(record)
