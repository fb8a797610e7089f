"""Backups: taking one, and what is shown of it and its artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from strongbox.domain.manifest import ArtifactObject
from strongbox.services.fields import Name
from strongbox.services.schemas.shared import Input


class BackupCreate(Input):
    storage: Name
    name: Name | None = None
    method: Literal["logical", "physical"] = Field(
        default="logical",
        description="'logical': a dump per database; 'physical': pg_basebackup of the whole "
        "PostgreSQL cluster (PostgreSQL only)",
    )


class ArtifactOut(BaseModel):
    key: str
    name: str
    kind: str
    dbname: str | None
    sha256: str
    raw_bytes: int
    stored_bytes: int
    database_properties: dict[str, Any] | None = Field(
        default=None,
        description="what a restore gives a new database: encoding, collation, settings...",
    )
    log_position: dict[str, Any] | None = Field(
        default=None,
        description="MySQL/MariaDB: the binlog position of this database's dump",
    )
    objects: list[ArtifactObject] | None = Field(
        default=None,
        description="when the artifact is stored as several objects in sequence (more than "
        "S3's 10,000 parts): each object's key, stored_bytes and sha256, in order",
    )


class BackupSourceUsed(BaseModel):
    kind: Literal["primary", "standby"]
    host: str
    port: int
    lag_seconds: float | None = Field(description="the standby's lag when the backup started")
    max_rate_mb_per_s: float | None = Field(description="the read rate limit it ran under")


class SourceLoad(BaseModel):
    sample_seconds: float
    samples: list[dict[str, float]] = Field(
        description="per interval: elapsed_seconds, backup_read_mb_per_s and the source's "
        "rates (PostgreSQL: transactions_per_s, blocks_read_per_s; MySQL/MariaDB: "
        "questions_per_s, rows_read_per_s)"
    )
    average: dict[str, float] = Field(description="the same rates over the whole backup")


class BackupOut(BaseModel):
    name: str
    database: str
    storage: str
    method: str
    trigger: str
    state: str
    error: str | None
    claimed_by: str | None = Field(
        default=None, description="the worker that runs or ran it (host:process:id)"
    )
    heartbeat_at: datetime | None = Field(
        default=None, description="while running: when its worker last showed it is alive"
    )
    canceled_by: str | None = Field(
        default=None, description="who asked for the cancel (set once it was asked for)"
    )
    canceled_at: datetime | None = Field(default=None, description="when the cancel was asked for")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    size_bytes: int | None = Field(description="raw dump bytes")
    stored_bytes: int | None = Field(description="bytes stored after compression")
    progress_bytes: int = Field(description="raw dump bytes read so far")
    expected_bytes: int | None = Field(description="estimate of the raw size, for progress")
    location: str | None
    server_version: str | None
    log_position: dict[str, Any] | None = Field(
        description="MySQL: the binlog position; a physical backup: start_lsn, stop_lsn, "
        "timeline, start_time, stop_time, system_identifier, server_version, tablespaces, "
        "wal_included"
    )
    pitr_base: bool = Field(description="whether point-in-time recovery can start from it")
    pitr_ready: bool = Field(
        description="whether the WAL of its range (start to stop LSN, on its timeline) is "
        "stored by the database's WAL stream too, so that it can be recovered to a point in time"
    )
    artifacts: list[ArtifactOut]
    seconds_left: float | None = Field(
        description="while running: the time still needed at the rate read so far, never "
        "faster than the rate limit"
    )
    source: BackupSourceUsed | None = Field(
        description="where the dump was read: the server itself or its standby, with the "
        "standby's lag at the start"
    )
    source_load: SourceLoad | None = Field(
        description="what the backup cost its source while it ran, sampled every few seconds"
    )
