"""Databases: registering one, changing it, and what is shown of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

from strongbox.domain.production_hours import ProductionHours
from strongbox.engines.registry import EngineName
from strongbox.services.fields import (
    AgeRecipients,
    DbName,
    Description,
    Host,
    Name,
    Password,
    Username,
)
from strongbox.services.schemas.shared import LIST_MAX, Input, PemBundle, SslMode

Port = Annotated[int, Field(ge=1, le=65535)]
WORKER_QUEUE_HELP = (
    "with STRONGBOX_EXECUTOR=celery: the worker queue its backups and restores run on (workers "
    "started with `strongbox worker --queues NAME`, e.g. near the database); default: the "
    "default queue"
)
MaxRate = Annotated[
    float,
    Field(
        ge=1,
        le=100_000,
        description="the dump is read no faster than this many MB (10^6 bytes) per second; "
        "physical backups pass it to pg_basebackup --max-rate",
    ),
]
LockTimeout = Annotated[
    int,
    Field(
        ge=1,
        le=86_400,
        description="seconds a dump waits for a table lock (PostgreSQL) or a metadata lock "
        "(MySQL/MariaDB) before the backup fails, instead of queueing behind DDL",
    ),
]
FreshnessHours = Annotated[
    float,
    Field(
        gt=0,
        le=24 * 366,
        description="notify (event `freshness`) when no backup succeeded for this many hours, "
        "and again when one does",
    ),
]
BACKUP_SOURCE_HELP = (
    "a standby (PostgreSQL) or replica (MySQL/MariaDB) of this server that dumps read instead "
    "of it, reached with the same user, password and TLS; checked to be one. Restores and "
    "physical backups always use the server itself"
)


class BackupSourceAddress(Input):
    host: Host
    port: Port


class BackupSourceOut(BaseModel):
    host: str
    port: int
    lag_seconds: float | None = Field(
        description="how far the source was behind this server when it was last checked"
    )
    checked_at: datetime


class DatabaseCreate(Input):
    name: Name
    engine: EngineName
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
    max_rate_mb_per_s: MaxRate | None = Field(default=None, description="default: no limit")
    lock_timeout_seconds: LockTimeout = 60
    backup_source: BackupSourceAddress | None = Field(default=None, description=BACKUP_SOURCE_HELP)
    age_recipients: AgeRecipients = Field(default_factory=list)
    freshness_hours: FreshnessHours | None = Field(default=None, description="default: not watched")
    worker_queue: Name | None = Field(default=None, description=WORKER_QUEUE_HELP)


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
    max_rate_mb_per_s: MaxRate | None = Field(default=None, description="null removes the limit")
    lock_timeout_seconds: LockTimeout | None = None
    backup_source: BackupSourceAddress | None = Field(
        default=None, description="null: back up the server itself"
    )
    age_recipients: AgeRecipients | None = Field(
        default=None, description="replaces the list; [] stops encrypting"
    )
    freshness_hours: FreshnessHours | None = Field(default=None, description="null: not watched")
    worker_queue: Name | None = Field(default=None, description="null: the default queue")


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
    max_rate_mb_per_s: float | None
    lock_timeout_seconds: int
    backup_source: BackupSourceOut | None
    age_recipients: list[str] = Field(
        description="age recipients this database's backups are encrypted to, besides the storage's"
    )
    freshness_hours: float | None
    worker_queue: str | None = Field(
        default=None, description="the worker queue its jobs run on; null: the default queue"
    )
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(
        default_factory=list,
        description="what needs attention now: a point-in-time recovery stream that is lagging "
        "(its slot keeps WAL on the server) or broken",
    )
