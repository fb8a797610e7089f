"""API tokens: the admin token made on first start, its rotation, and checking the token of a
request.

Only a token's SHA-256 is stored: tokens are long random strings, so a plain hash is enough and
lets a request be matched with one indexed look-up.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from strongbox.catalog.db import Catalog
from strongbox.catalog.models import ApiToken
from strongbox.config import Settings, normal_token
from strongbox.errors import not_found, unauthorized
from strongbox.secretbox import write_private_file
from strongbox.services.context import Context

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True)
class Principal:
    """Who makes a request. Users and scoped roles will extend this."""

    token_name: str
    role: str
    # Changes when the token is replaced (see token_fingerprint); empty when unknown.
    token_fingerprint: str = ""


@dataclass(frozen=True)
class AdminTokenSetup:
    token: str | None  # the new token, only when it was generated now (to print once)
    file: Path | None


def ensure_admin_token(ctx: Context) -> AdminTokenSetup:
    """Make the admin token on first start: from STRONGBOX_ADMIN_TOKEN, else a random one written
    to a 0600 file in the data folder. Later starts change nothing."""
    with ctx.catalog.session() as session:
        if session.scalars(select(ApiToken.id).where(ApiToken.name == "admin")).first():
            return AdminTokenSetup(token=None, file=None)
    given = ctx.settings.admin_token
    token = normal_token(given.get_secret_value()) if given is not None else new_token()
    file = None
    if given is None:
        file = ctx.settings.data_dir / ADMIN_TOKEN_FILE
        file.unlink(missing_ok=True)
        write_private_file(file, (token + "\n").encode())
    with ctx.catalog.session() as session:
        session.add(
            ApiToken(
                name="admin",
                token_sha256=token_hash(token),
                role="admin",
                created_at=ctx.clock.now(),
            )
        )
    return AdminTokenSetup(token=None if given else token, file=file)


def authenticate(ctx: Context, authorization: str | None) -> Principal:
    """The principal of an `Authorization: Bearer <token>` header; 401 when missing or wrong."""
    if not authorization:
        raise unauthorized("missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not normal_token(token):
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    digest = token_hash(normal_token(token))
    with ctx.catalog.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest)).first()
        if row is None:
            raise unauthorized("the API token is not valid: check STRONGBOX_TOKEN")
        session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=ctx.clock.now())
        )
        return Principal(
            token_name=row.name, role=row.role, token_fingerprint=_fingerprint(row.token_sha256)
        )


def token_fingerprint(ctx: Context, token_name: str) -> str | None:
    """A short value that changes whenever the named token is replaced (None when there is no
    such token), so that what was granted with an old token can be told apart. It is derived
    from the stored hash and reveals nothing usable about the token."""
    with ctx.catalog.session() as session:
        digest = session.scalars(
            select(ApiToken.token_sha256).where(ApiToken.name == token_name)
        ).first()
    return _fingerprint(digest) if digest is not None else None


def _fingerprint(token_sha256: str) -> str:
    return hashlib.sha256(("fingerprint:" + token_sha256).encode()).hexdigest()[:16]


def rotate_admin_token(catalog: Catalog, data_dir: Path) -> AdminTokenSetup:
    """Replace the admin token with a new random one and return it (to print once). The old
    token stops working at once, in a running server too (tokens are looked up per request).
    `{data}/admin-token` is rewritten when it exists, so that it never holds a dead token; it is
    not created otherwise. Raises not-found when no admin token was ever made (start the server
    once first). Web sessions signed in with the old token end too (see token_fingerprint)."""
    token = new_token()
    with catalog.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == "admin")).first()
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


def rotate_admin_token_of(settings: Settings) -> AdminTokenSetup:
    """`rotate_admin_token` on the catalog `settings` name, opened and closed here (for
    `strongbox token rotate`, run on the server's host). Raises not-found when the data folder
    holds no catalog and no catalog URL is set."""
    if settings.catalog_url is None and not settings.catalog_file.exists():
        raise not_found(
            f"no Strongbox catalog in {settings.data_dir}: run this on the server's host with "
            "STRONGBOX_DATA_DIR (or --data-dir) set to its data folder",
            "no-catalog",
        )
    catalog = Catalog.open(settings.resolved_catalog_url())
    try:
        return rotate_admin_token(catalog, settings.data_dir)
    finally:
        catalog.close()


def new_token() -> str:
    return "sbx_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
