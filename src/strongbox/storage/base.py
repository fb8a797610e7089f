"""The contract every storage backend keeps.

Keys are full object keys ('prefix/db/backup/file'), built only by `strongbox.domain.keys`.
Errors a person can fix are raised as `StrongboxError` with kind REFUSED and one of the codes below.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol

# Codes of the errors raised by storages (the `code` of the StrongboxError).
BAD_CREDENTIALS = "storage-bad-credentials"
ACCESS_DENIED = "storage-access-denied"
NO_SUCH_BUCKET = "storage-no-such-bucket"
UNREACHABLE = "storage-unreachable"
TLS_FAILURE = "storage-tls-failure"
NOT_WRITABLE = "storage-not-writable"
NOT_FOUND = "storage-object-not-found"
FAILED = "storage-failed"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class BackupStorage(Protocol):
    # Stored bytes after which a streamed artifact continues in a new object (S3's 10,000
    # parts per object); None where one object may be any size.
    cut_at: int | None

    def check(self) -> None:
        """Prove live access: the bucket or folder exists, and a probe object can be written,
        read back, listed and deleted. Raises StrongboxError (REFUSED) naming what failed."""
        ...

    def put_stream(self, key: str, stream: Readable, expected_size: int | None) -> None:
        """Store everything `stream.read()` gives until it returns b'' under `key`.

        Memory stays bounded whatever the size. If reading or writing raises, the exception
        propagates and no object (and no incomplete upload) is left under `key`."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object whole, replacing any object under `key`."""
        ...

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A streaming reader of the object. Raises StrongboxError NOT_FOUND if it is absent."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """The whole object (for small objects such as manifests). NOT_FOUND if absent."""
        ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (and abort incomplete uploads there); returns the
        number of objects deleted. Deleting nothing is not an error."""
        ...

    def abort_incomplete(self, prefix: str) -> int:
        """Abort incomplete multipart uploads under `prefix` (left by a crash); returns how many."""
        ...
