"""Assembly of the embedded default: one process with the API, the web page, the scheduler and
a thread pool of workers, on a SQLite catalog in the data folder."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from strongbox import logs, scratch
from strongbox.api.app import create_app
from strongbox.catalog.db import Catalog
from strongbox.clock import SystemClock
from strongbox.config import Settings
from strongbox.domain.jobs import beat_interval
from strongbox.errors import StrongboxError
from strongbox.jobs.celery_jobs import CeleryExecutor, run_worker
from strongbox.jobs.local import LocalExecutor
from strongbox.jobs.periodic import PeriodicTask
from strongbox.jobs.presence import WorkerPresence
from strongbox.jobs.runner import Runner, owner_name
from strongbox.jobs.wal_streams import WalStreams
from strongbox.malloc_arenas import limit_malloc_arenas
from strongbox.scheduler.leadership import Leadership, leadership_for
from strongbox.scheduler.loop import SchedulerLoop
from strongbox.services import (
    auth,
    backups,
    freshness,
    job_rows,
    lost_jobs,
    managed_instances,
    schedule_runs,
    secret_keys,
    workers,
)
from strongbox.services.context import Context

log = logging.getLogger("strongbox")

# How often the PITR receivers are matched with the catalog and with the leadership.
WAL_RESYNC_SECONDS = 10.0
# How often the leader looks for workers silent for a day, to forget them.
FORGET_WORKERS_SECONDS = 300.0


def build_context(settings: Settings, owner: str | None = None) -> Context:
    """The context of a process; its runner claims jobs as `owner` (made up when not given)."""
    # Only the server's user may read the catalog, keys and token files (made on first start).
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    catalog = Catalog.open(settings.resolved_catalog_url())
    log.info("catalog: %s", catalog.describe())
    try:
        secrets = secret_keys.open_secret_box(settings, catalog)
    except BaseException:
        catalog.close()
        raise
    executor: LocalExecutor | CeleryExecutor
    if settings.executor == "celery":
        assert settings.broker_url is not None  # the settings refuse celery without it
        # Its own threads run only the restores that carry an age identity (held here).
        executor = CeleryExecutor(settings.broker_url.get_secret_value(), LocalExecutor(2))
    else:
        executor = LocalExecutor(settings.workers)
    ctx = Context(
        settings=settings, catalog=catalog, secrets=secrets, clock=SystemClock(), executor=executor
    )
    local = executor if isinstance(executor, LocalExecutor) else executor.here
    local.bind(Runner(ctx, owner=owner).run)
    return ctx


@dataclass
class Embedded:
    """The parts of `strongbox serve` around the HTTP server, started and stopped together."""

    context: Context
    # Whether this replica leads: the scheduler and leader-only periodic checks ask it.
    leadership: Leadership
    scheduler: SchedulerLoop
    janitor: PeriodicTask
    lost_jobs: PeriodicTask
    wal_streams: WalStreams
    # Watching: tells when a database has gone too long without a successful backup.
    freshness: PeriodicTask | None = None
    # Keeps the PITR receivers in step with the catalog and with this replica's leadership.
    wal_resync: PeriodicTask | None = None
    # This process in the catalog's list of workers, with its heartbeat.
    presence: WorkerPresence | None = None
    # The leader forgets workers silent for a day.
    forget_workers: PeriodicTask | None = None

    @classmethod
    def prepare(cls, settings: Settings) -> Embedded:
        owner = owner_name()
        ctx = build_context(settings, owner)
        # Jobs other processes run are left alone: only a stale heartbeat fails a job.
        lost_jobs.fail_lost(ctx)
        backups.retry_cleanups(ctx)
        for name in managed_instances.remove_leftovers(ctx):
            log.warning("removed the half-made instance %s, left by an interrupted restore", name)
        for name in scratch.remove_leftovers(scratch.prepare_root(settings.resolved_scratch_dir())):
            log.warning("removed %s, left in the scratch folder by an interrupted restore", name)
        for name in managed_instances.start_stopped(ctx):
            log.info("started the managed instance %s, which was not running", name)
        setup = auth.ensure_admin_token(ctx)
        if setup.token is not None:
            # Printed once, to the console of the person who started the server, never logged.
            print(
                f"Strongbox admin token (shown once, also saved to {setup.file}):\n"
                f"  {setup.token}\n",
                file=sys.stderr,
                flush=True,
            )
        wake: list[Callable[[], None]] = []
        follow: list[Callable[[], None]] = []

        def took_the_lead(leading: bool) -> None:
            # A replica that takes the lead looks for due slots at once; the receivers of PITR
            # streams follow the lead both ways.
            for listener in wake if leading else []:
                listener()
            for listener in follow:
                listener()

        leadership = leadership_for(ctx.catalog, on_change=took_the_lead)
        looks = schedule_runs.Looks(ctx)
        scheduler = SchedulerLoop(
            ctx.clock,
            next_due=looks.next_due,
            run_due=looks.run_due,
            leads=leadership.is_leader,
        )
        wake.append(scheduler.wake)
        ctx.wake_scheduler = scheduler.wake
        janitor = PeriodicTask(
            "strongbox-janitor",
            settings.cleanup_retry_seconds,
            lambda: backups.retry_cleanups(ctx),
            when=leadership.is_leader,
        )
        lost = PeriodicTask(
            "strongbox-lost-jobs",
            beat_interval(settings.job_lost_after),
            lambda: lost_jobs.fail_lost(ctx),
            when=leadership.is_leader,
        )
        wal_streams = WalStreams(ctx, leads=leadership.is_leader)
        ctx.pitr_changed = wal_streams.sync
        follow.append(wal_streams.sync)
        # A stream turned on or off through another replica reaches the leader at its next look.
        wal_resync = PeriodicTask(
            "strongbox-wal-streams", WAL_RESYNC_SECONDS, lambda: wal_streams.sync()
        )
        # Freshness is the leader's: one replica tells each breach (the catalog claim makes a
        # second teller harmless, but there is no reason for two to look).
        freshness_task = PeriodicTask(
            "strongbox-freshness",
            settings.freshness_check_seconds,
            lambda: freshness.check(ctx),
            when=leadership.is_leader,
        )
        forget_workers = PeriodicTask(
            "strongbox-forget-workers",
            FORGET_WORKERS_SECONDS,
            lambda: workers.forget_gone(ctx),
            when=leadership.is_leader,
        )
        return cls(
            context=ctx,
            leadership=leadership,
            scheduler=scheduler,
            janitor=janitor,
            lost_jobs=lost,
            wal_streams=wal_streams,
            freshness=freshness_task,
            wal_resync=wal_resync,
            presence=WorkerPresence(ctx, owner, "serve", []),
            forget_workers=forget_workers,
        )

    def start(self) -> None:
        if self.presence is not None:
            self.presence.start()
        self.leadership.start()
        self.scheduler.start()
        self.janitor.start()
        self.lost_jobs.start()
        self.wal_streams.start()
        if self.wal_resync is not None:
            self.wal_resync.start()
        if self.freshness is not None:
            self.freshness.start()
        if self.forget_workers is not None:
            self.forget_workers.start()
        # Queued jobs survive a restart: the ones nobody claimed are handed to the threads again
        # (a job another worker claims first is refused by the claim). With Celery, the broker
        # keeps them.
        if isinstance(self.context.executor, LocalExecutor):
            for job in job_rows.unclaimed(self.context):
                self.context.executor.submit(job)

    def stop(self) -> None:
        if self.wal_resync is not None:
            self.wal_resync.stop()
        self.wal_streams.stop()
        self.scheduler.stop()
        self.janitor.stop()
        if self.freshness is not None:
            self.freshness.stop()
        self.lost_jobs.stop()
        if self.forget_workers is not None:
            self.forget_workers.stop()
        self.leadership.stop()
        executor = self.context.executor
        if isinstance(executor, LocalExecutor):
            executor.shutdown(wait=True)
        elif isinstance(executor, CeleryExecutor):
            executor.close()
        if self.presence is not None:  # after its threads ended: it ran jobs until then
            self.presence.stop()
        self.context.catalog.close()


def serve(settings: Settings, host: str, port: int) -> None:
    limit_malloc_arenas()  # before any thread starts
    logs.configure(settings.log_format)
    embedded = Embedded.prepare(settings)
    embedded.start()
    try:
        uvicorn.run(
            create_app(embedded.context),
            host=host,
            port=port,
            log_level="info",
            # JSON: uvicorn's loggers go through the root's handler instead of their own.
            log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        )
    finally:
        embedded.stop()


def work(settings: Settings, queues: list[str]) -> None:
    """`strongbox worker`: a Celery worker that runs the jobs of `queues` with the runner."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.broker_url is None:
        raise StrongboxError(
            "strongbox worker needs the broker: set STRONGBOX_BROKER_URL (redis://... or "
            "amqp://...), the same as the servers'",
            "broker-missing",
        )
    owner = owner_name()
    ctx = build_context(settings, owner)
    presence = WorkerPresence(ctx, owner, "worker", queues)
    try:
        presence.start()
        run_worker(
            settings.broker_url.get_secret_value(),
            queues,
            settings.workers,
            Runner(ctx, owner=owner).run,
        )
    finally:
        presence.stop()
        ctx.catalog.close()
