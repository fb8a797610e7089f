from __future__ import annotations

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Caller, Ctx, NameInPath
from strongbox.services import backups, cancels
from strongbox.services.schemas import BackupCreate, BackupOut

router = APIRouter(prefix="/databases/{database}/backups", tags=["backups"])


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_backup(ctx: Ctx, database: NameInPath, body: BackupCreate) -> BackupOut:
    """Take a backup now. Answers the queued backup; poll it until it ends."""
    return backups.create(ctx, database, body)


@router.get("")
def list_backups(ctx: Ctx, database: NameInPath) -> list[BackupOut]:
    """The database's backups, newest first."""
    return backups.list_for(ctx, database)


@router.get("/{name}")
def get_backup(ctx: Ctx, database: NameInPath, name: NameInPath) -> BackupOut:
    return backups.get(ctx, database, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_backup(ctx: Ctx, database: NameInPath, name: NameInPath) -> Response:
    """Delete the backup's artifacts from its storage, then its record."""
    backups.delete(ctx, database, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_backup(ctx: Ctx, caller: Caller, database: NameInPath, name: NameInPath) -> BackupOut:
    """Cancel a queued or running backup: its dump is stopped wherever it runs, its upload
    aborted and what it stored removed; it ends `canceled`. Poll it until it does."""
    return cancels.cancel_backup(ctx, caller, database, name)
