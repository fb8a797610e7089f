"""Backup storages: what registering and changing one takes, and what is shown of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from strongbox.services.fields import (
    AccessKeyId,
    Bucket,
    Description,
    EndpointUrl,
    FolderPath,
    Name,
    Prefix,
    Region,
    Secret,
)
from strongbox.services.schemas.shared import Input, PemBundle

# --- backup storages ---------------------------------------------------------------------------


class S3StorageCreate(Input):
    type: Literal["s3"]
    name: Name
    description: Description = ""
    endpoint_url: EndpointUrl = Field(description="http(s)://host[:port] of the S3 API")
    bucket: Bucket
    region: Region = "us-east-1"
    prefix: Prefix = ""
    access_key_id: AccessKeyId
    secret_access_key: Secret
    verify_tls: bool = True
    ca_bundle: PemBundle | None = Field(
        default=None, description="CA certificates (PEM) to verify the endpoint with"
    )
    force_path_style: bool = False


class FilesystemStorageCreate(Input):
    type: Literal["filesystem"]
    name: Name
    description: Description = ""
    path: FolderPath = Field(description="absolute path of the folder on the Strongbox server")


StorageCreate = Annotated[S3StorageCreate | FilesystemStorageCreate, Field(discriminator="type")]


class StorageUpdate(Input):
    """Fields to change; absent fields keep their value. A secret left out keeps the stored one."""

    description: Description | None = None
    endpoint_url: EndpointUrl | None = None
    bucket: Bucket | None = None
    region: Region | None = None
    prefix: Prefix | None = None
    access_key_id: AccessKeyId | None = None
    secret_access_key: Secret | None = None
    verify_tls: bool | None = None
    ca_bundle: PemBundle | None = Field(default=None, description="null removes it")
    force_path_style: bool | None = None
    path: FolderPath | None = None


class StorageOut(BaseModel):
    name: str
    type: str
    description: str
    endpoint_url: str | None = None
    bucket: str | None = None
    region: str | None = None
    prefix: str | None = None
    access_key_id: str | None = None
    verify_tls: bool | None = None
    ca_bundle: str | None = None
    force_path_style: bool | None = None
    path: str | None = None
    created_at: datetime
    updated_at: datetime
