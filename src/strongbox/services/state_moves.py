"""The one way a backup's, restore's or schedule run's `state` column changes.

Each move is a conditional UPDATE whose WHERE names the states the machine in `domain/states.py`
allows before the new one, so the check and the write are one statement: of two writers racing,
the second finds the row already moved and is refused. A refused move is logged and raised as
`IllegalStateMove`; callers that expect to lose such a race (a claim) catch it.

Inserting a row in its first state (a queued backup, a recorded run) is not a move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from strongbox.catalog.db import Catalog
from strongbox.catalog.models import Backup, Restore, ScheduleRun
from strongbox.domain.states import JOBS, RUNS, JobState, RunState, StateMachine
from strongbox.errors import IllegalStateMove

log = logging.getLogger(__name__)

_Row = type[Backup] | type[Restore] | type[ScheduleRun]


def move_backup(
    session: Session,
    backup_id: int,
    new: JobState,
    *,
    only_if: ColumnElement[bool] | None = None,
    **values: Any,
) -> None:
    """Move backup `backup_id` to `new`, writing `values` on it in the same UPDATE; `only_if`
    adds a condition to the move (such as the heartbeat still being the one that was read)."""
    _move(session, Backup, "backup", JOBS, backup_id, new, values, only_if)


def move_restore(
    session: Session,
    restore_id: int,
    new: JobState,
    *,
    only_if: ColumnElement[bool] | None = None,
    **values: Any,
) -> None:
    """Move restore `restore_id` to `new`, writing `values` on it in the same UPDATE."""
    _move(session, Restore, "restore", JOBS, restore_id, new, values, only_if)


def move_run(session: Session, run_id: int, new: RunState, **values: Any) -> None:
    """Move schedule run `run_id` to `new`, writing `values` on it in the same UPDATE."""
    _move(session, ScheduleRun, "schedule run", RUNS, run_id, new, values)


def claim(
    catalog: Catalog, move: Callable[..., None], row_id: int, now: datetime, owner: str
) -> bool:
    """Move a queued backup or restore (`move` is `move_backup` or `move_restore`) to running,
    started at `now` and claimed by `owner`; False when it is not queued any more: another
    worker has it, or it ended (the refusal is logged). Of two workers handed the same job,
    only one claims it."""
    try:
        with catalog.session() as session:
            move(
                session,
                row_id,
                JobState.RUNNING,
                started_at=now,
                heartbeat_at=now,
                claimed_by=owner,
            )
    except IllegalStateMove:
        return False
    return True


def _move(
    session: Session,
    model: _Row,
    label: str,
    machine: StateMachine,
    row_id: int,
    new: str,
    values: dict[str, Any],
    only_if: ColumnElement[bool] | None = None,
) -> None:
    sources = machine.sources_of(new)
    conditions = [model.id == row_id, model.state.in_(sorted(sources))]
    if only_if is not None:
        conditions.append(only_if)
    result = session.execute(update(model).where(*conditions).values(state=new, **values))
    if result.rowcount:  # type: ignore[attr-defined]
        return
    current = session.scalar(select(model.state).where(model.id == row_id))
    if current is not None and only_if is not None and current in sources:
        detail = f"{label} {row_id} cannot move to '{new}': it changed since it was read"
    elif current is None:
        detail = f"{label} {row_id} cannot move to '{new}': it does not exist"
    else:
        allowed = ", ".join(f"'{s}'" for s in sorted(sources)) or "no state"
        detail = (
            f"{label} {row_id} cannot move from '{current}' to '{new}': only {allowed} "
            f"may become '{new}'"
        )
    log.warning("refused state move: %s", detail)
    raise IllegalStateMove(detail)
