"""The shapes of what goes in and out of the use cases; the REST API uses them as they are.

Input models forbid unknown fields, so a typo is an error rather than silently ignored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from strongbox.certificates import MAX_BUNDLE_CHARS, check_bundle
from strongbox.domain.analysis import ProductionHours
from strongbox.domain.frequency import Frequency, validate_cron, validate_timezone
from strongbox.errors import StrongboxError
from strongbox.services.fields import (
    CRON_PATTERN,
    NAME,
    TIMEZONE_PATTERN,
    DbName,
    Description,
    Host,
    Name,
    Password,
    Rule,
    Username,
)

# PEM text of CA certificates, checked and stored re-encoded (see strongbox.certificates).
PemBundle = Annotated[
    str,
    Field(
        max_length=MAX_BUNDLE_CHARS,
        description="PEM certificates (-----BEGIN CERTIFICATE-----) of the CAs to trust",
    ),
    AfterValidator(check_bundle),
]
SslMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]
# Lists and maps in a request are bounded too (each item is bounded by its own type).
LIST_MAX = 256


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- backup storages ---------------------------------------------------------------------------
# Each storage kind declares its models (strongbox.storage.<kind>.kind); the request union and the
# update and response models are built from the kinds in strongbox.storage.registry.


# --- databases ---------------------------------------------------------------------------------


class DatabaseCreate(Input):
    name: Name
    engine: Literal["postgresql", "mysql"]
    host: Host
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None, description="default 5432 for postgresql, 3306 for mysql"
    )
    username: Username
    password: Password = SecretStr("")
    ssl_mode: SslMode = Field(default="prefer", description="TLS to the server, as libpq's")
    ssl_ca: PemBundle | None = Field(
        default=None, description="CA certificates (PEM); required by verify-ca and verify-full"
    )
    databases: list[DbName] = Field(
        default_factory=list,
        max_length=LIST_MAX,
        description="database names on the server; empty means all",
    )
    description: Description = ""
    production_hours: ProductionHours | None = Field(
        default=None, description="when the database serves people; schedules warn about them"
    )


class DatabaseUpdate(Input):
    host: Host | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    username: Username | None = None
    password: Password | None = None
    ssl_mode: SslMode | None = Field(
        default=None, description="a mode that verifies nothing drops ssl_ca"
    )
    ssl_ca: PemBundle | None = Field(default=None, description="null removes it")
    databases: Annotated[list[DbName], Field(max_length=LIST_MAX)] | None = None
    description: Description | None = None
    production_hours: ProductionHours | None = Field(default=None, description="null removes them")


class DatabaseOut(BaseModel):
    name: str
    engine: str
    host: str
    port: int
    username: str
    ssl_mode: str
    ssl_ca: str | None
    databases: list[str]
    description: str
    server_version: str
    size_bytes: int | None = Field(description="size of the databases as last measured")
    production_hours: ProductionHours | None
    created_at: datetime
    updated_at: datetime


# --- backups -----------------------------------------------------------------------------------


class BackupCreate(Input):
    storage: Name
    name: Name | None = None
    method: Literal["logical"] = "logical"


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


class BackupOut(BaseModel):
    name: str
    database: str
    storage: str
    method: str
    trigger: str
    state: str
    error: str | None
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
    log_position: dict[str, Any] | None
    artifacts: list[ArtifactOut]


# --- restores ----------------------------------------------------------------------------------


class RestoreCreate(Input):
    backup: Name = Field(description="a succeeded backup of the database in the path")
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
        default=2, description="PostgreSQL: parallel pg_restore jobs (1 streams without a file)"
    )
    name: Name | None = None


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
        description="true when rows is the planner's estimate (the exact count took too long)",
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


class RestoreOut(BaseModel):
    name: str
    database: str
    backup: str
    target: str
    database_map: dict[str, str]
    overwrite: bool
    restore_globals: bool
    jobs: int
    state: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    restored_bytes: int = Field(description="decompressed bytes fed to the restore tools so far")
    expected_bytes: int | None
    summary: list[RestoredDatabase]


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


# --- schedules ---------------------------------------------------------------------------------

# Backups of a schedule are named {schedule}-{yyyymmdd-hhmm}: 14 more characters, within 63.
SCHEDULE_NAME_MAX = 49


def _as_value_error(check: Any) -> Any:
    def run(value: str) -> str:
        try:
            result: str = check(value)
        except StrongboxError as exc:
            raise ValueError(exc.detail) from None
        return result

    return run


ScheduleName = Annotated[str, replace(NAME, max_length=SCHEDULE_NAME_MAX)]
CronLine = Annotated[
    str,
    Rule(CRON_PATTERN, "a cron line is printable ASCII", max_length=255),
    AfterValidator(_as_value_error(validate_cron)),
]
TimeZone = Annotated[
    str,
    Rule(
        TIMEZONE_PATTERN,
        "a time zone is an IANA name such as Europe/Berlin (letters, digits, '_', '+', '-', '/')",
        max_length=64,
    ),
    AfterValidator(_as_value_error(validate_timezone)),
]
Overlap = Literal["skip", "queue"]


class ScheduleCreate(Input):
    name: ScheduleName | None = None
    storage: Name
    frequency: Frequency | None = None
    cron: CronLine | None = Field(
        default=None, description="5 fields, for what frequency can't say"
    )
    timezone: TimeZone = "UTC"
    retention_copies: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=0, description="successful backups of this schedule to keep; 0 keeps all"
    )
    enabled: bool = True
    on_overlap: Overlap = "skip"

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleCreate:
        if (self.frequency is None) == (self.cron is None):
            raise ValueError("give either frequency or cron (exactly one of them)")
        return self


class ScheduleUpdate(Input):
    """Fields to change. A frequency replaces a cron line and the other way round."""

    storage: Name | None = None
    frequency: Frequency | None = None
    cron: CronLine | None = None
    timezone: TimeZone | None = None
    retention_copies: Annotated[int, Field(ge=0, le=10_000)] | None = None
    enabled: bool | None = None
    on_overlap: Overlap | None = None

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleUpdate:
        if self.frequency is not None and self.cron is not None:
            raise ValueError("give either frequency or cron, not both")
        return self


class ScheduleWarningOut(BaseModel):
    code: str
    message: str
    times: list[datetime]


class LastRun(BaseModel):
    name: str | None = Field(description="the backup of the run, if one was started")
    state: str
    time: datetime = Field(description="the slot time")
    reason: str | None = None


class EstimateOut(BaseModel):
    seconds: float
    basis: str


class ScheduleOut(BaseModel):
    name: str
    database: str
    storage: str
    frequency: dict[str, Any] | None
    cron: str
    timezone: str
    description: str
    next_runs: list[datetime] = Field(description="the next 5 slots, UTC")
    last_run: LastRun | None
    retention_copies: int
    enabled: bool
    on_overlap: str
    estimated_duration: EstimateOut
    warnings: list[ScheduleWarningOut]
    created_at: datetime
    updated_at: datetime


class ScheduleRunOut(BaseModel):
    slot_at: datetime
    state: str = Field(
        description="the backup's state when one was started; else waiting, skipped or missed"
    )
    reason: str | None
    backup: str | None
