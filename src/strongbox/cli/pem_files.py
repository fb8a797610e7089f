"""CA certificates for the CLI: read from the PEM file a person names; the server checks them."""

from __future__ import annotations

from pathlib import Path

from strongbox.certificates import MAX_BUNDLE_CHARS
from strongbox.cli.client import CliError


def read_pem(path: Path | None, option: str) -> str | None:
    """The text of the file given to `option`, or None when it was not given. A file that
    cannot be read, is not text or is too large is a CliError naming the option."""
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_BUNDLE_CHARS:
            raise CliError(
                f"{option} {path}: larger than {MAX_BUNDLE_CHARS} bytes; give only the CA "
                "certificates that sign the server's certificate"
            )
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CliError(
            f"{option} {path}: not a text file; give the certificate in PEM form "
            "(-----BEGIN CERTIFICATE-----), not DER"
        ) from None
