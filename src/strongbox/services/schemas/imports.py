"""Imports: registering the backups a storage holds, from their manifests."""

from __future__ import annotations

from pydantic import BaseModel, Field

from strongbox.services.fields import Name
from strongbox.services.schemas.shared import Input


class ImportRequest(Input):
    database: Name | None = Field(default=None, description="only backups of this database")


class ImportRefusal(BaseModel):
    key: str = Field(description="the object key of the refused manifest")
    reason: str = Field(description="which rules of the layout it breaks")


class ImportOut(BaseModel):
    imported: list[str]
    skipped: list[str]
    unreadable: list[str] = Field(description="manifests that could not be read, with why")
    refused: list[ImportRefusal] = Field(
        default_factory=list,
        description="manifests that were read but break the layout's rules (a changed or "
        "damaged storage, or a manifest.json where none belongs); not registered",
    )
