"""The server's settings for the commands that run on its host (`serve`, `token rotate`,
`secrets rotate-key`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from strongbox.cli.client import CliError
from strongbox.config import Settings


def load_settings(**overrides: Any) -> Settings:
    """Settings from `STRONGBOX_*` (and `overrides`); a bad value is one line naming the
    variable (CliError, exit 2)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a check of several settings (secret_env.py): it names them
            raise CliError(message) from None
        name = "STRONGBOX_" + str(first["loc"][0]).upper()
        raise CliError(f"{name}: {message}") from None
