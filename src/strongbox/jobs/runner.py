"""The one runner of backups and restores, whichever executor hands it the job (the thread
pool of `strongbox serve` or a Celery worker): claim the row, keep its heartbeat while it runs,
carry it out, record the outcome, and apply retention after a successful backup.

Each step is callable on its own (claim, `Heartbeat.step`), with the store and the clock passed
in, so that tests drive them without a catalog and without sleeping.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from strongbox.clock import Clock
from strongbox.domain.jobs import JobKind, JobRef, beat_interval
from strongbox.domain.states import JobState
from strongbox.process import ToolScope
from strongbox.services import backup_run, restore_run, schedule_runs
from strongbox.services.context import Context
from strongbox.services.job_rows import CatalogJobStore

log = logging.getLogger(__name__)

CANCELED_REASON = "was canceled"


class JobStore(Protocol):
    def claim(self, job: JobRef, owner: str, now: datetime) -> bool:
        """Move the queued job to running for `owner`; False when it is not queued any more."""
        ...

    def beat(self, job: JobRef, now: datetime) -> bool:
        """Write the running job's heartbeat; True when a cancel was asked for."""
        ...


def owner_name() -> str:
    """Who claims jobs in this process: host, process id and a random part (a restarted process
    with the same pid is another owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Heartbeat:
    """Writes a running job's heartbeat every `interval` seconds from its own thread, and stops
    the job's tools when the catalog says a cancel was asked for."""

    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        job: JobRef,
        interval: float,
        cancel: threading.Event,
        tools: ToolScope,
    ) -> None:
        self._store, self._clock, self._job = store, clock, job
        self._interval = interval
        self.cancel = cancel
        self._tools = tools
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"strongbox-heartbeat-{job.kind}-{job.id}", daemon=True
        )

    def step(self) -> None:
        """One beat: write the heartbeat; on a cancel asked for, set the job's cancel event
        (read by the pipeline and between steps) and kill its tools."""
        if self._store.beat(self._job, self._clock.now()) and not self.cancel.is_set():
            log.info("%s %d: a cancel was asked for; stopping its tools", *self._ids())
            self.cancel.set()
            self._tools.stop(CANCELED_REASON)

    def _ids(self) -> tuple[str, int]:
        return str(self._job.kind), self._job.id

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.step()
            except Exception:  # a beat that failed (catalog away) is tried again next time
                log.exception("the heartbeat of %s %d failed", *self._ids())

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


Work = Callable[[JobRef, threading.Event], object]


class Runner:
    """Runs the jobs an executor hands it, by kind and id: claim, heartbeat, carry out."""

    def __init__(
        self,
        ctx: Context,
        owner: str | None = None,
        store: JobStore | None = None,
        work: Work | None = None,
    ) -> None:
        self._ctx = ctx
        self.owner = owner or owner_name()
        self._store: JobStore = store or CatalogJobStore(ctx)
        self._work: Work = work or (lambda job, cancel: carry_out(ctx, job, cancel))
        self._interval = beat_interval(ctx.settings.job_lost_after)

    def run(self, job: JobRef) -> bool:
        """Claim and carry out `job`; True when this runner claimed it. Never raises the job's
        errors: its outcome is on its row."""
        if not self._store.claim(job, self.owner, self._ctx.clock.now()):
            log.info("%s %d was not claimed: another worker has it, or it ended", job.kind, job.id)
            return False
        tools, cancel = ToolScope(), threading.Event()
        with Heartbeat(self._store, self._ctx.clock, job, self._interval, cancel, tools), tools:
            self._work(job, cancel)
        return True


def carry_out(ctx: Context, job: JobRef, cancel: threading.Event) -> bool:
    """Carry out the claimed job to its recorded outcome, then, after a successful backup, the
    retention of its schedule; True when it succeeded."""
    if job.kind == JobKind.RESTORE:
        return restore_run.carry_out(ctx, job.id, cancel)
    if not backup_run.carry_out(ctx, job.id, cancel):
        return False
    database, name, trigger = backup_run.identity(ctx, job.id)
    try:
        schedule_runs.backup_finished(ctx, database, name, trigger, JobState.SUCCEEDED)
    except Exception:  # retention trouble must not turn a stored backup into a failure
        log.exception(
            "after backup %s/%s succeeded, its schedule's retention failed", database, name
        )
    return True
