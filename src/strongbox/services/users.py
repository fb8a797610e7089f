"""Users: people who sign in to the page with a name and a password, each with a role.

Passwords are kept as argon2id hashes (argon2-cffi's defaults: its own salt and costs in each
hash, re-hashed at sign-in when the defaults grow). A wrong name costs the same hashing work as
a wrong password, so that answers do not tell which names exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongbox.catalog.models import User
from strongbox.domain.roles import Role
from strongbox.errors import conflict, invalid, not_found, unauthorized
from strongbox.services import auth
from strongbox.services.auth import Principal
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas.people import PasswordChange, UserCreate, UserOut, UserUpdate

_hasher = PasswordHasher()
# Verified when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such user: a password nobody has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create(ctx: Context, body: UserCreate) -> UserOut:
    now = ctx.clock.now()
    row = User(
        name=body.name,
        role=body.role.value,
        password_hash=hash_password(body.password.get_secret_value()),
        created_at=now,
        updated_at=now,
    )
    try:
        with ctx.catalog.session() as session:
            session.add(row)
            session.flush()
            return _out(row)
    except IntegrityError:
        raise conflict(
            f"a user named '{body.name}' exists already: choose another name", "user-exists"
        ) from None


def list_all(ctx: Context) -> list[UserOut]:
    with ctx.catalog.session() as session:
        return [_out(row) for row in session.scalars(select(User).order_by(User.name))]


def page(ctx: Context, request: PageRequest) -> Page[UserOut]:
    """Users, newest first, a page at a time."""
    with ctx.catalog.session() as session:
        rows, after = fetch(session, select(User), User.created_at, User.id, request)
        return Page[UserOut](items=[_out(row) for row in rows], next=after)


def get(ctx: Context, name: str) -> UserOut:
    with ctx.catalog.session() as session:
        return _out(_row(session, name))


def exists(ctx: Context, name: str) -> bool:
    with ctx.catalog.session() as session:
        return session.scalars(select(User.id).where(User.name == name)).first() is not None


def any_exist(ctx: Context) -> bool:
    with ctx.catalog.session() as session:
        return session.scalars(select(User.id).limit(1)).first() is not None


def update(ctx: Context, name: str, body: UserUpdate) -> UserOut:
    """Change a user's role or set a new password (which ends their page sessions). Their
    tokens act with the new role at once when it is lower."""
    new_hash = hash_password(body.password.get_secret_value()) if body.password else None
    with ctx.catalog.session() as session:
        row = _row(session, name)
        if body.role is not None:
            row.role = body.role.value
        if new_hash is not None:
            row.password_hash = new_hash
        row.updated_at = ctx.clock.now()
        return _out(row)


def delete(ctx: Context, name: str) -> None:
    """Remove a user; their tokens go with them, their page sessions end."""
    with ctx.catalog.session() as session:
        session.delete(_row(session, name))


def sign_in(ctx: Context, name: str, password: str) -> Principal:
    """The principal of a user signing in; UNAUTHORIZED when the name or password is wrong."""
    with ctx.catalog.session() as session:
        row = session.scalars(select(User).where(User.name == name)).first()
        stored = row.password_hash if row is not None else _DUMMY_HASH
        if not _verify(stored, password) or row is None:
            raise unauthorized("wrong user name or password")
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
        return Principal(
            role=Role(row.role),
            user=row.name,
            fingerprint=auth.password_fingerprint(row.password_hash),
        )


def change_own_password(ctx: Context, principal: Principal, body: PasswordChange) -> Principal:
    """Set the caller's new password after checking the current one. Ends the user's other
    page sessions; answers the principal to sign the caller in again with."""
    if principal.user is None:
        raise conflict(
            "a service token has no password: sign in as a user to change yours",
            "no-password",
        )
    current = body.current_password.get_secret_value()
    with ctx.catalog.session() as session:
        row = _row(session, principal.user)
        if not _verify(row.password_hash, current):
            raise invalid(
                "the current password is wrong: give the one you sign in with now",
                "wrong-password",
                field_name="body.current_password",
            )
        row.password_hash = hash_password(body.new_password.get_secret_value())
        row.updated_at = ctx.clock.now()
        return Principal(
            role=Role(row.role),
            user=row.name,
            token_name=principal.token_name,
            fingerprint=auth.password_fingerprint(row.password_hash),
        )


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _row(session: Session, name: str) -> User:
    row = session.scalars(select(User).where(User.name == name)).first()
    if row is None:
        raise not_found(f"no user named '{name}': see 'strongbox user list'", "user-not-found")
    return row


def _out(row: User) -> UserOut:
    return UserOut(
        name=row.name, role=Role(row.role), created_at=row.created_at, updated_at=row.updated_at
    )
