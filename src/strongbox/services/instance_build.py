"""Building a new PostgreSQL instance on this host from a physical base: the one machinery a
restore to the end of a base and a restore to a point in time both use.

`build_instance` makes the instance's folder, extracts the base's tar into it while its stored
bytes are verified (the server is started only once the SHA-256 matched), configures it
(`engines.postgresql.instance.configure`) with the given recovery settings, stages the WAL
files a `restore_command` will ask for, starts it as the instance's OS user, watches the
recovery until promotion, and answers the outcome. On any failure the server is stopped and
the folder removed: a failed build leaves nothing behind.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from strongbox import restore_pipeline, scratch
from strongbox.catalog.models import WalSegment
from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.pitr_target import utc_text
from strongbox.domain.recovery import TARGET_REACHED, RecoverySettings, recovery_settings
from strongbox.engines.base import ConnectionInfo
from strongbox.engines.postgresql import instance as pg_instance
from strongbox.engines.postgresql.instance import InstanceFolder, Server
from strongbox.engines.postgresql.recovery_watch import RecoveryOutcome, recover
from strongbox.errors import ErrorKind, StrongboxError, conflict, refused
from strongbox.restore_pipeline import Identities
from strongbox.services import managed_instances, wal_staging
from strongbox.services.context import Context
from strongbox.storage.base import BackupStorage

LOCALHOST = "127.0.0.1"
TARGET_NOT_REACHED = "pitr-target-not-reached"


@dataclass(frozen=True)
class InstanceSpec:
    """What to build: the instance's name and port, the base (its catalog-recorded artifact in
    `storage`), the PostgreSQL major that runs it, and the source's role and password (which
    the copy holds); `identities` open the base and the WAL when they are encrypted with age
    (held in memory by the restore's job only: `restore_keys`)."""

    name: str
    port: int
    storage: BackupStorage
    base: ManifestArtifact
    server_major: int
    username: str
    password: str
    identities: Identities = None


@dataclass(frozen=True)
class WalSource:
    """The WAL files a `restore_command` recovery needs, from the index, in their storage."""

    storage: BackupStorage
    segments: Sequence[WalSegment]
    # The index's current entry for a staged name (a partial segment is replaced as the
    # stream goes on); None when there is no index to ask.
    reread: Callable[[str], WalSegment | None] | None = None


@dataclass(frozen=True)
class PitrRecovery:
    """A recovery to a point in time: the WAL to stage, the target (None: the end of the
    staged WAL), the target timeline, and the latest stored commit the recovery must have
    replayed; `report` hears the outcome, reached or not."""

    wal: WalSource
    target_time: datetime | None
    timeline: str
    last_commit_at_least: datetime | None
    report: Callable[[RecoveryOutcome, bool], None] | None = None

    def settings(self, restore_command: str) -> RecoverySettings:
        return recovery_settings(
            restore_command=restore_command,
            target_time=self.target_time,
            target_timeline=self.timeline,
        )

    def require_reached(self, outcome: RecoveryOutcome) -> None:
        """Raises StrongboxError when the recovery stopped short of the target: a shorter
        restore is a failed one."""
        replayed = outcome.last_replayed_commit_at
        short = self.target_time is not None and outcome.outcome != TARGET_REACHED
        least = self.last_commit_at_least
        behind = least is not None and (replayed is None or replayed < least)
        if self.report is not None:
            self.report(outcome, not (short or behind))
        if not (short or behind):
            return
        names = [w.name for w in self.wal.segments]
        fetched = f"{names[0]} to {names[-1]}" if names else "none"
        raise StrongboxError(
            f"recovery ended before its target: the last replayed commit is at "
            f"{utc_text(replayed)}, but the stored WAL holds a commit at {utc_text(least)}"
            f"{'' if self.target_time is None else f' (target {utc_text(self.target_time)})'}; "
            f"WAL files fetched: {fetched}; the WAL after the last replayed commit was not "
            "replayed (a file missing or unreadable)",
            TARGET_NOT_REACHED,
            ErrorKind.REFUSED,
        )


@dataclass(frozen=True)
class BuiltInstance:
    folder: InstanceFolder
    server: Server
    os_user: str
    outcome: RecoveryOutcome

    @property
    def root(self) -> Path:
        return self.folder.root


def instance_folder(ctx: Context, name: str) -> InstanceFolder:
    """Where instance `name` lives (its name is a DNS-1123 label, so a plain folder name)."""
    return InstanceFolder(managed_instances.instances_dir(ctx) / name)


def wal_fetch_command(ctx: Context, folder: InstanceFolder) -> str:
    """The `restore_command` that reads the WAL files staged in `folder` (`strongbox
    wal-fetch`, by this installation's interpreter). Raises refused(...) when the instance's
    OS user cannot run it: recovery would otherwise end early, at the base."""
    python = ctx.settings.wal_fetch_python or sys.executable
    program = [python, "-m", "strongbox", "wal-fetch"]
    os_user = managed_instances.os_user(ctx)
    try:
        done = subprocess.run(
            pg_instance.as_user([*program, "--help"], os_user),
            capture_output=True,
            check=False,
            timeout=60,
        )
        runnable = done.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        runnable = False
    if not runnable:
        raise refused(
            f"the OS user {os_user!r} cannot run {python} -m strongbox, the "
            "restore_command of a point-in-time restore: install Strongbox where that user can "
            "run it, or name a Python that can in STRONGBOX_WAL_FETCH_PYTHON",
            "wal-fetch-unusable",
        )
    return shlex.join([*program, str(folder.wal_dir)]) + " %f %p"


def refuse_unusable(ctx: Context, name: str, port: int) -> None:
    """Refusals before anything starts: a folder that exists, a port another instance is
    registered on or that something listens on."""
    folder = instance_folder(ctx, name)
    if folder.root.exists() or folder.root.is_symlink():
        raise conflict(
            f"the folder {folder.root} exists already: choose another name for the new "
            "instance, or remove that folder",
            "instance-folder-exists",
        )
    with ctx.catalog.session() as session:
        owner = managed_instances.port_taken_by(session, port)
    if owner is not None:
        raise conflict(
            f"port {port} is the port of the instance '{owner}': choose another port",
            "port-in-use",
        )
    if not port_is_free(port):
        raise conflict(f"port {port} is in use on {LOCALHOST}: choose a free port", "port-in-use")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOCALHOST, port))
        except OSError:
            return False
    return True


