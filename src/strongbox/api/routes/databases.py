from __future__ import annotations

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.services import databases
from strongbox.services.paging import Page
from strongbox.services.schemas import DatabaseCreate, DatabaseOut, DatabaseUpdate

router = APIRouter(prefix="/databases", tags=["databases"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_database(ctx: Ctx, body: DatabaseCreate) -> DatabaseOut:
    """Register a database server after testing the connection and the client tools."""
    return databases.create(ctx, body)


@router.get("")
def list_databases(ctx: Ctx, page: PageQuery) -> Page[DatabaseOut]:
    """Registered databases, newest first, a page at a time."""
    return databases.page(ctx, page)


@router.get("/{name}")
def get_database(ctx: Ctx, name: NameInPath) -> DatabaseOut:
    return databases.get(ctx, name)


@router.patch("/{name}")
def update_database(ctx: Ctx, name: NameInPath, body: DatabaseUpdate) -> DatabaseOut:
    return databases.update(ctx, name, body)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_database(ctx: Ctx, name: NameInPath) -> Response:
    """Remove the database record; its backups are kept."""
    databases.delete(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
