"""Request dependencies: the service context and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from strongbox.services import auth
from strongbox.services.context import Context


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def require_principal(
    ctx: Annotated[Context, Depends(get_context)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> auth.Principal:
    return auth.authenticate(ctx, authorization)


Ctx = Annotated[Context, Depends(get_context)]
