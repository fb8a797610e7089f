"""A PostgreSQL instance on this host made from a physical base: extracting the base's tar
safely, configuring the copy, and running its server with `pg_ctl` as the instance's OS user.

The folder of one instance:
```
{instances}/{name}/data/       the cluster (PGDATA)
{instances}/{name}/socket/     its unix socket folder
{instances}/{name}/pg_hba.conf, pg_ident.conf   written by Strongbox
{instances}/{name}/server.log  the server's log (pg_ctl -l)
{instances}/{name}/wal/        WAL files staged for a restore_command (point in time)
```
"""

from __future__ import annotations

import io
import os
import pwd
import shutil
import subprocess
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from strongbox.domain.recovery import (
    RECOVERY_SIGNAL,
    InstanceLayout,
    RecoverySettings,
    hba_rules,
    instance_settings,
    read_recovery_log,
)
from strongbox.domain.tar_members import (
    FILE,
    FOLDER,
    SYMLINK,
    UnsafeMemberError,
    checked_member_path,
)
from strongbox.engines.postgresql.client_tools import default_search_dirs, find_client_tools
from strongbox.errors import ErrorKind, StrongboxError, refused

UNSAFE_MEMBER = "backup-unsafe-member"
UNREADABLE_BASE = "backup-unreadable"
SERVER_MISSING = "server-programs-missing"
INSTANCE_FAILED = "instance-failed"
PG_CTL_TIMEOUT = 120.0  # seconds for a pg_ctl that is not waiting for a recovery
LOG_TAIL_CHARS = 2000
# The source's files that would make the copy someone's standby or point at the source's host.
_DROPPED_FILES = ("standby.signal", "recovery.signal", "postmaster.pid", "postmaster.opts")


@dataclass(frozen=True)
class InstanceFolder:
    """The paths of one instance (see the module's docstring)."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def wal_dir(self) -> Path:
        return self.root / "wal"

    def layout(self, port: int) -> InstanceLayout:
        return InstanceLayout(
            data_dir=str(self.data_dir),
            socket_dir=str(self.socket_dir),
            hba_file=str(self.root / "pg_hba.conf"),
            ident_file=str(self.root / "pg_ident.conf"),
            port=port,
        )


# --- running programs as the instance's OS user ---


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def default_os_user() -> str:
    """`postgres` when Strongbox runs as root (PostgreSQL refuses to), else Strongbox's user."""
    return "postgres" if os.geteuid() == 0 else current_user()


def as_user(argv: list[str], os_user: str) -> list[str]:
    """`argv` run as `os_user`: directly when that is Strongbox's own user, through runuser
    when Strongbox is root. Raises refused(...) when Strongbox cannot switch to that user."""
    if os_user == current_user():
        return argv
    if os.geteuid() == 0:
        return ["runuser", "-u", os_user, "--", *argv]
    raise refused(
        f"Strongbox runs as {current_user()!r} and cannot run a server as {os_user!r}: set "
        "STRONGBOX_INSTANCE_OS_USER to Strongbox's own user, or run Strongbox as root",
        "instance-user-unusable",
    )


def user_ids(os_user: str) -> tuple[int, int]:
    """The uid and gid of `os_user`; raises refused(...) when no such user exists."""
    try:
        entry = pwd.getpwnam(os_user)
    except KeyError:
        raise refused(
            f"there is no OS user {os_user!r} to run the instance: create it, or set "
            "STRONGBOX_INSTANCE_OS_USER to an existing one",
            "instance-user-unusable",
        ) from None
    return entry.pw_uid, entry.pw_gid


