from __future__ import annotations

from fastapi import APIRouter

from strongbox.api.deps import Ctx
from strongbox.api.paging import PageQuery
from strongbox.services import workers
from strongbox.services.paging import Page
from strongbox.services.schemas import WorkerOut

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("")
def list_workers(ctx: Ctx, page: PageQuery) -> Page[WorkerOut]:
    """The processes that run jobs (each `strongbox serve` and `strongbox worker`), newest
    started first, a page at a time, with their heartbeat's age and whether they count as lost."""
    return workers.page(ctx, page)
