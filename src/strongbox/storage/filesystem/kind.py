"""The `filesystem` storage kind: a folder on the Strongbox server (a local disk or a mount)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from strongbox.services.fields import AgeRecipients, Description, FolderPath, Name
from strongbox.services.schemas import Input
from strongbox.storage.base import BackupStorage
from strongbox.storage.filesystem.backend import FilesystemSettings, FilesystemStorage
from strongbox.storage.kind import FormField, OpenOptions, StorageKind
from strongbox.storage.light_open import LightOpen


class FilesystemStorageCreate(Input):
    type: Literal["filesystem"]
    name: Name
    description: Description = ""
    age_recipients: AgeRecipients = Field(default_factory=list)
    path: FolderPath = Field(description="absolute path of the folder on the Strongbox server")


class FilesystemStorageUpdate(Input):
    path: FolderPath | None = None


class FilesystemStorageOut(BaseModel):
    path: str


def _open(settings: Mapping[str, Any], _secret: str | None, _options: OpenOptions) -> BackupStorage:
    return FilesystemStorage(FilesystemSettings(path=str(settings["path"])))


def _light_open(settings: Mapping[str, Any], _secret: str | None, _opts: OpenOptions) -> LightOpen:
    path = str(settings["path"])
    return LightOpen("strongbox.storage.filesystem.backend:open_folder", {"path": path})


FILESYSTEM = StorageKind(
    name="filesystem",
    label="Local folder",
    create_model=FilesystemStorageCreate,
    update_model=FilesystemStorageUpdate,
    out_model=FilesystemStorageOut,
    open=_open,
    light_open=_light_open,
    location=lambda settings, key_prefix: f"{str(settings['path']).rstrip('/')}/{key_prefix}",
    where=lambda settings: str(settings["path"]),
    form_fields=(FormField("path", "Folder", hint="absolute path on the Strongbox server"),),
)
