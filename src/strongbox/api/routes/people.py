"""Who is calling, users, API tokens and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from strongbox.api.deps import Caller, Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.services import audit, tokens, users
from strongbox.services.paging import Page
from strongbox.services.schemas.people import (
    AuditPage,
    Me,
    PasswordChange,
    Timestamp,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter()


@router.get("/me", tags=["people"])
def who_am_i(caller: Caller) -> Me:
    """The user and token of this request, and the role it acts with."""
    return Me(user=caller.user, token=caller.token_name, role=caller.role)


@router.post("/me/password", tags=["people"], status_code=status.HTTP_204_NO_CONTENT)
def change_password(ctx: Ctx, caller: Caller, body: PasswordChange) -> Response:
    """Change your own password (the current one is asked for). Your page sessions end."""
    users.change_own_password(ctx, caller, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tokens", tags=["tokens"], status_code=status.HTTP_201_CREATED)
def create_token(ctx: Ctx, caller: Caller, body: TokenCreate) -> TokenCreated:
    """Make an API token for yourself (or, as an admin, a service token), with a role no
    higher than yours. The token is in this answer only: it is stored hashed."""
    return tokens.create(ctx, caller, body)


@router.get("/tokens", tags=["tokens"])
def list_tokens(ctx: Ctx, caller: Caller, page: PageQuery) -> Page[TokenOut]:
    """Your tokens (every token, for an admin), with when each was last used."""
    return tokens.page_for(ctx, caller, page)


@router.delete("/tokens/{name}", tags=["tokens"], status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(ctx: Ctx, caller: Caller, name: NameInPath) -> Response:
    """Revoke a token: the next request with it is refused."""
    tokens.revoke(ctx, caller, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users", tags=["people"], status_code=status.HTTP_201_CREATED)
def create_user(ctx: Ctx, body: UserCreate) -> UserOut:
    return users.create(ctx, body)


@router.get("/users", tags=["people"])
def list_users(ctx: Ctx, page: PageQuery) -> Page[UserOut]:
    """Users, newest first, a page at a time."""
    return users.page(ctx, page)


@router.get("/users/{name}", tags=["people"])
def get_user(ctx: Ctx, name: NameInPath) -> UserOut:
    return users.get(ctx, name)


@router.patch("/users/{name}", tags=["people"])
def update_user(ctx: Ctx, name: NameInPath, body: UserUpdate) -> UserOut:
    """Change a user's role, or set a new password (their page sessions end)."""
    return users.update(ctx, name, body)


@router.delete("/users/{name}", tags=["people"], status_code=status.HTTP_204_NO_CONTENT)
def delete_user(ctx: Ctx, name: NameInPath) -> Response:
    """Remove a user with their tokens."""
    users.delete(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", tags=["audit"])
def list_audit(
    ctx: Ctx,
    actor: Annotated[str | None, Query(max_length=80)] = None,
    action: Annotated[
        str | None, Query(max_length=255, description="a part of it, e.g. /restores")
    ] = None,
    outcome: Literal["succeeded", "refused", "failed"] | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=audit.PAGE_MAX)] = 100,
    before: Annotated[int | None, Query(ge=1, description="next_before of the last page")] = None,
) -> AuditPage:
    """The audit log, newest first: who did what, to which resource, from where, and how it
    ended. Entries cannot be changed or removed through the API."""
    filters = audit.Filters(actor=actor, action=action, outcome=outcome, since=since, until=until)
    return audit.query(ctx, filters, limit=limit, before=before)
