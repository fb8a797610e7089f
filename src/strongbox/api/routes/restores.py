from __future__ import annotations

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Caller, Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.services import cancels, restore_rows, restores
from strongbox.services.paging import Page
from strongbox.services.schemas import RestoreCreate, RestoreOut, RestorePlanOut

router = APIRouter(prefix="/databases/{database}/restores", tags=["restores"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": RestorePlanOut, "description": "the plan, with ?dry_run=true"}},
)
def create_restore(
    ctx: Ctx,
    caller: Caller,
    database: NameInPath,
    body: RestoreCreate,
    response: Response,
    dry_run: bool = False,
) -> RestoreOut | RestorePlanOut:
    """Restore a succeeded backup of `database` into it or into another registered database.
    With dry_run=true, answer the plan (artifacts, checks, targets, commands) and do nothing.
    Needs operator; overwrite=true or restore_globals=true needs admin."""
    result = restores.create(ctx, caller, database, body, dry_run=dry_run)
    if dry_run:
        response.status_code = status.HTTP_200_OK
    return result


@router.get("")
def list_restores(ctx: Ctx, database: NameInPath, page: PageQuery) -> Page[RestoreOut]:
    """Restores of the database's backups, newest first, a page at a time."""
    return restore_rows.page_for(ctx, database, page)


@router.get("/{name}")
def get_restore(ctx: Ctx, database: NameInPath, name: NameInPath) -> RestoreOut:
    return restore_rows.get(ctx, database, name)


@router.post("/{name}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_restore(ctx: Ctx, caller: Caller, database: NameInPath, name: NameInPath) -> RestoreOut:
    """Cancel a queued or running restore: its tool is stopped wherever it runs and it ends
    `canceled`; the target is left as after a failed restore (a side database dropped, an
    existing target untouched). Poll it until it ends."""
    return cancels.cancel_restore(ctx, caller, database, name)
