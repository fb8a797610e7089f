"""The backup stream's reader: whole parts of the compressed dump, counted and hashed as handed
out, in objects cut where the storage asks."""

from __future__ import annotations

import hashlib
import io
import random

import zstandard

from strongbox.pipeline import READ_CHUNK, CompressingReader, PipelineOptions


class _Tool:
    """The dump program as the reader sees it: it ended well."""

    def check(self) -> None:
        return None

    def kill(self, reason: str) -> None:
        raise AssertionError(f"the tool was stopped: {reason}")


def _dump(size: int) -> bytes:
    # Half compressible text, half random bytes: each pull compresses to a different length.
    rng = random.Random(14)
    words = [rng.randbytes(rng.randrange(1, 64)).hex().encode() for _ in range(size // 200)]
    text = b" ".join(words)[: size // 2]
    return text + rng.randbytes(size - len(text))


def _reader(data: bytes, cut_at: int | None = None) -> CompressingReader:
    options = PipelineOptions(zstd_threads=1)
    return CompressingReader(io.BufferedReader(io.BytesIO(data)), _Tool(), options, cut_at=cut_at)  # type: ignore[arg-type]


def test_each_read_hands_out_exactly_the_size_asked_until_the_end() -> None:
    data = _dump(5 * READ_CHUNK + 12345)
    reader = _reader(data)
    part = READ_CHUNK + 4099  # never a multiple of what one pull gives
    parts = []
    while part_bytes := reader.read(part):
        parts.append(part_bytes)
    assert all(len(p) == part for p in parts[:-1])
    assert 0 < len(parts[-1]) <= part
    stored = b"".join(parts)
    assert zstandard.ZstdDecompressor().decompressobj().decompress(stored) == data
    assert reader.finished
    assert (reader.raw_bytes, reader.stored_bytes) == (len(data), len(stored))
    assert reader.sha256() == hashlib.sha256(stored).hexdigest()


def test_each_object_is_counted_and_hashed_on_its_own() -> None:
    # zstd holds only a few 1 MiB jobs in flight, so 16 MiB cannot all wait for the last flush.
    data = _dump(32 * READ_CHUNK)
    reader = _reader(data, cut_at=READ_CHUNK // 2)
    objects = []
    while True:
        stored = b"".join(iter(lambda: reader.read(300_000), b""))
        assert (reader.object_bytes, reader.object_sha256()) == (
            len(stored),
            hashlib.sha256(stored).hexdigest(),
        )
        objects.append(stored)
        if reader.finished:
            break
        reader.next_object()
    assert len(objects) >= 3
    restored = b"".join(zstandard.ZstdDecompressor().decompressobj().decompress(o) for o in objects)
    assert restored == data
    assert reader.sha256() == hashlib.sha256(b"".join(objects)).hexdigest()
