"""S3-compatible backup storage (AWS S3, MinIO, SeaweedFS, Ceph RGW...) through boto3.

Keys given to every method are full object keys: the storage prefix is already part of them
(`strongbox.domain.keys` builds them). `S3Settings.prefix` is kept so that callers can read it and
so that `check()` puts its probe object where backups will go.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import InsecureRequestWarning

from strongbox.domain.keys import probe_key
from strongbox.domain.partsize import part_size_for
from strongbox.errors import ErrorKind, StrongboxError, invalid, not_found, refused
from strongbox.storage.base import (
    ACCESS_DENIED,
    BAD_CREDENTIALS,
    FAILED,
    NO_SUCH_BUCKET,
    NOT_FOUND,
    TLS_FAILURE,
    UNREACHABLE,
    ObjectInfo,
    Readable,
)

log = logging.getLogger(__name__)

# Few attempts: a person waits on check(), and a backup that cannot reach its storage should fail
# within seconds rather than minutes. "standard" retries throttling and 5xx with backoff.
MAX_ATTEMPTS = 3
DELETE_BATCH = 1000  # the most keys one DeleteObjects request accepts
READ_BUFFER = 1024 * 1024

_CREDENTIAL_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"})
_MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_REGION_CODES = frozenset({"AuthorizationHeaderMalformed", "PermanentRedirect", "301"})
# The permission each operation needs, named in ACCESS_DENIED messages.
_OPEN = "open the bucket"
_WRITE = "write the probe object"
_READ = "read the probe object"
_LIST = "list the probe object"
_DELETE = "delete the probe object"
_PERMISSIONS = {
    _OPEN: "s3:ListBucket",
    _WRITE: "s3:PutObject",
    _READ: "s3:GetObject",
    _LIST: "s3:ListBucket",
    _DELETE: "s3:DeleteObject",
}


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


class S3Storage:
    """`BackupStorage` on one bucket. Thread-safe: one boto3 client is shared by all calls."""

    def __init__(self, settings: S3Settings, *, upload_concurrency: int = 4) -> None:
        self.settings = settings
        self._concurrency = max(1, upload_concurrency)
        self._client: Any = _make_client(settings, self._concurrency)

    def close(self) -> None:
        """Close the client's pooled connections (optional; garbage collection also does it)."""
        self._client.close()

    # -- check ---------------------------------------------------------------------------------

    def check(self) -> None:
        """Prove live access: head the bucket, then put, get, list and delete a probe object
        under the prefix. Raises StrongboxError (REFUSED) with a code from `storage.base` and a
        message naming what failed and how to fix it; never mentions the secret key."""
        self._check_step(_OPEN, self._head_bucket)
        probe = _probe_key(self.settings.prefix)
        body = secrets.token_bytes(32)
        self._check_step(_WRITE, lambda: self._put(probe, body))
        try:
            self._check_step(_READ, lambda: self._verify_probe(probe, body))
            self._check_step(_LIST, lambda: self._verify_listed(probe))
        except StrongboxError:
            # Leave nothing behind, but report the first failure, not a failed cleanup.
            with suppress(ClientError, BotoCoreError):
                self._delete_object(probe)
            raise
        self._check_step(_DELETE, lambda: self._delete_object(probe))

    def _head_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except ClientError as exc:
            if _error_code(exc) != "403":
                raise
            # A HEAD response has no body, so a 403 does not say whether the keys are wrong or
            # only lack permission: ask again with a request whose error names the cause.
            self._client.list_objects_v2(Bucket=self._bucket, MaxKeys=1)

    def _verify_probe(self, probe: str, body: bytes) -> None:
        got = self._client.get_object(Bucket=self._bucket, Key=probe)["Body"].read()
        if got != body:
            raise refused(
                f"the probe object read back from bucket '{self._bucket}' at "
                f"{self.settings.endpoint_url} differs from what was written: check that the "
                "endpoint is an S3-compatible server and that no proxy rewrites the data",
                FAILED,
                field_name="endpoint_url",
            )

    def _verify_listed(self, probe: str) -> None:
        if not any(info.key == probe for info in self._list(probe)):
            raise refused(
                f"the probe object written to bucket '{self._bucket}' at "
                f"{self.settings.endpoint_url} is missing from its listing: the server's listing "
                "is not consistent, so backups could not be found again",
                FAILED,
            )

    def _check_step(self, operation: str, step: Callable[[], object]) -> None:
        try:
            step()
        except (ClientError, BotoCoreError) as exc:
            raise self._check_error(operation, exc) from exc

    def _check_error(self, operation: str, exc: Exception) -> StrongboxError:
        """The REFUSED error for a failed check step: what failed and the next step."""
        s = self.settings
        if isinstance(exc, SSLError):
            return refused(
                f"TLS failed with {s.endpoint_url} ({_reason(exc)}): {_tls_hint(s)}",
                TLS_FAILURE,
                field_name="ca_bundle",
            )
        if _is_unreachable(exc):
            return refused(
                f"cannot reach {s.endpoint_url} ({_reason(exc)}): check the endpoint URL, that "
                "the server is running and that no firewall blocks it",
                UNREACHABLE,
                field_name="endpoint_url",
            )
        code = _error_code(exc)
        if code in _CREDENTIAL_CODES or (code == "403" and operation == _OPEN):
            return refused(
                f"the access key or secret key was refused by {s.endpoint_url} ({code}): check "
                f"access_key_id '{s.access_key_id}' and re-enter its secret_access_key",
                BAD_CREDENTIALS,
                field_name="secret_access_key",
            )
        if code == "NoSuchBucket" or (code in _MISSING_BUCKET_CODES and operation == _OPEN):
            return refused(
                f"bucket '{s.bucket}' does not exist at {s.endpoint_url}: "
                "create it or fix the name",
                NO_SUCH_BUCKET,
                field_name="bucket",
            )
        if code in ("AccessDenied", "403"):
            return refused(
                f"access key '{s.access_key_id}' may not {operation} in bucket '{s.bucket}' at "
                f"{s.endpoint_url} (AccessDenied): grant it {_PERMISSIONS[operation]} on the "
                "bucket and prefix",
                ACCESS_DENIED,
            )
        if code in _REGION_CODES:
            return refused(
                f"bucket '{s.bucket}' at {s.endpoint_url} is not in region '{s.region}' "
                f"({code}): set the bucket's region",
                FAILED,
                field_name="region",
            )
        return refused(
            f"could not {operation} in bucket '{s.bucket}' at {s.endpoint_url}: {_reason(exc)}",
            FAILED,
        )

    # -- objects -------------------------------------------------------------------------------

    def put_stream(self, key: str, stream: Readable, expected_size: int | None) -> None:
        """Upload everything `stream.read()` gives under `key`, as a multipart upload when it
        exceeds one part (`part_size_for(expected_size)`).

        Memory stays about (upload_concurrency + 2) x part size: parts are read into memory and
        s3transfer holds at most upload_concurrency + 1 of them. If `stream.read()` raises, that
        same exception propagates; a failed upload raises StrongboxError (UNREACHABLE or FAILED).
        Either way the multipart upload is aborted, so nothing is left under `key`.
        """
        part = part_size_for(expected_size)
        config = TransferConfig(
            multipart_threshold=part,
            multipart_chunksize=part,
            max_concurrency=self._concurrency,
            preferred_transfer_client="classic",
        )
        # An attribute of s3transfer's config that boto3's constructor does not take: the number
        # of parts read from a non-seekable stream that may wait in memory for an upload thread.
        config.max_in_memory_upload_chunks = self._concurrency + 1
        reader = _PartReader(stream)
        try:
            with create_transfer_manager(self._client, config) as manager:
                future = manager.upload(reader, self._bucket, key)
                reader.stop_if = future.done
                future.result()
        except BaseException as exc:
            self._abort_quietly(key)
            if exc is reader.error or not isinstance(exc, ClientError | BotoCoreError):
                raise
            raise self._runtime_error("upload", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object whole, replacing any object under `key`."""
        try:
            self._put(key, data)
        except (ClientError, BotoCoreError) as exc:
            raise self._runtime_error("write", key, exc) from exc

    @contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        """A buffered streaming reader of the object. Raises StrongboxError NOT_FOUND if it is
        absent, and UNREACHABLE or FAILED if the connection fails while reading."""
        body = self._get_body(key)
        raw = _BodyReader(body, lambda exc: self._runtime_error("read", key, exc))
        with io.BufferedReader(raw, buffer_size=READ_BUFFER) as reader:
            yield reader

    def get_bytes(self, key: str) -> bytes:
        """The whole object. NOT_FOUND if it is absent."""
        body = self._get_body(key)
        try:
            return bytes(body.read())
        except BotoCoreError as exc:
            raise self._runtime_error("read", key, exc) from exc
        finally:
            body.close()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order (S3 lists in that order)."""
        try:
            yield from self._list(prefix)
        except (ClientError, BotoCoreError) as exc:
            raise self._runtime_error("list", prefix, exc) from exc

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` and abort the incomplete uploads there; returns
        the number of objects deleted. An empty prefix is refused: it would empty the bucket."""
        _refuse_empty(prefix)
        deleted = 0
        try:
            batch: list[str] = []
            for info in self._list(prefix):
                batch.append(info.key)
                if len(batch) == DELETE_BATCH:
                    deleted += self._delete_batch(batch)
                    batch = []
            if batch:
                deleted += self._delete_batch(batch)
        except (ClientError, BotoCoreError) as exc:
            raise self._runtime_error("delete", prefix, exc) from exc
        self.abort_incomplete(prefix)
        return deleted

    def abort_incomplete(self, prefix: str) -> int:
        """Abort the incomplete multipart uploads under `prefix`; returns how many."""
        try:
            return self._abort_uploads(prefix, lambda _key: True)
        except (ClientError, BotoCoreError) as exc:
            raise self._runtime_error("abort incomplete uploads under", prefix, exc) from exc

    # -- helpers -------------------------------------------------------------------------------

    @property
    def _bucket(self) -> str:
        return self.settings.bucket

    def _put(self, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=data)

    def _delete_object(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def _get_body(self, key: str) -> Any:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as exc:
            if _error_code(exc) in _MISSING_KEY_CODES:
                raise not_found(
                    f"object '{key}' does not exist in bucket '{self._bucket}' at "
                    f"{self.settings.endpoint_url}",
                    NOT_FOUND,
                ) from exc
            raise self._runtime_error("read", key, exc) from exc
        except BotoCoreError as exc:
            raise self._runtime_error("read", key, exc) from exc

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self._client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(key=item["Key"], size=int(item["Size"]))

    def _delete_batch(self, keys: Sequence[str]) -> int:
        response = self._client.delete_objects(
            Bucket=self._bucket,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StrongboxError(
                f"could not delete {len(errors)} object(s) in bucket '{self._bucket}' at "
                f"{self.settings.endpoint_url}, e.g. '{first.get('Key')}' "
                f"({first.get('Code')}: {first.get('Message')})",
                FAILED,
                ErrorKind.REFUSED,
            )
        return len(keys)

    def _abort_uploads(self, prefix: str, wanted: Callable[[str], bool]) -> int:
        pages = self._client.get_paginator("list_multipart_uploads")
        aborted = 0
        for page in pages.paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if wanted(upload["Key"]):
                    self._client.abort_multipart_upload(
                        Bucket=self._bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    def _abort_quietly(self, key: str) -> None:
        """Abort leftover uploads of exactly `key` after a failed upload. s3transfer aborts its
        own upload already; this covers the case where that abort itself failed. Errors are
        only logged: the server may be the reason the upload failed."""
        try:
            count = self._abort_uploads(key, lambda k: k == key)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not abort the incomplete upload of %s: %s", key, _reason(exc))
        else:
            if count:
                log.info("aborted %d incomplete upload(s) of %s", count, key)

    def _runtime_error(self, operation: str, key: str, exc: Exception) -> StrongboxError:
        """The error for a failed operation on `key`: TLS_FAILURE when the endpoint's certificate
        was refused, UNREACHABLE when it cannot be reached, FAILED otherwise, with the S3 error
        code in the message."""
        where = f"bucket '{self._bucket}' at {self.settings.endpoint_url}"
        if isinstance(exc, SSLError):
            return StrongboxError(
                f"could not {operation} '{key}': TLS failed with {where} ({_reason(exc)}); "
                f"{_tls_hint(self.settings)}",
                TLS_FAILURE,
                ErrorKind.REFUSED,
            )
        if _is_unreachable(exc):
            return StrongboxError(
                f"could not {operation} '{key}': cannot reach {where} ({_reason(exc)}); "
                "check that the server is running and reachable",
                UNREACHABLE,
                ErrorKind.REFUSED,
            )
        return StrongboxError(
            f"could not {operation} '{key}' in {where}: {_reason(exc)}",
            FAILED,
            ErrorKind.REFUSED,
        )


class _BodyReader(io.RawIOBase):
    """A response body as a raw binary stream whose failures are StrongboxErrors."""

    def __init__(self, body: Any, to_error: Callable[[Exception], StrongboxError]) -> None:
        self._body = body
        self._to_error = to_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except BotoCoreError as exc:
            raise self._to_error(exc) from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class _PartReader:
    """The caller's stream as s3transfer needs it: non-seekable, and `read(n)` returns exactly
    `n` bytes until the end.

    s3transfer takes each `read(part_size)` as one whole part, so a short read (normal for a pipe)
    would make a part under S3's 5 MiB minimum; this loops until the part is full. It remembers the
    exception the stream raised, so that put_stream can tell the caller's error from boto's, and
    stops reading once the transfer has failed (`stop_if`), so that a dead server does not make
    s3transfer read the whole rest of the dump before reporting the failure.
    """

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.error: BaseException | None = None
        self.stop_if: Callable[[], bool] = lambda: False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        if self.stop_if():
            # The transfer already failed with its own error, which is the one reported.
            raise _TransferFailed
        chunks: list[bytes] = []
        wanted = size
        while size < 0 or wanted > 0:
            chunk = self._read_once(wanted if size >= 0 else -1)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def _read_once(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise


class _TransferFailed(Exception):
    """Internal: stop reading because the upload has already failed."""


def _make_client(settings: S3Settings, concurrency: int) -> Any:
    config = Config(
        connect_timeout=settings.timeout,
        read_timeout=settings.timeout,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        s3={"addressing_style": "path"} if settings.force_path_style else None,
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
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region or None,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        verify=(settings.ca_bundle_file or True) if settings.verify_tls else False,
        config=config,
    )


def _tls_hint(settings: S3Settings) -> str:
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


def _probe_key(prefix: str) -> str:
    """
    >>> _probe_key("team/backups/").startswith("team/backups/.strongbox-probe-")
    True
    >>> _probe_key("").startswith(".strongbox-probe-")
    True
    """
    return probe_key(prefix, secrets.token_hex(8))


def _refuse_empty(prefix: str) -> None:
    if not prefix.strip("/"):
        raise invalid(
            "refusing to delete every object in the bucket: the prefix to delete is empty",
            "storage-empty-prefix",
        )


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _is_unreachable(exc: BaseException) -> bool:
    """Connection refused, timed out or dropped. A TLS failure is a connection error to
    botocore, but its fix differs, so it is not counted here."""
    unreachable = BotoConnectionError | ReadTimeoutError | ConnectionClosedError
    return isinstance(exc, unreachable) and not isinstance(exc, SSLError)


def _reason(exc: BaseException) -> str:
    """A short readable reason: the S3 error code and message, or the connection error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        return f"{code}: {message}" if message else str(code)
    return str(exc)
