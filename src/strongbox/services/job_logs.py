"""Log lines of a running backup or restore carry its kind, database and name
(`logs.job_scope`), with a line when it starts and one when it ends."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from strongbox.catalog.models import Backup, Restore
from strongbox.logs import job_scope
from strongbox.services.context import Context

log = logging.getLogger("strongbox.jobs")

F = TypeVar("F", bound=Callable[..., Any])


def logged(kind: str, model: type[Backup] | type[Restore]) -> Callable[[F], F]:
    """Decorates `run(ctx, row_id, ...)` of a job whose row is in `model`; its answer is passed
    on."""

    def decorate(run: F) -> F:
        @functools.wraps(run)
        def wrapper(ctx: Context, row_id: int, *args: Any, **kwargs: Any) -> Any:
            found = _row(ctx, model, row_id)
            if found is None:  # nothing to name: run it as it is
                return run(ctx, row_id, *args, **kwargs)
            database, name, _state = found
            with job_scope(kind, database, name):
                log.info("%s %s/%s starts", kind, database, name)
                try:
                    return run(ctx, row_id, *args, **kwargs)
                finally:
                    ended = _row(ctx, model, row_id)
                    state = ended[2] if ended is not None else "gone"
                    log.info("%s %s/%s is %s", kind, database, name, state)

        return wrapper  # type: ignore[return-value]

    return decorate


def _row(
    ctx: Context, model: type[Backup] | type[Restore], row_id: int
) -> tuple[str, str, str] | None:
    try:
        with ctx.catalog.session() as session:
            found = session.execute(
                select(model.database, model.name, model.state).where(model.id == row_id)
            ).first()
    except Exception:  # logging must never stop the job
        log.exception("could not read %s %d for its log lines", model.__tablename__, row_id)
        return None
    return (found[0], found[1], found[2]) if found is not None else None
