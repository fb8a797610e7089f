"""`S3Storage`: the `BackupStorage` operations on one bucket (check, upload, read, list, delete).

Beside it: the settings and boto3 client (`client.py`), the wording of errors (`errors.py`) and
the stream adapters for uploads and reads (`streams.py`).

Keys given to every method are full object keys: the storage prefix is already part of them
(`strongbox.domain.keys` builds them). `S3Settings.prefix` is kept so that callers can read it and
so that `check()` puts its probe object where backups will go.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import BotoCoreError, ClientError

from strongbox.domain.keys import probe_key
from strongbox.domain.partsize import MAX_PARTS, part_plan
from strongbox.errors import ErrorKind, StrongboxError, invalid, not_found, refused
from strongbox.storage.base import FAILED, NOT_FOUND, ObjectInfo, Readable
from strongbox.storage.s3.client import S3Settings, make_client
from strongbox.storage.s3.errors import (
    DELETE,
    LIST,
    MISSING_KEY_CODES,
    OPEN,
    READ,
    WRITE,
    check_error,
    error_code,
    reason,
    runtime_error,
)
from strongbox.storage.s3.streams import BodyReader, PartReader

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # the most keys one DeleteObjects request accepts
READ_BUFFER = 1024 * 1024


class S3Storage:
    """`BackupStorage` on one bucket. Thread-safe: one boto3 client is shared by all calls
    (boto3 documents clients, unlike sessions and resources, as safe to share between threads).
    """

    def __init__(
        self,
        settings: S3Settings,
        *,
        upload_concurrency: int = 2,
        parts_per_object: int = MAX_PARTS,
    ) -> None:
        self.settings = settings
        self._concurrency = max(1, upload_concurrency)
        self._parts_per_object = parts_per_object
        # An artifact continues in a new object after this many stored bytes (`BackupStorage`).
        self.cut_at: int | None = part_plan(
            None, concurrency=self._concurrency, parts_per_object=parts_per_object
        ).cut_at
        self._client: Any = make_client(settings, self._concurrency)

    def close(self) -> None:
        """Close the client's pooled connections (optional; garbage collection also does it)."""
        self._client.close()

    # -- check ---------------------------------------------------------------------------------

    def check(self) -> None:
        """Prove live access: head the bucket, then put, get, list and delete a probe object
        under the prefix. Raises StrongboxError (REFUSED) with a code from `storage.base` and a
        message naming what failed and how to fix it; never mentions the secret key."""
        self._check_step(OPEN, self._head_bucket)
        probe = _probe_key(self.settings.prefix)
        body = secrets.token_bytes(32)
        self._check_step(WRITE, lambda: self._put(probe, body))
        try:
            self._check_step(READ, lambda: self._verify_probe(probe, body))
            self._check_step(LIST, lambda: self._verify_listed(probe))
        except StrongboxError:
            # Leave nothing behind, but report the first failure, not a failed cleanup.
            with suppress(ClientError, BotoCoreError):
                self._delete_object(probe)
            raise
        self._check_step(DELETE, lambda: self._delete_object(probe))

    def _head_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except ClientError as exc:
            if error_code(exc) != "403":
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
            raise check_error(self.settings, operation, exc) from exc

    # -- objects -------------------------------------------------------------------------------

    def put_stream(self, key: str, stream: Readable, expected_size: int | None) -> None:
        """Upload everything `stream.read()` gives under `key`, as a multipart upload when it
        exceeds one part (`domain.partsize.part_plan`).

        Memory stays `PartPlan.memory_bytes` whatever the size: parts are read into memory and
        s3transfer holds a fixed number of them. A stream longer than one object may hold is
        refused (the caller cuts artifacts at `cut_at`). If `stream.read()` raises, that same
        exception propagates; a failed upload raises StrongboxError (UNREACHABLE or FAILED).
        Either way the multipart upload is aborted, so nothing is left under `key`.
        """
        plan = part_plan(
            expected_size, concurrency=self._concurrency, parts_per_object=self._parts_per_object
        )
        config = TransferConfig(
            multipart_threshold=plan.part_size,
            multipart_chunksize=plan.part_size,
            max_concurrency=plan.concurrency,
            preferred_transfer_client="classic",
        )
        # An attribute of s3transfer's config that boto3's constructor does not take: the number
        # of parts read from a non-seekable stream that may wait in memory for an upload thread.
        config.max_in_memory_upload_chunks = plan.parts_in_memory
        reader = PartReader(stream, limit=plan.object_bytes)
        try:
            with create_transfer_manager(self._client, config) as manager:
                future = manager.upload(reader, self._bucket, key)
                reader.stop_if = future.done
                future.result()
        except BaseException as exc:
            self._abort_quietly(key)
            if exc is reader.error or not isinstance(exc, ClientError | BotoCoreError):
                raise
            raise self._error("upload", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object whole, replacing any object under `key`."""
        try:
            self._put(key, data)
        except (ClientError, BotoCoreError) as exc:
            raise self._error("write", key, exc) from exc

    @contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        """A buffered streaming reader of the object. Raises StrongboxError NOT_FOUND if it is
        absent, and UNREACHABLE or FAILED if the connection fails while reading."""
        body = self._get_body(key)
        raw = BodyReader(body, lambda exc: self._error("read", key, exc))
        with io.BufferedReader(raw, buffer_size=READ_BUFFER) as reader:
            yield reader

    def get_bytes(self, key: str) -> bytes:
        """The whole object. NOT_FOUND if it is absent."""
        body = self._get_body(key)
        try:
            return bytes(body.read())
        except BotoCoreError as exc:
            raise self._error("read", key, exc) from exc
        finally:
            body.close()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order (S3 lists in that order)."""
        try:
            yield from self._list(prefix)
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list", prefix, exc) from exc

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
            raise self._error("delete", prefix, exc) from exc
        self.abort_incomplete(prefix)
        return deleted

    def abort_incomplete(self, prefix: str) -> int:
        """Abort the incomplete multipart uploads under `prefix`; returns how many."""
        try:
            return self._abort_uploads(prefix, lambda _key: True)
        except (ClientError, BotoCoreError) as exc:
            raise self._error("abort incomplete uploads under", prefix, exc) from exc

    # -- helpers -------------------------------------------------------------------------------

    def _error(self, operation: str, key: str, exc: Exception) -> StrongboxError:
        return runtime_error(self.settings, operation, key, exc)

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
            if error_code(exc) in MISSING_KEY_CODES:
                raise not_found(
                    f"object '{key}' does not exist in bucket '{self._bucket}' at "
                    f"{self.settings.endpoint_url}",
                    NOT_FOUND,
                ) from exc
            raise self._error("read", key, exc) from exc
        except BotoCoreError as exc:
            raise self._error("read", key, exc) from exc

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
            log.warning("could not abort the incomplete upload of %s: %s", key, reason(exc))
        else:
            if count:
                log.info("aborted %d incomplete upload(s) of %s", count, key)


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
