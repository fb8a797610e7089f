"""Restores: asking for one, its plan (the dry run), and what is shown of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, model_validator

from strongbox.services.fields import DbName, Name
from strongbox.services.schemas.people import Timestamp
from strongbox.services.schemas.shared import LIST_MAX, Input


class NewInstance(Input):
    name: Name = Field(description="the name the new instance is registered under as a database")
    port: Annotated[int, Field(ge=1024, le=65535)] = Field(
        description="the TCP port it listens on (127.0.0.1 only); must be free"
    )


class PointInTime(Input):
    time: Timestamp | None = Field(
        default=None,
        description="the instant to recover to (inclusive), with an explicit offset: "
        "2026-11-29T10:15:03Z",
    )
    latest: bool = Field(default=False, description="recover to the last stored commit")
    base_backup: Name | None = Field(
        default=None,
        description="the PITR-ready base to start from (a physical backup for PostgreSQL, a "
        "logical one for MySQL/MariaDB); default: the newest base whose window holds the target",
    )

    @model_validator(mode="after")
    def _time_or_latest(self) -> PointInTime:
        if (self.time is None) == (not self.latest):
            raise ValueError('give exactly one of "time" and "latest": true')
        return self


class RestoreCreate(Input):
    backup: Name | None = Field(
        default=None,
        description="a succeeded backup of the database in the path; with point_in_time, "
        "leave it out (or name the base in point_in_time.base_backup)",
    )
    target: Name | None = Field(
        default=None, description="registered database to restore into; default the same one"
    )
    database_map: dict[DbName, DbName] = Field(
        default_factory=dict,
        max_length=LIST_MAX,
        description="source database name -> target database name",
    )
    overwrite: bool = Field(default=False, description="replace target databases holding data")
    restore_globals: bool = Field(default=False, description="PostgreSQL: restore roles first")
    jobs: Annotated[int, Field(ge=1, le=16)] = Field(
        default=2,
        description=(
            "PostgreSQL: sessions loading rows at once and pg_restore jobs for indexes"
            " (1 streams without a file)"
        ),
    )
    exact_counts: bool = Field(
        default=False,
        description="count every table's rows after the restore (slow on large databases); "
        "by default the summary gives the server's estimate, with rows_estimated true",
    )
    name: Name | None = None
    new_instance: NewInstance | None = Field(
        default=None,
        description="PostgreSQL physical backups: start a new instance on this host from the "
        "backup (instead of target / database_map) and register it as a database",
    )
    point_in_time: PointInTime | None = Field(
        default=None,
        description="with PITR: recover a base and the stored change log to this time (or the "
        "latest stored commit): PostgreSQL a physical base and its WAL, into new_instance or "
        "target / database_map; MySQL/MariaDB a logical base and its binlog, into target / "
        "database_map",
    )
    identity: SecretStr | None = Field(
        default=None,
        max_length=16 * 1024,
        description="write-only: the age identity file's text (AGE-SECRET-KEY-1...) of one of "
        "the recipients an encrypted backup is encrypted to; used in memory for this restore "
        "only, never stored, logged or shown",
    )

    @model_validator(mode="after")
    def _backup_or_point_in_time(self) -> RestoreCreate:
        if self.point_in_time is None and self.backup is None:
            raise ValueError(
                'backup is required: the backup to restore (or point_in_time: {"time": ...})'
            )
        pit = self.point_in_time
        if pit is not None and pit.base_backup is not None and self.backup is not None:
            raise ValueError(
                "give the base once: either backup or point_in_time.base_backup, not both"
            )
        return self

    def backup_name(self) -> str:
        """The backup (or point-in-time base) once chosen."""
        assert self.backup is not None
        return self.backup


class RestoredDatabase(BaseModel):
    source: str
    target: str
    action: str = Field(description="create, fill (existed, empty) or overwrite")
    tables: int | None = None
    rows: int | None = None
    warnings: list[str] = Field(
        default_factory=list,
        description="database properties (settings, comment, grants) that could not be given",
    )
    rows_estimated: bool | None = Field(
        default=None,
        description="true when rows is the planner's estimate: always unless exact_counts was "
        "asked, and then when the exact count took too long",
    )
    side_database: str | None = Field(
        default=None,
        description="while an overwrite restores beside the target: the side database's name",
    )
    previous_database: str | None = Field(
        default=None,
        description="the target's old content, renamed aside, when it could not be dropped",
    )
    duration_seconds: float | None = None


class RecoveryOut(BaseModel):
    outcome: str = Field(description="end-of-base, target-reached or end-of-wal")
    last_replayed_commit_at: datetime | None = Field(
        default=None, description="the last commit replayed, as the server reports it"
    )
    recovery_stopped: str | None = Field(
        default=None, description="the server log's 'recovery stopping ...' line"
    )
    last_commit_log_time: str | None = Field(
        default=None, description="the server log's 'last completed transaction' time"
    )


class PointInTimeOut(BaseModel):
    time: datetime | None = Field(description="the target asked for; null with latest")
    latest: bool
    base_backup: str = Field(description="the base recovered from")
    target_reached: bool | None = Field(
        default=None,
        description="once recovered: whether every stored commit up to the target was "
        "replayed (false fails the restore)",
    )
    last_replayed_commit_at: datetime | None = Field(
        default=None, description="the last commit replayed before promotion"
    )
    recovery_stopped: str | None = Field(
        default=None, description="the server log's 'recovery stopping ...' line"
    )
    wal_files: int | None = Field(
        default=None, description="how many WAL (or binlog) files were staged"
    )


class PointInTimePlanOut(BaseModel):
    time: datetime | None
    latest: bool
    base_backup: str
    window_from: datetime
    window_to: datetime
    timeline: str = Field(
        description="recovery_target_timeline; MySQL/MariaDB: the id of the server that wrote "
        "the binlog"
    )
    stops_at_target: bool = Field(
        description="false when no stored commit follows the target: all the WAL is replayed"
    )
    wal_files: list[str] = Field(
        description="the WAL files to fetch, history files first (MySQL/MariaDB: the binlog "
        "files, in order)"
    )
    wal_file_count: int
    wal_bytes: int = Field(description="their stored (compressed) bytes")
    start_positions: dict[str, str] | None = Field(
        default=None,
        description="MySQL/MariaDB: where each database's replay starts (file:position, its "
        "dump's recorded binlog position)",
    )
    stop_datetime: str | None = Field(
        default=None,
        description="MySQL/MariaDB: the reader's --stop-datetime (UTC; the events before it "
        "are replayed)",
    )


class NewInstanceOut(BaseModel):
    name: str
    port: int
    folder: str | None = None
    os_user: str | None = None
    recovery: RecoveryOut | None = Field(default=None, description="once it is recovered")


class RestoreOut(BaseModel):
    name: str
    database: str
    backup: str
    target: str
    database_map: dict[str, str]
    overwrite: bool
    restore_globals: bool
    jobs: int
    exact_counts: bool
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
    restored_bytes: int = Field(description="decompressed bytes fed to the restore tools so far")
    expected_bytes: int | None
    summary: list[RestoredDatabase]
    new_instance: NewInstanceOut | None = None
    point_in_time: PointInTimeOut | None = None


class PlannedArtifact(BaseModel):
    key: str
    stored_bytes: int
    raw_bytes: int
    sha256: str
    source: str | None
    target: str | None
    action: str
    verify_before_writing: bool


class RestorePlanOut(BaseModel):
    backup: str
    target: str
    engine: str
    artifacts: list[PlannedArtifact]
    steps: list[str] = Field(description="what the restore does, in order")
    commands: list[list[str]] = Field(description="the tool commands, without secrets")
    settings: list[str] = Field(
        default_factory=list, description="a new instance: the settings it starts with"
    )
    point_in_time: PointInTimePlanOut | None = None
