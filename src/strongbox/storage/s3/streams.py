"""The streams between callers and boto3: a response body that reads as a file, and the
caller's dump stream cut into whole parts for a multipart upload."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError

from strongbox.errors import StrongboxError
from strongbox.storage.base import Readable


class BodyReader(io.RawIOBase):
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


class PartReader:
    """The caller's stream as s3transfer needs it: non-seekable, and `read(n)` returns exactly
    `n` bytes until the end.

    s3transfer takes each `read(part_size)` as one whole part, so a short read (normal for a pipe)
    would make a part under S3's 5 MiB minimum; this loops until the part is full. It remembers the
    exception the stream raised, so that put_stream can tell the caller's error from boto's, and
    stops reading once the transfer has failed (`stop_if`), so that a dead server does not make
    s3transfer read the whole rest of the dump before reporting the failure.
    """

    def __init__(self, stream: Readable, *, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._total = 0
        self.error: BaseException | None = None
        self.stop_if: Callable[[], bool] = lambda: False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        if self.stop_if():
            # The transfer already failed with its own error, which is the one reported.
            raise TransferFailed
        chunks: list[bytes] = []
        wanted = size
        while size < 0 or wanted > 0:
            chunk = self._read_once(wanted if size >= 0 else -1)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
            self._total += len(chunk)
        if self._total > self._limit:
            # S3 would refuse part 10,001 only after the upload of the rest; say why now.
            self.error = StrongboxError(
                f"the stream is longer than the {self._limit} bytes one object may hold; it "
                "should have been cut into several objects"
            )
            raise self.error
        return b"".join(chunks)

    def _read_once(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise


class TransferFailed(Exception):
    """Internal: stop reading because the upload has already failed."""
