"""The manifest written next to a backup's artifacts: what a person (or a new Strongbox) needs to
know to restore the backup without the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from strongbox.domain.database_properties import DatabaseProperties

MANIFEST_FORMAT_VERSION = 1


class ArtifactObject(BaseModel):
    """One object of an artifact stored as several."""

    key: str = Field(description="full object key in the storage")
    stored_bytes: int
    sha256: str = Field(description="SHA-256 of this object's bytes")


class ManifestArtifact(BaseModel):
    name: str = Field(description="file name inside the backup folder")
    key: str = Field(description="full object key in the storage")
    kind: str = Field(description="'database' for one database's dump, 'globals' for roles")
    dbname: str | None = None
    format: str = Field(description="'pg_dump-custom', 'sql'")
    raw_bytes: int
    stored_bytes: int
    sha256: str = Field(description="SHA-256 of the stored (compressed) object")
    database_properties: DatabaseProperties | None = Field(
        default=None,
        description="what a new database needs to be the same as the source (encoding, "
        "collation, settings...); absent in backups made before it was recorded",
    )
    log_position: dict[str, Any] | None = Field(
        default=None,
        description="MySQL/MariaDB: the binlog position of this database's dump (each "
        "database is dumped in its own snapshot); absent in backups made before it was "
        "recorded, and without binary logging",
    )
    objects: list[ArtifactObject] | None = Field(
        default=None,
        description="when the artifact needed more than one object (S3's 10,000 parts): "
        "every object in order, the first under `key`; each is a whole zstd stream and their "
        "concatenation is the artifact (`sha256`, `stored_bytes`); absent for one object",
    )

    encrypted_to: list[str] | None = Field(
        default=None,
        description="the age recipients (public keys) the stored bytes are encrypted to: the "
        "artifact is one age stream of the zstd stream, its name ends with '.age', and a "
        "restore needs the identity of one of them; absent when it is not encrypted",
    )

    def object_keys(self) -> list[str]:
        """The keys to read, in order, for the artifact's bytes."""
        return [o.key for o in self.objects] if self.objects else [self.key]


class Manifest(BaseModel):
    format_version: int = MANIFEST_FORMAT_VERSION
    strongbox_version: str
    backup: str
    database: str
    engine: str
    server_version: str
    method: str
    trigger: str
    tool_versions: dict[str, str]
    started_at: datetime
    finished_at: datetime
    size_bytes: int
    stored_bytes: int
    compression: dict[str, Any]
    encryption: dict[str, Any] | None = None
    log_position: dict[str, Any] | None = None
    artifacts: list[ManifestArtifact]