def build_instance(
    ctx: Context,
    spec: InstanceSpec,
    pitr: PitrRecovery | None = None,
    *,
    on_raw_bytes: Callable[[int], None] | None = None,
) -> BuiltInstance:
    """Build, start and recover instance `spec.name` (see the module's docstring): to the end
    of the base, or with `pitr` to its point in time; returns it running and promoted. Raises
    StrongboxError, having removed everything it made."""
    settings = ctx.settings
    os_user = managed_instances.os_user(ctx)
    pg_ctl = pg_instance.find_pg_ctl(spec.server_major, settings.pg_bin_dir)
    refuse_unusable(ctx, spec.name, spec.port)
    folder = instance_folder(ctx, spec.name)
    if pitr is None:
        recovery, wal = recovery_settings(), None
    else:
        recovery, wal = pitr.settings(wal_fetch_command(ctx, folder)), pitr.wal
    folder.root.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    scratch.require_room(
        folder.root.parent,
        spec.base.raw_bytes,
        f"the base {spec.base.key}",
        place="the instances folder",
        setting="STRONGBOX_INSTANCES_DIR",
    )
    folder.root.mkdir(mode=0o700)
    server = Server(pg_ctl, folder, os_user)
    try:
        pg_instance.give_to(folder.root, os_user)
        pg_instance.require_reachable(folder.root, os_user)
        chunks = restore_pipeline.verified_chunks(
            spec.storage,
            spec.base.object_keys(),
            spec.base.sha256,
            settings.stall_timeout_seconds,
            spec.identities if spec.base.encrypted_to else None,
        )
        pg_instance.extract_base(_counted(chunks, on_raw_bytes), folder.data_dir)
        pg_instance.configure(folder, spec.port, recovery)
        if wal is not None:
            wal_staging.stage_wal_segments(
                wal.storage,
                wal.segments,
                folder.wal_dir,
                stall_seconds=settings.stall_timeout_seconds,
                reread=wal.reread,
                identities=spec.identities,
            )
        pg_instance.give_to(folder.root, os_user)
        conn = ConnectionInfo(
            LOCALHOST, spec.port, spec.username, spec.password, ssl_mode="disable"
        )
        outcome = recover(server, conn, recovery.expected, settings.recovery_timeout_seconds)
        if pitr is not None:
            pitr.require_reached(outcome)
    except BaseException as exc:
        left = tear_down(ctx, server)
        if isinstance(exc, StrongboxError) and left:
            raise StrongboxError(f"{exc}; {left}", exc.code, exc.kind) from exc
        raise
    return BuiltInstance(folder, server, os_user, outcome)


def tear_down(ctx: Context, server: Server) -> str | None:
    """Stop the server at once and remove the instance's folder; returns what was left behind
    (to say in the error), or None."""
    try:
        server.stop("immediate")
        pg_instance.remove_folder(server.folder.root, managed_instances.instances_dir(ctx))
    except StrongboxError as exc:
        return f"the half-made instance in {server.folder.root} could not be removed ({exc})"
    return None


def _counted(
    chunks: Iterable[bytes], on_raw_bytes: Callable[[int], None] | None
) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if on_raw_bytes is not None:
            on_raw_bytes(total)
        yield chunk
