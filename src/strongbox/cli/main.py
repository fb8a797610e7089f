"""Entry point of the `strongbox` command.

Errors print one line on stderr: exit code 2 for bad input (including what the API refused as
bad input), 1 for failures such as an unreachable server or a failed backup. Never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, NoReturn

import typer

from strongbox.cli import (
    audit,
    backup,
    database,
    notify,
    pitr,
    restore,
    schedule,
    secret_key,
    storage,
    token,
    user,
    wal_fetch,
)
from strongbox.cli.client import CliError
from strongbox.domain.names import is_valid_name
from strongbox.errors import StrongboxError
from strongbox.secret_env import CLIENT_SECRET_VARIABLES, SecretEnvError, resolve_file_variants

app = typer.Typer(
    name="strongbox",
    help="Backups of PostgreSQL and MySQL/MariaDB into S3-compatible storage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(storage.app, name="storage")
app.add_typer(database.app, name="db")
app.add_typer(backup.app, name="backup")
app.add_typer(schedule.app, name="schedule")
app.add_typer(pitr.app, name="pitr")
app.add_typer(token.app, name="token")
app.add_typer(user.app, name="user")
app.add_typer(notify.app, name="notify")
app.add_typer(secret_key.app, name="secrets")
app.command("restore")(restore.restore)
app.command("wal-fetch")(wal_fetch.wal_fetch)
app.command("audit")(audit.audit)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
) -> None:
    """Run the API, the web page, the scheduler and the workers in one process."""
    from strongbox.cli.settings import load_settings
    from strongbox.server import serve as run_server

    settings = load_settings()
    try:
        run_server(settings, host, port)
    except StrongboxError as exc:  # e.g. STRONGBOX_SECRET_KEY does not open the stored secrets
        raise CliError(exc.detail) from None


@app.command()
def worker(
    queues: Annotated[
        str,
        typer.Option(
            help="comma-separated worker queues to take jobs from (databases pinned with "
            "--worker-queue); default: the default queue"
        ),
    ] = "default",
) -> None:
    """Run a Celery worker that carries out backups and restores (STRONGBOX_BROKER_URL, and
    the servers' catalog and secret key)."""
    from strongbox.cli.settings import load_settings
    from strongbox.server import work

    names = [q.strip() for q in queues.split(",") if q.strip()]
    bad = [q for q in names if not is_valid_name(q)]
    if not names or bad:
        raise CliError(
            f"--queues takes names of lowercase letters, digits and '-' separated by commas; "
            f"got {queues!r}",
            2,
        )
    settings = load_settings()
    try:
        work(settings, names)
    except StrongboxError as exc:
        raise CliError(exc.detail) from None


def main() -> None:
    try:
        resolve_file_variants(CLIENT_SECRET_VARIABLES, os.environ)
        result = app(standalone_mode=False)
    except SecretEnvError as exc:
        _fail(str(exc), 2)
    except CliError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 1)
    except typer.TyperException as exc:
        # Usage errors (unknown option, missing argument...) carry the command's context.
        if not exc.format_message():  # no arguments at all: the help was printed
            sys.exit(2)
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        _fail(exc.format_message() + hint, 2)
    if isinstance(result, int) and result:
        sys.exit(result)


def _fail(message: str, code: int) -> NoReturn:
    print(f"strongbox: error: {message}", file=sys.stderr)
    sys.exit(code)
