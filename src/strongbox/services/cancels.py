"""Canceling a backup or a restore. A queued one becomes `canceled` at once; for a running one
the cancel is written on its row (who, when), and the runner that has it reads that with its
heartbeat, stops its tool, aborts the upload and ends it `canceled` through the same steps as
a failure (a backup's objects removed; a restore's target left as the restore-safety rules say).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from strongbox.catalog.models import Backup, Restore
from strongbox.domain.states import JobState
from strongbox.errors import IllegalStateMove, conflict
from strongbox.services import backups, databases, restore_rows
from strongbox.services.auth import Principal
from strongbox.services.context import Context
from strongbox.services.schemas import BackupOut, RestoreOut
from strongbox.services.state_moves import move_backup, move_restore


def cancel_backup(ctx: Context, principal: Principal, database: str, name: str) -> BackupOut:
    """Cancel the queued or running backup `name`; 409 when it has already ended."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row_id = backups.get_row(session, database, name).id
    _cancel(ctx, Backup, move_backup, row_id, principal.actor, f"backup '{name}'")
    return backups.get(ctx, database, name)


def cancel_restore(ctx: Context, principal: Principal, database: str, name: str) -> RestoreOut:
    """Cancel the queued or running restore `name`; 409 when it has already ended."""
    restore_rows.get(ctx, database, name)  # 404 for an unknown database or restore
    with ctx.catalog.session() as session:
        row = restore_rows.find(session, database, name)
        assert row is not None
        row_id = row.id
    _cancel(ctx, Restore, move_restore, row_id, principal.actor, f"restore '{name}'")
    return restore_rows.get(ctx, database, name)


def _cancel(
    ctx: Context,
    model: type[Backup] | type[Restore],
    move: Callable[..., None],
    row_id: int,
    who: str,
    label: str,
) -> None:
    now = ctx.clock.now()
    try:  # queued: nobody runs it yet, so it ends here (a worker handed it later cannot claim it)
        with ctx.catalog.session() as session:
            move(
                session,
                row_id,
                JobState.CANCELED,
                only_if=model.state == JobState.QUEUED,
                error="canceled while queued: it never started",
                canceled_by=who,
                cancel_requested_at=now,
                finished_at=now,
            )
        return
    except IllegalStateMove:
        pass
    with ctx.catalog.session() as session:
        asked = session.execute(
            update(model)
            .where(
                model.id == row_id,
                model.state == JobState.RUNNING,
                model.cancel_requested_at.is_(None),
            )
            .values(cancel_requested_at=now, canceled_by=who)
        )
        if asked.rowcount:  # type: ignore[attr-defined]
            return
        state, requested = session.execute(
            select(model.state, model.cancel_requested_at).where(model.id == row_id)
        ).one()
    if state == JobState.RUNNING and requested is not None:
        return  # asked already; the runner is stopping it
    raise conflict(f"{label} is {state}: only a queued or running job can be canceled", "job-ended")
