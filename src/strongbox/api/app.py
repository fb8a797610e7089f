"""The FastAPI application: REST API under /api/v1, the web page at /."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from strongbox import __version__
from strongbox.api import problems
from strongbox.api.body_limit import BodyLimit
from strongbox.api.deps import require_principal
from strongbox.api.routes import backups, databases, restores, schedules, storages
from strongbox.services.context import Context
from strongbox.web import pages

API_PREFIX = "/api/v1"


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Strongbox",
        version=__version__,
        summary="Backups of PostgreSQL and MySQL/MariaDB into S3-compatible storage",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.context = ctx
    app.add_middleware(BodyLimit)
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_principal)])
    for module in (storages, databases, backups, schedules, restores):
        api.include_router(module.router)
    app.include_router(api)
    pages.install(app)
    return app
