"""Secrets from the environment, or from a file that a `*_FILE` variable names (as container
secrets are mounted): `STRONGBOX_SECRET_KEY_FILE=/run/secrets/key` instead of the key itself.

>>> import os, tempfile
>>> with tempfile.NamedTemporaryFile("w", delete=False) as f:
...     _ = f.write("s3cret\\n")
>>> secret_from_env("X", {"X_FILE": f.name})
's3cret'
>>> secret_from_env("X", {"X": "a", "X_FILE": f.name})
Traceback (most recent call last):
...
strongbox.secret_env.SecretEnvError: X and X_FILE are both set: keep one of them
>>> os.unlink(f.name)
>>> secret_from_env("X", {"X": "a"})
'a'
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path

# The server's secret settings (config.Settings field names).
SERVER_SECRET_FIELDS = ("admin_token", "secret_key", "catalog_url", "metrics_token", "broker_url")
# The CLI's secret variables.
CLIENT_SECRET_VARIABLES = (
    "STRONGBOX_TOKEN",
    "STRONGBOX_S3_SECRET_ACCESS_KEY",
    "STRONGBOX_DB_PASSWORD",
    "STRONGBOX_USER_PASSWORD",
    "STRONGBOX_NEW_PASSWORD",
    "STRONGBOX_NOTIFY_URL",
)


class SecretEnvError(ValueError):
    """A secret variable and its `_FILE` are both set, or the file cannot be read."""


def secret_from_env(name: str, environ: Mapping[str, str]) -> str | None:
    """The value of `name`, or the content of the file `{name}_FILE` names (without its
    trailing line break); None when neither is set. Raises SecretEnvError when both are set or
    the file cannot be read."""
    path = environ.get(f"{name}_FILE")
    if path is None:
        return environ.get(name)
    if name in environ:
        raise SecretEnvError(f"{name} and {name}_FILE are both set: keep one of them")
    return read_secret_file(path, f"{name}_FILE")


def read_secret_file(path: str | Path, what: str) -> str:
    """The content of the file at `path` without its trailing line break. Raises
    SecretEnvError naming `what` (the variable or option) when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SecretEnvError(f"{what}: cannot read {str(path)!r}: {reason}") from None
    return text.rstrip("\r\n")


def resolve_file_variants(names: tuple[str, ...], environ: MutableMapping[str, str]) -> None:
    """Set each of `names` whose `_FILE` is set from that file, so that whatever reads the
    variable itself finds the secret. Raises SecretEnvError as secret_from_env."""
    for name in names:
        if f"{name}_FILE" in environ:
            value = secret_from_env(name, environ)
            assert value is not None  # the _FILE is set
            environ[name] = value
