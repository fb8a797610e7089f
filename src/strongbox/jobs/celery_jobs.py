"""The Celery executor: `strongbox serve` with STRONGBOX_EXECUTOR=celery sends each job (its
kind and id, nothing else) through the broker to the worker queue of its database, and
`strongbox worker` runs it with the same runner as the embedded thread pool.

Celery is the distribution engine: delivery, queues, acknowledgement. The catalog keeps the
truth: a job delivered twice is claimed once, and a worker that dies is found by its heartbeat.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from strongbox.domain.jobs import DEFAULT_QUEUE, JobRef
from strongbox.jobs.local import LocalExecutor

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

TASK_NAME = "strongbox.run_job"


def make_app(broker_url: str) -> Celery:
    """A Celery app on `broker_url` (redis://... or amqp://...) with the settings jobs need: a
    worker takes one job at a time per thread and acknowledges it once it ran, so a message
    whose worker died before claiming it is delivered again."""
    from celery import Celery  # imported only where Celery is the executor

    app = Celery("strongbox", broker=broker_url)
    app.conf.update(
        task_default_queue=DEFAULT_QUEUE,
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


class CeleryExecutor:
    """Hands jobs to Celery workers through the broker; a job that must run where it was
    accepted (`submit_here`) goes to `here`, this process's own threads."""

    def __init__(self, broker_url: str, here: LocalExecutor) -> None:
        self._app = make_app(broker_url)
        self.here = here

    def submit(self, job: JobRef) -> None:
        self._app.send_task(TASK_NAME, args=[job.message()], queue=job.queue or DEFAULT_QUEUE)

    def submit_here(self, job: JobRef) -> None:
        self.here.submit(job)

    def close(self) -> None:
        self._app.close()
        self.here.shutdown(wait=True)


def run_worker(broker_url: str, queues: list[str], threads: int, run: Any) -> None:
    """Consume `queues` and hand each job to `run` (the runner's `run`), `threads` at a time,
    until the process is stopped (SIGTERM drains: running jobs end first)."""
    app = make_app(broker_url)

    @app.task(name=TASK_NAME)  # type: ignore[untyped-decorator]
    def run_job(message: object) -> None:
        try:
            job = JobRef.from_message(message)
        except ValueError:  # not ours, or tampered with: never run, never retried
            log.warning("ignored a message that names no job: %r", message)
            return
        run(job)

    app.worker_main(
        argv=[
            "worker",
            "--queues",
            ",".join(queues),
            "--pool",
            "threads",
            "--concurrency",
            str(threads),
            "--hostname",
            f"strongbox-{os.getpid()}@{socket.gethostname()}",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
    )
