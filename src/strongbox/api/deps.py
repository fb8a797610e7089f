"""Request dependencies: the service context and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from strongbox.api import access as api_access
from strongbox.api.sign_in_limit import sign_in_limited
from strongbox.domain.roles import needed_role
from strongbox.services import access, auth
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
    """The request's principal, once its role is found to cover the route's (`api/access.py`;
    403 naming the role needed otherwise). A wrong token counts as a failed sign-in of the
    client's address; an address with too many of them is answered 429 before its token is
    looked at."""
    if not authorization:
        principal = auth.authenticate(ctx, authorization)  # 401: no guess was made
    else:
        principal = sign_in_limited(request, lambda: auth.authenticate(ctx, authorization))
    request.state.principal = principal
    template = api_access.template_of(request.scope) or request.url.path
    needed = needed_role(api_access.RULES, request.method, template)
    access.require(principal, needed, f"{request.method} {template}")
    return principal


Ctx = Annotated[Context, Depends(get_context)]
# The caller, in routes that act on its behalf (the same check as the router's, run once).
Caller = Annotated[auth.Principal, Depends(require_principal)]

# A name in a path (`/databases/{database}/backups/{name}`) obeys the same rule as in a body,
# so that a malformed one is a 422 naming the rule, and the OpenAPI document says so.
NameInPath = Annotated[str, Path(), NAME]
