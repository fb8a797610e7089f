"""Databases: registering one, changing it, and what is shown of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

from strongbox.domain.production_hours import ProductionHours
from strongbox.engines.registry import EngineName
from strongbox.services.fields import DbName, Description, Host, Name, Password, Username
from strongbox.services.schemas.shared import LIST_MAX, Input, PemBundle, SslMode


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
    warnings: list[str] = Field(
        default_factory=list,
        description="what needs attention now: a point-in-time recovery stream that is lagging "
        "(its slot keeps WAL on the server) or broken",
    )
