"""`strongbox secrets rotate-key`, run on the server's host against its data folder and catalog
(like `strongbox token rotate`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strongbox.cli.client import CliError
from strongbox.cli.settings import load_settings
from strongbox.errors import StrongboxError
from strongbox.secret_env import SecretEnvError, read_secret_file
from strongbox.services import secret_keys

app = typer.Typer(help="The key of the secrets stored in the catalog.", no_args_is_help=True)


@app.command("rotate-key")
def rotate_key(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="the server's data folder (default STRONGBOX_DATA_DIR)"),
    ] = None,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option(
            help="file holding the new passphrase (when the server uses STRONGBOX_SECRET_KEY); "
            "else it is asked for, or read from standard input"
        ),
    ] = None,
) -> None:
    """Re-encrypt every stored secret under a new key, all or nothing. With a key file
    ({data}/secret.key) a new random one replaces it; with STRONGBOX_SECRET_KEY the new
    passphrase comes from --new-passphrase-file, a hidden prompt or standard input. Stop the
    server first, and start it again afterwards (with the new passphrase)."""
    settings = load_settings(data_dir=data_dir)
    passphrase_mode = settings.secret_key is not None
    new_passphrase: str | None = None
    if new_passphrase_file is not None:
        try:
            new_passphrase = read_secret_file(new_passphrase_file, "--new-passphrase-file")
        except SecretEnvError as exc:
            raise CliError(str(exc)) from None
    elif passphrase_mode:
        new_passphrase = _ask_new_passphrase()
    try:
        rotated = secret_keys.rotate_key_of(settings, new_passphrase)
    except StrongboxError as exc:
        raise CliError(exc.detail) from None
    if rotated.key_file is not None:
        print(
            f"re-encrypted {rotated.secrets} stored secrets under a new key, now in "
            f"{rotated.key_file}; the old key no longer opens them",
            file=sys.stderr,
        )
    else:
        print(
            f"re-encrypted {rotated.secrets} stored secrets under the new passphrase: set "
            "STRONGBOX_SECRET_KEY (or STRONGBOX_SECRET_KEY_FILE) to it before the next start",
            file=sys.stderr,
        )


def _ask_new_passphrase() -> str:
    """A hidden prompt, asked twice, on a terminal; else the whole of standard input."""
    if sys.stdin.isatty():
        answer: str = typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
        return answer
    return sys.stdin.read().rstrip("\r\n")
