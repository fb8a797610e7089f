from __future__ import annotations

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Ctx, NameInPath
from strongbox.services import imports, storages
from strongbox.services.schemas import (
    ImportOut,
    ImportRequest,
    StorageCreate,
    StorageOut,
    StorageUpdate,
)

router = APIRouter(prefix="/backup-storages", tags=["backup storages"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_storage(ctx: Ctx, body: StorageCreate) -> StorageOut:
    """Register a backup storage after testing live access to it."""
    return storages.create(ctx, body)


@router.get("")
def list_storages(ctx: Ctx) -> list[StorageOut]:
    return storages.list_all(ctx)


@router.get("/{name}")
def get_storage(ctx: Ctx, name: NameInPath) -> StorageOut:
    return storages.get(ctx, name)


@router.patch("/{name}")
def update_storage(ctx: Ctx, name: NameInPath, body: StorageUpdate) -> StorageOut:
    """Change a storage; access is tested again. A secret left out keeps the stored one."""
    return storages.update(ctx, name, body)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_storage(ctx: Ctx, name: NameInPath, force: bool = False) -> Response:
    """Remove the storage record (409 while backups refer to it, unless force=true).
    Artifacts in the storage are kept."""
    storages.delete(ctx, name, force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/import")
def import_backups(ctx: Ctx, name: NameInPath, body: ImportRequest | None = None) -> ImportOut:
    """Register the backups whose manifests lie in this storage (skipping known ones), so that
    a new Strongbox can restore what an older one stored."""
    return imports.import_backups(ctx, name, body.database if body else None)
