from __future__ import annotations

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.services import schedules
from strongbox.services.paging import Page
from strongbox.services.schemas import ScheduleCreate, ScheduleOut, ScheduleRunOut, ScheduleUpdate

router = APIRouter(prefix="/databases/{database}/schedules", tags=["schedules"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the would-be schedule, with ?dry_run=true"}},
)
def create_schedule(
    ctx: Ctx,
    database: NameInPath,
    body: ScheduleCreate,
    response: Response,
    dry_run: bool = False,
    strict: bool = False,
) -> ScheduleOut:
    """Create a schedule. The answer says it in words, with its next runs and warnings.
    dry_run=true saves nothing (live previews); strict=true turns warnings into a 409."""
    out = schedules.create(ctx, database, body, dry_run=dry_run, strict=strict)
    if dry_run:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("")
def list_schedules(ctx: Ctx, database: NameInPath, page: PageQuery) -> Page[ScheduleOut]:
    """The database's schedules, newest first, a page at a time."""
    return schedules.page_for(ctx, database, page)


@router.get("/{name}")
def get_schedule(ctx: Ctx, database: NameInPath, name: NameInPath) -> ScheduleOut:
    return schedules.get(ctx, database, name)


@router.patch("/{name}")
def update_schedule(
    ctx: Ctx,
    database: NameInPath,
    name: NameInPath,
    body: ScheduleUpdate,
    dry_run: bool = False,
    strict: bool = False,
) -> ScheduleOut:
    """Edit any field (storage, frequency or cron, time zone, retention, enabled, on_overlap)."""
    return schedules.update(ctx, database, name, body, dry_run=dry_run, strict=strict)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(ctx: Ctx, database: NameInPath, name: NameInPath) -> Response:
    """Remove the schedule; the backups it made are kept."""
    schedules.delete(ctx, database, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/runs")
def list_runs(
    ctx: Ctx, database: NameInPath, name: NameInPath, page: PageQuery
) -> Page[ScheduleRunOut]:
    """The schedule's slots, newest first: succeeded, failed, skipped, missed... with reasons."""
    return schedules.runs_page(ctx, database, name, page)
