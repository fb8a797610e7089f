"""Users, API tokens and the audit log: what goes in and what is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, SecretStr

from strongbox.domain.roles import Role
from strongbox.services.fields import Name
from strongbox.services.schemas.shared import Input

PASSWORD_MIN = 12
PASSWORD_MAX = 1024


def _password_rule(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if len(text) < PASSWORD_MIN:
        raise ValueError(f"a password has at least {PASSWORD_MIN} characters")
    if "\x00" in text:
        raise ValueError("a password cannot contain a NUL character")
    return value


NewPassword = Annotated[
    SecretStr,
    Field(max_length=PASSWORD_MAX, description=f"at least {PASSWORD_MIN} characters"),
    AfterValidator(_password_rule),
]
GivenPassword = Annotated[SecretStr, Field(min_length=1, max_length=PASSWORD_MAX)]
TIMESTAMP_MAX = 64


def _short_timestamp(value: object) -> object:
    if isinstance(value, str) and len(value) > TIMESTAMP_MAX:
        raise ValueError(f"a time is at most {TIMESTAMP_MAX} characters (ISO 8601)")
    return value


def _with_zone(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time needs a time zone, e.g. 2027-01-31T00:00:00Z")
    return value


# An ISO 8601 time with its zone in a request, bounded like every string a request sends.
Timestamp = Annotated[
    datetime,
    BeforeValidator(_short_timestamp),
    AfterValidator(_with_zone),
    Field(json_schema_extra={"maxLength": TIMESTAMP_MAX}),
]


class UserCreate(Input):
    name: Name
    role: Role
    password: NewPassword


class UserUpdate(Input):
    role: Role | None = None
    password: NewPassword | None = Field(default=None, description="set a new password")


class UserOut(BaseModel):
    name: str
    role: Role
    created_at: datetime
    updated_at: datetime


class PasswordChange(Input):
    current_password: GivenPassword
    new_password: NewPassword


class Me(BaseModel):
    """Who the request's token or session acts for."""

    user: str | None = Field(description="the user; null for a service token")
    token: str | None = Field(description="the API token used; null for a page session")
    role: Role


class TokenCreate(Input):
    name: Name
    role: Role | None = Field(default=None, description="default: your own role; never above it")
    expires_at: Timestamp | None = Field(default=None, description="with a time zone; null: never")
    service: bool = Field(
        default=False, description="a service token, owned by no user (admins only)"
    )


class TokenOut(BaseModel):
    name: str
    role: Role
    owner: str | None = Field(description="the user it acts for; null for a service token")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown only in this answer")


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="a user's name, token:<name> for a service token, anonymous")
    token: str | None
    role: Role | None
    action: str = Field(description="method and route, e.g. POST /api/v1/databases")
    resource: str = Field(description="the path asked for")
    address: str
    status: int
    outcome: str = Field(description="succeeded, refused or failed")


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_before: int | None = Field(
        description="pass as `before` for the next (older) page; null at the end"
    )
