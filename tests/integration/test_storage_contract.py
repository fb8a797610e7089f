"""The `BackupStorage` contract, run against every registered storage kind (a folder, an S3
bucket on SeaweedFS, and any kind registered later), each opened as the services open it. Then the
ways each backend's `check()` refuses a bad configuration."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from fixtures.seaweed import SeaweedServer
from fixtures.tls import TestCA
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.storage import base, registry
from strongbox.storage.base import BackupStorage, ObjectInfo
from strongbox.storage.filesystem import FilesystemSettings, FilesystemStorage
from strongbox.storage.kind import OpenOptions
from strongbox.storage.s3 import S3Settings, S3Storage

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
PREFIX = "team/backups/"


class DumpFailedError(Exception):
    """Stands for the caller's own error, e.g. the dump program dying."""


class GeneratedStream:
    """`total` pseudo-random bytes given in short reads, as a pipe gives them; not seekable and
    never held whole. Raises DumpFailedError once `fail_after` bytes were given, and calls
    `on_given(n)` after each read."""

    def __init__(
        self,
        total: int,
        *,
        fail_after: int | None = None,
        on_given: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self.total = total
        self.given = 0
        self.fail_after = fail_after
        self.on_given = on_given
        self.sha256 = hashlib.sha256()
        self._random = random.Random(total)

    def read(self, size: int = -1, /) -> bytes:
        if self.fail_after is not None and self.given >= self.fail_after:
            raise DumpFailedError("pg_dump: error: connection to server lost")
        # At most 300 KB a read, far less than a part: the storage must gather parts itself.
        wanted = 300_000 if size < 0 else min(size, 300_000)
        chunk = self._random.randbytes(min(wanted, self.total - self.given))
        self.given += len(chunk)
        self.sha256.update(chunk)
        self.on_given(self.given)
        return chunk


@dataclass
class Backend:
    kind: str
    storage: BackupStorage
    # Incomplete uploads (S3) or temporary files (folder) whose key starts with a prefix.
    leftovers: Callable[[str], list[str]]


def s3_settings(seaweed: SeaweedServer, bucket: str) -> S3Settings:
    return S3Settings(
        endpoint_url=seaweed.endpoint_url,
        bucket=bucket,
        region=seaweed.region,
        prefix=PREFIX,
        access_key_id=seaweed.access_key,
        secret_access_key=seaweed.secret_key,
        force_path_style=True,
        timeout=5.0,
    )


def open_kind(
    kind: str, settings: dict[str, object], secret: str | None, data: Path
) -> BackupStorage:
    """The backend of `kind` on stored settings, opened as the services open it."""
    options = OpenOptions(data_dir=data, timeout=5.0, upload_concurrency=4)
    return registry.kind_named(kind).open(settings, secret, options)


def _s3_place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    seaweed: SeaweedServer = request.getfixturevalue("seaweed")
    bucket: str = request.getfixturevalue("s3_bucket")
    settings = s3_settings(seaweed, bucket)
    stored: dict[str, object] = {
        "endpoint_url": settings.endpoint_url,
        "bucket": bucket,
        "region": settings.region,
        "prefix": PREFIX,
        "access_key_id": settings.access_key_id,
        "force_path_style": True,
    }
    storage = open_kind("s3", stored, settings.secret_access_key, tmp_path)
    with closing(seaweed.client()) as client:

        def uploads(prefix: str) -> list[str]:
            found = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
            return [u["Key"] for u in found.get("Uploads", [])]

        yield Backend("s3", storage, uploads)
    assert isinstance(storage, S3Storage)
    storage.close()


def _filesystem_place(_request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    root = tmp_path / "backups"

    def temp_files(prefix: str) -> list[str]:
        return [
            p.relative_to(root).as_posix()
            for p in root.rglob(".incomplete-*")
            if p.relative_to(root).as_posix().startswith(prefix.rpartition("/")[0])
        ]

    yield Backend(
        "filesystem", open_kind("filesystem", {"path": str(root)}, None, tmp_path), temp_files
    )


# A live place in the test environment for each kind: its settings, and how to see what a failed
# write left behind. A kind registered without one fails the suite rather than going untested.
PLACES: dict[str, Callable[[pytest.FixtureRequest, Path], Iterator[Backend]]] = {
    "s3": _s3_place,
    "filesystem": _filesystem_place,
}


@pytest.fixture(params=[kind.name for kind in registry.kinds()])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    place = PLACES.get(request.param)
    if place is None:
        pytest.fail(f"storage kind '{request.param}' has no place in PLACES to run the contract on")
    yield from place(request, tmp_path)


def _sha256_of(backend: Backend, key: str) -> str:
    digest = hashlib.sha256()
    with backend.storage.open_read(key) as reader:
        while chunk := reader.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


# -- the contract ------------------------------------------------------------------------------


def test_check_passes_on_a_usable_storage(backend: Backend) -> None:
    backend.storage.check()
    assert list(backend.storage.list("")) == []  # the probe is gone


def test_a_large_stream_is_stored_whole_from_short_reads(backend: Backend) -> None:
    key = PREFIX + "prod/b1/app.pgdump.zst"
    stream = GeneratedStream(20 * MIB)

    backend.storage.put_stream(key, stream, expected_size=None)

    assert list(backend.storage.list(PREFIX)) == [ObjectInfo(key, 20 * MIB)]
    assert _sha256_of(backend, key) == stream.sha256.hexdigest()
    assert backend.leftovers(PREFIX) == []


@pytest.mark.parametrize(
    "fail_after",
    [pytest.param(1 * MIB, id="within-the-first-part"), pytest.param(12 * MIB, id="mid-upload")],
)
def test_a_stream_that_fails_propagates_its_error_and_leaves_nothing(
    backend: Backend, fail_after: int
) -> None:
    folder = PREFIX + "prod/b2/"
    stream = GeneratedStream(20 * MIB, fail_after=fail_after)

    with pytest.raises(DumpFailedError, match="connection to server lost"):
        backend.storage.put_stream(folder + "app.pgdump.zst", stream, expected_size=None)

    assert list(backend.storage.list(folder)) == []
    assert backend.leftovers(folder) == []


def test_put_bytes_stores_and_replaces_a_small_object(backend: Backend) -> None:
    key = PREFIX + "prod/b1/manifest.json"
    backend.storage.put_bytes(key, b'{"version": 1}')
    backend.storage.put_bytes(key, b'{"version": 2}')

    assert backend.storage.get_bytes(key) == b'{"version": 2}'
    assert list(backend.storage.list(key)) == [ObjectInfo(key, 14)]


def test_an_empty_object_is_an_object(backend: Backend) -> None:
    key = PREFIX + "empty"
    backend.storage.put_stream(key, GeneratedStream(0), expected_size=0)
    assert backend.storage.get_bytes(key) == b""
    assert list(backend.storage.list(key)) == [ObjectInfo(key, 0)]


def test_list_is_in_key_order_and_filters_on_the_prefix_as_a_string(backend: Backend) -> None:
    for name in ["a/b/2", "a/b/10", "a/bz", "a/c/x", "b"]:
        backend.storage.put_bytes(PREFIX + name, name.encode())

    def listed(prefix: str) -> list[str]:
        return [info.key.removeprefix(PREFIX) for info in backend.storage.list(PREFIX + prefix)]

    assert listed("") == ["a/b/10", "a/b/2", "a/bz", "a/c/x", "b"]
    assert listed("a/b") == ["a/b/10", "a/b/2", "a/bz"]
    assert listed("a/b/") == ["a/b/10", "a/b/2"]
    assert listed("a/b/1") == ["a/b/10"]
    assert listed("nothing/") == []
    assert [i.size for i in backend.storage.list(PREFIX + "a/c/")] == [len(b"a/c/x")]


def test_delete_prefix_deletes_only_under_the_prefix(backend: Backend) -> None:
    for name in ["prod/b1/manifest.json", "prod/b1/app.pgdump.zst", "prod/b10/manifest.json"]:
        backend.storage.put_bytes(PREFIX + name, b"x")

    assert backend.storage.delete_prefix(PREFIX + "prod/b1/") == 2
    assert [i.key for i in backend.storage.list(PREFIX)] == [PREFIX + "prod/b10/manifest.json"]
    assert backend.storage.delete_prefix(PREFIX + "prod/b1/") == 0


def test_an_empty_prefix_is_never_deleted(backend: Backend) -> None:
    backend.storage.put_bytes(PREFIX + "keep", b"x")
    with pytest.raises(StrongboxError, match="prefix"):
        backend.storage.delete_prefix("")
    assert backend.storage.get_bytes(PREFIX + "keep") == b"x"


def test_a_missing_object_is_not_found(backend: Backend) -> None:
    key = PREFIX + "prod/nope/manifest.json"
    with pytest.raises(StrongboxError) as raised:
        backend.storage.get_bytes(key)
    assert raised.value.code == base.NOT_FOUND
    assert raised.value.kind == ErrorKind.NOT_FOUND
    assert key in raised.value.detail

    with pytest.raises(StrongboxError) as raised, backend.storage.open_read(key):
        pass
    assert raised.value.code == base.NOT_FOUND


# -- S3 only -----------------------------------------------------------------------------------


def _refusal(settings: S3Settings) -> StrongboxError:
    storage = S3Storage(settings)
    try:
        with pytest.raises(StrongboxError) as raised:
            storage.check()
    finally:
        storage.close()
    assert raised.value.kind == ErrorKind.REFUSED
    return raised.value


def test_s3_check_refuses_a_wrong_secret_key(seaweed: SeaweedServer, s3_bucket: str) -> None:
    settings = replace(s3_settings(seaweed, s3_bucket), secret_access_key="wrong-" + "x" * 20)
    error = _refusal(settings)
    assert error.code == base.BAD_CREDENTIALS
    assert "access key or secret key was refused" in error.detail
    assert seaweed.endpoint_url in error.detail
    assert [e.field for e in error.errors] == ["secret_access_key"]


def test_s3_check_refuses_an_unknown_access_key(seaweed: SeaweedServer, s3_bucket: str) -> None:
    settings = replace(s3_settings(seaweed, s3_bucket), access_key_id="nobody")
    assert _refusal(settings).code == base.BAD_CREDENTIALS


def test_s3_check_refuses_a_missing_bucket(seaweed: SeaweedServer) -> None:
    error = _refusal(s3_settings(seaweed, "no-such-bucket-here"))
    assert error.code == base.NO_SUCH_BUCKET
    assert "bucket 'no-such-bucket-here' does not exist" in error.detail
    assert "create it" in error.detail


def test_s3_check_refuses_an_unreachable_endpoint(
    seaweed: SeaweedServer, s3_bucket: str, port: int
) -> None:
    settings = replace(
        s3_settings(seaweed, s3_bucket), endpoint_url=f"http://127.0.0.1:{port}", timeout=1.0
    )
    error = _refusal(settings)
    assert error.code == base.UNREACHABLE
    assert f"127.0.0.1:{port}" in error.detail
    assert [e.field for e in error.errors] == ["endpoint_url"]


def test_s3_check_refuses_a_private_ca_and_suggests_ca_bundle_first(
    seaweed: SeaweedServer, seaweed_tls: str, s3_bucket: str
) -> None:
    settings = replace(s3_settings(seaweed, s3_bucket), endpoint_url=seaweed_tls)
    error = _refusal(settings)
    assert error.code == base.TLS_FAILURE
    assert "certificate" in error.detail
    assert [e.field for e in error.errors] == ["ca_bundle"]
    # The safe fix comes before turning verification off.
    assert error.detail.index("ca_bundle") < error.detail.index("verify_tls false")

    with closing(S3Storage(replace(settings, verify_tls=False))) as storage:
        storage.check()


def test_s3_check_verifies_the_endpoint_with_the_ca_bundle(
    seaweed: SeaweedServer, seaweed_tls: str, s3_bucket: str, tmp_path: Path, other_ca: TestCA
) -> None:
    settings = replace(s3_settings(seaweed, s3_bucket), endpoint_url=seaweed_tls)
    right = seaweed.ca.write(tmp_path / "right.pem")
    with closing(S3Storage(replace(settings, ca_bundle_file=str(right)))) as storage:
        storage.check()
        storage.put_bytes(f"{PREFIX}over-tls", b"verified")
        assert storage.get_bytes(f"{PREFIX}over-tls") == b"verified"

    wrong = other_ca.write(tmp_path / "wrong.pem")
    error = _refusal(replace(settings, ca_bundle_file=str(wrong)))
    assert error.code == base.TLS_FAILURE
    assert "ca_bundle holds the certificate of the CA that signed" in error.detail
    # Past the check too, e.g. when the server's certificate changed since.
    with (
        closing(S3Storage(replace(settings, ca_bundle_file=str(wrong)))) as storage,
        pytest.raises(StrongboxError) as caught,
    ):
        storage.put_bytes(f"{PREFIX}over-tls", b"refused")
    assert caught.value.code == base.TLS_FAILURE
    assert "ca_bundle" in caught.value.detail


def test_s3_the_secret_key_never_appears_in_errors_or_logs(
    seaweed: SeaweedServer, s3_bucket: str, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="strongbox")
    secret = "never-show-" + "s" * 24
    wrong = replace(s3_settings(seaweed, s3_bucket), secret_access_key=secret, timeout=1.0)
    for settings in (
        wrong,
        replace(wrong, bucket="no-such-bucket-here"),
        replace(wrong, endpoint_url=f"http://127.0.0.1:{port}"),
    ):
        assert secret not in repr(settings)
        error = _refusal(settings)
        texts = [str(error), repr(error), *(e.message for e in error.errors)]
        cause = error.__cause__
        while cause is not None:
            texts.append(str(cause))
            cause = cause.__cause__
        assert not [t for t in texts if secret in t]
    assert secret not in caplog.text


def test_s3_losing_the_server_mid_upload_fails_fast_and_leaves_nothing_once_back(
    seaweed: SeaweedServer, s3_bucket: str
) -> None:
    storage = S3Storage(replace(s3_settings(seaweed, s3_bucket), timeout=2.0))
    folder = PREFIX + "prod/b3/"

    def stop_after_first_part(given: int) -> None:
        if given >= 10 * MIB and seaweed.running:
            seaweed.stop()

    # Far more than is read before the failure shows: the storage must stop reading then,
    # not pull the whole dump through a dead connection.
    stream = GeneratedStream(2000 * MIB, on_given=stop_after_first_part)
    try:
        with pytest.raises(StrongboxError) as raised:
            storage.put_stream(folder + "app.pgdump.zst", stream, expected_size=None)
    finally:
        seaweed.start()
    # Connection refused, or a 500 from the S3 gateway while weed shuts its parts down.
    assert raised.value.code in (base.UNREACHABLE, base.FAILED)
    assert "team/backups/prod/b3/app.pgdump.zst" in raised.value.detail
    assert stream.given < 100 * MIB

    # The abort could not reach the server, so the upload was left (unless the server died
    # before it began); the next sweep removes it.
    assert storage.abort_incomplete(folder) in (0, 1)
    with closing(seaweed.client()) as client:
        assert "Uploads" not in client.list_multipart_uploads(Bucket=s3_bucket, Prefix=folder)
    assert list(storage.list(folder)) == []
    storage.close()


# -- folder only -------------------------------------------------------------------------------


def test_folder_check_refuses_a_folder_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    folder = tmp_path / "afile" / "sub"
    storage = FilesystemStorage(FilesystemSettings(str(folder)))

    with pytest.raises(StrongboxError) as raised:
        storage.check()

    error = raised.value
    assert (error.code, error.kind) == (base.NOT_WRITABLE, ErrorKind.REFUSED)
    assert str(folder) in error.detail
    assert "Not a directory" in error.detail
    assert "create it" in error.detail
    assert [e.field for e in error.errors] == ["path"]


@pytest.mark.parametrize(
    "key", ["../escape", "/etc/passwd", "a/../../b", "a//b", "a/.incomplete-x"]
)
def test_folder_refuses_keys_that_leave_the_folder_or_hide(tmp_path: Path, key: str) -> None:
    storage = FilesystemStorage(FilesystemSettings(str(tmp_path)))
    with pytest.raises(StrongboxError, match="not allowed"):
        storage.put_bytes(key, b"x")
    assert list(tmp_path.iterdir()) == []


def test_folder_abort_incomplete_removes_what_a_crash_left(tmp_path: Path) -> None:
    storage = FilesystemStorage(FilesystemSettings(str(tmp_path)))
    (tmp_path / "prod" / "b1").mkdir(parents=True)
    (tmp_path / "prod" / "b1" / ".incomplete-abc123-app.pgdump.zst").write_bytes(b"half")
    (tmp_path / "prod" / "b2").mkdir()
    (tmp_path / "prod" / "b2" / ".incomplete-def456-app.pgdump.zst").write_bytes(b"half")

    assert list(storage.list("prod/")) == []
    assert storage.abort_incomplete("prod/b1/app.pgdump.zst") == 1
    assert storage.delete_prefix("prod/") == 0
    assert list(tmp_path.iterdir()) == []


def test_folder_listing_survives_objects_deleted_while_it_is_read(tmp_path: Path) -> None:
    """A WAL upload drops the partial file it replaces while the gaps check lists the folder:
    the listing must go on, without the deleted object, instead of failing (which hid gaps)."""
    storage = FilesystemStorage(FilesystemSettings(str(tmp_path)))
    for key in ("prod/wal/1", "prod/wal/2", "prod/wal/3.partial"):
        storage.put_bytes(key, b"x")
    listing = storage.list("prod/wal/")
    first = next(listing)
    storage.delete_prefix("prod/wal/3.partial")
    assert [first.key] + [o.key for o in listing] == ["prod/wal/1", "prod/wal/2"]
