"""The catalog side of a job: handing one to the executor, claiming it, its heartbeat and a
cancel asked for, and the jobs nobody claimed yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from strongbox.catalog.models import Backup, Database, Restore
from strongbox.domain.jobs import JobKind, JobRef
from strongbox.domain.states import JobState
from strongbox.services.context import Context
from strongbox.services.state_moves import claim, move_backup, move_restore

_MODELS: dict[JobKind, type[Backup] | type[Restore]] = {
    JobKind.BACKUP: Backup,
    JobKind.RESTORE: Restore,
}


def enqueue(ctx: Context, kind: JobKind, row_id: int, database: str, *, here: bool = False) -> None:
    """Hand the queued row to the executor, routed to the worker queue `database` is pinned
    to (the source database for a restore); with `here`, to this process's own threads (a job
    that needs what only this process holds)."""
    with ctx.catalog.session() as session:
        queue = session.scalar(select(Database.worker_queue).where(Database.name == database))
    job = JobRef(kind, row_id, queue)
    if here:
        ctx.executor.submit_here(job)
    else:
        ctx.executor.submit(job)


def unclaimed(ctx: Context) -> list[JobRef]:
    """The queued backups and restores, oldest first (to hand to the executor again after the
    process that accepted them stopped)."""
    jobs: list[tuple[datetime, JobRef]] = []
    with ctx.catalog.session() as session:
        for kind, model in _MODELS.items():
            rows = session.execute(
                select(model.id, model.created_at, Database.worker_queue)
                .outerjoin(Database, Database.name == model.database)
                .where(model.state == JobState.QUEUED)
            ).all()
            jobs += [(created, JobRef(kind, row_id, queue)) for row_id, created, queue in rows]
    return [job for _created, job in sorted(jobs, key=lambda j: (j[0], j[1].id))]


class CatalogJobStore:
    """The runner's view of the catalog: claim a job, write its heartbeat and read back whether
    a cancel was asked for."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def claim(self, job: JobRef, owner: str, now: datetime) -> bool:
        move = move_backup if job.kind == JobKind.BACKUP else move_restore
        return claim(self._ctx.catalog, move, job.id, now, owner)

    def beat(self, job: JobRef, now: datetime) -> bool:
        """Write the heartbeat of the running job; True when a cancel was asked for."""
        model = _MODELS[job.kind]
        with self._ctx.catalog.session() as session:
            session.execute(
                update(model)
                .where(model.id == job.id, model.state == JobState.RUNNING)
                .values(heartbeat_at=now)
            )
            asked = session.scalar(select(model.cancel_requested_at).where(model.id == job.id))
        return asked is not None
