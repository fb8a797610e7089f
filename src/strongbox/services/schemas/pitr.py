"""Point-in-time recovery of a database: turning its WAL stream on and off, and what is shown
of it (state, lag, the true windows and gaps)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strongbox.services.fields import Name
from strongbox.services.schemas.shared import Input

INTERVAL_MIN, INTERVAL_MAX = 10, 3600


class PitrUpdate(Input):
    enabled: bool
    storage: Name | None = Field(
        default=None, description="where the WAL is stored; required when enabling"
    )
    upload_interval_seconds: int = Field(
        default=60,
        ge=INTERVAL_MIN,
        le=INTERVAL_MAX,
        description="how often the segment being written is uploaded: the most data at risk",
    )

    @model_validator(mode="after")
    def _storage_when_enabling(self) -> PitrUpdate:
        if self.enabled and self.storage is None:
            raise ValueError("'storage' is required when enabling point-in-time recovery")
        return self


class WindowOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(
        alias="from", description="the base backup's end (MySQL/MariaDB: the dump's start)"
    )
    to: datetime = Field(description="the last commit stored after the base without a gap")
    base_backup: str
    timeline: int = Field(description="PostgreSQL's timeline; MySQL/MariaDB: the server id")


class GapOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_lsn: str = Field(description="an LSN; MySQL/MariaDB: a binlog position `file:offset`")
    to_lsn: str | None = Field(description="null: up to the server's current position")
    from_: datetime | None = Field(alias="from", description="the last commit stored before it")
    to: datetime | None = Field(description="the first commit stored after it")
    reason: str


class PitrOut(BaseModel):
    enabled: bool
    storage: str | None
    upload_interval_seconds: int
    state: Literal["starting", "streaming", "lagging", "broken", "disabled"]
    error: str | None = Field(description="why it is broken, or the warning when lagging")
    lag_seconds: float | None = Field(
        description="age of the newest stored WAL while the server has more (0: all stored)"
    )
    last_upload_at: datetime | None
    latest_restorable_time: datetime | None = Field(
        description="the last commit actually stored that a window reaches"
    )
    windows: list[WindowOut]
    gaps: list[GapOut]
    warnings: list[str] = Field(
        default_factory=list,
        description="what the check on enabling found that works but is not recommended",
    )
