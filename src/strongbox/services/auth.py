"""API tokens: the admin token made on first start, its rotation, checking the token of a
request, and checking that a page session still stands.

Only a token's SHA-256 is stored: tokens are long random strings, so a plain hash is enough and
lets a request be matched with one indexed look-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from strongbox.catalog.db import Catalog
from strongbox.catalog.models import ApiToken, User
from strongbox.config import Settings, normal_token
from strongbox.domain.roles import Role, lower_of
from strongbox.errors import not_found, unauthorized
from strongbox.secretbox import write_private_file
from strongbox.services.context import Context

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
BOOTSTRAP_TOKEN = "admin"  # noqa: S105 - the name of the token made on first start
# A token's `last_used_at` is written at most this often: a scraper or a dashboard polling every
# few seconds would otherwise write to the catalog at each read, for a time shown as an age.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a user (with a password session or one of their tokens) or a
    service token, and the role it acts with now."""

    role: Role
    user: str | None = None
    token_name: str | None = None  # None for a page session signed in with a password
    # Changes when the password or the token is replaced, so that a page session made before
    # ends (see session_principal); empty when unknown.
    fingerprint: str = ""

    @property
    def actor(self) -> str:
        """The name the audit log gives it."""
        return self.user or f"token:{self.token_name}"


@dataclass(frozen=True)
class AdminTokenSetup:
    token: str | None  # the new token, only when it was generated now (to print once)
    file: Path | None


def ensure_admin_token(ctx: Context) -> AdminTokenSetup:
    """Make the admin token on first start: from STRONGBOX_ADMIN_TOKEN, else a random one written
    to a 0600 file in the data folder. Later starts change nothing."""
    with ctx.catalog.session() as session:
        if session.scalars(select(ApiToken.id).where(ApiToken.name == BOOTSTRAP_TOKEN)).first():
            return AdminTokenSetup(token=None, file=None)
    given = ctx.settings.admin_token
    token = normal_token(given.get_secret_value()) if given is not None else new_token()
    file = None
    if given is None:
        file = ctx.settings.data_dir / ADMIN_TOKEN_FILE
        file.unlink(missing_ok=True)
        write_private_file(file, (token + "\n").encode())
    try:
        with ctx.catalog.session() as session:
            session.add(
                ApiToken(
                    name=BOOTSTRAP_TOKEN,
                    token_sha256=token_hash(token),
                    role=Role.ADMIN,
                    created_at=ctx.clock.now(),
                )
            )
    except IntegrityError:
        # Another replica on the same catalog made it at the same moment: its token stands.
        if file is not None:
            file.unlink(missing_ok=True)
        return AdminTokenSetup(token=None, file=None)
    return AdminTokenSetup(token=None if given else token, file=file)


def authenticate(ctx: Context, authorization: str | None) -> Principal:
    """The principal of an `Authorization: Bearer <token>` header; 401 when missing, wrong,
    expired or revoked. A user's token acts with the lower of its role and the user's role now."""
    if not authorization:
        raise unauthorized("missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not normal_token(token):
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    digest = token_hash(normal_token(token))
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest)).first()
        if row is None:
            raise unauthorized(
                "the API token is not valid (wrong or revoked): check STRONGBOX_TOKEN"
            )
        principal = _principal_of_token(session, row, now)
        if principal is None:
            raise unauthorized(
                f"the API token '{row.name}' expired: create a new one with "
                "'strongbox token create'"
            )
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        return principal


def _principal_of_token(session: DbSession, row: ApiToken, now: datetime) -> Principal | None:
    """None when the token has expired."""
    if row.expires_at is not None and row.expires_at <= now:
        return None
    role = Role(row.role)
    if row.owner is not None:
        owner_role = session.scalars(select(User.role).where(User.name == row.owner)).first()
        if owner_role is None:  # the owner was removed (its tokens go with it)
            return None
        role = lower_of(role, Role(owner_role))
    return Principal(
        role=role, user=row.owner, token_name=row.name, fingerprint=_fingerprint(row.token_sha256)
    )


def session_principal(
    ctx: Context, user: str | None, token_name: str | None, fingerprint: str
) -> Principal | None:
    """The principal of a page session, with its role as it is now; None when the session has
    ended: its user is gone or changed password, its token was replaced, revoked or expired."""
    with ctx.catalog.session() as session:
        if token_name is not None:
            row = session.scalars(select(ApiToken).where(ApiToken.name == token_name)).first()
            found = _principal_of_token(session, row, ctx.clock.now()) if row else None
        elif user is not None:
            account = session.scalars(select(User).where(User.name == user)).first()
            found = (
                Principal(
                    role=Role(account.role),
                    user=account.name,
                    fingerprint=password_fingerprint(account.password_hash),
                )
                if account is not None
                else None
            )
        else:
            return None
    if found is None or not hmac.compare_digest(found.fingerprint, fingerprint):
        return None
    return found


def _fingerprint(token_sha256: str) -> str:
    return hashlib.sha256(("fingerprint:" + token_sha256).encode()).hexdigest()[:16]


def password_fingerprint(password_hash: str) -> str:
    """Changes with each new password; reveals nothing usable about it."""
    return hashlib.sha256(("password:" + password_hash).encode()).hexdigest()[:16]


def rotate_admin_token(catalog: Catalog, data_dir: Path) -> AdminTokenSetup:
    """Replace the admin token with a new random one and return it (to print once). The old
    token stops working at once, in a running server too (tokens are looked up per request).
    `{data}/admin-token` is rewritten when it exists, so that it never holds a dead token; it is
    not created otherwise. Raises not-found when no admin token was ever made (start the server
    once first). Web sessions signed in with the old token end too (see session_principal)."""
    token = new_token()
    with catalog.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == BOOTSTRAP_TOKEN)).first()
        if row is None:
            raise not_found(
                "there is no admin token in this catalog yet: start 'strongbox serve' once "
                "with this data folder (or STRONGBOX_CATALOG_URL) first",
                "no-admin-token",
            )
        row.token_sha256 = token_hash(token)
    file = data_dir / ADMIN_TOKEN_FILE
    if file.exists():
        file.unlink()
        write_private_file(file, (token + "\n").encode())
        return AdminTokenSetup(token=token, file=file)
    return AdminTokenSetup(token=token, file=None)


def open_host_catalog(settings: Settings) -> Catalog:
    """The server's catalog, for a command run on its host (close it after use). Raises
    not-found when the data folder holds no catalog and no catalog URL is set."""
    if settings.catalog_url is None and not settings.catalog_file.exists():
        raise not_found(
            f"no Strongbox catalog in {settings.data_dir}: run this on the server's host with "
            "STRONGBOX_DATA_DIR (or --data-dir) set to its data folder",
            "no-catalog",
        )
    return Catalog.open(settings.resolved_catalog_url())


def rotate_admin_token_of(settings: Settings) -> AdminTokenSetup:
    """`rotate_admin_token` on the catalog `settings` name, opened and closed here (for
    `strongbox token rotate`, run on the server's host). Raises not-found when the data folder
    holds no catalog and no catalog URL is set."""
    catalog = open_host_catalog(settings)
    try:
        return rotate_admin_token(catalog, settings.data_dir)
    finally:
        catalog.close()


def new_token() -> str:
    return "sbx_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
