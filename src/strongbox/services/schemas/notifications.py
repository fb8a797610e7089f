"""Notification targets: where notifications go and which events they want."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from strongbox.services.fields import Name
from strongbox.services.schemas.shared import Input

Event = Literal[
    "backup_failed",
    "slot_skipped",
    "slot_missed",
    "restore_finished",
    "restore_failed",
    "worker_lost",
    "freshness",
]
EVENTS: tuple[Event, ...] = (
    "backup_failed",
    "slot_skipped",
    "slot_missed",
    "restore_finished",
    "restore_failed",
    "worker_lost",
    "freshness",
)
URL_MAX = 2048

AppriseUrl = Annotated[
    SecretStr,
    Field(
        min_length=3,
        max_length=URL_MAX,
        description="an apprise URL (mailto://, slack://, ntfy://, json://, ...); write-only: "
        "it holds tokens and passwords",
    ),
]
Events = Annotated[
    list[Event],
    Field(min_length=1, max_length=len(EVENTS), description="default: every event"),
]


class NotificationTargetCreate(Input):
    name: Name
    url: AppriseUrl
    events: Events = Field(default_factory=lambda: list(EVENTS))
    database: Name | None = Field(default=None, description="null: every database")


class NotificationTargetUpdate(Input):
    url: AppriseUrl | None = Field(default=None, description="left out: the stored one is kept")
    events: Events | None = None
    database: Name | None = Field(default=None, description="null: every database")


class NotificationTargetOut(BaseModel):
    name: str
    url_hint: str = Field(description="the URL with its secret parts masked")
    events: list[str]
    database: str | None
    created_at: datetime
    updated_at: datetime


class TestSent(BaseModel):
    delivered: bool
    detail: str
