"""The CLI options of age encryption: recipients on storages and databases, and the identity a
restore of an encrypted backup is given (read from a file, never from the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from strongbox.cli.client import CliError

MAX_IDENTITY_FILE_BYTES = 16 * 1024

AgeRecipientOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--age-recipient",
        help="age public key (age1...) backups are encrypted to; repeat for several",
    ),
]
NoAgeRecipientsOpt = Annotated[
    bool, typer.Option("--no-age-recipients", help="stop encrypting new backups")
]
IdentityOpt = Annotated[
    Path | None,
    typer.Option(
        "--identity",
        help="age identity file (age-keygen's key.txt) that opens an encrypted backup",
    ),
]


def recipients_change(
    body: dict[str, Any], recipients: list[str] | None, no_recipients: bool
) -> None:
    """Put the recipients an edit asks for into `body` (the list replaces the stored one)."""
    if recipients and no_recipients:
        raise CliError("give either --age-recipient or --no-age-recipients, not both")
    if recipients:
        body["age_recipients"] = list(recipients)
    elif no_recipients:
        body["age_recipients"] = []


def read_identity(path: Path | None) -> str | None:
    """The text of the identity file at `path`; a one-line CliError when it cannot be read."""
    if path is None:
        return None
    try:
        with open(path, "rb") as source:
            data = source.read(MAX_IDENTITY_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read the identity file {path}: {exc.strerror}") from None
    if len(data) > MAX_IDENTITY_FILE_BYTES:
        raise CliError(f"{path} is larger than an age identity file ({MAX_IDENTITY_FILE_BYTES} B)")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not an age identity file (it is not ASCII text)") from None
