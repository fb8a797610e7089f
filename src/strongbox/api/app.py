"""The FastAPI application: REST API under /api/v1, the web page at /."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from strongbox import __version__
from strongbox.api import access, problems, sign_in_limit, watch
from strongbox.api.audit_trail import AuditTrail
from strongbox.api.body_limit import BodyLimit
from strongbox.api.deps import require_principal
from strongbox.api.routes import (
    backups,
    databases,
    notifications,
    people,
    pitr,
    restores,
    schedules,
    storages,
    workers,
)
from strongbox.domain.roles import needed_role
from strongbox.services.context import Context
from strongbox.web import pages

API_PREFIX = "/api/v1"


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Strongbox",
        version=__version__,
        summary="Backups of PostgreSQL and MySQL/MariaDB into S3-compatible storage",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served below from the vendored files
        redoc_url=None,
    )
    app.state.context = ctx
    app.add_middleware(BodyLimit)
    app.add_middleware(AuditTrail, context=ctx)
    problems.install(app)
    sign_in_limit.install(app)
    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(require_principal)],
        responses=problems.OPENAPI_RESPONSES,
    )
    api.include_router(storages.build_router())
    for module in (databases, backups, schedules, restores, pitr, people):
        api.include_router(module.router)
    api.include_router(backups.across)
    api.include_router(notifications.router)
    api.include_router(workers.router)
    app.include_router(api)
    pages.install(app)
    watch.install(app, ctx)
    _install_docs(app)
    access.install(app)
    _state_roles(app)
    return app


def _state_roles(app: FastAPI) -> None:
    """Write each API operation's role into the OpenAPI document (`x-required-role`), from
    the same rules the requests are checked against."""
    build = app.openapi

    def document() -> dict[str, Any]:
        spec = build()
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                role = needed_role(access.RULES, method.upper(), path)
                operation["x-required-role"] = role.value
        return spec

    app.openapi = document  # type: ignore[method-assign]


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /api/docs from the files vendored in web/static: it works offline and the
    page loads nothing from another site (no CDN, no validator badge)."""

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Strongbox API",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui-favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
