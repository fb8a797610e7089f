"""The one exception hierarchy of Strongbox.

Every error a person can cause or fix is a `StrongboxError`. Its message says what was wrong and,
where there is one, the next step. The API turns it into an RFC 9457 problem detail (the `kind`
chooses the HTTP status), the CLI into one line on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the request itself is wrong (422)
    NOT_FOUND = "not-found"  # 404
    CONFLICT = "conflict"  # the request clashes with the current state (409)
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # signed in, but the role does not allow it (403)
    REFUSED = "refused"  # a live check of a storage or a database failed (422)
    INTERNAL = "internal"  # a bug or an unexpected failure (500)


@dataclass(frozen=True)
class FieldError:
    """One bad field: where it is (e.g. `body.bucket`) and what is wrong with it."""

    field: str
    message: str


@dataclass
class StrongboxError(Exception):
    """Base of every error Strongbox reports to a person.

    `code` is a short stable slug (`storage-bad-credentials`) that clients may match on; `detail`
    is the sentence shown to people.
    """

    detail: str
    code: str = "error"
    kind: ErrorKind = ErrorKind.INVALID
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail


def invalid(detail: str, code: str = "invalid", *, field_name: str | None = None) -> StrongboxError:
    errors = [FieldError(field_name, detail)] if field_name else []
    return StrongboxError(detail, code, ErrorKind.INVALID, errors)


def not_found(detail: str, code: str = "not-found") -> StrongboxError:
    return StrongboxError(detail, code, ErrorKind.NOT_FOUND)


def conflict(detail: str, code: str = "conflict") -> StrongboxError:
    return StrongboxError(detail, code, ErrorKind.CONFLICT)


def refused(detail: str, code: str, *, field_name: str | None = None) -> StrongboxError:
    errors = [FieldError(field_name, detail)] if field_name else []
    return StrongboxError(detail, code, ErrorKind.REFUSED, errors)


def unauthorized(detail: str) -> StrongboxError:
    return StrongboxError(detail, "unauthorized", ErrorKind.UNAUTHORIZED)


class Forbidden(StrongboxError):
    """The caller's role does not allow the request; `required_role` is the least role that
    does (the problem answer carries it as `required_role`)."""

    def __init__(self, detail: str, required_role: str) -> None:
        super().__init__(detail, "forbidden", ErrorKind.FORBIDDEN)
        self.required_role = required_role


class IllegalStateMove(StrongboxError):
    """A change of a backup's, restore's or schedule run's state that the state machine
    (`domain/states.py`) does not allow, e.g. a succeeded backup set running again."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, "illegal-state-move", ErrorKind.CONFLICT)
