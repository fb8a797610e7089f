"""The PostgreSQL instances restores made on this host and registered as databases: where they
live, who runs them, and starting, stopping and removing their servers.

At `strongbox serve` start, a managed instance whose server is not running is started again
(it was registered to be used); when Strongbox stops, the instances keep running, like any
other database server it backs up.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import ManagedInstance, Restore
from strongbox.domain.states import ACTIVE_STATES
from strongbox.engines.postgresql.instance import (
    PG_CTL_TIMEOUT,
    InstanceFolder,
    Server,
    default_os_user,
    find_pg_ctl,
    remove_folder,
)
from strongbox.errors import StrongboxError
from strongbox.services.context import Context

log = logging.getLogger(__name__)

# The temporary instances a restore of a physical backup into a registered database recovers
# (`physical_transfer`); never registered, removed when their restore ends.
TRANSFER_PREFIX = "strongbox-transfer-"


def instances_dir(ctx: Context) -> Path:
    return ctx.settings.resolved_instances_dir().absolute()


def os_user(ctx: Context) -> str:
    return ctx.settings.instance_os_user or default_os_user()


def find(session: Session, database: str) -> ManagedInstance | None:
    return session.scalars(
        select(ManagedInstance).where(ManagedInstance.database == database)
    ).first()


def port_taken_by(session: Session, port: int) -> str | None:
    """The managed instance registered on `port`, if any (its server may be stopped)."""
    return session.scalars(
        select(ManagedInstance.database).where(ManagedInstance.port == port)
    ).first()


def server_of(ctx: Context, row: ManagedInstance) -> Server:
    pg_ctl = find_pg_ctl(row.server_major, ctx.settings.pg_bin_dir)
    return Server(pg_ctl, InstanceFolder(Path(row.folder)), row.os_user)


def remove(ctx: Context, row: ManagedInstance) -> None:
    """Stop the instance's server (fast: sessions are ended, the data is kept consistent) and
    remove its folder, which must lie in the instances folder. Raises StrongboxError when the
    server does not stop; the folder is then kept."""
    server = server_of(ctx, row)
    server.stop("fast")
    remove_folder(Path(row.folder), instances_dir(ctx))


def start_stopped(ctx: Context) -> list[str]:
    """Start every managed instance whose server is not running; returns their names. A
    failure is logged and the others are still started."""
    with ctx.catalog.session() as session:
        rows = list(session.scalars(select(ManagedInstance).order_by(ManagedInstance.database)))
        session.expunge_all()
    started = []
    for row in rows:
        try:
            if not Path(row.folder).is_dir():
                log.warning(
                    "the folder %s of managed instance %s is gone", row.folder, row.database
                )
                continue
            server = server_of(ctx, row)
            if server.running():
                continue
            server.start(PG_CTL_TIMEOUT)
            started.append(row.database)
        except StrongboxError as exc:
            log.warning("the managed instance %s could not be started: %s", row.database, exc)
    return started


def remove_leftovers(ctx: Context) -> list[str]:
    """Stop and remove the instances that restores interrupted by a stop left half-made: the
    temporary instances of transfers, and the folder of a new instance whose restore was still
    queued or running (it was never registered). Run at start, before those restores are
    marked failed; returns the folders removed. Registered instances are never touched."""
    root = instances_dir(ctx)
    if not root.is_dir():
        return []
    with ctx.catalog.session() as session:
        managed = {Path(folder).name for folder in session.scalars(select(ManagedInstance.folder))}
        unfinished = {
            str(r.new_instance["name"])
            for r in session.scalars(select(Restore).where(Restore.state.in_(ACTIVE_STATES)))
            if r.new_instance
        }
    removed = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name in managed or not (name.startswith(TRANSFER_PREFIX) or name in unfinished):
            continue
        if entry.is_symlink() or not entry.is_dir():
            continue
        try:
            _stop_unregistered(ctx, InstanceFolder(entry))
            remove_folder(entry, root)
        except StrongboxError as exc:
            log.warning("the half-made instance in %s could not be removed: %s", entry, exc)
            continue
        removed.append(name)
    return removed


def _stop_unregistered(ctx: Context, folder: InstanceFolder) -> None:
    version = folder.data_dir / "PG_VERSION"
    text = version.read_text().strip() if version.is_file() else ""
    if not text.isdigit():
        return  # never a cluster, so no server ran from it
    server = Server(find_pg_ctl(int(text), ctx.settings.pg_bin_dir), folder, os_user(ctx))
    server.stop("immediate")
