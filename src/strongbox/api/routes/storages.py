from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.services import imports, storages
from strongbox.services import storage_kinds as registry
from strongbox.services.paging import Page
from strongbox.services.schemas import ImportOut, ImportRequest


def build_router() -> APIRouter:
    """The routes of /backup-storages. Built when the application is, from the storage kinds
    registered by then: the request union and the response model list every kind."""
    router = APIRouter(prefix="/backup-storages", tags=["backup storages"])
    create_body, update_body, out = (
        registry.create_union(),
        registry.update_model(),
        registry.out_model(),
    )

    def create_storage(ctx: Ctx, body: Any) -> Any:
        """Register a backup storage after testing live access to it."""
        return storages.create(ctx, body)

    def update_storage(ctx: Ctx, name: NameInPath, body: Any) -> Any:
        """Change a storage; access is tested again. A secret left out keeps the stored one."""
        return storages.update(ctx, name, body)

    # The body types exist only now, so they are set on the functions before FastAPI reads
    # their signatures.
    create_storage.__annotations__["body"] = create_body
    update_storage.__annotations__["body"] = update_body
    router.post("", status_code=status.HTTP_201_CREATED, response_model=out)(create_storage)

    @router.get("", response_model=Page[out])  # type: ignore[valid-type]
    def list_storages(ctx: Ctx, page: PageQuery) -> Any:
        """Backup storages, newest first, a page at a time."""
        return storages.page(ctx, page)

    @router.get("/{name}", response_model=out)
    def get_storage(ctx: Ctx, name: NameInPath) -> Any:
        return storages.get(ctx, name)

    router.patch("/{name}", response_model=out)(update_storage)

    @router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_storage(ctx: Ctx, name: NameInPath, force: bool = False) -> Response:
        """Remove the storage record (409 while backups refer to it, unless force=true).
        Artifacts in the storage are kept."""
        storages.delete(ctx, name, force=force)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post("/{name}/import")
    def import_backups(ctx: Ctx, name: NameInPath, body: ImportRequest | None = None) -> ImportOut:
        """Register the backups whose manifests lie in this storage (skipping known ones), so
        that a new Strongbox can restore what an older one stored."""
        return imports.import_backups(ctx, name, body.database if body else None)

    return router
