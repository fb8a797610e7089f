"""Encryption of secrets at rest (storage secret keys, database passwords).

The key is `STRONGBOX_SECRET_KEY` when set (any string; a Fernet key is derived from it), else a
random key kept in `{data_dir}/secret.key` with mode 0600, created on first use.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from strongbox.errors import ErrorKind, StrongboxError

KEY_FILE_NAME = "secret.key"


class SecretBox:
    def __init__(self, fernet_key: bytes) -> None:
        self._fernet = Fernet(fernet_key)

    @classmethod
    def from_passphrase(cls, passphrase: str) -> SecretBox:
        digest = hashlib.sha256(b"strongbox-secret-key:" + passphrase.encode()).digest()
        return cls(base64.urlsafe_b64encode(digest))

    @classmethod
    def from_key_file(cls, data_dir: Path) -> SecretBox:
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            write_private_file(path, Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

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


def write_private_file(path: Path, content: bytes) -> None:
    """Create `path` with mode 0600 from the start (never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
