"""Routes for the platform watching Strongbox: `/readyz` and `/metrics` (`/healthz`, the
process being alive, is answered by the page's router)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse

from strongbox.api import metrics
from strongbox.api.sign_in_limit import sign_in_limited
from strongbox.config import normal_token
from strongbox.domain.roles import Role
from strongbox.services import access, auth, readiness
from strongbox.services.context import Context

router = APIRouter(include_in_schema=False)


@router.get("/readyz")
def ready(request: Request) -> JSONResponse:
    """200 when the catalog (and the broker, when one is set) answers, else 503."""
    found = readiness.check(request.app.state.context)
    body = {"status": "ready" if found.ready else "not ready", "checks": found.checks}
    return JSONResponse(body, status_code=200 if found.ready else 503)


@router.get("/metrics")
def scrape(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """The Prometheus text format. Needs `STRONGBOX_METRICS_TOKEN` as a bearer token, or any
    API token of a viewer or above."""
    ctx: Context = request.app.state.context
    if not _is_metrics_token(ctx, authorization):
        if authorization:
            principal = sign_in_limited(request, lambda: auth.authenticate(ctx, authorization))
        else:
            principal = auth.authenticate(ctx, authorization)  # 401: nothing was guessed
        request.state.principal = principal
        access.require(principal, Role.VIEWER, "GET /metrics")
    body, content_type = metrics.exposition(request.app.state.metrics_registry)
    return Response(body, media_type=content_type)


def _is_metrics_token(ctx: Context, authorization: str | None) -> bool:
    expected = ctx.settings.metrics_token
    if expected is None or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        normal_token(given).encode(), expected.get_secret_value().encode()
    )


def install(app: FastAPI, ctx: Context) -> None:
    app.state.metrics_registry = metrics.registry_for(ctx)
    app.include_router(router)
