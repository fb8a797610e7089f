"""Schedules: creating and changing one, what is shown of it, and its runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from strongbox.domain.frequency import Frequency, validate_cron, validate_timezone
from strongbox.errors import StrongboxError
from strongbox.services.fields import CRON_PATTERN, NAME, TIMEZONE_PATTERN, Name, Rule
from strongbox.services.schemas.shared import Input

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
BackupMethod = Literal["logical", "physical"]


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
    method: BackupMethod = Field(default="logical", description="the method of its backups")

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
    method: BackupMethod | None = None

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
    method: str
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
