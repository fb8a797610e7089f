from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from strongbox.api.deps import Caller, Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.domain.states import JobState
from strongbox.services import backup_lists, backups, cancels
from strongbox.services.fields import Name
from strongbox.services.paging import Page
from strongbox.services.schemas import BackupCreate, BackupOut
from strongbox.services.schemas.people import Timestamp

router = APIRouter(prefix="/databases/{database}/backups", tags=["backups"])
# Every database's backups, for dashboards (GET /api/v1/backups).
across = APIRouter(prefix="/backups", tags=["backups"])


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_backup(ctx: Ctx, database: NameInPath, body: BackupCreate) -> BackupOut:
    """Take a backup now. Answers the queued backup; poll it until it ends."""
    return backups.create(ctx, database, body)


@router.get("")
def list_backups(ctx: Ctx, database: NameInPath, page: PageQuery) -> Page[BackupOut]:
    """The database's backups, newest first, a page at a time."""
    return backup_lists.page_for(ctx, database, page)


@router.get("/{name}")
def get_backup(ctx: Ctx, database: NameInPath, name: NameInPath) -> BackupOut:
    return backups.get(ctx, database, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_backup(ctx: Ctx, database: NameInPath, name: NameInPath) -> Response:
    """Delete the backup's artifacts from its storage, then its record."""
    backups.delete(ctx, database, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@across.get("")
def list_all_backups(
    ctx: Ctx,
    page: PageQuery,
    state: JobState | None = None,
    database: Annotated[Name | None, Query()] = None,
    storage: Annotated[Name | None, Query()] = None,
    since: Annotated[Timestamp | None, Query(description="created at or after")] = None,
) -> Page[BackupOut]:
    """Backups of every database, newest first, a page at a time; filtered by state,
    database, storage and creation time."""
    filters = backup_lists.BackupFilters(
        state=state, database=database, storage=storage, since=since
    )
    return backup_lists.page_all(ctx, filters, page)


@router.post("/{name}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_backup(ctx: Ctx, caller: Caller, database: NameInPath, name: NameInPath) -> BackupOut:
    """Cancel a queued or running backup: its dump is stopped wherever it runs, its upload
    aborted and what it stored removed; it ends `canceled`. Poll it until it does."""
    return cancels.cancel_backup(ctx, caller, database, name)
