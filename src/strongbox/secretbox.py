"""Encryption of secrets at rest (storage secret keys, database passwords).

The key is derived from `STRONGBOX_SECRET_KEY` with scrypt (salt and cost parameters recorded in
the catalog, so that they can change later), else it is a random key kept in
`{data_dir}/secret.key` with mode 0600, created on first use. `services/secret_keys.py` decides
which key opens the catalog and re-encrypts stored secrets under a new one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from strongbox.errors import ErrorKind, StrongboxError

KEY_FILE_NAME = "secret.key"
# A rotation writes the new key here first; it replaces secret.key once the catalog committed.
PENDING_KEY_FILE_NAME = "secret.key.new"


@dataclass(frozen=True)
class ScryptParams:
    """How a passphrase becomes a key: scrypt with these costs and this salt (base64).
    The defaults take about 32 MiB and a tenth of a second; raise them in `new()` later, the
    parameters of existing catalogs stay recorded with them."""

    salt: str
    n: int = 2**15
    r: int = 8
    p: int = 1

    @classmethod
    def new(cls) -> ScryptParams:
        return cls(salt=base64.b64encode(secrets.token_bytes(16)).decode())

    def as_record(self) -> dict[str, Any]:
        return {"name": "scrypt", "salt": self.salt, "n": self.n, "r": self.r, "p": self.p}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ScryptParams:
        """The parameters a catalog recorded. Raises ValueError when they are not scrypt's."""
        if record.get("name") != "scrypt":
            raise ValueError(f"unknown key derivation {record.get('name')!r}")
        return cls(
            salt=str(record["salt"]), n=int(record["n"]), r=int(record["r"]), p=int(record["p"])
        )

    def derive(self, passphrase: str) -> bytes:
        """The Fernet key of `passphrase` under these parameters."""
        kdf = Scrypt(salt=base64.b64decode(self.salt), length=32, n=self.n, r=self.r, p=self.p)
        return base64.urlsafe_b64encode(kdf.derive(passphrase.encode()))


def legacy_passphrase_key(passphrase: str) -> bytes:
    """The key of catalogs made before scrypt: one SHA-256 of the passphrase. Only read, to
    re-encrypt their secrets under a derived key."""
    digest = hashlib.sha256(b"strongbox-secret-key:" + passphrase.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class SecretBox:
    def __init__(self, fernet_key: bytes) -> None:
        self._fernet = Fernet(fernet_key)
        # Names the key without revealing it: the catalog records which key its secrets need.
        self.key_id = hashlib.sha256(b"strongbox-key-id:" + fernet_key).hexdigest()[:32]

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def opens(self, token: str) -> bool:
        try:
            self._fernet.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise StrongboxError(
                "a stored secret cannot be decrypted with the current key: set "
                "STRONGBOX_SECRET_KEY (or restore secret.key in the data folder) to the key used "
                "when the secret was saved, or enter the secret again",
                "secret-key-mismatch",
                ErrorKind.INTERNAL,
            ) from exc


def new_key() -> bytes:
    return Fernet.generate_key()


def read_key_file(data_dir: Path) -> bytes:
    """The key in `secret.key`, made (random, 0600) when missing."""
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        write_private_file(path, new_key())
    return path.read_bytes().strip()


def write_private_file(path: Path, content: bytes) -> None:
    """Create `path` with mode 0600 from the start (never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
