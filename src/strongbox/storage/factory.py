"""Choose the storage backend by its kind."""

from __future__ import annotations

from strongbox.errors import invalid
from strongbox.storage.base import BackupStorage
from strongbox.storage.filesystem import FilesystemSettings, FilesystemStorage
from strongbox.storage.s3 import S3Settings, S3Storage

KINDS = ("s3", "filesystem")


def open_storage(
    kind: str, settings: S3Settings | FilesystemSettings, *, upload_concurrency: int = 4
) -> BackupStorage:
    """The backend of `kind` ("s3" or "filesystem") on `settings`. Opening does no I/O; call
    `check()` to prove access. Raises StrongboxError (INVALID) for an unknown kind or settings
    of another kind."""
    if kind == "s3" and isinstance(settings, S3Settings):
        return S3Storage(settings, upload_concurrency=upload_concurrency)
    if kind == "filesystem" and isinstance(settings, FilesystemSettings):
        return FilesystemStorage(settings)
    if kind not in KINDS:
        raise invalid(
            f"unknown storage type '{kind}': use one of {', '.join(KINDS)}", field_name="type"
        )
    raise invalid(f"settings of type {type(settings).__name__} do not fit a '{kind}' storage")
