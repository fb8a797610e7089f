"""This process as a worker in the catalog: registered at start, beating from a periodic task
at the pace of job heartbeats, removed at a clean stop (services/workers.py)."""

from __future__ import annotations

import logging

from strongbox.domain.jobs import beat_interval
from strongbox.jobs.periodic import PeriodicTask
from strongbox.services import workers
from strongbox.services.context import Context
from strongbox.services.workers import Presence, WorkerKind

log = logging.getLogger(__name__)


class WorkerPresence:
    def __init__(self, ctx: Context, name: str, kind: WorkerKind, queues: list[str]) -> None:
        self._ctx = ctx
        self.presence = Presence(name, kind, tuple(queues), ctx.clock.now())
        # The same pace as a job's heartbeat, so one limit (STRONGBOX_JOB_LOST_AFTER) fits both.
        self._beats = PeriodicTask(
            "strongbox-worker-heartbeat", beat_interval(ctx.settings.job_lost_after), self.step
        )

    def step(self) -> None:
        """One beat (the periodic task's step; tests call it directly)."""
        workers.beat(self._ctx, self.presence)

    def start(self) -> None:
        workers.register(self._ctx, self.presence)
        self._beats.start()

    def stop(self) -> None:
        self._beats.stop()
        try:
            workers.leave(self._ctx, self.presence)
        except Exception:  # the catalog is away: the row ages and the leader forgets it
            log.exception("could not remove this worker from the catalog at its stop")
