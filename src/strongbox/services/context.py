"""What every use case needs: settings, the catalog, the secret box, a clock and an executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from strongbox.catalog.db import Catalog
from strongbox.clock import Clock
from strongbox.config import Settings
from strongbox.domain.jobs import JobRef
from strongbox.secretbox import SecretBox


class Executor(Protocol):
    def submit(self, job: JobRef) -> None:
        """Hand the job (a kind and a row id) to a worker, which claims and runs it soon; never
        raises the job's errors into the caller."""
        ...

    def submit_here(self, job: JobRef) -> None:
        """Run the job in this process's own threads, whatever the executor (it needs what only
        this process holds: `held_identities`)."""
        ...


@dataclass
class Context:
    settings: Settings
    catalog: Catalog
    secrets: SecretBox
    clock: Clock
    executor: Executor
    # Called when schedules change, so that a sleeping scheduler looks again now.
    wake_scheduler: Callable[[], None] = field(default=lambda: None)
    # Called with a database whose WAL stream was turned on or off, so that the server starts
    # its receiver afresh or stops it now (returns once a stopped receiver has ended).
    pitr_changed: Callable[[str], None] = field(default=lambda database: None)
