"""How the age stage hands bytes from its pyrage thread to the reader, and hashes what it hands
out: any sizes round trip, every stored object gets its own checksum, and either side can stop
or fail the other."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator

import pyrage
import pytest
from pyrage import x25519

from strongbox import age_stream
from strongbox.age_stream import HANDOFF_BYTES, ObjectStream, _Pieces
from strongbox.errors import StrongboxError
from strongbox.stream_hashes import StreamHashes

TEAM = x25519.Identity.generate()
RECIPIENT = str(TEAM.to_public())


class Plain:
    """An inner stream of `data`, whose objects end every `cut` bytes (as compressed frames do)
    and which fails once `fail_at` bytes were read."""

    def __init__(self, data: bytes, cut: int | None = None, fail_at: int | None = None) -> None:
        self._data = data
        self._cut = cut
        self._fail_at = fail_at
        self._at = 0
        self._object_start = 0
        self.stored_bytes = 0
        self.object_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        if self._fail_at is not None and self._at >= self._fail_at:
            raise StrongboxError("the dump failed", "tool-failed")
        end = len(self._data)
        if self._cut is not None:
            end = min(end, self._object_start + self._cut)
        out = self._data[self._at : end if size < 0 else min(end, self._at + size)]
        self._at += len(out)
        return out

    @property
    def finished(self) -> bool:
        return self._at == len(self._data)

    def next_object(self) -> None:
        self._object_start = self._at

    def object_sha256(self) -> str:
        return ""

    def sha256(self) -> str:
        return ""


def stored(stream: ObjectStream, part: int) -> list[tuple[bytes, str]]:
    """Each object the storage would store, with the checksum the stream gives for it."""
    objects = []
    while True:
        data = bytearray()
        while chunk := stream.read(part):
            data += chunk
        objects.append((bytes(data), stream.object_sha256()))
        if stream.finished:
            return objects
        stream.next_object()


def age_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "strongbox-age"]


def test_the_first_objects_sum_is_the_whole_streams_and_later_objects_get_their_own() -> None:
    hashes = StreamHashes()
    hashes.update(b"first ")
    hashes.update(b"object")
    assert hashes.current_object() == hashlib.sha256(b"first object").hexdigest()
    hashes.next_object()
    hashes.update(b"second")
    assert hashes.current_object() == hashlib.sha256(b"second").hexdigest()
    hashes.next_object()
    assert hashes.current_object() == hashlib.sha256(b"").hexdigest()
    assert hashes.whole() == hashlib.sha256(b"first objectsecond").hexdigest()


def test_pieces_are_handed_out_in_order_in_any_sizes_across_their_edges() -> None:
    pieces = _Pieces()
    pieces.extend([b"abc", b"defg"])
    pieces.extend([b"h"])
    assert pieces.size == 8
    assert [pieces.take(2), pieces.take(3), pieces.take(2), pieces.take(10), pieces.take(4)] == [
        b"ab",
        b"cde",
        b"fg",
        b"h",
        b"",
    ]
    assert pieces.size == 0


@pytest.mark.parametrize(
    ("size", "cut_at", "part"),
    [
        (0, None, 65_536),
        (1, None, 1),
        (HANDOFF_BYTES, HANDOFF_BYTES, HANDOFF_BYTES),  # ends exactly at a handoff and a cut
        (2 * HANDOFF_BYTES + 12_345, 777_777, 99_991),
        (3 * HANDOFF_BYTES + 7, None, 8 * 1024 * 1024),
    ],
)
def test_any_sizes_encrypt_to_one_age_stream_that_decrypts_back_with_every_objects_sum(
    size: int, cut_at: int | None, part: int
) -> None:
    plain = os.urandom(size)
    with age_stream.encrypting(Plain(plain, cut=333_333), [RECIPIENT], cut_at) as stream:
        objects = stored(stream, part)
        whole = b"".join(data for data, _ in objects)
        assert stream.sha256() == hashlib.sha256(whole).hexdigest()
        assert stream.stored_bytes == len(whole)
    for data, sha in objects:
        assert sha == hashlib.sha256(data).hexdigest()
    if cut_at is not None:
        assert all(len(data) == cut_at for data, _ in objects[:-1])
        assert len(objects) == -(-len(whole) // cut_at)
    assert pyrage.decrypt(whole, [TEAM]) == plain
    chunks = iter([whole[i : i + 12_345] for i in range(0, len(whole), 12_345)])
    assert b"".join(age_stream.decrypted(chunks, [TEAM], "a")) == plain


def test_a_reader_that_stops_early_ends_the_encrypting_thread() -> None:
    before = age_threads()
    with age_stream.encrypting(Plain(os.urandom(12 * HANDOFF_BYTES)), [RECIPIENT], None) as stream:
        assert stream.read(1000)
        assert len(age_threads()) == len(before) + 1  # blocked on the full queue
    assert age_threads() == before


def test_a_consumer_that_stops_early_ends_the_decrypting_thread() -> None:
    data = pyrage.encrypt(os.urandom(12 * HANDOFF_BYTES), [TEAM.to_public()])
    before = age_threads()
    plain = age_stream.decrypted(iter([data[:HANDOFF_BYTES], data[HANDOFF_BYTES:]]), [TEAM], "a")
    assert next(plain)
    plain.close()
    assert age_threads() == before


def test_the_dumps_error_after_several_handoffs_reaches_the_reader_after_the_bytes_before() -> None:
    inner = Plain(os.urandom(6 * HANDOFF_BYTES), fail_at=3 * HANDOFF_BYTES + 5)
    got = bytearray()

    def read_all(stream: ObjectStream) -> None:
        while chunk := stream.read(100_000):
            got.extend(chunk)

    with (
        age_stream.encrypting(inner, [RECIPIENT], None) as stream,
        pytest.raises(StrongboxError) as caught,
    ):
        read_all(stream)
    assert caught.value.code == "tool-failed"
    assert len(got) >= 2 * HANDOFF_BYTES  # what was encrypted before the failure came through


def test_the_downloads_error_after_several_handoffs_reaches_the_consumer_unchanged() -> None:
    data = pyrage.encrypt(os.urandom(6 * HANDOFF_BYTES), [TEAM.to_public()])

    def failing() -> Iterator[bytes]:
        yield data[: 4 * HANDOFF_BYTES]
        raise StrongboxError("checksum mismatch", "checksum-mismatch")

    got = bytearray()

    def read_all() -> None:
        for chunk in age_stream.decrypted(failing(), [TEAM], "a"):
            got.extend(chunk)

    with pytest.raises(StrongboxError) as caught:
        read_all()
    assert caught.value.code == "checksum-mismatch"
    assert len(got) >= 2 * HANDOFF_BYTES
