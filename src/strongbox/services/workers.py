"""The processes that run jobs, as the catalog knows them: each `strongbox serve` (its own
threads) and each `strongbox worker` registers itself when it starts, writes its heartbeat every
beat while it lives, and leaves when it stops cleanly. One that was killed, or whose host
vanished, stays with an ageing heartbeat (shown as lost) until the leader forgets it.

The heartbeat is the process's, not a job's: an idle worker beats too, so /metrics can tell a
live worker with nothing to do from one that is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, select, update

from strongbox.catalog.models import Worker
from strongbox.domain.jobs import WORKER_FORGET_AFTER, is_lost
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas import WorkerOut

log = logging.getLogger(__name__)

WorkerKind = Literal["serve", "worker"]


@dataclass(frozen=True)
class Presence:
    """This process as a worker: the name it claims jobs with, its kind and queues, and when it
    started (kept here so that a beat can register it again if its row was removed)."""

    name: str
    kind: WorkerKind
    queues: tuple[str, ...]
    started_at: datetime


@dataclass(frozen=True)
class WorkerSeen:
    """A worker as read at `now`, for the API and /metrics."""

    name: str
    kind: str
    queues: list[str]
    started_at: datetime
    heartbeat_at: datetime
    age_seconds: float
    lost: bool


def register(ctx: Context, presence: Presence) -> None:
    """Write this process's row, its heartbeat now."""
    with ctx.catalog.session() as session:
        session.add(_row(presence, ctx.clock.now()))


def beat(ctx: Context, presence: Presence) -> None:
    """Write this process's heartbeat. A row that is gone (the leader forgot a process that
    was suspended for a day, or the catalog was restored) is written again."""
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        written = session.execute(
            update(Worker).where(Worker.name == presence.name).values(heartbeat_at=now)
        )
        if not written.rowcount:  # type: ignore[attr-defined]
            log.warning("this worker's row was gone from the catalog; registered it again")
            session.add(_row(presence, now))


def leave(ctx: Context, presence: Presence) -> None:
    """Remove this process's row at a clean stop: a process that left is not lost."""
    with ctx.catalog.session() as session:
        session.execute(delete(Worker).where(Worker.name == presence.name))


def forget_gone(ctx: Context) -> int:
    """Remove the workers silent for longer than `WORKER_FORGET_AFTER` (the leader's step);
    returns how many."""
    cutoff = ctx.clock.now() - WORKER_FORGET_AFTER
    with ctx.catalog.session() as session:
        result = session.execute(delete(Worker).where(Worker.heartbeat_at < cutoff))
        gone = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if gone:
        log.info("forgot %d worker(s) silent since before %s", gone, cutoff.isoformat())
    return gone


def seen(ctx: Context, row: Worker, now: datetime) -> WorkerSeen:
    age = max(0.0, (now - row.heartbeat_at).total_seconds())
    return WorkerSeen(
        name=row.name,
        kind=row.kind,
        queues=list(row.queues),
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        age_seconds=age,
        lost=is_lost(row.heartbeat_at, None, now, ctx.settings.job_lost_after),
    )


def all_seen(ctx: Context, now: datetime) -> list[WorkerSeen]:
    """Every worker in the catalog as seen at `now`, by name (for /metrics)."""
    with ctx.catalog.session() as session:
        return [seen(ctx, r, now) for r in session.scalars(select(Worker).order_by(Worker.name))]


def page(ctx: Context, request: PageRequest) -> Page[WorkerOut]:
    """The workers, newest started first, a page at a time."""
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        rows, after = fetch(session, select(Worker), Worker.started_at, Worker.id, request)
        items = [_out(seen(ctx, r, now)) for r in rows]
    return Page[WorkerOut](items=items, next=after)


def _out(worker: WorkerSeen) -> WorkerOut:
    return WorkerOut.model_validate(
        {
            "name": worker.name,
            "kind": worker.kind,
            "queues": worker.queues,
            "started_at": worker.started_at,
            "heartbeat_at": worker.heartbeat_at,
            "heartbeat_age_seconds": worker.age_seconds,
            "lost": worker.lost,
        }
    )


def _row(presence: Presence, now: datetime) -> Worker:
    return Worker(
        name=presence.name,
        kind=presence.kind,
        queues=list(presence.queues),
        started_at=presence.started_at,
        heartbeat_at=now,
    )
