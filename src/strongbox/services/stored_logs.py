"""Stored change-log objects (WAL or binlog files): how one is sealed for its storage
(compressed, then encrypted to the stream's age recipients when it has any), whether a file is
the one stored already, and which indexed ones are gone from their storage (the storages are
listed, so that an object deleted behind Strongbox's back shows as a gap)."""

from __future__ import annotations

import enum
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import zstandard

from strongbox import age_stream
from strongbox.catalog.models import WalSegment
from strongbox.errors import StrongboxError
from strongbox.services import age_recipients, storages
from strongbox.services.context import Context
from strongbox.storage.base import BackupStorage

log = logging.getLogger(__name__)


def missing_objects(
    ctx: Context,
    storage_names: set[str],
    indexed: dict[tuple[str, str], str],
    folder_of: Callable[[str], str],
) -> frozenset[str]:
    """The names of the indexed files (`indexed`: (storage, key) -> name) whose object is not
    in the listing of `folder_of(storage prefix)`."""
    missing: set[str] = set()
    for name in storage_names:
        try:
            storage, prefix = storages.open_by_name(ctx, name)
            present = {o.key for o in storage.list(folder_of(prefix))}
        except StrongboxError as exc:  # cannot look: say nothing rather than invent gaps
            log.warning("cannot list the stored change log in storage %s: %s", name, exc)
            continue
        missing |= {file for (s, key), file in indexed.items() if s == name and key not in present}
    return frozenset(missing)


@dataclass(frozen=True)
class SealedLog:
    """A change-log file as it is stored: its key, bytes, their SHA-256, and the recipients
    they are encrypted to (None: plain zstd)."""

    key: str
    data: bytes
    encrypted_to: list[str] | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def seal(ctx: Context, database: str, storage_name: str, key: str, raw: bytes) -> SealedLog:
    """`raw` compressed, and encrypted (`key` + ".age") to the recipients backups of `database`
    in `storage_name` are encrypted to now: a stream whose recipients change writes its next
    files to the new ones, and each file's index row records its own."""
    compressed = zstandard.ZstdCompressor(level=ctx.settings.zstd_level).compress(raw)
    with ctx.catalog.session() as session:
        recipients = age_recipients.recipients_for(session, database, storage_name)
    if not recipients:
        return SealedLog(key, compressed, None)
    sealed = age_stream.encrypt_bytes(compressed, recipients)
    return SealedLog(key + age_stream.SUFFIX, sealed, recipients)


class StoredCopy(enum.Enum):
    """What the storage holds for an indexed file that is being stored again."""

    SAME = "same"  # the same content: nothing to do
    GONE = "gone"  # the object was deleted from the storage: storing it again heals the gap
    OTHER = "other"  # other content under the same name: the history diverged


def stored_copy(
    storage: BackupStorage, row: WalSegment, raw: bytes, same_facts: Callable[[], bool]
) -> StoredCopy:
    """How `raw` compares with what is stored for `row` (a restart between an upload and the
    removal from the spool, or a receiver that resumes from an older position, stores the same
    file again). A plain object is read back and compared; an encrypted one cannot be (the
    server has no identity), so the facts read from both are compared instead (`same_facts`:
    positions and commit times, which a diverged history does not share), with the size. A
    storage that cannot be read raises: the stream is retried, not declared diverged."""
    if not any(o.key == row.key for o in storage.list(row.key)):
        return StoredCopy.GONE
    if row.encrypted_to:
        same = row.size_bytes == len(raw) and same_facts()
    else:
        data = storage.get_bytes(row.key)
        same = zstandard.ZstdDecompressor().decompressobj().decompress(data) == raw
    return StoredCopy.SAME if same else StoredCopy.OTHER


def drop_moved(storage: BackupStorage, old_key: str | None, new_key: str) -> None:
    """Before storing a file under `new_key`: remove its object under `old_key` when it moved
    (a partial file stored plain, then encrypted after recipients were added, or the other way
    round). Removed first, since a plain key is a prefix of its encrypted one and the storage
    removes by prefix; the partial is the newest WAL and is stored again at once."""
    if old_key is not None and old_key != new_key:
        storage.delete_prefix(old_key)
