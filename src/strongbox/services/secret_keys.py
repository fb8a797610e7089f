"""The key of the secrets stored in the catalog: which one opens them at start, the migration of
catalogs made before keys were derived with scrypt, and `strongbox secrets rotate-key`.

Every change of key re-encrypts every stored secret in ONE catalog transaction, together with the
`secret_key` row that names the key: the catalog holds either all secrets under the old key or
all under the new one. A new random key file is written beside the old one first
(`secret.key.new`) and replaces it only after the commit; a start that finds it left over keeps
it when the catalog names it, and removes it otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongbox.catalog.db import Catalog
from strongbox.catalog.models import Database, SecretKeyRecord, Storage
from strongbox.config import Settings
from strongbox.errors import conflict, invalid
from strongbox.secretbox import (
    KEY_FILE_NAME,
    PENDING_KEY_FILE_NAME,
    ScryptParams,
    SecretBox,
    legacy_passphrase_key,
    new_key,
    read_key_file,
    write_private_file,
)
from strongbox.services.auth import open_host_catalog

log = logging.getLogger("strongbox.secret_keys")

RECORD_ID = 1
NEW_PASSPHRASE_MIN_LENGTH = 12


@dataclass(frozen=True)
class StoredSecret:
    row: Storage | Database
    column: str
    label: str

    @property
    def token(self) -> str:
        value: str = getattr(self.row, self.column)
        return value


@dataclass(frozen=True)
class RotatedKey:
    secrets: int  # how many stored secrets were re-encrypted
    key_file: Path | None  # the new key file, when the key is not a passphrase


def stored_secrets(session: Session) -> list[StoredSecret]:
    """Every encrypted value in the catalog: storages' secret keys, databases' passwords."""
    found: list[StoredSecret] = []
    for storage in session.scalars(select(Storage).order_by(Storage.name)):
        if storage.secret_encrypted:
            label = f"the secret key of storage '{storage.name}'"
            found.append(StoredSecret(storage, "secret_encrypted", label))
    for database in session.scalars(select(Database).order_by(Database.name)):
        label = f"the password of database '{database.name}'"
        found.append(StoredSecret(database, "password_encrypted", label))
    return found


def reencrypt(session: Session, old: SecretBox, new: SecretBox, hint: str) -> int:
    """Re-encrypt every stored secret from `old` to `new` in `session` (the caller commits or
    rolls back). Refuses, before changing anything, when a secret does not open with `old`."""
    secrets = stored_secrets(session)
    for secret in secrets:
        if not old.opens(secret.token):
            raise conflict(
                f"{secret.label} does not open with the current key: {hint}",
                "secret-key-mismatch",
            )
    for secret in secrets:
        setattr(secret.row, secret.column, new.encrypt(old.decrypt(secret.token)))
        session.flush()
    return len(secrets)


def open_secret_box(settings: Settings, catalog: Catalog) -> SecretBox:
    """The box that opens the catalog's stored secrets, after finishing what a previous start or
    rotation left: a catalog without a `secret_key` row and a passphrase is migrated from the
    old SHA-256 key to scrypt (refused, nothing changed, when a secret does not open with it)."""
    try:
        return _open(settings, catalog)
    except IntegrityError:  # another server made the row at the same moment: read it
        return _open(settings, catalog)


def _open(settings: Settings, catalog: Catalog) -> SecretBox:
    now = datetime.now(UTC)
    with catalog.session() as session:
        record = session.get(SecretKeyRecord, RECORD_ID, with_for_update=True)
        passphrase = settings.secret_key
        if passphrase is None:
            box = SecretBox(_key_file_key(settings.data_dir, record))
            params = None
        else:
            kdf = record.kdf if record is not None else None
            params = ScryptParams.from_record(kdf) if kdf is not None else ScryptParams.new()
            box = SecretBox(params.derive(passphrase.get_secret_value()))
        if record is not None and record.key_id == box.key_id:
            return box
        if record is None:
            if passphrase is not None:
                legacy = SecretBox(legacy_passphrase_key(passphrase.get_secret_value()))
                hint = (
                    "set STRONGBOX_SECRET_KEY to the passphrase these secrets were saved with "
                    "(nothing was changed)"
                )
                count = reencrypt(session, legacy, box, hint)
                if count:
                    log.warning(
                        "re-encrypted %d stored secrets under a key derived with scrypt", count
                    )
            record = SecretKeyRecord(id=RECORD_ID)
            session.add(record)
        elif stored_secrets(session):
            log.warning(
                "the stored secrets were saved with another key than %s: they cannot be read "
                "until it is set again, or until each is entered again",
                "STRONGBOX_SECRET_KEY" if passphrase is not None else f"{{data}}/{KEY_FILE_NAME}",
            )
            return box
        # A new catalog, the migrated one, or one without any secret: it takes this key.
        record.kdf = params.as_record() if params is not None else None
        record.key_id = box.key_id
        record.updated_at = now
    return box


def _key_file_key(data_dir: Path, record: SecretKeyRecord | None) -> bytes:
    """The key file's key, after settling a rotation interrupted between its commit and the
    replacement of the file."""
    pending = data_dir / PENDING_KEY_FILE_NAME
    if pending.exists():
        key = pending.read_bytes().strip()
        if record is not None and SecretBox(key).key_id == record.key_id:
            _replace(pending, data_dir / KEY_FILE_NAME)
            log.warning("finished a key rotation: %s replaced %s", pending.name, KEY_FILE_NAME)
        else:
            pending.unlink()
    return read_key_file(data_dir)


def rotate_key(catalog: Catalog, settings: Settings, new_passphrase: str | None) -> RotatedKey:
    """Re-encrypt every stored secret under a new key, all or nothing: a new random key file
    when the server uses one, else the key derived (scrypt, new salt) from `new_passphrase`.
    The old key keeps opening everything until the commit. Run it with the server stopped: a
    running server keeps the key it started with."""
    passphrase_mode = settings.secret_key is not None
    if passphrase_mode and new_passphrase is None:
        raise invalid("the server uses STRONGBOX_SECRET_KEY: give the new passphrase")
    if not passphrase_mode and new_passphrase is not None:
        raise invalid(
            "the server uses a random key file (STRONGBOX_SECRET_KEY is not set): rotate-key "
            "makes a new one and takes no passphrase"
        )
    if new_passphrase is not None and len(new_passphrase) < NEW_PASSPHRASE_MIN_LENGTH:
        raise invalid(
            f"the new passphrase must be at least {NEW_PASSPHRASE_MIN_LENGTH} characters "
            f"(got {len(new_passphrase)})"
        )
    current = open_secret_box(settings, catalog)
    pending: Path | None = None
    params: ScryptParams | None = None
    if new_passphrase is None:
        key = new_key()
        pending = settings.data_dir / PENDING_KEY_FILE_NAME
        pending.unlink(missing_ok=True)
        write_private_file(pending, key)
    else:
        params = ScryptParams.new()
        key = params.derive(new_passphrase)
    new = SecretBox(key)
    hint = (
        "set STRONGBOX_SECRET_KEY (or restore secret.key) to the key it was saved with, or "
        "enter it again; nothing was changed"
    )
    try:
        with catalog.session() as session:
            record = session.get(SecretKeyRecord, RECORD_ID, with_for_update=True)
            assert record is not None  # open_secret_box made it
            count = reencrypt(session, current, new, hint)
            record.kdf = params.as_record() if params is not None else None
            record.key_id = new.key_id
            record.updated_at = datetime.now(UTC)
    except BaseException:
        if pending is not None:
            pending.unlink(missing_ok=True)
        raise
    if pending is None:
        return RotatedKey(secrets=count, key_file=None)
    key_file = settings.data_dir / KEY_FILE_NAME
    _replace(pending, key_file)
    return RotatedKey(secrets=count, key_file=key_file)


def rotate_key_of(settings: Settings, new_passphrase: str | None) -> RotatedKey:
    """`rotate_key` on the server's catalog, opened and closed here (run on its host)."""
    catalog = open_host_catalog(settings)
    try:
        return rotate_key(catalog, settings, new_passphrase)
    finally:
        catalog.close()


def _replace(source: Path, target: Path) -> None:
    """Rename `source` over `target` and make the rename durable."""
    os.replace(source, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
            os.fsync(fd)
    finally:
        os.close(fd)
