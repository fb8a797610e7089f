from __future__ import annotations

from fastapi import APIRouter

from strongbox.api.deps import Ctx, NameInPath
from strongbox.services import pitr
from strongbox.services.schemas import PitrOut, PitrUpdate

router = APIRouter(prefix="/databases/{database}/pitr", tags=["pitr"])


@router.get("")
def get_pitr(ctx: Ctx, database: NameInPath) -> PitrOut:
    """The WAL stream's state, lag, and the true restorable windows and gaps of the stored WAL."""
    return pitr.get(ctx, database)


@router.put("")
def put_pitr(ctx: Ctx, database: NameInPath, body: PitrUpdate) -> PitrOut:
    """Turn point-in-time recovery on (prerequisites checked, slot created, WAL streamed) or
    off (streamer stopped, slot dropped; stored WAL and its index are kept)."""
    return pitr.update(ctx, database, body)
