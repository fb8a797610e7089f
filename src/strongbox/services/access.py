"""Refusing what a principal's role does not allow, with the role it needs."""

from __future__ import annotations

from strongbox.domain.roles import Role
from strongbox.errors import Forbidden
from strongbox.services.auth import Principal


def require(principal: Principal, needed: Role, what: str) -> None:
    """Raise Forbidden (403, naming `needed`) unless the principal's role covers it."""
    if not principal.role.covers(needed):
        raise Forbidden(
            f"{what} needs the {needed.value} role; this {_via(principal)} has the "
            f"{principal.role.value} role: ask an admin",
            needed.value,
        )


def _via(principal: Principal) -> str:
    if principal.token_name is None:
        return f"session of '{principal.user}'"
    return f"token '{principal.token_name}'"
