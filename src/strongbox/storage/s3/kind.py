"""The `s3` storage kind: an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph RGW...)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from strongbox.certificates import ca_file
from strongbox.errors import invalid
from strongbox.services.fields import (
    AccessKeyId,
    AgeRecipients,
    Bucket,
    Description,
    EndpointUrl,
    Name,
    Prefix,
    Region,
    Secret,
)
from strongbox.services.schemas import Input, PemBundle
from strongbox.storage.base import BackupStorage
from strongbox.storage.kind import FormField, OpenOptions, StorageKind
from strongbox.storage.light_open import LightOpen
from strongbox.storage.s3.client import S3Settings
from strongbox.storage.s3.light import light_open
from strongbox.storage.s3.storage import S3Storage


class S3StorageCreate(Input):
    type: Literal["s3"]
    name: Name
    description: Description = ""
    age_recipients: AgeRecipients = Field(default_factory=list)
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


class S3StorageUpdate(Input):
    endpoint_url: EndpointUrl | None = None
    bucket: Bucket | None = None
    region: Region | None = None
    prefix: Prefix | None = None
    access_key_id: AccessKeyId | None = None
    secret_access_key: Secret | None = None
    verify_tls: bool | None = None
    ca_bundle: PemBundle | None = Field(default=None, description="null removes it")
    force_path_style: bool | None = None


class S3StorageOut(BaseModel):
    endpoint_url: str
    bucket: str
    region: str
    prefix: str
    access_key_id: str
    verify_tls: bool
    ca_bundle: str | None
    force_path_style: bool


def _config(settings: Mapping[str, Any], secret: str | None, options: OpenOptions) -> S3Settings:
    values = dict(settings)
    bundle = values.pop("ca_bundle", None)
    return S3Settings(
        **values,
        ca_bundle_file=str(ca_file(bundle, options.data_dir)) if bundle else None,
        secret_access_key=secret or "",
        timeout=options.timeout,
    )


def _open(settings: Mapping[str, Any], secret: str | None, options: OpenOptions) -> BackupStorage:
    config = _config(settings, secret, options)
    return _shared_storage(config, options.upload_concurrency, options.parts_per_object)


def _light_open(settings: Mapping[str, Any], secret: str | None, options: OpenOptions) -> LightOpen:
    config = _config(settings, secret, options)
    return light_open(config, options.upload_concurrency, options.parts_per_object)


_OPEN_LOCK = threading.Lock()
_OPEN: OrderedDict[tuple[S3Settings, int, int], S3Storage] = OrderedDict()
MAX_OPEN_STORAGES = 32


def _shared_storage(config: S3Settings, concurrency: int, parts_per_object: int) -> S3Storage:
    """One `S3Storage` (so one boto3 client and its connection pool) per storage settings,
    reused by every backup, restore and WAL upload: building a client costs tens of
    milliseconds of CPU and some megabytes. The settings, secret included, are the key, so a
    changed storage gets a new client; the least recently used are dropped beyond a bound."""
    key = (config, concurrency, parts_per_object)
    with _OPEN_LOCK:
        storage = _OPEN.get(key)
        if storage is None:
            storage = S3Storage(
                config, upload_concurrency=concurrency, parts_per_object=parts_per_object
            )
            _OPEN[key] = storage
            while len(_OPEN) > MAX_OPEN_STORAGES:
                _OPEN.popitem(last=False)  # not closed: a running job may still use it
        _OPEN.move_to_end(key)
        return storage


def _refuse_unused_ca_bundle(settings: Mapping[str, Any]) -> None:
    """A CA bundle that would not be used (no verification, or no TLS at all) is refused, so
    that it never looks like verification that is not happening."""
    if not settings.get("ca_bundle"):
        return
    if not settings.get("verify_tls", True):
        problem = "verify_tls is false, so the endpoint's certificate is not checked at all"
    elif not str(settings.get("endpoint_url", "")).lower().startswith("https://"):
        problem = "the endpoint is http://, without TLS"
    else:
        return
    raise invalid(
        f"ca_bundle would not be used: {problem}; set verify_tls true with an https:// "
        "endpoint, or remove ca_bundle",
        "invalid-tls-settings",
        field_name="body.ca_bundle",
    )


S3 = StorageKind(
    name="s3",
    label="S3-compatible",
    create_model=S3StorageCreate,
    update_model=S3StorageUpdate,
    out_model=S3StorageOut,
    open=_open,
    light_open=_light_open,
    location=lambda settings, key_prefix: f"s3://{settings['bucket']}/{key_prefix}",
    where=lambda s: f"{s['bucket']}/{s['prefix']}" if s.get("prefix") else str(s["bucket"]),
    secret_field="secret_access_key",  # noqa: S106 - a field name
    unsettable=frozenset({"ca_bundle"}),
    refuse_settings=_refuse_unused_ca_bundle,
    key_prefix=lambda settings: str(settings.get("prefix") or ""),
    form_fields=(
        FormField("endpoint_url", "Endpoint", hint="http(s)://host[:port]"),
        FormField("bucket", "Bucket"),
        FormField("region", "Region", attrs='placeholder="us-east-1"'),
        FormField("prefix", "Prefix", hint="optional folder inside the bucket", when_empty="blank"),
        FormField("access_key_id", "Access key"),
        FormField(
            "secret_access_key",
            "Secret key",
            widget="password",
            hint_when_editing="leave empty to keep the stored secret key",
            attrs='autocomplete="new-password"',
        ),
        FormField("verify_tls", "Verify TLS", widget="checkbox", checked_by_default=True),
        FormField(
            "ca_bundle",
            "CA certificates",
            widget="textarea",
            hint="optional, PEM: the certificate of the private CA that signed the endpoint's "
            "certificate",
            attrs='spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----"',
            when_empty="clear",
        ),
        FormField("force_path_style", "Force path-style", widget="checkbox"),
    ),
)
