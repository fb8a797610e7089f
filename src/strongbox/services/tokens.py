"""API tokens made by users for themselves, or by admins as service tokens.

A token is shown once, when it is made; only its SHA-256 is kept (see services/auth.py). Its
role is never above its maker's, and a user's token acts with the lower of its role and the
user's role at each request. Revoking removes it: the next request with it is refused.
Token names are unique in a Strongbox, so that a name says which token in the audit log.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongbox.catalog.models import ApiToken
from strongbox.domain.roles import Role
from strongbox.errors import conflict, invalid, not_found
from strongbox.services import access, auth
from strongbox.services.auth import BOOTSTRAP_TOKEN, Principal
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas.people import TokenCreate, TokenCreated, TokenOut


def create(ctx: Context, principal: Principal, body: TokenCreate) -> TokenCreated:
    """A new token for the calling user, or a service token (asked for, or made with a token
    that belongs to no user): service tokens are made by admins only."""
    role = body.role or principal.role
    access.require(principal, role, f"a token with the {role.value} role")
    service = body.service or principal.user is None
    if service:
        access.require(principal, Role.ADMIN, "a service token")
    now = ctx.clock.now()
    if body.expires_at is not None and body.expires_at <= now:
        raise invalid(
            "expires_at is in the past: give a later time, or none for a token that "
            "does not expire",
            "token-expiry-past",
            field_name="body.expires_at",
        )
    token = auth.new_token()
    row = ApiToken(
        name=body.name,
        token_sha256=auth.token_hash(token),
        role=role.value,
        owner=None if service else principal.user,
        expires_at=body.expires_at,
        created_at=now,
    )
    try:
        with ctx.catalog.session() as session:
            session.add(row)
            session.flush()
            return TokenCreated(**_out(row).model_dump(), token=token)
    except IntegrityError:
        raise conflict(
            f"a token named '{body.name}' exists already: choose another name", "token-exists"
        ) from None


def list_for(ctx: Context, principal: Principal) -> list[TokenOut]:
    """Every token for an admin; a user's own tokens for others (a service token sees itself)."""
    with ctx.catalog.session() as session:
        query = select(ApiToken).order_by(ApiToken.name)
        if not principal.role.covers(Role.ADMIN):
            query = query.where(*_own(principal))
        return [_out(row) for row in session.scalars(query)]


def page_for(ctx: Context, principal: Principal, request: PageRequest) -> Page[TokenOut]:
    """The tokens `list_for` shows, newest first, a page at a time."""
    with ctx.catalog.session() as session:
        query = select(ApiToken)
        if not principal.role.covers(Role.ADMIN):
            query = query.where(*_own(principal))
        rows, after = fetch(session, query, ApiToken.created_at, ApiToken.id, request)
        return Page[TokenOut](items=[_out(row) for row in rows], next=after)


def revoke(ctx: Context, principal: Principal, name: str) -> None:
    """Remove a token: the next request with it is refused. Admins may revoke any but the
    bootstrap admin token (replace that one with `strongbox token rotate`)."""
    if name == BOOTSTRAP_TOKEN:
        raise conflict(
            "the bootstrap admin token is not revoked but replaced: run 'strongbox token "
            "rotate' on the server's host",
            "bootstrap-token",
        )
    with ctx.catalog.session() as session:
        row = _find(session, principal, name)
        session.delete(row)


def _own(principal: Principal) -> tuple[ColumnElement[bool], ...]:
    if principal.user is not None:
        return (ApiToken.owner == principal.user,)
    return (ApiToken.owner.is_(None), ApiToken.name == principal.token_name)


def _find(session: Session, principal: Principal, name: str) -> ApiToken:
    query = select(ApiToken).where(ApiToken.name == name)
    if not principal.role.covers(Role.ADMIN):
        query = query.where(*_own(principal))
    row = session.scalars(query).first()
    if row is None:
        raise not_found(
            f"no token of yours named '{name}': see 'strongbox token list'", "token-not-found"
        )
    return row


def _out(row: ApiToken) -> TokenOut:
    return TokenOut(
        name=row.name,
        role=Role(row.role),
        owner=row.owner,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )
