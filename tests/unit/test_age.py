"""Age keys (recipients refused when age would refuse them, identities checked against the
recipients) and the stream stage (encrypting a compressed stream cut into objects, decrypting
it back), without I/O."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

import pyrage
import pytest
from pydantic import BaseModel, ValidationError
from pyrage import x25519

from strongbox import age_keys, age_stream
from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.manifest_checks import artifact_problems
from strongbox.errors import StrongboxError
from strongbox.services.fields import AgeRecipients

TEAM = x25519.Identity.generate()
ESCROW = x25519.Identity.generate()
STRANGER = x25519.Identity.generate()


def public(identity: x25519.Identity) -> str:
    return str(identity.to_public())


class WithRecipients(BaseModel):
    age_recipients: AgeRecipients


def test_recipients_that_age_accepts_are_taken_and_others_refused_naming_the_item() -> None:
    assert WithRecipients(age_recipients=[public(TEAM)]).age_recipients == [public(TEAM)]
    damaged = public(TEAM)[:-1] + ("q" if public(TEAM)[-1] != "q" else "p")
    for bad in (damaged, "age1", "ssh-ed25519 AAAAC3Nza", str(TEAM)):
        with pytest.raises(ValidationError) as caught:
            WithRecipients(age_recipients=[public(ESCROW), bad])
        (error,) = caught.value.errors()
        assert error["loc"] == ("age_recipients", 1)
        assert str(TEAM) not in str(caught.value) or bad == str(TEAM)
    with pytest.raises(ValidationError):
        WithRecipients(age_recipients=[public(TEAM)] * 17)


def test_merged_recipients_keep_the_first_order_without_repeats() -> None:
    assert age_keys.merged([public(ESCROW)], [public(TEAM), public(ESCROW)]) == [
        public(ESCROW),
        public(TEAM),
    ]


def test_an_identity_file_with_comments_is_read_and_matched_against_the_recipients() -> None:
    text = f"# created: 2026-11-29\n# public key: {public(TEAM)}\n{TEAM}\n"
    found = age_keys.require_identity(text, [public(ESCROW), public(TEAM)], "backup 'b'", "f")
    assert [public(i) for i in found] == [public(TEAM)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (None, age_keys.IDENTITY_MISSING),
        ("  \n", age_keys.IDENTITY_MISSING),
        (str(STRANGER), age_keys.IDENTITY_WRONG),
        ("# only a comment\n", age_keys.IDENTITY_INVALID),
        ("AGE-SECRET-KEY-1NOTAKEY", age_keys.IDENTITY_INVALID),
        ("x" * (age_keys.MAX_IDENTITY_CHARS + 1), age_keys.IDENTITY_INVALID),
    ],
    ids=["none", "blank", "stranger", "comment-only", "not-a-key", "too-long"],
)
def test_a_missing_wrong_or_malformed_identity_is_refused_naming_the_field(
    text: str | None, code: str
) -> None:
    with pytest.raises(StrongboxError) as caught:
        age_keys.require_identity(text, [public(TEAM)], "backup 'b'", "body.identity")
    assert caught.value.code == code
    assert [e.field for e in caught.value.errors] == ["body.identity"]
    assert str(STRANGER) not in caught.value.detail
    if code != age_keys.IDENTITY_INVALID:
        assert public(TEAM) in caught.value.detail


class Frames:
    """A stand-in for CompressingReader: `data` handed out in objects that end every `cut`
    bytes (each a separate 'frame'), with the same reading rules."""

    def __init__(self, data: bytes, cut: int | None, fail_at: int | None = None) -> None:
        self._data = data
        self._cut = cut
        self._fail_at = fail_at
        self._at = 0
        self._object_start = 0
        self.stored_bytes = 0
        self.object_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._data)
        if self._cut is not None:
            end = min(end, self._object_start + self._cut)
        if self._fail_at is not None and self._at >= self._fail_at:
            raise StrongboxError("the dump failed", "tool-failed")
        out = self._data[self._at : end if size < 0 else min(end, self._at + size)]
        self._at += len(out)
        self.object_bytes += len(out)
        return out

    @property
    def finished(self) -> bool:
        return self._at == len(self._data)

    def next_object(self) -> None:
        self._object_start = self._at
        self.object_bytes = 0

    def object_sha256(self) -> str:
        return ""

    def sha256(self) -> str:
        return ""


def store(stream: age_stream.ObjectStream, part: int) -> list[bytes]:
    """What `pipeline._store_objects` does: read each object to its end, then the next."""
    objects = []
    while True:
        data = bytearray()
        while chunk := stream.read(part):
            data += chunk
        objects.append(bytes(data))
        if stream.finished:
            return objects
        stream.next_object()


def test_the_encrypted_stream_is_one_age_stream_cut_into_objects_and_decrypts_back() -> None:
    plain = os.urandom(3 * 1024 * 1024 + 12345)
    inner = Frames(plain, cut=700_000)  # the inner frames end elsewhere than the objects
    with age_stream.encrypting(inner, [public(TEAM), public(ESCROW)], 1_000_000) as stream:
        objects = store(stream, part=65_000)
        assert len(objects) == 4
        assert [len(o) for o in objects[:-1]] == [1_000_000] * 3
        whole = b"".join(objects)
        assert stream.stored_bytes == len(whole)
        assert stream.sha256() == hashlib.sha256(whole).hexdigest()
        assert stream.object_sha256() == hashlib.sha256(objects[-1]).hexdigest()
    assert whole.startswith(b"age-encryption.org/v1\n")
    assert pyrage.decrypt(whole, [ESCROW]) == plain
    chunks = iter([whole[i : i + 4096] for i in range(0, len(whole), 4096)])
    assert b"".join(age_stream.decrypted(chunks, [TEAM], "a")) == plain


def test_without_recipients_the_stream_is_stored_as_it_is() -> None:
    inner = Frames(b"plain", cut=None)
    with age_stream.encrypting(inner, [], None) as stream:
        assert stream is inner


def test_a_failing_dump_fails_the_encrypted_stream_with_its_own_error() -> None:
    inner = Frames(os.urandom(2 * 1024 * 1024), cut=None, fail_at=1024 * 1024)
    with (
        age_stream.encrypting(inner, [public(TEAM)], None) as stream,
        pytest.raises(StrongboxError) as caught,
    ):
        store(stream, part=65_000)
    assert caught.value.code == "tool-failed"


def encrypted(plain: bytes, identity: x25519.Identity) -> bytes:
    out = io.BytesIO()
    pyrage.encrypt_io(io.BytesIO(plain), out, [identity.to_public()])
    return out.getvalue()


def test_decrypting_with_another_identity_or_a_cut_stream_fails_and_names_the_artifact() -> None:
    data = encrypted(os.urandom(200_000), TEAM)
    for identities, chunks in (([STRANGER], [data]), ([TEAM], [data[:-100]])):
        with pytest.raises(StrongboxError) as caught:
            b"".join(age_stream.decrypted(iter(chunks), identities, "p/app.pgdump.zst.age"))
        assert caught.value.code == age_stream.DECRYPT_FAILED
        assert "p/app.pgdump.zst.age" in caught.value.detail


def test_the_error_of_the_download_reaches_the_consumer_unchanged() -> None:
    data = encrypted(os.urandom(300_000), TEAM)

    def damaged() -> Iterator[bytes]:
        yield data[:100_000]
        raise StrongboxError("checksum mismatch", "checksum-mismatch")

    with pytest.raises(StrongboxError) as caught:
        b"".join(age_stream.decrypted(damaged(), [TEAM], "a"))
    assert caught.value.code == "checksum-mismatch"


def test_a_consumer_that_stops_early_ends_the_decrypting_thread() -> None:
    data = encrypted(os.urandom(8 * 1024 * 1024), TEAM)
    chunks = age_stream.decrypted(
        iter([data[i : i + 65536] for i in range(0, len(data), 65536)]), [TEAM], "a"
    )
    assert next(chunks)
    chunks.close()  # joins the thread: the test would hang otherwise


def artifact(name: str, encrypted_to: list[str] | None) -> ManifestArtifact:
    return ManifestArtifact(
        name=name,
        key=f"db/b/{name}",
        kind="database",
        dbname="app",
        format="pg_dump-custom",
        raw_bytes=1,
        stored_bytes=1,
        sha256="0" * 64,
        encrypted_to=encrypted_to,
    )


def problems_of(item: ManifestArtifact) -> list[str]:
    formats = {"postgresql": {"database": "pg_dump-custom", "globals": "sql"}}
    return artifact_problems(item, "postgresql", formats, "", "db", "b")


def test_a_manifest_says_the_same_about_encryption_in_the_name_and_the_recipients() -> None:
    assert problems_of(artifact("app.pgdump.zst.age", [public(TEAM)])) == []
    assert problems_of(artifact("app.pgdump.zst", None)) == []
    assert problems_of(artifact("app.pgdump.zst.age", None))
    assert problems_of(artifact("app.pgdump.zst", [public(TEAM)]))
    assert problems_of(artifact("app.pgdump.zst.age", ["age1../../x"]))
    assert problems_of(artifact("app.pgdump.zst.age", []))
