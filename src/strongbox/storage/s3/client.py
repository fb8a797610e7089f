"""Where a bucket is and how to reach it: the settings, and the boto3 client built from them
with its timeouts, retries and TLS verification."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.auth
from botocore.config import Config
from urllib3.exceptions import InsecureRequestWarning

from strongbox.storage.s3.lean_models import lean_botocore_session

# Few attempts: a person waits on check(), and a backup that cannot reach its storage should fail
# within seconds rather than minutes. "standard" retries throttling and 5xx with backoff.
MAX_ATTEMPTS = 3
# botocore hashes a request's body for its signature (over http: `s3_options`) in reads of this
# many bytes; its 1 MiB, one read per upload thread at a time, was 2 MiB of a backup's stream
# process at its peak (measured). A module setting read at each request; hashing speed is the
# same with 64 KiB reads.
botocore.auth.PAYLOAD_BUFFER = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """Where and how to reach one bucket. The secret never appears in `repr()`."""

    endpoint_url: str
    bucket: str
    region: str
    prefix: str = ""
    access_key_id: str
    secret_access_key: str = field(repr=False)
    verify_tls: bool = True
    # A PEM file of the CAs to verify the endpoint with, instead of the system's (verify_tls).
    ca_bundle_file: str | None = None
    force_path_style: bool = False
    timeout: float = 10.0


def make_client(settings: S3Settings, concurrency: int) -> Any:
    config = Config(
        connect_timeout=settings.timeout,
        read_timeout=settings.timeout,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        s3=s3_options(settings),
        # Room for the upload threads plus a few concurrent small requests.
        max_pool_connections=concurrency + 4,
        # botocore's default CRC checksums on every request are refused by several
        # S3-compatible servers; send them only where the S3 API requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    if not settings.verify_tls:
        _silence_insecure_warning(settings.endpoint_url)
    # A session of its own: boto3's default session is shared and not safe to create
    # clients from in several threads at once.
    session = boto3.session.Session(botocore_session=lean_botocore_session())
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region or None,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        verify=(settings.ca_bundle_file or True) if settings.verify_tls else False,
        config=config,
    )


def s3_options(settings: S3Settings) -> dict[str, Any]:
    """botocore's S3 options. Over https the body is not hashed for the SigV4 signature
    (UNSIGNED-PAYLOAD): TLS already protects it, and the hash cost a quarter of an upload's CPU.
    Over plain http the signature's hash is the only thing that detects a changed body, so it stays.

    >>> base = dict(bucket="b", region="", access_key_id="k", secret_access_key="s")
    >>> s3_options(S3Settings(endpoint_url="https://s3.example", **base))
    {'payload_signing_enabled': False}
    >>> s3_options(S3Settings(endpoint_url="HTTP://minio:9000", force_path_style=True, **base))
    {'payload_signing_enabled': True, 'addressing_style': 'path'}
    """
    over_tls = urlsplit(settings.endpoint_url).scheme.lower() == "https"
    options: dict[str, Any] = {"payload_signing_enabled": not over_tls}
    if settings.force_path_style:
        options["addressing_style"] = "path"
    return options


def tls_hint(settings: S3Settings) -> str:
    """The next step after a failed TLS handshake. Turning verification off comes last: it lets
    anyone between Strongbox and the server read and change backups."""
    if settings.ca_bundle_file is not None:
        return (
            "check that ca_bundle holds the certificate of the CA that signed the server's "
            "certificate, and that the certificate names the endpoint's host"
        )
    return (
        "if a private CA signed the server's certificate, give that CA's certificate (PEM) as "
        "ca_bundle; otherwise fix the server's certificate chain (verify_tls false turns "
        "verification off, for tests only)"
    )


def _silence_insecure_warning(endpoint_url: str) -> None:
    """verify_tls=false is a person's explicit choice for that endpoint; urllib3 would otherwise
    warn on every request. Only warnings about this endpoint's host are silenced."""
    host = urlsplit(endpoint_url).hostname or ""
    warnings.filterwarnings(
        "ignore",
        message=rf"Unverified HTTPS request is being made to host '{re.escape(host)}'",
        category=InsecureRequestWarning,
    )
