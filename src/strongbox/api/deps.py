"""Request dependencies: the service context and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from strongbox.services import auth
from strongbox.services.context import Context
from strongbox.services.fields import NAME


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def require_principal(
    ctx: Annotated[Context, Depends(get_context)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> auth.Principal:
    return auth.authenticate(ctx, authorization)


Ctx = Annotated[Context, Depends(get_context)]

# A name in a path (`/databases/{database}/backups/{name}`) obeys the same rule as in a body,
# so that a malformed one is a 422 naming the rule, and the OpenAPI document says so.
NameInPath = Annotated[str, Path(), NAME]
