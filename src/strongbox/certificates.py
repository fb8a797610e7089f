"""CA certificate bundles (PEM): checked when a person gives one, and written to files for the
TLS clients that only take a path (boto3, libpq, the MariaDB client programs).

A bundle is public (it holds certificates, never a key), so it is stored in the catalog in clear
and shown by the API. Files are named by the SHA-256 of their content, so a name always means the
same bytes: writers racing each other write identical files, a changed CA gets a new name, and no
client ever reads a file that is being replaced.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

# A private CA bundle is a few KiB; public bundles (a cloud provider's, or every Mozilla root)
# stay under 256 KiB. The bound keeps a bundle well inside the API's body limit.
MAX_BUNDLE_CHARS = 256 * 1024
CA_FOLDER_NAME = "tls"

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")


def check_bundle(text: str) -> str:
    """The certificates of a PEM bundle, re-encoded one after the other (comments and text
    around the blocks dropped). Raises ValueError saying what is wrong and what to give instead:
    not PEM, a block that is not a certificate (a private key above all), or a certificate that
    cannot be read.

    >>> check_bundle("hello")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: not a PEM certificate bundle: give the CA's certificate as text starting with ...
    """
    if len(text) > MAX_BUNDLE_CHARS:
        raise ValueError(
            f"the bundle has {len(text)} characters, more than {MAX_BUNDLE_CHARS}: give only "
            "the certificates of the CAs that sign the server's certificate"
        )
    labels = _BLOCK.findall(text)
    if not labels:
        raise ValueError(
            "not a PEM certificate bundle: give the CA's certificate as text starting with "
            "-----BEGIN CERTIFICATE-----"
        )
    others = sorted({label for label in labels if label != "CERTIFICATE"})
    if any("PRIVATE KEY" in label for label in others):
        raise ValueError(
            "the bundle holds a private key: give only certificates (the key must stay secret; "
            "replace it if it was shared)"
        )
    if others:
        raise ValueError(
            f"the bundle holds a {others[0]} block: give only -----BEGIN CERTIFICATE----- blocks"
        )
    try:
        certificates = x509.load_pem_x509_certificates(text.encode("utf-8", "replace"))
    except ValueError as exc:
        raise ValueError(f"a certificate of the bundle cannot be read ({exc})") from None
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


def ca_file(bundle: str, data_dir: Path) -> Path:
    """The absolute path of a file holding `bundle`, under `data_dir`/tls, named by its SHA-256;
    written (mode 0600, atomically) if it is not there yet. `bundle` is what `check_bundle`
    returned. Absolute, because client programs may run in another working folder."""
    content = bundle.encode("ascii")
    folder = data_dir.resolve() / CA_FOLDER_NAME
    path = folder / f"ca-{hashlib.sha256(content).hexdigest()[:32]}.pem"
    if path.exists():
        return path
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".ca-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
