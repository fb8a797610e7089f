"""The age identities of a queued restore, held in this process's memory only (never on its row,
in a broker message, a log or the audit log) until the restore's job takes them.

Because they exist only here, a restore that carries identities runs in the process that
accepted it (`Executor.submit_here`), whichever executor the others use. A process that stops
before the job takes them loses them: that restore then fails, saying to start it again with the
identity (see `restore_run`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from strongbox.domain.jobs import JobKind
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.restore_pipeline import Identities
from strongbox.services import job_rows
from strongbox.services.context import Context

_lock = threading.Lock()
_held: dict[int, Identities] = {}


def enqueue(ctx: Context, restore_id: int, database: str, identities: Identities) -> None:
    """Hand the queued restore to the executor: through its worker queue when it needs no
    identity, to this process's own threads (holding the identities for it) when it does."""
    if identities is None:
        job_rows.enqueue(ctx, JobKind.RESTORE, restore_id, database)
        return
    hold(restore_id, identities)
    job_rows.enqueue(ctx, JobKind.RESTORE, restore_id, database, here=True)


def hold(restore_id: int, identities: Identities) -> None:
    """Keep the identities for the restore until its job takes them."""
    with _lock:
        _held[restore_id] = identities


def require(identities: Identities, recipients: Sequence[str]) -> None:
    """Refuse to go on with an encrypted backup (`recipients`) for which this process holds no
    identity: it was held by the process that accepted the restore, which did not run it."""
    if recipients and identities is None:
        raise StrongboxError(
            "the age identity of this restore was held only in the memory of the process that "
            "accepted it, and that process did not run it (it stopped first): start the "
            "restore again with the identity",
            "age-identity-lost",
            ErrorKind.CONFLICT,
        )


def take(restore_id: int) -> Identities:
    """The identities held for the restore, forgotten here as they are handed over; None when
    this process holds none for it."""
    with _lock:
        return _held.pop(restore_id, None)
