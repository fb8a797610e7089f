"""Request dependencies: the service context and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from strongbox.api.sign_in_limit import sign_in_limited
from strongbox.services import auth
from strongbox.services.context import Context
from strongbox.services.fields import NAME


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def require_principal(
    request: Request,
    ctx: Annotated[Context, Depends(get_context)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> auth.Principal:
    """The request's principal. A wrong token counts as a failed sign-in of the client's
    address; an address with too many of them is answered 429 before its token is looked at."""
    if not authorization:
        return auth.authenticate(ctx, authorization)  # 401: no guess was made
    return sign_in_limited(request, lambda: auth.authenticate(ctx, authorization))


Ctx = Annotated[Context, Depends(get_context)]

# A name in a path (`/databases/{database}/backups/{name}`) obeys the same rule as in a body,
# so that a malformed one is a 422 naming the rule, and the OpenAPI document says so.
NameInPath = Annotated[str, Path(), NAME]