def give_to(path: Path, os_user: str) -> None:
    """Make `path` and everything under it belong to `os_user` (links themselves, never what
    they point to)."""
    if os_user == current_user():
        return
    uid, gid = user_ids(os_user)
    os.lchown(path, uid, gid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def require_reachable(folder: Path, os_user: str) -> None:
    """Refuse when `os_user` cannot write `folder` (e.g. a parent folder is closed to it)."""
    done = subprocess.run(
        as_user(["test", "-w", str(folder), "-a", "-x", str(folder)], os_user),
        capture_output=True,
        check=False,
        timeout=30,
    )
    if done.returncode != 0:
        raise refused(
            f"the OS user {os_user!r} cannot reach {folder}: let it traverse every parent "
            "folder, or point STRONGBOX_INSTANCES_DIR at a folder it can reach",
            "instances-folder-unreachable",
        )


# --- the base's tar ---


class ChunkReader(io.RawIOBase):
    """A file over an iterator of byte chunks (the verified, decompressed download)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.total += size
        return size


def extract_base(chunks: Iterable[bytes], data_dir: Path) -> int:
    """Write the tar streamed in `chunks` into the new folder `data_dir` (0700), member by
    member, each checked first (`checked_member_path`); read the stream to its end (which is
    when a download's checksum is checked) and return its size. Raises StrongboxError naming a
    refused member; the caller removes the folder on any error."""
    data_dir.mkdir(mode=0o700)
    reader = ChunkReader(chunks)
    stream = io.BufferedReader(reader, buffer_size=1024 * 1024)
    try:
        _extract_members(stream, data_dir)
    except tarfile.TarError as exc:
        while stream.read(1024 * 1024):  # a damaged download is named as such (checksum)
            pass
        raise StrongboxError(
            f"the base backup is not a readable tar ({exc}); nothing was started",
            UNREADABLE_BASE,
            ErrorKind.REFUSED,
        ) from exc
    while stream.read(1024 * 1024):
        pass
    data_dir.chmod(0o700)
    return reader.total


def _extract_members(stream: io.BufferedReader[ChunkReader], data_dir: Path) -> None:
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            kind = (
                FILE
                if member.isreg()
                else FOLDER
                if member.isdir()
                else SYMLINK
                if member.issym()
                else _type_word(member)
            )
            try:
                checked_member_path(member.name, kind, member.linkname)
                # The standard library's own checks for untrusted archives, as a second line.
                tar.extract(member, data_dir, filter="data")
            except (UnsafeMemberError, tarfile.FilterError) as exc:
                raise StrongboxError(
                    f"the base backup is refused: {exc}; nothing was started",
                    UNSAFE_MEMBER,
                    ErrorKind.REFUSED,
                ) from exc


def _type_word(member: tarfile.TarInfo) -> str:
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "FIFO"
    return "member of an unknown type"


def configure(folder: InstanceFolder, port: int, recovery: RecoverySettings) -> None:
    """Make the extracted copy an instance of its own: its port and addresses, its socket
    folder, Strongbox's pg_hba.conf, replication and archiving off, and `recovery`."""
    data = folder.data_dir
    for name in _DROPPED_FILES:
        (data / name).unlink(missing_ok=True)
    layout = folder.layout(port)
    folder.socket_dir.mkdir(mode=0o700, exist_ok=True)
    Path(layout.hba_file).write_text(hba_rules())
    Path(layout.ident_file).write_text("# Written by Strongbox: no user name maps.\n")
    conf = data / "postgresql.conf"
    if not conf.exists():  # a Debian cluster keeps it in /etc, outside the data folder
        conf.write_text("# Written by Strongbox: see postgresql.auto.conf.\n")
    auto = data / "postgresql.auto.conf"
    kept = auto.read_text() if auto.exists() else ""
    if kept and not kept.endswith("\n"):
        kept += "\n"
    auto.write_text(kept + instance_settings(layout, recovery))
    if recovery.signal:
        (data / RECOVERY_SIGNAL).write_text("")


# --- the server ---


def find_pg_ctl(server_major: int, bin_dir: Path | None) -> Path:
    """The pg_ctl of PostgreSQL `server_major` (a cluster only starts with its own major's
    server). Raises refused(...) naming the package to install."""
    dirs = ([bin_dir] if bin_dir is not None else []) + default_search_dirs()
    for tool in find_client_tools("pg_ctl", dirs):
        if tool.major == server_major:
            return tool.path
    raise refused(
        f"the PostgreSQL {server_major} server programs (pg_ctl, postgres) are needed to start "
        f"a copy of this backup: install postgresql-{server_major}",
        SERVER_MISSING,
    )


@dataclass(frozen=True)
class Server:
    """The server of one instance, run by `pg_ctl` as `os_user`."""

    pg_ctl: Path
    folder: InstanceFolder
    os_user: str

    def _pg_ctl(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        argv = [str(self.pg_ctl), "-D", str(self.folder.data_dir), *args]
        try:
            return subprocess.run(
                as_user(argv, self.os_user),
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout + 10,
                env={"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StrongboxError(
                f"pg_ctl {args[-1]} did not finish: {exc}", INSTANCE_FAILED, ErrorKind.REFUSED
            ) from exc

    def start(self, timeout: float) -> None:
        """`pg_ctl start -w`: returns once the server accepts connections (a hot standby
        while it recovers); raises StrongboxError with the log's tail when it does not."""
        seconds = str(max(1, int(timeout)))
        done = self._pg_ctl(
            "-l", str(self.folder.log_file), "-w", "-t", seconds, "start", timeout=timeout
        )
        if done.returncode != 0:
            fatal = read_recovery_log(self.log_text()).fatal
            reason = fatal[-1] if fatal else done.stderr.strip()[-500:]
            raise StrongboxError(
                f"the server did not start: {reason}; server log: {self.log_tail()}",
                INSTANCE_FAILED,
                ErrorKind.REFUSED,
            )

    def running(self) -> bool:
        return self._pg_ctl("status", timeout=PG_CTL_TIMEOUT).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if it runs; raises StrongboxError when it does not stop."""
        if not self.folder.data_dir.is_dir() or not self.running():
            return
        done = self._pg_ctl("-m", mode, "-w", "stop", timeout=PG_CTL_TIMEOUT)
        if done.returncode != 0:
            raise StrongboxError(
                f"the server in {self.folder.root} did not stop: {done.stderr.strip()[-500:]}",
                INSTANCE_FAILED,
                ErrorKind.REFUSED,
            )

    def log_text(self) -> str:
        try:
            return self.folder.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self) -> str:
        lines = self.log_text().strip().splitlines()[-12:]
        return " | ".join(lines)[-LOG_TAIL_CHARS:]


def remove_folder(root: Path, instances_dir: Path) -> None:
    """Remove an instance's folder, only when it lies directly in the instances folder."""
    real_root, real_parent = root.resolve(), instances_dir.resolve()
    if real_root.parent != real_parent or root.is_symlink():
        raise StrongboxError(
            f"{root} is not a folder of the instances folder {instances_dir}; it was kept",
            INSTANCE_FAILED,
            ErrorKind.REFUSED,
        )
    shutil.rmtree(real_root, ignore_errors=True)
