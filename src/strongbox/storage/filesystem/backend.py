"""Backup storage in a local (or mounted) folder: each object key is a file path under it.

Writes go to a temporary `.incomplete-*` file in the target's folder, are fsynced and then renamed
onto the final name, and the folder is fsynced: an object is either whole or absent, even after a
crash. Temporary files are never listed; `abort_incomplete` removes the ones a crash left.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from strongbox.domain.keys import probe_key
from strongbox.errors import ErrorKind, StrongboxError, invalid, not_found, refused
from strongbox.storage.base import FAILED, NOT_FOUND, NOT_WRITABLE, ObjectInfo, Readable

CHUNK = 1024 * 1024
INCOMPLETE = ".incomplete-"


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


@dataclass(frozen=True)
class FilesystemSettings:
    """The folder that holds the backups."""

    path: str


def open_folder(path: str) -> FilesystemStorage:
    """The backend on the folder `path` (`strongbox.storage.light_open`)."""
    return FilesystemStorage(FilesystemSettings(path=path))


class FilesystemStorage:
    """`BackupStorage` in one folder. Object keys use '/' whatever the platform."""

    def __init__(self, settings: FilesystemSettings) -> None:
        self.settings = settings
        self.root = Path(settings.path)
        self.cut_at: int | None = None  # a file may be any size

    def check(self) -> None:
        """Prove the folder exists (creating it if needed) and that a probe file can be written,
        read back, listed and deleted. Raises StrongboxError NOT_WRITABLE naming the folder, the
        operating system's reason and the next step."""
        probe = probe_key("", secrets.token_hex(8))
        body = secrets.token_bytes(32)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.put_bytes(probe, body)
            try:
                if self.get_bytes(probe) != body:
                    raise self._not_writable(
                        "the probe file read back differs from what was written"
                    )
                if [o.key for o in self.list(probe)] != [probe]:
                    raise self._not_writable("the probe file is missing from the folder's listing")
            finally:
                (self.root / probe).unlink(missing_ok=True)
        except OSError as exc:
            raise self._not_writable(_os_reason(exc)) from exc
        except StrongboxError as exc:
            if exc.code == NOT_WRITABLE:
                raise
            raise self._not_writable(exc.detail) from exc

    def _not_writable(self, reason: str) -> StrongboxError:
        return refused(
            f"folder '{self.root}' cannot hold backups ({reason}): create it and let the user "
            "Strongbox runs as write to it, or choose another folder",
            NOT_WRITABLE,
            field_name="path",
        )

    def put_stream(self, key: str, stream: Readable, expected_size: int | None) -> None:
        """Write everything `stream.read()` gives to the file of `key`, atomically.

        Memory stays one chunk. If `stream.read()` raises, that exception propagates; if the disk
        fails, StrongboxError FAILED is raised. Either way the temporary file is removed, so
        nothing is left under `key` (an object already there is kept unchanged).
        """
        target = self._path(key)
        with _fs_errors("create the folder of", key):
            _make_folders(target.parent)
            # The final name is kept in the temporary one so that abort_incomplete(key) finds it.
            fd, temp_name = tempfile.mkstemp(
                prefix=INCOMPLETE, suffix=f"-{target.name}", dir=target.parent
            )
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                _copy(stream, out, key)
            with _fs_errors("store", key):
                os.replace(temp, target)
                _fsync_folder(target.parent)
        except BaseException:
            # Never let a failed cleanup hide the error that matters.
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object whole, replacing any object under `key`."""
        self.put_stream(key, io.BytesIO(data), len(data))

    def open_read(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """The object's file opened for reading. Raises StrongboxError NOT_FOUND if absent."""
        path = self._path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise not_found(
                f"object '{key}' does not exist in folder '{self.root}'", NOT_FOUND
            ) from exc
        except OSError as exc:
            raise _failed("read", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        """The whole object. NOT_FOUND if it is absent."""
        with self.open_read(key) as f, _fs_errors("read", key):
            return f.read()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order; temporary files excluded."""
        with _fs_errors("list", prefix):
            found = sorted((key, path) for key, path in self._walk(prefix) if not _is_temp(path))
        for key, path in found:
            with _fs_errors("list", key):
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue  # deleted since the walk: a listing is a moment, as on S3
            yield ObjectInfo(key=key, size=size)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`, the temporary files of unfinished writes there,
        and then the folders left empty; returns the number of objects deleted. An empty prefix
        is refused: it would delete the whole storage."""
        if not prefix.strip("/"):
            raise invalid(
                f"refusing to delete everything in folder '{self.root}': the prefix is empty",
                "storage-empty-prefix",
            )
        deleted = 0
        for info in self.list(prefix):
            with _fs_errors("delete", info.key):
                self._path(info.key).unlink(missing_ok=True)
            deleted += 1
        self.abort_incomplete(prefix)
        self._remove_empty_folders(prefix)
        return deleted

    def abort_incomplete(self, prefix: str) -> int:
        """Remove the temporary files of unfinished writes whose key starts with `prefix`;
        returns how many."""
        with _fs_errors("list", prefix):
            temps = [path for key, path in self._walk(prefix, _intended_key) if _is_temp(path)]
        for path in temps:
            with _fs_errors("remove the temporary file", str(path)):
                path.unlink(missing_ok=True)
        return len(temps)

    # -- helpers -------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """The file of `key`. Keys with empty, '.' or '..' parts, absolute keys and keys that
        name a temporary file are refused: they would escape the folder or hide the object."""
        parts = key.split("/")
        if (
            key.startswith("/")
            or "\\" in key
            or "\0" in key
            or any(p in ("", ".", "..") for p in parts)
            or parts[-1].startswith(INCOMPLETE)
        ):
            raise StrongboxError(
                f"object key '{key}' is not allowed in a folder storage", FAILED, ErrorKind.INTERNAL
            )
        return self.root.joinpath(*parts)

    def _walk(
        self, prefix: str, key_of: Callable[[str, str], str] = _join
    ) -> Iterator[tuple[str, Path]]:
        """(key, path) of every file under the deepest folder that holds all keys starting with
        `prefix` whose key (`key_of(folder, file name)`) starts with `prefix`."""
        folder = prefix.rpartition("/")[0]
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base, onerror=_raise):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                key = key_of("" if rel == "." else rel, name)
                if key.startswith(prefix):
                    yield key, Path(dirpath) / name

    def _remove_empty_folders(self, prefix: str) -> None:
        folder = prefix.rpartition("/")[0]
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return
        for dirpath, _dirs, _files in os.walk(base, topdown=False):
            path = Path(dirpath)
            rel = path.relative_to(self.root).as_posix()
            if path != self.root and (rel + "/").startswith(prefix):
                # rmdir refuses a folder that still holds something, which is what we want.
                with contextlib.suppress(OSError):
                    path.rmdir()
        # The folders above the prefix (e.g. a database's folder once its last backup is gone)
        # go too when empty, so a deleted backup leaves no trace.
        parent = base
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except FileNotFoundError:
                pass  # already removed by the walk above
            except OSError:
                break
            parent = parent.parent


def _copy(stream: Readable, out: BinaryIO, key: str) -> None:
    """Copy `stream` to `out` and make it durable. Errors of the stream are not wrapped: they
    are the caller's and must reach it unchanged."""
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        with _fs_errors("write", key):
            out.write(chunk)
    with _fs_errors("write", key):
        out.flush()
        os.fsync(out.fileno())


def _make_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, each made durable in its parent, so that a
    crash cannot lose a folder that holds a stored object."""
    if folder.is_dir():
        return
    _make_folders(folder.parent)
    with contextlib.suppress(FileExistsError):  # made by a concurrent writer meanwhile
        folder.mkdir()
    _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _fs_errors(operation: str, key: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise _failed(operation, key, exc) from exc


def _failed(operation: str, key: str, exc: OSError) -> StrongboxError:
    return StrongboxError(
        f"could not {operation} '{key}': {_os_reason(exc)}", FAILED, ErrorKind.REFUSED
    )


def _os_reason(exc: OSError) -> str:
    """
    >>> _os_reason(PermissionError(13, "Permission denied", "/backups"))
    "Permission denied: '/backups'"
    """
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: '{exc.filename}'"
    return exc.strerror or str(exc)


def _raise(exc: OSError) -> None:
    # A folder removed during the walk (its last object deleted meanwhile) holds nothing to
    # list; any other error (permissions, I/O) is the caller's to report.
    if not isinstance(exc, FileNotFoundError):
        raise exc


def _is_temp(path: Path) -> bool:
    return path.name.startswith(INCOMPLETE)


def _intended_key(folder: str, name: str) -> str:
    """The key a file is, or for a temporary file (`.incomplete-<random>-<name>`, where
    mkstemp's random part never holds '-') the key it was to become.

    >>> _intended_key("prod/b1", ".incomplete-k3_j9x2a-app.pgdump.zst")
    'prod/b1/app.pgdump.zst'
    >>> _intended_key("", "manifest.json")
    'manifest.json'
    """
    if name.startswith(INCOMPLETE):
        name = name[len(INCOMPLETE) :].partition("-")[2]
    return _join(folder, name)
